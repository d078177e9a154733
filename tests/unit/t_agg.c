#include <stdio.h>
#include <stdlib.h>

#include "agg.h"
#include "harness.h"

static uint32_t frame(struct pfs_profile *p, const char *name)
{
	struct pfs_frame f = {.name = pfs_profile_cstr(p, name), .kind = PFS_FK_NATIVE};
	return pfs_profile_frame(p, &f);
}

static char *fold(struct pfs_agg *a, struct pfs_profile *p, const struct pfs_fold_opts *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	T_ASSERT(f != NULL);
	T_EQ(pfs_agg_write_folded(a, p, NULL, o, f, NULL), 0);
	fclose(f);
	return buf;
}

static void test_sums_and_folds_like_stackcollapse(void)
{
	struct pfs_profile *p = pfs_profile_new();
	struct pfs_agg *a = pfs_agg_new();
	uint32_t m = pfs_profile_path(p, 0, frame(p, "main"));
	uint32_t mb = pfs_profile_path(p, m, frame(p, "b"));
	uint32_t ma = pfs_profile_path(p, m, frame(p, "a"));
	struct pfs_fold_opts o = {.event = 0, .root = PFS_FOLD_COMM, .weight = PFS_FOLD_SAMPLES};
	char *out;
	pfs_profile_thread(p, 10, 10)->comm = pfs_profile_cstr(p, "python3");
	pfs_profile_thread(p, 10, 11)->comm = pfs_profile_cstr(p, "python3");
	for (int i = 0; i < 5; i++)
		pfs_agg_add(a, &(struct pfs_sample_row){.event = 0,
							.pid = 10,
							.tid = 10,
							.path = mb,
							.period = 2,
							.time = 100u + (unsigned)i});
	for (int i = 0; i < 3; i++)
		pfs_agg_add(a, &(struct pfs_sample_row){
				   .event = 0, .pid = 10, .tid = 11, .path = mb, .period = 7});
	pfs_agg_add(
	    a, &(struct pfs_sample_row){.event = 0, .pid = 10, .tid = 11, .path = ma, .period = 1});
	pfs_agg_add(a, &(struct pfs_sample_row){.event = 1, .pid = 10, .tid = 11, .path = ma});
	T_EQ(pfs_agg_n(a), 4);
	T_EQ(pfs_agg_first_time(a), 100);
	T_EQ(pfs_agg_last_time(a), 104);
	out = fold(a, p, &o);
	/* two threads of one comm merge; lines sorted bytewise */
	T_STREQ(out, "python3;main;a 1\npython3;main;b 8\n");
	free(out);
	o.root = PFS_FOLD_TID;
	o.weight = PFS_FOLD_PERIOD;
	out = fold(a, p, &o);
	T_STREQ(out, "python3-10/10;main;b 10\npython3-10/11;main;a 1\npython3-10/11;main;b 21\n");
	free(out);
	o.root = PFS_FOLD_PID;
	o.weight = PFS_FOLD_SAMPLES;
	o.event = -1;
	out = fold(a, p, &o);
	T_STREQ(out, "python3-10;main;a 2\npython3-10;main;b 8\n");
	free(out);
	pfs_agg_free(a);
	pfs_profile_free(p);
}

static void test_comm_at_sample_time_and_hostile_names(void)
{
	struct pfs_profile *p = pfs_profile_new();
	struct pfs_agg *a = pfs_agg_new();
	uint32_t x = pfs_profile_path(p, 0, frame(p, "evil\nname"));
	struct pfs_fold_opts o = {.event = -1, .root = PFS_FOLD_COMM};
	char *out;
	pfs_profile_thread(p, 5, 5)->comm = pfs_profile_cstr(p, "cycles");
	pfs_agg_add(a, &(struct pfs_sample_row){
			   .pid = 5, .tid = 5, .path = x, .comm = pfs_profile_cstr(p, "sh")});
	pfs_agg_add(a, &(struct pfs_sample_row){.pid = 5, .tid = 5, .path = x});
	out = fold(a, p, &o);
	T_STREQ(out, "cycles;evil name 1\nsh;evil name 1\n");
	free(out);
	o.weight = PFS_FOLD_SECONDS;
	pfs_agg_put(
	    a, &(struct pfs_agg_cell){.pid = 5, .tid = 5, .path = x, .count = 2, .weight = 0.25});
	out = fold(a, p, &o);
	T_STREQ(out, "cycles;evil name 0.250000\nsh;evil name 0.000000\n");
	free(out);
	pfs_agg_free(a);
	pfs_profile_free(p);
}

