#include <stdio.h>
#include <stdlib.h>

#include "export.h"
#include "harness.h"

static uint32_t frame(struct pfs_profile *p, const char *name)
{
	struct pfs_frame f = {.name = pfs_profile_cstr(p, name), .kind = PFS_FK_NATIVE};
	return pfs_profile_frame(p, &f);
}

static void test_topfn_counts_recursion_once(void)
{
	struct pfs_profile *p = pfs_profile_new();
	struct pfs_agg *a = pfs_agg_new();
	uint32_t r = pfs_profile_path(p, 0, frame(p, "main"));
	uint32_t f1 = pfs_profile_path(p, r, frame(p, "fib"));
	uint32_t f2 = pfs_profile_path(p, f1, frame(p, "fib"));
	uint32_t g = pfs_profile_path(p, r, frame(p, "gc"));
	struct pfs_export_opts o = {.event = -1};
	struct pfs_topfn *t;
	size_t n;
	double all;
	for (int i = 0; i < 3; i++)
		pfs_agg_add(a, &(struct pfs_sample_row){.pid = 1, .tid = 1, .path = f2});
	pfs_agg_add(a, &(struct pfs_sample_row){.pid = 1, .tid = 1, .path = g});
	t = pfs_topfn_compute(a, p, NULL, &o, &n, &all);
	T_EQ(n, 3);
	T_EQ((uint64_t)all, 4);
	T_STREQ(pfs_profile_strget(p, t[0].name, NULL), "main");
	T_EQ((uint64_t)t[0].total, 4);
	T_EQ((uint64_t)t[0].self, 0);
	T_STREQ(pfs_profile_strget(p, t[1].name, NULL), "fib");
	T_EQ((uint64_t)t[1].total, 3);
	T_EQ((uint64_t)t[1].self, 3);
	T_STREQ(pfs_profile_strget(p, t[2].name, NULL), "gc");
	free(t);
	pfs_agg_free(a);
	pfs_profile_free(p);
}

static void test_speedscope_document(void)
{
	struct pfs_profile *p = pfs_profile_new();
	struct pfs_agg *a = pfs_agg_new();
	uint32_t r = pfs_profile_path(p, 0, frame(p, "main"));
	uint32_t x = pfs_profile_path(p, r, frame(p, "</script>"));
	struct pfs_export_opts o = {.event = -1, .name = "cap"};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	pfs_profile_thread(p, 7, 8)->comm = pfs_profile_cstr(p, "w");
	pfs_agg_add(a, &(struct pfs_sample_row){.pid = 7, .tid = 8, .path = x});
	pfs_agg_add(a, &(struct pfs_sample_row){.pid = 7, .tid = 8, .path = x});
	pfs_agg_add(a, &(struct pfs_sample_row){.pid = 7, .tid = 9, .path = r});
	T_EQ(pfs_export_speedscope(a, p, NULL, &o, f, NULL), 0);
	fclose(f);
	T_ASSERT(
	    strstr(buf, "\"frames\":[{\"name\":\"\\u003c/script\\u003e\"},{\"name\":\"main\"}]"));
	T_ASSERT(strstr(buf, "\"name\":\"w (pid 7, tid 8)\""));
	T_ASSERT(strstr(buf, "\"samples\":[[1,0]],\"weights\":[2]"));
	T_ASSERT(strstr(buf, "\"samples\":[[1]],\"weights\":[1]"));
	T_ASSERT(!strstr(buf, "</script>"));
	free(buf);
	pfs_agg_free(a);
	pfs_profile_free(p);
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
	    T_CASE(topfn_counts_recursion_once),
	    T_CASE(speedscope_document),
	};
	return t_main(argc, argv, "export", cases, sizeof(cases) / sizeof(cases[0]));
}
