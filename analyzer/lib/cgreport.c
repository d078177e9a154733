/*
 * cgreport: the report data of a call graph. See cgreport.h and docs/report-data.md.
 */
#include "cgreport.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "xalloc.h"

struct ctx {
	const struct pfs_callgraph *g;
	const struct pfs_profile *p;
	uint32_t ev;
	uint32_t *doc_str; /* profile string id -> index in "strings" + 1 */
	size_t doc_str_cap;
	uint32_t *strs; /* "strings", as profile string ids */
	size_t n_strs, strs_cap;
	uint32_t *doc_fn; /* function -> index in "functions" + 1, 0: left out */
	uint32_t *fns;	  /* "functions", as function indexes */
	size_t n_fns;
	struct pfs_cg_tree tree;
	size_t omitted;
};

static int32_t str_index(struct ctx *c, uint32_t id)
{
	if (!id)
		return -1;
	PFS_GROW_ZEROED(c->doc_str, c->doc_str_cap, id);
	if (!c->doc_str[id]) {
		PFS_GROW(c->strs, c->strs_cap, c->n_strs + 1);
		c->strs[c->n_strs++] = id;
		c->doc_str[id] = (uint32_t)c->n_strs;
	}
	return (int32_t)c->doc_str[id] - 1;
}

static void keep(struct ctx *c, uint32_t f)
{
	if (c->doc_fn[f])
		return;
	c->fns[c->n_fns++] = f;
	c->doc_fn[f] = (uint32_t)c->n_fns;
	const struct pfs_frame *fr = pfs_profile_frameget(c->p, pfs_cg_func_get(c->g, f)->frame);
	str_index(c, fr->name);
	str_index(c, fr->file);
	str_index(c, fr->dso);
}

/* The functions written: all, or the heaviest and those the tree names. */
static void choose(struct ctx *c)
{
	size_t n = pfs_cg_n_funcs(c->g);
	c->doc_fn = pfs_xcalloc(n ? n : 1, sizeof(*c->doc_fn));
	c->fns = pfs_xcalloc(n ? n : 1, sizeof(*c->fns));
	if (n <= PFS_CGREPORT_MAX_FUNCS) {
		for (uint32_t f = 0; f < n; f++)
			keep(c, f);
		return;
	}
	uint32_t *by = pfs_cg_sorted(c->g, c->ev, PFS_CG_BY_INCL);
	for (size_t i = 0; i < PFS_CGREPORT_MAX_FUNCS; i++)
		keep(c, by[i]);
	for (size_t i = 1; i < c->tree.n; i++)
		if (c->tree.v[i].fn != PFS_CG_NONE)
			keep(c, c->tree.v[i].fn);
	c->omitted = n - c->n_fns;
	free(by);
}

static void count(struct pfs_jsonw *w, uint64_t v)
{
	if (v == PFS_CG_UNKNOWN)
		pfs_jsonw_null(w);
	else
		pfs_jsonw_u64(w, v);
}

static void warning(struct pfs_jsonw *w, const char *sev, const char *code, uint64_t n,
		    const char *msg)
{
	pfs_jsonw_obj(w);
	pfs_jsonw_key(w, "severity");
	pfs_jsonw_str(w, sev);
	pfs_jsonw_key(w, "code");
	pfs_jsonw_str(w, code);
	pfs_jsonw_key(w, "count");
	pfs_jsonw_u64(w, n);
	pfs_jsonw_key(w, "message");
	pfs_jsonw_str(w, msg);
	pfs_jsonw_end_obj(w);
}

static const char *sev_word(enum pfs_severity s)
{
	return s >= PFS_ERROR ? "error" : s == PFS_WARN ? "warn" : "info";
}

