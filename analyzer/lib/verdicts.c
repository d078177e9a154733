/*
 * verdicts: the rules of docs/verdicts.md over a finished analysis. See verdicts.h.
 */
#include "verdicts.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "handlers.h"
#include "pyclass.h"
#include "xalloc.h"

/*
 * The thresholds, each explained in docs/verdicts.md (keep the two in step).
 */
#define MIN_CPU_SAMPLES 100    /* sample-based verdicts need this many CPU samples */
#define IDLE_SHARE 0.80	       /* idle (or silent) share of the workers' time */
#define IDLE_MAX_ON 0.10       /* ... while on CPU at most this share */
#define BUSY_MIN 0.50	       /* cpu-bound: busy at least half their time */
#define CPU_SHARE 0.70	       /* cpu-bound: on CPU or waiting for one, of the busy time */
#define CPU_UTIL_SAMPLES 0.70  /* cpu-bound without switches: CPU used per worker */
#define RUNNABLE_SHARE 0.25    /* oversubscribed: waiting for a CPU, of on + waiting */
#define GIL_SHARE 0.25	       /* gil-bound-threads: GIL wait, of the busy time */
#define GIL_MIN_S 0.10	       /* ... and at least this much GIL wait */
#define IO_SHARE 0.50	       /* io-bound: I/O wait, of the busy time */
#define IO_BUSY_MIN 0.20       /* ... busy at least this share (else idle says it) */
#define IO_MAX_UTIL 0.50       /* ... using at most this share of the CPUs */
#define GC_SHARE 0.10	       /* gc-heavy: GC CPU samples, of the CPU samples */
#define GC_P99_MS 50.0	       /* gc-heavy: p99 pause (probes) */
#define GC_MAX_MS 200.0	       /* gc-heavy: longest pause (probes) */
#define INTERP_SHARE 0.35      /* interpreter-overhead: eval loop + allocator */
#define SLOW_SHARE 0.05	       /* slow-path: samples in the pattern's frames */
#define SLOW_MIN 20	       /* ... and at least this many */
#define HANDLER_DOMINATES 0.50 /* a handler "dominates" from this share of worker CPU */
#define HOST_WAIT_SHARE                                                                            \
	0.50 /* cpu-bound: waiting for a CPU from this share, with the                             \
		 workers\' demand under the CPUs, is the host\'s contention */

#define NEED_SWITCH "perfsight record (-e sched:sched_switch at period 1, --switch-events)"
#define NEED_SAMPLES "a longer capture or a higher clock frequency (-e cpu-clock/freq=N/)"
#define NEED_LOAD "a capture under representative load"
#define NEED_QUIET "a capture on a host whose other processes leave the CPUs to the service"

/* ---- the known slow paths ---- */

static const char *const json_enc_fns[] = {"_iterencode", "_iterencode_dict", "_iterencode_list",
					   NULL};
static const char *const json_scan_fns[] = {"py_make_scanner", "_scan_once", "scan_once",
					    "py_scanstring", NULL};
static const char *const re_compile_fns[] = {"compile", "_compile",   "_code", "parse",
					     "_parse",	"_parse_sub", NULL};
static const char *const strptime_fns[] = {"_strptime", "_strptime_datetime", NULL};
static const char *const pickle_fns[] = {"save", "save_dict",  "save_list", "save_reduce",
					 "load", "load_build", "dump",	    "_batch_setitems",
					 NULL};

/* Order matters only for JSON output; ids are stable. docs/verdicts.md has the causes. */
static const struct pfs_off_pattern patterns[] = {
    {"json-encoder", "json/encoder.py", json_enc_fns},
    {"json-decoder", "json/scanner.py", json_scan_fns},
    {"json-decoder", "json/decoder.py", json_scan_fns},
    {"re-compile", "re/_compiler.py", re_compile_fns},
    {"re-compile", "re/_parser.py", re_compile_fns},
    {"re-compile", "sre_compile.py", re_compile_fns},
    {"re-compile", "sre_parse.py", re_compile_fns},
    {"strptime", "/_strptime.py", strptime_fns},
    {"pickle-python", "/pickle.py", pickle_fns},
    {"pydecimal", "/_pydecimal.py", NULL},
    {"pydatetime", "/_pydatetime.py", NULL},
    {"pyio", "/_pyio.py", NULL},
};
#define N_PATTERNS (sizeof(patterns) / sizeof(patterns[0]))
_Static_assert(N_PATTERNS <= PFS_OFF_MAX_PATTERNS, "the slow paths fit offcpu's table");

/* What each slow path is, and what to do about it. */
struct slow_text {
	const char *id;
	const char *what;
	const char *advice;
};

static const struct slow_text slow_texts[] = {
    {"json-encoder",
     "json's pure-Python encoder (json/encoder.py _make_iterencode), not its C accelerator",
     "the C encoder serves only json.dumps() without indent=: indent= (pretty printing; Flask "
     "pretty-prints in debug mode or with app.json.compact = False), json.dump() to a file, "
     "and calling JSONEncoder.iterencode() all run the Python one. Serialise with "
     "json.dumps(obj) without indent (and write the string), or use orjson"},
    {"json-decoder", "json's pure-Python scanner (py_make_scanner, py_scanstring)",
     "the C scanner (_json) is missing from this CPython build, or a JSONDecoder subclass "
     "replaced its scan_once: use a CPython built with _json, or orjson"},
    {"re-compile", "compiling regular expressions (re's parser and compiler)",
     "a pattern compiled at every call: re caches 512 patterns (3.12) and recompiles past that; "
     "compile each pattern once at import (PATTERN = re.compile(...)) and reuse it"},
    {"strptime", "datetime.strptime's pure-Python parser (_strptime.py)",
     "strptime parses in Python with a regular expression per format; for ISO 8601 strings use "
     "datetime.fromisoformat() (C), or parse fixed layouts by slicing"},
    {"pickle-python", "the pure-Python pickle (pickle.py's _Pickler/_Unpickler)",
     "pickle._Pickler, pickle._dumps or a pickler class written in Python run the slow "
     "implementation: use pickle.dumps/loads (the C _pickle)"},
    {"pydecimal", "the pure-Python decimal (_pydecimal.py)",
     "this CPython has no C _decimal (libmpdec) or the code imports _pydecimal: use a build "
     "with _decimal"},
    {"pydatetime", "the pure-Python datetime (_pydatetime.py)",
     "the C _datetime module is missing from this CPython build: use a complete build"},
    {"pyio", "the pure-Python io (_pyio.py)",
     "code imports _pyio (a test helper) instead of io: use io"},
};

const struct pfs_off_pattern *pfs_verdicts_patterns(size_t *n)
{
	*n = N_PATTERNS;
	return patterns;
}

struct pfs_offcpu *pfs_verdicts_offcpu_new(struct pfs_profile *p)
{
	return pfs_offcpu_new(p, patterns, N_PATTERNS);
}

static const struct slow_text *slow_text(const char *id)
{
	for (size_t i = 0; i < sizeof(slow_texts) / sizeof(slow_texts[0]); i++)
		if (!strcmp(slow_texts[i].id, id))
			return &slow_texts[i];
	return NULL;
}

/* ---- the figures of a group ---- */

struct gfig {
	struct pfs_verdict_group *g;
	bool sw;	  /* off-CPU parts measured */
	double D;	  /* capture seconds */
	size_t n_workers; /* with events */
	struct pfs_off_budget b;
	double life, rec, on, part[PFS_OFF_PARTS], wake, cpu_wait, busy, silent;
	uint64_t cpu_samples, cat[PFS_CAT_COUNT], gc_samples, cpu_period;
	uint64_t pat[N_PATTERNS];
};

