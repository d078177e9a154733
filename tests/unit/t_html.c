/*
 * html and folded: the report and SVG writers on hostile data, their failure modes, the
 * aggregated tree and the folded reader. Templates come from the repository's
 * report-templates/ or from broken copies made in the test's scratch directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "diag.h"
#include "folded.h"
#include "harness.h"
#include "html.h"

#define TEMPLATES "report-templates"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = (size_t)n;
	return buf;
}

static void spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	T_ASSERT(f);
	T_EQ(fwrite(text, 1, strlen(text), f), strlen(text));
	T_EQ(fclose(f), 0);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static const char *out_path(const char *name)
{
	static char buf[512];
	snprintf(buf, sizeof(buf), "%s/%s", t_tmpdir(), name);
	return buf;
}

/* A copy of the templates with one file replaced by text (NULL: removed). */
static const char *broken_templates(const char *tag, const char *file, const char *text)
{
	static char dir[512];
	static const char *const files[] = {"report.html",	 "report.css", "report.js",
					    "flamegraph.svg.js", "page.js",    "flame.js"};
	char src[600], dst[600];
	snprintf(dir, sizeof(dir), "%s/tpl-%s", t_tmpdir(), tag);
	mkdir(dir, 0755);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(dst, sizeof(dst), "%s/%s", dir, files[i]);
		if (!strcmp(files[i], file)) {
			if (text)
				spit(dst, text);
			else
				remove(dst);
			continue;
		}
		snprintf(src, sizeof(src), "%s/%s", TEMPLATES, files[i]);
		char *body = slurp(src, NULL);
		T_ASSERT(body);
		spit(dst, body);
		free(body);
	}
	return dir;
}

static const char hostile_json[] =
    "{\"version\":1,\"meta\":{\"title\":\"</script><script>alert(1)</script>\","
    "\"command\":\"<img src=x onerror=alert(1)> & 'q' \\\"dq\\\" \xe2\x80\xa8 \xe2\x80\xa9\"},"
    "\"strings\":[\"all\",\"<!--\",\"</SCRIPT >\",\"caf\xc3\xa9 \xf0\x9f\x90\x8d\"],"
    "\"processes\":[]}";

static void test_report_escapes_data(void)
{
	struct pfs_err err;
	const char *out = out_path("hostile.html");
	T_EQ(pfs_html_write_report(TEMPLATES, hostile_json, strlen(hostile_json),
				   "na\xc3\xafve <b>title</b> & \"q\"", out, &err),
	     0);
	char *html = slurp(out, NULL);
	T_ASSERT(html);
	/* the data's own closing tags and comment openers are all \u-escaped */
	T_EQ(count(html, "<script"), 2);
	T_EQ(count(html, "</script>"), 2);
	T_ASSERT(strstr(html, "\\u003c/script\\u003e\\u003cscript\\u003ealert(1)"));
	T_ASSERT(strstr(html, "\\u003cimg src=x onerror=alert(1)\\u003e \\u0026 'q'"));
	T_ASSERT(strstr(html, "\\u003c!--"));
	T_ASSERT(strstr(html, "\\u003c/SCRIPT \\u003e"));
	T_ASSERT(strstr(html, "\\u2028 \\u2029"));
	T_ASSERT(!strstr(html, "\xe2\x80\xa8"));
	T_ASSERT(!strstr(html, "<img"));
	/* other characters stay UTF-8: an entity inside <script> would never be decoded */
	T_ASSERT(strstr(html, "\"caf\xc3\xa9 \xf0\x9f\x90\x8d\""));
	T_ASSERT(strstr(html, "<title>na\xc3\xafve "));
	T_ASSERT(strstr(html, "\xc3\x97"));
	T_ASSERT(!strstr(html, "&times;"));
	/* the title is text in <title> and <h1> */
	T_EQ(count(html, "&lt;b&gt;title&lt;/b&gt; &amp; \"q\""), 2);
	T_ASSERT(!strstr(html, "data-pfs-fill=\""));
	free(html);
}

