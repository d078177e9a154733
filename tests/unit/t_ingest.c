/*
 * ingest on the fixtures: what it puts in the profile besides the stacks (events, threads,
 * processes) and that every sample of the chosen event reaches the sink once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "pfs_writer.h"
#include "ingest.h"
#include "profile.h"
#include "xalloc.h"

struct count {
	uint64_t rows, with_comm, events_seen[8];
	struct pfs_profile *p;
};

static int sink(void *payload, const struct pfs_sample_row *row)
{
	struct count *c = payload;
	c->rows++;
	if (row->comm && pfs_profile_strget(c->p, row->comm, NULL)[0])
		c->with_comm++;
	if (row->event < 8)
		c->events_seen[row->event]++;
	T_ASSERT(row->path != 0);
	return 0;
}

static void test_gunicorn_processes(void)
{
	struct pfs_profile *p = pfs_profile_new();
	struct pfs_diag d;
	struct pfs_err err;
	struct count c = {.p = p};
	struct pfs_ingest_opts o = {.first_sampling = true};
	pfs_diag_init(&d);
	T_EQ(pfs_ingest_perf(t_fixture("gunicorn-gthread-pipe/perf.data"), &o, p, sink, &c, &d,
			     &err),
	     0);
	T_ASSERT(c.rows > 0);
	T_EQ(c.with_comm, c.rows);
	/* only the first sampling event is streamed; its count is what the profile says */
	T_EQ(pfs_profile_event(p, 0)->sampling, 1);
	T_EQ(c.events_seen[0], c.rows);
	T_EQ(pfs_profile_event(p, 0)->samples, c.rows);
	/* the workers were forked by the master: each sampled process but one has a sampled parent
	 */
	uint32_t pids[64];
	size_t sampled = 0, with_parent = 0;
	for (size_t j = 0; j < pfs_profile_n_threads(p); j++) {
		struct pfs_thread *t = pfs_profile_thread_at(p, j);
		size_t k = 0;
		while (k < sampled && pids[k] != t->pid)
			k++;
		if (t->samples && k == sampled && sampled < 64)
			pids[sampled++] = t->pid;
	}
	for (size_t i = 0; i < sampled; i++) {
		struct pfs_process *pr = pfs_profile_process(p, pids[i]);
		T_ASSERT(pr->comm != 0);
		for (size_t k = 0; k < sampled; k++)
			if (pr->ppid == pids[k])
				with_parent++;
	}
	T_ASSERT(sampled >= 3);
	T_EQ(with_parent, sampled - 1);
	pfs_diag_release(&d);
	pfs_profile_free(p);
}

static void test_unknown_event_is_usage_error(void)
{
	struct pfs_profile *p = pfs_profile_new();
	struct pfs_diag d;
	struct pfs_err err;
	struct count c = {.p = p};
	struct pfs_ingest_opts o = {.event = "no-such-event"};
	pfs_diag_init(&d);
	T_EQ(pfs_ingest_perf(t_fixture("py312-threads-fp/perf.data"), &o, p, sink, &c, &d, &err),
	     PFS_EUSAGE);
	T_ASSERT(strstr(err.msg, "cpu-clock") != NULL);
	T_EQ(c.rows, 0);
	pfs_diag_release(&d);
	pfs_profile_free(p);
}

static void test_every_event_when_asked(void)
{
	struct pfs_profile *p = pfs_profile_new();
	struct pfs_diag d;
	struct pfs_err err;
	struct count c = {.p = p};
	struct pfs_ingest_opts o = {0};
	pfs_diag_init(&d);
	T_EQ(pfs_ingest_perf(t_fixture("py312-threads-fp/perf.data"), &o, p, sink, &c, &d, &err),
	     0);
	T_EQ(pfs_profile_n_events(p), 2);
	T_ASSERT(c.events_seen[0] > 0 && c.events_seen[1] > 0);
	T_EQ(c.rows, pfs_profile_event(p, 0)->samples + pfs_profile_event(p, 1)->samples);
	T_ASSERT(!pfs_profile_event(p, 1)->sampling);
	T_ASSERT(pfs_diag_count(&d, "fp-chains-broken") > 0);
	pfs_diag_release(&d);
	pfs_profile_free(p);
}

struct paths {
	uint32_t path[8];
	size_t n;
};

static int path_sink(void *payload, const struct pfs_sample_row *row)
{
	struct paths *ps = payload;
	if (ps->n < 8)
		ps->path[ps->n] = row->path;
	ps->n++;
	return 0;
}