static double secs(uint64_t ns)
{
	return (double)ns / 1e9;
}

static double ratio(double n, double d)
{
	return d > 0 ? n / d : 0.0;
}

static bool pid_in(uint32_t pid, const uint32_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == pid)
			return true;
	return false;
}

static const char *handler_label(const char *name, char *buf, size_t len)
{
	const char *fn, *file;
	size_t fl, filel;
	if (name && pfs_pyclass_split_pyname(name, &fn, &fl, &file, &filel))
		snprintf(buf, len, "%.*s (%s)", (int)fl, fn, pfs_pyclass_basename(file));
	else
		snprintf(buf, len, "%s", name ? name : "?");
	return buf;
}

static void add_pid(struct pfs_verdict_group *g, uint32_t pid)
{
	if (pid_in(pid, g->pids, g->n_pids))
		return;
	g->pids = pfs_xreallocarray(g->pids, g->n_pids + 1, sizeof(*g->pids));
	g->pids[g->n_pids++] = pid;
}

/* Workers of master with no event in the capture: children in the fork tree, alive through it. */
static void add_silent(const struct pfs_analysis *a, struct pfs_verdict_group *g, uint64_t first,
		       uint64_t last)
{
	struct pfs_profile *p = pfs_analysis_profile(a);
	for (size_t i = 0; i < pfs_profile_n_processes(p); i++) {
		const struct pfs_process *pr = pfs_profile_process_at(p, i);
		if (pr->ppid != g->master || pr->pid == g->master ||
		    pid_in(pr->pid, g->pids, g->n_pids))
			continue;
		if ((pr->start && pr->start > first) || (pr->end && pr->end < last))
			continue; /* forked or gone within the capture: it would have events */
		if (pfs_analysis_n_processes(a)) {
			bool has = false;
			for (size_t j = 0; j < pfs_analysis_n_processes(a); j++)
				has = has || pfs_analysis_process(a, j)->pid == pr->pid;
			if (has)
				continue;
		}
		add_pid(g, pr->pid);
		g->n_silent++;
	}
}

static void groups_of(const struct pfs_analysis *a, struct pfs_verdicts *vs)
{
	struct pfs_an_header h;
	pfs_analysis_header(a, &h);
	for (size_t i = 0; i < pfs_analysis_n_processes(a); i++) {
		const struct pfs_an_process *m = pfs_analysis_process(a, i);
		struct pfs_verdict_group *g;
		if (strcmp(m->role, "master"))
			continue;
		vs->groups = pfs_xreallocarray(vs->groups, vs->n_groups + 1, sizeof(*vs->groups));
		g = &vs->groups[vs->n_groups++];
		memset(g, 0, sizeof(*g));
		g->master = m->pid;
		g->server = m->server;
		for (size_t j = 0; j < pfs_analysis_n_processes(a); j++) {
			const struct pfs_an_process *p = pfs_analysis_process(a, j);
			if (!strcmp(p->role, "worker") && p->ppid == m->pid)
				add_pid(g, p->pid);
		}
		add_silent(a, g, h.first_time, h.last_time);
	}
	if (vs->n_groups)
		return;
	/* no server: the processes that ran, judged together */
	vs->groups = pfs_xcalloc(1, sizeof(*vs->groups));
	for (size_t i = 0; i < pfs_analysis_n_processes(a); i++) {
		const struct pfs_an_process *p = pfs_analysis_process(a, i);
		if (p->cpu_samples)
			add_pid(&vs->groups[0], p->pid);
	}
	if (vs->groups[0].n_pids)
		vs->n_groups = 1;
}

static void figures(const struct pfs_analysis *a, struct pfs_verdicts *vs,
		    struct pfs_verdict_group *g, struct gfig *x)
{
	const struct pfs_offcpu *o = pfs_analysis_offcpu(a);
	const struct pfs_off_info *oi = pfs_offcpu_info(o);
	const struct pfs_handlers *hs = pfs_analysis_handlers(a);
	memset(x, 0, sizeof(*x));
	x->g = g;
	x->D = vs->duration_s;
	x->sw = oi->known && oi->switches;
	for (size_t i = 0; i < pfs_analysis_n_processes(a); i++) {
		const struct pfs_an_process *p = pfs_analysis_process(a, i);
		const struct pfs_off_proc *op;
		if (!pid_in(p->pid, g->pids, g->n_pids))
			continue;
		x->n_workers++;
		x->cpu_samples += p->cpu_samples;
		x->gc_samples += p->gc_samples;
		x->cpu_period += p->cpu_period;
		for (int c = 0; c < PFS_CAT_COUNT; c++)
			x->cat[c] += p->cat[c];
		if (p->n_threads > g->threads_max)
			g->threads_max = p->n_threads;
		if ((op = pfs_offcpu_proc(o, p->pid))) {
			g->worker |= op->worker;
			for (size_t k = 0; k < N_PATTERNS; k++)
				x->pat[k] += op->pat[k];
		}
	}
	g->cpu_samples = x->cpu_samples;
	for (size_t i = 0; i < pfs_offcpu_n_budgets(o); i++) {
		const struct pfs_off_budget *b = pfs_offcpu_budget_at(o, i);
		if (b && pid_in(b->pid, g->pids, g->n_pids))
			pfs_offcpu_budget_add(&x->b, b);
	}
	x->silent = (double)g->n_silent * x->D;
	x->life = secs(x->b.life_ns);
	x->rec = secs(x->b.life_ns - pfs_offcpu_unrecorded(&x->b));
	x->on = secs(x->b.on_ns);
	for (int k = 0; k < PFS_OFF_PARTS; k++) {
		x->part[k] = secs(x->b.part_ns[k]);
		if (k != PFS_OFF_RUNNABLE)
			x->wake += secs(x->b.wake_ns[k]);
	}
	x->cpu_wait = x->part[PFS_OFF_RUNNABLE] + x->wake;
	x->busy = x->rec - x->part[PFS_OFF_IDLE];
	/* the heaviest handler, as a share of this group's CPU */
	if (hs && pfs_handlers_n(hs) && x->cpu_samples) {
		const struct pfs_handler_row *r = pfs_handlers_row(hs, 0);
		g->handler = r->name;
		g->handler_share = ratio((double)r->cpu_samples, (double)x->cpu_samples);
		if (g->handler_share > 1)
			g->handler_share = 1;
	}
}

/* ---- building verdicts ---- */

static struct pfs_verdict *add_verdict(struct pfs_verdicts *vs, const struct gfig *x,
				       const char *id, const char *rule)
{
	struct pfs_verdict *v;
	vs->v = pfs_xreallocarray(vs->v, vs->n + 1, sizeof(*vs->v));
	v = &vs->v[vs->n++];
	memset(v, 0, sizeof(*v));
	snprintf(v->id, sizeof(v->id), "%s", id);
	v->master = x->g->master;
	v->rule = rule;
	return v;
}

static void fig(struct pfs_verdict *v, const char *name, double value)
{
	if (v->n_figs < PFS_VERDICT_MAX_FIGS)
		v->figs[v->n_figs++] = (struct pfs_verdict_fig){name, value};
}

__attribute__((format(printf, 3, 4))) static void put(char *buf, size_t len, const char *fmt, ...)
{
	size_t l = strlen(buf);
	va_list ap;
	if (l + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + l, len - l, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 5, 6))) static void skip(struct pfs_verdicts *vs,
						       const struct gfig *x, const char *id,
						       const char *enable, const char *fmt, ...)
{
	struct pfs_verdict_skip *s;
	va_list ap;
	vs->skip = pfs_xreallocarray(vs->skip, vs->n_skip + 1, sizeof(*vs->skip));
	s = &vs->skip[vs->n_skip++];
	s->id = id;
	s->master = x->g->master;
	s->enable = enable;
	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
}

