#include "reportdata.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "verdicts.h"
#include "xalloc.h"

enum kind { K_PYTHON, K_LIBRARY, K_INTERP, K_GC, K_GIL, K_KERNEL, K_NATIVE, K_OTHER, K_COUNT };

static const char *const kind_names[K_COUNT] = {"python", "library", "interp", "gc",
						"gil",	  "kernel",  "native", "other"};

void pfs_reportdata_meta_init(struct pfs_reportdata_meta *m)
{
	memset(m, 0, sizeof(*m));
	m->duration_s = NAN;
	m->samples = UINT64_MAX;
	m->lost = UINT64_MAX;
}

static uint64_t hash_bytes(const void *s, size_t n, uint64_t h)
{
	const unsigned char *b = s;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

/* ---- the string table: content-interned, ids are indexes into the JSON array ---- */

struct strtab {
	char **v;
	size_t *len;
	size_t n, cap, cap_len;
	uint32_t *slots; /* index + 1, 0 empty */
	size_t n_slots;
};

static uint32_t st_intern(struct strtab *t, const char *s, size_t n)
{
	size_t j;
	if ((t->n + 1) * 2 > t->n_slots) {
		size_t ns = t->n_slots ? t->n_slots * 2 : 1024;
		uint32_t *sl = pfs_xcalloc(ns, sizeof(*sl));
		for (size_t i = 0; i < t->n; i++) {
			size_t k =
			    hash_bytes(t->v[i], t->len[i], 1469598103934665603ull) & (ns - 1);
			while (sl[k])
				k = (k + 1) & (ns - 1);
			sl[k] = (uint32_t)i + 1;
		}
		free(t->slots);
		t->slots = sl;
		t->n_slots = ns;
	}
	j = hash_bytes(s, n, 1469598103934665603ull) & (t->n_slots - 1);
	while (t->slots[j]) {
		uint32_t i = t->slots[j] - 1;
		if (t->len[i] == n && !memcmp(t->v[i], s, n))
			return i;
		j = (j + 1) & (t->n_slots - 1);
	}
	PFS_GROW(t->v, t->cap, t->n + 1);
	PFS_GROW(t->len, t->cap_len, t->n + 1);
	/* names may hold NUL bytes: copy them all (jsonw escapes them) */
	t->v[t->n] = pfs_xmalloc(n + 1);
	memcpy(t->v[t->n], s, n);
	t->v[t->n][n] = 0;
	t->len[t->n] = n;
	t->slots[j] = (uint32_t)++t->n;
	return (uint32_t)(t->n - 1);
}

static void st_release(struct strtab *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i]);
	free(t->v);
	free(t->len);
	free(t->slots);
}

/* ---- trees: nodes keyed by (parent, name, kind, file, line), parents created first ---- */

struct node {
	uint32_t parent, name, file, line;
	uint8_t kind;
	double self, other, total; /* other: the weight of light paths below, shown as [other] */
};

struct tree {
	struct node *v;
	size_t n, cap;
	uint32_t *slots;
	size_t n_slots;
};

static uint64_t node_hash(uint32_t parent, uint32_t name, uint8_t kind, uint32_t file,
			  uint32_t line)
{
	uint64_t h = ((uint64_t)parent << 32 | name) * 0x9e3779b97f4a7c15ull;
	h ^= ((uint64_t)file << 32 | (uint64_t)line << 8 | kind) * 0xc2b2ae3d27d4eb4full;
	return h ^ (h >> 31);
}

static void tree_init(struct tree *t, uint32_t root_name)
{
	memset(t, 0, sizeof(*t));
	PFS_GROW(t->v, t->cap, 1);
	t->v[0] = (struct node){.parent = UINT32_MAX, .name = root_name, .kind = K_OTHER};
	t->n = 1;
}

static void tree_release(struct tree *t)
{
	free(t->v);
	free(t->slots);
}

static uint32_t tree_child(struct tree *t, uint32_t parent, uint32_t name, uint8_t kind,
			   uint32_t file, uint32_t line)
{
	size_t j;
	if ((t->n + 1) * 2 > t->n_slots) {
		size_t ns = t->n_slots ? t->n_slots * 2 : 256;
		uint32_t *sl = pfs_xcalloc(ns, sizeof(*sl));
		for (size_t i = 1; i < t->n; i++) {
			const struct node *x = &t->v[i];
			size_t k =
			    node_hash(x->parent, x->name, x->kind, x->file, x->line) & (ns - 1);
			while (sl[k])
				k = (k + 1) & (ns - 1);
			sl[k] = (uint32_t)i;
		}
		free(t->slots);
		t->slots = sl;
		t->n_slots = ns;
	}
	j = node_hash(parent, name, kind, file, line) & (t->n_slots - 1);
	while (t->slots[j]) {
		const struct node *x = &t->v[t->slots[j]];
		if (x->parent == parent && x->name == name && x->kind == kind && x->file == file &&
		    x->line == line)
			return t->slots[j];
		j = (j + 1) & (t->n_slots - 1);
	}
	PFS_GROW(t->v, t->cap, t->n + 1);
	t->v[t->n] =
	    (struct node){.parent = parent, .name = name, .file = file, .line = line, .kind = kind};
	t->slots[j] = (uint32_t)t->n;
	return (uint32_t)t->n++;
}

/* ---- the timeline sink ---- */

#define TL_BUCKETS 512
#define TL_WIDTH0 1000000ull /* 1 ms */

struct tlthr {
	uint32_t pid, tid;
	uint32_t on[TL_BUCKETS], gc[TL_BUCKETS], gil[TL_BUCKETS];
	double wait[TL_BUCKETS];  /* seconds of GIL wait off CPU (the analysis' switch waits) */
	double pwait[TL_BUCKETS]; /* seconds in take_gil (the analysis' probe waits) */
};

struct pfs_reportdata_tl {
	struct pfs_profile *p;
	struct pfs_views *v;
	int event;
	uint64_t t0, width; /* ns */
	size_t nb;	    /* buckets in use */
	struct tlthr **th;
	size_t n_th, cap_th;
	uint32_t *slots; /* thread index + 1 */
	size_t n_slots;
	int8_t *evkind; /* per event: 0 unknown, 1 counted, 2 sched_switch, 3 other */
	size_t cap_ev;
};

struct pfs_reportdata_tl *pfs_reportdata_tl_new(struct pfs_profile *p, struct pfs_views *v,
						int event)
{
	struct pfs_reportdata_tl *t = pfs_xcalloc(1, sizeof(*t));
	t->p = p;
	t->v = v;
	t->event = event;
	return t;
}

void pfs_reportdata_tl_free(struct pfs_reportdata_tl *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_th; i++)
		free(t->th[i]);
	free(t->th);
	free(t->slots);
	free(t->evkind);
	free(t);
}

double pfs_reportdata_tl_bucket_s(const struct pfs_reportdata_tl *t)
{
	return (double)t->width / 1e9;
}

static uint64_t tid_hash(uint32_t pid, uint32_t tid)
{
	uint64_t h = ((uint64_t)pid << 32 | tid) * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 29);
}

static struct tlthr *tl_find(const struct pfs_reportdata_tl *t, uint32_t pid, uint32_t tid)
{
	size_t j;
	if (!t->n_slots)
		return NULL;
	j = tid_hash(pid, tid) & (t->n_slots - 1);
	while (t->slots[j]) {
		struct tlthr *x = t->th[t->slots[j] - 1];
		if (x->pid == pid && x->tid == tid)
			return x;
		j = (j + 1) & (t->n_slots - 1);
	}
	return NULL;
}

static struct tlthr *tl_thread(struct pfs_reportdata_tl *t, uint32_t pid, uint32_t tid)
{
	struct tlthr *x = tl_find(t, pid, tid);
	size_t j;
	if (x)
		return x;
	if ((t->n_th + 1) * 2 > t->n_slots) {
		size_t ns = t->n_slots ? t->n_slots * 2 : 64;
		uint32_t *sl = pfs_xcalloc(ns, sizeof(*sl));
		for (size_t i = 0; i < t->n_th; i++) {
			size_t k = tid_hash(t->th[i]->pid, t->th[i]->tid) & (ns - 1);
			while (sl[k])
				k = (k + 1) & (ns - 1);
			sl[k] = (uint32_t)i + 1;
		}
		free(t->slots);
		t->slots = sl;
		t->n_slots = ns;
	}
	x = pfs_xcalloc(1, sizeof(*x));
	x->pid = pid;
	x->tid = tid;
	PFS_GROW(t->th, t->cap_th, t->n_th + 1);
	t->th[t->n_th++] = x;
	j = tid_hash(pid, tid) & (t->n_slots - 1);
	while (t->slots[j])
		j = (j + 1) & (t->n_slots - 1);
	t->slots[j] = (uint32_t)t->n_th;
	return x;
}

static bool event_counted(struct pfs_profile *p, int want, uint32_t ev)
{
	const struct pfs_event *e;
	if (want >= 0)
		return ev == (uint32_t)want;
	e = pfs_profile_event(p, ev);
	return e && e->sampling;
}

static int tl_evkind(struct pfs_reportdata_tl *t, uint32_t ev)
{
	if (ev >= t->cap_ev) {
		size_t nc = t->cap_ev ? t->cap_ev : 8;
		while (nc <= ev)
			nc *= 2;
		t->evkind = pfs_xreallocarray(t->evkind, nc, 1);
		memset(t->evkind + t->cap_ev, 0, nc - t->cap_ev);
		t->cap_ev = nc;
	}
	if (!t->evkind[ev]) {
		const struct pfs_event *e = pfs_profile_event(t->p, ev);
		const char *name = e ? pfs_profile_strget(t->p, e->name, NULL) : "";
		const char *colon = strrchr(name, ':');
		if (event_counted(t->p, t->event, ev))
			t->evkind[ev] = 1;
		else if (!strcmp(colon ? colon + 1 : name, "sched_switch"))
			t->evkind[ev] = 2;
		else
			t->evkind[ev] = 3;
	}
	return t->evkind[ev];
}