/* "leaf;mid;root" of a path, root first as folded stacks print it */
static void path_text(struct pfs_profile *p, uint32_t path, char *buf, size_t len)
{
	char tmp[256];
	buf[0] = 0;
	for (; path; path = pfs_profile_pathget(p, path)->parent) {
		const struct pfs_frame *f =
		    pfs_profile_frameget(p, pfs_profile_pathget(p, path)->frame);
		snprintf(tmp, sizeof(tmp), "%s%s%s", pfs_profile_strget(p, f->name, NULL),
			 buf[0] ? ";" : "", buf);
		snprintf(buf, len, "%s", tmp);
	}
}

/*
 * Frame-pointer stacks of one thread share their root side, which ingest reuses from the
 * thread's previous sample: the reuse must give what a fresh resolve gives, and must stop when
 * the maps under the same addresses change (here a JIT region is replaced by a file mapping).
 */
static void test_fp_stacks_follow_maps(void)
{
	char dir[512], path[600], map[600], a[256], event[] = "cpu-clock";
	struct pfs_attr at = {.type = 1,
			      .size = 128,
			      .sample_type = PFS_S_IP | PFS_S_TID | PFS_S_TIME | PFS_S_CALLCHAIN |
					     PFS_S_PERIOD,
			      .flags = PFS_ATTR_FLAG(PFS_AF_SAMPLE_ID_ALL),
			      .name = event};
	struct pfs_w_opts wo = {0};
	struct pfs_w *w = pfs_w_new(&wo, &at, 1, NULL);
	struct pfs_sample_id sid = {.pid = 42, .tid = 43, .time = 1};
	struct pfs_rec_mmap anon = {
	    .pid = 42, .tid = 42, .start = 0x10000, .len = 0x1000, .prot = 5, .filename = "//anon"};
	struct pfs_rec_mmap file = anon;
	const uint64_t chains[][5] = {
	    {PFS_CONTEXT_USER, 0x10030, 0x10020, 0x10010, 0}, /* root, mid, leaf a */
	    {PFS_CONTEXT_USER, 0x10040, 0x10020, 0x10010, 0}, /* same root side, leaf b */
	    {PFS_CONTEXT_USER, 0x10030, 0x10020, 0x10010, 0}, /* the first again */
	};
	const char *want[] = {"py::root;py::mid;py::a", "py::root;py::mid;py::b",
			      "py::root;py::mid;py::a"};
	snprintf(dir, sizeof(dir), "%s/fpmemo", t_tmpdir());
	snprintf(path, sizeof(path), "%s/perf.data", dir);
	snprintf(map, sizeof(map), "%s/perf-42.map", dir);
	T_EQ(mkdir(dir, 0755) == 0 || errno == EEXIST, 1);
	FILE *f = fopen(map, "w");
	T_ASSERT(f != NULL);
	fputs("10010 10 py::root\n10020 10 py::mid\n10030 10 py::a\n10040 10 py::b\n", f);
	fclose(f);
	file.filename = "/nonexistent/replaced.so";
	pfs_w_mmap2(w, 0, PFS_MISC_USER, &sid, &anon);
	for (size_t i = 0; i < 3; i++) {
		struct pfs_sample s = {
		    .ip = chains[i][1], .period = 1, .callchain = chains[i], .n_callchain = 4};
		sid.time++;
		pfs_w_sample(w, 0, PFS_MISC_USER, &sid, &s);
	}
	sid.time++;
	pfs_w_mmap2(w, 0, PFS_MISC_USER, &sid, &file);
	struct pfs_sample s = {
	    .ip = 0x10030, .period = 1, .callchain = chains[2], .n_callchain = 4};
	sid.time++;
	pfs_w_sample(w, 0, PFS_MISC_USER, &sid, &s);
	T_EQ(pfs_w_finish_file(w, path), 0);

	struct pfs_profile *p = pfs_profile_new();
	struct pfs_diag d;
	struct pfs_err err;
	struct paths ps = {0};
	struct pfs_ingest_opts o = {0};
	pfs_diag_init(&d);
	T_EQ(pfs_ingest_perf(path, &o, p, path_sink, &ps, &d, &err), 0);
	T_EQ(ps.n, 4);
	for (size_t i = 0; i < 3; i++) {
		path_text(p, ps.path[i], a, sizeof(a));
		T_STREQ(a, want[i]);
	}
	T_EQ(ps.path[2], ps.path[0]);
	path_text(p, ps.path[3], a, sizeof(a));
	T_STREQ(a, "[unknown];[unknown];[unknown]");
	pfs_diag_release(&d);
	pfs_profile_free(p);
	unlink(map);
	unlink(path);
	rmdir(dir);
}