/* "6 sync workers", "the gthread worker", "2 processes". */
static void who(const struct gfig *x, char *buf, size_t len)
{
	const struct pfs_verdict_group *g = x->g;
	char cls[64] = "";
	size_t n = g->n_pids;
	for (int i = 0; i < PFS_WK_COUNT; i++)
		if (g->worker & (1u << i))
			put(cls, sizeof(cls), "%s%s", cls[0] ? "/" : "",
			    pfs_off_worker_name((enum pfs_off_worker)(1u << i)));
	if (!g->master)
		snprintf(buf, len, "%s%zu process%s", n == 1 ? "the " : "", n, n == 1 ? "" : "es");
	else if (n == 1)
		snprintf(buf, len, "the %s%s%s worker", cls, cls[0] ? " " : "",
			 g->server ? g->server : "");
	else
		snprintf(buf, len, "the %zu %s%s%s workers", n, cls, cls[0] ? " " : "",
			 g->server ? g->server : "");
	if (n == 1 && !g->master)
		snprintf(buf, len, "the process");
}

/* "; one endpoint takes 84% of worker CPU: r_cpu (verdictapp.py)" when one dominates. */
static void handler_note(const struct gfig *x, char *buf, size_t len)
{
	char lb[200];
	if (!x->g->handler || x->g->handler_share < HANDLER_DOMINATES)
		return;
	put(buf, len, "; one endpoint takes %.0f%% of worker CPU: %s", 100 * x->g->handler_share,
	    handler_label(x->g->handler, lb, sizeof(lb)));
}

static void stacks_of(const struct pfs_analysis *a, const struct gfig *x, enum pfs_off_part part,
		      struct pfs_verdict *v)
{
	struct pfs_off_stack st[PFS_VERDICT_MAX_STACKS];
	size_t n = pfs_offcpu_top_stacks(pfs_analysis_offcpu(a), x->g->pids, x->g->n_pids, part, st,
					 PFS_VERDICT_MAX_STACKS);
	for (size_t i = 0; i < n; i++)
		v->stacks[v->n_stacks++] = st[i].pypath;
}

static void judge_idle(struct pfs_verdicts *vs, const struct gfig *x, bool *idle)
{
	double all = x->rec + x->silent, share = ratio(x->part[PFS_OFF_IDLE] + x->silent, all);
	char w[128];
	struct pfs_verdict *v;
	*idle = false;
	if (!x->sw) {
		skip(
		    vs, x, "idle", NEED_SWITCH,
		    "sched:sched_switch was not recorded: waiting for requests cannot be told from "
		    "other waits");
		return;
	}
	if (all <= 0 || share < IDLE_SHARE || ratio(x->on, all) > IDLE_MAX_ON)
		return;
	*idle = true;
	v = add_verdict(vs, x, "idle",
			"idle (the server's own loop) or silent >= 80% of the workers' recorded "
			"time, on CPU <= 10%");
	who(x, w, sizeof(w));
	snprintf(v->title, sizeof(v->title),
		 "%s waited for requests %.0f%% of the capture and ran %.1f%% of it", w,
		 100 * share, 100 * ratio(x->on, all));
	if (x->g->n_silent)
		put(v->title, sizeof(v->title), "; %zu of %zu had no event at all in %.1f s",
		    x->g->n_silent, x->g->n_pids, x->D);
	snprintf(v->advice, sizeof(v->advice),
		 "the capture saw little load, so it says nothing about capacity (worker count, "
		 "threads, CPU): record again under representative load");
	fig(v, "idle_share", share);
	fig(v, "idle_s", x->part[PFS_OFF_IDLE]);
	fig(v, "silent_workers", (double)x->g->n_silent);
	fig(v, "on_cpu_share", ratio(x->on, all));
	fig(v, "workers", (double)x->g->n_pids);
}

static void judge_cpu(const struct pfs_analysis *a, struct pfs_verdicts *vs, const struct gfig *x)
{
	char w[128];
	struct pfs_verdict *v;
	double cpus = vs->cpus, util;
	size_t n = x->g->n_pids;
	(void)a;
	if (!x->sw) {
		/* without switches: CPU used per worker, from the samples */
		util = ratio(secs(x->cpu_period), x->D * (double)(n ? n : 1));
		if (!x->cpu_period || util < CPU_UTIL_SAMPLES)
			return;
		v = add_verdict(
		    vs, x, "cpu-bound",
		    "CPU used per worker >= 70% of the capture (from the clock samples; "
		    "no switches recorded)");
		who(x, w, sizeof(w));
		snprintf(v->title, sizeof(v->title),
			 "%s are CPU-bound: each used %.0f%% of a CPU over %.1f s", w, 100 * util,
			 x->D);
		fig(v, "cpu_per_worker", util);
		if (cpus > 0)
			put(v->title, sizeof(v->title), " (%.0f CPUs)", cpus);
	} else {
		double share = ratio(x->on + x->cpu_wait, x->busy), busy = ratio(x->busy, x->rec);
		double wait = ratio(x->cpu_wait, x->on + x->cpu_wait);
		double demand = ratio(x->on + x->cpu_wait, x->D);
		if (x->rec <= 0 || busy < BUSY_MIN || share < CPU_SHARE)
			return;
		if (wait >= HOST_WAIT_SHARE && cpus > 0 && demand <= cpus) {
			/* the workers wanted fewer CPUs than the host has, and waited for them most
			 * of the time: other processes took them; how busy the service would be on
			 * its own cannot be told */
			skip(
			    vs, x, "cpu-bound", NEED_QUIET,
			    "the workers waited for a CPU %.0f%% of the time they were ready to "
			    "run "
			    "while wanting %.2f of %.0f CPUs: other processes of the host took the "
			    "CPUs",
			    100 * wait, demand, cpus);
			return;
		}
		util = ratio(x->on, x->D);
		v = add_verdict(
		    vs, x, "cpu-bound",
		    "busy >= 50% of the recorded time, on CPU or waiting for one >= 70% of "
		    "the busy time, and not mostly waiting for CPUs the workers did not fill "
		    "(the host's other processes)");
		who(x, w, sizeof(w));
		snprintf(v->title, sizeof(v->title),
			 "%s are CPU-bound: %.0f%% of their busy time on a CPU or waiting for one, "
			 "busy %.0f%% of the time; they used %.2f CPUs",
			 w, 100 * share, 100 * busy, util);
		fig(v, "cpu_share_of_busy", share);
		fig(v, "busy_share", busy);
		fig(v, "on_cpu_s", x->on);
		fig(v, "cpu_wait_s", x->cpu_wait);
		fig(v, "cpus_used", util);
		if (cpus > 0)
			put(v->title, sizeof(v->title), " of %.0f", cpus);
	}
	handler_note(x, v->title, sizeof(v->title));
	fig(v, "workers", (double)n);
	fig(v, "cpus", cpus);
	if (cpus <= 0)
		snprintf(v->advice, sizeof(v->advice),
			 "the capture does not say how many CPUs the host has: for CPU-bound "
			 "workers, one worker per CPU is the most that helps");
	else if ((double)n > cpus)
		snprintf(v->advice, sizeof(v->advice),
			 "%zu workers on %.0f CPUs: adding workers only adds contention; use at "
			 "most %.0f (one per CPU), and make each request cheaper (the handler, the "
			 "interpreter and GC verdicts say where)",
			 n, cpus, cpus);
	else if ((double)n < cpus)
		snprintf(v->advice, sizeof(v->advice),
			 "%zu workers on %.0f CPUs: up to %.0f workers (one per CPU) would raise "
			 "throughput; past that, only cheaper requests help",
			 n, cpus, cpus);
	else
		snprintf(v->advice, sizeof(v->advice),
			 "one worker per CPU already: more workers would only contend; throughput "
			 "needs cheaper requests or more CPUs");
}

