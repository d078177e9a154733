/*
 * store: the SQLite database. See store.h for the model and docs/schema.md for the schema.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"
#include "verdicts.h"
#include "xalloc.h"
#include "zst.h"

/* The application_id stamped in the header tells our databases from other SQLite files. */
#define PFS_STORE_APP_ID 0x70667331 /* "pfs1" */

static const char schema_sql[] =
    "CREATE TABLE captures(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  label TEXT NOT NULL UNIQUE,\n"
    "  source TEXT,\n"
    "  content_hash TEXT NOT NULL UNIQUE,\n"
    "  kind TEXT NOT NULL,\n"
    "  host TEXT, os_release TEXT, perf_version TEXT, cmdline TEXT,\n"
    "  start_time REAL, duration REAL, cpus INTEGER,\n"
    "  tool_version TEXT NOT NULL,\n"
    "  imported_at TEXT NOT NULL,\n"
    "  weight_unit TEXT NOT NULL CHECK (weight_unit IN ('samples', 'seconds', 'mixed')),\n"
    "  string_base INTEGER NOT NULL, n_strings INTEGER NOT NULL DEFAULT 0,\n"
    "  frame_base INTEGER NOT NULL, n_frames INTEGER NOT NULL DEFAULT 0,\n"
    "  path_base INTEGER NOT NULL, n_paths INTEGER NOT NULL DEFAULT 0,\n"
    "  event_base INTEGER NOT NULL,\n"
    "  sample_first INTEGER, sample_last INTEGER, n_samples INTEGER NOT NULL DEFAULT 0\n"
    ");\n"
    "CREATE TABLE frame_kinds(id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"
    "INSERT INTO frame_kinds VALUES (0, 'unknown'), (1, 'native'), (2, 'kernel'),\n"
    "  (3, 'python'), (4, 'jit'), (5, 'pyinstrument'), (6, 'pseudo');\n"
    "CREATE TABLE strings(id INTEGER PRIMARY KEY, capture INTEGER NOT NULL, text TEXT NOT NULL);\n"
    "CREATE TABLE events(id INTEGER PRIMARY KEY, capture INTEGER NOT NULL, name TEXT NOT NULL,\n"
    "  sampling INTEGER NOT NULL, samples INTEGER NOT NULL);\n"
    "CREATE TABLE processes(id INTEGER PRIMARY KEY, capture INTEGER NOT NULL,\n"
    "  pid INTEGER NOT NULL, ppid INTEGER, comm TEXT, cmdline TEXT, start INTEGER, end INTEGER);\n"
    "CREATE TABLE threads(id INTEGER PRIMARY KEY, capture INTEGER NOT NULL,\n"
    "  pid INTEGER NOT NULL, tid INTEGER NOT NULL, comm TEXT, start INTEGER, end INTEGER,\n"
    "  samples INTEGER NOT NULL DEFAULT 0);\n"
    "CREATE TABLE buildids(capture INTEGER NOT NULL, path TEXT NOT NULL, build_id TEXT NOT NULL);\n"
    "CREATE TABLE frames(id INTEGER PRIMARY KEY, capture INTEGER NOT NULL,\n"
    "  name INTEGER NOT NULL, file INTEGER, line INTEGER, dso INTEGER,\n"
    "  kind INTEGER NOT NULL, inlined INTEGER NOT NULL);\n"
    "CREATE TABLE paths(id INTEGER PRIMARY KEY, capture INTEGER NOT NULL, parent INTEGER,\n"
    "  frame INTEGER NOT NULL, depth INTEGER NOT NULL);\n"
    "CREATE TABLE samples(id INTEGER PRIMARY KEY, capture INTEGER NOT NULL,\n"
    "  event INTEGER NOT NULL, time INTEGER, thread INTEGER NOT NULL, cpu INTEGER,\n"
    "  path INTEGER, period INTEGER NOT NULL, weight REAL NOT NULL, comm INTEGER);\n"
    "CREATE TABLE offcpu(id INTEGER PRIMARY KEY, capture INTEGER NOT NULL,\n"
    "  thread INTEGER NOT NULL, t_out INTEGER NOT NULL, t_in INTEGER NOT NULL, state TEXT,\n"
    "  path INTEGER);\n"
    "CREATE TABLE probes(id INTEGER PRIMARY KEY, capture INTEGER NOT NULL,\n"
    "  event INTEGER NOT NULL, time INTEGER, thread INTEGER NOT NULL, cpu INTEGER,\n"
    "  path INTEGER, fields TEXT);\n"
    "CREATE TABLE diagnostics(capture INTEGER NOT NULL, code TEXT NOT NULL,\n"
    "  severity TEXT NOT NULL, count INTEGER NOT NULL, first_offset INTEGER,\n"
    "  message TEXT NOT NULL);\n"
    "CREATE TABLE summaries(capture INTEGER PRIMARY KEY, json TEXT NOT NULL);\n"
    "CREATE TABLE gc_functions(name TEXT PRIMARY KEY);\n"
    "INSERT INTO gc_functions VALUES ('collect'), ('collect_with_callback'),\n"
    "  ('collect_generations'), ('gc_collect_main'), ('gc_collect_with_callback'),\n"
    "  ('gc_collect_generations'), ('gc_collect_internal'), ('gc_collect_region'),\n"
    "  ('gc_collect_young'), ('gc_collect_increment');\n"
    /* Views: readable frames first, the others build on it. */
    "CREATE VIEW frames_text AS\n"
    "  SELECT f.id, f.capture, n.text AS function, fl.text AS file, f.line, d.text AS dso,\n"
    "    k.name AS kind, f.inlined\n"
    "  FROM frames f JOIN strings n ON n.id = f.name JOIN frame_kinds k ON k.id = f.kind\n"
    "  LEFT JOIN strings fl ON fl.id = f.file LEFT JOIN strings d ON d.id = f.dso;\n"
    "CREATE VIEW dsos AS\n"
    "  SELECT DISTINCT f.capture, d.text AS path, b.build_id\n"
    "  FROM frames f JOIN strings d ON d.id = f.dso\n"
    "  LEFT JOIN buildids b ON b.capture = f.capture AND b.path = d.text;\n"
    "CREATE VIEW top_self AS\n"
    "  SELECT s.capture, e.name AS event, n.text AS function, count(*) AS samples,\n"
    "    sum(s.weight) AS weight\n"
    "  FROM samples s JOIN events e ON e.id = s.event JOIN paths p ON p.id = s.path\n"
    "  JOIN frames f ON f.id = p.frame JOIN strings n ON n.id = f.name\n"
    "  GROUP BY s.capture, s.event, f.name;\n"
    "CREATE VIEW top_total AS\n"
    "  WITH RECURSIVE\n"
    "  leaf(capture, event, path, samples, weight) AS (\n"
    "    SELECT capture, event, path, count(*), sum(weight) FROM samples\n"
    "    WHERE path IS NOT NULL GROUP BY capture, event, path),\n"
    "  anc(leaf, node) AS (\n"
    "    SELECT DISTINCT path, path FROM leaf\n"
    "    UNION ALL\n"
    "    SELECT a.leaf, p.parent FROM anc a JOIN paths p ON p.id = a.node\n"
    "    WHERE p.parent IS NOT NULL),\n"
    "  fn(leaf, name) AS (\n"
    "    SELECT DISTINCT a.leaf, f.name FROM anc a JOIN paths p ON p.id = a.node\n"
    "    JOIN frames f ON f.id = p.frame)\n"
    "  SELECT l.capture, e.name AS event, n.text AS function, sum(l.samples) AS samples,\n"
    "    sum(l.weight) AS weight\n"
    "  FROM fn JOIN leaf l ON l.path = fn.leaf JOIN events e ON e.id = l.event\n"
    "  JOIN strings n ON n.id = fn.name\n"
    "  GROUP BY l.capture, l.event, fn.name;\n"
    "CREATE VIEW thread_cpu AS\n"
    "  SELECT s.capture, e.name AS event, t.pid, t.tid, t.comm, count(*) AS samples,\n"
    "    sum(s.weight) AS weight,\n"
    "    100.0 * sum(s.weight) / sum(sum(s.weight)) OVER (PARTITION BY s.capture, s.event)\n"
    "      AS percent\n"
    "  FROM samples s JOIN events e ON e.id = s.event JOIN threads t ON t.id = s.thread\n"
    "  GROUP BY s.capture, s.event, s.thread;\n"
    "CREATE VIEW folded AS\n"
    "  WITH RECURSIVE stack(id, text) AS (\n"
    "    SELECT p.id, replace(replace(n.text, char(10), ' '), char(13), ' ')\n"
    "    FROM paths p JOIN frames f ON f.id = p.frame JOIN strings n ON n.id = f.name\n"
    "    WHERE p.parent IS NULL\n"
    "    UNION ALL\n"
    "    SELECT p.id, stack.text || ';' || replace(replace(n.text, char(10), ' '), char(13), ' ')\n"
    "    FROM stack JOIN paths p ON p.parent = stack.id JOIN frames f ON f.id = p.frame\n"
    "    JOIN strings n ON n.id = f.name)\n"
    "  SELECT s.capture, e.name AS event,\n"
    "    replace(replace(coalesce(c.text, t.comm, '[unknown]'), char(10), ' '), char(13), ' ')\n"
    "      || coalesce(';' || stack.text, '') AS stack,\n"
    "    count(*) AS samples, sum(s.period) AS period, sum(s.weight) AS weight\n"
    "  FROM samples s JOIN events e ON e.id = s.event JOIN threads t ON t.id = s.thread\n"
    "  LEFT JOIN strings c ON c.id = s.comm LEFT JOIN stack ON stack.id = s.path\n"
    "  GROUP BY s.capture, s.event, 3;\n"
    "CREATE VIEW gc_share AS\n"
    "  WITH RECURSIVE gc_path(id) AS (\n"
    "    SELECT p.id FROM paths p JOIN frames f ON f.id = p.frame\n"
    "    JOIN strings n ON n.id = f.name JOIN strings d ON d.id = f.dso\n"
    "    WHERE d.text GLOB '*python*' AND EXISTS (SELECT 1 FROM gc_functions g\n"
    "      WHERE n.text = g.name OR n.text GLOB g.name || '.*')\n"
    "    UNION\n"
    "    SELECT p.id FROM gc_path JOIN paths p ON p.parent = gc_path.id)\n"
    "  SELECT s.capture, e.name AS event, t.pid, pr.comm, count(*) AS samples,\n"
    "    count(g.id) AS gc_samples, 100.0 * count(g.id) / count(*) AS gc_percent\n"
    "  FROM samples s JOIN events e ON e.id = s.event JOIN threads t ON t.id = s.thread\n"
    "  LEFT JOIN processes pr ON pr.capture = s.capture AND pr.pid = t.pid\n"
    "  LEFT JOIN gc_path g ON g.id = s.path\n"
    "  WHERE e.sampling\n"
    "  GROUP BY s.capture, s.event, t.pid;\n";

/*
 * Version 2: the analysis' books (analysis.h), so a database gives back the same summary as
 * the raw capture. A version-1 database opened for writing gains these tables.
 */
static const char analysis_sql[] =
    "CREATE TABLE py_analysis(capture INTEGER PRIMARY KEY, python TEXT, py_major INTEGER,\n"
    "  py_minor INTEGER, free_threaded INTEGER, python_known INTEGER,\n"
    "  switch_waits INTEGER NOT NULL, gil_probes INTEGER NOT NULL, gc_probes INTEGER NOT NULL,\n"
    "  cpu_clock INTEGER NOT NULL, lost_samples INTEGER, first_time INTEGER,\n"
    "  last_time INTEGER, command TEXT);\n"
    "CREATE TABLE py_threads(capture INTEGER NOT NULL, pid INTEGER NOT NULL,\n"
    "  tid INTEGER NOT NULL, cpu_samples INTEGER NOT NULL, gc_samples INTEGER NOT NULL,\n"
    "  gil_samples INTEGER NOT NULL, cpu_period INTEGER NOT NULL,\n"
    "  gil_wait_ns INTEGER NOT NULL, gil_waits INTEGER NOT NULL,\n"
    "  probe_wait_ns INTEGER NOT NULL, probe_waits INTEGER NOT NULL,\n"
    "  gc_pauses INTEGER NOT NULL, gc_pause_ns INTEGER NOT NULL, last_time INTEGER);\n"
    "CREATE TABLE py_categories(capture INTEGER NOT NULL, pid INTEGER NOT NULL,\n"
    "  tid INTEGER NOT NULL, category TEXT NOT NULL, samples INTEGER NOT NULL);\n"
    "CREATE TABLE gc_pauses(capture INTEGER NOT NULL, pid INTEGER NOT NULL,\n"
    "  tid INTEGER NOT NULL, start INTEGER NOT NULL, duration_ns INTEGER NOT NULL,\n"
    "  path INTEGER);\n"
    "CREATE TABLE gil_wait_stacks(capture INTEGER NOT NULL, pid INTEGER NOT NULL,\n"
    "  path INTEGER, wait_ns INTEGER NOT NULL, waits INTEGER NOT NULL);\n"
    "CREATE TABLE py_events(capture INTEGER NOT NULL, event INTEGER NOT NULL,\n"
    "  samples INTEGER NOT NULL);\n"
    "CREATE TABLE py_notes(capture INTEGER NOT NULL, code TEXT NOT NULL,\n"
    "  severity TEXT NOT NULL, count INTEGER NOT NULL, message TEXT NOT NULL);\n";

/*
 * Version 3: call-graph profiles (callgraph.h), which hold edges and no stacks: events (cost
 * columns), functions (frames of the capture), caller -> callee edges, and their costs, one
 * row per event. A version-1 or 2 database opened for writing gains these tables (IF NOT
 * EXISTS: an upgrade never fails on a table that is there already).
 */
static const char callgraph_sql[] =
    "CREATE TABLE IF NOT EXISTS cg_info(capture INTEGER PRIMARY KEY, format TEXT NOT NULL, size "
    "INTEGER,\n"
    "  marshal_version INTEGER, refs INTEGER, ref_uses INTEGER, creator TEXT, cmd TEXT,\n"
    "  positions TEXT, version TEXT, pid INTEGER, parts INTEGER);\n"
    "CREATE TABLE IF NOT EXISTS cg_events(id INTEGER PRIMARY KEY, capture INTEGER NOT NULL,\n"
    "  name TEXT NOT NULL, description TEXT, unit TEXT NOT NULL, total REAL NOT NULL,\n"
    "  summary REAL);\n"
    "CREATE TABLE IF NOT EXISTS cg_functions(id INTEGER PRIMARY KEY, capture INTEGER NOT NULL,\n"
    "  frame INTEGER NOT NULL, listed INTEGER NOT NULL, calls INTEGER, prim_calls INTEGER);\n"
    "CREATE TABLE IF NOT EXISTS cg_edges(id INTEGER PRIMARY KEY, capture INTEGER NOT NULL,\n"
    "  caller INTEGER NOT NULL, callee INTEGER NOT NULL, calls INTEGER, prim_calls INTEGER);\n"
    "CREATE TABLE IF NOT EXISTS cg_costs(capture INTEGER NOT NULL, event INTEGER NOT NULL,\n"
    "  function INTEGER, edge INTEGER, self REAL, inclusive REAL,\n"
    "  CHECK ((function IS NULL) != (edge IS NULL)));\n"
    "CREATE VIEW IF NOT EXISTS cg_functions_text AS\n"
    "  SELECT f.capture, f.id, n.text AS function, fl.text AS file, fr.line, d.text AS object,\n"
    "    f.listed, f.calls, f.prim_calls, e.name AS event, c.self, c.inclusive\n"
    "  FROM cg_functions f JOIN frames fr ON fr.id = f.frame JOIN strings n ON n.id = fr.name\n"
    "  LEFT JOIN strings fl ON fl.id = fr.file LEFT JOIN strings d ON d.id = fr.dso\n"
    "  JOIN cg_costs c ON c.function = f.id JOIN cg_events e ON e.id = c.event;\n"
    "CREATE VIEW IF NOT EXISTS cg_edges_text AS\n"
    "  SELECT g.capture, g.id, a.function AS caller, a.file AS caller_file,\n"
    "    b.function AS callee, b.file AS callee_file, g.calls, g.prim_calls,\n"
    "    e.name AS event, c.self, c.inclusive\n"
    "  FROM cg_edges g JOIN cg_costs c ON c.edge = g.id JOIN cg_events e ON e.id = c.event\n"
    "  JOIN cg_functions_text a ON a.id = g.caller AND a.event = e.name\n"
    "  JOIN cg_functions_text b ON b.id = g.callee AND b.event = e.name;\n";

/*
 * Built after the first capture's rows are in (cheaper than maintaining them row by row). paths
 * has none on parent: it would be a tenth of a big capture's database and of its import time,
 * and the queries that walk the tree downwards (the folded and gc_share views) run as fast on
 * the automatic index SQLite builds for them. A database an older build indexed keeps it.
 */
static const char index_sql[] =
    "CREATE INDEX IF NOT EXISTS events_capture ON events(capture);\n"
    "CREATE INDEX IF NOT EXISTS threads_capture ON threads(capture, pid, tid);\n"
    "CREATE INDEX IF NOT EXISTS processes_capture ON processes(capture, pid);\n"
    "CREATE INDEX IF NOT EXISTS offcpu_capture ON offcpu(capture, thread);\n"
    "CREATE INDEX IF NOT EXISTS probes_capture ON probes(capture, event);\n"
    "CREATE INDEX IF NOT EXISTS diagnostics_capture ON diagnostics(capture);\n"
    "CREATE INDEX IF NOT EXISTS buildids_capture ON buildids(capture);\n"
    "CREATE INDEX IF NOT EXISTS py_threads_capture ON py_threads(capture);\n"
    "CREATE INDEX IF NOT EXISTS py_categories_capture ON py_categories(capture);\n"
    "CREATE INDEX IF NOT EXISTS gc_pauses_capture ON gc_pauses(capture);\n"
    "CREATE INDEX IF NOT EXISTS gil_wait_stacks_capture ON gil_wait_stacks(capture);\n"
    "CREATE INDEX IF NOT EXISTS cg_functions_capture ON cg_functions(capture);\n"
    "CREATE INDEX IF NOT EXISTS cg_edges_capture ON cg_edges(capture);\n"
    "CREATE INDEX IF NOT EXISTS cg_costs_capture ON cg_costs(capture);\n";

/*
 * Tables added since version 2 that a reader can do without: the longest GIL waits of the
 * analysis (pfs_analysis_wait) and a capture's report data, made once at import so a report
 * does not rebuild it from the samples. Optional tables rather than schema version 3: older
 * perfsight builds read and write these databases unchanged and just do not see them; every
 * import creates them when missing. Such a build may delete a capture (--replace) without
 * deleting its rows here and hand the id to the next capture, so a report_data row counts only
 * while content_hash and imported_at still match its captures row (trend rows, the figures
 * `perfsight trend` reads, while content_hash does). gil_waits rows have no such
 * check: an older build's replace leaves them to the capture that takes the id next, whose
 * reports rebuilt from samples then list waits of the deleted one (its figures are unaffected).
 */
