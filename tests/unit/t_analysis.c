#include <stdio.h>
#include <stdlib.h>

#include "analysis.h"
#include "harness.h"
#include "perfdata.h"
#include "xalloc.h"
#include "tpblob.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define LP "/usr/lib/libpython3.12.so.1.0"
#define LC "/usr/lib/x86_64-linux-gnu/libc.so.6"

/* A synthetic capture: a profile with the events a perfsight record run has. */
struct cap {
	struct pfs_profile *p;
	struct pfs_analysis *a;
	uint32_t ev_cpu, ev_switch, ev_gil, ev_gil_ret, ev_gc, ev_gc_ret, ev_drop;
	struct buf blob;
};

/* A call path from frames given root first as "name@dso" ("py::f:/a.py" for Python). */
static uint32_t path(struct pfs_profile *p, const char *const *frames, size_t n)
{
	uint32_t id = 0;
	for (size_t i = 0; i < n; i++) {
		struct pfs_frame f = {0};
		const char *at = strchr(frames[i], '@');
		size_t nl = at ? (size_t)(at - frames[i]) : strlen(frames[i]);
		f.name = pfs_profile_str(p, frames[i], nl);
		if (!strncmp(frames[i], "py::", 4)) {
			f.kind = PFS_FK_PYTHON;
			f.dso = pfs_profile_cstr(p, "/tmp/perf-100.map");
		} else if (at && !strcmp(at + 1, "k")) {
			f.kind = PFS_FK_KERNEL;
			f.dso = pfs_profile_cstr(p, "[kernel.kallsyms]");
		} else {
			f.kind = PFS_FK_NATIVE;
			f.dso = at ? pfs_profile_cstr(p, at + 1) : 0;
		}
		id = pfs_profile_path(p, id, pfs_profile_frame(p, &f));
	}
	return id;
}

