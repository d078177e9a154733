#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"
#include "pyprof.h"
#include "xalloc.h"

/* What a load produced: the profile, its meta and diagnostics, and the rows' weight per path. */
struct res {
	struct pfs_profile *p;
	struct pfs_pyprof_meta m;
	struct pfs_diag d;
	struct pfs_err e;
	double *w; /* by path id */
	size_t wcap;
	uint64_t rows;
	int stop_after; /* the sink fails after this many rows when > 0 */
	int rc;
};

static int sink(void *payload, const struct pfs_sample_row *row)
{
	struct res *r = payload;
	if (row->path >= r->wcap) {
		size_t old = r->wcap;
		PFS_GROW(r->w, r->wcap, (size_t)row->path + 1);
		memset(r->w + old, 0, (r->wcap - old) * sizeof(*r->w));
	}
	r->w[row->path] += row->weight;
	r->rows++;
	if (r->stop_after > 0 && r->rows >= (uint64_t)r->stop_after)
		return PFS_EDB;
	return 0;
}

static void load_opts(struct res *r, const char *path, const struct pfs_pyprof_opts *o)
{
	r->p = pfs_profile_new();
	pfs_diag_init(&r->d);
	r->rc = pfs_pyprof_load(path, o, r->p, sink, r, &r->m, &r->d, &r->e);
}

static void load(struct res *r, const char *path)
{
	memset(r, 0, sizeof(*r));
	load_opts(r, path, NULL);
}

static void res_free(struct res *r)
{
	pfs_pyprof_meta_release(&r->m);
	pfs_profile_free(r->p);
	pfs_diag_release(&r->d);
	free(r->w);
}

static const char *tmp_write(const char *name, const void *data, size_t n)
{
	static char buf[8][512];
	static int i;
	FILE *f;
	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", t_tmpdir(), name);
	if (strchr(name, '/')) {
		char dir[512];
		snprintf(dir, sizeof(dir), "%s/%.*s", t_tmpdir(), (int)(strchr(name, '/') - name),
			 name);
		mkdir(dir, 0777);
	}
	f = fopen(buf[i], "wb");
	T_ASSERT(f);
	T_EQ(fwrite(data, 1, n, f), n);
	fclose(f);
	return buf[i];
}

static const char *tmp_str(const char *name, const char *s)
{
	return tmp_write(name, s, strlen(s));
}

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	struct stat sb;
	char *b;
	T_ASSERT(f);
	T_ASSERT(fstat(fileno(f), &sb) == 0);
	b = pfs_xmalloc((size_t)sb.st_size + 1);
	T_EQ(fread(b, 1, (size_t)sb.st_size, f), (size_t)sb.st_size);
	fclose(f);
	b[sb.st_size] = 0;
	*n = (size_t)sb.st_size;
	return b;
}

/* The frame of the leaf of path id. */
static const struct pfs_frame *leaf(const struct res *r, uint32_t path)
{
	return pfs_profile_frameget(r->p, pfs_profile_pathget(r->p, path)->frame);
}

static const char *str(const struct res *r, uint32_t id)
{
	return pfs_profile_strget(r->p, id, NULL);
}

/* Total weight under paths whose leaf is named name. */
static double leaf_weight(const struct res *r, const char *name)
{
	double t = 0;
	for (size_t id = 1; id < r->wcap; id++)
		if (r->w[id] > 0 && !strcmp(str(r, leaf(r, (uint32_t)id)->name), name))
			t += r->w[id];
	return t;
}

static uint32_t find_path_leaf(const struct res *r, const char *name)
{
	for (size_t id = 1; id < r->wcap; id++)
		if (r->w[id] > 0 && !strcmp(str(r, leaf(r, (uint32_t)id)->name), name))
			return (uint32_t)id;
	return 0;
}

static void test_detect_fixtures(void)
{
	static const struct {
		const char *rel;
		int kind;
	} want[] = {
	    {"pyinstrument/flask-testclient.pyisession", PFS_PYPROF_SESSION},
	    {"pyinstrument/flask-testclient.json", PFS_PYPROF_JSON},
	    {"pyinstrument/flask-testclient.speedscope.json", PFS_PYPROF_SPEEDSCOPE},
	    {"pyinstrument/html-renderer-data/sympy_calculation.json", PFS_PYPROF_HTML_DATA},
	    {"pyinstrument/per-request/0001-cpu.pyisession", PFS_PYPROF_SESSION},
	    {"pyinstrument/per-request", PFS_PYPROF_DIR},
	    {"README.md", PFS_PYPROF_NONE},
	};
	struct pfs_err e;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		T_EQ(pfs_pyprof_detect(t_fixture(want[i].rel), &e), want[i].kind);
	T_EQ(pfs_pyprof_detect(tmp_str("f.txt", "a;b;c 3\na 1\n"), &e), PFS_PYPROF_FOLDED);
	T_EQ(pfs_pyprof_detect(tmp_str("j.json", "{\"a\": 1}"), &e), PFS_PYPROF_NONE);
	T_EQ(pfs_pyprof_detect(tmp_str("e.txt", ""), &e), PFS_PYPROF_NONE);
	T_EQ(pfs_pyprof_detect("tests/out/no-such-file", &e), PFS_EIO);
}