static void test_report_csp_nonce(void)
{
	struct pfs_err err;
	const char *out = out_path("csp.html");
	T_EQ(pfs_html_write_report(TEMPLATES, "{}", 2, NULL, out, &err), 0);
	char *html = slurp(out, NULL);
	T_ASSERT(html);
	const char *csp = strstr(html, "http-equiv=\"Content-Security-Policy\" content=\"");
	T_ASSERT(csp);
	T_ASSERT(
	    !strncmp(strstr(csp, "content=\"") + 9, "default-src 'none'; script-src 'nonce-", 38));
	char nonce[33] = {0};
	memcpy(nonce, strstr(csp, "'nonce-") + 7, 32);
	char want[64];
	snprintf(want, sizeof(want), "nonce=\"%s\"", nonce);
	/* the stylesheet and the script carry it; the data block needs none */
	T_EQ(count(html, want), 2);
	T_ASSERT(strstr(html, "<title>perfsight report</title>"));
	/* nothing in the page may name another location */
	T_ASSERT(!strstr(html, "http://") ||
		 strstr(html, "http://") == strstr(html, "http://www.w3"));
	T_ASSERT(!strstr(html, "https://"));
	free(html);
}

static void test_report_rejects_bad_data(void)
{
	struct pfs_err err;
	const char *out = out_path("keep.html");
	spit(out, "earlier report");
	T_EQ(pfs_html_write_report(TEMPLATES, "{\"a\":\"\0\"}", 9, NULL, out, &err), PFS_EFORMAT);
	T_ASSERT(strstr(err.msg, "NUL"));
	T_EQ(pfs_html_write_report(TEMPLATES, "{\"a\":\"\xff\"}", 9, NULL, out, &err), PFS_EFORMAT);
	T_ASSERT(strstr(err.msg, "UTF-8"));
	/* a failed render leaves the earlier file as it was */
	char *keep = slurp(out, NULL);
	T_STREQ(keep, "earlier report");
	free(keep);
}

static void test_report_rejects_bad_templates(void)
{
	struct pfs_err err;
	const char *out = out_path("bad.html");
	const char *d = broken_templates("js", "report.js", "var s = '</script>';\n");
	T_EQ(pfs_html_write_report(d, "{}", 2, NULL, out, &err), PFS_EFORMAT);
	d = broken_templates("css", "report.css", "a::after { content: '</STYLE>'; }\n");
	T_EQ(pfs_html_write_report(d, "{}", 2, NULL, out, &err), PFS_EFORMAT);
	d = broken_templates("xml", "report.html", "<html><body><p>unclosed</body></html>");
	T_EQ(pfs_html_write_report(d, "{}", 2, NULL, out, &err), PFS_EFORMAT);
	T_ASSERT(strstr(err.msg, "well-formed"));
	d = broken_templates("fill", "report.html",
			     "<html><head><title data-pfs-fill=\"title\">x</title></head></html>");
	T_EQ(pfs_html_write_report(d, "{}", 2, NULL, out, &err), PFS_EFORMAT);
	T_ASSERT(strstr(err.msg, "data-pfs-fill=\"csp\""));
	d = broken_templates("gone", "report.css", NULL);
	T_EQ(pfs_html_write_report(d, "{}", 2, NULL, out, &err), PFS_EIO);
	T_ASSERT(strstr(err.msg, "report.css"));
	/* a script shared by the pages is checked as the page's own */
	d = broken_templates("flame", "flame.js", "var s = '</script>';\n");
	T_EQ(pfs_html_write_report(d, "{}", 2, NULL, out, &err), PFS_EFORMAT);
	d = broken_templates("nopage", "page.js", NULL);
	T_EQ(pfs_html_write_report(d, "{}", 2, NULL, out, &err), PFS_EIO);
	T_ASSERT(strstr(err.msg, "page.js"));
}

static void test_tree_child_and_totals(void)
{
	struct pfs_fg_tree t;
	pfs_fg_tree_init(&t);
	size_t a = pfs_fg_tree_child(&t, 0, "main", 4, PFS_KIND_NATIVE);
	size_t b = pfs_fg_tree_child(&t, a, "work;x", 4, PFS_KIND_PYTHON);
	T_EQ(pfs_fg_tree_child(&t, 0, "main", 4, PFS_KIND_NATIVE), a);
	T_EQ(pfs_fg_tree_child(&t, a, "work", 4, PFS_KIND_PYTHON), b);
	/* same name, other kind or other parent: another node */
	T_ASSERT(pfs_fg_tree_child(&t, a, "work", 4, PFS_KIND_GC) != b);
	T_ASSERT(pfs_fg_tree_child(&t, 0, "work", 4, PFS_KIND_PYTHON) != b);
	/* enough children to rehash several times, each found again afterwards */
	char name[32];
	for (int i = 0; i < 5000; i++) {
		int n = snprintf(name, sizeof(name), "f%d", i);
		size_t k = pfs_fg_tree_child(&t, b, name, (size_t)n, PFS_KIND_NATIVE);
		t.v[k].self += 1;
	}
	for (int i = 0; i < 5000; i += 499) {
		int n = snprintf(name, sizeof(name), "f%d", i);
		size_t k = pfs_fg_tree_child(&t, b, name, (size_t)n, PFS_KIND_NATIVE);
		T_EQ(t.v[k].parent, b);
		T_EQ(t.v[k].self, 1);
	}
	t.v[b].self = 7;
	pfs_fg_tree_totals(&t);
	T_EQ(t.v[b].total, 5007);
	T_EQ(t.v[0].total, 5007);
	T_STREQ(t.v[b].name, "work");
	pfs_fg_tree_release(&t);
}