#define PATH(p, ...)                                                                               \
	path(p, (const char *const[]){__VA_ARGS__},                                                \
	     sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

/* What ingest keeps of an event's attr (ingest.c event_of). */
static void set_attr(struct pfs_profile *p, uint32_t ev, const struct pfs_attr *a)
{
	struct pfs_event *e = pfs_profile_event(p, ev);
	e->clock = (uint8_t)pfs_profile_clock_of(a->type, a->config);
	e->freq = (a->flags & PFS_ATTR_FLAG(PFS_AF_FREQ)) != 0;
	e->period = a->sample_period;
}

static void cap_init(struct cap *c, bool with_tracing)
{
	const char *fmts[] = {t_switch_fmt};
	memset(c, 0, sizeof(*c));
	c->p = pfs_profile_new();
	c->ev_cpu = pfs_profile_add_event(c->p, "cpu-clock", true);
	pfs_profile_event(c->p, c->ev_cpu)->clock = PFS_CLOCK_NS;
	c->ev_switch = pfs_profile_add_event(c->p, "sched:sched_switch", false);
	c->ev_gil = pfs_profile_add_event(c->p, "probe_libpython3:take_gil", false);
	c->ev_gil_ret = pfs_profile_add_event(c->p, "probe_libpython3:take_gil__return", false);
	c->ev_gc = pfs_profile_add_event(c->p, "probe_libpython3:gc_collect_main", false);
	c->ev_gc_ret =
	    pfs_profile_add_event(c->p, "probe_libpython3:gc_collect_main__return", false);
	c->ev_drop = pfs_profile_add_event(c->p, "probe_libpython3:drop_gil", false);
	c->a = pfs_analysis_new(c->p);
	if (with_tracing) {
		c->blob = t_make_blob(false, "sched", fmts, 1);
		T_EQ(pfs_analysis_tracing(c->a, c->blob.p, c->blob.n), 0);
	}
}

static void cap_free(struct cap *c)
{
	pfs_analysis_free(c->a);
	pfs_profile_free(c->p);
	free(c->blob.p);
}

static void cpu(struct cap *c, uint32_t pid, uint32_t tid, uint64_t t, uint32_t path)
{
	struct pfs_sample_row r = {.event = c->ev_cpu,
				   .pid = pid,
				   .tid = tid,
				   .time = t,
				   .path = path,
				   .period = 1000000,
				   .weight = 1};
	T_EQ(pfs_analysis_sample(c->a, &r, NULL), 0);
}

static void ev(struct cap *c, uint32_t event, uint32_t pid, uint32_t tid, uint64_t t, uint32_t path)
{
	struct pfs_sample_row r = {.event = event,
				   .pid = pid,
				   .tid = tid,
				   .time = t,
				   .path = path,
				   .period = 1,
				   .weight = 1};
	T_EQ(pfs_analysis_sample(c->a, &r, NULL), 0);
}

static void sw(struct cap *c, uint32_t pid, uint32_t tid, uint64_t t, uint32_t path, uint64_t state)
{
	struct buf raw = t_switch_raw(false, "python3.12", tid, state, "swapper/0", 0);
	struct pfs_sample_row r = {.event = c->ev_switch,
				   .pid = pid,
				   .tid = tid,
				   .time = t,
				   .path = path,
				   .period = 1,
				   .weight = 1};
	struct pfs_an_tp tp = {372, raw.p, raw.n};
	T_EQ(pfs_analysis_sample(c->a, &r, &tp), 0);
	free(raw.p);
}

static const struct pfs_an_process *proc(struct cap *c, uint32_t pid)
{
	for (size_t i = 0; i < pfs_analysis_n_processes(c->a); i++)
		if (pfs_analysis_process(c->a, i)->pid == pid)
			return pfs_analysis_process(c->a, i);
	t_fail(__FILE__, __LINE__, "no process %u", pid);
}

static const struct pfs_an_thread *thr(struct cap *c, uint32_t pid, uint32_t tid)
{
	const struct pfs_an_process *p = proc(c, pid);
	for (size_t i = 0; i < p->n_threads; i++)
		if (pfs_analysis_thread(c->a, p->threads[i])->tid == tid)
			return pfs_analysis_thread(c->a, p->threads[i]);
	t_fail(__FILE__, __LINE__, "no thread %u/%u", pid, tid);
}

/* Stacks every test uses. */
struct stacks {
	uint32_t eval, gc, gc_inline, gil_wait, runtime, alloc, ext, kernel, plain_sleep, drop;
};

static struct stacks stacks(struct pfs_profile *p)
{
	struct stacks s;
	s.eval = PATH(p, "py::<module>:/app/t.py", "_PyEval_EvalFrameDefault@" LP,
		      "py::crunch:/app/t.py", "_PyEval_EvalFrameDefault@" LP);
	s.gc = PATH(p, "py::<module>:/app/t.py", "_PyEval_EvalFrameDefault@" LP,
		    "py::churn:/app/t.py", "_PyEval_EvalFrameDefault@" LP, "_Py_HandlePending@" LP,
		    "_Py_RunGC@" LP, "gc_collect_main@" LP);
	/* only an inline frame names the collector */
	s.gc_inline = PATH(p, "py::churn:/app/t.py", "_PyEval_EvalFrameDefault@" LP,
			   "_Py_RunGC@" LP, "gc_collect_generations", "update_refs@" LP);
	s.gil_wait = PATH(p, "py::tick:/app/t.py", "time_sleep@" LP, "PyEval_RestoreThread@" LP,
			  "take_gil@" LP, "pthread_cond_timedwait@" LC, "__schedule@k");
	s.runtime = PATH(p, "py::dumps:/usr/lib/python3.12/json/__init__.py",
			 "_PyEval_EvalFrameDefault@" LP, "PyUnicode_Join@" LP);
	s.alloc = PATH(p, "py::f:/v/lib/python3.12/site-packages/m/x.py",
		       "_PyEval_EvalFrameDefault@" LP, "PyList_New@" LP, "_PyObject_Malloc@" LP);
	s.ext = PATH(p, "py::f:/app/t.py", "_PyEval_EvalFrameDefault@" LP,
		     "sha@/v/_sha2.cpython-312.so");
	s.kernel = PATH(p, "py::f:/app/t.py", "_Py_write@" LP, "write@" LC, "ksys_write@k");
	s.plain_sleep =
	    PATH(p, "py::tick:/app/t.py", "time_sleep@" LP, "clock_nanosleep@" LC, "__schedule@k");
	s.drop = PATH(p, "py::crunch:/app/t.py", "_PyEval_EvalFrameDefault@" LP,
		      "_Py_HandlePending@" LP, "drop_gil@" LP);
	return s;
}

static void test_categories_and_gc_samples(void)
{
	struct cap c;
	struct stacks s;
	const struct pfs_an_process *p;
	const uint32_t order[] = {0, 1, 1, 2, 3, 4, 5, 6, 7, 0, 0, 8};
	uint64_t sum = 0;
	cap_init(&c, true);
	s = stacks(c.p);
	for (size_t i = 0; i < N(order); i++) {
		const uint32_t paths[] = {s.eval,  s.gc,  s.gc_inline, s.gil_wait, s.runtime,
					  s.alloc, s.ext, s.kernel,    s.drop};
		cpu(&c, 100, 100, 1000 + i, paths[order[i]]);
	}
	pfs_analysis_finish(c.a, NULL);
	p = proc(&c, 100);
	T_EQ(p->cpu_samples, N(order));
	T_EQ(p->gc_samples, 3);
	T_EQ(p->gil_samples, 2);
	/* the eval loop's self time under crunch is crunch's: application code */
	T_EQ(p->cat[PFS_CAT_INTERP], 0);
	T_EQ(p->cat[PFS_CAT_PY_APP], 3);
	T_EQ(p->cat[PFS_CAT_GC], 3);
	T_EQ(p->cat[PFS_CAT_GIL], 2);
	T_EQ(p->cat[PFS_CAT_PY_STDLIB], 1);
	T_EQ(p->cat[PFS_CAT_ALLOC], 1);
	T_EQ(p->cat[PFS_CAT_NATIVE], 1);
	T_EQ(p->cat[PFS_CAT_KERNEL], 1);
	for (int i = 0; i < PFS_CAT_COUNT; i++)
		sum += p->cat[i];
	T_EQ(sum, p->cpu_samples);
	T_EQ(p->cpu_period, N(order) * 1000000ull);
	T_ASSERT(pfs_analysis_python(c.a) != NULL);
	T_EQ(pfs_analysis_python(c.a)->minor, 12);
	cap_free(&c);
}

static void test_gil_wait_from_switches(void)
{
	struct cap c;
	struct stacks s;
	const struct pfs_an_thread *t;
	struct pfs_an_stackwait top[4];
	cap_init(&c, true);
	s = stacks(c.p);
	/* blocked in take_gil (S) at 1000, next event of the thread at 1600: 600 ns */
	sw(&c, 100, 101, 1000, s.gil_wait, 1);
	cpu(&c, 100, 102, 1200, s.eval); /* another thread: does not end it */
	cpu(&c, 100, 101, 1600, s.eval);
	/* preempted (R+) in take_gil: runnable, not a wait */
	sw(&c, 100, 101, 2000, s.gil_wait, 0x100);
	cpu(&c, 100, 101, 2100, s.eval);
	/* blocked but not on the GIL */
	sw(&c, 100, 101, 3000, s.plain_sleep, 1);
	cpu(&c, 100, 101, 3500, s.eval);
	/* ended by a probe sample of the same thread, 50 ns */
	sw(&c, 100, 101, 4000, s.gil_wait, 2);
	ev(&c, c.ev_drop, 100, 101, 4050, s.drop);
	/* ended by a switch-in record, 25 ns */
	sw(&c, 100, 101, 5000, s.gil_wait, 1);
	pfs_analysis_switch(c.a, 100, 101, UINT32_MAX, 5025, false);
	cpu(&c, 100, 101, 5100, s.eval);
	/* a switch-out record does not end it; nothing follows: dropped */
	sw(&c, 100, 101, 6000, s.gil_wait, 1);
	pfs_analysis_switch(c.a, 100, 101, UINT32_MAX, 6001, true);
	pfs_analysis_finish(c.a, NULL);
	T_ASSERT(pfs_analysis_has_switch_waits(c.a));
	t = thr(&c, 100, 101);
	T_EQ(t->gil_waits, 3);
	T_EQ(t->gil_wait_ns, 600 + 50 + 25);
	T_EQ(thr(&c, 100, 102)->gil_waits, 0);
	T_EQ(proc(&c, 100)->gil_wait_ns, 675);
	T_EQ(pfs_diag_count(pfs_analysis_diag(c.a), "gil-wait-unended"), 1);
	/* one python stack waited: tick > [gil wait] */
	T_EQ(pfs_analysis_top_waits(c.a, 100, top, N(top)), 1);
	T_EQ(top[0].ns, 675);
	T_EQ(top[0].n, 3);
	{
		const struct pfs_path_node *leaf = pfs_profile_pathget(c.p, top[0].pypath);
		const struct pfs_frame *lf = pfs_profile_frameget(c.p, leaf->frame);
		const struct pfs_frame *pf =
		    pfs_profile_frameget(c.p, pfs_profile_pathget(c.p, leaf->parent)->frame);
		T_STREQ(pfs_profile_strget(c.p, lf->name, NULL), "[gil wait]");
		T_EQ(lf->kind, PFS_FK_PSEUDO);
		T_STREQ(pfs_profile_strget(c.p, pf->name, NULL), "py::tick:/app/t.py");
		T_EQ(leaf->depth, 2);
	}
	cap_free(&c);
}

static void test_probe_intervals(void)
{
	struct cap c;
	struct stacks s;
	const struct pfs_an_process *p;
	const struct pfs_an_pause *ps;
	uint32_t gc_entry;
	cap_init(&c, true);
	s = stacks(c.p);
	gc_entry = s.gc;
	/* take_gil: 100 + 300 ns; an unmatched return and an overwritten entry */
	ev(&c, c.ev_gil, 100, 101, 1000, s.gil_wait);
	ev(&c, c.ev_gil_ret, 100, 101, 1100, s.eval);
	ev(&c, c.ev_gil_ret, 100, 101, 1200, s.eval);
	ev(&c, c.ev_gil, 100, 101, 1300, s.gil_wait);
	ev(&c, c.ev_gil, 100, 101, 1700, s.gil_wait);
	ev(&c, c.ev_gil_ret, 100, 101, 2000, s.eval);
	/* an entry of another thread is not closed by this thread's return */
	ev(&c, c.ev_gil, 100, 102, 2100, s.gil_wait);
	ev(&c, c.ev_gil_ret, 100, 101, 2200, s.eval);
	/* GC pauses of 10, 40, 20, 30, 1000 ns */
	{
		const uint64_t d[] = {10, 40, 20, 30, 1000};
		uint64_t t0 = 10000;
		for (size_t i = 0; i < N(d); i++) {
			ev(&c, c.ev_gc, 100, 100, t0, gc_entry);
			ev(&c, c.ev_gc_ret, 100, 100, t0 + d[i], s.eval);
			t0 += 5000;
		}
	}
	ev(&c, c.ev_gc, 100, 100, 90000, gc_entry); /* never returns */
	pfs_analysis_finish(c.a, NULL);
	T_ASSERT(pfs_analysis_has_gil_probes(c.a));
	T_ASSERT(pfs_analysis_has_gc_probes(c.a));
	T_EQ(thr(&c, 100, 101)->probe_waits, 2);
	T_EQ(thr(&c, 100, 101)->probe_wait_ns, 400);
	T_EQ(thr(&c, 100, 102)->probe_waits, 0);
	p = proc(&c, 100);
	T_EQ(p->gc_pauses, 5);
	T_EQ(p->gc_pause_ns, 1100);
	T_EQ(p->gc_pause_max_ns, 1000);
	T_EQ(p->gc_pause_p50_ns, 30);
	T_EQ(p->gc_pause_p95_ns, 1000);
	T_EQ(pfs_diag_count(pfs_analysis_diag(c.a), "probe-unpaired"), 2);
	T_EQ(pfs_analysis_n_pauses(c.a), 5);
	ps = pfs_analysis_pause(c.a, 4);
	T_EQ(ps->dur, 1000);
	T_EQ(ps->tid, 100);
	/* the python view of the entry stack: <module> > churn > [gc] */
	{
		const struct pfs_path_node *n = pfs_profile_pathget(c.p, ps->pypath);
		T_EQ(n->depth, 3);
		T_STREQ(pfs_profile_strget(c.p, pfs_profile_frameget(c.p, n->frame)->name, NULL),
			"[gc]");
		n = pfs_profile_pathget(c.p, n->parent);
		T_STREQ(pfs_profile_strget(c.p, pfs_profile_frameget(c.p, n->frame)->name, NULL),
			"py::churn:/app/t.py");
	}
	cap_free(&c);
}

static void test_no_probes_means_null(void)
{
	struct cap c;
	struct stacks s;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	struct pfs_err err;
	cap_init(&c, false);
	s = stacks(c.p);
	cpu(&c, 100, 100, 1000, s.eval);
	sw(&c, 100, 100, 1100, s.gil_wait, 1);
	cpu(&c, 100, 100, 1200, s.eval);
	pfs_analysis_finish(c.a, NULL);
	T_ASSERT(!pfs_analysis_has_switch_waits(c.a));
	T_ASSERT(!pfs_analysis_has_gil_probes(c.a));
	T_ASSERT(!pfs_analysis_has_gc_probes(c.a));
	T_EQ(pfs_diag_count(pfs_analysis_diag(c.a), "no-tracing-data"), 1);
	f = open_memstream(&buf, &len);
	T_EQ(pfs_analysis_write_json(&c.a, 1, f, false, &err), 0);
	fclose(f);
	T_ASSERT(strstr(buf, "\"gil_wait_s\":null"));
	T_ASSERT(strstr(buf, "\"gil_probe_wait_s\":null"));
	T_ASSERT(strstr(buf, "\"gc_pauses\":null"));
	T_ASSERT(strstr(buf, "\"pause_max_ms\":null"));
	T_ASSERT(strstr(buf, "\"no-tracing-data\""));
	free(buf);
	cap_free(&c);
}

static void test_bad_tracing_data(void)
{
	struct cap c;
	cap_init(&c, false);
	T_EQ(pfs_analysis_tracing(c.a, "\x17\x08\x44tracinX", 10), PFS_EFORMAT);
	T_EQ(pfs_diag_count(pfs_analysis_diag(c.a), "tracing-data"), 1);
	/* absent data is not an error of the blob: the switch samples say why later */
	T_EQ(pfs_analysis_tracing(c.a, NULL, 0), PFS_EFORMAT);
	T_EQ(pfs_diag_count(pfs_analysis_diag(c.a), "tracing-data"), 1);
	pfs_analysis_finish(c.a, NULL);
	cap_free(&c);
}

static void test_truncated_switch_raw(void)
{
	struct cap c;
	struct stacks s;
	struct pfs_sample_row r;
	struct pfs_an_tp tp;
	struct buf raw;
	cap_init(&c, true);
	s = stacks(c.p);
	raw = t_switch_raw(false, "x", 100, 1, "y", 0);
	r = (struct pfs_sample_row){
	    .event = c.ev_switch, .pid = 100, .tid = 100, .time = 5, .path = s.gil_wait};
	tp = (struct pfs_an_tp){372, raw.p, 20};
	T_EQ(pfs_analysis_sample(c.a, &r, &tp), 0);
	pfs_analysis_finish(c.a, NULL);
	T_EQ(pfs_diag_count(pfs_analysis_diag(c.a), "bad-switch-sample"), 1);
	T_EQ(thr(&c, 100, 100)->gil_waits, 0);
	free(raw.p);
	cap_free(&c);
}

static void test_worker_roles(void)
{
	struct cap c;
	struct stacks s;
	struct pfs_process *pp;
	struct pfs_an_capture cap = {.label = "g",
				     .source = "g/perf.data",
				     .command = "python3.12 -X perf -m gunicorn -w 2 app:app"};
	uint32_t py = 0;
	cap_init(&c, false);
	s = stacks(c.p);
	py = pfs_profile_cstr(c.p, "python3.12");
	/* master 100 (root), workers 101, 102 and a recycled 105; 200 a tool it ran (exec) */
	for (uint32_t pid = 100; pid <= 105; pid++) {
		if (pid == 103 || pid == 104)
			continue;
		pp = pfs_profile_process(c.p, pid);
		pp->ppid = pid == 100 ? 1 : 100;
		pp->comm = py;
		pfs_profile_thread(c.p, pid, pid)->comm = py;
		cpu(&c, pid, pid, 1000 + pid, s.eval);
	}
	pp = pfs_profile_process(c.p, 200);
	pp->ppid = 100;
	pp->comm = pfs_profile_cstr(c.p, "sh");
	cpu(&c, 200, 200, 2000, s.eval);
	/* a worker thread of 101 */
	cpu(&c, 101, 110, 3000, s.gc);
	/* an unrelated uwsgi master with a setproctitle worker title */
	pp = pfs_profile_process(c.p, 300);
	pp->comm = pfs_profile_cstr(c.p, "uWSGI worker 1");
	pp->cmdline = pfs_profile_cstr(c.p, "uwsgi: worker 1");
	cpu(&c, 300, 300, 4000, s.eval);
	pfs_analysis_finish(c.a, &cap);
	T_EQ(pfs_analysis_n_processes(c.a), 6);
	T_STREQ(proc(&c, 100)->role, "master");
	T_STREQ(proc(&c, 100)->server, "gunicorn");
	T_STREQ(pfs_profile_strget(c.p, proc(&c, 100)->cmdline, NULL), cap.command);
	T_STREQ(proc(&c, 101)->role, "worker");
	T_STREQ(proc(&c, 102)->role, "worker");
	T_STREQ(proc(&c, 105)->role, "worker");
	T_EQ(proc(&c, 101)->cmdline, proc(&c, 100)->cmdline);
	T_STREQ(proc(&c, 200)->role, "process");
	T_ASSERT(proc(&c, 200)->server == NULL);
	T_EQ(proc(&c, 200)->cmdline, 0);
	T_STREQ(proc(&c, 300)->role, "worker");
	T_STREQ(proc(&c, 300)->server, "uwsgi");
	T_EQ(proc(&c, 101)->n_threads, 2);
	T_EQ(proc(&c, 101)->gc_samples, 1);
	T_EQ(thr(&c, 101, 110)->gc_samples, 1);
	/* one aggregate: the gunicorn master's three workers (the uwsgi one has no master here) */
	T_EQ(pfs_analysis_n_workers(c.a), 1);
	{
		const struct pfs_an_workers *w = pfs_analysis_workers(c.a, 0);
		T_EQ(w->master, 100);
		T_EQ(w->n_pids, 3);
		T_EQ(w->pids[0], 101);
		T_EQ(w->pids[2], 105);
		T_EQ(w->sum.cpu_samples, 4);
		T_EQ(w->sum.gc_samples, 1);
		T_STREQ(w->sum.role, "workers");
	}
	cap_free(&c);
}

/*
 * `timeout 5 env A=1 python3.12 -m gunicorn ...`: perf keeps the root's command line only. The
 * wrapper (timeout) is no master: the master is the Python process it started, whose children
 * are the workers, and it runs the wrapped command.
 */
static void test_wrapper_is_not_the_master(void)
{
	struct cap c;
	struct stacks s;
	struct pfs_process *pp;
	struct pfs_an_capture cap = {
	    .label = "t",
	    .source = "t/perf.data",
	    .command =
		"timeout 5 env A=1 /opt/py/bin/python3.12 -m gunicorn -w 2 -k gthread app:app"};
	uint32_t py;
	cap_init(&c, false);
	s = stacks(c.p);
	py = pfs_profile_cstr(c.p, "python3.12");
	pp = pfs_profile_process(c.p, 50);
	pp->ppid = 1;
	pp->comm = pfs_profile_cstr(c.p, "timeout");
	pfs_profile_thread(c.p, 50, 50)->comm = pp->comm;
	cpu(&c, 50, 50, 500, s.eval);
	for (uint32_t pid = 51; pid <= 53; pid++) {
		pp = pfs_profile_process(c.p, pid);
		pp->ppid = pid == 51 ? 50 : 51;
		pp->comm = py;
		pfs_profile_thread(c.p, pid, pid)->comm = py;
		cpu(&c, pid, pid, 1000 + pid, s.eval);
	}
	pfs_analysis_finish(c.a, &cap);
	T_STREQ(proc(&c, 50)->role, "wrapper");
	T_ASSERT(proc(&c, 50)->server == NULL);
	T_STREQ(proc(&c, 51)->role, "master");
	T_STREQ(proc(&c, 51)->server, "gunicorn");
	T_STREQ(pfs_profile_strget(c.p, proc(&c, 51)->cmdline, NULL),
		"/opt/py/bin/python3.12 -m gunicorn -w 2 -k gthread app:app");
	T_STREQ(proc(&c, 52)->role, "worker");
	T_STREQ(proc(&c, 53)->role, "worker");
	T_EQ(pfs_analysis_n_workers(c.a), 1);
	T_EQ(pfs_analysis_workers(c.a, 0)->master, 51);
	T_EQ(pfs_analysis_workers(c.a, 0)->n_pids, 2);
	cap_free(&c);
}

static void test_no_python_and_unknown_version(void)
{
	struct cap c;
	uint32_t native;
	cap_init(&c, false);
	native = PATH(c.p, "main@/w/cycles", "spin@/w/cycles");
	cpu(&c, 7, 7, 10, native);
	pfs_analysis_finish(c.a, NULL);
	T_ASSERT(pfs_analysis_python(c.a) == NULL);
	T_EQ(pfs_diag_count(pfs_analysis_diag(c.a), "no-python"), 1);
	T_EQ(proc(&c, 7)->cat[PFS_CAT_NATIVE], 1);
	cap_free(&c);

	cap_init(&c, false);
	native = PATH(c.p, "py::f:/a.py", "_PyEval_EvalFrameDefault@/x/libpython3.15.so.1.0",
		      "gc_collect_main@/x/libpython3.15.so.1.0");
	cpu(&c, 7, 7, 10, native);
	pfs_analysis_finish(c.a, NULL);
	T_ASSERT(pfs_analysis_python(c.a) != NULL);
	T_ASSERT(!pfs_analysis_python(c.a)->known);
	T_EQ(pfs_diag_count(pfs_analysis_diag(c.a), "python-version-unknown"), 1);
	T_EQ(proc(&c, 7)->gc_samples, 1);
	cap_free(&c);
}

static void test_other_probes_are_reported(void)
{
	struct cap c;
	struct stacks s;
	uint32_t other;
	struct pfs_sample_row r;
	struct buf raw = {0};
	struct pfs_an_tp tp;
	cap_init(&c, true);
	s = stacks(c.p);
	other = pfs_profile_add_event(c.p, "probe_app:handle_request", false);
	t_put(&raw, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
	tp = (struct pfs_an_tp){9999, raw.p, raw.n};
	r = (struct pfs_sample_row){.event = other, .pid = 1, .tid = 1, .time = 5, .path = s.eval};
	T_EQ(pfs_analysis_sample(c.a, &r, &tp), 0);
	T_EQ(pfs_analysis_sample(c.a, &r, &tp), 0);
	pfs_analysis_finish(c.a, NULL);
	T_EQ(pfs_diag_count(pfs_analysis_diag(c.a), "other-tracepoint"), 1);
	T_ASSERT(!pfs_analysis_has_gil_probes(c.a));
	free(raw.p);
	cap_free(&c);
}

/*
 * perfsight record names a probe FN_2 (FN_3...) when another group holds FN (perf 6.1 wants
 * event names unique): those are the same probes; FN_x and FNx are not.
 */
static void test_numbered_probe_names(void)
{
	struct cap c;
	struct stacks s;
	uint32_t gil, gil_ret, gc, gc_ret, odd;
	cap_init(&c, true);
	s = stacks(c.p);
	gil = pfs_profile_add_event(c.p, "perfsight_7:take_gil_2", false);
	gil_ret = pfs_profile_add_event(c.p, "perfsight_7:take_gil_2__return", false);
	gc = pfs_profile_add_event(c.p, "perfsight_7:gc_collect_main_13", false);
	gc_ret = pfs_profile_add_event(c.p, "perfsight_7:gc_collect_main_13__return", false);
	odd = pfs_profile_add_event(c.p, "perfsight_7:take_gil_x", false);
	ev(&c, gil, 100, 101, 1000, s.gil_wait);
	ev(&c, gil_ret, 100, 101, 1250, s.eval);
	ev(&c, gc, 100, 100, 2000, s.gc);
	ev(&c, gc_ret, 100, 100, 2070, s.eval);
	ev(&c, odd, 100, 101, 3000, s.eval);
	pfs_analysis_finish(c.a, NULL);
	T_EQ(thr(&c, 100, 101)->probe_waits, 1);
	T_EQ(thr(&c, 100, 101)->probe_wait_ns, 250);
	T_EQ(proc(&c, 100)->gc_pauses, 1);
	T_EQ(proc(&c, 100)->gc_pause_ns, 70);
	/* take_gil_x would be an entry left open */
	T_EQ(pfs_diag_count(pfs_analysis_diag(c.a), "probe-unpaired"), 0);
	cap_free(&c);
}

/* What the sink received. */
struct sunk {
	size_t n_off, n_probe, n_fields;
	uint64_t off_ns;
	char last_state[8];
	char fields[256];
	int fail; /* a code to return from the next call, 0: none */
};

static int sunk_offcpu(void *payload, const struct pfs_an_offcpu *o)
{
	struct sunk *k = payload;
	k->n_off++;
	k->off_ns += o->t_in - o->t_out;
	snprintf(k->last_state, sizeof(k->last_state), "%s", o->state);
	return k->fail;
}

static int sunk_probe(void *payload, const struct pfs_sample_row *row, const char *fields)
{
	struct sunk *k = payload;
	(void)row;
	k->n_probe++;
	if (fields) {
		k->n_fields++;
		snprintf(k->fields, sizeof(k->fields), "%s", fields);
	}
	return k->fail;
}

static void test_sink_gets_offcpu_and_probes(void)
{
	struct cap c;
	struct stacks s;
	struct sunk k = {0};
	const struct pfs_an_sink sink = {.payload = &k, .offcpu = sunk_offcpu, .probe = sunk_probe};
	struct buf raw;
	struct pfs_sample_row r = {.event = 0, .pid = 100, .tid = 101, .time = 9000, .weight = 1};
	struct pfs_an_tp tp;
	cap_init(&c, true);
	s = stacks(c.p);
	pfs_analysis_set_sink(c.a, &sink);
	/* off CPU 1000 -> 1600 (S) and 2000 -> 2025 (ended by a switch-in record, R+) */
	sw(&c, 100, 101, 1000, s.gil_wait, 1);
	cpu(&c, 100, 102, 1200, s.eval); /* another thread: does not end it */
	cpu(&c, 100, 101, 1600, s.eval);
	sw(&c, 100, 101, 2000, s.plain_sleep, 0x100);
	pfs_analysis_switch(c.a, 100, 101, UINT32_MAX, 2025, false);
	T_EQ(k.n_off, 2);
	T_EQ(k.off_ns, 625);
	T_STREQ(k.last_state, "R+");
	/* the switch samples are probe hits with their decoded fields */
	T_EQ(k.n_probe, 2);
	T_EQ(k.n_fields, 2);
	T_ASSERT(strstr(k.fields, "\"prev_comm\":\"python3.12\""));
	T_ASSERT(strstr(k.fields, "\"prev_state\":256"));
	/* a sink error stops the stream with its code; one met in a switch record comes back
	 * with the next sample */
	sw(&c, 100, 101, 3000, s.gil_wait, 1);
	k.fail = PFS_EDB;
	pfs_analysis_switch(c.a, 100, 101, UINT32_MAX, 3100, false);
	raw = t_switch_raw(false, "python3.12", 101, 1, "swapper/0", 0);
	r.event = c.ev_switch;
	r.path = s.eval;
	tp = (struct pfs_an_tp){372, raw.p, raw.n};
	T_EQ(pfs_analysis_sample(c.a, &r, &tp), PFS_EDB);
	free(raw.p);
	pfs_analysis_finish(c.a, NULL);
	cap_free(&c);
}

static char *json_of(struct pfs_analysis *a)
{
	struct pfs_err err;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	T_ASSERT(f);
	T_EQ(pfs_analysis_write_json(&a, 1, f, true, &err), 0);
	fclose(f);
	return buf;
}

static char *text_of(struct pfs_analysis *a)
{
	struct pfs_err err;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	T_ASSERT(f);
	T_EQ(pfs_analysis_write_text(a, f, &err), 0);
	fclose(f);
	return buf;
}

/* Rebuilds a from what its accessors give, as the store does from its tables. */
static struct pfs_analysis *rebuild(struct pfs_analysis *a, struct pfs_profile *p,
				    const struct pfs_an_capture *cap)
{
	struct pfs_an_header h;
	struct pfs_analysis *b;
	const struct pfs_diag *d = pfs_analysis_diag(a);
	pfs_analysis_header(a, &h);
	b = pfs_analysis_restore(p, &h);
	for (size_t i = 0; i < pfs_analysis_n_threads(a); i++)
		pfs_analysis_restore_thread(b, pfs_analysis_thread(a, i));
	for (size_t i = 0; i < pfs_analysis_n_pauses(a); i++)
		pfs_analysis_restore_pause(b, pfs_analysis_pause(a, i));
	for (size_t i = 0; i < pfs_analysis_n_stackwaits(a); i++)
		pfs_analysis_restore_stackwait(b, pfs_analysis_stackwait(a, i));
	for (size_t i = 0; i < pfs_analysis_n_gctriggers(a); i++)
		pfs_analysis_restore_gctrigger(b, pfs_analysis_gctrigger(a, i));
	for (uint32_t ev = 0; ev < pfs_analysis_n_events(a); ev++)
		if (pfs_analysis_event_samples(a, ev))
			pfs_analysis_restore_events(b, ev, pfs_analysis_event_samples(a, ev));
	for (size_t i = 0; i < d->n; i++)
		pfs_analysis_restore_note(b, d->v[i].code, d->v[i].sev, d->v[i].count, d->v[i].msg);
	/* the handler rows, as the store gives them back */
	const struct pfs_handlers *ha = pfs_analysis_handlers(a);
	struct pfs_handlers *hb = pfs_analysis_restore_handlers(b);
	for (size_t i = 0; i < pfs_handlers_n(ha); i++)
		T_ASSERT(pfs_handlers_restore_row(hb, pfs_handlers_row(ha, i)));
	pfs_handlers_restore_rest(hb, pfs_handlers_rest(ha), pfs_handlers_frameworks(ha));
	/* the time budgets, their stacks and the process marks, as the store gives them back */
	const struct pfs_offcpu *oa = pfs_analysis_offcpu(a);
	struct pfs_offcpu *ob = pfs_analysis_restore_offcpu(b);
	pfs_offcpu_restore_info(ob, pfs_offcpu_info(oa));
	for (size_t i = 0; i < pfs_offcpu_n_budgets(oa); i++)
		if (pfs_offcpu_budget_at(oa, i))
			pfs_offcpu_restore_budget(ob, pfs_offcpu_budget_at(oa, i));
	for (size_t i = 0; i < pfs_offcpu_n_stacks(oa); i++)
		pfs_offcpu_restore_stack(ob, pfs_offcpu_stack_at(oa, i));
	for (size_t i = 0; i < pfs_offcpu_n_procs(oa); i++)
		pfs_offcpu_restore_proc(ob, pfs_offcpu_proc_at(oa, i));
	pfs_analysis_restore_finish(b, cap);
	return b;
}

static void test_restore_gives_the_same_summary(void)
{
	struct cap c;
	struct stacks s;
	struct pfs_an_capture cap = {
	    .label = "lab", .source = "x/perf.data", .command = "python3 -m gunicorn -w 2 app:app"};
	struct pfs_analysis *b;
	char *ja, *jb, *ta, *tb;
	cap_init(&c, true);
	s = stacks(c.p);
	/* a gunicorn master (100) and two workers forked from it, with waits and pauses */
	pfs_profile_process(c.p, 200)->ppid = 100;
	pfs_profile_process(c.p, 300)->ppid = 100;
	cpu(&c, 100, 100, 1000, s.eval);
	for (uint32_t w = 200; w <= 300; w += 100) {
		cpu(&c, w, w, 2000 + w, s.gc);
		cpu(&c, w, w + 1, 2100 + w, s.alloc);
		sw(&c, w, w + 1, 3000 + w, s.gil_wait, 1);
		cpu(&c, w, w + 1, 3500 + w, s.eval);
		ev(&c, c.ev_gil, w, w, 4000 + w, s.gil_wait);
		ev(&c, c.ev_gil_ret, w, w, 4300 + w, s.eval);
		ev(&c, c.ev_gc, w, w, 5000 + w, s.gc);
		ev(&c, c.ev_gc_ret, w, w, 5000 + 2 * w, s.eval);
	}
	sw(&c, 300, 301, 9000, s.gil_wait, 1); /* unended: a note */
	pfs_analysis_finish(c.a, &cap);
	T_EQ(pfs_analysis_n_workers(c.a), 1);
	b = rebuild(c.a, c.p, &cap);
	ja = json_of(c.a);
	jb = json_of(b);
	T_STREQ(jb, ja);
	ta = text_of(c.a);
	tb = text_of(b);
	T_STREQ(tb, ta);
	T_ASSERT(strstr(ta, "gunicorn master"));
	free(ja);
	free(jb);
	free(ta);
	free(tb);
	pfs_analysis_free(b);
	cap_free(&c);
}

static void test_restored_unknown_note_keeps_its_message(void)
{
	struct pfs_profile *p = pfs_profile_new();
	struct pfs_an_header h = {.cpu_clock = true};
	struct pfs_analysis *a = pfs_analysis_restore(p, &h);
	const struct pfs_diag *d;
	pfs_analysis_restore_note(a, "from-a-newer-perfsight", PFS_WARN, 3, "something new");
	pfs_analysis_restore_note(a, "no-python", PFS_NOTE, 1, "no CPython");
	pfs_analysis_restore_finish(a, NULL);
	d = pfs_analysis_diag(a);
	T_EQ(d->n, 2);
	T_STREQ(d->v[0].code, "stored-note");
	T_EQ(d->v[0].count, 3);
	T_STREQ(d->v[0].msg, "something new");
	T_EQ(pfs_diag_count(d, "no-python"), 1);
	T_EQ(pfs_analysis_n_processes(a), 0);
	pfs_analysis_free(a);
	pfs_profile_free(p);
}

static void test_json_and_text_outputs(void)
{
	struct cap c;
	struct stacks s;
	struct pfs_an_capture cap = {.label = "lab\"el", .source = "x/perf.data"};
	struct pfs_err err;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	char cmd[2048];
	const char *out;
	cap_init(&c, true);
	s = stacks(c.p);
	pfs_profile_thread(c.p, 100, 100)->comm = pfs_profile_cstr(c.p, "evil\x1b[2J</script>");
	cpu(&c, 100, 100, 1000000000, s.eval);
	cpu(&c, 100, 100, 1500000000, s.gc);
	ev(&c, c.ev_gc, 100, 100, 1600000000, s.gc);
	ev(&c, c.ev_gc_ret, 100, 100, 1602000000, s.eval);
	sw(&c, 100, 100, 1700000000, s.gil_wait, 1);
	cpu(&c, 100, 100, 1800000000, s.eval);
	pfs_analysis_finish(c.a, &cap);
	/* JSON: valid (python parses it), the schema, shares that sum to one */
	out = t_tmpdir();
	snprintf(cmd, sizeof(cmd), "%s/summary.json", out);
	f = fopen(cmd, "w");
	T_ASSERT(f);
	T_EQ(pfs_analysis_write_json(&c.a, 1, f, true, &err), 0);
	fclose(f);
	snprintf(cmd, sizeof(cmd),
		 "python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); "
		 "c=d[\"captures\"][0]; p=c[\"processes\"][0]; "
		 "assert d[\"schema\"]==\"perfsight-summary/1\"; "
		 "assert abs(sum(p[\"categories\"].values())-1)<1e-9; "
		 "assert abs(sum(p[\"threads\"][0][\"categories\"].values())-1)<1e-9; "
		 "assert p[\"gc\"][\"pauses\"]==1 and abs(p[\"gc\"][\"pause_max_ms\"]-2)<1e-9; "
		 "assert abs(p[\"gil\"][\"wait_s\"]-0.1)<1e-9 and p[\"gil\"][\"waits\"]==1; "
		 "assert p[\"gc\"][\"longest\"][0][\"python_stack\"][-1][\"function\"]==\"[gc]\"; "
		 "assert p[\"threads\"][0][\"comm\"].startswith(\"evil\"); "
		 "assert c[\"label\"]==\"lab\\\"el\" and c[\"python\"][\"version\"]==\"3.12\"; "
		 "assert abs(c[\"duration_s\"]-0.8)<1e-9' %s/summary.json",
		 out);
	if (system(cmd) != 0)
		t_fail(__FILE__, __LINE__, "summary JSON check failed: %s", cmd);
	/* text: the figures, and no raw escape byte from the hostile comm */
	f = open_memstream(&buf, &len);
	T_EQ(pfs_analysis_write_text(c.a, f, &err), 0);
	fclose(f);
	T_ASSERT(strstr(buf, "pid 100"));
	T_ASSERT(strstr(buf, "CPython 3.12"));
	T_ASSERT(strstr(buf, "GC pauses (probes): 1"));
	T_ASSERT(strstr(buf, "longest GC:"));
	T_ASSERT(strstr(buf, "churn (t.py) > [gc]"));
	T_ASSERT(strstr(buf, "most GIL wait:"));
	T_ASSERT(!strchr(buf, 0x1b));
	free(buf);
	cap_free(&c);
}

static void test_rows_outside_the_profile_are_dropped(void)
{
	struct cap c;
	struct stacks s;
	struct pfs_sample_row r = {.event = 0, .pid = 1, .tid = 1, .time = 5};
	cap_init(&c, false);
	s = stacks(c.p);
	r.path = 0xfffffff0u;
	T_EQ(pfs_analysis_sample(c.a, &r, NULL), 0);
	r.path = s.eval;
	r.event = 0xfffffff0u;
	T_EQ(pfs_analysis_sample(c.a, &r, NULL), 0);
	pfs_analysis_finish(c.a, NULL);
	T_EQ(pfs_diag_count(pfs_analysis_diag(c.a), "bad-sample-row"), 2);
	T_EQ(pfs_analysis_n_processes(c.a), 0);
	cap_free(&c);
}

static void test_memory_follows_paths_not_samples(void)
{
	struct cap c;
	struct stacks s;
	cap_init(&c, true);
	s = stacks(c.p);
	for (uint64_t i = 1; i <= 200000; i++)
		cpu(&c, 100, 100 + (uint32_t)(i % 4), i * 10, i % 3 ? s.eval : s.gc);
	pfs_analysis_finish(c.a, NULL);
	T_EQ(proc(&c, 100)->cpu_samples, 200000);
	T_EQ(proc(&c, 100)->gc_samples, 200000 / 3);
	T_EQ(proc(&c, 100)->n_threads, 4);
	T_EQ(pfs_analysis_n_pauses(c.a), 0);
	cap_free(&c);
}

/*
 * The real captures, with perf's own symbolization: until ingest names frames itself, the stacks
 * come from the perf-script text beside each fixture (matched to the reader's samples by thread,
 * time and event), and everything else (times, RAW payloads, tracing data, comm and fork
 * records) from the reader. The result is compared with the reference script's figures.
 */
struct script_sample {
	uint32_t tid;
	uint64_t time_us;
	uint32_t event; /* string id of the event name */
	uint32_t path;
	bool used;
};

struct script {
	struct script_sample *v;
	size_t n, cap;
};

static int cmp_script(const void *x, const void *y)
{
	const struct script_sample *a = x, *b = y;
	if (a->tid != b->tid)
		return a->tid < b->tid ? -1 : 1;
	return a->time_us < b->time_us ? -1 : a->time_us > b->time_us;
}

static bool parse_header(char *line, uint32_t *tid, uint64_t *time_us, char **event)
{
	char *tok[64];
	size_t n = 0, k;
	for (char *t = strtok(line, " \t"); t && n < N(tok); t = strtok(NULL, " \t"))
		tok[n++] = t;
	for (k = 1; k < n; k++) {
		size_t l = strlen(tok[k]);
		char *dot = strchr(tok[k], '.');
		if (l > 2 && tok[k][l - 1] == ':' && dot && dot > tok[k] && dot[-1] >= '0' &&
		    dot[-1] <= '9')
			break;
	}
	if (k >= n || k + 1 >= n)
		return false;
	{
		const char *tt = tok[k - 1][0] == '[' ? tok[k - 2] : tok[k - 1];
		const char *slash = strchr(tt, '/');
		unsigned long secs, usecs;
		*tid = (uint32_t)strtoul(slash ? slash + 1 : tt, NULL, 10);
		if (sscanf(tok[k], "%lu.%lu", &secs, &usecs) != 2)
			return false;
		*time_us = (uint64_t)secs * 1000000 + usecs;
	}
	k++;
	if (tok[k][strspn(tok[k], "0123456789")] == 0 && k + 1 < n)
		k++;
	*event = tok[k];
	if (strlen(*event) && (*event)[strlen(*event) - 1] == ':')
		(*event)[strlen(*event) - 1] = 0;
	return true;
}

/* "  addr sym+0xoff (dso)" -> a frame of the profile */
static uint32_t parse_frame(struct pfs_profile *p, char *line)
{
	struct pfs_frame f = {0};
	char *s = line + strspn(line, " \t"), *sym, *open, *plus;
	size_t l;
	sym = s + strcspn(s, " ");
	sym += strspn(sym, " ");
	l = strlen(sym);
	while (l && (sym[l - 1] == '\n' || sym[l - 1] == ' '))
		sym[--l] = 0;
	open = strrchr(sym, '(');
	if (open && open > sym && sym[l - 1] == ')') {
		sym[l - 1] = 0;
		open[-1] = 0;
		open++;
	} else {
		open = NULL;
	}
	plus = strstr(sym, "+0x");
	if (plus && plus[3 + strspn(plus + 3, "0123456789abcdef")] == 0)
		*plus = 0;
	f.name = pfs_profile_cstr(p, sym);
	if (open && !strcmp(open, "inlined"))
		f.inlined = 1;
	else if (open)
		f.dso = pfs_profile_cstr(p, open);
	if (open && !strncmp(open, "[kernel", 7))
		f.kind = PFS_FK_KERNEL;
	else if (!strcmp(sym, "[unknown]"))
		f.kind = PFS_FK_UNKNOWN;
	else if (!strncmp(sym, "py::", 4))
		f.kind = PFS_FK_PYTHON;
	else
		f.kind = PFS_FK_NATIVE;
	return pfs_profile_frame(p, &f);
}

static void add_script_sample(struct pfs_profile *p, struct script *sc, uint32_t tid, uint64_t us,
			      uint32_t event, const uint32_t *frames, size_t n)
{
	uint32_t path = 0;
	while (n--)
		path = pfs_profile_path(p, path, frames[n]);
	PFS_GROW(sc->v, sc->cap, sc->n + 1);
	sc->v[sc->n++] = (struct script_sample){tid, us, event, path, false};
}

static void load_script(struct pfs_profile *p, const char *fixture, struct script *sc)
{
	char cmd[512], line[4096], *event;
	uint32_t frames[1024], tid = 0, ev = 0;
	uint64_t us = 0;
	size_t nf = 0;
	bool in = false;
	FILE *f;
	snprintf(cmd, sizeof(cmd), "zstdcat %s", t_fixture(fixture));
	f = popen(cmd, "r");
	T_ASSERT(f);
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '\n' || line[0] == 0)
			continue;
		if (line[0] != ' ' && line[0] != '\t') {
			if (in)
				add_script_sample(p, sc, tid, us, ev, frames, nf);
			in = parse_header(line, &tid, &us, &event);
			nf = 0;
			if (in)
				ev = pfs_profile_cstr(p, event);
			continue;
		}
		if (in && nf < N(frames))
			frames[nf++] = parse_frame(p, line);
	}
	if (in)
		add_script_sample(p, sc, tid, us, ev, frames, nf);
	T_EQ(pclose(f), 0);
	qsort(sc->v, sc->n, sizeof(*sc->v), cmp_script);
}