static void test_session_fixture_totals(void)
{
	struct res r;
	const struct pfs_pyprof_capture *c;
	load(&r, t_fixture("pyinstrument/flask-testclient.pyisession"));
	T_EQ(r.rc, 0);
	T_EQ(r.m.n_caps, 1);
	c = &r.m.caps[0];
	T_EQ(c->kind, PFS_PYPROF_SESSION);
	T_EQ(c->unit, PFS_PYPROF_SECONDS);
	T_EQ(c->version, 5);
	T_EQ(c->rows, c->sample_count);
	T_EQ(r.rows, c->rows);
	T_ASSERT(fabs(c->weight - c->duration) <= 0.01 * c->duration);
	T_ASSERT(c->cpu_time > 0 && c->cpu_time <= c->duration);
	T_ASSERT(c->start_time > 1e9);
	T_STREQ(str(&r, c->program), "Program: wl.py");
	T_STREQ(str(&r, c->label), "flask-testclient.pyisession");
	T_EQ(c->n_sys_prefix, 4);
	T_EQ(pfs_diag_count(&r.d, "sample-count-mismatch"), 0);
	T_EQ(pfs_diag_count(&r.d, "frame-grammar"), 0);
	/* the <thread> root is a pseudo frame; C functions are "<built-in>" leaves */
	{
		uint32_t p = find_path_leaf(&r, "sleep");
		const struct pfs_path_node *n;
		T_ASSERT(p);
		T_STREQ(str(&r, leaf(&r, p)->file), "<built-in>");
		for (n = pfs_profile_pathget(r.p, p); n->parent;
		     n = pfs_profile_pathget(r.p, n->parent))
			;
		T_EQ(pfs_profile_frameget(r.p, n->frame)->kind, PFS_FK_PSEUDO);
		T_STREQ(str(&r, pfs_profile_frameget(r.p, n->frame)->name), "MainThread");
	}
	res_free(&r);
}

/* 3.x: no <thread> root, no attributes, cpu_time null, 'program'. */
static void test_session_v3(void)
{
	struct res r;
	const char *f =
	    tmp_str("v3.pyisession",
		    "{\"frame_records\": [[[\"<module>\\u0000app.py\\u00001\", "
		    "\"work\\u0000app.py\\u00005\"], "
		    "0.25], [[\"<module>\\u0000app.py\\u00001\", \"work\\u0000app.py\\u00005\", "
		    "\"sleep\\u0000<built-in>\\u00000\"], 0.5], "
		    "[[\"<module>\\u0000app.py\\u00001\"], 0.25]], "
		    "\"start_time\": 1700000000.5, \"duration\": 1.0, \"sample_count\": 3, "
		    "\"program\": \"app.py --x\", \"start_call_stack\": [], \"cpu_time\": null}");
	load(&r, f);
	T_EQ(r.rc, 0);
	T_EQ(r.m.caps[0].version, 3);
	T_ASSERT(isnan(r.m.caps[0].cpu_time));
	T_EQ(r.rows, 3);
	T_ASSERT(fabs(leaf_weight(&r, "work") - 0.25) < 1e-12);
	T_ASSERT(fabs(leaf_weight(&r, "sleep") - 0.5) < 1e-12);
	T_ASSERT(fabs(leaf_weight(&r, "<module>") - 0.25) < 1e-12);
	{
		uint32_t p = find_path_leaf(&r, "work");
		T_EQ(leaf(&r, p)->line, 5);
		T_EQ(leaf(&r, p)->kind, PFS_FK_PYINSTRUMENT);
		T_STREQ(str(&r, leaf(&r, p)->file), "app.py");
		T_EQ(pfs_profile_pathget(r.p, p)->depth, 2);
	}
	T_STREQ(str(&r, r.m.caps[0].program), "app.py --x");
	res_free(&r);
}

