/*
 * fuzz_cg: what the call-graph harnesses (fuzz_pstats, fuzz_callgrind) do with a graph their
 * reader made, as every command does: the reconstructed tree and its hot paths and folded
 * stacks, the summary and export JSON, the report data and the callgrind writer, all written
 * to /dev/null. Included by each harness (a header: the harnesses are built one file each).
 */
#ifndef PFS_FUZZ_CG_H
#define PFS_FUZZ_CG_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "callgrind.h"
#include "cgreport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef int (*fuzz_cg_reader)(const void *buf, size_t len, struct pfs_profile *prof,
			      struct pfs_callgraph **out, struct pfs_diag *diag,
			      struct pfs_err *err);

static void fuzz_cg_use(const struct pfs_callgraph *g, const struct pfs_diag *d)
{
	static FILE *null;
	struct pfs_reportdata_meta m = {
	    .duration_s = NAN, .samples = UINT64_MAX, .lost = UINT64_MAX};
	struct pfs_cg_tree t;
	struct pfs_jsonw w;
	struct pfs_err err;
	uint32_t hot[8];
	if (!null && !(null = fopen("/dev/null", "w")))
		abort();
	pfs_cg_tree_build(g, NULL, &t);
	pfs_cg_hot_paths(&t, hot, 8);
	if (pfs_cg_tree_write_folded(g, &t, null, &err) < 0)
		abort();
	pfs_cg_tree_release(&t);
	pfs_jsonw_init(&w, null, false);
	pfs_cg_json_summary(g, 0, 10, &w);
	if (pfs_cg_write_json(g, "fuzz", d, null, &err) < 0 ||
	    pfs_cgreport_write(g, 0, &m, d, null, &err) < 0 ||
	    pfs_callgrind_write(g, null, &err) < 0)
		abort(); /* writing to /dev/null cannot fail: a writer choked on the graph */
}

/* Reads the input with read and, when it is a graph, uses it; frees everything. */
static int fuzz_cg_run(fuzz_cg_reader read, const uint8_t *data, size_t size)
{
	struct pfs_profile *p = pfs_profile_new();
	struct pfs_callgraph *g = NULL;
	struct pfs_diag d;
	struct pfs_err err;
	pfs_diag_init(&d);
	if (read(data, size, p, &g, &d, &err) == 0)
		fuzz_cg_use(g, &d);
	pfs_cg_free(g);
	pfs_profile_free(p);
	pfs_diag_release(&d);
	return 0;
}

#endif
