/*
 * cgres: one read of a call-graph profile in the unit tests (t_pstats, t_callgrind, t_store):
 * the profile, the graph, the diagnostics, the error and the code, made and freed together,
 * and lookups of a function and an edge by name.
 */
#ifndef PFS_TEST_CGRES_H
#define PFS_TEST_CGRES_H

#include <stddef.h>
#include <stdint.h>

#include "callgraph.h"

struct cg_res {
	struct pfs_profile *p;
	struct pfs_callgraph *g;
	struct pfs_diag d;
	struct pfs_err e;
	int rc;
};

typedef int (*cg_parse_fn)(const void *buf, size_t len, struct pfs_profile *prof,
			   struct pfs_callgraph **out, struct pfs_diag *diag, struct pfs_err *err);
typedef int (*cg_load_fn)(const char *path, struct pfs_profile *prof, struct pfs_callgraph **out,
			  struct pfs_diag *diag, struct pfs_err *err);

/* Reads len bytes at buf (or the file at path) with the reader given, into a zeroed r. */
void cg_res_parse(struct cg_res *r, cg_parse_fn parse, const void *buf, size_t len);
void cg_res_load(struct cg_res *r, cg_load_fn load, const char *path);
void cg_res_free(struct cg_res *r);
/* The first function named name, or UINT32_MAX. */
uint32_t cg_fn_named(const struct pfs_callgraph *g, const char *name);
/* The edge a -> b, or UINT32_MAX. */
uint32_t cg_edge_of(const struct pfs_callgraph *g, uint32_t a, uint32_t b);

#endif
