/*
 * store: perfsight's SQLite database, the contract between ingest and every report. One
 * database holds any number of captures; docs/schema.md documents the tables, views and
 * example queries. This is the only module that uses SQLite.
 *
 * Writing one capture (all of it inside one transaction, so a crash or SIGKILL leaves the
 * database exactly as before the import; inside a batch, one savepoint of the batch's
 * transaction):
 *
 *     pfs_store_begin_capture()      BEGIN IMMEDIATE, the captures row, id bases
 *     pfs_store_sample() or          the sink ingest streams rows to (the first also queues
 *       pfs_store_sample_cb()          the call paths the profile gained since the last row)
 *     pfs_store_put_offcpu/probe/buildid(), pfs_store_put_diags(),
 *     pfs_store_put_analysis()       the analysis' books, which pfs_store_load_analysis() reads
 *     pfs_store_put_profile(), pfs_store_put_report()   optional: the profile's tables
 *                                    first, then the report data made over them
 *     pfs_store_end_capture(profile) writes the profile's tables (unless put), indexes, COMMIT
 *  or pfs_store_abort_capture()      ROLLBACK
 *
 * Ids: every table has a global INTEGER PRIMARY KEY. A capture's frames and paths are written
 * with id = base + the profile's own id, the bases (max id before the capture) kept in the
 * captures row, so samples streamed before the profile is written can already name their path;
 * events get id = event_base + index + 1; threads get ids in order of first mention. Strings
 * are numbered from string_base + 1 in order of first use and only those in use are written
 * (a profile also interns every kernel symbol name it loaded). Memory while writing is bounded
 * by the number of threads and of the profile's strings, never by samples.
 *
 * While a capture is open, its samples, call paths, off-CPU intervals and probe hits are
 * written by a thread of the store's own, fed in batches through a bounded queue, so that
 * SQLite's work overlaps ingest's; every other call waits for that queue to drain before it
 * uses the database, so a store is still used from one thread. A failed write shows in the
 * return of a later sink call or of pfs_store_end_capture().
 *
 * Ownership: pfs_store_open() / pfs_store_close(). Strings in read-back structs are owned by
 * them and freed with the matching _free/_release. Errors: PFS_EDB with SQLite's message and
 * the database path, PFS_EIO for a directory that is missing or cannot be written,
 * PFS_EUNSUPP for a database written by a newer perfsight or a file that is not one of ours,
 * PFS_EUSAGE for a duplicate capture or an unknown capture name.
 */
#ifndef PFS_STORE_H
#define PFS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agg.h"
#include "analysis.h"
#include "callgraph.h"
#include "diag.h"
#include "err.h"
#include "profile.h"

/* PRAGMA user_version of the databases this build writes (3: call-graph profiles). */
#define PFS_STORE_SCHEMA_VERSION 3

enum {
	PFS_STORE_CREATE = 1 << 0,   /* create the file and schema when missing */
	PFS_STORE_READONLY = 1 << 1, /* open for reading only (reports, collapse) */
};

/* What the capture says about itself; NULL strings, NAN doubles and 0 counts are "unknown". */
struct pfs_capture_meta {
	const char *label;	  /* unique name in the database; required */
	const char *source;	  /* path of the input as given */
	const char *content_hash; /* hex digest of the input's bytes; required */
	const char
	    *kind; /* "perf", "pyinstrument", "speedscope", "folded", "pstats", "callgrind" */
	const char *host, *os_release, *perf_version, *cmdline;
	double start_time; /* Unix epoch seconds */
	double duration;   /* seconds */
	uint32_t cpus;
	const char *weight_unit;  /* "samples", "seconds", or "mixed" (a merge of both) */
	const char *tool_version; /* the perfsight that imports it */
};

/* A context-switch interval: the thread was off CPU from t_out to t_in. */
struct pfs_store_offcpu {
	uint32_t pid, tid;
	uint64_t t_out, t_in;
	const char *state; /* prev_state as perf prints it ("S", "D", ...), NULL if unknown */
	uint32_t path;	   /* the profile's call path at switch-out, 0 if none */
};

/* A probe or tracepoint hit with its decoded fields. */
struct pfs_store_probe {
	uint32_t event; /* profile event index */
	uint32_t pid, tid;
	uint32_t cpu; /* UINT32_MAX if unknown */
	uint64_t time;
	uint32_t path;	    /* 0 if none */
	const char *fields; /* a JSON object of the decoded fields, NULL if none */
};

