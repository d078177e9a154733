#include <stdio.h>

#include "harness.h"
#include "profile.h"
#include "pyclass.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_version_from_paths(void)
{
	static const struct {
		const char *path;
		bool ok;
		int major, minor;
		bool ft, known;
	} cases[] = {
	    {"/root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0", true, 3, 12, false, true},
	    {"/usr/bin/python3.11", true, 3, 11, false, true},
	    {"python3.13t", true, 3, 13, true, true},
	    {"/usr/lib/libpython3.13t.so.1.0", true, 3, 13, true, true},
	    {"/usr/lib/x86_64-linux-gnu/libpython3.9d.so.1.0", true, 3, 9, false, true},
	    {"libpython3.7m.so.1.0", true, 3, 7, false, false},
	    {"/opt/py/bin/python3.8", true, 3, 8, false, true},
	    {"/opt/py/bin/python3.14", true, 3, 14, false, true},
	    {"/opt/py/bin/python3.15", true, 3, 15, false, false},
	    {"python2.7", true, 2, 7, false, false},
	    {"python3.12-dbg", true, 3, 12, false, true},
	    {"/usr/bin/python3", false, 0, 0, false, false},
	    {"libpython3.so", false, 0, 0, false, false},
	    {"/usr/lib/libc.so.6", false, 0, 0, false, false},
	    {"/tmp/perf-123.map", false, 0, 0, false, false},
	    {"python3.x", false, 0, 0, false, false},
	    {"python3.12foo", false, 0, 0, false, false},
	    {"/home/u/pythonista", false, 0, 0, false, false},
	    {"", false, 0, 0, false, false},
	};
	for (size_t i = 0; i < N(cases); i++) {
		struct pfs_pyver v = {0};
		bool ok = pfs_pyclass_version(cases[i].path, &v);
		if (ok != cases[i].ok)
			t_fail(__FILE__, __LINE__, "%s: version() = %d", cases[i].path, ok);
		if (!ok)
			continue;
		T_EQ(v.major, cases[i].major);
		T_EQ(v.minor, cases[i].minor);
		T_EQ(v.free_threaded, cases[i].ft);
		T_EQ(v.known, cases[i].known);
	}
	T_ASSERT(!pfs_pyclass_version(NULL, &(struct pfs_pyver){0}));
}

static void test_python_dso(void)
{
	static const struct {
		const char *path;
		bool py;
	} cases[] = {
	    {"/usr/bin/python3", true},
	    {"libpython3.so", true},
	    {"/x/libpython3.12.so.1.0", true},
	    {"python", true},
	    {"/usr/lib/libc.so.6", false},
	    {"/x/_ssl.cpython-312-x86_64-linux-gnu.so", false},
	    {"pythonista", false},
	    {NULL, false},
	};
	for (size_t i = 0; i < N(cases); i++)
		if (pfs_pyclass_is_python_dso(cases[i].path) != cases[i].py)
			t_fail(__FILE__, __LINE__, "%s: is_python_dso wrong", cases[i].path);
}

static const char *LIBPY = "/usr/lib/libpython3.12.so.1.0";

