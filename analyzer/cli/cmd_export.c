/*
 * perfsight export: what other tools read, from a capture: folded stacks (FlameGraph,
 * inferno, speedscope all import them), a speedscope document, or a JSON dump of the summary
 * and the top functions.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "cli.h"
#include "commands.h"
#include "export.h"
#include "jsonw.h"
#include "outfile.h"
#include "profile.h"
#include "pyprof.h"
#include "views.h"

const char cmd_export_usage[] =
    "usage: perfsight export INPUT --format folded|speedscope|json -o FILE\n"
    "                        [--view native|mixed|python] [--event NAME]\n"
    "                        [--weight samples|period|seconds]\n"
    "\n"
    "Writes a capture in a format other tools read. INPUT is a profiler dump that perfsight\n"
    "reads (pyinstrument session, JSON or HTML, speedscope, folded stacks, or a directory of\n"
    "per-request dumps, merged); the kind is told from the content.\n"
    "\n"
    "  --format folded      one line per distinct stack, 'root;...;leaf WEIGHT', sorted, as\n"
    "                       FlameGraph's stackcollapse tools write them\n"
    "  --format speedscope  a speedscope file (one sampled profile per thread)\n"
    "  --format json        {\"summary\", \"top_functions\"}: what was read and the functions\n"
    "                       by total and self weight\n"
    "  -o FILE              the output, written atomically ('-' for standard output)\n"
    "  --view V             native (default: every frame as recorded), mixed or python\n"
    "  --event NAME         only the samples of this event (default: all)\n"
    "  --weight W           samples, period, or seconds (wall time); the default is the\n"
    "                       input's own unit: seconds for pyinstrument, counts otherwise\n"
    "\n"
    "exit status: 0 ok, 1 written with data-dropping diagnostics, 2 usage, 3 bad input,\n"
    "4 output error\n"
    "example: perfsight export fixtures/pyinstrument/flask-testclient.pyisession \\\n"
    "             --format speedscope -o flask.speedscope.json\n";

enum fmt { FMT_NONE, FMT_FOLDED, FMT_SPEEDSCOPE, FMT_JSON };

/* What was read, and how its weights count. */
struct source {
	struct pfs_profile *prof;
	struct pfs_agg *agg;
	struct pfs_pyprof_meta meta;
	enum pfs_fold_weight weight; /* the input's own unit */
	struct pfs_diag diag;
};

/*
 * Reads path into s by its content. perf.data captures are recognised by their magic so that
 * the user gets a clear answer rather than "not a profile".
 */
static int source_load(struct source *s, const char *path, struct pfs_err *err)
{
	struct pfs_pyprof_opts po = {.merge = true};
	char magic[8] = {0};
	FILE *f = fopen(path, "rb");
	int kind, rc;
	if (f) {
		size_t n = fread(magic, 1, sizeof(magic), f);
		fclose(f);
		if (n == 8 && (!memcmp(magic, "PERFILE2", 8) || !memcmp(magic, "2ELIFREP", 8)))
			return pfs_err_set(err, PFS_EUNSUPP, PFS_NO_OFF,
					   "perf.data captures cannot be exported yet: "
					   "the ingest stage is not in this build");
	}
	kind = pfs_pyprof_detect(path, err);
	if (kind < 0)
		return kind;
	if (kind == PFS_PYPROF_NONE)
		return pfs_err_set(err, PFS_EFORMAT, PFS_NO_OFF,
				   "not a capture perfsight reads (perf.data, pyinstrument, "
				   "speedscope or folded stacks)");
	rc = pfs_pyprof_load(path, &po, s->prof, pfs_agg_add, s->agg, &s->meta, &s->diag, err);
	if (rc < 0)
		return rc;
	s->weight = s->meta.unit == PFS_PYPROF_SECONDS ? PFS_FOLD_SECONDS : PFS_FOLD_PERIOD;
	return 0;
}

