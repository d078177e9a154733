#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "profile.h"

static void test_strings_intern(void)
{
	struct pfs_profile *p = pfs_profile_new();
	uint32_t a = pfs_profile_cstr(p, "take_gil");
	uint32_t b = pfs_profile_str(p, "a\0b", 3);
	size_t len;
	T_ASSERT(a >= 1);
	T_EQ(pfs_profile_cstr(p, "take_gil"), a);
	T_ASSERT(b != a);
	T_EQ(pfs_profile_str(p, "a\0b", 3), b);
	T_ASSERT(pfs_profile_str(p, "a", 1) != b);
	T_STREQ(pfs_profile_strget(p, a, NULL), "take_gil");
	pfs_profile_strget(p, b, &len);
	T_EQ(len, 3);
	T_STREQ(pfs_profile_strget(p, 0, NULL), "");
	T_EQ(pfs_profile_n_strs(p), 3);
	pfs_profile_free(p);
}

static void test_many_strings_survive_growth(void)
{
	struct pfs_profile *p = pfs_profile_new();
	char buf[32];
	for (int i = 0; i < 50000; i++) {
		int n = snprintf(buf, sizeof(buf), "sym%d", i);
		T_EQ(pfs_profile_str(p, buf, (size_t)n), (uint64_t)i + 1);
	}
	for (int i = 0; i < 50000; i += 997) {
		snprintf(buf, sizeof(buf), "sym%d", i);
		T_STREQ(pfs_profile_strget(p, (uint32_t)i + 1, NULL), buf);
		T_EQ(pfs_profile_cstr(p, buf), (uint64_t)i + 1);
	}
	pfs_profile_free(p);
}

/* profile.h: strings returned by getters stay valid until the free, whatever is added later */
static void test_string_pointers_do_not_move(void)
{
	struct pfs_profile *p = pfs_profile_new();
	char buf[32], big[100000];
	const char *first = pfs_profile_strget(p, pfs_profile_cstr(p, "first"), NULL);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	const char *huge = pfs_profile_strget(p, pfs_profile_cstr(p, big), NULL);
	for (int i = 0; i < 100000; i++) {
		int n = snprintf(buf, sizeof(buf), "s%d", i);
		pfs_profile_str(p, buf, (size_t)n);
	}
	T_STREQ(first, "first");
	T_EQ(strlen(huge), sizeof(big) - 1);
	T_ASSERT(first == pfs_profile_strget(p, pfs_profile_cstr(p, "first"), NULL));
	T_ASSERT(huge == pfs_profile_strget(p, pfs_profile_cstr(p, big), NULL));
	pfs_profile_free(p);
}

/* paths and threads are found by hash alone: many of them must still come back distinct */
static void test_many_paths_distinct(void)
{
	struct pfs_profile *p = pfs_profile_new();
	uint32_t parent = 0;
	for (uint32_t i = 1; i <= 20000; i++) {
		uint32_t a = pfs_profile_path(p, parent, i), b = pfs_profile_path(p, parent, i + 1);
		T_ASSERT(a != b);
		T_EQ(pfs_profile_path(p, parent, i), a);
		T_EQ(pfs_profile_pathget(p, a)->parent, parent);
		T_EQ(pfs_profile_pathget(p, a)->frame, i);
		parent = a;
	}
	for (uint32_t t = 1; t <= 5000; t++)
		pfs_profile_thread(p, t % 7, t)->samples = t;
	for (uint32_t t = 1; t <= 5000; t++)
		T_EQ(pfs_profile_thread(p, t % 7, t)->samples, t);
	T_EQ(pfs_profile_n_threads(p), 5000);
	pfs_profile_free(p);
}