static void judge_oversub(struct pfs_verdicts *vs, const struct gfig *x)
{
	char w[128];
	struct pfs_verdict *v;
	double share, demand, cpus = vs->cpus;
	if (!x->sw) {
		skip(vs, x, "oversubscribed", NEED_SWITCH,
		     "sched:sched_switch was not recorded: preempted time (runnable) is not "
		     "measured");
		return;
	}
	share = ratio(x->cpu_wait, x->on + x->cpu_wait);
	demand = ratio(x->on + x->cpu_wait, x->D);
	/* the advice is about the worker count: threads of fewer processes than CPUs that want
	 * more CPUs are the GIL's or the thread count's business (gil-bound-threads) */
	if (share < RUNNABLE_SHARE || cpus <= 0 || demand <= cpus || (double)x->g->n_pids <= cpus)
		return;
	v = add_verdict(
	    vs, x, "oversubscribed",
	    "more workers than CPUs, waiting for a CPU >= 25% of the time the workers "
	    "were ready to run, and their CPU demand (on CPU + waiting for one, over the "
	    "capture) > the CPUs");
	who(x, w, sizeof(w));
	snprintf(v->title, sizeof(v->title),
		 "%s wanted %.1f CPUs on a %.0f-CPU host: %.0f%% of the time they were ready to "
		 "run they waited for a CPU (%.2f s preempted, %.2f s from wakeup to run)",
		 w, demand, cpus, 100 * share, x->part[PFS_OFF_RUNNABLE], x->wake);
	snprintf(v->advice, sizeof(v->advice),
		 "more workers than the CPUs can run: use at most %.0f workers for CPU-bound code "
		 "(gunicorn -w %.0f), or give the service more CPUs; the waiting counts other "
		 "processes of the host too",
		 cpus, cpus);
	fig(v, "cpu_wait_share", share);
	fig(v, "cpu_demand", demand);
	fig(v, "cpus", cpus);
	fig(v, "runnable_s", x->part[PFS_OFF_RUNNABLE]);
	fig(v, "wakeup_delay_s", x->wake);
	fig(v, "workers", (double)x->g->n_pids);
}

static void judge_gil(const struct pfs_analysis *a, struct pfs_verdicts *vs, const struct gfig *x)
{
	char w[128], lb[200];
	struct pfs_verdict *v;
	const struct pfs_handlers *hs = pfs_analysis_handlers(a);
	double share;
	if (!x->sw) {
		skip(vs, x, "gil-bound-threads", NEED_SWITCH,
		     "sched:sched_switch was not recorded: GIL waits are not measured");
		return;
	}
	share = ratio(x->part[PFS_OFF_GIL], x->busy);
	if (x->g->threads_max < 2 || share < GIL_SHARE || x->part[PFS_OFF_GIL] < GIL_MIN_S)
		return;
	v = add_verdict(vs, x, "gil-bound-threads",
			"2+ threads per worker, GIL wait >= 25% of their busy time (and >= 0.1 s)");
	who(x, w, sizeof(w));
	snprintf(v->title, sizeof(v->title),
		 "the threads of %s wait on the GIL %.0f%% of their busy time (%.2f s, up to %zu "
		 "threads per %s)",
		 w, 100 * share, x->part[PFS_OFF_GIL], x->g->threads_max,
		 x->g->master ? "worker" : "process");
	/* the handler that waits most */
	if (hs) {
		const struct pfs_handler_row *best = NULL;
		for (size_t i = 0; i < pfs_handlers_n(hs); i++) {
			const struct pfs_handler_row *r = pfs_handlers_row(hs, i);
			if (!best || r->gil_wait_ns > best->gil_wait_ns)
				best = r;
		}
		/* named when it holds most of the wait: a handler with a small part says little */
		if (best && ratio((double)best->gil_wait_ns, 1e9 * x->part[PFS_OFF_GIL]) >=
				HANDLER_DOMINATES)
			put(v->title, sizeof(v->title), ", %.0f%% of it in %s",
			    100 * ratio((double)best->gil_wait_ns, 1e9 * x->part[PFS_OFF_GIL]),
			    handler_label(best->name, lb, sizeof(lb)));
	}
	if (x->g->master)
		snprintf(
		    v->advice, sizeof(v->advice),
		    "threads add no parallelism for this code (only one runs Python at a time): "
		    "use more worker processes and fewer threads (gunicorn -w N --threads 1 or "
		    "2, N up to the CPUs), or move the hot code out of Python");
	else
		snprintf(
		    v->advice, sizeof(v->advice),
		    "threads add no parallelism for this code (only one runs Python at a time): "
		    "run it in processes (multiprocessing, concurrent.futures' "
		    "ProcessPoolExecutor, more worker processes), or move the hot code out of "
		    "Python (C extensions that release the GIL)");
	fig(v, "gil_wait_share", share);
	fig(v, "gil_wait_s", x->part[PFS_OFF_GIL]);
	fig(v, "threads_per_worker", (double)x->g->threads_max);
	fig(v, "workers", (double)x->g->n_pids);
	stacks_of(a, x, PFS_OFF_GIL, v);
}

static void judge_io(const struct pfs_analysis *a, struct pfs_verdicts *vs, const struct gfig *x)
{
	char w[128];
	struct pfs_verdict *v;
	double share, util, cpus = vs->cpus;
	unsigned wk = x->g->worker;
	if (!x->sw) {
		skip(vs, x, "io-bound", NEED_SWITCH,
		     "sched:sched_switch was not recorded: I/O waits are not measured");
		return;
	}
	share = ratio(x->part[PFS_OFF_IO], x->busy);
	util = ratio(x->on, x->D);
	if (share < IO_SHARE || ratio(x->busy, x->rec) < IO_BUSY_MIN ||
	    (cpus > 0 && util > IO_MAX_UTIL * cpus))
		return;
	v = add_verdict(vs, x, "io-bound",
			"I/O wait >= 50% of the busy time, busy >= 20% of the recorded time, and "
			"the workers used <= half the CPUs");
	who(x, w, sizeof(w));
	snprintf(v->title, sizeof(v->title),
		 "%s are I/O-bound: %.0f%% of their busy time waiting on I/O (%.2f s), using %.2f "
		 "CPUs",
		 w, 100 * share, x->part[PFS_OFF_IO], util);
	if (cpus > 0)
		put(v->title, sizeof(v->title), " of %.0f", cpus);
	if (wk & (PFS_WK_GEVENT | PFS_WK_EVENTLET | PFS_WK_UVICORN | PFS_WK_TORNADO))
		snprintf(v->advice, sizeof(v->advice),
			 "async workers already overlap their waits: the time is the backends' "
			 "latency (the stacks say which calls); more connections per worker or a "
			 "faster backend raise throughput");
	else if (wk & PFS_WK_GTHREAD)
		snprintf(v->advice, sizeof(v->advice),
			 "each request holds a thread while it waits: more threads (--threads) or "
			 "an async worker (-k gevent) would serve more requests at once; the CPUs "
			 "are mostly free");
	else
		snprintf(v->advice, sizeof(v->advice),
			 "a sync worker serves one request at a time and waits with it: threads "
			 "(-k gthread --threads N), more workers, or an async worker (-k gevent) "
			 "would serve more requests at once; the CPUs are mostly free");
	fig(v, "io_wait_share", share);
	fig(v, "io_wait_s", x->part[PFS_OFF_IO]);
	fig(v, "cpus_used", util);
	fig(v, "cpus", cpus);
	fig(v, "workers", (double)x->g->n_pids);
	stacks_of(a, x, PFS_OFF_IO, v);
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return (a > b) - (a < b);
}

