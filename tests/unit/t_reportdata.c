/*
 * reportdata on synthetic profiles: the document is read back with yajl's tree parser and
 * checked against the agg it came from.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <yajl/yajl_tree.h>

#include "harness.h"
#include "reportdata.h"
#include "xalloc.h"

#define LIBPY "/opt/py/lib/libpython3.12.so.1.0"
#define HOSTILE "</script><img src=x onerror=alert(1)> \"q\" 'a' & \xe2\x80\xa8 end"

enum { PYTHON, LIBRARY, INTERP, GC, GIL, KERNEL, NATIVE, OTHER };

/* A path from frames given root first as "name@dso" (dso "" for none, "K" kernel). */
static uint32_t mkpath(struct pfs_profile *p, const char *const *fr, size_t n)
{
	uint32_t path = 0;
	for (size_t i = 0; i < n; i++) {
		struct pfs_frame f = {0};
		const char *at = strrchr(fr[i], '@');
		size_t nl = at ? (size_t)(at - fr[i]) : strlen(fr[i]);
		f.name = pfs_profile_str(p, fr[i], nl);
		f.kind = PFS_FK_NATIVE;
		if (!strncmp(fr[i], "py::", 4))
			f.kind = PFS_FK_PYTHON;
		if (at && !strcmp(at + 1, "K"))
			f.kind = PFS_FK_KERNEL;
		else if (at && at[1])
			f.dso = pfs_profile_cstr(p, at + 1);
		path = pfs_profile_path(p, path, pfs_profile_frame(p, &f));
	}
	return path;
}

static const char *const gc_stack[] = {
    "_start@/opt/py/bin/python3.12",   "Py_RunMain@" LIBPY,
    "_PyEval_EvalFrameDefault@" LIBPY, "py::main:/srv/app/app.py@",
    "py::build:/srv/app/app.py@",      "gc_collect_main@" LIBPY,
    "visit_reachable@" LIBPY,
};
static const char *const lib_stack[] = {
    "_start@/opt/py/bin/python3.12",
    "py::main:/srv/app/app.py@",
    "py::dumps:/usr/lib/python3.12/json/__init__.py@",
    "_PyEval_EvalFrameDefault@" LIBPY,
};
static const char *const gil_stack[] = {
    "py::worker:/srv/app/app.py@",
    "_PyEval_EvalFrameDefault@" LIBPY,
    "take_gil@" LIBPY,
    "pthread_cond_timedwait@/usr/lib/libc.so.6",
    "futex_wait@K",
};
static const char *const native_stack[] = {"main@/srv/app/cycles", "spin@/srv/app/cycles"};
static const char *const hostile_stack[] = {"py::main:/srv/app/app.py@",
					    "py::" HOSTILE ":/srv/app/x.py@", HOSTILE "@/lib/h.so"};

struct fixture {
	struct pfs_profile *p;
	struct pfs_agg *a;
	struct pfs_views *v;
	struct pfs_reportdata_tl *tl;
	uint32_t ev, tp;
};

static void feed(struct fixture *f, uint32_t ev, uint32_t pid, uint32_t tid, uint32_t path,
		 uint64_t time)
{
	struct pfs_sample_row r = {.event = ev,
				   .pid = pid,
				   .tid = tid,
				   .path = path,
				   .time = time,
				   .period = 1000000,
				   .weight = 1};
	pfs_agg_add(f->a, &r);
	pfs_reportdata_tl_add(f->tl, &r);
}

/* Two processes, three threads, stacks of every kind; n samples per (thread, stack). */
static void fixture_init(struct fixture *f, unsigned n)
{
	uint32_t paths[5];
	uint64_t t = 1000000000ull;
	f->p = pfs_profile_new();
	f->a = pfs_agg_new();
	f->ev = pfs_profile_add_event(f->p, "cpu-clock", true);
	pfs_profile_event(f->p, f->ev)->clock = PFS_CLOCK_NS;
	f->tp = pfs_profile_add_event(f->p, "sched:sched_switch", false);
	paths[0] = mkpath(f->p, gc_stack, sizeof(gc_stack) / sizeof(gc_stack[0]));
	paths[1] = mkpath(f->p, lib_stack, sizeof(lib_stack) / sizeof(lib_stack[0]));
	paths[2] = mkpath(f->p, gil_stack, sizeof(gil_stack) / sizeof(gil_stack[0]));
	paths[3] = mkpath(f->p, native_stack, 2);
	paths[4] = mkpath(f->p, hostile_stack, 3);
	pfs_profile_thread(f->p, 10, 10)->comm = pfs_profile_cstr(f->p, "gunicorn");
	pfs_profile_thread(f->p, 10, 11)->comm = pfs_profile_cstr(f->p, HOSTILE);
	pfs_profile_thread(f->p, 20, 20)->comm = pfs_profile_cstr(f->p, "cycles");
	f->v = pfs_views_new(f->p, NULL);
	f->tl = pfs_reportdata_tl_new(f->p, f->v, -1);
	for (unsigned i = 0; i < n; i++) {
		feed(f, f->ev, 10, 10, paths[0], t += 1000000);
		feed(f, f->ev, 10, 10, paths[1], t += 1000000);
		feed(f, f->ev, 10, 11, paths[2], t += 1000000);
		feed(f, f->ev, 10, 11, paths[4], t += 1000000);
		feed(f, f->ev, 20, 20, paths[3], t += 1000000);
	}
	/* a tracepoint sample: not in the trees */
	feed(f, f->tp, 10, 11, paths[2], t += 1000000);
}

