/*
 * profile: the in-memory shape every input is turned into before it is stored or rendered.
 *
 * A profile is one capture: its processes and threads, its events, interned strings, interned
 * frames (function, file, line, dso, kind, inlined) and a call-path tree with one node per
 * distinct stack prefix (parent-pointer, as perf's db-export and our SQLite schema). Samples are
 * not kept here: ingest stages stream each sample (event, time, thread, cpu, call path, period,
 * weight) to a pfs_sample_sink, so memory grows with distinct stacks, never with samples.
 *
 * Ids: strings, frames and paths are dense uint32 ids; 0 is "none" for strings and the root for
 * paths (the root has no frame). Ids are stable for the life of the profile, and are the row
 * ids the store writes.
 *
 * Ownership: pfs_profile_new() / pfs_profile_free(). Strings returned by getters are borrowed
 * and valid until the profile is freed. Depends on nothing but the base layer.
 */
#ifndef PFS_PROFILE_H
#define PFS_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pfs_frame_kind {
	PFS_FK_UNKNOWN = 0,	 /* could not be resolved: name is "[unknown]" */
	PFS_FK_NATIVE = 1,	 /* user-space native code (ELF symbol) */
	PFS_FK_KERNEL = 2,	 /* kernel or module */
	PFS_FK_PYTHON = 3,	 /* CPython -X perf trampoline entry: py::func:file */
	PFS_FK_JIT = 4,		 /* another JIT map entry */
	PFS_FK_PYINSTRUMENT = 5, /* a Python frame from a pyinstrument/speedscope/folded dump */
	PFS_FK_PSEUDO = 6,	 /* a labelled pseudo-frame ([gc], [gil wait], [native: libx.so]) */
	PFS_FK_COUNT = 7,
};

/*
 * The root frame (kind PFS_FK_PSEUDO) of a stack cut short: its unwind ran out of the recorded
 * stack dump before the thread's entry, so the callers above are unknown. Every view keeps it.
 */
#define PFS_FRAME_TRUNCATED "[truncated]"

struct pfs_frame {
	uint32_t name;	 /* string id: function name without offset */
	uint32_t file;	 /* string id: source file, 0 if unknown */
	uint32_t line;	 /* source line, 0 if unknown */
	uint32_t dso;	 /* string id: binary path or map name, 0 if none */
	uint8_t kind;	 /* enum pfs_frame_kind */
	uint8_t inlined; /* 1 when an inline expansion inside its caller's frame */
};

struct pfs_path_node {
	uint32_t parent; /* 0 for children of the root */
	uint32_t frame;	 /* frame id */
	uint32_t depth;	 /* 1 for children of the root */
};

struct pfs_thread {
	uint32_t pid, tid;
	uint32_t comm;	     /* string id, last name seen */
	uint64_t start, end; /* first/last time seen, 0 if unknown */
	uint64_t samples;    /* samples of the capture's first sampling event */
};

struct pfs_process {
	uint32_t pid, ppid;
	uint32_t comm;	  /* string id */
	uint32_t cmdline; /* string id, 0 if unknown */
	uint64_t start, end;
};

/* One sample as it leaves ingest. */
struct pfs_sample_row {
	uint32_t event; /* index into the profile's events */
	uint32_t pid, tid;
	uint32_t cpu;  /* UINT32_MAX if unknown */
	uint64_t time; /* ns on the capture's clock; 0 if unknown */
	uint32_t path; /* call path id (leaf node) */
	uint64_t period;
	double weight; /* seconds for wall-time sources, 1 per sample otherwise */
	uint32_t comm; /* string id of the thread's name at this sample; 0: the thread's last */
};

/* Receives samples as they are produced; returns 0 or a negative pfs_errcode to stop ingest. */
typedef int (*pfs_sample_cb)(void *payload, const struct pfs_sample_row *row);

/* What a sampling event counts, known by its attr type and config (pfs_profile_clock_of). */
enum pfs_clock {
	PFS_CLOCK_NONE = 0, /* not a CPU clock (a tracepoint, a probe, page-faults, ...) */
	PFS_CLOCK_NS,	    /* cpu-clock or task-clock: periods are ns of CPU time */
	PFS_CLOCK_CYCLES,   /* cycles or ref-cycles: a CPU clock, periods are not time */
};

struct pfs_event {
	uint32_t name; /* string id */
	uint64_t samples;
	bool sampling;	 /* a sampling event (cpu-clock, cycles) rather than a tracepoint/probe */
	uint8_t clock;	 /* enum pfs_clock, whatever the event was named */
	bool freq;	 /* recorded at a frequency (attr.freq) rather than a period */
	uint64_t period; /* attr.sample_period, or the frequency in Hz when freq; 0: unknown */
};

/*
 * The clock a perf event of attr type and config is: the one definition every module asks
 * (perf's names may be anything: `-e cpu-clock/name=mytick/`, `cpu-clock:u`).
 */
enum pfs_clock pfs_profile_clock_of(uint32_t type, uint64_t config);

struct pfs_profile;

struct pfs_profile *pfs_profile_new(void);
void pfs_profile_free(struct pfs_profile *p);

/* Interns len bytes (may contain NUL) and returns its id (>= 1). */
uint32_t pfs_profile_str(struct pfs_profile *p, const char *s, size_t len);
static inline uint32_t pfs_profile_cstr(struct pfs_profile *p, const char *s);
/* The string of id (NUL-terminated; "" for 0); len_out (may be NULL) gets its length. */
const char *pfs_profile_strget(const struct pfs_profile *p, uint32_t id, size_t *len_out);
size_t pfs_profile_n_strs(const struct pfs_profile *p); /* ids are 1..n */

/* Interns a frame, returns its id (>= 1). */
uint32_t pfs_profile_frame(struct pfs_profile *p, const struct pfs_frame *f);
const struct pfs_frame *pfs_profile_frameget(const struct pfs_profile *p, uint32_t id);
size_t pfs_profile_n_frames(const struct pfs_profile *p);

/* The child of parent (0 = root) for frame, created when new. Returns its id (>= 1). */
uint32_t pfs_profile_path(struct pfs_profile *p, uint32_t parent, uint32_t frame);
const struct pfs_path_node *pfs_profile_pathget(const struct pfs_profile *p, uint32_t id);
size_t pfs_profile_n_paths(const struct pfs_profile *p);

/* Events: added once each, in capture order. Returns the index. */
uint32_t pfs_profile_add_event(struct pfs_profile *p, const char *name, bool sampling);
struct pfs_event *pfs_profile_event(struct pfs_profile *p, uint32_t i);
size_t pfs_profile_n_events(const struct pfs_profile *p);

/* Threads and processes, created on first mention. */
struct pfs_thread *pfs_profile_thread(struct pfs_profile *p, uint32_t pid, uint32_t tid);
struct pfs_process *pfs_profile_process(struct pfs_profile *p, uint32_t pid);
size_t pfs_profile_n_threads(const struct pfs_profile *p);
struct pfs_thread *pfs_profile_thread_at(const struct pfs_profile *p, size_t i);
size_t pfs_profile_n_processes(const struct pfs_profile *p);
struct pfs_process *pfs_profile_process_at(const struct pfs_profile *p, size_t i);

static inline uint32_t pfs_profile_cstr(struct pfs_profile *p, const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return pfs_profile_str(p, s, n);
}

#endif