/* Merges pairs of buckets: the width doubles, the origin stays. */
static void tl_widen(struct pfs_reportdata_tl *t)
{
	for (size_t k = 0; k < t->n_th; k++) {
		struct tlthr *x = t->th[k];
		for (size_t i = 0; i < t->nb; i++) {
			uint32_t on = x->on[i], gc = x->gc[i], gil = x->gil[i];
			double w = x->wait[i], pw = x->pwait[i];
			x->on[i] = x->gc[i] = x->gil[i] = 0;
			x->wait[i] = x->pwait[i] = 0;
			x->on[i / 2] += on;
			x->gc[i / 2] += gc;
			x->gil[i / 2] += gil;
			x->wait[i / 2] += w;
			x->pwait[i / 2] += pw;
		}
	}
	t->nb = (t->nb + 1) / 2;
	t->width *= 2;
}

/* Moves the origin back by whole buckets so that time fits (rows slightly out of order). */
static void tl_rebase(struct pfs_reportdata_tl *t, uint64_t time)
{
	size_t k;
	for (;;) {
		uint64_t gap = t->t0 - time;
		k = (size_t)(gap / t->width + (gap % t->width != 0));
		if (t->nb + k <= TL_BUCKETS)
			break;
		tl_widen(t);
	}
	for (size_t i = 0; i < t->n_th; i++) {
		struct tlthr *x = t->th[i];
		memmove(x->on + k, x->on, t->nb * sizeof(x->on[0]));
		memmove(x->gc + k, x->gc, t->nb * sizeof(x->gc[0]));
		memmove(x->gil + k, x->gil, t->nb * sizeof(x->gil[0]));
		memmove(x->wait + k, x->wait, t->nb * sizeof(x->wait[0]));
		memmove(x->pwait + k, x->pwait, t->nb * sizeof(x->pwait[0]));
		memset(x->on, 0, k * sizeof(x->on[0]));
		memset(x->gc, 0, k * sizeof(x->gc[0]));
		memset(x->gil, 0, k * sizeof(x->gil[0]));
		memset(x->wait, 0, k * sizeof(x->wait[0]));
		memset(x->pwait, 0, k * sizeof(x->pwait[0]));
	}
	t->t0 -= k * t->width;
	t->nb += k;
}

static size_t tl_bucket(struct pfs_reportdata_tl *t, uint64_t time)
{
	size_t b;
	if (time < t->t0)
		tl_rebase(t, time);
	while ((time - t->t0) / t->width >= TL_BUCKETS)
		tl_widen(t);
	b = (size_t)((time - t->t0) / t->width);
	if (b >= t->nb)
		t->nb = b + 1;
	return b;
}

/*
 * Adds the seconds of [start, end) to dst's buckets, clipped to the buckets in use. Offsets from
 * the origin keep capture-controlled times from overflowing.
 */
static void tl_spread(const struct pfs_reportdata_tl *t, double *dst, uint64_t start, uint64_t end)
{
	uint64_t off, eoff;
	if (end <= t->t0 || end <= start)
		return;
	off = start > t->t0 ? start - t->t0 : 0;
	eoff = end - t->t0;
	while (off < eoff) {
		uint64_t b = off / t->width, bend;
		if (b >= t->nb)
			return;
		bend = (b + 1) * t->width;
		if (bend > eoff)
			bend = eoff;
		dst[b] += (double)(bend - off) / 1e9;
		off = bend;
	}
}

int pfs_reportdata_tl_add(void *payload, const struct pfs_sample_row *row)
{
	struct pfs_reportdata_tl *t = payload;
	struct tlthr *x;
	size_t b;
	int ek;
	if (!row->time)
		return 0;
	if (!t->width) {
		t->t0 = row->time;
		t->width = TL_WIDTH0;
	}
	b = tl_bucket(t, row->time);
	x = tl_thread(t, row->pid, row->tid);
	ek = tl_evkind(t, row->event);
	if (ek == 1) {
		const struct pfs_pystack *st = pfs_views_stack(t->v, row->path);
		x->on[b]++;
		if (st->cat == PFS_CAT_GC)
			x->gc[b]++;
		else if (st->cat == PFS_CAT_GIL)
			x->gil[b]++;
	}
	return 0;
}

int pfs_reportdata_tl_wait(void *payload, const struct pfs_an_wait *w)
{
	struct pfs_reportdata_tl *t = payload;
	struct tlthr *x;
	uint64_t end = w->dur > UINT64_MAX - w->start ? UINT64_MAX : w->start + w->dur;
	if (!t->width || !w->start)
		return 0;  /* no row yet: nothing to draw it against */
	tl_bucket(t, end); /* the buckets reach its end (the rows may not have yet) */
	x = tl_thread(t, w->pid, w->tid);
	tl_spread(t, w->probe ? x->pwait : x->wait, w->start, end);
	return 0;
}

/* ---- the document ---- */

/* The weight of a prefix in the tree being built, valid when stamp == agen. */
struct acc {
	double w;
	uint32_t stamp;
};

struct rthread {
	uint32_t pid, tid; /* UINT32_MAX both for the small processes' entry */
	size_t first, n;   /* range of the cell order */
	uint64_t samples;
	double weight;
	double cat[K_COUNT];
	struct tree tree[PFS_VIEW_COUNT];
	const struct pfs_pyprof_capture *cap;
};

struct ctx {
	const struct pfs_reportdata_input *in;
	struct pfs_profile *p;
	struct pfs_views *v;
	const struct pfs_pyver *ver;
	int event;
	enum pfs_fold_weight weight;
	double unit_s;
	bool wall; /* weights are wall time (pyinstrument): no CPU seconds */
	struct strtab st;
	uint32_t *str_of; /* profile string id -> strings index + 1 */
	size_t cap_str;
	uint32_t *disp_of; /* frame id -> shown name index + 1 */
	size_t cap_disp;
	uint32_t *stamp, *pnode; /* profile path -> tree node, valid when stamp == gen */
	struct acc *acc;	 /* prefix weights of the tree being built */
	size_t cap_paths;
	uint32_t gen, agen;
	uint32_t *list; /* prefix_weights' prefixes, in runs of child before parent */
	size_t cap_list;
	size_t *runs; /* where each run starts in list */
	size_t cap_runs;
	double *cand; /* prefix weights at least minwidth of the whole, over all trees */
	size_t n_cand, cap_cand;
	uint32_t *chain;
	size_t cap_chain;
	size_t *order; /* indexes of the reported cells, by thread */
	size_t n_order;
	struct rthread *th;
	size_t n_th;
	uint32_t *small; /* pids folded into the small processes' entry, sorted */
	size_t n_small;
	struct tree *sess; /* pyinstrument sessions, one per capture */
	double limit;	   /* nodes lighter than this go to [other] */
	double all;	   /* the weight of every reported thread */
	uint64_t pruned;
	uint64_t t_first; /* capture start, ns */
	uint32_t s_all, s_other, s_empty;
};

static uint32_t str_of(struct ctx *c, uint32_t id)
{
	size_t n;
	const char *s;
	PFS_GROW_ZEROED(c->str_of, c->cap_str, id);
	if (c->str_of[id])
		return c->str_of[id] - 1;
	s = pfs_profile_strget(c->p, id, &n);
	c->str_of[id] = st_intern(&c->st, s, n) + 1;
	return c->str_of[id] - 1;
}

/* The name a frame is shown under: Python functions as "func (file)". */
static uint32_t disp_of(struct ctx *c, uint32_t fid)
{
	const struct pfs_frame *f = pfs_profile_frameget(c->p, fid);
	const char *name, *func = NULL, *file = NULL;
	size_t name_len, func_len = 0, file_len = 0;
	uint32_t sid;
	PFS_GROW_ZEROED(c->disp_of, c->cap_disp, fid);
	if (c->disp_of[fid])
		return c->disp_of[fid] - 1;
	name = pfs_profile_strget(c->p, f->name, &name_len);
	if (f->kind == PFS_FK_PYTHON &&
	    pfs_pyclass_split_pyname(name, &func, &func_len, &file, &file_len)) {
		if (f->file)
			file = pfs_profile_strget(c->p, f->file, &file_len);
	} else if (f->kind == PFS_FK_PYINSTRUMENT && f->file) {
		func = name;
		func_len = name_len;
		file = pfs_profile_strget(c->p, f->file, &file_len);
	}
	if (func && file_len) {
		char *buf = pfs_xmalloc(func_len + file_len + 4);
		memcpy(buf, func, func_len);
		memcpy(buf + func_len, " (", 2);
		memcpy(buf + func_len + 2, file, file_len);
		buf[func_len + 2 + file_len] = ')';
		sid = st_intern(&c->st, buf, func_len + file_len + 3);
		free(buf);
	} else {
		sid = str_of(c, f->name);
	}
	c->disp_of[fid] = sid + 1;
	return sid;
}

static const struct pfs_pyprof_capture *cap_of_tid(const struct pfs_pyprof_meta *m, uint32_t pid,
						   uint32_t tid)
{
	const struct pfs_pyprof_capture *best = NULL;
	if (!m || pid)
		return NULL;
	for (size_t i = 0; i < m->n_caps; i++)
		if (m->caps[i].tid <= tid)
			best = &m->caps[i];
	return best;
}

static bool is_app(struct ctx *c, uint32_t path, const struct pfs_frame *f,
		   const struct pfs_pyprof_capture *cap)
{
	struct pfs_pyframe pf = {
	    .name = pfs_profile_strget(c->p, f->name, NULL),
	    .file = f->file ? pfs_profile_strget(c->p, f->file, NULL) : NULL,
	    .dso = f->dso ? pfs_profile_strget(c->p, f->dso, NULL) : NULL,
	    .kind = f->kind,
	};
	/* pyinstrument knew the interpreter's prefixes: its own rule is exact */
	if (f->kind == PFS_FK_PYINSTRUMENT && cap && cap->n_sys_prefix)
		return pfs_pyprof_is_app(c->p, cap, path);
	return pfs_pyclass_frame_origin(&pf) == PFS_PYORIG_APP;
}