/* 4.0-4.3: <thread> root, synthetic leaves with pseudo files; 'program' yet version 4. */
static void test_session_v4_synthetic(void)
{
	struct res r;
	uint32_t p;
	const char *f = tmp_str(
	    "v40.pyisession",
	    "{\"start_time\": 1.0, \"duration\": 0.3, \"sample_count\": 2, \"program\": \"x\", "
	    "\"cpu_time\": 0.1, \"frame_records\": ["
	    "[[\"MainThread\\u0000<thread>\\u0000140000000000\", \"co\\u0000a.py\\u00007\", "
	    "\"[await]\\u0000<await>\\u00000\"], 0.2], "
	    "[[\"MainThread\\u0000<thread>\\u0000140000000000\", \"co\\u0000a.py\\u00007\", "
	    "\"[out-of-context]\\u0000<out-of-context>\\u00000\"], 0.1]]}");
	load(&r, f);
	T_EQ(r.rc, 0);
	T_EQ(r.m.caps[0].version, 4);
	p = find_path_leaf(&r, "[await]");
	T_ASSERT(p);
	T_EQ(leaf(&r, p)->kind, PFS_FK_PSEUDO);
	T_EQ(leaf(&r, p)->file, 0);
	T_EQ(pfs_profile_pathget(r.p, p)->depth, 3);
	T_ASSERT(fabs(leaf_weight(&r, "[out-of-context]") - 0.1) < 1e-12);
	res_free(&r);
}

/* 4.4+: U+0001 attributes (class, current line, hide) are not part of the frame; 4.4+ short
 * synthetic leaves; [self] folds into its parent; unknown attributes are counted. */
static void test_session_attributes(void)
{
	struct res r;
	uint32_t p;
	const char *f = tmp_str(
	    "v44.pyisession",
	    "{\"start_time\": 1.0, \"duration\": 0.6, \"sample_count\": 4, "
	    "\"target_description\": \"Function f at a.py:1\", \"cpu_time\": 0.5, "
	    "\"frame_records\": ["
	    "[[\"T\\u0000<thread>\\u00001\", \"m\\u0000a.py\\u000010\\u0001cK\\u0001l12\"], 0.1], "
	    "[[\"T\\u0000<thread>\\u00001\", "
	    "\"m\\u0000a.py\\u000010\\u0001cK\\u0001l15\\u0001h1\"], "
	    "0.1], "
	    "[[\"T\\u0000<thread>\\u00001\", \"m\\u0000a.py\\u000010\", \"[self]\"], 0.1], "
	    "[[\"T\\u0000<thread>\\u00001\", \"m\\u0000a.py\\u000010\\u0001zq\", \"[await]\"], "
	    "0.3]]}");
	load(&r, f);
	T_EQ(r.rc, 0);
	T_EQ(r.m.caps[0].version, 4);
	p = find_path_leaf(&r, "m");
	T_ASSERT(p);
	T_EQ(leaf(&r, p)->line, 10);
	T_ASSERT(fabs(r.w[p] - 0.3) < 1e-12); /* two attribute variants and [self], one frame */
	T_EQ(pfs_diag_count(&r.d, "frame-attribute"), 1);
	p = find_path_leaf(&r, "[await]");
	T_EQ(leaf(&r, p)->kind, PFS_FK_PSEUDO);
	T_ASSERT(fabs(r.w[p] - 0.3) < 1e-12);
	res_free(&r);
}

/* Strings are decoded, length-delimited: escapes and non-ASCII survive, and an odd frame
 * string is kept by name and counted. */
static void test_frame_string_edges(void)
{
	struct res r;
	size_t n;
	uint32_t p;
	const char *f = tmp_str(
	    "edge.pyisession",
	    "{\"start_time\": 1.0, \"duration\": 1, \"sample_count\": 3, \"program\": \"p\", "
	    "\"frame_records\": [[[\"caf\\u00e9 \\\"q\\\"\\u0000/x/\\u00e9.py\\u00003\"], 0.5], "
	    "[[\"noline\\u0000file.py\"], 0.25], [[\"bare\"], 0.25]]}");
	load(&r, f);
	T_EQ(r.rc, 0);
	p = find_path_leaf(&r, "caf\xc3\xa9 \"q\"");
	T_ASSERT(p);
	T_STREQ(pfs_profile_strget(r.p, leaf(&r, p)->file, &n), "/x/\xc3\xa9.py");
	T_EQ(n, 8);
	T_EQ(leaf(&r, p)->line, 3);
	T_EQ(pfs_diag_count(&r.d, "frame-grammar"), 2);
	T_ASSERT(find_path_leaf(&r, "noline") && find_path_leaf(&r, "bare"));
	res_free(&r);
}

/* Lone surrogate escapes and raw non-UTF-8 bytes become U+FFFD, counted; a label is kept. */
static void test_invalid_utf8(void)
{
	struct res r;
	struct pfs_pyprof_opts o = {.label = "req-7"};
	const char *f = tmp_str("sur.pyisession",
				"{\"start_time\": 1, \"duration\": 1, \"sample_count\": 1, "
				"\"program\": \"p\", \"frame_records\": [[[\"f\\udc80g\\u0000a.py"
				"\\u00001\"], 1]]}");
	memset(&r, 0, sizeof(r));
	load_opts(&r, f, &o);
	T_EQ(r.rc, 0);
	T_ASSERT(find_path_leaf(&r, "f\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdg"));
	T_EQ(pfs_diag_count(&r.d, "invalid-utf8"), 3);
	T_STREQ(str(&r, r.m.caps[0].label), "req-7");
	res_free(&r);
	load(&r, tmp_str("latin1.folded", "main;caf\xe9 2\n"));
	T_EQ(r.rc, 0);
	T_ASSERT(find_path_leaf(&r, "caf\xef\xbf\xbd"));
	res_free(&r);
}

