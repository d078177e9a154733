#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agg.h"
#include "analysis.h"
#include "callgrind.h"
#include "harness.h"
#include "pstats.h"
#include "profile.h"
#include "store.h"

/* A synthetic capture: a few processes and threads, a call tree of fan-out 3 and depth 4, and
 * samples spread over (thread, leaf) pairs by a fixed rule so the test can recount them. */
struct synth {
	struct pfs_profile *p;
	uint32_t leaves[81];
	size_t n_leaves;
	uint64_t count[4][81];	 /* per thread index, per leaf */
	uint64_t renamed[4][81]; /* of which the row named the thread (its name before exec) */
	uint32_t old_comm;
	uint64_t period_sum;
	size_t n_samples;
};

static const uint32_t tids[4][2] = {{100, 100}, {100, 101}, {200, 200}, {200, 202}};

static void synth_build(struct synth *s, const char *tag)
{
	char buf[64];
	uint32_t level[2][81];
	size_t nl = 1;
	memset(s, 0, sizeof(*s));
	s->p = pfs_profile_new();
	pfs_profile_add_event(s->p, "cpu-clock", true);
	pfs_profile_event(s->p, 0)->clock = PFS_CLOCK_NS;
	pfs_profile_add_event(s->p, "sched:sched_switch", false);
	level[0][0] = 0;
	for (int d = 0; d < 4; d++) {
		size_t nn = 0;
		for (size_t i = 0; i < nl; i++) {
			for (int k = 0; k < 3; k++) {
				struct pfs_frame f = {0};
				snprintf(buf, sizeof(buf), "%s_fn_%d_%d", tag, d, k);
				f.name = pfs_profile_cstr(s->p, buf);
				f.dso =
				    pfs_profile_cstr(s->p, k == 2 ? "/usr/lib/libpython3.12.so.1.0"
								  : "/usr/bin/app");
				f.file = k == 1 ? pfs_profile_cstr(s->p, "app.c") : 0;
				f.line = k == 1 ? (uint32_t)(10 + d) : 0;
				f.kind = k == 2 ? PFS_FK_NATIVE : PFS_FK_PYTHON;
				f.inlined = d == 3 && k == 0;
				level[(d + 1) & 1][nn++] = pfs_profile_path(
				    s->p, level[d & 1][i], pfs_profile_frame(s->p, &f));
			}
		}
		nl = nn;
	}
	memcpy(s->leaves, level[0], nl * sizeof(uint32_t));
	s->n_leaves = nl;
	for (int t = 0; t < 4; t++) {
		struct pfs_thread *th = pfs_profile_thread(s->p, tids[t][0], tids[t][1]);
		snprintf(buf, sizeof(buf), "%s-t%d", tag, t);
		th->comm = pfs_profile_cstr(s->p, buf);
		th->start = 1000 + (uint64_t)t;
	}
	s->old_comm = pfs_profile_cstr(s->p, "python3.12");
	pfs_profile_cstr(s->p, "a kernel symbol no sample uses");
	pfs_profile_process(s->p, 100)->comm = pfs_profile_cstr(s->p, "gunicorn");
	pfs_profile_process(s->p, 200)->ppid = 100;
	pfs_profile_process(s->p, 200)->cmdline = pfs_profile_cstr(s->p, "gunicorn: worker");
}

/* Streams n samples of event 0 into cb (and counts them in s). */
static int synth_stream(struct synth *s, size_t n, pfs_sample_cb cb, void *payload)
{
	for (size_t i = 0; i < n; i++) {
		size_t t = (i * 7) % 4, l = (i * 13 + i / 5) % s->n_leaves;
		struct pfs_sample_row r = {
		    .event = 0,
		    .pid = tids[t][0],
		    .tid = tids[t][1],
		    .cpu = i % 3 == 0 ? UINT32_MAX : (uint32_t)(i % 2),
		    .time = 1000000000ull + i * 1000,
		    .path = s->leaves[l],
		    .period = 1000 + i % 17,
		    .weight = 1,
		    .comm = i % 4 == 0 ? s->old_comm : 0,
		};
		int rc = cb(payload, &r);
		if (rc)
			return rc;
		s->count[t][l]++;
		s->renamed[t][l] += r.comm != 0;
		s->period_sum += r.period;
		s->n_samples++;
		pfs_profile_event(s->p, 0)->samples++;
		pfs_profile_thread(s->p, r.pid, r.tid)->samples++;
	}
	return 0;
}

static const char *db_path(const char *name)
{
	static char path[512];
	snprintf(path, sizeof(path), "%s/%s", t_tmpdir(), name);
	unlink(path);
	char side[600];
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
	return path;
}

static struct pfs_capture_meta meta_of(const char *label, const char *hash)
{
	struct pfs_capture_meta m = {
	    .label = label,
	    .source = "synthetic",
	    .content_hash = hash,
	    .kind = "perf",
	    .host = "testhost",
	    .os_release = "6.1.0",
	    .perf_version = "6.1",
	    .cmdline = "perf record -g",
	    .start_time = NAN,
	    .duration = 2.5,
	    .cpus = 2,
	    .weight_unit = "samples",
	    .tool_version = "test",
	};
	return m;
}

