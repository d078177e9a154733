#include "diff.h"

#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "html.h"
#include "jsonw.h"
#include "pyclass.h"
#include "stats.h"
#include "strtab.h"
#include "xalloc.h"

/* ---- a merged tree of one view: nodes keyed by (parent, name, kind) ---- */

/* A node of a merged tree: parent before child, node 0 the root. */
struct node {
	int32_t parent;
	uint32_t name; /* index into the diff's strtab */
	uint8_t kind;  /* enum pfs_fg_kind */
	uint64_t self1, self2, total1, total2;
	int8_t sig; /* +1 grew, -1 shrank beyond noise, 0 within noise or untested */
};

struct tree {
	struct node *v;
	size_t n, cap;
	uint32_t *slots; /* node + 1 */
	size_t nslots;
	uint32_t *memo[2]; /* per side: profile path id -> node + 1 */
	size_t cap_memo[2];
};

static uint64_t node_hash(int32_t parent, uint32_t name, uint8_t kind)
{
	uint64_t k = ((uint64_t)(uint32_t)parent << 32 | name) * 0x9e3779b97f4a7c15ull;
	return (k ^ (k >> 29) ^ kind) * 0xbf58476d1ce4e5b9ull;
}

static void tree_rehash(struct tree *t)
{
	size_t ns = t->nslots ? t->nslots * 2 : 4096;
	uint32_t *sl = pfs_xcalloc(ns, sizeof(*sl));
	for (size_t i = 1; i < t->n; i++) {
		const struct node *x = &t->v[i];
		size_t h = node_hash(x->parent, x->name, x->kind) & (ns - 1);
		while (sl[h])
			h = (h + 1) & (ns - 1);
		sl[h] = (uint32_t)i + 1;
	}
	free(t->slots);
	t->slots = sl;
	t->nslots = ns;
}

static uint32_t tree_child(struct tree *t, uint32_t parent, uint32_t name, uint8_t kind)
{
	if (2 * (t->n + 1) > t->nslots)
		tree_rehash(t);
	size_t h = node_hash((int32_t)parent, name, kind) & (t->nslots - 1);
	for (; t->slots[h]; h = (h + 1) & (t->nslots - 1)) {
		const struct node *x = &t->v[t->slots[h] - 1];
		if (x->parent == (int32_t)parent && x->name == name && x->kind == kind)
			return t->slots[h] - 1;
	}
	PFS_GROW(t->v, t->cap, t->n + 1);
	t->v[t->n] = (struct node){.parent = (int32_t)parent, .name = name, .kind = kind};
	t->slots[h] = (uint32_t)++t->n;
	return (uint32_t)t->n - 1;
}

static void tree_release(struct tree *t)
{
	free(t->v);
	free(t->slots);
	free(t->memo[0]);
	free(t->memo[1]);
}

/* ---- the diff ---- */

struct endpoint {
	const char *name;		 /* owned */
	size_t n1, n2;			 /* requests */
	double med1, med2, p95_1, p95_2; /* seconds */
	double p, q;			 /* Mann-Whitney, Holm-adjusted over the endpoints */
	bool significant;
};

struct table {
	struct pfs_diff_row *v;
	size_t n, cap;
};

struct pfs_diff {
	struct pfs_diff_opts o;
	struct pfs_diff_side side[2];
	struct pfs_strtab st; /* every name of both captures once */
	struct tree tree[PFS_VIEW_COUNT];
	struct table tab[PFS_DIFF_N_TABLES];
	struct pfs_diff_figure fig[PFS_DIFF_N_FIGS];
	struct endpoint *ep;
	size_t n_ep;
	double dispersion;
	double scale_se; /* the standard error of scale */
	double scale;	 /* the composition shift: pfs_stats_median_ratio() over the functions */
	double overlap[2];
	const char *warn[8];
	size_t n_warn;
	/* per side, while building */
	struct pfs_capture *cap[2];
	int event[2];
	uint8_t *kind_memo[2]; /* frame id -> kind + 1 */
	size_t cap_kind[2];
};

static void warn(struct pfs_diff *d, const char *w)
{
	if (d->n_warn < sizeof(d->warn) / sizeof(d->warn[0]))
		d->warn[d->n_warn++] = w;
}

static uint8_t pseudo_kind(const char *name)
{
	if (!strcmp(name, "[gc]"))
		return PFS_KIND_GC;
	if (!strncmp(name, "[gil ", 5))
		return PFS_KIND_GIL;
	if (!strcmp(name, "[kernel]"))
		return PFS_KIND_KERNEL;
	if (!strcmp(name, "[interpreter]") || !strcmp(name, "[alloc]"))
		return PFS_KIND_INTERP;
	if (!strncmp(name, "[native", 7))
		return PFS_KIND_NATIVE;
	return PFS_KIND_OTHER;
}

/* What a frame is, for the flame graph's kinds (html.h): by its own kind and name alone. */
static uint8_t frame_kind(struct pfs_diff *d, int s, uint32_t frame)
{
	struct pfs_capture *c = d->cap[s];
	PFS_GROW_ZEROED(d->kind_memo[s], d->cap_kind[s], frame);
	if (d->kind_memo[s][frame])
		return d->kind_memo[s][frame] - 1;
	const struct pfs_frame *f = pfs_profile_frameget(c->prof, frame);
	const char *name = pfs_profile_strget(c->prof, f->name, NULL);
	const char *dso = f->dso ? pfs_profile_strget(c->prof, f->dso, NULL) : NULL;
	struct pfs_pyframe pf = {
	    .name = name,
	    .file = f->file ? pfs_profile_strget(c->prof, f->file, NULL) : NULL,
	    .dso = dso,
	    .kind = f->kind,
	};
	uint8_t k;
	if (pfs_pyclass_is_python_frame(&pf))
		k = pfs_pyclass_frame_origin(&pf) == PFS_PYORIG_APP ? PFS_KIND_PYTHON
								    : PFS_KIND_LIBRARY;
	else if (f->kind == PFS_FK_KERNEL)
		k = PFS_KIND_KERNEL;
	else if (f->kind == PFS_FK_UNKNOWN)
		k = PFS_KIND_OTHER;
	else if (f->kind == PFS_FK_PSEUDO)
		k = pseudo_kind(name);
	else {
		switch (pfs_pyclass_function(pfs_views_pyver(c->views), name, dso)) {
		case PFS_PYFN_GC:
			k = PFS_KIND_GC;
			break;
		case PFS_PYFN_GIL_TAKE:
		case PFS_PYFN_GIL_DROP:
			k = PFS_KIND_GIL;
			break;
		case PFS_PYFN_EVAL:
			k = PFS_KIND_INTERP;
			break;
		default:
			k = dso && pfs_pyclass_is_python_dso(dso) ? PFS_KIND_INTERP
								  : PFS_KIND_NATIVE;
		}
	}
	d->kind_memo[s][frame] = k + 1;
	return k;
}

/* The node of side s's path (a path of view v), made with its ancestors when new. */
static uint32_t node_of(struct pfs_diff *d, struct tree *t, int s, uint32_t path)
{
	struct pfs_profile *p = d->cap[s]->prof;
	uint32_t chain[256];
	size_t n = 0;
	uint32_t q = path, node = 0;
	/* walk up to a known node (or the root), then make the missing ones down */
	while (q) {
		PFS_GROW_ZEROED(t->memo[s], t->cap_memo[s], q);
		if (t->memo[s][q]) {
			node = t->memo[s][q] - 1;
			break;
		}
		if (n == sizeof(chain) / sizeof(chain[0])) {
			/* deeper than the chain: make the upper part first */
			node = node_of(d, t, s, q);
			break;
		}
		chain[n++] = q;
		q = pfs_profile_pathget(p, q)->parent;
	}
	while (n--) {
		const struct pfs_path_node *pn = pfs_profile_pathget(p, chain[n]);
		const struct pfs_frame *f = pfs_profile_frameget(p, pn->frame);
		uint32_t name = pfs_strtab_cstr(&d->st, pfs_profile_strget(p, f->name, NULL));
		node = tree_child(t, node, name, frame_kind(d, s, pn->frame));
		t->memo[s][chain[n]] = node + 1;
	}
	return node;
}

