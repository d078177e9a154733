#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callgrind.h"
#include "cgres.h"
#include "harness.h"
#include "pstats.h"
#include "xalloc.h"

static void parse(struct cg_res *r, const void *buf, size_t len)
{
	cg_res_parse(r, pfs_callgrind_parse, buf, len);
}

static void load(struct cg_res *r, const char *path)
{
	cg_res_load(r, pfs_callgrind_load, path);
}

static void parse_str(struct cg_res *r, const char *text)
{
	parse(r, text, strlen(text));
}

/* The first function named name: the test fails when there is none. */
static uint32_t fn_named(const struct pfs_callgraph *g, const char *name)
{
	uint32_t f = cg_fn_named(g, name);
	if (f == UINT32_MAX)
		t_fail(__FILE__, __LINE__, "no function %s", name);
	return f;
}

/* The "Extended Example" of valgrind's format specification, with name compression. */
static const char spec_example[] = "# callgrind format\n"
				   "events: Instructions\n"
				   "\n"
				   "fl=(1) file1.c\n"
				   "fn=(1) main\n"
				   "16 20\n"
				   "cfn=(2) func1\n"
				   "calls=1 50\n"
				   "16 400\n"
				   "cfi=(2) file2.c\n"
				   "cfn=(3) func2\n"
				   "calls=3 20\n"
				   "16 400\n"
				   "\n"
				   "fn=(2)\n"
				   "51 100\n"
				   "cfi=(2)\n"
				   "cfn=(3)\n"
				   "calls=2 20\n"
				   "51 300\n"
				   "\n"
				   "fl=(2)\n"
				   "fn=(3)\n"
				   "20 700\n";

/* The figures the specification gives: main's inclusive cost is 820, func2's self 700. */
static void test_spec_example(void)
{
	struct cg_res r;
	parse_str(&r, spec_example);
	if (r.rc)
		t_fail(__FILE__, __LINE__, "%s", r.e.msg);
	T_EQ(pfs_cg_n_funcs(r.g), 3);
	uint32_t m = fn_named(r.g, "main"), f1 = fn_named(r.g, "func1"),
		 f2 = fn_named(r.g, "func2");
	T_EQ(pfs_cg_self(r.g, m, 0), 20);
	T_EQ(pfs_cg_incl(r.g, m, 0), 820);
	T_EQ(pfs_cg_self(r.g, f1, 0), 100);
	T_EQ(pfs_cg_incl(r.g, f1, 0), 400);
	T_EQ(pfs_cg_self(r.g, f2, 0), 700);
	T_EQ(pfs_cg_incl(r.g, f2, 0), 700);
	T_EQ(pfs_cg_func_get(r.g, f2)->calls, 5);
	T_EQ(pfs_cg_func_get(r.g, m)->calls, PFS_CG_UNKNOWN);
	T_STREQ(pfs_cg_file(r.g, f2), "file2.c");
	T_EQ(pfs_cg_total(r.g, 0), 820);
	T_EQ(pfs_cg_n_edges(r.g), 3);
	cg_res_free(&r);
}

/* Subpositions: hex, "+N", "-N", "*", two of them per line; missing costs are 0. */
static void test_subpositions(void)
{
	struct cg_res r;
	parse_str(&r, "positions: instr line\n"
		      "events: A B\n"
		      "ob=/bin/x\n"
		      "fl=x.c\n"
		      "fn=f\n"
		      "0x80001234 90 1 2\n"
		      "+3 * 5\n"
		      "-1 +1 6 0x10\n"
		      "* -2 1\n"
		      "totals: 13 18\n");
	if (r.rc)
		t_fail(__FILE__, __LINE__, "%s", r.e.msg);
	T_EQ(pfs_cg_self(r.g, 0, 0), 13);
	T_EQ(pfs_cg_self(r.g, 0, 1), 18);
	T_STREQ(pfs_cg_object(r.g, 0), "/bin/x");
	T_EQ(pfs_cg_info(r.g)->summary[1], 18);
	T_EQ(r.d.n, 0);
	cg_res_free(&r);
	/* a relative position below 0 is refused, naming the line */
	parse_str(&r, "events: A\nfn=f\n3 1\n-4 1\n");
	T_EQ(r.rc, PFS_EFORMAT);
	T_ASSERT(strstr(r.e.msg, "line 4") && strstr(r.e.msg, "below 0"));
	T_EQ(r.e.off, 19);
	cg_res_free(&r);
}

/* A recursive function: its calls to itself are inside its callers' calls, not added again. */
static void test_recursion(void)
{
	struct cg_res r;
	parse_str(&r, "events: Ir\n"
		      "fn=main\n1 10\ncfn=rec\ncalls=1 5\n1 100\n"
		      "fn=rec\n5 40\ncfn=rec\ncalls=3 5\n5 60\n");
	T_EQ(r.rc, 0);
	uint32_t rec = fn_named(r.g, "rec");
	T_EQ(pfs_cg_incl(r.g, rec, 0), 100);
	T_EQ(pfs_cg_func_get(r.g, rec)->calls, 4);
	T_EQ(pfs_cg_func_get(r.g, rec)->prim_calls, 1);
	T_ASSERT(pfs_cg_func_get(r.g, rec)->recursive);
	T_EQ(pfs_cg_incl(r.g, fn_named(r.g, "main"), 0), 110);
	cg_res_free(&r);
}