/* Imports a synthetic capture of n samples; returns its id. */
static int64_t import_synth(struct pfs_store *st, struct synth *s, const char *label,
			    const char *hash, size_t n)
{
	struct pfs_capture_meta m = meta_of(label, hash);
	struct pfs_err err;
	struct pfs_diag d;
	int64_t id = 0;
	int rc = pfs_store_begin_capture(st, &m, false, &id, &err);
	if (rc)
		t_fail(__FILE__, __LINE__, "begin: %s", err.msg);
	T_EQ(synth_stream(s, n, pfs_store_sample_cb, st), 0);
	pfs_diag_init(&d);
	pfs_diag_add(&d, PFS_WARN, "test-diag", 0x40, "a test diagnostic %d", 1);
	pfs_diag_add(&d, PFS_WARN, "test-diag", 0x80, "a test diagnostic %d", 2);
	rc = pfs_store_put_diags(st, &d, &err);
	pfs_diag_release(&d);
	T_EQ(rc, 0);
	struct pfs_store_offcpu o = {100, 101, 5000, 9000, "S", s->leaves[0]};
	T_EQ(pfs_store_put_offcpu(st, &o, &err), 0);
	struct pfs_store_probe pr = {1, 200, 202, 1, 7000, s->leaves[1], "{\"prev_state\":\"S\"}"};
	T_EQ(pfs_store_put_probe(st, &pr, &err), 0);
	T_EQ(pfs_store_put_buildid(st, "/usr/bin/app", "abcdef", &err), 0);
	rc = pfs_store_end_capture(st, s->p, &err);
	if (rc)
		t_fail(__FILE__, __LINE__, "end: %s", err.msg);
	return id;
}

/* The same string, or both none. */
#define T_SAME_STR(pa, ida, pb, idb)                                                               \
	do {                                                                                       \
		T_EQ((ida) != 0, (idb) != 0);                                                      \
		T_STREQ(pfs_profile_strget(pb, idb, NULL), pfs_profile_strget(pa, ida, NULL));     \
	} while (0)

/* The profile read back is the one written: same frame and path ids, the same texts; only the
 * strings something uses come back. */
static void check_profile_equal(const struct pfs_profile *a, struct pfs_profile *b)
{
	T_ASSERT(pfs_profile_n_strs(b) < pfs_profile_n_strs(a));
	T_EQ(pfs_profile_n_frames(b), pfs_profile_n_frames(a));
	for (uint32_t i = 1; i <= pfs_profile_n_frames(a); i++) {
		const struct pfs_frame *x = pfs_profile_frameget(a, i),
				       *y = pfs_profile_frameget(b, i);
		T_SAME_STR(a, x->name, b, y->name);
		T_SAME_STR(a, x->file, b, y->file);
		T_EQ(y->line, x->line);
		T_SAME_STR(a, x->dso, b, y->dso);
		T_EQ(y->kind, x->kind);
		T_EQ(y->inlined, x->inlined);
	}
	T_EQ(pfs_profile_n_paths(b), pfs_profile_n_paths(a));
	for (uint32_t i = 1; i <= pfs_profile_n_paths(a); i++) {
		const struct pfs_path_node *x = pfs_profile_pathget(a, i),
					   *y = pfs_profile_pathget(b, i);
		T_EQ(y->parent, x->parent);
		T_EQ(y->frame, x->frame);
		T_EQ(y->depth, x->depth);
	}
	T_EQ(pfs_profile_n_events(b), pfs_profile_n_events(a));
	T_EQ(pfs_profile_event(b, 0)->samples,
	     pfs_profile_event((struct pfs_profile *)a, 0)->samples);
	T_ASSERT(pfs_profile_event(b, 0)->sampling);
	T_ASSERT(!pfs_profile_event(b, 1)->sampling);
	T_EQ(pfs_profile_n_threads(b), pfs_profile_n_threads(a));
	for (int t = 0; t < 4; t++) {
		struct pfs_thread *x =
		    pfs_profile_thread((struct pfs_profile *)a, tids[t][0], tids[t][1]);
		struct pfs_thread *y = pfs_profile_thread(b, tids[t][0], tids[t][1]);
		T_STREQ(pfs_profile_strget(b, y->comm, NULL), pfs_profile_strget(a, x->comm, NULL));
		T_EQ(y->samples, x->samples);
		T_EQ(y->start, x->start);
	}
	T_EQ(pfs_profile_n_processes(b), pfs_profile_n_processes(a));
	T_EQ(pfs_profile_process(b, 200)->ppid, 100);
	T_STREQ(pfs_profile_strget(b, pfs_profile_process(b, 200)->cmdline, NULL),
		"gunicorn: worker");
}

/* The agg filled from the database holds exactly the (thread, leaf) counts streamed. */
static void check_agg(struct pfs_store *st, int64_t id, const struct synth *s)
{
	struct pfs_agg *a = pfs_agg_new();
	struct pfs_profile *back = pfs_profile_new();
	struct pfs_err err;
	uint64_t seen = 0, period = 0;
	T_EQ(pfs_store_load_profile(st, id, back, &err), 0);
	T_EQ(pfs_store_fill_agg(st, id, a, &err), s->n_samples);
	for (size_t i = 0; i < pfs_agg_n(a); i++) {
		const struct pfs_agg_cell *c = pfs_agg_cell(a, i);
		size_t t = 4, l = s->n_leaves;
		for (size_t k = 0; k < 4; k++)
			if (tids[k][0] == c->pid && tids[k][1] == c->tid)
				t = k;
		for (size_t k = 0; k < s->n_leaves; k++)
			if (s->leaves[k] == c->path)
				l = k;
		T_ASSERT(t < 4 && l < s->n_leaves);
		T_EQ(c->event, 0);
		if (c->comm)
			T_STREQ(pfs_profile_strget(back, c->comm, NULL), "python3.12");
		T_EQ(c->count, c->comm ? s->renamed[t][l] : s->count[t][l] - s->renamed[t][l]);
		T_ASSERT(fabs(c->weight - (double)c->count) < 1e-9);
		seen += c->count;
		period += c->period;
	}
	T_EQ(seen, s->n_samples);
	T_EQ(period, s->period_sum);
	pfs_agg_free(a);
	pfs_profile_free(back);
}

