/*
 * pyclass: CPython function tables and stack classification. The names and the versions they
 * exist in follow CPython's sources (Modules/gcmodule.c, Python/gc.c, Python/ceval_gil.[ch],
 * Objects/obmalloc.c, Python/perf_trampoline.c) for 3.8 to 3.14.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "pyclass.h"
#include "xalloc.h"

enum {
	F_PYDSO = 1,  /* the name is generic: only a CPython binary's function counts */
	F_PREFIX = 2, /* match name as a prefix (mimalloc's mi_*, 3.14's _TAIL_CALL_*) */
};

struct fn_entry {
	const char *name;
	enum pfs_pyfn role;
	uint8_t min_minor, max_minor; /* 3.min to 3.max inclusive */
	uint8_t flags;
};

#define ALL 8, 14

static const struct fn_entry fn_table[] = {
    /* GC, 3.8/3.9: collect_generations -> collect_with_callback -> collect */
    {"collect", PFS_PYFN_GC, 8, 9, F_PYDSO},
    {"collect_with_callback", PFS_PYFN_GC, 8, 9, F_PYDSO},
    {"collect_generations", PFS_PYFN_GC, 8, 9, F_PYDSO},
    {"_PyGC_CollectIfEnabled", PFS_PYFN_GC, 8, 9, 0},
    /* 3.10 to 3.13 (and late 3.14.x, which reverted to the generational collector) */
    {"gc_collect_main", PFS_PYFN_GC, 10, 14, F_PYDSO},
    {"gc_collect_with_callback", PFS_PYFN_GC, 10, 12, F_PYDSO},
    {"gc_collect_generations", PFS_PYFN_GC, 10, 12, F_PYDSO},
    /* 3.13+: manual collections; 3.14.0's incremental collector */
    {"_PyGC_Collect", PFS_PYFN_GC, 13, 14, 0},
    {"gc_collect_internal", PFS_PYFN_GC, 13, 14, F_PYDSO},
    {"gc_collect_region", PFS_PYFN_GC, 14, 14, F_PYDSO},
    {"gc_collect_young", PFS_PYFN_GC, 14, 14, F_PYDSO},
    {"gc_collect_increment", PFS_PYFN_GC, 14, 14, F_PYDSO},
    {"gc_collect_full", PFS_PYFN_GC, 14, 14, F_PYDSO},
    {"PyGC_Collect", PFS_PYFN_GC, ALL, 0},
    {"_PyGC_CollectNoFail", PFS_PYFN_GC, ALL, 0},

    /* GIL: a thread waiting for it sits in take_gil's timed condition wait */
    {"take_gil", PFS_PYFN_GIL_TAKE, ALL, F_PYDSO},
    {"drop_gil", PFS_PYFN_GIL_DROP, ALL, F_PYDSO},
    /* free-threaded builds wait here while another thread stops the world */
    {"tstate_wait_attach", PFS_PYFN_GIL_TAKE, 13, 14, F_PYDSO},

    /* the eval loop: its self time is dispatch, refcounting, specialization */
    {"_PyEval_EvalFrameDefault", PFS_PYFN_EVAL, ALL, 0},
    {"PyEval_EvalFrameEx", PFS_PYFN_EVAL, 8, 10, 0},
    {"_PyEval_EvalCodeWithName", PFS_PYFN_EVAL, 8, 8, 0},
    {"_PyEval_EvalCode", PFS_PYFN_EVAL, 9, 9, 0},
    {"_PyEval_EvalFrame", PFS_PYFN_EVAL, ALL, 0},
    {"_PyEval_Vector", PFS_PYFN_EVAL, 10, 14, 0},
    {"eval_frame_handle_pending", PFS_PYFN_EVAL, 9, 11, F_PYDSO},
    {"_Py_HandlePending", PFS_PYFN_EVAL, 12, 14, 0},
    {"py_trampoline_evaluator", PFS_PYFN_EVAL, 12, 14, F_PYDSO},
    {"_TAIL_CALL_", PFS_PYFN_EVAL, 14, 14, F_PREFIX},

    /* pymalloc and the allocator API */
    {"PyObject_Malloc", PFS_PYFN_ALLOC, ALL, 0},
    {"PyObject_Calloc", PFS_PYFN_ALLOC, ALL, 0},
    {"PyObject_Realloc", PFS_PYFN_ALLOC, ALL, 0},
    {"PyObject_Free", PFS_PYFN_ALLOC, ALL, 0},
    {"PyMem_Malloc", PFS_PYFN_ALLOC, ALL, 0},
    {"PyMem_Calloc", PFS_PYFN_ALLOC, ALL, 0},
    {"PyMem_Realloc", PFS_PYFN_ALLOC, ALL, 0},
    {"PyMem_Free", PFS_PYFN_ALLOC, ALL, 0},
    {"PyMem_RawMalloc", PFS_PYFN_ALLOC, ALL, 0},
    {"PyMem_RawCalloc", PFS_PYFN_ALLOC, ALL, 0},
    {"PyMem_RawRealloc", PFS_PYFN_ALLOC, ALL, 0},
    {"PyMem_RawFree", PFS_PYFN_ALLOC, ALL, 0},
    {"_PyObject_Malloc", PFS_PYFN_ALLOC, ALL, 0},
    {"_PyObject_Calloc", PFS_PYFN_ALLOC, ALL, 0},
    {"_PyObject_Realloc", PFS_PYFN_ALLOC, ALL, 0},
    {"_PyObject_Free", PFS_PYFN_ALLOC, ALL, 0},
    {"_PyMem_RawMalloc", PFS_PYFN_ALLOC, ALL, 0},
    {"_PyMem_RawCalloc", PFS_PYFN_ALLOC, ALL, 0},
    {"_PyMem_RawRealloc", PFS_PYFN_ALLOC, ALL, 0},
    {"_PyMem_RawFree", PFS_PYFN_ALLOC, ALL, 0},
    {"_PyMem_Debug", PFS_PYFN_ALLOC, ALL, F_PREFIX},
    {"pymalloc_alloc", PFS_PYFN_ALLOC, ALL, F_PYDSO},
    {"pymalloc_free", PFS_PYFN_ALLOC, ALL, F_PYDSO},
    {"pymalloc_realloc", PFS_PYFN_ALLOC, ALL, F_PYDSO},
    {"pymalloc_pool_extend", PFS_PYFN_ALLOC, ALL, F_PYDSO},
    {"allocate_from_new_pool", PFS_PYFN_ALLOC, 9, 14, F_PYDSO},
    {"new_arena", PFS_PYFN_ALLOC, ALL, F_PYDSO},
    {"insert_to_usedpool", PFS_PYFN_ALLOC, ALL, F_PYDSO},
    {"insert_to_freepool", PFS_PYFN_ALLOC, ALL, F_PYDSO},
    {"_PyObject_ArenaMmap", PFS_PYFN_ALLOC, ALL, 0},
    {"_PyObject_ArenaMunmap", PFS_PYFN_ALLOC, ALL, 0},
    {"_PyObject_GC_Alloc", PFS_PYFN_ALLOC, 8, 10, 0},
    {"_PyObject_GC_Malloc", PFS_PYFN_ALLOC, 8, 10, 0},
    {"_PyObject_GC_New", PFS_PYFN_ALLOC, ALL, 0},
    {"_PyObject_GC_NewVar", PFS_PYFN_ALLOC, ALL, 0},
    {"_PyObject_GC_Link", PFS_PYFN_ALLOC, 11, 14, 0},
    {"gc_alloc", PFS_PYFN_ALLOC, 11, 14, F_PYDSO},
    {"_PyObject_MallocWithType", PFS_PYFN_ALLOC, 13, 14, 0},
    /* mimalloc, bundled into CPython from 3.13 */
    {"_PyObject_Mi", PFS_PYFN_ALLOC, 13, 14, F_PREFIX},
    {"_PyMem_Mi", PFS_PYFN_ALLOC, 13, 14, F_PREFIX},
    {"mi_", PFS_PYFN_ALLOC, 13, 14, F_PREFIX | F_PYDSO},
    {"_mi_", PFS_PYFN_ALLOC, 13, 14, F_PREFIX | F_PYDSO},
    /* glibc malloc, reached through _PyMem_RawMalloc for requests over 512 bytes */
    {"malloc", PFS_PYFN_ALLOC, ALL, 0},
    {"calloc", PFS_PYFN_ALLOC, ALL, 0},
    {"realloc", PFS_PYFN_ALLOC, ALL, 0},
    {"free", PFS_PYFN_ALLOC, ALL, 0},
    {"cfree", PFS_PYFN_ALLOC, ALL, 0},
    {"__libc_malloc", PFS_PYFN_ALLOC, ALL, 0},
    {"__libc_calloc", PFS_PYFN_ALLOC, ALL, 0},
    {"__libc_realloc", PFS_PYFN_ALLOC, ALL, 0},
    {"__libc_free", PFS_PYFN_ALLOC, ALL, 0},
    {"_int_malloc", PFS_PYFN_ALLOC, ALL, 0},
    {"_int_free", PFS_PYFN_ALLOC, ALL, 0},
    {"_int_realloc", PFS_PYFN_ALLOC, ALL, 0},
    {"malloc_consolidate", PFS_PYFN_ALLOC, ALL, 0},
    {"sysmalloc", PFS_PYFN_ALLOC, ALL, 0},
};