static void judge_gc(const struct pfs_analysis *a, struct pfs_verdicts *vs, const struct gfig *x)
{
	char w[128], lb[200];
	struct pfs_verdict *v;
	const struct pfs_handlers *hs = pfs_analysis_handlers(a);
	double share = ratio((double)x->gc_samples, (double)x->cpu_samples);
	double p99 = 0, max = 0;
	uint64_t *d = NULL, gens[3] = {0, 0, 0}, full_ns = 0, young_ns = 0;
	size_t n = 0;
	bool probes = pfs_analysis_has_gc_probes(a), gen = false, enough;
	struct pfs_an_gctrigger trig[PFS_VERDICT_MAX_STACKS];
	size_t nt = 0;
	enough = x->cpu_samples >= MIN_CPU_SAMPLES;
	if (probes) {
		d = pfs_xmalloc((pfs_analysis_n_pauses(a) + 1) * sizeof(*d));
		for (size_t i = 0; i < pfs_analysis_n_pauses(a); i++) {
			const struct pfs_an_pause *ps = pfs_analysis_pause(a, i);
			if (!pid_in(ps->pid, x->g->pids, x->g->n_pids))
				continue;
			d[n++] = ps->dur;
			if (ps->gen >= 0 && ps->gen <= 2) {
				gen = true;
				gens[ps->gen]++;
				if (ps->gen == 2)
					full_ns += ps->dur;
				else
					young_ns += ps->dur;
			}
		}
		if (n) {
			qsort(d, n, sizeof(*d), cmp_u64);
			size_t r = (size_t)ceil(0.99 * (double)n);
			p99 = (double)d[(r ? r : 1) - 1] / 1e6;
			max = (double)d[n - 1] / 1e6;
		}
		free(d);
	}
	if (!enough && !n) {
		skip(vs, x, "gc-heavy", NEED_SAMPLES,
		     "%llu CPU samples of the workers (fewer than %d): too few to judge GC share",
		     (unsigned long long)x->cpu_samples, MIN_CPU_SAMPLES);
		return;
	}
	if (!((enough && share >= GC_SHARE) || p99 >= GC_P99_MS || max >= GC_MAX_MS))
		return;
	v = add_verdict(vs, x, "gc-heavy",
			"GC >= 10% of the CPU samples (100+ samples), or with GC probes a p99 "
			"pause >= 50 ms or a pause >= 200 ms");
	who(x, w, sizeof(w));
	snprintf(v->title, sizeof(v->title), "GC takes %.0f%% of the CPU of %s", 100 * share, w);
	if (n)
		put(v->title, sizeof(v->title), "; %zu pauses, p99 %.1f ms, longest %.1f ms", n,
		    p99, max);
	/* the code that triggers it */
	for (size_t i = 0; i < x->g->n_pids && nt < PFS_VERDICT_MAX_STACKS; i++) {
		struct pfs_an_gctrigger t[PFS_VERDICT_MAX_STACKS];
		size_t k = pfs_analysis_gc_triggers(a, x->g->pids[i], t, PFS_VERDICT_MAX_STACKS);
		for (size_t j = 0; j < k && nt < PFS_VERDICT_MAX_STACKS; j++)
			trig[nt++] = t[j];
	}
	for (size_t i = 0; i < nt; i++)
		v->stacks[v->n_stacks++] = trig[i].pypath;
	if (hs) {
		const struct pfs_handler_row *best = NULL;
		for (size_t i = 0; i < pfs_handlers_n(hs); i++) {
			const struct pfs_handler_row *r = pfs_handlers_row(hs, i);
			if (!best || r->gc_samples > best->gc_samples)
				best = r;
		}
		if (best &&
		    ratio((double)best->gc_samples, (double)x->gc_samples) >= HANDLER_DOMINATES)
			put(v->title, sizeof(v->title), "; %.0f%% of the GC is under %s",
			    100 * ratio((double)best->gc_samples, (double)x->gc_samples),
			    handler_label(best->name, lb, sizeof(lb)));
	}
	if (gen && gens[2] >= 2 * x->g->n_pids && full_ns >= young_ns)
		snprintf(
		    v->advice, sizeof(v->advice),
		    "full collections (generation 2) repeat in every worker and take most of "
		    "the GC time: with --preload, call gc.freeze() in the master after the app "
		    "is loaded (gunicorn's when_ready or on_starting hook) so workers stop "
		    "rescanning the objects they share; and reduce reference cycles in the code "
		    "that triggers them");
	else if (gen && gens[0] > 10 * (gens[1] + gens[2] + 1))
		snprintf(
		    v->advice, sizeof(v->advice),
		    "young collections (generation 0) are frequent and short: raise the first "
		    "threshold (gc.set_threshold(50000, 20, 20) at start-up) so fewer run, and "
		    "reduce the container objects created per request in the code that "
		    "triggers them");
	else
		snprintf(
		    v->advice, sizeof(v->advice),
		    "reduce the reference cycles (objects that point at each other: parent "
		    "links, closures over self) made in the code that triggers collections, or "
		    "break them explicitly; a higher gen0 threshold (gc.set_threshold) makes "
		    "young collections rarer%s",
		    probes ? ""
			   : "; record the GC probes (perfsight record --probes) for "
			     "pause lengths and generations");
	fig(v, "gc_share", share);
	fig(v, "gc_samples", (double)x->gc_samples);
	fig(v, "cpu_samples", (double)x->cpu_samples);
	if (n) {
		fig(v, "pauses", (double)n);
		fig(v, "pause_p99_ms", p99);
		fig(v, "pause_max_ms", max);
	}
	if (gen) {
		fig(v, "gen0_pauses", (double)gens[0]);
		fig(v, "gen1_pauses", (double)gens[1]);
		fig(v, "gen2_pauses", (double)gens[2]);
	}
}

static void judge_interp(const struct pfs_analysis *a, struct pfs_verdicts *vs,
			 const struct gfig *x)
{
	const struct pfs_pyver *ver = pfs_analysis_python(a);
	double ip, al, app, share;
	struct pfs_verdict *v;
	char w[128];
	if (!ver)
		return;
	if (x->cpu_samples < MIN_CPU_SAMPLES) {
		skip(vs, x, "interpreter-overhead", NEED_SAMPLES,
		     "%llu CPU samples of the workers (fewer than %d): too few to judge",
		     (unsigned long long)x->cpu_samples, MIN_CPU_SAMPLES);
		return;
	}
	ip = ratio((double)x->cat[PFS_CAT_INTERP], (double)x->cpu_samples);
	al = ratio((double)x->cat[PFS_CAT_ALLOC], (double)x->cpu_samples);
	app = ratio(
	    (double)(x->cat[PFS_CAT_PY_APP] + x->cat[PFS_CAT_PY_STDLIB] + x->cat[PFS_CAT_PY_SITE]),
	    (double)x->cpu_samples);
	share = ip + al;
	if (share < INTERP_SHARE)
		return;
	v = add_verdict(vs, x, "interpreter-overhead",
			"eval loop + allocator >= 35% of the CPU samples (100+ samples)");
	who(x, w, sizeof(w));
	snprintf(v->title, sizeof(v->title),
		 "the eval loop and the allocator take %.0f%% of the CPU of %s (interpreter "
		 "%.0f%%, alloc %.0f%%, against %.0f%% in the runtime work of the Python code "
		 "itself), CPython %d.%d",
		 100 * share, w, 100 * ip, 100 * al, 100 * app, ver->major, ver->minor);
	handler_note(x, v->title, sizeof(v->title));
	if (ver->major == 3 && ver->minor < 11)
		snprintf(v->advice, sizeof(v->advice),
			 "CPython %d.%d has no specialising interpreter: 3.11+ (PEP 659) typically "
			 "runs such pure-Python code 1.25x faster or more; then move the hottest "
			 "loops into builtins, comprehensions or C (numpy, mypyc, Cython)",
			 ver->major, ver->minor);
	else
		snprintf(
		    v->advice, sizeof(v->advice),
		    "CPython %d.%d already specialises bytecode, so an upgrade helps little: "
		    "do less Python per request in the hot handler (builtins and "
		    "comprehensions over explicit loops, fewer temporary objects), or move the "
		    "loop to C (numpy, mypyc, Cython)",
		    ver->major, ver->minor);
	fig(v, "interpreter_alloc_share", share);
	fig(v, "interpreter_share", ip);
	fig(v, "alloc_share", al);
	fig(v, "python_code_share", app);
	fig(v, "python_version", ver->major + ver->minor / 100.0);
}

