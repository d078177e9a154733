/*
 * callgraph: the model, the sorted views and the reconstructed tree. See callgraph.h.
 */
#include "callgraph.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

struct eslot {
	uint32_t caller, callee;
	uint32_t idx; /* edge index + 1, 0: empty */
};

struct pfs_callgraph {
	struct pfs_profile *prof;
	enum pfs_cg_format format;
	char **ev_name, **ev_desc;
	uint32_t n_ev;
	struct pfs_cg_func *fn;
	size_t n_fn, cap_fn;
	double *fs, *fi;       /* [fn * n_ev + ev] */
	uint32_t *fn_of_frame; /* frame id -> function index + 1 */
	size_t fof_cap;
	struct pfs_cg_edge *e;
	size_t n_e, cap_e;
	double *es, *ei;
	struct eslot *eh; /* (caller, callee) -> edge, open addressing, under half full */
	size_t eh_cap;
	/* after pfs_cg_finish: callers and callees of each function, heaviest first */
	uint32_t *in_off, *in_idx, *out_off, *out_idx;
	double *total;
	bool finished;
	struct pfs_cg_info info;
};

struct pfs_callgraph *pfs_cg_new(struct pfs_profile *prof, enum pfs_cg_format format)
{
	struct pfs_callgraph *g = pfs_xcalloc(1, sizeof(*g));
	g->prof = prof;
	g->format = format;
	g->info.pid = -1;
	return g;
}

void pfs_cg_free(struct pfs_callgraph *g)
{
	if (!g)
		return;
	for (uint32_t i = 0; i < g->n_ev; i++) {
		free(g->ev_name[i]);
		free(g->ev_desc[i]);
	}
	free(g->ev_name);
	free(g->ev_desc);
	free(g->fn);
	free(g->fs);
	free(g->fi);
	free(g->fn_of_frame);
	free(g->e);
	free(g->es);
	free(g->ei);
	free(g->eh);
	free(g->in_off);
	free(g->in_idx);
	free(g->out_off);
	free(g->out_idx);
	free(g->total);
	free(g->info.creator);
	free(g->info.cmd);
	free(g->info.positions);
	free(g->info.version);
	free(g->info.summary);
	free(g);
}

uint32_t pfs_cg_add_event(struct pfs_callgraph *g, const char *name, const char *description)
{
	/* the cost arrays are laid out by the number of events: a reader's bug, not input's */
	assert(!g->n_fn && !g->n_e);
	g->ev_name = pfs_xreallocarray(g->ev_name, g->n_ev + 1, sizeof(*g->ev_name));
	g->ev_desc = pfs_xreallocarray(g->ev_desc, g->n_ev + 1, sizeof(*g->ev_desc));
	g->info.summary = pfs_xreallocarray(g->info.summary, g->n_ev + 1, sizeof(double));
	g->ev_name[g->n_ev] = pfs_xstrdup(name);
	g->ev_desc[g->n_ev] = description && *description ? pfs_xstrdup(description) : NULL;
	g->info.summary[g->n_ev] = NAN;
	return g->n_ev++;
}

void pfs_cg_set_event_desc(struct pfs_callgraph *g, uint32_t ev, const char *description)
{
	free(g->ev_desc[ev]);
	g->ev_desc[ev] = description && *description ? pfs_xstrdup(description) : NULL;
}

uint32_t pfs_cg_func(struct pfs_callgraph *g, uint32_t frame)
{
	if (frame < g->fof_cap && g->fn_of_frame[frame])
		return g->fn_of_frame[frame] - 1;
	PFS_GROW_ZEROED(g->fn_of_frame, g->fof_cap, frame);
	if (g->n_fn == g->cap_fn) {
		size_t old = g->cap_fn, ne = g->n_ev ? g->n_ev : 1;
		PFS_GROW(g->fn, g->cap_fn, g->n_fn + 1);
		g->fs = pfs_xreallocarray(g->fs, g->cap_fn * ne, sizeof(double));
		g->fi = pfs_xreallocarray(g->fi, g->cap_fn * ne, sizeof(double));
		memset(g->fs + old * ne, 0, (g->cap_fn - old) * ne * sizeof(double));
		memset(g->fi + old * ne, 0, (g->cap_fn - old) * ne * sizeof(double));
	}
	uint32_t i = (uint32_t)g->n_fn++;
	g->fn[i] = (struct pfs_cg_func){
	    .frame = frame, .calls = PFS_CG_UNKNOWN, .prim_calls = PFS_CG_UNKNOWN};
	g->fn_of_frame[frame] = i + 1;
	return i;
}