static bool cell_in(const struct pfs_diff *d, int s, const struct pfs_agg_cell *c)
{
	return d->event[s] < 0 || c->event == (uint32_t)d->event[s];
}

static void build_tree(struct pfs_diff *d, enum pfs_view v)
{
	struct tree *t = &d->tree[v];
	if (!t->n) {
		PFS_GROW(t->v, t->cap, 1);
		t->v[0] = (struct node){
		    .parent = -1, .name = pfs_strtab_cstr(&d->st, "all"), .kind = PFS_KIND_OTHER};
		t->n = 1;
	}
	for (int s = 0; s < 2; s++) {
		if (!d->cap[s])
			continue;
		const struct pfs_agg *a = d->cap[s]->agg;
		for (size_t i = 0; i < pfs_agg_n(a); i++) {
			const struct pfs_agg_cell *c = pfs_agg_cell(a, i);
			if (!cell_in(d, s, c))
				continue;
			uint32_t vp = pfs_views_path(d->cap[s]->views, v, c->path);
			uint32_t node = node_of(d, t, s, vp);
			if (s)
				t->v[node].self2 += c->count;
			else
				t->v[node].self1 += c->count;
		}
	}
	for (size_t i = 0; i < t->n; i++) {
		t->v[i].total1 = t->v[i].self1;
		t->v[i].total2 = t->v[i].self2;
	}
	for (size_t i = t->n; i-- > 1;) {
		t->v[t->v[i].parent].total1 += t->v[i].total1;
		t->v[t->v[i].parent].total2 += t->v[i].total2;
	}
}

static struct pfs_diff_row *table_add(struct table *t)
{
	PFS_GROW(t->v, t->cap, t->n + 1);
	memset(&t->v[t->n], 0, sizeof(t->v[0]));
	t->v[t->n].z = t->v[t->n].p = t->v[t->n].q = NAN;
	t->v[t->n].kind = PFS_KIND_OTHER;
	return &t->v[t->n++];
}

/* True when an ancestor of node i has its name: its samples are in that ancestor's total. */
static bool name_above(const struct tree *t, size_t i)
{
	for (int32_t a = t->v[i].parent; a > 0; a = t->v[a].parent)
		if (t->v[a].name == t->v[i].name)
			return true;
	return false;
}

/* "root;...;leaf" of node i */
static char *path_name(const struct pfs_diff *d, const struct tree *t, size_t i)
{
	size_t len = 0;
	for (int32_t a = (int32_t)i; a > 0; a = t->v[a].parent)
		len += strlen(d->st.v[t->v[a].name]) + 1; /* a name and its ';' or the NUL */
	char *s = pfs_xmalloc(len ? len : 1), *e = s + (len ? len - 1 : 0);
	*e = 0;
	for (int32_t a = (int32_t)i; a > 0; a = t->v[a].parent) {
		const char *nm = d->st.v[t->v[a].name];
		size_t l = strlen(nm);
		e -= l;
		memcpy(e, nm, l);
		if (e > s)
			*--e = ';';
	}
	return s;
}

/*
 * A pseudo-frame ([gc], [alloc], [interpreter], [native: libx.so], [unknown]) names what a
 * sample was doing, not code: summed over every stack it is a category (tested in its own
 * table), and a stack of nothing else could not be tied to any code. Neither is a function
 * or a call path a gate can point at; both vary between runs of one program more than their
 * samples say (measured: [interpreter] alone moved 9% -> 15% between two identical runs).
 */
static bool is_label(const char *name)
{
	size_t l = strlen(name);
	return l >= 2 && name[0] == '[' && name[l - 1] == ']';
}

static bool label_path(const struct pfs_diff *d, const struct tree *t, size_t i)
{
	for (int32_t a = (int32_t)i; a > 0; a = t->v[a].parent)
		if (!is_label(d->st.v[t->v[a].name]))
			return false;
	return true;
}

static void function_tables(struct pfs_diff *d)
{
	const struct tree *t = &d->tree[d->o.view];
	struct table *self = &d->tab[PFS_DIFF_SELF], *total = &d->tab[PFS_DIFF_TOTAL];
	int32_t *row = pfs_xmalloc((d->st.n + 1) * sizeof(*row));
	memset(row, 0xff, (d->st.n + 1) * sizeof(*row));
	for (size_t i = 1; i < t->n; i++) {
		const struct node *x = &t->v[i];
		if (is_label(d->st.v[x->name]))
			continue;
		if (row[x->name] < 0) {
			row[x->name] = (int32_t)self->n;
			struct pfs_diff_row *a = table_add(self), *b = table_add(total);
			a->name = b->name = d->st.v[x->name];
			a->kind = b->kind = x->kind;
		}
		struct pfs_diff_row *a = &self->v[row[x->name]], *b = &total->v[row[x->name]];
		a->x1 += x->self1;
		a->x2 += x->self2;
		if (!name_above(t, i)) {
			b->x1 += x->total1;
			b->x2 += x->total2;
		}
	}
	free(row);
}

static void path_table(struct pfs_diff *d)
{
	const struct tree *t = &d->tree[d->o.view];
	struct table *paths = &d->tab[PFS_DIFF_PATHS];
	for (size_t i = 1; i < t->n; i++) {
		const struct node *x = &t->v[i];
		/* a path too light to test can never be a finding: not listed (see diff.md) */
		if (x->self1 + x->self2 < d->o.min_test || label_path(d, t, i))
			continue;
		struct pfs_diff_row *r = table_add(paths);
		r->name = path_name(d, t, i);
		r->kind = x->kind;
		r->x1 = x->self1;
		r->x2 = x->self2;
	}
}

/*
 * Tests the rows of t against n1 and n2, adjusts, and marks the significant ones. Rows of code
 * (functions, paths, tree nodes: norm) are tested against the composition shift: their share
 * in BASE scaled by how much the unchanged rest of the program moved, so that one function's
 * growth does not flag every other function's (smaller) share; such a row is a change when
 * its share itself moved by min_delta the same way. Coarse rows (roles, categories) are plain
 * shares.
 */
static void test_rows(struct pfs_diff *d, struct pfs_diff_row *v, size_t n, uint64_t n1,
		      uint64_t n2, bool norm)
{
	double scale = norm ? d->scale : 1, scale_se = norm ? d->scale_se : 0;
	double *p = pfs_xmalloc((n ? n : 1) * sizeof(*p));
	size_t *idx = pfs_xmalloc((n ? n : 1) * sizeof(*idx));
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		struct pfs_diff_row *r = &v[i];
		struct pfs_stats_prop t =
		    pfs_stats_two_prop_se(r->x1, n1, r->x2, n2, scale, scale_se, d->dispersion);
		r->s1 = t.p1;
		r->s2 = t.p2;
		r->expected = fmin(1, t.p1 * scale);
		r->tested = r->x1 + r->x2 >= d->o.min_test && n1 && n2;
		r->significant = false;
		if (!r->tested) {
			r->z = r->p = r->q = NAN;
			continue;
		}
		r->z = t.z;
		r->p = t.p;
		p[m] = t.p;
		idx[m++] = i;
	}
	if (d->o.correction == PFS_DIFF_BH)
		pfs_stats_bh(p, m, p);
	else
		pfs_stats_holm(p, m, p);
	for (size_t k = 0; k < m; k++) {
		struct pfs_diff_row *r = &v[idx[k]];
		r->q = p[k];
		double raw = r->s2 - r->s1, excess = r->s2 - r->expected;
		r->significant = r->q < d->o.alpha && fabs(raw) * 100 >= d->o.min_delta - 1e-12 &&
				 (raw > 0) == (excess > 0);
	}
	free(p);
	free(idx);
}