static void test_function_roles_per_version(void)
{
	static const struct {
		int minor; /* 0: no version */
		const char *name;
		const char *dso;
		enum pfs_pyfn role;
	} cases[] = {
	    {8, "collect", "libpython3.8.so.1.0", PFS_PYFN_GC},
	    {9, "collect.constprop.0", "python3.9", PFS_PYFN_GC},
	    {12, "collect", "libpython3.12.so.1.0", PFS_PYFN_NONE},
	    {8, "collect", "/usr/lib/libfoo.so", PFS_PYFN_NONE},
	    {8, "collect", NULL, PFS_PYFN_GC},
	    {8, "gc_collect_main", "python3.8", PFS_PYFN_NONE},
	    {10, "gc_collect_main", "python3.10", PFS_PYFN_GC},
	    {12, "gc_collect_main", "libpython3.12.so.1.0", PFS_PYFN_GC},
	    {12, "gc_collect_main.cold", "libpython3.12.so.1.0", PFS_PYFN_GC},
	    {12, "gc_collect_generations", "libpython3.12.so.1.0", PFS_PYFN_GC},
	    {12, "_Py_RunGC", "libpython3.12.so.1.0", PFS_PYFN_NONE},
	    {13, "gc_collect_generations", "libpython3.13.so.1.0", PFS_PYFN_NONE},
	    {13, "_PyGC_Collect", "libpython3.13.so.1.0", PFS_PYFN_GC},
	    {12, "_PyGC_Collect", "libpython3.12.so.1.0", PFS_PYFN_NONE},
	    {14, "gc_collect_region", "libpython3.14.so.1.0", PFS_PYFN_GC},
	    {14, "gc_collect_young.lto_priv.0", "libpython3.14.so.1.0", PFS_PYFN_GC},
	    {14, "gc_collect_main", "libpython3.14.so.1.0", PFS_PYFN_GC},
	    {13, "gc_collect_region", "libpython3.13.so.1.0", PFS_PYFN_NONE},
	    {11, "PyGC_Collect", "/any/lib.so", PFS_PYFN_GC},
	    {12, "take_gil", "libpython3.12.so.1.0", PFS_PYFN_GIL_TAKE},
	    {12, "take_gil.isra.0", "python3.12", PFS_PYFN_GIL_TAKE},
	    {12, "take_gil", "/usr/lib/libother.so", PFS_PYFN_NONE},
	    {12, "take_gilx", "libpython3.12.so.1.0", PFS_PYFN_NONE},
	    {12, "drop_gil", "libpython3.12.so.1.0", PFS_PYFN_GIL_DROP},
	    {13, "tstate_wait_attach", "libpython3.13t.so.1.0", PFS_PYFN_GIL_TAKE},
	    {12, "tstate_wait_attach", "libpython3.12.so.1.0", PFS_PYFN_NONE},
	    {12, "_PyEval_EvalFrameDefault", "libpython3.12.so.1.0", PFS_PYFN_EVAL},
	    {12, "_PyEval_EvalFrameDefault.cold", "libpython3.12.so.1.0", PFS_PYFN_EVAL},
	    {8, "PyEval_EvalFrameEx", "python3.8", PFS_PYFN_EVAL},
	    {12, "PyEval_EvalFrameEx", "python3.12", PFS_PYFN_NONE},
	    {14, "_TAIL_CALL_BINARY_OP.llvm.123", "libpython3.14.so.1.0", PFS_PYFN_EVAL},
	    {13, "_TAIL_CALL_BINARY_OP", "libpython3.13.so.1.0", PFS_PYFN_NONE},
	    {12, "_PyObject_Malloc", "libpython3.12.so.1.0", PFS_PYFN_ALLOC},
	    {12, "pymalloc_alloc", "libpython3.12.so.1.0", PFS_PYFN_ALLOC},
	    {8, "allocate_from_new_pool", "python3.8", PFS_PYFN_NONE},
	    {13, "mi_heap_malloc", "libpython3.13t.so.1.0", PFS_PYFN_ALLOC},
	    {13, "_mi_malloc_generic", "libpython3.13.so.1.0", PFS_PYFN_ALLOC},
	    {13, "mi_free", "/usr/lib/libmimalloc.so", PFS_PYFN_NONE},
	    {12, "mi_free", "libpython3.12.so.1.0", PFS_PYFN_NONE},
	    {13, "_PyObject_MiMalloc", "libpython3.13.so.1.0", PFS_PYFN_ALLOC},
	    {12, "malloc", "/usr/lib/x86_64-linux-gnu/libc.so.6", PFS_PYFN_ALLOC},
	    {12, "_int_free", "/usr/lib/x86_64-linux-gnu/libc.so.6", PFS_PYFN_ALLOC},
	    {12, "memcpy", "/usr/lib/x86_64-linux-gnu/libc.so.6", PFS_PYFN_NONE},
	    {12, "pthread_cond_timedwait@@GLIBC_2.3.2", "libc.so.6", PFS_PYFN_NONE},
	    {12, "", "libpython3.12.so.1.0", PFS_PYFN_NONE},
	    {12, NULL, "libpython3.12.so.1.0", PFS_PYFN_NONE},
	    /* no version: the union of all tables */
	    {0, "collect", "python3", PFS_PYFN_GC},
	    {0, "gc_collect_region", "libpython3.so", PFS_PYFN_GC},
	    {0, "take_gil", "python3", PFS_PYFN_GIL_TAKE},
	};
	for (size_t i = 0; i < N(cases); i++) {
		struct pfs_pyver v = {3, cases[i].minor, false, true};
		enum pfs_pyfn got;
		if (cases[i].minor)
			v.known = cases[i].minor >= 8 && cases[i].minor <= 14;
		got = pfs_pyclass_function(cases[i].minor ? &v : NULL, cases[i].name, cases[i].dso);
		if (got != cases[i].role)
			t_fail(__FILE__, __LINE__, "3.%d %s in %s: role %d, want %d",
			       cases[i].minor, cases[i].name ? cases[i].name : "(null)",
			       cases[i].dso ? cases[i].dso : "(null)", got, cases[i].role);
	}
}