static size_t eh_pos(uint32_t caller, uint32_t callee, size_t cap)
{
	uint64_t k = ((uint64_t)caller << 32 | callee) * 0x9e3779b97f4a7c15ull;
	return (size_t)(k >> 32) & (cap - 1);
}

static void eh_grow(struct pfs_callgraph *g)
{
	size_t ncap = g->eh_cap ? g->eh_cap * 2 : 1024;
	struct eslot *nt = pfs_xcalloc(ncap, sizeof(*nt));
	for (size_t i = 0; i < g->eh_cap; i++) {
		struct eslot *s = &g->eh[i];
		if (!s->idx)
			continue;
		size_t j = eh_pos(s->caller, s->callee, ncap);
		while (nt[j].idx)
			j = (j + 1) & (ncap - 1);
		nt[j] = *s;
	}
	free(g->eh);
	g->eh = nt;
	g->eh_cap = ncap;
}

uint32_t pfs_cg_edge(struct pfs_callgraph *g, uint32_t caller, uint32_t callee)
{
	if (2 * (g->n_e + 1) > g->eh_cap)
		eh_grow(g);
	size_t j = eh_pos(caller, callee, g->eh_cap);
	for (; g->eh[j].idx; j = (j + 1) & (g->eh_cap - 1))
		if (g->eh[j].caller == caller && g->eh[j].callee == callee)
			return g->eh[j].idx - 1;
	if (g->n_e == g->cap_e) {
		size_t old = g->cap_e, ne = g->n_ev ? g->n_ev : 1;
		PFS_GROW(g->e, g->cap_e, g->n_e + 1);
		g->es = pfs_xreallocarray(g->es, g->cap_e * ne, sizeof(double));
		g->ei = pfs_xreallocarray(g->ei, g->cap_e * ne, sizeof(double));
		memset(g->ei + old * ne, 0, (g->cap_e - old) * ne * sizeof(double));
		for (size_t k = old * ne; k < g->cap_e * ne; k++)
			g->es[k] = NAN;
	}
	uint32_t i = (uint32_t)g->n_e++;
	g->e[i] = (struct pfs_cg_edge){.caller = caller,
				       .callee = callee,
				       .calls = PFS_CG_UNKNOWN,
				       .prim_calls = PFS_CG_UNKNOWN};
	g->eh[j] = (struct eslot){caller, callee, i + 1};
	return i;
}

struct pfs_cg_func *pfs_cg_func_at(struct pfs_callgraph *g, uint32_t fn)
{
	return &g->fn[fn];
}

struct pfs_cg_edge *pfs_cg_edge_at(struct pfs_callgraph *g, uint32_t e)
{
	return &g->e[e];
}

double *pfs_cg_fself(struct pfs_callgraph *g, uint32_t fn)
{
	return g->fs + (size_t)fn * g->n_ev;
}

double *pfs_cg_fincl(struct pfs_callgraph *g, uint32_t fn)
{
	return g->fi + (size_t)fn * g->n_ev;
}

double *pfs_cg_eself(struct pfs_callgraph *g, uint32_t e)
{
	return g->es + (size_t)e * g->n_ev;
}

double *pfs_cg_eincl(struct pfs_callgraph *g, uint32_t e)
{
	return g->ei + (size_t)e * g->n_ev;
}

struct pfs_cg_info *pfs_cg_info_mut(struct pfs_callgraph *g)
{
	return &g->info;
}

/* The edges of each function in one direction, heaviest first (ties: the other end's index). */
struct adj_ctx {
	const struct pfs_callgraph *g;
	bool in;
};

static int cmp_adj(const void *x, const void *y, void *arg)
{
	const struct adj_ctx *c = arg;
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
	double wa = c->g->n_ev ? c->g->ei[(size_t)a * c->g->n_ev] : 0;
	double wb = c->g->n_ev ? c->g->ei[(size_t)b * c->g->n_ev] : 0;
	if (wa != wb)
		return wa > wb ? -1 : 1;
	uint32_t oa = c->in ? c->g->e[a].caller : c->g->e[a].callee;
	uint32_t ob = c->in ? c->g->e[b].caller : c->g->e[b].callee;
	return oa < ob ? -1 : oa > ob;
}

static void build_adj(struct pfs_callgraph *g, bool in, uint32_t **off_out, uint32_t **idx_out)
{
	uint32_t *off = pfs_xcalloc(g->n_fn + 1, sizeof(*off));
	uint32_t *idx = pfs_xcalloc(g->n_e ? g->n_e : 1, sizeof(*idx));
	uint32_t *fill = pfs_xcalloc(g->n_fn + 1, sizeof(*fill));
	struct adj_ctx ctx = {g, in};
	for (size_t i = 0; i < g->n_e; i++)
		off[(in ? g->e[i].callee : g->e[i].caller) + 1]++;
	for (size_t f = 0; f < g->n_fn; f++)
		off[f + 1] += off[f];
	for (size_t i = 0; i < g->n_e; i++) {
		uint32_t f = in ? g->e[i].callee : g->e[i].caller;
		idx[off[f] + fill[f]++] = (uint32_t)i;
	}
	for (size_t f = 0; f < g->n_fn; f++)
		qsort_r(idx + off[f], off[f + 1] - off[f], sizeof(*idx), cmp_adj, &ctx);
	free(fill);
	*off_out = off;
	*idx_out = idx;
}