/* A captures row as read back. */
struct pfs_store_capture {
	int64_t id;
	char *label, *source, *content_hash, *kind, *host, *os_release, *perf_version, *cmdline;
	char *tool_version, *imported_at, *weight_unit;
	double start_time, duration; /* NAN if unknown */
	uint32_t cpus;
	uint64_t n_samples;
	uint64_t lost_samples; /* perf's lost samples (py_analysis); UINT64_MAX when unknown */
};

struct pfs_store;

/*
 * Opens (with PFS_STORE_CREATE: creates) the database at path, checks it is a perfsight database
 * of a version this build reads, and sets WAL mode. A file that is not SQLite, a database of
 * another application or of a newer schema are refused without writing to them.
 * Returns 0 and *out, or PFS_EIO, PFS_EDB, PFS_EUNSUPP (err says which, naming path).
 */
int pfs_store_open(struct pfs_store **out, const char *path, int flags,
		   struct pfs_err *err) PFS_MUST_CHECK;
/* Closes; a capture still open is rolled back. NULL is a no-op. */
void pfs_store_close(struct pfs_store *st);

/*
 * Starts a capture: one transaction until end or abort. A capture with the same content hash
 * or label is refused (PFS_EUSAGE, naming it) unless replace, which deletes it first (inside
 * the same transaction). meta->content_hash may be NULL: the caller still computing it (on
 * another thread, while ingest runs) gives it with pfs_store_set_hash() before the end.
 * *capture_id gets the new id. Returns 0, PFS_EUSAGE or PFS_EDB.
 */
int pfs_store_begin_capture(struct pfs_store *st, const struct pfs_capture_meta *meta, bool replace,
			    int64_t *capture_id, struct pfs_err *err) PFS_MUST_CHECK;

/*
 * The content hash of a capture begun without one: another capture with that hash is refused
 * or replaced as pfs_store_begin_capture() does. Returns 0, PFS_EUSAGE (a duplicate, naming
 * it; no capture open; a hash already set) or PFS_EDB. The capture stays open either way.
 */
int pfs_store_set_hash(struct pfs_store *st, const char *content_hash, bool replace,
		       struct pfs_err *err) PFS_MUST_CHECK;

/*
 * Sets the fields of meta that are known (non-NULL strings, non-NAN doubles, non-zero cpus) on
 * the open capture, for what ingest learns while reading. label and content_hash are ignored.
 * Returns 0, PFS_EUSAGE (no capture open) or PFS_EDB.
 */
int pfs_store_update_capture(struct pfs_store *st, const struct pfs_capture_meta *meta,
			     struct pfs_err *err) PFS_MUST_CHECK;

/*
 * The sample sink (a pfs_sample_cb; payload is the struct pfs_store). Rows are queued, not
 * written yet: returns 0, or PFS_EDB once a write of earlier rows failed (the SQLite message is
 * kept for pfs_store_end_capture/pfs_store_last_error).
 */
int pfs_store_sample_cb(void *payload, const struct pfs_sample_row *row);
/*
 * The same, for a sink that knows the profile ingest fills (the one pfs_store_end_capture will
 * get): the call paths prof gained since the last row are queued first, so that they are
 * written while ingest runs rather than at the end. Returns as pfs_store_sample_cb.
 */
int pfs_store_sample(struct pfs_store *st, const struct pfs_profile *prof,
		     const struct pfs_sample_row *row);

/* Rows beside the samples of the open capture. Each returns 0 or PFS_EDB (or PFS_EUSAGE
 * when no capture is open). */
int pfs_store_put_offcpu(struct pfs_store *st, const struct pfs_store_offcpu *o,
			 struct pfs_err *err) PFS_MUST_CHECK;
int pfs_store_put_probe(struct pfs_store *st, const struct pfs_store_probe *p,
			struct pfs_err *err) PFS_MUST_CHECK;
int pfs_store_put_buildid(struct pfs_store *st, const char *dso, const char *build_id,
			  struct pfs_err *err) PFS_MUST_CHECK;
int pfs_store_put_diags(struct pfs_store *st, const struct pfs_diag *d,
			struct pfs_err *err) PFS_MUST_CHECK;

/*
 * Keeps the report data (docs/report-data.md) of the open capture, len bytes of JSON, zstd-
 * compressed in table report_data, so a report of the capture reads it instead of rebuilding
 * it from the samples. Returns 0, PFS_EUSAGE (no capture open) or PFS_EDB.
 */