static void test_roundtrip(void)
{
	const char *path = db_path("roundtrip.db");
	struct pfs_store *st;
	struct pfs_err err;
	struct synth s;
	struct pfs_store_capture *caps;
	int64_t id, found;
	synth_build(&s, "rt");
	T_EQ(pfs_store_open(&st, path, PFS_STORE_CREATE, &err), 0);
	id = import_synth(st, &s, "first", "hash-1", 5000);
	pfs_store_close(st);

	T_EQ(pfs_store_open(&st, path, PFS_STORE_READONLY, &err), 0);
	T_EQ(pfs_store_captures(st, &caps, &err), 1);
	T_EQ(caps[0].id, id);
	T_STREQ(caps[0].label, "first");
	T_STREQ(caps[0].content_hash, "hash-1");
	T_STREQ(caps[0].host, "testhost");
	T_STREQ(caps[0].weight_unit, "samples");
	T_ASSERT(isnan(caps[0].start_time));
	T_ASSERT(caps[0].duration == 2.5);
	T_EQ(caps[0].cpus, 2);
	T_EQ(caps[0].n_samples, 5000);
	T_ASSERT(caps[0].imported_at && strlen(caps[0].imported_at) == 20);
	pfs_store_captures_free(caps, 1);
	T_EQ(pfs_store_find(st, NULL, &found, &err), 0);
	T_EQ(found, id);
	T_EQ(pfs_store_find(st, "first", &found, &err), 0);
	T_EQ(found, id);
	T_EQ(pfs_store_find(st, "nope", &found, &err), PFS_EUSAGE);
	T_ASSERT(strstr(err.msg, "first"));

	struct pfs_profile *back = pfs_profile_new();
	T_EQ(pfs_store_load_profile(st, id, back, &err), 0);
	check_profile_equal(s.p, back);
	pfs_profile_free(back);
	check_agg(st, id, &s);
	pfs_store_close(st);
	pfs_profile_free(s.p);
}

/* Rows to the store and to an analysis at once. */
struct both {
	struct pfs_store *st;
	struct pfs_analysis *a;
};

static int both_cb(void *payload, const struct pfs_sample_row *row)
{
	struct both *b = payload;
	T_EQ(pfs_analysis_sample(b->a, row, NULL), 0);
	return pfs_store_sample_cb(b->st, row);
}

static char *summary_json(struct pfs_analysis *a)
{
	struct pfs_err err;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	T_ASSERT(f);
	T_EQ(pfs_analysis_write_json(&a, 1, f, false, &err), 0);
	fclose(f);
	return buf;
}

/* The analysis stored with a capture comes back with the same figures, over the profile the
 * store rebuilds; a capture stored without one gives none. */
static void test_analysis_roundtrip(void)
{
	const char *path = db_path("analysis.db");
	struct pfs_capture_meta m = meta_of("an", "hash-an");
	struct pfs_an_capture cap = {.label = "an", .source = "synthetic", .command = "app --x"};
	struct pfs_store *st;
	struct pfs_err err;
	struct synth s, s2;
	struct pfs_analysis *a, *back = NULL;
	struct pfs_profile *prof;
	int64_t id, id2;
	char *ja, *jb;
	synth_build(&s, "an");
	a = pfs_analysis_new(s.p);
	T_EQ(pfs_store_open(&st, path, PFS_STORE_CREATE, &err), 0);
	T_EQ(pfs_store_begin_capture(st, &m, false, &id, &err), 0);
	struct both b = {st, a};
	T_EQ(synth_stream(&s, 3000, both_cb, &b), 0);
	pfs_analysis_finish(a, &cap);
	T_EQ(pfs_store_put_analysis(st, a, &err), 0);
	T_EQ(pfs_store_end_capture(st, s.p, &err), 0);
	synth_build(&s2, "plain");
	id2 = import_synth(st, &s2, "plain", "hash-plain", 100);
	pfs_store_close(st);

	T_EQ(pfs_store_open(&st, path, PFS_STORE_READONLY, &err), 0);
	prof = pfs_profile_new();
	T_EQ(pfs_store_load_profile(st, id, prof, &err), 0);
	T_EQ(pfs_store_load_analysis(st, id, prof, "an", "synthetic", &back, &err), 0);
	T_ASSERT(back != NULL);
	ja = summary_json(a);
	jb = summary_json(back);
	T_STREQ(jb, ja);
	T_ASSERT(strstr(ja, "\"cpu_samples\":"));
	T_ASSERT(pfs_analysis_python(back) && pfs_analysis_python(back)->minor == 12);
	free(ja);
	free(jb);
	pfs_analysis_free(back);
	pfs_profile_free(prof);
	prof = pfs_profile_new();
	T_EQ(pfs_store_load_profile(st, id2, prof, &err), 0);
	back = a;
	T_EQ(pfs_store_load_analysis(st, id2, prof, "plain", NULL, &back, &err), 0);
	T_ASSERT(back == NULL);
	pfs_profile_free(prof);
	pfs_store_close(st);
	pfs_analysis_free(a);
	pfs_profile_free(s.p);
	pfs_profile_free(s2.p);
}

