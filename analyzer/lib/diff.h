/*
 * diff: what changed between two captures (BASE and NEW), and whether each change is beyond
 * sampling noise. docs/diff-statistics.md states the method; docs/diff.md the JSON
 * (`perfsight-diff/1`). Built from what each loaded capture holds (capture.h): its agg, views
 * and, for the GC, GIL, role and category figures, its Python analysis, read through the
 * analysis accessors only (in one place, diff.c's side_figures()).
 *
 *  - per function, self and total (a function counts once per stack, even when it recurses),
 *    and per call path (a stack from the root to the frame where the sample was taken): the
 *    share of each capture's samples before and after, the change in points, a two-proportion
 *    test, and the p-value adjusted for the number of tests of that table (Holm or
 *    Benjamini-Hochberg); a change is significant when the adjusted p-value is below alpha
 *    and the change is at least min_delta points;
 *  - per worker role (master, worker, process) and per category (docs/categories.md): shares
 *    of the CPU samples, tested the same way;
 *  - GC: share (tested), pause count, p50/p99/max (Mann-Whitney on the pauses) when both
 *    captures have GC probes; GIL wait per thread role when both measured it;
 *  - for profiler dumps of requests: per endpoint, the median and p95 duration before and after
 *    (Mann-Whitney per endpoint, Holm-adjusted);
 *  - the merged call trees of the three views (every node with its weight in both captures and
 *    whether it grew, shrank or stayed within noise): the differential flame graph's data.
 *
 * Figures a capture does not have (no analysis, no probes, no switches) are "not comparable",
 * never 0.
 *
 * Ownership: pfs_diff_new() borrows both captures (their profiles gain view paths) only while
 * it runs; the result owns its strings and tables (pfs_diff_free).
 */
#ifndef PFS_DIFF_H
#define PFS_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "capture.h"
#include "err.h"
#include "views.h"

enum pfs_diff_correction {
	PFS_DIFF_HOLM = 0, /* family-wise error (default): few false alarms per comparison */
	PFS_DIFF_BH,	   /* false discovery rate: more power, some false alarms */
};

struct pfs_diff_opts {
	enum pfs_view view; /* the view of the function and path tables */
	enum pfs_diff_correction correction;
	double alpha;	    /* 0: PFS_DIFF_ALPHA */
	double min_delta;   /* points (1 = one point of share); <0: PFS_DIFF_MIN_DELTA */
	bool no_dispersion; /* plain binomial variance (no measured dispersion) */
	uint64_t min_test;  /* least samples (both captures) a row needs to be tested; 0:
			       PFS_DIFF_MIN_TEST */
	const char *base_event, *new_event; /* NULL: each capture's first sampling event */
	bool trees;			    /* build the three views' merged trees (HTML) */
};

#define PFS_DIFF_ALPHA 0.01
#define PFS_DIFF_MIN_DELTA 0.5
#define PFS_DIFF_MIN_TEST 10
/* Below this share of NEW's samples in functions BASE also has, the captures are of
 * different programs and no verdict is given. */
#define PFS_DIFF_MIN_OVERLAP 0.5

/* One tested row: a function's self or total, a path, a role, a category. */
struct pfs_diff_row {
	const char *name; /* owned by the diff; a path is "root;...;leaf" */
	uint8_t kind;	  /* enum pfs_fg_kind of the frame (functions, paths), else 7 */
	uint64_t x1, x2;  /* samples in BASE and NEW */
	double s1, s2;	  /* shares of each capture's samples */
	double expected;  /* the share BASE's would be in NEW had only the rest changed: s1
			     times the composition shift for code, s1 for roles and categories */
	double z, p, q;	  /* test statistic, p-value, adjusted p-value; NAN when untested */
	bool tested, significant;
};

enum pfs_diff_table {
	PFS_DIFF_SELF = 0, /* functions by self samples */
	PFS_DIFF_TOTAL,	   /* functions by total samples */
	PFS_DIFF_PATHS,	   /* call paths by self samples */
	PFS_DIFF_ROLES,	   /* CPU samples per process role */
	PFS_DIFF_CATS,	   /* CPU samples per category */
	PFS_DIFF_N_TABLES,
};

