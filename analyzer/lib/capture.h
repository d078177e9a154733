/*
 * capture: any input perfsight reads, loaded by its content into one profile. Every command
 * that reads captures (collapse, summary, report, flamegraph, export) goes through here, so
 * they all take the same inputs:
 *
 *  - a perf.data capture (file or pipe mode, magic "PERFILE2" in either byte order, or "-"),
 *    through ingest, optionally with the Python analysis fed every record (analysis.h);
 *  - a perfsight database (SQLite magic), one capture of it picked by id or label, read back
 *    through store: the profile, the samples summed by thread and call path and the analysis
 *    import stored (restored whatever opts.analysis says: it costs no records); or, with
 *    opts.stored_report, only the report data import made, when it did (a report needs
 *    nothing else, and reading it is cheap whatever the capture's size);
 *  - a profiler dump pyprof reads (pyinstrument, speedscope, folded stacks, a directory of them);
 *  - a call-graph profile (pstats.h: cProfile's dumps; callgrind.h: valgrind's and pprofile's
 *    callgrind files), or a database capture of one: c->graph holds it, with its functions as
 *    frames of c->prof, and there are no sample rows (such a profile has edges, not stacks).
 *
 * The rows go to the capture's agg (sums by event, thread and call path) unless opts.no_agg,
 * and to opts.sink as well; a report timeline (reportdata) is fed from the same rows when asked.
 *
 * Ownership: pfs_capture_load() fills a struct the caller owns; pfs_capture_release() frees
 * everything in it, whether the load succeeded or not.
 */
#ifndef PFS_CAPTURE_H
#define PFS_CAPTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "agg.h"
#include "analysis.h"
#include "callgraph.h"
#include "diag.h"
#include "err.h"
#include "ingest.h"
#include "profile.h"
#include "pyprof.h"
#include "reportdata.h"
#include "views.h"

struct pfs_store;

enum pfs_capture_kind {
	PFS_CAPTURE_PERF = 1,
	PFS_CAPTURE_DB,
	PFS_CAPTURE_PYPROF,
	PFS_CAPTURE_CALLGRAPH,
};

struct pfs_capture_opts {
	struct pfs_ingest_opts ingest; /* perf.data: symbol search, event choice (hooks unused) */
	bool analysis;	    /* perf.data: run the Python analysis (streams every event) */
	bool timeline;	    /* feed a report timeline (perf.data and databases: no) */
	bool no_agg;	    /* rows go to sink only */
	pfs_sample_cb sink; /* NULL: none */
	void *payload;
	const char *which; /* database: the capture's id or label; NULL: the only one */
	const char *label; /* pyprof: the label of a single file; NULL: its name */
	bool no_merge;	   /* pyprof: a directory is refused instead of merged */
	/* database: when import kept the capture's report data, load that (report_json) and
	 * not the profile, samples or analysis, which stay empty */
	bool stored_report;
	/* database: no agg (NULL) for a capture with a stored analysis, which says it all; the
	 * samples are summed only for one without (a profiler dump, an older import) */
	bool agg_without_analysis;
	/* perf.data with analysis: where its off-CPU intervals and probe hits go (NULL: none) */
	const struct pfs_an_sink *an_sink;
};

/* What the input says about itself; owned strings, NULL/NAN/UINT64_MAX when unknown. */
struct pfs_capture_info {
	char *label, *source, *host, *os_release, *perf_version, *cmdline, *recorded;
	char *kind; /* a database's: what was imported ("perf", "pyinstrument", ...) */
	double duration_s;
	uint64_t lost_samples;
	uint32_t cpus;
};

