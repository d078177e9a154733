/*
 * analysis: streaming per-thread books, closed into per-process figures at the end.
 */
#include "analysis.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "offcpu.h"
#include "tpevent.h"
#include "verdicts.h"
#include "views.h"
#include "xalloc.h"

enum ev_kind {
	EK_UNSEEN = 0,
	EK_OTHER,
	EK_CPU,
	EK_SWITCH,
	EK_GIL_ENTER,
	EK_GIL_RETURN,
	EK_GC_ENTER,
	EK_GC_RETURN,
	EK_WAKEUP,
};

/* What a thread's pending switch-out is (pfs_an_thread.off_kind). */
enum { OFF_BLOCKED = 0, OFF_GIL, OFF_RUNNABLE };

/* The kinds of interval, for the loss check (dropped[]). */
enum iv_kind { IV_GC, IV_GIL_PROBE, IV_GIL_SWITCH, IV_RUNNABLE };

/* A closed interval not yet final (see pfs_analysis.pend). */
struct pend_iv {
	uint8_t kind;
	bool bounded, dropped;
	int8_t gen;
	uint32_t th; /* thread index */
	uint32_t cpu0, cpu1;
	uint32_t pypath;
	uint64_t start, end;
};

/* How long after an interval's end a LOST record may still be about records inside it. */
#define LOSS_SLACK_NS 100000u

/* u64 -> index map, open addressing; 0 keys are stored by offsetting them by one. */
struct umap {
	uint64_t *keys; /* key + 1; 0 = empty */
	uint32_t *vals;
	size_t cap, n;
};

struct pfs_analysis {
	struct pfs_profile *p;
	struct pfs_views *views;
	struct pfs_pyver ver;
	bool have_ver, ver_conflict;
	struct pfs_diag diag;
	struct pfs_tpevent *tp;
	bool tracing_given, tracing_bad;
	struct pfs_an_sink sink;
	char *fields; /* the probe sink's JSON text */
	size_t fields_cap;
	int sink_rc; /* a sink error met in a switch record, returned by the next sample */

	uint8_t *ev_kind;
	size_t cap_ev;
	uint64_t *ev_count;
	bool seen_switch, seen_gil_probe, seen_gc_probe, seen_cpu;
	bool sampled_switch, sampled_gil, sampled_gc; /* recorded, but not every event kept */
	char *sampled_names;			      /* the sampled events, for the diagnostic */
	char sampled_mode[40];			      /* "freq 499" */
	bool clock_cpu;
	bool switch_waits; /* set by finish: restored analyses have no tracing data to ask */
	bool cut_known;	   /* cut_stacks were counted (a restored analysis may not have them) */

	uint16_t *pc; /* per path: PC_ bits and category, the classification the books need */
	size_t cap_pc;
	struct pfs_pyframe *fr; /* path_class's scratch stack */
	size_t cap_fr;
	struct pfs_pyclass_fn_memo fn; /* each frame's role, asked once */
	uint8_t *scanned; /* per path: looked at for a CPython dso (until the version is known) */
	size_t cap_scanned;
	struct umap dso_seen;

	struct pfs_an_thread *th;
	size_t n_th, cap_th;
	struct umap th_map;
	struct umap tid_map; /* tid -> thread, for switch-ins that name a tid only */

	/* intervals closed but not final: a LOST record just after their end may still drop them
	 * (the kernel stamps LOST with the time of the record that follows the loss) */
	struct pend_iv *pend;
	size_t pend_head, n_pend, cap_pend;
	uint64_t now;	    /* the latest time of the stream */
	uint64_t *cpu_lost; /* per CPU: the last LOST record's time, 0 none */
	size_t cap_cpu_lost;
	uint64_t any_lost;     /* the last LOST record of any CPU (ns) */
	uint64_t unknown_lost; /* the last LOST record whose CPU is unknown (ns) */
	uint64_t lost_untimed; /* lost records that could not be placed in time */
	uint64_t lost_timed;   /* lost records placed in time */
	uint64_t dropped[4];   /* intervals dropped across a loss, by kind */

	struct pfs_an_gctrigger *gt;
	size_t n_gt, cap_gt;
	struct umap gt_map;

	struct pfs_an_pause *pauses;
	size_t n_pauses, cap_pauses;
	struct pfs_an_wait *waits; /* the longest GIL waits, trimmed to PFS_AN_MAX_WAITS */
	size_t n_waits, cap_waits;

	struct pfs_an_stackwait *sw; /* the switch waits' stacks, then (finish) the headline's */
	size_t n_sw, cap_sw;
	struct umap sw_map;
	struct pfs_an_stackwait *psw; /* the probe waits' stacks */
	size_t n_psw, cap_psw;
	struct umap psw_map;

	struct pfs_offcpu *off; /* the time budgets and what stacks say (offcpu.h) */
	bool seen_wakeup, sampled_wakeup;
	uint32_t nr_cpus;
	struct pfs_handlers *handlers; /* the request-handler dimension of the same books */
	bool handlers_known;	       /* a restored analysis may not have it */

	struct pfs_an_process *procs;
	size_t n_procs;
	struct pfs_an_workers *workers;
	size_t n_workers;
	size_t *proc_threads; /* storage of every process's thread list */

	char *label, *source; /* copies: the caller's strings need not outlive the analysis */
	char *command;	      /* the recorded command, kept for the store (restore needs it) */
	uint64_t lost_samples;
	uint64_t first_time, last_time;
	bool finished;
};

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

static uint32_t *umap_slot(struct umap *m, uint64_t key, bool *found)
{
	size_t i;
	if ((m->n + 1) * 2 > m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 64;
		uint64_t *ok = m->keys;
		uint32_t *ov = m->vals;
		size_t ocap = m->cap;
		m->keys = pfs_xcalloc(ncap, sizeof(*m->keys));
		m->vals = pfs_xcalloc(ncap, sizeof(*m->vals));
		m->cap = ncap;
		for (size_t j = 0; j < ocap; j++) {
			if (!ok[j])
				continue;
			for (i = mix(ok[j]) & (ncap - 1); m->keys[i]; i = (i + 1) & (ncap - 1))
				;
			m->keys[i] = ok[j];
			m->vals[i] = ov[j];
		}
		free(ok);
		free(ov);
	}
	for (i = mix(key + 1) & (m->cap - 1); m->keys[i]; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == key + 1) {
			*found = true;
			return &m->vals[i];
		}
	}
	*found = false;
	m->keys[i] = key + 1;
	m->n++;
	return &m->vals[i];
}

static void umap_release(struct umap *m)
{
	free(m->keys);
	free(m->vals);
}

struct pfs_analysis *pfs_analysis_new(struct pfs_profile *p)
{
	struct pfs_analysis *a = pfs_xcalloc(1, sizeof(*a));
	a->p = p;
	a->cut_known = true;
	a->handlers = pfs_handlers_new(p);
	a->handlers_known = true;
	a->off = pfs_verdicts_offcpu_new(p);
	pfs_diag_init(&a->diag);
	return a;
}

void pfs_analysis_free(struct pfs_analysis *a)
{
	if (!a)
		return;
	pfs_views_free(a->views);
	pfs_tpevent_close(a->tp);
	pfs_diag_release(&a->diag);
	free(a->ev_kind);
	free(a->ev_count);
	free(a->scanned);
	free(a->pc);
	free(a->fr);
	pfs_pyclass_fn_memo_release(&a->fn);
	umap_release(&a->dso_seen);
	free(a->th);
	umap_release(&a->th_map);
	umap_release(&a->tid_map);
	free(a->pend);
	free(a->cpu_lost);
	free(a->gt);
	umap_release(&a->gt_map);
	free(a->sampled_names);
	free(a->pauses);
	free(a->waits);
	free(a->sw);
	umap_release(&a->sw_map);
	pfs_handlers_free(a->handlers);
	pfs_offcpu_free(a->off);
	free(a->psw);
	umap_release(&a->psw_map);
	for (size_t i = 0; i < a->n_workers; i++)
		free(a->workers[i].pids);
	free(a->workers);
	free(a->procs);
	free(a->proc_threads);
	free(a->label);
	free(a->source);
	free(a->command);
	free(a->fields);
	free(a);
}

void pfs_analysis_set_sink(struct pfs_analysis *a, const struct pfs_an_sink *s)
{
	static const struct pfs_an_sink none;
	a->sink = s ? *s : none;
}

int pfs_analysis_tracing(struct pfs_analysis *a, const void *blob, size_t len)
{
	struct pfs_err err;
	int rc;
	a->tracing_given = true;
	if (a->tp)
		return 0;
	rc = pfs_tpevent_open(&a->tp, blob, len, &a->diag, &err);
	if (rc < 0) {
		a->tracing_bad = true;
		if (blob && len)
			pfs_diag_add(&a->diag, PFS_WARN, "tracing-data", err.off,
				     "%s: tracepoint samples cannot be decoded, GIL waits from "
				     "sched_switch not computed",
				     err.msg);
	}
	return rc < 0 ? rc : 0;
}

static void set_version(struct pfs_analysis *a, const struct pfs_pyver *v, const char *path)
{
	if (a->have_ver) {
		if ((v->major != a->ver.major || v->minor != a->ver.minor) && !a->ver_conflict) {
			a->ver_conflict = true;
			pfs_diag_add(
			    &a->diag, PFS_NOTE, "python-versions", PFS_NO_OFF,
			    "more than one CPython in the capture (%d.%d, and %d.%d in %s): each "
			    "frame is classified by the tables of the CPython binary it is in; the "
			    "capture's version is given as %d.%d",
			    a->ver.major, a->ver.minor, v->major, v->minor, path, a->ver.major,
			    a->ver.minor);
		}
		return;
	}
	a->ver = *v;
	a->have_ver = true;
	/* the memo was built with every version's names: start over with this version's */
	pfs_views_free(a->views);
	a->views = NULL;
	if (a->pc)
		memset(a->pc, 0, a->cap_pc * sizeof(*a->pc));
}

void pfs_analysis_dso(struct pfs_analysis *a, const char *path)
{
	struct pfs_pyver v;
	if (path && pfs_pyclass_version(path, &v))
		set_version(a, &v, path);
}

static struct pfs_views *views(struct pfs_analysis *a)
{
	if (!a->views)
		a->views = pfs_views_new(a->p, a->have_ver ? &a->ver : NULL);
	return a->views;
}

enum {
	PC_VALID = 1 << 15,
	PC_GC = 1 << 14,
	PC_GIL_TAKE = 1 << 13,
	PC_GIL_DROP = 1 << 12,
	PC_CUT = 1 << 11, /* rooted at [truncated] */
	PC_CAT = 0xff,
};
_Static_assert((int)PFS_CAT_COUNT <= (int)PC_CAT, "categories fit the low byte of a path's class");

/*
 * What the books need of a path's classification, memoised here in two bytes per path: a
 * sample's path is mostly one seen before, and the views' memo (which keeps every view of a
 * path) would cost some 70 bytes per path id of a capture with a million distinct stacks.
 */
static uint16_t path_class(struct pfs_analysis *a, uint32_t path)
{
	struct pfs_pystack st;
	size_t n = 0, depth;
	uint16_t c;
	PFS_GROW_ZEROED(a->pc, a->cap_pc, path);
	if (a->pc[path] & PC_VALID)
		return a->pc[path];
	depth = path ? pfs_profile_pathget(a->p, path)->depth : 0;
	PFS_GROW(a->fr, a->cap_fr, depth + 1);
	/* leaf first, as pyclass reads stacks; the strings stay put: nothing is interned here */
	for (uint32_t id = path; id && n < depth; n++) {
		const struct pfs_path_node *node = pfs_profile_pathget(a->p, id);
		const struct pfs_frame *f = pfs_profile_frameget(a->p, node->frame);
		a->fr[n].name = pfs_profile_strget(a->p, f->name, NULL);
		a->fr[n].file = f->file ? pfs_profile_strget(a->p, f->file, NULL) : NULL;
		a->fr[n].dso = f->dso ? pfs_profile_strget(a->p, f->dso, NULL) : NULL;
		a->fr[n].kind = f->kind;
		a->fr[n].inlined = f->inlined;
		a->fr[n].fn = pfs_pyclass_fn_memo(&a->fn, a->have_ver ? &a->ver : NULL, node->frame,
						  a->fr[n].name, a->fr[n].dso);
		id = node->parent;
	}
	pfs_pyclass_stack(a->have_ver ? &a->ver : NULL, a->fr, n, &st);
	c = (uint16_t)(PC_VALID | ((unsigned)st.cat & PC_CAT));
	if (st.gc)
		c |= PC_GC;
	if (st.gil_take)
		c |= PC_GIL_TAKE;
	if (st.gil_drop)
		c |= PC_GIL_DROP;
	if (st.cut)
		c |= PC_CUT;
	a->pc[path] = c;
	return c;
}

/* Looks for a versioned CPython binary among the frames of a path not seen before. */
static void scan_path(struct pfs_analysis *a, uint32_t path)
{
	uint32_t id = path;
	if (a->have_ver)
		return;
	PFS_GROW_ZEROED(a->scanned, a->cap_scanned, path);
	while (id && !a->scanned[id] && !a->have_ver) {
		const struct pfs_path_node *n = pfs_profile_pathget(a->p, id);
		const struct pfs_frame *f = pfs_profile_frameget(a->p, n->frame);
		a->scanned[id] = 1;
		if (f->dso) {
			bool found;
			uint32_t *slot = umap_slot(&a->dso_seen, f->dso, &found);
			*slot = 1;
			if (!found)
				pfs_analysis_dso(a, pfs_profile_strget(a->p, f->dso, NULL));
		}
		id = n->parent;
	}
}

/* A tracepoint or probe that did not keep every event: a frequency, or a period above 1. */
static bool event_sampled(const struct pfs_event *e)
{
	return e && (e->freq || e->period > 1);
}

/* Notes a sampled event that intervals would be made of: its figures are not measured. */
static void note_sampled(struct pfs_analysis *a, const struct pfs_event *e, const char *name,
			 bool *flag)
{
	size_t l = a->sampled_names ? strlen(a->sampled_names) : 0;
	const char *colon = strchr(name, ':');
	char buf[96];
	*flag = true;
	/* the probe group is the same for all; the first one's mode stands for the rest */
	if (!l)
		snprintf(a->sampled_mode, sizeof(a->sampled_mode), "%s %llu",
			 e->freq ? "freq" : "period", (unsigned long long)e->period);
	snprintf(buf, sizeof(buf), "%s%s", l ? ", " : "", colon ? colon + 1 : name);
	a->sampled_names = pfs_xrealloc(a->sampled_names, l + strlen(buf) + 1);
	memcpy(a->sampled_names + l, buf, strlen(buf) + 1);
}

/*
 * "probe_libpython3:take_gil__return" -> the function and whether it is the return probe. The
 * event may be FN_N (perfsight record names it so when another group holds FN: perf 6.1 wants
 * event names unique across groups).
 */
