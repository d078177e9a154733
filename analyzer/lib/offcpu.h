/*
 * offcpu: each thread's time over the capture as a budget, its off-CPU time split by the reason
 * the stack it switched out on gives (docs/verdicts.md, "The time budget"):
 *
 *  - gil       blocked with take_gil on the stack: the GIL wait of docs/gil.md (switch-out to
 *              switch-in), cut to the capture's window like every part;
 *  - io        socket and file reads and writes, connect, poll/select/epoll under application
 *              code (a socket with a timeout polls before it reads);
 *  - idle      waiting for a request: the server's own loop (gunicorn's sync, gthread, gevent,
 *              eventlet and arbiter loops, uWSGI's accept loop, uvicorn's event loop) or a
 *              thread pool's worker waiting for work;
 *  - lock      lock and other waits: a futex that is not the GIL (a lock, a condition, a
 *              queue), sleep, and any stack none of the rules above names;
 *  - runnable  preempted (prev_state R): ready to run with no CPU to run on.
 * On-CPU time is measured the same way, from a switch-in (or the thread's first event) to its
 * switch-out. When sched:sched_wakeup is recorded, each part also says how much of it passed
 * between the wakeup and the switch-in (waiting for a CPU once woken). What was not recorded is
 * stated: before a thread's first event (its state unknown), segments a LOST record fell into,
 * the tail after a switch-out when switch-ins are not recorded, and off-CPU time whose reason
 * was not recorded (a switch record without its sched_switch: perf's side-band switch records
 * run outside the sampled window of perf record -D). Only the window from the capture's first
 * to its last sample counts: segments are cut to it. So for every thread
 *     on + gil + io + idle + lock + runnable + not recorded = its lifetime in the capture
 * (from its fork or the capture's first sample to its exit or the capture's last sample).
 *
 * It also reads from every stack it is given what the stacks say about a process: the worker
 * class of its server (gunicorn sync, gthread, gevent, eventlet, tornado; uvicorn; uWSGI), and
 * how many CPU samples fall in each known slow path of a table the caller gives (verdicts.c),
 * counted once per sample however often the path's frames recur.
 *
 * It never reads a capture: the analysis feeds it in time order (analysis.c) and calls
 * pfs_offcpu_finish(); a database's copy is rebuilt with the restore functions (store.c).
 * Stacks are call paths of the profile, classified once per path at finish (when the CPython
 * version is known) and memoised. Memory is bounded by threads and distinct switch-out paths.
 *
 * Ownership: pfs_offcpu_new() borrows the profile (it must outlive the books) and the pattern
 * table (static); pfs_offcpu_free().
 */
#ifndef PFS_OFFCPU_H
#define PFS_OFFCPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile.h"
#include "pyclass.h"

/* The off-CPU parts of a budget, in the order the outputs list them. */
enum pfs_off_part {
	PFS_OFF_GIL = 0,
	PFS_OFF_IO,
	PFS_OFF_IDLE,
	PFS_OFF_LOCK,
	PFS_OFF_RUNNABLE,
	PFS_OFF_PARTS,
};

/* Worker classes, as bits of a process's pfs_off_proc.worker (several when it switched). */
enum pfs_off_worker {
	PFS_WK_SYNC = 1 << 0,	  /* gunicorn SyncWorker */
	PFS_WK_GTHREAD = 1 << 1,  /* gunicorn ThreadWorker */
	PFS_WK_GEVENT = 1 << 2,	  /* gunicorn GeventWorker, or gevent's hub */
	PFS_WK_EVENTLET = 1 << 3, /* gunicorn EventletWorker, or eventlet's hub */
	PFS_WK_TORNADO = 1 << 4,  /* gunicorn TornadoWorker */
	PFS_WK_UVICORN = 1 << 5,  /* uvicorn, alone or as gunicorn's UvicornWorker */
	PFS_WK_UWSGI = 1 << 6,	  /* uWSGI's own loop (native frames) */
	PFS_WK_COUNT = 7,
};

/* A known slow path: Python frames whose presence on a CPU sample's stack marks it. */
#define PFS_OFF_MAX_PATTERNS 16
struct pfs_off_pattern {
	const char *id;		      /* "json-encoder": the verdict is slow-path:<id> */
	const char *file;	      /* the frames' file ends with this ("json/encoder.py") */
	const char *const *functions; /* function names (the last part of the qualname),
					 NULL-ended; NULL: any function of the file */
};