/*
 * The composition shift and the dispersion of this comparison, both from the functions' self
 * samples: the median ratio of their shares, then the spread of their z scores against it
 * under plain sampling.
 */
static void measure_noise(struct pfs_diff *d)
{
	/* every leaf name, pseudo-frames included: they hold a third of a Python service's
	 * samples and vary between runs as much as code does, which the noise must include */
	const struct tree *t = &d->tree[d->o.view];
	size_t ns = d->st.n + 1, m = 0;
	uint64_t *x1 = pfs_xcalloc(ns, sizeof(*x1)), *x2 = pfs_xcalloc(ns, sizeof(*x2));
	double *z = pfs_xmalloc(ns * sizeof(*z)), *w = pfs_xmalloc(ns * sizeof(*w));
	uint64_t n1 = d->side[0].samples, n2 = d->side[1].samples;
	for (size_t i = 1; i < t->n; i++) {
		x1[t->v[i].name] += t->v[i].self1;
		x2[t->v[i].name] += t->v[i].self2;
	}
	for (size_t k = 0; k < ns; k++)
		if (x1[k] + x2[k] >= d->o.min_test) {
			x1[m] = x1[k];
			x2[m++] = x2[k];
		}
	d->scale = pfs_stats_median_ratio(x1, x2, m, n1, n2);
	d->scale_se = pfs_stats_median_ratio_se(x1, x2, m, n1, n2);
	for (size_t i = 0; i < m; i++) {
		z[i] = pfs_stats_two_prop(x1[i], n1, x2[i], n2, d->scale, 1).z;
		w[i] = sqrt((double)(x1[i] + x2[i]));
	}
	d->dispersion = d->o.no_dispersion ? 1 : pfs_stats_dispersion_weighted(z, w, m);
	free(w);
	free(x1);
	free(x2);
	free(z);
}

/* Node colours: each node's total tested, adjusted over the view's tested nodes. */
static void mark_nodes(struct pfs_diff *d, struct tree *t)
{
	struct table tmp = {0};
	uint32_t *which = pfs_xmalloc((t->n ? t->n : 1) * sizeof(*which));
	for (size_t i = 1; i < t->n; i++) {
		if (t->v[i].total1 + t->v[i].total2 < d->o.min_test)
			continue;
		struct pfs_diff_row *r = table_add(&tmp);
		r->x1 = t->v[i].total1;
		r->x2 = t->v[i].total2;
		which[tmp.n - 1] = (uint32_t)i;
	}
	test_rows(d, tmp.v, tmp.n, d->side[0].samples, d->side[1].samples, true);
	for (size_t k = 0; k < tmp.n; k++)
		if (tmp.v[k].significant)
			t->v[which[k]].sig = tmp.v[k].s2 > tmp.v[k].s1 ? 1 : -1;
	free(tmp.v);
	free(which);
}

static int dbl_cmp(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return (a > b) - (a < b);
}

/* ---- the figures of one capture, read through the analysis accessors only ---- */

struct side_figs {
	bool analysis;
	uint64_t cpu, gc;
	uint64_t cat[PFS_CAT_COUNT];
	uint64_t role_cpu[3]; /* master, worker, process */
	bool gc_probes;
	const char *gc_why; /* why pauses were not measured (sampled probes), or NULL */
	double *pauses_ms;
	size_t n_pauses;
	const char *gil_why;		     /* NULL when GIL waits were measured */
	double gil_wait_s[4], gil_life_s[4]; /* per role, [3] all */
	double worker_cpu_s;		     /* mean per worker; NAN: no workers or no clock */
};

static int role_index(const char *role)
{
	if (role && !strcmp(role, "master"))
		return 0;
	if (role && !strcmp(role, "worker"))
		return 1;
	return 2;
}

static void side_figures(struct pfs_capture *c, struct side_figs *f)
{
	memset(f, 0, sizeof(*f));
	f->worker_cpu_s = NAN;
	const struct pfs_analysis *a = c ? c->analysis : NULL;
	if (!a || !pfs_analysis_python(a))
		return;
	struct pfs_an_header h;
	pfs_analysis_header(a, &h);
	double wsum = 0;
	size_t nw = 0;
	f->analysis = true;
	bool switches = pfs_analysis_has_switch_waits(a), probes = pfs_analysis_has_gil_probes(a);
	if (!switches && !probes)
		f->gil_why = pfs_analysis_not_measured(a, "switch")
				 ? "GIL waits not measured: sched_switch/take_gil were sampled"
				 : "no sched_switch or take_gil probes recorded";
	if (pfs_analysis_not_measured(a, "gc"))
		f->gc_why = "GC pauses not measured: the GC probes were sampled";
	for (size_t i = 0; i < pfs_analysis_n_processes(a); i++) {
		const struct pfs_an_process *pr = pfs_analysis_process(a, i);
		int r = role_index(pr->role);
		if (r == 1) {
			wsum += (double)pr->cpu_period / 1e9;
			nw++;
		}
		f->cpu += pr->cpu_samples;
		f->gc += pr->gc_samples;
		f->role_cpu[r] += pr->cpu_samples;
		for (int k = 0; k < PFS_CAT_COUNT; k++)
			f->cat[k] += pr->cat[k];
		for (size_t j = 0; j < pr->n_threads; j++) {
			const struct pfs_an_thread *t = pfs_analysis_thread(a, pr->threads[j]);
			const struct pfs_thread *pt = pfs_profile_thread(c->prof, t->pid, t->tid);
			double life = pt->end > pt->start ? (double)(pt->end - pt->start) / 1e9 : 0;
			double w = (double)(switches ? t->gil_wait_ns : t->probe_wait_ns) / 1e9;
			if (!t->cpu_samples)
				continue; /* a thread that never ran Python cannot wait for its GIL
					   */
			f->gil_wait_s[r] += w;
			f->gil_life_s[r] += life;
			f->gil_wait_s[3] += w;
			f->gil_life_s[3] += life;
		}
	}
	if (nw && h.cpu_clock)
		f->worker_cpu_s = wsum / (double)nw;
	f->gc_probes = pfs_analysis_has_gc_probes(a);
	if (f->gc_probes) {
		f->n_pauses = pfs_analysis_n_pauses(a);
		f->pauses_ms = pfs_xmalloc((f->n_pauses ? f->n_pauses : 1) * sizeof(double));
		for (size_t i = 0; i < f->n_pauses; i++)
			f->pauses_ms[i] = (double)pfs_analysis_pause(a, i)->dur / 1e6;
	}
}

/*
 * The share of a side's samples whose stack was cut short: rooted at the [truncated] mark that
 * ingest puts where an unwind ran out of its stack dump (the definition the analysis counts,
 * pfs_pyclass_is_cut_mark). NAN for a profiler dump, which has no native stacks to cut.
 */