void pfs_cg_finish(struct pfs_callgraph *g)
{
	if (g->finished)
		return;
	for (size_t i = 0; i < g->n_e; i++)
		if (g->e[i].caller == g->e[i].callee)
			g->fn[g->e[i].caller].recursive = true;
	build_adj(g, true, &g->in_off, &g->in_idx);
	build_adj(g, false, &g->out_off, &g->out_idx);
	g->total = pfs_xcalloc(g->n_ev ? g->n_ev : 1, sizeof(*g->total));
	for (size_t f = 0; f < g->n_fn; f++)
		for (uint32_t k = 0; k < g->n_ev; k++)
			g->total[k] += g->fs[f * g->n_ev + k];
	g->finished = true;
}

enum pfs_cg_format pfs_cg_format(const struct pfs_callgraph *g)
{
	return g->format;
}

const char *pfs_cg_format_name(enum pfs_cg_format f)
{
	return f == PFS_CG_PSTATS ? "pstats" : f == PFS_CG_CALLGRIND ? "callgrind" : "unknown";
}

struct pfs_profile *pfs_cg_profile(const struct pfs_callgraph *g)
{
	return g->prof;
}

const struct pfs_cg_info *pfs_cg_info(const struct pfs_callgraph *g)
{
	return &g->info;
}

uint32_t pfs_cg_n_events(const struct pfs_callgraph *g)
{
	return g->n_ev;
}

const char *pfs_cg_event_name(const struct pfs_callgraph *g, uint32_t ev)
{
	return g->ev_name[ev];
}

const char *pfs_cg_event_desc(const struct pfs_callgraph *g, uint32_t ev)
{
	return g->ev_desc[ev];
}

int pfs_cg_event_find(const struct pfs_callgraph *g, const char *name)
{
	for (uint32_t i = 0; i < g->n_ev; i++)
		if (!strcmp(g->ev_name[i], name))
			return (int)i;
	return -1;
}

bool pfs_cg_seconds(const struct pfs_callgraph *g)
{
	return g->format == PFS_CG_PSTATS;
}

size_t pfs_cg_n_funcs(const struct pfs_callgraph *g)
{
	return g->n_fn;
}

size_t pfs_cg_n_edges(const struct pfs_callgraph *g)
{
	return g->n_e;
}

const struct pfs_cg_func *pfs_cg_func_get(const struct pfs_callgraph *g, uint32_t fn)
{
	return &g->fn[fn];
}

const struct pfs_cg_edge *pfs_cg_edge_get(const struct pfs_callgraph *g, uint32_t e)
{
	return &g->e[e];
}

double pfs_cg_self(const struct pfs_callgraph *g, uint32_t fn, uint32_t ev)
{
	return g->fs[(size_t)fn * g->n_ev + ev];
}

double pfs_cg_incl(const struct pfs_callgraph *g, uint32_t fn, uint32_t ev)
{
	return g->fi[(size_t)fn * g->n_ev + ev];
}

double pfs_cg_edge_self(const struct pfs_callgraph *g, uint32_t e, uint32_t ev)
{
	return g->es[(size_t)e * g->n_ev + ev];
}

double pfs_cg_edge_incl(const struct pfs_callgraph *g, uint32_t e, uint32_t ev)
{
	return g->ei[(size_t)e * g->n_ev + ev];
}

double pfs_cg_total(const struct pfs_callgraph *g, uint32_t ev)
{
	return g->total && ev < g->n_ev ? g->total[ev] : 0;
}

uint64_t pfs_cg_total_calls(const struct pfs_callgraph *g, bool primitive)
{
	uint64_t n = 0;
	for (size_t f = 0; f < g->n_fn; f++) {
		uint64_t c = primitive ? g->fn[f].prim_calls : g->fn[f].calls;
		if (!g->fn[f].listed)
			continue;
		if (c == PFS_CG_UNKNOWN)
			return PFS_CG_UNKNOWN;
		n += c;
	}
	return n;
}

const uint32_t *pfs_cg_callers(const struct pfs_callgraph *g, uint32_t fn, size_t *n)
{
	*n = g->in_off[fn + 1] - g->in_off[fn];
	return g->in_idx + g->in_off[fn];
}