static void fixture_release(struct fixture *f)
{
	pfs_reportdata_tl_free(f->tl);
	pfs_views_free(f->v);
	pfs_agg_free(f->a);
	pfs_profile_free(f->p);
}

/* Writes the document and parses it back; *text_out (may be NULL) gets the text. */
static yajl_val write_doc(const struct pfs_reportdata_input *in,
			  const struct pfs_reportdata_opts *o, char **text_out)
{
	char *buf = NULL, ebuf[256];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct pfs_err err;
	yajl_val doc;
	T_EQ(pfs_reportdata_write(in, o, f, &err), 0);
	fclose(f);
	doc = yajl_tree_parse(buf, ebuf, sizeof(ebuf));
	if (!doc)
		t_fail(__FILE__, __LINE__, "not JSON: %s", ebuf);
	if (text_out)
		*text_out = buf;
	else
		free(buf);
	return doc;
}

static yajl_val get(yajl_val v, const char *key)
{
	const char *path[] = {key, NULL};
	return yajl_tree_get(v, path, yajl_t_any);
}

static size_t alen(yajl_val v)
{
	T_ASSERT(YAJL_IS_ARRAY(v));
	return v->u.array.len;
}

static yajl_val at(yajl_val v, size_t i)
{
	T_ASSERT(i < alen(v));
	return v->u.array.values[i];
}

/* The string of v, which must be one. */
static const char *sval(yajl_val v)
{
	if (!YAJL_IS_STRING(v))
		t_fail(__FILE__, __LINE__, "not a string");
	return v->u.string;
}

static long long num(yajl_val v)
{
	T_ASSERT(YAJL_IS_INTEGER(v));
	return YAJL_GET_INTEGER(v);
}

static uint64_t agg_thread_total(const struct pfs_agg *a, uint32_t ev, uint32_t pid, uint32_t tid)
{
	uint64_t s = 0;
	for (size_t i = 0; i < pfs_agg_n(a); i++) {
		const struct pfs_agg_cell *c = pfs_agg_cell(a, i);
		if (c->event == ev && c->pid == pid && c->tid == tid)
			s += c->count;
	}
	return s;
}

/*
 * Checks the shape of one TREE: columns of one length, parents first, totals add up.
 * Returns the number of nodes; *others gets the count of [other] nodes.
 */
static size_t check_tree(yajl_val tree, yajl_val strings, size_t *others)
{
	yajl_val par = get(tree, "parent"), name = get(tree, "name"), kind = get(tree, "kind");
	yajl_val self = get(tree, "self"), total = get(tree, "total");
	size_t n = alen(par);
	long long *sum = calloc(n, sizeof(*sum));
	T_EQ(alen(name), n);
	T_EQ(alen(kind), n);
	T_EQ(alen(self), n);
	T_EQ(alen(total), n);
	T_EQ(num(at(par, 0)), -1);
	T_STREQ(sval(at(strings, (size_t)num(at(name, 0)))), "all");
	*others = 0;
	for (size_t i = 1; i < n; i++) {
		long long pi = num(at(par, i));
		T_ASSERT(pi >= 0 && pi < (long long)i);
		sum[pi] += num(at(total, i));
		T_ASSERT(num(at(kind, i)) >= 0 && num(at(kind, i)) <= OTHER);
		T_ASSERT((size_t)num(at(name, i)) < alen(strings));
		if (!strcmp(sval(at(strings, (size_t)num(at(name, i)))), "[other]")) {
			(*others)++;
			T_EQ(num(at(kind, i)), OTHER);
			T_EQ(num(at(self, i)), num(at(total, i)));
		}
	}
	for (size_t i = 0; i < n; i++)
		T_EQ(num(at(total, i)), num(at(self, i)) + sum[i]);
	free(sum);
	return n;
}

/* Every thread's tree in every view has the agg's total; returns all nodes, counts [other]s. */
static size_t check_all_trees(yajl_val doc, const struct fixture *f, size_t *others)
{
	yajl_val procs = get(doc, "processes"), strings = get(doc, "strings");
	size_t nodes = 0, threads = 0;
	*others = 0;
	for (size_t i = 0; i < alen(procs); i++) {
		yajl_val pr = at(procs, i), ths = get(pr, "threads");
		uint64_t psum = 0;
		for (size_t j = 0; j < alen(ths); j++) {
			yajl_val th = at(ths, j), trees = get(th, "trees");
			uint64_t want = agg_thread_total(f->a, f->ev, (uint32_t)num(get(pr, "pid")),
							 (uint32_t)num(get(th, "tid")));
			static const char *const views[] = {"python", "mixed", "native"};
			T_EQ(num(get(th, "samples")), want);
			psum += want;
			for (int v = 0; v < 3; v++) {
				size_t o;
				yajl_val tree = get(trees, views[v]);
				nodes += check_tree(tree, strings, &o);
				*others += o;
				T_EQ(num(at(get(tree, "total"), 0)), want);
			}
			threads++;
		}
		T_EQ(num(get(pr, "samples")), psum);
	}
	T_EQ(threads, 3);
	return nodes;
}