static const char optional_sql[] =
    "CREATE TABLE IF NOT EXISTS gil_waits(capture INTEGER NOT NULL, pid INTEGER NOT NULL,\n"
    "  tid INTEGER NOT NULL, start INTEGER NOT NULL, duration_ns INTEGER NOT NULL,\n"
    "  path INTEGER, probe INTEGER NOT NULL);\n"
    "CREATE INDEX IF NOT EXISTS gil_waits_capture ON gil_waits(capture);\n"
    "CREATE TABLE IF NOT EXISTS report_data(capture INTEGER PRIMARY KEY,\n"
    "  content_hash TEXT NOT NULL, imported_at TEXT NOT NULL, format TEXT NOT NULL,\n"
    "  size INTEGER NOT NULL, data BLOB NOT NULL);\n"
    "CREATE TABLE IF NOT EXISTS trend(capture INTEGER NOT NULL, content_hash TEXT NOT NULL,\n"
    "  kind TEXT NOT NULL, name TEXT NOT NULL, value REAL, total REAL);\n"
    "CREATE INDEX IF NOT EXISTS trend_capture ON trend(capture);\n"
    "CREATE TABLE IF NOT EXISTS py_cut_stacks(capture INTEGER NOT NULL, pid INTEGER NOT NULL,\n"
    "  tid INTEGER NOT NULL, samples INTEGER NOT NULL);\n"
    "CREATE TABLE IF NOT EXISTS py_handlers(capture INTEGER NOT NULL, name TEXT NOT NULL,\n"
    "  framework TEXT NOT NULL, kind TEXT NOT NULL, cpu_samples INTEGER NOT NULL,\n"
    "  cpu_period INTEGER NOT NULL, gc_samples INTEGER NOT NULL, gc_pauses INTEGER NOT NULL,\n"
    "  gc_pause_ns INTEGER NOT NULL, gil_waits INTEGER NOT NULL, gil_wait_ns INTEGER NOT NULL,\n"
    "  probe_waits INTEGER NOT NULL, probe_wait_ns INTEGER NOT NULL);\n"
    "CREATE TABLE IF NOT EXISTS py_handler_totals(capture INTEGER PRIMARY KEY,\n"
    "  frameworks TEXT NOT NULL, cpu_samples INTEGER NOT NULL, outside_samples INTEGER NOT NULL,\n"
    "  outside_cut_samples INTEGER NOT NULL);\n"
    "CREATE TABLE IF NOT EXISTS py_thread_waits(capture INTEGER NOT NULL, pid INTEGER NOT NULL,\n"
    "  tid INTEGER NOT NULL, waits_upper_bound INTEGER NOT NULL, runnable_ns INTEGER NOT NULL,\n"
    "  runnable_waits INTEGER NOT NULL);\n"
    "CREATE TABLE IF NOT EXISTS gc_triggers(capture INTEGER NOT NULL, pid INTEGER NOT NULL,\n"
    "  path INTEGER, pauses INTEGER NOT NULL, pause_ns INTEGER NOT NULL,\n"
    "  samples INTEGER NOT NULL);\n"
    "CREATE TABLE IF NOT EXISTS gc_pause_generations(capture INTEGER NOT NULL,\n"
    "  tid INTEGER NOT NULL, start INTEGER NOT NULL, generation INTEGER NOT NULL);\n"
    "CREATE INDEX IF NOT EXISTS gc_pause_generations_capture ON\n"
    "  gc_pause_generations(capture, tid, start);\n"
    "CREATE TABLE IF NOT EXISTS py_budget_info(capture INTEGER PRIMARY KEY,\n"
    "  switches INTEGER NOT NULL, switch_ins INTEGER NOT NULL, wakeups INTEGER NOT NULL,\n"
    "  first_time INTEGER, last_time INTEGER, cpus INTEGER);\n"
    "CREATE TABLE IF NOT EXISTS py_budgets(capture INTEGER NOT NULL, pid INTEGER NOT NULL,\n"
    "  tid INTEGER NOT NULL, life_ns INTEGER NOT NULL, on_ns INTEGER NOT NULL,\n"
    "  gil_ns INTEGER NOT NULL, io_ns INTEGER NOT NULL, idle_ns INTEGER NOT NULL,\n"
    "  lock_ns INTEGER NOT NULL, runnable_ns INTEGER NOT NULL,\n"
    "  gil_wake_ns INTEGER NOT NULL, io_wake_ns INTEGER NOT NULL,\n"
    "  idle_wake_ns INTEGER NOT NULL, lock_wake_ns INTEGER NOT NULL,\n"
    "  offs INTEGER NOT NULL, wakeups INTEGER NOT NULL, upper_bound_ns INTEGER NOT NULL,\n"
    "  unrec_start_ns INTEGER NOT NULL, unrec_loss_ns INTEGER NOT NULL,\n"
    "  unrec_end_ns INTEGER NOT NULL, unrec_why_ns INTEGER NOT NULL);\n"
    "CREATE TABLE IF NOT EXISTS py_offcpu_stacks(capture INTEGER NOT NULL,\n"
    "  pid INTEGER NOT NULL, part TEXT NOT NULL, path INTEGER, ns INTEGER NOT NULL,\n"
    "  n INTEGER NOT NULL);\n"
    "CREATE TABLE IF NOT EXISTS py_process_marks(capture INTEGER NOT NULL,\n"
    "  pid INTEGER NOT NULL, worker_class TEXT NOT NULL, cpu_samples INTEGER NOT NULL);\n"
    "CREATE TABLE IF NOT EXISTS py_slow_paths(capture INTEGER NOT NULL, pid INTEGER NOT NULL,\n"
    "  pattern TEXT NOT NULL, file TEXT NOT NULL, samples INTEGER NOT NULL);\n";

/* What report_data.format says: the JSON document of docs/report-data.md in a zstd frame. */
#define REPORT_FORMAT "report-data/1+zstd"
/* A report's data is a few MB (issue 7 caps the HTML at 5); this bounds what a row may claim. */
#define REPORT_MAX ((size_t)1 << 30)

/* (pid, tid) -> thread id, open addressing; grows with threads only. */
struct tmap_slot {
	uint32_t pid, tid;
	int64_t id;    /* 0: empty */
	uint32_t prof; /* the profile's thread index + 1 (write_profile), 0: none */
};

/*
 * The writer thread. While a capture is open its sample, call path, off-CPU and probe rows are
 * copied into batches that a second thread writes, so SQLite's work overlaps ingest's. The
 * queue is bounded (QBATCHES batches of QROWS rows), so memory does not grow with samples when
 * the writer is the slower one. The connection is used by one thread at a time: every other
 * use while a capture is open first waits for the queue to drain (exec() and prepare() do). The
 * writer owns the id maps (tmap, smap) and werr while it runs; the caller's thread takes them
 * back after a drain, under the queue's mutex.
 */
#define QROWS 4096
#define QBATCHES 4

enum { QR_SAMPLE, QR_PATH, QR_OFFCPU, QR_PROBE };

struct qrow {
	uint8_t kind;
	union {
		struct pfs_sample_row s;
		struct {
			uint32_t id;
			struct pfs_path_node n;
		} path;
		struct {
			uint32_t pid, tid, path;
			uint64_t t_out, t_in;
			size_t state; /* offset + 1 into the batch's text, 0: NULL */
		} o;
		struct {
			uint32_t event, pid, tid, cpu, path;
			uint64_t time;
			size_t fields; /* offset + 1 into the batch's text, 0: NULL */
		} p;
	} u;
};

struct qbatch {
	struct qrow rows[QROWS];
	size_t n;
	char *text;
	size_t text_n, text_cap;
	struct qbatch *next;
};

struct wqueue {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t more, room;
	struct qbatch *full, *full_tail, *free;
	struct qbatch *cur; /* the batch the caller fills, outside both lists */
	bool running, busy, stop, failed;
	struct pfs_err werr; /* the writer's first error */
};

struct pfs_store {
	sqlite3 *db;
	char *path;
	int64_t cap;	   /* the capture being written, 0 when none */
	bool profile_done; /* the open capture's profile is written (pfs_store_put_profile) */
	bool batch;	   /* a batch transaction is open: captures are savepoints inside it */
	bool side_new;	   /* opened to write with no -wal/-shm beside the file: ours to tidy */
	int version;	   /* the schema version of the file (a read-only v1 lacks the analysis) */
	int64_t string_base, frame_base, path_base, event_base, next_thread;
	int64_t sample_first, sample_last, n_samples;
	sqlite3_stmt *ins_sample, *ins_samples, *ins_path, *ins_paths, *ins_offcpu, *ins_probe;
	uint32_t paths_queued; /* the profile's paths 1.. are queued (pfs_store_sample) */
	bool hash_pending;     /* begun without a content hash (pfs_store_set_hash) */
	struct tmap_slot *tmap;
	size_t tmap_n, tmap_cap;
	/* profile string id -> store string number (1-based, 0: not used yet): only strings
	 * something refers to are written (a profile also holds every kernel symbol name) */
	uint32_t *smap;
	size_t smap_cap;
	uint32_t n_strs;
	struct pfs_err sink_err;
	struct wqueue wq;
	/* read-only: VM steps a statement may take (progress_budget), and those taken */
	uint64_t vm_budget, vm_used;
};

static int need_capture(struct pfs_store *st, struct pfs_err *err);
static int wq_drain(struct pfs_store *st, struct pfs_err *err);
static int wq_start(struct pfs_store *st, struct pfs_err *err);
static void wq_stop(struct pfs_store *st, bool discard);

static int db_err(struct pfs_store *st, struct pfs_err *err, const char *what)
{
	int code = sqlite3_extended_errcode(st->db);
	const char *msg = sqlite3_errmsg(st->db);
	if ((code & 0xff) == SQLITE_NOTADB)
		return pfs_err_set(err, PFS_EUNSUPP, PFS_NO_OFF, "not a perfsight database (%s)",
				   msg);
	if ((code & 0xff) == SQLITE_INTERRUPT && st->vm_budget && st->vm_used > st->vm_budget)
		return pfs_err_set(err, PFS_ELIMIT, PFS_NO_OFF,
				   "%s: a statement took more than %llu steps, more than a "
				   "database of this size needs (tampered rows?)",
				   what, (unsigned long long)st->vm_budget);
	if ((code & 0xff) == SQLITE_BUSY)
		return pfs_err_set(err, PFS_EDB, PFS_NO_OFF,
				   "%s: database is locked by another process (%s)", what, msg);
	if ((code & 0xff) == SQLITE_IOERR && !sqlite3_system_errno(st->db) &&
	    (code == SQLITE_IOERR_WRITE || code == SQLITE_IOERR_TRUNCATE ||
	     code == SQLITE_IOERR_FSYNC))
		return pfs_err_set(err, PFS_EDB, PFS_NO_OFF,
				   "%s: cannot write the database file (%s: a full disk or a file "
				   "size limit); the database is unchanged",
				   what, msg);
	if ((code & 0xff) == SQLITE_FULL)
		return pfs_err_set(err, PFS_EDB, PFS_NO_OFF,
				   "%s: disk or file size limit full (%s); the database is "
				   "unchanged",
				   what, msg);
	if (sqlite3_system_errno(st->db) && (code & 0xff) == SQLITE_IOERR) {
		int e = sqlite3_system_errno(st->db);
		if (e == EFBIG || e == ENOSPC)
			return pfs_err_set(
			    err, PFS_EDB, PFS_NO_OFF, "%s: %s (%s: %s); the database is unchanged",
			    what, e == ENOSPC ? "the disk is full" : "a file size limit is reached",
			    msg, strerror(e));
		return pfs_err_set(err, PFS_EDB, PFS_NO_OFF, "%s: %s: %s", what, msg, strerror(e));
	}
	return pfs_err_set(err, PFS_EDB, PFS_NO_OFF, "%s: %s", what, msg);
}

/* exec() and prepare() are the ways into the connection besides the writer thread's
 * statements: both wait for the writer to be idle first. */
static int exec(struct pfs_store *st, const char *sql, const char *what, struct pfs_err *err)
{
	int rc = wq_drain(st, err);
	if (rc)
		return rc;
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_err(st, err, what);
	return 0;
}

static int prepare(struct pfs_store *st, const char *sql, sqlite3_stmt **s, struct pfs_err *err)
{
	int rc = wq_drain(st, err);
	*s = NULL;
	if (rc)
		return rc;
	st->vm_used = 0; /* each statement read back gets the whole budget */
	if (sqlite3_prepare_v2(st->db, sql, -1, s, NULL) != SQLITE_OK)
		return db_err(st, err, "cannot prepare a statement");
	return 0;
}

/* Samples and paths are inserted GROUP rows per statement (write_samples, write_paths). */
#define GROUP 32
#define SAMPLE_COLS 9
#define PATH_COLS 5

/* The INSERT of n rows of cols columns; head names the table and columns. */
static int prepare_rows(struct pfs_store *st, const char *head, int cols, int n, sqlite3_stmt **s,
			struct pfs_err *err)
{
	size_t hl = strlen(head), len = hl;
	char *sql = pfs_xmalloc(hl + (size_t)n * (2 * (size_t)cols + 2) + 1);
	int rc;
	memcpy(sql, head, hl);
	for (int i = 0; i < n; i++) {
		sql[len++] = i ? ',' : ' ';
		sql[len++] = '(';
		for (int c = 0; c < cols; c++) {
			sql[len++] = c ? ',' : '?';
			if (c)
				sql[len++] = '?';
		}
		sql[len++] = ')';
	}
	sql[len] = 0;
	rc = prepare(st, sql, s, err);
	free(sql);
	return rc;
}

static int prepare_samples(struct pfs_store *st, int n, sqlite3_stmt **s, struct pfs_err *err)
{
	return prepare_rows(st,
			    "INSERT INTO samples(capture, event, time, thread, cpu, path, period, "
			    "weight, comm) VALUES",
			    SAMPLE_COLS, n, s, err);
}

static int prepare_paths(struct pfs_store *st, int n, sqlite3_stmt **s, struct pfs_err *err)
{
	return prepare_rows(st, "INSERT INTO paths(id, capture, parent, frame, depth) VALUES",
			    PATH_COLS, n, s, err);
}

/* One integer from a query, 0 when no row or NULL. */
static int query_int(struct pfs_store *st, const char *sql, int64_t arg, int64_t *out,
		     struct pfs_err *err)
{
	sqlite3_stmt *s;
	int rc = prepare(st, sql, &s, err);
	if (rc)
		return rc;
	if (strchr(sql, '?'))
		sqlite3_bind_int64(s, 1, arg);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(s, 0);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		*out = 0;
		rc = 0;
	} else {
		rc = db_err(st, err, "cannot read the database");
	}
	sqlite3_finalize(s);
	return rc;
}

/* A clearer message than SQLite's "unable to open database file" for the common causes. */
static int open_fail(const char *path, int flags, int sqlite_rc, const char *msg,
		     struct pfs_err *err)
{
	char *dir = pfs_xstrdup(path), *slash = strrchr(dir, '/');
	struct stat sb;
	int rc;
	if (slash)
		*(slash == dir ? slash + 1 : slash) = 0;
	else
		strcpy(dir, ".");
	if (stat(dir, &sb) != 0) {
		errno = errno ? errno : ENOENT;
		rc = pfs_err_sys(err, "cannot create the database: directory %s", dir);
	} else if (!S_ISDIR(sb.st_mode)) {
		errno = ENOTDIR;
		rc = pfs_err_sys(err, "cannot create the database: %s", dir);
	} else if ((flags & PFS_STORE_CREATE) && access(dir, W_OK) != 0) {
		rc = pfs_err_sys(err, "cannot create the database: directory %s is not writable",
				 dir);
	} else if (!(flags & PFS_STORE_CREATE) && access(path, F_OK) != 0) {
		rc = pfs_err_sys(err, "cannot open the database");
	} else {
		rc = pfs_err_set(err, sqlite_rc == SQLITE_READONLY ? PFS_EIO : PFS_EDB, PFS_NO_OFF,
				 "cannot open the database: %s", msg);
	}
	free(dir);
	return rc;
}

/*
 * A database of an older version (1 or 2): read as it is, or given the tables it lacks (the
 * analysis' of version 2, the call graphs' of version 3) when opened to write.
 */
static int upgrade(struct pfs_store *st, int from, int flags, struct pfs_err *err)
{
	char pragma[64];
	int64_t ver;
	int rc;
	st->version = from;
	if (flags & PFS_STORE_READONLY)
		return 0;
	snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d;", PFS_STORE_SCHEMA_VERSION);
	if ((rc = exec(st, "BEGIN IMMEDIATE", "cannot upgrade the schema", err)))
		return rc;
	/* re-checked under the write lock: another writer may have just upgraded it */
	if ((rc = query_int(st, "PRAGMA user_version", 0, &ver, err)))
		goto fail;
	if ((ver == 1 && (rc = exec(st, analysis_sql, "cannot upgrade the schema", err))) ||
	    (ver >= 1 && ver < 3 &&
	     (rc = exec(st, callgraph_sql, "cannot upgrade the schema", err))) ||
	    (ver < PFS_STORE_SCHEMA_VERSION &&
	     (rc = exec(st, pragma, "cannot upgrade the schema", err))))
		goto fail;
	if ((rc = exec(st, "COMMIT", "cannot upgrade the schema", err)))
		goto fail;
	st->version = PFS_STORE_SCHEMA_VERSION;
	return 0;
fail:
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/*
 * A database comes from anywhere (a CI artifact, a ticket), and SQLite runs what its schema
 * says: a view standing in for a table runs its query (a recursive one never ends), a trigger
 * runs on every insert. So the objects of a database perfsight opens must be the ones it
 * creates: its tables (by name; an older build's may have other columns), indexes on them, its
 * views with exactly the SQL it gives them, and no trigger; the tables of the schema version
 * the file claims must be there. The reference is the schema itself, made in a scratch
 * in-memory database, so this cannot drift from what perfsight writes. Besides, the connection
 * is defensive (no writable schema, no shadow tables), trusts no function in the schema, fires
 * no trigger and reads no view (perfsight reads tables only), and a read-only one gives each
 * statement a budget of VM steps (progress_budget).
 */
/* The reference: what perfsight creates, made once per process in an in-memory database. */
struct ref_obj {
	char *type, *name, *sql;
	int since; /* a table: the schema version that requires it; 0 never (optional ones) */
};
static struct ref_obj *ref_v;
static size_t ref_n;
static bool ref_ok;
static pthread_once_t ref_once = PTHREAD_ONCE_INIT;

static void ref_build(void)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
		SQLITE_OK ||
	    sqlite3_exec(db, schema_sql, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, analysis_sql, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, callgraph_sql, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, optional_sql, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "SELECT type, name, sql FROM sqlite_schema WHERE type IN ('table', "
			       "'view') AND sql IS NOT NULL",
			       -1, &q, NULL) != SQLITE_OK)
		goto out;
	while (sqlite3_step(q) == SQLITE_ROW) {
		struct ref_obj o = {
		    .type = pfs_xstrdup((const char *)sqlite3_column_text(q, 0)),
		    .name = pfs_xstrdup((const char *)sqlite3_column_text(q, 1)),
		    .sql = pfs_xstrdup((const char *)sqlite3_column_text(q, 2)),
		};
		char want[96];
		/* version 1's tables, 2's analysis, 3's call graphs (IF NOT EXISTS) */
		snprintf(want, sizeof(want), "CREATE TABLE %s(", o.name);
		if (!strcmp(o.type, "table") && strstr(schema_sql, want))
			o.since = 1;
		else if (!strcmp(o.type, "table") && strstr(analysis_sql, want))
			o.since = 2;
		snprintf(want, sizeof(want), "CREATE TABLE IF NOT EXISTS %s(", o.name);
		if (!strcmp(o.type, "table") && strstr(callgraph_sql, want))
			o.since = 3;
		ref_v = pfs_xreallocarray(ref_v, ref_n + 1, sizeof(*ref_v));
		ref_v[ref_n++] = o;
	}
	ref_ok = ref_n > 0;
out:
	sqlite3_finalize(q);
	sqlite3_close(db);
}

static const struct ref_obj *ref_find(const char *type, const char *name)
{
	for (size_t i = 0; i < ref_n; i++)
		if (!strcmp(ref_v[i].type, type) && !strcmp(ref_v[i].name, name))
			return &ref_v[i];
	return NULL;
}

static int check_objects(struct pfs_store *st, int ver, struct pfs_err *err)
{
	sqlite3_stmt *q = NULL;
	bool *there = NULL;
	int rc = 0, step;
	pthread_once(&ref_once, ref_build);
	if (!ref_ok)
		return pfs_err_set(err, PFS_EDB, PFS_NO_OFF,
				   "cannot make the reference schema in memory");
	there = pfs_xcalloc(ref_n, sizeof(*there));
	if (sqlite3_prepare_v2(st->db, "SELECT type, name, tbl_name, sql FROM sqlite_schema", -1,
			       &q, NULL) != SQLITE_OK) {
		rc = db_err(st, err, "cannot read the schema");
		goto out;
	}
	while ((step = sqlite3_step(q)) == SQLITE_ROW) {
		const char *type = (const char *)sqlite3_column_text(q, 0);
		const char *name = (const char *)sqlite3_column_text(q, 1);
		const char *tbl = (const char *)sqlite3_column_text(q, 2);
		const char *sql = (const char *)sqlite3_column_text(q, 3);
		const struct ref_obj *r = NULL;
		bool fine;
		if (!type || !name || !tbl) {
			fine = false;
		} else if (!strcmp(type, "table")) {
			/* SQLite's own (sqlite_sequence, sqlite_stat1) are made by SQLite only */
			r = ref_find("table", name);
			fine = r || !strncmp(name, "sqlite_", 7);
		} else if (!strcmp(type, "index")) {
			fine = ref_find("table", tbl) != NULL;
		} else if (!strcmp(type, "view")) {
			r = ref_find("view", name);
			fine = r && sql && !strcmp(r->sql, sql);
		} else {
			fine = false; /* triggers */
		}
		if (r && fine)
			there[r - ref_v] = true;
		if (!fine) {
			rc = pfs_err_set(err, PFS_EFORMAT, PFS_NO_OFF,
					 "a perfsight database does not hold %s %s '%.64s'%s: the "
					 "schema was changed, the file is refused",
					 type && !strcmp(type, "index") ? "an" : "a",
					 type ? type : "(null)", name ? name : "(null)",
					 r ? " with this SQL" : "");
			goto out;
		}
	}
	if (step != SQLITE_DONE) {
		rc = db_err(st, err, "cannot read the schema");
		goto out;
	}
	/* every table the version needs is there (and is a table: a view of its name is not) */
	for (size_t i = 0; i < ref_n; i++)
		if (ref_v[i].since && ref_v[i].since <= ver && !there[i]) {
			rc = pfs_err_set(err, PFS_EFORMAT, PFS_NO_OFF,
					 "a perfsight database of schema version %d has a table "
					 "'%s', this one has none: the file is refused",
					 ver, ref_v[i].name);
			goto out;
		}
out:
	free(there);
	sqlite3_finalize(q);
	return rc;
}

/* Creates the schema in an empty database, or checks the one there. Runs in a write
 * transaction so that two first imports cannot both create it. */