/* Parts of one file with the same events are summed; a totals: line that disagrees is said. */
static void test_parts_and_totals(void)
{
	struct cg_res r;
	parse_str(&r, "events: Ir\npart: 1\nfn=f\n1 5\n"
		      "part: 2\nevents: Ir\nfn=f\n1 7\ntotals: 11\n");
	T_EQ(r.rc, 0);
	T_EQ(pfs_cg_self(r.g, 0, 0), 12);
	T_EQ(pfs_cg_info(r.g)->parts, 2);
	T_EQ(pfs_diag_count(&r.d, "totals-mismatch"), 1);
	cg_res_free(&r);
	parse_str(&r, "events: Ir\nfn=f\n1 5\nevents: Dr\nfn=f\n1 7\n");
	T_EQ(r.rc, PFS_EUNSUPP);
	cg_res_free(&r);
}

struct bad {
	const char *text;
	int code;
	const char *msg;
};

static void test_errors(void)
{
	static const struct bad cases[] = {
	    {"fn=f\n1 2\n", PFS_EFORMAT, "before the events"},
	    {"fn=(1) m\nevents: A B C\nfn=(1)\n1 2 3 4\n", PFS_EFORMAT, "fn= line before"},
	    {"events: A\n1 2\n", PFS_EFORMAT, "before any fn="},
	    {"events: A\nfn=(3)\n", PFS_EFORMAT, "used before it is defined"},
	    {"events: A\nfn=f\n1 2 3\n", PFS_EFORMAT, "more costs"},
	    {"events: A\nfn=f\ncfn=g\ncalls=1 2\n", PFS_EFORMAT, "without its cost"},
	    {"events: A\nfn=f\ncalls=1 2\n3 4\n", PFS_EFORMAT, "without a cfn="},
	    {"events: A\nfn=f\n1 x\n", PFS_EFORMAT, "not a number"},
	    {"events: A\nfn=f\nhello world\n", PFS_EFORMAT, "neither"},
	    {"version: 2\nevents: A\n", PFS_EUNSUPP, "version"},
	    {"positions: line\n", PFS_EFORMAT, "without an events: line"},
	    {"events: A\nfn=f\n1 9007199254740992\n", PFS_ELIMIT, "2^53"},
	    {"events: A\nfn=f\n1 18446744073709551616\n", PFS_EFORMAT, "not a number"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cg_res r;
		parse_str(&r, cases[i].text);
		if (r.rc != cases[i].code || !strstr(r.e.msg, cases[i].msg))
			t_fail(__FILE__, __LINE__, "case %zu: rc %d: %s", i, r.rc, r.e.msg);
		T_ASSERT(!r.g);
		cg_res_free(&r);
	}
}

/* Unknown lines are skipped and counted; event long names (before events: too) are kept. */
static void test_notes(void)
{
	struct cg_res r;
	parse_str(&r, "# callgrind format\nevent: Ir : Instruction Fetches\nevents: Ir\n"
		      "event: S = Ir\nflavour: x\nfn=f\nxyz=1\n1 1\njump=2 +3\njcnd=1/2 4\n");
	if (r.rc)
		t_fail(__FILE__, __LINE__, "%s", r.e.msg);
	T_STREQ(pfs_cg_event_desc(r.g, 0), "Instruction Fetches");
	T_EQ(pfs_diag_count(&r.d, "unknown-line"), 2);
	T_EQ(pfs_diag_count(&r.d, "derived-event"), 1);
	T_EQ(pfs_diag_count(&r.d, "jumps-ignored"), 2);
	cg_res_free(&r);
}

/* valgrind's own files (line and instr positions) and pprofile's: the summary is the sum. */
static void test_fixtures(void)
{
	static const char *const files[] = {"callgraph/valgrind-cg_prog.callgrind",
					    "callgraph/valgrind-cg_prog-instr.callgrind",
					    "callgraph/pprofile.callgrind"};
	for (size_t i = 0; i < 3; i++) {
		struct cg_res r;
		load(&r, t_fixture(files[i]));
		if (r.rc)
			t_fail(__FILE__, __LINE__, "%s: %s", files[i], r.e.msg);
		if (i < 2) {
			T_EQ(pfs_cg_total(r.g, 0), pfs_cg_info(r.g)->summary[0]);
			uint32_t leaf = fn_named(r.g, "leaf"), rec = fn_named(r.g, "rec");
			/* cg_prog.c: 50 x (mid's 6 and rec's 20) calls of leaf */
			T_EQ(pfs_cg_func_get(r.g, leaf)->calls, 50 * (6 + 20));
			T_EQ(pfs_cg_func_get(r.g, rec)->calls, 50);
		} else {
			T_EQ(pfs_cg_n_events(r.g), 3);
			T_EQ(pfs_cg_func_get(r.g, fn_named(r.g, "fib:15"))->prim_calls, 30);
		}
		cg_res_free(&r);
	}
}

/* Written out and read back, a graph keeps its functions, edges and (integer) costs. */
static void test_write_roundtrip(void)
{
	struct cg_res a, b;
	char *buf = NULL;
	size_t len = 0;
	struct pfs_err err;
	load(&a, t_fixture("callgraph/valgrind-cg_prog.callgrind"));
	T_EQ(a.rc, 0);
	FILE *f = open_memstream(&buf, &len);
	T_EQ(pfs_callgrind_write(a.g, f, &err), 0);
	fclose(f);
	parse(&b, buf, len);
	if (b.rc)
		t_fail(__FILE__, __LINE__, "%s", b.e.msg);
	T_EQ(pfs_cg_n_funcs(b.g), pfs_cg_n_funcs(a.g));
	T_EQ(pfs_cg_n_edges(b.g), pfs_cg_n_edges(a.g));
	T_EQ(pfs_cg_total(b.g, 0), pfs_cg_total(a.g, 0));
	/* the functions come back in another order: matched by frame */
	for (uint32_t i = 0; i < pfs_cg_n_funcs(a.g); i++) {
		const struct pfs_frame *fa =
		    pfs_profile_frameget(a.p, pfs_cg_func_get(a.g, i)->frame);
		uint32_t j = 0;
		for (; j < pfs_cg_n_funcs(b.g); j++) {
			const struct pfs_frame *fb =
			    pfs_profile_frameget(b.p, pfs_cg_func_get(b.g, j)->frame);
			if (!strcmp(pfs_profile_strget(a.p, fa->name, NULL),
				    pfs_profile_strget(b.p, fb->name, NULL)) &&
			    !strcmp(pfs_profile_strget(a.p, fa->file, NULL),
				    pfs_profile_strget(b.p, fb->file, NULL)) &&
			    !strcmp(pfs_profile_strget(a.p, fa->dso, NULL),
				    pfs_profile_strget(b.p, fb->dso, NULL)))
				break;
		}
		T_ASSERT(j < pfs_cg_n_funcs(b.g));
		T_EQ(pfs_cg_self(b.g, j, 0), pfs_cg_self(a.g, i, 0));
		T_EQ(pfs_cg_incl(b.g, j, 0), pfs_cg_incl(a.g, i, 0));
		T_EQ(pfs_cg_func_get(b.g, j)->calls, pfs_cg_func_get(a.g, i)->calls);
	}
	free(buf);
	cg_res_free(&a);
	cg_res_free(&b);
	/* a pstats dump becomes nanoseconds */
	cg_res_load(&a, pfs_pstats_load, t_fixture("callgraph/cprofile-py312.prof"));
	T_EQ(a.rc, 0);
	buf = NULL;
	f = open_memstream(&buf, &len);
	T_EQ(pfs_callgrind_write(a.g, f, &err), 0);
	fclose(f);
	parse(&b, buf, len);
	T_EQ(b.rc, 0);
	T_STREQ(pfs_cg_event_name(b.g, 0), "ns");
	uint32_t fa = 0, fb = fn_named(b.g, pfs_cg_name(a.g, fa));
	T_EQ(pfs_cg_self(b.g, fb, 0), nearbyint(pfs_cg_self(a.g, fa, 0) * 1e9));
	free(buf);
	cg_res_free(&a);
	cg_res_free(&b);
}

/* Every prefix of a real file: a graph or a clean error, never a crash. */
static void test_prefixes(void)
{
	FILE *f = fopen(t_fixture("callgraph/pprofile.callgrind"), "rb");
	char buf[8192];
	size_t n;
	T_ASSERT(f);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	T_ASSERT(n > 1000 && n < sizeof(buf));
	for (size_t len = 0; len < n; len++) {
		struct cg_res r;
		parse(&r, buf, len);
		T_ASSERT((r.rc == 0) == (r.g != NULL));
		T_ASSERT(r.rc == 0 || r.rc == PFS_EFORMAT);
		cg_res_free(&r);
	}
}

static void test_sniff(void)
{
	T_ASSERT(pfs_callgrind_sniff("# callgrind format\n", 19));
	T_ASSERT(pfs_callgrind_sniff("version: 1\n", 11));
	T_ASSERT(pfs_callgrind_sniff("events: Ir\n", 11));
	T_ASSERT(!pfs_callgrind_sniff("main;f 12\n", 10));
	T_ASSERT(!pfs_callgrind_sniff("{\"a\": 1}", 8));
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
	    T_CASE(spec_example), T_CASE(subpositions), T_CASE(recursion), T_CASE(parts_and_totals),
	    T_CASE(errors),	  T_CASE(notes),	T_CASE(fixtures),  T_CASE(write_roundtrip),
	    T_CASE(prefixes),	  T_CASE(sniff),
	};
	return t_main(argc, argv, "callgrind", cases, sizeof(cases) / sizeof(cases[0]));
}