static bool probe_function(const char *name, const char *fn)
{
	const char *colon = strchr(name, ':');
	size_t l = strlen(fn);
	if (!colon)
		return false;
	colon++;
	if (strncmp(colon, fn, l))
		return false;
	colon += l;
	if (colon[0] == '_' && colon[1] >= '0' && colon[1] <= '9')
		for (colon++; *colon >= '0' && *colon <= '9'; colon++)
			;
	return colon[0] == 0 || !strcmp(colon, "__return");
}

static bool is_return_probe(const char *name)
{
	size_t l = strlen(name);
	return l > 8 && !strcmp(name + l - 8, "__return");
}

static void grow_events(struct pfs_analysis *a, uint32_t ev)
{
	size_t ncap;
	if (ev < a->cap_ev)
		return;
	ncap = a->cap_ev ? a->cap_ev * 2 : 16;
	while (ncap <= ev)
		ncap *= 2;
	a->ev_kind = pfs_xrealloc(a->ev_kind, ncap);
	memset(a->ev_kind + a->cap_ev, 0, ncap - a->cap_ev);
	a->ev_count = pfs_xreallocarray(a->ev_count, ncap, sizeof(*a->ev_count));
	memset(a->ev_count + a->cap_ev, 0, (ncap - a->cap_ev) * sizeof(*a->ev_count));
	a->cap_ev = ncap;
}

static enum ev_kind event_kind(struct pfs_analysis *a, uint32_t ev, const struct pfs_an_tp *tp)
{
	const char *name = NULL;
	const struct pfs_event *e = pfs_profile_event(a->p, ev);
	enum ev_kind k = EK_OTHER;
	grow_events(a, ev);
	if (a->ev_kind[ev] != EK_UNSEEN)
		return a->ev_kind[ev];
	if (tp && a->tp)
		name = pfs_tpevent_name(a->tp, tp->id);
	if (!name && e)
		name = pfs_profile_strget(a->p, e->name, NULL);
	if (!name)
		name = "";
	if (!strcmp(name, "sched:sched_switch")) {
		k = EK_SWITCH;
		a->seen_switch = true;
		if (event_sampled(e) && !a->sampled_switch)
			note_sampled(a, e, name, &a->sampled_switch);
		if (!a->tp && !a->tracing_bad)
			pfs_diag_add(
			    &a->diag, PFS_WARN, "no-tracing-data", PFS_NO_OFF,
			    "sched:sched_switch samples cannot be decoded without the "
			    "capture's tracing data: GIL waits from switches not computed");
	} else if (!tp && e && e->clock != PFS_CLOCK_NONE) {
		k = EK_CPU;
		a->seen_cpu = true;
		a->clock_cpu = e->clock == PFS_CLOCK_NS;
	} else if (probe_function(name, "take_gil")) {
		k = is_return_probe(name) ? EK_GIL_RETURN : EK_GIL_ENTER;
		a->seen_gil_probe = true;
		if (event_sampled(e))
			note_sampled(a, e, name, &a->sampled_gil);
	} else if (probe_function(name, "gc_collect_main") || probe_function(name, "collect") ||
		   probe_function(name, "_PyGC_Collect")) {
		k = is_return_probe(name) ? EK_GC_RETURN : EK_GC_ENTER;
		a->seen_gc_probe = true;
		if (event_sampled(e))
			note_sampled(a, e, name, &a->sampled_gc);
	} else if (!strcmp(name, "sched:sched_wakeup") || !strcmp(name, "sched:sched_wakeup_new")) {
		k = EK_WAKEUP;
		a->seen_wakeup = true;
		a->sampled_wakeup = a->sampled_wakeup || event_sampled(e);
	} else if (tp && strncmp(name, "sched:", 6) && !probe_function(name, "drop_gil")) {
		pfs_diag_add(&a->diag, PFS_NOTE, "other-tracepoint", PFS_NO_OFF,
			     "%s is not a tracepoint or probe perfsight measures (it measures "
			     "sched:sched_switch and uprobes on take_gil and the GC collector)",
			     name);
	}
	a->ev_kind[ev] = (uint8_t)k;
	return k;
}

static struct pfs_an_thread *thread_of(struct pfs_analysis *a, uint32_t pid, uint32_t tid)
{
	bool found;
	uint32_t *slot = umap_slot(&a->th_map, ((uint64_t)pid << 32) | tid, &found);
	struct pfs_an_thread *t;
	if (found)
		return &a->th[*slot];
	PFS_GROW(a->th, a->cap_th, a->n_th + 1);
	*slot = (uint32_t)a->n_th;
	t = &a->th[a->n_th++];
	memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->tid = tid;
	/* a tid names one thread at a time: the latest (pid, tid) seen wins */
	*umap_slot(&a->tid_map, tid, &found) = (uint32_t)(a->n_th - 1);
	return t;
}

/* The thread whose tid is tid, NULL when none was seen. */
static struct pfs_an_thread *thread_by_tid(struct pfs_analysis *a, uint32_t tid)
{
	bool found;
	uint32_t *slot;
	if (!a->tid_map.cap)
		return NULL;
	slot = umap_slot(&a->tid_map, tid, &found);
	if (!found)
		*slot = UINT32_MAX; /* the slot was claimed: it says "none" until the tid shows */
	return *slot == UINT32_MAX ? NULL : &a->th[*slot];
}

static void add_stackwait(struct pfs_an_stackwait **v, size_t *n, size_t *cap, struct umap *m,
			  uint32_t pid, uint32_t pypath, uint64_t ns)
{
	bool found;
	uint32_t *slot = umap_slot(m, ((uint64_t)pid << 32) | pypath, &found);
	struct pfs_an_stackwait *s;
	if (!found) {
		PFS_GROW(*v, *cap, *n + 1);
		*slot = (uint32_t)*n;
		s = &(*v)[(*n)++];
		memset(s, 0, sizeof(*s));
		s->pid = pid;
		s->pypath = pypath;
	}
	s = &(*v)[*slot];
	s->ns += ns;
	s->n++;
}

static struct pfs_an_gctrigger *gctrigger(struct pfs_analysis *a, uint32_t pid, uint32_t pypath)
{
	bool found;
	uint32_t *slot = umap_slot(&a->gt_map, ((uint64_t)pid << 32) | pypath, &found);
	if (!found) {
		PFS_GROW(a->gt, a->cap_gt, a->n_gt + 1);
		*slot = (uint32_t)a->n_gt;
		memset(&a->gt[a->n_gt], 0, sizeof(a->gt[0]));
		a->gt[a->n_gt].pid = pid;
		a->gt[a->n_gt].pypath = pypath;
		a->n_gt++;
	}
	return &a->gt[*slot];
}

/*
 * The python view of a stack for the wait and pause lists. A stack whose unwinding stopped
 * before any Python frame (DWARF unwinding often stops inside take_gil) becomes its label alone:
 * native frames there would only repeat what the label says.
 */
static uint32_t pyview(struct pfs_analysis *a, uint32_t path)
{
	const struct pfs_pystack *st = pfs_views_stack(views(a), path);
	struct pfs_frame f = {.kind = PFS_FK_PSEUDO};
	char buf[256];
	const char *label;
	if (st->n_python)
		return pfs_views_path(views(a), PFS_VIEW_PYTHON, path);
	label = pfs_pyclass_label(st, buf, sizeof(buf));
	f.name = pfs_profile_cstr(a->p, label ? label : "[unknown]");
	return pfs_profile_path(a->p, 0, pfs_profile_frame(a->p, &f));
}

static int cmp_wait_desc(const void *x, const void *y)
{
	const struct pfs_an_wait *a = x, *b = y;
	if (a->dur != b->dur)
		return a->dur > b->dur ? -1 : 1;
	return (a->start > b->start) - (a->start < b->start);
}

/* Longest first, at most PFS_AN_MAX_WAITS: memory stays bounded however many waits there are. */
static void trim_waits(struct pfs_analysis *a)
{
	if (a->n_waits)
		qsort(a->waits, a->n_waits, sizeof(*a->waits), cmp_wait_desc);
	if (a->n_waits > PFS_AN_MAX_WAITS)
		a->n_waits = PFS_AN_MAX_WAITS;
}

static int add_wait(struct pfs_analysis *a, const struct pfs_an_wait *w)
{
	if (a->n_waits == 2 * PFS_AN_MAX_WAITS)
		trim_waits(a);
	PFS_GROW(a->waits, a->cap_waits, a->n_waits + 1);
	a->waits[a->n_waits++] = *w;
	return a->sink.wait ? a->sink.wait(a->sink.payload, w) : 0;
}

/* Books a final interval into its thread's figures. Returns 0 or a sink's negative code. */
static int commit(struct pfs_analysis *a, const struct pend_iv *iv)
{
	struct pfs_an_thread *t = &a->th[iv->th];
	uint64_t d = iv->end - iv->start;
	struct pfs_an_wait w = {.pid = t->pid,
				.tid = t->tid,
				.start = iv->start,
				.dur = d,
				.pypath = iv->pypath,
				.probe = iv->kind == IV_GIL_PROBE,
				.bounded = iv->bounded};
	struct pfs_an_pause *ps;
	if (iv->kind == IV_GIL_PROBE && t->gil_pending)
		t->gil_pending--;
	if (iv->dropped) {
		a->dropped[iv->kind]++;
		return 0;
	}
	switch (iv->kind) {
	case IV_GC:
		PFS_GROW(a->pauses, a->cap_pauses, a->n_pauses + 1);
		ps = &a->pauses[a->n_pauses++];
		*ps = (struct pfs_an_pause){.pid = t->pid,
					    .tid = t->tid,
					    .start = iv->start,
					    .dur = d,
					    .pypath = iv->pypath,
					    .gen = iv->gen};
		t->gc_pauses++;
		t->gc_pause_ns += d;
		pfs_handlers_pause(a->handlers, iv->pypath, d);
		{
			struct pfs_an_gctrigger *g = gctrigger(a, t->pid, iv->pypath);
			g->pauses++;
			g->pause_ns += d;
		}
		return 0;
	case IV_GIL_PROBE:
		t->probe_wait_ns += d;
		t->probe_waits++;
		add_stackwait(&a->psw, &a->n_psw, &a->cap_psw, &a->psw_map, t->pid, iv->pypath, d);
		pfs_handlers_wait(a->handlers, iv->pypath, d, true);
		return add_wait(a, &w);
	case IV_GIL_SWITCH:
		t->gil_wait_ns += d;
		t->gil_waits++;
		t->gil_waits_bounded += iv->bounded;
		add_stackwait(&a->sw, &a->n_sw, &a->cap_sw, &a->sw_map, t->pid, iv->pypath, d);
		pfs_handlers_wait(a->handlers, iv->pypath, d, false);
		return add_wait(a, &w);
	default:
		t->runnable_ns += d;
		t->runnable_waits++;
		return 0;
	}
}

/*
 * Commits the pending intervals that no LOST record can reach any more (all with flush). A
 * switch wait inside a take_gil probe call waits for that call to be final: if a loss drops
 * the call, it drops the waits inside it too, so the two figures count the same time.
 */
static int commit_ready(struct pfs_analysis *a, bool flush)
{
	int rc = 0;
	while (a->n_pend && rc >= 0) {
		struct pend_iv *iv = &a->pend[a->pend_head];
		const struct pfs_an_thread *t = &a->th[iv->th];
		if (!flush && iv->end + LOSS_SLACK_NS >= a->now)
			break;
		if (!flush && iv->kind == IV_GIL_SWITCH &&
		    ((t->gil_open && t->gil_open <= iv->start) || t->gil_pending))
			break;
		rc = commit(a, iv);
		a->pend_head++;
		a->n_pend--;
	}
	if (!a->n_pend)
		a->pend_head = 0;
	return rc;
}

static bool cpu_lost_since(const struct pfs_analysis *a, uint32_t cpu, uint64_t since)
{
	if (cpu == UINT32_MAX)
		return a->any_lost >= since;
	return (cpu < a->cap_cpu_lost && a->cpu_lost[cpu] >= since) || a->unknown_lost >= since;
}

/* Marks iv dropped, and with a take_gil call the switch waits inside it. */
static void drop_iv(struct pfs_analysis *a, struct pend_iv *iv)
{
	iv->dropped = true;
	if (iv->kind != IV_GIL_PROBE)
		return;
	for (size_t i = 0; i < a->n_pend; i++) {
		struct pend_iv *w = &a->pend[a->pend_head + i];
		if (w->kind == IV_GIL_SWITCH && w->th == iv->th && w->start >= iv->start &&
		    w->start <= iv->end)
			w->dropped = true;
	}
}

/* Closes an interval of t: pending until no LOST record can drop it any more. */
static void close_iv(struct pfs_analysis *a, struct pfs_an_thread *t, enum iv_kind kind,
		     uint64_t start, uint64_t end, uint32_t cpu0, uint32_t cpu1, uint32_t pypath,
		     bool bounded, int8_t gen)
{
	struct pend_iv *iv;
	if (a->pend_head && a->pend_head + a->n_pend == a->cap_pend) {
		memmove(a->pend, a->pend + a->pend_head, a->n_pend * sizeof(*a->pend));
		a->pend_head = 0;
	}
	PFS_GROW(a->pend, a->cap_pend, a->pend_head + a->n_pend + 1);
	iv = &a->pend[a->pend_head + a->n_pend++];
	*iv = (struct pend_iv){.kind = (uint8_t)kind,
			       .bounded = bounded,
			       .gen = gen,
			       .th = (uint32_t)(t - a->th),
			       .cpu0 = cpu0,
			       .cpu1 = cpu1,
			       .pypath = pypath,
			       .start = start,
			       .end = end};
	if (kind == IV_GIL_PROBE)
		t->gil_pending++;
	/* a loss already recorded inside it, on its thread or either CPU */
	if (t->lost_time >= start || cpu_lost_since(a, cpu0, start) ||
	    cpu_lost_since(a, cpu1, start))
		drop_iv(a, iv);
}

/* Ends t's pending switch-out at time: at its switch-in (exact) or at another of its events. */
static int end_off(struct pfs_analysis *a, struct pfs_an_thread *t, uint64_t time, uint32_t cpu,
		   bool switch_in)
{
	struct pfs_an_offcpu o;
	if (!t->off_time || !time || time < t->off_time)
		return 0;
	if (t->off_kind == OFF_GIL)
		close_iv(a, t, IV_GIL_SWITCH, t->off_time, time, t->off_cpu, cpu, t->off_pypath,
			 !switch_in, -1);
	else if (t->off_kind == OFF_RUNNABLE)
		close_iv(a, t, IV_RUNNABLE, t->off_time, time, t->off_cpu, cpu, 0, !switch_in, -1);
	o.pid = t->pid;
	o.tid = t->tid;
	o.t_out = t->off_time;
	o.t_in = time;
	o.state = t->off_state;
	o.path = t->off_path;
	t->off_time = 0;
	return a->sink.offcpu ? a->sink.offcpu(a->sink.payload, &o) : 0;
}