static void test_folded_read(void)
{
	static const char in[] = "py::handler:/srv/app/app.py;gc_collect_main;visit_decref 5\n"
				 "py::handler:/srv/app/app.py;take_gil 3\r\n"
				 "\n"
				 "no count here\n"
				 "a;b x7\n"
				 " 4\n"
				 "main;do_syscall_64_[k] 2";
	struct pfs_fg_tree t;
	struct pfs_diag d;
	struct pfs_err err;
	pfs_fg_tree_init(&t);
	pfs_diag_init(&d);
	T_EQ(pfs_folded_read(in, sizeof(in) - 1, &t, &d, &err), 3);
	T_EQ(pfs_diag_count(&d, "folded-bad-line"), 3);
	T_EQ(t.v[0].total, 10);
	size_t h = pfs_fg_tree_child(&t, 0, "py::handler:/srv/app/app.py", 27, PFS_KIND_PYTHON);
	T_EQ(t.v[h].total, 8);
	T_EQ(t.n, 7);
	T_EQ(pfs_folded_kind("gc_collect_main", 15), PFS_KIND_GC);
	T_EQ(pfs_folded_kind("take_gil", 8), PFS_KIND_GIL);
	T_EQ(pfs_folded_kind("do_syscall_64_[k]", 17), PFS_KIND_KERNEL);
	T_EQ(pfs_folded_kind("_PyEval_EvalFrameDefault", 24), PFS_KIND_INTERP);
	T_EQ(pfs_folded_kind("py::get:/usr/lib/python3.12/site-packages/x.py", 46),
	     PFS_KIND_LIBRARY);
	T_EQ(pfs_folded_kind("memcpy", 6), PFS_KIND_NATIVE);
	pfs_diag_release(&d);
	pfs_fg_tree_release(&t);
}

/* F1 of the fuzz findings: a name with a NUL where a stored name ends was read past its end */
static void test_folded_nul(void)
{
	static const char in[] = "main 1\nmain\0xy;a 2\nmain;a\0 3\nmain;a 4\n";
	struct pfs_fg_tree t;
	struct pfs_diag d;
	struct pfs_err err;
	pfs_fg_tree_init(&t);
	pfs_diag_init(&d);
	T_EQ(pfs_folded_read(in, sizeof(in) - 1, &t, &d, &err), 2);
	T_EQ(pfs_diag_count(&d, "folded-bad-line"), 2);
	T_EQ(t.v[0].total, 5);
	T_EQ(t.n, 3);
	/* the tree itself cuts a name at a NUL, as it stores it */
	size_t m = pfs_fg_tree_child(&t, 0, "main", 4, PFS_KIND_NATIVE);
	T_EQ(pfs_fg_tree_child(&t, 0, "main\0xyz", 8, PFS_KIND_NATIVE), m);
	T_EQ(pfs_fg_tree_child(&t, m, "a\0", 2, PFS_KIND_NATIVE),
	     pfs_fg_tree_child(&t, m, "a", 1, PFS_KIND_NATIVE));
	T_EQ(t.n, 3);
	pfs_diag_release(&d);
	pfs_fg_tree_release(&t);
}

/* F9: a line deeper than 100,000 frames or longer than 1 MiB is a bad line, as for pyprof */
static void test_folded_limits(void)
{
	size_t n = 100001, len = 2 * n + 8;
	char *in = malloc(len * 2 + 16), *p = in;
	struct pfs_fg_tree t;
	struct pfs_diag d;
	struct pfs_err err;
	T_ASSERT(in);
	for (int k = 0; k < 2; k++) { /* 100,001 frames, then 100,000 */
		for (size_t i = 0; i < n - (size_t)k; i++) {
			*p++ = 'a';
			*p++ = ';';
		}
		p[-1] = ' ';
		*p++ = '1';
		*p++ = '\n';
	}
	pfs_fg_tree_init(&t);
	pfs_diag_init(&d);
	T_EQ(pfs_folded_read(in, (size_t)(p - in), &t, &d, &err), 1);
	T_EQ(pfs_diag_count(&d, "folded-bad-line"), 1);
	T_EQ(t.n, 100001); /* the root and the 100,000 frames of the second line */
	pfs_diag_release(&d);
	pfs_fg_tree_release(&t);
	/* a line of 1 MiB + 1 bytes */
	free(in);
	len = ((size_t)1 << 20) + 1;
	in = malloc(len + 1);
	T_ASSERT(in);
	memset(in, 'x', len);
	memcpy(in + len - 2, " 1", 2);
	pfs_fg_tree_init(&t);
	pfs_diag_init(&d);
	T_EQ(pfs_folded_read(in, len, &t, &d, &err), 0);
	T_EQ(pfs_diag_count(&d, "folded-bad-line"), 1);
	pfs_diag_release(&d);
	pfs_fg_tree_release(&t);
	free(in);
}