struct stacks {
	struct pfs_profile *p;
	size_t rows;
	uint32_t depth[8], leaf[8];
};

static int keep(void *payload, const struct pfs_sample_row *row)
{
	struct stacks *st = payload;
	if (st->rows < 8) {
		st->depth[st->rows] = pfs_profile_pathget(st->p, row->path)->depth;
		st->leaf[st->rows] = pfs_profile_pathget(st->p, row->path)->frame;
	}
	st->rows++;
	return 0;
}

/*
 * --call-graph dwarf samples whose registers were not captured (abi 0), or whose stack dump is
 * empty (size 0, or nothing valid: dyn_size 0), as a process in a syscall or a kernel thread
 * gives: each is counted, keeps its pc as a one-frame stack, and the file reads to the end.
 */
static void test_dwarf_samples_without_regs_or_stack(void)
{
	uint64_t bias = 0x555555554000ull;
	struct pfs_attr at = {0};
	at.type = 1; /* cpu-clock */
	at.size = 136;
	at.sample_period = 4000;
	at.sample_type = PFS_S_IP | PFS_S_TID | PFS_S_TIME | PFS_S_PERIOD | PFS_S_CALLCHAIN |
			 PFS_S_REGS_USER | PFS_S_STACK_USER;
	at.flags = PFS_ATTR_FLAG(PFS_AF_SAMPLE_ID_ALL);
	at.sample_regs_user = 0xff0fff;
	at.sample_stack_user = 4096;
	at.name = (char *)"cpu-clock";
	static uint64_t ids[] = {7};
	at.ids = ids;
	at.n_ids = 1;
	struct pfs_w_opts wo = {0};
	struct pfs_w *w = pfs_w_new(&wo, &at, 1, NULL);
	struct pfs_sample_id sid = {.pid = 42, .tid = 42, .time = 1};
	struct pfs_rec_comm c = {.pid = 42, .tid = 42, .comm = "cycles"};
	pfs_w_comm(w, 0, &sid, &c);
	struct pfs_rec_mmap m = {.pid = 42,
				 .tid = 42,
				 .start = bias + 0x1000,
				 .len = 0x1000,
				 .pgoff = 0x1000,
				 .prot = PROT_READ | PROT_EXEC,
				 .filename = t_fixture("native-pipe-tracepoints/cycles")};
	pfs_w_mmap2(w, 0, PFS_MISC_USER, &sid, &m);
	uint64_t ip = bias + 0x1100, regs[20] = {0};
	regs[7] = 0x7ffc00001000; /* sp: perf register 7 */
	regs[8] = ip;		  /* ip: perf register 8 */
	uint64_t cc[] = {PFS_CONTEXT_USER, ip};
	uint8_t stack[64] = {0};
	struct pfs_sample smp = {.ip = ip, .period = 4000, .callchain = cc, .n_callchain = 2};
	/* no registers */
	sid.time = 2;
	pfs_w_sample(w, 0, PFS_MISC_USER, &sid, &smp);
	/* registers, a stack dump of size 0 */
	smp.regs_user_abi = 2;
	smp.regs_user = regs;
	sid.time = 3;
	pfs_w_sample(w, 0, PFS_MISC_USER, &sid, &smp);
	/* registers, 64 bytes of stack of which none valid */
	smp.stack_user = stack;
	smp.stack_user_size = sizeof(stack);
	sid.time = 4;
	pfs_w_sample(w, 0, PFS_MISC_USER, &sid, &smp);
	char path[512];
	snprintf(path, sizeof(path), "%s/noregs.data", t_tmpdir());
	T_EQ(pfs_w_finish_file(w, path), 0);

	struct pfs_profile *p = pfs_profile_new();
	struct pfs_diag d;
	struct pfs_err err;
	struct stacks st = {.p = p};
	struct pfs_ingest_opts o = {.first_sampling = true};
	pfs_diag_init(&d);
	T_EQ(pfs_ingest_perf(path, &o, p, keep, &st, &d, &err), 0);
	T_EQ(st.rows, 3);
	T_EQ(pfs_diag_count(&d, "regs-missing"), 1);
	T_EQ(pfs_diag_count(&d, "stack-dump-empty"), 2);
	for (size_t i = 0; i < 3; i++) {
		T_EQ(st.depth[i], 1);
		T_EQ(st.leaf[i], st.leaf[0]);
	}
	/* the pc itself still resolves in the program */
	const char *name = pfs_profile_strget(p, pfs_profile_frameget(p, st.leaf[0])->name, NULL);
	T_ASSERT(strcmp(name, "[unknown]") != 0);
	pfs_diag_release(&d);
	pfs_profile_free(p);
}

