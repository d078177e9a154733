/* handlers: the request-handler dimension (handlers.h); the rules are docs/handlers.md. */
#include "handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyclass.h"
#include "xalloc.h"

/* A framework's dispatch: the frame under which one request's application code runs. */
struct rule {
	const char *qual;	 /* qualified name, as CPython 3.11+ writes it */
	const char *file_suffix; /* the file the dispatch is defined in */
	int fw;			 /* index into frameworks[] */
	bool wsgi;		 /* the server's: its callee is the WSGI callable */
};

/*
 * The packages of each framework (directories in a frame's file): frames in them under the
 * dispatch are the framework's own work, not the application's, wherever the packages are
 * installed (a vendored or PYTHONPATH copy is not named site-packages, so the origin alone
 * cannot tell).
 */
static const char *const fw_dirs[][4] = {
    {"/flask/", "/werkzeug/", NULL},
    {"/django/", "/asgiref/", NULL},
    {"/starlette/", "/anyio/", NULL},
    {"/fastapi/", "/starlette/", "/anyio/", NULL},
    {"/gunicorn/", NULL},
};

enum { FW_FLASK, FW_DJANGO, FW_STARLETTE, FW_FASTAPI, FW_GUNICORN, FW_COUNT };
static const char *const frameworks[FW_COUNT] = {"flask", "django", "starlette", "fastapi",
						 "gunicorn"};

static const struct rule rules[] = {
    {"Flask.dispatch_request", "/flask/app.py", FW_FLASK, false},
    {"BaseHandler._get_response", "/django/core/handlers/base.py", FW_DJANGO, false},
    {"BaseHandler._get_response_async", "/django/core/handlers/base.py", FW_DJANGO, false},
    {"Route.handle", "/starlette/routing.py", FW_STARLETTE, false},
    {"WebSocketRoute.handle", "/starlette/routing.py", FW_STARLETTE, false},
    {"run_endpoint_function", "/fastapi/routing.py", FW_FASTAPI, false},
    {"SyncWorker.handle_request", "/gunicorn/workers/sync.py", FW_GUNICORN, true},
    {"ThreadWorker.handle_request", "/gunicorn/workers/gthread.py", FW_GUNICORN, true},
    {"AsyncWorker.handle_request", "/gunicorn/workers/base_async.py", FW_GUNICORN, true},
};

/* memo values: 0 not classified yet, MEMO_NONE no handler, else row + 2; MEMO_CUT or'ed */
#define MEMO_NONE 1u
#define MEMO_CUT 0x80000000u

struct pfs_handlers {
	struct pfs_profile *p;
	uint32_t *memo;
	size_t cap_memo;
	struct pfs_handler_row *rows;
	size_t n_rows, cap_rows;
	/* row index + 1 by key (name string id, framework, kind); open addressing */
	uint64_t *keys;
	uint32_t *vals;
	size_t cap_map;
	struct pfs_handlers_rest rest;
	unsigned seen; /* bit per framework */
	char fw_list[64];
	size_t *order; /* pfs_handlers_sort's order of the first `sorted` rows */
	size_t cap_order, sorted;
	/* scratch: the Python frames of a path, leaf first */
	uint32_t *py;
	size_t cap_py;
};

struct pfs_handlers *pfs_handlers_new(struct pfs_profile *p)
{
	struct pfs_handlers *h = pfs_xcalloc(1, sizeof(*h));
	h->p = p;
	return h;
}

void pfs_handlers_free(struct pfs_handlers *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n_rows; i++)
		free(h->rows[i].name);
	free(h->rows);
	free(h->memo);
	free(h->keys);
	free(h->vals);
	free(h->py);
	free(h->order);
	free(h);
}

static struct pfs_pyframe pyframe(struct pfs_handlers *h, uint32_t frame)
{
	const struct pfs_frame *f = pfs_profile_frameget(h->p, frame);
	return (struct pfs_pyframe){
	    .name = pfs_profile_strget(h->p, f->name, NULL),
	    .file = f->file ? pfs_profile_strget(h->p, f->file, NULL) : NULL,
	    .dso = f->dso ? pfs_profile_strget(h->p, f->dso, NULL) : NULL,
	    .kind = f->kind,
	    .inlined = f->inlined,
	};
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);
	return n >= k && !memcmp(s + n - k, suffix, k);
}

