/*
 * offcpu: the per-thread state machine (on/off segments, duplicates, the window, losses,
 * wakeups), the classification of switch-out stacks into parts, and worker classes and slow
 * paths read from CPU samples.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "harness.h"
#include "offcpu.h"
#include "verdicts.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define MS(x) ((uint64_t)(x)*1000000u) /* past the 100 us a loss may reach back */
#define LP "/usr/lib/libpython3.12.so.1.0"
#define LC "/usr/lib/x86_64-linux-gnu/libc.so.6"
#define SEL "/usr/lib/python3.12/lib-dynload/select.cpython-312-x86_64-linux-gnu.so"
#define STD "/usr/lib/python3.12"
#define GU "/srv/site/gunicorn"

static const struct pfs_pyver v312 = {3, 12, false, true};

/* A call path from frames given root first: "name@dso", "name@k" (kernel), "py::f:file". */
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
			f.dso = pfs_profile_cstr(p, "/tmp/perf-1.map");
		} else if (!strcmp(frames[i], "[truncated]")) {
			f.kind = PFS_FK_PSEUDO;
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

static uint64_t sum(const struct pfs_off_budget *b)
{
	uint64_t s = b->on_ns + pfs_offcpu_unrecorded(b);
	for (int k = 0; k < PFS_OFF_PARTS; k++)
		s += b->part_ns[k];
	return s;
}

static void finish(struct pfs_offcpu *o, uint64_t first, uint64_t last, bool switch_ins,
		   bool wakeups)
{
	struct pfs_off_info in = {.switches = true,
				  .switch_ins = switch_ins,
				  .wakeups = wakeups,
				  .first = first,
				  .last = last,
				  .nr_cpus = 2};
	pfs_offcpu_finish(o, &v312, &in, NULL, 0);
}

static void test_segments_add_up(void)
{
	struct pfs_profile *p = pfs_profile_new();
	struct pfs_offcpu *o = pfs_verdicts_offcpu_new(p);
	uint32_t lock = PATH(p, "py::handler:/app/a.py", "PyThread_acquire_lock_timed@" LP,
			     "futex_wait@k", "__schedule@k");
	const struct pfs_off_budget *b;
	/* before the first sample: switch records set the state but count nothing */
	pfs_offcpu_switch_in(o, 1, 1, 0, 50);
	pfs_offcpu_event(o, 1, 1, 0, 100); /* the window opens; on since 50 */
	pfs_offcpu_switch_out(o, 1, 1, 0, 200, true, lock, 0);
	pfs_offcpu_switch_out(o, 1, 1, 0, 201, false, 0, -1); /* its switch record: the same */
	pfs_offcpu_wakeup(o, 1, 450);
	pfs_offcpu_switch_in(o, 1, 1, 1, 500);
	pfs_offcpu_switch_in(o, 1, 1, 1, 501);		       /* seen twice */
	pfs_offcpu_switch_out(o, 1, 1, 1, 600, true, lock, 1); /* preempted */
	pfs_offcpu_switch_in(o, 1, 1, 1, 700);
	pfs_offcpu_event(o, 2, 2, 0, 1000); /* another thread: the window's end */
	finish(o, 100, 1000, true, true);
	T_ASSERT((b = pfs_offcpu_budget(o, 1, 1)) != NULL);
	T_EQ(b->life_ns, 900);
	T_EQ(b->on_ns, (200 - 100) + (600 - 500) + (1000 - 700));
	T_EQ(b->part_ns[PFS_OFF_LOCK], 300);
	T_EQ(b->wake_ns[PFS_OFF_LOCK], 50);
	T_EQ(b->part_ns[PFS_OFF_RUNNABLE], 100);
	T_EQ(b->offs, 2);
	T_EQ(pfs_offcpu_unrecorded(b), 0);
	T_EQ(sum(b), b->life_ns);
	/* the second thread's state before its first event is not recorded */
	T_ASSERT((b = pfs_offcpu_budget(o, 2, 2)) != NULL);
	T_EQ(b->life_ns, 900);
	T_EQ(b->unrec_start_ns, 900);
	T_EQ(sum(b), b->life_ns);
	pfs_offcpu_free(o);
	pfs_profile_free(p);
}

static void test_bounded_lost_and_unknown(void)
{
	struct pfs_profile *p = pfs_profile_new();
	struct pfs_offcpu *o = pfs_verdicts_offcpu_new(p);
	uint32_t io = PATH(p, "py::call:/app/a.py", "sock_recv_impl@" LP, "recv@" LC,
			   "tcp_recvmsg@k", "__schedule@k");
	const struct pfs_off_budget *b;
	pfs_offcpu_switch_out(o, 1, 1, 0, MS(10), false, 0, -1); /* why: before the window */
	pfs_offcpu_event(o, 2, 2, 0, MS(100));
	pfs_offcpu_event(o, 1, 1, 0,
			 MS(300)); /* runs again, no switch-in: 100-300 reason unknown */
	pfs_offcpu_switch_out(o, 1, 1, 0, MS(400), true, io, 0);
	pfs_offcpu_event(o, 1, 1, 0, MS(600)); /* no switch-in: an upper bound */
	pfs_offcpu_switch_out(o, 1, 1, 0, MS(700), true, io, 0);
	pfs_offcpu_lost(o, UINT32_MAX, 0, MS(750)); /* lost records inside this wait */
	pfs_offcpu_switch_in(o, 1, 1, 0, MS(800));
	pfs_offcpu_event(o, 2, 2, 0, MS(2000));
	finish(o, MS(100), MS(2000), true, false);
	T_ASSERT((b = pfs_offcpu_budget(o, 1, 1)) != NULL);
	T_EQ(b->unrec_why_ns, MS(200));
	T_EQ(b->part_ns[PFS_OFF_IO], MS(200));
	T_EQ(b->bounded_ns, MS(200));
	T_EQ(b->unrec_loss_ns, MS(100));
	T_EQ(sum(b), b->life_ns);
	pfs_offcpu_free(o);
	pfs_profile_free(p);
}

/* One blocked switch-out of thread tid on stack path, 100 ns, in a window of its own. */
static enum pfs_off_part part_of(const char *const *frames, size_t n, bool gunicorn,
				 const char *const *cpu_frames, size_t ncpu)
{
	struct pfs_profile *p = pfs_profile_new();
	struct pfs_offcpu *o = pfs_verdicts_offcpu_new(p);
	struct pfs_off_role role = {.pid = 1, .gunicorn = gunicorn, .master = false};
	struct pfs_off_info in = {.switches = true, .switch_ins = true, .first = 100, .last = 400};
	const struct pfs_off_budget *b;
	int found = -1;
	uint32_t id = path(p, frames, n);
	if (cpu_frames)
		pfs_offcpu_cpu_sample(o, 1, path(p, cpu_frames, ncpu));
	pfs_offcpu_event(o, 1, 1, 0, 100);
	pfs_offcpu_switch_out(o, 1, 1, 0, 200, true, id, 0);
	pfs_offcpu_switch_in(o, 1, 1, 0, 300);
	pfs_offcpu_finish(o, &v312, &in, &role, 1);
	b = pfs_offcpu_budget(o, 1, 1);
	for (int k = 0; b && k < PFS_OFF_PARTS; k++)
		if (b->part_ns[k] == 100)
			found = k;
	pfs_offcpu_free(o);
	pfs_profile_free(p);
	return (enum pfs_off_part)found;
}

#define PART(g, ...)                                                                               \
	part_of((const char *const[]){__VA_ARGS__},                                                \
		sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *), g, NULL, 0)