static void test_frames_and_paths(void)
{
	struct pfs_profile *p = pfs_profile_new();
	struct pfs_frame f = {.name = pfs_profile_cstr(p, "main"), .kind = PFS_FK_NATIVE};
	struct pfs_frame g = f;
	uint32_t fa, fb, fc, r1, r2, r3;
	g.inlined = 1;
	fa = pfs_profile_frame(p, &f);
	fb = pfs_profile_frame(p, &g);
	T_ASSERT(fa != fb);
	T_EQ(pfs_profile_frame(p, &f), fa);
	g.inlined = 7; /* any true value is the same frame */
	T_EQ(pfs_profile_frame(p, &g), fb);
	fc = pfs_profile_frame(p, &(struct pfs_frame){.name = pfs_profile_cstr(p, "leaf")});
	r1 = pfs_profile_path(p, 0, fa);
	r2 = pfs_profile_path(p, r1, fc);
	r3 = pfs_profile_path(p, 0, fc);
	T_ASSERT(r2 != r3);
	T_EQ(pfs_profile_path(p, r1, fc), r2);
	T_EQ(pfs_profile_pathget(p, r2)->parent, r1);
	T_EQ(pfs_profile_pathget(p, r2)->depth, 2);
	T_EQ(pfs_profile_pathget(p, r3)->depth, 1);
	T_EQ(pfs_profile_n_paths(p), 3);
	T_EQ(pfs_profile_n_frames(p), 3);
	pfs_profile_free(p);
}

static void test_threads_processes_events(void)
{
	struct pfs_profile *p = pfs_profile_new();
	struct pfs_thread *t = pfs_profile_thread(p, 10, 11);
	t->comm = pfs_profile_cstr(p, "worker");
	for (uint32_t i = 0; i < 3000; i++)
		pfs_profile_thread(p, 100 + i / 4, 100 + i);
	T_EQ(pfs_profile_thread(p, 10, 11)->comm, pfs_profile_cstr(p, "worker"));
	T_EQ(pfs_profile_n_threads(p), 3001);
	T_EQ(pfs_profile_n_processes(p), 751);
	T_EQ(pfs_profile_process(p, 10)->pid, 10);
	T_EQ(pfs_profile_add_event(p, "cpu-clock", true), 0);
	T_EQ(pfs_profile_add_event(p, "sched:sched_switch", false), 1);
	T_ASSERT(pfs_profile_event(p, 0)->sampling);
	T_ASSERT(!pfs_profile_event(p, 1)->sampling);
	T_ASSERT(pfs_profile_event(p, 2) == NULL);
	pfs_profile_free(p);
}

/* Clocks by attr type and config, whatever the event is called (issue 13, 2). The real
 * captures of each spelling are tests/e2e/truth.sh's; cycles has none (no PMU where they were
 * recorded), so its attr is checked here. */
static void test_clock_of(void)
{
	T_EQ(pfs_profile_clock_of(1, 0), PFS_CLOCK_NS);			   /* cpu-clock, any name */
	T_EQ(pfs_profile_clock_of(1, 1), PFS_CLOCK_NS);			   /* task-clock */
	T_EQ(pfs_profile_clock_of(0, 0), PFS_CLOCK_CYCLES);		   /* cycles */
	T_EQ(pfs_profile_clock_of(0, 9), PFS_CLOCK_CYCLES);		   /* ref-cycles */
	T_EQ(pfs_profile_clock_of(0, (8ull << 32) | 0), PFS_CLOCK_CYCLES); /* hybrid cpu_core */
	T_EQ(pfs_profile_clock_of(0, 1), PFS_CLOCK_NONE);		   /* instructions */
	T_EQ(pfs_profile_clock_of(1, 2), PFS_CLOCK_NONE);		   /* page-faults */
	T_EQ(pfs_profile_clock_of(2, 0), PFS_CLOCK_NONE);		   /* a tracepoint */
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
	    T_CASE(strings_intern),
	    T_CASE(many_strings_survive_growth),
	    T_CASE(string_pointers_do_not_move),
	    T_CASE(many_paths_distinct),
	    T_CASE(frames_and_paths),
	    T_CASE(threads_processes_events),
	    T_CASE(clock_of),
	};
	return t_main(argc, argv, "profile", cases, sizeof(cases) / sizeof(cases[0]));
}