static double cut_share(struct pfs_diff *d, int s)
{
	struct pfs_capture *c = d->cap[s];
	if (!c || c->kind == PFS_CAPTURE_PYPROF || (c->info.kind && strcmp(c->info.kind, "perf")))
		return NAN;
	uint64_t cut = 0, all = 0;
	for (size_t i = 0; i < pfs_agg_n(c->agg); i++) {
		const struct pfs_agg_cell *cell = pfs_agg_cell(c->agg, i);
		if (!cell_in(d, s, cell) || !cell->path)
			continue;
		uint32_t q = cell->path;
		while (pfs_profile_pathget(c->prof, q)->parent)
			q = pfs_profile_pathget(c->prof, q)->parent;
		const struct pfs_frame *f =
		    pfs_profile_frameget(c->prof, pfs_profile_pathget(c->prof, q)->frame);
		struct pfs_pyframe pf = {.name = pfs_profile_strget(c->prof, f->name, NULL),
					 .kind = f->kind};
		all += cell->count;
		if (pfs_pyclass_is_cut_mark(&pf))
			cut += cell->count;
	}
	return all ? (double)cut / (double)all : NAN;
}

static void set_fig(struct pfs_diff *d, enum pfs_diff_fig k, double b, double n, const char *why)
{
	d->fig[k] = (struct pfs_diff_figure){.base = b, .new_ = n, .why = why, .p = NAN};
}

/* Why a figure is missing from one capture, for the reader. */
static const char *missing(const struct pfs_diff *d, const struct side_figs *f)
{
	if (!f[0].analysis && !f[1].analysis && d->cap[0])
		return d->side[0].dump || d->side[1].dump
			   ? "a profiler dump has no GC or GIL figures"
			   : "no Python analysis (no CPython found)";
	if (!f[1].analysis)
		return d->side[1].dump ? "the new capture is a profiler dump: no GC or GIL figures"
				       : "no Python analysis of the new capture (no CPython found)";
	if (!f[0].analysis)
		return d->cap[0] ? "no Python analysis of the base capture" : "no baseline";
	return NULL;
}

/* Each side's figure where it has it (NAN where not); why when the two cannot be compared. */
static void figures(struct pfs_diff *d)
{
	struct side_figs f[2];
	side_figures(d->cap[0], &f[0]);
	side_figures(d->cap[1], &f[1]);
	d->side[0].have_analysis = f[0].analysis;
	d->side[1].have_analysis = f[1].analysis;
	bool both = f[0].analysis && f[1].analysis;
	const char *why = missing(d, f);
	for (int k = 0; k < PFS_DIFF_N_FIGS; k++)
		set_fig(d, k, NAN, NAN, why);
	set_fig(d, PFS_DIFF_CUT_SHARE, cut_share(d, 0), cut_share(d, 1), NULL);
	if (isnan(d->fig[PFS_DIFF_CUT_SHARE].new_))
		d->fig[PFS_DIFF_CUT_SHARE].why = "a profiler dump has no native stacks to judge";
	else if (isnan(d->fig[PFS_DIFF_CUT_SHARE].base))
		d->fig[PFS_DIFF_CUT_SHARE].why =
		    d->cap[0] ? "the base capture is a profiler dump" : "no baseline";
	d->side[0].cut_share = d->fig[PFS_DIFF_CUT_SHARE].base;
	d->side[1].cut_share = d->fig[PFS_DIFF_CUT_SHARE].new_;
	for (int s = 0; s < 2; s++) {
		if (!f[s].analysis)
			continue;
		double *cw[2] = {&d->fig[PFS_DIFF_CPU_WORKER].base,
				 &d->fig[PFS_DIFF_CPU_WORKER].new_};
		*cw[s] = f[s].worker_cpu_s;
		double *x[2] = {&d->fig[PFS_DIFF_GC_SHARE].base, &d->fig[PFS_DIFF_GC_SHARE].new_};
		*x[s] = f[s].cpu ? (double)f[s].gc / (double)f[s].cpu : NAN;
		for (int r = 0; r < 4; r++) {
			struct pfs_diff_figure *g = &d->fig[PFS_DIFF_GIL_MASTER + r];
			double v = !f[s].gil_why && f[s].gil_life_s[r] > 0
				       ? f[s].gil_wait_s[r] / f[s].gil_life_s[r]
				       : NAN;
			if (s)
				g->new_ = v;
			else
				g->base = v;
		}
		if (f[s].gc_probes) {
			double *v = f[s].pauses_ms;
			size_t nv = f[s].n_pauses;
			qsort(v, nv, sizeof(*v), dbl_cmp);
			double q[4] = {(double)nv, pfs_stats_quantile(v, nv, 0.5),
				       pfs_stats_quantile(v, nv, 0.99), nv ? v[nv - 1] : 0};
			for (int k = 0; k < 4; k++) {
				if (s)
					d->fig[PFS_DIFF_GC_PAUSES + k].new_ = q[k];
				else
					d->fig[PFS_DIFF_GC_PAUSES + k].base = q[k];
			}
		}
	}
	if (both) {
		struct table *roles = &d->tab[PFS_DIFF_ROLES], *cats = &d->tab[PFS_DIFF_CATS];
		static const char *const role_names[3] = {"master", "worker", "process"};
		for (int r = 0; r < 3; r++) {
			if (!f[0].role_cpu[r] && !f[1].role_cpu[r])
				continue;
			struct pfs_diff_row *x = table_add(roles);
			x->name = role_names[r];
			x->x1 = f[0].role_cpu[r];
			x->x2 = f[1].role_cpu[r];
		}
		test_rows(d, roles->v, roles->n, f[0].cpu, f[1].cpu, false);
		for (int k = 0; k < PFS_CAT_COUNT; k++) {
			struct pfs_diff_row *x = table_add(cats);
			x->name = pfs_pycat_name(k);
			x->x1 = f[0].cat[k];
			x->x2 = f[1].cat[k];
		}
		test_rows(d, cats->v, cats->n, f[0].cpu, f[1].cpu, false);
		struct pfs_stats_prop t =
		    pfs_stats_two_prop(f[0].gc, f[0].cpu, f[1].gc, f[1].cpu, 1, d->dispersion);
		d->fig[PFS_DIFF_GC_SHARE].why = NULL;
		d->fig[PFS_DIFF_GC_SHARE].p = t.p;
		d->fig[PFS_DIFF_GC_SHARE].significant =
		    t.p < d->o.alpha && fabs(t.p2 - t.p1) * 100 >= d->o.min_delta - 1e-12;
		if (f[0].gc_probes && f[1].gc_probes) {
			double p = pfs_stats_mann_whitney(f[0].pauses_ms, f[0].n_pauses,
							  f[1].pauses_ms, f[1].n_pauses);
			for (int k = PFS_DIFF_GC_PAUSES; k <= PFS_DIFF_GC_MAX; k++) {
				d->fig[k].why = NULL;
				d->fig[k].p = k == PFS_DIFF_GC_PAUSES ? NAN : p;
				d->fig[k].significant = k != PFS_DIFF_GC_PAUSES && p < d->o.alpha;
			}
		} else {
			for (int k = PFS_DIFF_GC_PAUSES; k <= PFS_DIFF_GC_MAX; k++)
				d->fig[k].why = f[0].gc_why   ? f[0].gc_why
						: f[1].gc_why ? f[1].gc_why
							      : "no GC probes in one capture";
		}
		d->fig[PFS_DIFF_CPU_WORKER].why =
		    isnan(d->fig[PFS_DIFF_CPU_WORKER].base) ||
			    isnan(d->fig[PFS_DIFF_CPU_WORKER].new_)
			? "no gunicorn/uWSGI workers, or no clock event, in one capture"
			: NULL;
		const char *gwhy = f[0].gil_why ? f[0].gil_why : f[1].gil_why;
		for (int r = 0; r < 4; r++) {
			struct pfs_diff_figure *g = &d->fig[PFS_DIFF_GIL_MASTER + r];
			g->why = gwhy ? gwhy
				 : isnan(g->base) || isnan(g->new_)
				     ? "no such threads in one capture"
				     : NULL;
		}
	} else if (f[1].analysis) {
		for (int k = PFS_DIFF_GC_PAUSES; k <= PFS_DIFF_GC_MAX; k++)
			if (!f[1].gc_probes)
				d->fig[k].why = f[1].gc_why ? f[1].gc_why : "no GC probes recorded";
		for (int r = 0; r < 4; r++)
			if (f[1].gil_why)
				d->fig[PFS_DIFF_GIL_MASTER + r].why = f[1].gil_why;
	}
	free(f[0].pauses_ms);
	free(f[1].pauses_ms);
}