static void test_classification(void)
{
	/* the GIL first, whatever is below it */
	T_EQ(PART(false, "py::f:/app/a.py", "PyEval_RestoreThread@" LP, "take_gil@" LP,
		  "pthread_cond_timedwait@" LC, "futex_wait@k"),
	     PFS_OFF_GIL);
	/* gunicorn's sync loop in select, and its gthread loop in epoll through selectors */
	T_EQ(PART(true, "py::SyncWorker.run:" GU "/workers/sync.py",
		  "py::SyncWorker.wait:" GU "/workers/sync.py", "select_select_impl@" SEL,
		  "__select@" LC, "do_select@k"),
	     PFS_OFF_IDLE);
	T_EQ(PART(true, "py::_run_module_as_main:<frozen runpy>",
		  "py::ThreadWorker.run:" GU "/workers/gthread.py",
		  "py::EpollSelector.select:" STD "/selectors.py", "select_epoll_poll_impl@" SEL,
		  "epoll_wait@" LC, "ep_poll@k"),
	     PFS_OFF_IDLE);
	/* a standard-library call between the loop and the wait is not the loop's own wait */
	T_EQ(PART(true, "py::ThreadWorker.run:" GU "/workers/gthread.py",
		  "py::urlopen:" STD "/urllib/request.py",
		  "py::EpollSelector.select:" STD "/selectors.py", "select_epoll_poll_impl@" SEL,
		  "epoll_wait@" LC, "ep_poll@k"),
	     PFS_OFF_IO);
	/* a thread pool's worker waiting for work */
	T_EQ(PART(false, "py::Thread._bootstrap:" STD "/threading.py",
		  "py::_worker:" STD "/concurrent/futures/thread.py",
		  "PyThread_acquire_lock_timed@" LP, "futex_wait@k"),
	     PFS_OFF_IDLE);
	/* select.select cut short (its 49 KB frame) in a gunicorn process: its loop */
	T_EQ(PART(true, "[truncated]", "select_select_impl@" SEL, "__select@" LC, "do_select@k"),
	     PFS_OFF_IDLE);
	/* ... but not in another program */
	T_EQ(PART(false, "[truncated]", "select_select_impl@" SEL, "__select@" LC, "do_select@k"),
	     PFS_OFF_IO);
	/* a socket read under the request: I/O; a socket with a timeout polls first: I/O */
	T_EQ(PART(true, "py::SyncWorker.handle:" GU "/workers/sync.py", "py::call:/app/a.py",
		  "py::socket.recv:" STD "/socket.py", "sock_recv_impl@" LP, "recv@" LC,
		  "tcp_recvmsg@k"),
	     PFS_OFF_IO);
	T_EQ(PART(false, "py::call:/app/a.py", "sock_call_ex@" LP, "poll@" LC, "do_sys_poll@k"),
	     PFS_OFF_IO);
	/* gthread's main thread waiting for its pool (futures.wait): a lock, not idle */
	T_EQ(PART(true, "py::ThreadWorker.run:" GU "/workers/gthread.py",
		  "py::wait:" STD "/concurrent/futures/_base.py",
		  "py::Condition.wait:" STD "/threading.py", "PyThread_acquire_lock_timed@" LP,
		  "futex_wait@k"),
	     PFS_OFF_LOCK);
	/* sleep is a lock-and-other wait; so is an unknown stack */
	T_EQ(PART(false, "py::tick:/app/a.py", "time_sleep@" LP, "clock_nanosleep@" LC,
		  "do_nanosleep@k"),
	     PFS_OFF_LOCK);
	T_EQ(PART(false, "py::f:/app/a.py", "waitpid@" LC, "do_wait@k"), PFS_OFF_LOCK);
}

