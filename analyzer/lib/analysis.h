/*
 * analysis: the Python findings of one capture, per process and per thread: CPU categories,
 * GC share and pauses, GIL waits, worker roles; written as `perfsight-summary/1` JSON or as a
 * terminal summary.
 *
 * It consumes the stream ingest produces: every sample row (all events, in time order), with the
 * RAW bytes of tracepoint samples, and optionally PERF_RECORD_SWITCH records. A sample's stack
 * is its call path in the profile; pyclass says what it means. Definitions (docs/gil.md,
 * docs/categories.md and docs/summary.md):
 *  - a CPU sample is one of a clock event, known by its attr type and config (profile.h
 *    pfs_profile_clock_of), whatever it was named;
 *  - a GC sample is a CPU sample with a GC entry of the capture's CPython anywhere on its stack;
 *  - a GIL wait (switches) is a sched_switch of the thread with prev_state not R/R+ and take_gil
 *    on its stack, from the switch-out to the thread's next switch-in (a PERF_RECORD_SWITCH
 *    switch-in, a CPU-wide switch record or a sched_switch naming it next_pid); when another
 *    event of the thread comes first, to that event, counted as an upper bound; dropped if
 *    none follows;
 *  - runnable delay is the same interval from a switch-out with prev_state R/R+ (preempted);
 *  - a GIL wait (probes) is a take_gil entry -> take_gil__return uprobe pair of one thread;
 *  - a GC pause is a GC-collector entry -> __return uprobe pair of one thread.
 * Intervals are made only from exact events: a sched_switch, take_gil or GC probe recorded at a
 * frequency or a period above 1 (perf record -F without a per-event term) keeps one event in
 * many, so its figures are "not measured" (a warning) and stay null. An interval that spans a
 * LOST or LOST_SAMPLES record of its CPU or thread (or one whose CPU is unknown) is dropped and
 * counted: records inside it may be missing.
 *
 * Memory is bounded by threads, processes and distinct call paths, never by samples (GC pauses
 * are kept one by one: there are few). Things that cannot be computed (no tracing data, no
 * Python, a Python version outside the tables, probes on other functions) are diagnostics and
 * "not computed" notes in the summary, and their figures are null.
 *
 * Wiring it to perf.data ingest (rows in the reader's time order):
 *
 *     a = pfs_analysis_new(profile);
 *     for each record: SAMPLE -> pfs_analysis_perf_sample(a, &row, rec)
 *                      other  -> pfs_analysis_perf_record(a, reader, rec)
 *     pfs_analysis_perf_finish(a, reader, label, path);
 *     pfs_analysis_write_json(&a, 1, stdout, pretty, &err) or pfs_analysis_write_text()
 *
 * A sink (pfs_analysis_set_sink) receives what the analysis decodes for others to keep: each
 * thread's off-CPU intervals and every tracepoint sample with its fields (import stores them).
 * A finished analysis can be written out through its accessors and rebuilt with
 * pfs_analysis_restore() (the store keeps it so that a database gives the same summary).
 *
 * Ownership: pfs_analysis_new() / pfs_analysis_free(). The profile is borrowed (it must outlive
 * the analysis) and gains the python-view paths and pseudo-frames the analysis interns.
 */
#ifndef PFS_ANALYSIS_H
#define PFS_ANALYSIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "diag.h"
#include "handlers.h"
#include "err.h"
#include "offcpu.h"
#include "jsonw.h"
#include "perfdata.h"
#include "profile.h"
#include "pyclass.h"

/* The RAW payload of a tracepoint sample (attr.type 2). */
struct pfs_an_tp {
	uint64_t id;	 /* attr.config: the format id */
	const void *raw; /* file byte order */
	size_t raw_size;
};

/* What the capture is, for the summary's header. Strings are borrowed. */
struct pfs_an_capture {
	const char *label;   /* a short name (the directory), NULL: source */
	const char *source;  /* the input path */
	const char *command; /* the recorded command line (perf's argv after --), or NULL */
	uint64_t lost_samples;
	uint64_t first_time, last_time; /* ns; 0/0: taken from the samples */
};

/* A GC pause measured by uprobes. */
struct pfs_an_pause {
	uint32_t pid, tid;
	uint64_t start, dur; /* ns */
	uint32_t pypath;     /* python-view path of the entry sample (ends in [gc]), 0 if none */
	int8_t gen;	     /* the probe's generation argument, -1 when not recorded */
};