/* One thread's budget, ns. */
struct pfs_off_budget {
	uint32_t pid, tid;
	uint64_t life_ns;		 /* lifetime within the capture */
	uint64_t on_ns;			 /* on CPU, switch-in (or first event) to switch-out */
	uint64_t part_ns[PFS_OFF_PARTS]; /* off CPU, by reason */
	uint64_t wake_ns[PFS_OFF_PARTS]; /* of each part: wakeup to switch-in */
	uint64_t offs;			 /* off-CPU intervals counted */
	uint64_t wakeups;		 /* of those, with their wakeup recorded */
	uint64_t bounded_ns;		 /* of the parts: ended at the thread's next event, no
					    switch-in recorded (upper bounds) */
	uint64_t unrec_start_ns;	 /* not recorded: before the thread's first event */
	uint64_t unrec_loss_ns;		 /* not recorded: segments a LOST record fell into */
	uint64_t unrec_end_ns;		 /* not recorded: after its last switch-out, when
					    switch-ins are not recorded */
	uint64_t unrec_why_ns;		 /* off CPU, why not recorded: a switch record
					    without its sched_switch (a switch-out before
					    the sampled window) */
};

/* The stacks a part's time was spent on: per process, python view. */
struct pfs_off_stack {
	uint32_t pid;
	uint8_t part;	 /* enum pfs_off_part */
	uint32_t pypath; /* python-view path of the switch-out stack */
	uint64_t ns, n;
};

/* What the stacks of one process say about it. */
struct pfs_off_proc {
	uint32_t pid;
	uint32_t worker;		    /* enum pfs_off_worker bits seen on its stacks */
	uint64_t cpu_samples;		    /* CPU samples given (pfs_offcpu_cpu_sample) */
	uint64_t pat[PFS_OFF_MAX_PATTERNS]; /* of those, in each slow path of the table */
};

/* What the capture recorded, which decides what the budget can say. */
struct pfs_off_info {
	bool known;	      /* false: a database of an older build stored no budget */
	bool switches;	      /* sched:sched_switch recorded exactly, with tracing data */
	bool switch_ins;      /* switch-ins recorded (switch records, or sched_switch next_pid) */
	bool wakeups;	      /* sched:sched_wakeup recorded exactly */
	uint64_t first, last; /* the capture's first and last sample (ns) */
	uint32_t nr_cpus;     /* CPUs online when recorded (the header's), 0 unknown */
};

struct pfs_offcpu;

struct pfs_offcpu *pfs_offcpu_new(struct pfs_profile *p, const struct pfs_off_pattern *pats,
				  size_t n_pats);
void pfs_offcpu_free(struct pfs_offcpu *o);

/* ---- the stream, in time order (times in ns; cpu UINT32_MAX: unknown) ---- */

/* Any sample of the thread: it was running at time. */
void pfs_offcpu_event(struct pfs_offcpu *o, uint32_t pid, uint32_t tid, uint32_t cpu,
		      uint64_t time);
/* A CPU sample of process pid on stack path: worker class and slow paths. */
void pfs_offcpu_cpu_sample(struct pfs_offcpu *o, uint32_t pid, uint32_t path);
/*
 * The thread switched out: from sched_switch (stack: path is its stack) or from a switch record
 * (no stack: the sched_switch of the same switch may come before or after it). how: 1 preempted
 * (prev_state R, or the record's preempt flag), 0 blocked, -1 unknown.
 */
void pfs_offcpu_switch_out(struct pfs_offcpu *o, uint32_t pid, uint32_t tid, uint32_t cpu,
			   uint64_t time, bool stack, uint32_t path, int how);
/* The thread switched in (a switch record, or a sched_switch naming it next_pid); pid
 * UINT32_MAX: the thread of that tid seen last. */
void pfs_offcpu_switch_in(struct pfs_offcpu *o, uint32_t pid, uint32_t tid, uint32_t cpu,
			  uint64_t time);