/*
 * The rule frame f matches, or -1. A frame's function is "Class.method" from 3.11 on and the
 * bare "method" before (pyinstrument and perf maps both write what the code object holds), so
 * either form matches, always together with the file the dispatch is defined in.
 */
static int match_rule(const struct pfs_pyframe *f)
{
	const char *fn, *file;
	size_t fl, filel;
	if (!pfs_pyclass_split_pyname(f->name, &fn, &fl, &file, &filel)) {
		if (!f->name || !f->file)
			return -1;
		fn = f->name;
		fl = strlen(fn);
		file = f->file;
		filel = strlen(file);
	}
	for (size_t r = 0; r < sizeof(rules) / sizeof(rules[0]); r++) {
		const char *q = rules[r].qual, *dot = strrchr(q, '.');
		size_t ql = strlen(q);
		if (!ends_with(file, filel, rules[r].file_suffix))
			continue;
		if ((fl == ql && !memcmp(fn, q, ql)) ||
		    (dot && fl == strlen(dot + 1) && !memcmp(fn, dot + 1, fl)))
			return (int)r;
	}
	return -1;
}

/* True when frame f's file is in one of framework fw's packages. */
static bool in_framework(const struct pfs_pyframe *f, int fw)
{
	const char *fn, *file;
	size_t fl, filel;
	char buf[1024];
	if (pfs_pyclass_split_pyname(f->name, &fn, &fl, &file, &filel)) {
		if (filel >= sizeof(buf))
			filel = sizeof(buf) - 1;
		memcpy(buf, file, filel);
		buf[filel] = 0;
		file = buf;
	} else {
		file = f->file;
	}
	for (size_t i = 0; file && fw_dirs[fw][i]; i++)
		if (strstr(file, fw_dirs[fw][i]))
			return true;
	return false;
}

static void grow_map(struct pfs_handlers *h)
{
	size_t cap = h->cap_map ? 2 * h->cap_map : 64;
	uint64_t *keys = pfs_xcalloc(cap, sizeof(*keys));
	uint32_t *vals = pfs_xcalloc(cap, sizeof(*vals));
	for (size_t i = 0; i < h->cap_map; i++) {
		if (!h->vals[i])
			continue;
		size_t j = (size_t)(h->keys[i] * 0x9e3779b97f4a7c15ull >> 20) & (cap - 1);
		while (vals[j])
			j = (j + 1) & (cap - 1);
		keys[j] = h->keys[i];
		vals[j] = h->vals[i];
	}
	free(h->keys);
	free(h->vals);
	h->keys = keys;
	h->vals = vals;
	h->cap_map = cap;
}

static size_t new_row(struct pfs_handlers *h, const char *name, int fw, enum pfs_handler_kind k)
{
	PFS_GROW(h->rows, h->cap_rows, h->n_rows + 1);
	struct pfs_handler_row *r = &h->rows[h->n_rows];
	memset(r, 0, sizeof(*r));
	r->name = pfs_xstrdup(name ? name : "");
	r->framework = frameworks[fw];
	r->kind = k;
	return h->n_rows++;
}

/* The row of (frame's name, framework, kind), made on first use. */
static size_t row_of(struct pfs_handlers *h, uint32_t frame, int fw, enum pfs_handler_kind k)
{
	const struct pfs_frame *f = pfs_profile_frameget(h->p, frame);
	uint64_t key = ((uint64_t)f->name << 8) | ((uint64_t)fw << 3) | (uint64_t)k;
	if (2 * (h->n_rows + 1) > h->cap_map)
		grow_map(h);
	size_t j = (size_t)(key * 0x9e3779b97f4a7c15ull >> 20) & (h->cap_map - 1);
	while (h->vals[j]) {
		if (h->keys[j] == key)
			return h->vals[j] - 1;
		j = (j + 1) & (h->cap_map - 1);
	}
	size_t r = new_row(h, pfs_profile_strget(h->p, f->name, NULL), fw, k);
	h->keys[j] = key;
	h->vals[j] = (uint32_t)r + 1;
	return r;
}