const uint32_t *pfs_cg_callees(const struct pfs_callgraph *g, uint32_t fn, size_t *n)
{
	*n = g->out_off[fn + 1] - g->out_off[fn];
	return g->out_idx + g->out_off[fn];
}

static const struct pfs_frame *frame_of(const struct pfs_callgraph *g, uint32_t fn)
{
	return pfs_profile_frameget(g->prof, g->fn[fn].frame);
}

const char *pfs_cg_name(const struct pfs_callgraph *g, uint32_t fn)
{
	return pfs_profile_strget(g->prof, frame_of(g, fn)->name, NULL);
}

const char *pfs_cg_file(const struct pfs_callgraph *g, uint32_t fn)
{
	uint32_t s = frame_of(g, fn)->file;
	return s ? pfs_profile_strget(g->prof, s, NULL) : NULL;
}

const char *pfs_cg_object(const struct pfs_callgraph *g, uint32_t fn)
{
	uint32_t s = frame_of(g, fn)->dso;
	return s ? pfs_profile_strget(g->prof, s, NULL) : NULL;
}

uint32_t pfs_cg_line(const struct pfs_callgraph *g, uint32_t fn)
{
	return frame_of(g, fn)->line;
}

struct sort_ctx {
	const struct pfs_callgraph *g;
	uint32_t ev;
	enum pfs_cg_key key;
};

static double key_of(const struct sort_ctx *c, uint32_t f)
{
	switch (c->key) {
	case PFS_CG_BY_SELF:
		return pfs_cg_self(c->g, f, c->ev);
	case PFS_CG_BY_INCL:
		return pfs_cg_incl(c->g, f, c->ev);
	case PFS_CG_BY_CALLS:
		return c->g->fn[f].calls == PFS_CG_UNKNOWN ? -1 : (double)c->g->fn[f].calls;
	}
	return 0;
}

static int cmp_sorted(const void *x, const void *y, void *arg)
{
	const struct sort_ctx *c = arg;
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
	double ka = key_of(c, a), kb = key_of(c, b);
	if (ka != kb)
		return ka > kb ? -1 : 1;
	int s = strcmp(pfs_cg_name(c->g, a), pfs_cg_name(c->g, b));
	if (s)
		return s;
	return a < b ? -1 : a > b;
}

uint32_t *pfs_cg_sorted(const struct pfs_callgraph *g, uint32_t ev, enum pfs_cg_key key)
{
	uint32_t *v = pfs_xcalloc(g->n_fn ? g->n_fn : 1, sizeof(*v));
	struct sort_ctx c = {g, ev, key};
	for (size_t i = 0; i < g->n_fn; i++)
		v[i] = (uint32_t)i;
	qsort_r(v, g->n_fn, sizeof(*v), cmp_sorted, &c);
	return v;
}

/*
 * The reconstruction. Nodes waiting to be expanded sit in a max-heap by total, so that when
 * the node budget runs out, what is left unexpanded is the lightest part of the tree.
 */
struct heap {
	uint32_t *v;
	size_t n, cap;
};

static bool heavier(const struct pfs_cg_tree *t, uint32_t a, uint32_t b)
{
	return t->v[a].total > t->v[b].total || (t->v[a].total == t->v[b].total && a < b);
}

static void heap_push(struct heap *h, const struct pfs_cg_tree *t, uint32_t x)
{
	PFS_GROW(h->v, h->cap, h->n + 1);
	size_t i = h->n++;
	while (i > 0 && heavier(t, x, h->v[(i - 1) / 2])) {
		h->v[i] = h->v[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->v[i] = x;
}

static uint32_t heap_pop(struct heap *h, const struct pfs_cg_tree *t)
{
	uint32_t top = h->v[0], x = h->v[--h->n];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && heavier(t, h->v[c + 1], h->v[c]))
			c++;
		if (!heavier(t, h->v[c], x))
			break;
		h->v[i] = h->v[c];
		i = c;
	}
	if (h->n)
		h->v[i] = x;
	return top;
}

static uint32_t add_node(struct pfs_cg_tree *t, size_t *cap, uint32_t parent, uint32_t fn,
			 uint32_t flags, double total)
{
	PFS_GROW(t->v, *cap, t->n + 1);
	uint32_t i = (uint32_t)t->n++;
	t->v[i] = (struct pfs_cg_node){.parent = parent,
				       .fn = fn,
				       .flags = flags,
				       .depth = parent == PFS_CG_NONE ? 0 : t->v[parent].depth + 1,
				       .total = total,
				       .self = total};
	return i;
}