/* sched:sched_wakeup of tid at time. */
void pfs_offcpu_wakeup(struct pfs_offcpu *o, uint32_t tid, uint64_t time);
/* FORK and EXIT records of a thread (pid, tid are the thread's). */
void pfs_offcpu_fork(struct pfs_offcpu *o, uint32_t pid, uint32_t tid, uint64_t time);
void pfs_offcpu_exit(struct pfs_offcpu *o, uint32_t pid, uint32_t tid, uint64_t time);
/* A LOST record of cpu (UINT32_MAX: unknown) stamped time, written while tid ran (0: unknown):
 * the segments it may have fallen into become "not recorded". */
void pfs_offcpu_lost(struct pfs_offcpu *o, uint32_t cpu, uint32_t tid, uint64_t time);

/*
 * Closes the books: segments still open end at the capture's last sample, the switch-out
 * stacks are classified with ver's tables (NULL: every version's) and summed by part.
 * info->known is set here; first/last are the capture's first and last sample. roles: the
 * gunicorn processes (select.select's wait, whose stack a DWARF dump cannot pass, is their loop).
 */
/* What the analysis knows of a process's role, for the rules that need it. */
struct pfs_off_role {
	uint32_t pid;
	bool gunicorn; /* a gunicorn process */
	bool master;   /* its master (else a worker) */
};
void pfs_offcpu_finish(struct pfs_offcpu *o, const struct pfs_pyver *ver,
		       const struct pfs_off_info *info, const struct pfs_off_role *roles,
		       size_t n_roles);

/* ---- results, after finish (or a restore) ---- */

const struct pfs_off_info *pfs_offcpu_info(const struct pfs_offcpu *o);
/* The budget of a thread, NULL when it had none. */
const struct pfs_off_budget *pfs_offcpu_budget(const struct pfs_offcpu *o, uint32_t pid,
					       uint32_t tid);
size_t pfs_offcpu_n_budgets(const struct pfs_offcpu *o);
const struct pfs_off_budget *pfs_offcpu_budget_at(const struct pfs_offcpu *o, size_t i);
/* Adds b's figures to *sum (pid and tid untouched). */
void pfs_offcpu_budget_add(struct pfs_off_budget *sum, const struct pfs_off_budget *b);
/* The not-recorded remainder of a budget. */
uint64_t pfs_offcpu_unrecorded(const struct pfs_off_budget *b);

/* The process's facts, NULL when none of its stacks was given. */
const struct pfs_off_proc *pfs_offcpu_proc(const struct pfs_offcpu *o, uint32_t pid);
size_t pfs_offcpu_n_procs(const struct pfs_offcpu *o);
const struct pfs_off_proc *pfs_offcpu_proc_at(const struct pfs_offcpu *o, size_t i);

/* Stacks of the part spent by the pids, most time first, up to max: how many were written. */
size_t pfs_offcpu_top_stacks(const struct pfs_offcpu *o, const uint32_t *pids, size_t npids,
			     enum pfs_off_part part, struct pfs_off_stack *out, size_t max);
size_t pfs_offcpu_n_stacks(const struct pfs_offcpu *o);
const struct pfs_off_stack *pfs_offcpu_stack_at(const struct pfs_offcpu *o, size_t i);

/* "gil", "io", "idle", "lock", "runnable"; and back (-1 when unknown). */
const char *pfs_off_part_name(enum pfs_off_part part);
int pfs_off_part_parse(const char *s);
/* "sync", "gthread", "gevent", "eventlet", "tornado", "uvicorn", "uwsgi" for one bit. */
const char *pfs_off_worker_name(enum pfs_off_worker w);
int pfs_off_worker_parse(const char *s);

/* ---- a database's copy (store.c): restore, then pfs_offcpu_restore_done() ---- */
void pfs_offcpu_restore_info(struct pfs_offcpu *o, const struct pfs_off_info *info);
void pfs_offcpu_restore_budget(struct pfs_offcpu *o, const struct pfs_off_budget *b);
/* Stacks in the order pfs_offcpu_stack_at() gives them (by pid, part, most time first). */
void pfs_offcpu_restore_stack(struct pfs_offcpu *o, const struct pfs_off_stack *s);
void pfs_offcpu_restore_proc(struct pfs_offcpu *o, const struct pfs_off_proc *pr);

#endif
