#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgres.h"
#include "harness.h"
#include "pstats.h"
#include "xalloc.h"

/* A marshal writer for hand-made dumps: every type the reader takes, little-endian. */
struct mw {
	uint8_t b[4096];
	size_t n;
};

static void w8(struct mw *w, int v)
{
	T_ASSERT(w->n < sizeof(w->b));
	w->b[w->n++] = (uint8_t)v;
}

static void w32(struct mw *w, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		w8(w, (int)(v >> (8 * i) & 0xff));
}

static void wdbl(struct mw *w, double d)
{
	uint64_t u;
	memcpy(&u, &d, 8);
	for (int i = 0; i < 8; i++)
		w8(w, (int)(u >> (8 * i) & 0xff));
}

/* A short ASCII string ('z', or with type t). */
static void wstr(struct mw *w, int t, const char *s)
{
	size_t n = strlen(s);
	w8(w, t);
	if (t == 'z' || t == 'Z')
		w8(w, (int)n);
	else
		w32(w, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		w8(w, (uint8_t)s[i]);
}

static void wint(struct mw *w, int32_t v)
{
	w8(w, 'i');
	w32(w, (uint32_t)v);
}

static void parse(struct cg_res *r, const void *buf, size_t len)
{
	cg_res_parse(r, pfs_pstats_parse, buf, len);
}

static void load(struct cg_res *r, const char *path)
{
	cg_res_load(r, pfs_pstats_load, path);
}

/*
 * cProfile of tests/workloads/cg_app.py under every CPython 3.8-3.13: the call counts are the
 * workload's own (30 requests; fib(12) is 465 calls of which 1 primitive; even/odd alternate
 * i % 9 + 1 times), whatever the version.
 */
static void test_cprofile_fixtures(void)
{
	static const char *const v[] = {"38", "39", "310", "311", "312", "313"};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char path[128];
		struct cg_res r;
		snprintf(path, sizeof(path), "callgraph/cprofile-py%s.prof", v[i]);
		load(&r, t_fixture(path));
		if (r.rc)
			t_fail(__FILE__, __LINE__, "%s: %s", path, r.e.msg);
		T_EQ(pfs_cg_n_funcs(r.g), 24);
		T_EQ(pfs_cg_n_edges(r.g), 26);
		T_EQ(pfs_cg_total_calls(r.g, false), 14638);
		T_EQ(pfs_cg_total_calls(r.g, true), 632);
		uint32_t fib = cg_fn_named(r.g, "fib"), even = cg_fn_named(r.g, "even"),
			 odd = cg_fn_named(r.g, "odd"), handle = cg_fn_named(r.g, "handle");
		T_EQ(pfs_cg_func_get(r.g, fib)->calls, 30 * 465);
		T_EQ(pfs_cg_func_get(r.g, fib)->prim_calls, 30);
		T_ASSERT(pfs_cg_func_get(r.g, fib)->recursive);
		T_EQ(pfs_cg_func_get(r.g, even)->calls + pfs_cg_func_get(r.g, odd)->calls, 141);
		T_EQ(pfs_cg_func_get(r.g, odd)->prim_calls, 26);
		T_EQ(pfs_cg_func_get(r.g, handle)->calls, 30);
		T_EQ(pfs_cg_line(r.g, fib), 15);
		T_STREQ(pfs_cg_file(r.g, fib), "tests/workloads/cg_app.py");
		/* the caller edge handle -> fib: 30 calls, all primitive */
		uint32_t e = cg_edge_of(r.g, handle, fib);
		T_ASSERT(e != UINT32_MAX);
		T_EQ(pfs_cg_edge_get(r.g, e)->calls, 30);
		T_EQ(pfs_cg_edge_get(r.g, e)->prim_calls, 30);
		/* builtins are (~, 0, name) and the markup names are kept as they are */
		T_ASSERT(cg_fn_named(r.g, "<built-in method builtins.sorted>") != UINT32_MAX);
		T_ASSERT(cg_fn_named(r.g, "<img src=x onerror=\"alert(1)\">&amp;") != UINT32_MAX);
		T_EQ(pfs_cg_info(r.g)->marshal_version, 4);
		T_EQ(r.d.n, 0);
		cg_res_free(&r);
	}
}