static void test_unknown_version_uses_union(void)
{
	struct pfs_pyver v;
	T_ASSERT(pfs_pyclass_version("python3.15", &v));
	T_ASSERT(!v.known);
	T_EQ(pfs_pyclass_function(&v, "collect", "python3.15"), PFS_PYFN_GC);
	T_EQ(pfs_pyclass_function(&v, "gc_collect_main", "python3.15"), PFS_PYFN_GC);
	T_STREQ(pfs_pyclass_gc_probe_functions(&v)[0], "gc_collect_main");
}

static void test_probe_functions(void)
{
	struct pfs_pyver v8 = {3, 8, false, true}, v12 = {3, 12, false, true},
			 v14 = {3, 14, false, true};
	const char *const *g;
	T_STREQ(pfs_pyclass_gc_probe_functions(&v8)[0], "collect");
	T_ASSERT(pfs_pyclass_gc_probe_functions(&v8)[1] == NULL);
	T_STREQ(pfs_pyclass_gc_probe_functions(&v12)[0], "gc_collect_main");
	T_STREQ(pfs_pyclass_gc_probe_functions(&v14)[1], "_PyGC_Collect");
	/* every probe function is itself a GC entry of that version */
	for (int m = 8; m <= 14; m++) {
		struct pfs_pyver v = {3, m, false, true};
		for (g = pfs_pyclass_gc_probe_functions(&v); *g; g++)
			T_EQ(pfs_pyclass_function(&v, *g, "python3"), PFS_PYFN_GC);
	}
	g = pfs_pyclass_gil_probe_functions(&v12);
	T_STREQ(g[0], "take_gil");
	T_STREQ(g[1], "drop_gil");
}

static void test_split_pyname(void)
{
	const char *f, *file;
	size_t fl, filel;
	T_ASSERT(pfs_pyclass_split_pyname("py::Foo.bar:/app/x.py", &f, &fl, &file, &filel));
	T_EQ(fl, 7);
	T_ASSERT(!memcmp(f, "Foo.bar", 7));
	T_STREQ(file, "/app/x.py");
	T_EQ(filel, 9);
	T_ASSERT(pfs_pyclass_split_pyname("py::<module>:C:/w/x.py", &f, &fl, &file, &filel));
	T_EQ(fl, 8);
	T_STREQ(file, "C:/w/x.py");
	T_ASSERT(pfs_pyclass_split_pyname("py:::", &f, &fl, &file, &filel));
	T_EQ(fl, 0);
	T_EQ(filel, 0);
	T_ASSERT(!pfs_pyclass_split_pyname("py::nofile", &f, &fl, &file, &filel));
	T_ASSERT(!pfs_pyclass_split_pyname("main", &f, &fl, &file, &filel));
	T_ASSERT(!pfs_pyclass_split_pyname(NULL, &f, &fl, &file, &filel));
}