static void write_summary(struct pfs_jsonw *w, struct source *s)
{
	pfs_jsonw_obj(w);
	pfs_jsonw_key(w, "source");
	pfs_jsonw_str(w, pfs_pyprof_kind_name(s->meta.kind));
	pfs_jsonw_key(w, "unit");
	pfs_jsonw_str(w, s->meta.unit == PFS_PYPROF_SECONDS   ? "seconds"
			 : s->meta.unit == PFS_PYPROF_SAMPLES ? "samples"
							      : "mixed");
	pfs_jsonw_key(w, "rows");
	pfs_jsonw_u64(w, s->meta.rows);
	pfs_jsonw_key(w, "weight");
	pfs_jsonw_dbl(w, s->meta.weight);
	pfs_jsonw_key(w, "captures");
	pfs_jsonw_arr(w);
	for (size_t i = 0; i < s->meta.n_caps; i++) {
		const struct pfs_pyprof_capture *c = &s->meta.caps[i];
		pfs_jsonw_obj(w);
		pfs_jsonw_key(w, "label");
		pfs_jsonw_str(w, c->label ? pfs_profile_strget(s->prof, c->label, NULL) : NULL);
		pfs_jsonw_key(w, "kind");
		pfs_jsonw_str(w, pfs_pyprof_kind_name(c->kind));
		pfs_jsonw_key(w, "program");
		pfs_jsonw_str(w, c->program ? pfs_profile_strget(s->prof, c->program, NULL) : NULL);
		pfs_jsonw_key(w, "duration_s");
		pfs_jsonw_dbl(w, c->duration);
		pfs_jsonw_key(w, "cpu_s");
		pfs_jsonw_dbl(w, c->cpu_time);
		pfs_jsonw_key(w, "rows");
		pfs_jsonw_u64(w, c->rows);
		pfs_jsonw_key(w, "weight");
		pfs_jsonw_dbl(w, c->weight);
		pfs_jsonw_end_obj(w);
	}
	pfs_jsonw_end_arr(w);
	pfs_jsonw_key(w, "diagnostics");
	pfs_jsonw_arr(w);
	for (size_t i = 0; i < s->diag.n; i++) {
		pfs_jsonw_obj(w);
		pfs_jsonw_key(w, "code");
		pfs_jsonw_str(w, s->diag.v[i].code);
		pfs_jsonw_key(w, "severity");
		pfs_jsonw_str(w, pfs_severity_name(s->diag.v[i].sev));
		pfs_jsonw_key(w, "count");
		pfs_jsonw_u64(w, s->diag.v[i].count);
		pfs_jsonw_key(w, "message");
		pfs_jsonw_str(w, s->diag.v[i].msg);
		pfs_jsonw_end_obj(w);
	}
	pfs_jsonw_end_arr(w);
	pfs_jsonw_end_obj(w);
}

static int write_json(FILE *f, struct source *s, struct pfs_views *v,
		      const struct pfs_export_opts *eo, struct pfs_err *err)
{
	struct pfs_jsonw w;
	size_t n;
	double all;
	struct pfs_topfn *t = pfs_topfn_compute(s->agg, s->prof, v, eo, &n, &all);
	pfs_jsonw_init(&w, f, true);
	pfs_jsonw_obj(&w);
	pfs_jsonw_key(&w, "format");
	pfs_jsonw_str(&w, "perfsight-export/1");
	pfs_jsonw_key(&w, "summary");
	write_summary(&w, s);
	pfs_jsonw_key(&w, "view");
	pfs_jsonw_str(&w, pfs_view_name(eo->view));
	pfs_jsonw_key(&w, "weight");
	pfs_jsonw_str(&w, eo->weight == PFS_FOLD_SECONDS  ? "seconds"
			  : eo->weight == PFS_FOLD_PERIOD ? "period"
							  : "samples");
	pfs_jsonw_key(&w, "total");
	pfs_jsonw_dbl(&w, all);
	pfs_jsonw_key(&w, "top_functions");
	pfs_topfn_write_json(&w, s->prof, t, n, all);
	pfs_jsonw_end_obj(&w);
	fputc('\n', f);
	free(t);
	if (ferror(f))
		return pfs_err_sys(err, "cannot write the export");
	return 0;
}

static int find_event(struct pfs_profile *p, const char *name)
{
	for (size_t i = 0; i < pfs_profile_n_events(p); i++)
		if (!strcmp(pfs_profile_strget(p, pfs_profile_event(p, (uint32_t)i)->name, NULL),
			    name))
			return (int)i;
	return -1;
}

