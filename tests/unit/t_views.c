#include <stdio.h>

#include "harness.h"
#include "profile.h"
#include "views.h"

#define LIBPY "/opt/py/lib/libpython3.12.so.1.0"

/* Builds a path from frames given root first as "name@dso" (dso "" for none, "K" kernel). */
static uint32_t mkpath(struct pfs_profile *p, const char *const *fr, size_t n)
{
	uint32_t path = 0;
	for (size_t i = 0; i < n; i++) {
		struct pfs_frame f = {0};
		const char *at = strchr(fr[i], '@');
		size_t nl = at ? (size_t)(at - fr[i]) : strlen(fr[i]);
		f.name = pfs_profile_str(p, fr[i], nl);
		f.kind = PFS_FK_NATIVE;
		if (!strncmp(fr[i], "py::", 4))
			f.kind = PFS_FK_PYTHON;
		if (at && !strcmp(at + 1, "K"))
			f.kind = PFS_FK_KERNEL;
		else if (at && at[1])
			f.dso = pfs_profile_cstr(p, at + 1);
		path = pfs_profile_path(p, path, pfs_profile_frame(p, &f));
	}
	return path;
}

/* The names along path, root first, joined by ';'. */
static const char *names(struct pfs_profile *p, uint32_t path)
{
	static char buf[1024];
	const char *parts[64];
	size_t n = 0, len = 0;
	while (path && n < 64) {
		const struct pfs_path_node *node = pfs_profile_pathget(p, path);
		parts[n++] =
		    pfs_profile_strget(p, pfs_profile_frameget(p, node->frame)->name, NULL);
		path = node->parent;
	}
	buf[0] = 0;
	while (n--)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", len ? ";" : "",
					parts[n]);
	return buf;
}

static void test_gc_stack_in_three_views(void)
{
	struct pfs_profile *p = pfs_profile_new();
	static const char *const st[] = {
	    "_start@/opt/py/bin/python3.12",   "Py_RunMain@" LIBPY,
	    "_PyEval_EvalFrameDefault@" LIBPY, "py::main:/srv/app/threads.py@",
	    "_PyEval_EvalFrameDefault@" LIBPY, "py::build:/srv/app/threads.py@",
	    "PyObject_Malloc@" LIBPY,	       "gc_collect_main@" LIBPY,
	    "visit_reachable@" LIBPY,
	};
	uint32_t path = mkpath(p, st, sizeof(st) / sizeof(st[0]));
	struct pfs_views *v = pfs_views_new(p, NULL);
	T_EQ(pfs_views_pyver(v)->minor, 12);
	T_STREQ(names(p, pfs_views_path(v, PFS_VIEW_NATIVE, path)),
		"_start;Py_RunMain;_PyEval_EvalFrameDefault;py::main:/srv/app/threads.py;"
		"_PyEval_EvalFrameDefault;py::build:/srv/app/threads.py;PyObject_Malloc;"
		"gc_collect_main;visit_reachable");
	T_STREQ(names(p, pfs_views_path(v, PFS_VIEW_MIXED, path)),
		"py::main:/srv/app/threads.py;py::build:/srv/app/threads.py;PyObject_Malloc;"
		"gc_collect_main;visit_reachable");
	T_STREQ(names(p, pfs_views_path(v, PFS_VIEW_PYTHON, path)),
		"py::main:/srv/app/threads.py;py::build:/srv/app/threads.py;[gc]");
	T_ASSERT(pfs_views_stack(v, path)->gc);
	/* memoised: the same answer twice, no new paths */
	{
		size_t np = pfs_profile_n_paths(p);
		T_EQ(pfs_views_path(v, PFS_VIEW_PYTHON, path),
		     pfs_views_path(v, PFS_VIEW_PYTHON, path));
		T_EQ(pfs_profile_n_paths(p), np);
	}
	pfs_views_free(v);
	pfs_profile_free(p);
}

static void test_native_only_stack_is_unchanged_in_python_view(void)
{
	struct pfs_profile *p = pfs_profile_new();
	static const char *const st[] = {"main@/srv/app/cycles", "spin@/srv/app/cycles",
					 "asm_sysvec@K"};
	uint32_t path = mkpath(p, st, 3);
	struct pfs_views *v = pfs_views_new(p, NULL);
	T_EQ(pfs_views_pyver(v)->major, 0);
	T_EQ(pfs_views_path(v, PFS_VIEW_PYTHON, path), path);
	T_EQ(pfs_views_path(v, PFS_VIEW_MIXED, path), path);
	T_EQ(pfs_views_path(v, PFS_VIEW_NATIVE, 0), 0);
	pfs_views_free(v);
	pfs_profile_free(p);
}

static void test_gil_wait_label_and_kernel_leaf(void)
{
	struct pfs_profile *p = pfs_profile_new();
	static const char *const st[] = {
	    "py::worker:/srv/app/threads.py@",
	    "_PyEval_EvalFrameDefault@" LIBPY,
	    "take_gil@" LIBPY,
	    "pthread_cond_timedwait@/usr/lib/libc.so.6",
	    "futex_wait@K",
	};
	uint32_t path = mkpath(p, st, 5);
	struct pfs_views *v = pfs_views_new(p, NULL);
	T_STREQ(names(p, pfs_views_path(v, PFS_VIEW_PYTHON, path)),
		"py::worker:/srv/app/threads.py;[gil wait]");
	T_STREQ(names(p, pfs_views_path(v, PFS_VIEW_MIXED, path)),
		"py::worker:/srv/app/threads.py;_PyEval_EvalFrameDefault;take_gil;"
		"pthread_cond_timedwait;futex_wait");
	T_ASSERT(pfs_views_stack(v, path)->gil_take);
	pfs_views_free(v);
	pfs_profile_free(p);
}

static void test_view_names(void)
{
	T_EQ(pfs_view_parse("python"), PFS_VIEW_PYTHON);
	T_EQ(pfs_view_parse("mixed"), PFS_VIEW_MIXED);
	T_EQ(pfs_view_parse("native"), PFS_VIEW_NATIVE);
	T_EQ(pfs_view_parse("Python"), -1);
	T_STREQ(pfs_view_name(PFS_VIEW_MIXED), "mixed");
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
	    T_CASE(gc_stack_in_three_views),
	    T_CASE(native_only_stack_is_unchanged_in_python_view),
	    T_CASE(gil_wait_label_and_kernel_leaf),
	    T_CASE(view_names),
	};
	return t_main(argc, argv, "views", cases, sizeof(cases) / sizeof(cases[0]));
}