/* A replaced capture takes its analysis rows with it. */
static void test_replace_drops_the_analysis(void)
{
	const char *path = db_path("replace-an.db");
	struct pfs_capture_meta m = meta_of("r", "hash-r");
	struct pfs_store *st;
	struct pfs_err err;
	struct synth s;
	struct pfs_analysis *a, *back = NULL;
	struct pfs_profile *prof;
	int64_t id, id2;
	synth_build(&s, "r");
	a = pfs_analysis_new(s.p);
	T_EQ(pfs_store_open(&st, path, PFS_STORE_CREATE, &err), 0);
	T_EQ(pfs_store_begin_capture(st, &m, false, &id, &err), 0);
	struct both b = {st, a};
	T_EQ(synth_stream(&s, 200, both_cb, &b), 0);
	pfs_analysis_finish(a, NULL);
	T_EQ(pfs_store_put_analysis(st, a, &err), 0);
	T_EQ(pfs_store_end_capture(st, s.p, &err), 0);
	/* the same content again, replaced, this time without an analysis */
	T_EQ(pfs_store_begin_capture(st, &m, true, &id2, &err), 0);
	T_EQ(synth_stream(&s, 200, pfs_store_sample_cb, st), 0);
	T_EQ(pfs_store_end_capture(st, s.p, &err), 0);
	prof = pfs_profile_new();
	T_EQ(pfs_store_load_profile(st, id2, prof, &err), 0);
	T_EQ(pfs_store_load_analysis(st, id2, prof, "r", NULL, &back, &err), 0);
	T_ASSERT(back == NULL);
	pfs_profile_free(prof);
	pfs_store_close(st);
	pfs_analysis_free(a);
	pfs_profile_free(s.p);
}

/* The report data kept at import comes back byte for byte, per capture; none is NULL. */
static void test_report_data_roundtrip(void)
{
	const char *path = db_path("report.db");
	struct pfs_capture_meta m = meta_of("rep", "hash-rep");
	static const char doc[] = "{\"version\":1,\"meta\":{\"samples\":5},\"strings\":[\"all\"]}";
	struct pfs_store *st;
	struct pfs_err err;
	struct synth s;
	char *json = (char *)"x";
	size_t len = 1;
	int64_t id, id2;
	synth_build(&s, "rep");
	T_EQ(pfs_store_open(&st, path, PFS_STORE_CREATE, &err), 0);
	/* a database no import has touched has no report_data table: nothing, no error */
	T_EQ(pfs_store_get_report(st, 1, &json, &len, &err), 0);
	T_ASSERT(json == NULL);
	T_EQ(len, 0);
	T_EQ(pfs_store_put_report(st, doc, sizeof(doc) - 1, &err), PFS_EUSAGE);
	T_EQ(pfs_store_begin_capture(st, &m, false, &id, &err), 0);
	T_EQ(synth_stream(&s, 300, pfs_store_sample_cb, st), 0);
	T_EQ(pfs_store_put_profile(st, s.p, &err), 0);
	T_EQ(pfs_store_put_profile(st, s.p, &err), PFS_EUSAGE);
	T_EQ(pfs_store_put_report(st, doc, sizeof(doc) - 1, &err), 0);
	T_EQ(pfs_store_end_capture(st, s.p, &err), 0);
	/* the profile written before the report is the whole capture's */
	struct pfs_profile *back = pfs_profile_new();
	T_EQ(pfs_store_load_profile(st, id, back, &err), 0);
	check_profile_equal(s.p, back);
	pfs_profile_free(back);
	check_agg(st, id, &s);
	/* and the agg has the samples' time range, as rows added to it would give */
	struct pfs_agg *a = pfs_agg_new();
	T_EQ(pfs_store_fill_agg(st, id, a, &err), 300);
	T_EQ(pfs_agg_first_time(a), 1000000000ull);
	T_EQ(pfs_agg_last_time(a), 1000000000ull + 299 * 1000);
	pfs_agg_free(a);
	/* a second capture without report data */
	id2 = import_synth(st, &s, "plain", "hash-plain", 100);
	T_EQ(pfs_store_get_report(st, id, &json, &len, &err), 0);
	T_ASSERT(json != NULL);
	T_EQ(len, sizeof(doc) - 1);
	T_STREQ(json, doc);
	free(json);
	T_EQ(pfs_store_get_report(st, id2, &json, &len, &err), 0);
	T_ASSERT(json == NULL);
	/* replaced: the row goes with its capture */
	T_EQ(pfs_store_begin_capture(st, &m, true, &id2, &err), 0);
	T_EQ(pfs_store_end_capture(st, s.p, &err), 0);
	T_EQ(pfs_store_get_report(st, id, &json, &len, &err), 0);
	T_ASSERT(json == NULL);
	T_EQ(pfs_store_get_report(st, id2, &json, &len, &err), 0);
	T_ASSERT(json == NULL);
	pfs_store_close(st);
	pfs_profile_free(s.p);
}