static struct pfs_reportdata_input input_of(struct fixture *f)
{
	struct pfs_reportdata_input in = {
	    .profile = f->p, .agg = f->a, .views = f->v, .timeline = f->tl};
	pfs_reportdata_meta_init(&in.meta);
	return in;
}

static void test_trees_match_agg(void)
{
	struct fixture f;
	struct pfs_reportdata_input in;
	yajl_val doc;
	size_t others;
	fixture_init(&f, 50);
	in = input_of(&f);
	in.meta.title = "t";
	doc = write_doc(&in, NULL, NULL);
	T_EQ(num(get(doc, "version")), 1);
	T_EQ(alen(get(doc, "kinds")), 8);
	T_STREQ(sval(at(get(doc, "kinds"), GIL)), "gil");
	T_EQ(alen(get(doc, "processes")), 2);
	check_all_trees(doc, &f, &others);
	T_EQ(others, 0);
	T_EQ(num(get(get(doc, "meta"), "samples")), 250);
	T_STREQ(sval(get(get(doc, "meta"), "unit")), "samples");
	/* cpu-clock's period is 1 ms: seconds per sample */
	T_ASSERT(fabs(YAJL_GET_DOUBLE(get(get(doc, "meta"), "unit_s")) - 0.001) < 1e-12);
	T_EQ(alen(get(get(doc, "meta"), "events")), 2);
	yajl_tree_free(doc);
	fixture_release(&f);
}

/* The kind of the node of name under the mixed tree of pid/tid, -1 if absent. */
static long long kind_of(yajl_val doc, uint32_t tid, const char *view, const char *name)
{
	yajl_val procs = get(doc, "processes"), strings = get(doc, "strings");
	for (size_t i = 0; i < alen(procs); i++) {
		yajl_val ths = get(at(procs, i), "threads");
		for (size_t j = 0; j < alen(ths); j++) {
			yajl_val tree;
			if (num(get(at(ths, j), "tid")) != tid)
				continue;
			tree = get(get(at(ths, j), "trees"), view);
			for (size_t k = 0; k < alen(get(tree, "name")); k++) {
				size_t s = (size_t)num(at(get(tree, "name"), k));
				if (!strcmp(sval(at(strings, s)), name))
					return num(at(get(tree, "kind"), k));
			}
		}
	}
	return -1;
}

static long long cat_of(yajl_val doc, uint32_t tid, const char *cat)
{
	yajl_val procs = get(doc, "processes");
	for (size_t i = 0; i < alen(procs); i++) {
		yajl_val ths = get(at(procs, i), "threads");
		for (size_t j = 0; j < alen(ths); j++)
			if (num(get(at(ths, j), "tid")) == tid)
				return num(get(get(at(ths, j), "categories"), cat));
	}
	return -1;
}

static void test_kinds_and_categories(void)
{
	struct fixture f;
	struct pfs_reportdata_input in;
	yajl_val doc;
	fixture_init(&f, 3);
	in = input_of(&f);
	doc = write_doc(&in, NULL, NULL);
	T_EQ(kind_of(doc, 10, "mixed", "main (/srv/app/app.py)"), PYTHON);
	T_EQ(kind_of(doc, 10, "mixed", "dumps (/usr/lib/python3.12/json/__init__.py)"), LIBRARY);
	T_EQ(kind_of(doc, 10, "mixed", "gc_collect_main"), GC);
	/* the collector's helpers are GC work */
	T_EQ(kind_of(doc, 10, "mixed", "visit_reachable"), GC);
	T_EQ(kind_of(doc, 10, "native", "_PyEval_EvalFrameDefault"), INTERP);
	T_EQ(kind_of(doc, 10, "python", "[gc]"), GC);
	T_EQ(kind_of(doc, 11, "mixed", "take_gil"), GIL);
	T_EQ(kind_of(doc, 11, "mixed", "futex_wait"), KERNEL);
	T_EQ(kind_of(doc, 11, "python", "[gil wait]"), GIL);
	T_EQ(kind_of(doc, 20, "native", "spin"), NATIVE);
	T_EQ(cat_of(doc, 10, "gc"), 3);
	T_EQ(cat_of(doc, 10, "library") + cat_of(doc, 10, "interp"), 3);
	T_EQ(cat_of(doc, 11, "gil"), 3);
	T_EQ(cat_of(doc, 20, "native"), 3);
	yajl_tree_free(doc);
	fixture_release(&f);
}

