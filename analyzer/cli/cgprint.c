/*
 * cgprint: info and summary of call-graph profiles. See cgprint.h.
 */
#include "cgprint.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define TOP 10
#define HOT 5

static const char no_stacks_msg[] =
    "a call-graph profile: calls and costs per function and per caller-callee edge, no stacks "
    "(the paths shown are reconstructed from the edges) and no GC or GIL figures";

static void print_count(uint64_t v)
{
	if (v == PFS_CG_UNKNOWN)
		fputs("unknown", stdout);
	else
		printf("%" PRIu64, v);
}

static void put_diags(const struct pfs_diag *d)
{
	if (!d->n) {
		printf("diagnostics:  none\n");
		return;
	}
	printf("diagnostics:\n");
	for (size_t i = 0; i < d->n; i++) {
		printf("  %s %s (x%" PRIu64 ")", pfs_severity_name(d->v[i].sev), d->v[i].code,
		       d->v[i].count);
		if (d->v[i].first_off != PFS_NO_OFF)
			printf(" first at byte offset %" PRIu64, d->v[i].first_off);
		printf(": %s\n", d->v[i].msg);
	}
}

static void info_text(const char *file, const struct pfs_capture *c)
{
	const struct pfs_callgraph *g = c->graph;
	const struct pfs_cg_info *in = pfs_cg_info(g);
	size_t listed = 0;
	for (uint32_t f = 0; f < pfs_cg_n_funcs(g); f++)
		listed += pfs_cg_func_get(g, f)->listed;
	printf("file:         %s\n", file);
	if (pfs_cg_format(g) == PFS_CG_PSTATS) {
		printf("format:       pstats (Python marshal: types of version %d and up; %" PRIu64
		       " objects referenced %" PRIu64 " times)\n",
		       in->marshal_version, in->refs, in->ref_uses);
	} else {
		printf("format:       callgrind (version %s, creator ",
		       in->version ? in->version : "1");
		cli_put_safe(in->creator ? in->creator : "not given", 200);
		printf(", positions %s, %u part%s)\n", in->positions ? in->positions : "line",
		       in->parts, in->parts == 1 ? "" : "s");
		if (in->cmd) {
			fputs("command:      ", stdout);
			cli_put_safe(in->cmd, 400);
			putchar('\n');
		}
		if (in->pid >= 0)
			printf("pid:          %" PRId64 "\n", in->pid);
	}
	printf("size:         %" PRIu64 " bytes\n", in->size);
	printf("functions:    %zu (%zu with an entry of their own)\n", pfs_cg_n_funcs(g), listed);
	printf("edges:        %zu caller-callee edges\n", pfs_cg_n_edges(g));
	fputs("calls:        ", stdout);
	print_count(pfs_cg_total_calls(g, false));
	fputs(" (", stdout);
	print_count(pfs_cg_total_calls(g, true));
	fputs(" primitive: not under another call of the same function)\n", stdout);
	printf("events:\n");
	for (uint32_t k = 0; k < pfs_cg_n_events(g); k++) {
		fputs("  ", stdout);
		cli_put_safe(pfs_cg_event_name(g, k), 40);
		if (pfs_cg_seconds(g))
			printf("  %.6f s measured (the sum of tottime)", pfs_cg_total(g, k));
		else
			printf("  %.0f (the sum of the cost lines)", pfs_cg_total(g, k));
		if (!isnan(in->summary[k]))
			printf(", summary %.0f", in->summary[k]);
		if (pfs_cg_event_desc(g, k)) {
			fputs(": ", stdout);
			cli_put_safe(pfs_cg_event_desc(g, k), 100);
		}
		putchar('\n');
	}
	put_diags(&c->diag);
}

static void count_json(struct pfs_jsonw *w, uint64_t v)
{
	if (v == PFS_CG_UNKNOWN)
		pfs_jsonw_null(w);
	else
		pfs_jsonw_u64(w, v);
}

