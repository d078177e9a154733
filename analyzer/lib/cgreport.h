/*
 * cgreport: the report data (docs/report-data.md, version 1) of a call-graph profile: the
 * document reportdata.h writes for sampled captures, with no processes and one more key,
 * "callgraph": every function and edge with its counts and costs, a call tree reconstructed
 * from the edges (callgraph.h: pfs_cg_tree_build) and its hottest paths. report.js draws them
 * in its call-graph section; everything drawn from the tree is labelled as reconstructed from
 * the edges, an estimate, never as measured stacks.
 *
 * The document stays within a few MB: past PFS_CGREPORT_MAX_FUNCS functions only the heaviest
 * (by inclusive cost) are written, with the edges between them, and a warning says how many
 * were left out; the tree has at most PFS_CG_TREE_MAX_NODES nodes.
 *
 * Ownership: everything passed in is borrowed. Strings go through jsonw (escaped for a script
 * element); nothing else is escaped here.
 */
#ifndef PFS_CGREPORT_H
#define PFS_CGREPORT_H

#include <stdint.h>
#include <stdio.h>

#include "callgraph.h"
#include "diag.h"
#include "err.h"
#include "reportdata.h"

#define PFS_CGREPORT_MAX_FUNCS 50000

/*
 * Writes the document of g to out: meta from m (its samples, lost and unit are not used: the
 * unit is the graph's), the warnings of diag (may be NULL) and the reconstruction's own, the
 * costs of every event, the tree and hot paths of event ev. Returns 0 or PFS_EIO.
 */
int pfs_cgreport_write(const struct pfs_callgraph *g, uint32_t ev,
		       const struct pfs_reportdata_meta *m, const struct pfs_diag *diag, FILE *out,
		       struct pfs_err *err) PFS_MUST_CHECK;

#endif