/* Many light leaves: merged into [other] nodes, totals unchanged, the node budget held. */
static void test_other_keeps_totals(void)
{
	struct fixture f;
	struct pfs_reportdata_input in;
	struct pfs_reportdata_opts o = {.event = -1, .minwidth = 0.01};
	yajl_val doc;
	size_t others, nodes;
	char name[32];
	fixture_init(&f, 100);
	for (unsigned i = 0; i < 400; i++) {
		const char *fr[] = {"main@/srv/app/cycles", name};
		snprintf(name, sizeof(name), "leaf%u@/srv/app/cycles", i);
		feed(&f, f.ev, 20, 20, mkpath(f.p, fr, 2), 5000000000ull + i);
	}
	in = input_of(&f);
	doc = write_doc(&in, &o, NULL);
	nodes = check_all_trees(doc, &f, &others);
	T_ASSERT(others > 0);
	T_ASSERT(nodes < 200);
	yajl_tree_free(doc);
	o.minwidth = 1e-9;
	o.max_nodes = 60;
	doc = write_doc(&in, &o, NULL);
	nodes = check_all_trees(doc, &f, &others);
	T_ASSERT(others > 0);
	T_ASSERT(nodes <= 60);
	{
		yajl_val w = get(doc, "warnings");
		bool merged = false;
		for (size_t i = 0; i < alen(w); i++)
			merged |= !strcmp(sval(get(at(w, i), "code")), "merged-frames");
		T_ASSERT(merged);
	}
	yajl_tree_free(doc);
	fixture_release(&f);
}

static void test_hostile_names_stay_text(void)
{
	struct fixture f;
	struct pfs_reportdata_input in;
	struct pfs_diag d;
	yajl_val doc, strings;
	char *text;
	bool fn = false, comm = false;
	fixture_init(&f, 2);
	pfs_diag_init(&d);
	pfs_diag_add(&d, PFS_ERROR, "hostile-code", PFS_NO_OFF, "%s", HOSTILE);
	in = input_of(&f);
	in.diag = &d;
	in.meta.title = HOSTILE;
	in.meta.command = HOSTILE;
	doc = write_doc(&in, NULL, &text);
	T_ASSERT(!strchr(text, '<'));
	T_ASSERT(!strchr(text, '>'));
	T_ASSERT(!strchr(text, '&'));
	T_ASSERT(!strstr(text, "\xe2\x80\xa8"));
	T_STREQ(sval(get(get(doc, "meta"), "title")), HOSTILE);
	T_STREQ(sval(get(at(get(doc, "warnings"), 0), "message")), HOSTILE);
	T_STREQ(sval(get(at(get(doc, "warnings"), 0), "severity")), "error");
	strings = get(doc, "strings");
	for (size_t i = 0; i < alen(strings); i++) {
		fn |= !strcmp(sval(at(strings, i)), HOSTILE " (/srv/app/x.py)");
		fn |= !strcmp(sval(at(strings, i)), HOSTILE);
	}
	T_ASSERT(fn);
	{
		yajl_val ths = get(at(get(doc, "processes"), 0), "threads");
		for (size_t j = 0; j < alen(ths); j++)
			comm |= !strcmp(sval(get(at(ths, j), "comm")), HOSTILE);
	}
	T_ASSERT(comm);
	free(text);
	yajl_tree_free(doc);
	/* a NUL inside a name stays in the string, escaped */
	{
		struct pfs_frame fr = {.name = pfs_profile_str(f.p, "a\0b", 3),
				       .kind = PFS_FK_NATIVE};
		uint32_t path = pfs_profile_path(f.p, 0, pfs_profile_frame(f.p, &fr));
		feed(&f, f.ev, 20, 20, path, 9000000000ull);
		doc = write_doc(&in, NULL, &text);
		T_ASSERT(strstr(text, "\"a\\u0000b\""));
		free(text);
	}
	yajl_tree_free(doc);
	pfs_diag_release(&d);
	fixture_release(&f);
}

static void test_timeline_buckets(void)
{
	struct fixture f;
	struct pfs_reportdata_input in;
	yajl_val doc, tl, th;
	double bucket, sum = 0;
	const char *fr[] = {"main@/srv/app/cycles"};
	uint32_t path;
	fixture_init(&f, 1);
	path = mkpath(f.p, fr, 1);
	/* 20 s of one thread at 1 kHz, then a row from before the first one */
	for (uint64_t i = 0; i < 20000; i++)
		feed(&f, f.ev, 30, 30, path, 2000000000ull + i * 1000000);
	feed(&f, f.ev, 30, 30, path, 500000000ull);
	in = input_of(&f);
	doc = write_doc(&in, NULL, NULL);
	tl = get(doc, "timeline");
	bucket = YAJL_GET_DOUBLE(get(tl, "bucket_s"));
	T_ASSERT(bucket >= 20.0 / 512);
	T_ASSERT(fabs(bucket - pfs_reportdata_tl_bucket_s(f.tl)) < 1e-12);
	/* processes 10 and 20 weigh 5 of 20006 samples: one small-processes entry, no row */
	T_EQ(alen(get(doc, "processes")), 2);
	T_EQ(num(get(at(get(doc, "processes"), 1), "pid")), -1);
	T_STREQ(sval(get(at(get(doc, "processes"), 1), "comm")), "[2 small processes]");
	T_EQ(num(get(at(get(doc, "processes"), 1), "samples")), 5);
	T_EQ(num(get(at(get(at(get(doc, "processes"), 1), "threads"), 0), "tid")), -1);
	T_EQ(alen(get(tl, "threads")), 1);
	th = at(get(tl, "threads"), 0);
	T_EQ(num(get(th, "tid")), 30);
	T_ASSERT(alen(get(th, "on_cpu")) <= 512);
	T_EQ(alen(get(th, "gc")), alen(get(th, "on_cpu")));
	for (size_t i = 0; i < alen(get(th, "on_cpu")); i++) {
		yajl_val x = at(get(th, "on_cpu"), i);
		double v = YAJL_IS_INTEGER(x) ? (double)YAJL_GET_INTEGER(x) : YAJL_GET_DOUBLE(x);
		T_ASSERT(v >= 0 && v <= 1);
		sum += v * bucket;
	}
	/* 20001 samples of 1 ms: the on-CPU time is there, give or take bucket rounding */
	T_ASSERT(fabs(sum - 20.001) < 0.1);
	yajl_tree_free(doc);
	fixture_release(&f);
}