static bool on_path(const struct pfs_cg_tree *t, uint32_t node, uint32_t fn)
{
	for (uint32_t x = node; x != PFS_CG_NONE; x = t->v[x].parent)
		if (t->v[x].fn == fn)
			return true;
	return false;
}

/* A child to be: a callee (or a root) and its share. */
struct kid {
	uint32_t fn;
	double w;
	bool cut;
};

static int cmp_kid(const void *x, const void *y)
{
	const struct kid *a = x, *b = y;
	if (a->w != b->w)
		return a->w > b->w ? -1 : 1;
	return a->fn < b->fn ? -1 : a->fn > b->fn;
}

/*
 * Gives node the children kids describe (heaviest first; lighter than min merged into one
 * [other]), if the budget has room for them all; else marks it unexpanded. Expandable
 * children go on the heap.
 */
static void attach(struct pfs_cg_tree *t, size_t *cap, struct heap *h, uint32_t node,
		   struct kid *kids, size_t n, double min, size_t max_nodes, uint32_t max_depth)
{
	size_t big = 0;
	double small = 0;
	if (n) /* kids is NULL before the first function with callees */
		qsort(kids, n, sizeof(*kids), cmp_kid);
	while (big < n && kids[big].w >= min && kids[big].w > 0)
		big++;
	for (size_t i = big; i < n; i++)
		small += kids[i].w;
	if (t->n + big + (small > 0) > max_nodes) {
		t->v[node].flags |= PFS_CG_NODE_UNEXPANDED;
		t->budget_hit = true;
		return;
	}
	double sum = 0;
	for (size_t i = 0; i < big; i++) {
		uint32_t c = add_node(t, cap, node, kids[i].fn, kids[i].cut ? PFS_CG_NODE_CUT : 0,
				      kids[i].w);
		sum += kids[i].w;
		if (kids[i].cut)
			continue;
		if (t->v[c].depth >= max_depth)
			t->v[c].flags |= PFS_CG_NODE_UNEXPANDED;
		else
			heap_push(h, t, c);
	}
	if (small > 0) {
		add_node(t, cap, node, PFS_CG_NONE, PFS_CG_NODE_OTHER, small);
		sum += small;
	}
	t->v[node].self = t->v[node].total - sum;
	if (t->v[node].self < 0)
		t->v[node].self = 0;
}

void pfs_cg_tree_build(const struct pfs_callgraph *g, const struct pfs_cg_tree_opts *o,
		       struct pfs_cg_tree *out)
{
	static const struct pfs_cg_tree_opts none;
	if (!o)
		o = &none;
	uint32_t ev = o->event < g->n_ev ? o->event : 0;
	size_t max_nodes = o->max_nodes ? o->max_nodes : PFS_CG_TREE_MAX_NODES;
	double share = o->min_share > 0 ? o->min_share : PFS_CG_TREE_MIN_SHARE;
	uint32_t max_depth = o->max_depth ? o->max_depth : PFS_CG_TREE_MAX_DEPTH;
	struct pfs_cg_tree *t = out;
	struct heap h = {0};
	size_t cap = 0, nk = 0, kcap = 0;
	struct kid *kids = NULL;
	memset(t, 0, sizeof(*t));
	if (max_nodes < 2)
		max_nodes = 2;
	t->total = pfs_cg_total(g, ev);
	add_node(t, &cap, PFS_CG_NONE, PFS_CG_NONE, 0, 0);
	if (!g->n_ev || !g->finished)
		return;
	double min = share * t->total;
	/*
	 * Roots: what callers do not pass to a function. A function called only by others gets
	 * its inclusive cost from them to rounding (pstats adds the same floats in another
	 * order): a part under a millionth of it is rounding, not a root.
	 */
	for (uint32_t f = 0; f < g->n_fn; f++) {
		double incl = pfs_cg_incl(g, f, ev), in = 0;
		size_t n;
		const uint32_t *ins = pfs_cg_callers(g, f, &n);
		if (!(incl > 0))
			continue;
		for (size_t i = 0; i < n; i++)
			if (g->e[ins[i]].caller != f && pfs_cg_edge_incl(g, ins[i], ev) > 0)
				in += pfs_cg_edge_incl(g, ins[i], ev);
		if (incl - in > 1e-6 * incl) {
			PFS_GROW(kids, kcap, nk + 1);
			kids[nk++] = (struct kid){f, incl - in, false};
		}
	}
	double roots = 0;
	for (size_t i = 0; i < nk; i++)
		roots += kids[i].w;
	t->v[0].total = t->roots = roots;
	attach(t, &cap, &h, 0, kids, nk, min, max_nodes, max_depth);
	t->v[0].self = 0;
	while (h.n) {
		uint32_t x = heap_pop(&h, t);
		uint32_t f = t->v[x].fn;
		double incl = pfs_cg_incl(g, f, ev), w = t->v[x].total, sum = 0;
		size_t n;
		const uint32_t *outs = pfs_cg_callees(g, f, &n);
		nk = 0;
		for (size_t i = 0; i < n && incl > 0; i++) {
			const struct pfs_cg_edge *e = &g->e[outs[i]];
			double c = pfs_cg_edge_incl(g, outs[i], ev);
			if (e->callee == f || !(c > 0))
				continue;
			PFS_GROW(kids, kcap, nk + 1);
			kids[nk++] = (struct kid){e->callee, w * (c < incl ? c / incl : 1),
						  on_path(t, x, e->callee)};
			sum += kids[nk - 1].w;
		}
		/* edges that claim more than the function had (inconsistent input) are scaled */
		if (sum > w)
			for (size_t i = 0; i < nk; i++)
				kids[i].w *= w / sum;
		attach(t, &cap, &h, x, kids, nk, min, max_nodes, max_depth);
	}
	free(kids);
	free(h.v);
}