static int check_schema(struct pfs_store *st, int flags, struct pfs_err *err)
{
	int64_t ver, app, ntab;
	int rc;
	if ((rc = query_int(st, "PRAGMA user_version", 0, &ver, err)) ||
	    (rc = query_int(st, "PRAGMA application_id", 0, &app, err)) ||
	    (rc = query_int(st, "SELECT count(*) FROM sqlite_schema", 0, &ntab, err)))
		return rc;
	if (ver > PFS_STORE_SCHEMA_VERSION && app == PFS_STORE_APP_ID)
		return pfs_err_set(err, PFS_EUNSUPP, PFS_NO_OFF,
				   "written by a newer perfsight (schema version %" PRId64
				   ", this build reads up to %d); upgrade perfsight to read it",
				   ver, PFS_STORE_SCHEMA_VERSION);
	if (app == PFS_STORE_APP_ID && ver >= 1 && ver <= PFS_STORE_SCHEMA_VERSION &&
	    (rc = check_objects(st, (int)ver, err)))
		return rc;
	if (app == PFS_STORE_APP_ID && ver == PFS_STORE_SCHEMA_VERSION) {
		st->version = (int)ver;
		return 0;
	}
	if (app == PFS_STORE_APP_ID && (ver == 1 || ver == 2))
		return upgrade(st, (int)ver, flags, err);
	if (ntab > 0 || app != 0 || ver != 0)
		return pfs_err_set(err, PFS_EUNSUPP, PFS_NO_OFF,
				   "an SQLite database, but not one perfsight wrote "
				   "(application_id 0x%" PRIx64 ", user_version %" PRId64 ")",
				   (uint64_t)app, ver);
	if (!(flags & PFS_STORE_CREATE))
		return pfs_err_set(err, PFS_EUNSUPP, PFS_NO_OFF,
				   "an empty database, not one perfsight wrote");
	char pragma[96];
	snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d; PRAGMA application_id = %d;",
		 PFS_STORE_SCHEMA_VERSION, PFS_STORE_APP_ID);
	if ((rc = exec(st, "BEGIN IMMEDIATE", "cannot create the schema", err)))
		return rc;
	/* Re-checked under the write lock: another import may have just created it. */
	if ((rc = query_int(st, "SELECT count(*) FROM sqlite_schema", 0, &ntab, err)))
		goto fail;
	if (ntab == 0 && ((rc = exec(st, schema_sql, "cannot create the schema", err)) ||
			  (rc = exec(st, analysis_sql, "cannot create the schema", err)) ||
			  (rc = exec(st, callgraph_sql, "cannot create the schema", err)) ||
			  (rc = exec(st, pragma, "cannot create the schema", err))))
		goto fail;
	if ((rc = exec(st, "COMMIT", "cannot create the schema", err)))
		goto fail;
	if (ntab == 0)
		st->version = PFS_STORE_SCHEMA_VERSION;
	return ntab == 0 ? 0 : check_schema(st, flags & ~PFS_STORE_CREATE, err);
fail:
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* Whether path + suffix exists, with its size in *size (may be NULL). */
static bool side_stat(const char *path, const char *suffix, off_t *size)
{
	char *side = pfs_xmalloc(strlen(path) + strlen(suffix) + 1);
	struct stat sb;
	bool there;
	strcpy(side, path);
	strcat(side, suffix);
	there = stat(side, &sb) == 0;
	if (there && size)
		*size = sb.st_size;
	free(side);
	return there;
}

static bool side_exists(const char *path, const char *suffix)
{
	return side_stat(path, suffix, NULL);
}

/*
 * SQLite leaves an empty -wal and its -shm behind when it could not finish setting WAL up (a
 * full disk, a file size limit). Those this run created are removed, unless the -wal holds
 * something (committed data not yet checkpointed) or another process is attached: every WAL
 * connection keeps a read lock on the -shm's "DMS" byte (offset 128, SQLite's walformat).
 */
static void tidy_side_files(const char *path)
{
	char *shm = pfs_xmalloc(strlen(path) + 5), *wal = pfs_xmalloc(strlen(path) + 5);
	off_t wal_size = 0;
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 128, .l_len = 1};
	int fd;
	sprintf(shm, "%s-shm", path);
	sprintf(wal, "%s-wal", path);
	if (side_stat(path, "-wal", &wal_size) && wal_size > 0)
		goto out;
	if ((fd = open(shm, O_RDWR | O_CLOEXEC)) >= 0) {
		bool idle = fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type == F_UNLCK;
		close(fd);
		if (!idle)
			goto out;
	}
	unlink(wal);
	unlink(shm);
out:
	free(shm);
	free(wal);
}

/*
 * A read-only connection's statements get PROGRESS_BASE VM steps plus PROGRESS_PER_BYTE per
 * byte of the file: reading a table back takes some tens of steps per row, and a row takes
 * some tens of bytes, so a real database never comes near it, and a tampered one (rows that
 * make a query loop, a sort of everything) ends with PFS_ELIMIT instead of running on.
 */
#define PROGRESS_EVERY 10000
#define PROGRESS_BASE ((uint64_t)100000000)
#define PROGRESS_PER_BYTE 1000

static int progress_budget(void *payload)
{
	struct pfs_store *st = payload;
	st->vm_used += PROGRESS_EVERY;
	return st->vm_used > st->vm_budget;
}

int pfs_store_open(struct pfs_store **out, const char *path, int flags, struct pfs_err *err)
{
	struct pfs_store *st = pfs_xcalloc(1, sizeof(*st));
	int oflags =
	    (flags & PFS_STORE_READONLY)
		? SQLITE_OPEN_READONLY
		: SQLITE_OPEN_READWRITE | ((flags & PFS_STORE_CREATE) ? SQLITE_OPEN_CREATE : 0);
	int rc;
	*out = NULL;
	st->path = pfs_xstrdup(path);
	if (!(flags & PFS_STORE_READONLY))
		st->side_new = !side_exists(path, "-wal") && !side_exists(path, "-shm");
	errno = 0;
	rc = sqlite3_open_v2(path, &st->db, oflags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		rc = open_fail(path, flags, rc, st->db ? sqlite3_errmsg(st->db) : "out of memory",
			       err);
		pfs_store_close(st);
		return rc;
	}
	sqlite3_extended_result_codes(st->db, 1);
	/* a file from anywhere: see check_objects */
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, (int *)NULL);
	if (flags & PFS_STORE_READONLY) {
		struct stat sb;
		st->vm_budget = PROGRESS_BASE + (stat(path, &sb) == 0 && sb.st_size > 0
						     ? (uint64_t)sb.st_size * PROGRESS_PER_BYTE
						     : 0);
		sqlite3_progress_handler(st->db, PROGRESS_EVERY, progress_budget, st);
	}
	/* SQLite opens a file it may not write read-only without a word: say so before a write
	 * fails with "attempt to write a readonly database" */
	if (!(flags & PFS_STORE_READONLY) && sqlite3_db_readonly(st->db, "main") == 1) {
		if (access(path, W_OK) == 0)
			errno = EACCES;
		rc = pfs_err_sys(err, "cannot write the database: the file is read-only here");
		goto fail;
	}
	/* A locked database waits a little for the other writer, then fails clearly. */
	sqlite3_busy_timeout(st->db, 2000);
	/* Reading the header first: a file that is not SQLite is refused before any write. */
	if ((rc = check_schema(st, flags, err)))
		goto fail;
	/* perfsight reads tables only: its views are for people (and made by check_schema) */
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_ENABLE_VIEW, 0, (int *)NULL);
	if (!(flags & PFS_STORE_READONLY) &&
	    (rc = exec(st, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
		       "cannot set the journal mode", err)))
		goto fail;
	/* Reports read a capture's tables back and forth; an import appends rows, which needs
	 * few pages at hand, and its peak RSS has a budget (issue 4): 4 MB cost it no speed. */
	if ((rc = exec(st,
		       (flags & PFS_STORE_READONLY)
			   ? "PRAGMA cache_size = -16384; PRAGMA temp_store = FILE;"
			   : "PRAGMA cache_size = -4096; PRAGMA temp_store = FILE;",
		       "cannot set the cache size", err)))
		goto fail;
	*out = st;
	return 0;
fail:
	pfs_store_close(st);
	return rc;
}

static void finalize_writers(struct pfs_store *st)
{
	wq_stop(st, true);
	sqlite3_finalize(st->ins_sample);
	sqlite3_finalize(st->ins_samples);
	sqlite3_finalize(st->ins_path);
	sqlite3_finalize(st->ins_paths);
	sqlite3_finalize(st->ins_offcpu);
	sqlite3_finalize(st->ins_probe);
	st->ins_sample = st->ins_samples = st->ins_offcpu = st->ins_probe = NULL;
	st->ins_path = st->ins_paths = NULL;
	st->paths_queued = 0;
	free(st->tmap);
	st->tmap = NULL;
	st->tmap_n = st->tmap_cap = 0;
	free(st->smap);
	st->smap = NULL;
	st->smap_cap = 0;
	st->n_strs = 0;
}

void pfs_store_close(struct pfs_store *st)
{
	if (!st)
		return;
	pfs_store_abort_batch(st);
	pfs_store_abort_capture(st);
	finalize_writers(st);
	sqlite3_close(st->db);
	if (st->side_new)
		tidy_side_files(st->path);
	free(st->path);
	free(st);
}

static void bind_text_or_null(sqlite3_stmt *s, int i, const char *t)
{
	if (t)
		sqlite3_bind_text(s, i, t, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, i);
}

static void bind_real_or_null(sqlite3_stmt *s, int i, double v)
{
	if (isnan(v))
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_double(s, i, v);
}

static void bind_u64_or_null(sqlite3_stmt *s, int i, uint64_t v, uint64_t none)
{
	if (v == none)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_int64(s, i, (int64_t)v);
}

static void bind_id(sqlite3_stmt *s, int i, int64_t base, uint32_t local)
{
	if (local)
		sqlite3_bind_int64(s, i, base + local);
	else
		sqlite3_bind_null(s, i);
}

/* Runs a one-shot statement to completion. */
static int step_done(struct pfs_store *st, sqlite3_stmt *s, const char *what, struct pfs_err *err)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return db_err(st, err, what);
	return 0;
}

/* Deletes the captures other than the open one that share hash or label (replace), or names
 * one (refuse); a NULL hash or label matches nothing. */