static const char *const gc_probes_old[] = {"collect", NULL};
static const char *const gc_probes_main[] = {"gc_collect_main", NULL};
static const char *const gc_probes_314[] = {"gc_collect_main", "_PyGC_Collect", NULL};
static const char *const gc_probes_any[] = {"gc_collect_main", "collect", "_PyGC_Collect", NULL};
static const char *const gil_probes[] = {"take_gil", "drop_gil", NULL};

static const char *const cat_names[PFS_CAT_COUNT] = {
    [PFS_CAT_PY_APP] = "python-app",
    [PFS_CAT_PY_STDLIB] = "python-stdlib",
    [PFS_CAT_PY_SITE] = "python-site-packages",
    [PFS_CAT_INTERP] = "interpreter",
    [PFS_CAT_GC] = "gc",
    [PFS_CAT_GIL] = "gil",
    [PFS_CAT_ALLOC] = "alloc",
    [PFS_CAT_NATIVE] = "native",
    [PFS_CAT_KERNEL] = "kernel",
    [PFS_CAT_UNKNOWN] = "unknown",
};

/* Libraries whose time belongs to whoever called them (libc under CPython is CPython's work). */
static const char *const system_libs[] = {
    "libc.so", "libc-", "libm.so",  "libm-",	 "libpthread", "ld-linux",   "ld-2.", "ld64.so",
    "libdl",   "librt", "libgcc_s", "libstdc++", "[vdso]",     "linux-vdso", NULL,
};

