/*
 * agg: samples summed by (event, process, thread, thread name, call path), and what is built
 * from such sums: folded stacks (FlameGraph's stackcollapse format), and the merged trees the
 * reports draw.
 *
 * An agg is a pfs_sample_cb sink (pfs_agg_add), so ingest can stream a capture of any size into
 * it: memory follows the number of distinct (thread, stack) pairs, never the number of samples.
 * A database can fill one through pfs_agg_put() from a GROUP BY.
 *
 * Ownership: pfs_agg_new() / pfs_agg_free(). Cells are owned by the agg; pointers to them are
 * valid until the next add.
 */
#ifndef PFS_AGG_H
#define PFS_AGG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"
#include "profile.h"
#include "views.h"

struct pfs_agg_cell {
	uint32_t event, pid, tid;
	uint32_t comm; /* string id; 0 when the row did not say */
	uint32_t path;
	uint64_t count;
	uint64_t period;
	double weight;
};

struct pfs_agg;

struct pfs_agg *pfs_agg_new(void);
void pfs_agg_free(struct pfs_agg *a);
/* The sink: payload is the struct pfs_agg. Always returns 0. */
int pfs_agg_add(void *payload, const struct pfs_sample_row *row);
/* Adds already-summed values to the cell of key (count, period and weight are added). */
void pfs_agg_put(struct pfs_agg *a, const struct pfs_agg_cell *key_and_values);
/* Widens the time range to first..last (0: no time), as adding rows of those times would:
 * what a database gives with the cells it puts. */
void pfs_agg_widen(struct pfs_agg *a, uint64_t first, uint64_t last);
size_t pfs_agg_n(const struct pfs_agg *a);
const struct pfs_agg_cell *pfs_agg_cell(const struct pfs_agg *a, size_t i);
/* Time range of the rows added (0 when none had a time). */
uint64_t pfs_agg_first_time(const struct pfs_agg *a);
uint64_t pfs_agg_last_time(const struct pfs_agg *a);

enum pfs_fold_root {
	PFS_FOLD_COMM = 0, /* comm;...  */
	PFS_FOLD_PID,	   /* comm-pid;... (stackcollapse-perf --pid) */
	PFS_FOLD_TID,	   /* comm-pid/tid;... (--tid) */
	PFS_FOLD_NONE,	   /* no process frame at all */
};

enum pfs_fold_weight {
	PFS_FOLD_SAMPLES = 0,
	PFS_FOLD_PERIOD,
	PFS_FOLD_SECONDS, /* the rows' weights (pyinstrument wall seconds), printed as %.6f */
};

struct pfs_fold_opts {
	int event; /* event index, -1 for all */
	enum pfs_fold_root root;
	enum pfs_fold_weight weight;
	enum pfs_view view;
	uint32_t only_pid; /* 0: every process */
};

/*
 * Writes folded stacks, one line per distinct stack ("root;...;leaf COUNT"), sorted bytewise
 * as FlameGraph's tools sort them. views may be NULL for the native view. Frame names have
 * newlines replaced by spaces so that each stack stays one line. Returns 0 or PFS_EIO.
 */
int pfs_agg_write_folded(const struct pfs_agg *a, struct pfs_profile *p, struct pfs_views *v,
			 const struct pfs_fold_opts *o, FILE *out,
			 struct pfs_err *err) PFS_MUST_CHECK;

#endif
