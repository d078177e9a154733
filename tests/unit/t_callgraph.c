#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callgraph.h"
#include "harness.h"

/* A graph built by hand: functions by name, edges with an inclusive cost. */
struct gb {
	struct pfs_profile *p;
	struct pfs_callgraph *g;
};

static uint32_t fn(struct gb *b, const char *name, double self, double incl)
{
	struct pfs_frame f = {.name = pfs_profile_cstr(b->p, name), .kind = PFS_FK_NATIVE};
	uint32_t i = pfs_cg_func(b->g, pfs_profile_frame(b->p, &f));
	pfs_cg_func_at(b->g, i)->listed = true;
	pfs_cg_fself(b->g, i)[0] = self;
	pfs_cg_fincl(b->g, i)[0] = incl;
	return i;
}

static void edge(struct gb *b, uint32_t from, uint32_t to, uint64_t calls, double incl)
{
	uint32_t e = pfs_cg_edge(b->g, from, to);
	pfs_cg_edge_at(b->g, e)->calls = calls;
	pfs_cg_eincl(b->g, e)[0] = incl;
}

static void gb_init(struct gb *b)
{
	b->p = pfs_profile_new();
	b->g = pfs_cg_new(b->p, PFS_CG_CALLGRIND);
	pfs_cg_add_event(b->g, "Ir", NULL);
}

static void gb_free(struct gb *b)
{
	pfs_cg_free(b->g);
	pfs_profile_free(b->p);
}

/* The node of t under parent for function f, or UINT32_MAX. */
static uint32_t child(const struct pfs_cg_tree *t, uint32_t parent, uint32_t f)
{
	for (uint32_t i = 1; i < t->n; i++)
		if (t->v[i].parent == parent && t->v[i].fn == f)
			return i;
	return UINT32_MAX;
}

/*
 * main -> a -> c and main -> b -> c: c's 6 split 4:2 by its callers; each node's total is its
 * self plus its children's; the hottest path is main > a > c.
 */
static void test_tree_splits_by_edges(void)
{
	struct gb b;
	struct pfs_cg_tree t;
	uint32_t hot[8];
	gb_init(&b);
	uint32_t m = fn(&b, "main", 1, 10), a = fn(&b, "a", 2, 6), bb = fn(&b, "b", 1, 3),
		 c = fn(&b, "c", 6, 6);
	edge(&b, m, a, 1, 6);
	edge(&b, m, bb, 1, 3);
	edge(&b, a, c, 4, 4);
	edge(&b, bb, c, 2, 2);
	pfs_cg_finish(b.g);
	T_EQ(pfs_cg_total(b.g, 0), 10);
	T_EQ(pfs_cg_func_get(b.g, c)->calls, PFS_CG_UNKNOWN);
	size_t n;
	const uint32_t *in = pfs_cg_callers(b.g, c, &n);
	T_EQ(n, 2);
	T_EQ(pfs_cg_edge_get(b.g, in[0])->caller, a); /* heaviest first */
	pfs_cg_tree_build(b.g, NULL, &t);
	T_EQ(t.roots, 10);
	uint32_t nm = child(&t, 0, m), na = child(&t, nm, a), nb = child(&t, nm, bb);
	uint32_t nca = child(&t, na, c), ncb = child(&t, nb, c);
	T_ASSERT(nm != UINT32_MAX && na != UINT32_MAX && nca != UINT32_MAX && ncb != UINT32_MAX);
	T_ASSERT(t.v[nm].self == 1 && t.v[na].total == 6 && t.v[na].self == 2);
	T_ASSERT(t.v[nca].total == 4 && t.v[ncb].total == 2);
	for (size_t i = 1; i < t.n; i++)
		T_ASSERT(t.v[i].parent < i);
	T_EQ(pfs_cg_hot_paths(&t, hot, 8), 5);
	T_EQ(hot[0], nca);
	T_ASSERT(!t.budget_hit);
	pfs_cg_tree_release(&t);
	gb_free(&b);
}