static uint8_t pseudo_kind(const char *name)
{
	if (!strcmp(name, "[gc]"))
		return K_GC;
	if (!strncmp(name, "[gil ", 5))
		return K_GIL;
	if (!strcmp(name, "[kernel]"))
		return K_KERNEL;
	if (!strcmp(name, "[interpreter]") || !strcmp(name, "[alloc]"))
		return K_INTERP;
	if (!strncmp(name, "[native", 7))
		return K_NATIVE;
	return K_OTHER;
}

/* The kind of the frame ending path, under a parent of kind up. */
static uint8_t node_kind(struct ctx *c, uint32_t path, const struct pfs_frame *f, uint8_t up,
			 const struct pfs_pyprof_capture *cap)
{
	const char *name = pfs_profile_strget(c->p, f->name, NULL);
	const char *dso = f->dso ? pfs_profile_strget(c->p, f->dso, NULL) : NULL;
	bool in_python;
	switch (f->kind) {
	case PFS_FK_PYTHON:
	case PFS_FK_PYINSTRUMENT:
		return is_app(c, path, f, cap) ? K_PYTHON : K_LIBRARY;
	case PFS_FK_KERNEL:
		return K_KERNEL;
	case PFS_FK_UNKNOWN:
		return K_OTHER;
	case PFS_FK_PSEUDO:
		return pseudo_kind(name);
	default:
		break;
	}
	if (!strncmp(name, "py::", 4))
		return is_app(c, path, f, cap) ? K_PYTHON : K_LIBRARY;
	in_python = dso && pfs_pyclass_is_python_dso(dso);
	switch (pfs_pyclass_function(c->ver, name, dso)) {
	case PFS_PYFN_GC:
		return K_GC;
	case PFS_PYFN_GIL_TAKE:
	case PFS_PYFN_GIL_DROP:
		return K_GIL;
	case PFS_PYFN_EVAL:
		in_python = true;
		break;
	default:
		break;
	}
	if (!in_python)
		return K_NATIVE;
	/* the collector's and the GIL's helpers are their work, not the interpreter's */
	return up == K_GC || up == K_GIL ? up : K_INTERP;
}

/* A call path of one tree and its weight. */
struct pw {
	uint32_t path;
	double w;
};

/* Sizes the per-path scratch for every path of the profile. */
static void ensure_paths(struct ctx *c)
{
	size_t need = pfs_profile_n_paths(c->p) + 1, nc = c->cap_paths ? c->cap_paths : 4096;
	if (need <= c->cap_paths)
		return;
	while (nc < need)
		nc *= 2;
	c->stamp = pfs_xreallocarray(c->stamp, nc, sizeof(*c->stamp));
	c->pnode = pfs_xreallocarray(c->pnode, nc, sizeof(*c->pnode));
	c->acc = pfs_xreallocarray(c->acc, nc, sizeof(*c->acc));
	memset(c->stamp + c->cap_paths, 0, (nc - c->cap_paths) * sizeof(*c->stamp));
	memset(c->acc + c->cap_paths, 0, (nc - c->cap_paths) * sizeof(*c->acc));
	c->cap_paths = nc;
}

/*
 * The weight of every prefix of the pairs' paths (c->acc). With collect, the weights of the
 * prefixes at least as heavy as c->limit are appended to c->cand. Each pair's path climbs to
 * the first prefix an earlier pair reached, listing the prefixes on its way (a run, child
 * before parent); a prefix's children are then either before it in its own run or in later
 * runs, so taking the runs last first, each in order, completes every prefix before it hands
 * its weight to its parent, and each prefix is visited twice in all instead of once per pair
 * below it.
 */
static void prefix_weights(struct ctx *c, const struct pw *v, size_t n, bool collect)
{
	size_t n_list = 0, n_runs = 0;
	ensure_paths(c);
	c->agen++;
	for (size_t i = 0; i < n; i++) {
		uint32_t q = v[i].path;
		size_t start = n_list;
		while (q && c->acc[q].stamp != c->agen) {
			c->acc[q] = (struct acc){0, c->agen};
			PFS_GROW(c->list, c->cap_list, n_list + 1);
			c->list[n_list++] = q;
			q = pfs_profile_pathget(c->p, q)->parent;
		}
		if (n_list > start) {
			PFS_GROW(c->runs, c->cap_runs, n_runs + 1);
			c->runs[n_runs++] = start;
		}
		if (v[i].path)
			c->acc[v[i].path].w += v[i].w;
	}
	for (size_t r = n_runs; r-- > 0;) {
		size_t end = r + 1 < n_runs ? c->runs[r + 1] : n_list;
		for (size_t j = c->runs[r]; j < end; j++) {
			uint32_t q = c->list[j];
			uint32_t parent = pfs_profile_pathget(c->p, q)->parent;
			double w = c->acc[q].w;
			if (parent)
				c->acc[parent].w += w;
			if (collect && w >= c->limit && w > 0) {
				PFS_GROW(c->cand, c->cap_cand, c->n_cand + 1);
				c->cand[c->n_cand++] = w;
			}
		}
	}
}

/* The node of profile path in tree t, created with its ancestors when new. */
static uint32_t node_of(struct ctx *c, struct tree *t, uint32_t path,
			const struct pfs_pyprof_capture *cap, bool pyi)
{
	size_t n = 0;
	uint32_t node = 0;
	for (uint32_t q = path; q; q = pfs_profile_pathget(c->p, q)->parent) {
		if (c->stamp[q] == c->gen) {
			node = c->pnode[q];
			break;
		}
		PFS_GROW(c->chain, c->cap_chain, n + 1);
		c->chain[n++] = q;
	}
	while (n--) {
		uint32_t q = c->chain[n];
		uint32_t fid = pfs_profile_pathget(c->p, q)->frame;
		const struct pfs_frame *f = pfs_profile_frameget(c->p, fid);
		if (pyi) {
			node = tree_child(t, node, str_of(c, f->name), 0,
					  f->file ? str_of(c, f->file) : c->s_empty, f->line);
		} else {
			uint8_t kind = node_kind(c, q, f, t->v[node].kind, cap);
			node = tree_child(t, node, disp_of(c, fid), kind, 0, 0);
		}
		c->stamp[q] = c->gen;
		c->pnode[q] = node;
	}
	return node;
}

/*
 * Builds t from the pairs: a path lighter than limit is not a node; its weight goes to the
 * [other] of its heaviest-but-kept ancestor (prefix weights only grow rootward).
 */
static void build_tree(struct ctx *c, struct tree *t, const struct pw *v, size_t n, double limit,
		       const struct pfs_pyprof_capture *cap, bool pyi, bool collect)
{
	prefix_weights(c, v, n, collect);
	c->gen++;
	for (size_t i = 0; i < n; i++) {
		uint32_t q = v[i].path, node;
		while (q && !(c->acc[q].w >= limit && c->acc[q].w > 0))
			q = pfs_profile_pathget(c->p, q)->parent;
		node = node_of(c, t, q, cap, pyi);
		if (q == v[i].path)
			t->v[node].self += v[i].w;
		else
			t->v[node].other += v[i].w;
	}
	for (size_t i = 0; i < t->n; i++)
		t->v[i].total = t->v[i].self + t->v[i].other;
	for (size_t i = t->n; i-- > 1;)
		t->v[t->v[i].parent].total += t->v[i].total;
	for (size_t i = 0; i < t->n; i++)
		c->pruned += t->v[i].other > 0;
	free(t->slots);
	t->slots = NULL;
	t->n_slots = 0;
}

static double cell_weight(const struct ctx *c, const struct pfs_agg_cell *a)
{
	return c->weight == PFS_FOLD_PERIOD ? (double)a->period : (double)a->count;
}

static uint8_t cat_kind(struct ctx *c, uint32_t path, enum pfs_pycat cat,
			const struct pfs_pyprof_capture *cap)
{
	uint32_t q = path;
	/*
	 * A Python profiler's stack has no native frames, which pyclass reads as interpreter
	 * time: the time is the leaf Python function's, of its origin.
	 */
	while (q && pfs_profile_frameget(c->p, pfs_profile_pathget(c->p, q)->frame)->kind ==
			PFS_FK_PSEUDO)
		q = pfs_profile_pathget(c->p, q)->parent;
	if (q) {
		const struct pfs_frame *f =
		    pfs_profile_frameget(c->p, pfs_profile_pathget(c->p, q)->frame);
		if (f->kind == PFS_FK_PYINSTRUMENT)
			return is_app(c, q, f, cap) ? K_PYTHON : K_LIBRARY;
	}
	switch (cat) {
	case PFS_CAT_PY_APP:
	case PFS_CAT_PY_STDLIB:
	case PFS_CAT_PY_SITE:
		return cat == PFS_CAT_PY_APP ? K_PYTHON : K_LIBRARY;
	case PFS_CAT_INTERP:
	case PFS_CAT_ALLOC:
		return K_INTERP;
	case PFS_CAT_GC:
		return K_GC;
	case PFS_CAT_GIL:
		return K_GIL;
	case PFS_CAT_NATIVE:
		return K_NATIVE;
	case PFS_CAT_KERNEL:
		return K_KERNEL;
	default:
		return K_OTHER;
	}
}

static const struct pfs_an_thread *an_thread(const struct pfs_analysis *a, uint32_t pid,
					     uint32_t tid)
{
	for (size_t i = 0; a && i < pfs_analysis_n_processes(a); i++) {
		const struct pfs_an_process *p = pfs_analysis_process(a, i);
		if (p->pid != pid)
			continue;
		for (size_t j = 0; j < p->n_threads; j++) {
			const struct pfs_an_thread *t = pfs_analysis_thread(a, p->threads[j]);
			if (t->tid == tid)
				return t;
		}
	}
	return NULL;
}