/* One GIL wait: a sched_switch wait until the thread's next event, or a take_gil probe pair. */
struct pfs_an_wait {
	uint32_t pid, tid;
	uint64_t start, dur; /* ns */
	uint32_t pypath;     /* python-view path of the stack that waited, 0 if none */
	bool probe;	     /* measured by the take_gil probes */
	bool bounded;	     /* a switch wait ended by the thread's next event: an upper bound */
};

/* How many GIL waits the analysis keeps, the longest. */
#define PFS_AN_MAX_WAITS 2000

/* Figures of one thread. Seconds are derived from the ns counters when written. */
struct pfs_an_thread {
	uint32_t pid, tid;
	uint32_t comm; /* string id */
	uint64_t cpu_samples, gc_samples, gil_samples;
	uint64_t cat[PFS_CAT_COUNT];
	uint64_t cpu_period;
	uint64_t gil_wait_ns, gil_waits;
	uint64_t probe_wait_ns, probe_waits;
	uint64_t gc_pauses, gc_pause_ns;
	uint64_t cut_stacks;	    /* CPU samples whose stack is rooted at [truncated] */
	uint64_t gil_waits_bounded; /* switch waits ended by a next event, not a switch-in */
	uint64_t runnable_ns, runnable_waits; /* preempted (R) switch-out to switch-in */
	/* streaming state */
	uint64_t last_time;
	uint64_t off_time; /* pending switch-out since this time, 0 when none */
	uint32_t off_path, off_pypath, off_cpu;
	uint8_t off_kind; /* what the pending switch-out is: analysis.c OFF_ */
	char off_state[8];
	uint64_t gil_open, gc_open; /* open probe entries (ns), 0 when none */
	uint32_t gil_open_pypath, gc_open_pypath, gil_open_cpu, gc_open_cpu;
	int8_t gc_open_gen;
	uint32_t gil_pending; /* take_gil probe calls closed but not final */
	uint64_t lost_time;   /* the last LOST record of this thread (ns), 0 when none */
};

/* Figures of one process, after pfs_analysis_finish(). */
struct pfs_an_process {
	uint32_t pid, ppid;
	uint32_t comm, cmdline; /* string ids, 0 when unknown */
	const char *role;	/* "master", "worker", "wrapper" (timeout, env, sudo, a shell
				   that started a server) or "process" */
	const char *server;	/* "gunicorn", "uwsgi" or NULL */
	uint64_t cpu_samples, gc_samples, gil_samples;
	uint64_t cat[PFS_CAT_COUNT];
	uint64_t cpu_period;
	uint64_t gil_wait_ns, gil_waits;
	uint64_t probe_wait_ns, probe_waits;
	uint64_t gc_pauses, gc_pause_ns, gc_pause_max_ns, gc_pause_p50_ns, gc_pause_p95_ns;
	uint64_t cut_stacks; /* CPU samples whose stack is rooted at [truncated] */
	uint64_t gil_waits_bounded;
	uint64_t runnable_ns, runnable_waits;
	size_t *threads; /* indices for pfs_analysis_thread(), by tid */
	size_t n_threads;
};

/* The workers of one gunicorn/uWSGI master, added up (recycled workers included). */
struct pfs_an_workers {
	uint32_t master; /* the master's pid */
	const char *server;
	uint32_t *pids; /* the workers, by pid */
	size_t n_pids;
	struct pfs_an_process sum; /* pid = master, role "workers", no threads; percentiles over
				      every worker's pauses */
};

/* A python-view stack and the GIL wait that began on it, for the "waits most" lists. */
struct pfs_an_stackwait {
	uint32_t pid;
	uint32_t pypath;
	uint64_t ns, n;
};

/*
 * The GC a Python path triggers: the python-view path under the collector's entry (ends in
 * [gc]), with the pauses that began on it (probes) and the GC CPU samples on it.
 */
struct pfs_an_gctrigger {
	uint32_t pid;
	uint32_t pypath;
	uint64_t pauses, pause_ns; /* 0 without (exact) GC probes */
	uint64_t samples;	   /* GC CPU samples */
};