static uint32_t classify(struct pfs_handlers *h, uint32_t path)
{
	size_t n = 0;
	bool cut = false;
	int d = -1, rule = -1;
	for (uint32_t id = path; id;) {
		const struct pfs_path_node *node = pfs_profile_pathget(h->p, id);
		struct pfs_pyframe f = pyframe(h, node->frame);
		if (!node->parent && pfs_pyclass_is_cut_mark(&f))
			cut = true;
		if (pfs_pyclass_is_python_frame(&f)) {
			PFS_GROW(h->py, h->cap_py, n + 1);
			h->py[n] = node->frame;
			/* the innermost dispatch is the leaf-most one */
			if (d < 0 && (rule = match_rule(&f)) >= 0)
				d = (int)n;
			n++;
		}
		id = node->parent;
	}
	if (d < 0)
		return MEMO_NONE | (cut ? MEMO_CUT : 0);
	const struct rule *r = &rules[rule];
	h->seen |= 1u << r->fw;
	size_t row;
	if (r->wsgi) {
		/* the WSGI callable is what handle_request calls directly, when that is neither
		 * gunicorn's own code nor the standard library it uses (logging, dates) */
		struct pfs_pyframe f = {0};
		if (d > 0)
			f = pyframe(h, h->py[d - 1]);
		if (d > 0 && !in_framework(&f, r->fw) &&
		    pfs_pyclass_frame_origin(&f) != PFS_PYORIG_STDLIB)
			row = row_of(h, h->py[d - 1], r->fw, PFS_HANDLER_WSGI);
		else
			row = row_of(h, h->py[d], r->fw, PFS_HANDLER_DISPATCH);
		return (uint32_t)row + 2;
	}
	/* below the dispatch, root-most first, outside the framework's packages: the first
	 * application frame is the view; failing one, the first third-party frame (a view that
	 * a library provides); else the framework's own work, standard library included */
	int app = -1, lib = -1;
	for (int i = d - 1; i >= 0 && app < 0; i--) {
		struct pfs_pyframe f = pyframe(h, h->py[i]);
		if (in_framework(&f, r->fw))
			continue;
		enum pfs_pyorigin o = pfs_pyclass_frame_origin(&f);
		if (o == PFS_PYORIG_APP)
			app = i;
		else if (o == PFS_PYORIG_SITE && lib < 0)
			lib = i;
	}
	if (app >= 0)
		row = row_of(h, h->py[app], r->fw, PFS_HANDLER_VIEW);
	else if (lib >= 0)
		row = row_of(h, h->py[lib], r->fw, PFS_HANDLER_CALLEE);
	else
		row = row_of(h, h->py[d], r->fw, PFS_HANDLER_DISPATCH);
	return (uint32_t)row + 2;
}

int pfs_handlers_classify(struct pfs_handlers *h, uint32_t path)
{
	PFS_GROW_ZEROED(h->memo, h->cap_memo, path);
	if (!h->memo[path])
		h->memo[path] = classify(h, path);
	uint32_t m = h->memo[path] & ~MEMO_CUT;
	return m == MEMO_NONE ? -1 : (int)(m - 2);
}

void pfs_handlers_cpu(struct pfs_handlers *h, uint32_t path, uint64_t count, uint64_t period,
		      bool gc)
{
	int r = pfs_handlers_classify(h, path);
	h->rest.cpu_total += count;
	if (r < 0) {
		h->rest.cpu_samples += count;
		if (h->memo[path] & MEMO_CUT)
			h->rest.cut_samples += count;
		return;
	}
	h->rows[r].cpu_samples += count;
	h->rows[r].cpu_period += period;
	if (gc)
		h->rows[r].gc_samples += count;
}

void pfs_handlers_pause(struct pfs_handlers *h, uint32_t path, uint64_t ns)
{
	int r = pfs_handlers_classify(h, path);
	if (r < 0)
		return;
	h->rows[r].gc_pauses++;
	h->rows[r].gc_pause_ns += ns;
}

void pfs_handlers_wait(struct pfs_handlers *h, uint32_t path, uint64_t ns, bool probe)
{
	int r = pfs_handlers_classify(h, path);
	if (r < 0)
		return;
	if (probe) {
		h->rows[r].probe_waits++;
		h->rows[r].probe_wait_ns += ns;
	} else {
		h->rows[r].gil_waits++;
		h->rows[r].gil_wait_ns += ns;
	}
}