static const struct pfs_an_process *an_process(const struct pfs_analysis *a, uint32_t pid)
{
	for (size_t i = 0; a && i < pfs_analysis_n_processes(a); i++)
		if (pfs_analysis_process(a, i)->pid == pid)
			return pfs_analysis_process(a, i);
	return NULL;
}

static int u32_cmp(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
	return (a > b) - (a < b);
}

static bool is_small(const struct ctx *c, uint32_t pid)
{
	return c->n_small && bsearch(&pid, c->small, c->n_small, sizeof(pid), u32_cmp);
}

struct order_key {
	uint32_t pid, tid, path, event;
	size_t i;
};

static int order_key_cmp(const void *x, const void *y)
{
	const struct order_key *p = x, *q = y;
	if (p->pid != q->pid)
		return p->pid < q->pid ? -1 : 1;
	if (p->tid != q->tid)
		return p->tid < q->tid ? -1 : 1;
	if (p->path != q->path)
		return p->path < q->path ? -1 : 1;
	if (p->event != q->event)
		return p->event < q->event ? -1 : 1;
	return (p->i > q->i) - (p->i < q->i);
}

/*
 * Sorts c->order by thread, then by path and event, not by the agg's order: the cells of a database
 * come summed in SQL's order, those of a raw file in the order of the samples, and a document is
 * the same whichever (its string table is numbered in the order trees are built). The keys are made
 * once: a million cells compared through the agg cost a second.
 */
static void sort_order(struct ctx *c)
{
	const struct pfs_agg *a = c->in->agg;
	struct order_key *k = pfs_xmalloc((c->n_order ? c->n_order : 1) * sizeof(*k));
	for (size_t i = 0; i < c->n_order; i++) {
		const struct pfs_agg_cell *cell = pfs_agg_cell(a, c->order[i]);
		k[i] =
		    (struct order_key){cell->pid, cell->tid, cell->path, cell->event, c->order[i]};
	}
	qsort(k, c->n_order, sizeof(*k), order_key_cmp);
	for (size_t i = 0; i < c->n_order; i++)
		c->order[i] = k[i].i;
	free(k);
}

/*
 * A system-wide capture holds thousands of short processes (shells, compilers, daemons), each
 * with its threads, trees and timeline: the processes lighter than PFS_REPORTDATA_PROC_MIN of
 * the whole, other than a server's master and workers, become one entry so that the document's
 * size depends on what matters, not on what else ran. One small process stays itself.
 */
static void find_small(struct ctx *c)
{
	const struct pfs_agg *a = c->in->agg;
	double all = 0, w = 0;
	size_t cap = 0;
	for (size_t i = 0; i < c->n_order; i++)
		all += cell_weight(c, pfs_agg_cell(a, c->order[i]));
	for (size_t i = 0; i < c->n_order; i++) {
		const struct pfs_agg_cell *cell = pfs_agg_cell(a, c->order[i]);
		w += cell_weight(c, cell);
		if (i + 1 < c->n_order && pfs_agg_cell(a, c->order[i + 1])->pid == cell->pid)
			continue;
		const struct pfs_an_process *ap = an_process(c->in->analysis, cell->pid);
		bool server = ap && (!strcmp(ap->role, "master") || !strcmp(ap->role, "worker"));
		if (w < PFS_REPORTDATA_PROC_MIN * all && !server) {
			PFS_GROW(c->small, cap, c->n_small + 1);
			c->small[c->n_small++] = cell->pid;
		}
		w = 0;
	}
	if (c->n_small < 2)
		c->n_small = 0;
}

/*
 * Moves the small processes' cells after the others (one contiguous range for their entry),
 * each part in its order.
 */
static void small_last(struct ctx *c)
{
	const struct pfs_agg *a = c->in->agg;
	size_t *small = pfs_xmalloc((c->n_order ? c->n_order : 1) * sizeof(*small));
	size_t k = 0, n_small = 0;
	for (size_t i = 0; i < c->n_order; i++) {
		if (is_small(c, pfs_agg_cell(a, c->order[i])->pid))
			small[n_small++] = c->order[i];
		else
			c->order[k++] = c->order[i];
	}
	memcpy(c->order + k, small, n_small * sizeof(*small));
	free(small);
}

/* The (view path, weight) pairs of thread t in view vw. */
static struct pw *thread_pairs(struct ctx *c, const struct rthread *t, enum pfs_view vw)
{
	struct pw *v = pfs_xmalloc((t->n ? t->n : 1) * sizeof(*v));
	for (size_t k = 0; k < t->n; k++) {
		const struct pfs_agg_cell *cell = pfs_agg_cell(c->in->agg, c->order[t->first + k]);
		v[k].path = pfs_views_path(c->v, vw, cell->path);
		v[k].w = cell_weight(c, cell);
	}
	return v;
}

static int dbl_desc(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return (a < b) - (a > b);
}

/* Builds every thread's trees with limit; with collect, lists the heavy prefixes. */
static void build_trees(struct ctx *c, bool collect)
{
	for (size_t i = 0; i < c->n_th; i++)
		for (int vw = 0; vw < PFS_VIEW_COUNT; vw++) {
			struct rthread *t = &c->th[i];
			struct pw *v = thread_pairs(c, t, (enum pfs_view)vw);
			tree_init(&t->tree[vw], c->s_all);
			build_tree(c, &t->tree[vw], v, t->n, c->limit, t->cap, false, collect);
			free(v);
		}
}

/*
 * Trees with the width limit at minwidth of the whole; when they hold more nodes than the
 * budget, the limit is raised and they are built again. The prefixes as heavy as the limit
 * bound the nodes (merging by name only joins them), and each node may get an [other].
 */
static void build_limited(struct ctx *c, double minwidth, size_t max_nodes)
{
	size_t roots = c->n_th * PFS_VIEW_COUNT;
	size_t keep = max_nodes > roots * 2 ? (max_nodes - roots * 2) / 2 : 0;
	c->limit = minwidth * c->all;
	build_trees(c, true);
	if (c->n_cand <= keep)
		return;
	qsort(c->cand, c->n_cand, sizeof(*c->cand), dbl_desc);
	c->limit = nextafter(c->cand[keep], INFINITY);
	c->pruned = 0;
	for (size_t i = 0; i < c->n_th; i++)
		for (int vw = 0; vw < PFS_VIEW_COUNT; vw++)
			tree_release(&c->th[i].tree[vw]);
	build_trees(c, false);
}

/* Threads, their sums, and their three trees. */
static void build_threads(struct ctx *c, double minwidth, size_t max_nodes)
{
	const struct pfs_agg *a = c->in->agg;
	size_t n = pfs_agg_n(a);
	c->order = pfs_xmalloc((n ? n : 1) * sizeof(*c->order));
	for (size_t i = 0; i < n; i++)
		if (event_counted(c->p, c->event, pfs_agg_cell(a, i)->event))
			c->order[c->n_order++] = i;
	sort_order(c);
	find_small(c);
	if (c->n_small)
		small_last(c);
	c->th = pfs_xcalloc(c->n_order ? c->n_order : 1, sizeof(*c->th));
	for (size_t i = 0; i < c->n_order;) {
		const struct pfs_agg_cell *c0 = pfs_agg_cell(a, c->order[i]);
		struct rthread *t = &c->th[c->n_th++];
		bool small = is_small(c, c0->pid);
		size_t j = i;
		while (j < c->n_order && (small || (pfs_agg_cell(a, c->order[j])->pid == c0->pid &&
						    pfs_agg_cell(a, c->order[j])->tid == c0->tid)))
			j++;
		t->pid = small ? UINT32_MAX : c0->pid;
		t->tid = small ? UINT32_MAX : c0->tid;
		t->first = i;
		t->n = j - i;
		t->cap = cap_of_tid(c->in->pyprof, t->pid, t->tid);
		for (size_t k = i; k < j; k++) {
			const struct pfs_agg_cell *cell = pfs_agg_cell(a, c->order[k]);
			const struct pfs_pystack *ps = pfs_views_stack(c->v, cell->path);
			double w = cell_weight(c, cell);
			t->samples += cell->count;
			t->weight += w;
			t->cat[cat_kind(c, cell->path, ps->cat, t->cap)] += w;
		}
		c->all += t->weight;
		i = j;
	}
	build_limited(c, minwidth, max_nodes);
}

/* One tree per pyinstrument capture, in wall seconds, from the rows of its threads. */
static void build_sessions(struct ctx *c, double minwidth)
{
	const struct pfs_pyprof_meta *m = c->in->pyprof;
	const struct pfs_agg *a = c->in->agg;
	struct pw *v;
	if (!m || !m->n_caps)
		return;
	c->sess = pfs_xcalloc(m->n_caps, sizeof(*c->sess));
	v = pfs_xmalloc((pfs_agg_n(a) ? pfs_agg_n(a) : 1) * sizeof(*v));
	for (size_t s = 0; s < m->n_caps; s++) {
		size_t n = 0;
		double all = 0;
		for (size_t i = 0; i < pfs_agg_n(a); i++) {
			const struct pfs_agg_cell *cell = pfs_agg_cell(a, i);
			if (cell->pid || cap_of_tid(m, 0, cell->tid) != &m->caps[s] ||
			    cell->event != m->caps[s].event)
				continue;
			v[n].path = cell->path;
			v[n++].w = cell->weight;
			all += cell->weight;
		}
		tree_init(&c->sess[s], c->s_all);
		c->sess[s].v[0].file = c->s_empty;
		build_tree(c, &c->sess[s], v, n, minwidth * all, NULL, true, false);
	}
	free(v);
}

