/*
 * pyclass: what a native or Python frame means to a Python user, from tables per CPython version.
 *
 * Pure and table-driven: no I/O, no allocation, no state beyond constant tables. It answers
 *  - which CPython a binary is, from its path or soname (libpython3.12.so.1.0, python3.13t);
 *  - what role a native function plays for that version (GC entry, GIL take/drop, eval loop,
 *    allocator), GCC/LTO suffixes such as ".constprop.0" or ".cold" ignored;
 *  - where a Python function's code comes from (application, standard library, site-packages),
 *    from the file of a `py::func:file` frame;
 *  - what a whole stack was doing: the sample's category (docs/categories.md) and the python
 *    view of the stack (its Python frames plus one labelled pseudo-frame for the native leaf
 *    activity: [gc], [gil wait], [gil drop], [alloc], [native: libfoo.so], [kernel],
 *    [interpreter]).
 *
 * Unknown versions (a python3.15, or no Python binary at all) get the union of every known
 * version's names, so a capture still classifies; the caller reports that the version is not
 * in the tables. Strings passed in are borrowed; strings returned are static or point into
 * the caller's strings.
 */
#ifndef PFS_PYCLASS_H
#define PFS_PYCLASS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pfs_pyver {
	int major, minor;   /* 0.0 when unknown */
	bool free_threaded; /* a 't' build (3.13t): no GIL by default */
	bool known;	    /* major.minor has its own table (3.8 to 3.14) */
};

/* The role of a native function for one CPython version. */
enum pfs_pyfn {
	PFS_PYFN_NONE = 0,
	PFS_PYFN_GC,	   /* a GC entry point: a collection runs below it */
	PFS_PYFN_GIL_TAKE, /* waiting to take the GIL (or to attach, free-threaded) */
	PFS_PYFN_GIL_DROP, /* releasing the GIL, possibly waiting for the taker (forced switch) */
	PFS_PYFN_EVAL,	   /* the bytecode interpreter loop and its trampolines */
	PFS_PYFN_ALLOC,	   /* an object or raw allocator (pymalloc, mimalloc, libc malloc) */
};

/* Where Python code comes from. */
enum pfs_pyorigin {
	PFS_PYORIG_APP = 0,
	PFS_PYORIG_STDLIB,
	PFS_PYORIG_SITE, /* site-packages, dist-packages: third-party libraries */
};

/* A sample's category; the JSON and docs/categories.md use pfs_pycat_name(). */
enum pfs_pycat {
	PFS_CAT_PY_APP = 0, /* runtime work under application Python code */
	PFS_CAT_PY_STDLIB,  /* the same under standard-library code */
	PFS_CAT_PY_SITE,    /* the same under site-packages code */
	PFS_CAT_INTERP,	    /* eval-loop self time, or the runtime with no Python frame */
	PFS_CAT_GC,	    /* a GC entry point on the stack */
	PFS_CAT_GIL,	    /* take_gil / drop_gil on the stack */
	PFS_CAT_ALLOC,	    /* an allocator between the leaf and the nearest Python frame */
	PFS_CAT_NATIVE,	    /* native code outside CPython (extension or other library) */
	PFS_CAT_KERNEL,	    /* the kernel, not on behalf of the categories above */
	PFS_CAT_UNKNOWN,    /* nothing on the stack could be named */
	PFS_CAT_COUNT,
};

/* The pseudo-frame that stands for a stack's native leaf activity in the python view. */
enum pfs_pylabel {
	PFS_PYLABEL_NONE = 0, /* the leaf-most Python frame's own time: no pseudo-frame */
	PFS_PYLABEL_GC,
	PFS_PYLABEL_GIL_WAIT,
	PFS_PYLABEL_GIL_DROP,
	PFS_PYLABEL_ALLOC,
	PFS_PYLABEL_NATIVE, /* "[native: <basename of dso>]" */
	PFS_PYLABEL_KERNEL,
	PFS_PYLABEL_INTERP,
	PFS_PYLABEL_UNKNOWN,
};

/* One frame as pyclass sees it. kind is an enum pfs_frame_kind (profile.h). */
struct pfs_pyframe {
	const char *name; /* function or "py::qualname:file"; NULL is "" */
	const char *file; /* source file if known, NULL otherwise */
	const char *dso;  /* binary path or map name, NULL if none */
	uint8_t kind;
	uint8_t inlined;
	uint8_t fn; /* pfs_pyclass_function()'s answer + 1 when the caller has it, else 0 */
};