/* Two call graphs (pstats and callgrind) written and read back: every count and cost the same,
 * NANs (callgrind's unknown edge self costs, profile.py's caller costs) too; replace drops them. */
static bool same(double a, double b)
{
	return a == b || (isnan(a) && isnan(b));
}

static void check_graph_equal(const struct pfs_callgraph *a, const struct pfs_callgraph *b)
{
	T_EQ(pfs_cg_format(b), pfs_cg_format(a));
	T_EQ(pfs_cg_n_events(b), pfs_cg_n_events(a));
	T_EQ(pfs_cg_n_funcs(b), pfs_cg_n_funcs(a));
	T_EQ(pfs_cg_n_edges(b), pfs_cg_n_edges(a));
	for (uint32_t k = 0; k < pfs_cg_n_events(a); k++) {
		T_STREQ(pfs_cg_event_name(b, k), pfs_cg_event_name(a, k));
		T_ASSERT(same(pfs_cg_total(b, k), pfs_cg_total(a, k)));
		T_ASSERT(same(pfs_cg_info(b)->summary[k], pfs_cg_info(a)->summary[k]));
	}
	for (uint32_t f = 0; f < pfs_cg_n_funcs(a); f++) {
		const struct pfs_cg_func *x = pfs_cg_func_get(a, f), *y = pfs_cg_func_get(b, f);
		T_EQ(y->frame, x->frame);
		T_EQ(y->calls, x->calls);
		T_EQ(y->prim_calls, x->prim_calls);
		T_EQ(y->listed, x->listed);
		T_EQ(y->recursive, x->recursive);
		for (uint32_t k = 0; k < pfs_cg_n_events(a); k++)
			T_ASSERT(same(pfs_cg_self(b, f, k), pfs_cg_self(a, f, k)) &&
				 same(pfs_cg_incl(b, f, k), pfs_cg_incl(a, f, k)));
	}
	for (uint32_t e = 0; e < pfs_cg_n_edges(a); e++) {
		const struct pfs_cg_edge *x = pfs_cg_edge_get(a, e), *y = pfs_cg_edge_get(b, e);
		T_EQ(y->caller, x->caller);
		T_EQ(y->callee, x->callee);
		T_EQ(y->calls, x->calls);
		T_EQ(y->prim_calls, x->prim_calls);
		for (uint32_t k = 0; k < pfs_cg_n_events(a); k++)
			T_ASSERT(same(pfs_cg_edge_self(b, e, k), pfs_cg_edge_self(a, e, k)) &&
				 same(pfs_cg_edge_incl(b, e, k), pfs_cg_edge_incl(a, e, k)));
	}
	T_STREQ(pfs_cg_info(b)->creator ? pfs_cg_info(b)->creator : "",
		pfs_cg_info(a)->creator ? pfs_cg_info(a)->creator : "");
	T_EQ(pfs_cg_info(b)->marshal_version, pfs_cg_info(a)->marshal_version);
}

static void test_callgraph_roundtrip(void)
{
	static const char *const files[] = {"callgraph/profile-py312.prof",
					    "callgraph/valgrind-cg_prog.callgrind"};
	const char *path = db_path("callgraph.db");
	struct pfs_store *st;
	struct pfs_err err;
	int64_t ids[2];
	struct pfs_profile *p[2];
	struct pfs_callgraph *g[2];
	T_EQ(pfs_store_open(&st, path, PFS_STORE_CREATE, &err), 0);
	for (int i = 0; i < 2; i++) {
		struct pfs_capture_meta m = meta_of(files[i], files[i]);
		struct pfs_diag d;
		pfs_diag_init(&d);
		p[i] = pfs_profile_new();
		m.kind = i ? "callgrind" : "pstats";
		T_EQ(i ? pfs_callgrind_load(t_fixture(files[i]), p[i], &g[i], &d, &err)
		       : pfs_pstats_load(t_fixture(files[i]), p[i], &g[i], &d, &err),
		     0);
		pfs_diag_release(&d);
		T_EQ(pfs_store_begin_capture(st, &m, false, &ids[i], &err), 0);
		T_EQ(pfs_store_put_callgraph(st, g[i], &err), 0);
		T_EQ(pfs_store_end_capture(st, p[i], &err), 0);
	}
	pfs_store_close(st);
	T_EQ(pfs_store_open(&st, path, PFS_STORE_READONLY, &err), 0);
	for (int i = 0; i < 2; i++) {
		struct pfs_profile *back = pfs_profile_new();
		struct pfs_callgraph *gb = NULL;
		T_EQ(pfs_store_load_profile(st, ids[i], back, &err), 0);
		T_EQ(pfs_store_load_callgraph(st, ids[i], back, &gb, &err), 0);
		T_ASSERT(gb != NULL);
		check_graph_equal(g[i], gb);
		pfs_cg_free(gb);
		pfs_profile_free(back);
	}
	pfs_store_close(st);
	/* replaced: its rows go, the other capture's stay */
	T_EQ(pfs_store_open(&st, path, 0, &err), 0);
	struct pfs_capture_meta m = meta_of("other", files[0]);
	int64_t id;
	m.kind = "pstats";
	T_EQ(pfs_store_begin_capture(st, &m, true, &id, &err), 0);
	T_EQ(pfs_store_end_capture(st, p[0], &err), 0);
	struct pfs_profile *back = pfs_profile_new();
	struct pfs_callgraph *gb = (struct pfs_callgraph *)1;
	T_EQ(pfs_store_load_profile(st, id, back, &err), 0);
	T_EQ(pfs_store_load_callgraph(st, id, back, &gb, &err), 0);
	T_ASSERT(gb == NULL);
	pfs_profile_free(back);
	back = pfs_profile_new();
	T_EQ(pfs_store_load_profile(st, ids[1], back, &err), 0);
	T_EQ(pfs_store_load_callgraph(st, ids[1], back, &gb, &err), 0);
	T_ASSERT(gb != NULL);
	pfs_cg_free(gb);
	pfs_profile_free(back);
	pfs_store_close(st);
	for (int i = 0; i < 2; i++) {
		pfs_cg_free(g[i]);
		pfs_profile_free(p[i]);
	}
}