static void test_origin_by_path(void)
{
	static const struct {
		const char *file;
		enum pfs_pyorigin o;
	} cases[] = {
	    {"/root/.pyenv/versions/3.12.1/lib/python3.12/threading.py", PFS_PYORIG_STDLIB},
	    {"/usr/lib/python3.11/json/decoder.py", PFS_PYORIG_STDLIB},
	    {"/usr/lib64/python3.9/selectors.py", PFS_PYORIG_STDLIB},
	    {"/usr/lib/python3.13t/asyncio/events.py", PFS_PYORIG_STDLIB},
	    {"<frozen importlib._bootstrap>", PFS_PYORIG_STDLIB},
	    {"/srv/venv/lib/python3.12/site-packages/flask/app.py", PFS_PYORIG_SITE},
	    {"/usr/lib/python3/dist-packages/requests/api.py", PFS_PYORIG_SITE},
	    {"/root/.pyenv/versions/3.12.1/lib/python3.12/site-packages/gunicorn/arbiter.py",
	     PFS_PYORIG_SITE},
	    {"site-packages/x.py", PFS_PYORIG_SITE},
	    {"/srv/app/app.py", PFS_PYORIG_APP},
	    {"threads.py", PFS_PYORIG_APP},
	    {"/home/u/lib/pythonstuff/x.py", PFS_PYORIG_APP},
	    {"/home/u/lib/python3.12x/x.py", PFS_PYORIG_APP},
	    {"<string>", PFS_PYORIG_APP},
	    {"", PFS_PYORIG_APP},
	};
	for (size_t i = 0; i < N(cases); i++)
		if (pfs_pyclass_origin(cases[i].file, strlen(cases[i].file)) != cases[i].o)
			t_fail(__FILE__, __LINE__, "%s: origin %d, want %d", cases[i].file,
			       pfs_pyclass_origin(cases[i].file, strlen(cases[i].file)),
			       cases[i].o);
	/* the span is length-delimited: a NUL inside does not end it */
	T_EQ(pfs_pyclass_origin("a\0/site-packages/b", 18), PFS_PYORIG_SITE);
	T_EQ(pfs_pyclass_origin(NULL, 0), PFS_PYORIG_APP);
}

static void test_frame_origin_from_name_or_file(void)
{
	struct pfs_pyframe a = {.name = "py::get:/v/lib/python3.12/site-packages/f/x.py",
				.kind = PFS_FK_PYTHON};
	struct pfs_pyframe b = {
	    .name = "get", .file = "/usr/lib/python3.12/x.py", .kind = PFS_FK_PYINSTRUMENT};
	struct pfs_pyframe c = {.name = "py::main:/app/m.py", .kind = PFS_FK_JIT};
	struct pfs_pyframe d = {.name = "main", .dso = LIBPY, .kind = PFS_FK_NATIVE};
	T_EQ(pfs_pyclass_frame_origin(&a), PFS_PYORIG_SITE);
	T_EQ(pfs_pyclass_frame_origin(&b), PFS_PYORIG_STDLIB);
	T_ASSERT(pfs_pyclass_is_python_frame(&c));
	T_EQ(pfs_pyclass_frame_origin(&c), PFS_PYORIG_APP);
	T_ASSERT(!pfs_pyclass_is_python_frame(&d));
}

/* Stacks are written leaf first, as perf prints them. */
#define K(n)                                                                                       \
	{                                                                                          \
		n, NULL, "[kernel.kallsyms]", PFS_FK_KERNEL, 0, 0                                  \
	}
#define P(n, d)                                                                                    \
	{                                                                                          \
		n, NULL, d, PFS_FK_NATIVE, 0, 0                                                    \
	}
#define I(n, d)                                                                                    \
	{                                                                                          \
		n, NULL, d, PFS_FK_NATIVE, 1, 0                                                    \
	}
#define PY(n)                                                                                      \
	{                                                                                          \
		n, NULL, "/tmp/perf-1.map", PFS_FK_PYTHON, 0, 0                                    \
	}
#define U                                                                                          \
	{                                                                                          \
		"[unknown]", NULL, NULL, PFS_FK_UNKNOWN, 0, 0                                      \
	}
#define LP "/root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0"
#define LC "/usr/lib/x86_64-linux-gnu/libc.so.6"