const char *pfs_pyclass_basename(const char *path)
{
	const char *s;
	if (!path)
		return "";
	s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static bool has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

bool pfs_pyclass_version(const char *path, struct pfs_pyver *v)
{
	const char *s = pfs_pyclass_basename(path);
	int major = 0, minor = 0;
	bool ft = false;
	if (has_prefix(s, "lib"))
		s += 3;
	if (!has_prefix(s, "python"))
		return false;
	s += 6;
	if (!is_digit(*s))
		return false;
	while (is_digit(*s) && major < 100)
		major = major * 10 + (*s++ - '0');
	if (*s != '.' || !is_digit(s[1]))
		return false;
	s++;
	while (is_digit(*s) && minor < 1000)
		minor = minor * 10 + (*s++ - '0');
	/* ABI flags: d(ebug), m(pymalloc, up to 3.7), t (free-threaded), u (wide unicode, 2.x) */
	while (*s == 'd' || *s == 'm' || *s == 't' || *s == 'u') {
		if (*s == 't')
			ft = true;
		s++;
	}
	if (*s && *s != '.' && *s != '-' && *s != '_')
		return false;
	v->major = major;
	v->minor = minor;
	v->free_threaded = ft;
	v->known = major == 3 && minor >= 8 && minor <= 14;
	return true;
}

bool pfs_pyclass_is_python_dso(const char *path)
{
	struct pfs_pyver v;
	const char *s = pfs_pyclass_basename(path);
	if (pfs_pyclass_version(path, &v))
		return true;
	if (has_prefix(s, "lib"))
		s += 3;
	if (!has_prefix(s, "python"))
		return false;
	s += 6;
	return !*s || is_digit(*s) || has_prefix(s, ".so");
}

/* Length of name without a compiler suffix (".constprop.0", ".cold", "@@GLIBC_2.2.5"). */
static size_t base_len(const char *name)
{
	size_t n = 0;
	while (name[n] && name[n] != '@' && !(name[n] == '.' && n > 0))
		n++;
	return n;
}

static bool entry_applies(const struct fn_entry *e, const struct pfs_pyver *v)
{
	if (!v || !v->known)
		return true;
	return v->minor >= e->min_minor && v->minor <= e->max_minor;
}

#define N_FN (sizeof(fn_table) / sizeof(fn_table[0]))

/*
 * fn_table's entries by first byte, in table order (the first match wins): this runs for every
 * frame of every new stack, and most names start with a byte no entry does.
 */
static uint8_t by_byte[256][N_FN];
static uint8_t n_by_byte[256];
static size_t fn_len[N_FN]; /* strlen of each name: the lookup runs for every frame of a stack */
static bool by_byte_ready;

static void index_fn_table(void)
{
	_Static_assert(N_FN < 256, "fn_table indices fit a byte");
	for (size_t i = 0; i < N_FN; i++) {
		unsigned char b = (unsigned char)fn_table[i].name[0];
		by_byte[b][n_by_byte[b]++] = (uint8_t)i;
		fn_len[i] = strlen(fn_table[i].name);
	}
	by_byte_ready = true;
}

enum pfs_pyfn pfs_pyclass_function(const struct pfs_pyver *v, const char *name, const char *dso)
{
	size_t n;
	int pydso = -1; /* computed on first need */
	bool own_done = false;
	struct pfs_pyver own;
	unsigned char b;
	if (!name || !*name)
		return PFS_PYFN_NONE;
	if (!by_byte_ready)
		index_fn_table();
	b = (unsigned char)name[0];
	if (!n_by_byte[b])
		return PFS_PYFN_NONE;
	n = base_len(name);
	for (size_t k = 0; k < n_by_byte[b]; k++) {
		const struct fn_entry *e = &fn_table[by_byte[b][k]];
		size_t en = fn_len[by_byte[b][k]];
		if (e->flags & F_PREFIX) {
			if (n < en || memcmp(name, e->name, en))
				continue;
		} else if (n != en || memcmp(name, e->name, en)) {
			continue;
		}
		/* a frame of a versioned CPython binary is judged by that CPython's tables,
		 * whatever v says: a capture may hold a 3.9 and a 3.12 process (v is the
		 * capture's first version, or NULL for the union) */
		if (!own_done) {
			own_done = true;
			if (dso && *dso && pfs_pyclass_version(dso, &own))
				v = own.known ? &own : NULL;
		}
		if (!entry_applies(e, v))
			continue;
		if (e->flags & F_PYDSO) {
			/* inline frames may come without a dso: the name is all there is */
			if (pydso < 0)
				pydso = !dso || !*dso || pfs_pyclass_is_python_dso(dso);
			if (!pydso)
				continue;
		}
		return e->role;
	}
	return PFS_PYFN_NONE;
}

const char *const *pfs_pyclass_gc_probe_functions(const struct pfs_pyver *v)
{
	if (!v || !v->known)
		return gc_probes_any;
	if (v->minor <= 9)
		return gc_probes_old;
	if (v->minor >= 14)
		return gc_probes_314;
	return gc_probes_main;
}

const char *const *pfs_pyclass_gil_probe_functions(const struct pfs_pyver *v)
{
	return gil_probes;
}

bool pfs_pyclass_split_pyname(const char *name, const char **func, size_t *func_len,
			      const char **file, size_t *file_len)
{
	const char *colon;
	if (!name || !has_prefix(name, "py::"))
		return false;
	name += 4;
	/* qualnames never hold ':' (<lambda>, Foo.bar, <genexpr>); file paths might */
	colon = strchr(name, ':');
	if (!colon)
		return false;
	*func = name;
	*func_len = (size_t)(colon - name);
	*file = colon + 1;
	*file_len = strlen(colon + 1);
	return true;
}

bool pfs_pyclass_is_python_frame(const struct pfs_pyframe *f)
{
	if (f->kind == PFS_FK_PYTHON || f->kind == PFS_FK_PYINSTRUMENT)
		return true;
	return f->name && has_prefix(f->name, "py::");
}

/* Finds needle in the len bytes of hay. */
static const char *span_find(const char *hay, size_t len, const char *needle)
{
	size_t nl = strlen(needle);
	if (nl > len)
		return NULL;
	for (size_t i = 0; i + nl <= len; i++)
		if (!memcmp(hay + i, needle, nl))
			return hay + i;
	return NULL;
}

/* True when the span holds "/lib/python3.N/" or "/lib64/python3.N/" (a stdlib directory). */
static bool has_stdlib_dir(const char *file, size_t len)
{
	static const char *const dirs[] = {"/lib/python", "/lib64/python", "/Lib/"};
	for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
		const char *p = file, *end = file + len;
		while (p < end) {
			const char *hit = span_find(p, (size_t)(end - p), dirs[d]);
			const char *q;
			if (!hit)
				break;
			q = hit + strlen(dirs[d]);
			if (d == 2)
				return true;
			/* python3.12/, python3.13t/, python3/ (Debian's shared dist-packages root)
			 */
			while (q < end && (is_digit(*q) || *q == '.' || *q == 't'))
				q++;
			if (q < end && *q == '/')
				return true;
			p = hit + 1;
		}
	}
	return false;
}