static void test_worker_class_and_slow_paths(void)
{
	struct pfs_profile *p = pfs_profile_new();
	struct pfs_offcpu *o = pfs_verdicts_offcpu_new(p);
	struct pfs_off_info in = {.switches = true, .first = 1, .last = 2};
	size_t npat;
	const struct pfs_off_pattern *pats = pfs_verdicts_patterns(&npat);
	uint32_t pure = PATH(
	    p, "py::SyncWorker.handle:" GU "/workers/sync.py", "py::dumps:" STD "/json/__init__.py",
	    "py::_make_iterencode.<locals>._iterencode:" STD "/json/encoder.py",
	    "py::_make_iterencode.<locals>._iterencode_list:" STD "/json/encoder.py",
	    "py::_make_iterencode.<locals>._iterencode_dict:" STD "/json/encoder.py",
	    "PyUnicode_Join@" LP);
	uint32_t fast = PATH(p, "py::ThreadWorker.handle:" GU "/workers/gthread.py",
			     "py::JSONEncoder.iterencode:" STD "/json/encoder.py",
			     "encoder_call@/usr/lib/python3.12/lib-dynload/_json.so");
	const struct pfs_off_proc *pr;
	size_t json = npat;
	for (size_t i = 0; i < npat; i++)
		if (!strcmp(pats[i].id, "json-encoder"))
			json = i;
	T_ASSERT(json < npat);
	pfs_offcpu_cpu_sample(o, 7, pure);
	pfs_offcpu_cpu_sample(o, 7, pure);
	pfs_offcpu_cpu_sample(o, 8, fast);
	pfs_offcpu_finish(o, &v312, &in, NULL, 0);
	T_ASSERT((pr = pfs_offcpu_proc(o, 7)) != NULL);
	T_EQ(pr->worker, PFS_WK_SYNC);
	T_EQ(pr->cpu_samples, 2);
	T_EQ(pr->pat[json], 2); /* once per sample, though three frames match */
	T_ASSERT((pr = pfs_offcpu_proc(o, 8)) != NULL);
	T_EQ(pr->worker, PFS_WK_GTHREAD);
	T_EQ(pr->pat[json], 0); /* the C accelerator under iterencode is the fast path */
	T_STREQ(pfs_off_worker_name(PFS_WK_GTHREAD), "gthread");
	T_EQ(pfs_off_worker_parse("uwsgi"), PFS_WK_UWSGI);
	T_EQ(pfs_off_part_parse("idle"), PFS_OFF_IDLE);
	T_EQ(pfs_off_part_parse("nap"), -1);
	pfs_offcpu_free(o);
	pfs_profile_free(p);
}