/* What a stack (frames leaf first) was doing. Indices are into the caller's array. */
struct pfs_pystack {
	enum pfs_pycat cat;
	enum pfs_pylabel label;
	const char *label_dso;	 /* for PFS_PYLABEL_NATIVE: the dso path the label names */
	bool gc;		 /* a GC entry anywhere (the GC-sample definition) */
	bool gil_take, gil_drop; /* take_gil / drop_gil anywhere */
	int32_t gc_entry;	 /* root-most GC entry frame, -1 if none */
	int32_t py_leaf;	 /* leaf-most Python frame, -1 if none */
	int32_t py_under_gc;	 /* leaf-most Python frame rootward of gc_entry, -1 if none */
	uint32_t n_python;	 /* Python frames on the stack */
	bool cut; /* rooted at the [truncated] mark (PFS_FRAME_TRUNCATED): callers unknown */
};

/*
 * Reads the CPython version out of a binary's path or soname (libpython3.12.so.1.0,
 * /usr/bin/python3.13t, libpython3.9d.so). Returns true and fills *v when path names a CPython
 * binary with a major.minor (v->known says whether pyclass has a table for it); false when it
 * is not a versioned CPython binary.
 */
bool pfs_pyclass_version(const char *path, struct pfs_pyver *v);
/* True when path is a CPython binary or library (versioned or not: "python3", "libpython3.so"). */
bool pfs_pyclass_is_python_dso(const char *path);

/* The role of function name (suffixes allowed) in dso for version v (NULL: all versions); a
 * dso that is a versioned CPython binary (libpython3.9.so, python3.12) brings its own version,
 * so each process of a capture with several CPythons is classified by its own tables. */
enum pfs_pyfn pfs_pyclass_function(const struct pfs_pyver *v, const char *name, const char *dso);

/*
 * pfs_pyclass_function's answers by frame id, for callers that classify many stacks sharing
 * their frames: each frame is asked once per version (a new version empties the memo).
 * Zero-initialise; release with pfs_pyclass_fn_memo_release.
 */
struct pfs_pyclass_fn_memo {
	uint8_t *fn; /* answer + 1; 0: not asked yet */
	size_t cap;
	struct pfs_pyver ver;
	bool have_ver;
};
/* The answer + 1 for frame (named name, in dso), the form struct pfs_pyframe's fn takes. */
uint8_t pfs_pyclass_fn_memo(struct pfs_pyclass_fn_memo *m, const struct pfs_pyver *v,
			    uint32_t frame, const char *name, const char *dso);
void pfs_pyclass_fn_memo_release(struct pfs_pyclass_fn_memo *m);

/*
 * The GC collector functions whose entry/return uprobes give pause intervals for v, most likely
 * first, NULL-terminated ("gc_collect_main" for 3.10 to 3.13, "collect" for 3.8/3.9).
 */
const char *const *pfs_pyclass_gc_probe_functions(const struct pfs_pyver *v);
/* The GIL functions worth a uprobe: take_gil (entry/return gives the wait), drop_gil. */
const char *const *pfs_pyclass_gil_probe_functions(const struct pfs_pyver *v);

/*
 * Splits a perf-map Python name "py::qualname:file" into qualname and file. Returns true and
 * the two spans (pointing into name) or false when name is not of that form.
 */
bool pfs_pyclass_split_pyname(const char *name, const char **func, size_t *func_len,
			      const char **file, size_t *file_len);
/* True when f is the [truncated] mark ingest roots a stack cut short at (profile.h). */
bool pfs_pyclass_is_cut_mark(const struct pfs_pyframe *f);
/* True when f is a Python frame (kind PYTHON or PYINSTRUMENT, or a "py::" map name). */
bool pfs_pyclass_is_python_frame(const struct pfs_pyframe *f);
/* Origin of Python code by its file path (len bytes; need not be NUL-terminated). */
enum pfs_pyorigin pfs_pyclass_origin(const char *file, size_t len);
/* Origin of a Python frame (its file field, else the file part of its py:: name). */
enum pfs_pyorigin pfs_pyclass_frame_origin(const struct pfs_pyframe *f);

/* Classifies a stack of n frames, leaf first (as perf prints it), for version v (NULL: all). */
void pfs_pyclass_stack(const struct pfs_pyver *v, const struct pfs_pyframe *frames, size_t n,
		       struct pfs_pystack *out);

/* "python-app", "gc", ...: stable names used in JSON and docs/categories.md. */
const char *pfs_pycat_name(enum pfs_pycat c);
/* The category as a reader sees it ("Python (app)", "GC"), the same in the CLI and report. */
const char *pfs_pycat_label(enum pfs_pycat c);
/*
 * Writes the pseudo-frame name of s ("[gc]", "[native: libfoo.so]") into buf (always
 * NUL-terminated, truncated to len). Returns buf, or NULL when s has no pseudo-frame.
 */
const char *pfs_pyclass_label(const struct pfs_pystack *s, char *buf, size_t len);
/* The basename of a path (the part after the last '/'). */
const char *pfs_pyclass_basename(const char *path);

#endif