void pfs_cg_tree_release(struct pfs_cg_tree *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}

static int cmp_hot(const void *x, const void *y, void *arg)
{
	const struct pfs_cg_tree *t = arg;
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
	if (t->v[a].self != t->v[b].self)
		return t->v[a].self > t->v[b].self ? -1 : 1;
	return a < b ? -1 : a > b;
}

size_t pfs_cg_hot_paths(const struct pfs_cg_tree *t, uint32_t *out, size_t n)
{
	uint32_t *v = pfs_xcalloc(t->n ? t->n : 1, sizeof(*v));
	size_t k = 0;
	for (size_t i = 1; i < t->n; i++)
		if (t->v[i].fn != PFS_CG_NONE &&
		    !(t->v[i].flags & (PFS_CG_NODE_CUT | PFS_CG_NODE_UNEXPANDED)) &&
		    t->v[i].self > 0)
			v[k++] = (uint32_t)i;
	qsort_r(v, k, sizeof(*v), cmp_hot, (void *)t);
	if (k > n)
		k = n;
	memcpy(out, v, k * sizeof(*out));
	free(v);
	return k;
}

static void put_frame_name(FILE *out, const struct pfs_callgraph *g, const struct pfs_cg_node *n)
{
	const char *s = n->fn == PFS_CG_NONE ? "[other]" : pfs_cg_name(g, n->fn);
	for (; *s; s++)
		fputc(*s == ';' ? ':' : *s == '\n' || *s == '\r' ? ' ' : *s, out);
	if (n->flags & PFS_CG_NODE_CUT)
		fputs(" (recursive)", out);
	else if (n->flags & PFS_CG_NODE_UNEXPANDED)
		fputs(" (not expanded)", out);
}

int pfs_cg_tree_write_folded(const struct pfs_callgraph *g, const struct pfs_cg_tree *t, FILE *out,
			     struct pfs_err *err)
{
	double scale = pfs_cg_seconds(g) ? 1e9 : 1;
	uint32_t path[PFS_CG_TREE_MAX_DEPTH + 2];
	for (size_t i = 1; i < t->n; i++) {
		double w = nearbyint(t->v[i].self * scale);
		size_t d = 0;
		if (!(w >= 1))
			continue;
		for (uint32_t x = (uint32_t)i; x && d < sizeof(path) / sizeof(path[0]);
		     x = t->v[x].parent)
			path[d++] = x;
		while (d--) {
			put_frame_name(out, g, &t->v[path[d]]);
			fputc(d ? ';' : ' ', out);
		}
		fprintf(out, "%.0f\n", w);
	}
	if (fflush(out) || ferror(out))
		return pfs_err_sys(err, "cannot write the reconstructed stacks");
	return 0;
}

/* JSON */

static void json_count(struct pfs_jsonw *w, uint64_t v)
{
	if (v == PFS_CG_UNKNOWN)
		pfs_jsonw_null(w);
	else
		pfs_jsonw_u64(w, v);
}

static void json_costs(struct pfs_jsonw *w, const double *v, uint32_t n)
{
	pfs_jsonw_arr(w);
	for (uint32_t i = 0; i < n; i++)
		pfs_jsonw_dbl_exact(w, v[i]);
	pfs_jsonw_end_arr(w);
}

static void json_func_id(struct pfs_jsonw *w, const struct pfs_callgraph *g, uint32_t f)
{
	pfs_jsonw_key(w, "function");
	pfs_jsonw_str(w, pfs_cg_name(g, f));
	pfs_jsonw_key(w, "file");
	pfs_jsonw_str(w, pfs_cg_file(g, f));
	pfs_jsonw_key(w, "line");
	pfs_jsonw_u64(w, pfs_cg_line(g, f));
	if (g->format == PFS_CG_CALLGRIND) {
		pfs_jsonw_key(w, "object");
		pfs_jsonw_str(w, pfs_cg_object(g, f));
	}
}