/* Cells are merged on what the line shows: paths that print alike are one line. */
static void test_lines_merge_by_what_they_show(void)
{
	struct pfs_profile *p = pfs_profile_new();
	struct pfs_agg *a = pfs_agg_new();
	struct pfs_frame fa = {.name = pfs_profile_cstr(p, "f"),
			       .dso = pfs_profile_cstr(p, "a.so")};
	struct pfs_frame fb = fa;
	fb.dso = pfs_profile_cstr(p, "b.so");
	uint32_t m = pfs_profile_path(p, 0, frame(p, "main"));
	uint32_t xa = pfs_profile_path(p, m, pfs_profile_frame(p, &fa));
	uint32_t xb = pfs_profile_path(p, m, pfs_profile_frame(p, &fb));
	struct pfs_fold_opts o = {.event = -1, .root = PFS_FOLD_NONE};
	char *out;
	T_ASSERT(xa != xb);
	pfs_profile_thread(p, 1, 1)->comm = pfs_profile_cstr(p, "w");
	pfs_profile_thread(p, 2, 2)->comm = pfs_profile_cstr(p, "w");
	pfs_agg_add(a, &(struct pfs_sample_row){.pid = 1, .tid = 1, .path = xa, .period = 3});
	pfs_agg_add(a, &(struct pfs_sample_row){.pid = 2, .tid = 2, .path = xb, .period = 4});
	pfs_agg_add(a, &(struct pfs_sample_row){.pid = 2, .tid = 2, .path = m, .period = 5});
	out = fold(a, p, &o);
	T_STREQ(out, "main 1\nmain;f 2\n");
	free(out);
	o.root = PFS_FOLD_COMM;
	o.weight = PFS_FOLD_PERIOD;
	out = fold(a, p, &o);
	T_STREQ(out, "w;main 5\nw;main;f 7\n");
	free(out);
	o.root = PFS_FOLD_PID;
	o.only_pid = 2;
	out = fold(a, p, &o);
	T_STREQ(out, "w-2;main 5\nw-2;main;f 4\n");
	free(out);
	pfs_agg_free(a);
	pfs_profile_free(p);
}

static void test_many_cells_survive_rehash(void)
{
	struct pfs_profile *p = pfs_profile_new();
	struct pfs_agg *a = pfs_agg_new();
	uint32_t f = frame(p, "f");
	uint32_t paths[100];
	uint64_t total = 0;
	paths[0] = pfs_profile_path(p, 0, f);
	for (int i = 1; i < 100; i++)
		paths[i] = pfs_profile_path(p, paths[i - 1], f);
	for (uint32_t t = 1; t <= 200; t++)
		for (int i = 0; i < 100; i++)
			pfs_agg_add(a,
				    &(struct pfs_sample_row){.pid = 1, .tid = t, .path = paths[i]});
	for (uint32_t t = 1; t <= 200; t++)
		pfs_agg_add(a, &(struct pfs_sample_row){.pid = 1, .tid = t, .path = paths[7]});
	T_EQ(pfs_agg_n(a), 20000);
	for (size_t i = 0; i < pfs_agg_n(a); i++)
		total += pfs_agg_cell(a, i)->count;
	T_EQ(total, 20200);
	pfs_agg_free(a);
	pfs_profile_free(p);
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
	    T_CASE(sums_and_folds_like_stackcollapse),
	    T_CASE(comm_at_sample_time_and_hostile_names),
	    T_CASE(lines_merge_by_what_they_show),
	    T_CASE(many_cells_survive_rehash),
	};
	return t_main(argc, argv, "agg", cases, sizeof(cases) / sizeof(cases[0]));
}
