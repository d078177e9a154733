/* handlers: which request handler a stack belongs to, by the rules of docs/handlers.md. */
#include <stdio.h>
#include <string.h>

#include "handlers.h"
#include "harness.h"
#include "profile.h"

#define LIBPY "/opt/py/lib/libpython3.12.so.1.0"
#define SITE "/venv/lib/python3.12/site-packages"
#define STDLIB "/opt/py/lib/python3.12"

/* A path from frames given root first: "py::f:file" Python, "[truncated]" the cut mark, other
 * names native frames of libpython. */
static uint32_t mkpath(struct pfs_profile *p, const char *const *fr, size_t n)
{
	uint32_t path = 0;
	for (size_t i = 0; i < n; i++) {
		struct pfs_frame f = {0};
		f.name = pfs_profile_cstr(p, fr[i]);
		if (!strncmp(fr[i], "py::", 4)) {
			f.kind = PFS_FK_PYTHON;
		} else if (!strcmp(fr[i], PFS_FRAME_TRUNCATED)) {
			f.kind = PFS_FK_PSEUDO;
		} else {
			f.kind = PFS_FK_NATIVE;
			f.dso = pfs_profile_cstr(p, LIBPY);
		}
		path = pfs_profile_path(p, path, pfs_profile_frame(p, &f));
	}
	return path;
}