/* A GIL wait the analysis counted (its sink's wait callback) is drawn where it was: off-CPU
 * time the samples cannot see. The timeline makes no waits of its own. */
static void test_timeline_gil_wait(void)
{
	struct fixture f;
	struct pfs_reportdata_input in;
	yajl_val doc, tl, g = NULL;
	double bucket, waited = 0;
	uint32_t pgil = 0;
	fixture_init(&f, 1);
	pgil = mkpath(f.p, gil_stack, sizeof(gil_stack) / sizeof(gil_stack[0]));
	feed(&f, f.tp, 10, 12, pgil, 3000000000ull);
	feed(&f, f.ev, 10, 12, pgil, 3012000000ull);
	{
		struct pfs_an_wait w = {
		    .pid = 10, .tid = 12, .start = 3000000000ull, .dur = 12000000};
		T_EQ(pfs_reportdata_tl_wait(f.tl, &w), 0);
	}
	in = input_of(&f);
	doc = write_doc(&in, NULL, NULL);
	tl = get(doc, "timeline");
	bucket = YAJL_GET_DOUBLE(get(tl, "bucket_s"));
	for (size_t i = 0; i < alen(get(tl, "threads")); i++)
		if (num(get(at(get(tl, "threads"), i), "tid")) == 12)
			g = get(at(get(tl, "threads"), i), "gil_wait");
	T_ASSERT(g);
	for (size_t i = 0; i < alen(g); i++)
		waited += (YAJL_IS_INTEGER(at(g, i)) ? (double)YAJL_GET_INTEGER(at(g, i))
						     : YAJL_GET_DOUBLE(at(g, i))) *
			  bucket;
	/* the 12 ms wait (its last bucket also holds on-CPU GIL samples: 1 ms each) */
	T_ASSERT(waited >= 0.012 - 1e-6 && waited < 0.012 + 0.006);
	yajl_tree_free(doc);
	fixture_release(&f);
}

/* Times from a hostile capture (0, the far end of the clock) bend the buckets, never memory. */
static void test_timeline_extreme_times(void)
{
	struct fixture f = {0};
	struct pfs_reportdata_input in;
	yajl_val doc;
	uint32_t pgil;
	f.p = pfs_profile_new();
	f.a = pfs_agg_new();
	f.ev = pfs_profile_add_event(f.p, "cpu-clock", true);
	pfs_profile_event(f.p, f.ev)->clock = PFS_CLOCK_NS;
	f.tp = pfs_profile_add_event(f.p, "sched:sched_switch", false);
	pgil = mkpath(f.p, gil_stack, sizeof(gil_stack) / sizeof(gil_stack[0]));
	f.v = pfs_views_new(f.p, NULL);
	f.tl = pfs_reportdata_tl_new(f.p, f.v, -1);
	/* the first row at the end of the clock, then the start of it */
	feed(&f, f.ev, 10, 12, pgil, UINT64_MAX);
	feed(&f, f.tp, 10, 12, pgil, 1);
	feed(&f, f.ev, 10, 12, pgil, UINT64_MAX - 1);
	feed(&f, f.tp, 10, 12, pgil, UINT64_MAX - 1);
	feed(&f, f.ev, 10, 12, pgil, UINT64_MAX);
	feed(&f, f.ev, 10, 12, pgil, 2);
	in = input_of(&f);
	doc = write_doc(&in, NULL, NULL);
	T_ASSERT(alen(get(at(get(get(doc, "timeline"), "threads"), 0), "on_cpu")) <= 512);
	yajl_tree_free(doc);
	fixture_release(&f);
}