static void json_events(struct pfs_jsonw *w, const struct pfs_callgraph *g)
{
	pfs_jsonw_key(w, "events");
	pfs_jsonw_arr(w);
	for (uint32_t i = 0; i < g->n_ev; i++) {
		pfs_jsonw_obj(w);
		pfs_jsonw_key(w, "name");
		pfs_jsonw_str(w, g->ev_name[i]);
		pfs_jsonw_key(w, "description");
		pfs_jsonw_str(w, g->ev_desc[i]);
		pfs_jsonw_key(w, "unit");
		pfs_jsonw_str(w, pfs_cg_seconds(g) ? "seconds" : "count");
		pfs_jsonw_key(w, "total");
		pfs_jsonw_dbl_exact(w, pfs_cg_total(g, i));
		pfs_jsonw_key(w, "summary");
		pfs_jsonw_dbl_exact(w, g->info.summary[i]);
		pfs_jsonw_end_obj(w);
	}
	pfs_jsonw_end_arr(w);
}

int pfs_cg_write_json(const struct pfs_callgraph *g, const char *label, const struct pfs_diag *diag,
		      FILE *out, struct pfs_err *err)
{
	struct pfs_jsonw w;
	pfs_jsonw_init(&w, out, false);
	pfs_jsonw_obj(&w);
	pfs_jsonw_key(&w, "schema");
	pfs_jsonw_str(&w, "perfsight-callgraph/1");
	pfs_jsonw_key(&w, "label");
	pfs_jsonw_str(&w, label);
	pfs_jsonw_key(&w, "format");
	pfs_jsonw_str(&w, pfs_cg_format_name(g->format));
	json_events(&w, g);
	pfs_jsonw_key(&w, "calls");
	json_count(&w, pfs_cg_total_calls(g, false));
	pfs_jsonw_key(&w, "primitive_calls");
	json_count(&w, pfs_cg_total_calls(g, true));
	pfs_jsonw_key(&w, "functions");
	pfs_jsonw_arr(&w);
	for (uint32_t f = 0; f < g->n_fn; f++) {
		pfs_jsonw_obj(&w);
		pfs_jsonw_key(&w, "id");
		pfs_jsonw_u64(&w, f);
		json_func_id(&w, g, f);
		pfs_jsonw_key(&w, "listed");
		pfs_jsonw_bool(&w, g->fn[f].listed);
		pfs_jsonw_key(&w, "calls");
		json_count(&w, g->fn[f].calls);
		pfs_jsonw_key(&w, "primitive_calls");
		json_count(&w, g->fn[f].prim_calls);
		pfs_jsonw_key(&w, "self");
		json_costs(&w, g->fs + (size_t)f * g->n_ev, g->n_ev);
		pfs_jsonw_key(&w, "inclusive");
		json_costs(&w, g->fi + (size_t)f * g->n_ev, g->n_ev);
		pfs_jsonw_end_obj(&w);
	}
	pfs_jsonw_end_arr(&w);
	pfs_jsonw_key(&w, "edges");
	pfs_jsonw_arr(&w);
	for (uint32_t e = 0; e < g->n_e; e++) {
		pfs_jsonw_obj(&w);
		pfs_jsonw_key(&w, "caller");
		pfs_jsonw_u64(&w, g->e[e].caller);
		pfs_jsonw_key(&w, "callee");
		pfs_jsonw_u64(&w, g->e[e].callee);
		pfs_jsonw_key(&w, "calls");
		json_count(&w, g->e[e].calls);
		pfs_jsonw_key(&w, "primitive_calls");
		json_count(&w, g->e[e].prim_calls);
		pfs_jsonw_key(&w, "self");
		json_costs(&w, g->es + (size_t)e * g->n_ev, g->n_ev);
		pfs_jsonw_key(&w, "inclusive");
		json_costs(&w, g->ei + (size_t)e * g->n_ev, g->n_ev);
		pfs_jsonw_end_obj(&w);
	}
	pfs_jsonw_end_arr(&w);
	pfs_jsonw_key(&w, "diagnostics");
	pfs_diag_write_json(diag, &w);
	pfs_jsonw_end_obj(&w);
	fputc('\n', out);
	if (fflush(out) || ferror(out))
		return pfs_err_sys(err, "cannot write the call graph");
	return 0;
}

/* A cost per call: NAN when the calls are not known or none. */
static double per_call(double cost, uint64_t calls)
{
	return calls && calls != PFS_CG_UNKNOWN ? cost / (double)calls : NAN;
}

