/*
 * export: what other tools read, built from an agg (agg.h) and its profile.
 *
 *  - speedscope's file format ("sampled" profiles, one per thread, frames shared), which
 *    speedscope.app and Firefox Profiler's importer open;
 *  - top functions: self and total weight per function in a view, the table every report shows;
 *    a function's total counts each sample once even when it recurses; a cut stack's
 *    [truncated] root is a mark, not a function, and is not listed.
 *
 * Ownership: pfs_topfn_compute() returns an array the caller frees with free().
 */
#ifndef PFS_EXPORT_H
#define PFS_EXPORT_H

#include <stdio.h>

#include "agg.h"
#include "profile.h"
#include "err.h"
#include "jsonw.h"
#include "views.h"

struct pfs_export_opts {
	int event; /* event index, -1 for all */
	enum pfs_view view;
	enum pfs_fold_weight weight; /* samples, period or seconds */
	const char *name;	     /* the profile's name (capture label) */
	bool clock_seconds; /* speedscope: samples of a clock event as seconds of CPU (periods) */
};

/* Writes a speedscope JSON document. Returns 0 or PFS_EIO. */
int pfs_export_speedscope(const struct pfs_agg *a, struct pfs_profile *p, struct pfs_views *v,
			  const struct pfs_export_opts *o, FILE *out,
			  struct pfs_err *err) PFS_MUST_CHECK;

struct pfs_topfn {
	uint32_t name; /* string id of the function name */
	uint8_t kind;  /* enum pfs_frame_kind of its first frame seen */
	uint32_t dso;  /* string id, 0 if none */
	double self, total;
};

/*
 * Sums self and total weight per function name over the cells of a (filtered as o says),
 * sorted by total then self, descending. *n_out gets the count; returns the array (free()).
 * grand_total (may be NULL) gets the weight of all matching cells.
 */
struct pfs_topfn *pfs_topfn_compute(const struct pfs_agg *a, struct pfs_profile *p,
				    struct pfs_views *v, const struct pfs_export_opts *o,
				    size_t *n_out, double *grand_total);
/* Writes the top n (all when n is 0) as a JSON array of objects on w. */
void pfs_topfn_write_json(struct pfs_jsonw *w, const struct pfs_profile *p,
			  const struct pfs_topfn *t, size_t n, double grand_total);

#endif