static void test_pyinstrument_sessions(void)
{
	struct pfs_profile *p = pfs_profile_new();
	struct pfs_agg *a = pfs_agg_new();
	struct pfs_pyprof_opts po = {.merge = true};
	struct pfs_pyprof_meta m = {0};
	struct pfs_diag d;
	struct pfs_err err;
	struct pfs_views *v;
	struct pfs_reportdata_input in = {0};
	yajl_val doc, sess;
	pfs_diag_init(&d);
	T_EQ(pfs_pyprof_load(t_fixture("pyinstrument/per-request"), &po, p, pfs_agg_add, a, &m, &d,
			     &err),
	     0);
	v = pfs_views_new(p, NULL);
	in.profile = p;
	in.agg = a;
	in.views = v;
	in.pyprof = &m;
	pfs_reportdata_meta_init(&in.meta);
	doc = write_doc(&in, NULL, NULL);
	T_STREQ(sval(get(get(doc, "meta"), "unit")), "ns");
	sess = get(get(doc, "pyinstrument"), "sessions");
	T_EQ(alen(sess), m.n_caps);
	for (size_t i = 0; i < m.n_caps; i++) {
		yajl_val tree = get(at(sess, i), "tree");
		yajl_val total = get(tree, "total");
		double t0 = YAJL_IS_INTEGER(at(total, 0)) ? (double)num(at(total, 0))
							  : YAJL_GET_DOUBLE(at(total, 0));
		T_ASSERT(fabs(t0 - m.caps[i].weight) < 1e-6);
		T_EQ(alen(get(tree, "file")), alen(get(tree, "parent")));
		T_EQ(alen(get(tree, "line")), alen(get(tree, "parent")));
		for (size_t k = 1; k < alen(get(tree, "parent")); k++)
			T_ASSERT(num(at(get(tree, "parent"), k)) < (long long)k);
	}
	/* a profiler's stacks are Python time, of the leaf function's origin */
	{
		yajl_val cats = get(at(get(doc, "processes"), 0), "categories");
		T_EQ(num(get(cats, "interp")), 0);
		T_ASSERT(num(get(cats, "python")) > 0);
		T_ASSERT(!get(at(get(doc, "processes"), 0), "cpu_s"));
	}
	/* one thread per request, trees in ns adding up to the loaded wall time */
	{
		yajl_val ths = get(at(get(doc, "processes"), 0), "threads");
		double ns = 0;
		T_EQ(alen(ths), m.n_caps);
		for (size_t j = 0; j < alen(ths); j++)
			ns += (double)num(
			    at(get(get(get(at(ths, j), "trees"), "mixed"), "total"), 0));
		T_ASSERT(fabs(ns / 1e9 - m.weight) < 1e-6 * (double)m.n_caps);
	}
	yajl_tree_free(doc);
	pfs_views_free(v);
	pfs_pyprof_meta_release(&m);
	pfs_diag_release(&d);
	pfs_agg_free(a);
	pfs_profile_free(p);
}

/*
 * The size bound: a 1M-sample capture of 32 threads with 20k distinct deep stacks stays far
 * below the 5 MB a report may weigh, with every total kept.
 */
static void test_million_samples_fit(void)
{
	struct fixture f = {0};
	struct pfs_reportdata_input in;
	uint32_t *pool = pfs_xmalloc(20000 * sizeof(*pool));
	uint64_t x = 88172645463325252ull, t = 1000000000ull;
	char *text;
	yajl_val doc;
	size_t others, len;
	f.p = pfs_profile_new();
	f.a = pfs_agg_new();
	f.ev = pfs_profile_add_event(f.p, "cpu-clock", true);
	pfs_profile_event(f.p, f.ev)->clock = PFS_CLOCK_NS;
	for (size_t i = 0; i < 20000; i++) {
		uint32_t path = mkpath(f.p, gc_stack, 3);
		unsigned depth;
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		depth = 8 + (unsigned)(x % 40);
		for (unsigned d = 0; d < depth; d++) {
			struct pfs_frame fr = {.kind = PFS_FK_PYTHON};
			char name[64];
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			/* a few hot functions near the root, a long tail at the leaves */
			snprintf(name, sizeof(name), "py::fn%u:/srv/app/m%u.py",
				 (unsigned)(x % (d < 4 ? 4 : 3000)), d % 7);
			fr.name = pfs_profile_cstr(f.p, name);
			path = pfs_profile_path(f.p, path, pfs_profile_frame(f.p, &fr));
		}
		pool[i] = path;
	}
	f.v = pfs_views_new(f.p, NULL);
	f.tl = pfs_reportdata_tl_new(f.p, f.v, -1);
	for (size_t i = 0; i < 1000000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		feed(&f, f.ev, 100 + (uint32_t)(i % 4), 1000 + (uint32_t)(i % 32),
		     pool[(x % 20000) * (x % 20000) / 20000], t += 250000);
	}
	in = input_of(&f);
	doc = write_doc(&in, NULL, &text);
	len = strlen(text);
	T_ASSERT(len < 5 * 1000 * 1000);
	T_EQ(num(get(get(doc, "meta"), "samples")), 1000000);
	{
		yajl_val procs = get(doc, "processes");
		uint64_t sum = 0;
		for (size_t i = 0; i < alen(procs); i++) {
			yajl_val ths = get(at(procs, i), "threads");
			for (size_t j = 0; j < alen(ths); j++) {
				yajl_val tree = get(get(at(ths, j), "trees"), "mixed");
				check_tree(tree, get(doc, "strings"), &others);
				sum += (uint64_t)num(at(get(tree, "total"), 0));
			}
		}
		T_EQ(sum, 1000000);
	}
	free(text);
	free(pool);
	yajl_tree_free(doc);
	fixture_release(&f);
}

/* Feeds one row to the agg, the timeline and the analysis, as ingest's tee would. */
static void feed_all(struct fixture *f, struct pfs_analysis *a, uint32_t ev, uint32_t pid,
		     uint32_t tid, uint32_t path, uint64_t time)
{
	struct pfs_sample_row r = {.event = ev,
				   .pid = pid,
				   .tid = tid,
				   .path = path,
				   .time = time,
				   .period = 1000000,
				   .weight = 1};
	pfs_agg_add(f->a, &r);
	pfs_reportdata_tl_add(f->tl, &r);
	T_EQ(pfs_analysis_sample(a, &r, NULL), 0);
}