/* ---- endpoints of request dumps: the file name without its sequence number ---- */

static char *endpoint_name(const char *label)
{
	const char *s = pfs_pyclass_basename(label);
	const char *p = s;
	while (*p >= '0' && *p <= '9')
		p++;
	if (p > s && (*p == '-' || *p == '_'))
		s = p + 1;
	char *e = pfs_xstrdup(s);
	char *dot = strchr(e, '.');
	if (dot && dot > e)
		*dot = 0;
	return e;
}

struct ep_acc {
	char *name;
	double *d[2];
	size_t n[2], cap[2];
};

static void endpoints(struct pfs_diff *d)
{
	struct ep_acc *acc = NULL;
	size_t n = 0, cap = 0;
	for (int s = 0; s < 2; s++) {
		const struct pfs_capture *c = d->cap[s];
		if (!c || c->pyprof.n_caps < 2)
			continue;
		for (size_t i = 0; i < c->pyprof.n_caps; i++) {
			const struct pfs_pyprof_capture *pc = &c->pyprof.caps[i];
			if (!pc->label || isnan(pc->duration))
				continue;
			char *name = endpoint_name(pfs_profile_strget(c->prof, pc->label, NULL));
			size_t k = 0;
			while (k < n && strcmp(acc[k].name, name))
				k++;
			if (k == n) {
				PFS_GROW(acc, cap, n + 1);
				memset(&acc[n], 0, sizeof(acc[n]));
				acc[n++].name = name;
			} else {
				free(name);
			}
			PFS_GROW(acc[k].d[s], acc[k].cap[s], acc[k].n[s] + 1);
			acc[k].d[s][acc[k].n[s]++] = pc->duration;
		}
	}
	if (!n)
		return;
	d->ep = pfs_xcalloc(n, sizeof(*d->ep));
	double *p = pfs_xmalloc(n * sizeof(*p));
	for (size_t k = 0; k < n; k++) {
		struct endpoint *e = &d->ep[d->n_ep++];
		e->name = acc[k].name;
		e->n1 = acc[k].n[0];
		e->n2 = acc[k].n[1];
		p[k] = e->p = pfs_stats_mann_whitney(acc[k].d[0], e->n1, acc[k].d[1], e->n2);
		e->med1 = pfs_stats_quantile(acc[k].d[0], e->n1, 0.5);
		e->med2 = pfs_stats_quantile(acc[k].d[1], e->n2, 0.5);
		e->p95_1 = pfs_stats_quantile(acc[k].d[0], e->n1, 0.95);
		e->p95_2 = pfs_stats_quantile(acc[k].d[1], e->n2, 0.95);
		free(acc[k].d[0]);
		free(acc[k].d[1]);
	}
	pfs_stats_holm(p, n, p);
	for (size_t k = 0; k < n; k++) {
		d->ep[k].q = p[k];
		d->ep[k].significant = p[k] < d->o.alpha;
	}
	free(p);
	free(acc);
}

/* ---- setup ---- */

static void fill_side(struct pfs_diff *d, int s)
{
	struct pfs_capture *c = d->cap[s];
	struct pfs_diff_side *x = &d->side[s];
	x->duration_s = NAN;
	x->cut_share = NAN;
	if (!c)
		return;
	x->label = c->info.label;
	x->duration_s = c->info.duration_s;
	x->dump = c->kind == PFS_CAPTURE_PYPROF ||
		  (c->kind == PFS_CAPTURE_DB && c->info.kind && strcmp(c->info.kind, "perf"));
	for (size_t i = 0; i < pfs_agg_n(c->agg); i++) {
		const struct pfs_agg_cell *cell = pfs_agg_cell(c->agg, i);
		if (cell_in(d, s, cell))
			x->samples += cell->count;
	}
}

static void overlap(struct pfs_diff *d)
{
	/* by leaf frame name, pseudo-frames included: samples of names both captures have */
	const struct tree *t = &d->tree[d->o.view];
	uint64_t *a = pfs_xcalloc(2 * (d->st.n + 1), sizeof(*a));
	uint64_t in[2] = {0, 0};
	for (size_t i = 1; i < t->n; i++) {
		a[2 * t->v[i].name] += t->v[i].self1;
		a[2 * t->v[i].name + 1] += t->v[i].self2;
	}
	for (size_t k = 0; k < d->st.n; k++)
		if (a[2 * k] && a[2 * k + 1]) {
			in[0] += a[2 * k];
			in[1] += a[2 * k + 1];
		}
	free(a);
	for (int s = 0; s < 2; s++)
		d->overlap[s] =
		    d->side[s].samples ? (double)in[s] / (double)d->side[s].samples : NAN;
	if (d->overlap[1] < PFS_DIFF_MIN_OVERLAP || d->overlap[0] < PFS_DIFF_MIN_OVERLAP)
		warn(d, "the captures barely share functions: they look like two different "
			"programs, and no change between them is meaningful");
}

int pfs_diff_new(struct pfs_diff **out, struct pfs_capture *base, struct pfs_capture *new_,
		 const struct pfs_diff_opts *o, struct pfs_err *err)
{
	struct pfs_diff *d = pfs_xcalloc(1, sizeof(*d));
	d->o = *o;
	if (!(d->o.alpha > 0 && d->o.alpha < 1))
		d->o.alpha = PFS_DIFF_ALPHA;
	if (d->o.min_delta < 0)
		d->o.min_delta = PFS_DIFF_MIN_DELTA;
	if (!d->o.min_test)
		d->o.min_test = PFS_DIFF_MIN_TEST;
	d->cap[0] = base;
	d->cap[1] = new_;
	d->dispersion = 1;
	d->scale = 1;
	const char *ev[2] = {o->base_event, o->new_event};
	for (int s = 0; s < 2; s++)
		if (d->cap[s] && pfs_capture_fold_event(d->cap[s], ev[s], &d->event[s]) < 0) {
			int rc = pfs_err_set(err, PFS_EUSAGE, PFS_NO_OFF, "%s has no event '%s'",
					     d->cap[s]->info.label, ev[s] ? ev[s] : "(sampling)");
			pfs_diff_free(d);
			return rc;
		}
	fill_side(d, 0);
	fill_side(d, 1);
	for (int v = 0; v < PFS_VIEW_COUNT; v++)
		if (o->trees || v == (int)d->o.view)
			build_tree(d, v);
	function_tables(d);
	path_table(d);
	if (base)
		overlap(d);
	measure_noise(d);
	for (int k = PFS_DIFF_SELF; k <= PFS_DIFF_PATHS; k++)
		test_rows(d, d->tab[k].v, d->tab[k].n, d->side[0].samples, d->side[1].samples,
			  true);
	for (int v = 0; v < PFS_VIEW_COUNT; v++)
		if (d->tree[v].n)
			mark_nodes(d, &d->tree[v]);
	figures(d);
	endpoints(d);
	if (base && d->side[0].dump != d->side[1].dump)
		warn(d,
		     "one capture is a profiler dump and the other a perf capture: their samples "
		     "are not of the same kind");
	if ((base && d->side[0].samples < 100) || d->side[1].samples < 100)
		warn(d, "fewer than 100 samples in a capture: only large changes can be told from "
			"noise");
	for (int s = 0; s < 2; s++) {
		free(d->kind_memo[s]);
		d->kind_memo[s] = NULL;
		d->cap[s] = NULL;
	}
	*out = d;
	return 0;
}