int pfs_store_put_report(struct pfs_store *st, const char *json, size_t len,
			 struct pfs_err *err) PFS_MUST_CHECK;

/*
 * Writes a finished analysis' books (threads, categories, GC pauses, GIL wait stacks, event
 * counts, notes, header) for the open capture, so pfs_store_load_analysis() rebuilds it. Its
 * paths and events are the profile's ids (the profile pfs_store_end_capture() writes).
 * Returns 0, PFS_EUSAGE (no capture open) or PFS_EDB.
 */
int pfs_store_put_analysis(struct pfs_store *st, const struct pfs_analysis *a,
			   struct pfs_err *err) PFS_MUST_CHECK;

/*
 * Writes the profile's strings, frames, paths, events, threads and processes and the capture's
 * sample range, and builds the indexes that are missing, without committing: what is added to
 * prof afterwards (the paths of views a report makes) is not written. Once per capture.
 * Returns 0, PFS_EUSAGE (no capture open, or called twice) or PFS_EDB (or the error a sink
 * call recorded); the capture stays open either way (abort it on failure).
 */
int pfs_store_put_profile(struct pfs_store *st, const struct pfs_profile *prof,
			  struct pfs_err *err) PFS_MUST_CHECK;

/*
 * Writes the profile's strings, frames, paths, events, threads and processes, the capture's
 * sample range (unless pfs_store_put_profile() did; prof is then unused), builds the indexes
 * that are missing and commits. On failure everything of the capture is rolled back. Returns 0,
 * PFS_EDB (or the error a sink call recorded), or PFS_EUSAGE when a capture begun without a
 * content hash never got one.
 */
int pfs_store_end_capture(struct pfs_store *st, const struct pfs_profile *prof,
			  struct pfs_err *err) PFS_MUST_CHECK;
/* Rolls the open capture back (inside a batch: that capture only); a no-op when none is open. */
void pfs_store_abort_capture(struct pfs_store *st);

/*
 * A batch: several captures in one transaction, all committed or none (a directory imported one
 * capture per file). Between begin and commit, each capture's begin/end/abort is a savepoint,
 * so a failed capture can be rolled back alone; the caller decides whether the batch goes on.
 * begin and commit return 0, PFS_EUSAGE (a capture or batch already open; no batch; a capture
 * still open) or PFS_EDB (locked, disk full: a failed commit rolls the whole batch back).
 * pfs_store_abort_batch() rolls everything of the batch back; a no-op without one.
 */
int pfs_store_begin_batch(struct pfs_store *st, struct pfs_err *err) PFS_MUST_CHECK;
int pfs_store_commit_batch(struct pfs_store *st, struct pfs_err *err) PFS_MUST_CHECK;
void pfs_store_abort_batch(struct pfs_store *st);
/* The error a failed sink call recorded (code 0 when none). */
const struct pfs_err *pfs_store_last_error(const struct pfs_store *st);

/* Every capture, by id. Returns the count (>= 0) and *out (free with pfs_store_captures_free),
 * or PFS_EDB. */
int pfs_store_captures(struct pfs_store *st, struct pfs_store_capture **out,
		       struct pfs_err *err) PFS_MUST_CHECK;
void pfs_store_captures_free(struct pfs_store_capture *v, size_t n);

/*
 * The capture named by which: a decimal id or a label; NULL picks the only capture. Returns 0
 * and *id, PFS_EUSAGE (no such capture, none, or NULL with several: the message lists them)
 * or PFS_EDB.
 */
int pfs_store_find(struct pfs_store *st, const char *which, int64_t *id,
		   struct pfs_err *err) PFS_MUST_CHECK;

/*
 * Rebuilds a capture's profile into prof, which must be new (empty): frame, path and event ids
 * come back equal to the ones ingest gave; string ids are the store's numbering (the strings
 * in use only), consistent with pfs_store_fill_agg(). Returns 0, PFS_EDB,
 * or PFS_EFORMAT when the rows do not form a profile (a database edited by hand).
 */
int pfs_store_load_profile(struct pfs_store *st, int64_t capture_id, struct pfs_profile *prof,
			   struct pfs_err *err) PFS_MUST_CHECK;

/*
 * Adds the capture's samples to agg, summed by (event, thread, thread name, call path) in SQL,
 * with the ids of the profile pfs_store_load_profile() rebuilds, and their time range.
 * Returns the number of samples added, or PFS_EDB.
 */