enum pfs_pyorigin pfs_pyclass_origin(const char *file, size_t len)
{
	if (!file || !len)
		return PFS_PYORIG_APP;
	if (span_find(file, len, "/site-packages/") || span_find(file, len, "/dist-packages/") ||
	    (len >= 14 && !memcmp(file, "site-packages/", 14)))
		return PFS_PYORIG_SITE;
	/* <frozen importlib._bootstrap>, <frozen runpy>: frozen standard-library modules */
	if (len >= 8 && !memcmp(file, "<frozen ", 8))
		return PFS_PYORIG_STDLIB;
	if (has_stdlib_dir(file, len))
		return PFS_PYORIG_STDLIB;
	return PFS_PYORIG_APP;
}

enum pfs_pyorigin pfs_pyclass_frame_origin(const struct pfs_pyframe *f)
{
	const char *fn, *file;
	size_t fl, filel;
	if (f->file && *f->file)
		return pfs_pyclass_origin(f->file, strlen(f->file));
	if (pfs_pyclass_split_pyname(f->name, &fn, &fl, &file, &filel))
		return pfs_pyclass_origin(file, filel);
	return PFS_PYORIG_APP;
}

static bool is_unknown(const struct pfs_pyframe *f)
{
	return f->kind == PFS_FK_UNKNOWN || !f->name || !*f->name || !strcmp(f->name, "[unknown]");
}