/* profile.py dumps: plain call counts as caller values, and (3.12) a code object as a name. */
static void test_profile_module_code_objects(void)
{
	static const char *const v[] = {"callgraph/profile-py39.prof",
					"callgraph/profile-py312.prof"};
	for (size_t i = 0; i < 2; i++) {
		struct cg_res r;
		load(&r, t_fixture(v[i]));
		if (r.rc)
			t_fail(__FILE__, __LINE__, "%s: %s", v[i], r.e.msg);
		uint32_t f =
		    cg_fn_named(r.g, "<code object <module>, file \"tests/workloads/cg_app.py\", "
				     "line 1>");
		T_ASSERT(f != UINT32_MAX);
		uint32_t fib = cg_fn_named(r.g, "fib"), handle = cg_fn_named(r.g, "handle");
		uint32_t e = cg_edge_of(r.g, handle, fib);
		T_ASSERT(e != UINT32_MAX);
		T_EQ(pfs_cg_edge_get(r.g, e)->calls, 30);
		T_EQ(pfs_cg_edge_get(r.g, e)->prim_calls, PFS_CG_UNKNOWN);
		T_ASSERT(isnan(pfs_cg_edge_incl(r.g, e, 0)));
		cg_res_free(&r);
	}
}

/* pyinstrument writes -1 for the counts it does not have: unknown, and said once per entry. */
static void test_pyinstrument_shape(void)
{
	struct cg_res r;
	load(&r, t_fixture("callgraph/pyinstrument-shape.pstats"));
	T_EQ(r.rc, 0);
	T_EQ(pfs_cg_total_calls(r.g, false), PFS_CG_UNKNOWN);
	T_EQ(pfs_diag_count(&r.d, "calls-unknown"), 6);
	uint32_t q = cg_fn_named(r.g, "query");
	/* its two tree nodes: own 0.008 + 0.003, cumulative 0.011 + 0.003 */
	T_ASSERT(fabs(pfs_cg_self(r.g, q, 0) - 0.011) < 1e-15);
	T_ASSERT(fabs(pfs_cg_incl(r.g, q, 0) - 0.014) < 1e-15);
	cg_res_free(&r);
}

/*
 * Every type: short, long, interned and non-ASCII strings, bytes, small and long tuples, a
 * list, ints (int32, long, int64), binary and text floats, references (to a string and to a
 * whole key tuple), a plain-count caller, a -1 count, a key given twice, trailing bytes.
 * A container takes its reference number before its items: the key tuple is 1, its file 2.
 * (Python's marshal.loads reads these bytes as the same dict.)
 */
static void test_types_and_refs(void)
{
	struct mw w = {0};
	struct cg_res r;
	w8(&w, '{' | 0x80); /* ref 0: the dict */
	/* key 1: ("a.py", 1, "f"), the tuple flagged (ref 1), then its file (ref 2) */
	w8(&w, ')' | 0x80);
	w8(&w, 3);
	w8(&w, 'z' | 0x80);
	w8(&w, 4);
	memcpy(w.b + w.n, "a.py", 4);
	w.n += 4;
	wint(&w, 1);
	wstr(&w, 'Z', "f");
	/* value: [cc as long 3, nc as int64 5, tt binary, ct text, callers {}] */
	w8(&w, '[');
	w32(&w, 5);
	w8(&w, 'l');
	w32(&w, 1);
	w8(&w, 3);
	w8(&w, 0);
	w8(&w, 'I');
	w32(&w, 5);
	w32(&w, 0);
	w8(&w, 'g');
	wdbl(&w, 0.25);
	w8(&w, 'f');
	w8(&w, 4);
	memcpy(w.b + w.n, "0.75", 4);
	w.n += 4;
	w8(&w, '{');
	w8(&w, '0');
	/* key 2: ("a.py" by ref 2, 2, "é" as 'u') */
	w8(&w, '(');
	w32(&w, 3);
	w8(&w, 'r');
	w32(&w, 2);
	wint(&w, 2);
	w8(&w, 'u');
	w32(&w, 2);
	w8(&w, 0xc3);
	w8(&w, 0xa9);
	/* value: (-1, 7, 0.5, 1.0, {ref 1 (the key tuple of f): 7}) */
	w8(&w, ')');
	w8(&w, 5);
	wint(&w, -1);
	wint(&w, 7);
	w8(&w, 'g');
	wdbl(&w, 0.5);
	w8(&w, 'g');
	wdbl(&w, 1.0);
	w8(&w, '{');
	w8(&w, 'r');
	w32(&w, 1);
	wint(&w, 7);
	w8(&w, '0');
	/* key 1 again (by ref): its last entry counts */
	w8(&w, 'r');
	w32(&w, 1);
	w8(&w, ')');
	w8(&w, 5);
	wint(&w, 2);
	wint(&w, 9);
	w8(&w, 'g');
	wdbl(&w, 0.125);
	w8(&w, 'g');
	wdbl(&w, 0.5);
	w8(&w, '{');
	w8(&w, '0');
	w8(&w, '0');
	w8(&w, 'N'); /* after the dict: ignored, as Python ignores it */
	if (getenv("T_PSTATS_DUMP")) {
		FILE *f = fopen(getenv("T_PSTATS_DUMP"), "wb");
		fwrite(w.b, 1, w.n, f);
		fclose(f);
	}
	parse(&r, w.b, w.n);
	if (r.rc)
		t_fail(__FILE__, __LINE__, "%s", r.e.msg);
	T_EQ(pfs_cg_n_funcs(r.g), 2);
	uint32_t f = cg_fn_named(r.g, "f"), e = cg_fn_named(r.g, "\xc3\xa9");
	T_ASSERT(f != UINT32_MAX && e != UINT32_MAX);
	T_EQ(pfs_cg_func_get(r.g, f)->prim_calls, 2);
	T_EQ(pfs_cg_func_get(r.g, f)->calls, 9);
	T_ASSERT(pfs_cg_self(r.g, f, 0) == 0.125 && pfs_cg_incl(r.g, f, 0) == 0.5);
	T_EQ(pfs_cg_func_get(r.g, e)->prim_calls, PFS_CG_UNKNOWN);
	T_EQ(pfs_cg_func_get(r.g, e)->calls, 7);
	T_STREQ(pfs_cg_file(r.g, e), "a.py");
	T_EQ(pfs_cg_line(r.g, e), 2);
	uint32_t ed = cg_edge_of(r.g, f, e);
	T_ASSERT(ed != UINT32_MAX);
	T_EQ(pfs_cg_edge_get(r.g, ed)->calls, 7);
	T_EQ(pfs_diag_count(&r.d, "duplicate-key"), 1);
	T_EQ(pfs_diag_count(&r.d, "trailing-bytes"), 1);
	T_EQ(pfs_diag_count(&r.d, "calls-unknown"), 1);
	T_EQ(pfs_cg_info(r.g)->marshal_version, 4);
	T_EQ(pfs_cg_info(r.g)->refs, 3);
	T_EQ(pfs_cg_info(r.g)->ref_uses, 3);
	cg_res_free(&r);
}