static int drop_duplicates(struct pfs_store *st, const char *hash, const char *label, bool replace,
			   struct pfs_err *err)
{
	static const char *const del[] = {
	    "DELETE FROM samples WHERE id BETWEEN (SELECT sample_first FROM captures WHERE "
	    "id = ?1) AND (SELECT sample_last FROM captures WHERE id = ?1)",
	    "DELETE FROM strings WHERE id BETWEEN (SELECT string_base + 1 FROM captures WHERE "
	    "id = ?1) AND (SELECT string_base + n_strings FROM captures WHERE id = ?1)",
	    "DELETE FROM frames WHERE id BETWEEN (SELECT frame_base + 1 FROM captures WHERE "
	    "id = ?1) AND (SELECT frame_base + n_frames FROM captures WHERE id = ?1)",
	    "DELETE FROM paths WHERE id BETWEEN (SELECT path_base + 1 FROM captures WHERE "
	    "id = ?1) AND (SELECT path_base + n_paths FROM captures WHERE id = ?1)",
	    "DELETE FROM events WHERE capture = ?1",
	    "DELETE FROM threads WHERE capture = ?1",
	    "DELETE FROM processes WHERE capture = ?1",
	    "DELETE FROM buildids WHERE capture = ?1",
	    "DELETE FROM offcpu WHERE capture = ?1",
	    "DELETE FROM probes WHERE capture = ?1",
	    "DELETE FROM diagnostics WHERE capture = ?1",
	    "DELETE FROM summaries WHERE capture = ?1",
	    "DELETE FROM py_analysis WHERE capture = ?1",
	    "DELETE FROM py_threads WHERE capture = ?1",
	    "DELETE FROM py_categories WHERE capture = ?1",
	    "DELETE FROM gc_pauses WHERE capture = ?1",
	    "DELETE FROM gil_wait_stacks WHERE capture = ?1",
	    "DELETE FROM py_events WHERE capture = ?1",
	    "DELETE FROM py_notes WHERE capture = ?1",
	    "DELETE FROM gil_waits WHERE capture = ?1",
	    "DELETE FROM py_cut_stacks WHERE capture = ?1",
	    "DELETE FROM py_handlers WHERE capture = ?1",
	    "DELETE FROM py_handler_totals WHERE capture = ?1",
	    "DELETE FROM py_thread_waits WHERE capture = ?1",
	    "DELETE FROM gc_triggers WHERE capture = ?1",
	    "DELETE FROM gc_pause_generations WHERE capture = ?1",
	    "DELETE FROM py_budget_info WHERE capture = ?1",
	    "DELETE FROM py_budgets WHERE capture = ?1",
	    "DELETE FROM py_offcpu_stacks WHERE capture = ?1",
	    "DELETE FROM py_process_marks WHERE capture = ?1",
	    "DELETE FROM py_slow_paths WHERE capture = ?1",
	    "DELETE FROM report_data WHERE capture = ?1",
	    "DELETE FROM cg_info WHERE capture = ?1",
	    "DELETE FROM cg_events WHERE capture = ?1",
	    "DELETE FROM cg_functions WHERE capture = ?1",
	    "DELETE FROM cg_edges WHERE capture = ?1",
	    "DELETE FROM cg_costs WHERE capture = ?1",
	    "DELETE FROM trend WHERE capture = ?1",
	    "DELETE FROM captures WHERE id = ?1",
	};
	sqlite3_stmt *s;
	int rc = prepare(st,
			 "SELECT id, label, content_hash = ?1 FROM captures "
			 "WHERE (content_hash = ?1 OR label = ?2) AND id IS NOT ?3",
			 &s, err);
	int64_t ids[2];
	size_t n = 0;
	if (rc)
		return rc;
	bind_text_or_null(s, 1, hash);
	bind_text_or_null(s, 2, label);
	bind_u64_or_null(s, 3, (uint64_t)st->cap, 0);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (!replace) {
			bool same = sqlite3_column_int(s, 2);
			rc = pfs_err_set(err, PFS_EUSAGE, PFS_NO_OFF,
					 same ? "already holds this content as capture %lld "
						"('%s'); --replace replaces it"
					      : "the label is taken by capture %lld ('%s'); "
						"choose another or --replace",
					 (long long)sqlite3_column_int64(s, 0),
					 (const char *)sqlite3_column_text(s, 1));
			sqlite3_finalize(s);
			return rc;
		}
		if (n < 2)
			ids[n++] = sqlite3_column_int64(s, 0);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return db_err(st, err, "cannot look for duplicate captures");
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < sizeof(del) / sizeof(del[0]); j++) {
			if ((rc = prepare(st, del[j], &s, err)))
				return rc;
			sqlite3_bind_int64(s, 1, ids[i]);
			rc = step_done(st, s, "cannot delete the replaced capture", err);
			sqlite3_finalize(s);
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* Undoes the capture's writes: its own transaction, or its savepoint inside a batch. */
static void rollback_capture(struct pfs_store *st)
{
	if (st->batch)
		sqlite3_exec(st->db, "ROLLBACK TO capture; RELEASE capture", NULL, NULL, NULL);
	else
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

int pfs_store_begin_capture(struct pfs_store *st, const struct pfs_capture_meta *meta, bool replace,
			    int64_t *capture_id, struct pfs_err *err)
{
	sqlite3_stmt *s = NULL;
	char now[32];
	time_t t = time(NULL);
	struct tm tm;
	int rc;
	if (st->cap)
		return pfs_err_set(err, PFS_EUSAGE, PFS_NO_OFF, "a capture is already open");
	if (!meta->label || !meta->kind)
		return pfs_err_set(err, PFS_EUSAGE, PFS_NO_OFF,
				   "a capture needs a label and a kind");
	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if ((rc = exec(st, st->batch ? "SAVEPOINT capture" : "BEGIN IMMEDIATE",
		       "cannot start the import", err)))
		return rc;
	if ((rc = exec(st, optional_sql, "cannot start the import", err)) ||
	    (rc = drop_duplicates(st, meta->content_hash, meta->label, replace, err)))
		goto fail;
	if ((rc = query_int(st, "SELECT max(id) FROM strings", 0, &st->string_base, err)) ||
	    (rc = query_int(st, "SELECT max(id) FROM frames", 0, &st->frame_base, err)) ||
	    (rc = query_int(st, "SELECT max(id) FROM paths", 0, &st->path_base, err)) ||
	    (rc = query_int(st, "SELECT max(id) FROM events", 0, &st->event_base, err)) ||
	    (rc = query_int(st, "SELECT max(id) FROM threads", 0, &st->next_thread, err)))
		goto fail;
	if ((rc = prepare(st,
			  "INSERT INTO captures(label, source, content_hash, kind, host, "
			  "os_release, perf_version, cmdline, start_time, duration, cpus, "
			  "tool_version, imported_at, weight_unit, string_base, frame_base, "
			  "path_base, event_base) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
			  &s, err)))
		goto fail;
	bind_text_or_null(s, 1, meta->label);
	bind_text_or_null(s, 2, meta->source);
	/* a hash still to come holds the place with a value no hex digest takes */
	if (meta->content_hash)
		sqlite3_bind_text(s, 3, meta->content_hash, -1, SQLITE_STATIC);
	else
		sqlite3_bind_text(s, 3, "pending", -1, SQLITE_STATIC);
	bind_text_or_null(s, 4, meta->kind);
	bind_text_or_null(s, 5, meta->host);
	bind_text_or_null(s, 6, meta->os_release);
	bind_text_or_null(s, 7, meta->perf_version);
	bind_text_or_null(s, 8, meta->cmdline);
	bind_real_or_null(s, 9, meta->start_time);
	bind_real_or_null(s, 10, meta->duration);
	bind_u64_or_null(s, 11, meta->cpus, 0);
	bind_text_or_null(s, 12, meta->tool_version ? meta->tool_version : "unknown");
	sqlite3_bind_text(s, 13, now, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 14, meta->weight_unit ? meta->weight_unit : "samples", -1,
			  SQLITE_STATIC);
	sqlite3_bind_int64(s, 15, st->string_base);
	sqlite3_bind_int64(s, 16, st->frame_base);
	sqlite3_bind_int64(s, 17, st->path_base);
	sqlite3_bind_int64(s, 18, st->event_base);
	rc = step_done(st, s, "cannot add the capture", err);
	sqlite3_finalize(s);
	if (rc)
		goto fail;
	st->cap = sqlite3_last_insert_rowid(st->db);
	if ((rc = prepare_samples(st, 1, &st->ins_sample, err)) ||
	    (rc = prepare_samples(st, GROUP, &st->ins_samples, err)) ||
	    (rc = prepare_paths(st, 1, &st->ins_path, err)) ||
	    (rc = prepare_paths(st, GROUP, &st->ins_paths, err)) ||
	    (rc = prepare(st,
			  "INSERT INTO offcpu(capture, thread, t_out, t_in, state, path) "
			  "VALUES (?,?,?,?,?,?)",
			  &st->ins_offcpu, err)) ||
	    (rc = prepare(st,
			  "INSERT INTO probes(capture, event, time, thread, cpu, path, fields) "
			  "VALUES (?,?,?,?,?,?,?)",
			  &st->ins_probe, err)))
		goto fail;
	for (int i = 0; i < GROUP; i++) {
		sqlite3_bind_int64(st->ins_samples, i * SAMPLE_COLS + 1, st->cap);
		sqlite3_bind_int64(st->ins_paths, i * PATH_COLS + 2, st->cap);
	}
	sqlite3_bind_int64(st->ins_sample, 1, st->cap);
	sqlite3_bind_int64(st->ins_path, 2, st->cap);
	sqlite3_bind_int64(st->ins_offcpu, 1, st->cap);
	sqlite3_bind_int64(st->ins_probe, 1, st->cap);
	if ((rc = wq_start(st, err)))
		goto fail;
	st->sample_first = st->sample_last = st->n_samples = 0;
	st->profile_done = false;
	st->hash_pending = !meta->content_hash;
	pfs_err_clear(&st->sink_err);
	*capture_id = st->cap;
	return 0;
fail:
	st->cap = 0;
	finalize_writers(st);
	rollback_capture(st);
	return rc;
}

int pfs_store_set_hash(struct pfs_store *st, const char *content_hash, bool replace,
		       struct pfs_err *err)
{
	sqlite3_stmt *s;
	int rc = need_capture(st, err);
	if (rc)
		return rc;
	if (!st->hash_pending)
		return pfs_err_set(err, PFS_EUSAGE, PFS_NO_OFF, "the capture has its hash");
	if ((rc = drop_duplicates(st, content_hash, NULL, replace, err)) ||
	    (rc = prepare(st, "UPDATE captures SET content_hash = ?1 WHERE id = ?2", &s, err)))
		return rc;
	sqlite3_bind_text(s, 1, content_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, st->cap);
	rc = step_done(st, s, "cannot set the capture's content hash", err);
	sqlite3_finalize(s);
	if (!rc)
		st->hash_pending = false;
	return rc;
}

int pfs_store_update_capture(struct pfs_store *st, const struct pfs_capture_meta *meta,
			     struct pfs_err *err)
{
	sqlite3_stmt *s;
	int rc = need_capture(st, err);
	if (rc ||
	    (rc = prepare(st,
			  "UPDATE captures SET source = coalesce(?1, source), "
			  "kind = coalesce(?2, kind), host = coalesce(?3, host), "
			  "os_release = coalesce(?4, os_release), "
			  "perf_version = coalesce(?5, perf_version), "
			  "cmdline = coalesce(?6, cmdline), start_time = coalesce(?7, start_time), "
			  "duration = coalesce(?8, duration), cpus = coalesce(?9, cpus), "
			  "weight_unit = coalesce(?10, weight_unit) WHERE id = ?11",
			  &s, err)))
		return rc;
	bind_text_or_null(s, 1, meta->source);
	bind_text_or_null(s, 2, meta->kind);
	bind_text_or_null(s, 3, meta->host);
	bind_text_or_null(s, 4, meta->os_release);
	bind_text_or_null(s, 5, meta->perf_version);
	bind_text_or_null(s, 6, meta->cmdline);
	bind_real_or_null(s, 7, meta->start_time);
	bind_real_or_null(s, 8, meta->duration);
	bind_u64_or_null(s, 9, meta->cpus, 0);
	bind_text_or_null(s, 10, meta->weight_unit);
	sqlite3_bind_int64(s, 11, st->cap);
	rc = step_done(st, s, "cannot update the capture", err);
	sqlite3_finalize(s);
	return rc;
}

/* The strings.id of profile string id, numbered on first use; 0 stays 0 (NULL). */
static int64_t str_id(struct pfs_store *st, uint32_t id)
{
	if (!id)
		return 0;
	PFS_GROW_ZEROED(st->smap, st->smap_cap, id);
	if (!st->smap[id])
		st->smap[id] = ++st->n_strs;
	return st->string_base + st->smap[id];
}

static void bind_str(struct pfs_store *st, sqlite3_stmt *s, int i, uint32_t id)
{
	int64_t v = str_id(st, id);
	if (v)
		sqlite3_bind_int64(s, i, v);
	else
		sqlite3_bind_null(s, i);
}

static size_t tmap_hash(uint32_t pid, uint32_t tid)
{
	uint64_t h = ((uint64_t)pid << 32 | tid) * 0x9e3779b97f4a7c15ull;
	return (size_t)(h >> 32);
}

/* The thread of (pid, tid) in this capture, its id assigned on first mention. The pointer
 * is valid until the next call. */
static struct tmap_slot *thread_slot(struct pfs_store *st, uint32_t pid, uint32_t tid)
{
	size_t i;
	if ((st->tmap_n + 1) * 2 > st->tmap_cap) {
		size_t nc = st->tmap_cap ? st->tmap_cap * 2 : 64;
		struct tmap_slot *nv = pfs_xcalloc(nc, sizeof(*nv));
		for (size_t j = 0; j < st->tmap_cap; j++) {
			struct tmap_slot *o = &st->tmap[j];
			if (!o->id)
				continue;
			for (i = tmap_hash(o->pid, o->tid) & (nc - 1); nv[i].id;
			     i = (i + 1) & (nc - 1))
				;
			nv[i] = *o;
		}
		free(st->tmap);
		st->tmap = nv;
		st->tmap_cap = nc;
	}
	for (i = tmap_hash(pid, tid) & (st->tmap_cap - 1); st->tmap[i].id;
	     i = (i + 1) & (st->tmap_cap - 1))
		if (st->tmap[i].pid == pid && st->tmap[i].tid == tid)
			return &st->tmap[i];
	st->tmap[i].pid = pid;
	st->tmap[i].tid = tid;
	st->tmap[i].id = ++st->next_thread;
	st->tmap_n++;
	return &st->tmap[i];
}

static int64_t thread_id(struct pfs_store *st, uint32_t pid, uint32_t tid)
{
	return thread_slot(st, pid, tid)->id;
}

/* Binds one sample as the tuple whose parameters start after at; the capture (the tuple's
 * first) is bound once in pfs_store_begin_capture: bindings outlive sqlite3_reset. */
static void bind_sample(struct pfs_store *st, sqlite3_stmt *s, int at,
			const struct pfs_sample_row *row)
{
	sqlite3_bind_int64(s, at + 2, st->event_base + row->event + 1);
	bind_u64_or_null(s, at + 3, row->time, 0);
	sqlite3_bind_int64(s, at + 4, thread_id(st, row->pid, row->tid));
	bind_u64_or_null(s, at + 5, row->cpu, UINT32_MAX);
	bind_id(s, at + 6, st->path_base, row->path);
	sqlite3_bind_int64(s, at + 7, (int64_t)row->period);
	sqlite3_bind_double(s, at + 8, row->weight);
	bind_str(st, s, at + 9, row->comm);
}

/* Writes n samples: GROUP of them with one statement, which spares the per-statement work
 * (cursors, VDBE setup and halt) that dominated a row's cost, fewer one by one. */
static int write_samples(struct pfs_store *st, const struct pfs_sample_row *const *rows, size_t n)
{
	sqlite3_stmt *s = n == GROUP ? st->ins_samples : st->ins_sample;
	size_t per = n == GROUP ? n : 1;
	for (size_t i = 0; i < n; i += per) {
		int64_t last;
		for (size_t k = 0; k < per; k++)
			bind_sample(st, s, (int)k * SAMPLE_COLS, rows[i + k]);
		if (sqlite3_step(s) != SQLITE_DONE) {
			sqlite3_reset(s);
			return db_err(st, &st->wq.werr, "cannot write samples");
		}
		sqlite3_reset(s);
		/* a statement's rows get consecutive ids: the table only grows during a capture */
		last = sqlite3_last_insert_rowid(st->db);
		if (!st->n_samples)
			st->sample_first = last - (int64_t)per + 1;
		st->n_samples += (int64_t)per;
		st->sample_last = last;
	}
	return 0;
}

static const char *qtext(const struct qbatch *b, size_t at)
{
	return at ? b->text + at - 1 : NULL;
}

static int write_row(struct pfs_store *st, const struct qbatch *b, const struct qrow *r)
{
	sqlite3_stmt *s;
	switch (r->kind) {
	case QR_OFFCPU:
		s = st->ins_offcpu;
		sqlite3_bind_int64(s, 2, thread_id(st, r->u.o.pid, r->u.o.tid));
		sqlite3_bind_int64(s, 3, (int64_t)r->u.o.t_out);
		sqlite3_bind_int64(s, 4, (int64_t)r->u.o.t_in);
		bind_text_or_null(s, 5, qtext(b, r->u.o.state));
		bind_id(s, 6, st->path_base, r->u.o.path);
		return step_done(st, s, "cannot write an off-CPU interval", &st->wq.werr);
	case QR_PROBE:
		s = st->ins_probe;
		sqlite3_bind_int64(s, 2, st->event_base + r->u.p.event + 1);
		bind_u64_or_null(s, 3, r->u.p.time, 0);
		sqlite3_bind_int64(s, 4, thread_id(st, r->u.p.pid, r->u.p.tid));
		bind_u64_or_null(s, 5, r->u.p.cpu, UINT32_MAX);
		bind_id(s, 6, st->path_base, r->u.p.path);
		bind_text_or_null(s, 7, qtext(b, r->u.p.fields));
		return step_done(st, s, "cannot write a probe event", &st->wq.werr);
	default:
		return write_samples(st, (const struct pfs_sample_row *[]){&r->u.s}, 1);
	}
}

static void bind_path(struct pfs_store *st, sqlite3_stmt *s, int at, uint32_t id,
		      const struct pfs_path_node *q)
{
	sqlite3_bind_int64(s, at + 1, st->path_base + id);
	bind_id(s, at + 3, st->path_base, q->parent);
	sqlite3_bind_int64(s, at + 4, st->frame_base + q->frame);
	sqlite3_bind_int64(s, at + 5, q->depth);
}

/* Writes n queued paths, GROUP of them per statement. */
static int write_paths(struct pfs_store *st, const struct qrow *const *rows, size_t n)
{
	sqlite3_stmt *s = n == GROUP ? st->ins_paths : st->ins_path;
	size_t per = n == GROUP ? n : 1;
	for (size_t i = 0; i < n; i += per) {
		for (size_t k = 0; k < per; k++)
			bind_path(st, s, (int)k * PATH_COLS, rows[i + k]->u.path.id,
				  &rows[i + k]->u.path.n);
		if (sqlite3_step(s) != SQLITE_DONE) {
			sqlite3_reset(s);
			return db_err(st, &st->wq.werr, "cannot write call paths");
		}
		sqlite3_reset(s);
	}
	return 0;
}

/* A batch's rows; samples and paths go in groups, each table's in their order (rows of other
 * tables may pass them). */
static int write_batch(struct pfs_store *st, const struct qbatch *b)
{
	const struct pfs_sample_row *grp[GROUP];
	const struct qrow *pgrp[GROUP];
	size_t n = 0, np = 0;
	int rc = 0;
	for (size_t i = 0; i < b->n && !rc; i++) {
		const struct qrow *r = &b->rows[i];
		if (r->kind == QR_SAMPLE) {
			grp[n++] = &r->u.s;
			if (n == GROUP) {
				rc = write_samples(st, grp, n);
				n = 0;
			}
		} else if (r->kind == QR_PATH) {
			pgrp[np++] = r;
			if (np == GROUP) {
				rc = write_paths(st, pgrp, np);
				np = 0;
			}
		} else {
			rc = write_row(st, b, r);
		}
	}
	if (!rc && n)
		rc = write_samples(st, grp, n);
	if (!rc && np)
		rc = write_paths(st, pgrp, np);
	return rc;
}

static void *writer_main(void *arg)
{
	struct pfs_store *st = arg;
	struct wqueue *q = &st->wq;
	pthread_mutex_lock(&q->mu);
	for (;;) {
		struct qbatch *b;
		bool failed;
		while (!q->full && !q->stop)
			pthread_cond_wait(&q->more, &q->mu);
		if (!q->full)
			break;
		b = q->full;
		q->full = b->next;
		if (!q->full)
			q->full_tail = NULL;
		q->busy = true;
		failed = q->failed;
		pthread_mutex_unlock(&q->mu);
		/* after a failure the rest is only drained: the capture will be rolled back */
		if (!failed)
			failed = write_batch(st, b) != 0;
		b->n = b->text_n = 0;
		pthread_mutex_lock(&q->mu);
		q->failed = failed;
		b->next = q->free;
		q->free = b;
		q->busy = false;
		pthread_cond_broadcast(&q->room);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/* Starts the writer with its batches. Returns 0 or PFS_EIO (no thread). */
static int wq_start(struct pfs_store *st, struct pfs_err *err)
{
	struct wqueue *q = &st->wq;
	int e;
	memset(q, 0, sizeof(*q));
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->more, NULL);
	pthread_cond_init(&q->room, NULL);
	for (int i = 0; i < QBATCHES; i++) {
		struct qbatch *b = pfs_xcalloc(1, sizeof(*b));
		b->next = q->free;
		q->free = b;
	}
	q->cur = q->free;
	q->free = q->cur->next;
	q->cur->next = NULL;
	if ((e = pthread_create(&q->thread, NULL, writer_main, st))) {
		errno = e;
		return pfs_err_sys(err, "cannot start the database writer thread");
	}
	q->running = true;
	return 0;
}

/* The writer's error as the caller's: into sink_err (and err). Called with the mutex held. */
static int wq_error(struct pfs_store *st, struct pfs_err *err)
{
	if (!st->sink_err.code)
		st->sink_err = st->wq.werr;
	if (err)
		*err = st->sink_err;
	return st->sink_err.code;
}

/* Queues the batch being filled and takes an empty one, waiting while the writer is behind.
 * Returns 0 or the writer's error. */
static int wq_push(struct pfs_store *st, struct pfs_err *err)
{
	struct wqueue *q = &st->wq;
	struct qbatch *b = q->cur;
	int rc = 0;
	pthread_mutex_lock(&q->mu);
	if (b->n) {
		b->next = NULL;
		if (q->full_tail)
			q->full_tail->next = b;
		else
			q->full = b;
		q->full_tail = b;
		pthread_cond_signal(&q->more);
		while (!q->free)
			pthread_cond_wait(&q->room, &q->mu);
		q->cur = q->free;
		q->free = q->cur->next;
		q->cur->next = NULL;
	}
	if (q->failed)
		rc = wq_error(st, err);
	pthread_mutex_unlock(&q->mu);
	return rc;
}

/* Waits until every queued row is written. Returns 0 or the writer's error. */
static int wq_drain(struct pfs_store *st, struct pfs_err *err)
{
	struct wqueue *q = &st->wq;
	int rc;
	if (!q->running)
		return 0;
	if ((rc = wq_push(st, err)))
		return rc;
	pthread_mutex_lock(&q->mu);
	while (q->full || q->busy)
		pthread_cond_wait(&q->room, &q->mu);
	if (q->failed)
		rc = wq_error(st, err);
	pthread_mutex_unlock(&q->mu);
	return rc;
}

/* Stops the writer; rows still queued are dropped when discard (the capture is rolled back). */
static void wq_stop(struct pfs_store *st, bool discard)
{
	struct wqueue *q = &st->wq;
	if (!q->running)
		return;
	pthread_mutex_lock(&q->mu);
	q->stop = true;
	q->failed |= discard;
	pthread_cond_signal(&q->more);
	pthread_mutex_unlock(&q->mu);
	pthread_join(q->thread, NULL);
	q->running = false;
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->more);
	pthread_cond_destroy(&q->room);
	free(q->cur->text);
	free(q->cur);
	while (q->free) {
		struct qbatch *b = q->free;
		q->free = b->next;
		free(b->text);
		free(b);
	}
	q->cur = NULL;
}

/* The next row of the batch being filled, queueing the batch first when it is full. */
static struct qrow *wq_row(struct pfs_store *st, int *rc, struct pfs_err *err)
{
	if (st->wq.cur->n == QROWS && (*rc = wq_push(st, err)))
		return NULL;
	return &st->wq.cur->rows[st->wq.cur->n++];
}

/* Copies a string into the batch being filled: its offset + 1, 0 for NULL. */
static size_t wq_text(struct pfs_store *st, const char *t)
{
	struct qbatch *b = st->wq.cur;
	size_t len, at;
	if (!t)
		return 0;
	len = strlen(t) + 1;
	PFS_GROW(b->text, b->text_cap, b->text_n + len);
	at = b->text_n;
	memcpy(b->text + at, t, len);
	b->text_n += len;
	return at + 1;
}

int pfs_store_sample_cb(void *payload, const struct pfs_sample_row *row)
{
	struct pfs_store *st = payload;
	struct qrow *r;
	int rc = 0;
	if (!st->cap)
		return pfs_err_set(&st->sink_err, PFS_EUSAGE, PFS_NO_OFF, "no capture is open");
	if (!(r = wq_row(st, &rc, NULL)))
		return rc;
	r->kind = QR_SAMPLE;
	r->u.s = *row;
	return 0;
}

int pfs_store_sample(struct pfs_store *st, const struct pfs_profile *prof,
		     const struct pfs_sample_row *row)
{
	size_t n = pfs_profile_n_paths(prof);
	int rc = 0;
	if (!st->cap)
		return pfs_err_set(&st->sink_err, PFS_EUSAGE, PFS_NO_OFF, "no capture is open");
	while (st->paths_queued < n) {
		struct qrow *r = wq_row(st, &rc, NULL);
		if (!r)
			return rc;
		r->kind = QR_PATH;
		r->u.path.id = ++st->paths_queued;
		r->u.path.n = *pfs_profile_pathget(prof, r->u.path.id);
	}
	return pfs_store_sample_cb(st, row);
}

static int need_capture(struct pfs_store *st, struct pfs_err *err)
{
	if (!st->cap)
		return pfs_err_set(err, PFS_EUSAGE, PFS_NO_OFF, "no capture is open");
	return 0;
}

int pfs_store_put_offcpu(struct pfs_store *st, const struct pfs_store_offcpu *o,
			 struct pfs_err *err)
{
	struct qrow *r;
	int rc = need_capture(st, err);
	if (rc || !(r = wq_row(st, &rc, err)))
		return rc;
	r->kind = QR_OFFCPU;
	r->u.o.pid = o->pid;
	r->u.o.tid = o->tid;
	r->u.o.t_out = o->t_out;
	r->u.o.t_in = o->t_in;
	r->u.o.path = o->path;
	r->u.o.state = wq_text(st, o->state);
	return 0;
}

int pfs_store_put_probe(struct pfs_store *st, const struct pfs_store_probe *p, struct pfs_err *err)
{
	struct qrow *r;
	int rc = need_capture(st, err);
	if (rc || !(r = wq_row(st, &rc, err)))
		return rc;
	r->kind = QR_PROBE;
	r->u.p.event = p->event;
	r->u.p.pid = p->pid;
	r->u.p.tid = p->tid;
	r->u.p.cpu = p->cpu;
	r->u.p.time = p->time;
	r->u.p.path = p->path;
	r->u.p.fields = wq_text(st, p->fields);
	return 0;
}

int pfs_store_put_buildid(struct pfs_store *st, const char *dso, const char *build_id,
			  struct pfs_err *err)
{
	sqlite3_stmt *s;
	int rc = need_capture(st, err);
	if (rc || (rc = prepare(st, "INSERT INTO buildids VALUES (?,?,?)", &s, err)))
		return rc;
	sqlite3_bind_int64(s, 1, st->cap);
	sqlite3_bind_text(s, 2, dso, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, build_id, -1, SQLITE_STATIC);
	rc = step_done(st, s, "cannot write a build-id", err);
	sqlite3_finalize(s);
	return rc;
}

int pfs_store_put_diags(struct pfs_store *st, const struct pfs_diag *d, struct pfs_err *err)
{
	sqlite3_stmt *s;
	int rc = need_capture(st, err);
	if (rc || (rc = prepare(st, "INSERT INTO diagnostics VALUES (?,?,?,?,?,?)", &s, err)))
		return rc;
	for (size_t i = 0; i < d->n && !rc; i++) {
		const struct pfs_diag_entry *e = &d->v[i];
		sqlite3_bind_int64(s, 1, st->cap);
		sqlite3_bind_text(s, 2, e->code, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, pfs_severity_name(e->sev), -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 4, (int64_t)e->count);
		bind_u64_or_null(s, 5, e->first_off, PFS_NO_OFF);
		sqlite3_bind_text(s, 6, e->msg, -1, SQLITE_STATIC);
		rc = step_done(st, s, "cannot write diagnostics", err);
	}
	sqlite3_finalize(s);
	return rc;
}

int pfs_store_put_report(struct pfs_store *st, const char *json, size_t len, struct pfs_err *err)
{
	sqlite3_stmt *s;
	size_t zlen;
	int rc;
	if ((rc = need_capture(st, err)))
		return rc;
	if ((rc =
		 prepare(st,
			 "INSERT OR REPLACE INTO report_data SELECT id, content_hash, imported_at, "
			 "?2, ?3, ?4 FROM captures WHERE id = ?1",
			 &s, err)))
		return rc;
	void *z = pfs_zst_compress(json, len, &zlen);
	sqlite3_bind_int64(s, 1, st->cap);
	sqlite3_bind_text(s, 2, REPORT_FORMAT, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, (int64_t)len);
	sqlite3_bind_blob64(s, 4, z, zlen, SQLITE_STATIC);
	rc = step_done(st, s, "cannot write the report data", err);
	sqlite3_finalize(s);
	free(z);
	return rc;
}

static void bind_u64(sqlite3_stmt *s, int i, uint64_t v)
{
	sqlite3_bind_int64(s, i, (int64_t)v);
}

static int put_an_header(struct pfs_store *st, const struct pfs_analysis *a, struct pfs_err *err)
{
	struct pfs_an_header h;
	sqlite3_stmt *s;
	char ver[32];
	int rc =
	    prepare(st, "INSERT INTO py_analysis VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", &s, err);
	if (rc)
		return rc;
	pfs_analysis_header(a, &h);
	sqlite3_bind_int64(s, 1, st->cap);
	if (h.have_python) {
		snprintf(ver, sizeof(ver), "%d.%d%s", h.python.major, h.python.minor,
			 h.python.free_threaded ? "t" : "");
		sqlite3_bind_text(s, 2, ver, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(s, 3, h.python.major);
		sqlite3_bind_int(s, 4, h.python.minor);
		sqlite3_bind_int(s, 5, h.python.free_threaded);
		sqlite3_bind_int(s, 6, h.python.known);
	}
	/* 2: recorded, but sampled (not measured); older builds read it as recorded */
	sqlite3_bind_int(s, 7, h.switch_waits ? 1 : h.switch_sampled ? 2 : 0);
	sqlite3_bind_int(s, 8, h.gil_probes ? 1 : h.gil_sampled ? 2 : 0);
	sqlite3_bind_int(s, 9, h.gc_probes ? 1 : h.gc_sampled ? 2 : 0);
	sqlite3_bind_int(s, 10, h.cpu_clock);
	bind_u64(s, 11, h.lost_samples);
	bind_u64(s, 12, h.first_time);
	bind_u64(s, 13, h.last_time);
	bind_text_or_null(s, 14, h.command);
	rc = step_done(st, s, "cannot write the analysis", err);
	sqlite3_finalize(s);
	return rc;
}

static int put_an_threads(struct pfs_store *st, const struct pfs_analysis *a, struct pfs_err *err)
{
	sqlite3_stmt *s, *c = NULL, *cs = NULL, *tw = NULL;
	int rc =
	    prepare(st, "INSERT INTO py_threads VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", &s, err);
	if (rc || (rc = prepare(st, "INSERT INTO py_categories VALUES (?,?,?,?,?)", &c, err)) ||
	    (rc = prepare(st, "INSERT INTO py_cut_stacks VALUES (?,?,?,?)", &cs, err)) ||
	    (rc = prepare(st, "INSERT INTO py_thread_waits VALUES (?,?,?,?,?,?)", &tw, err)))
		goto out;
	for (size_t i = 0; i < pfs_analysis_n_threads(a) && !rc; i++) {
		const struct pfs_an_thread *t = pfs_analysis_thread(a, i);
		sqlite3_bind_int64(s, 1, st->cap);
		sqlite3_bind_int64(s, 2, t->pid);
		sqlite3_bind_int64(s, 3, t->tid);
		bind_u64(s, 4, t->cpu_samples);
		bind_u64(s, 5, t->gc_samples);
		bind_u64(s, 6, t->gil_samples);
		bind_u64(s, 7, t->cpu_period);
		bind_u64(s, 8, t->gil_wait_ns);
		bind_u64(s, 9, t->gil_waits);
		bind_u64(s, 10, t->probe_wait_ns);
		bind_u64(s, 11, t->probe_waits);
		bind_u64(s, 12, t->gc_pauses);
		bind_u64(s, 13, t->gc_pause_ns);
		bind_u64_or_null(s, 14, t->last_time, 0);
		rc = step_done(st, s, "cannot write the analysis' threads", err);
		if (!rc && pfs_analysis_has_cut_stacks(a)) {
			sqlite3_bind_int64(cs, 1, st->cap);
			sqlite3_bind_int64(cs, 2, t->pid);
			sqlite3_bind_int64(cs, 3, t->tid);
			bind_u64(cs, 4, t->cut_stacks);
			rc = step_done(st, cs, "cannot write the analysis' cut stacks", err);
		}
		if (!rc && (t->gil_waits_bounded || t->runnable_waits)) {
			sqlite3_bind_int64(tw, 1, st->cap);
			sqlite3_bind_int64(tw, 2, t->pid);
			sqlite3_bind_int64(tw, 3, t->tid);
			bind_u64(tw, 4, t->gil_waits_bounded);
			bind_u64(tw, 5, t->runnable_ns);
			bind_u64(tw, 6, t->runnable_waits);
			rc = step_done(st, tw, "cannot write the analysis' thread waits", err);
		}
		for (int k = 0; k < PFS_CAT_COUNT && !rc; k++) {
			if (!t->cat[k])
				continue;
			sqlite3_bind_int64(c, 1, st->cap);
			sqlite3_bind_int64(c, 2, t->pid);
			sqlite3_bind_int64(c, 3, t->tid);
			sqlite3_bind_text(c, 4, pfs_pycat_name(k), -1, SQLITE_STATIC);
			bind_u64(c, 5, t->cat[k]);
			rc = step_done(st, c, "cannot write the analysis' categories", err);
		}
	}
out:
	sqlite3_finalize(s);
	sqlite3_finalize(c);
	sqlite3_finalize(cs);
	sqlite3_finalize(tw);
	return rc;
}

static int put_an_lists(struct pfs_store *st, const struct pfs_analysis *a, struct pfs_err *err)
{
	sqlite3_stmt *s;
	const struct pfs_diag *d = pfs_analysis_diag(a);
	int rc = prepare(st, "INSERT INTO gc_pauses VALUES (?,?,?,?,?,?)", &s, err);
	for (size_t i = 0; !rc && i < pfs_analysis_n_pauses(a); i++) {
		const struct pfs_an_pause *p = pfs_analysis_pause(a, i);
		sqlite3_bind_int64(s, 1, st->cap);
		sqlite3_bind_int64(s, 2, p->pid);
		sqlite3_bind_int64(s, 3, p->tid);
		bind_u64(s, 4, p->start);
		bind_u64(s, 5, p->dur);
		bind_id(s, 6, st->path_base, p->pypath);
		rc = step_done(st, s, "cannot write the GC pauses", err);
	}
	sqlite3_finalize(s);
	/* the generation the probe recorded, when it did: a table of its own (optional_sql) */
	if (rc || (rc = prepare(st, "INSERT INTO gc_pause_generations VALUES (?,?,?,?)", &s, err)))
		return rc;
	for (size_t i = 0; !rc && i < pfs_analysis_n_pauses(a); i++) {
		const struct pfs_an_pause *p = pfs_analysis_pause(a, i);
		if (p->gen < 0)
			continue;
		sqlite3_bind_int64(s, 1, st->cap);
		sqlite3_bind_int64(s, 2, p->tid);
		bind_u64(s, 3, p->start);
		sqlite3_bind_int64(s, 4, p->gen);
		rc = step_done(st, s, "cannot write the GC pause generations", err);
	}
	sqlite3_finalize(s);
	if (rc || (rc = prepare(st, "INSERT INTO gil_waits VALUES (?,?,?,?,?,?,?)", &s, err)))
		return rc;
	for (size_t i = 0; !rc && i < pfs_analysis_n_waits(a); i++) {
		const struct pfs_an_wait *w = pfs_analysis_wait(a, i);
		sqlite3_bind_int64(s, 1, st->cap);
		sqlite3_bind_int64(s, 2, w->pid);
		sqlite3_bind_int64(s, 3, w->tid);
		bind_u64(s, 4, w->start);
		bind_u64(s, 5, w->dur);
		bind_id(s, 6, st->path_base, w->pypath);
		sqlite3_bind_int(s, 7, w->probe);
		rc = step_done(st, s, "cannot write the GIL waits", err);
	}
	sqlite3_finalize(s);
	if (rc || (rc = prepare(st, "INSERT INTO gil_wait_stacks VALUES (?,?,?,?,?)", &s, err)))
		return rc;
	for (size_t i = 0; !rc && i < pfs_analysis_n_stackwaits(a); i++) {
		const struct pfs_an_stackwait *w = pfs_analysis_stackwait(a, i);
		sqlite3_bind_int64(s, 1, st->cap);
		sqlite3_bind_int64(s, 2, w->pid);
		bind_id(s, 3, st->path_base, w->pypath);
		bind_u64(s, 4, w->ns);
		bind_u64(s, 5, w->n);
		rc = step_done(st, s, "cannot write the GIL wait stacks", err);
	}
	sqlite3_finalize(s);
	if (rc || (rc = prepare(st, "INSERT INTO gc_triggers VALUES (?,?,?,?,?,?)", &s, err)))
		return rc;
	for (size_t i = 0; !rc && i < pfs_analysis_n_gctriggers(a); i++) {
		const struct pfs_an_gctrigger *g = pfs_analysis_gctrigger(a, i);
		sqlite3_bind_int64(s, 1, st->cap);
		sqlite3_bind_int64(s, 2, g->pid);
		bind_id(s, 3, st->path_base, g->pypath);
		bind_u64(s, 4, g->pauses);
		bind_u64(s, 5, g->pause_ns);
		bind_u64(s, 6, g->samples);
		rc = step_done(st, s, "cannot write the GC triggers", err);
	}
	sqlite3_finalize(s);
	if (rc || (rc = prepare(st, "INSERT INTO py_events VALUES (?,?,?)", &s, err)))
		return rc;
	for (uint32_t ev = 0; !rc && ev < pfs_analysis_n_events(a); ev++) {
		uint64_t n = pfs_analysis_event_samples(a, ev);
		if (!n)
			continue;
		sqlite3_bind_int64(s, 1, st->cap);
		sqlite3_bind_int64(s, 2, st->event_base + ev + 1);
		bind_u64(s, 3, n);
		rc = step_done(st, s, "cannot write the analysis' events", err);
	}
	sqlite3_finalize(s);
	if (rc || (rc = prepare(st, "INSERT INTO py_notes VALUES (?,?,?,?,?)", &s, err)))
		return rc;
	for (size_t i = 0; !rc && i < d->n; i++) {
		sqlite3_bind_int64(s, 1, st->cap);
		sqlite3_bind_text(s, 2, d->v[i].code, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, pfs_severity_name(d->v[i].sev), -1, SQLITE_STATIC);
		bind_u64(s, 4, d->v[i].count);
		sqlite3_bind_text(s, 5, d->v[i].msg, -1, SQLITE_STATIC);
		rc = step_done(st, s, "cannot write the analysis' notes", err);
	}
	sqlite3_finalize(s);
	return rc;
}

static int put_an_handlers(struct pfs_store *st, const struct pfs_analysis *a, struct pfs_err *err)
{
	const struct pfs_handlers *h = pfs_analysis_handlers(a);
	sqlite3_stmt *s;
	int rc;
	if (!h)
		return 0;
	const struct pfs_handlers_rest *r = pfs_handlers_rest(h);
	if ((rc = prepare(st, "INSERT INTO py_handler_totals VALUES (?,?,?,?,?)", &s, err)))
		return rc;
	sqlite3_bind_int64(s, 1, st->cap);
	sqlite3_bind_text(s, 2, pfs_handlers_frameworks(h), -1, SQLITE_TRANSIENT);
	bind_u64(s, 3, r->cpu_total);
	bind_u64(s, 4, r->cpu_samples);
	bind_u64(s, 5, r->cut_samples);
	rc = step_done(st, s, "cannot write the handler totals", err);
	sqlite3_finalize(s);
	if (rc || (rc = prepare(st, "INSERT INTO py_handlers VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
				&s, err)))
		return rc;
	for (size_t i = 0; !rc && i < pfs_handlers_n(h); i++) {
		const struct pfs_handler_row *w = pfs_handlers_row(h, i);
		sqlite3_bind_int64(s, 1, st->cap);
		sqlite3_bind_text(s, 2, w->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, w->framework, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, pfs_handler_kind_name(w->kind), -1, SQLITE_STATIC);
		bind_u64(s, 5, w->cpu_samples);
		bind_u64(s, 6, w->cpu_period);
		bind_u64(s, 7, w->gc_samples);
		bind_u64(s, 8, w->gc_pauses);
		bind_u64(s, 9, w->gc_pause_ns);
		bind_u64(s, 10, w->gil_waits);
		bind_u64(s, 11, w->gil_wait_ns);
		bind_u64(s, 12, w->probe_waits);
		bind_u64(s, 13, w->probe_wait_ns);
		rc = step_done(st, s, "cannot write the request handlers", err);
	}
	sqlite3_finalize(s);
	return rc;
}

/*
 * The time budgets, their stacks and what the stacks say of each process (offcpu.h): what the
 * verdicts of a summary read, so a database gives the same ones as the capture.
 */
static int put_an_budgets(struct pfs_store *st, const struct pfs_analysis *a, struct pfs_err *err)
{
	const struct pfs_offcpu *o = pfs_analysis_offcpu(a);
	const struct pfs_off_info *oi = pfs_offcpu_info(o);
	size_t npat;
	const struct pfs_off_pattern *pats = pfs_verdicts_patterns(&npat);
	sqlite3_stmt *s;
	int rc;
	if (!oi->known)
		return 0;
	if ((rc = prepare(st, "INSERT INTO py_budget_info VALUES (?,?,?,?,?,?,?)", &s, err)))
		return rc;
	sqlite3_bind_int64(s, 1, st->cap);
	sqlite3_bind_int(s, 2, oi->switches);
	sqlite3_bind_int(s, 3, oi->switch_ins);
	sqlite3_bind_int(s, 4, oi->wakeups);
	bind_u64(s, 5, oi->first);
	bind_u64(s, 6, oi->last);
	sqlite3_bind_int64(s, 7, oi->nr_cpus);
	rc = step_done(st, s, "cannot write the budget info", err);
	sqlite3_finalize(s);
	if (rc || (rc = prepare(st,
				"INSERT INTO py_budgets VALUES "
				"(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
				&s, err)))
		return rc;
	for (size_t i = 0; !rc && i < pfs_offcpu_n_budgets(o); i++) {
		const struct pfs_off_budget *b = pfs_offcpu_budget_at(o, i);
		const uint64_t v[] = {b ? b->life_ns : 0,
				      b ? b->on_ns : 0,
				      b ? b->part_ns[PFS_OFF_GIL] : 0,
				      b ? b->part_ns[PFS_OFF_IO] : 0,
				      b ? b->part_ns[PFS_OFF_IDLE] : 0,
				      b ? b->part_ns[PFS_OFF_LOCK] : 0,
				      b ? b->part_ns[PFS_OFF_RUNNABLE] : 0,
				      b ? b->wake_ns[PFS_OFF_GIL] : 0,
				      b ? b->wake_ns[PFS_OFF_IO] : 0,
				      b ? b->wake_ns[PFS_OFF_IDLE] : 0,
				      b ? b->wake_ns[PFS_OFF_LOCK] : 0,
				      b ? b->offs : 0,
				      b ? b->wakeups : 0,
				      b ? b->bounded_ns : 0,
				      b ? b->unrec_start_ns : 0,
				      b ? b->unrec_loss_ns : 0,
				      b ? b->unrec_end_ns : 0,
				      b ? b->unrec_why_ns : 0};
		if (!b)
			continue;
		sqlite3_bind_int64(s, 1, st->cap);
		sqlite3_bind_int64(s, 2, b->pid);
		sqlite3_bind_int64(s, 3, b->tid);
		for (int k = 0; k < (int)(sizeof(v) / sizeof(v[0])); k++)
			bind_u64(s, 4 + k, v[k]);
		rc = step_done(st, s, "cannot write the time budgets", err);
	}
	sqlite3_finalize(s);
	if (rc || (rc = prepare(st, "INSERT INTO py_offcpu_stacks VALUES (?,?,?,?,?,?)", &s, err)))
		return rc;
	for (size_t i = 0; !rc && i < pfs_offcpu_n_stacks(o); i++) {
		const struct pfs_off_stack *k = pfs_offcpu_stack_at(o, i);
		sqlite3_bind_int64(s, 1, st->cap);
		sqlite3_bind_int64(s, 2, k->pid);
		sqlite3_bind_text(s, 3, pfs_off_part_name((enum pfs_off_part)k->part), -1,
				  SQLITE_STATIC);
		bind_id(s, 4, st->path_base, k->pypath);
		bind_u64(s, 5, k->ns);
		bind_u64(s, 6, k->n);
		rc = step_done(st, s, "cannot write the off-CPU stacks", err);
	}
	sqlite3_finalize(s);
	if (rc || (rc = prepare(st, "INSERT INTO py_process_marks VALUES (?,?,?,?)", &s, err)))
		return rc;
	for (size_t i = 0; !rc && i < pfs_offcpu_n_procs(o); i++) {
		const struct pfs_off_proc *pr = pfs_offcpu_proc_at(o, i);
		char cls[128] = "";
		for (int k = 0; k < PFS_WK_COUNT; k++)
			if (pr->worker & (1u << k))
				snprintf(cls + strlen(cls), sizeof(cls) - strlen(cls), "%s%s",
					 cls[0] ? "," : "",
					 pfs_off_worker_name((enum pfs_off_worker)(1u << k)));
		sqlite3_bind_int64(s, 1, st->cap);
		sqlite3_bind_int64(s, 2, pr->pid);
		sqlite3_bind_text(s, 3, cls, -1, SQLITE_TRANSIENT);
		bind_u64(s, 4, pr->cpu_samples);
		rc = step_done(st, s, "cannot write the process marks", err);
	}
	sqlite3_finalize(s);
	if (rc || (rc = prepare(st, "INSERT INTO py_slow_paths VALUES (?,?,?,?,?)", &s, err)))
		return rc;
	for (size_t i = 0; !rc && i < pfs_offcpu_n_procs(o); i++) {
		const struct pfs_off_proc *pr = pfs_offcpu_proc_at(o, i);
		for (size_t k = 0; !rc && k < npat; k++) {
			if (!pr->pat[k])
				continue;
			sqlite3_bind_int64(s, 1, st->cap);
			sqlite3_bind_int64(s, 2, pr->pid);
			sqlite3_bind_text(s, 3, pats[k].id, -1, SQLITE_STATIC);
			sqlite3_bind_text(s, 4, pats[k].file, -1, SQLITE_STATIC);
			bind_u64(s, 5, pr->pat[k]);
			rc = step_done(st, s, "cannot write the slow paths", err);
		}
	}
	sqlite3_finalize(s);
	return rc;
}

int pfs_store_put_analysis(struct pfs_store *st, const struct pfs_analysis *a, struct pfs_err *err)
{
	int rc = need_capture(st, err);
	if (rc || (rc = put_an_header(st, a, err)) || (rc = put_an_threads(st, a, err)) ||
	    (rc = put_an_handlers(st, a, err)) || (rc = put_an_budgets(st, a, err)))
		return rc;
	return put_an_lists(st, a, err);
}

static int write_profile(struct pfs_store *st, const struct pfs_profile *p, struct pfs_err *err)
{
	sqlite3_stmt *s = NULL;
	size_t n;
	int rc;

	if ((rc = prepare(st, "INSERT INTO frames VALUES (?,?,?,?,?,?,?,?)", &s, err)))
		return rc;
	n = pfs_profile_n_frames(p);
	for (uint32_t i = 1; i <= n && !rc; i++) {
		const struct pfs_frame *f = pfs_profile_frameget(p, i);
		sqlite3_bind_int64(s, 1, st->frame_base + i);
		sqlite3_bind_int64(s, 2, st->cap);
		bind_str(st, s, 3, f->name);
		bind_str(st, s, 4, f->file);
		bind_u64_or_null(s, 5, f->line, 0);
		bind_str(st, s, 6, f->dso);
		sqlite3_bind_int(s, 7, f->kind);
		sqlite3_bind_int(s, 8, f->inlined);
		rc = step_done(st, s, "cannot write frames", err);
	}
	sqlite3_finalize(s);
	if (rc)
		return rc;
	/* the paths pfs_store_sample did not queue: those made after the last sample (the
	 * analysis' python-view stacks), or all when samples came through pfs_store_sample_cb */
	n = pfs_profile_n_paths(p);
	for (uint32_t i = st->paths_queued + 1; i <= n && !rc; i++) {
		bind_path(st, st->ins_path, 0, i, pfs_profile_pathget(p, i));
		rc = step_done(st, st->ins_path, "cannot write call paths", err);
	}
	if (rc || (rc = prepare(st, "INSERT INTO events VALUES (?,?,?,?,?)", &s, err)))
		return rc;
	n = pfs_profile_n_events(p);
	for (uint32_t i = 0; i < n && !rc; i++) {
		const struct pfs_event *e = pfs_profile_event((struct pfs_profile *)p, i);
		sqlite3_bind_int64(s, 1, st->event_base + i + 1);
		sqlite3_bind_int64(s, 2, st->cap);
		sqlite3_bind_text(s, 3, pfs_profile_strget(p, e->name, NULL), -1, SQLITE_STATIC);
		/* 1 a sampling event; 2 and 3 also say it is a clock (ns, cycles): read as true by
		 * every build, so old readers still see a sampling event */
		sqlite3_bind_int(s, 4,
				 !e->sampling			? 0
				 : e->clock == PFS_CLOCK_NS	? 2
				 : e->clock == PFS_CLOCK_CYCLES ? 3
								: 1);
		sqlite3_bind_int64(s, 5, (int64_t)e->samples);
		rc = step_done(st, s, "cannot write events", err);
	}
	sqlite3_finalize(s);
	if (rc || (rc = prepare(st, "INSERT INTO processes VALUES (NULL,?,?,?,?,?,?,?)", &s, err)))
		return rc;
	n = pfs_profile_n_processes(p);
	for (size_t i = 0; i < n && !rc; i++) {
		const struct pfs_process *q = pfs_profile_process_at(p, i);
		sqlite3_bind_int64(s, 1, st->cap);
		sqlite3_bind_int64(s, 2, q->pid);
		sqlite3_bind_int64(s, 3, q->ppid);
		bind_text_or_null(s, 4, q->comm ? pfs_profile_strget(p, q->comm, NULL) : NULL);
		bind_text_or_null(s, 5,
				  q->cmdline ? pfs_profile_strget(p, q->cmdline, NULL) : NULL);
		bind_u64_or_null(s, 6, q->start, 0);
		bind_u64_or_null(s, 7, q->end, 0);
		rc = step_done(st, s, "cannot write processes", err);
	}
	sqlite3_finalize(s);
	if (rc)
		return rc;
	/* Profile threads get their ids (those samples named first already have one), then
	 * every id handed out is written, so samples of a thread the profile lacks still join. */
	n = pfs_profile_n_threads(p);
	for (size_t i = 0; i < n; i++) {
		const struct pfs_thread *t = pfs_profile_thread_at(p, i);
		thread_slot(st, t->pid, t->tid);
	}
	/* a second pass: the map may have moved while the first added threads */
	for (size_t i = 0; i < n; i++) {
		const struct pfs_thread *t = pfs_profile_thread_at(p, i);
		thread_slot(st, t->pid, t->tid)->prof = (uint32_t)i + 1;
	}
	if ((rc = prepare(st, "INSERT INTO threads VALUES (?,?,?,?,?,?,?,?)", &s, err)))
		return rc;
	for (size_t i = 0; i < st->tmap_cap && !rc; i++) {
		const struct tmap_slot *m = &st->tmap[i];
		const struct pfs_thread *t;
		if (!m->id)
			continue;
		t = m->prof ? pfs_profile_thread_at(p, m->prof - 1) : NULL;
		sqlite3_bind_int64(s, 1, m->id);
		sqlite3_bind_int64(s, 2, st->cap);
		sqlite3_bind_int64(s, 3, m->pid);
		sqlite3_bind_int64(s, 4, m->tid);
		bind_text_or_null(s, 5, t && t->comm ? pfs_profile_strget(p, t->comm, NULL) : NULL);
		bind_u64_or_null(s, 6, t ? t->start : 0, 0);
		bind_u64_or_null(s, 7, t ? t->end : 0, 0);
		sqlite3_bind_int64(s, 8, t ? (int64_t)t->samples : 0);
		rc = step_done(st, s, "cannot write threads", err);
	}
	sqlite3_finalize(s);
	/* last: every reference above has numbered its string */
	if (rc || (rc = prepare(st, "INSERT INTO strings VALUES (?,?,?)", &s, err)))
		return rc;
	for (uint32_t i = 1; i < st->smap_cap && !rc; i++) {
		size_t len;
		const char *t;
		if (!st->smap[i])
			continue;
		t = pfs_profile_strget(p, i, &len);
		sqlite3_bind_int64(s, 1, st->string_base + st->smap[i]);
		sqlite3_bind_int64(s, 2, st->cap);
		sqlite3_bind_text(s, 3, t, (int)len, SQLITE_STATIC);
		rc = step_done(st, s, "cannot write strings", err);
	}
	sqlite3_finalize(s);
	if (rc || (rc = prepare(st,
				"UPDATE captures SET n_strings = ?, n_frames = ?, n_paths = ?, "
				"sample_first = ?, sample_last = ?, n_samples = ? WHERE id = ?",
				&s, err)))
		return rc;
	sqlite3_bind_int64(s, 1, st->n_strs);
	sqlite3_bind_int64(s, 2, (int64_t)pfs_profile_n_frames(p));
	sqlite3_bind_int64(s, 3, (int64_t)pfs_profile_n_paths(p));
	bind_u64_or_null(s, 4, (uint64_t)st->sample_first, 0);
	bind_u64_or_null(s, 5, (uint64_t)st->sample_last, 0);
	sqlite3_bind_int64(s, 6, st->n_samples);
	sqlite3_bind_int64(s, 7, st->cap);
	rc = step_done(st, s, "cannot finish the capture", err);
	sqlite3_finalize(s);
	return rc;
}

static int put_profile(struct pfs_store *st, const struct pfs_profile *prof, struct pfs_err *err)
{
	int rc;
	if ((rc = write_profile(st, prof, err)) ||
	    (rc = exec(st, index_sql, "cannot build indexes", err)))
		return rc;
	st->profile_done = true;
	return 0;
}

int pfs_store_put_profile(struct pfs_store *st, const struct pfs_profile *prof, struct pfs_err *err)
{
	int rc = need_capture(st, err);
	if (rc)
		return rc;
	if (st->profile_done)
		return pfs_err_set(err, PFS_EUSAGE, PFS_NO_OFF, "the profile is already written");
	if (st->sink_err.code) {
		if (err)
			*err = st->sink_err;
		return st->sink_err.code;
	}
	return put_profile(st, prof, err);
}

int pfs_store_end_capture(struct pfs_store *st, const struct pfs_profile *prof, struct pfs_err *err)
{
	int rc = need_capture(st, err);
	if (rc)
		return rc;
	if ((rc = wq_drain(st, err)))
		goto fail;
	if (st->sink_err.code) {
		rc = st->sink_err.code;
		if (err)
			*err = st->sink_err;
		goto fail;
	}
	if (st->hash_pending) {
		rc = pfs_err_set(err, PFS_EUSAGE, PFS_NO_OFF,
				 "the capture's content hash was never set");
		goto fail;
	}
	wq_stop(st, false);
	if (!st->profile_done && (rc = put_profile(st, prof, err)))
		goto fail;
	finalize_writers(st);
	if ((rc = exec(st, st->batch ? "RELEASE capture" : "COMMIT", "cannot commit the capture",
		       err)))
		goto fail;
	st->cap = 0;
	return 0;
fail:
	pfs_store_abort_capture(st);
	return rc;
}

void pfs_store_abort_capture(struct pfs_store *st)
{
	if (!st->cap)
		return;
	finalize_writers(st);
	rollback_capture(st);
	st->cap = 0;
}

int pfs_store_begin_batch(struct pfs_store *st, struct pfs_err *err)
{
	int rc;
	if (st->cap || st->batch)
		return pfs_err_set(err, PFS_EUSAGE, PFS_NO_OFF,
				   "a capture or batch is already open");
	if ((rc = exec(st, "BEGIN IMMEDIATE", "cannot start the import", err)))
		return rc;
	st->batch = true;
	return 0;
}

int pfs_store_commit_batch(struct pfs_store *st, struct pfs_err *err)
{
	int rc;
	if (!st->batch || st->cap)
		return pfs_err_set(err, PFS_EUSAGE, PFS_NO_OFF,
				   st->batch ? "a capture is still open" : "no batch is open");
	if ((rc = exec(st, "COMMIT", "cannot commit the captures", err))) {
		pfs_store_abort_batch(st);
		return rc;
	}
	st->batch = false;
	return 0;
}

void pfs_store_abort_batch(struct pfs_store *st)
{
	if (!st->batch)
		return;
	pfs_store_abort_capture(st);
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	st->batch = false;
}

const struct pfs_err *pfs_store_last_error(const struct pfs_store *st)
{
	return &st->sink_err;
}

static char *col_dup(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	return t ? pfs_xstrdup((const char *)t) : NULL;
}

static double col_real(sqlite3_stmt *s, int i)
{
	return sqlite3_column_type(s, i) == SQLITE_NULL ? NAN : sqlite3_column_double(s, i);
}

int pfs_store_captures(struct pfs_store *st, struct pfs_store_capture **out, struct pfs_err *err)
{
	sqlite3_stmt *s;
	struct pfs_store_capture *v = NULL;
	size_t n = 0, cap = 0;
	/* lost samples are kept with the analysis' books (version 2 on) */
	int rc =
	    prepare(st,
		    st->version >= 2
			? "SELECT id, label, source, content_hash, kind, host, os_release, "
			  "perf_version, cmdline, tool_version, imported_at, weight_unit, "
			  "start_time, duration, cpus, n_samples, (SELECT lost_samples FROM "
			  "py_analysis a WHERE a.capture = captures.id) FROM captures ORDER BY id"
			: "SELECT id, label, source, content_hash, kind, host, os_release, "
			  "perf_version, cmdline, tool_version, imported_at, weight_unit, "
			  "start_time, duration, cpus, n_samples, NULL FROM captures ORDER BY id",
		    &s, err);
	*out = NULL;
	if (rc)
		return rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct pfs_store_capture *c;
		PFS_GROW(v, cap, n + 1);
		c = &v[n++];
		c->id = sqlite3_column_int64(s, 0);
		c->label = col_dup(s, 1);
		c->source = col_dup(s, 2);
		c->content_hash = col_dup(s, 3);
		c->kind = col_dup(s, 4);
		c->host = col_dup(s, 5);
		c->os_release = col_dup(s, 6);
		c->perf_version = col_dup(s, 7);
		c->cmdline = col_dup(s, 8);
		c->tool_version = col_dup(s, 9);
		c->imported_at = col_dup(s, 10);
		c->weight_unit = col_dup(s, 11);
		c->start_time = col_real(s, 12);
		c->duration = col_real(s, 13);
		c->cpus = (uint32_t)sqlite3_column_int64(s, 14);
		c->n_samples = (uint64_t)sqlite3_column_int64(s, 15);
		c->lost_samples = sqlite3_column_type(s, 16) == SQLITE_NULL
				      ? UINT64_MAX
				      : (uint64_t)sqlite3_column_int64(s, 16);
	}
	if (rc != SQLITE_DONE) {
		rc = db_err(st, err, "cannot list captures");
		sqlite3_finalize(s);
		pfs_store_captures_free(v, n);
		return rc;
	}
	sqlite3_finalize(s);
	*out = v;
	return (int)n;
}

void pfs_store_captures_free(struct pfs_store_capture *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct pfs_store_capture *c = &v[i];
		free(c->label);
		free(c->source);
		free(c->content_hash);
		free(c->kind);
		free(c->host);
		free(c->os_release);
		free(c->perf_version);
		free(c->cmdline);
		free(c->tool_version);
		free(c->imported_at);
		free(c->weight_unit);
	}
	free(v);
}

int pfs_store_find(struct pfs_store *st, const char *which, int64_t *id, struct pfs_err *err)
{
	struct pfs_store_capture *v;
	int n = pfs_store_captures(st, &v, err), rc = PFS_EUSAGE;
	char list[256] = "";
	size_t used = 0;
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		char num[24];
		snprintf(num, sizeof(num), "%lld", (long long)v[i].id);
		if (which ? !strcmp(which, v[i].label) || !strcmp(which, num) : n == 1) {
			*id = v[i].id;
			rc = 0;
			break;
		}
		if (used < sizeof(list) - 1)
			used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s (%s)",
						 i ? ", " : "", num, v[i].label);
	}
	pfs_store_captures_free(v, (size_t)n);
	if (rc == 0)
		return 0;
	if (n == 0)
		return pfs_err_set(err, PFS_EUSAGE, PFS_NO_OFF, "holds no capture");
	if (!which)
		return pfs_err_set(err, PFS_EUSAGE, PFS_NO_OFF,
				   "holds %d captures, choose one with --capture: %s", n, list);
	return pfs_err_set(err, PFS_EUSAGE, PFS_NO_OFF, "no capture '%s'; it holds: %s", which,
			   list);
}