/* A figure of both captures; NAN where a capture does not have it (why says which and why). */
struct pfs_diff_figure {
	double base, new_;
	const char *why; /* NULL when both are measured; a static sentence otherwise */
	double p;	 /* p-value of the test behind it; NAN: none */
	bool significant;
};

struct pfs_diff_side {
	const char *label;
	uint64_t samples;   /* of the compared event */
	double unit_s;	    /* seconds per sample (0: unknown) */
	double duration_s;  /* NAN: unknown */
	double cut_share;   /* share of stacks cut short (root not a process entry); NAN */
	bool have_analysis; /* GC, GIL, role and category figures exist */
	bool dump;	    /* a profiler dump */
};

struct pfs_diff;

/*
 * Compares NEW against BASE. Both must be loaded with agg (and, for GC, GIL, roles and
 * categories, opts.analysis). base may be NULL: NEW's own figures and shares alone (a gate
 * without a baseline), nothing tested. Returns 0 and *out, or PFS_EUSAGE (an event that does
 * not exist, named in err).
 */
int pfs_diff_new(struct pfs_diff **out, struct pfs_capture *base, struct pfs_capture *new_,
		 const struct pfs_diff_opts *o, struct pfs_err *err) PFS_MUST_CHECK;
void pfs_diff_free(struct pfs_diff *d);

const struct pfs_diff_side *pfs_diff_side(const struct pfs_diff *d, int which); /* 0 base */
/* The significance level the diff judged at (its option, or PFS_DIFF_ALPHA). */
double pfs_diff_alpha(const struct pfs_diff *d);
/* Share of NEW's samples in functions BASE also has (and the converse): 1 for one program. */
double pfs_diff_overlap(const struct pfs_diff *d, int which);

size_t pfs_diff_n_rows(const struct pfs_diff *d, enum pfs_diff_table t);
const struct pfs_diff_row *pfs_diff_rows(const struct pfs_diff *d, enum pfs_diff_table t);
/* Rows of t whose name matches the POSIX extended regex re, summed (self: the rows' samples;
 * total and paths: each sample once), into *out (name = re, tested and tested anew). Returns 0
 * or PFS_EUSAGE for a bad regex (message in err). */
int pfs_diff_match(struct pfs_diff *d, enum pfs_diff_table t, const char *re,
		   struct pfs_diff_row *out, struct pfs_err *err) PFS_MUST_CHECK;

/* GC share of the CPU samples, pause count, p50, p99 and max (ms), GIL wait share per role. */
enum pfs_diff_fig {
	PFS_DIFF_GC_SHARE = 0,
	PFS_DIFF_GC_PAUSES,
	PFS_DIFF_GC_P50,
	PFS_DIFF_GC_P99,
	PFS_DIFF_GC_MAX,
	PFS_DIFF_GIL_MASTER, /* GIL wait / lifetime of the master's threads */
	PFS_DIFF_GIL_WORKER,
	PFS_DIFF_GIL_PROCESS,
	PFS_DIFF_GIL_ALL,
	PFS_DIFF_CUT_SHARE,
	PFS_DIFF_CPU_WORKER, /* CPU seconds per worker process (clock events only) */
	PFS_DIFF_N_FIGS,
};
const struct pfs_diff_figure *pfs_diff_fig(const struct pfs_diff *d, enum pfs_diff_fig f);
const char *pfs_diff_fig_name(enum pfs_diff_fig f);

/*
 * The significant changes of the self, total and path tables, largest first: indices packed
 * as (table << 28 | row) into out (up to max); returns how many there are in all.
 */
size_t pfs_diff_top_changes(const struct pfs_diff *d, uint32_t *out, size_t max);

/* The terminal text: significant changes, largest first, one line each, within width columns;
 * then roles, categories, GC, GIL, endpoints. Returns 0 or PFS_EIO. */
int pfs_diff_write_text(const struct pfs_diff *d, FILE *f, unsigned width,
			struct pfs_err *err) PFS_MUST_CHECK;
/* The perfsight-diff/1 document (docs/diff.md); with trees, the merged trees too (the HTML
 * report's data). Returns 0 or PFS_EIO. */
int pfs_diff_write_json(const struct pfs_diff *d, FILE *f, bool pretty, bool trees,
			struct pfs_err *err) PFS_MUST_CHECK;

#endif