/* A thread off CPU: its sched_switch (t_out) to its next recorded event (t_in), in ns. */
struct pfs_an_offcpu {
	uint32_t pid, tid;
	uint64_t t_out, t_in;
	const char *state; /* prev_state as perf prints it ("S", "D", "R+", ...) */
	uint32_t path;	   /* the call path at switch-out, 0 if none */
};

/*
 * Where the analysis hands what it decodes for others to keep (import stores them). A callback
 * returning a negative code stops the stream with that code. Either callback may be NULL.
 */
struct pfs_an_sink {
	void *payload;
	int (*offcpu)(void *payload, const struct pfs_an_offcpu *o);
	/* a tracepoint or uprobe sample, with its decoded fields as a JSON object (NULL when
	 * they cannot be decoded: no tracing data, or bad RAW data, which is a diagnostic) */
	int (*probe)(void *payload, const struct pfs_sample_row *row, const char *fields);
	/* every GIL wait the figures count (switch waits and probe waits, w->probe tells),
	 * when it is final (after the loss check): the report's timeline draws them */
	int (*wait)(void *payload, const struct pfs_an_wait *w);
};

struct pfs_analysis;

/* A new, empty analysis over profile p. Never fails. */
struct pfs_analysis *pfs_analysis_new(struct pfs_profile *p);
void pfs_analysis_free(struct pfs_analysis *a);

/* Sets the sink (copied) before the first sample; NULL removes it. */
void pfs_analysis_set_sink(struct pfs_analysis *a, const struct pfs_an_sink *s);

/*
 * Gives the capture's tracing-data blob (len bytes; NULL/0 when it has none). Returns 0, or the
 * negative code of a blob that cannot be parsed; either way the analysis goes on, recording
 * why sched_switch figures are missing as a diagnostic. The blob is not kept.
 */
int pfs_analysis_tracing(struct pfs_analysis *a, const void *blob, size_t len);
/* A binary the capture maps (a hint for the CPython version before any stack names it). */
void pfs_analysis_dso(struct pfs_analysis *a, const char *path);

/*
 * One sample, in time order; tp carries the RAW payload of a tracepoint sample, NULL otherwise.
 * Returns 0 (bad RAW data is a diagnostic, not an error) or the negative code a sink returned.
 */
int pfs_analysis_sample(struct pfs_analysis *a, const struct pfs_sample_row *row,
			const struct pfs_an_tp *tp);
/* pfs_sample_cb adapter for samples without RAW data; payload is the analysis. */
int pfs_analysis_sample_cb(void *payload, const struct pfs_sample_row *row);
/* A PERF_RECORD_SWITCH of tid at time (ns) on cpu (UINT32_MAX: unknown): a switch-in ends the
 * thread's pending switch-out. */
void pfs_analysis_switch(struct pfs_analysis *a, uint32_t pid, uint32_t tid, uint32_t cpu,
			 uint64_t time, bool out);
/*
 * A LOST or LOST_SAMPLES record: lost records of cpu (UINT32_MAX: unknown) at or before time
 * (ns; 0: unknown, the loss cannot be placed), written while tid ran (0: unknown). Intervals of
 * that CPU or thread that span it are dropped and counted.
 */
void pfs_analysis_lost(struct pfs_analysis *a, uint32_t cpu, uint32_t tid, uint64_t time,
		       uint64_t lost);

/*
 * Glue for perf.data ingest (the reader's records, perfdata.h): hand every record that is not a
 * sample here (it picks the tracing data, the binaries mapped and the switch records it needs),
 * and every sample to pfs_analysis_perf_sample() with the row ingest made of it. perf writes
 * the tracing data (file mode: a header section; pipe mode: a record) before any sample.
 */
void pfs_analysis_perf_record(struct pfs_analysis *a, struct pfs_reader *r,
			      const struct pfs_record *rec);
/* pfs_analysis_sample() with the RAW payload of rec when it is a tracepoint sample. */
int pfs_analysis_perf_sample(struct pfs_analysis *a, const struct pfs_sample_row *row,
			     const struct pfs_record *rec);
/*
 * pfs_analysis_finish() with what the reader knows: the recorded command (perf's argv after
 * "--"), lost samples, the sample time range. label and source as in struct pfs_an_capture.
 */
void pfs_analysis_perf_finish(struct pfs_analysis *a, struct pfs_reader *r, const char *label,
			      const char *source);