static bool is_system_lib(const char *dso)
{
	const char *b = pfs_pyclass_basename(dso);
	for (size_t i = 0; system_libs[i]; i++)
		if (has_prefix(b, system_libs[i]))
			return true;
	return false;
}

uint8_t pfs_pyclass_fn_memo(struct pfs_pyclass_fn_memo *m, const struct pfs_pyver *v,
			    uint32_t frame, const char *name, const char *dso)
{
	if (m->have_ver != (v != NULL) ||
	    (v && (m->ver.major != v->major || m->ver.minor != v->minor ||
		   m->ver.known != v->known || m->ver.free_threaded != v->free_threaded))) {
		if (m->fn)
			memset(m->fn, 0, m->cap);
		m->have_ver = v != NULL;
		if (v)
			m->ver = *v;
	}
	PFS_GROW_ZEROED(m->fn, m->cap, frame);
	if (!m->fn[frame])
		m->fn[frame] = (uint8_t)(pfs_pyclass_function(v, name, dso) + 1);
	return m->fn[frame];
}

void pfs_pyclass_fn_memo_release(struct pfs_pyclass_fn_memo *m)
{
	free(m->fn);
}

static enum pfs_pycat origin_cat(enum pfs_pyorigin o)
{
	switch (o) {
	case PFS_PYORIG_STDLIB:
		return PFS_CAT_PY_STDLIB;
	case PFS_PYORIG_SITE:
		return PFS_CAT_PY_SITE;
	default:
		return PFS_CAT_PY_APP;
	}
}