static void test_is_app(void)
{
	struct res r;
	const struct pfs_pyprof_capture *c;
	const char *f = tmp_str(
	    "app.pyisession",
	    "{\"start_time\": 1, \"duration\": 1, \"sample_count\": 3, \"program\": \"p\", "
	    "\"sys_prefixes\": [\"/usr/lib/py\", \"/venv\"], \"frame_records\": ["
	    "[[\"T\\u0000<thread>\\u00001\", \"main\\u0000/srv/a.py\\u00001\", "
	    "\"ex\\u0000<string>\\u00001\", \"dumps\\u0000/venv/json.py\\u00003\", "
	    "\"len\\u0000<built-in>\\u00000\"], 0.5], "
	    "[[\"<module>\\u0000<string>\\u00001\", \"cell\\u0000<ipython-input-3>\\u00001\"], "
	    "0.25], [[\"T\\u0000<thread>\\u00001\", \"lib\\u0000/usr/lib/py/x.py\\u00001\", "
	    "\"ex\\u0000<string>\\u00001\"], 0.25]]}");
	load(&r, f);
	T_EQ(r.rc, 0);
	c = &r.m.caps[0];
	T_EQ(c->n_sys_prefix, 2);
	{
		uint32_t len = find_path_leaf(&r, "len");
		const struct pfs_path_node *n = pfs_profile_pathget(r.p, len);
		uint32_t dumps = n->parent;
		uint32_t ex = pfs_profile_pathget(r.p, dumps)->parent;
		uint32_t main_ = pfs_profile_pathget(r.p, ex)->parent;
		uint32_t th = pfs_profile_pathget(r.p, main_)->parent;
		T_ASSERT(!pfs_pyprof_is_app(r.p, c, len));
		T_ASSERT(!pfs_pyprof_is_app(r.p, c, dumps));
		T_ASSERT(pfs_pyprof_is_app(r.p, c, ex)); /* <string> under application code */
		T_ASSERT(pfs_pyprof_is_app(r.p, c, main_));
		T_ASSERT(!pfs_pyprof_is_app(r.p, c, th));
		T_ASSERT(!pfs_pyprof_is_app(r.p, c, 0));
	}
	{
		uint32_t cell = find_path_leaf(&r, "cell");
		T_ASSERT(pfs_pyprof_is_app(r.p, c, cell));
		T_ASSERT(pfs_pyprof_is_app(r.p, c, pfs_profile_pathget(r.p, cell)->parent));
	}
	/* the weighted "ex" is the <string> under the library frame: it is library code */
	T_ASSERT(!pfs_pyprof_is_app(r.p, c, find_path_leaf(&r, "ex")));
	res_free(&r);
}

static void test_json_and_html_pages(void)
{
	struct res a, b;
	size_t n;
	char *json = slurp(t_fixture("pyinstrument/flask-testclient.json"), &n);
	char *page;
	const char *path;
	/* 3.x/4.x pages: the JSON renderer output assigned to window.profileSession */
	page = pfs_xmalloc(n + 200);
	snprintf(page, n + 200,
		 "<!DOCTYPE html>\n<html><body><div id=\"app\"></div><script>\n"
		 "window.profileSession = %s\n</script><script>var x = {};</script></body></html>",
		 json);
	path = tmp_str("page4.html", page);
	T_EQ(pfs_pyprof_detect(path, NULL), PFS_PYPROF_HTML);
	load(&a, t_fixture("pyinstrument/flask-testclient.json"));
	load(&b, path);
	T_EQ(a.rc, 0);
	T_EQ(b.rc, 0);
	T_EQ(a.m.caps[0].kind, PFS_PYPROF_JSON);
	T_EQ(b.m.caps[0].kind, PFS_PYPROF_HTML);
	T_EQ(a.rows, b.rows);
	T_ASSERT(fabs(a.m.weight - b.m.weight) < 1e-9);
	T_ASSERT(fabs(a.m.weight - a.m.caps[0].duration) <= 0.01 * a.m.caps[0].duration);
	T_EQ(pfs_profile_n_paths(a.p), pfs_profile_n_paths(b.p));
	res_free(&a);
	res_free(&b);
	free(page);
	free(json);

	/* 5.x pages: JSONForHTMLRenderer data assigned to const sessionData, after the bundle */
	json = slurp(t_fixture("pyinstrument/html-renderer-data/wikipedia_article_word_count.json"),
		     &n);
	page = pfs_xmalloc(n + 300);
	snprintf(page, n + 300,
		 "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body>"
		 "<div id=\"app\"></div><script>var pyinstrumentHTMLRenderer={render(){}};</script>"
		 "<script>\n const sessionData = %s;\n pyinstrumentHTMLRenderer.render("
		 "document.getElementById('app'), sessionData);</script></body></html>",
		 json);
	path = tmp_str("page5.html", page);
	load(&a, t_fixture("pyinstrument/html-renderer-data/wikipedia_article_word_count.json"));
	load(&b, path);
	T_EQ(a.rc, 0);
	T_EQ(b.rc, 0);
	T_EQ(a.rows, b.rows);
	T_ASSERT(fabs(a.m.weight - b.m.weight) < 1e-9);
	T_EQ(b.m.caps[0].version, 5);
	res_free(&a);
	res_free(&b);
	free(page);
	free(json);
}

