/*
 * perfsight flamegraph: a standalone interactive SVG flame graph of any capture, or of folded
 * stacks as flamegraph.pl takes them, with flamegraph.pl's options where they apply.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "cli.h"
#include "commands.h"
#include "export.h"
#include "folded.h"
#include "html.h"
#include "slurp.h"

const char cmd_flamegraph_usage[] =
    "usage: perfsight flamegraph INPUT -o OUT.svg [--view native|mixed|python] [--event NAME]\n"
    "                            [--capture ID|LABEL] [--weight samples|period]\n"
    "                            [--title T] [--subtitle S] [--width PX] [--minwidth PX]\n"
    "                            [--inverted] [--colors PALETTE] [--hash] [--countname NAME]\n"
    "                            [--symfs DIR] [--app-dir DIR] [--jit-maps DIR]\n"
    "                            [--kallsyms FILE] [--templates DIR]\n"
    "\n"
    "Draws a capture as an SVG that opens in any browser, with search (click Search, Ctrl-F,\n"
    "or open it as out.svg#s=REGEX) showing the matched share, and click-to-zoom. Every\n"
    "sample is drawn: frames narrower than --minwidth are merged into one [other] frame per\n"
    "parent, so the root's count is the total of `perfsight export INPUT --format folded` with\n"
    "the same --view, --event and --weight.\n"
    "\n"
    "INPUT is told by its content, as in perfsight collapse: a perf.data capture, a perfsight\n"
    "database (the capture named by --capture when it holds several), or a profiler dump\n"
    "(pyinstrument, speedscope, or a directory of them). A call-graph profile (a cProfile/\n"
    "pstats dump, a callgrind file) has no stacks: its graph is a call tree reconstructed from\n"
    "the caller-callee edges, an estimate, and its subtitle says so whatever --subtitle adds.\n"
    "Folded stacks (\"root;...;leaf COUNT\"\n"
    "lines, as stackcollapse-perf.pl writes them; - reads them from standard input) are drawn\n"
    "as they are, lines that are not folded stacks listed and skipped.\n"
    "\n"
    "  -o, --output F     the SVG file, written atomically (- for standard output)\n"
    "  --view V           native (default: every frame as recorded), mixed or python\n"
    "  --event NAME       the event to draw (default: a perf capture's first sampling event)\n"
    "  --capture WHICH    the capture of a database, by id or label\n"
    "  --weight W         samples (default for perf captures and databases) or period (summed\n"
    "                     periods: ns of wall time for pyinstrument dumps, their default)\n"
    "  --title T          title (default \"Flame Graph\", or \"Icicle Graph\" with --inverted)\n"
    "  --subtitle S       second title line\n"
    "  --width PX         image width (default 1200)\n"
    "  --minwidth PX      merge frames narrower than this (default 0.1)\n"
    "  --inverted         icicle graph: root at the top\n"
    "  --colors PALETTE   kind (default: colour by frame kind: Python app, library,\n"
    "                     interpreter, GC, GIL, kernel, native), hot, mem, io, red, green,\n"
    "                     blue, aqua, yellow, purple, orange\n"
    "  --hash             shade by function name, so a function keeps its colour across graphs\n"
    "  --countname NAME   what the counts are (default \"samples\", \"ns\" for periods)\n"
    "  --symfs DIR, --app-dir DIR, --jit-maps DIR, --kallsyms FILE\n"
    "                     where symbols are found, as in perfsight collapse\n"
    "  --templates DIR    where flamegraph.svg.js is (see perfsight report --help)\n"
    "\n"
    "exit status: 0 ok, 1 done but some input was dropped (listed), 2 usage, 3 unreadable\n"
    "input, 4 output failed\n"
    "example: perfsight flamegraph fixtures/gunicorn-gthread-pipe/perf.data --view python \\\n"
    "             --title 'gunicorn workers' -o flame.svg\n";

#define FOLDED_MAX ((size_t)4 << 30)

static const struct cli_cmd *self(void)
{
	return cli_find("flamegraph");
}

/* Reads folded text (flamegraph.pl's input) into t, listing the lines it could not read. */
static int tree_from_folded(const char *in, struct pfs_fg_tree *t, struct pfs_diag *d)
{
	char *buf = NULL;
	size_t len;
	struct pfs_err err;
	if (cli_slurp(in, FOLDED_MAX, &buf, &len, &err) < 0)
		return cli_fail(in, &err);
	long long lines = pfs_folded_read(buf, len, t, d, &err);
	free(buf);
	return lines < 0 ? cli_fail(in, &err) : EXIT_OK;
}

/* The subtitle of a flame graph reconstructed from edges: it says so, always. */
static const char reconstructed[] =
    "Reconstructed from caller-callee edges: an estimate, not measured stacks";