#define PATH(p, ...)                                                                               \
	mkpath(p, (const char *const[]){__VA_ARGS__},                                              \
	       sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

/* The row of path: "name framework kind", or "-" for none. */
static const char *row(struct pfs_handlers *h, uint32_t path)
{
	static char buf[512];
	int r = pfs_handlers_classify(h, path);
	if (r < 0)
		return "-";
	const struct pfs_handler_row *w = pfs_handlers_row(h, (size_t)r);
	snprintf(buf, sizeof(buf), "%s %s %s", w->name, w->framework,
		 pfs_handler_kind_name(w->kind));
	return buf;
}

#define GUNI_SYNC                                                                                  \
	"_start", "py::Arbiter.run:" SITE "/gunicorn/arbiter.py", "_PyEval_EvalFrameDefault",      \
	    "py::SyncWorker.handle:" SITE "/gunicorn/workers/sync.py",                             \
	    "py::SyncWorker.handle_request:" SITE "/gunicorn/workers/sync.py"
#define FLASK                                                                                      \
	"py::Flask.__call__:" SITE "/flask/app.py", "py::Flask.wsgi_app:" SITE "/flask/app.py",    \
	    "py::Flask.full_dispatch_request:" SITE "/flask/app.py",                               \
	    "py::Flask.dispatch_request:" SITE "/flask/app.py"

static void test_flask_under_gunicorn(void)
{
	struct pfs_profile *p = pfs_profile_new();
	struct pfs_handlers *h = pfs_handlers_new(p);
	/* the view is the first application frame under dispatch_request, decorators of
	 * libraries and the framework's own helpers (werkzeug) skipped */
	T_STREQ(row(h, PATH(p, GUNI_SYNC, FLASK,
			    "py::login_required.<locals>.w:" SITE "/flask_login/utils.py",
			    "py::orders:/srv/app/views.py", "py::price:/srv/app/model.py",
			    "_PyObject_Malloc")),
		"py::orders:/srv/app/views.py flask view");
	/* a vendored Flask (not under site-packages) is still the framework, not the app */
	T_STREQ(row(h, PATH(p, GUNI_SYNC, "py::Flask.__call__:/srv/vendor/flask/app.py",
			    "py::Flask.dispatch_request:/srv/vendor/flask/app.py",
			    "py::Flask.ensure_sync:/srv/vendor/flask/app.py")),
		"py::Flask.dispatch_request:/srv/vendor/flask/app.py flask dispatch");
	/* in Flask outside dispatch_request: gunicorn's WSGI callable */
	T_STREQ(row(h, PATH(p, GUNI_SYNC, "py::Flask.__call__:" SITE "/flask/app.py",
			    "py::Flask.wsgi_app:" SITE "/flask/app.py",
			    "py::Map.bind_to_environ:" SITE "/werkzeug/routing/map.py")),
		"py::Flask.__call__:" SITE "/flask/app.py gunicorn wsgi");
	/* gunicorn's own request work, and the standard library it calls */
	T_STREQ(row(h, PATH(p, GUNI_SYNC, "py::Response.write:" SITE "/gunicorn/http/wsgi.py")),
		"py::SyncWorker.handle_request:" SITE
		"/gunicorn/workers/sync.py gunicorn dispatch");
	T_STREQ(row(h, PATH(p, GUNI_SYNC, "py::Logger.debug:" STDLIB "/logging/__init__.py")),
		"py::SyncWorker.handle_request:" SITE
		"/gunicorn/workers/sync.py gunicorn dispatch");
	/* the worker loop outside a request: no handler */
	T_STREQ(row(h, PATH(p, "_start", "py::Arbiter.run:" SITE "/gunicorn/arbiter.py",
			    "py::SyncWorker.run:" SITE "/gunicorn/workers/sync.py",
			    "py::wait:" STDLIB "/selectors.py")),
		"-");
	/* the same view by two paths is one row */
	T_EQ(pfs_handlers_classify(h, PATH(p, GUNI_SYNC, FLASK, "py::orders:/srv/app/views.py")),
	     pfs_handlers_classify(h, PATH(p, GUNI_SYNC, FLASK,
					   "py::login_required.<locals>.w:" SITE
					   "/flask_login/utils.py",
					   "py::orders:/srv/app/views.py",
					   "py::price:/srv/app/model.py", "_PyObject_Malloc")));
	T_STREQ(pfs_handlers_frameworks(h), "flask,gunicorn");
	pfs_handlers_free(h);
	pfs_profile_free(p);
}

static void test_other_frameworks(void)
{
	struct pfs_profile *p = pfs_profile_new();
	struct pfs_handlers *h = pfs_handlers_new(p);
	T_STREQ(row(h, PATH(p, "py::WSGIHandler.__call__:" SITE "/django/core/handlers/wsgi.py",
			    "py::BaseHandler._get_response:" SITE "/django/core/handlers/base.py",
			    "py::_wrapped_view:" SITE "/django/contrib/auth/decorators.py",
			    "py::order_list:/srv/shop/orders/views.py")),
		"py::order_list:/srv/shop/orders/views.py django view");
	/* a view a library provides (no application frame below): that library's frame */
	T_STREQ(
	    row(h, PATH(p, "py::BaseHandler._get_response:" SITE "/django/core/handlers/base.py",
			"py::APIView.dispatch:" SITE "/rest_framework/views.py",
			"py::APIView.initial:" SITE "/rest_framework/views.py")),
	    "py::APIView.dispatch:" SITE "/rest_framework/views.py django callee");
	/* FastAPI inside Starlette's routing: the innermost dispatch wins */
	T_STREQ(row(h, PATH(p, "py::Handle._run:" STDLIB "/asyncio/events.py",
			    "py::Route.handle:" SITE "/starlette/routing.py",
			    "py::get_request_handler.<locals>.app:" SITE "/fastapi/routing.py",
			    "py::run_endpoint_function:" SITE "/fastapi/routing.py",
			    "py::read_item:/srv/api/main.py")),
		"py::read_item:/srv/api/main.py fastapi view");
	T_STREQ(row(h, PATH(p, "py::Route.handle:" SITE "/starlette/routing.py",
			    "py::request_response.<locals>.app:" SITE "/starlette/routing.py",
			    "py::homepage:/srv/api/app.py")),
		"py::homepage:/srv/api/app.py starlette view");
	/* before 3.11 a code object's name has no class: the file still pins the rule */
	T_STREQ(row(h, PATH(p, "py::dispatch_request:" SITE "/flask/app.py",
			    "py::index:/srv/app/app.py")),
		"py::index:/srv/app/app.py flask view");
	/* a name alone is not a dispatch: the file must be the framework's */
	T_STREQ(row(h, PATH(p, "py::Flask.dispatch_request:/srv/app/myflask.py",
			    "py::index:/srv/app/app.py")),
		"-");
	pfs_handlers_free(h);
	pfs_profile_free(p);
}

static void test_sums_and_cut_stacks(void)
{
	struct pfs_profile *p = pfs_profile_new();
	struct pfs_handlers *h = pfs_handlers_new(p);
	uint32_t view = PATH(p, GUNI_SYNC, FLASK, "py::orders:/srv/app/views.py");
	uint32_t gc = PATH(p, GUNI_SYNC, FLASK, "py::orders:/srv/app/views.py", "gc_collect_main");
	uint32_t other = PATH(p, GUNI_SYNC, FLASK, "py::health:/srv/app/views.py");
	uint32_t cut = PATH(p, PFS_FRAME_TRUNCATED, "py::orders:/srv/app/views.py");
	uint32_t loop = PATH(p, "_start", "py::Arbiter.run:" SITE "/gunicorn/arbiter.py");
	pfs_handlers_cpu(h, view, 3, 30, false);
	pfs_handlers_cpu(h, gc, 2, 20, true);
	pfs_handlers_cpu(h, other, 7, 70, false);
	pfs_handlers_cpu(h, cut, 4, 40, false);
	pfs_handlers_cpu(h, loop, 1, 10, false);
	pfs_handlers_pause(h, gc, 1000);
	pfs_handlers_wait(h, view, 500, false);
	pfs_handlers_wait(h, view, 700, true);
	pfs_handlers_sort(h);
	T_EQ(pfs_handlers_n(h), 2);
	const struct pfs_handler_row *r0 = pfs_handlers_row(h, 0), *r1 = pfs_handlers_row(h, 1);
	T_STREQ(r0->name, "py::health:/srv/app/views.py");
	T_EQ(r0->cpu_samples, 7);
	T_STREQ(r1->name, "py::orders:/srv/app/views.py");
	T_EQ(r1->cpu_samples, 5);
	T_EQ(r1->cpu_period, 50);
	T_EQ(r1->gc_samples, 2);
	T_EQ(r1->gc_pauses, 1);
	T_EQ(r1->gc_pause_ns, 1000);
	T_EQ(r1->gil_wait_ns, 500);
	T_EQ(r1->probe_wait_ns, 700);
	/* a cut stack without a dispatch is outside every handler, and counted as cut */
	T_EQ(pfs_handlers_rest(h)->cpu_total, 17);
	T_EQ(pfs_handlers_rest(h)->cpu_samples, 5);
	T_EQ(pfs_handlers_rest(h)->cut_samples, 4);
	pfs_handlers_free(h);
	pfs_profile_free(p);
}

static void test_restore(void)
{
	struct pfs_profile *p = pfs_profile_new();
	struct pfs_handlers *h = pfs_handlers_new(p);
	struct pfs_handler_row r = {.name = (char *)"py::orders:/srv/app/views.py",
				    .framework = "django",
				    .kind = PFS_HANDLER_VIEW,
				    .cpu_samples = 9};
	T_ASSERT(pfs_handlers_restore_row(h, &r));
	r.framework = "rails";
	T_ASSERT(!pfs_handlers_restore_row(h, &r));
	r.framework = "flask";
	r.kind = PFS_HANDLER_KIND_COUNT;
	T_ASSERT(!pfs_handlers_restore_row(h, &r));
	struct pfs_handlers_rest rest = {.cpu_total = 10, .cpu_samples = 1};
	pfs_handlers_restore_rest(h, &rest, "gunicorn,django");
	T_STREQ(pfs_handlers_frameworks(h), "django,gunicorn");
	T_EQ(pfs_handlers_n(h), 1);
	T_STREQ(pfs_handlers_row(h, 0)->framework, "django");
	T_EQ(pfs_handler_kind_parse("wsgi"), PFS_HANDLER_WSGI);
	T_EQ(pfs_handler_kind_parse("view "), -1);
	pfs_handlers_free(h);
	pfs_profile_free(p);
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
	    T_CASE(flask_under_gunicorn),
	    T_CASE(other_frameworks),
	    T_CASE(sums_and_cut_stacks),
	    T_CASE(restore),
	};
	return t_main(argc, argv, "handlers", cases, sizeof(cases) / sizeof(cases[0]));
}