/* GC pauses measured by probes: per-process figures, the pause list with its Python stack, and
 * the pauses' time in the timeline. */
static void test_analysis_figures(void)
{
	struct fixture f = {0};
	struct pfs_reportdata_input in;
	struct pfs_analysis *an;
	uint32_t gc, gc_ret, gil, gil_ret, pgc, plib, pgil;
	uint64_t t = 1000000000ull;
	yajl_val doc, pr = NULL, pauses, stack, tl;
	f.p = pfs_profile_new();
	f.a = pfs_agg_new();
	f.ev = pfs_profile_add_event(f.p, "cpu-clock", true);
	pfs_profile_event(f.p, f.ev)->clock = PFS_CLOCK_NS;
	gc = pfs_profile_add_event(f.p, "probe_libpython3:gc_collect_main", false);
	gc_ret = pfs_profile_add_event(f.p, "probe_libpython3:gc_collect_main__return", false);
	gil = pfs_profile_add_event(f.p, "probe_libpython3:take_gil", false);
	gil_ret = pfs_profile_add_event(f.p, "probe_libpython3:take_gil__return", false);
	pgc = mkpath(f.p, gc_stack, sizeof(gc_stack) / sizeof(gc_stack[0]));
	plib = mkpath(f.p, lib_stack, sizeof(lib_stack) / sizeof(lib_stack[0]));
	pgil = mkpath(f.p, gil_stack, sizeof(gil_stack) / sizeof(gil_stack[0]));
	pfs_profile_thread(f.p, 100, 100)->comm = pfs_profile_cstr(f.p, "gunicorn");
	f.v = pfs_views_new(f.p, NULL);
	f.tl = pfs_reportdata_tl_new(f.p, f.v, -1);
	an = pfs_analysis_new(f.p);
	for (int i = 0; i < 20; i++) {
		feed_all(&f, an, f.ev, 100, 100, plib, t += 1000000);
		feed_all(&f, an, f.ev, 100, 101, plib, t += 1000000);
	}
	/* two pauses of 5 and 8 ms on the main thread, a 2 ms GIL wait on the other */
	feed_all(&f, an, gc, 100, 100, pgc, t += 1000000);
	feed_all(&f, an, f.ev, 100, 100, pgc, t += 1000000);
	feed_all(&f, an, gc_ret, 100, 100, plib, t += 4000000);
	feed_all(&f, an, gc, 100, 100, pgc, t += 1000000);
	feed_all(&f, an, gc_ret, 100, 100, plib, t += 8000000);
	feed_all(&f, an, gil, 100, 101, pgil, t += 1000000);
	feed_all(&f, an, gil_ret, 100, 101, plib, t += 2000000);
	feed_all(&f, an, f.ev, 100, 100, plib, t += 1000000);
	pfs_analysis_finish(an, NULL);
	in = input_of(&f);
	in.analysis = an;
	doc = write_doc(&in, NULL, NULL);
	for (size_t i = 0; i < alen(get(doc, "processes")); i++)
		if (num(get(at(get(doc, "processes"), i), "pid")) == 100)
			pr = at(get(doc, "processes"), i);
	T_ASSERT(pr);
	T_ASSERT(!strcmp(sval(get(pr, "role")), "master") ||
		 !strcmp(sval(get(pr, "role")), "worker") ||
		 !strcmp(sval(get(pr, "role")), "other"));
	T_EQ(num(get(get(pr, "gc"), "pauses")), 2);
	T_ASSERT(fabs(YAJL_GET_DOUBLE(get(get(pr, "gc"), "total_ms")) - 13.0) < 1e-9);
	T_ASSERT(fabs(YAJL_GET_DOUBLE(get(get(pr, "gc"), "longest_ms")) - 8.0) < 1e-9);
	T_EQ(num(get(get(pr, "gil"), "waits")), 1);
	T_ASSERT(fabs(YAJL_GET_DOUBLE(get(get(pr, "gil"), "wait_s")) - 0.002) < 1e-12);
	T_EQ(num(get(get(at(get(pr, "threads"), 0), "gc"), "pauses")), 2);
	/* the probes' wait is listed with the thread and the Python stack that waited */
	T_EQ(alen(get(doc, "gil_waits")), 1);
	T_EQ(num(get(at(get(doc, "gil_waits"), 0), "tid")), 101);
	T_ASSERT(fabs(YAJL_GET_DOUBLE(get(at(get(doc, "gil_waits"), 0), "dur_ms")) - 2.0) < 1e-9);
	T_ASSERT(alen(get(at(get(doc, "gil_waits"), 0), "stack")) > 0);
	pauses = get(doc, "gc_pauses");
	T_EQ(alen(pauses), 2);
	T_EQ(num(get(at(pauses, 0), "tid")), 100);
	/* 40 samples 1 ms apart before it: it starts 40 ms into the capture */
	T_ASSERT(fabs(YAJL_GET_DOUBLE(get(at(pauses, 0), "start_s")) - 0.040) < 1e-9);
	stack = get(at(pauses, 0), "stack");
	T_EQ(alen(stack), 2);
	T_STREQ(sval(at(get(doc, "strings"), (size_t)num(at(stack, 0)))), "main (/srv/app/app.py)");
	T_STREQ(sval(at(get(doc, "strings"), (size_t)num(at(stack, 1)))),
		"build (/srv/app/app.py)");
	/* the 13 ms of pauses are GC time in the main thread's timeline */
	tl = get(doc, "timeline");
	{
		double bucket = YAJL_GET_DOUBLE(get(tl, "bucket_s")), gcs = 0;
		yajl_val g = NULL;
		for (size_t i = 0; i < alen(get(tl, "threads")); i++)
			if (num(get(at(get(tl, "threads"), i), "tid")) == 100)
				g = get(at(get(tl, "threads"), i), "gc");
		T_ASSERT(g);
		for (size_t i = 0; i < alen(g); i++)
			gcs += (YAJL_IS_INTEGER(at(g, i)) ? (double)YAJL_GET_INTEGER(at(g, i))
							  : YAJL_GET_DOUBLE(at(g, i))) *
			       bucket;
		T_ASSERT(fabs(gcs - 0.013) < 0.002);
	}
	yajl_tree_free(doc);
	pfs_analysis_free(an);
	fixture_release(&f);
}