static void test_speedscope_sampled(void)
{
	struct res r;
	const char *f = tmp_str(
	    "pyspy.speedscope.json",
	    "{\"$schema\": \"https://www.speedscope.app/file-format-schema.json\", "
	    "\"profiles\": [{\"type\": \"sampled\", \"name\": \"MainThread\", \"unit\": \"none\", "
	    "\"startValue\": 0, \"endValue\": 4, \"samples\": [[0, 1], [0, 1, 2], [0]], "
	    "\"weights\": [1.0, 2.0, 1.0]}, {\"type\": \"sampled\", \"name\": \"worker\", "
	    "\"unit\": "
	    "\"none\", \"startValue\": 0, \"endValue\": 3, \"samples\": [[2]], \"weights\": [3]}], "
	    "\"shared\": {\"frames\": [{\"name\": \"<module>\", \"file\": \"a.py\", \"line\": 1}, "
	    "{\"name\": \"f\", \"file\": \"a.py\", \"line\": 4}, {\"name\": \"g\", \"file\": "
	    "\"b.py\", \"line\": 9, \"col\": 2}]}, \"exporter\": \"py-spy@0.3.14\", \"name\": "
	    "\"py-spy\", \"activeProfileIndex\": 0}");
	load(&r, f);
	T_EQ(r.rc, 0);
	T_EQ(r.m.caps[0].unit, PFS_PYPROF_SAMPLES);
	T_EQ(r.rows, 4);
	T_ASSERT(fabs(r.m.weight - 7) < 1e-12);
	T_ASSERT(fabs(leaf_weight(&r, "g") - 5) < 1e-12);
	T_EQ(pfs_profile_n_threads(r.p), 2);
	T_STREQ(str(&r, pfs_profile_thread(r.p, 0, 2)->comm), "worker");
	T_EQ(leaf(&r, find_path_leaf(&r, "f"))->line, 4);
	res_free(&r);
}

static void test_speedscope_evented_units(void)
{
	struct res r;
	const char *f = tmp_str(
	    "ms.speedscope.json",
	    "{\"shared\": {\"frames\": [{\"name\": \"a\"}, {\"name\": \"b\"}]}, \"profiles\": [{"
	    "\"type\": \"evented\", \"unit\": \"milliseconds\", \"startValue\": 10, \"endValue\": "
	    "40, \"events\": [{\"type\": \"O\", \"frame\": 0, \"at\": 10}, {\"at\": 20, \"type\": "
	    "\"O\", \"frame\": 1}, {\"type\": \"C\", \"frame\": 1, \"at\": 35}, {\"type\": \"C\", "
	    "\"frame\": 0, \"at\": 40}]}]}");
	load(&r, f);
	T_EQ(r.rc, 0);
	T_EQ(r.m.caps[0].unit, PFS_PYPROF_SECONDS);
	T_ASSERT(fabs(r.m.caps[0].duration - 0.030) < 1e-12);
	T_ASSERT(fabs(leaf_weight(&r, "a") - 0.015) < 1e-12);
	T_ASSERT(fabs(leaf_weight(&r, "b") - 0.015) < 1e-12);
	res_free(&r);
}

static void test_folded(void)
{
	struct res r;
	uint32_t p;
	const char *f = tmp_str("stacks.txt", "main;serve (app.py:12);parse (json/dec.py:3) 7\r\n"
					      "\nmain;idle 3\nmain;serve (app.py:12) 2");
	load(&r, f);
	T_EQ(r.rc, 0);
	T_EQ(r.m.caps[0].kind, PFS_PYPROF_FOLDED);
	T_EQ(r.m.caps[0].unit, PFS_PYPROF_SAMPLES);
	T_EQ(r.rows, 3);
	T_ASSERT(fabs(r.m.weight - 12) < 1e-12);
	p = find_path_leaf(&r, "parse");
	T_STREQ(str(&r, leaf(&r, p)->file), "json/dec.py");
	T_EQ(leaf(&r, p)->line, 3);
	T_EQ(pfs_profile_pathget(r.p, p)->depth, 3);
	T_ASSERT(fabs(leaf_weight(&r, "serve") - 2) < 1e-12);
	res_free(&r);
}