/* Bases of a capture, as begin_capture recorded them. */
static int capture_bases(struct pfs_store *st, int64_t cap, int64_t b[4], struct pfs_err *err)
{
	sqlite3_stmt *s;
	int rc = prepare(st,
			 "SELECT string_base, frame_base, path_base, event_base FROM captures "
			 "WHERE id = ?",
			 &s, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, cap);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		for (int i = 0; i < 4; i++)
			b[i] = sqlite3_column_int64(s, i);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = pfs_err_set(err, PFS_EUSAGE, PFS_NO_OFF, "no capture %lld", (long long)cap);
	} else {
		rc = db_err(st, err, "cannot read the capture");
	}
	sqlite3_finalize(s);
	return rc;
}

/*
 * How many strings, call paths and events capture cap holds (captures.n_strings, n_paths, its
 * events rows): the ranges a sample row's ids must fall in, which pfs_store_load_profile()
 * checked the rows against. A row beyond them (a tampered file) is refused, never used as an
 * index.
 */
static int capture_counts(struct pfs_store *st, int64_t cap, uint64_t *n_str, uint64_t *n_path,
			  uint64_t *n_ev, struct pfs_err *err)
{
	int64_t v[3];
	int rc;
	if ((rc = query_int(st, "SELECT n_strings FROM captures WHERE id = ?", cap, &v[0], err)) ||
	    (rc = query_int(st, "SELECT n_paths FROM captures WHERE id = ?", cap, &v[1], err)) ||
	    (rc = query_int(st, "SELECT count(*) FROM events WHERE capture = ?", cap, &v[2], err)))
		return rc;
	*n_str = v[0] < 0 ? 0 : (uint64_t)v[0];
	*n_path = v[1] < 0 ? 0 : (uint64_t)v[1];
	*n_ev = v[2] < 0 ? 0 : (uint64_t)v[2];
	return 0;
}