static void test_several_captures_keep_their_ids(void)
{
	const char *path = db_path("several.db");
	struct pfs_store *st;
	struct pfs_err err;
	struct synth a, b;
	int64_t ia, ib, found;
	synth_build(&a, "aaa");
	synth_build(&b, "bbbbb");
	T_EQ(pfs_store_open(&st, path, PFS_STORE_CREATE, &err), 0);
	ia = import_synth(st, &a, "a", "hash-a", 3000);
	ib = import_synth(st, &b, "b", "hash-b", 4321);
	T_ASSERT(ia != ib);
	T_EQ(pfs_store_find(st, NULL, &found, &err), PFS_EUSAGE);
	T_ASSERT(strstr(err.msg, "--capture"));
	T_EQ(pfs_store_find(st, "2", &found, &err), 0);
	T_EQ(found, ib);
	for (int k = 0; k < 2; k++) {
		struct synth *s = k ? &b : &a;
		struct pfs_profile *back = pfs_profile_new();
		T_EQ(pfs_store_load_profile(st, k ? ib : ia, back, &err), 0);
		check_profile_equal(s->p, back);
		pfs_profile_free(back);
		check_agg(st, k ? ib : ia, s);
	}
	pfs_store_close(st);
	pfs_profile_free(a.p);
	pfs_profile_free(b.p);
}

static void test_duplicates_refused_or_replaced(void)
{
	const char *path = db_path("dup.db");
	struct pfs_store *st;
	struct pfs_err err;
	struct synth a, b, c;
	struct pfs_store_capture *caps;
	struct pfs_capture_meta m;
	int64_t ia, ic, id;
	synth_build(&a, "a");
	synth_build(&b, "b");
	synth_build(&c, "c");
	T_EQ(pfs_store_open(&st, path, PFS_STORE_CREATE, &err), 0);
	ia = import_synth(st, &a, "a", "same", 1000);
	m = meta_of("other-label", "same");
	T_EQ(pfs_store_begin_capture(st, &m, false, &id, &err), PFS_EUSAGE);
	T_ASSERT(strstr(err.msg, "already holds this content"));
	m = meta_of("a", "different");
	T_EQ(pfs_store_begin_capture(st, &m, false, &id, &err), PFS_EUSAGE);
	T_ASSERT(strstr(err.msg, "label"));
	T_EQ(pfs_store_captures(st, &caps, &err), 1);
	T_EQ(caps[0].id, ia);
	pfs_store_captures_free(caps, 1);

	/* --replace: the old rows go, the new capture is whole */
	m = meta_of("a", "same");
	T_EQ(pfs_store_begin_capture(st, &m, true, &ic, &err), 0);
	T_EQ(synth_stream(&c, 777, pfs_store_sample_cb, st), 0);
	T_EQ(pfs_store_end_capture(st, c.p, &err), 0);
	T_EQ(pfs_store_captures(st, &caps, &err), 1);
	T_EQ(caps[0].id, ic);
	T_EQ(caps[0].n_samples, 777);
	pfs_store_captures_free(caps, 1);
	T_EQ(pfs_store_find(st, "a", &id, &err), 0);
	T_EQ(id, ic);
	struct pfs_profile *back = pfs_profile_new();
	T_EQ(pfs_store_load_profile(st, ic, back, &err), 0);
	check_profile_equal(c.p, back);
	pfs_profile_free(back);
	check_agg(st, ic, &c);
	pfs_store_close(st);
	pfs_profile_free(a.p);
	pfs_profile_free(b.p);
	pfs_profile_free(c.p);
}

/* pfs_store_sample: the sink that also queues the profile's new call paths */
struct with_prof {
	struct pfs_store *st;
	const struct pfs_profile *p;
};

static int sample_with_prof(void *payload, const struct pfs_sample_row *row)
{
	struct with_prof *w = payload;
	return pfs_store_sample(w->st, w->p, row);
}

