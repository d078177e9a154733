/*
 * reportdata: the JSON document `perfsight report` embeds (docs/report-data.md, version 1),
 * built from what the pipeline already holds: the profile, its agg (sums by thread and call
 * path), the views (native/mixed/python paths and pyclass's reading of each stack), and
 * optionally the Python analysis (GC/GIL figures, pauses, roles), a timeline, the pyprof meta
 * of a pyinstrument input and the run's diagnostics.
 *
 * Trees are per thread and per view, nodes merged by (parent, shown name, kind), children
 * sorted by total. Nodes lighter than the width limit are merged into one `[other]` child of
 * their parent, so totals never change; the limit is opts.minwidth of the whole document's
 * weight, raised when needed so that no more than opts.max_nodes nodes are written (what keeps
 * the report of any capture within a few MB).
 *
 * A system-wide capture holds thousands of short processes: those lighter than
 * PFS_REPORTDATA_PROC_MIN of the whole (a server's master and workers excepted) are written as
 * one process entry with pid and tid -1, named "[N small processes]", when there are two or
 * more of them; their GC pauses are relabelled to it. The timeline keeps the
 * PFS_REPORTDATA_TL_THREADS busiest threads. Both bound the document by what matters.
 *
 * The timeline needs sample times, which the agg does not keep: a pfs_reportdata_tl is a
 * pfs_sample_cb sink fed the same rows as the agg (every event, in time order). It keeps, per
 * thread, counts in time buckets whose width doubles whenever the capture outgrows the bucket
 * budget, so its memory is bounded by threads, never by samples or duration.
 *
 * Use, with the views made once the capture's CPython is known (its version, or after the
 * binaries are in the profile) and the timeline fed every row the agg is fed:
 *
 *	tl = pfs_reportdata_tl_new(prof, views, -1);       ... ingest: pfs_reportdata_tl_add(tl,
 *row) struct pfs_reportdata_input in = {prof, agg, views, analysis, tl, NULL, &diag};
 *	pfs_reportdata_meta_init(&in.meta); in.meta.title = title; ...
 *	rc = pfs_reportdata_write(&in, NULL, f, &err);
 *
 * GIL waits are in the timeline (the analysis' own waits, handed over by its sink's wait
 * callback: pfs_reportdata_tl_wait) and, the longest the analysis kept (PFS_AN_MAX_WAITS), in
 * `gil_waits`: one definition (docs/gil.md) for the tables, the timeline and the summary.
 *
 * Ownership: everything passed in is borrowed. Writing may add view paths and frames to the
 * profile (through the views). Strings are written as JSON text through jsonw, which escapes
 * what could close a script element; nothing else is escaped here.
 */
#ifndef PFS_REPORTDATA_H
#define PFS_REPORTDATA_H

#include <stdint.h>
#include <stdio.h>

#include "agg.h"
#include "analysis.h"
#include "diag.h"
#include "err.h"
#include "profile.h"
#include "pyprof.h"
#include "views.h"

/* Default width limit: a node must weigh 1/20000 of the document to get a node of its own. */
#define PFS_REPORTDATA_MINWIDTH 0.00005
/* Default node budget over all trees of a document (about 30 bytes of JSON each). */
#define PFS_REPORTDATA_MAX_NODES 120000
/* Processes lighter than this share of the document are folded into one entry (pid -1). */
#define PFS_REPORTDATA_PROC_MIN 0.001
/* The timeline has rows for this many threads, the busiest. */
#define PFS_REPORTDATA_TL_THREADS 64
/* gc_triggers lists this many Python paths per process, the heaviest. */
#define PFS_REPORTDATA_GC_TRIGGERS 20

/* What the summary says about the capture. NULL strings, NAN and UINT64_MAX are "not known". */
struct pfs_reportdata_meta {
	const char *title, *host, *command, *perf_version, *kernel, *recorded;
	const char *source; /* "perf.data", "pyinstrument" */
	double duration_s;  /* NAN: from the agg's time range */
	uint64_t samples;   /* UINT64_MAX: the sample count of the reported events in the agg */
	uint64_t lost;	    /* lost samples; UINT64_MAX: unknown */
};

