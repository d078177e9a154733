/*
 * verdicts: "what to change", read from a finished analysis (analysis.h) and its time budgets
 * (offcpu.h). For each gunicorn/uWSGI master (its workers, silent ones included: children of
 * the master in the fork tree that had no event in the capture) or, without a server, for the
 * processes of the capture, it states the service's shape (CPUs, workers, worker class from
 * the stacks, threads per worker, the request handler that dominates) and the verdicts whose
 * rule holds, each with a stable id, the figures it rests on and the rule itself:
 *
 *   cpu-bound, oversubscribed, gil-bound-threads, io-bound, idle, gc-heavy,
 *   interpreter-overhead, slow-path:<pattern>
 *
 * Rules, thresholds, wording and why: docs/verdicts.md. A verdict the capture cannot support is
 * never issued: it is listed as not judged, with the reason and the recording option that would
 * let it be judged (no sched:sched_switch: no off-CPU verdict; too few CPU samples; an idle
 * capture: no capacity verdict).
 *
 * The known slow paths (pfs_verdicts_patterns) are the table offcpu counts CPU samples in: the
 * analysis makes its offcpu books with pfs_verdicts_offcpu_new().
 *
 * The analysis writes these in its summary (pfs_analysis_json_capture, pfs_analysis_write_text)
 * through the writers below; the report data embeds the same JSON. Everything is computed from
 * the analysis on each call (it is cheap), so a restored analysis (a database) gives the same
 * verdicts as the capture when the store gave back its budgets.
 *
 * Ownership: pfs_verdicts_new() returns an object the caller frees with pfs_verdicts_free();
 * it borrows the analysis, which must outlive it.
 */
#ifndef PFS_VERDICTS_H
#define PFS_VERDICTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "jsonw.h"
#include "offcpu.h"
#include "profile.h"

struct pfs_analysis;

/* A figure a verdict rests on. */
struct pfs_verdict_fig {
	const char *name; /* "on_cpu_share", "runnable_s", ... (docs/verdicts.md) */
	double value;
};

#define PFS_VERDICT_MAX_FIGS 12
#define PFS_VERDICT_MAX_STACKS 3

struct pfs_verdict {
	char id[64];	  /* "cpu-bound", "slow-path:json-encoder" */
	uint32_t master;  /* the group's master pid; 0: the processes of a capture without one */
	char title[400];  /* what was found, with its numbers */
	char advice[600]; /* what to change */
	const char *rule; /* the rule as docs/verdicts.md states it */
	struct pfs_verdict_fig figs[PFS_VERDICT_MAX_FIGS];
	size_t n_figs;
	uint32_t stacks[PFS_VERDICT_MAX_STACKS]; /* python-view paths the verdict names */
	size_t n_stacks;
};

/* A verdict that was not judged, and why. */
struct pfs_verdict_skip {
	const char *id;
	uint32_t master;
	char why[300];
	const char *enable; /* the recording option that would let it be judged, or NULL */
};

/* The shape of one group of workers. */
struct pfs_verdict_group {
	uint32_t master; /* 0: no server */
	const char *server;
	uint32_t *pids; /* workers with events, then silent ones */
	size_t n_pids, n_silent;
	unsigned worker; /* enum pfs_off_worker bits */
	size_t threads_max;
	uint64_t cpu_samples;
	const char *handler;  /* the heaviest request handler's frame name, or NULL */
	double handler_share; /* its share of the group's CPU samples */
};

struct pfs_verdicts {
	uint32_t cpus;	   /* the capture's CPUs online, 0 unknown */
	double duration_s; /* first to last sample */
	struct pfs_verdict_group *groups;
	size_t n_groups;
	struct pfs_verdict *v;
	size_t n;
	struct pfs_verdict_skip *skip;
	size_t n_skip;
};

/* The verdicts of a finished analysis. Never fails. */
struct pfs_verdicts *pfs_verdicts_new(const struct pfs_analysis *a);
void pfs_verdicts_free(struct pfs_verdicts *v);

/* The known slow paths offcpu counts (docs/verdicts.md has the table and the causes). */
const struct pfs_off_pattern *pfs_verdicts_patterns(size_t *n);
/* Offcpu books with that table: what pfs_analysis_new() uses. */
struct pfs_offcpu *pfs_verdicts_offcpu_new(struct pfs_profile *p);

/* Writes the keys "service", "verdicts" and "not_judged" of a summary's capture object. */
void pfs_verdicts_json(const struct pfs_analysis *a, struct pfs_jsonw *w);
/*
 * Writes a "budget" value: the time budget of thread tid of pids[0] (tid != 0), or the sum of
 * every thread of the pids (tid 0, with the part's heaviest stacks). cpu_samples, cat and
 * cpu_period are the analysis' figures of the same threads: they split the on-CPU time by
 * category, and stand for it when no switch was recorded.
 */
void pfs_verdicts_json_budget(const struct pfs_analysis *a, struct pfs_jsonw *w,
			      const uint32_t *pids, size_t npids, uint32_t tid,
			      uint64_t cpu_samples, const uint64_t *cat, uint64_t cpu_period);
/* The "what to change" block at the top of a terminal summary. */
void pfs_verdicts_text(const struct pfs_analysis *a, FILE *f);
/* The time-budget line of a process or a group of workers in the terminal summary. */
void pfs_verdicts_text_budget(const struct pfs_analysis *a, FILE *f, const uint32_t *pids,
			      size_t npids, uint64_t cpu_period);

#endif