static void info_json(const char *file, const struct pfs_capture *c)
{
	const struct pfs_callgraph *g = c->graph;
	const struct pfs_cg_info *in = pfs_cg_info(g);
	struct pfs_jsonw w;
	pfs_jsonw_init(&w, stdout, true);
	pfs_jsonw_obj(&w);
	pfs_jsonw_key(&w, "file");
	pfs_jsonw_str(&w, file);
	pfs_jsonw_key(&w, "format");
	pfs_jsonw_str(&w, pfs_cg_format_name(pfs_cg_format(g)));
	pfs_jsonw_key(&w, "size");
	pfs_jsonw_u64(&w, in->size);
	if (pfs_cg_format(g) == PFS_CG_PSTATS) {
		pfs_jsonw_key(&w, "marshal_version");
		pfs_jsonw_u64(&w, (uint64_t)in->marshal_version);
		pfs_jsonw_key(&w, "refs");
		pfs_jsonw_u64(&w, in->refs);
		pfs_jsonw_key(&w, "ref_uses");
		pfs_jsonw_u64(&w, in->ref_uses);
	} else {
		pfs_jsonw_key(&w, "version");
		pfs_jsonw_str(&w, in->version);
		pfs_jsonw_key(&w, "creator");
		pfs_jsonw_str(&w, in->creator);
		pfs_jsonw_key(&w, "cmd");
		pfs_jsonw_str(&w, in->cmd);
		pfs_jsonw_key(&w, "pid");
		if (in->pid < 0)
			pfs_jsonw_null(&w);
		else
			pfs_jsonw_i64(&w, in->pid);
		pfs_jsonw_key(&w, "positions");
		pfs_jsonw_str(&w, in->positions ? in->positions : "line");
		pfs_jsonw_key(&w, "parts");
		pfs_jsonw_u64(&w, in->parts);
	}
	pfs_jsonw_key(&w, "functions");
	pfs_jsonw_u64(&w, pfs_cg_n_funcs(g));
	pfs_jsonw_key(&w, "edges");
	pfs_jsonw_u64(&w, pfs_cg_n_edges(g));
	pfs_jsonw_key(&w, "calls");
	count_json(&w, pfs_cg_total_calls(g, false));
	pfs_jsonw_key(&w, "primitive_calls");
	count_json(&w, pfs_cg_total_calls(g, true));
	pfs_jsonw_key(&w, "events");
	pfs_jsonw_arr(&w);
	for (uint32_t k = 0; k < pfs_cg_n_events(g); k++) {
		pfs_jsonw_obj(&w);
		pfs_jsonw_key(&w, "name");
		pfs_jsonw_str(&w, pfs_cg_event_name(g, k));
		pfs_jsonw_key(&w, "description");
		pfs_jsonw_str(&w, pfs_cg_event_desc(g, k));
		pfs_jsonw_key(&w, "unit");
		pfs_jsonw_str(&w, pfs_cg_seconds(g) ? "seconds" : "count");
		pfs_jsonw_key(&w, "total");
		pfs_jsonw_dbl_exact(&w, pfs_cg_total(g, k));
		pfs_jsonw_key(&w, "summary");
		pfs_jsonw_dbl_exact(&w, in->summary[k]);
		pfs_jsonw_end_obj(&w);
	}
	pfs_jsonw_end_arr(&w);
	pfs_jsonw_key(&w, "diagnostics");
	pfs_diag_write_json(&c->diag, &w);
	pfs_jsonw_end_obj(&w);
	putchar('\n');
}

int cli_cg_info(const struct cli_cmd *cmd, const char *file, bool json)
{
	struct pfs_capture cap;
	int ex = cli_load_capture(cmd, &cap, file, NULL);
	if (ex < 0) {
		if (json)
			info_json(file, &cap);
		else
			info_text(file, &cap);
		ex = cli_diag_exit(&cap.diag);
	}
	pfs_capture_release(&cap);
	return cli_finish_stdout(ex);
}

/* A cost in a fixed-width column: seconds to the microsecond, or a count. */
static void put_cost(const struct pfs_callgraph *g, double v)
{
	if (isnan(v))
		printf(" %10s", "");
	else if (pfs_cg_seconds(g))
		printf(" %10.6f", v);
	else
		printf(" %10.0f", v);
}

/* pstats' ncalls column: "nc/cc" when recursion made them differ. */
static void put_calls(const struct pfs_cg_func *fn)
{
	char buf[48];
	if (fn->calls == PFS_CG_UNKNOWN)
		snprintf(buf, sizeof(buf), "?");
	else if (fn->prim_calls != PFS_CG_UNKNOWN && fn->prim_calls != fn->calls)
		snprintf(buf, sizeof(buf), "%" PRIu64 "/%" PRIu64, fn->calls, fn->prim_calls);
	else
		snprintf(buf, sizeof(buf), "%" PRIu64, fn->calls);
	printf("  %12s", buf);
}

static double per(double v, uint64_t n)
{
	return n && n != PFS_CG_UNKNOWN ? v / (double)n : NAN;
}

static void put_where(const struct pfs_callgraph *g, uint32_t f)
{
	const char *file = pfs_cg_file(g, f), *obj = pfs_cg_object(g, f);
	cli_put_safe(pfs_cg_name(g, f), 80);
	if (file) {
		fputs(" (", stdout);
		cli_put_safe(file, 80);
		if (pfs_cg_line(g, f))
			printf(":%u", pfs_cg_line(g, f));
		putchar(')');
	}
	if (obj) {
		fputs(" [", stdout);
		cli_put_safe(obj, 80);
		putchar(']');
	}
}