struct stack_log {
	struct pfs_profile *p;
	struct {
		uint64_t hash; /* FNV-1a of the sample's frame names, leaf first */
		uint32_t depth;
	} * v;
	size_t n, cap;
};

static int log_sink(void *payload, const struct pfs_sample_row *row)
{
	struct stack_log *l = payload;
	uint64_t h = 0xcbf29ce484222325ull;
	uint32_t depth = 0;
	for (uint32_t q = row->path; q; q = pfs_profile_pathget(l->p, q)->parent, depth++) {
		const struct pfs_frame *f =
		    pfs_profile_frameget(l->p, pfs_profile_pathget(l->p, q)->frame);
		for (const char *c = pfs_profile_strget(l->p, f->name, NULL); *c; c++)
			h = (h ^ (uint8_t)*c) * 0x100000001b3ull;
		h = (h ^ ';') * 0x100000001b3ull;
	}
	PFS_GROW(l->v, l->cap, l->n + 1);
	l->v[l->n].hash = h;
	l->v[l->n++].depth = depth;
	return 0;
}

/*
 * DWARF stacks are unwound from a cache of each address's CFI rules, applied as libdwfl
 * applies them: every sample of every DWARF fixture must get the frames libdwfl's own walk
 * gives it, including where a stack runs past its dump. Both walks step through CPython's
 * trampolines and jitdump code by the same rules (libdwfl has none for them): the 3.12
 * captures have trampolines on most stacks, the 3.13 ones on all, perf_jit through its
 * jitdump's CFI.
 */
static void test_dwarf_rule_cache_is_libdwfl(void)
{
	static const struct {
		const char *path;
		size_t min; /* samples, and samples 8 frames deep or more, at least */
	} caps[] = {
	    {"py312-threads-dwarf/perf.data", 100},	{"gunicorn-gthread-pipe/perf.data", 100},
	    {"native-pipe-tracepoints/perf.data", 100}, {"py312-threads-probes/perf.data", 100},
	    {"py313-chain-perf/perf.data", 40},		{"py313-chain-perfjit/perf.data", 40}};
	for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		struct stack_log log[2] = {{0}, {0}};
		for (int libdw = 0; libdw < 2; libdw++) {
			struct pfs_diag d;
			struct pfs_err err;
			struct pfs_ingest_opts o = {.unwind_libdw = libdw, .hooks = NULL};
			log[libdw].p = pfs_profile_new();
			pfs_diag_init(&d);
			T_EQ(pfs_ingest_perf(t_fixture(caps[c].path), &o, log[libdw].p, log_sink,
					     &log[libdw], &d, &err),
			     0);
			pfs_diag_release(&d);
		}
		T_ASSERT(log[0].n > caps[c].min);
		T_EQ(log[0].n, log[1].n);
		size_t same = 0, deep = 0;
		for (size_t i = 0; i < log[0].n && i < log[1].n; i++) {
			same += log[0].v[i].hash == log[1].v[i].hash &&
				log[0].v[i].depth == log[1].v[i].depth;
			deep += log[0].v[i].depth >= 8;
		}
		if (same != log[0].n)
			fprintf(stderr, "%s: %zu of %zu samples differ\n", caps[c].path,
				log[0].n - same, log[0].n);
		T_EQ(same, log[0].n);
		/* the stacks were unwound, not only their leaf */
		T_ASSERT(deep >= caps[c].min);
		for (int k = 0; k < 2; k++) {
			free(log[k].v);
			pfs_profile_free(log[k].p);
		}
	}
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
	    T_CASE(gunicorn_processes),
	    T_CASE(unknown_event_is_usage_error),
	    T_CASE(every_event_when_asked),
	    T_CASE(fp_stacks_follow_maps),
	    T_CASE(dwarf_samples_without_regs_or_stack),
	    T_CASE(dwarf_rule_cache_is_libdwfl),
	};
	return t_main(argc, argv, "ingest", cases, sizeof(cases) / sizeof(cases[0]));
}