static void test_hash_given_later(void)
{
	const char *path = db_path("late.db");
	struct pfs_store *st;
	struct pfs_err err;
	struct synth a, b, c;
	struct pfs_store_capture *caps;
	struct pfs_capture_meta m;
	struct with_prof w;
	int64_t ia, ic, id;
	synth_build(&a, "a");
	synth_build(&b, "b");
	synth_build(&c, "c");
	T_EQ(pfs_store_open(&st, path, PFS_STORE_CREATE, &err), 0);
	ia = import_synth(st, &a, "a", "same", 1000);

	/* the duplicate shows when the hash comes; the capture is still open to abort */
	m = meta_of("late", NULL);
	T_EQ(pfs_store_begin_capture(st, &m, false, &id, &err), 0);
	w = (struct with_prof){st, b.p};
	T_EQ(synth_stream(&b, 5000, sample_with_prof, &w), 0);
	T_EQ(pfs_store_set_hash(st, "same", false, &err), PFS_EUSAGE);
	T_ASSERT(strstr(err.msg, "already holds this content"));
	pfs_store_abort_capture(st);

	/* no hash, no commit */
	T_EQ(pfs_store_begin_capture(st, &m, false, &id, &err), 0);
	T_EQ(synth_stream(&b, 100, sample_with_prof, &w), 0);
	T_EQ(pfs_store_end_capture(st, b.p, &err), PFS_EUSAGE);
	T_EQ(pfs_store_captures(st, &caps, &err), 1);
	T_EQ(caps[0].id, ia);
	pfs_store_captures_free(caps, 1);

	/* replaced once the hash says so; paths queued with the samples read back whole */
	T_EQ(pfs_store_begin_capture(st, &m, true, &ic, &err), 0);
	w = (struct with_prof){st, c.p};
	T_EQ(synth_stream(&c, 5000, sample_with_prof, &w), 0);
	T_EQ(pfs_store_set_hash(st, "same", true, &err), 0);
	T_EQ(pfs_store_set_hash(st, "same", true, &err), PFS_EUSAGE);
	T_EQ(pfs_store_end_capture(st, c.p, &err), 0);
	T_EQ(pfs_store_captures(st, &caps, &err), 1);
	T_EQ(caps[0].id, ic);
	T_STREQ(caps[0].content_hash, "same");
	T_STREQ(caps[0].label, "late");
	T_EQ(caps[0].n_samples, 5000);
	pfs_store_captures_free(caps, 1);
	struct pfs_profile *back = pfs_profile_new();
	T_EQ(pfs_store_load_profile(st, ic, back, &err), 0);
	check_profile_equal(c.p, back);
	pfs_profile_free(back);
	check_agg(st, ic, &c);
	pfs_store_close(st);
	pfs_profile_free(a.p);
	pfs_profile_free(b.p);
	pfs_profile_free(c.p);
}

static void test_abort_leaves_nothing(void)
{
	const char *path = db_path("abort.db");
	struct pfs_store *st;
	struct pfs_err err;
	struct synth a, b;
	struct pfs_store_capture *caps;
	struct pfs_capture_meta m = meta_of("b", "hash-b");
	int64_t ia, ib;
	synth_build(&a, "a");
	synth_build(&b, "b");
	T_EQ(pfs_store_open(&st, path, PFS_STORE_CREATE, &err), 0);
	ia = import_synth(st, &a, "a", "hash-a", 2000);
	T_EQ(pfs_store_begin_capture(st, &m, false, &ib, &err), 0);
	T_EQ(synth_stream(&b, 3000, pfs_store_sample_cb, st), 0);
	pfs_store_abort_capture(st);
	T_EQ(pfs_store_sample_cb(st, &(struct pfs_sample_row){0}), PFS_EUSAGE);
	T_EQ(pfs_store_captures(st, &caps, &err), 1);
	T_EQ(caps[0].id, ia);
	pfs_store_captures_free(caps, 1);
	check_agg(st, ia, &a);
	/* closing with a capture open rolls it back too */
	T_EQ(pfs_store_begin_capture(st, &m, false, &ib, &err), 0);
	T_EQ(synth_stream(&b, 10, pfs_store_sample_cb, st), 0);
	pfs_store_close(st);
	T_EQ(pfs_store_open(&st, path, 0, &err), 0);
	T_EQ(pfs_store_captures(st, &caps, &err), 1);
	pfs_store_captures_free(caps, 1);
	check_agg(st, ia, &a);
	pfs_store_close(st);
	pfs_profile_free(a.p);
	pfs_profile_free(b.p);
}

/* A batch: several captures in one transaction. A capture aborted inside it goes alone; the
 * batch commits the rest, or an abort (or a close) takes everything of it back. */
static void test_batch_all_or_nothing(void)
{
	const char *path = db_path("batch.db");
	struct pfs_store *st;
	struct pfs_err err;
	struct synth a, b, c;
	struct pfs_store_capture *caps;
	struct pfs_capture_meta mb = meta_of("b", "hash-b");
	int64_t ia, ib, ic;
	synth_build(&a, "a");
	synth_build(&b, "b");
	synth_build(&c, "c");
	T_EQ(pfs_store_open(&st, path, PFS_STORE_CREATE, &err), 0);
	ia = import_synth(st, &a, "a", "hash-a", 500);
	/* aborted: the batch and the capture in it */
	T_EQ(pfs_store_begin_batch(st, &err), 0);
	T_EQ(pfs_store_begin_batch(st, &err), PFS_EUSAGE);
	import_synth(st, &b, "b", "hash-b", 700);
	import_synth(st, &c, "c", "hash-c", 300);
	T_EQ(pfs_store_captures(st, &caps, &err), 3);
	pfs_store_captures_free(caps, 3);
	pfs_store_abort_batch(st);
	T_EQ(pfs_store_captures(st, &caps, &err), 1);
	T_EQ(caps[0].id, ia);
	pfs_store_captures_free(caps, 1);
	check_agg(st, ia, &a);
	/* a capture aborted inside a batch goes alone; a duplicate is refused inside it too */
	T_EQ(pfs_store_begin_batch(st, &err), 0);
	T_EQ(pfs_store_begin_capture(st, &mb, false, &ib, &err), 0);
	T_EQ(synth_stream(&b, 100, pfs_store_sample_cb, st), 0);
	pfs_store_abort_capture(st);
	ic = import_synth(st, &c, "c", "hash-c", 300);
	T_EQ(pfs_store_begin_capture(st, &mb, false, &ib, &err), 0);
	pfs_store_abort_capture(st);
	struct pfs_capture_meta dup = meta_of("c2", "hash-c");
	T_EQ(pfs_store_begin_capture(st, &dup, false, &ib, &err), PFS_EUSAGE);
	T_EQ(pfs_store_commit_batch(st, &err), 0);
	T_EQ(pfs_store_commit_batch(st, &err), PFS_EUSAGE);
	T_EQ(pfs_store_captures(st, &caps, &err), 2);
	T_EQ(caps[1].id, ic);
	pfs_store_captures_free(caps, 2);
	check_agg(st, ia, &a);
	/* closing with a batch open rolls it back */
	T_EQ(pfs_store_begin_batch(st, &err), 0);
	import_synth(st, &b, "b", "hash-b", 200);
	pfs_store_close(st);
	T_EQ(pfs_store_open(&st, path, 0, &err), 0);
	T_EQ(pfs_store_captures(st, &caps, &err), 2);
	pfs_store_captures_free(caps, 2);
	pfs_store_close(st);
	pfs_profile_free(a.p);
	pfs_profile_free(b.p);
	pfs_profile_free(c.p);
}