/* A lone surrogate (Python's surrogateescape of a file name) becomes U+FFFD, counted. */
static void test_surrogates(void)
{
	struct mw w = {0};
	struct cg_res r;
	w8(&w, '{');
	w8(&w, ')');
	w8(&w, 3);
	w8(&w, 'u');
	w32(&w, 4);
	w8(&w, 'x');
	w8(&w, 0xed);
	w8(&w, 0xb3);
	w8(&w, 0xbf); /* U+DCFF */
	wint(&w, 0);
	wstr(&w, 'z', "g");
	w8(&w, ')');
	w8(&w, 5);
	wint(&w, 1);
	wint(&w, 1);
	wint(&w, 0);
	wint(&w, 0);
	w8(&w, '{');
	w8(&w, '0');
	w8(&w, '0');
	parse(&r, w.b, w.n);
	T_EQ(r.rc, 0);
	T_STREQ(pfs_cg_file(r.g, 0), "x\xef\xbf\xbd");
	T_EQ(pfs_diag_count(&r.d, "invalid-utf8"), 1);
	cg_res_free(&r);
}

struct bad {
	const char *bytes;
	size_t len;
	int code;
	uint64_t off;
	const char *msg;
};

/* Malformed dumps: each fails with its code, the offset of the object at fault and a word. */
static void test_errors(void)
{
#define B(s) s, sizeof(s) - 1
/* the key ("a", 1, "g"): 14 bytes from offset 1 */
#define KEY ")\x03z\x01\x61i\x01\x00\x00\x00z\x01g"
#define I0 "i\x00\x00\x00\x00"
#define I1 "i\x01\x00\x00\x00"
	static const struct bad cases[] = {
	    {B("[\x01\x00\x00\x00N"), PFS_EFORMAT, 0, "not a dict"},
	    {B("{" KEY ")\x05i\x01"), PFS_EFORMAT, 16, "truncated"},
	    {B("{(\xff\xff\xff\x7f"), PFS_EFORMAT, 1, "claims more"},
	    {B("{(\xff\xff\xff\xff"), PFS_EFORMAT, 1, "negative size"},
	    {B("{r\x05\x00\x00\x00"), PFS_EFORMAT, 1, "invalid reference"},
	    {B("{\x01"), PFS_EFORMAT, 1, "unknown type code"},
	    {B("{)\x01NN0"), PFS_EFORMAT, 1, "(file, line, name)"},
	    {B("{)\x01\x30"), PFS_EFORMAT, 1, "NULL object"},
	    {B("{" KEY ")\x05" I1 I1 "g\x00\x00\x00\x00\x00\x00\xf8\x7f" I0 "{00"), PFS_EFORMAT, 26,
	     "not finite"},
	    {B("{" KEY ")\x05l\x06\x00\x00\x00\x01\x00\x01\x00\x01\x00\x01\x00\x01\x00\x01"
	       "\x00" I1 I0 I0 "{00"),
	     PFS_ELIMIT, 16, "beyond 64 bits"},
	    {B("{" KEY ")\x05" I1 I1 I0 I0 "N0"), PFS_EFORMAT, 14,
	     "callers are a dict, not a None"},
	    {B("{" KEY ")\x05i\xfe\xff\xff\xff" I1 I0 I0 "{00"), PFS_EFORMAT, 16,
	     "primitive calls of -2"},
	    {B("{" KEY "l\x01\x00\x00\x00\x00\x00"), PFS_EFORMAT, 14, "unnormalized"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cg_res r;
		parse(&r, cases[i].bytes, cases[i].len);
		if (r.rc != cases[i].code || r.e.off != cases[i].off ||
		    !strstr(r.e.msg, cases[i].msg))
			t_fail(__FILE__, __LINE__, "case %zu: rc %d off %llu: %s", i, r.rc,
			       (unsigned long long)r.e.off, r.e.msg);
		T_ASSERT(!r.g);
		cg_res_free(&r);
	}
}

/* Nesting beyond what a dump has is refused before the stack can grow with it. */
static void test_deep_nesting(void)
{
	size_t n = 100000;
	uint8_t *b = pfs_xmalloc(2 * n + 1);
	struct cg_res r;
	b[0] = '{';
	for (size_t i = 0; i < n; i++) {
		b[1 + 2 * i] = ')';
		b[2 + 2 * i] = 1;
	}
	parse(&r, b, 2 * n + 1);
	T_EQ(r.rc, PFS_ELIMIT);
	T_ASSERT(strstr(r.e.msg, "nested deeper"));
	cg_res_free(&r);
	free(b);
}

/* Every prefix and every single-byte change of a real dump: a graph or a clean error. */
static void test_sweep(void)
{
	struct cg_res r;
	FILE *f = fopen(t_fixture("callgraph/profile-py312.prof"), "rb");
	uint8_t buf[16384];
	size_t n;
	T_ASSERT(f);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	T_ASSERT(n > 1000 && n < sizeof(buf));
	for (size_t len = 0; len < n; len++) {
		parse(&r, buf, len);
		T_ASSERT(r.rc < 0 && !r.g);
		T_ASSERT(r.e.off == PFS_NO_OFF || r.e.off <= len);
		cg_res_free(&r);
	}
	for (size_t i = 0; i < n; i += 3) {
		uint8_t keep = buf[i];
		buf[i] ^= (uint8_t)(1u << (i % 8));
		parse(&r, buf, n);
		T_ASSERT((r.rc == 0) == (r.g != NULL));
		T_ASSERT(r.rc == 0 || r.rc == PFS_EFORMAT || r.rc == PFS_ELIMIT);
		cg_res_free(&r);
		buf[i] = keep;
	}
}

/* An empty profile (cProfile of a run that called nothing) is a graph of no functions. */
static void test_empty(void)
{
	struct cg_res r;
	parse(&r,
	      "\xfb"
	      "0",
	      2);
	T_EQ(r.rc, 0);
	T_EQ(pfs_cg_n_funcs(r.g), 0);
	T_EQ(pfs_cg_total_calls(r.g, false), 0);
	cg_res_free(&r);
}

static void test_sniff(void)
{
	T_ASSERT(pfs_pstats_sniff("\xfb)", 2));
	T_ASSERT(pfs_pstats_sniff("{0", 2));
	T_ASSERT(pfs_pstats_sniff("{(", 2));
	T_ASSERT(!pfs_pstats_sniff("{\"", 2));
	T_ASSERT(!pfs_pstats_sniff("{", 1));
	T_ASSERT(!pfs_pstats_sniff("PERFILE2", 8));
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
	    T_CASE(cprofile_fixtures),
	    T_CASE(profile_module_code_objects),
	    T_CASE(pyinstrument_shape),
	    T_CASE(types_and_refs),
	    T_CASE(surrogates),
	    T_CASE(errors),
	    T_CASE(deep_nesting),
	    T_CASE(sweep),
	    T_CASE(empty),
	    T_CASE(sniff),
	};
	return t_main(argc, argv, "pstats", cases, sizeof(cases) / sizeof(cases[0]));
}