static enum pfs_pyfn frame_fn(const struct pfs_pyver *v, const struct pfs_pyframe *f)
{
	return f->fn ? (enum pfs_pyfn)(f->fn - 1) : pfs_pyclass_function(v, f->name, f->dso);
}

static void set(struct pfs_pystack *s, enum pfs_pycat c, enum pfs_pylabel l)
{
	s->cat = c;
	s->label = l;
}

/* The leaf-side activity: frames from the leaf up to (not including) the first Python frame. */
static void classify_leaf(const struct pfs_pyver *v, const struct pfs_pyframe *frames, size_t limit,
			  const struct pfs_pyframe *py_leaf, struct pfs_pystack *out)
{
	const char *syslib = NULL;
	for (size_t i = 0; i < limit; i++)
		if (frame_fn(v, &frames[i]) == PFS_PYFN_ALLOC && frames[i].kind != PFS_FK_KERNEL) {
			set(out, PFS_CAT_ALLOC, PFS_PYLABEL_ALLOC);
			return;
		}
	for (size_t i = 0; i < limit; i++) {
		const struct pfs_pyframe *f = &frames[i];
		enum pfs_pyfn fn;
		if (is_unknown(f))
			continue;
		if (f->kind == PFS_FK_KERNEL) {
			set(out, PFS_CAT_KERNEL, PFS_PYLABEL_KERNEL);
			return;
		}
		fn = frame_fn(v, f);
		/*
		 * The eval loop running a Python function's bytecode is that function's own time,
		 * as a Python profiler counts it; with no Python frame it is the interpreter's
		 */
		if (fn == PFS_PYFN_EVAL) {
			if (py_leaf)
				set(out, origin_cat(pfs_pyclass_frame_origin(py_leaf)),
				    PFS_PYLABEL_NONE);
			else
				set(out, PFS_CAT_INTERP, PFS_PYLABEL_INTERP);
			return;
		}
		if (f->dso && *f->dso && !pfs_pyclass_is_python_dso(f->dso)) {
			if (is_system_lib(f->dso)) {
				if (!syslib)
					syslib = f->dso;
				continue;
			}
			set(out, PFS_CAT_NATIVE, PFS_PYLABEL_NATIVE);
			out->label_dso = f->dso;
			return;
		}
		/* CPython's runtime (objects, builtins) doing the Python code's work */
		if (py_leaf)
			set(out, origin_cat(pfs_pyclass_frame_origin(py_leaf)), PFS_PYLABEL_NONE);
		else
			set(out, PFS_CAT_INTERP, PFS_PYLABEL_INTERP);
		return;
	}
	if (syslib) {
		set(out, PFS_CAT_NATIVE, PFS_PYLABEL_NATIVE);
		out->label_dso = syslib;
	} else if (py_leaf) {
		/* the leaf is the Python function's perf trampoline: its call, its time */
		set(out, origin_cat(pfs_pyclass_frame_origin(py_leaf)), PFS_PYLABEL_NONE);
	} else {
		set(out, PFS_CAT_UNKNOWN, PFS_PYLABEL_UNKNOWN);
	}
}

bool pfs_pyclass_is_cut_mark(const struct pfs_pyframe *f)
{
	return f->kind == PFS_FK_PSEUDO && f->name && !strcmp(f->name, PFS_FRAME_TRUNCATED);
}