static void test_directory(void)
{
	struct res r;
	struct pfs_pyprof_dir d;
	struct pfs_diag dg;
	struct pfs_err e;
	struct pfs_pyprof_opts o = {.merge = true};
	double sum = 0;
	pfs_diag_init(&dg);
	T_EQ(pfs_pyprof_dir_scan(t_fixture("pyinstrument/per-request"), &d, &dg, &e), 30);
	T_EQ(pfs_diag_count(&dg, "duplicate-rendering"), 30);
	for (size_t i = 0; i < d.n; i++)
		T_EQ(d.v[i].kind, PFS_PYPROF_SESSION);
	T_STREQ(d.v[0].label, "0001-cpu.pyisession");
	pfs_pyprof_dir_release(&d);
	pfs_diag_release(&dg);

	memset(&r, 0, sizeof(r));
	load_opts(&r, t_fixture("pyinstrument/per-request"), &o);
	T_EQ(r.rc, 0);
	T_EQ(r.m.kind, PFS_PYPROF_DIR);
	T_EQ(r.m.n_caps, 30);
	for (size_t i = 0; i < r.m.n_caps; i++) {
		const struct pfs_pyprof_capture *c = &r.m.caps[i];
		T_EQ(c->tid, i + 1);
		T_EQ(c->rows, c->sample_count);
		T_STREQ(str(&r, pfs_profile_thread(r.p, 0, c->tid)->comm), str(&r, c->label));
		sum += c->weight;
	}
	T_ASSERT(fabs(sum - r.m.weight) < 1e-9);
	T_EQ(pfs_profile_n_events(r.p), 1);
	res_free(&r);

	memset(&r, 0, sizeof(r));
	load(&r, t_fixture("pyinstrument/per-request"));
	T_EQ(r.rc, PFS_EUSAGE);
	res_free(&r);
	/* a merge of a sampled and a wall-time capture: no total weight, two events */
	mkdir("tests/out/unit-pyprof/mixdir", 0777);
	tmp_str("mixdir/a.folded", "main;f 3\n");
	tmp_str("mixdir/b.speedscope.json", "{\"shared\": {\"frames\": []}, \"profiles\": []}");
	tmp_str("mixdir/c.pyisession",
		"{\"start_time\": 1, \"duration\": 1, \"sample_count\": 1, \"program\": \"p\", "
		"\"frame_records\": [[[\"f\\u0000a.py\\u00001\"], 0.5]]}");
	memset(&r, 0, sizeof(r));
	load_opts(&r, "tests/out/unit-pyprof/mixdir", &o);
	T_EQ(r.rc, 0);
	T_EQ(r.m.n_caps, 3);
	T_EQ(r.m.unit, PFS_PYPROF_UNIT_NONE);
	T_ASSERT(isnan(r.m.weight));
	T_EQ(pfs_diag_count(&r.d, "mixed-units"), 1);
	T_EQ(pfs_profile_n_events(r.p), 2);
	T_EQ(r.m.caps[0].tid, 1);
	T_EQ(r.m.caps[1].tid, 2);
	T_EQ(r.m.caps[2].tid, 3);
	res_free(&r);
	mkdir("tests/out/unit-pyprof/emptydir", 0777);
	load(&r, "tests/out/unit-pyprof/emptydir");
	o.merge = true;
	res_free(&r);
	memset(&r, 0, sizeof(r));
	load_opts(&r, "tests/out/unit-pyprof/emptydir", &o);
	T_EQ(r.rc, PFS_EFORMAT);
	T_ASSERT(strstr(r.e.msg, "emptydir") && strstr(r.e.msg, "no pyinstrument"));
	res_free(&r);
}

