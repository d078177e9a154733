#include <stdio.h>

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

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
		T_CASE(strings_intern),
		T_CASE(many_strings_survive_growth),
		T_CASE(frames_and_paths),
		T_CASE(threads_processes_events),
	};
	return t_main(argc, argv, "profile", cases, sizeof(cases) / sizeof(cases[0]));
}