static int bad_sample(int64_t cap, struct pfs_err *err)
{
	return pfs_err_set(err, PFS_EFORMAT, PFS_NO_OFF,
			   "capture %lld: a sample names an event, call path or name the capture "
			   "does not hold (samples rows do not form a profile)",
			   (long long)cap);
}

/* Column i less base, in uint64_t: both come from the file, and may be anything (F11). */
static uint64_t col_less(sqlite3_stmt *s, int i, int64_t base)
{
	return (uint64_t)sqlite3_column_int64(s, i) - (uint64_t)base;
}

/* An id column as the profile's id: 0 for NULL, else value - base, checked to be in range. */
static int local_id(sqlite3_stmt *s, int i, int64_t base, size_t n, uint32_t *out)
{
	uint64_t v;
	if (sqlite3_column_type(s, i) == SQLITE_NULL) {
		*out = 0;
		return 0;
	}
	/* the difference in uint64_t: both come from the file, and may be anything */
	v = col_less(s, i, base);
	if (v < 1 || v > n)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int bad_rows(struct pfs_store *st, int64_t cap, const char *table, struct pfs_err *err)
{
	return pfs_err_set(err, PFS_EFORMAT, PFS_NO_OFF,
			   "capture %lld: %s rows do not form a profile (ids out of order or "
			   "out of range)",
			   (long long)cap, table);
}

int pfs_store_load_profile(struct pfs_store *st, int64_t cap, struct pfs_profile *p,
			   struct pfs_err *err)
{
	sqlite3_stmt *s = NULL;
	int64_t b[4];
	int rc = capture_bases(st, cap, b, err);
	size_t nstr = 0, nfr = 0, npath = 0;
	if (rc)
		return rc;

#define LOAD_QUERY(sql)                                                                            \
	do {                                                                                       \
		if ((rc = prepare(st, sql, &s, err)))                                              \
			return rc;                                                                 \
		sqlite3_bind_int64(s, 1, cap);                                                     \
	} while (0)
#define LOAD_DONE(what)                                                                            \
	do {                                                                                       \
		if (rc != SQLITE_DONE)                                                             \
			rc = rc < 0 ? rc : db_err(st, err, "cannot read " what);                   \
		else                                                                               \
			rc = 0;                                                                    \
		sqlite3_finalize(s);                                                               \
		if (rc)                                                                            \
			return rc;                                                                 \
	} while (0)

	LOAD_QUERY(
	    "SELECT s.id, s.text FROM strings s JOIN captures c ON c.id = ?1 "
	    "WHERE s.id BETWEEN c.string_base + 1 AND c.string_base + c.n_strings ORDER BY s.id");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(s, 1);
		int len = sqlite3_column_bytes(s, 1);
		if (col_less(s, 0, b[0]) != (uint64_t)nstr + 1 ||
		    pfs_profile_str(p, t ? t : "", (size_t)len) != nstr + 1) {
			rc = bad_rows(st, cap, "strings", err);
			break;
		}
		nstr++;
	}
	LOAD_DONE("strings");

	LOAD_QUERY(
	    "SELECT f.id, f.name, f.file, f.line, f.dso, f.kind, f.inlined FROM frames f "
	    "JOIN captures c ON c.id = ?1 "
	    "WHERE f.id BETWEEN c.frame_base + 1 AND c.frame_base + c.n_frames ORDER BY f.id");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct pfs_frame f = {0};
		int kind = sqlite3_column_int(s, 5);
		if (col_less(s, 0, b[1]) != (uint64_t)nfr + 1 ||
		    local_id(s, 1, b[0], nstr, &f.name) || !f.name ||
		    local_id(s, 2, b[0], nstr, &f.file) || local_id(s, 4, b[0], nstr, &f.dso) ||
		    kind < 0 || kind >= PFS_FK_COUNT) {
			rc = bad_rows(st, cap, "frames", err);
			break;
		}
		f.line = (uint32_t)sqlite3_column_int64(s, 3);
		f.kind = (uint8_t)kind;
		f.inlined = sqlite3_column_int(s, 6) != 0;
		if (pfs_profile_frame(p, &f) != nfr + 1) {
			rc = bad_rows(st, cap, "frames", err);
			break;
		}
		nfr++;
	}
	LOAD_DONE("frames");

	LOAD_QUERY("SELECT p.id, p.parent, p.frame FROM paths p JOIN captures c ON c.id = ?1 "
		   "WHERE p.id BETWEEN c.path_base + 1 AND c.path_base + c.n_paths ORDER BY p.id");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		uint32_t parent, frame;
		if (col_less(s, 0, b[2]) != (uint64_t)npath + 1 ||
		    local_id(s, 1, b[2], npath, &parent) || local_id(s, 2, b[1], nfr, &frame) ||
		    !frame || pfs_profile_path(p, parent, frame) != npath + 1) {
			rc = bad_rows(st, cap, "paths", err);
			break;
		}
		npath++;
	}
	LOAD_DONE("call paths");

	LOAD_QUERY("SELECT id, name, sampling, samples FROM events WHERE capture = ? ORDER BY id");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		size_t n = pfs_profile_n_events(p);
		const char *name = (const char *)sqlite3_column_text(s, 1);
		if (col_less(s, 0, b[3]) != (uint64_t)n + 1) {
			rc = bad_rows(st, cap, "events", err);
			break;
		}
		int sampling = sqlite3_column_int(s, 2);
		uint32_t i = pfs_profile_add_event(p, name ? name : "", sampling != 0);
		pfs_profile_event(p, i)->samples = (uint64_t)sqlite3_column_int64(s, 3);
		pfs_profile_event(p, i)->clock = sampling == 2	 ? PFS_CLOCK_NS
						 : sampling == 3 ? PFS_CLOCK_CYCLES
								 : PFS_CLOCK_NONE;
	}
	LOAD_DONE("events");

	LOAD_QUERY("SELECT pid, ppid, comm, cmdline, start, end FROM processes WHERE capture = ? "
		   "ORDER BY id");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct pfs_process *q =
		    pfs_profile_process(p, (uint32_t)sqlite3_column_int64(s, 0));
		const char *comm = (const char *)sqlite3_column_text(s, 2);
		const char *cmdline = (const char *)sqlite3_column_text(s, 3);
		q->ppid = (uint32_t)sqlite3_column_int64(s, 1);
		q->comm = comm ? pfs_profile_cstr(p, comm) : 0;
		q->cmdline = cmdline ? pfs_profile_cstr(p, cmdline) : 0;
		q->start = (uint64_t)sqlite3_column_int64(s, 4);
		q->end = (uint64_t)sqlite3_column_int64(s, 5);
	}
	LOAD_DONE("processes");

	LOAD_QUERY("SELECT pid, tid, comm, start, end, samples FROM threads WHERE capture = ? "
		   "ORDER BY id");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct pfs_thread *t = pfs_profile_thread(p, (uint32_t)sqlite3_column_int64(s, 0),
							  (uint32_t)sqlite3_column_int64(s, 1));
		const char *comm = (const char *)sqlite3_column_text(s, 2);
		t->comm = comm ? pfs_profile_cstr(p, comm) : 0;
		t->start = (uint64_t)sqlite3_column_int64(s, 3);
		t->end = (uint64_t)sqlite3_column_int64(s, 4);
		t->samples = (uint64_t)sqlite3_column_int64(s, 5);
	}
	LOAD_DONE("threads");
#undef LOAD_QUERY
#undef LOAD_DONE
	return 0;
}

static uint64_t col_u64(sqlite3_stmt *s, int col)
{
	return (uint64_t)sqlite3_column_int64(s, col);
}

int64_t pfs_store_fill_agg(struct pfs_store *st, int64_t cap, struct pfs_agg *agg,
			   struct pfs_err *err)
{
	sqlite3_stmt *s;
	int64_t b[4], total = 0;
	uint64_t n_str, n_path, n_ev;
	int rc = capture_bases(st, cap, b, err);
	if (rc || (rc = capture_counts(st, cap, &n_str, &n_path, &n_ev, err)))
		return rc;
	/* The rowid range keeps this a range scan of one capture's samples, no index needed. */
	if ((rc = prepare(st,
			  "SELECT s.event, t.pid, t.tid, s.path, count(*), sum(s.period), "
			  "sum(s.weight), s.comm, min(nullif(s.time, 0)), max(s.time) "
			  "FROM captures c JOIN samples s ON s.id BETWEEN "
			  "c.sample_first AND c.sample_last JOIN threads t ON t.id = s.thread "
			  "WHERE c.id = ? GROUP BY s.event, s.thread, s.comm, s.path",
			  &s, err)))
		return rc;
	sqlite3_bind_int64(s, 1, cap);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct pfs_agg_cell c = {0};
		c.event = (uint32_t)(col_less(s, 0, b[3]) - 1);
		c.pid = (uint32_t)sqlite3_column_int64(s, 1);
		c.tid = (uint32_t)sqlite3_column_int64(s, 2);
		c.path =
		    sqlite3_column_type(s, 3) == SQLITE_NULL ? 0 : (uint32_t)col_less(s, 3, b[2]);
		c.count = (uint64_t)sqlite3_column_int64(s, 4);
		c.period = (uint64_t)sqlite3_column_int64(s, 5);
		c.weight = sqlite3_column_double(s, 6);
		c.comm =
		    sqlite3_column_type(s, 7) == SQLITE_NULL ? 0 : (uint32_t)col_less(s, 7, b[0]);
		if (col_less(s, 0, b[3]) - 1 >= n_ev ||
		    (sqlite3_column_type(s, 3) != SQLITE_NULL && col_less(s, 3, b[2]) > n_path) ||
		    (sqlite3_column_type(s, 7) != SQLITE_NULL && col_less(s, 7, b[0]) > n_str)) {
			sqlite3_finalize(s);
			return bad_sample(cap, err);
		}
		pfs_agg_put(agg, &c);
		pfs_agg_widen(agg, col_u64(s, 8), col_u64(s, 9));
		total += (int64_t)c.count;
	}
	if (rc != SQLITE_DONE)
		total = db_err(st, err, "cannot read samples");
	sqlite3_finalize(s);
	return total;
}

struct thread_ids {
	int64_t *id; /* ascending */
	uint32_t *pid, *tid;
	size_t n;
};

static void thread_ids_release(struct thread_ids *t)
{
	free(t->id);
	free(t->pid);
	free(t->tid);
}

/* The (pid, tid) of every thread row of capture cap, by row id. */
static int thread_ids_load(struct pfs_store *st, int64_t cap, struct thread_ids *t,
			   struct pfs_err *err)
{
	sqlite3_stmt *s;
	size_t cap_n = 0;
	int rc =
	    prepare(st, "SELECT id, pid, tid FROM threads WHERE capture = ? ORDER BY id", &s, err);
	memset(t, 0, sizeof(*t));
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, cap);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (t->n == cap_n) {
			cap_n = cap_n ? cap_n * 2 : 256;
			t->id = pfs_xreallocarray(t->id, cap_n, sizeof(*t->id));
			t->pid = pfs_xreallocarray(t->pid, cap_n, sizeof(*t->pid));
			t->tid = pfs_xreallocarray(t->tid, cap_n, sizeof(*t->tid));
		}
		t->id[t->n] = sqlite3_column_int64(s, 0);
		t->pid[t->n] = (uint32_t)sqlite3_column_int64(s, 1);
		t->tid[t->n++] = (uint32_t)sqlite3_column_int64(s, 2);
	}
	rc = rc == SQLITE_DONE ? 0 : db_err(st, err, "cannot read threads");
	sqlite3_finalize(s);
	return rc;
}

/* The index of thread row id, or -1: a capture's rows are numbered in one run, so first try
 * where a run would put it. */