static uint32_t script_path(struct script *sc, uint32_t tid, uint64_t us, uint32_t event,
			    bool *found)
{
	size_t lo = 0, hi = sc->n;
	struct script_sample key = {.tid = tid, .time_us = us};
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cmp_script(&sc->v[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < sc->n && !cmp_script(&sc->v[lo], &key); lo++)
		if (!sc->v[lo].used && sc->v[lo].event == event) {
			sc->v[lo].used = true;
			*found = true;
			return sc->v[lo].path;
		}
	*found = false;
	return 0;
}

/* Streams fixture dir's capture through the analysis; returns samples perf script lacks. */
static uint64_t run_fixture(const char *dir, const char *json_out, char *roles_out)
{
	struct pfs_profile *p = pfs_profile_new();
	struct pfs_analysis *a = pfs_analysis_new(p);
	struct script sc = {0};
	struct pfs_reader *r;
	struct pfs_record rec;
	struct pfs_err err;
	char path[1024];
	uint64_t missing = 0;
	uint32_t ev_of[256] = {0}; /* attr index -> profile event + 1 */
	int rc;
	FILE *f;
	snprintf(path, sizeof(path), "%s/perf-script.txt.zst", dir);
	load_script(p, path, &sc);
	snprintf(path, sizeof(path), "%s/perf.data", dir);
	T_EQ(pfs_reader_open(&r, t_fixture(path), NULL, &err), 0);
	while ((rc = pfs_reader_next(r, &rec, &err)) == 1) {
		if (rec.type == PFS_REC_COMM) {
			pfs_profile_thread(p, rec.u.comm.pid, rec.u.comm.tid)->comm =
			    pfs_profile_cstr(p, rec.u.comm.comm);
			if (rec.u.comm.pid == rec.u.comm.tid)
				pfs_profile_process(p, rec.u.comm.pid)->comm =
				    pfs_profile_cstr(p, rec.u.comm.comm);
		} else if (rec.type == PFS_REC_FORK) {
			uint32_t comm =
			    pfs_profile_thread(p, rec.u.task.ppid, rec.u.task.ptid)->comm;
			pfs_profile_thread(p, rec.u.task.pid, rec.u.task.tid)->comm = comm;
			if (rec.u.task.pid != rec.u.task.ppid) {
				struct pfs_process *pp = pfs_profile_process(p, rec.u.task.pid);
				pp->ppid = rec.u.task.ppid;
				pp->comm = comm;
			}
		}
		if (rec.type == PFS_REC_SAMPLE && rec.attr) {
			size_t ai = pfs_reader_attr_index(r, rec.attr);
			struct pfs_sample_row row = {0};
			bool found;
			T_ASSERT(ai < N(ev_of));
			if (!ev_of[ai]) {
				ev_of[ai] = 1 + pfs_profile_add_event(p, rec.attr->name,
								      rec.attr->type != 2);
				set_attr(p, ev_of[ai] - 1, rec.attr);
			}
			row.event = ev_of[ai] - 1;
			row.pid = rec.sid.pid;
			row.tid = rec.sid.tid;
			row.time = rec.sid.time;
			row.period = rec.u.sample.period;
			row.weight = 1;
			row.path = script_path(&sc, row.tid, row.time / 1000,
					       pfs_profile_cstr(p, rec.attr->name), &found);
			missing += !found;
			T_EQ(pfs_analysis_perf_sample(a, &row, &rec), 0);
		} else {
			pfs_analysis_perf_record(a, r, &rec);
		}
	}
	T_EQ(rc, 0);
	pfs_analysis_perf_finish(a, r, dir, path);
	*roles_out = 0;
	for (size_t i = 0; i < pfs_analysis_n_processes(a); i++) {
		const struct pfs_an_process *pr = pfs_analysis_process(a, i);
		snprintf(roles_out + strlen(roles_out), 256 - strlen(roles_out), "%u:%s ", pr->pid,
			 pr->role);
	}
	f = fopen(json_out, "w");
	T_ASSERT(f);
	T_EQ(pfs_analysis_write_json(&a, 1, f, true, &err), 0);
	fclose(f);
	snprintf(path, sizeof(path), "%s.txt", json_out);
	f = fopen(path, "w");
	T_ASSERT(f);
	T_EQ(pfs_analysis_write_text(a, f, &err), 0);
	fclose(f);
	pfs_reader_close(r);
	pfs_analysis_free(a);
	pfs_profile_free(p);
	free(sc.v);
	return missing;
}

static void check_fixture(const char *dir, const char *roles)
{
	char out[512], cmd[1536], got[256];
	uint64_t missing;
	snprintf(out, sizeof(out), "%s/%s.json", t_tmpdir(), dir);
	missing = run_fixture(dir, out, got);
	if (roles)
		T_STREQ(got, roles);
	T_EQ(missing, 0);
	snprintf(cmd, sizeof(cmd),
		 "python3 tests/tools/check_summary.py %s %s/perf-script.txt.zst > %s.check 2>&1",
		 out, t_fixture(dir), out);
	if (system(cmd) != 0)
		t_fail(__FILE__, __LINE__, "differs from the reference: see %s.check", out);
}

static void test_fixture_probes_matches_reference(void)
{
	check_fixture("py312-threads-probes", "22986:process ");
}

static void test_fixture_dwarf_matches_reference(void)
{
	check_fixture("py312-threads-dwarf", "22210:process ");
}

/* frame-pointer chains broken by a CPython built without frame pointers: fewer GC frames seen */
static void test_fixture_fp_matches_reference(void)
{
	check_fixture("py312-threads-fp", "21844:process ");
}

static void test_fixture_gunicorn_matches_reference(void)
{
	/* one master (the recorded command) and two forked workers, each its own row */
	check_fixture("gunicorn-gthread-pipe", "16737:master 16738:worker 16739:worker ");
}

/*
 * Pipe mode with tracing data and no Python (perf cannot read this file back, so there are no
 * stacks to borrow): every switch decodes, and the summary says Python does not apply.
 */
static void test_fixture_native_pipe(void)
{
	struct pfs_profile *p = pfs_profile_new();
	struct pfs_analysis *a = pfs_analysis_new(p);
	struct pfs_reader *r;
	struct pfs_record rec;
	struct pfs_err err;
	uint32_t ev_of[16] = {0};
	uint64_t cpu = 0, want = 0;
	int rc;
	T_EQ(pfs_reader_open(&r, t_fixture("native-pipe-tracepoints/perf.data"), NULL, &err), 0);
	while ((rc = pfs_reader_next(r, &rec, &err)) == 1) {
		struct pfs_sample_row row = {0};
		size_t ai;
		if (rec.type != PFS_REC_SAMPLE || !rec.attr) {
			pfs_analysis_perf_record(a, r, &rec);
			continue;
		}
		ai = pfs_reader_attr_index(r, rec.attr);
		T_ASSERT(ai < N(ev_of));
		if (!ev_of[ai]) {
			ev_of[ai] =
			    1 + pfs_profile_add_event(p, rec.attr->name, rec.attr->type != 2);
			set_attr(p, ev_of[ai] - 1, rec.attr);
		}
		row.event = ev_of[ai] - 1;
		row.pid = rec.sid.pid;
		row.tid = rec.sid.tid;
		row.time = rec.sid.time;
		row.period = rec.u.sample.period;
		want += rec.attr->name && !strcmp(rec.attr->name, "cpu-clock");
		T_EQ(pfs_analysis_perf_sample(a, &row, &rec), 0);
	}
	T_EQ(rc, 0);
	pfs_analysis_perf_finish(a, r, "native", "native-pipe-tracepoints/perf.data");
	T_ASSERT(pfs_analysis_python(a) == NULL);
	T_EQ(pfs_diag_count(pfs_analysis_diag(a), "no-python"), 1);
	T_EQ(pfs_diag_count(pfs_analysis_diag(a), "bad-switch-sample"), 0);
	T_EQ(pfs_diag_count(pfs_analysis_diag(a), "no-tracing-data"), 0);
	T_ASSERT(pfs_analysis_has_switch_waits(a));
	for (size_t i = 0; i < pfs_analysis_n_processes(a); i++) {
		const struct pfs_an_process *pr = pfs_analysis_process(a, i);
		cpu += pr->cpu_samples;
		T_EQ(pr->gil_waits, 0);
		T_STREQ(pr->role, "process");
	}
	T_ASSERT(want > 0);
	T_EQ(cpu, want);
	pfs_reader_close(r);
	pfs_analysis_free(a);
	pfs_profile_free(p);
}

/* Markup in Python function names and in the thread name: escaped in JSON, inert in text. */
static void test_fixture_hostile_names(void)
{
	char out[512], cmd[2048];
	snprintf(out, sizeof(out), "%s/hostile.json", t_tmpdir());
	check_fixture("hostile", NULL);
	snprintf(
	    cmd, sizeof(cmd),
	    "python3 -c 'import json,sys; t=open(sys.argv[1]).read(); d=json.loads(t); "
	    "assert \"<\" not in t and \">\" not in t and \"&\" not in t; "
	    "p=d[\"captures\"][0][\"processes\"]; "
	    "assert any(\"<i>\" in (th[\"comm\"] or \"\") for x in p for th in x[\"threads\"])' "
	    "%s",
	    out);
	if (system(cmd) != 0)
		t_fail(__FILE__, __LINE__, "hostile names not escaped or lost: %s", out);
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
	    T_CASE(categories_and_gc_samples),
	    T_CASE(gil_wait_from_switches),
	    T_CASE(probe_intervals),
	    T_CASE(no_probes_means_null),
	    T_CASE(bad_tracing_data),
	    T_CASE(truncated_switch_raw),
	    T_CASE(worker_roles),
	    T_CASE(wrapper_is_not_the_master),
	    T_CASE(no_python_and_unknown_version),
	    T_CASE(other_probes_are_reported),
	    T_CASE(numbered_probe_names),
	    T_CASE(json_and_text_outputs),
	    T_CASE(sink_gets_offcpu_and_probes),
	    T_CASE(restore_gives_the_same_summary),
	    T_CASE(restored_unknown_note_keeps_its_message),
	    T_CASE(rows_outside_the_profile_are_dropped),
	    T_CASE(memory_follows_paths_not_samples),
	    T_CASE(fixture_probes_matches_reference),
	    T_CASE(fixture_dwarf_matches_reference),
	    T_CASE(fixture_fp_matches_reference),
	    T_CASE(fixture_gunicorn_matches_reference),
	    T_CASE(fixture_hostile_names),
	    T_CASE(fixture_native_pipe),
	};
	return t_main(argc, argv, "analysis", cases, N(cases));
}