static int kid_cmp(const void *x, const void *y, void *arg)
{
	const struct tree *t = arg;
	const struct node *a = &t->v[*(const uint32_t *)x], *b = &t->v[*(const uint32_t *)y];
	if (a->total != b->total)
		return a->total > b->total ? -1 : 1;
	if (a->name != b->name)
		return a->name < b->name ? -1 : 1;
	return (a->kind > b->kind) - (a->kind < b->kind);
}

/* One emitted row: a node of the tree, or the [other] of node `other_of`. */
struct emit {
	uint32_t node; /* UINT32_MAX for [other] */
	int64_t parent;
	double other;
};

/* The pre-order rows of t: children by weight, then the node's [other]. */
static struct emit *tree_emit(const struct tree *t, size_t *n_out)
{
	uint32_t *first = pfs_xcalloc(t->n + 1, sizeof(*first));
	uint32_t *kids = pfs_xmalloc(t->n * sizeof(*kids));
	uint32_t *fill = pfs_xmalloc((t->n + 1) * sizeof(*fill));
	struct emit *stack = pfs_xmalloc((2 * t->n + 1) * sizeof(*stack));
	struct emit *out = pfs_xmalloc((2 * t->n + 1) * sizeof(*out));
	size_t sp = 0, n = 0;
	for (uint32_t i = 1; i < t->n; i++)
		first[t->v[i].parent + 1]++;
	for (size_t i = 0; i < t->n; i++)
		first[i + 1] += first[i];
	memcpy(fill, first, (t->n + 1) * sizeof(*fill));
	for (uint32_t i = 1; i < t->n; i++)
		kids[fill[t->v[i].parent]++] = i;
	for (size_t i = 0; i < t->n; i++)
		if (first[i + 1] - first[i] > 1)
			qsort_r(kids + first[i], first[i + 1] - first[i], sizeof(*kids), kid_cmp,
				(void *)t);
	stack[sp++] = (struct emit){.node = 0, .parent = -1};
	while (sp) {
		struct emit e = stack[--sp];
		int64_t me = (int64_t)n;
		out[n++] = e;
		if (e.node == UINT32_MAX)
			continue;
		if (t->v[e.node].other > 0)
			stack[sp++] = (struct emit){
			    .node = UINT32_MAX, .parent = me, .other = t->v[e.node].other};
		for (uint32_t k = first[e.node + 1]; k-- > first[e.node];)
			stack[sp++] = (struct emit){.node = kids[k], .parent = me};
	}
	free(first);
	free(kids);
	free(fill);
	free(stack);
	*n_out = n;
	return out;
}

static void num(struct pfs_jsonw *w, double v, bool integral)
{
	if (integral)
		pfs_jsonw_u64(w, (uint64_t)llround(v));
	else
		pfs_jsonw_dbl(w, v);
}

static void write_tree(struct ctx *c, struct pfs_jsonw *w, const struct tree *t, bool pyi)
{
	size_t n;
	struct emit *e = tree_emit(t, &n);
	pfs_jsonw_obj(w);
	pfs_jsonw_key(w, "parent");
	pfs_jsonw_arr(w);
	for (size_t i = 0; i < n; i++)
		pfs_jsonw_i64(w, e[i].parent);
	pfs_jsonw_end_arr(w);
	pfs_jsonw_key(w, "name");
	pfs_jsonw_arr(w);
	for (size_t i = 0; i < n; i++)
		pfs_jsonw_u64(w, e[i].node == UINT32_MAX ? c->s_other : t->v[e[i].node].name);
	pfs_jsonw_end_arr(w);
	if (pyi) {
		pfs_jsonw_key(w, "file");
		pfs_jsonw_arr(w);
		for (size_t i = 0; i < n; i++)
			pfs_jsonw_u64(w,
				      e[i].node == UINT32_MAX ? c->s_empty : t->v[e[i].node].file);
		pfs_jsonw_end_arr(w);
		pfs_jsonw_key(w, "line");
		pfs_jsonw_arr(w);
		for (size_t i = 0; i < n; i++)
			pfs_jsonw_u64(w, e[i].node == UINT32_MAX ? 0 : t->v[e[i].node].line);
		pfs_jsonw_end_arr(w);
	} else {
		pfs_jsonw_key(w, "kind");
		pfs_jsonw_arr(w);
		for (size_t i = 0; i < n; i++)
			pfs_jsonw_u64(w, e[i].node == UINT32_MAX ? K_OTHER : t->v[e[i].node].kind);
		pfs_jsonw_end_arr(w);
	}
	pfs_jsonw_key(w, "self");
	pfs_jsonw_arr(w);
	for (size_t i = 0; i < n; i++)
		num(w, e[i].node == UINT32_MAX ? e[i].other : t->v[e[i].node].self, !pyi);
	pfs_jsonw_end_arr(w);
	pfs_jsonw_key(w, "total");
	pfs_jsonw_arr(w);
	for (size_t i = 0; i < n; i++)
		num(w, e[i].node == UINT32_MAX ? e[i].other : t->v[e[i].node].total, !pyi);
	pfs_jsonw_end_arr(w);
	pfs_jsonw_end_obj(w);
	free(e);
}

static void write_cats(struct pfs_jsonw *w, const double *cat)
{
	pfs_jsonw_key(w, "categories");
	pfs_jsonw_obj(w);
	for (int k = 0; k < K_COUNT; k++) {
		pfs_jsonw_key(w, kind_names[k]);
		pfs_jsonw_u64(w, (uint64_t)llround(cat[k]));
	}
	pfs_jsonw_end_obj(w);
}

static void write_gc_gil(struct pfs_jsonw *w, const struct pfs_analysis *a, uint64_t pauses,
			 uint64_t pause_ns, uint64_t longest_ns, uint64_t waits, uint64_t wait_ns,
			 uint64_t probe_waits, uint64_t probe_ns)
{
	if (pfs_analysis_has_gc_probes(a)) {
		pfs_jsonw_key(w, "gc");
		pfs_jsonw_obj(w);
		pfs_jsonw_key(w, "pauses");
		pfs_jsonw_u64(w, pauses);
		pfs_jsonw_key(w, "total_ms");
		pfs_jsonw_dbl(w, (double)pause_ns / 1e6);
		pfs_jsonw_key(w, "longest_ms");
		pfs_jsonw_dbl(w, (double)longest_ns / 1e6);
		pfs_jsonw_end_obj(w);
	} else if (pfs_analysis_not_measured(a, "gc")) {
		/* recorded, but sampled: visibly absent, with the reason, never 0 */
		pfs_jsonw_key(w, "gc");
		pfs_jsonw_obj(w);
		pfs_jsonw_key(w, "not_measured");
		pfs_jsonw_str(w, pfs_analysis_not_measured(a, "gc"));
		pfs_jsonw_end_obj(w);
	}
	/* switch waits see blocked time; probes are the fallback when no switches were taken */
	if (pfs_analysis_has_switch_waits(a) || pfs_analysis_has_gil_probes(a)) {
		bool sw = pfs_analysis_has_switch_waits(a);
		pfs_jsonw_key(w, "gil");
		pfs_jsonw_obj(w);
		pfs_jsonw_key(w, "waits");
		pfs_jsonw_u64(w, sw ? waits : probe_waits);
		pfs_jsonw_key(w, "wait_s");
		pfs_jsonw_dbl(w, (double)(sw ? wait_ns : probe_ns) / 1e9);
		pfs_jsonw_key(w, "source");
		pfs_jsonw_str(w, sw ? "switches" : "probes");
		pfs_jsonw_end_obj(w);
	} else if (pfs_analysis_not_measured(a, "switch") || pfs_analysis_not_measured(a, "gil")) {
		pfs_jsonw_key(w, "gil");
		pfs_jsonw_obj(w);
		pfs_jsonw_key(w, "not_measured");
		pfs_jsonw_str(w, pfs_analysis_not_measured(a, "switch")
				     ? pfs_analysis_not_measured(a, "switch")
				     : pfs_analysis_not_measured(a, "gil"));
		pfs_jsonw_end_obj(w);
	}
}

static uint64_t longest_pause(const struct pfs_analysis *a, uint32_t pid, uint32_t tid)
{
	uint64_t m = 0;
	for (size_t i = 0; i < pfs_analysis_n_pauses(a); i++) {
		const struct pfs_an_pause *ps = pfs_analysis_pause(a, i);
		if (ps->pid == pid && ps->tid == tid && ps->dur > m)
			m = ps->dur;
	}
	return m;
}

static uint32_t comm_of_process(struct ctx *c, uint32_t pid, uint32_t fallback)
{
	const struct pfs_an_process *ap = an_process(c->in->analysis, pid);
	if (ap && ap->comm)
		return ap->comm;
	for (size_t i = 0; i < pfs_profile_n_processes(c->p); i++) {
		const struct pfs_process *pr = pfs_profile_process_at(c->p, i);
		if (pr->pid == pid && pr->comm)
			return pr->comm;
	}
	return fallback;
}

static void write_str_id(struct ctx *c, struct pfs_jsonw *w, uint32_t id)
{
	size_t n;
	const char *s = pfs_profile_strget(c->p, id, &n);
	pfs_jsonw_strn(w, s, n);
}

/* The small processes' entry: pid and tid -1, named by how many it holds. */
static bool write_small_id(struct ctx *c, struct pfs_jsonw *w, const struct rthread *t,
			   const char *key)
{
	char name[64];
	if (t->pid != UINT32_MAX)
		return false;
	pfs_jsonw_key(w, key);
	pfs_jsonw_i64(w, -1);
	pfs_jsonw_key(w, "comm");
	snprintf(name, sizeof(name), "[%zu small processes]", c->n_small);
	pfs_jsonw_str(w, name);
	return true;
}