static void judge_slow(struct pfs_verdicts *vs, const struct gfig *x)
{
	/* patterns sharing an id (json-decoder's two files) count once: the larger */
	for (size_t i = 0; i < N_PATTERNS; i++) {
		uint64_t k = x->pat[i];
		const struct slow_text *t;
		struct pfs_verdict *v;
		char id[64], w[128];
		double share;
		bool dup = false;
		for (size_t j = 0; j < N_PATTERNS; j++) {
			if (j == i || strcmp(patterns[j].id, patterns[i].id))
				continue;
			if (x->pat[j] > k || (x->pat[j] == k && j < i))
				dup = true;
		}
		share = ratio((double)k, (double)x->cpu_samples);
		if (dup || k < SLOW_MIN || share < SLOW_SHARE)
			continue;
		t = slow_text(patterns[i].id);
		snprintf(id, sizeof(id), "slow-path:%s", patterns[i].id);
		v = add_verdict(
		    vs, x, id,
		    "a known slow path's frames on >= 5% of the CPU samples (and >= 20)");
		who(x, w, sizeof(w));
		snprintf(v->title, sizeof(v->title), "%.0f%% of the CPU of %s is in %s",
			 100 * share, w, t ? t->what : patterns[i].id);
		snprintf(v->advice, sizeof(v->advice), "%s", t ? t->advice : "");
		fig(v, "share", share);
		fig(v, "samples", (double)k);
		fig(v, "cpu_samples", (double)x->cpu_samples);
	}
}

struct pfs_verdicts *pfs_verdicts_new(const struct pfs_analysis *a)
{
	struct pfs_verdicts *vs = pfs_xcalloc(1, sizeof(*vs));
	const struct pfs_off_info *oi = pfs_offcpu_info(pfs_analysis_offcpu(a));
	struct pfs_an_header h;
	pfs_analysis_header(a, &h);
	vs->cpus = oi->known ? oi->nr_cpus : 0;
	vs->duration_s = h.last_time > h.first_time ? secs(h.last_time - h.first_time) : 0.0;
	groups_of(a, vs);
	for (size_t i = 0; i < vs->n_groups; i++) {
		struct gfig x;
		bool idle = false;
		figures(a, vs, &vs->groups[i], &x);
		judge_idle(vs, &x, &idle);
		if (idle) {
			static const char *const cap[] = {"cpu-bound", "oversubscribed",
							  "gil-bound-threads", "io-bound"};
			for (size_t k = 0; k < 4; k++)
				skip(vs, &x, cap[k], NEED_LOAD,
				     "the workers were idle: capacity cannot be judged");
		} else {
			judge_cpu(a, vs, &x);
			judge_oversub(vs, &x);
			judge_gil(a, vs, &x);
			judge_io(a, vs, &x);
		}
		judge_gc(a, vs, &x);
		if (x.cpu_samples >= MIN_CPU_SAMPLES) {
			judge_interp(a, vs, &x);
			judge_slow(vs, &x);
		} else {
			judge_interp(a, vs, &x); /* says why not */
			skip(vs, &x, "slow-path", NEED_SAMPLES,
			     "%llu CPU samples of the workers (fewer than %d): too few to judge",
			     (unsigned long long)x.cpu_samples, MIN_CPU_SAMPLES);
		}
	}
	return vs;
}

void pfs_verdicts_free(struct pfs_verdicts *vs)
{
	if (!vs)
		return;
	for (size_t i = 0; i < vs->n_groups; i++)
		free(vs->groups[i].pids);
	free(vs->groups);
	free(vs->v);
	free(vs->skip);
	free(vs);
}

/* ---- JSON ---- */

static void json_worker_class(struct pfs_jsonw *w, unsigned bits)
{
	pfs_jsonw_arr(w);
	for (int i = 0; i < PFS_WK_COUNT; i++)
		if (bits & (1u << i))
			pfs_jsonw_str(w, pfs_off_worker_name((enum pfs_off_worker)(1u << i)));
	pfs_jsonw_end_arr(w);
}