/* A call graph's reconstructed tree, folded, read back as the flame graph's tree. */
static int tree_from_graph(const char *in, const struct pfs_capture *cap, const char *event,
			   struct pfs_fg_opts *o, char **subtitle, struct pfs_fg_tree *t,
			   struct pfs_diag *d)
{
	struct pfs_cg_tree_opts to = {0};
	struct pfs_cg_tree ct;
	struct pfs_err err;
	char *buf = NULL;
	size_t len = 0;
	int ex = EXIT_OK, ev = event ? pfs_capture_event(cap, event) : 0;
	pfs_err_clear(&err);
	if (ev < 0)
		return cli_usage_error(self(), "%s has no event '%s'", in, event);
	to.event = (uint32_t)ev;
	if (asprintf(subtitle, "%s%s%s", reconstructed, o->subtitle ? ". " : "",
		     o->subtitle ? o->subtitle : "") < 0)
		*subtitle = NULL;
	o->subtitle = *subtitle ? *subtitle : reconstructed;
	if (!o->title)
		o->title = "Call graph (reconstructed)";
	if (!o->countname)
		o->countname =
		    pfs_cg_seconds(cap->graph) ? "ns" : pfs_cg_event_name(cap->graph, to.event);
	pfs_cg_tree_build(cap->graph, &to, &ct);
	FILE *mem = open_memstream(&buf, &len);
	if (!mem || pfs_cg_tree_write_folded(cap->graph, &ct, mem, &err) < 0 || fclose(mem) != 0 ||
	    pfs_folded_read(buf, len, t, d, &err) < 0) {
		if (!mem || !err.code)
			pfs_err_sys(&err, "cannot fold %s in memory", in);
		ex = cli_fail(in, &err);
	}
	pfs_cg_tree_release(&ct);
	free(buf);
	return ex;
}

/*
 * Folds a capture the way `export --format folded` does and reads that text back, so that the
 * graph and the export cannot disagree on a single count.
 */
static int tree_from_capture(const char *in, const struct pfs_capture_opts *co, const char *event,
			     const char *weight, enum pfs_view view, struct pfs_fg_opts *o,
			     char **subtitle, struct pfs_fg_tree *t, struct pfs_diag *d)
{
	struct pfs_capture cap;
	struct pfs_err err;
	char *buf = NULL;
	size_t len = 0;
	FILE *mem;
	int rc, ex = cli_load_capture(self(), &cap, in, co);
	if (ex >= 0)
		goto out;
	if (cap.graph) {
		ex = tree_from_graph(in, &cap, event, o, subtitle, t, d);
		pfs_diag_merge(d, &cap.diag);
		goto out;
	}
	ex = EXIT_OK;
	struct pfs_fold_opts fo = {.root = PFS_FOLD_NONE, .view = view};
	if (pfs_capture_fold_event(&cap, event, &fo.event) < 0) {
		ex = cli_usage_error(self(), "%s has no event '%s'", in, event);
		goto out;
	}
	fo.weight = pfs_capture_default_weight(&cap);
	/* the graph counts integers: a dump's seconds are drawn as their ns periods */
	if (fo.weight == PFS_FOLD_SECONDS)
		fo.weight = PFS_FOLD_PERIOD;
	if (weight)
		fo.weight = !strcmp(weight, "samples") ? PFS_FOLD_SAMPLES : PFS_FOLD_PERIOD;
	if (!o->countname && fo.weight == PFS_FOLD_PERIOD)
		o->countname = "ns";
	mem = open_memstream(&buf, &len);
	if (!mem) {
		pfs_err_sys(&err, "cannot fold %s in memory", in);
		ex = cli_fail(in, &err);
		goto out;
	}
	rc = pfs_agg_write_folded(cap.agg, cap.prof, cap.views, &fo, mem, &err);
	if (fclose(mem) != 0 && rc == 0)
		rc = pfs_err_sys(&err, "cannot fold %s in memory", in);
	if (rc < 0 || pfs_folded_read(buf, len, t, d, &err) < 0) {
		ex = cli_fail(in, &err);
		goto out;
	}
	pfs_diag_merge(d, &cap.diag);
out:
	free(buf);
	pfs_capture_release(&cap);
	return ex;
}

/* Folded text is drawn as it is: flamegraph.pl's input, read leniently. */
static bool is_folded(const char *in)
{
	struct pfs_err err;
	if (!strcmp(in, "-"))
		return true;
	return pfs_capture_detect(in, &err) == PFS_CAPTURE_PYPROF &&
	       pfs_pyprof_detect(in, &err) == PFS_PYPROF_FOLDED;
}