static ptrdiff_t thread_ids_find(const struct thread_ids *t, int64_t id)
{
	size_t lo = 0, hi = t->n;
	if (!t->n)
		return -1;
	if (id >= t->id[0] && (uint64_t)(id - t->id[0]) < t->n && t->id[id - t->id[0]] == id)
		return (ptrdiff_t)(id - t->id[0]);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->id[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->n && t->id[lo] == id ? (ptrdiff_t)lo : -1;
}

/*
 * The rows are read by rowid range alone and their threads looked up here: joining the
 * threads table in SQL costs a B-tree seek per row, a third of the scan of a big capture.
 */
int64_t pfs_store_scan_samples(struct pfs_store *st, int64_t cap, pfs_sample_cb cb, void *payload,
			       struct pfs_err *err)
{
	sqlite3_stmt *s;
	struct thread_ids th;
	int64_t b[4], n = 0, first = 0, last = -1;
	uint64_t n_str, n_path, n_ev;
	int rc = capture_bases(st, cap, b, err);
	if (rc || (rc = capture_counts(st, cap, &n_str, &n_path, &n_ev, err)))
		return rc;
	if ((rc = prepare(
		 st,
		 "SELECT coalesce(sample_first, 0), coalesce(sample_last, -1) FROM captures "
		 "WHERE id = ?",
		 &s, err)))
		return rc;
	sqlite3_bind_int64(s, 1, cap);
	if (sqlite3_step(s) == SQLITE_ROW) {
		first = sqlite3_column_int64(s, 0);
		last = sqlite3_column_int64(s, 1);
	}
	sqlite3_finalize(s);
	if ((rc = thread_ids_load(st, cap, &th, err)))
		return rc;
	if ((rc = prepare(st,
			  "SELECT event, thread, cpu, time, path, period, weight FROM samples "
			  "WHERE id BETWEEN ? AND ? ORDER BY id",
			  &s, err))) {
		thread_ids_release(&th);
		return rc;
	}
	sqlite3_bind_int64(s, 1, first);
	sqlite3_bind_int64(s, 2, last);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t thread = sqlite3_column_int64(s, 1);
		ptrdiff_t ti = thread_ids_find(&th, thread);
		if (ti < 0) {
			/* the JOIN this replaces would have dropped the row: say so instead */
			thread_ids_release(&th);
			sqlite3_finalize(s);
			return pfs_err_set(err, PFS_EFORMAT, PFS_NO_OFF,
					   "sample of capture %lld names thread row %lld, which "
					   "is not the capture's",
					   (long long)cap, (long long)thread);
		}
		struct pfs_sample_row r = {
		    .event = (uint32_t)(col_less(s, 0, b[3]) - 1),
		    .pid = th.pid[ti],
		    .tid = th.tid[ti],
		    .cpu = sqlite3_column_type(s, 2) == SQLITE_NULL
			       ? UINT32_MAX
			       : (uint32_t)sqlite3_column_int64(s, 2),
		    .time = col_u64(s, 3),
		    .path = sqlite3_column_type(s, 4) == SQLITE_NULL
				? 0
				: (uint32_t)col_less(s, 4, b[2]),
		    .period = col_u64(s, 5),
		    .weight = sqlite3_column_double(s, 6),
		};
		if (col_less(s, 0, b[3]) - 1 >= n_ev ||
		    (sqlite3_column_type(s, 4) != SQLITE_NULL && col_less(s, 4, b[2]) > n_path)) {
			thread_ids_release(&th);
			sqlite3_finalize(s);
			return bad_sample(cap, err);
		}
		if ((rc = cb(payload, &r)) < 0) {
			thread_ids_release(&th);
			sqlite3_finalize(s);
			return rc;
		}
		n++;
	}
	if (rc != SQLITE_DONE)
		n = db_err(st, err, "cannot read samples");
	thread_ids_release(&th);
	sqlite3_finalize(s);
	return n;
}

int pfs_store_put_trend(struct pfs_store *st, const struct pfs_store_trend *rows, size_t n,
			struct pfs_err *err)
{
	sqlite3_stmt *s;
	int rc;
	if ((rc = need_capture(st, err)))
		return rc;
	if ((rc = prepare(st,
			  "INSERT INTO trend SELECT id, content_hash, ?2, ?3, ?4, ?5 FROM captures "
			  "WHERE id = ?1",
			  &s, err)))
		return rc;
	for (size_t i = 0; i < n && !rc; i++) {
		sqlite3_bind_int64(s, 1, st->cap);
		sqlite3_bind_text(s, 2, rows[i].kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, rows[i].name, -1, SQLITE_STATIC);
		if (isnan(rows[i].value))
			sqlite3_bind_null(s, 4);
		else
			sqlite3_bind_double(s, 4, rows[i].value);
		if (isnan(rows[i].total))
			sqlite3_bind_null(s, 5);
		else
			sqlite3_bind_double(s, 5, rows[i].total);
		rc = step_done(st, s, "cannot write the trend figures", err);
		sqlite3_reset(s);
	}
	sqlite3_finalize(s);
	return rc;
}

int pfs_store_trend(struct pfs_store *st, const char *labels, size_t top,
		    struct pfs_store_trend **out, struct pfs_err *err)
{
	sqlite3_stmt *s;
	struct pfs_store_trend *v = NULL;
	size_t n = 0, cap = 0;
	int64_t have;
	int rc;
	*out = NULL;
	if ((rc = query_int(st,
			    "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND "
			    "name = 'trend'",
			    0, &have, err)))
		return rc;
	if (!have)
		return 0;
	/* the rows of the captures that still hold their ids (see optional_sql); of the
	 * functions, only the top ones by summed self share, chosen here: a thousand captures
	 * keep two hundred thousand function rows, which the caller need not see */
	if ((rc = prepare(
		 st,
		 "SELECT t.capture, t.kind, t.name, t.value, t.total FROM trend t "
		 "JOIN captures c ON c.id = t.capture AND c.content_hash = t.content_hash "
		 "WHERE (?1 IS NULL OR c.label GLOB ?1) AND (t.kind = 'figure' OR t.name IN "
		 "(SELECT u.name FROM trend u JOIN captures d ON d.id = u.capture AND "
		 "d.content_hash = u.content_hash WHERE u.kind = 'function' AND "
		 "(?1 IS NULL OR d.label GLOB ?1) GROUP BY u.name "
		 "ORDER BY sum(u.value) DESC, u.name LIMIT ?2)) ORDER BY t.capture",
		 &s, err)))
		return rc;
	if (labels)
		sqlite3_bind_text(s, 1, labels, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (int64_t)top);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		PFS_GROW(v, cap, n + 1);
		v[n].capture = sqlite3_column_int64(s, 0);
		v[n].kind = col_dup(s, 1);
		v[n].name = col_dup(s, 2);
		v[n].value = col_real(s, 3);
		v[n].total = col_real(s, 4);
		n++;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		pfs_store_trend_free(v, n);
		return db_err(st, err, "cannot read the trend figures");
	}
	*out = v;
	return (int)n;
}

void pfs_store_trend_free(struct pfs_store_trend *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((char *)v[i].kind);
		free((char *)v[i].name);
	}
	free(v);
}

int pfs_store_get_report(struct pfs_store *st, int64_t cap, char **json, size_t *len,
			 struct pfs_err *err)
{
	sqlite3_stmt *s;
	int64_t have;
	int rc;
	*json = NULL;
	*len = 0;
	if ((rc = query_int(st,
			    "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND "
			    "name = 'report_data'",
			    0, &have, err)))
		return rc;
	if (!have)
		return 0;
	if ((rc = prepare(st,
			  "SELECT r.data FROM report_data r JOIN captures c ON c.id = r.capture "
			  "WHERE r.capture = ?1 AND r.format = ?2 AND "
			  "r.content_hash = c.content_hash AND r.imported_at = c.imported_at",
			  &s, err)))
		return rc;
	sqlite3_bind_int64(s, 1, cap);
	sqlite3_bind_text(s, 2, REPORT_FORMAT, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		char what[64];
		snprintf(what, sizeof(what), "report_data of capture %lld", (long long)cap);
		rc = pfs_zst_decompress(sqlite3_column_blob(s, 0),
					(size_t)sqlite3_column_bytes(s, 0), REPORT_MAX, what, json,
					len, err);
	} else if (rc == SQLITE_DONE) {
		rc = 0;
	} else {
		rc = db_err(st, err, "cannot read the report data");
	}
	sqlite3_finalize(s);
	return rc;
}

/* A stored path or event id back to the profile's own; false when it is not the capture's. */
static bool an_id(sqlite3_stmt *s, int col, int64_t base, size_t n, uint32_t *out)
{
	uint64_t v;
	if (sqlite3_column_type(s, col) == SQLITE_NULL) {
		*out = 0;
		return true;
	}
	/* the difference in uint64_t: both come from the file, and may be anything */
	v = col_less(s, col, base);
	if (v < 1 || v > n)
		return false;
	*out = (uint32_t)v;
	return true;
}

static enum pfs_severity severity_of(const char *name)
{
	for (int v = PFS_NOTE; v <= PFS_UNSUPP; v++)
		if (name && !strcmp(name, pfs_severity_name((enum pfs_severity)v)))
			return (enum pfs_severity)v;
	return PFS_WARN;
}

static int an_header(struct pfs_store *st, int64_t cap, struct pfs_analysis **out,
		     struct pfs_profile *prof, struct pfs_err *err)
{
	sqlite3_stmt *s;
	struct pfs_an_header h = {0};
	int rc = prepare(st,
			 "SELECT py_major, py_minor, free_threaded, python_known, switch_waits, "
			 "gil_probes, gc_probes, cpu_clock, lost_samples, first_time, last_time, "
			 "command FROM py_analysis WHERE capture = ?",
			 &s, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, cap);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		h.have_python = sqlite3_column_type(s, 0) != SQLITE_NULL;
		h.python.major = sqlite3_column_int(s, 0);
		h.python.minor = sqlite3_column_int(s, 1);
		h.python.free_threaded = sqlite3_column_int(s, 2);
		h.python.known = sqlite3_column_int(s, 3);
		h.switch_waits = sqlite3_column_int(s, 4) == 1;
		h.gil_probes = sqlite3_column_int(s, 5) == 1;
		h.gc_probes = sqlite3_column_int(s, 6) == 1;
		h.switch_sampled = sqlite3_column_int(s, 4) == 2;
		h.gil_sampled = sqlite3_column_int(s, 5) == 2;
		h.gc_sampled = sqlite3_column_int(s, 6) == 2;
		h.cpu_clock = sqlite3_column_int(s, 7);
		h.lost_samples = col_u64(s, 8);
		h.first_time = col_u64(s, 9);
		h.last_time = col_u64(s, 10);
		h.command = (const char *)sqlite3_column_text(s, 11);
		/* counted by the builds that write py_cut_stacks, a row per thread */
		int64_t have = 0, rows = 0;
		rc = query_int(st,
			       "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND "
			       "name = 'py_cut_stacks'",
			       0, &have, err);
		if (!rc && have)
			rc = query_int(st, "SELECT count(*) FROM py_cut_stacks WHERE capture = ?",
				       cap, &rows, err);
		h.cut_stacks = rows > 0;
		if (!rc)
			*out = pfs_analysis_restore(prof, &h);
	} else if (rc == SQLITE_DONE) {
		rc = 0;
	} else {
		rc = db_err(st, err, "cannot read the analysis");
	}
	sqlite3_finalize(s);
	return rc;
}

static int an_threads(struct pfs_store *st, int64_t cap, struct pfs_analysis *a,
		      struct pfs_err *err)
{
	sqlite3_stmt *s, *c = NULL, *cs = NULL, *tw = NULL;
	int64_t have_tw = 0;
	int rc = prepare(st,
			 "SELECT pid, tid, cpu_samples, gc_samples, gil_samples, cpu_period, "
			 "gil_wait_ns, gil_waits, probe_wait_ns, probe_waits, gc_pauses, "
			 "gc_pause_ns, last_time FROM py_threads WHERE capture = ?1 ORDER BY rowid",
			 &s, err);
	if (rc || (rc = prepare(st,
				"SELECT category, samples FROM py_categories WHERE capture = ?1 "
				"AND pid = ?2 AND tid = ?3",
				&c, err)))
		goto out;
	if (pfs_analysis_has_cut_stacks(a) &&
	    (rc = prepare(st,
			  "SELECT samples FROM py_cut_stacks WHERE capture = ?1 AND pid = ?2 AND "
			  "tid = ?3",
			  &cs, err)))
		goto out;
	if ((rc = query_int(st,
			    "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND "
			    "name = 'py_thread_waits'",
			    0, &have_tw, err)))
		goto out;
	if (have_tw && (rc = prepare(st,
				     "SELECT waits_upper_bound, runnable_ns, runnable_waits FROM "
				     "py_thread_waits WHERE capture = ?1 AND pid = ?2 AND tid = ?3",
				     &tw, err)))
		goto out;
	sqlite3_bind_int64(s, 1, cap);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct pfs_an_thread t = {0};
		t.pid = (uint32_t)sqlite3_column_int64(s, 0);
		t.tid = (uint32_t)sqlite3_column_int64(s, 1);
		t.cpu_samples = col_u64(s, 2);
		t.gc_samples = col_u64(s, 3);
		t.gil_samples = col_u64(s, 4);
		t.cpu_period = col_u64(s, 5);
		t.gil_wait_ns = col_u64(s, 6);
		t.gil_waits = col_u64(s, 7);
		t.probe_wait_ns = col_u64(s, 8);
		t.probe_waits = col_u64(s, 9);
		t.gc_pauses = col_u64(s, 10);
		t.gc_pause_ns = col_u64(s, 11);
		t.last_time = col_u64(s, 12);
		sqlite3_bind_int64(c, 1, cap);
		sqlite3_bind_int64(c, 2, t.pid);
		sqlite3_bind_int64(c, 3, t.tid);
		while ((rc = sqlite3_step(c)) == SQLITE_ROW) {
			const char *name = (const char *)sqlite3_column_text(c, 0);
			for (int k = 0; k < PFS_CAT_COUNT; k++)
				if (name && !strcmp(name, pfs_pycat_name(k)))
					t.cat[k] = col_u64(c, 1);
		}
		sqlite3_reset(c);
		if (rc != SQLITE_DONE)
			break;
		if (cs) {
			sqlite3_bind_int64(cs, 1, cap);
			sqlite3_bind_int64(cs, 2, t.pid);
			sqlite3_bind_int64(cs, 3, t.tid);
			while ((rc = sqlite3_step(cs)) == SQLITE_ROW)
				t.cut_stacks = col_u64(cs, 0);
			sqlite3_reset(cs);
			if (rc != SQLITE_DONE)
				break;
		}
		if (tw) {
			sqlite3_bind_int64(tw, 1, cap);
			sqlite3_bind_int64(tw, 2, t.pid);
			sqlite3_bind_int64(tw, 3, t.tid);
			while ((rc = sqlite3_step(tw)) == SQLITE_ROW) {
				t.gil_waits_bounded = col_u64(tw, 0);
				t.runnable_ns = col_u64(tw, 1);
				t.runnable_waits = col_u64(tw, 2);
			}
			sqlite3_reset(tw);
			if (rc != SQLITE_DONE)
				break;
		}
		pfs_analysis_restore_thread(a, &t);
	}
	rc = rc == SQLITE_DONE ? 0 : db_err(st, err, "cannot read the analysis' threads");
out:
	sqlite3_finalize(s);
	sqlite3_finalize(c);
	sqlite3_finalize(cs);
	sqlite3_finalize(tw);
	return rc;
}

/*
 * Ends one of an_lists' reading loops: rc SQLITE_ROW means the loop stopped at a row naming a
 * call path or event the capture does not have.
 */
static int an_done(struct pfs_store *st, sqlite3_stmt *s, int rc, const char *table,
		   const char *what, int64_t cap, struct pfs_err *err)
{
	sqlite3_finalize(s);
	if (rc == SQLITE_ROW)
		return pfs_err_set(err, PFS_EFORMAT, PFS_NO_OFF,
				   "%s of capture %lld names a call path or event the capture does "
				   "not have (a database edited by hand?)",
				   table, (long long)cap);
	return rc == SQLITE_DONE ? 0 : db_err(st, err, what);
}

static int an_lists(struct pfs_store *st, int64_t cap, struct pfs_analysis *a,
		    const struct pfs_profile *prof, const int64_t b[4], struct pfs_err *err)
{
	size_t np = pfs_profile_n_paths(prof), ne = pfs_profile_n_events(prof);
	sqlite3_stmt *s;
	int64_t have;
	int rc = query_int(st,
			   "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND "
			   "name = 'gc_pause_generations'",
			   0, &have, err);
	if (rc)
		return rc;
	rc = prepare(
	    st,
	    have ? "SELECT p.pid, p.tid, p.start, p.duration_ns, p.path, (SELECT generation "
		   "FROM gc_pause_generations g WHERE g.capture = p.capture AND "
		   "g.tid = p.tid AND g.start = p.start) FROM gc_pauses p "
		   "WHERE p.capture = ? ORDER BY p.rowid"
		 : "SELECT pid, tid, start, duration_ns, path, NULL FROM gc_pauses "
		   "WHERE capture = ? ORDER BY rowid",
	    &s, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, cap);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct pfs_an_pause p = {.pid = (uint32_t)sqlite3_column_int64(s, 0),
					 .tid = (uint32_t)sqlite3_column_int64(s, 1),
					 .start = col_u64(s, 2),
					 .dur = col_u64(s, 3),
					 .gen = sqlite3_column_type(s, 5) == SQLITE_NULL
						    ? -1
						    : (int8_t)sqlite3_column_int64(s, 5)};
		if (!an_id(s, 4, b[2], np, &p.pypath))
			break;
		pfs_analysis_restore_pause(a, &p);
	}
	if ((rc = an_done(st, s, rc, "gc_pauses", "cannot read the GC pauses", cap, err)))
		return rc;
	if ((rc = prepare(st,
			  "SELECT pid, path, wait_ns, waits FROM gil_wait_stacks WHERE capture = ? "
			  "ORDER BY rowid",
			  &s, err)))
		return rc;
	sqlite3_bind_int64(s, 1, cap);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct pfs_an_stackwait w = {.pid = (uint32_t)sqlite3_column_int64(s, 0),
					     .ns = col_u64(s, 2),
					     .n = col_u64(s, 3)};
		if (!an_id(s, 1, b[2], np, &w.pypath))
			break;
		pfs_analysis_restore_stackwait(a, &w);
	}
	if ((rc = an_done(st, s, rc, "gil_wait_stacks", "cannot read the GIL wait stacks", cap,
			  err)))
		return rc;
	if ((rc = query_int(st,
			    "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND "
			    "name = 'gc_triggers'",
			    0, &have, err)))
		return rc;
	if (have && (rc = prepare(st,
				  "SELECT pid, path, pauses, pause_ns, samples FROM gc_triggers "
				  "WHERE capture = ? ORDER BY rowid",
				  &s, err)))
		return rc;
	if (have) {
		sqlite3_bind_int64(s, 1, cap);
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			struct pfs_an_gctrigger g = {.pid = (uint32_t)sqlite3_column_int64(s, 0),
						     .pauses = col_u64(s, 2),
						     .pause_ns = col_u64(s, 3),
						     .samples = col_u64(s, 4)};
			if (!an_id(s, 1, b[2], np, &g.pypath))
				break;
			pfs_analysis_restore_gctrigger(a, &g);
		}
		if ((rc = an_done(st, s, rc, "gc_triggers", "cannot read the GC triggers", cap,
				  err)))
			return rc;
	}
	if ((rc = query_int(st,
			    "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND "
			    "name = 'gil_waits'",
			    0, &have, err)))
		return rc;
	if (have && (rc = prepare(st,
				  "SELECT pid, tid, start, duration_ns, path, probe FROM gil_waits "
				  "WHERE capture = ? ORDER BY rowid",
				  &s, err)))
		return rc;
	if (have) {
		sqlite3_bind_int64(s, 1, cap);
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			struct pfs_an_wait w = {.pid = (uint32_t)sqlite3_column_int64(s, 0),
						.tid = (uint32_t)sqlite3_column_int64(s, 1),
						.start = col_u64(s, 2),
						.dur = col_u64(s, 3),
						.probe = sqlite3_column_int(s, 5) != 0};
			if (!an_id(s, 4, b[2], np, &w.pypath))
				break;
			pfs_analysis_restore_wait(a, &w);
		}
		if ((rc = an_done(st, s, rc, "gil_waits", "cannot read the GIL waits", cap, err)))
			return rc;
	}
	if ((rc = prepare(st, "SELECT event, samples FROM py_events WHERE capture = ?", &s, err)))
		return rc;
	sqlite3_bind_int64(s, 1, cap);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		uint32_t ev;
		if (sqlite3_column_type(s, 0) == SQLITE_NULL || !an_id(s, 0, b[3], ne, &ev))
			break;
		pfs_analysis_restore_events(a, ev - 1, col_u64(s, 1));
	}
	if ((rc = an_done(st, s, rc, "py_events", "cannot read the analysis' events", cap, err)))
		return rc;
	if ((rc = prepare(st,
			  "SELECT code, severity, count, message FROM py_notes WHERE capture = ? "
			  "ORDER BY rowid",
			  &s, err)))
		return rc;
	sqlite3_bind_int64(s, 1, cap);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		pfs_analysis_restore_note(a, (const char *)sqlite3_column_text(s, 0),
					  severity_of((const char *)sqlite3_column_text(s, 1)),
					  col_u64(s, 2), (const char *)sqlite3_column_text(s, 3));
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : db_err(st, err, "cannot read the analysis' notes");
}