/* Bad input: each fails with the right code, names the file, and says where. */
static void test_errors(void)
{
	static const struct {
		const char *name, *text;
		int code;
		const char *want;
	} cases[] = {
	    {"huge.pyisession",
	     "{\"start_time\": 1, \"duration\": 1e999, \"sample_count\": 1, \"frame_records\": []}",
	     PFS_ELIMIT, "'duration'"},
	    {"bigcount.pyisession",
	     "{\"frame_records\": [], \"sample_count\": 123456789012345678901234567890}",
	     PFS_ELIMIT, "'sample_count'"},
	    {"negw.pyisession", "{\"frame_records\": [[[\"a\\u0000b\\u00001\"], -1]]}", PFS_ELIMIT,
	     "'frame_records'"},
	    {"type.pyisession", "{\"frame_records\": [[[1], 0.1]]}", PFS_EFORMAT,
	     "expected string (frame), got number"},
	    {"rec3.pyisession", "{\"frame_records\": [[[], 0.1, 2]]}", PFS_EFORMAT,
	     "element 2 of a record"},
	    {"rec1.pyisession", "{\"frame_records\": [[[]]]}", PFS_EFORMAT, "[stack, seconds]"},
	    {"missing.pyisession", "{\"frame_records\": [], \"program\": \"x\"}", PFS_EFORMAT,
	     "missing key 'duration'"},
	    {"mixed.json", "{\"frame_records\": [], \"root_frame\": null}", PFS_EFORMAT,
	     "'root_frame' does not belong"},
	    {"node.json",
	     "{\"start_time\": 1, \"duration\": 1, \"sample_count\": 1, \"program\": \"p\", "
	     "\"root_frame\": {\"function\": \"f\", \"children\": []}}",
	     PFS_EFORMAT, "without 'time'"},
	    {"nodeorder.json", "{\"root_frame\": {\"time\": 1, \"children\": []}}", PFS_EFORMAT,
	     "before its children"},
	    {"sstype.json", "{\"shared\": {\"frames\": []}, \"profiles\": [{\"type\": \"flame\"}]}",
	     PFS_EUNSUPP, "profile type 'flame'"},
	    {"ssunit.json",
	     "{\"shared\": {\"frames\": []}, \"profiles\": [{\"type\": \"sampled\", \"unit\": "
	     "\"bytes\"}]}",
	     PFS_EUNSUPP, "unit 'bytes'"},
	    {"ssframe.json",
	     "{\"shared\": {\"frames\": [{\"name\": \"a\"}]}, \"profiles\": [{\"type\": "
	     "\"sampled\", \"unit\": \"none\", \"samples\": [[0, 3]], \"weights\": [1]}]}",
	     PFS_EFORMAT, "frame index 3 beyond the 1"},
	    {"ssn.json",
	     "{\"shared\": {\"frames\": [{\"name\": \"a\"}]}, \"profiles\": [{\"type\": "
	     "\"sampled\", \"unit\": \"none\", \"samples\": [[0]], \"weights\": [1, 2]}]}",
	     PFS_EFORMAT, "1 samples but 2 weights"},
	    {"ssclose.json",
	     "{\"shared\": {\"frames\": [{\"name\": \"a\"}, {\"name\": \"b\"}]}, \"profiles\": "
	     "[{\"type\": \"evented\", \"unit\": \"seconds\", \"events\": [{\"type\": \"O\", "
	     "\"frame\": 0, \"at\": 0}, {\"type\": \"C\", \"frame\": 1, \"at\": 1}]}]}",
	     PFS_EFORMAT, "closes frame 1"},
	    {"ssback.json",
	     "{\"shared\": {\"frames\": [{\"name\": \"a\"}]}, \"profiles\": [{\"type\": "
	     "\"evented\", \"unit\": \"seconds\", \"events\": [{\"type\": \"O\", \"frame\": 0, "
	     "\"at\": 5}, {\"type\": \"C\", \"frame\": 0, \"at\": 1}]}]}",
	     PFS_EFORMAT, "before"},
	    {"ssnoshared.json", "{\"profiles\": []}", PFS_EFORMAT, "missing key 'shared'"},
	    {"top.json", "[1, 2]", PFS_EFORMAT, "'top level': expected object, got array"},
	    {"other.json", "{\"name\": 1, \"x\": [1, {\"y\": 2}]}", PFS_EFORMAT,
	     "without the keys"},
	    {"badjson.pyisession", "{\"frame_records\": [}", PFS_EFORMAT, "invalid JSON"},
	    {"folded.txt", "a;b 1\na;b x\n", PFS_EFORMAT, "line 2"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct res r;
		const char *path = tmp_str(cases[i].name, cases[i].text);
		load(&r, path);
		if (r.rc != cases[i].code || !strstr(r.e.msg, cases[i].want) ||
		    !strstr(r.e.msg, cases[i].name))
			t_fail(__FILE__, __LINE__,
			       "%s: rc %d, want %d; message \"%s\" lacks \"%s\"", cases[i].name,
			       r.rc, cases[i].code, r.e.msg, cases[i].want);
		T_ASSERT(!r.m.caps && !r.m.n_caps);
		res_free(&r);
	}
}

static void test_deep_nesting(void)
{
	size_t n = 30000;
	char *s = pfs_xmalloc(2 * n + 64);
	struct res r;
	size_t k = (size_t)sprintf(s, "{\"start_call_stack\": ");
	memset(s + k, '[', n);
	memset(s + k + n, ']', n);
	strcpy(s + k + 2 * n, "}");
	load(&r, tmp_str("deep.pyisession", s));
	T_EQ(r.rc, PFS_ELIMIT);
	T_ASSERT(strstr(r.e.msg, "nested deeper") && strstr(r.e.msg, "offset"));
	res_free(&r);
	free(s);
}

static void test_sink_stops(void)
{
	struct res r;
	memset(&r, 0, sizeof(r));
	r.stop_after = 5;
	load_opts(&r, t_fixture("pyinstrument/flask-testclient.pyisession"), NULL);
	T_EQ(r.rc, PFS_EDB);
	T_EQ(r.rows, 5);
	T_ASSERT(!r.m.caps);
	res_free(&r);
}

/* Cuts and byte flips anywhere: a clean error or a clean load, never a crash (SAN=1 checks
 * memory); a cut JSON file never loads. */
static void sweep_path(const char *rel, const char *src, bool cut_fails, size_t cuts, size_t flips)
{
	size_t n;
	char *orig = slurp(src, &n);
	char *mut = pfs_xmalloc(n);
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	const char *name = strrchr(rel, '/') + 1;
	char tname[300];
	snprintf(tname, sizeof(tname), "sweep-%s", name);
	for (size_t i = 0; i < cuts + flips; i++) {
		struct res r;
		size_t len = n;
		const char *path;
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		memcpy(mut, orig, n);
		if (i < cuts) {
			/* every early offset (headers), then spread over the file */
			len = i < 64 ? i : (size_t)((seed >> 11) % n);
		} else {
			size_t at = (size_t)((seed >> 11) % n);
			mut[at] = (char)(mut[at] ^ (char)(1u << ((seed >> 5) & 7)));
		}
		path = tmp_write(tname, mut, len);
		load(&r, path);
		if (r.rc < 0 && !strstr(r.e.msg, tname))
			t_fail(__FILE__, __LINE__, "%s: message without the file name: %s", rel,
			       r.e.msg);
		if (cut_fails && i < cuts && r.rc == 0)
			t_fail(__FILE__, __LINE__, "%s cut at %zu of %zu loaded", rel, len, n);
		if (r.rc < 0)
			T_ASSERT(!r.m.caps);
		res_free(&r);
	}
	free(mut);
	free(orig);
}

static void sweep(const char *rel, size_t cuts, size_t flips)
{
	sweep_path(rel, t_fixture(rel), true, cuts, flips);
}

static void test_sweep_small(void)
{
	sweep("pyinstrument/per-request/0002-alloc.pyisession", 200, 300);
	sweep("pyinstrument/per-request/0001-cpu.json", 150, 200);
	sweep("pyinstrument/flask-testclient.speedscope.json", 150, 250);
	sweep("pyinstrument/flask-testclient.json", 150, 200);
	sweep("pyinstrument/html-renderer-data/wikipedia_article_word_count.json", 150, 200);
}

/* Pages and folded stacks, made from the fixtures: a cut page may still hold a whole value and
 * a cut folded file is folded stacks, so only crashes and message shape are checked. */
static void test_sweep_made(void)
{
	size_t n;
	char *json = slurp(t_fixture("pyinstrument/per-request/0001-cpu.json"), &n);
	char *page = pfs_xmalloc(n + 200);
	int k = snprintf(
	    page, n + 200,
	    "<html><body><script>\nwindow.profileSession = %s\n</script></body></html>", json);
	tmp_write("made/page.html", page, (size_t)k);
	sweep_path("made/page.html", "tests/out/unit-pyprof/made/page.html", false, 150, 200);
	tmp_str("made/stacks.folded", "main;serve (app.py:12);parse (json/dec.py:3) 7\n"
				      "main;idle 3\nmain;serve (app.py:12) 2\nmain;x;y;z 1\n");
	sweep_path("made/stacks.folded", "tests/out/unit-pyprof/made/stacks.folded", false, 90,
		   100);
	free(page);
	free(json);
}

static void test_sweep_large(void)
{
	sweep("pyinstrument/flask-testclient.pyisession", 12, 12);
	sweep("pyinstrument/html-renderer-data/django_template_render.json", 20, 20);
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
	    T_CASE(detect_fixtures),
	    T_CASE(session_fixture_totals),
	    T_CASE(session_v3),
	    T_CASE(session_v4_synthetic),
	    T_CASE(session_attributes),
	    T_CASE(frame_string_edges),
	    T_CASE(invalid_utf8),
	    T_CASE(is_app),
	    T_CASE(json_and_html_pages),
	    T_CASE(speedscope_sampled),
	    T_CASE(speedscope_evented_units),
	    T_CASE(folded),
	    T_CASE(directory),
	    T_CASE(errors),
	    T_CASE(deep_nesting),
	    T_CASE(sink_stops),
	    T_CASE(sweep_small),
	    T_CASE(sweep_made),
	    T_CASE(sweep_large),
	};
	return t_main(argc, argv, "pyprof", cases, sizeof(cases) / sizeof(cases[0]));
}