/* Ends the stream: closes the books, groups processes and roles. Call once, before reading. */
void pfs_analysis_finish(struct pfs_analysis *a, const struct pfs_an_capture *cap);

/* Results, valid after pfs_analysis_finish() and until pfs_analysis_free(). */
const struct pfs_pyver *pfs_analysis_python(const struct pfs_analysis *a); /* NULL: no Python */
size_t pfs_analysis_n_processes(const struct pfs_analysis *a);
const struct pfs_an_process *pfs_analysis_process(const struct pfs_analysis *a, size_t i);
const struct pfs_an_thread *pfs_analysis_thread(const struct pfs_analysis *a, size_t i);
size_t pfs_analysis_n_workers(const struct pfs_analysis *a);
const struct pfs_an_workers *pfs_analysis_workers(const struct pfs_analysis *a, size_t i);
size_t pfs_analysis_n_pauses(const struct pfs_analysis *a);
const struct pfs_an_pause *pfs_analysis_pause(const struct pfs_analysis *a, size_t i);
/* Which figures exist: sched_switch GIL waits, take_gil probes, GC probes (recorded exactly). */
bool pfs_analysis_has_switch_waits(const struct pfs_analysis *a);
bool pfs_analysis_has_gil_probes(const struct pfs_analysis *a);
bool pfs_analysis_has_gc_probes(const struct pfs_analysis *a);
/*
 * Why a figure was recorded but not measured (its events were sampled), or NULL: "switch" (GIL
 * waits from switches, runnable delay), "gil" (take_gil probe waits), "gc" (GC pauses).
 */
const char *pfs_analysis_not_measured(const struct pfs_analysis *a, const char *figure);
/* The GC triggers of pid, most pause time (else most GC samples) first, up to max. */
size_t pfs_analysis_gc_triggers(const struct pfs_analysis *a, uint32_t pid,
				struct pfs_an_gctrigger *out, size_t max);
/* Whether cut stacks were counted (an analysis from a database of an older build has none). */
bool pfs_analysis_has_cut_stacks(const struct pfs_analysis *a);
/* The request-handler rows (handlers.h), ordered; NULL for a restored analysis whose store
 * had none (an import older than the handler table). */
const struct pfs_handlers *pfs_analysis_handlers(const struct pfs_analysis *a);
/*
 * The longest GIL waits (at most PFS_AN_MAX_WAITS), longest first, after finish: the switch
 * waits when the capture has them, else the probe waits, as the figures count them.
 */
size_t pfs_analysis_n_waits(const struct pfs_analysis *a);
const struct pfs_an_wait *pfs_analysis_wait(const struct pfs_analysis *a, size_t i);
/* Stacks of pid by GIL wait, most first (up to max); returns how many were written to out. */
size_t pfs_analysis_top_waits(const struct pfs_analysis *a, uint32_t pid,
			      struct pfs_an_stackwait *out, size_t max);
/* Diagnostics: what could not be computed and why. */
const struct pfs_diag *pfs_analysis_diag(const struct pfs_analysis *a);
/*
 * The time budgets of the threads and what the stacks say about each process (offcpu.h),
 * after finish; a restored analysis has them when the store gives them
 * (pfs_analysis_restore_offcpu), else their info says not known.
 */
const struct pfs_offcpu *pfs_analysis_offcpu(const struct pfs_analysis *a);

/*
 * What a finished analysis holds beyond its threads, pauses and wait stacks: what the store
 * keeps so that pfs_analysis_restore() can rebuild it without the capture's records.
 */
struct pfs_an_header {
	bool have_python;
	struct pfs_pyver python;
	bool switch_waits, gil_probes, gc_probes;     /* which figures exist (the has_ functions) */
	bool switch_sampled, gil_sampled, gc_sampled; /* recorded, but sampled: not measured */
	bool cpu_clock;				      /* CPU periods are ns (cpu_s is not null) */
	bool cut_stacks; /* cut stacks were counted (not in a database of an older build) */
	uint64_t lost_samples;
	uint64_t first_time, last_time; /* ns */
	const char *command;		/* the recorded command, NULL if none; borrowed */
};