static const struct pfs_handler_row *sort_rows;

static int cmp_row(const void *x, const void *y)
{
	const struct pfs_handler_row *a = &sort_rows[*(const size_t *)x],
				     *b = &sort_rows[*(const size_t *)y];
	if (a->cpu_samples != b->cpu_samples)
		return a->cpu_samples > b->cpu_samples ? -1 : 1;
	if (a->gil_wait_ns + a->probe_wait_ns != b->gil_wait_ns + b->probe_wait_ns)
		return a->gil_wait_ns + a->probe_wait_ns > b->gil_wait_ns + b->probe_wait_ns ? -1
											     : 1;
	int c = strcmp(a->name, b->name);
	return c ? c : strcmp(a->framework, b->framework);
}

/* An order, not a move: the memo and the key map keep their row indices, so stacks can still
 * be added after a sort (which then needs doing again). */
void pfs_handlers_sort(struct pfs_handlers *h)
{
	h->sorted = 0;
	if (!h->n_rows)
		return; /* qsort of a NULL array is undefined, even of no element */
	PFS_GROW(h->order, h->cap_order, h->n_rows);
	for (size_t i = 0; i < h->n_rows; i++)
		h->order[i] = i;
	sort_rows = h->rows;
	qsort(h->order, h->n_rows, sizeof(*h->order), cmp_row);
	sort_rows = NULL;
	h->sorted = h->n_rows;
}

size_t pfs_handlers_n(const struct pfs_handlers *h)
{
	return h->n_rows;
}

const struct pfs_handler_row *pfs_handlers_row(const struct pfs_handlers *h, size_t i)
{
	return &h->rows[i < h->sorted ? h->order[i] : i];
}

const struct pfs_handlers_rest *pfs_handlers_rest(const struct pfs_handlers *h)
{
	return &h->rest;
}

const char *pfs_handlers_frameworks(const struct pfs_handlers *h)
{
	struct pfs_handlers *w = (struct pfs_handlers *)h;
	size_t n = 0;
	w->fw_list[0] = 0;
	for (int i = 0; i < FW_COUNT; i++) {
		if (!(h->seen & (1u << i)))
			continue;
		int k = snprintf(w->fw_list + n, sizeof(w->fw_list) - n, "%s%s", n ? "," : "",
				 frameworks[i]);
		if (k > 0)
			n += (size_t)k;
	}
	return w->fw_list;
}

static int fw_index(const char *name)
{
	for (int i = 0; i < FW_COUNT; i++)
		if (name && !strcmp(name, frameworks[i]))
			return i;
	return -1;
}

bool pfs_handlers_restore_row(struct pfs_handlers *h, const struct pfs_handler_row *r)
{
	int fw = fw_index(r->framework);
	if (fw < 0 || (unsigned)r->kind >= PFS_HANDLER_KIND_COUNT || !r->name)
		return false;
	size_t i = new_row(h, r->name, fw, r->kind);
	struct pfs_handler_row *to = &h->rows[i];
	char *name = to->name;
	*to = *r;
	to->name = name;
	to->framework = frameworks[fw];
	return true;
}

void pfs_handlers_restore_rest(struct pfs_handlers *h, const struct pfs_handlers_rest *r,
			       const char *list)
{
	h->rest = *r;
	h->seen = 0;
	for (const char *s = list; s && *s;) {
		const char *e = strchr(s, ',');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		for (int i = 0; i < FW_COUNT; i++)
			if (strlen(frameworks[i]) == n && !memcmp(s, frameworks[i], n))
				h->seen |= 1u << i;
		s = e ? e + 1 : s + n;
	}
}

static const char *const kind_names[PFS_HANDLER_KIND_COUNT] = {"view", "callee", "dispatch",
							       "wsgi"};

const char *pfs_handler_kind_name(enum pfs_handler_kind k)
{
	return (unsigned)k < PFS_HANDLER_KIND_COUNT ? kind_names[k] : "?";
}

int pfs_handler_kind_parse(const char *s)
{
	for (int i = 0; i < PFS_HANDLER_KIND_COUNT; i++)
		if (s && !strcmp(s, kind_names[i]))
			return i;
	return -1;
}