static void write_warnings(struct ctx *c, struct pfs_jsonw *w, const struct pfs_diag *d)
{
	char msg[400];
	double total = pfs_cg_total(c->g, c->ev);
	pfs_jsonw_key(w, "warnings");
	pfs_jsonw_arr(w);
	for (int sev = PFS_UNSUPP; sev >= PFS_NOTE; sev--)
		for (size_t i = 0; d && i < d->n; i++)
			if ((int)d->v[i].sev == sev)
				warning(w, sev_word(d->v[i].sev), d->v[i].code, d->v[i].count,
					d->v[i].msg);
	if (c->omitted) {
		snprintf(msg, sizeof(msg),
			 "%zu of %zu functions are left out of this report: only the %d "
			 "heaviest by inclusive cost are in it (export --format json has all)",
			 c->omitted, pfs_cg_n_funcs(c->g), PFS_CGREPORT_MAX_FUNCS);
		warning(w, "warn", "functions-omitted", c->omitted, msg);
	}
	if (c->tree.budget_hit) {
		snprintf(msg, sizeof(msg),
			 "the reconstructed call tree stopped at %zu nodes: its lightest "
			 "branches are not expanded",
			 c->tree.n);
		warning(w, "warn", "tree-budget", 1, msg);
	}
	if (total > 0 && c->tree.roots < 0.99 * total) {
		snprintf(msg, sizeof(msg),
			 "the reconstructed call tree starts from %.1f%% of the measured cost: the "
			 "rest is in call cycles that nothing outside them calls (the function "
			 "table has it all)",
			 100 * c->tree.roots / total);
		warning(w, "info", "tree-coverage", 1, msg);
	}
	warning(w, "info", "reconstructed-paths", 1,
		"the call tree and hot paths are reconstructed from caller-callee edges, assuming "
		"a function spends its time on each callee in the same proportion whoever called "
		"it (as gprof does): an estimate, not measured stacks; the function table and its "
		"callers and callees are measured");
	pfs_jsonw_end_arr(w);
}

/* A cost as a reader wants it: seconds, or a count with the event's name. */
static void cost_text(const struct ctx *c, double v, char *buf, size_t n)
{
	if (!pfs_cg_seconds(c->g))
		snprintf(buf, n, "%.0f %s", v, pfs_cg_event_name(c->g, c->ev));
	else if (v >= 1)
		snprintf(buf, n, "%.3f s", v);
	else if (v >= 1e-3)
		snprintf(buf, n, "%.3f ms", v * 1e3);
	else if (v >= 1e-6)
		snprintf(buf, n, "%.3f us", v * 1e6);
	else
		snprintf(buf, n, "%.0f ns", v * 1e9);
}

static void write_findings(struct ctx *c, struct pfs_jsonw *w)
{
	double total = pfs_cg_total(c->g, c->ev);
	uint32_t *by = pfs_cg_sorted(c->g, c->ev, PFS_CG_BY_SELF);
	uint32_t hot;
	char msg[1024], a[64], b[64];
	pfs_jsonw_key(w, "findings");
	pfs_jsonw_arr(w);
	if (pfs_cg_n_funcs(c->g) && total > 0) {
		uint32_t f = by[0];
		const struct pfs_cg_func *fn = pfs_cg_func_get(c->g, f);
		cost_text(c, pfs_cg_self(c->g, f, c->ev), a, sizeof(a));
		int k = snprintf(
		    msg, sizeof(msg), "%s spends the most in its own code: %s, %.1f%% of all",
		    pfs_cg_name(c->g, f), a, 100 * pfs_cg_self(c->g, f, c->ev) / total);
		if (fn->calls != PFS_CG_UNKNOWN && fn->calls && k > 0 && (size_t)k < sizeof(msg)) {
			cost_text(c, pfs_cg_self(c->g, f, c->ev) / (double)fn->calls, b, sizeof(b));
			snprintf(msg + k, sizeof(msg) - (size_t)k,
				 ", over %llu calls (%s per call)", (unsigned long long)fn->calls,
				 b);
		}
		pfs_jsonw_str(w, msg);
	}
	if (pfs_cg_hot_paths(&c->tree, &hot, 1) == 1) {
		size_t k = (size_t)snprintf(msg, sizeof(msg), "The hottest path (reconstructed): ");
		uint32_t path[PFS_CG_TREE_MAX_DEPTH + 1];
		size_t d = 0;
		for (uint32_t x = hot; x && d <= PFS_CG_TREE_MAX_DEPTH; x = c->tree.v[x].parent)
			path[d++] = x;
		while (d-- && k < sizeof(msg))
			k += (size_t)snprintf(msg + k, sizeof(msg) - k, "%s%s",
					      pfs_cg_name(c->g, c->tree.v[path[d]].fn),
					      d ? " > " : "");
		cost_text(c, c->tree.v[hot].self, a, sizeof(a));
		if (k < sizeof(msg))
			snprintf(msg + k, sizeof(msg) - k, ", about %s in the last one's own code",
				 a);
		pfs_jsonw_str(w, msg);
	}
	pfs_jsonw_end_arr(w);
	free(by);
}