void pfs_diff_free(struct pfs_diff *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->tab[PFS_DIFF_PATHS].n; i++)
		free((char *)d->tab[PFS_DIFF_PATHS].v[i].name);
	for (int k = 0; k < PFS_DIFF_N_TABLES; k++)
		free(d->tab[k].v);
	for (int v = 0; v < PFS_VIEW_COUNT; v++)
		tree_release(&d->tree[v]);
	for (size_t i = 0; i < d->n_ep; i++)
		free((char *)d->ep[i].name);
	free(d->ep);
	free(d->kind_memo[0]);
	free(d->kind_memo[1]);
	pfs_strtab_release(&d->st);
	free(d);
}

/* ---- accessors ---- */

double pfs_diff_alpha(const struct pfs_diff *d)
{
	return d->o.alpha > 0 ? d->o.alpha : PFS_DIFF_ALPHA;
}

const struct pfs_diff_side *pfs_diff_side(const struct pfs_diff *d, int which)
{
	return &d->side[which ? 1 : 0];
}

double pfs_diff_overlap(const struct pfs_diff *d, int which)
{
	return d->overlap[which ? 1 : 0];
}

size_t pfs_diff_n_rows(const struct pfs_diff *d, enum pfs_diff_table t)
{
	return d->tab[t].n;
}

const struct pfs_diff_row *pfs_diff_rows(const struct pfs_diff *d, enum pfs_diff_table t)
{
	return d->tab[t].v;
}

const struct pfs_diff_figure *pfs_diff_fig(const struct pfs_diff *d, enum pfs_diff_fig f)
{
	return &d->fig[f];
}

const char *pfs_diff_fig_name(enum pfs_diff_fig f)
{
	static const char *const names[PFS_DIFF_N_FIGS] = {
	    "gc_share",	       "gc_pauses",	  "gc_pause_p50_ms", "gc_pause_p99_ms",
	    "gc_pause_max_ms", "gil_wait_master", "gil_wait_worker", "gil_wait_process",
	    "gil_wait_all",    "cut_stack_share", "cpu_per_worker_s"};
	return names[f];
}

int pfs_diff_match(struct pfs_diff *d, enum pfs_diff_table t, const char *re,
		   struct pfs_diff_row *out, struct pfs_err *err)
{
	regex_t rx;
	int rc = regcomp(&rx, re, REG_EXTENDED | REG_NOSUB);
	if (rc) {
		char msg[256];
		regerror(rc, &rx, msg, sizeof(msg));
		return pfs_err_set(err, PFS_EUSAGE, PFS_NO_OFF, "bad regular expression '%s': %s",
				   re, msg);
	}
	memset(out, 0, sizeof(*out));
	out->name = re;
	out->kind = PFS_KIND_OTHER;
	if (t == PFS_DIFF_SELF) {
		for (size_t i = 0; i < d->tab[t].n; i++)
			if (!regexec(&rx, d->tab[t].v[i].name, 0, NULL, 0)) {
				out->x1 += d->tab[t].v[i].x1;
				out->x2 += d->tab[t].v[i].x2;
			}
	} else {
		/* each sample once: the nodes whose frame matches and no ancestor's does */
		const struct tree *tr = &d->tree[d->o.view];
		uint8_t *m = pfs_xcalloc(tr->n ? tr->n : 1, 1);
		for (size_t i = 1; i < tr->n; i++) {
			int32_t par = tr->v[i].parent;
			if (par > 0 && m[par]) {
				m[i] = 2; /* under a match */
				continue;
			}
			if (t == PFS_DIFF_PATHS) {
				char *pn = path_name(d, tr, i);
				m[i] = !regexec(&rx, pn, 0, NULL, 0);
				free(pn);
			} else {
				m[i] = !regexec(&rx, d->st.v[tr->v[i].name], 0, NULL, 0);
			}
			if (m[i] == 1) {
				out->x1 += tr->v[i].total1;
				out->x2 += tr->v[i].total2;
			}
		}
		free(m);
	}
	regfree(&rx);
	/* one rule, one test: no family to adjust over */
	test_rows(d, out, 1, d->side[0].samples, d->side[1].samples, true);
	return 0;
}

struct change {
	uint32_t code;
	double mag;
};

static int change_cmp(const void *x, const void *y)
{
	const struct change *a = x, *b = y;
	if (a->mag != b->mag)
		return a->mag > b->mag ? -1 : 1;
	return (a->code > b->code) - (a->code < b->code);
}

size_t pfs_diff_top_changes(const struct pfs_diff *d, uint32_t *out, size_t max)
{
	struct change *c = NULL;
	size_t n = 0, cap = 0;
	for (int t = PFS_DIFF_SELF; t <= PFS_DIFF_PATHS; t++)
		for (size_t i = 0; i < d->tab[t].n; i++) {
			const struct pfs_diff_row *r = &d->tab[t].v[i];
			if (!r->significant)
				continue;
			PFS_GROW(c, cap, n + 1);
			c[n++] =
			    (struct change){(uint32_t)t << 28 | (uint32_t)i, fabs(r->s2 - r->s1)};
		}
	if (n)
		qsort(c, n, sizeof(*c), change_cmp);
	for (size_t i = 0; i < n && i < max; i++)
		out[i] = c[i].code;
	free(c);
	return n;
}

/* ---- text ---- */

static const char *const table_names[PFS_DIFF_N_TABLES] = {"self", "total", "path", "role",
							   "category"};

static void fit(char *buf, size_t room, const char *s)
{
	size_t l = strlen(s);
	if (l < room) {
		memcpy(buf, s, l + 1);
		return;
	}
	/* keep the end: a path's leaf, a function's name after its module */
	snprintf(buf, room + 1, "..%s", s + l - (room - 2));
}

static void text_row(FILE *f, const struct pfs_diff_row *r, const char *what, unsigned width)
{
	char name[512];
	/* the numbers take 41 columns before the name, the p-value 12 after it */
	unsigned room = width > 76 ? width - 56 : 20;
	if (room > sizeof(name) - 1)
		room = sizeof(name) - 1;
	fit(name, room, r->name);
	fprintf(f, "%+7.2f pts %6.2f%% -> %6.2f%%  %-8s %s", (r->s2 - r->s1) * 100, r->s1 * 100,
		r->s2 * 100, what, name);
	if (!isnan(r->q))
		fprintf(f, r->q < 1e-4 ? "  (p<1e-4)\n" : "  (p=%.4f)\n", r->q);
	else
		fputs("\n", f);
}

static void text_fig(FILE *f, const struct pfs_diff *d, enum pfs_diff_fig k, const char *label,
		     bool pct)
{
	const struct pfs_diff_figure *x = &d->fig[k];
	if (x->why && isnan(x->base) && isnan(x->new_)) {
		fprintf(f, "  %-24s not comparable: %s\n", label, x->why);
		return;
	}
	if (x->why) {
		fprintf(f, "  %-24s not comparable: %s\n", label, x->why);
		return;
	}
	double m = pct ? 100 : 1;
	fprintf(f,
		pct ? "  %-24s %7.2f%% -> %7.2f%%  (%+.2f pts)" : "  %-24s %8.3f -> %8.3f  (%+.3f)",
		label, x->base * m, x->new_ * m, (x->new_ - x->base) * m);
	if (!isnan(x->p))
		fprintf(f, "  %s", x->significant ? "beyond noise" : "within noise");
	fputc('\n', f);
}

