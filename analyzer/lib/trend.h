/*
 * trend: figures across the captures of a database, from what import kept for each (store.h's
 * trend rows), never from their samples: a trend over a thousand captures reads a few rows
 * each. docs/trend.md documents the figures and perfsight-trend/1.
 *
 *  - at import: pfs_trend_capture_rows() turns a loaded capture into its rows, through the
 *    same figure definitions as diff (diff.h): samples, CPU per worker, GC share, GC p99 pause,
 *    GIL wait share, cut-stack share, and the self and total shares of its functions in the
 *    python view (the PFS_TREND_KEEP heaviest);
 *  - later: pfs_trend_new() lays those rows out as series over the captures chosen (a label
 *    glob), in import order or by label, with the top N functions over the whole series.
 *
 * A figure a capture did not measure (no probes, no analysis, imported by an older perfsight)
 * is null in its series, never 0.
 *
 * Ownership: rows from pfs_trend_capture_rows() are freed with pfs_trend_rows_free(); a trend
 * with pfs_trend_free(); strings are copied.
 */
#ifndef PFS_TREND_H
#define PFS_TREND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "capture.h"
#include "err.h"
#include "store.h"

/* Functions kept per capture at import, the heaviest by total share. */
#define PFS_TREND_KEEP 200
/* Functions charted when the caller does not say. */
#define PFS_TREND_TOP 5

/* The rows of capture c (loaded with agg and analysis) for pfs_store_put_trend(). */
int pfs_trend_capture_rows(struct pfs_capture *c, struct pfs_store_trend **rows, size_t *n,
			   struct pfs_err *err) PFS_MUST_CHECK;
void pfs_trend_rows_free(struct pfs_store_trend *rows, size_t n);

struct pfs_trend_opts {
	const char *labels;	    /* fnmatch(3) glob over labels; NULL: every capture */
	bool by_label;		    /* sort by label (natural order) instead of import order */
	const char *const *metrics; /* NULL-terminated names to keep; NULL: every figure */
	size_t top; /* functions to chart, the heaviest by self share summed over the series;
		       0: PFS_TREND_TOP (the rows given should hold those only: pfs_store_trend) */
	const char *link_dir; /* reports of the captures are LINK_DIR/ID.html; NULL: none */
};

struct pfs_trend;

/* Lays out the captures' rows. Returns 0 and *out, or PFS_EUSAGE for an unknown metric. */
int pfs_trend_new(struct pfs_trend **out, const struct pfs_store_capture *caps, size_t n_caps,
		  const struct pfs_store_trend *rows, size_t n_rows, const struct pfs_trend_opts *o,
		  struct pfs_err *err) PFS_MUST_CHECK;
void pfs_trend_free(struct pfs_trend *t);

/* One line per capture: its label and figures; then the functions' shares. 0 or PFS_EIO. */
int pfs_trend_write_text(const struct pfs_trend *t, FILE *f, struct pfs_err *err) PFS_MUST_CHECK;
/* The perfsight-trend/1 document (the trend page embeds it). 0 or PFS_EIO. */
int pfs_trend_write_json(const struct pfs_trend *t, FILE *f, bool pretty,
			 struct pfs_err *err) PFS_MUST_CHECK;

#endif
