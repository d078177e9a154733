#include "views.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/*
 * One per path id of the profile, so packed: a million distinct stacks cost 36 MB here, where
 * a struct pfs_pystack and its padding would cost 64 (what pfs_views_stack() hands out is
 * unpacked into the views' scratch).
 */
struct memo {
	uint32_t label_str; /* string id of the pseudo-frame name, 0 if none */
	uint32_t view[PFS_VIEW_COUNT];
	int32_t gc_entry, py_leaf, py_under_gc;
	uint32_t n_python;
	uint8_t cat, label;
	uint8_t flags; /* F_GC, F_GIL_TAKE, F_GIL_DROP, F_CUT */
	uint8_t done;  /* bit 0: classified; bit 1 + view: view computed */
};

enum { F_GC = 1, F_GIL_TAKE = 2, F_GIL_DROP = 4, F_CUT = 8 };
_Static_assert(PFS_CAT_COUNT <= 256, "a category fits a byte");

struct pfs_views {
	struct pfs_profile *p;
	struct pfs_pyver ver;
	bool have_ver;
	struct memo *m;
	size_t cap;
	struct pfs_pystack st; /* the last pfs_views_stack() answer */
	/* scratch for one stack */
	struct pfs_pyframe *fr;
	uint32_t *fid;
	size_t cap_fr;
	struct pfs_pyclass_fn_memo fn; /* each frame's role: stacks share frames */
	/* per frame: B_* bits, 0 when not asked yet */
	uint8_t *bits;
	size_t cap_bits;
	/*
	 * per path, + 1 (0: not known yet): the path of its frames that pass a view's frame
	 * filter (PRE_MIXED: what the mixed view keeps rootward of the leaf-most Python frame;
	 * PRE_PYTHON: the Python frames), so that a view path is made from its parent's
	 * instead of from the whole stack
	 */
	uint32_t (*pre)[2];
	size_t cap_pre;
	uint32_t *chain; /* scratch: the paths on the way to a known prefix */
	size_t cap_chain;
	uint32_t *leaf; /* scratch: the frames leafward of the leaf-most Python one */
	size_t cap_leaf;
};

enum { PRE_MIXED, PRE_PYTHON };
enum { B_KNOWN = 1, B_MIXED = 2, B_PYTHON = 4 };

static void detect_version(struct pfs_views *v)
{
	size_t n = pfs_profile_n_frames(v->p);
	uint32_t seen = 0;
	for (size_t i = 1; i <= n; i++) {
		const struct pfs_frame *f = pfs_profile_frameget(v->p, (uint32_t)i);
		struct pfs_pyver pv;
		if (!f->dso || f->dso == seen)
			continue;
		seen = f->dso;
		if (pfs_pyclass_version(pfs_profile_strget(v->p, f->dso, NULL), &pv)) {
			v->ver = pv;
			v->have_ver = true;
			/* libpython names the version of the running interpreter; stop there */
			if (strstr(pfs_profile_strget(v->p, f->dso, NULL), "libpython"))
				return;
		}
	}
}

struct pfs_views *pfs_views_new(struct pfs_profile *p, const struct pfs_pyver *ver)
{
	struct pfs_views *v = pfs_xcalloc(1, sizeof(*v));
	v->p = p;
	if (ver) {
		v->ver = *ver;
		v->have_ver = true;
	} else {
		detect_version(v);
	}
	return v;
}

void pfs_views_free(struct pfs_views *v)
{
	if (!v)
		return;
	free(v->m);
	free(v->fr);
	free(v->fid);
	pfs_pyclass_fn_memo_release(&v->fn);
	free(v->bits);
	free(v->pre);
	free(v->chain);
	free(v->leaf);
	free(v);
}

const struct pfs_pyver *pfs_views_pyver(const struct pfs_views *v)
{
	return &v->ver;
}

static struct memo *memo_of(struct pfs_views *v, uint32_t path)
{
	PFS_GROW_ZEROED(v->m, v->cap, path);
	return &v->m[path];
}

/* Frame fid as pyclass reads it; its strings are valid until the profile interns another. */
static void frame_of(struct pfs_views *v, uint32_t fid, struct pfs_pyframe *out)
{
	const struct pfs_frame *f = pfs_profile_frameget(v->p, fid);
	out->name = pfs_profile_strget(v->p, f->name, NULL);
	out->file = f->file ? pfs_profile_strget(v->p, f->file, NULL) : NULL;
	out->dso = f->dso ? pfs_profile_strget(v->p, f->dso, NULL) : NULL;
	out->kind = f->kind;
	out->inlined = f->inlined;
	out->fn =
	    pfs_pyclass_fn_memo(&v->fn, v->have_ver ? &v->ver : NULL, fid, out->name, out->dso);
}

/* Fills the scratch with the stack of path, leaf first; returns its depth. */
static size_t load_stack(struct pfs_views *v, uint32_t path)
{
	size_t n = 0;
	const struct pfs_path_node *node = pfs_profile_pathget(v->p, path);
	size_t depth = node->depth;
	if (depth > v->cap_fr) {
		v->cap_fr = depth * 2;
		v->fr = pfs_xreallocarray(v->fr, v->cap_fr, sizeof(*v->fr));
		v->fid = pfs_xreallocarray(v->fid, v->cap_fr, sizeof(*v->fid));
	}
	while (path && n < depth) {
		node = pfs_profile_pathget(v->p, path);
		v->fid[n] = node->frame;
		frame_of(v, node->frame, &v->fr[n]);
		n++;
		path = node->parent;
	}
	return n;
}

static struct memo *classify(struct pfs_views *v, uint32_t path)
{
	struct memo *m = memo_of(v, path);
	struct pfs_pystack st;
	uint32_t label_str;
	size_t n;
	char label[256];
	const char *l;
	/* before loading the stack: a report asks for every stack's class more than once */
	if (m->done & 1)
		return m;
	n = load_stack(v, path);
	pfs_pyclass_stack(v->have_ver ? &v->ver : NULL, v->fr, n, &st);
	/* intern last: interning may move the strings the scratch points into */
	l = pfs_pyclass_label(&st, label, sizeof(label));
	label_str = l ? pfs_profile_cstr(v->p, label) : 0;
	m = memo_of(v, path);
	m->label_str = label_str;
	m->gc_entry = st.gc_entry;
	m->py_leaf = st.py_leaf;
	m->py_under_gc = st.py_under_gc;
	m->n_python = st.n_python;
	m->cat = (uint8_t)st.cat;
	m->label = (uint8_t)st.label;
	m->flags = (uint8_t)((st.gc ? F_GC : 0) | (st.gil_take ? F_GIL_TAKE : 0) |
			     (st.gil_drop ? F_GIL_DROP : 0) | (st.cut ? F_CUT : 0));
	m->done |= 1;
	return m;
}

const struct pfs_pystack *pfs_views_stack(struct pfs_views *v, uint32_t path)
{
	const struct memo *m = classify(v, path);
	v->st = (struct pfs_pystack){
	    .cat = (enum pfs_pycat)m->cat,
	    .label = (enum pfs_pylabel)m->label,
	    .gc = m->flags & F_GC,
	    .gil_take = m->flags & F_GIL_TAKE,
	    .gil_drop = m->flags & F_GIL_DROP,
	    .cut = m->flags & F_CUT,
	    .gc_entry = m->gc_entry,
	    .py_leaf = m->py_leaf,
	    .py_under_gc = m->py_under_gc,
	    .n_python = m->n_python,
	};
	return &v->st;
}

/* Whether f (from frame_of) survives in the mixed view rootward of the leaf-most Python frame. */
static bool keep_mixed(const struct pfs_pyframe *f)
{
	if (pfs_pyclass_is_python_frame(f) || f->kind == PFS_FK_KERNEL)
		return true;
	if (!f->dso || !pfs_pyclass_is_python_dso(f->dso))
		return f->kind != PFS_FK_UNKNOWN;
	enum pfs_pyfn role = (enum pfs_pyfn)(f->fn - 1);
	return role == PFS_PYFN_GC || role == PFS_PYFN_GIL_TAKE || role == PFS_PYFN_GIL_DROP ||
	       role == PFS_PYFN_ALLOC;
}

static uint8_t frame_bits(struct pfs_views *v, uint32_t fid)
{
	PFS_GROW_ZEROED(v->bits, v->cap_bits, fid);
	if (!v->bits[fid]) {
		struct pfs_pyframe f;
		frame_of(v, fid, &f);
		bool py = pfs_pyclass_is_python_frame(&f) || pfs_pyclass_is_cut_mark(&f);
		v->bits[fid] =
		    (uint8_t)(B_KNOWN | (keep_mixed(&f) ? B_MIXED : 0) | (py ? B_PYTHON : 0));
	}
	return v->bits[fid];
}

/* The path of path's frames that pass filter which (PRE_*), root to leaf; 0 when none do. */
static uint32_t prefix_path(struct pfs_views *v, int which, uint32_t path)
{
	uint8_t want = which == PRE_MIXED ? B_MIXED : B_PYTHON;
	uint32_t out = 0;
	size_t n = 0;
	PFS_GROW_ZEROED(v->pre, v->cap_pre, path);
	PFS_GROW(v->chain, v->cap_chain, pfs_profile_pathget(v->p, path)->depth + 1);
	for (uint32_t q = path; q; q = pfs_profile_pathget(v->p, q)->parent) {
		if (v->pre[q][which]) {
			out = v->pre[q][which] - 1;
			break;
		}
		v->chain[n++] = q;
	}
	/* ids only from here on: creating paths moves the path nodes */
	while (n--) {
		uint32_t q = v->chain[n], fid = pfs_profile_pathget(v->p, q)->frame;
		if (frame_bits(v, fid) & want)
			out = pfs_profile_path(v->p, out, fid);
		v->pre[q][which] = out + 1;
	}
	return out;
}

uint32_t pfs_views_path(struct pfs_views *v, enum pfs_view view, uint32_t path)
{
	struct memo *m;
	uint32_t out;
	if (view == PFS_VIEW_NATIVE || path == 0)
		return path;
	m = memo_of(v, path);
	if (m->done & (2u << view))
		return m->view[view];
	m = classify(v, path);
	int32_t py_leaf = m->py_leaf;
	uint32_t label_str = m->label_str;
	if (view == PFS_VIEW_MIXED) {
		/* the frames leafward of the leaf-most Python frame are all kept */
		if (py_leaf < 0) {
			out = path;
		} else {
			uint32_t q = path;
			size_t k = 0;
			PFS_GROW(v->leaf, v->cap_leaf, (size_t)py_leaf + 1);
			while (q && k < (size_t)py_leaf) {
				const struct pfs_path_node *node = pfs_profile_pathget(v->p, q);
				v->leaf[k++] = node->frame;
				q = node->parent;
			}
			out = prefix_path(v, PRE_MIXED, q);
			while (k--)
				out = pfs_profile_path(v->p, out, v->leaf[k]);
		}
	} else if (m->n_python == 0) {
		out = path;
	} else {
		out = prefix_path(v, PRE_PYTHON, path);
		if (label_str) {
			struct pfs_frame pf = {.name = label_str, .kind = PFS_FK_PSEUDO};
			out = pfs_profile_path(v->p, out, pfs_profile_frame(v->p, &pf));
		}
	}
	m = memo_of(v, path);
	m->view[view] = out;
	m->done |= (uint8_t)(2u << view);
	return out;
}

int pfs_view_parse(const char *s)
{
	for (int i = 0; i < PFS_VIEW_COUNT; i++)
		if (!strcmp(s, pfs_view_name((enum pfs_view)i)))
			return i;
	return -1;
}

const char *pfs_view_name(enum pfs_view view)
{
	switch (view) {
	case PFS_VIEW_NATIVE:
		return "native";
	case PFS_VIEW_MIXED:
		return "mixed";
	case PFS_VIEW_PYTHON:
		return "python";
	default:
		return "?";
	}
}