/* Fills m with "not known" everywhere. */
void pfs_reportdata_meta_init(struct pfs_reportdata_meta *m);

struct pfs_reportdata_opts {
	int event; /* event index whose samples the trees count; -1: every sampling event */
	/*
	 * PFS_FOLD_SAMPLES: weights are sample counts (meta.unit "samples");
	 * PFS_FOLD_PERIOD: weights are the samples' periods, which must be ns (cpu-clock,
	 * task-clock, pyinstrument's wall time): meta.unit "ns". PFS_FOLD_SECONDS is not a unit
	 * here (weights are integers): use PERIOD for pyinstrument inputs.
	 */
	enum pfs_fold_weight weight;
	double unit_s;	  /* seconds per sample (SAMPLES); 0: the mean period of cpu-clock */
	double minwidth;  /* fraction of the whole; 0: PFS_REPORTDATA_MINWIDTH */
	size_t max_nodes; /* 0: PFS_REPORTDATA_MAX_NODES */
};

struct pfs_reportdata_tl;

struct pfs_reportdata_input {
	struct pfs_profile *profile;
	const struct pfs_agg *agg;
	struct pfs_views *views;
	const struct pfs_analysis *analysis;	  /* NULL: no GC/GIL figures, every role "other" */
	const struct pfs_reportdata_tl *timeline; /* NULL: no timeline */
	const struct pfs_pyprof_meta *pyprof;	  /* NULL unless the profile came from pyprof */
	const struct pfs_diag *diag; /* the run's (the analysis' own are added); NULL: none */
	struct pfs_reportdata_meta meta;
};

/*
 * A timeline sink over profile p; event as in pfs_reportdata_opts (rows of other events only
 * end GIL waits). views classifies stacks (GC and GIL samples, GIL waits begun by a
 * sched_switch sample whose stack holds take_gil). Never fails.
 */
struct pfs_reportdata_tl *pfs_reportdata_tl_new(struct pfs_profile *p, struct pfs_views *v,
						int event);
void pfs_reportdata_tl_free(struct pfs_reportdata_tl *t);
/* The sink: payload is the struct pfs_reportdata_tl. Always returns 0. */
int pfs_reportdata_tl_add(void *payload, const struct pfs_sample_row *row);
/*
 * A GIL wait the analysis counted (its sink's wait callback: the timeline draws the waits the
 * summary's figures add up, pfs_an_sink): switch and probe waits are kept apart and the
 * report draws the ones its figures count. Always returns 0.
 */
int pfs_reportdata_tl_wait(void *payload, const struct pfs_an_wait *w);
/* The current bucket width in seconds (0 before any timed row). */
double pfs_reportdata_tl_bucket_s(const struct pfs_reportdata_tl *t);

/*
 * Writes the document to out (compact JSON, no trailing newline). opts may be NULL: every
 * sampling event, weights in ns for a pyinstrument input with wall-time units, else samples.
 * Returns 0, PFS_EUSAGE for a weight it cannot write, or PFS_EIO when out fails.
 */
int pfs_reportdata_write(const struct pfs_reportdata_input *in,
			 const struct pfs_reportdata_opts *opts, FILE *out,
			 struct pfs_err *err) PFS_MUST_CHECK;

/*
 * The document pfs_reportdata_write() would have written with meta.title = title, from doc,
 * one it wrote with no title (what a database keeps: the title is chosen when rendering).
 * Returns 0 and a malloc'd *out (NUL-terminated after *out_len bytes), or PFS_EFORMAT when doc
 * does not open as such a document does.
 */
int pfs_reportdata_set_title(const char *doc, size_t len, const char *title, char **out,
			     size_t *out_len, struct pfs_err *err) PFS_MUST_CHECK;

#endif