void pfs_verdicts_json(const struct pfs_analysis *a, struct pfs_jsonw *w)
{
	struct pfs_verdicts *vs = pfs_verdicts_new(a);
	const struct pfs_off_info *oi = pfs_offcpu_info(pfs_analysis_offcpu(a));
	pfs_jsonw_key(w, "service");
	pfs_jsonw_obj(w);
	pfs_jsonw_key(w, "cpus");
	if (vs->cpus)
		pfs_jsonw_u64(w, vs->cpus);
	else
		pfs_jsonw_null(w);
	pfs_jsonw_key(w, "off_cpu_measured");
	pfs_jsonw_bool(w, oi->known && oi->switches);
	pfs_jsonw_key(w, "wakeups_recorded");
	pfs_jsonw_bool(w, oi->known && oi->wakeups);
	pfs_jsonw_key(w, "groups");
	pfs_jsonw_arr(w);
	for (size_t i = 0; i < vs->n_groups; i++) {
		const struct pfs_verdict_group *g = &vs->groups[i];
		pfs_jsonw_obj(w);
		pfs_jsonw_key(w, "master_pid");
		if (g->master)
			pfs_jsonw_u64(w, g->master);
		else
			pfs_jsonw_null(w);
		pfs_jsonw_key(w, "server");
		pfs_jsonw_str(w, g->server);
		pfs_jsonw_key(w, "workers");
		pfs_jsonw_u64(w, g->n_pids);
		pfs_jsonw_key(w, "silent_workers");
		pfs_jsonw_u64(w, g->n_silent);
		pfs_jsonw_key(w, "worker_pids");
		pfs_jsonw_arr(w);
		for (size_t k = 0; k < g->n_pids; k++)
			pfs_jsonw_u64(w, g->pids[k]);
		pfs_jsonw_end_arr(w);
		pfs_jsonw_key(w, "worker_class");
		json_worker_class(w, g->worker);
		pfs_jsonw_key(w, "threads_per_worker");
		pfs_jsonw_u64(w, g->threads_max);
		pfs_jsonw_key(w, "cpu_samples");
		pfs_jsonw_u64(w, g->cpu_samples);
		pfs_jsonw_key(w, "top_handler");
		if (g->handler) {
			const char *fn, *file;
			size_t fl, filel;
			pfs_jsonw_obj(w);
			pfs_jsonw_key(w, "function");
			if (pfs_pyclass_split_pyname(g->handler, &fn, &fl, &file, &filel)) {
				pfs_jsonw_strn(w, fn, fl);
				pfs_jsonw_key(w, "file");
				pfs_jsonw_strn(w, file, filel);
			} else {
				pfs_jsonw_str(w, g->handler);
				pfs_jsonw_key(w, "file");
				pfs_jsonw_null(w);
			}
			pfs_jsonw_key(w, "cpu_share");
			pfs_jsonw_dbl(w, g->handler_share);
			pfs_jsonw_end_obj(w);
		} else {
			pfs_jsonw_null(w);
		}
		pfs_jsonw_end_obj(w);
	}
	pfs_jsonw_end_arr(w);
	pfs_jsonw_end_obj(w);
	pfs_jsonw_key(w, "verdicts");
	pfs_jsonw_arr(w);
	for (size_t i = 0; i < vs->n; i++) {
		const struct pfs_verdict *v = &vs->v[i];
		pfs_jsonw_obj(w);
		pfs_jsonw_key(w, "id");
		pfs_jsonw_str(w, v->id);
		pfs_jsonw_key(w, "master_pid");
		if (v->master)
			pfs_jsonw_u64(w, v->master);
		else
			pfs_jsonw_null(w);
		pfs_jsonw_key(w, "title");
		pfs_jsonw_str(w, v->title);
		pfs_jsonw_key(w, "advice");
		pfs_jsonw_str(w, v->advice);
		pfs_jsonw_key(w, "rule");
		pfs_jsonw_str(w, v->rule);
		pfs_jsonw_key(w, "evidence");
		pfs_jsonw_obj(w);
		for (size_t k = 0; k < v->n_figs; k++) {
			pfs_jsonw_key(w, v->figs[k].name);
			pfs_jsonw_dbl(w, v->figs[k].value);
		}
		pfs_jsonw_end_obj(w);
		pfs_jsonw_key(w, "stacks");
		pfs_jsonw_arr(w);
		for (size_t k = 0; k < v->n_stacks; k++)
			pfs_analysis_json_pystack(a, w, v->stacks[k]);
		pfs_jsonw_end_arr(w);
		pfs_jsonw_end_obj(w);
	}
	pfs_jsonw_end_arr(w);
	pfs_jsonw_key(w, "not_judged");
	pfs_jsonw_arr(w);
	for (size_t i = 0; i < vs->n_skip; i++) {
		const struct pfs_verdict_skip *s = &vs->skip[i];
		pfs_jsonw_obj(w);
		pfs_jsonw_key(w, "id");
		pfs_jsonw_str(w, s->id);
		pfs_jsonw_key(w, "master_pid");
		if (s->master)
			pfs_jsonw_u64(w, s->master);
		else
			pfs_jsonw_null(w);
		pfs_jsonw_key(w, "why");
		pfs_jsonw_str(w, s->why);
		pfs_jsonw_key(w, "enable");
		pfs_jsonw_str(w, s->enable);
		pfs_jsonw_end_obj(w);
	}
	pfs_jsonw_end_arr(w);
	pfs_verdicts_free(vs);
}

/* The summed budget of the threads of pids (tid 0) or of one thread. */
static bool budget_of(const struct pfs_offcpu *o, const uint32_t *pids, size_t npids, uint32_t tid,
		      struct pfs_off_budget *b)
{
	bool any = false;
	memset(b, 0, sizeof(*b));
	if (tid) {
		const struct pfs_off_budget *t = pfs_offcpu_budget(o, pids[0], tid);
		if (t)
			*b = *t;
		return t != NULL;
	}
	for (size_t i = 0; i < pfs_offcpu_n_budgets(o); i++) {
		const struct pfs_off_budget *t = pfs_offcpu_budget_at(o, i);
		if (t && pid_in(t->pid, pids, npids)) {
			pfs_offcpu_budget_add(b, t);
			any = true;
		}
	}
	return any;
}

static const char *const part_keys[PFS_OFF_PARTS] = {"gil_wait_s", "io_wait_s", "idle_s",
						     "lock_wait_s", "runnable_s"};

void pfs_verdicts_json_budget(const struct pfs_analysis *a, struct pfs_jsonw *w,
			      const uint32_t *pids, size_t npids, uint32_t tid,
			      uint64_t cpu_samples, const uint64_t *cat, uint64_t cpu_period)
{
	const struct pfs_offcpu *o = pfs_analysis_offcpu(a);
	const struct pfs_off_info *oi = pfs_offcpu_info(o);
	struct pfs_off_budget b;
	struct pfs_an_header h;
	bool sw = oi->switches, cpu_ns;
	double on;
	if (!oi->known || !budget_of(o, pids, npids, tid, &b)) {
		pfs_jsonw_null(w);
		return;
	}
	pfs_analysis_header(a, &h);
	cpu_ns = h.cpu_clock;
	on = sw ? secs(b.on_ns) : secs(cpu_period);
	pfs_jsonw_obj(w);
	pfs_jsonw_key(w, "source");
	pfs_jsonw_str(w, sw ? "switches" : "samples");
	pfs_jsonw_key(w, "why");
	if (sw)
		pfs_jsonw_null(w);
	else
		pfs_jsonw_str(w, "sched:sched_switch not recorded (or sampled): on-CPU time is the "
				 "clock samples' estimate and the off-CPU time is not split "
				 "(record with " NEED_SWITCH ")");
	pfs_jsonw_key(w, "lifetime_s");
	pfs_jsonw_dbl(w, secs(b.life_ns));
	pfs_jsonw_key(w, "on_cpu_s");
	if (sw || cpu_ns)
		pfs_jsonw_dbl(w, on);
	else
		pfs_jsonw_null(w);
	pfs_jsonw_key(w, "on_cpu");
	pfs_jsonw_obj(w);
	if (sw || cpu_ns) {
		if (!cpu_samples) {
			pfs_jsonw_key(w, "unsampled");
			pfs_jsonw_dbl(w, on);
		}
		for (int c = 0; c < PFS_CAT_COUNT && cpu_samples; c++) {
			if (!cat[c])
				continue;
			pfs_jsonw_key(w, pfs_pycat_name((enum pfs_pycat)c));
			pfs_jsonw_dbl(w, on * (double)cat[c] / (double)cpu_samples);
		}
	}
	pfs_jsonw_end_obj(w);
	for (int k = 0; k < PFS_OFF_PARTS; k++) {
		pfs_jsonw_key(w, part_keys[k]);
		if (sw)
			pfs_jsonw_dbl(w, secs(b.part_ns[k]));
		else
			pfs_jsonw_null(w);
	}
	pfs_jsonw_key(w, "not_recorded_s");
	if (sw) {
		pfs_jsonw_dbl(w, secs(pfs_offcpu_unrecorded(&b)));
	} else {
		double rest = secs(b.life_ns) - on;
		pfs_jsonw_dbl(w, rest > 0 ? rest : 0.0);
	}
	pfs_jsonw_key(w, "not_recorded");
	if (sw) {
		pfs_jsonw_obj(w);
		pfs_jsonw_key(w, "before_first_event_s");
		pfs_jsonw_dbl(w, secs(b.unrec_start_ns));
		pfs_jsonw_key(w, "lost_s");
		pfs_jsonw_dbl(w, secs(b.unrec_loss_ns));
		pfs_jsonw_key(w, "after_last_switch_s");
		pfs_jsonw_dbl(w, secs(b.unrec_end_ns));
		pfs_jsonw_key(w, "off_cpu_reason_s");
		pfs_jsonw_dbl(w, secs(b.unrec_why_ns));
		pfs_jsonw_end_obj(w);
	} else {
		pfs_jsonw_null(w);
	}
	pfs_jsonw_key(w, "wakeup_delay_s");
	if (sw && oi->wakeups) {
		pfs_jsonw_obj(w);
		for (int k = 0; k < PFS_OFF_PARTS; k++) {
			if (k == PFS_OFF_RUNNABLE)
				continue;
			pfs_jsonw_key(w, pfs_off_part_name((enum pfs_off_part)k));
			pfs_jsonw_dbl(w, secs(b.wake_ns[k]));
		}
		pfs_jsonw_end_obj(w);
	} else {
		pfs_jsonw_null(w);
	}
	pfs_jsonw_key(w, "off_cpu_intervals");
	if (sw)
		pfs_jsonw_u64(w, b.offs);
	else
		pfs_jsonw_null(w);
	pfs_jsonw_key(w, "upper_bound_s");
	if (sw)
		pfs_jsonw_dbl(w, secs(b.bounded_ns));
	else
		pfs_jsonw_null(w);
	if (!tid) {
		pfs_jsonw_key(w, "stacks");
		pfs_jsonw_obj(w);
		for (int k = 0; k < PFS_OFF_PARTS && sw; k++) {
			struct pfs_off_stack st[3];
			size_t n =
			    pfs_offcpu_top_stacks(o, pids, npids, (enum pfs_off_part)k, st, 3);
			if (!n)
				continue;
			pfs_jsonw_key(w, pfs_off_part_name((enum pfs_off_part)k));
			pfs_jsonw_arr(w);
			for (size_t i = 0; i < n; i++) {
				pfs_jsonw_obj(w);
				pfs_jsonw_key(w, "s");
				pfs_jsonw_dbl(w, secs(st[i].ns));
				pfs_jsonw_key(w, "n");
				pfs_jsonw_u64(w, st[i].n);
				pfs_jsonw_key(w, "python_stack");
				pfs_analysis_json_pystack(a, w, st[i].pypath);
				pfs_jsonw_end_obj(w);
			}
			pfs_jsonw_end_arr(w);
		}
		pfs_jsonw_end_obj(w);
	}
	pfs_jsonw_end_obj(w);
}