static void write_thread(struct ctx *c, struct pfs_jsonw *w, const struct rthread *t)
{
	const struct pfs_analysis *a = c->in->analysis;
	const struct pfs_an_thread *at = an_thread(a, t->pid, t->tid);
	pfs_jsonw_obj(w);
	if (!write_small_id(c, w, t, "tid")) {
		const struct pfs_thread *pt = pfs_profile_thread(c->p, t->pid, t->tid);
		pfs_jsonw_key(w, "tid");
		pfs_jsonw_u64(w, t->tid);
		pfs_jsonw_key(w, "comm");
		if (pt->comm)
			write_str_id(c, w, pt->comm);
		else
			pfs_jsonw_str(w, "[unknown]");
	}
	if (c->unit_s > 0 && !c->wall) {
		pfs_jsonw_key(w, "cpu_s");
		pfs_jsonw_dbl(w, t->weight * c->unit_s);
	}
	pfs_jsonw_key(w, "samples");
	pfs_jsonw_u64(w, t->samples);
	write_cats(w, t->cat);
	if (at)
		write_gc_gil(w, a, at->gc_pauses, at->gc_pause_ns, longest_pause(a, t->pid, t->tid),
			     at->gil_waits, at->gil_wait_ns, at->probe_waits, at->probe_wait_ns);
	pfs_jsonw_key(w, "trees");
	pfs_jsonw_obj(w);
	for (int vw = PFS_VIEW_COUNT; vw-- > 0;) {
		pfs_jsonw_key(w, pfs_view_name((enum pfs_view)vw));
		write_tree(c, w, &t->tree[vw], false);
	}
	pfs_jsonw_end_obj(w);
	pfs_jsonw_end_obj(w);
}

static void write_processes(struct ctx *c, struct pfs_jsonw *w)
{
	const struct pfs_analysis *a = c->in->analysis;
	pfs_jsonw_key(w, "processes");
	pfs_jsonw_arr(w);
	for (size_t i = 0; i < c->n_th;) {
		const struct pfs_an_process *ap = an_process(a, c->th[i].pid);
		const char *role = ap ? ap->role : "other";
		double cat[K_COUNT] = {0}, weight = 0;
		uint64_t samples = 0;
		uint32_t comm;
		size_t j = i;
		while (j < c->n_th && c->th[j].pid == c->th[i].pid) {
			for (int k = 0; k < K_COUNT; k++)
				cat[k] += c->th[j].cat[k];
			weight += c->th[j].weight;
			samples += c->th[j].samples;
			j++;
		}
		pfs_jsonw_obj(w);
		if (!write_small_id(c, w, &c->th[i], "pid")) {
			comm = comm_of_process(
			    c, c->th[i].pid,
			    pfs_profile_thread(c->p, c->th[i].pid, c->th[i].tid)->comm);
			pfs_jsonw_key(w, "pid");
			pfs_jsonw_u64(w, c->th[i].pid);
			pfs_jsonw_key(w, "comm");
			if (comm)
				write_str_id(c, w, comm);
			else
				pfs_jsonw_str(w, "[unknown]");
		}
		pfs_jsonw_key(w, "role");
		pfs_jsonw_str(w, strcmp(role, "master") && strcmp(role, "worker") ? "other" : role);
		if (c->unit_s > 0 && !c->wall) {
			pfs_jsonw_key(w, "cpu_s");
			pfs_jsonw_dbl(w, weight * c->unit_s);
		}
		pfs_jsonw_key(w, "samples");
		pfs_jsonw_u64(w, samples);
		write_cats(w, cat);
		if (ap && pfs_analysis_has_cut_stacks(a)) {
			/* the CPU samples whose stack ends at [truncated] */
			pfs_jsonw_key(w, "cut_stacks");
			pfs_jsonw_obj(w);
			pfs_jsonw_key(w, "samples");
			pfs_jsonw_u64(w, ap->cut_stacks);
			pfs_jsonw_key(w, "of");
			pfs_jsonw_u64(w, ap->cpu_samples);
			pfs_jsonw_end_obj(w);
		}
		if (ap)
			write_gc_gil(w, a, ap->gc_pauses, ap->gc_pause_ns, ap->gc_pause_max_ns,
				     ap->gil_waits, ap->gil_wait_ns, ap->probe_waits,
				     ap->probe_wait_ns);
		pfs_jsonw_key(w, "threads");
		pfs_jsonw_arr(w);
		for (size_t k = i; k < j; k++)
			write_thread(c, w, &c->th[k]);
		pfs_jsonw_end_arr(w);
		pfs_jsonw_end_obj(w);
		i = j;
	}
	pfs_jsonw_end_arr(w);
}

/* One GC pause or GIL wait: who, when, how long, the Python stack (outermost first). */
/* "stack": the Python frames of pypath as string indexes, outermost first. */
static void write_pystack(struct ctx *c, struct pfs_jsonw *w, uint32_t pypath)
{
	uint32_t *stack = NULL;
	size_t d = 0, cap = 0;
	for (uint32_t q = pypath; q; q = pfs_profile_pathget(c->p, q)->parent) {
		uint32_t fid = pfs_profile_pathget(c->p, q)->frame;
		uint8_t k = pfs_profile_frameget(c->p, fid)->kind;
		if (k != PFS_FK_PYTHON && k != PFS_FK_PYINSTRUMENT)
			continue;
		PFS_GROW(stack, cap, d + 1);
		stack[d++] = disp_of(c, fid);
	}
	pfs_jsonw_key(w, "stack");
	pfs_jsonw_arr(w);
	while (d--)
		pfs_jsonw_u64(w, stack[d]);
	pfs_jsonw_end_arr(w);
	free(stack);
}

static void write_interval(struct ctx *c, struct pfs_jsonw *w, uint32_t pid, uint32_t tid,
			   uint64_t start, uint64_t dur, uint32_t pypath, int gen)
{
	pfs_jsonw_obj(w);
	/* a small process's interval is the small processes' entry's */
	pfs_jsonw_key(w, "pid");
	pfs_jsonw_i64(w, is_small(c, pid) ? -1 : (int64_t)pid);
	pfs_jsonw_key(w, "tid");
	pfs_jsonw_i64(w, is_small(c, pid) ? -1 : (int64_t)tid);
	pfs_jsonw_key(w, "start_s");
	pfs_jsonw_dbl(w, start > c->t_first ? (double)(start - c->t_first) / 1e9 : 0);
	pfs_jsonw_key(w, "dur_ms");
	pfs_jsonw_dbl(w, (double)dur / 1e6);
	if (gen >= 0) {
		pfs_jsonw_key(w, "gen");
		pfs_jsonw_u64(w, (uint64_t)gen);
	}
	write_pystack(c, w, pypath);
	pfs_jsonw_end_obj(w);
}

static void write_pauses(struct ctx *c, struct pfs_jsonw *w)
{
	const struct pfs_analysis *a = c->in->analysis;
	if (!a || !pfs_analysis_has_gc_probes(a))
		return;
	pfs_jsonw_key(w, "gc_pauses");
	pfs_jsonw_arr(w);
	for (size_t i = 0; i < pfs_analysis_n_pauses(a); i++) {
		const struct pfs_an_pause *ps = pfs_analysis_pause(a, i);
		write_interval(c, w, ps->pid, ps->tid, ps->start, ps->dur, ps->pypath, ps->gen);
	}
	pfs_jsonw_end_arr(w);
}

/*
 * The GC by the code that triggers it (analysis.h, pfs_an_gctrigger): per process, its
 * PFS_REPORTDATA_GC_TRIGGERS heaviest Python paths under the collector's entry, most pause time
 * (else most GC samples) first, as the summary ranks them.
 */
static void write_gc_triggers(struct ctx *c, struct pfs_jsonw *w)
{
	const struct pfs_analysis *a = c->in->analysis;
	size_t n = a ? pfs_analysis_n_gctriggers(a) : 0, np = 0;
	if (!n)
		return;
	bool probes = pfs_analysis_has_gc_probes(a);
	uint32_t *pids = pfs_xmalloc(n * sizeof(*pids));
	struct pfs_an_gctrigger top[PFS_REPORTDATA_GC_TRIGGERS];
	for (size_t i = 0; i < n; i++)
		pids[np++] = pfs_analysis_gctrigger(a, i)->pid;
	qsort(pids, np, sizeof(*pids), u32_cmp);
	pfs_jsonw_key(w, "gc_triggers");
	pfs_jsonw_arr(w);
	for (size_t i = 0; i < np; i++) {
		if (i && pids[i] == pids[i - 1])
			continue;
		size_t k = pfs_analysis_gc_triggers(a, pids[i], top, PFS_REPORTDATA_GC_TRIGGERS);
		for (size_t j = 0; j < k; j++) {
			if (!top[j].samples && !top[j].pauses)
				continue;
			pfs_jsonw_obj(w);
			pfs_jsonw_key(w, "pid");
			pfs_jsonw_i64(w, is_small(c, pids[i]) ? -1 : (int64_t)pids[i]);
			pfs_jsonw_key(w, "gc_samples");
			pfs_jsonw_u64(w, top[j].samples);
			if (probes) {
				pfs_jsonw_key(w, "pauses");
				pfs_jsonw_u64(w, top[j].pauses);
				pfs_jsonw_key(w, "pause_s");
				pfs_jsonw_dbl(w, (double)top[j].pause_ns / 1e9);
			}
			write_pystack(c, w, top[j].pypath);
			pfs_jsonw_end_obj(w);
		}
	}
	pfs_jsonw_end_arr(w);
	free(pids);
}

static void write_waits(struct ctx *c, struct pfs_jsonw *w)
{
	const struct pfs_analysis *a = c->in->analysis;
	if (!a || !(pfs_analysis_has_switch_waits(a) || pfs_analysis_has_gil_probes(a)))
		return;
	pfs_jsonw_key(w, "gil_waits");
	pfs_jsonw_arr(w);
	for (size_t i = 0; i < pfs_analysis_n_waits(a); i++) {
		const struct pfs_an_wait *x = pfs_analysis_wait(a, i);
		write_interval(c, w, x->pid, x->tid, x->start, x->dur, x->pypath, -1);
	}
	pfs_jsonw_end_arr(w);
}