struct pfs_capture {
	enum pfs_capture_kind kind;
	struct pfs_profile *prof;
	struct pfs_agg *agg;	       /* NULL with opts.no_agg */
	struct pfs_analysis *analysis; /* perf.data with opts.analysis, or a database capture
					  import analysed; finished; else NULL */
	struct pfs_views *views;       /* made for the capture's CPython; never NULL after a load */
	struct pfs_reportdata_tl *timeline; /* with opts.timeline on perf.data; else NULL */
	struct pfs_pyprof_meta pyprof;	    /* PYPROF, and a DB capture of a dump: one entry per
					       file (no CPU time in a DB; durations from the
					       files' spans) */
	enum pfs_pyprof_kind pyprof_kind;   /* PYPROF: what was detected; DB: PFS_PYPROF_DIR for
					       a merged directory, else NONE */
	struct pfs_callgraph *graph;	    /* CALLGRAPH, and a DB capture of one; else NULL */
	char *report_json; /* DB with opts.stored_report: the stored report data, untitled */
	size_t report_len;
	int64_t db_id; /* DB: the capture's id */
	struct pfs_capture_info info;
	struct pfs_diag diag; /* the load's diagnostics (the analysis keeps its own) */
	uint64_t rows;	      /* rows streamed */
	uint64_t *row_paths;  /* without an agg: bit p set when a row's call path is p */
	size_t n_row_paths;   /* words */
};

/* Tells what path holds by its first bytes: a pfs_capture_kind, or a negative code. */
int pfs_capture_detect(const char *path, struct pfs_err *err) PFS_MUST_CHECK;

/*
 * Loads path into c (zeroed by the caller or not: it is initialised here). Returns 0, or
 * a negative code with err naming the file and the offset or field: PFS_EFORMAT and friends for
 * bad input, PFS_EUSAGE for an event or database capture that does not exist (the message lists
 * what does), PFS_EDB for a database error, or the sink's own code.
 */
int pfs_capture_load(struct pfs_capture *c, const char *path, const struct pfs_capture_opts *o,
		     struct pfs_err *err) PFS_MUST_CHECK;
void pfs_capture_release(struct pfs_capture *c);

/* The index of the event named name in c's profile (in its call graph's events for one), or -1. */
int pfs_capture_event(const struct pfs_capture *c, const char *name);
/* The index of the first sampling (not tracepoint) event, or -1. */
int pfs_capture_first_sampling(const struct pfs_capture *c);

/*
 * The event to fold for the user's name (NULL: the default) into *out: the named event; by
 * default the first sampling event of a perf capture or database (as collapse folds it), and
 * -1 (every event) for a profiler dump. Returns 0, or PFS_EUSAGE when there is no such event.
 */
int pfs_capture_fold_event(const struct pfs_capture *c, const char *name, int *out);

/*
 * The weight a capture is folded in unless the user says otherwise: its own unit. perf.data
 * and databases count samples; a profiler dump its seconds (pyinstrument's wall time) or, when
 * its rows are counts (folded stacks, sampled speedscope), their periods: the counts themselves.
 */
enum pfs_fold_weight pfs_capture_default_weight(const struct pfs_capture *c);

/*
 * The report data of c (docs/report-data.md) with meta.title = title (NULL: none): the stored
 * one when the load found it, else made from the profile, agg, views, analysis, timeline and
 * load diagnostics, the trees counting event (-1: every sampling event). A stored document
 * was made for every sampling event: the caller loads without opts.stored_report to count
 * one. Returns 0 and a malloc'd *json of *len bytes, PFS_EFORMAT (stored data that is not a
 * report's), PFS_EIO (no memory for the stream), or pfs_reportdata_write()'s code.
 */
int pfs_capture_report_data(struct pfs_capture *c, int event, const char *title, char **json,
			    size_t *len, struct pfs_err *err) PFS_MUST_CHECK;

/*
 * Makes the report data of c, a perf.data capture loaded with its analysis, exactly as
 * a report of capture id of st will make it when import has not (the meta of id's row, no load
 * diagnostics, every sampling event, no title), and keeps it in st's open capture, whose
 * profile must be written already (pfs_store_put_profile: the views add paths to c's
 * profile). Without an agg (opts.no_agg), c gets one summed from the samples st holds.
 * Returns 0, PFS_EUSAGE (not such a capture), PFS_EDB, or as above.
 */
int pfs_capture_store_report(struct pfs_capture *c, struct pfs_store *st, int64_t id,
			     struct pfs_err *err) PFS_MUST_CHECK;

/* Fills the report's meta from what the capture says (strings borrowed from c). */
void pfs_capture_report_meta(const struct pfs_capture *c, struct pfs_reportdata_meta *m);

#endif