int64_t pfs_store_fill_agg(struct pfs_store *st, int64_t capture_id, struct pfs_agg *agg,
			   struct pfs_err *err) PFS_MUST_CHECK;

/*
 * Streams the capture's samples to cb in the order they were imported, with the ids of the
 * profile pfs_store_load_profile() rebuilds (or of the profile an open capture wrote with
 * pfs_store_put_profile(), whose rows it reads before the commit). comm is 0: the store's
 * string numbers are not the profile's. Returns the number of rows, PFS_EDB, or cb's negative
 * code (which stops the scan).
 */
int64_t pfs_store_scan_samples(struct pfs_store *st, int64_t capture_id, pfs_sample_cb cb,
			       void *payload, struct pfs_err *err) PFS_MUST_CHECK;

/*
 * Rebuilds the analysis pfs_store_put_analysis() stored for capture_id over prof, the profile
 * pfs_store_load_profile() rebuilt; label and source name it in the summary. Returns 0 and *out
 * (NULL when the capture has no stored analysis: a pyprof capture, a version-1 database),
 * PFS_EDB, or PFS_EFORMAT for rows that name paths or events the capture does not have.
 */
int pfs_store_load_analysis(struct pfs_store *st, int64_t capture_id, struct pfs_profile *prof,
			    const char *label, const char *source, struct pfs_analysis **out,
			    struct pfs_err *err) PFS_MUST_CHECK;

/*
 * Writes a call-graph profile (pstats, callgrind) for the open capture: its events, functions
 * (pointing at the frames of the profile pfs_store_end_capture() writes), edges and costs, in
 * the cg_ tables, so pfs_store_load_callgraph() rebuilds it. g must be finished. Returns 0,
 * PFS_EUSAGE (no capture open) or PFS_EDB.
 */
int pfs_store_put_callgraph(struct pfs_store *st, const struct pfs_callgraph *g,
			    struct pfs_err *err) PFS_MUST_CHECK;

/*
 * Rebuilds the call graph pfs_store_put_callgraph() stored for capture_id over prof, the
 * profile pfs_store_load_profile() rebuilt: 0 and *out (finished; NULL when the capture has
 * none: not a call-graph profile, or a database before version 3), PFS_EDB, or PFS_EFORMAT
 * for rows that name functions, frames or events the capture does not have.
 */
int pfs_store_load_callgraph(struct pfs_store *st, int64_t capture_id, struct pfs_profile *prof,
			     struct pfs_callgraph **out, struct pfs_err *err) PFS_MUST_CHECK;

/*
 * A figure of a capture for `perfsight trend`, kept at import so that a trend over a thousand
 * captures reads a few rows each instead of their samples: kind "figure" (name: samples,
 * gc_share, ...; value) or "function" (name: the function; value: its self share, total: its
 * total share). NAN is "not measured" (stored as NULL).
 */
struct pfs_store_trend {
	int64_t capture; /* read back only */
	const char *kind, *name;
	double value, total;
};

/* Keeps rows for the open capture. Returns 0, PFS_EUSAGE (no capture open) or PFS_EDB. */
int pfs_store_put_trend(struct pfs_store *st, const struct pfs_store_trend *rows, size_t n,
			struct pfs_err *err) PFS_MUST_CHECK;
/*
 * The rows of the captures whose label matches the GLOB labels (NULL: every capture), by
 * capture id: every figure, and the function rows of the top functions only, by self share
 * summed over those captures (strings owned: pfs_store_trend_free). Returns the count, 0 when
 * the database has none (imported by an older perfsight), or PFS_EDB.
 */
int pfs_store_trend(struct pfs_store *st, const char *labels, size_t top,
		    struct pfs_store_trend **out, struct pfs_err *err) PFS_MUST_CHECK;
void pfs_store_trend_free(struct pfs_store_trend *v, size_t n);

/*
 * The report data pfs_store_put_report() kept for capture_id: 0 and a malloc'd *json
 * (NUL-terminated after *len bytes), or 0 and NULL when there is none (imported by an older
 * perfsight, or the row is of a capture an older perfsight replaced since), PFS_EDB, or
 * PFS_EFORMAT when the stored bytes do not decompress.
 */
int pfs_store_get_report(struct pfs_store *st, int64_t capture_id, char **json, size_t *len,
			 struct pfs_err *err) PFS_MUST_CHECK;

#endif