static void test_folded_overflow(void)
{
	static const char in[] =
	    "a 9223372036854775800\nb 9223372036854775800\nc 9223372036854775800\n";
	struct pfs_fg_tree t;
	struct pfs_diag d;
	struct pfs_err err;
	pfs_fg_tree_init(&t);
	pfs_diag_init(&d);
	T_EQ(pfs_folded_read(in, sizeof(in) - 1, &t, &d, &err), PFS_ELIMIT);
	T_EQ(err.off, 44);
	pfs_diag_release(&d);
	pfs_fg_tree_release(&t);
}

/* Random bytes biased toward the folded syntax: no crash, and the root total is exactly the
 * sum of the counts of the lines the reader accepted. */
static void test_folded_garbage(void)
{
	static const char alphabet[] = "ab;; 0123456789\n\r\t[k]_\xff\xc3";
	uint32_t seed = 12345;
	char buf[4096];
	for (int round = 0; round < 200; round++) {
		size_t n = 0;
		for (; n < sizeof(buf); n++) {
			seed = seed * 1103515245u + 12345u;
			buf[n] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		struct pfs_fg_tree t;
		struct pfs_diag d;
		struct pfs_err err;
		pfs_fg_tree_init(&t);
		pfs_diag_init(&d);
		long long lines = pfs_folded_read(buf, n, &t, &d, &err);
		T_ASSERT(lines >= 0 || lines == PFS_ELIMIT);
		if (lines >= 0) {
			uint64_t sum = 0;
			for (size_t i = 0; i < t.n; i++)
				sum += t.v[i].self;
			T_EQ(t.v[0].total, sum);
		}
		pfs_diag_release(&d);
		pfs_fg_tree_release(&t);
	}
}

static uint64_t attr_u64(const char *at, const char *name)
{
	const char *p = strstr(at, name);
	return p ? strtoull(p + strlen(name), NULL, 10) : UINT64_MAX;
}

static void test_svg_totals_and_other(void)
{
	struct pfs_fg_tree t;
	struct pfs_err err;
	pfs_fg_tree_init(&t);
	size_t m = pfs_fg_tree_child(&t, 0, "main", 4, PFS_KIND_NATIVE);
	size_t big = pfs_fg_tree_child(&t, m, "big", 3, PFS_KIND_PYTHON);
	t.v[big].self = 1000000;
	/* 300 tiny siblings: each far below a pixel at 800 px, together 300 samples */
	char name[32];
	for (int i = 0; i < 300; i++) {
		int n = snprintf(name, sizeof(name), "tiny%d", i);
		size_t k = pfs_fg_tree_child(&t, m, name, (size_t)n, PFS_KIND_NATIVE);
		t.v[k].self = 1;
	}
	pfs_fg_tree_totals(&t);
	struct pfs_fg_opts o = {.width = 800, .minwidth = 0.01, .title = "<T>", .hash = 1};
	const char *out = out_path("other.svg");
	T_EQ(pfs_html_write_flamegraph_svg(TEMPLATES, &t, &o, out, &err), 0);
	char *svg = slurp(out, NULL);
	T_ASSERT(svg);
	T_EQ(attr_u64(strstr(svg, "<g class=\"f\""), "data-samples=\""), 1000300);
	T_ASSERT(strstr(svg, "width=\"800\""));
	T_ASSERT(strstr(svg, "&lt;T&gt;"));
	/* every tiny frame gone from the picture, their sum kept as one [other] frame */
	T_ASSERT(!strstr(svg, "tiny1 "));
	const char *other = strstr(svg, "[other] (300 samples");
	T_ASSERT(other);
	T_EQ(count(svg, "<g class=\"f\""), 4);
	T_EQ(count(svg, "<![CDATA["), 1);
	free(svg);

	/* with no minimum every frame is drawn */
	o.minwidth = 0;
	T_EQ(pfs_html_write_flamegraph_svg(TEMPLATES, &t, &o, out, &err), 0);
	svg = slurp(out, NULL);
	T_EQ(count(svg, "<g class=\"f\""), 303);
	T_ASSERT(!strstr(svg, "[other]"));
	free(svg);
	pfs_fg_tree_release(&t);
}

static void test_svg_hostile_names(void)
{
	struct pfs_fg_tree t;
	struct pfs_err err;
	static const char evil[] = "<img src=x onerror=alert(1)>\x01\xff]]></script>";
	pfs_fg_tree_init(&t);
	size_t e = pfs_fg_tree_child(&t, 0, evil, sizeof(evil) - 1, PFS_KIND_PYTHON);
	t.v[e].self = 3;
	pfs_fg_tree_totals(&t);
	struct pfs_fg_opts o = {.minwidth = -1, .subtitle = evil, .inverted = 1};
	const char *out = out_path("hostile.svg");
	T_EQ(pfs_html_write_flamegraph_svg(TEMPLATES, &t, &o, out, &err), 0);
	char *svg = slurp(out, NULL);
	T_ASSERT(svg);
	T_ASSERT(!strstr(svg, "<img"));
	T_ASSERT(strstr(svg, "&lt;img src=x onerror=alert(1)&gt;\xef\xbf\xbd\xef\xbf\xbd]]&gt;"
			     "&lt;/script&gt;"));
	T_ASSERT(!strchr(svg, '\x01'));
	T_ASSERT(strstr(svg, "Icicle Graph"));
	T_EQ(count(svg, "<script"), 1);
	free(svg);
	pfs_fg_tree_release(&t);
}

static void test_svg_rejects(void)
{
	struct pfs_fg_tree t;
	struct pfs_err err;
	struct pfs_fg_opts o = {.minwidth = -1, .colors = "plaid"};
	pfs_fg_tree_init(&t);
	pfs_fg_tree_totals(&t);
	o.colors = NULL;
	T_EQ(pfs_html_write_flamegraph_svg(TEMPLATES, &t, &o, out_path("x.svg"), &err), PFS_EUSAGE);
	t.v[0].self = t.v[0].total = 1;
	o.colors = "plaid";
	T_EQ(pfs_html_write_flamegraph_svg(TEMPLATES, &t, &o, out_path("x.svg"), &err), PFS_EUSAGE);
	T_ASSERT(pfs_html_palette_ok("hot") && !pfs_html_palette_ok("plaid"));
	o.colors = "hot";
	const char *d = broken_templates("cdata", "flamegraph.svg.js", "var a = ']]>';\n");
	T_EQ(pfs_html_write_flamegraph_svg(d, &t, &o, out_path("x.svg"), &err), PFS_EFORMAT);
	T_EQ(pfs_html_write_flamegraph_svg(TEMPLATES, &t, &o, out_path("x.svg"), &err), 0);
	pfs_fg_tree_release(&t);
}

static void test_find_templates_env(void)
{
	struct pfs_err err;
	char *dir = NULL;
	setenv("PERFSIGHT_TEMPLATES", TEMPLATES, 1);
	T_EQ(pfs_html_find_templates(&dir, &err), 0);
	T_STREQ(dir, TEMPLATES);
	free(dir);
	setenv("PERFSIGHT_TEMPLATES", t_tmpdir(), 1);
	T_EQ(pfs_html_find_templates(&dir, &err), PFS_EIO);
	unsetenv("PERFSIGHT_TEMPLATES");
	/* the test binary sits in build/tests/: the source tree's templates are two levels up */
	T_EQ(pfs_html_find_templates(&dir, &err), 0);
	T_ASSERT(strstr(dir, "report-templates"));
	free(dir);
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
	    T_CASE(report_escapes_data),
	    T_CASE(report_csp_nonce),
	    T_CASE(report_rejects_bad_data),
	    T_CASE(report_rejects_bad_templates),
	    T_CASE(tree_child_and_totals),
	    T_CASE(folded_read),
	    T_CASE(folded_nul),
	    T_CASE(folded_limits),
	    T_CASE(folded_overflow),
	    T_CASE(folded_garbage),
	    T_CASE(svg_totals_and_other),
	    T_CASE(svg_hostile_names),
	    T_CASE(svg_rejects),
	    T_CASE(find_templates_env),
	};
	return t_main(argc, argv, "html", cases, sizeof(cases) / sizeof(cases[0]));
}