static void write_meta(struct ctx *c, struct pfs_jsonw *w, const struct pfs_reportdata_meta *m)
{
	const char *const keys[] = {"title", "host", "command", "recorded", "source"};
	const char *const vals[] = {m->title, m->host, m->command, m->recorded, m->source};
	pfs_jsonw_key(w, "meta");
	pfs_jsonw_obj(w);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (vals[i]) {
			pfs_jsonw_key(w, keys[i]);
			pfs_jsonw_str(w, vals[i]);
		}
	if (!isnan(m->duration_s)) {
		pfs_jsonw_key(w, "duration_s");
		pfs_jsonw_dbl(w, m->duration_s);
	}
	pfs_jsonw_key(w, "events");
	pfs_jsonw_arr(w);
	for (uint32_t i = 0; i < pfs_cg_n_events(c->g); i++)
		pfs_jsonw_str(w, pfs_cg_event_name(c->g, i));
	pfs_jsonw_end_arr(w);
	pfs_jsonw_key(w, "unit");
	pfs_jsonw_str(w, pfs_cg_seconds(c->g) ? "seconds" : "count");
	pfs_jsonw_end_obj(w);
}

static void cost_columns(struct ctx *c, struct pfs_jsonw *w, bool edges, bool incl)
{
	size_t n = edges ? pfs_cg_n_edges(c->g) : c->n_fns;
	pfs_jsonw_arr(w);
	for (uint32_t k = 0; k < pfs_cg_n_events(c->g); k++) {
		pfs_jsonw_arr(w);
		for (size_t i = 0; i < n; i++) {
			uint32_t x = edges ? (uint32_t)i : c->fns[i];
			if (edges) {
				const struct pfs_cg_edge *e = pfs_cg_edge_get(c->g, x);
				if (!c->doc_fn[e->caller] || !c->doc_fn[e->callee])
					continue;
			}
			pfs_jsonw_dbl(
			    w, edges ? (incl ? pfs_cg_edge_incl(c->g, x, k)
					     : pfs_cg_edge_self(c->g, x, k))
				     : (incl ? pfs_cg_incl(c->g, x, k) : pfs_cg_self(c->g, x, k)));
		}
		pfs_jsonw_end_arr(w);
	}
	pfs_jsonw_end_arr(w);
}

enum col { C_NAME, C_FILE, C_LINE, C_OBJECT, C_LISTED, C_RECURSIVE, C_CALLS, C_PRIM };

static void fn_column(struct ctx *c, struct pfs_jsonw *w, const char *key, enum col col)
{
	pfs_jsonw_key(w, key);
	pfs_jsonw_arr(w);
	for (size_t i = 0; i < c->n_fns; i++) {
		const struct pfs_cg_func *fn = pfs_cg_func_get(c->g, c->fns[i]);
		const struct pfs_frame *fr = pfs_profile_frameget(c->p, fn->frame);
		switch (col) {
		case C_NAME:
			pfs_jsonw_i64(w, str_index(c, fr->name));
			break;
		case C_FILE:
			pfs_jsonw_i64(w, str_index(c, fr->file));
			break;
		case C_LINE:
			pfs_jsonw_u64(w, fr->line);
			break;
		case C_OBJECT:
			pfs_jsonw_i64(w, str_index(c, fr->dso));
			break;
		case C_LISTED:
			pfs_jsonw_u64(w, fn->listed);
			break;
		case C_RECURSIVE:
			pfs_jsonw_u64(w, fn->recursive);
			break;
		case C_CALLS:
			count(w, fn->calls);
			break;
		case C_PRIM:
			count(w, fn->prim_calls);
			break;
		}
	}
	pfs_jsonw_end_arr(w);
}