/* pstats' per-call columns: self over all calls, inclusive over the primitive ones. */
static double incl_per_call(const struct pfs_cg_func *f, double incl)
{
	return per_call(incl, f->prim_calls != PFS_CG_UNKNOWN ? f->prim_calls : f->calls);
}

static void json_top(struct pfs_jsonw *w, const struct pfs_callgraph *g, uint32_t ev, size_t n,
		     enum pfs_cg_key key)
{
	uint32_t *v = pfs_cg_sorted(g, ev, key);
	pfs_jsonw_arr(w);
	for (size_t i = 0; i < n && i < g->n_fn; i++) {
		uint32_t f = v[i];
		double self = pfs_cg_self(g, f, ev), incl = pfs_cg_incl(g, f, ev);
		pfs_jsonw_obj(w);
		json_func_id(w, g, f);
		pfs_jsonw_key(w, "calls");
		json_count(w, g->fn[f].calls);
		pfs_jsonw_key(w, "primitive_calls");
		json_count(w, g->fn[f].prim_calls);
		pfs_jsonw_key(w, "self");
		pfs_jsonw_dbl_exact(w, self);
		pfs_jsonw_key(w, "inclusive");
		pfs_jsonw_dbl_exact(w, incl);
		pfs_jsonw_key(w, "self_per_call");
		pfs_jsonw_dbl(w, per_call(self, g->fn[f].calls));
		pfs_jsonw_key(w, "inclusive_per_call");
		pfs_jsonw_dbl(w, incl_per_call(&g->fn[f], incl));
		pfs_jsonw_end_obj(w);
	}
	pfs_jsonw_end_arr(w);
	free(v);
}

void pfs_cg_json_summary(const struct pfs_callgraph *g, uint32_t ev, size_t n, struct pfs_jsonw *w)
{
	struct pfs_cg_tree_opts to = {.event = ev};
	struct pfs_cg_tree t;
	uint32_t hot[16];
	size_t nh;
	pfs_jsonw_obj(w);
	pfs_jsonw_key(w, "format");
	pfs_jsonw_str(w, pfs_cg_format_name(g->format));
	pfs_jsonw_key(w, "event");
	pfs_jsonw_str(w, g->n_ev ? g->ev_name[ev] : NULL);
	pfs_jsonw_key(w, "unit");
	pfs_jsonw_str(w, pfs_cg_seconds(g) ? "seconds" : "count");
	pfs_jsonw_key(w, "total");
	pfs_jsonw_dbl_exact(w, pfs_cg_total(g, ev));
	pfs_jsonw_key(w, "calls");
	json_count(w, pfs_cg_total_calls(g, false));
	pfs_jsonw_key(w, "primitive_calls");
	json_count(w, pfs_cg_total_calls(g, true));
	pfs_jsonw_key(w, "functions");
	pfs_jsonw_u64(w, g->n_fn);
	pfs_jsonw_key(w, "edges");
	pfs_jsonw_u64(w, g->n_e);
	pfs_jsonw_key(w, "top_self");
	json_top(w, g, ev, n, PFS_CG_BY_SELF);
	pfs_jsonw_key(w, "top_inclusive");
	json_top(w, g, ev, n, PFS_CG_BY_INCL);
	pfs_cg_tree_build(g, &to, &t);
	nh = pfs_cg_hot_paths(&t, hot, n < 16 ? n : 16);
	pfs_jsonw_key(w, "hot_paths_reconstructed");
	pfs_jsonw_bool(w, true);
	pfs_jsonw_key(w, "hot_paths");
	pfs_jsonw_arr(w);
	for (size_t i = 0; i < nh; i++) {
		uint32_t path[PFS_CG_TREE_MAX_DEPTH + 1];
		size_t d = 0;
		for (uint32_t x = hot[i]; x && d < PFS_CG_TREE_MAX_DEPTH + 1; x = t.v[x].parent)
			path[d++] = x;
		pfs_jsonw_obj(w);
		pfs_jsonw_key(w, "self");
		pfs_jsonw_dbl(w, t.v[hot[i]].self);
		pfs_jsonw_key(w, "total");
		pfs_jsonw_dbl(w, t.v[hot[i]].total);
		pfs_jsonw_key(w, "path");
		pfs_jsonw_arr(w);
		while (d--) {
			pfs_jsonw_obj(w);
			json_func_id(w, g, t.v[path[d]].fn);
			pfs_jsonw_end_obj(w);
		}
		pfs_jsonw_end_arr(w);
		pfs_jsonw_end_obj(w);
	}
	pfs_jsonw_end_arr(w);
	pfs_jsonw_end_obj(w);
	pfs_cg_tree_release(&t);
}