/* A cycle x -> y -> x: the second x is a leaf marked CUT, and nothing loops. */
static void test_tree_cuts_cycles(void)
{
	struct gb b;
	struct pfs_cg_tree t;
	gb_init(&b);
	uint32_t m = fn(&b, "main", 1, 10), x = fn(&b, "x", 4, 9), y = fn(&b, "y", 5, 8);
	edge(&b, m, x, 1, 9);
	edge(&b, x, y, 2, 8);
	edge(&b, y, x, 1, 3);
	edge(&b, x, x, 7, 1); /* a call to itself is folded into its own cost */
	pfs_cg_finish(b.g);
	T_ASSERT(pfs_cg_func_get(b.g, x)->recursive);
	pfs_cg_tree_build(b.g, NULL, &t);
	uint32_t nm = child(&t, 0, m), nx = child(&t, nm, x), ny = child(&t, nx, y),
		 nx2 = child(&t, ny, x);
	T_ASSERT(nx2 != UINT32_MAX && (t.v[nx2].flags & PFS_CG_NODE_CUT));
	T_ASSERT(child(&t, nx, x) == UINT32_MAX);
	T_ASSERT(fabs(t.v[nx2].total - 8.0 * 3 / 8) < 1e-12);
	pfs_cg_tree_release(&t);
	gb_free(&b);
}

/* Light callees merge into one [other]; a small budget leaves nodes unexpanded. */
static void test_tree_limits(void)
{
	struct gb b;
	struct pfs_cg_tree t;
	struct pfs_cg_tree_opts o = {.min_share = 0.05};
	gb_init(&b);
	uint32_t m = fn(&b, "main", 0, 100), big = fn(&b, "big", 90, 97);
	uint32_t deep = fn(&b, "deep", 7, 7);
	edge(&b, m, big, 1, 97);
	edge(&b, big, deep, 1, 7);
	for (int i = 0; i < 3; i++) {
		char name[16];
		snprintf(name, sizeof(name), "tiny%d", i);
		edge(&b, m, fn(&b, name, 1, 1), 1, 1);
	}
	pfs_cg_finish(b.g);
	pfs_cg_tree_build(b.g, &o, &t);
	uint32_t nm = child(&t, 0, m), other = child(&t, nm, PFS_CG_NONE);
	T_ASSERT(other != UINT32_MAX && (t.v[other].flags & PFS_CG_NODE_OTHER));
	T_EQ(t.v[other].total, 3);
	pfs_cg_tree_release(&t);
	o.max_nodes = 3;
	pfs_cg_tree_build(b.g, &o, &t);
	T_ASSERT(t.budget_hit);
	T_ASSERT(t.n <= 3);
	uint32_t nb = child(&t, child(&t, 0, m), big);
	T_ASSERT(nb == UINT32_MAX || (t.v[nb].flags & PFS_CG_NODE_UNEXPANDED));
	pfs_cg_tree_release(&t);
	gb_free(&b);
}

/* A lone function that calls nothing: one root, no children, its cost its own. */
static void test_tree_of_one(void)
{
	struct gb b;
	struct pfs_cg_tree t;
	gb_init(&b);
	fn(&b, "alone", 5, 5);
	pfs_cg_finish(b.g);
	pfs_cg_tree_build(b.g, NULL, &t);
	T_EQ(t.n, 2);
	T_ASSERT(t.v[1].self == 5 && t.v[1].total == 5);
	pfs_cg_tree_release(&t);
	gb_free(&b);
}

/* Sorted views and the JSON: doubles written to round-trip, unknown counts as null. */
static void test_sorted_and_json(void)
{
	struct gb b;
	char *buf = NULL;
	size_t len = 0;
	struct pfs_err err;
	gb_init(&b);
	uint32_t m = fn(&b, "m", 0.1, 0.3), k = fn(&b, "k", 0.2, 0.2);
	edge(&b, m, k, 2, 0.2);
	pfs_cg_func_at(b.g, k)->calls = 2;
	pfs_cg_finish(b.g);
	uint32_t *v = pfs_cg_sorted(b.g, 0, PFS_CG_BY_SELF);
	T_EQ(v[0], k);
	free(v);
	v = pfs_cg_sorted(b.g, 0, PFS_CG_BY_INCL);
	T_EQ(v[0], m);
	free(v);
	FILE *f = open_memstream(&buf, &len);
	T_EQ(pfs_cg_write_json(b.g, "t", NULL, f, &err), 0);
	fclose(f);
	T_ASSERT(strstr(buf, "\"schema\":\"perfsight-callgraph/1\""));
	T_ASSERT(strstr(buf, "\"self\":[0.10000000000000001]"));
	T_ASSERT(strstr(buf, "\"calls\":null"));
	T_ASSERT(strstr(buf, "\"calls\":2"));
	free(buf);
	gb_free(&b);
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
	    T_CASE(tree_splits_by_edges), T_CASE(tree_cuts_cycles), T_CASE(tree_limits),
	    T_CASE(tree_of_one),	  T_CASE(sorted_and_json),
	};
	return t_main(argc, argv, "callgraph", cases, sizeof(cases) / sizeof(cases[0]));
}