/* Hands a tracepoint sample to the probe sink with its fields as JSON. */
static int sink_probe(struct pfs_analysis *a, const struct pfs_sample_row *row,
		      const struct pfs_an_tp *tp)
{
	struct pfs_err err;
	FILE *f;
	int rc = -1;
	free(a->fields);
	a->fields = NULL;
	if (a->tp && tp && (f = open_memstream(&a->fields, &a->fields_cap))) {
		rc = pfs_tpevent_fields_json(a->tp, tp->id, tp->raw, tp->raw_size, f, &err);
		if (fclose(f) || !a->fields)
			rc = -1;
	}
	return a->sink.probe(a->sink.payload, row, rc == 0 ? a->fields : NULL);
}

static int on_switch(struct pfs_analysis *a, struct pfs_an_thread *t,
		     const struct pfs_sample_row *row, const struct pfs_an_tp *tp)
{
	struct pfs_tp_switch sw;
	struct pfs_err err;
	struct pfs_an_thread *next;
	uint16_t c;
	int rc;
	if (!a->tp || !tp || a->sampled_switch)
		return 0;
	rc = pfs_tpevent_switch(a->tp, tp->id, tp->raw, tp->raw_size, &sw, &err);
	if (rc < 0) {
		pfs_diag_add(&a->diag, PFS_ERROR, "bad-switch-sample", PFS_NO_OFF, "%s", err.msg);
		return 0;
	}
	if (rc == 0 || !row->time)
		return 0;
	/* the thread switched in: its own pending switch-out ends here, exactly */
	if (sw.next_pid && sw.next_pid != row->tid)
		pfs_offcpu_switch_in(a->off, UINT32_MAX, sw.next_pid, row->cpu, row->time);
	if (sw.next_pid && (next = thread_by_tid(a, sw.next_pid)) && next != t &&
	    (rc = end_off(a, next, row->time, row->cpu, true)) < 0)
		return rc;
	if (sw.prev_pid != row->tid)
		return 0;
	pfs_offcpu_switch_out(a->off, t->pid, t->tid, row->cpu, row->time, true, row->path,
			      sw.runnable ? 1 : 0);
	t->off_time = row->time;
	t->off_path = row->path;
	t->off_cpu = row->cpu;
	t->off_pypath = 0;
	snprintf(t->off_state, sizeof(t->off_state), "%s", sw.prev_state_s);
	c = path_class(a, row->path);
	t->off_kind = sw.runnable ? OFF_RUNNABLE : (c & PC_GIL_TAKE) ? OFF_GIL : OFF_BLOCKED;
	if (t->off_kind == OFF_GIL)
		t->off_pypath = pyview(a, row->path);
	return 0;
}

static void on_cpu(struct pfs_analysis *a, struct pfs_an_thread *t,
		   const struct pfs_sample_row *row)
{
	uint16_t c = path_class(a, row->path);
	t->cpu_samples++;
	t->cpu_period += row->period;
	t->cat[c & PC_CAT]++;
	if (c & PC_GC) {
		t->gc_samples++;
		gctrigger(a, t->pid, pyview(a, row->path))->samples++;
	}
	if (c & (PC_GIL_TAKE | PC_GIL_DROP))
		t->gil_samples++;
	if (c & PC_CUT)
		t->cut_stacks++;
	pfs_offcpu_cpu_sample(a->off, t->pid, row->path);
	pfs_handlers_cpu(a->handlers, row->path, 1, row->period, c & PC_GC);
}

/* The generation argument of a GC probe that recorded it, -1 otherwise. */
static int8_t probe_generation(struct pfs_analysis *a, const struct pfs_an_tp *tp)
{
	struct pfs_err err;
	uint64_t v;
	if (!a->tp || !tp ||
	    pfs_tpevent_u64(a->tp, tp->id, tp->raw, tp->raw_size, "generation", &v, &err) < 0 ||
	    v > 127)
		return -1;
	return (int8_t)v;
}

static void on_probe(struct pfs_analysis *a, struct pfs_an_thread *t,
		     const struct pfs_sample_row *row, enum ev_kind k, const struct pfs_an_tp *tp)
{
	bool gil = k == EK_GIL_ENTER || k == EK_GIL_RETURN;
	if (gil ? a->sampled_gil : a->sampled_gc)
		return; /* not every entry and return was kept: no pair means anything */
	if (!row->time) {
		pfs_diag_add(&a->diag, PFS_WARN, "probe-without-time", PFS_NO_OFF,
			     "uprobe samples without a time cannot be paired into intervals");
		return;
	}
	switch (k) {
	case EK_GIL_ENTER:
		t->gil_open = row->time;
		t->gil_open_cpu = row->cpu;
		t->gil_open_pypath = pyview(a, row->path);
		break;
	case EK_GIL_RETURN:
		if (t->gil_open && row->time >= t->gil_open)
			close_iv(a, t, IV_GIL_PROBE, t->gil_open, row->time, t->gil_open_cpu,
				 row->cpu, t->gil_open_pypath, false, -1);
		t->gil_open = 0;
		break;
	case EK_GC_ENTER:
		t->gc_open = row->time;
		t->gc_open_cpu = row->cpu;
		t->gc_open_pypath = pyview(a, row->path);
		t->gc_open_gen = probe_generation(a, tp);
		break;
	case EK_GC_RETURN:
		if (t->gc_open && row->time >= t->gc_open)
			close_iv(a, t, IV_GC, t->gc_open, row->time, t->gc_open_cpu, row->cpu,
				 t->gc_open_pypath, false, t->gc_open_gen);
		t->gc_open = 0;
		break;
	default:
		break;
	}
}

/* A wakeup's target and time, for the wakeup-to-run delay (exact wakeups only). */
static void on_wakeup(struct pfs_analysis *a, const struct pfs_sample_row *row,
		      const struct pfs_an_tp *tp)
{
	struct pfs_err err;
	uint64_t pid;
	if (a->sampled_wakeup || !a->tp || !tp || !row->time ||
	    pfs_tpevent_u64(a->tp, tp->id, tp->raw, tp->raw_size, "pid", &pid, &err) < 0)
		return;
	pfs_offcpu_wakeup(a->off, (uint32_t)pid, row->time);
}

int pfs_analysis_sample(struct pfs_analysis *a, const struct pfs_sample_row *row,
			const struct pfs_an_tp *tp)
{
	struct pfs_an_thread *t;
	enum ev_kind k;
	int rc;
	/* ids index arrays sized by them: one from outside the profile must not size them */
	if (row->path > pfs_profile_n_paths(a->p) || row->event >= pfs_profile_n_events(a->p)) {
		pfs_diag_add(&a->diag, PFS_ERROR, "bad-sample-row", PFS_NO_OFF,
			     "a sample names call path %u or event %u, which the profile does not "
			     "have: sample dropped",
			     row->path, row->event);
		return 0;
	}
	scan_path(a, row->path);
	k = event_kind(a, row->event, tp);
	a->ev_count[row->event]++;
	t = thread_of(a, row->pid, row->tid);
	if (row->time) {
		if (!a->first_time || row->time < a->first_time)
			a->first_time = row->time;
		if (row->time > a->last_time)
			a->last_time = row->time;
		if (row->time < t->last_time)
			pfs_diag_add(&a->diag, PFS_WARN, "out-of-order-sample", PFS_NO_OFF,
				     "a sample of thread %u came before the one already seen: "
				     "intervals may be off",
				     row->tid);
		t->last_time = row->time;
		if (row->time > a->now)
			a->now = row->time;
	}
	if (a->sink_rc < 0)
		return a->sink_rc;
	if ((rc = commit_ready(a, false)) < 0)
		return rc;
	/* the thread ran: its pending switch-out ended by now (an upper bound of the switch-in) */
	if ((rc = end_off(a, t, row->time, row->cpu, false)) < 0)
		return rc;
	pfs_offcpu_event(a->off, row->pid, row->tid, row->cpu, row->time);
	if (tp && a->sink.probe && (rc = sink_probe(a, row, tp)) < 0)
		return rc;
	switch (k) {
	case EK_CPU:
		on_cpu(a, t, row);
		break;
	case EK_SWITCH:
		return on_switch(a, t, row, tp);
	case EK_GIL_ENTER:
	case EK_GIL_RETURN:
	case EK_GC_ENTER:
	case EK_GC_RETURN:
		on_probe(a, t, row, k, tp);
		break;
	case EK_WAKEUP:
		on_wakeup(a, row, tp);
		break;
	default:
		break;
	}
	return 0;
}

int pfs_analysis_sample_cb(void *payload, const struct pfs_sample_row *row)
{
	return pfs_analysis_sample(payload, row, NULL);
}

void pfs_analysis_switch(struct pfs_analysis *a, uint32_t pid, uint32_t tid, uint32_t cpu,
			 uint64_t time, bool out)
{
	bool found;
	uint32_t *slot;
	if (out || !a->th_map.cap || a->sampled_switch)
		return;
	slot = umap_slot(&a->th_map, ((uint64_t)pid << 32) | tid, &found);
	if (!found) {
		/* keep the map consistent: the slot was claimed for a thread never sampled */
		PFS_GROW(a->th, a->cap_th, a->n_th + 1);
		*slot = (uint32_t)a->n_th;
		memset(&a->th[a->n_th], 0, sizeof(a->th[0]));
		a->th[a->n_th].pid = pid;
		a->th[a->n_th].tid = tid;
		a->n_th++;
		return;
	}
	if (time > a->now)
		a->now = time;
	if (!a->sink_rc)
		a->sink_rc = end_off(a, &a->th[*slot], time, cpu, true);
}

void pfs_analysis_lost(struct pfs_analysis *a, uint32_t cpu, uint32_t tid, uint64_t time,
		       uint64_t lost)
{
	struct pfs_an_thread *t;
	if (!lost)
		return;
	pfs_offcpu_lost(a->off, cpu, tid, time);
	if (!time) {
		a->lost_untimed += lost;
		return;
	}
	a->lost_timed += lost;
	if (time > a->any_lost)
		a->any_lost = time;
	if (cpu == UINT32_MAX) {
		if (time > a->unknown_lost)
			a->unknown_lost = time;
	} else if (cpu < 65536) {
		PFS_GROW_ZEROED(a->cpu_lost, a->cap_cpu_lost, cpu);
		if (time > a->cpu_lost[cpu])
			a->cpu_lost[cpu] = time;
	}
	if (tid && (t = thread_by_tid(a, tid)) && time > t->lost_time)
		t->lost_time = time;
	/* the intervals closed just before it: the lost records may lie inside them */
	for (size_t i = 0; i < a->n_pend; i++) {
		struct pend_iv *iv = &a->pend[a->pend_head + i];
		/* held back (commit_ready) or within the slack: only those about the loss */
		if (iv->start > time || iv->end + LOSS_SLACK_NS < time)
			continue;
		if (cpu == UINT32_MAX || iv->cpu0 == UINT32_MAX || iv->cpu1 == UINT32_MAX ||
		    iv->cpu0 == cpu || iv->cpu1 == cpu || (tid && a->th[iv->th].tid == tid))
			drop_iv(a, iv);
	}
}

void pfs_analysis_perf_record(struct pfs_analysis *a, struct pfs_reader *r,
			      const struct pfs_record *rec)
{
	const struct pfs_info *info = pfs_reader_info(r);
	uint32_t cpu = (rec->sid.has & PFS_S_CPU) ? rec->sid.cpu : UINT32_MAX;
	uint64_t time = (rec->sid.has & PFS_S_TIME) ? rec->sid.time : 0;
	/* file mode has the blob from the start; pipe mode once its record went by */
	if (!a->tracing_given && info->tracing_data)
		pfs_analysis_tracing(a, info->tracing_data, info->tracing_data_len);
	switch (rec->type) {
	case PFS_REC_MMAP:
	case PFS_REC_MMAP2:
		pfs_analysis_dso(a, rec->u.mmap.filename);
		break;
	case PFS_REC_SWITCH:
		if ((rec->sid.has & PFS_S_TID) && rec->u.sw.out)
			pfs_offcpu_switch_out(a->off, rec->sid.pid, rec->sid.tid, cpu, time, false,
					      0, rec->u.sw.preempt ? 1 : -1);
		else if (rec->sid.has & PFS_S_TID)
			pfs_offcpu_switch_in(a->off, rec->sid.pid, rec->sid.tid, cpu, time);
		if (rec->sid.has & PFS_S_TID)
			pfs_analysis_switch(a, rec->sid.pid, rec->sid.tid, cpu, time,
					    rec->u.sw.out);
		break;
	case PFS_REC_SWITCH_CPU_WIDE:
		/* a switch-out names the task coming in, a switch-in the task going out */
		if (rec->sid.has & PFS_S_TID)
			pfs_analysis_switch(a, rec->sid.pid, rec->sid.tid, cpu, time,
					    rec->u.sw.out);
		if ((rec->sid.has & PFS_S_TID) && rec->u.sw.out)
			pfs_offcpu_switch_out(a->off, rec->sid.pid, rec->sid.tid, cpu, time, false,
					      0, rec->u.sw.preempt ? 1 : -1);
		else if (rec->sid.has & PFS_S_TID)
			pfs_offcpu_switch_in(a->off, rec->sid.pid, rec->sid.tid, cpu, time);
		if (rec->u.sw.out && rec->u.sw.next_prev_tid)
			pfs_offcpu_switch_in(a->off, rec->u.sw.next_prev_pid,
					     rec->u.sw.next_prev_tid, cpu, time);
		if (rec->u.sw.out && rec->u.sw.next_prev_tid)
			pfs_analysis_switch(a, rec->u.sw.next_prev_pid, rec->u.sw.next_prev_tid,
					    cpu, time, false);
		break;
	case PFS_REC_FORK:
		pfs_offcpu_fork(a->off, rec->u.task.pid, rec->u.task.tid, rec->u.task.time);
		break;
	case PFS_REC_EXIT:
		pfs_offcpu_exit(a->off, rec->u.task.pid, rec->u.task.tid, rec->u.task.time);
		break;
	case PFS_REC_LOST:
	case PFS_REC_LOST_SAMPLES:
		pfs_analysis_lost(a, cpu, (rec->sid.has & PFS_S_TID) ? rec->sid.tid : 0, time,
				  rec->u.lost.lost);
		break;
	default:
		break;
	}
}

int pfs_analysis_perf_sample(struct pfs_analysis *a, const struct pfs_sample_row *row,
			     const struct pfs_record *rec)
{
	struct pfs_an_tp tp;
	/* PERF_TYPE_TRACEPOINT: config is the format id, RAW its payload */
	if (!rec->attr || rec->attr->type != 2 || !rec->u.sample.raw)
		return pfs_analysis_sample(a, row, NULL);
	tp.id = rec->attr->config;
	tp.raw = rec->u.sample.raw;
	tp.raw_size = rec->u.sample.raw_size;
	return pfs_analysis_sample(a, row, &tp);
}

