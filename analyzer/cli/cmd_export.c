/*
 * perfsight export: what other tools read, from a capture: folded stacks (FlameGraph,
 * inferno, speedscope all import them), a speedscope document, a gzipped pprof profile
 * (go tool pprof and the continuous-profiling services), or a JSON dump of the summary and the
 * top functions.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "callgrind.h"
#include "capture.h"
#include "cli.h"
#include "commands.h"
#include "export.h"
#include "jsonw.h"
#include "outfile.h"
#include "pprof.h"
#include "profile.h"
#include "pyprof.h"
#include "views.h"

const char cmd_export_usage[] =
    "usage: perfsight export INPUT --format folded|speedscope|pprof|json|callgrind -o FILE\n"
    "                        [--view native|mixed|python] [--event NAME]\n"
    "                        [--weight samples|period|seconds]\n"
    "\n"
    "Writes a capture in a format other tools read. INPUT is told by its content, as in\n"
    "perfsight collapse: a perf.data capture (- reads pipe mode from standard input), a\n"
    "perfsight database (the capture named by --capture when it holds several), or a profiler\n"
    "dump (pyinstrument session, JSON or HTML, speedscope, folded stacks, or a directory of\n"
    "per-request dumps, merged). A call-graph profile (a cProfile/pstats dump, a callgrind\n"
    "file) has caller-callee edges and no stacks: it exports as json or callgrind only.\n"
    "\n"
    "  --format folded      one line per distinct stack, 'root;...;leaf WEIGHT', sorted, as\n"
    "                       FlameGraph's stackcollapse tools write them\n"
    "  --format speedscope  a speedscope file (one sampled profile per thread; a clock's\n"
    "                       samples weigh their CPU seconds, unit \"seconds\")\n"
    "  --format pprof       a gzipped pprof profile (profile.proto): go tool pprof, Pyroscope,\n"
    "                       Parca, Grafana and Google Cloud Profiler read it; values: samples\n"
    "                       and CPU ns (or wall ns of a dump); labels pid, tid, comm, process\n"
    "                       and the worker role; functions with file and line where known\n"
    "  --format json        {\"summary\", \"top_functions\"}: what was read and the functions\n"
    "                       by total and self weight; for a call-graph profile, the whole\n"
    "                       graph (perfsight-callgraph/1: every function and edge with its\n"
    "                       calls and costs, docs/callgraph.md)\n"
    "  --format callgrind   a call-graph profile as a callgrind file (callgrind_annotate and\n"
    "                       KCachegrind read it; pstats seconds become nanoseconds)\n"
    "  -o FILE              the output, written atomically ('-' for standard output)\n"
    "  --view V             native (default: every frame as recorded), mixed or python\n"
    "  --event NAME         only the samples of this event (default: a perf capture's first\n"
    "                       sampling event, as collapse; every row of a profiler dump)\n"
    "  --weight W           samples, period, or seconds (wall time); the default is the\n"
    "                       input's own unit: seconds for pyinstrument and for speedscope\n"
    "                       of a clock (cpu-clock, task-clock), counts otherwise\n"
    "  --capture WHICH      the capture of a database, by id or label\n"
    "  --symfs DIR, --app-dir DIR, --jit-maps DIR, --kallsyms FILE\n"
    "                       where symbols are found, as in perfsight collapse\n"
    "\n"
    "exit status: 0 ok, 1 written with data-dropping diagnostics, 2 usage, 3 bad input,\n"
    "4 output error\n"
    "examples: perfsight export fixtures/pyinstrument/flask-testclient.pyisession \\\n"
    "              --format speedscope -o flask.speedscope.json\n"
    "          perfsight export fixtures/py312-threads-dwarf/perf.data --format folded \\\n"
    "              --view python -o threads.folded\n"
    "          perfsight export perf.data --format pprof --view python -o profile.pb.gz &&\n"
    "              go tool pprof -top profile.pb.gz\n";

enum fmt { FMT_NONE, FMT_FOLDED, FMT_SPEEDSCOPE, FMT_PPROF, FMT_JSON, FMT_CALLGRIND };

static const char *kind_name(const struct pfs_capture *c)
{
	if (c->kind == PFS_CAPTURE_PERF)
		return "perf.data";
	if (c->kind == PFS_CAPTURE_DB)
		return "database";
	return pfs_pyprof_kind_name(c->pyprof.kind);
}

static void write_diags(struct pfs_jsonw *w, const struct pfs_diag *d)
{
	for (size_t i = 0; d && i < d->n; i++) {
		pfs_jsonw_obj(w);
		pfs_jsonw_key(w, "code");
		pfs_jsonw_str(w, d->v[i].code);
		pfs_jsonw_key(w, "severity");
		pfs_jsonw_str(w, pfs_severity_name(d->v[i].sev));
		pfs_jsonw_key(w, "count");
		pfs_jsonw_u64(w, d->v[i].count);
		pfs_jsonw_key(w, "message");
		pfs_jsonw_str(w, d->v[i].msg);
		pfs_jsonw_end_obj(w);
	}
}

static void write_pyprof_caps(struct pfs_jsonw *w, const struct pfs_capture *s)
{
	pfs_jsonw_key(w, "captures");
	pfs_jsonw_arr(w);
	for (size_t i = 0; i < s->pyprof.n_caps; i++) {
		const struct pfs_pyprof_capture *c = &s->pyprof.caps[i];
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
}

static void write_events(struct pfs_jsonw *w, const struct pfs_capture *s)
{
	pfs_jsonw_key(w, "events");
	pfs_jsonw_arr(w);
	for (size_t i = 0; i < pfs_profile_n_events(s->prof); i++)
		pfs_jsonw_str(w, pfs_profile_strget(
				     s->prof, pfs_profile_event(s->prof, (uint32_t)i)->name, NULL));
	pfs_jsonw_end_arr(w);
}

/* What was read: the capture's own description, then its diagnostics. */
static void write_summary(struct pfs_jsonw *w, const struct pfs_capture *s)
{
	const struct pfs_capture_info *in = &s->info;
	pfs_jsonw_obj(w);
	pfs_jsonw_key(w, "source");
	pfs_jsonw_str(w, kind_name(s));
	pfs_jsonw_key(w, "label");
	pfs_jsonw_str(w, in->label);
	if (s->kind == PFS_CAPTURE_PYPROF) {
		pfs_jsonw_key(w, "unit");
		pfs_jsonw_str(w, s->pyprof.unit == PFS_PYPROF_SECONDS	? "seconds"
				 : s->pyprof.unit == PFS_PYPROF_SAMPLES ? "samples"
									: "mixed");
		pfs_jsonw_key(w, "rows");
		pfs_jsonw_u64(w, s->pyprof.rows);
		pfs_jsonw_key(w, "weight");
		pfs_jsonw_dbl(w, s->pyprof.weight);
		write_pyprof_caps(w, s);
	} else {
		pfs_jsonw_key(w, "rows");
		pfs_jsonw_u64(w, s->rows);
		pfs_jsonw_key(w, "host");
		pfs_jsonw_str(w, in->host);
		pfs_jsonw_key(w, "command");
		pfs_jsonw_str(w, in->cmdline);
		pfs_jsonw_key(w, "perf_version");
		pfs_jsonw_str(w, in->perf_version);
		pfs_jsonw_key(w, "kernel");
		pfs_jsonw_str(w, in->os_release);
		pfs_jsonw_key(w, "recorded");
		pfs_jsonw_str(w, in->recorded);
		pfs_jsonw_key(w, "duration_s");
		pfs_jsonw_dbl(w, in->duration_s);
		if (in->lost_samples != UINT64_MAX) {
			pfs_jsonw_key(w, "lost_samples");
			pfs_jsonw_u64(w, in->lost_samples);
		}
		write_events(w, s);
	}
	pfs_jsonw_key(w, "diagnostics");
	pfs_jsonw_arr(w);
	write_diags(w, &s->diag);
	pfs_jsonw_end_arr(w);
	pfs_jsonw_end_obj(w);
}