int cmd_export(int argc, char **argv)
{
	const struct cli_cmd *self = cli_find("export");
	const char *input = NULL, *output = NULL, *event = NULL, *weight = NULL;
	enum fmt fmt = FMT_NONE;
	int view = PFS_VIEW_NATIVE, ev = -1, rc;
	struct source s = {0};
	struct pfs_views *v = NULL;
	struct pfs_outfile of = {0};
	struct pfs_err err;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool has_val = i + 1 < argc;
		if (!strcmp(a, "--format") && has_val) {
			const char *f = argv[++i];
			fmt = !strcmp(f, "folded")	 ? FMT_FOLDED
			      : !strcmp(f, "speedscope") ? FMT_SPEEDSCOPE
			      : !strcmp(f, "json")	 ? FMT_JSON
							 : FMT_NONE;
			if (fmt == FMT_NONE)
				return cli_usage_error(self, "unknown format '%s'", f);
		} else if (!strcmp(a, "-o") && has_val) {
			output = argv[++i];
		} else if (!strcmp(a, "--view") && has_val) {
			view = pfs_view_parse(argv[++i]);
			if (view < 0)
				return cli_usage_error(self, "unknown view '%s'", argv[i]);
		} else if (!strcmp(a, "--event") && has_val) {
			event = argv[++i];
		} else if (!strcmp(a, "--weight") && has_val) {
			weight = argv[++i];
			if (strcmp(weight, "samples") && strcmp(weight, "period") &&
			    strcmp(weight, "seconds"))
				return cli_usage_error(self, "unknown weight '%s'", weight);
		} else if (a[0] == '-' && a[1]) {
			return cli_usage_error(self, "unknown option or missing value '%s'", a);
		} else if (input) {
			return cli_usage_error(self, "one INPUT only ('%s' and '%s')", input, a);
		} else {
			input = a;
		}
	}
	if (!input)
		return cli_usage_error(self, "missing INPUT");
	if (fmt == FMT_NONE)
		return cli_usage_error(self, "missing --format");
	if (!output)
		return cli_usage_error(self, "missing -o FILE");
	pfs_err_clear(&err);
	s.prof = pfs_profile_new();
	s.agg = pfs_agg_new();
	pfs_diag_init(&s.diag);
	rc = source_load(&s, input, &err);
	if (rc < 0) {
		rc = cli_fail(input, &err);
		goto out;
	}
	if (event && (ev = find_event(s.prof, event)) < 0) {
		rc = cli_usage_error(self, "%s has no event '%s'", input, event);
		goto out;
	}
	v = pfs_views_new(s.prof, NULL);
	if (pfs_outfile_open(&of, output, &err) < 0) {
		cli_fail(output, &err);
		rc = EXIT_INTERNAL;
		goto out;
	}
	{
		enum pfs_fold_weight wt = !weight		       ? s.weight
					  : !strcmp(weight, "samples") ? PFS_FOLD_SAMPLES
					  : !strcmp(weight, "period")  ? PFS_FOLD_PERIOD
								       : PFS_FOLD_SECONDS;
		struct pfs_fold_opts fo = {
		    .event = ev, .root = PFS_FOLD_NONE, .weight = wt, .view = (enum pfs_view)view};
		struct pfs_export_opts eo = {
		    .event = ev, .view = (enum pfs_view)view, .weight = wt, .name = input};
		if (fmt == FMT_FOLDED)
			rc = pfs_agg_write_folded(s.agg, s.prof, v, &fo, of.f, &err);
		else if (fmt == FMT_SPEEDSCOPE)
			rc = pfs_export_speedscope(s.agg, s.prof, v, &eo, of.f, &err);
		else
			rc = write_json(of.f, &s, v, &eo, &err);
	}
	if (rc < 0 || pfs_outfile_commit(&of, &err) < 0) {
		pfs_outfile_abort(&of);
		cli_fail(output, &err);
		rc = EXIT_INTERNAL;
		goto out;
	}
	cli_print_diags(stderr, input, &s.diag);
	rc = cli_diag_exit(&s.diag);
out:
	pfs_views_free(v);
	pfs_pyprof_meta_release(&s.meta);
	pfs_diag_release(&s.diag);
	pfs_agg_free(s.agg);
	pfs_profile_free(s.prof);
	return rc;
}