struct stack_case {
	const char *what;
	struct pfs_pyframe f[12];
	size_t n;
	enum pfs_pycat cat;
	const char *label; /* NULL: no pseudo-frame */
	int py_leaf, gc_entry, py_under_gc;
};

static const struct stack_case stack_cases[] = {
    {"gc under the eval loop (3.12), inline frames included",
     {P("update_refs", LP), P("gc_collect_main", LP), I("gc_collect_with_callback", LP),
      I("gc_collect_generations", LP), P("_Py_RunGC", LP), P("_Py_HandlePending", LP),
      P("_PyEval_EvalFrameDefault", LP), PY("py::churn:/w/threads.py"),
      P("_PyEval_EvalFrameDefault", LP), PY("py::<module>:/w/threads.py")},
     10,
     PFS_CAT_GC,
     "[gc]",
     7,
     3,
     7},
    {"gc with only an inline entry frame",
     {P("deduce_unreachable", LP), I("gc_collect_with_callback", LP), P("_Py_RunGC", LP),
      PY("py::f:/a.py")},
     4,
     PFS_CAT_GC,
     "[gc]",
     3,
     1,
     3},
    {"gc wins over a kernel leaf and an allocator",
     {K("clear_page_erms"), P("_PyObject_Malloc", LP), P("gc_collect_main", LP), PY("py::f:/a.py")},
     4,
     PFS_CAT_GC,
     "[gc]",
     3,
     2,
     3},
    {"take_gil off-CPU wait (futex in the kernel)",
     {K("__schedule"), K("futex_wait"), P("__futex_abstimed_wait_common", LC),
      P("pthread_cond_timedwait@@GLIBC_2.3.2", LC), P("take_gil", LP),
      P("PyEval_RestoreThread", LP), P("time_sleep", LP), PY("py::tick:/app/t.py")},
     8,
     PFS_CAT_GIL,
     "[gil wait]",
     7,
     -1,
     -1},
    {"drop_gil handoff",
     {P("pthread_cond_signal", LC), P("drop_gil", LP), P("_Py_HandlePending", LP),
      P("_PyEval_EvalFrameDefault", LP), PY("py::crunch:/app/t.py")},
     5,
     PFS_CAT_GIL,
     "[gil drop]",
     4,
     -1,
     -1},
    /* the eval loop running a function's bytecode is the function's own time (issue 13.7) */
    {"eval loop self time",
     {P("_PyEval_EvalFrameDefault", LP), PY("py::crunch:/app/t.py"),
      P("_PyEval_EvalFrameDefault", LP), PY("py::<module>:/app/t.py")},
     4,
     PFS_CAT_PY_APP,
     NULL,
     1,
     -1,
     -1},
    {"eval loop self time under stdlib code",
     {P("_PyEval_EvalFrameDefault", LP), PY("py::dumps:/usr/lib/python3.12/json/__init__.py"),
      P("_PyEval_EvalFrameDefault", LP), PY("py::<module>:/app/t.py")},
     4,
     PFS_CAT_PY_STDLIB,
     NULL,
     1,
     -1,
     -1},
    {"eval loop with no Python frame",
     {P("_PyEval_EvalFrameDefault", LP), P("PyEval_EvalCode", LP), P("Py_RunMain", LP)},
     3,
     PFS_CAT_INTERP,
     "[interpreter]",
     -1,
     -1,
     -1},
    {"runtime work for application code",
     {P("_PyLong_Multiply", LP), P("_PyEval_EvalFrameDefault", LP), PY("py::crunch:/app/t.py")},
     3,
     PFS_CAT_PY_APP,
     NULL,
     2,
     -1,
     -1},
    {"runtime work for stdlib code, through libc",
     {P("__memmove_avx_unaligned_erms", LC), P("unicode_concat", LP),
      P("_PyEval_EvalFrameDefault", LP), PY("py::dumps:/usr/lib/python3.12/json/__init__.py"),
      PY("py::main:/app/m.py")},
     5,
     PFS_CAT_PY_STDLIB,
     NULL,
     3,
     -1,
     -1},
    {"runtime work for site-packages code",
     {P("PyDict_GetItem", LP), P("_PyEval_EvalFrameDefault", LP),
      PY("py::route:/v/lib/python3.12/site-packages/flask/app.py")},
     3,
     PFS_CAT_PY_SITE,
     NULL,
     2,
     -1,
     -1},
    {"pymalloc under a Python frame",
     {P("pymalloc_alloc", LP), P("_PyObject_Malloc", LP), P("PyList_New", LP),
      P("_PyEval_EvalFrameDefault", LP), PY("py::f:/a.py")},
     5,
     PFS_CAT_ALLOC,
     "[alloc]",
     4,
     -1,
     -1},
    {"libc malloc with a page fault",
     {K("clear_page_erms"), K("do_anonymous_page"), P("_int_malloc", LC), P("malloc", LC),
      P("_PyMem_RawMalloc", LP), PY("py::f:/a.py")},
     6,
     PFS_CAT_ALLOC,
     "[alloc]",
     5,
     -1,
     -1},
    {"an allocator rootward of the Python frame does not count",
     {P("_PyEval_EvalFrameDefault", LP), PY("py::f:/a.py"), P("_PyObject_Malloc", LP)},
     3,
     PFS_CAT_PY_APP,
     NULL,
     1,
     -1,
     -1},
    {"extension module",
     {P("sha256_block", "/v/lib/python3.12/lib-dynload/_sha2.cpython-312.so"),
      P("_PyEval_EvalFrameDefault", LP), PY("py::digest:/app/h.py")},
     3,
     PFS_CAT_NATIVE,
     "[native: _sha2.cpython-312.so]",
     2,
     -1,
     -1},
    {"libc called by an extension names the extension",
     {P("memcpy", LC), P("np_copy", "/v/site-packages/numpy/core/_mu.so"),
      P("_PyEval_EvalFrameDefault", LP), PY("py::f:/a.py")},
     4,
     PFS_CAT_NATIVE,
     "[native: _mu.so]",
     3,
     -1,
     -1},
    {"kernel leaf under a syscall",
     {K("copy_user_generic"), K("ksys_write"), P("__GI___libc_write", LC), P("_Py_write", LP),
      PY("py::flush:/app/a.py")},
     5,
     PFS_CAT_KERNEL,
     "[kernel]",
     4,
     -1,
     -1},
    {"unknown frames are skipped",
     {U, U, P("_PyEval_EvalFrameDefault", LP), PY("py::f:/a.py")},
     4,
     PFS_CAT_PY_APP,
     NULL,
     3,
     -1,
     -1},
    {"only unknown frames", {U, U}, 2, PFS_CAT_UNKNOWN, "[unknown]", -1, -1, -1},
    {"empty stack", {{0}}, 0, PFS_CAT_UNKNOWN, "[unknown]", -1, -1, -1},
    {"runtime start-up, no Python frame",
     {P("intern_string_constants", LP), P("Py_InitializeFromConfig", LP),
      P("__libc_start_call_main", LC)},
     3,
     PFS_CAT_INTERP,
     "[interpreter]",
     -1,
     -1,
     -1},
    {"a native program",
     {P("spin", "/w/cycles"), P("main", "/w/cycles"), P("__libc_start_call_main", LC)},
     3,
     PFS_CAT_NATIVE,
     "[native: cycles]",
     -1,
     -1,
     -1},
    {"only libc",
     {P("__memset_avx2", LC), P("start_thread", LC)},
     2,
     PFS_CAT_NATIVE,
     "[native: libc.so.6]",
     -1,
     -1,
     -1},
    {"leaf is a trampoline",
     {PY("py::f:/a.py"), P("_PyEval_EvalFrameDefault", LP)},
     2,
     PFS_CAT_PY_APP,
     NULL,
     0,
     -1,
     -1},
    {"generic 'collect' in another library is not GC",
     {P("collect", "/usr/lib/libfoo.so"), P("_PyEval_EvalFrameDefault", LP), PY("py::f:/a.py")},
     3,
     PFS_CAT_NATIVE,
     "[native: libfoo.so]",
     2,
     -1,
     -1},
    {"take_gil in a kernel frame name is not the GIL",
     {K("take_gil"), P("_PyEval_EvalFrameDefault", LP), PY("py::f:/a.py")},
     3,
     PFS_CAT_KERNEL,
     "[kernel]",
     2,
     -1,
     -1},
};