/* ---- text ---- */

static void text_wrap(FILE *f, const char *indent, const char *s)
{
	size_t col = strlen(indent);
	fputs(indent, f);
	while (*s) {
		const char *sp = strchr(s, ' ');
		size_t l = sp ? (size_t)(sp - s) : strlen(s);
		if (col + l > 98 && col > strlen(indent)) {
			fputc('\n', f);
			fputs(indent, f);
			col = strlen(indent);
		}
		for (size_t i = 0; i < l; i++)
			fputc((unsigned char)s[i] < 0x20 ? '?' : s[i], f);
		col += l;
		s += l;
		if (*s == ' ') {
			fputc(' ', f);
			col++;
			s++;
		}
	}
	fputc('\n', f);
}

void pfs_verdicts_text(const struct pfs_analysis *a, FILE *f)
{
	struct pfs_verdicts *vs = pfs_verdicts_new(a);
	fputs("what to change (docs/verdicts.md):\n", f);
	for (size_t i = 0; i < vs->n_groups; i++) {
		const struct pfs_verdict_group *g = &vs->groups[i];
		char lb[200], cls[64] = "";
		for (int k = 0; k < PFS_WK_COUNT; k++)
			if (g->worker & (1u << k))
				put(cls, sizeof(cls), "%s%s", cls[0] ? "/" : "",
				    pfs_off_worker_name((enum pfs_off_worker)(1u << k)));
		if (!g->master) {
			fprintf(f, "  %zu process%s", g->n_pids, g->n_pids == 1 ? "" : "es");
		} else {
			fprintf(f, "  %s master %u: %zu worker%s (%s)",
				g->server ? g->server : "server", g->master, g->n_pids,
				g->n_pids == 1 ? "" : "s",
				cls[0] ? cls : "class not seen on their stacks");
			if (g->threads_max)
				fprintf(f, ", up to %zu thread%s each", g->threads_max,
					g->threads_max == 1 ? "" : "s");
			if (g->n_silent)
				fprintf(f, ", %zu with no event in the capture", g->n_silent);
		}
		if (vs->cpus)
			fprintf(f, ", %u CPUs", vs->cpus);
		if (g->handler)
			fprintf(f, "; top handler %s: %.0f%% of their CPU",
				handler_label(g->handler, lb, sizeof(lb)), 100 * g->handler_share);
		fputc('\n', f);
	}
	if (!vs->n)
		fputs("  no verdict: no rule holds on this capture\n", f);
	for (size_t i = 0; i < vs->n; i++) {
		const struct pfs_verdict *v = &vs->v[i];
		char line[1024];
		snprintf(line, sizeof(line), "[%s] %s", v->id, v->title);
		text_wrap(f, "  ", line);
		snprintf(line, sizeof(line), "-> %s", v->advice);
		text_wrap(f, "     ", line);
		for (size_t k = 0; k < v->n_stacks && k < 2; k++) {
			fputs("     at ", f);
			pfs_analysis_text_pystack(a, f, v->stacks[k]);
			fputc('\n', f);
		}
		snprintf(line, sizeof(line), "rule: %s", v->rule);
		text_wrap(f, "     ", line);
	}
	for (size_t i = 0; i < vs->n_skip; i++) {
		const struct pfs_verdict_skip *s = &vs->skip[i];
		char line[1024];
		snprintf(line, sizeof(line), "not judged: %s: %s%s%s", s->id, s->why,
			 s->enable ? "; needs " : "", s->enable ? s->enable : "");
		text_wrap(f, "  ", line);
	}
	fputc('\n', f);
	pfs_verdicts_free(vs);
}

void pfs_verdicts_text_budget(const struct pfs_analysis *a, FILE *f, const uint32_t *pids,
			      size_t npids, uint64_t cpu_period)
{
	const struct pfs_offcpu *o = pfs_analysis_offcpu(a);
	const struct pfs_off_info *oi = pfs_offcpu_info(o);
	struct pfs_off_budget b;
	double life;
	if (!oi->known || !budget_of(o, pids, npids, 0, &b) || !b.life_ns)
		return;
	life = secs(b.life_ns);
	if (!oi->switches) {
		fprintf(f,
			"  time: %.3f thread-s, on CPU ~%.3f s (samples); off CPU not split: "
			"sched:sched_switch not recorded\n",
			life, secs(cpu_period));
		return;
	}
	fprintf(f, "  time: %.3f thread-s = on CPU %.3f (%.0f%%)", life, secs(b.on_ns),
		100 * ratio(secs(b.on_ns), life));
	for (int k = 0; k < PFS_OFF_PARTS; k++)
		if (b.part_ns[k])
			fprintf(f, " + %s %.3f (%.0f%%)", pfs_off_part_name((enum pfs_off_part)k),
				secs(b.part_ns[k]), 100 * ratio(secs(b.part_ns[k]), life));
	if (pfs_offcpu_unrecorded(&b))
		fprintf(f, " + not recorded %.3f (%.0f%%)", secs(pfs_offcpu_unrecorded(&b)),
			100 * ratio(secs(pfs_offcpu_unrecorded(&b)), life));
	fputc('\n', f);
	if (oi->wakeups) {
		uint64_t wk = 0;
		for (int k = 0; k < PFS_OFF_RUNNABLE; k++)
			wk += b.wake_ns[k];
		if (wk)
			fprintf(
			    f,
			    "  of the waits, %.3f s from wakeup to running (waiting for a CPU)\n",
			    secs(wk));
	}
}