/* "What to change" (verdicts.h): the summary's own service, verdicts and not-judged lists. */
static void write_verdicts(struct ctx *c, struct pfs_jsonw *w)
{
	const struct pfs_analysis *a = c->in->analysis;
	if (!a)
		return;
	pfs_jsonw_key(w, "what_to_change");
	pfs_jsonw_obj(w);
	pfs_verdicts_json(a, w);
	pfs_jsonw_end_obj(w);
}

/* The request-handler table (handlers.h), names as string indexes the trees share. */
static void write_handlers(struct ctx *c, struct pfs_jsonw *w)
{
	const struct pfs_analysis *a = c->in->analysis;
	const struct pfs_handlers *h = a ? pfs_analysis_handlers(a) : NULL;
	if (!h || !pfs_handlers_rest(h)->cpu_total)
		return;
	const struct pfs_handlers_rest *rest = pfs_handlers_rest(h);
	bool sw = pfs_analysis_has_switch_waits(a), gp = pfs_analysis_has_gil_probes(a);
	pfs_jsonw_key(w, "handlers");
	pfs_jsonw_obj(w);
	pfs_jsonw_key(w, "frameworks");
	pfs_jsonw_str(w, pfs_handlers_frameworks(h));
	pfs_jsonw_key(w, "cpu_samples");
	pfs_jsonw_u64(w, rest->cpu_total);
	pfs_jsonw_key(w, "outside_samples");
	pfs_jsonw_u64(w, rest->cpu_samples);
	pfs_jsonw_key(w, "outside_cut_samples");
	pfs_jsonw_u64(w, rest->cut_samples);
	pfs_jsonw_key(w, "gil_wait_method");
	pfs_jsonw_str(w, sw ? "sched_switch" : gp ? "take_gil probes" : NULL);
	pfs_jsonw_key(w, "rows");
	pfs_jsonw_arr(w);
	for (size_t i = 0; i < pfs_handlers_n(h); i++) {
		const struct pfs_handler_row *r = pfs_handlers_row(h, i);
		pfs_jsonw_obj(w);
		/* the name the trees show a py::func:file frame by (disp_of) */
		const char *fn, *file;
		size_t fl, filel;
		char *shown = NULL;
		if (pfs_pyclass_split_pyname(r->name, &fn, &fl, &file, &filel) && filel) {
			shown = pfs_xmalloc(fl + filel + 4);
			memcpy(shown, fn, fl);
			memcpy(shown + fl, " (", 2);
			memcpy(shown + fl + 2, file, filel);
			memcpy(shown + fl + 2 + filel, ")", 2);
		}
		pfs_jsonw_key(w, "name");
		pfs_jsonw_u64(w, shown ? st_intern(&c->st, shown, strlen(shown))
				       : st_intern(&c->st, r->name, strlen(r->name)));
		free(shown);
		pfs_jsonw_key(w, "framework");
		pfs_jsonw_str(w, r->framework);
		pfs_jsonw_key(w, "kind");
		pfs_jsonw_str(w, pfs_handler_kind_name(r->kind));
		pfs_jsonw_key(w, "cpu_samples");
		pfs_jsonw_u64(w, r->cpu_samples);
		pfs_jsonw_key(w, "gc_samples");
		pfs_jsonw_u64(w, r->gc_samples);
		if (pfs_analysis_has_gc_probes(a)) {
			pfs_jsonw_key(w, "gc_pauses");
			pfs_jsonw_u64(w, r->gc_pauses);
			pfs_jsonw_key(w, "gc_pause_s");
			pfs_jsonw_dbl(w, (double)r->gc_pause_ns / 1e9);
		}
		if (sw || gp) {
			pfs_jsonw_key(w, "gil_wait_s");
			pfs_jsonw_dbl(w, (double)(sw ? r->gil_wait_ns : r->probe_wait_ns) / 1e9);
		}
		pfs_jsonw_end_obj(w);
	}
	pfs_jsonw_end_arr(w);
	pfs_jsonw_end_obj(w);
}

static double frac(double v)
{
	if (!(v > 0))
		return 0;
	return v >= 1 ? 1 : round(v * 1000) / 1000;
}

static int weight_desc(const void *x, const void *y, void *arg)
{
	const struct rthread *th = arg;
	double a = th[*(const size_t *)x].weight, b = th[*(const size_t *)y].weight;
	return (a < b) - (a > b);
}

/* Marks the PFS_REPORTDATA_TL_THREADS busiest threads (the timeline's rows) in keep. */
static bool *timeline_rows(const struct ctx *c)
{
	bool *keep = pfs_xcalloc(c->n_th ? c->n_th : 1, sizeof(*keep));
	size_t *by = pfs_xmalloc((c->n_th ? c->n_th : 1) * sizeof(*by));
	for (size_t i = 0; i < c->n_th; i++)
		by[i] = i;
	if (c->n_th)
		qsort_r(by, c->n_th, sizeof(*by), weight_desc, c->th);
	for (size_t i = 0; i < c->n_th && i < PFS_REPORTDATA_TL_THREADS; i++)
		keep[by[i]] = true;
	free(by);
	return keep;
}

static void write_timeline(struct ctx *c, struct pfs_jsonw *w)
{
	const struct pfs_reportdata_tl *tl = c->in->timeline;
	const struct pfs_analysis *a = c->in->analysis;
	double bucket_s, per_sample = c->unit_s, *gcp;
	bool *keep, sw = !a || pfs_analysis_has_switch_waits(a);
	if (!tl || !tl->nb)
		return;
	bucket_s = (double)tl->width / 1e9;
	if (!(per_sample > 0)) {
		/* no time per sample (cycles): the busiest bucket of any thread counts as full */
		uint32_t most = 0;
		for (size_t i = 0; i < tl->n_th; i++)
			for (size_t b = 0; b < tl->nb; b++)
				if (tl->th[i]->on[b] > most)
					most = tl->th[i]->on[b];
		per_sample = most ? bucket_s / most : 0;
	}
	gcp = pfs_xmalloc(tl->nb * sizeof(*gcp));
	keep = timeline_rows(c);
	pfs_jsonw_key(w, "timeline");
	pfs_jsonw_obj(w);
	pfs_jsonw_key(w, "bucket_s");
	pfs_jsonw_dbl(w, bucket_s);
	pfs_jsonw_key(w, "threads");
	pfs_jsonw_arr(w);
	for (size_t i = 0; i < c->n_th; i++) {
		const struct tlthr *x = keep[i] ? tl_find(tl, c->th[i].pid, c->th[i].tid) : NULL;
		if (!x)
			continue;
		memset(gcp, 0, tl->nb * sizeof(*gcp));
		for (size_t k = 0; a && k < pfs_analysis_n_pauses(a); k++) {
			const struct pfs_an_pause *ps = pfs_analysis_pause(a, k);
			if (ps->pid == x->pid && ps->tid == x->tid)
				tl_spread(tl, gcp, ps->start,
					  ps->dur > UINT64_MAX - ps->start ? UINT64_MAX
									   : ps->start + ps->dur);
		}
		pfs_jsonw_obj(w);
		pfs_jsonw_key(w, "pid");
		pfs_jsonw_u64(w, x->pid);
		pfs_jsonw_key(w, "tid");
		pfs_jsonw_u64(w, x->tid);
		pfs_jsonw_key(w, "on_cpu");
		pfs_jsonw_arr(w);
		for (size_t b = 0; b < tl->nb; b++)
			pfs_jsonw_dbl(w, frac(x->on[b] * per_sample / bucket_s));
		pfs_jsonw_end_arr(w);
		pfs_jsonw_key(w, "gil_wait");
		pfs_jsonw_arr(w);
		/* the waits the figures count: switches when the capture has them, else probes */
		for (size_t b = 0; b < tl->nb; b++)
			pfs_jsonw_dbl(
			    w, frac((x->gil[b] * per_sample + (sw ? x->wait[b] : x->pwait[b])) /
				    bucket_s));
		pfs_jsonw_end_arr(w);
		pfs_jsonw_key(w, "gc");
		pfs_jsonw_arr(w);
		for (size_t b = 0; b < tl->nb; b++)
			pfs_jsonw_dbl(w, frac(fmax(x->gc[b] * per_sample, gcp[b]) / bucket_s));
		pfs_jsonw_end_arr(w);
		pfs_jsonw_end_obj(w);
	}
	pfs_jsonw_end_arr(w);
	pfs_jsonw_end_obj(w);
	free(keep);
	free(gcp);
}

static void write_sessions(struct ctx *c, struct pfs_jsonw *w)
{
	const struct pfs_pyprof_meta *m = c->in->pyprof;
	if (!c->sess)
		return;
	pfs_jsonw_key(w, "pyinstrument");
	pfs_jsonw_obj(w);
	pfs_jsonw_key(w, "sessions");
	pfs_jsonw_arr(w);
	for (size_t s = 0; s < m->n_caps; s++) {
		const struct pfs_pyprof_capture *cp = &m->caps[s];
		pfs_jsonw_obj(w);
		pfs_jsonw_key(w, "label");
		if (cp->label)
			write_str_id(c, w, cp->label);
		else
			pfs_jsonw_null(w);
		pfs_jsonw_key(w, "duration_s");
		pfs_jsonw_dbl(w, cp->duration);
		pfs_jsonw_key(w, "cpu_s");
		pfs_jsonw_dbl(w, cp->cpu_time);
		pfs_jsonw_key(w, "tree");
		write_tree(c, w, &c->sess[s], true);
		pfs_jsonw_end_obj(w);
	}
	pfs_jsonw_end_arr(w);
	pfs_jsonw_end_obj(w);
}

static const char *sev_name(enum pfs_severity s)
{
	switch (s) {
	case PFS_NOTE:
		return "info";
	case PFS_WARN:
		return "warn";
	default:
		return "error";
	}
}