static void edge_column(struct ctx *c, struct pfs_jsonw *w, const char *key, int col)
{
	pfs_jsonw_key(w, key);
	pfs_jsonw_arr(w);
	for (uint32_t i = 0; i < pfs_cg_n_edges(c->g); i++) {
		const struct pfs_cg_edge *e = pfs_cg_edge_get(c->g, i);
		if (!c->doc_fn[e->caller] || !c->doc_fn[e->callee])
			continue;
		if (col == 0)
			pfs_jsonw_u64(w, c->doc_fn[e->caller] - 1);
		else if (col == 1)
			pfs_jsonw_u64(w, c->doc_fn[e->callee] - 1);
		else
			count(w, col == 2 ? e->calls : e->prim_calls);
	}
	pfs_jsonw_end_arr(w);
}

static void write_tree(struct ctx *c, struct pfs_jsonw *w)
{
	const struct pfs_cg_tree *t = &c->tree;
	uint32_t hot[20];
	size_t nh = pfs_cg_hot_paths(t, hot, 20);
	pfs_jsonw_key(w, "tree");
	pfs_jsonw_obj(w);
	pfs_jsonw_key(w, "event");
	pfs_jsonw_u64(w, c->ev);
	pfs_jsonw_key(w, "measured");
	pfs_jsonw_dbl(w, t->total);
	pfs_jsonw_key(w, "roots");
	pfs_jsonw_dbl(w, t->roots);
	pfs_jsonw_key(w, "budget_hit");
	pfs_jsonw_bool(w, t->budget_hit);
	pfs_jsonw_key(w, "parent");
	pfs_jsonw_arr(w);
	for (size_t i = 0; i < t->n; i++)
		pfs_jsonw_i64(w, t->v[i].parent == PFS_CG_NONE ? -1 : (int64_t)t->v[i].parent);
	pfs_jsonw_end_arr(w);
	pfs_jsonw_key(w, "fn");
	pfs_jsonw_arr(w);
	for (size_t i = 0; i < t->n; i++)
		pfs_jsonw_i64(w,
			      t->v[i].fn == PFS_CG_NONE ? -1 : (int64_t)c->doc_fn[t->v[i].fn] - 1);
	pfs_jsonw_end_arr(w);
	pfs_jsonw_key(w, "flags");
	pfs_jsonw_arr(w);
	for (size_t i = 0; i < t->n; i++)
		pfs_jsonw_u64(w, t->v[i].flags);
	pfs_jsonw_end_arr(w);
	pfs_jsonw_key(w, "self");
	pfs_jsonw_arr(w);
	for (size_t i = 0; i < t->n; i++)
		pfs_jsonw_dbl(w, t->v[i].self);
	pfs_jsonw_end_arr(w);
	pfs_jsonw_key(w, "total");
	pfs_jsonw_arr(w);
	for (size_t i = 0; i < t->n; i++)
		pfs_jsonw_dbl(w, t->v[i].total);
	pfs_jsonw_end_arr(w);
	pfs_jsonw_end_obj(w);
	pfs_jsonw_key(w, "hot_paths");
	pfs_jsonw_arr(w);
	for (size_t i = 0; i < nh; i++)
		pfs_jsonw_u64(w, hot[i]);
	pfs_jsonw_end_arr(w);
}