static void test_not_a_database_is_left_alone(void)
{
	const char *path = db_path("notadb.db");
	static const char junk[] = "this is a text file, not an SQLite database, and it is long "
				   "enough to have a header of one hundred bytes or so........";
	char back[sizeof(junk)];
	struct pfs_store *st = NULL;
	struct pfs_err err;
	FILE *f = fopen(path, "w");
	T_ASSERT(f);
	fwrite(junk, 1, sizeof(junk), f);
	fclose(f);
	T_EQ(pfs_store_open(&st, path, PFS_STORE_CREATE, &err), PFS_EUNSUPP);
	T_ASSERT(st == NULL);
	T_ASSERT(strstr(err.msg, "not a perfsight database"));
	f = fopen(path, "r");
	T_ASSERT(f);
	T_EQ(fread(back, 1, sizeof(back), f), sizeof(junk));
	T_EQ(fgetc(f), EOF);
	fclose(f);
	T_ASSERT(!memcmp(back, junk, sizeof(junk)));
}

static void test_missing_directory_and_readonly_missing_file(void)
{
	char path[512];
	struct pfs_store *st = NULL;
	struct pfs_err err;
	snprintf(path, sizeof(path), "%s/no/such/dir/x.db", t_tmpdir());
	T_EQ(pfs_store_open(&st, path, PFS_STORE_CREATE, &err), PFS_EIO);
	T_ASSERT(strstr(err.msg, "directory"));
	T_ASSERT(strstr(err.msg, "No such file"));
	T_EQ(pfs_store_open(&st, db_path("absent.db"), PFS_STORE_READONLY, &err), PFS_EIO);
	T_ASSERT(st == NULL);
}

static void test_memory_does_not_grow_with_samples(void)
{
	const char *path = db_path("big.db");
	struct pfs_store *st;
	struct pfs_err err;
	struct synth s;
	struct pfs_capture_meta m = meta_of("big", "hash-big");
	int64_t id;
	long rss[2];
	const char *san = getenv("SAN");
	/* ASan's shadow memory and quarantine make RSS meaningless */
	if (san && !strcmp(san, "1"))
		t_skip("RSS is not comparable under ASan");
	synth_build(&s, "big");
	T_EQ(pfs_store_open(&st, path, PFS_STORE_CREATE, &err), 0);
	T_EQ(pfs_store_begin_capture(st, &m, false, &id, &err), 0);
	for (int k = 0; k < 2; k++) {
		char line[256];
		FILE *f;
		T_EQ(synth_stream(&s, 200000, pfs_store_sample_cb, st), 0);
		f = fopen("/proc/self/status", "r");
		if (!f)
			t_skip("no /proc/self/status");
		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, "VmRSS:", 6))
				rss[k] = strtol(line + 6, NULL, 10);
		fclose(f);
	}
	T_EQ(pfs_store_end_capture(st, s.p, &err), 0);
	/* 200,000 more samples may not cost more than SQLite's page cache (16 MB) */
	T_ASSERT(rss[1] - rss[0] < 24 * 1024);
	check_agg(st, id, &s);
	pfs_store_close(st);
	pfs_profile_free(s.p);
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
	    T_CASE(roundtrip),
	    T_CASE(analysis_roundtrip),
	    T_CASE(replace_drops_the_analysis),
	    T_CASE(report_data_roundtrip),
	    T_CASE(callgraph_roundtrip),
	    T_CASE(several_captures_keep_their_ids),
	    T_CASE(duplicates_refused_or_replaced),
	    T_CASE(hash_given_later),
	    T_CASE(abort_leaves_nothing),
	    T_CASE(batch_all_or_nothing),
	    T_CASE(not_a_database_is_left_alone),
	    T_CASE(missing_directory_and_readonly_missing_file),
	    T_CASE(memory_does_not_grow_with_samples),
	};
	return t_main(argc, argv, "store", cases, sizeof(cases) / sizeof(cases[0]));
}