void pfs_pyclass_stack(const struct pfs_pyver *v, const struct pfs_pyframe *frames, size_t n,
		       struct pfs_pystack *out)
{
	memset(out, 0, sizeof(*out));
	out->gc_entry = out->py_leaf = out->py_under_gc = -1;
	for (size_t i = 0; i < n; i++) {
		const struct pfs_pyframe *f = &frames[i];
		if (pfs_pyclass_is_python_frame(f)) {
			out->n_python++;
			if (out->py_leaf < 0)
				out->py_leaf = (int32_t)i;
			if (out->gc_entry >= 0 && out->py_under_gc < 0)
				out->py_under_gc = (int32_t)i;
			continue;
		}
		if (f->kind == PFS_FK_KERNEL)
			continue;
		switch (frame_fn(v, f)) {
		case PFS_PYFN_GC:
			/* the root-most entry: the Python frame under it triggered the collection
			 */
			out->gc = true;
			out->gc_entry = (int32_t)i;
			out->py_under_gc = -1;
			break;
		case PFS_PYFN_GIL_TAKE:
			out->gil_take = true;
			break;
		case PFS_PYFN_GIL_DROP:
			out->gil_drop = true;
			break;
		default:
			break;
		}
	}
	out->cut = n && pfs_pyclass_is_cut_mark(&frames[n - 1]);
	if (out->gc)
		set(out, PFS_CAT_GC, PFS_PYLABEL_GC);
	else if (out->gil_take)
		set(out, PFS_CAT_GIL, PFS_PYLABEL_GIL_WAIT);
	else if (out->gil_drop)
		set(out, PFS_CAT_GIL, PFS_PYLABEL_GIL_DROP);
	else
		classify_leaf(v, frames, out->py_leaf >= 0 ? (size_t)out->py_leaf : n,
			      out->py_leaf >= 0 ? &frames[out->py_leaf] : NULL, out);
}

const char *pfs_pycat_name(enum pfs_pycat c)
{
	return (unsigned)c < PFS_CAT_COUNT ? cat_names[c] : "unknown";
}

/* What the CLI and the report show for each category (docs/categories.md): one set of words. */
static const char *const cat_labels[PFS_CAT_COUNT] = {
    [PFS_CAT_PY_APP] = "Python (app)",
    [PFS_CAT_PY_STDLIB] = "Python (stdlib)",
    [PFS_CAT_PY_SITE] = "Python (site-packages)",
    [PFS_CAT_INTERP] = "interpreter",
    [PFS_CAT_GC] = "GC",
    [PFS_CAT_GIL] = "GIL",
    [PFS_CAT_ALLOC] = "allocator",
    [PFS_CAT_NATIVE] = "native",
    [PFS_CAT_KERNEL] = "kernel",
    [PFS_CAT_UNKNOWN] = "unknown",
};

const char *pfs_pycat_label(enum pfs_pycat c)
{
	return (unsigned)c < PFS_CAT_COUNT ? cat_labels[c] : "unknown";
}

const char *pfs_pyclass_label(const struct pfs_pystack *s, char *buf, size_t len)
{
	const char *t;
	if (!len)
		return NULL;
	switch (s->label) {
	case PFS_PYLABEL_GC:
		t = "[gc]";
		break;
	case PFS_PYLABEL_GIL_WAIT:
		t = "[gil wait]";
		break;
	case PFS_PYLABEL_GIL_DROP:
		t = "[gil drop]";
		break;
	case PFS_PYLABEL_ALLOC:
		t = "[alloc]";
		break;
	case PFS_PYLABEL_KERNEL:
		t = "[kernel]";
		break;
	case PFS_PYLABEL_INTERP:
		t = "[interpreter]";
		break;
	case PFS_PYLABEL_UNKNOWN:
		t = "[unknown]";
		break;
	case PFS_PYLABEL_NATIVE:
		snprintf(buf, len, "[native: %s]", pfs_pyclass_basename(s->label_dso));
		return buf;
	default:
		return NULL;
	}
	snprintf(buf, len, "%s", t);
	return buf;
}