static int write_json(FILE *f, struct pfs_capture *s, const struct pfs_export_opts *eo,
		      struct pfs_err *err)
{
	struct pfs_jsonw w;
	size_t n;
	double all;
	struct pfs_topfn *t = pfs_topfn_compute(s->agg, s->prof, s->views, eo, &n, &all);
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

/* A call-graph profile, in the formats that keep what it is: edges, not stacks. */
static int export_graph(const struct cli_cmd *self, struct pfs_capture *s, const char *input,
			enum fmt fmt, const char *output)
{
	struct pfs_outfile of = {0};
	struct pfs_err err;
	int rc;
	if (!s->graph)
		return cli_usage_error(self,
				       "--format callgrind takes a call-graph profile (pstats or "
				       "callgrind); %s is not one",
				       input);
	if (fmt != FMT_JSON && fmt != FMT_CALLGRIND)
		return cli_usage_error(self,
				       "%s is a call-graph profile (%s): caller-callee edges, no "
				       "stacks to fold; export it as json or callgrind (perfsight "
				       "report shows its call graph)",
				       input, pfs_cg_format_name(pfs_cg_format(s->graph)));
	if (pfs_outfile_open(&of, output, &err) < 0) {
		cli_fail(output, &err);
		return EXIT_INTERNAL;
	}
	if (fmt == FMT_JSON)
		rc = pfs_cg_write_json(s->graph, s->info.label, &s->diag, of.f, &err);
	else
		rc = pfs_callgrind_write(s->graph, of.f, &err);
	if (rc < 0 || pfs_outfile_commit(&of, &err) < 0) {
		pfs_outfile_abort(&of);
		cli_fail(output, &err);
		return EXIT_INTERNAL;
	}
	cli_print_diags(stderr, input, &s->diag);
	cli_wrote(fmt == FMT_JSON ? "export (json)" : "export (callgrind)", output);
	return cli_diag_exit(&s->diag);
}

static int write_pprof(FILE *f, struct pfs_capture *s, const struct pfs_export_opts *eo,
		       struct pfs_err *err)
{
	struct pfs_pprof_opts po = {
	    .event = eo->event,
	    .view = eo->view,
	    .weight = eo->weight,
	    .name = s->info.label,
	    .event_name =
		eo->event >= 0
		    ? pfs_profile_strget(
			  s->prof, pfs_profile_event(s->prof, (uint32_t)eo->event)->name, NULL)
		    : NULL,
	    .duration_s = s->info.duration_s,
	    .start_time = NAN,
	    .analysis = s->analysis,
	};
	return pfs_pprof_write(s->agg, s->prof, s->views, &po, f, err);
}

int cmd_export(int argc, char **argv)
{
	enum { O_FORMAT = 256, O_VIEW, O_EVENT, O_WEIGHT };
	static const struct option opts[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"format", required_argument, NULL, O_FORMAT},
	    {"view", required_argument, NULL, O_VIEW},
	    {"event", required_argument, NULL, O_EVENT},
	    {"weight", required_argument, NULL, O_WEIGHT},
	    CLI_CAPTURE_LONGOPTS,
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const struct cli_cmd *self = cli_find("export");
	if (cli_is_help(self, argc, argv))
		return cli_finish_stdout(EXIT_OK);
	struct pfs_capture_opts co = {0};
	const char *output = NULL, *event = NULL, *weight = NULL;
	enum fmt fmt = FMT_NONE;
	int view = PFS_VIEW_NATIVE, ev = -1, rc, c;
	struct pfs_capture s;
	struct pfs_outfile of = {0};
	struct pfs_err err;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case O_FORMAT:
			fmt = !strcmp(optarg, "folded")	      ? FMT_FOLDED
			      : !strcmp(optarg, "speedscope") ? FMT_SPEEDSCOPE
			      : !strcmp(optarg, "pprof")      ? FMT_PPROF
			      : !strcmp(optarg, "json")	      ? FMT_JSON
			      : !strcmp(optarg, "callgrind")  ? FMT_CALLGRIND
							      : FMT_NONE;
			if (fmt == FMT_NONE)
				return cli_usage_error(self, "unknown format '%s'", optarg);
			break;
		case O_VIEW:
			view = pfs_view_parse(optarg);
			if (view < 0)
				return cli_usage_error(self, "unknown view '%s'", optarg);
			break;
		case O_EVENT:
			event = optarg;
			break;
		case O_WEIGHT:
			weight = optarg;
			if (strcmp(weight, "samples") && strcmp(weight, "period") &&
			    strcmp(weight, "seconds"))
				return cli_usage_error(self, "unknown weight '%s'", weight);
			break;
		default:
			if (cli_capture_option(c, optarg, &co))
				break;
			return cli_usage_error(self, "unknown option or missing value '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind == argc)
		return cli_usage_error(self, "missing INPUT");
	if (optind != argc - 1)
		return cli_usage_error(self, "one INPUT only ('%s' and '%s')", argv[optind],
				       argv[optind + 1]);
	if (fmt == FMT_NONE)
		return cli_usage_error(self, "missing --format");
	if (!output)
		return cli_usage_error(self, "missing -o FILE");
	const char *input = argv[optind];
	/* pprof's role labels and CPU-time unit come from the Python analysis */
	co.analysis = fmt == FMT_PPROF;
	if ((rc = cli_load_capture(self, &s, input, &co)) >= 0)
		goto out;
	if (s.graph || fmt == FMT_CALLGRIND) {
		rc = export_graph(self, &s, input, fmt, output);
		goto out;
	}
	if (pfs_capture_fold_event(&s, event, &ev) < 0) {
		rc = cli_usage_error(self, "%s has no event '%s'", input, event);
		goto out;
	}
	enum pfs_fold_weight wt = pfs_capture_default_weight(&s);
	if (weight)
		wt = !strcmp(weight, "samples")	 ? PFS_FOLD_SAMPLES
		     : !strcmp(weight, "period") ? PFS_FOLD_PERIOD
						 : PFS_FOLD_SECONDS;
	if (pfs_outfile_open(&of, output, &err) < 0) {
		cli_fail(output, &err);
		rc = EXIT_INTERNAL;
		goto out;
	}
	struct pfs_fold_opts fo = {
	    .event = ev, .root = PFS_FOLD_NONE, .weight = wt, .view = (enum pfs_view)view};
	/* speedscope shows times when the weights are times: a clock's samples, by default */
	struct pfs_export_opts eo = {.event = ev,
				     .view = (enum pfs_view)view,
				     .weight = wt,
				     .name = s.info.label,
				     .clock_seconds = !weight};
	if (fmt == FMT_FOLDED)
		rc = pfs_agg_write_folded(s.agg, s.prof, s.views, &fo, of.f, &err);
	else if (fmt == FMT_SPEEDSCOPE)
		rc = pfs_export_speedscope(s.agg, s.prof, s.views, &eo, of.f, &err);
	else if (fmt == FMT_PPROF)
		rc = write_pprof(of.f, &s, &eo, &err);
	else
		rc = write_json(of.f, &s, &eo, &err);
	if (rc < 0 || pfs_outfile_commit(&of, &err) < 0) {
		pfs_outfile_abort(&of);
		cli_fail(output, &err);
		rc = EXIT_INTERNAL;
		goto out;
	}
	cli_print_diags(stderr, input, &s.diag);
	rc = cli_diag_exit(&s.diag);
	cli_wrote(fmt == FMT_FOLDED	  ? "export (folded)"
		  : fmt == FMT_SPEEDSCOPE ? "export (speedscope)"
		  : fmt == FMT_PPROF	  ? "export (pprof)"
					  : "export (json)",
		  output);
out:
	pfs_capture_release(&s);
	return cli_finish_stdout(rc);
}