/* The weight of view vw's tree of thread i of process p. */
static long long tree_total(yajl_val p, size_t i, const char *vw)
{
	return num(at(get(get(get(at(get(p, "threads"), i), "trees"), vw), "total"), 0));
}

static void test_small_processes_fold(void)
{
	struct fixture f = {0};
	struct pfs_reportdata_input in;
	yajl_val doc, procs, rest;
	uint64_t t = 1000000000ull;
	uint32_t path;
	f.p = pfs_profile_new();
	f.a = pfs_agg_new();
	f.ev = pfs_profile_add_event(f.p, "cpu-clock", true);
	pfs_profile_event(f.p, f.ev)->clock = PFS_CLOCK_NS;
	path = mkpath(f.p, lib_stack, sizeof(lib_stack) / sizeof(lib_stack[0]));
	f.v = pfs_views_new(f.p, NULL);
	f.tl = pfs_reportdata_tl_new(f.p, f.v, -1);
	for (int i = 0; i < 5000; i++)
		feed(&f, f.ev, 1000, 1000, path, t += 1000000);
	/* one small process alone stays itself */
	feed(&f, f.ev, 3000, 3000, path, t += 1000000);
	in = input_of(&f);
	doc = write_doc(&in, NULL, NULL);
	T_EQ(alen(get(doc, "processes")), 2);
	T_EQ(num(get(at(get(doc, "processes"), 1), "pid")), 3000);
	yajl_tree_free(doc);
	/* 30 more, one with two threads: 31 processes of 32 samples in one entry, at the end */
	for (uint32_t i = 0; i < 30; i++)
		feed(&f, f.ev, 2000 + i, 2000 + i, path, t += 1000000);
	feed(&f, f.ev, 2000, 2100, path, t += 1000000);
	doc = write_doc(&in, NULL, NULL);
	procs = get(doc, "processes");
	T_EQ(alen(procs), 2);
	T_EQ(num(get(at(procs, 0), "pid")), 1000);
	T_EQ(num(get(at(procs, 0), "samples")), 5000);
	rest = at(procs, 1);
	T_EQ(num(get(rest, "pid")), -1);
	T_STREQ(sval(get(rest, "comm")), "[31 small processes]");
	T_STREQ(sval(get(rest, "role")), "other");
	T_EQ(num(get(rest, "samples")), 32);
	T_EQ(alen(get(rest, "threads")), 1);
	T_EQ(num(get(at(get(rest, "threads"), 0), "tid")), -1);
	T_EQ(tree_total(rest, 0, "native"), 32);
	T_EQ(tree_total(rest, 0, "mixed"), 32);
	T_EQ(tree_total(rest, 0, "python"), 32);
	/* no timeline row: the entry is no thread */
	for (size_t i = 0; i < alen(get(get(doc, "timeline"), "threads")); i++)
		T_ASSERT(num(get(at(get(get(doc, "timeline"), "threads"), i), "pid")) == 1000);
	yajl_tree_free(doc);
	fixture_release(&f);
}

static void test_seconds_weight_refused(void)
{
	struct fixture f;
	struct pfs_reportdata_input in;
	struct pfs_reportdata_opts o = {.event = -1, .weight = PFS_FOLD_SECONDS};
	struct pfs_err err;
	fixture_init(&f, 1);
	in = input_of(&f);
	T_EQ(pfs_reportdata_write(&in, &o, stdout, &err), PFS_EUSAGE);
	fixture_release(&f);
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
	    T_CASE(trees_match_agg),	    T_CASE(kinds_and_categories),
	    T_CASE(other_keeps_totals),	    T_CASE(hostile_names_stay_text),
	    T_CASE(timeline_buckets),	    T_CASE(timeline_gil_wait),
	    T_CASE(timeline_extreme_times), T_CASE(pyinstrument_sessions),
	    T_CASE(seconds_weight_refused), T_CASE(million_samples_fit),
	    T_CASE(analysis_figures),	    T_CASE(small_processes_fold),
	};
	return t_main(argc, argv, "reportdata", cases, sizeof(cases) / sizeof(cases[0]));
}