int cmd_flamegraph(int argc, char **argv)
{
	enum {
		O_TITLE = 256,
		O_SUBTITLE,
		O_COUNTNAME,
		O_TEMPL,
		O_COLORS,
		O_WIDTH,
		O_MINWIDTH,
		O_INVERTED,
		O_HASH,
		O_VIEW,
		O_EVENT,
		O_WEIGHT
	};
	static const struct option opts[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"title", required_argument, NULL, O_TITLE},
	    {"subtitle", required_argument, NULL, O_SUBTITLE},
	    {"countname", required_argument, NULL, O_COUNTNAME},
	    {"templates", required_argument, NULL, O_TEMPL},
	    {"colors", required_argument, NULL, O_COLORS},
	    {"width", required_argument, NULL, O_WIDTH},
	    {"minwidth", required_argument, NULL, O_MINWIDTH},
	    {"inverted", no_argument, NULL, O_INVERTED},
	    {"hash", no_argument, NULL, O_HASH},
	    {"view", required_argument, NULL, O_VIEW},
	    {"event", required_argument, NULL, O_EVENT},
	    CLI_CAPTURE_LONGOPTS,
	    {"weight", required_argument, NULL, O_WEIGHT},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	if (cli_is_help(self(), argc, argv))
		return cli_finish_stdout(EXIT_OK);
	struct pfs_fg_opts o = {.minwidth = -1};
	struct pfs_capture_opts co = {0};
	const char *out = NULL, *tdir = NULL, *event = NULL, *weight = NULL;
	int view = PFS_VIEW_NATIVE, c, rc;
	bool capture_opts = false;
	char *found = NULL, *end, *subtitle = NULL;
	struct pfs_err err;
	struct pfs_diag d;
	struct pfs_fg_tree t;
	unsigned long w;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case O_TITLE:
			o.title = optarg;
			break;
		case O_SUBTITLE:
			o.subtitle = optarg;
			break;
		case O_COUNTNAME:
			o.countname = optarg;
			break;
		case O_TEMPL:
			tdir = optarg;
			break;
		case O_COLORS:
			o.colors = optarg;
			if (!pfs_html_palette_ok(o.colors))
				return cli_usage_error(self(), "unknown palette '%s'", o.colors);
			break;
		case O_WIDTH:
			w = strtoul(optarg, &end, 10);
			if (*end || w < 30 || w > 100000)
				return cli_usage_error(self(), "--width wants 30..100000 pixels");
			o.width = (unsigned)w;
			break;
		case O_MINWIDTH:
			o.minwidth = strtod(optarg, &end);
			if (*end || !(o.minwidth >= 0 && o.minwidth <= 1000))
				return cli_usage_error(self(), "--minwidth wants 0..1000 pixels");
			break;
		case O_INVERTED:
			o.inverted = 1;
			break;
		case O_HASH:
			o.hash = 1;
			break;
		case O_VIEW:
			view = pfs_view_parse(optarg);
			if (view < 0)
				return cli_usage_error(self(), "unknown view '%s'", optarg);
			capture_opts = true;
			break;
		case O_EVENT:
			event = optarg;
			capture_opts = true;
			break;
		case CLI_O_CAPTURE:
			co.which = optarg;
			capture_opts = true;
			break;
		case O_WEIGHT:
			weight = optarg;
			if (strcmp(weight, "samples") && strcmp(weight, "period"))
				return cli_usage_error(
				    self(), "--weight is samples or period, not '%s'", weight);
			capture_opts = true;
			break;
		default:
			if (cli_capture_option(c, optarg, &co))
				break;
			return cli_usage_error(self(), "unknown option or missing value '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind == argc)
		return cli_usage_error(self(), "no input (a capture, a folded stacks file, or -)");
	if (optind != argc - 1)
		return cli_usage_error(self(), "one input only ('%s')", argv[optind + 1]);
	if (!out)
		return cli_usage_error(self(), "-o is required");
	const char *in = argv[optind];
	bool folded = is_folded(in);
	if (folded && capture_opts)
		return cli_usage_error(self(),
				       "%s is folded stacks: --view, --event, --capture and "
				       "--weight apply to captures only",
				       in);
	if (!tdir) {
		if (pfs_html_find_templates(&found, &err) < 0)
			return cli_fail("flamegraph", &err);
		tdir = found;
	}
	pfs_diag_init(&d);
	pfs_fg_tree_init(&t);
	rc = folded ? tree_from_folded(in, &t, &d)
		    : tree_from_capture(in, &co, event, weight, (enum pfs_view)view, &o, &subtitle,
					&t, &d);
	if (rc != EXIT_OK) {
		cli_print_diags(stderr, in, &d);
	} else if (!t.v[0].total) {
		cli_print_diags(stderr, in, &d);
		fprintf(stderr, "perfsight: %s: no samples to draw\n", in);
		rc = EXIT_INPUT;
	} else if (pfs_html_write_flamegraph_svg(tdir, &t, &o, out, &err) < 0) {
		rc = cli_fail_output(out, &err);
	} else {
		cli_print_diags(stderr, in, &d);
		rc = cli_diag_exit(&d);
	}
	pfs_fg_tree_release(&t);
	pfs_diag_release(&d);
	free(subtitle);
	free(found);
	return cli_finish_stdout(rc);
}
