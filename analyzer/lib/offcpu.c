/*
 * offcpu: per-thread state machines over switches, then the switch-out stacks classified into
 * the parts of the budget. See offcpu.h and docs/verdicts.md.
 */
#include "offcpu.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "views.h"
#include "xalloc.h"

/* How long after a segment's end a LOST record may still be about records inside it (the
 * kernel stamps LOST with the time of the record that follows the loss): analysis.c's figure. */
#define LOSS_SLACK_NS 100000u

enum { ST_NONE = 0, ST_ON, ST_OFF };

/* u64 -> index, open addressing (keys stored + 1; 0 = empty). */
struct map {
	uint64_t *keys;
	uint32_t *vals;
	size_t cap, n;
};

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

static uint32_t *map_slot(struct map *m, uint64_t key, bool *found)
{
	size_t i;
	if ((m->n + 1) * 2 > m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 64, ocap = m->cap;
		uint64_t *ok = m->keys;
		uint32_t *ov = m->vals;
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

static const uint32_t *map_get(const struct map *m, uint64_t key)
{
	if (!m->cap)
		return NULL;
	for (size_t i = mix(key + 1) & (m->cap - 1); m->keys[i]; i = (i + 1) & (m->cap - 1))
		if (m->keys[i] == key + 1)
			return &m->vals[i];
	return NULL;
}

static void map_release(struct map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

/* Off-CPU time of one thread on one switch-out stack, preempted or not. */
struct entry {
	uint32_t th, path;
	bool runnable;
	uint64_t ns, n, wake_ns, wakeups, bounded_ns;
};

/* Where a closed segment's time goes. */
enum { SEG_ON = -1, SEG_WHY = -2 }; /* else an entry index */

/*
 * A closed segment not yet final: a LOST record stamped just after it may still drop it, and
 * one that ends after the capture's last sample is cut there at finish (switch records come
 * from perf's side-band event, which may run before and after the sampled window: perf record
 * -D, --control).
 */
struct seg {
	uint32_t th;
	int64_t to; /* SEG_ON, SEG_WHY or an entry */
	uint64_t start, end, wake;
	uint32_t cpu0, cpu1;
	bool bounded, lossy;
};

enum { OFF_UNKNOWN = -1, OFF_BLOCKED = 0, OFF_PREEMPTED = 1 };

struct thread {
	uint8_t state;
	bool lossy;	/* a LOST record fell into the current segment */
	bool off_stack; /* the pending switch-out's stack was recorded (sched_switch) */
	int8_t off_how; /* OFF_UNKNOWN, OFF_BLOCKED, OFF_PREEMPTED */
	uint32_t cpu;	/* the CPU it was last seen on */
	uint32_t since_cpu;
	uint32_t off_path;
	uint64_t since; /* start of the current segment */
	uint64_t first; /* its first event (any record), 0 none */
	uint64_t fork, exit;
	uint64_t wake; /* the first wakeup since its switch-out, 0 none */
	struct pfs_off_budget b;
};

struct pfs_offcpu {
	struct pfs_profile *p;
	const struct pfs_off_pattern *pats;
	size_t n_pats;
	struct pfs_off_info info;
	bool finished;
	uint64_t win_start; /* the first sample: the window segments are counted in */
	uint64_t now;	    /* the latest sample */

	struct thread *th;
	size_t n_th, cap_th;
	struct map th_map;  /* (pid, tid) -> thread */
	struct map tid_map; /* tid -> the latest thread of that tid */
	bool saw_switch_in;

	struct seg *pend;
	size_t pend_head, n_pend, cap_pend;
	uint64_t *cpu_lost; /* per CPU: the latest LOST record's time, 0 none */
	size_t cap_cpu_lost;
	uint64_t any_lost;     /* the latest LOST record of any CPU */
	uint64_t unknown_lost; /* the latest LOST record whose CPU is unknown */

	struct entry *en;
	size_t n_en, cap_en;
	struct map en_map; /* (thread, path, runnable) -> entry */

	struct pfs_off_stack *st;
	size_t n_st, cap_st;

	struct pfs_off_proc *pr;
	size_t n_pr, cap_pr;
	struct map pr_map;

	/* per path: valid bit, worker bits, pattern bits (memo of the CPU-sample reading) */
	uint32_t *pm;
	size_t cap_pm;
};

struct pfs_offcpu *pfs_offcpu_new(struct pfs_profile *p, const struct pfs_off_pattern *pats,
				  size_t n_pats)
{
	struct pfs_offcpu *o = pfs_xcalloc(1, sizeof(*o));
	o->p = p;
	o->pats = pats;
	o->n_pats = n_pats < PFS_OFF_MAX_PATTERNS ? n_pats : PFS_OFF_MAX_PATTERNS;
	return o;
}

void pfs_offcpu_free(struct pfs_offcpu *o)
{
	if (!o)
		return;
	free(o->th);
	map_release(&o->th_map);
	map_release(&o->tid_map);
	free(o->pend);
	free(o->cpu_lost);
	free(o->en);
	map_release(&o->en_map);
	free(o->st);
	free(o->pr);
	map_release(&o->pr_map);
	free(o->pm);
	free(o);
}

static struct thread *thread_of(struct pfs_offcpu *o, uint32_t pid, uint32_t tid)
{
	bool found;
	uint32_t *slot = map_slot(&o->th_map, ((uint64_t)pid << 32) | tid, &found);
	struct thread *t;
	if (found)
		return &o->th[*slot];
	PFS_GROW(o->th, o->cap_th, o->n_th + 1);
	*slot = (uint32_t)o->n_th;
	t = &o->th[o->n_th++];
	memset(t, 0, sizeof(*t));
	t->b.pid = pid;
	t->b.tid = tid;
	t->cpu = UINT32_MAX;
	t->off_how = OFF_UNKNOWN;
	*map_slot(&o->tid_map, tid, &found) = *slot;
	return t;
}

static struct pfs_off_proc *proc_of(struct pfs_offcpu *o, uint32_t pid)
{
	bool found;
	uint32_t *slot = map_slot(&o->pr_map, pid, &found);
	if (!found) {
		PFS_GROW(o->pr, o->cap_pr, o->n_pr + 1);
		*slot = (uint32_t)o->n_pr;
		memset(&o->pr[o->n_pr], 0, sizeof(o->pr[0]));
		o->pr[o->n_pr].pid = pid;
		o->n_pr++;
	}
	return &o->pr[*slot];
}

static bool cpu_matches(uint32_t a, uint32_t b)
{
	return a == UINT32_MAX || b == UINT32_MAX || a == b;
}

static struct entry *entry_of(struct pfs_offcpu *o, uint32_t th, uint32_t path, bool runnable)
{
	bool found;
	uint64_t key = ((uint64_t)th << 33) | ((uint64_t)path << 1) | runnable;
	uint32_t *slot = map_slot(&o->en_map, key, &found);
	if (!found) {
		PFS_GROW(o->en, o->cap_en, o->n_en + 1);
		*slot = (uint32_t)o->n_en;
		memset(&o->en[o->n_en], 0, sizeof(o->en[0]));
		o->en[o->n_en].th = th;
		o->en[o->n_en].path = path;
		o->en[o->n_en].runnable = runnable;
		o->n_en++;
	}
	return &o->en[*slot];
}

/* Books a final segment, cut to the window [win_start, until]. */
static void commit(struct pfs_offcpu *o, const struct seg *g, uint64_t until)
{
	struct thread *t = &o->th[g->th];
	uint64_t s = g->start > o->win_start ? g->start : o->win_start;
	uint64_t e = g->end < until ? g->end : until, len, wake;
	if (!o->win_start || e <= s)
		return;
	len = e - s;
	wake = g->end <= until && g->wake < len ? g->wake : 0;
	if (g->lossy) {
		t->b.unrec_loss_ns += len;
	} else if (g->to == SEG_ON) {
		t->b.on_ns += len;
	} else if (g->to == SEG_WHY) {
		t->b.unrec_why_ns += len;
	} else {
		struct entry *en = &o->en[g->to];
		en->ns += len;
		en->n++;
		en->wake_ns += wake;
		en->wakeups += wake > 0;
		if (g->bounded)
			en->bounded_ns += len;
	}
}

/* Commits the pending segments no LOST record can reach any more (all with flush). */
static void commit_ready(struct pfs_offcpu *o, bool flush, uint64_t until)
{
	while (o->n_pend) {
		struct seg *g = &o->pend[o->pend_head];
		if (!flush && g->end + LOSS_SLACK_NS >= o->now)
			break;
		commit(o, g, until);
		o->pend_head++;
		o->n_pend--;
	}
	if (!o->n_pend)
		o->pend_head = 0;
}

/* A LOST record of cpu (UINT32_MAX: any) at or after since. */
static bool lost_since(const struct pfs_offcpu *o, uint32_t cpu, uint64_t since)
{
	if (cpu == UINT32_MAX)
		return o->any_lost >= since;
	return (cpu < o->cap_cpu_lost && o->cpu_lost[cpu] >= since) || o->unknown_lost >= since;
}

static void push(struct pfs_offcpu *o, struct thread *t, int64_t to, uint64_t end, uint64_t wake,
		 bool bounded)
{
	struct seg *g;
	if (!o->win_start || end <= t->since) {
		/* wholly before the first sample (or empty): outside the window */
		t->lossy = false;
		return;
	}
	if (o->pend_head && o->pend_head + o->n_pend == o->cap_pend) {
		memmove(o->pend, o->pend + o->pend_head, o->n_pend * sizeof(*o->pend));
		o->pend_head = 0;
	}
	PFS_GROW(o->pend, o->cap_pend, o->pend_head + o->n_pend + 1);
	g = &o->pend[o->pend_head + o->n_pend++];
	*g = (struct seg){.th = (uint32_t)(t - o->th),
			  .to = to,
			  .start = t->since,
			  .end = end,
			  .wake = wake,
			  .cpu0 = t->since_cpu,
			  .cpu1 = t->cpu,
			  .bounded = bounded,
			  .lossy = t->lossy || lost_since(o, t->since_cpu, t->since) ||
				   lost_since(o, t->cpu, t->since)};
	t->lossy = false;
}

static void close_on(struct pfs_offcpu *o, struct thread *t, uint64_t end)
{
	push(o, t, SEG_ON, end, 0, false);
}

/* Ends the pending switch-out at end: at a switch-in (exact) or at another event (bounded). */
static void close_off(struct pfs_offcpu *o, struct thread *t, uint64_t end, bool exact)
{
	int64_t to = SEG_WHY;
	uint64_t wake = 0;
	if (t->off_how == OFF_PREEMPTED || t->off_stack)
		to = entry_of(o, (uint32_t)(t - o->th), t->off_stack ? t->off_path : 0,
			      t->off_how == OFF_PREEMPTED) -
		     o->en;
	if (exact && t->wake && t->wake >= t->since && t->wake <= end)
		wake = end - t->wake;
	push(o, t, to, end, wake, !exact);
	t->wake = 0;
}

static void begin(struct thread *t, uint8_t state, uint64_t time)
{
	t->state = state;
	t->since = time;
	t->since_cpu = t->cpu;
}

void pfs_offcpu_event(struct pfs_offcpu *o, uint32_t pid, uint32_t tid, uint32_t cpu, uint64_t time)
{
	struct thread *t;
	if (!time || o->finished)
		return;
	if (!o->win_start)
		o->win_start = time;
	if (time > o->now)
		o->now = time;
	commit_ready(o, false, UINT64_MAX);
	t = thread_of(o, pid, tid);
	if (!t->first)
		t->first = time;
	if (cpu != UINT32_MAX)
		t->cpu = cpu;
	if (t->state == ST_OFF)
		close_off(o, t, time, false);
	if (t->state != ST_ON)
		begin(t, ST_ON, time);
}

/* The worker and slow-path bits of a path: read once, memoised. */
enum { PM_VALID = 1u << 31, PM_WORKER_SHIFT = 16 };

struct worker_frame {
	const char *function; /* qualname */
	const char *file;     /* the file ends with it */
	enum pfs_off_worker w;
};

/* Frames that name a worker class wherever they are on a stack (a worker's own run loop). */
static const struct worker_frame worker_frames[] = {
    {"SyncWorker.", "gunicorn/workers/sync.py", PFS_WK_SYNC},
    {"ThreadWorker.", "gunicorn/workers/gthread.py", PFS_WK_GTHREAD},
    {"GeventWorker.", "gunicorn/workers/ggevent.py", PFS_WK_GEVENT},
    {"Hub.", "gevent/hub.py", PFS_WK_GEVENT},
    {"EventletWorker.", "gunicorn/workers/geventlet.py", PFS_WK_EVENTLET},
    {"", "eventlet/hubs/", PFS_WK_EVENTLET},
    {"TornadoWorker.", "gunicorn/workers/gtornado.py", PFS_WK_TORNADO},
    {"", "uvicorn/", PFS_WK_UVICORN},
};

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t l = strlen(suffix);
	return n >= l && !memcmp(s + n - l, suffix, l);
}

/* The file of a py:: frame contains (not only ends with) part: a directory match. */
static bool file_has(const char *file, size_t n, const char *part)
{
	size_t l = strlen(part);
	for (size_t i = 0; i + l <= n; i++)
		if (!memcmp(file + i, part, l))
			return part[l - 1] == '/' || i + l == n;
	return false;
}

static uint32_t path_marks(struct pfs_offcpu *o, uint32_t path)
{
	uint32_t m = PM_VALID, pat_seen = 0;
	PFS_GROW_ZEROED(o->pm, o->cap_pm, path);
	if (o->pm[path])
		return o->pm[path];
	for (uint32_t id = path; id;) {
		const struct pfs_path_node *node = pfs_profile_pathget(o->p, id);
		const struct pfs_frame *f = pfs_profile_frameget(o->p, node->frame);
		const char *name = pfs_profile_strget(o->p, f->name, NULL);
		const char *dso = f->dso ? pfs_profile_strget(o->p, f->dso, NULL) : NULL;
		const char *fn, *file;
		size_t fl, filel;
		id = node->parent;
		if (!pfs_pyclass_split_pyname(name, &fn, &fl, &file, &filel)) {
			if (dso && strstr(dso, "uwsgi"))
				m |= (uint32_t)PFS_WK_UWSGI << PM_WORKER_SHIFT;
			continue;
		}
		for (size_t i = 0; i < sizeof(worker_frames) / sizeof(worker_frames[0]); i++) {
			const struct worker_frame *w = &worker_frames[i];
			size_t l = strlen(w->function);
			if (fl >= l && !memcmp(fn, w->function, l) &&
			    file_has(file, filel, w->file))
				m |= (uint32_t)w->w << PM_WORKER_SHIFT;
		}
		for (size_t i = 0; i < o->n_pats; i++) {
			const struct pfs_off_pattern *pt = &o->pats[i];
			const char *last = fn;
			size_t ll;
			if ((pat_seen >> i) & 1 || !ends_with(file, filel, pt->file))
				continue;
			for (const char *c = fn; c < fn + fl; c++)
				if (*c == '.')
					last = c + 1;
			ll = (size_t)(fn + fl - last);
			if (!pt->functions)
				pat_seen |= 1u << i;
			for (const char *const *g = pt->functions; g && *g; g++)
				if (strlen(*g) == ll && !memcmp(*g, last, ll))
					pat_seen |= 1u << i;
		}
	}
	m |= pat_seen;
	o->pm[path] = m;
	return m;
}

void pfs_offcpu_cpu_sample(struct pfs_offcpu *o, uint32_t pid, uint32_t path)
{
	struct pfs_off_proc *pr;
	uint32_t m;
	if (o->finished)
		return;
	pr = proc_of(o, pid);
	pr->cpu_samples++;
	if (!path)
		return;
	m = path_marks(o, path);
	pr->worker |= (m >> PM_WORKER_SHIFT) & ((1u << PFS_WK_COUNT) - 1);
	for (size_t i = 0; i < o->n_pats; i++)
		pr->pat[i] += (m >> i) & 1;
}

void pfs_offcpu_switch_out(struct pfs_offcpu *o, uint32_t pid, uint32_t tid, uint32_t cpu,
			   uint64_t time, bool stack, uint32_t path, int how)
{
	struct thread *t;
	if (!time || o->finished)
		return;
	t = thread_of(o, pid, tid);
	if (!t->first)
		t->first = time;
	if (cpu != UINT32_MAX)
		t->cpu = cpu;
	if (t->state == ST_OFF) {
		/* the same switch seen twice: its sched_switch, then its switch record (or back) */
		if (stack && !t->off_stack) {
			t->off_stack = true;
			t->off_path = path;
			t->off_how = (int8_t)how;
		} else if (!t->off_stack && how != OFF_UNKNOWN) {
			t->off_how = (int8_t)how;
		}
		return;
	}
	if (t->state == ST_ON)
		close_on(o, t, time);
	begin(t, ST_OFF, time);
	t->off_stack = stack;
	t->off_path = stack ? path : 0;
	t->off_how = (int8_t)how;
	t->wake = 0;
	if (stack && path)
		proc_of(o, pid)->worker |=
		    (path_marks(o, path) >> PM_WORKER_SHIFT) & ((1u << PFS_WK_COUNT) - 1);
}

void pfs_offcpu_switch_in(struct pfs_offcpu *o, uint32_t pid, uint32_t tid, uint32_t cpu,
			  uint64_t time)
{
	struct thread *t;
	if (!time || o->finished)
		return;
	o->saw_switch_in = true;
	if (pid == UINT32_MAX) {
		const uint32_t *slot = map_get(&o->tid_map, tid);
		if (!slot)
			return;
		t = &o->th[*slot];
	} else {
		t = thread_of(o, pid, tid);
	}
	if (!t->first)
		t->first = time;
	if (cpu != UINT32_MAX)
		t->cpu = cpu;
	if (t->state == ST_ON)
		return; /* the same switch-in seen twice */
	if (t->state == ST_OFF)
		close_off(o, t, time, true);
	begin(t, ST_ON, time);
}

void pfs_offcpu_wakeup(struct pfs_offcpu *o, uint32_t tid, uint64_t time)
{
	const uint32_t *slot = map_get(&o->tid_map, tid);
	struct thread *t;
	if (!slot || !time || o->finished)
		return;
	t = &o->th[*slot];
	if (t->state == ST_OFF && !t->wake && time >= t->since)
		t->wake = time;
}

void pfs_offcpu_fork(struct pfs_offcpu *o, uint32_t pid, uint32_t tid, uint64_t time)
{
	struct thread *t;
	if (!time || o->finished)
		return;
	t = thread_of(o, pid, tid);
	if (!t->fork || time < t->fork)
		t->fork = time;
}

void pfs_offcpu_exit(struct pfs_offcpu *o, uint32_t pid, uint32_t tid, uint64_t time)
{
	struct thread *t;
	if (!time || o->finished)
		return;
	t = thread_of(o, pid, tid);
	t->exit = time;
}

void pfs_offcpu_lost(struct pfs_offcpu *o, uint32_t cpu, uint32_t tid, uint64_t time)
{
	const uint32_t *slot;
	if (!time || o->finished)
		return;
	/* open segments: checked when they close (push), against the latest loss of their CPUs */
	if (time > o->any_lost)
		o->any_lost = time;
	if (cpu == UINT32_MAX) {
		if (time > o->unknown_lost)
			o->unknown_lost = time;
	} else if (cpu < 65536) {
		PFS_GROW_ZEROED(o->cpu_lost, o->cap_cpu_lost, cpu);
		if (time > o->cpu_lost[cpu])
			o->cpu_lost[cpu] = time;
	}
	if (tid && (slot = map_get(&o->tid_map, tid)) && o->th[*slot].state != ST_NONE &&
	    o->th[*slot].since <= time)
		o->th[*slot].lossy = true;
	/* the segments closed just before it: the lost records may lie inside them */
	for (size_t i = 0; i < o->n_pend; i++) {
		struct seg *g = &o->pend[o->pend_head + i];
		if (g->start > time || g->end + LOSS_SLACK_NS < time)
			continue;
		if ((tid && o->th[g->th].b.tid == tid) || cpu_matches(cpu, g->cpu0) ||
		    cpu_matches(cpu, g->cpu1))
			g->lossy = true;
	}
}

/* ---- closing the books ---- */

enum sys {
	SYS_NONE = 0,
	SYS_FUTEX = 1 << 0,
	SYS_SLEEP = 1 << 1,
	SYS_POLL = 1 << 2,
	SYS_ACCEPT = 1 << 3,
	SYS_SOCK = 1 << 4,
	SYS_FILE = 1 << 5,
};

struct sysname {
	const char *name;
	enum sys sys;
};

/*
 * What the native frames between the leaf and the first Python frame were blocked in: kernel
 * entry points and their callees, the C library's wrappers, CPython's own C functions. Names
 * match up to a compiler suffix (".isra.0", ".constprop.0").
 */
static const struct sysname sysnames[] = {
    /* futexes: locks, conditions, semaphores (the GIL is found before these) */
    {"futex_wait", SYS_FUTEX},
    {"futex_wait_queue", SYS_FUTEX},
    {"__futex_wait", SYS_FUTEX},
    {"do_futex", SYS_FUTEX},
    {"__x64_sys_futex", SYS_FUTEX},
    {"__futex_abstimed_wait_common", SYS_FUTEX},
    {"__futex_abstimed_wait_common64", SYS_FUTEX},
    {"__lll_lock_wait", SYS_FUTEX},
    {"pthread_cond_wait", SYS_FUTEX},
    {"pthread_cond_timedwait", SYS_FUTEX},
    {"___pthread_cond_wait", SYS_FUTEX},
    {"___pthread_cond_timedwait", SYS_FUTEX},
    {"do_futex_wait", SYS_FUTEX},
    {"__new_sem_wait_slow64", SYS_FUTEX},
    {"sem_clockwait", SYS_FUTEX},
    {"sem_timedwait", SYS_FUTEX},
    {"PyThread_acquire_lock_timed", SYS_FUTEX},
    /* sleep */
    {"hrtimer_nanosleep", SYS_SLEEP},
    {"do_nanosleep", SYS_SLEEP},
    {"common_nsleep", SYS_SLEEP},
    {"__x64_sys_nanosleep", SYS_SLEEP},
    {"__x64_sys_clock_nanosleep", SYS_SLEEP},
    {"clock_nanosleep", SYS_SLEEP},
    {"__clock_nanosleep", SYS_SLEEP},
    {"nanosleep", SYS_SLEEP},
    {"__nanosleep", SYS_SLEEP},
    {"pysleep", SYS_SLEEP},
    {"time_sleep", SYS_SLEEP},
    /* waiting for any of several descriptors */
    {"do_select", SYS_POLL},
    {"core_sys_select", SYS_POLL},
    {"do_sys_poll", SYS_POLL},
    {"do_poll", SYS_POLL},
    {"ep_poll", SYS_POLL},
    {"do_epoll_wait", SYS_POLL},
    {"__x64_sys_select", SYS_POLL},
    {"__x64_sys_pselect6", SYS_POLL},
    {"__x64_sys_poll", SYS_POLL},
    {"__x64_sys_ppoll", SYS_POLL},
    {"__x64_sys_epoll_wait", SYS_POLL},
    {"__x64_sys_epoll_pwait", SYS_POLL},
    {"__x64_sys_epoll_pwait2", SYS_POLL},
    {"__select", SYS_POLL},
    {"__GI___select", SYS_POLL},
    {"select", SYS_POLL},
    {"__poll", SYS_POLL},
    {"__GI___poll", SYS_POLL},
    {"poll", SYS_POLL},
    {"ppoll", SYS_POLL},
    {"epoll_wait", SYS_POLL},
    {"epoll_pwait", SYS_POLL},
    {"select_select_impl", SYS_POLL},
    {"select_epoll_poll_impl", SYS_POLL},
    {"select_poll_poll_impl", SYS_POLL},
    /* accepting a connection */
    {"inet_csk_accept", SYS_ACCEPT},
    {"do_accept", SYS_ACCEPT},
    {"__sys_accept4", SYS_ACCEPT},
    {"__x64_sys_accept", SYS_ACCEPT},
    {"__x64_sys_accept4", SYS_ACCEPT},
    {"accept", SYS_ACCEPT},
    {"accept4", SYS_ACCEPT},
    {"__libc_accept", SYS_ACCEPT},
    {"sock_accept", SYS_ACCEPT},
    /* sockets: reads, writes, connect (and CPython's socket calls, which poll first when the
       socket has a timeout) */
    {"sock_recvmsg", SYS_SOCK},
    {"tcp_recvmsg", SYS_SOCK},
    {"tcp_recvmsg_locked", SYS_SOCK},
    {"unix_stream_read_generic", SYS_SOCK},
    {"sk_wait_data", SYS_SOCK},
    {"sk_stream_wait_memory", SYS_SOCK},
    {"sk_stream_wait_connect", SYS_SOCK},
    {"inet_wait_for_connect", SYS_SOCK},
    {"__inet_stream_connect", SYS_SOCK},
    {"__sys_recvfrom", SYS_SOCK},
    {"__sys_sendto", SYS_SOCK},
    {"__sys_connect", SYS_SOCK},
    {"__x64_sys_recvfrom", SYS_SOCK},
    {"__x64_sys_sendto", SYS_SOCK},
    {"__x64_sys_connect", SYS_SOCK},
    {"recv", SYS_SOCK},
    {"__libc_recv", SYS_SOCK},
    {"recvfrom", SYS_SOCK},
    {"__libc_recvfrom", SYS_SOCK},
    {"send", SYS_SOCK},
    {"__libc_send", SYS_SOCK},
    {"connect", SYS_SOCK},
    {"__libc_connect", SYS_SOCK},
    {"sock_call_ex", SYS_SOCK},
    {"sock_recv_impl", SYS_SOCK},
    {"sock_recv", SYS_SOCK},
    {"sock_recv_into", SYS_SOCK},
    {"sock_send_impl", SYS_SOCK},
    {"sock_sendall", SYS_SOCK},
    {"internal_connect", SYS_SOCK},
    {"internal_select", SYS_SOCK},
    /* files and pipes */
    {"ksys_read", SYS_FILE},
    {"ksys_write", SYS_FILE},
    {"vfs_read", SYS_FILE},
    {"vfs_write", SYS_FILE},
    {"pipe_read", SYS_FILE},
    {"pipe_write", SYS_FILE},
    {"io_schedule", SYS_FILE},
    {"folio_wait_bit_common", SYS_FILE},
    {"do_fsync", SYS_FILE},
    {"_Py_read", SYS_FILE},
    {"_Py_write", SYS_FILE},
    {"_io_FileIO_read", SYS_FILE},
    {"_io_FileIO_readinto", SYS_FILE},
    {"_io_FileIO_write", SYS_FILE},
};

/* name equals want up to a compiler suffix (".isra.0", ".constprop.0", ".part.0", ".cold"). */
static bool name_is(const char *name, const char *want)
{
	size_t l = strlen(want);
	return !strncmp(name, want, l) && (name[l] == 0 || name[l] == '.');
}

static enum sys sys_of(const char *name)
{
	for (size_t i = 0; i < sizeof(sysnames) / sizeof(sysnames[0]); i++)
		if (name_is(name, sysnames[i].name))
			return sysnames[i].sys;
	return SYS_NONE;
}

/*
 * A server's own loop, waiting for a request: the leaf-most Python frame that is not the
 * standard library's, and the waits it may be in. Matched on the function (a prefix of the
 * qualname: "Hub." is every method of the hub) and the file (a suffix, or a directory when it
 * ends in '/').
 */
struct idle_frame {
	const char *function;
	const char *file;
	unsigned sys; /* enum sys bits */
};

static const struct idle_frame idle_frames[] = {
    {"SyncWorker.wait", "gunicorn/workers/sync.py", SYS_POLL},
    {"SyncWorker.accept", "gunicorn/workers/sync.py", SYS_ACCEPT | SYS_POLL},
    {"SyncWorker.run_for_one", "gunicorn/workers/sync.py", SYS_ACCEPT | SYS_POLL},
    {"SyncWorker.run_for_multiple", "gunicorn/workers/sync.py", SYS_ACCEPT | SYS_POLL},
    {"ThreadWorker.run", "gunicorn/workers/gthread.py", SYS_POLL},
    {"Arbiter.sleep", "gunicorn/arbiter.py", SYS_POLL},
    {"Hub.", "gevent/hub.py", SYS_POLL | SYS_FUTEX},
    {"", "eventlet/hubs/", SYS_POLL},
    {"", "uvicorn/", SYS_POLL},
    {"", "tornado/ioloop.py", SYS_POLL},
    {"", "tornado/platform/asyncio.py", SYS_POLL},
};

/* The standard-library frames an idle loop waits through (selectors, asyncio's loop). */
static bool loop_stdlib(const char *fn, size_t fl, const char *file, size_t filel)
{
	(void)fn;
	(void)fl;
	return ends_with(file, filel, "/selectors.py") || ends_with(file, filel, "/socket.py") ||
	       file_has(file, filel, "/asyncio/");
}

static unsigned role_worker_bits(const struct pfs_offcpu *o, uint32_t pid);

/* Which part an off-CPU stack belongs to. */
static enum pfs_off_part classify(struct pfs_offcpu *o, struct pfs_views *v, uint32_t path,
				  bool runnable, const struct pfs_off_role *role)
{
	const struct pfs_pystack *st;
	unsigned sys = 0;
	bool python = false, std_only = true, pool = false, uwsgi = false;
	bool all_std_to_leaf = true; /* only stdlib Python frames between the leaf and here */
	bool select_only = false;    /* the last native frame read was select.select's */
	const char *fn = NULL, *file = NULL;
	size_t fl = 0, filel = 0;
	if (runnable)
		return PFS_OFF_RUNNABLE;
	if (!path)
		return PFS_OFF_LOCK;
	st = pfs_views_stack(v, path);
	if (st->gil_take)
		return PFS_OFF_GIL;
	/* leaf first: the blocking call, then the Python frame that made it */
	for (uint32_t id = path; id;) {
		const struct pfs_path_node *node = pfs_profile_pathget(o->p, id);
		const struct pfs_frame *f = pfs_profile_frameget(o->p, node->frame);
		const char *name = pfs_profile_strget(o->p, f->name, NULL);
		const char *dso = f->dso ? pfs_profile_strget(o->p, f->dso, NULL) : NULL;
		const char *pfn, *pfile;
		size_t pfl, pfilel;
		id = node->parent;
		if (!pfs_pyclass_split_pyname(name, &pfn, &pfl, &pfile, &pfilel)) {
			if (!python) {
				sys |= sys_of(name);
				if (f->kind != PFS_FK_KERNEL && f->kind != PFS_FK_PSEUDO)
					select_only = name_is(name, "select_select_impl");
			}
			if (dso && strstr(dso, "uwsgi") &&
			    (name_is(name, "wsgi_req_accept") ||
			     name_is(name, "event_queue_wait") ||
			     name_is(name, "simple_loop_run") || name_is(name, "uwsgi_ignition")))
				uwsgi = true;
			continue;
		}
		if (!python && pfl == 7 && !memcmp(pfn, "_worker", 7) &&
		    ends_with(pfile, pfilel, "concurrent/futures/thread.py"))
			pool = true;
		python = true;
		if (pfs_pyclass_origin(pfile, pfilel) == PFS_PYORIG_STDLIB) {
			/* only the frames leafward of the server's: runpy and threading sit above
			 * every loop */
			if (!fn && !loop_stdlib(pfn, pfl, pfile, pfilel))
				all_std_to_leaf = false;
			continue;
		}
		std_only = false;
		if (!fn) {
			fn = pfn;
			fl = pfl;
			file = pfile;
			filel = pfilel;
		}
	}
	if (sys & SYS_FUTEX && pool && std_only)
		return PFS_OFF_IDLE; /* a thread pool's worker waiting for work */
	/*
	 * select.select() keeps three 1025-entry arrays on the C stack (49 KB with FD_SETSIZE
	 * 1024): a DWARF dump of less never unwinds past it to the Python code that called it. A
	 * gunicorn master or sync worker calls it only in its own loop (Arbiter.sleep,
	 * SyncWorker.wait), so a stack cut there is that loop.
	 */
	if (!python && st->cut && select_only && sys & SYS_POLL && role && role->gunicorn &&
	    (role->master || !o->n_pr || (role_worker_bits(o, role->pid) & ~PFS_WK_SYNC) == 0))
		return PFS_OFF_IDLE;
	if (uwsgi && sys & (SYS_POLL | SYS_ACCEPT | SYS_FUTEX) && !fn)
		return PFS_OFF_IDLE;
	if (fn && all_std_to_leaf && !(sys & SYS_SOCK) && !(sys & SYS_FILE)) {
		for (size_t i = 0; i < sizeof(idle_frames) / sizeof(idle_frames[0]); i++) {
			const struct idle_frame *w = &idle_frames[i];
			size_t l = strlen(w->function);
			if (fl >= l && !memcmp(fn, w->function, l) &&
			    file_has(file, filel, w->file) && (sys & w->sys))
				return PFS_OFF_IDLE;
		}
	}
	if (sys & SYS_FUTEX || sys & SYS_SLEEP)
		return PFS_OFF_LOCK;
	if (sys & (SYS_SOCK | SYS_FILE | SYS_POLL | SYS_ACCEPT))
		return PFS_OFF_IO;
	return PFS_OFF_LOCK;
}

static unsigned role_worker_bits(const struct pfs_offcpu *o, uint32_t pid)
{
	const uint32_t *slot = map_get(&o->pr_map, pid);
	return slot ? o->pr[*slot].worker : 0;
}

static int cmp_stack(const void *x, const void *y)
{
	const struct pfs_off_stack *a = x, *b = y;
	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	if (a->part != b->part)
		return a->part < b->part ? -1 : 1;
	if (a->ns != b->ns)
		return a->ns > b->ns ? -1 : 1;
	return (a->pypath > b->pypath) - (a->pypath < b->pypath);
}

void pfs_offcpu_finish(struct pfs_offcpu *o, const struct pfs_pyver *ver,
		       const struct pfs_off_info *info, const struct pfs_off_role *roles,
		       size_t n_roles)
{
	struct pfs_views *v;
	struct map sm = {0};
	if (o->finished)
		return;
	o->finished = true;
	o->info = *info;
	o->info.known = true;
	o->info.switch_ins = info->switch_ins || o->saw_switch_in;
	/* open segments end with the thread or the capture; then everything is final */
	for (size_t i = 0; i < o->n_th; i++) {
		struct thread *t = &o->th[i];
		uint64_t end = t->exit && t->exit < info->last ? t->exit : info->last;
		if (t->state == ST_ON) {
			close_on(o, t, end);
		} else if (t->state == ST_OFF) {
			if (o->info.switch_ins) {
				close_off(o, t, end, true); /* still off when the capture ended */
			} else if (end > t->since && o->win_start) {
				uint64_t s0 = t->since > o->win_start ? t->since : o->win_start;
				t->b.unrec_end_ns += end > s0 ? end - s0 : 0;
			}
		}
		t->state = ST_NONE;
	}
	commit_ready(o, true, info->last);
	for (size_t i = 0; i < o->n_th; i++) {
		struct thread *t = &o->th[i];
		uint64_t start = t->fork > info->first ? t->fork : info->first;
		uint64_t end = t->exit && t->exit < info->last ? t->exit : info->last;
		if (!t->first || end <= start || (t->exit && t->exit <= info->first)) {
			memset(&t->b.on_ns, 0,
			       sizeof(t->b) - offsetof(struct pfs_off_budget, on_ns));
			t->b.life_ns = 0; /* not alive in the capture */
			continue;
		}
		t->b.life_ns = end - start;
		t->b.unrec_start_ns = t->first > start ? t->first - start : 0;
	}
	v = pfs_views_new(o->p, ver);
	for (size_t i = 0; i < o->n_en; i++) {
		const struct entry *e = &o->en[i];
		struct thread *t = &o->th[e->th];
		const struct pfs_off_role *role = NULL;
		enum pfs_off_part part;
		for (size_t r = 0; r < n_roles; r++)
			if (roles[r].pid == t->b.pid)
				role = &roles[r];
		part = classify(o, v, e->path, e->runnable, role);
		uint32_t py;
		bool found;
		uint32_t *slot;
		if (!t->b.life_ns || !e->n)
			continue;
		t->b.part_ns[part] += e->ns;
		t->b.wake_ns[part] += e->wake_ns;
		t->b.offs += e->n;
		t->b.wakeups += e->wakeups;
		t->b.bounded_ns += e->bounded_ns;
		py = e->path ? pfs_views_path(v, PFS_VIEW_PYTHON, e->path) : 0;
		slot =
		    map_slot(&sm, ((uint64_t)t->b.pid << 40) | ((uint64_t)part << 32) | py, &found);
		if (!found) {
			PFS_GROW(o->st, o->cap_st, o->n_st + 1);
			*slot = (uint32_t)o->n_st;
			o->st[o->n_st++] = (struct pfs_off_stack){
			    .pid = t->b.pid, .part = (uint8_t)part, .pypath = py};
		}
		o->st[*slot].ns += e->ns;
		o->st[*slot].n += e->n;
	}
	map_release(&sm);
	pfs_views_free(v);
	if (o->n_st)
		qsort(o->st, o->n_st, sizeof(*o->st), cmp_stack);
	free(o->en);
	o->en = NULL;
	o->n_en = o->cap_en = 0;
	map_release(&o->en_map);
}

/* ---- results ---- */

const struct pfs_off_info *pfs_offcpu_info(const struct pfs_offcpu *o)
{
	return &o->info;
}

const struct pfs_off_budget *pfs_offcpu_budget(const struct pfs_offcpu *o, uint32_t pid,
					       uint32_t tid)
{
	const uint32_t *slot = map_get(&o->th_map, ((uint64_t)pid << 32) | tid);
	if (!slot || !o->th[*slot].b.life_ns)
		return NULL;
	return &o->th[*slot].b;
}

size_t pfs_offcpu_n_budgets(const struct pfs_offcpu *o)
{
	return o->n_th;
}

const struct pfs_off_budget *pfs_offcpu_budget_at(const struct pfs_offcpu *o, size_t i)
{
	return i < o->n_th && o->th[i].b.life_ns ? &o->th[i].b : NULL;
}

void pfs_offcpu_budget_add(struct pfs_off_budget *sum, const struct pfs_off_budget *b)
{
	sum->life_ns += b->life_ns;
	sum->on_ns += b->on_ns;
	for (int k = 0; k < PFS_OFF_PARTS; k++) {
		sum->part_ns[k] += b->part_ns[k];
		sum->wake_ns[k] += b->wake_ns[k];
	}
	sum->offs += b->offs;
	sum->wakeups += b->wakeups;
	sum->bounded_ns += b->bounded_ns;
	sum->unrec_start_ns += b->unrec_start_ns;
	sum->unrec_loss_ns += b->unrec_loss_ns;
	sum->unrec_end_ns += b->unrec_end_ns;
	sum->unrec_why_ns += b->unrec_why_ns;
}

uint64_t pfs_offcpu_unrecorded(const struct pfs_off_budget *b)
{
	return b->unrec_start_ns + b->unrec_loss_ns + b->unrec_end_ns + b->unrec_why_ns;
}

const struct pfs_off_proc *pfs_offcpu_proc(const struct pfs_offcpu *o, uint32_t pid)
{
	const uint32_t *slot = map_get(&o->pr_map, pid);
	return slot ? &o->pr[*slot] : NULL;
}

size_t pfs_offcpu_n_procs(const struct pfs_offcpu *o)
{
	return o->n_pr;
}

const struct pfs_off_proc *pfs_offcpu_proc_at(const struct pfs_offcpu *o, size_t i)
{
	return i < o->n_pr ? &o->pr[i] : NULL;
}

/* The first stack of (pid, part) in the sorted list (cmp_stack's order), or n_st. */
static size_t first_stack(const struct pfs_offcpu *o, uint32_t pid, uint8_t part)
{
	size_t lo = 0, hi = o->n_st;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct pfs_off_stack *s = &o->st[mid];
		if (s->pid < pid || (s->pid == pid && s->part < part))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * The same Python stack in two processes is two paths (a py:: frame's binary is its process's
 * perf map): stacks are the same when their frames' names are, root to leaf. A hash of the
 * names, kept in the n field while gathering, sorts them together.
 */
static uint64_t names_hash(const struct pfs_offcpu *o, uint32_t path)
{
	uint64_t h = 1469598103934665603ull;
	for (uint32_t id = path; id;) {
		const struct pfs_path_node *node = pfs_profile_pathget(o->p, id);
		h = mix(h ^ pfs_profile_frameget(o->p, node->frame)->name) * 1099511628211ull;
		id = node->parent;
	}
	return h;
}

static bool same_names(const struct pfs_offcpu *o, uint32_t a, uint32_t b)
{
	while (a && b) {
		const struct pfs_path_node *x = pfs_profile_pathget(o->p, a);
		const struct pfs_path_node *y = pfs_profile_pathget(o->p, b);
		if (pfs_profile_frameget(o->p, x->frame)->name !=
		    pfs_profile_frameget(o->p, y->frame)->name)
			return false;
		a = x->parent;
		b = y->parent;
	}
	return a == b;
}

struct gathered {
	struct pfs_off_stack s;
	uint64_t hash;
};

static int cmp_hash(const void *x, const void *y)
{
	const struct gathered *a = x, *b = y;
	if (a->hash != b->hash)
		return a->hash < b->hash ? -1 : 1;
	return (a->s.pypath > b->s.pypath) - (a->s.pypath < b->s.pypath);
}

static int cmp_ns_desc(const void *x, const void *y)
{
	const struct pfs_off_stack *a = x, *b = y;
	if (a->ns != b->ns)
		return a->ns > b->ns ? -1 : 1;
	return (a->pypath > b->pypath) - (a->pypath < b->pypath);
}

size_t pfs_offcpu_top_stacks(const struct pfs_offcpu *o, const uint32_t *pids, size_t npids,
			     enum pfs_off_part part, struct pfs_off_stack *out, size_t max)
{
	struct gathered *all = NULL;
	struct pfs_off_stack *merged;
	size_t n = 0, cap = 0, m = 0;
	/* each pid's stacks of the part are one run of the sorted list: gather the runs, add up
	 * the same Python stack across the pids, keep the max with the most time */
	for (size_t k = 0; k < npids; k++) {
		bool seen = false;
		for (size_t j = 0; j < k; j++)
			seen = seen || pids[j] == pids[k];
		if (seen)
			continue;
		for (size_t i = first_stack(o, pids[k], (uint8_t)part);
		     i < o->n_st && o->st[i].pid == pids[k] && o->st[i].part == part; i++) {
			PFS_GROW(all, cap, n + 1);
			all[n].s = o->st[i];
			all[n].hash = names_hash(o, o->st[i].pypath);
			n++;
		}
	}
	if (n)
		qsort(all, n, sizeof(*all), cmp_hash);
	merged = pfs_xcalloc(n ? n : 1, sizeof(*merged));
	for (size_t i = 0, run = 0; i < n; i++) {
		size_t j;
		if (i && all[i - 1].hash != all[i].hash)
			run = m; /* a new hash: the stacks it may equal start here */
		for (j = run; j < m && !same_names(o, merged[j].pypath, all[i].s.pypath); j++)
			;
		if (j < m) {
			merged[j].ns += all[i].s.ns;
			merged[j].n += all[i].s.n;
		} else {
			merged[m++] = all[i].s;
		}
	}
	free(all);
	if (m)
		qsort(merged, m, sizeof(*merged), cmp_ns_desc);
	if (m > max)
		m = max;
	if (m)
		memcpy(out, merged, m * sizeof(*out));
	free(merged);
	return m;
}

size_t pfs_offcpu_n_stacks(const struct pfs_offcpu *o)
{
	return o->n_st;
}

const struct pfs_off_stack *pfs_offcpu_stack_at(const struct pfs_offcpu *o, size_t i)
{
	return i < o->n_st ? &o->st[i] : NULL;
}

static const char *const part_names[PFS_OFF_PARTS] = {"gil", "io", "idle", "lock", "runnable"};

const char *pfs_off_part_name(enum pfs_off_part part)
{
	return (unsigned)part < PFS_OFF_PARTS ? part_names[part] : "?";
}

int pfs_off_part_parse(const char *s)
{
	for (int i = 0; i < PFS_OFF_PARTS; i++)
		if (!strcmp(s, part_names[i]))
			return i;
	return -1;
}

static const char *const worker_names[PFS_WK_COUNT] = {"sync",	  "gthread", "gevent", "eventlet",
						       "tornado", "uvicorn", "uwsgi"};

const char *pfs_off_worker_name(enum pfs_off_worker w)
{
	for (int i = 0; i < PFS_WK_COUNT; i++)
		if ((unsigned)w == 1u << i)
			return worker_names[i];
	return "?";
}

int pfs_off_worker_parse(const char *s)
{
	for (int i = 0; i < PFS_WK_COUNT; i++)
		if (!strcmp(s, worker_names[i]))
			return 1 << i;
	return -1;
}

/* ---- restore ---- */

void pfs_offcpu_restore_info(struct pfs_offcpu *o, const struct pfs_off_info *info)
{
	o->info = *info;
	o->finished = true;
}

void pfs_offcpu_restore_budget(struct pfs_offcpu *o, const struct pfs_off_budget *b)
{
	struct thread *t = thread_of(o, b->pid, b->tid);
	t->b = *b;
}

void pfs_offcpu_restore_stack(struct pfs_offcpu *o, const struct pfs_off_stack *s)
{
	PFS_GROW(o->st, o->cap_st, o->n_st + 1);
	o->st[o->n_st++] = *s;
}

void pfs_offcpu_restore_proc(struct pfs_offcpu *o, const struct pfs_off_proc *pr)
{
	*proc_of(o, pr->pid) = *pr;
}