static void write_warning(struct pfs_jsonw *w, const char *sev, const char *code, uint64_t count,
			  const char *msg)
{
	pfs_jsonw_obj(w);
	pfs_jsonw_key(w, "severity");
	pfs_jsonw_str(w, sev);
	pfs_jsonw_key(w, "code");
	pfs_jsonw_str(w, code);
	pfs_jsonw_key(w, "count");
	pfs_jsonw_u64(w, count);
	pfs_jsonw_key(w, "message");
	pfs_jsonw_str(w, msg);
	pfs_jsonw_end_obj(w);
}

static void write_warnings(struct ctx *c, struct pfs_jsonw *w)
{
	const struct pfs_diag *src[2] = {c->in->diag, NULL};
	char msg[256];
	if (c->in->analysis)
		src[1] = pfs_analysis_diag(c->in->analysis);
	pfs_jsonw_key(w, "warnings");
	pfs_jsonw_arr(w);
	/* errors first, as the summary shows them */
	for (int sev = PFS_UNSUPP; sev >= PFS_NOTE; sev--) {
		for (int s = 0; s < 2; s++)
			for (size_t i = 0; src[s] && i < src[s]->n; i++) {
				const struct pfs_diag_entry *e = &src[s]->v[i];
				if ((int)e->sev == sev)
					write_warning(w, sev_name(e->sev), e->code, e->count,
						      e->msg);
			}
		if (sev == PFS_NOTE && c->pruned) {
			snprintf(msg, sizeof(msg),
				 "call-tree nodes under %.4g%% of the total weight are merged into "
				 "[other] nodes",
				 c->all > 0 ? 100 * c->limit / c->all : 0.0);
			write_warning(w, "info", "merged-frames", c->pruned, msg);
		}
	}
	pfs_jsonw_end_arr(w);
}

/* Seconds per weight unit: ns for periods, the mean cpu-clock period for samples. */
static double derive_unit_s(struct ctx *c, double given)
{
	uint64_t count = 0, period = 0;
	if (c->weight == PFS_FOLD_PERIOD)
		return 1e-9;
	if (given > 0)
		return given;
	for (size_t i = 0; i < c->n_order; i++) {
		const struct pfs_agg_cell *cell = pfs_agg_cell(c->in->agg, c->order[i]);
		const struct pfs_event *e = pfs_profile_event(c->p, cell->event);
		if (!e || e->clock != PFS_CLOCK_NS)
			return 0;
		count += cell->count;
		period += cell->period;
	}
	return count ? (double)period / (double)count / 1e9 : 0;
}

static void write_meta(struct ctx *c, struct pfs_jsonw *w)
{
	const struct pfs_reportdata_meta *m = &c->in->meta;
	const char *const keys[] = {"title",  "host",	  "command", "perf_version",
				    "kernel", "recorded", "source"};
	const char *const vals[] = {m->title,  m->host,	    m->command, m->perf_version,
				    m->kernel, m->recorded, m->source};
	double dur = m->duration_s;
	uint64_t samples = m->samples;
	pfs_jsonw_key(w, "meta");
	pfs_jsonw_obj(w);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (vals[i]) {
			pfs_jsonw_key(w, keys[i]);
			pfs_jsonw_str(w, vals[i]);
		}
	if (isnan(dur) && pfs_agg_last_time(c->in->agg) > pfs_agg_first_time(c->in->agg))
		dur =
		    (double)(pfs_agg_last_time(c->in->agg) - pfs_agg_first_time(c->in->agg)) / 1e9;
	if (isnan(dur) && c->in->pyprof) {
		dur = 0;
		for (size_t i = 0; i < c->in->pyprof->n_caps; i++)
			if (isfinite(c->in->pyprof->caps[i].duration))
				dur += c->in->pyprof->caps[i].duration;
	}
	if (!isnan(dur)) {
		pfs_jsonw_key(w, "duration_s");
		pfs_jsonw_dbl(w, dur);
	}
	pfs_jsonw_key(w, "events");
	pfs_jsonw_arr(w);
	for (size_t i = 0; i < pfs_profile_n_events(c->p); i++)
		write_str_id(c, w, pfs_profile_event(c->p, (uint32_t)i)->name);
	pfs_jsonw_end_arr(w);
	if (samples == UINT64_MAX) {
		samples = 0;
		for (size_t i = 0; i < c->n_th; i++)
			samples += c->th[i].samples;
	}
	pfs_jsonw_key(w, "samples");
	pfs_jsonw_u64(w, samples);
	if (m->lost != UINT64_MAX) {
		pfs_jsonw_key(w, "lost");
		pfs_jsonw_u64(w, m->lost);
	}
	pfs_jsonw_key(w, "unit");
	pfs_jsonw_str(w, c->weight == PFS_FOLD_PERIOD ? "ns" : "samples");
	if (c->unit_s > 0) {
		pfs_jsonw_key(w, "unit_s");
		pfs_jsonw_dbl(w, c->unit_s);
	}
	pfs_jsonw_end_obj(w);
}

static void ctx_release(struct ctx *c)
{
	for (size_t i = 0; i < c->n_th; i++)
		for (int vw = 0; vw < PFS_VIEW_COUNT; vw++)
			tree_release(&c->th[i].tree[vw]);
	for (size_t s = 0; c->sess && s < c->in->pyprof->n_caps; s++)
		tree_release(&c->sess[s]);
	free(c->sess);
	free(c->small);
	free(c->th);
	free(c->order);
	free(c->str_of);
	free(c->disp_of);
	free(c->stamp);
	free(c->pnode);
	free(c->acc);
	free(c->list);
	free(c->runs);
	free(c->cand);
	free(c->chain);
	st_release(&c->st);
}

int pfs_reportdata_write(const struct pfs_reportdata_input *in,
			 const struct pfs_reportdata_opts *opts, FILE *out, struct pfs_err *err)
{
	struct pfs_reportdata_opts o = {.event = -1, .weight = PFS_FOLD_SAMPLES};
	struct ctx c = {.in = in, .p = in->profile, .v = in->views};
	struct pfs_jsonw w;
	uint64_t pruned;
	int rc = 0;
	if (opts)
		o = *opts;
	else if (in->pyprof && in->pyprof->unit == PFS_PYPROF_SECONDS)
		o.weight = PFS_FOLD_PERIOD;
	if (o.weight == PFS_FOLD_SECONDS)
		return pfs_err_set(err, PFS_EUSAGE, PFS_NO_OFF,
				   "report weights are integers: use periods (ns) for wall time");
	if (!(o.minwidth > 0))
		o.minwidth = PFS_REPORTDATA_MINWIDTH;
	if (!o.max_nodes)
		o.max_nodes = PFS_REPORTDATA_MAX_NODES;
	c.event = o.event;
	c.wall = in->pyprof && in->pyprof->unit == PFS_PYPROF_SECONDS;
	c.weight = o.weight;
	c.ver = pfs_views_pyver(c.v)->major ? pfs_views_pyver(c.v) : NULL;
	c.t_first = pfs_agg_first_time(in->agg);
	c.s_all = st_intern(&c.st, "all", 3);
	c.s_other = st_intern(&c.st, "[other]", 7);
	c.s_empty = st_intern(&c.st, "", 0);
	build_threads(&c, o.minwidth, o.max_nodes);
	c.unit_s = derive_unit_s(&c, o.unit_s);
	/* the warning counts the merges of the threads' trees, not of the sessions' */
	pruned = c.pruned;
	build_sessions(&c, o.minwidth);
	c.pruned = pruned;

	pfs_jsonw_init(&w, out, false);
	pfs_jsonw_obj(&w);
	pfs_jsonw_key(&w, "version");
	pfs_jsonw_u64(&w, 1);
	write_meta(&c, &w);
	write_warnings(&c, &w);
	pfs_jsonw_key(&w, "kinds");
	pfs_jsonw_arr(&w);
	for (int k = 0; k < K_COUNT; k++)
		pfs_jsonw_str(&w, kind_names[k]);
	pfs_jsonw_end_arr(&w);
	write_processes(&c, &w);
	write_pauses(&c, &w);
	write_gc_triggers(&c, &w);
	write_waits(&c, &w);
	write_handlers(&c, &w);
	write_verdicts(&c, &w);
	write_timeline(&c, &w);
	write_sessions(&c, &w);
	/* last: every name above is in the table by now */
	pfs_jsonw_key(&w, "strings");
	pfs_jsonw_arr(&w);
	for (size_t i = 0; i < c.st.n; i++)
		pfs_jsonw_strn(&w, c.st.v[i], c.st.len[i]);
	pfs_jsonw_end_arr(&w);
	pfs_jsonw_end_obj(&w);
	if (fflush(out) || ferror(out))
		rc = pfs_err_sys(err, "cannot write the report data");
	ctx_release(&c);
	return rc;
}

int pfs_reportdata_set_title(const char *doc, size_t len, const char *title, char **out,
			     size_t *out_len, struct pfs_err *err)
{
	/* write_meta puts the title first: it goes right after this */
	static const char head[] = "{\"version\":1,\"meta\":{";
	const size_t hn = sizeof(head) - 1;
	FILE *f;
	*out = NULL;
	*out_len = 0;
	if (len < hn + 1 || memcmp(doc, head, hn) || !memcmp(doc + hn, "\"title\":", 8))
		return pfs_err_set(err, PFS_EFORMAT, 0,
				   "report data: does not open as an untitled document of "
				   "version 1");
	if (!(f = open_memstream(out, out_len)))
		return pfs_err_sys(err, "cannot make the report data in memory");
	fwrite(doc, 1, hn, f);
	if (title) {
		fputs("\"title\":\"", f);
		pfs_json_escape(f, title, strlen(title));
		fputc('"', f);
		if (doc[hn] != '}')
			fputc(',', f);
	}
	fwrite(doc + hn, 1, len - hn, f);
	if (fclose(f)) {
		free(*out);
		*out = NULL;
		*out_len = 0;
		return pfs_err_sys(err, "cannot make the report data in memory");
	}
	return 0;
}