static void test_stack_classification(void)
{
	struct pfs_pyver v = {3, 12, false, true};
	for (size_t i = 0; i < N(stack_cases); i++) {
		const struct stack_case *c = &stack_cases[i];
		struct pfs_pystack s;
		char buf[128];
		const char *label;
		pfs_pyclass_stack(&v, c->f, c->n, &s);
		label = pfs_pyclass_label(&s, buf, sizeof(buf));
		if (s.cat != c->cat)
			t_fail(__FILE__, __LINE__, "%s: category %s, want %s", c->what,
			       pfs_pycat_name(s.cat), pfs_pycat_name(c->cat));
		if ((label == NULL) != (c->label == NULL) || (label && strcmp(label, c->label)))
			t_fail(__FILE__, __LINE__, "%s: label %s, want %s", c->what,
			       label ? label : "(none)", c->label ? c->label : "(none)");
		if (s.py_leaf != c->py_leaf || s.gc_entry != c->gc_entry ||
		    s.py_under_gc != c->py_under_gc)
			t_fail(__FILE__, __LINE__, "%s: py_leaf %d gc_entry %d py_under_gc %d",
			       c->what, s.py_leaf, s.gc_entry, s.py_under_gc);
		T_EQ(s.gc, c->cat == PFS_CAT_GC);
	}
}