void pfs_analysis_header(const struct pfs_analysis *a, struct pfs_an_header *h);
/* Every thread with books (hidden ones, seen only in switch records, excluded by processes). */
size_t pfs_analysis_n_threads(const struct pfs_analysis *a);
size_t pfs_analysis_n_stackwaits(const struct pfs_analysis *a);
const struct pfs_an_stackwait *pfs_analysis_stackwait(const struct pfs_analysis *a, size_t i);
size_t pfs_analysis_n_gctriggers(const struct pfs_analysis *a);
const struct pfs_an_gctrigger *pfs_analysis_gctrigger(const struct pfs_analysis *a, size_t i);
/* Samples of profile event ev the analysis saw (0 for events it never saw); the events it
 * saw are below pfs_analysis_n_events(). */
size_t pfs_analysis_n_events(const struct pfs_analysis *a);
uint64_t pfs_analysis_event_samples(const struct pfs_analysis *a, uint32_t ev);

/*
 * Rebuilding a finished analysis from stored figures (store.c reads them back from a database):
 *
 *     a = pfs_analysis_restore(profile, &header);
 *     pfs_analysis_restore_thread / _pause / _wait / _stackwait / _events / _note, any
 *     number (waits longest first, as pfs_analysis_wait() lists them; past
 *     PFS_AN_MAX_WAITS ignored);
 *     pfs_analysis_restore_finish(a, &cap)    groups processes and workers as finish does
 *
 * Threads keep their pid, tid and counters (the streaming state is ignored; a thread is shown
 * when it has samples or a last_time). Paths and event indices must be the profile's. Never
 * fails; the same ownership as pfs_analysis_new().
 */
struct pfs_analysis *pfs_analysis_restore(struct pfs_profile *p, const struct pfs_an_header *h);
void pfs_analysis_restore_thread(struct pfs_analysis *a, const struct pfs_an_thread *t);
void pfs_analysis_restore_pause(struct pfs_analysis *a, const struct pfs_an_pause *ps);
void pfs_analysis_restore_wait(struct pfs_analysis *a, const struct pfs_an_wait *w);
void pfs_analysis_restore_stackwait(struct pfs_analysis *a, const struct pfs_an_stackwait *s);
/* The handler rows to fill (pfs_handlers_restore_row/_rest): the store had them. */
struct pfs_handlers *pfs_analysis_restore_handlers(struct pfs_analysis *a);
void pfs_analysis_restore_gctrigger(struct pfs_analysis *a, const struct pfs_an_gctrigger *g);
/* The budgets to fill (pfs_offcpu_restore_*): the store had them. */
struct pfs_offcpu *pfs_analysis_restore_offcpu(struct pfs_analysis *a);
void pfs_analysis_restore_events(struct pfs_analysis *a, uint32_t ev, uint64_t samples);
/* A stored note; code is matched to the analysis' own codes ("stored-note" when unknown). */
void pfs_analysis_restore_note(struct pfs_analysis *a, const char *code, enum pfs_severity sev,
			       uint64_t count, const char *msg);
/* cap gives label and source; its command, lost samples and times are the header's. */
void pfs_analysis_restore_finish(struct pfs_analysis *a, const struct pfs_an_capture *cap);

/* The profile the analysis reads (borrowed, as given to pfs_analysis_new). */
struct pfs_profile *pfs_analysis_profile(const struct pfs_analysis *a);
/* A python-view path as the summary writes stacks: a JSON array of {"function", "file"}, root
 * first; and as text, the last four frames ("... > f (file.py) > g (file.py)"). */
void pfs_analysis_json_pystack(const struct pfs_analysis *a, struct pfs_jsonw *w, uint32_t path);
void pfs_analysis_text_pystack(const struct pfs_analysis *a, FILE *f, uint32_t path);

/* Writes the capture object of the perfsight-summary/1 "captures" array to w. */
void pfs_analysis_json_capture(const struct pfs_analysis *a, struct pfs_jsonw *w);
/* Writes a whole perfsight-summary/1 document of n analyses to f. Returns 0 or PFS_EIO. */
int pfs_analysis_write_json(struct pfs_analysis *const *v, size_t n, FILE *f, bool pretty,
			    struct pfs_err *err) PFS_MUST_CHECK;
/* Writes the terminal summary of one capture to f. Returns 0 or PFS_EIO. */
int pfs_analysis_write_text(const struct pfs_analysis *a, FILE *f,
			    struct pfs_err *err) PFS_MUST_CHECK;

#endif