void pfs_analysis_perf_finish(struct pfs_analysis *a, struct pfs_reader *r, const char *label,
			      const char *source)
{
	const struct pfs_info *info = pfs_reader_info(r);
	const struct pfs_stats *st = pfs_reader_stats(r);
	struct pfs_an_capture cap = {
	    .label = label, .source = source, .lost_samples = pfs_stats_lost(st)};
	char *cmd = NULL;
	size_t len = 0;
	bool after = false;
	for (size_t i = 0; i < info->n_cmdline; i++) {
		if (after && info->cmdline[i]) {
			size_t l = strlen(info->cmdline[i]);
			cmd = pfs_xrealloc(cmd, len + l + 2);
			if (len)
				cmd[len++] = ' ';
			memcpy(cmd + len, info->cmdline[i], l + 1);
			len += l;
		}
		after = after || (info->cmdline[i] && !strcmp(info->cmdline[i], "--"));
	}
	cap.command = cmd;
	a->nr_cpus = info->nr_cpus_online ? info->nr_cpus_online : info->nr_cpus_avail;
	pfs_analysis_finish(a, &cap);
	free(cmd);
}

/* ---- closing the books ---- */

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return a < b ? -1 : a > b;
}

/* Nearest-rank percentile of n sorted values. */
static uint64_t percentile(const uint64_t *v, size_t n, double p)
{
	size_t r;
	if (!n)
		return 0;
	r = (size_t)ceil(p * (double)n);
	if (r < 1)
		r = 1;
	return v[r - 1];
}

static struct pfs_analysis *sort_ctx;

static int cmp_thread_idx(const void *x, const void *y)
{
	const struct pfs_an_thread *a = &sort_ctx->th[*(const size_t *)x];
	const struct pfs_an_thread *b = &sort_ctx->th[*(const size_t *)y];
	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	return a->tid < b->tid ? -1 : a->tid > b->tid;
}

static const char *server_of(const char *s)
{
	if (strstr(s, "gunicorn"))
		return "gunicorn";
	if (strstr(s, "uwsgi") || strstr(s, "uWSGI"))
		return "uwsgi";
	return NULL;
}

static struct pfs_an_process *proc_by_pid(struct pfs_analysis *a, uint32_t pid)
{
	for (size_t i = 0; i < a->n_procs; i++)
		if (a->procs[i].pid == pid)
			return &a->procs[i];
	return NULL;
}

static bool is_hidden_thread(const struct pfs_an_thread *t)
{
	/* a switch-in record of a thread that never had a sample makes no row */
	return !t->last_time && !t->cpu_samples;
}

static void build_processes(struct pfs_analysis *a, const struct pfs_an_capture *cap)
{
	size_t *idx = pfs_xmalloc((a->n_th ? a->n_th : 1) * sizeof(*idx));
	size_t n = 0;
	for (size_t i = 0; i < a->n_th; i++)
		if (!is_hidden_thread(&a->th[i]))
			idx[n++] = i;
	sort_ctx = a;
	qsort(idx, n, sizeof(*idx), cmp_thread_idx);
	a->proc_threads = idx;
	a->procs = pfs_xcalloc(n ? n : 1, sizeof(*a->procs));
	for (size_t i = 0; i < n; i++) {
		const struct pfs_an_thread *t = &a->th[idx[i]];
		struct pfs_an_process *p;
		const struct pfs_process *pp;
		const struct pfs_thread *pt;
		pt = pfs_profile_thread(a->p, t->pid, t->tid);
		a->th[idx[i]].comm = pt->comm;
		if (!a->n_procs || a->procs[a->n_procs - 1].pid != t->pid) {
			p = &a->procs[a->n_procs++];
			pp = pfs_profile_process(a->p, t->pid);
			p->pid = t->pid;
			p->ppid = pp->ppid;
			p->comm = pp->comm;
			/* ingest names an exec by its comm: that is no command line, the recorded
			 * one (below) says more and tells gunicorn from any python3.12 */
			p->cmdline = pp->cmdline != pp->comm ? pp->cmdline : 0;
			p->threads = &idx[i];
		}
		p = &a->procs[a->n_procs - 1];
		if (!p->comm && t->tid == t->pid)
			p->comm = pt->comm;
		p->n_threads++;
		p->cpu_samples += t->cpu_samples;
		p->gc_samples += t->gc_samples;
		p->gil_samples += t->gil_samples;
		p->cut_stacks += t->cut_stacks;
		for (int c = 0; c < PFS_CAT_COUNT; c++)
			p->cat[c] += t->cat[c];
		p->cpu_period += t->cpu_period;
		p->gil_wait_ns += t->gil_wait_ns;
		p->gil_waits += t->gil_waits;
		p->probe_wait_ns += t->probe_wait_ns;
		p->probe_waits += t->probe_waits;
		p->gc_pauses += t->gc_pauses;
		p->gc_pause_ns += t->gc_pause_ns;
		p->gil_waits_bounded += t->gil_waits_bounded;
		p->runnable_ns += t->runnable_ns;
		p->runnable_waits += t->runnable_waits;
	}
	for (size_t i = 0; i < a->n_procs; i++) {
		struct pfs_an_process *p = &a->procs[i];
		if (!p->comm && p->n_threads)
			p->comm = a->th[p->threads[0]].comm;
		/* threads that never renamed themselves carry the process's name */
		for (size_t j = 0; j < p->n_threads; j++)
			if (!a->th[p->threads[j]].comm)
				a->th[p->threads[j]].comm = p->comm;
		/* the recorded command is the root's: the process whose parent was not recorded */
		if (!p->cmdline && cap && cap->command && !proc_by_pid(a, p->ppid))
			p->cmdline = pfs_profile_cstr(a->p, cap->command);
	}
	/* a fork without exec keeps the parent's command line; parents may come later in pid order
	 */
	for (int round = 0; round < 64; round++) {
		bool changed = false;
		for (size_t i = 0; i < a->n_procs; i++) {
			struct pfs_an_process *p = &a->procs[i];
			struct pfs_an_process *pp = proc_by_pid(a, p->ppid);
			if (p->cmdline || !pp || pp == p || !pp->cmdline || pp->comm != p->comm)
				continue;
			p->cmdline = pp->cmdline;
			changed = true;
		}
		if (!changed)
			break;
	}
}

/*
 * A program that starts the service rather than being it (`timeout 60 gunicorn ...`, `env
 * VAR=1 python -m gunicorn`, `sudo -u app gunicorn`, a shell): its command line names the
 * server, but it is not the master.
 */
static bool is_wrapper(const char *comm)
{
	static const char *const known[] = {
	    "timeout",	 "env",		 "sudo",   "su",    "doas",    "runuser", "sh",
	    "bash",	 "dash",	 "zsh",	   "ash",   "busybox", "nice",	  "ionice",
	    "taskset",	 "chrt",	 "setsid", "nohup", "stdbuf",  "numactl", "tini",
	    "dumb-init", "s6-setuidgid", "chpst",  "xargs", "perf",    "strace",  "ltrace",
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(comm, known[i]))
			return true;
	return false;
}

/* The part of a wrapper's command line that the program it starts runs: from its first word
 * that names Python or the server ("timeout -s TERM 8 env A=1 python3 -m gunicorn ..." ->
 * "python3 -m gunicorn ..."), or NULL. */
static const char *wrapped_command(const char *cmd)
{
	const char *w = cmd;
	while (w && *w) {
		size_t n = strcspn(w, " ");
		const char *base = w;
		for (const char *c = w; c < w + n; c++)
			if (*c == '/')
				base = c + 1;
		if (!strncmp(base, "python", 6) || !strncmp(base, "pypy", 4) ||
		    !strncmp(base, "gunicorn", 8) || !strncmp(base, "uwsgi", 5))
			return w;
		w += n;
		w += strspn(w, " ");
	}
	return NULL;
}

static void assign_roles(struct pfs_analysis *a)
{
	/* what a wrapper started runs the wrapped command; its forks keep it */
	for (int round = 0; round < 64; round++) {
		bool changed = false;
		for (size_t i = 0; i < a->n_procs; i++) {
			struct pfs_an_process *p = &a->procs[i];
			struct pfs_an_process *pp = proc_by_pid(a, p->ppid);
			const char *pcmd, *w;
			if (p->cmdline || !pp || pp == p || !pp->cmdline ||
			    is_wrapper(pfs_profile_strget(a->p, p->comm, NULL)))
				continue;
			pcmd = pfs_profile_strget(a->p, pp->cmdline, NULL);
			if (is_wrapper(pfs_profile_strget(a->p, pp->comm, NULL)) &&
			    (w = wrapped_command(pcmd)))
				p->cmdline = pfs_profile_cstr(a->p, w);
			else if (pp->comm == p->comm)
				p->cmdline = pp->cmdline;
			else
				continue;
			changed = true;
		}
		if (!changed)
			break;
	}
	for (size_t i = 0; i < a->n_procs; i++) {
		struct pfs_an_process *p = &a->procs[i];
		const char *comm = pfs_profile_strget(a->p, p->comm, NULL);
		const char *cmd = pfs_profile_strget(a->p, p->cmdline, NULL);
		p->server = server_of(comm);
		if (!p->server && !is_wrapper(comm))
			p->server = server_of(cmd);
	}
	/*
	 * A wrapper's server is its children's: the exec'd master of `timeout ... gunicorn` has no
	 * recorded command line (perf keeps the root's only), and a fork keeps its parent's server.
	 * Parents may come later in pid order.
	 */
	for (int round = 0; round < 64; round++) {
		bool changed = false;
		for (size_t i = 0; i < a->n_procs; i++) {
			struct pfs_an_process *p = &a->procs[i];
			struct pfs_an_process *pp = proc_by_pid(a, p->ppid);
			const char *pcomm, *pcmd, *hint;
			if (p->server || !pp || pp == p ||
			    is_wrapper(pfs_profile_strget(a->p, p->comm, NULL)))
				continue;
			pcomm = pfs_profile_strget(a->p, pp->comm, NULL);
			pcmd = pfs_profile_strget(a->p, pp->cmdline, NULL);
			hint = pp->server ? pp->server : is_wrapper(pcomm) ? server_of(pcmd) : NULL;
			if (hint) {
				p->server = hint;
				changed = true;
			}
		}
		if (!changed)
			break;
	}
	for (size_t i = 0; i < a->n_procs; i++) {
		struct pfs_an_process *p = &a->procs[i];
		const char *title = pfs_profile_strget(a->p, p->comm, NULL);
		const char *cmd = pfs_profile_strget(a->p, p->cmdline, NULL);
		struct pfs_an_process *pp = proc_by_pid(a, p->ppid);
		p->role = "process";
		if (is_wrapper(title) && server_of(cmd)) {
			p->role = "wrapper";
			continue;
		}
		if (!p->server)
			continue;
		/* setproctitle titles say it ("gunicorn: worker [app]"); else the fork tree does */
		if (strstr(title, ": worker") || strstr(cmd, ": worker"))
			p->role = "worker";
		else if (strstr(title, ": master") || strstr(cmd, ": master"))
			p->role = "master";
		else if (pp && pp != p && pp->server == p->server)
			p->role = "worker";
		else
			p->role = "master";
	}
}

static bool pid_in(uint32_t pid, const uint32_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == pid)
			return true;
	return false;
}

/* Max and percentiles of the pauses of the n pids. */
static void set_percentiles(struct pfs_analysis *a, struct pfs_an_process *p, const uint32_t *pids,
			    size_t npids, uint64_t *scratch)
{
	size_t n = 0;
	for (size_t j = 0; j < a->n_pauses; j++)
		if (pid_in(a->pauses[j].pid, pids, npids))
			scratch[n++] = a->pauses[j].dur;
	qsort(scratch, n, sizeof(*scratch), cmp_u64);
	p->gc_pause_max_ns = n ? scratch[n - 1] : 0;
	p->gc_pause_p50_ns = percentile(scratch, n, 0.50);
	p->gc_pause_p95_ns = percentile(scratch, n, 0.95);
}

static void pause_percentiles(struct pfs_analysis *a)
{
	uint64_t *d = pfs_xmalloc((a->n_pauses ? a->n_pauses : 1) * sizeof(*d));
	for (size_t i = 0; i < a->n_procs; i++)
		set_percentiles(a, &a->procs[i], &a->procs[i].pid, 1, d);
	for (size_t i = 0; i < a->n_workers; i++)
		set_percentiles(a, &a->workers[i].sum, a->workers[i].pids, a->workers[i].n_pids, d);
	free(d);
}

static void add_figures(struct pfs_an_process *to, const struct pfs_an_process *p)
{
	to->cpu_samples += p->cpu_samples;
	to->gc_samples += p->gc_samples;
	to->gil_samples += p->gil_samples;
	to->cut_stacks += p->cut_stacks;
	for (int c = 0; c < PFS_CAT_COUNT; c++)
		to->cat[c] += p->cat[c];
	to->cpu_period += p->cpu_period;
	to->gil_wait_ns += p->gil_wait_ns;
	to->gil_waits += p->gil_waits;
	to->probe_wait_ns += p->probe_wait_ns;
	to->probe_waits += p->probe_waits;
	to->gc_pauses += p->gc_pauses;
	to->gc_pause_ns += p->gc_pause_ns;
	to->gil_waits_bounded += p->gil_waits_bounded;
	to->runnable_ns += p->runnable_ns;
	to->runnable_waits += p->runnable_waits;
}

/* One aggregate per master that has workers in the capture. */
static void group_workers(struct pfs_analysis *a)
{
	a->workers = pfs_xcalloc(a->n_procs ? a->n_procs : 1, sizeof(*a->workers));
	for (size_t i = 0; i < a->n_procs; i++) {
		const struct pfs_an_process *m = &a->procs[i];
		struct pfs_an_workers *w = &a->workers[a->n_workers];
		if (strcmp(m->role, "master"))
			continue;
		for (size_t j = 0; j < a->n_procs; j++) {
			const struct pfs_an_process *p = &a->procs[j];
			if (strcmp(p->role, "worker") || p->ppid != m->pid)
				continue;
			w->pids = pfs_xreallocarray(w->pids, w->n_pids + 1, sizeof(*w->pids));
			w->pids[w->n_pids++] = p->pid;
			add_figures(&w->sum, p);
		}
		if (!w->n_pids)
			continue;
		w->master = m->pid;
		w->server = m->server;
		w->sum.pid = m->pid;
		w->sum.ppid = m->ppid;
		w->sum.comm = m->comm;
		w->sum.cmdline = m->cmdline;
		w->sum.role = "workers";
		w->sum.server = m->server;
		a->n_workers++;
	}
}

static void take_capture(struct pfs_analysis *a, const struct pfs_an_capture *cap)
{
	const char *label;
	if (!cap)
		return;
	label = cap->label ? cap->label : cap->source;
	a->label = label ? pfs_xstrdup(label) : NULL;
	a->source = cap->source ? pfs_xstrdup(cap->source) : NULL;
	a->command = cap->command ? pfs_xstrdup(cap->command) : NULL;
	a->lost_samples = cap->lost_samples;
	if (cap->first_time || cap->last_time) {
		a->first_time = cap->first_time;
		a->last_time = cap->last_time;
	}
}

/* From the threads' books to processes, roles, worker groups and percentiles. */
static void close_books(struct pfs_analysis *a, const struct pfs_an_capture *cap)
{
	build_processes(a, cap);
	assign_roles(a);
	group_workers(a);
	pause_percentiles(a);
	pfs_handlers_sort(a->handlers);
}

