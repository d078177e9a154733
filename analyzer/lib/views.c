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
	uint8_t flags; /* F_GC, F_GIL_TAKE, F_GIL_DROP */
	uint8_t done;  /* bit 0: classified; bit 1 + view: view computed */
};

enum { F_GC = 1, F_GIL_TAKE = 2, F_GIL_DROP = 4 };
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
	/* pfs_pyclass_function() of each frame + 1 (0: not asked yet): stacks share frames */
	uint8_t *fn;
	size_t cap_fn;
};

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
	free(v->fn);
	free(v);
}

const struct pfs_pyver *pfs_views_pyver(const struct pfs_views *v)
{
	return &v->ver;
}

static struct memo *memo_of(struct pfs_views *v, uint32_t path)
{
	if (path >= v->cap) {
		size_t ncap = v->cap ? v->cap : 1024;
		while (ncap <= path)
			ncap *= 2;
		v->m = pfs_xreallocarray(v->m, ncap, sizeof(*v->m));
		memset(v->m + v->cap, 0, (ncap - v->cap) * sizeof(*v->m));
		v->cap = ncap;
	}
	return &v->m[path];
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
		const struct pfs_frame *f;
		node = pfs_profile_pathget(v->p, path);
		f = pfs_profile_frameget(v->p, node->frame);
		v->fid[n] = node->frame;
		v->fr[n].name = pfs_profile_strget(v->p, f->name, NULL);
		v->fr[n].file = f->file ? pfs_profile_strget(v->p, f->file, NULL) : NULL;
		v->fr[n].dso = f->dso ? pfs_profile_strget(v->p, f->dso, NULL) : NULL;
		v->fr[n].kind = f->kind;
		v->fr[n].inlined = f->inlined;
		if (node->frame >= v->cap_fn) {
			size_t nc = (size_t)node->frame * 2 + 64;
			v->fn = pfs_xreallocarray(v->fn, nc, 1);
			memset(v->fn + v->cap_fn, 0, nc - v->cap_fn);
			v->cap_fn = nc;
		}
		if (!v->fn[node->frame])
			v->fn[node->frame] =
			    (uint8_t)(pfs_pyclass_function(v->have_ver ? &v->ver : NULL,
							   v->fr[n].name, v->fr[n].dso) +
				      1);
		v->fr[n].fn = v->fn[node->frame];
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
			     (st.gil_drop ? F_GIL_DROP : 0));
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
	    .gc_entry = m->gc_entry,
	    .py_leaf = m->py_leaf,
	    .py_under_gc = m->py_under_gc,
	    .n_python = m->n_python,
	};
	return &v->st;
}

/* Whether frame i of the loaded stack survives in the mixed view. */
static bool keep_mixed(struct pfs_views *v, size_t i, int32_t py_leaf)
{
	const struct pfs_pyframe *f = &v->fr[i];
	enum pfs_pyfn role;
	if (py_leaf < 0 || (int32_t)i < py_leaf)
		return true;
	if (pfs_pyclass_is_python_frame(f) || f->kind == PFS_FK_KERNEL)
		return true;
	if (!f->dso || !pfs_pyclass_is_python_dso(f->dso))
		return f->kind != PFS_FK_UNKNOWN;
	role = f->fn ? (enum pfs_pyfn)(f->fn - 1)
		     : pfs_pyclass_function(v->have_ver ? &v->ver : NULL, f->name, f->dso);
	return role == PFS_PYFN_GC || role == PFS_PYFN_GIL_TAKE || role == PFS_PYFN_GIL_DROP ||
	       role == PFS_PYFN_ALLOC;
}

uint32_t pfs_views_path(struct pfs_views *v, enum pfs_view view, uint32_t path)
{
	struct memo *m;
	size_t n;
	uint32_t out = 0, label_str;
	int32_t py_leaf;
	uint32_t n_python;
	if (view == PFS_VIEW_NATIVE || path == 0)
		return path;
	m = memo_of(v, path);
	if (m->done & (2u << view))
		return m->view[view];
	m = classify(v, path);
	/* reload: classifying may intern a label, which can move the strings */
	n = load_stack(v, path);
	py_leaf = m->py_leaf;
	n_python = m->n_python;
	label_str = m->label_str;
	/* frame ids only from here on: creating paths and frames may move the strings */
	if (view == PFS_VIEW_MIXED) {
		bool *keep = pfs_xmalloc(n ? n : 1);
		for (size_t i = 0; i < n; i++)
			keep[i] = keep_mixed(v, i, py_leaf);
		for (size_t i = n; i-- > 0;)
			if (keep[i])
				out = pfs_profile_path(v->p, out, v->fid[i]);
		free(keep);
	} else if (n_python == 0) {
		for (size_t i = n; i-- > 0;)
			out = pfs_profile_path(v->p, out, v->fid[i]);
	} else {
		bool *py = pfs_xmalloc(n ? n : 1);
		for (size_t i = 0; i < n; i++)
			py[i] = pfs_pyclass_is_python_frame(&v->fr[i]);
		for (size_t i = n; i-- > 0;)
			if (py[i])
				out = pfs_profile_path(v->p, out, v->fid[i]);
		free(py);
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