/* Verdicts never go past what the capture holds: nothing from nothing; no off-CPU verdict
 * without sched_switch, each listed as not judged with what to record. */
static void test_verdicts_need_their_events(void)
{
	struct pfs_profile *p = pfs_profile_new();
	struct pfs_analysis *a = pfs_analysis_new(p);
	struct pfs_an_capture cap = {.label = "x", .source = "x/perf.data"};
	struct pfs_verdicts *vs;
	uint32_t ev = pfs_profile_add_event(p, "cpu-clock", true);
	/* the eval loop with no Python frame named on the stack: the interpreter's own time (under
	 * a named Python frame it would be that function's, docs/categories.md) */
	uint32_t loop = PATH(p, "Py_RunMain@" LP, "_PyEval_EvalFrameDefault@" LP);
	size_t offcpu = 0;
	pfs_profile_event(p, ev)->clock = PFS_CLOCK_NS;
	pfs_analysis_finish(a, &cap);
	vs = pfs_verdicts_new(a);
	T_EQ(vs->n_groups, 0);
	T_EQ(vs->n, 0);
	pfs_verdicts_free(vs);
	pfs_analysis_free(a);
	/* a busy process sampled 400 times over 2 s, no switches */
	a = pfs_analysis_new(p);
	pfs_analysis_dso(a, LP);
	for (uint64_t i = 0; i < 400; i++) {
		struct pfs_sample_row r = {.event = ev,
					   .pid = 5,
					   .tid = 5,
					   .cpu = 0,
					   .time = MS(1000) + i * MS(5),
					   .path = loop,
					   .period = MS(5),
					   .weight = 1};
		T_EQ(pfs_analysis_sample(a, &r, NULL), 0);
	}
	pfs_analysis_finish(a, &cap);
	vs = pfs_verdicts_new(a);
	T_EQ(vs->n_groups, 1);
	for (size_t i = 0; i < vs->n; i++)
		T_ASSERT(strcmp(vs->v[i].id, "io-bound") && strcmp(vs->v[i].id, "idle") &&
			 strcmp(vs->v[i].id, "oversubscribed") &&
			 strcmp(vs->v[i].id, "gil-bound-threads"));
	for (size_t i = 0; i < vs->n_skip; i++)
		if (vs->skip[i].enable && strstr(vs->skip[i].enable, "sched_switch"))
			offcpu++;
	T_EQ(offcpu, 4);
	/* all on CPU by its samples: CPU-bound, and all eval loop: interpreter overhead */
	T_EQ(vs->n, 2);
	T_STREQ(vs->v[0].id, "cpu-bound");
	T_STREQ(vs->v[1].id, "interpreter-overhead");
	pfs_verdicts_free(vs);
	pfs_analysis_free(a);
	pfs_profile_free(p);
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
	    T_CASE(segments_add_up),
	    T_CASE(bounded_lost_and_unknown),
	    T_CASE(classification),
	    T_CASE(worker_class_and_slow_paths),
	    T_CASE(verdicts_need_their_events),
	};
	return t_main(argc, argv, "offcpu", cases, N(cases));
}