void pfs_analysis_finish(struct pfs_analysis *a, const struct pfs_an_capture *cap)
{
	uint64_t open_gil = 0, open_gc = 0, open_sw = 0, bounded = 0, waits = 0, dropped = 0;
	bool sw = a->seen_switch && a->tp && !a->sampled_switch;
	if (a->finished)
		return;
	a->finished = true;
	(void)commit_ready(a, true);
	/* the list holds what the figures count: switch waits when there are any, else probes */
	{
		size_t n = 0;
		for (size_t i = 0; i < a->n_waits; i++)
			if (a->waits[i].probe != sw)
				a->waits[n++] = a->waits[i];
		a->n_waits = n;
		trim_waits(a);
	}
	/* and so do the stacks that waited */
	if (!sw) {
		free(a->sw);
		umap_release(&a->sw_map);
		a->sw = a->psw;
		a->n_sw = a->n_psw;
		a->cap_sw = a->cap_psw;
		a->sw_map = a->psw_map;
		a->psw = NULL;
		a->n_psw = a->cap_psw = 0;
		memset(&a->psw_map, 0, sizeof(a->psw_map));
	}
	for (size_t i = 0; i < a->n_th; i++) {
		open_sw += a->th[i].off_time && a->th[i].off_kind == OFF_GIL;
		open_gil += a->th[i].gil_open != 0;
		open_gc += a->th[i].gc_open != 0;
		bounded += a->th[i].gil_waits_bounded;
		waits += a->th[i].gil_waits;
	}
	pfs_diag_addn(&a->diag, PFS_NOTE, "gil-wait-unended", open_sw, PFS_NO_OFF,
		      "a GIL wait at a switch had no later event of its thread: not counted");
	pfs_diag_addn(&a->diag, PFS_NOTE, "probe-unpaired", open_gil + open_gc, PFS_NO_OFF,
		      "a take_gil or GC probe entry had no return before the capture ended");
	if (a->sampled_names)
		pfs_diag_add(&a->diag, PFS_WARN, "sampled-events", PFS_NO_OFF,
			     "%s sampled (%s): their GC pauses and GIL waits not measured; "
			     "record -e cpu-clock/freq=499,name=cpu-clock/ and each tracepoint and "
			     "probe with /period=1/, not a global -F",
			     a->sampled_names, a->sampled_mode);
	for (int k = 0; k < 4; k++)
		dropped += a->dropped[k];
	if (dropped)
		pfs_diag_addn(
		    &a->diag, PFS_WARN, "interval-across-loss", dropped, PFS_NO_OFF,
		    "%llu intervals spanned lost records of their CPU or thread and were "
		    "dropped, not paired across the loss (GC pauses %llu, take_gil probe "
		    "waits %llu, switch GIL waits %llu, runnable %llu): those figures are "
		    "lower than the truth",
		    (unsigned long long)dropped, (unsigned long long)a->dropped[IV_GC],
		    (unsigned long long)a->dropped[IV_GIL_PROBE],
		    (unsigned long long)a->dropped[IV_GIL_SWITCH],
		    (unsigned long long)a->dropped[IV_RUNNABLE]);
	if (a->lost_untimed > a->lost_timed && (a->seen_gc_probe || a->seen_gil_probe || sw))
		pfs_diag_addn(&a->diag, PFS_WARN, "loss-unplaced", a->lost_untimed - a->lost_timed,
			      PFS_NO_OFF,
			      "%llu lost records have no time: intervals that span them cannot be "
			      "told apart, so GC pauses and GIL waits may pair across a loss",
			      (unsigned long long)(a->lost_untimed - a->lost_timed));
	if (sw && bounded)
		pfs_diag_addn(&a->diag, PFS_NOTE, "gil-wait-upper-bound", bounded, PFS_NO_OFF,
			      "%llu of %llu GIL waits from switches have no switch-in recorded "
			      "(a per-task capture without --switch-events): each ends at the "
			      "thread's next event, an upper bound",
			      (unsigned long long)bounded, (unsigned long long)waits);
	take_capture(a, cap);
	if (!a->have_ver)
		pfs_diag_add(
		    &a->diag, PFS_NOTE, "no-python", PFS_NO_OFF,
		    "no CPython binary (python3.X or libpython3.X) in the capture's stacks: "
		    "GC, GIL and Python categories do not apply");
	else if (!a->ver.known)
		pfs_diag_add(&a->diag, PFS_WARN, "python-version-unknown", PFS_NO_OFF,
			     "CPython %d.%d is not in perfsight's tables (3.8 to 3.14): GC and GIL "
			     "functions were matched by the names of every known version",
			     a->ver.major, a->ver.minor);
	if (a->have_ver && a->ver.free_threaded)
		pfs_diag_add(&a->diag, PFS_NOTE, "free-threaded", PFS_NO_OFF,
			     "CPython %d.%dt is free-threaded: no GIL unless run with PYTHON_GIL=1",
			     a->ver.major, a->ver.minor);
	if (!a->seen_cpu)
		pfs_diag_add(
		    &a->diag, PFS_NOTE, "no-cpu-event", PFS_NO_OFF,
		    "no cpu-clock, task-clock or cycles samples: CPU figures not computed");
	if (!a->seen_switch)
		pfs_diag_add(&a->diag, PFS_NOTE, "no-sched-switch", PFS_NO_OFF,
			     "sched:sched_switch was not recorded: GIL waits from switches not "
			     "computed (perfsight record adds it)");
	a->switch_waits = sw;
	close_books(a, cap);
	{
		struct pfs_off_info oi = {.switches = sw,
					  .wakeups = a->seen_wakeup && a->tp && !a->sampled_wakeup,
					  .first = a->first_time,
					  .last = a->last_time,
					  .nr_cpus = a->nr_cpus};
		struct pfs_off_role *roles = pfs_xcalloc(a->n_procs + 1, sizeof(*roles));
		for (size_t i = 0; i < a->n_procs; i++)
			roles[i] = (struct pfs_off_role){
			    .pid = a->procs[i].pid,
			    .gunicorn =
				a->procs[i].server && !strcmp(a->procs[i].server, "gunicorn"),
			    .master = !strcmp(a->procs[i].role, "master")};
		pfs_offcpu_finish(a->off, a->have_ver ? &a->ver : NULL, &oi, roles, a->n_procs);
		free(roles);
	}
}

const struct pfs_pyver *pfs_analysis_python(const struct pfs_analysis *a)
{
	return a->have_ver ? &a->ver : NULL;
}

size_t pfs_analysis_n_processes(const struct pfs_analysis *a)
{
	return a->n_procs;
}

const struct pfs_an_process *pfs_analysis_process(const struct pfs_analysis *a, size_t i)
{
	return i < a->n_procs ? &a->procs[i] : NULL;
}

const struct pfs_an_thread *pfs_analysis_thread(const struct pfs_analysis *a, size_t i)
{
	return i < a->n_th ? &a->th[i] : NULL;
}

size_t pfs_analysis_n_workers(const struct pfs_analysis *a)
{
	return a->n_workers;
}

const struct pfs_an_workers *pfs_analysis_workers(const struct pfs_analysis *a, size_t i)
{
	return i < a->n_workers ? &a->workers[i] : NULL;
}

size_t pfs_analysis_n_pauses(const struct pfs_analysis *a)
{
	return a->n_pauses;
}

const struct pfs_an_pause *pfs_analysis_pause(const struct pfs_analysis *a, size_t i)
{
	return i < a->n_pauses ? &a->pauses[i] : NULL;
}

bool pfs_analysis_has_switch_waits(const struct pfs_analysis *a)
{
	return a->finished ? a->switch_waits : a->seen_switch && a->tp && !a->sampled_switch;
}

bool pfs_analysis_has_gil_probes(const struct pfs_analysis *a)
{
	return a->seen_gil_probe && !a->sampled_gil;
}

bool pfs_analysis_has_gc_probes(const struct pfs_analysis *a)
{
	return a->seen_gc_probe && !a->sampled_gc;
}

const char *pfs_analysis_not_measured(const struct pfs_analysis *a, const char *figure)
{
	if (!strcmp(figure, "gc") && a->sampled_gc)
		return "the GC probes were sampled (recorded at a frequency or a period above 1): "
		       "entries and returns are missing, so no pause is measured";
	if (!strcmp(figure, "gil") && a->sampled_gil)
		return "the take_gil probes were sampled (recorded at a frequency or a period "
		       "above "
		       "1): entries and returns are missing, so no wait is measured";
	if (!strcmp(figure, "switch") && a->sampled_switch)
		return "sched:sched_switch was sampled (recorded at a frequency or a period above "
		       "1): most switches are missing, so waits from switches are not computed";
	return NULL;
}

size_t pfs_analysis_n_gctriggers(const struct pfs_analysis *a)
{
	return a->n_gt;
}

const struct pfs_an_gctrigger *pfs_analysis_gctrigger(const struct pfs_analysis *a, size_t i)
{
	return i < a->n_gt ? &a->gt[i] : NULL;
}

static int cmp_gctrigger(const void *x, const void *y)
{
	const struct pfs_an_gctrigger *a = x, *b = y;
	if (a->pause_ns != b->pause_ns)
		return a->pause_ns > b->pause_ns ? -1 : 1;
	if (a->samples != b->samples)
		return a->samples > b->samples ? -1 : 1;
	return a->pypath < b->pypath ? -1 : a->pypath > b->pypath;
}

static size_t gc_triggers(const struct pfs_analysis *a, const uint32_t *pids, size_t npids,
			  struct pfs_an_gctrigger *out, size_t max);

size_t pfs_analysis_gc_triggers(const struct pfs_analysis *a, uint32_t pid,
				struct pfs_an_gctrigger *out, size_t max)
{
	return gc_triggers(a, &pid, 1, out, max);
}

const struct pfs_diag *pfs_analysis_diag(const struct pfs_analysis *a)
{
	return &a->diag;
}

const struct pfs_offcpu *pfs_analysis_offcpu(const struct pfs_analysis *a)
{
	return a->off;
}

struct pfs_offcpu *pfs_analysis_restore_offcpu(struct pfs_analysis *a)
{
	return a->off;
}

const struct pfs_handlers *pfs_analysis_handlers(const struct pfs_analysis *a)
{
	return a->handlers_known ? a->handlers : NULL;
}

struct pfs_handlers *pfs_analysis_restore_handlers(struct pfs_analysis *a)
{
	a->handlers_known = true;
	return a->handlers;
}

bool pfs_analysis_has_cut_stacks(const struct pfs_analysis *a)
{
	return a->cut_known;
}

void pfs_analysis_header(const struct pfs_analysis *a, struct pfs_an_header *h)
{
	memset(h, 0, sizeof(*h));
	h->have_python = a->have_ver;
	h->python = a->ver;
	h->switch_waits = pfs_analysis_has_switch_waits(a);
	h->gil_probes = pfs_analysis_has_gil_probes(a);
	h->gc_probes = pfs_analysis_has_gc_probes(a);
	h->switch_sampled = a->sampled_switch;
	h->gil_sampled = a->sampled_gil;
	h->gc_sampled = a->sampled_gc;
	h->cpu_clock = a->clock_cpu;
	h->cut_stacks = a->cut_known;
	h->lost_samples = a->lost_samples;
	h->first_time = a->first_time;
	h->last_time = a->last_time;
	h->command = a->command;
}

size_t pfs_analysis_n_threads(const struct pfs_analysis *a)
{
	return a->n_th;
}

size_t pfs_analysis_n_stackwaits(const struct pfs_analysis *a)
{
	return a->n_sw;
}

const struct pfs_an_stackwait *pfs_analysis_stackwait(const struct pfs_analysis *a, size_t i)
{
	return i < a->n_sw ? &a->sw[i] : NULL;
}

size_t pfs_analysis_n_events(const struct pfs_analysis *a)
{
	return a->cap_ev;
}

uint64_t pfs_analysis_event_samples(const struct pfs_analysis *a, uint32_t ev)
{
	return ev < a->cap_ev ? a->ev_count[ev] : 0;
}

struct pfs_analysis *pfs_analysis_restore(struct pfs_profile *p, const struct pfs_an_header *h)
{
	struct pfs_analysis *a = pfs_analysis_new(p);
	a->have_ver = h->have_python;
	if (h->have_python)
		a->ver = h->python;
	a->seen_switch = a->switch_waits = h->switch_waits;
	a->seen_gil_probe = h->gil_probes || h->gil_sampled;
	a->seen_gc_probe = h->gc_probes || h->gc_sampled;
	a->sampled_switch = h->switch_sampled;
	a->sampled_gil = h->gil_sampled;
	a->sampled_gc = h->gc_sampled;
	a->clock_cpu = h->cpu_clock;
	a->cut_known = h->cut_stacks;
	a->handlers_known = false; /* until the store gives its rows */
	a->lost_samples = h->lost_samples;
	a->first_time = h->first_time;
	a->last_time = h->last_time;
	a->command = h->command ? pfs_xstrdup(h->command) : NULL;
	return a;
}

void pfs_analysis_restore_thread(struct pfs_analysis *a, const struct pfs_an_thread *t)
{
	struct pfs_an_thread *d = thread_of(a, t->pid, t->tid);
	*d = *t;
	d->comm = 0;
	d->off_time = d->gil_open = d->gc_open = d->lost_time = 0;
	d->off_pypath = d->off_path = d->gil_open_pypath = d->gc_open_pypath = 0;
}

void pfs_analysis_restore_pause(struct pfs_analysis *a, const struct pfs_an_pause *ps)
{
	PFS_GROW(a->pauses, a->cap_pauses, a->n_pauses + 1);
	a->pauses[a->n_pauses++] = *ps;
}

void pfs_analysis_restore_wait(struct pfs_analysis *a, const struct pfs_an_wait *w)
{
	/* stored longest first, as finish left them: kept in that order */
	if (a->n_waits >= PFS_AN_MAX_WAITS)
		return;
	PFS_GROW(a->waits, a->cap_waits, a->n_waits + 1);
	a->waits[a->n_waits++] = *w;
}

void pfs_analysis_restore_stackwait(struct pfs_analysis *a, const struct pfs_an_stackwait *s)
{
	PFS_GROW(a->sw, a->cap_sw, a->n_sw + 1);
	a->sw[a->n_sw++] = *s;
}

void pfs_analysis_restore_gctrigger(struct pfs_analysis *a, const struct pfs_an_gctrigger *g)
{
	struct pfs_an_gctrigger *d = gctrigger(a, g->pid, g->pypath);
	d->pauses += g->pauses;
	d->pause_ns += g->pause_ns;
	d->samples += g->samples;
}

void pfs_analysis_restore_events(struct pfs_analysis *a, uint32_t ev, uint64_t samples)
{
	grow_events(a, ev);
	a->ev_count[ev] = samples;
}