int pfs_diff_write_text(const struct pfs_diff *d, FILE *f, unsigned width, struct pfs_err *err)
{
	if (width < 60)
		width = 60;
	fprintf(f, "base: %s (%llu samples)\nnew:  %s (%llu samples)\n", d->side[0].label,
		(unsigned long long)d->side[0].samples, d->side[1].label,
		(unsigned long long)d->side[1].samples);
	fprintf(f,
		"view %s; two-proportion tests, %s-adjusted, alpha %g, changes under %g pts "
		"ignored;\nthe rest of the program's shares moved x%.3f; dispersion %.2f\n",
		pfs_view_name(d->o.view), d->o.correction == PFS_DIFF_BH ? "BH" : "Holm",
		d->o.alpha, d->o.min_delta, d->scale, d->dispersion);
	for (size_t i = 0; i < d->n_warn; i++)
		fprintf(f, "warning: %s\n", d->warn[i]);
	uint32_t top[40];
	size_t n = pfs_diff_top_changes(d, top, 40);
	fprintf(f, "\nsignificant changes (%zu), largest first:\n", n);
	if (!n)
		fprintf(f, "  none beyond sampling noise\n");
	for (size_t i = 0; i < n && i < 40; i++)
		text_row(f, &d->tab[top[i] >> 28].v[top[i] & 0xfffffff], table_names[top[i] >> 28],
			 width);
	if (n > 40)
		fprintf(f, "  ... %zu more (--json lists them all)\n", n - 40);
	for (int t = PFS_DIFF_ROLES; t <= PFS_DIFF_CATS; t++) {
		fprintf(f, "\n%s shares of the CPU samples:\n",
			t == PFS_DIFF_ROLES ? "role" : "category");
		if (!d->tab[t].n)
			fprintf(f, "  not comparable: %s\n",
				d->fig[PFS_DIFF_GC_SHARE].why ? d->fig[PFS_DIFF_GC_SHARE].why
							      : "no CPU samples");
		for (size_t i = 0; i < d->tab[t].n; i++) {
			const struct pfs_diff_row *r = &d->tab[t].v[i];
			if (!r->x1 && !r->x2)
				continue;
			fprintf(f, "  %-16s %6.2f%% -> %6.2f%%  (%+.2f pts)  %s\n", r->name,
				r->s1 * 100, r->s2 * 100, (r->s2 - r->s1) * 100,
				r->significant ? "beyond noise" : "within noise");
		}
	}
	fprintf(f, "\nGC and GIL:\n");
	text_fig(f, d, PFS_DIFF_GC_SHARE, "GC share", true);
	text_fig(f, d, PFS_DIFF_GC_PAUSES, "GC pauses", false);
	text_fig(f, d, PFS_DIFF_GC_P50, "GC pause p50 (ms)", false);
	text_fig(f, d, PFS_DIFF_GC_P99, "GC pause p99 (ms)", false);
	text_fig(f, d, PFS_DIFF_GC_MAX, "GC pause max (ms)", false);
	text_fig(f, d, PFS_DIFF_GIL_WORKER, "GIL wait (workers)", true);
	text_fig(f, d, PFS_DIFF_GIL_MASTER, "GIL wait (master)", true);
	text_fig(f, d, PFS_DIFF_GIL_PROCESS, "GIL wait (processes)", true);
	text_fig(f, d, PFS_DIFF_CUT_SHARE, "cut stacks", true);
	if (d->n_ep) {
		fprintf(f, "\nrequests by endpoint (median and p95 wall time):\n");
		for (size_t i = 0; i < d->n_ep; i++) {
			const struct endpoint *e = &d->ep[i];
			fprintf(
			    f,
			    "  %-20s n %zu -> %zu  median %.2f -> %.2f ms  p95 %.2f -> %.2f ms  "
			    "%s\n",
			    e->name, e->n1, e->n2, e->med1 * 1e3, e->med2 * 1e3, e->p95_1 * 1e3,
			    e->p95_2 * 1e3,
			    !e->n1 || !e->n2 ? "not in both"
			    : e->significant ? "beyond noise"
					     : "within noise");
		}
	}
	if (ferror(f))
		return pfs_err_sys(err, "cannot write the diff");
	return 0;
}

/* ---- JSON ---- */

static void json_num(struct pfs_jsonw *w, const char *k, double v)
{
	pfs_jsonw_key(w, k);
	pfs_jsonw_dbl(w, v); /* NAN is null */
}

static void json_row(struct pfs_jsonw *w, const struct pfs_diff_row *r)
{
	pfs_jsonw_obj(w);
	pfs_jsonw_key(w, "name");
	pfs_jsonw_str(w, r->name);
	pfs_jsonw_key(w, "kind");
	pfs_jsonw_str(w, pfs_fg_kind_name(r->kind));
	pfs_jsonw_key(w, "base");
	pfs_jsonw_u64(w, r->x1);
	pfs_jsonw_key(w, "new");
	pfs_jsonw_u64(w, r->x2);
	json_num(w, "base_share", r->s1);
	json_num(w, "new_share", r->s2);
	json_num(w, "delta_pts", (r->s2 - r->s1) * 100);
	json_num(w, "expected_share", r->expected);
	json_num(w, "z", r->z);
	json_num(w, "p", r->p);
	json_num(w, "p_adjusted", r->q);
	pfs_jsonw_key(w, "tested");
	pfs_jsonw_bool(w, r->tested);
	pfs_jsonw_key(w, "significant");
	pfs_jsonw_bool(w, r->significant);
	pfs_jsonw_end_obj(w);
}

static void json_side(struct pfs_jsonw *w, const struct pfs_diff *d, int s)
{
	const struct pfs_diff_side *x = &d->side[s];
	pfs_jsonw_obj(w);
	pfs_jsonw_key(w, "label");
	pfs_jsonw_str(w, x->label);
	pfs_jsonw_key(w, "samples");
	pfs_jsonw_u64(w, x->samples);
	json_num(w, "duration_s", x->duration_s);
	pfs_jsonw_key(w, "kind");
	pfs_jsonw_str(w, x->dump ? "dump" : "perf");
	pfs_jsonw_key(w, "analysis");
	pfs_jsonw_bool(w, x->have_analysis);
	json_num(w, "overlap", d->overlap[s]);
	pfs_jsonw_end_obj(w);
}

static void json_tree(struct pfs_jsonw *w, const struct pfs_diff *d, const struct tree *t,
		      uint32_t *strmap, uint32_t *n_str)
{
	/* prune: nodes under 1/5000 of both captures go into their parent's [other] */
	uint64_t n1 = d->side[0].samples, n2 = d->side[1].samples;
	int32_t *keep = pfs_xmalloc((t->n ? t->n : 1) * sizeof(*keep));
	size_t kept = 0;
	double lim = 1.0 / 5000;
	for (size_t i = 0; i < t->n; i++) {
		const struct node *x = &t->v[i];
		double wt = fmax(n1 ? (double)x->total1 / (double)n1 : 0,
				 n2 ? (double)x->total2 / (double)n2 : 0);
		keep[i] = (i == 0 || (keep[x->parent] >= 0 && wt >= lim)) ? (int32_t)kept++ : -1;
	}
	/* the pruned children's weight shows as their kept parent's own */
	uint64_t *extra = pfs_xcalloc(2 * (t->n ? t->n : 1), sizeof(*extra));
	for (size_t i = 1; i < t->n; i++)
		if (keep[i] < 0 && keep[t->v[i].parent] >= 0) {
			extra[2 * t->v[i].parent] += t->v[i].total1;
			extra[2 * t->v[i].parent + 1] += t->v[i].total2;
		}
	static const char *const cols[] = {"parent", "name",  "kind",  "base",
					   "new",    "bself", "nself", "sig"};
	pfs_jsonw_obj(w);
	for (size_t c = 0; c < sizeof(cols) / sizeof(cols[0]); c++) {
		pfs_jsonw_key(w, cols[c]);
		pfs_jsonw_arr(w);
		for (size_t i = 0; i < t->n; i++) {
			const struct node *x = &t->v[i];
			if (keep[i] < 0)
				continue;
			uint64_t s1 = x->self1 + extra[2 * i], s2 = x->self2 + extra[2 * i + 1];
			switch (c) {
			case 0:
				pfs_jsonw_i64(w, i ? keep[x->parent] : -1);
				break;
			case 1:
				if (strmap[x->name] == UINT32_MAX)
					strmap[x->name] = (*n_str)++;
				pfs_jsonw_u64(w, strmap[x->name]);
				break;
			case 2:
				pfs_jsonw_u64(w, x->kind);
				break;
			case 3:
				pfs_jsonw_u64(w, x->total1);
				break;
			case 4:
				pfs_jsonw_u64(w, x->total2);
				break;
			case 5:
				pfs_jsonw_u64(w, s1);
				break;
			case 6:
				pfs_jsonw_u64(w, s2);
				break;
			default:
				pfs_jsonw_i64(w, x->sig);
			}
		}
		pfs_jsonw_end_arr(w);
	}
	pfs_jsonw_end_obj(w);
	free(keep);
	free(extra);
}

