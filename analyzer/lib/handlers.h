/*
 * handlers: the request-handler dimension. For a stack under a WSGI/ASGI server it finds the
 * application's entry, the code a user wrote for that request, and sums CPU, GC and GIL wait
 * by it (docs/handlers.md has the rules):
 *
 *  - Flask      Flask.dispatch_request (flask/app.py)          -> the view
 *  - Django     BaseHandler._get_response[_async] (django/core/handlers/base.py) -> the view
 *  - Starlette  Route.handle / WebSocketRoute.handle (starlette/routing.py), FastAPI's
 *               run_endpoint_function (fastapi/routing.py)     -> the endpoint
 *  - gunicorn   *Worker.handle_request (gunicorn/workers/)     -> the WSGI callable
 *
 * The innermost dispatch on a stack wins (a Flask view under gunicorn is the Flask view). Below
 * a framework's dispatch the handler is the first application frame (pyclass's origin: not the
 * standard library, not site-packages), else the dispatch's own callee, else the dispatch
 * itself ("dispatch" rows: the framework's own time). gunicorn's handler is the WSGI callable
 * it calls, whatever its origin. Nothing is guessed from names alone: a stack with no dispatch
 * frame belongs to no handler, and a stack cut short ([truncated] root) with none is counted
 * as cut, since its handler may sit in the part the dump did not hold.
 *
 * Stacks come as call paths of the profile (native or python view: only Python frames are
 * read), classified once per path id and memoised in 4 bytes per path.
 *
 * Ownership: pfs_handlers_new() borrows the profile (it must outlive the handlers);
 * pfs_handlers_free(). Row names are owned by the handlers.
 */
#ifndef PFS_HANDLERS_H
#define PFS_HANDLERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile.h"

enum pfs_handler_kind {
	PFS_HANDLER_VIEW = 0, /* the application's entry under a framework's dispatch */
	PFS_HANDLER_CALLEE,   /* no application frame below: the dispatch's callee */
	PFS_HANDLER_DISPATCH, /* the framework's dispatch itself, nothing below it */
	PFS_HANDLER_WSGI,     /* gunicorn's WSGI callable (no framework dispatch below) */
	PFS_HANDLER_KIND_COUNT,
};

struct pfs_handler_row {
	char *name;	       /* the handler's frame name ("py::view:file") */
	const char *framework; /* "flask", "django", "starlette", "fastapi", "gunicorn" */
	enum pfs_handler_kind kind;
	uint64_t cpu_samples, cpu_period, gc_samples;
	uint64_t gc_pauses, gc_pause_ns;
	uint64_t gil_waits, gil_wait_ns;     /* from switches (the analysis's definition) */
	uint64_t probe_waits, probe_wait_ns; /* from take_gil probes */
};

/* What the stacks outside every handler were. */
struct pfs_handlers_rest {
	uint64_t cpu_samples; /* CPU samples under no dispatch (server loop, other processes) */
	uint64_t cut_samples; /* of those, stacks cut short: their handler is unknown */
	uint64_t cpu_total;   /* every CPU sample given */
};

/* Why there is no handler table when no dispatch was seen. */
#define PFS_HANDLERS_NONE                                                                          \
	"no request dispatch of a known framework on any Python stack (Flask, Django, "            \
	"Starlette/FastAPI, gunicorn; docs/handlers.md)"

struct pfs_handlers;

struct pfs_handlers *pfs_handlers_new(struct pfs_profile *p);
void pfs_handlers_free(struct pfs_handlers *h);

/*
 * The row of the stack ending at path (native or python view), or -1 when it is under no
 * handler. Memoised per path id.
 */
int pfs_handlers_classify(struct pfs_handlers *h, uint32_t path);

/* CPU samples (count of them, period summed) of the stack ending at path; gc: a GC sample. */
void pfs_handlers_cpu(struct pfs_handlers *h, uint32_t path, uint64_t count, uint64_t period,
		      bool gc);
/* A GC pause measured by probes, whose entry stack is path. */
void pfs_handlers_pause(struct pfs_handlers *h, uint32_t path, uint64_t ns);
/* A GIL wait of ns which began on the stack path; probe: measured by take_gil probes. */
void pfs_handlers_wait(struct pfs_handlers *h, uint32_t path, uint64_t ns, bool probe);

/* Orders the rows pfs_handlers_row() gives by CPU samples, largest first (then GIL wait, name);
 * rows added after it come last, unordered, until the next call. */
void pfs_handlers_sort(struct pfs_handlers *h);
size_t pfs_handlers_n(const struct pfs_handlers *h);
const struct pfs_handler_row *pfs_handlers_row(const struct pfs_handlers *h, size_t i);
const struct pfs_handlers_rest *pfs_handlers_rest(const struct pfs_handlers *h);
/* The frameworks whose dispatch was seen, as a comma-separated list ("" when none). */
const char *pfs_handlers_frameworks(const struct pfs_handlers *h);

/* Rebuilds a row (a database's): false when it names no known framework or kind, or no
 * handler; then the rest, and the frameworks seen. */
bool pfs_handlers_restore_row(struct pfs_handlers *h, const struct pfs_handler_row *r);
void pfs_handlers_restore_rest(struct pfs_handlers *h, const struct pfs_handlers_rest *r,
			       const char *frameworks);

/* "view", "callee", "dispatch", "wsgi"; and back (-1 when unknown). */
const char *pfs_handler_kind_name(enum pfs_handler_kind k);
int pfs_handler_kind_parse(const char *s);

#endif