void pfs_analysis_restore_note(struct pfs_analysis *a, const char *code, enum pfs_severity sev,
			       uint64_t count, const char *msg)
{
	/* diag codes are literals compared by pointer: a stored code maps back to its literal */
	static const char *const codes[] = {
	    "bad-sample-row",	      "bad-switch-sample",   "free-threaded",
	    "gil-wait-unended",	      "no-cpu-event",	     "no-python",
	    "no-sched-switch",	      "other-tracepoint",    "probe-unpaired",
	    "python-versions",	      "switch-state-format", "tracepoint-format",
	    "no-tracing-data",	      "out-of-order-sample", "probe-without-time",
	    "python-version-unknown", "tracing-data",	     "sampled-events",
	    "interval-across-loss",   "loss-unplaced",	     "gil-wait-upper-bound",
	};
	const char *lit = "stored-note";
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (code && !strcmp(code, codes[i]))
			lit = codes[i];
	pfs_diag_addn(&a->diag, sev, lit, count, PFS_NO_OFF, "%s", msg ? msg : "");
}

void pfs_analysis_restore_finish(struct pfs_analysis *a, const struct pfs_an_capture *cap)
{
	struct pfs_an_capture c = {0};
	if (a->finished)
		return;
	a->finished = true;
	if (cap) {
		c.label = cap->label;
		c.source = cap->source;
	}
	char *cmd = a->command;
	c.command = cmd;
	c.lost_samples = a->lost_samples;
	c.first_time = a->first_time;
	c.last_time = a->last_time;
	a->command = NULL;
	take_capture(a, &c);
	close_books(a, &c);
	free(cmd);
}

static int cmp_stackwait(const void *x, const void *y)
{
	const struct pfs_an_stackwait *a = x, *b = y;
	if (a->ns != b->ns)
		return a->ns > b->ns ? -1 : 1;
	return a->pypath < b->pypath ? -1 : a->pypath > b->pypath;
}

static size_t top_waits(const struct pfs_analysis *a, const uint32_t *pids, size_t npids,
			struct pfs_an_stackwait *out, size_t max)
{
	size_t n = 0;
	struct pfs_an_stackwait *all = pfs_xmalloc((a->n_sw ? a->n_sw : 1) * sizeof(*all));
	for (size_t i = 0; i < a->n_sw; i++)
		if (pid_in(a->sw[i].pid, pids, npids))
			all[n++] = a->sw[i];
	qsort(all, n, sizeof(*all), cmp_stackwait);
	if (n > max)
		n = max;
	memcpy(out, all, n * sizeof(*out));
	free(all);
	return n;
}

static size_t gc_triggers(const struct pfs_analysis *a, const uint32_t *pids, size_t npids,
			  struct pfs_an_gctrigger *out, size_t max)
{
	size_t n = 0;
	struct pfs_an_gctrigger *all = pfs_xmalloc((a->n_gt ? a->n_gt : 1) * sizeof(*all));
	for (size_t i = 0; i < a->n_gt; i++) {
		size_t j;
		if (!pid_in(a->gt[i].pid, pids, npids))
			continue;
		/* the workers' sum: one row per path, whichever worker it ran in */
		for (j = 0; j < n && all[j].pypath != a->gt[i].pypath; j++)
			;
		if (j == n) {
			all[n] = a->gt[i];
			all[n++].pid = pids[0];
		} else {
			all[j].pauses += a->gt[i].pauses;
			all[j].pause_ns += a->gt[i].pause_ns;
			all[j].samples += a->gt[i].samples;
		}
	}
	qsort(all, n, sizeof(*all), cmp_gctrigger);
	if (n > max)
		n = max;
	memcpy(out, all, n * sizeof(*out));
	free(all);
	return n;
}

size_t pfs_analysis_n_waits(const struct pfs_analysis *a)
{
	return a->n_waits;
}

const struct pfs_an_wait *pfs_analysis_wait(const struct pfs_analysis *a, size_t i)
{
	return &a->waits[i];
}

size_t pfs_analysis_top_waits(const struct pfs_analysis *a, uint32_t pid,
			      struct pfs_an_stackwait *out, size_t max)
{
	return top_waits(a, &pid, 1, out, max);
}

static const struct pfs_analysis *pause_ctx;

static int cmp_pause_idx(const void *x, const void *y)
{
	const struct pfs_an_pause *a = &pause_ctx->pauses[*(const size_t *)x];
	const struct pfs_an_pause *b = &pause_ctx->pauses[*(const size_t *)y];
	if (a->dur != b->dur)
		return a->dur > b->dur ? -1 : 1;
	return a->start < b->start ? -1 : a->start > b->start;
}

/* Pauses of the pids, longest first (indices into the pause list), up to max. */
static size_t longest_pauses(const struct pfs_analysis *a, const uint32_t *pids, size_t npids,
			     size_t *out, size_t max)
{
	size_t n = 0;
	size_t *all = pfs_xmalloc((a->n_pauses ? a->n_pauses : 1) * sizeof(*all));
	for (size_t i = 0; i < a->n_pauses; i++)
		if (pid_in(a->pauses[i].pid, pids, npids))
			all[n++] = i;
	pause_ctx = a;
	qsort(all, n, sizeof(*all), cmp_pause_idx);
	if (n > max)
		n = max;
	memcpy(out, all, n * sizeof(*out));
	free(all);
	return n;
}

/* ---- output ---- */

#define TOP 5

static double secs(uint64_t ns)
{
	return (double)ns / 1e9;
}

static double share(uint64_t n, uint64_t d)
{
	return d ? (double)n / (double)d : 0.0;
}

static void json_stack(const struct pfs_analysis *a, struct pfs_jsonw *w, uint32_t path)
{
	uint32_t ids[512];
	size_t n = 0;
	while (path && n < sizeof(ids) / sizeof(ids[0])) {
		const struct pfs_path_node *node = pfs_profile_pathget(a->p, path);
		ids[n++] = node->frame;
		path = node->parent;
	}
	pfs_jsonw_arr(w);
	while (n--) {
		const struct pfs_frame *f = pfs_profile_frameget(a->p, ids[n]);
		const char *name = pfs_profile_strget(a->p, f->name, NULL);
		const char *fn, *file;
		size_t fl, filel;
		pfs_jsonw_obj(w);
		pfs_jsonw_key(w, "function");
		if (pfs_pyclass_split_pyname(name, &fn, &fl, &file, &filel)) {
			pfs_jsonw_strn(w, fn, fl);
			pfs_jsonw_key(w, "file");
			pfs_jsonw_strn(w, file, filel);
		} else {
			pfs_jsonw_str(w, name);
			pfs_jsonw_key(w, "file");
			pfs_jsonw_str(w, f->file ? pfs_profile_strget(a->p, f->file, NULL) : NULL);
		}
		pfs_jsonw_end_obj(w);
	}
	pfs_jsonw_end_arr(w);
}

void pfs_analysis_json_pystack(const struct pfs_analysis *a, struct pfs_jsonw *w, uint32_t path)
{
	json_stack(a, w, path);
}

static void json_opt_secs(struct pfs_jsonw *w, bool have, uint64_t ns)
{
	if (have)
		pfs_jsonw_dbl(w, secs(ns));
	else
		pfs_jsonw_null(w);
}

static void json_opt_u64(struct pfs_jsonw *w, bool have, uint64_t v)
{
	if (have)
		pfs_jsonw_u64(w, v);
	else
		pfs_jsonw_null(w);
}

/* {"switches": WHY, "probes": WHY} of the GIL figures not measured, or null when none. */
static void json_not_measured(const struct pfs_analysis *a, struct pfs_jsonw *w, const char *fig)
{
	const char *sw = pfs_analysis_not_measured(a, "switch"),
		   *gp = pfs_analysis_not_measured(a, "gil");
	(void)fig;
	if (!sw && !gp) {
		pfs_jsonw_null(w);
		return;
	}
	pfs_jsonw_obj(w);
	if (sw) {
		pfs_jsonw_key(w, "switches");
		pfs_jsonw_str(w, sw);
	}
	if (gp) {
		pfs_jsonw_key(w, "probes");
		pfs_jsonw_str(w, gp);
	}
	pfs_jsonw_end_obj(w);
}

/* {"samples", "share"} of the CPU samples whose stack was cut short, or null when not counted. */
static void json_cut(struct pfs_jsonw *w, bool have, uint64_t cut, uint64_t cpu)
{
	if (!have) {
		pfs_jsonw_null(w);
		return;
	}
	pfs_jsonw_obj(w);
	pfs_jsonw_key(w, "samples");
	pfs_jsonw_u64(w, cut);
	pfs_jsonw_key(w, "share");
	pfs_jsonw_dbl(w, share(cut, cpu));
	pfs_jsonw_end_obj(w);
}

/* Shares of the categories present; they sum to 1 (an empty object without CPU samples). */
static void json_categories(struct pfs_jsonw *w, const uint64_t *cat, uint64_t total)
{
	pfs_jsonw_obj(w);
	for (int c = 0; c < PFS_CAT_COUNT; c++) {
		if (!cat[c])
			continue;
		pfs_jsonw_key(w, pfs_pycat_name(c));
		pfs_jsonw_dbl(w, share(cat[c], total));
	}
	pfs_jsonw_end_obj(w);
}

static void json_thread(const struct pfs_analysis *a, struct pfs_jsonw *w,
			const struct pfs_an_thread *t)
{
	bool sw = pfs_analysis_has_switch_waits(a), gp = pfs_analysis_has_gil_probes(a),
	     cp = pfs_analysis_has_gc_probes(a);
	pfs_jsonw_obj(w);
	pfs_jsonw_key(w, "tid");
	pfs_jsonw_u64(w, t->tid);
	pfs_jsonw_key(w, "comm");
	pfs_jsonw_str(w, t->comm ? pfs_profile_strget(a->p, t->comm, NULL) : NULL);
	pfs_jsonw_key(w, "cpu_samples");
	pfs_jsonw_u64(w, t->cpu_samples);
	pfs_jsonw_key(w, "gc_samples");
	pfs_jsonw_u64(w, t->gc_samples);
	pfs_jsonw_key(w, "categories");
	json_categories(w, t->cat, t->cpu_samples);
	pfs_jsonw_key(w, "cut_stacks");
	json_cut(w, a->cut_known, t->cut_stacks, t->cpu_samples);
	pfs_jsonw_key(w, "gil_wait_s");
	json_opt_secs(w, sw, t->gil_wait_ns);
	pfs_jsonw_key(w, "gil_waits");
	json_opt_u64(w, sw, t->gil_waits);
	pfs_jsonw_key(w, "gil_waits_upper_bound");
	json_opt_u64(w, sw, t->gil_waits_bounded);
	pfs_jsonw_key(w, "runnable_s");
	json_opt_secs(w, sw, t->runnable_ns);
	pfs_jsonw_key(w, "runnable_waits");
	json_opt_u64(w, sw, t->runnable_waits);
	pfs_jsonw_key(w, "gil_probe_wait_s");
	json_opt_secs(w, gp, t->probe_wait_ns);
	pfs_jsonw_key(w, "gil_probe_waits");
	json_opt_u64(w, gp, t->probe_waits);
	pfs_jsonw_key(w, "gc_pauses");
	json_opt_u64(w, cp, t->gc_pauses);
	pfs_jsonw_key(w, "gc_pause_s");
	json_opt_secs(w, cp, t->gc_pause_ns);
	pfs_jsonw_key(w, "budget");
	pfs_verdicts_json_budget(a, w, &t->pid, 1, t->tid, t->cpu_samples, t->cat, t->cpu_period);
	pfs_jsonw_end_obj(w);
}