static void top_table(const struct pfs_callgraph *g, uint32_t ev, enum pfs_cg_key key)
{
	uint32_t *v = pfs_cg_sorted(g, ev, key);
	bool secs = pfs_cg_seconds(g);
	printf("  by %s, the %d heaviest:\n",
	       key == PFS_CG_BY_SELF ? (secs ? "own time (tottime)" : "self cost")
				     : (secs ? "inclusive time (cumtime)" : "inclusive cost"),
	       TOP);
	printf("  %12s %10s %10s %10s %10s  function\n", "ncalls", secs ? "tottime" : "self",
	       "percall", secs ? "cumtime" : "inclusive", "percall");
	for (size_t i = 0; i < TOP && i < pfs_cg_n_funcs(g); i++) {
		uint32_t f = v[i];
		const struct pfs_cg_func *fn = pfs_cg_func_get(g, f);
		double self = pfs_cg_self(g, f, ev), incl = pfs_cg_incl(g, f, ev);
		put_calls(fn);
		put_cost(g, self);
		put_cost(g, per(self, fn->calls));
		put_cost(g, incl);
		put_cost(g,
			 per(incl, fn->prim_calls != PFS_CG_UNKNOWN ? fn->prim_calls : fn->calls));
		fputs("  ", stdout);
		put_where(g, f);
		putchar('\n');
	}
	free(v);
}

void cli_cg_summary_text(const struct pfs_capture *c)
{
	const struct pfs_callgraph *g = c->graph;
	struct pfs_cg_tree t;
	struct pfs_cg_tree_opts to = {0};
	uint32_t hot[HOT];
	double total = pfs_cg_total(g, 0);
	fputs("capture ", stdout);
	cli_put_safe(c->info.label, 200);
	printf(": %s, %zu functions, ", pfs_cg_format_name(pfs_cg_format(g)), pfs_cg_n_funcs(g));
	print_count(pfs_cg_total_calls(g, false));
	fputs(" calls (", stdout);
	print_count(pfs_cg_total_calls(g, true));
	fputs(" primitive), ", stdout);
	if (pfs_cg_n_events(g) && pfs_cg_seconds(g))
		printf("%.6f s measured\n", total);
	else if (pfs_cg_n_events(g))
		printf("%.0f %s\n", total, pfs_cg_event_name(g, 0));
	printf("  %s\n", no_stacks_msg);
	if (!pfs_cg_n_events(g))
		return;
	top_table(g, 0, PFS_CG_BY_SELF);
	top_table(g, 0, PFS_CG_BY_INCL);
	pfs_cg_tree_build(g, &to, &t);
	size_t nh = pfs_cg_hot_paths(&t, hot, HOT);
	printf(
	    "  hottest paths (reconstructed from the edges: an estimate, not measured stacks):\n");
	for (size_t i = 0; i < nh; i++) {
		uint32_t path[PFS_CG_TREE_MAX_DEPTH + 1];
		size_t d = 0;
		for (uint32_t x = hot[i]; x && d <= PFS_CG_TREE_MAX_DEPTH; x = t.v[x].parent)
			path[d++] = x;
		printf("  %6.1f%%", total > 0 ? 100 * t.v[hot[i]].self / total : 0.0);
		put_cost(g, t.v[hot[i]].self);
		fputs("  ", stdout);
		while (d--) {
			cli_put_safe(pfs_cg_name(g, t.v[path[d]].fn), 60);
			if (d)
				fputs(" > ", stdout);
		}
		putchar('\n');
	}
	pfs_cg_tree_release(&t);
}

void cli_cg_summary_json(const struct pfs_capture *c, struct pfs_jsonw *w)
{
	pfs_jsonw_obj(w);
	pfs_jsonw_key(w, "label");
	pfs_jsonw_str(w, c->info.label);
	pfs_jsonw_key(w, "source");
	pfs_jsonw_str(w, c->info.source);
	pfs_jsonw_key(w, "duration_s");
	pfs_jsonw_null(w);
	pfs_jsonw_key(w, "events");
	pfs_jsonw_obj(w);
	pfs_jsonw_end_obj(w);
	pfs_jsonw_key(w, "lost_samples");
	pfs_jsonw_null(w);
	pfs_jsonw_key(w, "python");
	pfs_jsonw_null(w);
	pfs_jsonw_key(w, "notes");
	pfs_jsonw_arr(w);
	pfs_jsonw_obj(w);
	pfs_jsonw_key(w, "code");
	pfs_jsonw_str(w, "call-graph");
	pfs_jsonw_key(w, "severity");
	pfs_jsonw_str(w, "note");
	pfs_jsonw_key(w, "count");
	pfs_jsonw_u64(w, 1);
	pfs_jsonw_key(w, "message");
	pfs_jsonw_str(w, no_stacks_msg);
	pfs_jsonw_end_obj(w);
	pfs_jsonw_end_arr(w);
	pfs_jsonw_key(w, "processes");
	pfs_jsonw_arr(w);
	pfs_jsonw_end_arr(w);
	pfs_jsonw_key(w, "workers");
	pfs_jsonw_arr(w);
	pfs_jsonw_end_arr(w);
	pfs_jsonw_key(w, "callgraph");
	pfs_cg_json_summary(c->graph, 0, TOP, w);
	pfs_jsonw_end_obj(w);
}