/* The handler rows of a capture imported by a build that writes them; none is no table. */
static int an_handlers(struct pfs_store *st, int64_t cap, struct pfs_analysis *a,
		       struct pfs_err *err)
{
	sqlite3_stmt *s;
	int64_t have = 0;
	int rc = query_int(st,
			   "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND "
			   "name IN ('py_handlers', 'py_handler_totals')",
			   0, &have, err);
	if (rc || have != 2)
		return rc;
	if ((rc = prepare(st,
			  "SELECT frameworks, cpu_samples, outside_samples, outside_cut_samples "
			  "FROM py_handler_totals WHERE capture = ?",
			  &s, err)))
		return rc;
	sqlite3_bind_int64(s, 1, cap);
	if ((rc = sqlite3_step(s)) != SQLITE_ROW) {
		sqlite3_finalize(s);
		return rc == SQLITE_DONE ? 0 : db_err(st, err, "cannot read the handler totals");
	}
	struct pfs_handlers *h = pfs_analysis_restore_handlers(a);
	struct pfs_handlers_rest r = {
	    .cpu_total = col_u64(s, 1), .cpu_samples = col_u64(s, 2), .cut_samples = col_u64(s, 3)};
	pfs_handlers_restore_rest(h, &r, (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	if ((rc = prepare(
		 st,
		 "SELECT name, framework, kind, cpu_samples, cpu_period, gc_samples, "
		 "gc_pauses, gc_pause_ns, gil_waits, gil_wait_ns, probe_waits, probe_wait_ns "
		 "FROM py_handlers WHERE capture = ? ORDER BY rowid",
		 &s, err)))
		return rc;
	sqlite3_bind_int64(s, 1, cap);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int kind = pfs_handler_kind_parse((const char *)sqlite3_column_text(s, 2));
		struct pfs_handler_row w = {.name = (char *)sqlite3_column_text(s, 0),
					    .framework = (const char *)sqlite3_column_text(s, 1),
					    .kind = kind < 0 ? PFS_HANDLER_KIND_COUNT
							     : (enum pfs_handler_kind)kind,
					    .cpu_samples = col_u64(s, 3),
					    .cpu_period = col_u64(s, 4),
					    .gc_samples = col_u64(s, 5),
					    .gc_pauses = col_u64(s, 6),
					    .gc_pause_ns = col_u64(s, 7),
					    .gil_waits = col_u64(s, 8),
					    .gil_wait_ns = col_u64(s, 9),
					    .probe_waits = col_u64(s, 10),
					    .probe_wait_ns = col_u64(s, 11)};
		if (!pfs_handlers_restore_row(h, &w)) {
			sqlite3_finalize(s);
			return pfs_err_set(
			    err, PFS_EFORMAT, PFS_NO_OFF,
			    "py_handlers of capture %lld has a row with no name or an "
			    "unknown framework or kind (a database edited by hand?)",
			    (long long)cap);
		}
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : db_err(st, err, "cannot read the request handlers");
}

/* The budgets put_an_budgets wrote; none (an older import): the offcpu stays "not known". */
static int an_budgets(struct pfs_store *st, int64_t cap, struct pfs_analysis *a,
		      const struct pfs_profile *prof, const int64_t b[4], struct pfs_err *err)
{
	struct pfs_offcpu *o = pfs_analysis_restore_offcpu(a);
	size_t np = pfs_profile_n_paths(prof), npat;
	const struct pfs_off_pattern *pats = pfs_verdicts_patterns(&npat);
	struct pfs_off_info oi = {.known = true};
	sqlite3_stmt *s;
	int64_t have;
	int rc = query_int(st,
			   "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND "
			   "name = 'py_budget_info'",
			   0, &have, err);
	if (rc || !have)
		return rc;
	if ((rc = prepare(st,
			  "SELECT switches, switch_ins, wakeups, first_time, last_time, cpus FROM "
			  "py_budget_info WHERE capture = ?",
			  &s, err)))
		return rc;
	sqlite3_bind_int64(s, 1, cap);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		oi.switches = sqlite3_column_int(s, 0) != 0;
		oi.switch_ins = sqlite3_column_int(s, 1) != 0;
		oi.wakeups = sqlite3_column_int(s, 2) != 0;
		oi.first = col_u64(s, 3);
		oi.last = col_u64(s, 4);
		oi.nr_cpus = (uint32_t)sqlite3_column_int64(s, 5);
	}
	sqlite3_finalize(s);
	if (rc == SQLITE_DONE)
		return 0; /* imported without budgets */
	if (rc != SQLITE_ROW)
		return db_err(st, err, "cannot read the budget info");
	pfs_offcpu_restore_info(o, &oi);
	if ((rc = prepare(st,
			  "SELECT pid, tid, life_ns, on_ns, gil_ns, io_ns, idle_ns, lock_ns, "
			  "runnable_ns, gil_wake_ns, io_wake_ns, idle_wake_ns, lock_wake_ns, offs, "
			  "wakeups, upper_bound_ns, unrec_start_ns, unrec_loss_ns, unrec_end_ns, "
			  "unrec_why_ns FROM py_budgets WHERE capture = ? ORDER BY rowid",
			  &s, err)))
		return rc;
	sqlite3_bind_int64(s, 1, cap);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct pfs_off_budget x = {.pid = (uint32_t)sqlite3_column_int64(s, 0),
					   .tid = (uint32_t)sqlite3_column_int64(s, 1),
					   .life_ns = col_u64(s, 2),
					   .on_ns = col_u64(s, 3),
					   .offs = col_u64(s, 13),
					   .wakeups = col_u64(s, 14),
					   .bounded_ns = col_u64(s, 15),
					   .unrec_start_ns = col_u64(s, 16),
					   .unrec_loss_ns = col_u64(s, 17),
					   .unrec_end_ns = col_u64(s, 18),
					   .unrec_why_ns = col_u64(s, 19)};
		for (int k = 0; k < PFS_OFF_PARTS; k++)
			x.part_ns[k] = col_u64(s, 4 + k);
		for (int k = 0; k < PFS_OFF_RUNNABLE; k++)
			x.wake_ns[k] = col_u64(s, 9 + k);
		pfs_offcpu_restore_budget(o, &x);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return db_err(st, err, "cannot read the time budgets");
	if ((rc = prepare(st,
			  "SELECT pid, part, path, ns, n FROM py_offcpu_stacks WHERE capture = ? "
			  "ORDER BY rowid",
			  &s, err)))
		return rc;
	sqlite3_bind_int64(s, 1, cap);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *part = (const char *)sqlite3_column_text(s, 1);
		int pk = part ? pfs_off_part_parse(part) : -1;
		struct pfs_off_stack k = {.pid = (uint32_t)sqlite3_column_int64(s, 0),
					  .part = (uint8_t)(pk < 0 ? 0 : pk),
					  .ns = col_u64(s, 3),
					  .n = col_u64(s, 4)};
		if (pk < 0 || !an_id(s, 2, b[2], np, &k.pypath))
			break;
		pfs_offcpu_restore_stack(o, &k);
	}
	if ((rc = an_done(st, s, rc, "py_offcpu_stacks", "cannot read the off-CPU stacks", cap,
			  err)))
		return rc;
	if ((rc = prepare(st,
			  "SELECT pid, worker_class, cpu_samples FROM py_process_marks WHERE "
			  "capture = ? ORDER BY rowid",
			  &s, err)))
		return rc;
	sqlite3_bind_int64(s, 1, cap);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct pfs_off_proc pr = {.pid = (uint32_t)sqlite3_column_int64(s, 0),
					  .cpu_samples = col_u64(s, 2)};
		const char *cls = (const char *)sqlite3_column_text(s, 1);
		char name[32];
		/* "sync,gthread": every name this build knows */
		while (cls && *cls) {
			size_t l = strcspn(cls, ",");
			int bit;
			snprintf(name, sizeof(name), "%.*s", (int)(l < 31 ? l : 31), cls);
			if ((bit = pfs_off_worker_parse(name)) > 0)
				pr.worker |= (uint32_t)bit;
			cls += l + (cls[l] == ',');
		}
		pfs_offcpu_restore_proc(o, &pr);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return db_err(st, err, "cannot read the process marks");
	if ((rc = prepare(st,
			  "SELECT pid, pattern, file, samples FROM py_slow_paths WHERE capture = ? "
			  "ORDER BY rowid",
			  &s, err)))
		return rc;
	sqlite3_bind_int64(s, 1, cap);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(s, 1);
		const char *file = (const char *)sqlite3_column_text(s, 2);
		const struct pfs_off_proc *cur =
		    pfs_offcpu_proc(o, (uint32_t)sqlite3_column_int64(s, 0));
		struct pfs_off_proc pr;
		if (!cur || !id || !file)
			continue;
		pr = *cur;
		/* a pattern this build does not know is dropped: its verdict cannot be worded */
		for (size_t k = 0; k < npat; k++)
			if (!strcmp(pats[k].id, id) && !strcmp(pats[k].file, file))
				pr.pat[k] = col_u64(s, 3);
		pfs_offcpu_restore_proc(o, &pr);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : db_err(st, err, "cannot read the slow paths");
}

int pfs_store_load_analysis(struct pfs_store *st, int64_t capture_id, struct pfs_profile *prof,
			    const char *label, const char *source, struct pfs_analysis **out,
			    struct pfs_err *err)
{
	struct pfs_analysis *a = NULL;
	int64_t b[4];
	int rc;
	*out = NULL;
	if (st->version < 2)
		return 0;
	if ((rc = capture_bases(st, capture_id, b, err)) ||
	    (rc = an_header(st, capture_id, &a, prof, err)) || !a)
		return rc;
	if ((rc = an_threads(st, capture_id, a, err)) ||
	    (rc = an_lists(st, capture_id, a, prof, b, err)) ||
	    (rc = an_handlers(st, capture_id, a, err)) ||
	    (rc = an_budgets(st, capture_id, a, prof, b, err))) {
		pfs_analysis_free(a);
		return rc;
	}
	struct pfs_an_capture cap = {.label = label, .source = source};
	pfs_analysis_restore_finish(a, &cap);
	*out = a;
	return 0;
}

/*
 * Call graphs (version 3). Functions and edges get their rowids in the graph's order, so the
 * graph read back has the same function and edge indexes; frames are the capture's, written
 * with the profile at the end of the capture.
 */
static void bind_count(sqlite3_stmt *s, int i, uint64_t v)
{
	bind_u64_or_null(s, i, v, PFS_CG_UNKNOWN);
}

static int put_cg_costs(struct pfs_store *st, sqlite3_stmt *s, const struct pfs_callgraph *g,
			const int64_t *ev_ids, bool edge, uint32_t i, int64_t row,
			struct pfs_err *err)
{
	int rc = 0;
	for (uint32_t k = 0; k < pfs_cg_n_events(g) && !rc; k++) {
		sqlite3_bind_int64(s, 1, st->cap);
		sqlite3_bind_int64(s, 2, ev_ids[k]);
		if (edge) {
			sqlite3_bind_null(s, 3);
			sqlite3_bind_int64(s, 4, row);
		} else {
			sqlite3_bind_int64(s, 3, row);
			sqlite3_bind_null(s, 4);
		}
		bind_real_or_null(s, 5, edge ? pfs_cg_edge_self(g, i, k) : pfs_cg_self(g, i, k));
		bind_real_or_null(s, 6, edge ? pfs_cg_edge_incl(g, i, k) : pfs_cg_incl(g, i, k));
		rc = step_done(st, s, "cannot write call-graph costs", err);
	}
	return rc;
}

int pfs_store_put_callgraph(struct pfs_store *st, const struct pfs_callgraph *g,
			    struct pfs_err *err)
{
	const struct pfs_cg_info *in = pfs_cg_info(g);
	sqlite3_stmt *s = NULL, *c = NULL;
	uint32_t nev = pfs_cg_n_events(g);
	size_t nf = pfs_cg_n_funcs(g), ne = pfs_cg_n_edges(g);
	int64_t *ev_ids = pfs_xcalloc(nev ? nev : 1, sizeof(*ev_ids));
	int64_t *fn_ids = pfs_xcalloc(nf ? nf : 1, sizeof(*fn_ids));
	int rc;
	if ((rc = need_capture(st, err)) ||
	    (rc = prepare(st, "INSERT INTO cg_info VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", &s, err)))
		goto out;
	sqlite3_bind_int64(s, 1, st->cap);
	sqlite3_bind_text(s, 2, pfs_cg_format_name(pfs_cg_format(g)), -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, (int64_t)in->size);
	bind_u64_or_null(s, 4, (uint64_t)in->marshal_version,
			 pfs_cg_format(g) == PFS_CG_PSTATS ? UINT64_MAX : 0);
	sqlite3_bind_int64(s, 5, (int64_t)in->refs);
	sqlite3_bind_int64(s, 6, (int64_t)in->ref_uses);
	bind_text_or_null(s, 7, in->creator);
	bind_text_or_null(s, 8, in->cmd);
	bind_text_or_null(s, 9, in->positions);
	bind_text_or_null(s, 10, in->version);
	bind_u64_or_null(s, 11, (uint64_t)in->pid, UINT64_MAX);
	sqlite3_bind_int64(s, 12, in->parts);
	if ((rc = step_done(st, s, "cannot write the call graph", err)))
		goto out;
	sqlite3_finalize(s);
	if ((rc = prepare(st, "INSERT INTO cg_events VALUES (NULL,?,?,?,?,?,?)", &s, err)))
		goto out;
	for (uint32_t k = 0; k < nev && !rc; k++) {
		sqlite3_bind_int64(s, 1, st->cap);
		sqlite3_bind_text(s, 2, pfs_cg_event_name(g, k), -1, SQLITE_STATIC);
		bind_text_or_null(s, 3, pfs_cg_event_desc(g, k));
		sqlite3_bind_text(s, 4, pfs_cg_seconds(g) ? "seconds" : "count", -1, SQLITE_STATIC);
		sqlite3_bind_double(s, 5, pfs_cg_total(g, k));
		bind_real_or_null(s, 6, in->summary[k]);
		rc = step_done(st, s, "cannot write call-graph events", err);
		ev_ids[k] = sqlite3_last_insert_rowid(st->db);
	}
	sqlite3_finalize(s);
	s = NULL;
	if (rc || (rc = prepare(st, "INSERT INTO cg_costs VALUES (?,?,?,?,?,?)", &c, err)) ||
	    (rc = prepare(st, "INSERT INTO cg_functions VALUES (NULL,?,?,?,?,?)", &s, err)))
		goto out;
	for (uint32_t f = 0; f < nf && !rc; f++) {
		const struct pfs_cg_func *fn = pfs_cg_func_get(g, f);
		sqlite3_bind_int64(s, 1, st->cap);
		sqlite3_bind_int64(s, 2, st->frame_base + fn->frame);
		sqlite3_bind_int(s, 3, fn->listed);
		bind_count(s, 4, fn->calls);
		bind_count(s, 5, fn->prim_calls);
		if (!(rc = step_done(st, s, "cannot write call-graph functions", err))) {
			fn_ids[f] = sqlite3_last_insert_rowid(st->db);
			rc = put_cg_costs(st, c, g, ev_ids, false, f, fn_ids[f], err);
		}
	}
	sqlite3_finalize(s);
	s = NULL;
	if (rc || (rc = prepare(st, "INSERT INTO cg_edges VALUES (NULL,?,?,?,?,?)", &s, err)))
		goto out;
	for (uint32_t e = 0; e < ne && !rc; e++) {
		const struct pfs_cg_edge *ed = pfs_cg_edge_get(g, e);
		sqlite3_bind_int64(s, 1, st->cap);
		sqlite3_bind_int64(s, 2, fn_ids[ed->caller]);
		sqlite3_bind_int64(s, 3, fn_ids[ed->callee]);
		bind_count(s, 4, ed->calls);
		bind_count(s, 5, ed->prim_calls);
		if (!(rc = step_done(st, s, "cannot write call-graph edges", err)))
			rc = put_cg_costs(st, c, g, ev_ids, true, e,
					  sqlite3_last_insert_rowid(st->db), err);
	}
out:
	sqlite3_finalize(s);
	sqlite3_finalize(c);
	free(ev_ids);
	free(fn_ids);
	return rc;
}

/* The index of id in ids (ascending), or -1. */
static int64_t index_of(const int64_t *ids, size_t n, int64_t id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && ids[lo] == id ? (int64_t)lo : -1;
}

static uint64_t col_count(sqlite3_stmt *s, int col)
{
	return sqlite3_column_type(s, col) == SQLITE_NULL ? PFS_CG_UNKNOWN : col_u64(s, col);
}

/* Reads the rows of one query of capture cap: row() takes each; 0, PFS_EDB or row's code. */
static int cg_rows(struct pfs_store *st, int64_t cap, const char *sql, const char *what,
		   int (*row)(sqlite3_stmt *s, void *arg), void *arg, struct pfs_err *err)
{
	sqlite3_stmt *s;
	int rc = prepare(st, sql, &s, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, cap);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if ((rc = row(s, arg)) < 0)
			break;
	if (rc == SQLITE_DONE)
		rc = 0;
	else if (rc > 0)
		rc = db_err(st, err, what);
	else
		rc = bad_rows(st, cap, what, err);
	sqlite3_finalize(s);
	return rc;
}

struct cg_load {
	struct pfs_callgraph *g;
	struct pfs_profile *prof;
	int64_t frame_base;
	int64_t *ev, *fn, *ed; /* rowids of events, functions, edges, ascending */
	size_t n_ev, n_fn, n_ed, cap_ev, cap_fn, cap_ed;
};

static int cg_event_row(sqlite3_stmt *s, void *arg)
{
	struct cg_load *l = arg;
	const char *name = (const char *)sqlite3_column_text(s, 1);
	uint32_t k =
	    pfs_cg_add_event(l->g, name ? name : "", (const char *)sqlite3_column_text(s, 2));
	pfs_cg_info_mut(l->g)->summary[k] = col_real(s, 3);
	PFS_GROW(l->ev, l->cap_ev, l->n_ev + 1);
	l->ev[l->n_ev++] = sqlite3_column_int64(s, 0);
	return 0;
}

static int cg_func_row(sqlite3_stmt *s, void *arg)
{
	struct cg_load *l = arg;
	uint64_t frame = col_less(s, 1, l->frame_base);
	if (frame < 1 || frame > pfs_profile_n_frames(l->prof))
		return PFS_EFORMAT;
	uint32_t f = pfs_cg_func(l->g, (uint32_t)frame);
	struct pfs_cg_func *fn = pfs_cg_func_at(l->g, f);
	if (f != l->n_fn) /* a frame given twice */
		return PFS_EFORMAT;
	fn->listed = sqlite3_column_int(s, 2) != 0;
	fn->calls = col_count(s, 3);
	fn->prim_calls = col_count(s, 4);
	PFS_GROW(l->fn, l->cap_fn, l->n_fn + 1);
	l->fn[l->n_fn++] = sqlite3_column_int64(s, 0);
	return 0;
}

static int cg_edge_row(sqlite3_stmt *s, void *arg)
{
	struct cg_load *l = arg;
	int64_t a = index_of(l->fn, l->n_fn, sqlite3_column_int64(s, 1));
	int64_t b = index_of(l->fn, l->n_fn, sqlite3_column_int64(s, 2));
	if (a < 0 || b < 0)
		return PFS_EFORMAT;
	uint32_t e = pfs_cg_edge(l->g, (uint32_t)a, (uint32_t)b);
	struct pfs_cg_edge *ed = pfs_cg_edge_at(l->g, e);
	if (e != l->n_ed) /* an edge given twice */
		return PFS_EFORMAT;
	ed->calls = col_count(s, 3);
	ed->prim_calls = col_count(s, 4);
	PFS_GROW(l->ed, l->cap_ed, l->n_ed + 1);
	l->ed[l->n_ed++] = sqlite3_column_int64(s, 0);
	return 0;
}

static int cg_cost_row(sqlite3_stmt *s, void *arg)
{
	struct cg_load *l = arg;
	int64_t k = index_of(l->ev, l->n_ev, sqlite3_column_int64(s, 0));
	bool edge = sqlite3_column_type(s, 1) == SQLITE_NULL;
	int64_t i = edge ? index_of(l->ed, l->n_ed, sqlite3_column_int64(s, 2))
			 : index_of(l->fn, l->n_fn, sqlite3_column_int64(s, 1));
	if (k < 0 || i < 0)
		return PFS_EFORMAT;
	double *self = edge ? pfs_cg_eself(l->g, (uint32_t)i) : pfs_cg_fself(l->g, (uint32_t)i);
	double *incl = edge ? pfs_cg_eincl(l->g, (uint32_t)i) : pfs_cg_fincl(l->g, (uint32_t)i);
	self[k] = col_real(s, 3);
	incl[k] = col_real(s, 4);
	if (!edge && (isnan(self[k]) || isnan(incl[k])))
		return PFS_EFORMAT;
	return 0;
}

static int cg_info_row(sqlite3_stmt *s, void *arg)
{
	struct cg_load *l = arg;
	const char *fmt = (const char *)sqlite3_column_text(s, 0);
	struct pfs_cg_info *in;
	if (l->g)
		return PFS_EFORMAT;
	l->g =
	    pfs_cg_new(l->prof, fmt && !strcmp(fmt, "pstats") ? PFS_CG_PSTATS : PFS_CG_CALLGRIND);
	in = pfs_cg_info_mut(l->g);
	in->size = col_u64(s, 1);
	in->marshal_version = sqlite3_column_int(s, 2);
	in->refs = col_u64(s, 3);
	in->ref_uses = col_u64(s, 4);
	in->creator = col_dup(s, 5);
	in->cmd = col_dup(s, 6);
	in->positions = col_dup(s, 7);
	in->version = col_dup(s, 8);
	in->pid = sqlite3_column_type(s, 9) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 9);
	in->parts = (uint32_t)sqlite3_column_int64(s, 10);
	return 0;
}

int pfs_store_load_callgraph(struct pfs_store *st, int64_t cap, struct pfs_profile *prof,
			     struct pfs_callgraph **out, struct pfs_err *err)
{
	struct cg_load l = {.prof = prof};
	int64_t b[4];
	int rc;
	*out = NULL;
	if (st->version < 3)
		return 0;
	if ((rc = capture_bases(st, cap, b, err)))
		return rc;
	l.frame_base = b[1];
	if ((rc = cg_rows(st, cap,
			  "SELECT format, size, marshal_version, refs, ref_uses, creator, cmd, "
			  "positions, version, pid, parts FROM cg_info WHERE capture = ?",
			  "cg_info", cg_info_row, &l, err)) ||
	    !l.g)
		goto out;
	if ((rc = cg_rows(st, cap,
			  "SELECT id, name, description, summary FROM cg_events WHERE capture = ? "
			  "ORDER BY id",
			  "cg_events", cg_event_row, &l, err)) ||
	    (rc = cg_rows(st, cap,
			  "SELECT id, frame, listed, calls, prim_calls FROM cg_functions "
			  "WHERE capture = ? ORDER BY id",
			  "cg_functions", cg_func_row, &l, err)) ||
	    (rc = cg_rows(st, cap,
			  "SELECT id, caller, callee, calls, prim_calls FROM cg_edges "
			  "WHERE capture = ? ORDER BY id",
			  "cg_edges", cg_edge_row, &l, err)) ||
	    (rc = cg_rows(st, cap,
			  "SELECT event, function, edge, self, inclusive FROM cg_costs "
			  "WHERE capture = ?",
			  "cg_costs", cg_cost_row, &l, err)))
		goto out;
	pfs_cg_finish(l.g);
	*out = l.g;
	l.g = NULL;
out:
	pfs_cg_free(l.g);
	free(l.ev);
	free(l.fn);
	free(l.ed);
	return rc;
}