static void write_graph(struct ctx *c, struct pfs_jsonw *w)
{
	const struct pfs_cg_info *in = pfs_cg_info(c->g);
	pfs_jsonw_key(w, "callgraph");
	pfs_jsonw_obj(w);
	pfs_jsonw_key(w, "format");
	pfs_jsonw_str(w, pfs_cg_format_name(pfs_cg_format(c->g)));
	pfs_jsonw_key(w, "unit");
	pfs_jsonw_str(w, pfs_cg_seconds(c->g) ? "seconds" : "count");
	pfs_jsonw_key(w, "event");
	pfs_jsonw_u64(w, c->ev);
	pfs_jsonw_key(w, "events");
	pfs_jsonw_arr(w);
	for (uint32_t k = 0; k < pfs_cg_n_events(c->g); k++) {
		pfs_jsonw_obj(w);
		pfs_jsonw_key(w, "name");
		pfs_jsonw_str(w, pfs_cg_event_name(c->g, k));
		pfs_jsonw_key(w, "description");
		pfs_jsonw_str(w, pfs_cg_event_desc(c->g, k));
		pfs_jsonw_key(w, "total");
		pfs_jsonw_dbl(w, pfs_cg_total(c->g, k));
		pfs_jsonw_key(w, "summary");
		pfs_jsonw_dbl(w, in->summary[k]);
		pfs_jsonw_end_obj(w);
	}
	pfs_jsonw_end_arr(w);
	pfs_jsonw_key(w, "calls");
	count(w, pfs_cg_total_calls(c->g, false));
	pfs_jsonw_key(w, "primitive_calls");
	count(w, pfs_cg_total_calls(c->g, true));
	pfs_jsonw_key(w, "functions_in_profile");
	pfs_jsonw_u64(w, pfs_cg_n_funcs(c->g));
	pfs_jsonw_key(w, "functions");
	pfs_jsonw_obj(w);
	fn_column(c, w, "name", C_NAME);
	fn_column(c, w, "file", C_FILE);
	fn_column(c, w, "line", C_LINE);
	fn_column(c, w, "object", C_OBJECT);
	fn_column(c, w, "listed", C_LISTED);
	fn_column(c, w, "recursive", C_RECURSIVE);
	fn_column(c, w, "calls", C_CALLS);
	fn_column(c, w, "prim_calls", C_PRIM);
	pfs_jsonw_key(w, "self");
	cost_columns(c, w, false, false);
	pfs_jsonw_key(w, "incl");
	cost_columns(c, w, false, true);
	pfs_jsonw_end_obj(w);
	pfs_jsonw_key(w, "edges");
	pfs_jsonw_obj(w);
	edge_column(c, w, "caller", 0);
	edge_column(c, w, "callee", 1);
	edge_column(c, w, "calls", 2);
	edge_column(c, w, "prim_calls", 3);
	pfs_jsonw_key(w, "self");
	cost_columns(c, w, true, false);
	pfs_jsonw_key(w, "incl");
	cost_columns(c, w, true, true);
	pfs_jsonw_end_obj(w);
	write_tree(c, w);
	pfs_jsonw_end_obj(w);
}

int pfs_cgreport_write(const struct pfs_callgraph *g, uint32_t ev,
		       const struct pfs_reportdata_meta *m, const struct pfs_diag *diag, FILE *out,
		       struct pfs_err *err)
{
	struct ctx c = {.g = g, .p = pfs_cg_profile(g), .ev = ev < pfs_cg_n_events(g) ? ev : 0};
	struct pfs_cg_tree_opts to = {.event = c.ev};
	struct pfs_jsonw w;
	pfs_cg_tree_build(g, &to, &c.tree);
	choose(&c);
	pfs_jsonw_init(&w, out, false);
	pfs_jsonw_obj(&w);
	pfs_jsonw_key(&w, "version");
	pfs_jsonw_u64(&w, 1);
	write_meta(&c, &w, m);
	write_warnings(&c, &w, diag);
	write_findings(&c, &w);
	pfs_jsonw_key(&w, "kinds");
	pfs_jsonw_arr(&w);
	static const char *const kinds[] = {"python", "library", "interp", "gc",
					    "gil",    "kernel",	 "native", "other"};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		pfs_jsonw_str(&w, kinds[i]);
	pfs_jsonw_end_arr(&w);
	pfs_jsonw_key(&w, "processes");
	pfs_jsonw_arr(&w);
	pfs_jsonw_end_arr(&w);
	write_graph(&c, &w);
	/* last: the columns above numbered every string they use */
	pfs_jsonw_key(&w, "strings");
	pfs_jsonw_arr(&w);
	for (size_t i = 0; i < c.n_strs; i++) {
		size_t len;
		const char *s = pfs_profile_strget(c.p, c.strs[i], &len);
		pfs_jsonw_strn(&w, s, len);
	}
	pfs_jsonw_end_arr(&w);
	pfs_jsonw_end_obj(&w);
	pfs_cg_tree_release(&c.tree);
	free(c.doc_str);
	free(c.strs);
	free(c.doc_fn);
	free(c.fns);
	if (fflush(out) || ferror(out))
		return pfs_err_sys(err, "cannot write the report data");
	return 0;
}