static void test_stack_flags_and_counts(void)
{
	const struct stack_case *c = &stack_cases[0];
	struct pfs_pystack s;
	pfs_pyclass_stack(NULL, c->f, c->n, &s);
	T_EQ(s.n_python, 2);
	T_ASSERT(s.gc && !s.gil_take && !s.gil_drop);
	/* gc and a GIL wait on one stack: gc is the category, both flags are set */
	{
		const struct pfs_pyframe f[] = {P("take_gil", LP), P("gc_collect_main", LP),
						PY("py::f:/a.py")};
		pfs_pyclass_stack(NULL, f, 3, &s);
		T_EQ(s.cat, PFS_CAT_GC);
		T_ASSERT(s.gil_take);
	}
}

static void test_category_names_are_distinct(void)
{
	for (int i = 0; i < PFS_CAT_COUNT; i++) {
		T_ASSERT(pfs_pycat_name(i) && *pfs_pycat_name(i));
		for (int j = 0; j < i; j++)
			T_ASSERT(strcmp(pfs_pycat_name(i), pfs_pycat_name(j)));
	}
	T_STREQ(pfs_pycat_name(PFS_CAT_COUNT), "unknown");
}

static void test_label_truncates(void)
{
	struct pfs_pystack s = {.label = PFS_PYLABEL_NATIVE, .label_dso = "/x/libverylongname.so"};
	char buf[12];
	T_STREQ(pfs_pyclass_label(&s, buf, sizeof(buf)), "[native: li");
	s.label = PFS_PYLABEL_NONE;
	T_ASSERT(pfs_pyclass_label(&s, buf, sizeof(buf)) == NULL);
	s.label = PFS_PYLABEL_GC;
	T_ASSERT(pfs_pyclass_label(&s, buf, 0) == NULL);
	T_STREQ(pfs_pyclass_basename("/a/b/c.so"), "c.so");
	T_STREQ(pfs_pyclass_basename("c.so"), "c.so");
	T_STREQ(pfs_pyclass_basename(NULL), "");
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
	    T_CASE(version_from_paths),
	    T_CASE(python_dso),
	    T_CASE(function_roles_per_version),
	    T_CASE(unknown_version_uses_union),
	    T_CASE(probe_functions),
	    T_CASE(split_pyname),
	    T_CASE(origin_by_path),
	    T_CASE(frame_origin_from_name_or_file),
	    T_CASE(stack_classification),
	    T_CASE(stack_flags_and_counts),
	    T_CASE(category_names_are_distinct),
	    T_CASE(label_truncates),
	};
	return t_main(argc, argv, "pyclass", cases, N(cases));
}