/* A process, or (grp) the sum of a master's workers. */
static void json_process(const struct pfs_analysis *a, struct pfs_jsonw *w,
			 const struct pfs_an_process *p, const struct pfs_an_workers *grp)
{
	bool sw = pfs_analysis_has_switch_waits(a), gp = pfs_analysis_has_gil_probes(a),
	     cp = pfs_analysis_has_gc_probes(a);
	struct pfs_an_stackwait top[TOP];
	struct pfs_an_gctrigger trig[TOP];
	size_t longest[TOP], n;
	const uint32_t *pids = grp ? grp->pids : &p->pid;
	size_t npids = grp ? grp->n_pids : 1;
	pfs_jsonw_obj(w);
	if (grp) {
		pfs_jsonw_key(w, "master_pid");
		pfs_jsonw_u64(w, grp->master);
		pfs_jsonw_key(w, "worker_pids");
		pfs_jsonw_arr(w);
		for (size_t i = 0; i < grp->n_pids; i++)
			pfs_jsonw_u64(w, grp->pids[i]);
		pfs_jsonw_end_arr(w);
	} else {
		pfs_jsonw_key(w, "pid");
		pfs_jsonw_u64(w, p->pid);
		pfs_jsonw_key(w, "ppid");
		pfs_jsonw_u64(w, p->ppid);
	}
	pfs_jsonw_key(w, "comm");
	pfs_jsonw_str(w, p->comm ? pfs_profile_strget(a->p, p->comm, NULL) : NULL);
	pfs_jsonw_key(w, "cmdline");
	pfs_jsonw_str(w, p->cmdline ? pfs_profile_strget(a->p, p->cmdline, NULL) : NULL);
	pfs_jsonw_key(w, "role");
	pfs_jsonw_str(w, p->role);
	pfs_jsonw_key(w, "server");
	pfs_jsonw_str(w, p->server);
	pfs_jsonw_key(w, "cpu_samples");
	pfs_jsonw_u64(w, p->cpu_samples);
	pfs_jsonw_key(w, "cpu_s");
	json_opt_secs(w, a->clock_cpu, p->cpu_period);
	pfs_jsonw_key(w, "categories");
	json_categories(w, p->cat, p->cpu_samples);
	pfs_jsonw_key(w, "cut_stacks");
	json_cut(w, a->cut_known, p->cut_stacks, p->cpu_samples);

	pfs_jsonw_key(w, "gc");
	pfs_jsonw_obj(w);
	pfs_jsonw_key(w, "share");
	pfs_jsonw_dbl(w, share(p->gc_samples, p->cpu_samples));
	pfs_jsonw_key(w, "samples");
	pfs_jsonw_u64(w, p->gc_samples);
	pfs_jsonw_key(w, "pauses");
	json_opt_u64(w, cp, p->gc_pauses);
	pfs_jsonw_key(w, "pause_s");
	json_opt_secs(w, cp, p->gc_pause_ns);
	pfs_jsonw_key(w, "pause_max_ms");
	if (cp)
		pfs_jsonw_dbl(w, (double)p->gc_pause_max_ns / 1e6);
	else
		pfs_jsonw_null(w);
	pfs_jsonw_key(w, "pause_p50_ms");
	if (cp)
		pfs_jsonw_dbl(w, (double)p->gc_pause_p50_ns / 1e6);
	else
		pfs_jsonw_null(w);
	pfs_jsonw_key(w, "pause_p95_ms");
	if (cp)
		pfs_jsonw_dbl(w, (double)p->gc_pause_p95_ns / 1e6);
	else
		pfs_jsonw_null(w);
	pfs_jsonw_key(w, "longest");
	pfs_jsonw_arr(w);
	n = longest_pauses(a, pids, npids, longest, TOP);
	for (size_t i = 0; i < n; i++) {
		const struct pfs_an_pause *ps = &a->pauses[longest[i]];
		pfs_jsonw_obj(w);
		if (grp) {
			pfs_jsonw_key(w, "pid");
			pfs_jsonw_u64(w, ps->pid);
		}
		pfs_jsonw_key(w, "tid");
		pfs_jsonw_u64(w, ps->tid);
		pfs_jsonw_key(w, "start_s");
		pfs_jsonw_dbl(w, secs(ps->start));
		pfs_jsonw_key(w, "ms");
		pfs_jsonw_dbl(w, (double)ps->dur / 1e6);
		if (ps->gen >= 0) {
			pfs_jsonw_key(w, "generation");
			pfs_jsonw_u64(w, (uint64_t)ps->gen);
		}
		pfs_jsonw_key(w, "python_stack");
		json_stack(a, w, ps->pypath);
		pfs_jsonw_end_obj(w);
	}
	pfs_jsonw_end_arr(w);
	pfs_jsonw_key(w, "triggers");
	pfs_jsonw_arr(w);
	n = gc_triggers(a, pids, npids, trig, TOP);
	for (size_t i = 0; i < n; i++) {
		pfs_jsonw_obj(w);
		pfs_jsonw_key(w, "pauses");
		json_opt_u64(w, cp, trig[i].pauses);
		pfs_jsonw_key(w, "pause_s");
		json_opt_secs(w, cp, trig[i].pause_ns);
		pfs_jsonw_key(w, "samples");
		pfs_jsonw_u64(w, trig[i].samples);
		pfs_jsonw_key(w, "python_stack");
		json_stack(a, w, trig[i].pypath);
		pfs_jsonw_end_obj(w);
	}
	pfs_jsonw_end_arr(w);
	pfs_jsonw_key(w, "not_measured");
	pfs_jsonw_str(w, pfs_analysis_not_measured(a, "gc"));
	pfs_jsonw_end_obj(w);

	pfs_jsonw_key(w, "gil");
	pfs_jsonw_obj(w);
	pfs_jsonw_key(w, "source");
	pfs_jsonw_str(w, sw ? "switches" : gp ? "probes" : NULL);
	pfs_jsonw_key(w, "wait_s");
	json_opt_secs(w, sw, p->gil_wait_ns);
	pfs_jsonw_key(w, "waits");
	json_opt_u64(w, sw, p->gil_waits);
	pfs_jsonw_key(w, "waits_upper_bound");
	json_opt_u64(w, sw, p->gil_waits_bounded);
	pfs_jsonw_key(w, "runnable_s");
	json_opt_secs(w, sw, p->runnable_ns);
	pfs_jsonw_key(w, "runnable_waits");
	json_opt_u64(w, sw, p->runnable_waits);
	pfs_jsonw_key(w, "probe_wait_s");
	json_opt_secs(w, gp, p->probe_wait_ns);
	pfs_jsonw_key(w, "probe_waits");
	json_opt_u64(w, gp, p->probe_waits);
	pfs_jsonw_key(w, "overhead_share");
	pfs_jsonw_dbl(w, share(p->gil_samples, p->cpu_samples));
	pfs_jsonw_key(w, "top_waits");
	pfs_jsonw_arr(w);
	n = top_waits(a, pids, npids, top, TOP);
	for (size_t i = 0; i < n; i++) {
		pfs_jsonw_obj(w);
		pfs_jsonw_key(w, "wait_s");
		pfs_jsonw_dbl(w, secs(top[i].ns));
		pfs_jsonw_key(w, "waits");
		pfs_jsonw_u64(w, top[i].n);
		pfs_jsonw_key(w, "python_stack");
		json_stack(a, w, top[i].pypath);
		pfs_jsonw_end_obj(w);
	}
	pfs_jsonw_end_arr(w);
	pfs_jsonw_key(w, "not_measured");
	json_not_measured(a, w, "gil");
	pfs_jsonw_end_obj(w);
	pfs_jsonw_key(w, "budget");
	pfs_verdicts_json_budget(a, w, pids, npids, 0, p->cpu_samples, p->cat, p->cpu_period);

	if (!grp) {
		pfs_jsonw_key(w, "threads");
		pfs_jsonw_arr(w);
		for (size_t i = 0; i < p->n_threads; i++)
			json_thread(a, w, &a->th[p->threads[i]]);
		pfs_jsonw_end_arr(w);
	}
	pfs_jsonw_end_obj(w);
}

/* The name of a handler frame as a reader knows it: "view (file.py)". */
static void handler_label(const char *name, char *buf, size_t len)
{
	const char *fn, *file;
	size_t fl, filel;
	if (pfs_pyclass_split_pyname(name, &fn, &fl, &file, &filel))
		snprintf(buf, len, "%.*s (%s)", (int)fl, fn, pfs_pyclass_basename(file));
	else
		snprintf(buf, len, "%s", name);
}

/* How the GIL waits of the handler table were measured: the headline's method. */
static const char *handler_wait_method(const struct pfs_analysis *a)
{
	return pfs_analysis_has_switch_waits(a) ? "sched_switch"
	       : pfs_analysis_has_gil_probes(a) ? "take_gil probes"
						: NULL;
}

static void json_handlers(const struct pfs_analysis *a, struct pfs_jsonw *w)
{
	const struct pfs_handlers *h = pfs_analysis_handlers(a);
	const char *method = handler_wait_method(a);
	bool sw = pfs_analysis_has_switch_waits(a);
	if (!h) {
		pfs_jsonw_null(w);
		return;
	}
	const struct pfs_handlers_rest *rest = pfs_handlers_rest(h);
	const char *fws = pfs_handlers_frameworks(h);
	pfs_jsonw_obj(w);
	pfs_jsonw_key(w, "frameworks");
	pfs_jsonw_arr(w);
	for (const char *s = fws; *s;) {
		const char *e = strchr(s, ',');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		pfs_jsonw_strn(w, s, n);
		s += n + (e != NULL);
	}
	pfs_jsonw_end_arr(w);
	pfs_jsonw_key(w, "why");
	pfs_jsonw_str(w, *fws ? NULL : PFS_HANDLERS_NONE);
	pfs_jsonw_key(w, "cpu_samples");
	pfs_jsonw_u64(w, rest->cpu_total);
	pfs_jsonw_key(w, "outside_samples");
	pfs_jsonw_u64(w, rest->cpu_samples);
	pfs_jsonw_key(w, "outside_cut_samples");
	pfs_jsonw_u64(w, rest->cut_samples);
	pfs_jsonw_key(w, "gil_wait_method");
	pfs_jsonw_str(w, method);
	pfs_jsonw_key(w, "rows");
	pfs_jsonw_arr(w);
	for (size_t i = 0; i < pfs_handlers_n(h); i++) {
		const struct pfs_handler_row *r = pfs_handlers_row(h, i);
		char label[512];
		handler_label(r->name, label, sizeof(label));
		pfs_jsonw_obj(w);
		pfs_jsonw_key(w, "handler");
		pfs_jsonw_str(w, r->name);
		pfs_jsonw_key(w, "label");
		pfs_jsonw_str(w, label);
		pfs_jsonw_key(w, "framework");
		pfs_jsonw_str(w, r->framework);
		pfs_jsonw_key(w, "kind");
		pfs_jsonw_str(w, pfs_handler_kind_name(r->kind));
		pfs_jsonw_key(w, "cpu_samples");
		pfs_jsonw_u64(w, r->cpu_samples);
		pfs_jsonw_key(w, "cpu_share");
		pfs_jsonw_dbl(w, share(r->cpu_samples, rest->cpu_total));
		pfs_jsonw_key(w, "cpu_s");
		json_opt_secs(w, a->clock_cpu, r->cpu_period);
		pfs_jsonw_key(w, "gc_samples");
		pfs_jsonw_u64(w, r->gc_samples);
		pfs_jsonw_key(w, "gc_share");
		pfs_jsonw_dbl(w, share(r->gc_samples, r->cpu_samples));
		pfs_jsonw_key(w, "gc_pauses");
		json_opt_u64(w, pfs_analysis_has_gc_probes(a), r->gc_pauses);
		pfs_jsonw_key(w, "gc_pause_s");
		json_opt_secs(w, pfs_analysis_has_gc_probes(a), r->gc_pause_ns);
		pfs_jsonw_key(w, "gil_waits");
		json_opt_u64(w, method != NULL, sw ? r->gil_waits : r->probe_waits);
		pfs_jsonw_key(w, "gil_wait_s");
		json_opt_secs(w, method != NULL, sw ? r->gil_wait_ns : r->probe_wait_ns);
		pfs_jsonw_end_obj(w);
	}
	pfs_jsonw_end_arr(w);
	pfs_jsonw_end_obj(w);
}

void pfs_analysis_json_capture(const struct pfs_analysis *a, struct pfs_jsonw *w)
{
	pfs_jsonw_obj(w);
	pfs_jsonw_key(w, "label");
	pfs_jsonw_str(w, a->label);
	pfs_jsonw_key(w, "source");
	pfs_jsonw_str(w, a->source);
	pfs_jsonw_key(w, "duration_s");
	pfs_jsonw_dbl(w, a->last_time > a->first_time ? secs(a->last_time - a->first_time) : 0.0);
	pfs_jsonw_key(w, "events");
	pfs_jsonw_obj(w);
	for (size_t i = 0; i < a->cap_ev && i < pfs_profile_n_events(a->p); i++) {
		const struct pfs_event *e;
		if (!a->ev_count[i])
			continue;
		e = pfs_profile_event(a->p, (uint32_t)i);
		pfs_jsonw_key(w, pfs_profile_strget(a->p, e->name, NULL));
		pfs_jsonw_u64(w, a->ev_count[i]);
	}
	pfs_jsonw_end_obj(w);
	pfs_jsonw_key(w, "lost_samples");
	pfs_jsonw_u64(w, a->lost_samples);
	pfs_jsonw_key(w, "python");
	if (a->have_ver) {
		char v[32];
		snprintf(v, sizeof(v), "%d.%d%s", a->ver.major, a->ver.minor,
			 a->ver.free_threaded ? "t" : "");
		pfs_jsonw_obj(w);
		pfs_jsonw_key(w, "version");
		pfs_jsonw_str(w, v);
		pfs_jsonw_key(w, "free_threaded");
		pfs_jsonw_bool(w, a->ver.free_threaded);
		pfs_jsonw_key(w, "known");
		pfs_jsonw_bool(w, a->ver.known);
		pfs_jsonw_end_obj(w);
	} else {
		pfs_jsonw_null(w);
	}
	pfs_jsonw_key(w, "not_measured");
	{
		static const char *const figs[][2] = {{"gc", "gc_pauses"},
						      {"gil", "gil_probe_waits"},
						      {"switch", "gil_switch_waits"}};
		bool any = false;
		for (size_t i = 0; i < 3; i++) {
			const char *why = pfs_analysis_not_measured(a, figs[i][0]);
			if (!why)
				continue;
			if (!any)
				pfs_jsonw_obj(w);
			any = true;
			pfs_jsonw_key(w, figs[i][1]);
			pfs_jsonw_str(w, why);
		}
		if (any)
			pfs_jsonw_end_obj(w);
		else
			pfs_jsonw_null(w);
	}
	pfs_jsonw_key(w, "notes");
	pfs_jsonw_arr(w);
	for (size_t i = 0; i < a->diag.n; i++) {
		const struct pfs_diag_entry *e = &a->diag.v[i];
		pfs_jsonw_obj(w);
		pfs_jsonw_key(w, "code");
		pfs_jsonw_str(w, e->code);
		pfs_jsonw_key(w, "severity");
		pfs_jsonw_str(w, pfs_severity_name(e->sev));
		pfs_jsonw_key(w, "count");
		pfs_jsonw_u64(w, e->count);
		pfs_jsonw_key(w, "message");
		pfs_jsonw_str(w, e->msg);
		pfs_jsonw_end_obj(w);
	}
	pfs_jsonw_end_arr(w);
	pfs_jsonw_key(w, "processes");
	pfs_jsonw_arr(w);
	for (size_t i = 0; i < a->n_procs; i++)
		json_process(a, w, &a->procs[i], NULL);
	pfs_jsonw_end_arr(w);
	pfs_jsonw_key(w, "workers");
	pfs_jsonw_arr(w);
	for (size_t i = 0; i < a->n_workers; i++)
		json_process(a, w, &a->workers[i].sum, &a->workers[i]);
	pfs_jsonw_end_arr(w);
	pfs_jsonw_key(w, "handlers");
	json_handlers(a, w);
	pfs_verdicts_json(a, w);
	pfs_jsonw_end_obj(w);
}

static int flush_check(FILE *f, struct pfs_err *err)
{
	if (fflush(f) || ferror(f))
		return pfs_err_set(err, PFS_EIO, PFS_NO_OFF, "cannot write the summary: %s",
				   strerror(errno));
	return 0;
}

int pfs_analysis_write_json(struct pfs_analysis *const *v, size_t n, FILE *f, bool pretty,
			    struct pfs_err *err)
{
	struct pfs_jsonw w;
	pfs_jsonw_init(&w, f, pretty);
	pfs_jsonw_obj(&w);
	pfs_jsonw_key(&w, "schema");
	pfs_jsonw_str(&w, "perfsight-summary/1");
	pfs_jsonw_key(&w, "captures");
	pfs_jsonw_arr(&w);
	for (size_t i = 0; i < n; i++)
		pfs_analysis_json_capture(v[i], &w);
	pfs_jsonw_end_arr(&w);
	pfs_jsonw_end_obj(&w);
	if (!pretty)
		fputc('\n', f);
	return flush_check(f, err);
}