int pfs_diff_write_json(const struct pfs_diff *d, FILE *f, bool pretty, bool trees,
			struct pfs_err *err)
{
	struct pfs_jsonw w;
	pfs_jsonw_init(&w, f, pretty);
	pfs_jsonw_obj(&w);
	pfs_jsonw_key(&w, "format");
	pfs_jsonw_str(&w, "perfsight-diff/1");
	pfs_jsonw_key(&w, "base");
	json_side(&w, d, 0);
	pfs_jsonw_key(&w, "new");
	json_side(&w, d, 1);
	pfs_jsonw_key(&w, "method");
	pfs_jsonw_obj(&w);
	pfs_jsonw_key(&w, "view");
	pfs_jsonw_str(&w, pfs_view_name(d->o.view));
	pfs_jsonw_key(&w, "test");
	pfs_jsonw_str(&w, "two-proportion z");
	pfs_jsonw_key(&w, "correction");
	pfs_jsonw_str(&w, d->o.correction == PFS_DIFF_BH ? "benjamini-hochberg" : "holm");
	json_num(&w, "alpha", d->o.alpha);
	json_num(&w, "min_delta_pts", d->o.min_delta);
	pfs_jsonw_key(&w, "min_test_samples");
	pfs_jsonw_u64(&w, d->o.min_test);
	json_num(&w, "dispersion", d->dispersion);
	json_num(&w, "composition_scale_se", d->scale_se);
	json_num(&w, "composition_scale", d->scale);
	pfs_jsonw_end_obj(&w);
	pfs_jsonw_key(&w, "warnings");
	pfs_jsonw_arr(&w);
	for (size_t i = 0; i < d->n_warn; i++)
		pfs_jsonw_str(&w, d->warn[i]);
	pfs_jsonw_end_arr(&w);
	uint32_t top[64];
	size_t n = pfs_diff_top_changes(d, top, 64);
	pfs_jsonw_key(&w, "changes");
	pfs_jsonw_arr(&w);
	for (size_t i = 0; i < n && i < 64; i++) {
		pfs_jsonw_obj(&w);
		pfs_jsonw_key(&w, "table");
		pfs_jsonw_str(&w, table_names[top[i] >> 28]);
		pfs_jsonw_key(&w, "row");
		pfs_jsonw_u64(&w, top[i] & 0xfffffff);
		pfs_jsonw_end_obj(&w);
	}
	pfs_jsonw_end_arr(&w);
	static const char *const keys[PFS_DIFF_N_TABLES] = {"functions_self", "functions_total",
							    "paths", "roles", "categories"};
	for (int t = 0; t < PFS_DIFF_N_TABLES; t++) {
		pfs_jsonw_key(&w, keys[t]);
		pfs_jsonw_arr(&w);
		for (size_t i = 0; i < d->tab[t].n; i++)
			json_row(&w, &d->tab[t].v[i]);
		pfs_jsonw_end_arr(&w);
	}
	pfs_jsonw_key(&w, "figures");
	pfs_jsonw_obj(&w);
	for (int k = 0; k < PFS_DIFF_N_FIGS; k++) {
		const struct pfs_diff_figure *x = &d->fig[k];
		pfs_jsonw_key(&w, pfs_diff_fig_name(k));
		pfs_jsonw_obj(&w);
		json_num(&w, "base", x->why ? NAN : x->base);
		json_num(&w, "new", x->why ? NAN : x->new_);
		pfs_jsonw_key(&w, "comparable");
		pfs_jsonw_bool(&w, !x->why);
		pfs_jsonw_key(&w, "why");
		pfs_jsonw_str(&w, x->why);
		json_num(&w, "p", x->p);
		pfs_jsonw_key(&w, "significant");
		pfs_jsonw_bool(&w, x->significant);
		pfs_jsonw_end_obj(&w);
	}
	pfs_jsonw_end_obj(&w);
	pfs_jsonw_key(&w, "endpoints");
	pfs_jsonw_arr(&w);
	for (size_t i = 0; i < d->n_ep; i++) {
		const struct endpoint *e = &d->ep[i];
		pfs_jsonw_obj(&w);
		pfs_jsonw_key(&w, "name");
		pfs_jsonw_str(&w, e->name);
		pfs_jsonw_key(&w, "base_requests");
		pfs_jsonw_u64(&w, e->n1);
		pfs_jsonw_key(&w, "new_requests");
		pfs_jsonw_u64(&w, e->n2);
		json_num(&w, "base_median_s", e->med1);
		json_num(&w, "new_median_s", e->med2);
		json_num(&w, "base_p95_s", e->p95_1);
		json_num(&w, "new_p95_s", e->p95_2);
		json_num(&w, "p", e->p);
		json_num(&w, "p_adjusted", e->q);
		pfs_jsonw_key(&w, "significant");
		pfs_jsonw_bool(&w, e->significant);
		pfs_jsonw_end_obj(&w);
	}
	pfs_jsonw_end_arr(&w);
	if (trees) {
		uint32_t *strmap = pfs_xmalloc((d->st.n ? d->st.n : 1) * sizeof(*strmap));
		uint32_t n_str = 0;
		memset(strmap, 0xff, (d->st.n ? d->st.n : 1) * sizeof(*strmap));
		pfs_jsonw_key(&w, "kinds");
		pfs_jsonw_arr(&w);
		for (int k = 0; k < PFS_KIND_COUNT; k++)
			pfs_jsonw_str(&w, pfs_fg_kind_name(k));
		pfs_jsonw_end_arr(&w);
		pfs_jsonw_key(&w, "trees");
		pfs_jsonw_obj(&w);
		for (int v = 0; v < PFS_VIEW_COUNT; v++) {
			if (!d->tree[v].n)
				continue;
			pfs_jsonw_key(&w, pfs_view_name(v));
			json_tree(&w, d, &d->tree[v], strmap, &n_str);
		}
		pfs_jsonw_end_obj(&w);
		char **inv = pfs_xcalloc(n_str ? n_str : 1, sizeof(*inv));
		for (size_t i = 0; i < d->st.n; i++)
			if (strmap[i] != UINT32_MAX)
				inv[strmap[i]] = d->st.v[i];
		pfs_jsonw_key(&w, "strings");
		pfs_jsonw_arr(&w);
		for (uint32_t i = 0; i < n_str; i++)
			pfs_jsonw_str(&w, inv[i]);
		pfs_jsonw_end_arr(&w);
		free(inv);
		free(strmap);
	}
	pfs_jsonw_end_obj(&w);
	if (pretty)
		fputc('\n', f);
	if (ferror(f))
		return pfs_err_sys(err, "cannot write the diff");
	return 0;
}