/* Prints a capture string with control bytes replaced, so a hostile comm cannot drive the tty. */
static void put_safe(FILE *f, const char *s, size_t max)
{
	size_t n = 0;
	for (; s && *s && n < max; s++, n++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
	if (s && *s)
		fputs("...", f);
}

/*
 * A command line as a reader wants it: programs by their names ("/usr/bin/python3.12" ->
 * "python3.12"), the options whole (the worker options come after the program), at most max
 * bytes.
 */
static void put_cmdline(FILE *f, const char *s, size_t max)
{
	char buf[4096];
	size_t n = 0;
	while (s && *s && n + 1 < sizeof(buf)) {
		size_t w = strcspn(s, " ");
		const char *base = s, *slash = NULL;
		for (const char *c = s; c < s + w; c++)
			if (*c == '/')
				slash = c;
		/* an absolute path to a program under a bin directory is the program */
		if (s[0] == '/' && slash && slash - s >= 4 && !strncmp(slash - 4, "/bin", 4))
			base = slash + 1;
		w -= (size_t)(base - s);
		if (w > sizeof(buf) - 1 - n)
			w = sizeof(buf) - 1 - n;
		memcpy(buf + n, base, w);
		n += w;
		s = base + w;
		while (*s == ' ' && n + 1 < sizeof(buf)) {
			buf[n++] = ' ';
			s++;
		}
	}
	buf[n] = 0;
	put_safe(f, buf, max);
}

static void text_stack(const struct pfs_analysis *a, FILE *f, uint32_t path)
{
	uint32_t ids[4];
	size_t n = 0;
	bool more = false;
	while (path) {
		const struct pfs_path_node *node = pfs_profile_pathget(a->p, path);
		if (n == sizeof(ids) / sizeof(ids[0])) {
			more = true;
			break;
		}
		ids[n++] = node->frame;
		path = node->parent;
	}
	if (!n) {
		fputs("(no stack)", f);
		return;
	}
	if (more)
		fputs("... > ", f);
	while (n--) {
		const struct pfs_frame *fr = pfs_profile_frameget(a->p, ids[n]);
		const char *name = pfs_profile_strget(a->p, fr->name, NULL);
		const char *fn, *file;
		size_t fl, filel;
		if (pfs_pyclass_split_pyname(name, &fn, &fl, &file, &filel)) {
			char buf[512];
			snprintf(buf, sizeof(buf), "%.*s (%s)", (int)fl, fn,
				 pfs_pyclass_basename(file));
			put_safe(f, buf, 80);
		} else {
			put_safe(f, name, 80);
		}
		if (n)
			fputs(" > ", f);
	}
}

void pfs_analysis_text_pystack(const struct pfs_analysis *a, FILE *f, uint32_t path)
{
	text_stack(a, f, path);
}

struct pfs_profile *pfs_analysis_profile(const struct pfs_analysis *a)
{
	return a->p;
}

/* Seconds the threads of the pids lived within the capture (first to last record of each). */
static uint64_t thread_life_ns(const struct pfs_analysis *a, const uint32_t *pids, size_t npids)
{
	uint64_t ns = 0;
	for (size_t i = 0; i < a->n_procs; i++) {
		const struct pfs_an_process *p = &a->procs[i];
		if (!pid_in(p->pid, pids, npids))
			continue;
		for (size_t j = 0; j < p->n_threads; j++) {
			const struct pfs_an_thread *t = &a->th[p->threads[j]];
			const struct pfs_thread *pt = pfs_profile_thread(a->p, t->pid, t->tid);
			if (pt->end > pt->start)
				ns += pt->end - pt->start;
		}
	}
	return ns;
}

/*
 * The GC and GIL lines of a process or a workers' sum: the GIL wait first (the time its threads
 * could not run Python), saying which definition it is, then what was not measured and why.
 */
static void text_gc_gil(const struct pfs_analysis *a, FILE *f, const struct pfs_an_process *p,
			const uint32_t *pids, size_t npids)
{
	bool sw = pfs_analysis_has_switch_waits(a), gp = pfs_analysis_has_gil_probes(a),
	     cp = pfs_analysis_has_gc_probes(a);
	const char *why;
	uint64_t life = thread_life_ns(a, pids, npids);
	struct pfs_an_gctrigger trig[3];
	size_t n;
	if (sw || gp) {
		uint64_t ns = sw ? p->gil_wait_ns : p->probe_wait_ns;
		fprintf(f, "  GIL wait: %.3f s in %llu waits", secs(ns),
			(unsigned long long)(sw ? p->gil_waits : p->probe_waits));
		if (life)
			fprintf(f, ", %.1f%% of its threads' time", 100 * share(ns, life));
		if (sw)
			fprintf(f, " (off CPU in take_gil, switch-out to switch-in%s)",
				p->gil_waits_bounded ? "; upper bound" : "");
		else
			fputs(" (take_gil probes, entry to return)", f);
		fputc('\n', f);
		if (sw && p->gil_waits_bounded)
			fprintf(f,
				"    %llu of the waits had no switch-in recorded: they end at the "
				"thread's next event\n",
				(unsigned long long)p->gil_waits_bounded);
		if (sw && gp)
			fprintf(f, "    take_gil probes: %.3f s in %llu calls (entry to return)\n",
				secs(p->probe_wait_ns), (unsigned long long)p->probe_waits);
	}
	if (sw)
		fprintf(f, "  runnable, waiting for a CPU (preempted): %.3f s in %llu switches\n",
			secs(p->runnable_ns), (unsigned long long)p->runnable_waits);
	if ((why = pfs_analysis_not_measured(a, "switch")))
		fprintf(f, "  GIL wait (switches): not measured: %s\n", why);
	if ((why = pfs_analysis_not_measured(a, "gil")))
		fprintf(f, "  GIL wait (take_gil probes): not measured: %s\n", why);
	if (cp)
		fprintf(f,
			"  GC pauses (probes): %llu, %.3f s total, max %.3f ms, p50 %.3f ms, "
			"p95 %.3f ms\n",
			(unsigned long long)p->gc_pauses, secs(p->gc_pause_ns),
			(double)p->gc_pause_max_ns / 1e6, (double)p->gc_pause_p50_ns / 1e6,
			(double)p->gc_pause_p95_ns / 1e6);
	if ((why = pfs_analysis_not_measured(a, "gc")))
		fprintf(f, "  GC pauses: not measured: %s\n", why);
	n = gc_triggers(a, pids, npids, trig, 3);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "  %s ", i ? "               " : "GC triggered by:");
		if (cp)
			fprintf(f, "%8.3f s %5llu pauses ", secs(trig[i].pause_ns),
				(unsigned long long)trig[i].pauses);
		fprintf(f, "%5llu samples  ", (unsigned long long)trig[i].samples);
		text_stack(a, f, trig[i].pypath);
		fputc('\n', f);
	}
}

/* "CPU: 2.042 s (1019 samples)": the time when the clock gives it, then the samples. */
static void text_cpu(const struct pfs_analysis *a, FILE *f, const struct pfs_an_process *p)
{
	if (a->clock_cpu)
		fprintf(f, "\n  CPU: %.3f s (%llu samples)", secs(p->cpu_period),
			(unsigned long long)p->cpu_samples);
	else
		fprintf(f, "\n  CPU: %llu samples", (unsigned long long)p->cpu_samples);
}

/* Where the CPU went, in the categories' own words (pfs_pycat_label). */
static void text_categories(FILE *f, const struct pfs_an_process *p)
{
	const char *sep = " ";
	if (!p->cpu_samples)
		return;
	fputs("  CPU by category:", f);
	for (int c = 0; c < PFS_CAT_COUNT; c++)
		if (p->cat[c]) {
			fprintf(f, "%s%s %.1f%%", sep, pfs_pycat_label(c),
				100 * share(p->cat[c], p->cpu_samples));
			sep = ", ";
		}
	fputc('\n', f);
}

static void text_process(const struct pfs_analysis *a, FILE *f, const struct pfs_an_process *p)
{
	bool sw = pfs_analysis_has_switch_waits(a), gp = pfs_analysis_has_gil_probes(a),
	     cp = pfs_analysis_has_gc_probes(a);
	struct pfs_an_stackwait top[3];
	size_t longest[3], n;
	fprintf(f, "\npid %u (ppid %u) ", p->pid, p->ppid);
	put_safe(f, p->comm ? pfs_profile_strget(a->p, p->comm, NULL) : "?", 32);
	if (p->server)
		fprintf(f, "  %s %s", p->server, p->role);
	else if (!strcmp(p->role, "wrapper"))
		fputs("  wrapper: starts the service, is not its master", f);
	if (p->cmdline) {
		fputs("\n  cmd: ", f);
		put_cmdline(f, pfs_profile_strget(a->p, p->cmdline, NULL), 300);
	}
	text_cpu(a, f, p);
	fprintf(f, "   GC: %.1f%% of it (%llu samples)\n",
		100 * share(p->gc_samples, p->cpu_samples), (unsigned long long)p->gc_samples);
	if (p->cut_stacks)
		fprintf(f,
			"  cut stacks: %.1f%% (%llu samples end where the stack dump ended: "
			"[truncated], callers unknown)\n",
			100 * share(p->cut_stacks, p->cpu_samples),
			(unsigned long long)p->cut_stacks);
	text_categories(f, p);
	text_gc_gil(a, f, p, &p->pid, 1);
	pfs_verdicts_text_budget(a, f, &p->pid, 1, p->cpu_period);
	fprintf(f, "  %-8s %-16s %7s %7s %10s %6s %10s %6s %9s\n", "tid", "comm", "cpu", "gc",
		"gil-wait", "waits", "probe-wait", "waits", "gc-pauses");
	for (size_t i = 0; i < p->n_threads; i++) {
		const struct pfs_an_thread *t = &a->th[p->threads[i]];
		char comm[17];
		snprintf(comm, sizeof(comm), "%s",
			 t->comm ? pfs_profile_strget(a->p, t->comm, NULL) : "?");
		for (char *c = comm; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
		fprintf(f, "  %-8u %-16s %7llu %7llu ", t->tid, comm,
			(unsigned long long)t->cpu_samples, (unsigned long long)t->gc_samples);
		if (sw)
			fprintf(f, "%9.3fs %6llu ", secs(t->gil_wait_ns),
				(unsigned long long)t->gil_waits);
		else
			fprintf(f, "%10s %6s ", "-", "-");
		if (gp)
			fprintf(f, "%9.3fs %6llu ", secs(t->probe_wait_ns),
				(unsigned long long)t->probe_waits);
		else
			fprintf(f, "%10s %6s ", "-", "-");
		if (cp)
			fprintf(f, "%9llu\n", (unsigned long long)t->gc_pauses);
		else
			fprintf(f, "%9s\n", "-");
	}
	n = longest_pauses(a, &p->pid, 1, longest, 3);
	for (size_t i = 0; i < n; i++) {
		const struct pfs_an_pause *ps = &a->pauses[longest[i]];
		fprintf(f, "  %s %8.3f ms  tid %u  ",
			i ? "              " : "longest GC:  ", (double)ps->dur / 1e6, ps->tid);
		if (ps->gen >= 0)
			fprintf(f, "gen %d  ", ps->gen);
		text_stack(a, f, ps->pypath);
		fputc('\n', f);
	}
	n = pfs_analysis_top_waits(a, p->pid, top, 3);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "  %s %8.3f s  %4llu waits  ",
			i ? "              " : "most GIL wait:", secs(top[i].ns),
			(unsigned long long)top[i].n);
		text_stack(a, f, top[i].pypath);
		fputc('\n', f);
	}
}

static void text_workers(const struct pfs_analysis *a, FILE *f, const struct pfs_an_workers *g)
{
	const struct pfs_an_process *p = &g->sum;
	fprintf(f, "\nall %zu %s worker%s of master %u:", g->n_pids, g->server,
		g->n_pids == 1 ? "" : "s", g->master);
	for (size_t i = 0; i < g->n_pids; i++)
		fprintf(f, " %u", g->pids[i]);
	text_cpu(a, f, p);
	fprintf(f, "   GC: %.1f%% of it\n", 100 * share(p->gc_samples, p->cpu_samples));
	text_categories(f, p);
	text_gc_gil(a, f, p, g->pids, g->n_pids);
	pfs_verdicts_text_budget(a, f, g->pids, g->n_pids, p->cpu_period);
}

/* How many handlers the terminal table shows (the JSON has them all). */
#define TEXT_HANDLERS 15

static void text_handlers(const struct pfs_analysis *a, FILE *f)
{
	const struct pfs_handlers *h = pfs_analysis_handlers(a);
	if (!h || !pfs_handlers_rest(h)->cpu_total)
		return;
	const struct pfs_handlers_rest *rest = pfs_handlers_rest(h);
	const char *fws = pfs_handlers_frameworks(h), *method = handler_wait_method(a);
	bool sw = pfs_analysis_has_switch_waits(a);
	if (!*fws) {
		fprintf(f, "\nrequest handlers: not computed: %s\n", PFS_HANDLERS_NONE);
		return;
	}
	fprintf(f, "\nrequest handlers (%s): %.1f%% of the CPU samples\n", fws,
		100 * share(rest->cpu_total - rest->cpu_samples, rest->cpu_total));
	fprintf(f, "   cpu%%  %8s    gc%%", a->clock_cpu ? "cpu s" : "samples");
	if (pfs_analysis_has_gc_probes(a))
		fprintf(f, "  %-20s", "gc pauses");
	if (method)
		fprintf(f, "  %-10s", "gil wait");
	fputs("  handler\n", f);
	for (size_t i = 0; i < pfs_handlers_n(h) && i < TEXT_HANDLERS; i++) {
		const struct pfs_handler_row *r = pfs_handlers_row(h, i);
		char label[512], col[40];
		handler_label(r->name, label, sizeof(label));
		fprintf(f, "  %5.1f%%  ", 100 * share(r->cpu_samples, rest->cpu_total));
		if (a->clock_cpu)
			fprintf(f, "%8.3f", secs(r->cpu_period));
		else
			fprintf(f, "%8llu", (unsigned long long)r->cpu_samples);
		fprintf(f, "  %5.1f%%", 100 * share(r->gc_samples, r->cpu_samples));
		if (pfs_analysis_has_gc_probes(a)) {
			snprintf(col, sizeof(col), "%llu in %.3f s",
				 (unsigned long long)r->gc_pauses, secs(r->gc_pause_ns));
			fprintf(f, "  %-20s", col);
		}
		if (method) {
			snprintf(col, sizeof(col), "%.3f s",
				 secs(sw ? r->gil_wait_ns : r->probe_wait_ns));
			fprintf(f, "  %-10s", col);
		}
		fputs("  ", f);
		put_safe(f, label, 60);
		fprintf(f, " [%s %s]\n", r->framework, pfs_handler_kind_name(r->kind));
	}
	if (pfs_handlers_n(h) > TEXT_HANDLERS)
		fprintf(f, "  ... %zu more in --json\n", pfs_handlers_n(h) - TEXT_HANDLERS);
	fprintf(f, "  %5.1f%%  outside any handler (server loop, startup, other processes)",
		100 * share(rest->cpu_samples, rest->cpu_total));
	if (rest->cut_samples)
		fprintf(f, ", %.1f%% of them cut short (their handler may be above the dump)",
			100 * share(rest->cut_samples, rest->cpu_samples));
	fputc('\n', f);
	if (method)
		fprintf(f, "  gil wait from %s\n", method);
}

int pfs_analysis_write_text(const struct pfs_analysis *a, FILE *f, struct pfs_err *err)
{
	fputs("capture ", f);
	put_safe(f, a->label ? a->label : "?", 200);
	fprintf(f, ": %.3f s",
		a->last_time > a->first_time ? secs(a->last_time - a->first_time) : 0.0);
	if (a->have_ver)
		fprintf(f, ", CPython %d.%d%s%s", a->ver.major, a->ver.minor,
			a->ver.free_threaded ? "t (no GIL)" : "",
			a->ver.known ? "" : " (not in the tables)");
	else
		fputs(", no CPython found", f);
	if (a->lost_samples)
		fprintf(f, ", %llu samples lost", (unsigned long long)a->lost_samples);
	fputc('\n', f);
	for (size_t i = 0; i < a->diag.n; i++) {
		fprintf(f, "  %s: ", pfs_severity_name(a->diag.v[i].sev));
		put_safe(f, a->diag.v[i].msg, 400);
		if (a->diag.v[i].count > 1)
			fprintf(f, " (x%llu)", (unsigned long long)a->diag.v[i].count);
		fputc('\n', f);
	}
	pfs_verdicts_text(a, f);
	for (size_t i = 0; i < a->n_procs; i++)
		text_process(a, f, &a->procs[i]);
	for (size_t i = 0; i < a->n_workers; i++)
		text_workers(a, f, &a->workers[i]);
	text_handlers(a, f);
	return flush_check(f, err);
}
