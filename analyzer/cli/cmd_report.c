/*
 * perfsight report: the self-contained HTML report of a capture (perf.data, a perfsight
 * database or a profiler dump, loaded through capture), or of report data made elsewhere
 * (--data), rendered through the templates in report-templates/.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <sys/stat.h>

#include "capture.h"
#include "cli.h"
#include "commands.h"
#include "html.h"
#include "reportdata.h"
#include "slurp.h"
#include "store.h"
#include "trend.h"
#include "xalloc.h"

const char cmd_report_usage[] =
    "usage: perfsight report INPUT -o REPORT.html [--title T] [--capture ID|LABEL]\n"
    "                        [--event NAME] [--symfs DIR] [--app-dir DIR] [--jit-maps DIR]\n"
    "                        [--kallsyms FILE] [--templates DIR]\n"
    "       perfsight report --data DATA.json -o REPORT.html [--title T] [--templates DIR]\n"
    "       perfsight report DB --each -o DIR/ [--templates DIR]\n"
    "\n"
    "Writes one self-contained HTML file (no network fetch; a Content-Security-Policy forbids\n"
    "it): summary with headline findings and warnings, workers (click one to filter the whole\n"
    "report), flame graph (python/mixed/native views, zoom, search, flame or icicle), top\n"
    "functions with callers and callees, GC pauses and GIL waits with their Python stacks, a\n"
    "per-thread timeline, and the call tree and slowest requests of pyinstrument dumps.\n"
    "\n"
    "INPUT is told by its content, as in perfsight collapse: a perf.data capture (- reads pipe\n"
    "mode from standard input; the Python analysis runs on it), a perfsight database (the\n"
    "capture named by --capture when it holds several; the report data import made is read\n"
    "back, or rebuilt from the samples when import did not make it or with --event), a\n"
    "profiler dump (pyinstrument, speedscope, folded stacks, or a directory of them, merged),\n"
    "or a call-graph profile (a cProfile/pstats dump, a callgrind file): its report is a\n"
    "call-graph section: the functions with calls and per-call costs, each one's callers and\n"
    "callees, and the hottest paths and a call tree reconstructed from the edges (labelled\n"
    "as an estimate: such a profile has no stacks); --event picks a callgrind event.\n"
    "\n"
    "  -o, --output F   the HTML file, written atomically (- for standard output)\n"
    "  --title T        the report title (default: perfsight: the capture's label)\n"
    "  --capture WHICH  the capture of a database, by id or label\n"
    "  --event NAME     the event whose samples the flame graphs count (default: every\n"
    "                   sampling event)\n"
    "  --symfs DIR, --app-dir DIR, --jit-maps DIR, --kallsyms FILE\n"
    "                   where symbols are found, as in perfsight collapse\n"
    "  --each           a database: one report per capture, DIR/ID.html, and DIR/index.html\n"
    "                   that links them above the trend charts (perfsight trend); the report\n"
    "                   data import kept is used as it is, never recomputed\n"
    "  --data FILE      render report data (the JSON model of docs/report-data.md) instead\n"
    "                   of a capture (- for standard input)\n"
    "  --templates DIR  report templates (default: $PERFSIGHT_TEMPLATES, the source tree's\n"
    "                   report-templates/, or PREFIX/share/perfsight/report-templates)\n"
    "\n"
    "exit status: 0 ok, 1 written but the input had data-dropping diagnostics (listed),\n"
    "2 usage, 3 unreadable input, 4 templates or output failed\n"
    "example: perfsight report fixtures/gunicorn-gthread-pipe/perf.data -o report.html\n";

/* Report data larger than this is not a report anyone can open in a browser. */
#define DATA_MAX ((size_t)1 << 30)

static const struct cli_cmd *self(void)
{
	return cli_find("report");
}

static int render_data(const char *tdir, const char *data, const char *title, const char *out)
{
	char *buf = NULL;
	size_t len;
	struct pfs_err err;
	if (cli_slurp(data, DATA_MAX, &buf, &len, &err) < 0)
		return cli_fail(data, &err);
	int rc = pfs_html_write_report(tdir, buf, len, title, out, &err);
	free(buf);
	if (rc < 0)
		return !strncmp(err.msg, "report data", 11) ? cli_fail(data, &err)
							    : cli_fail_output(out, &err);
	return EXIT_OK;
}

/* Loads file, writes its report data to memory, renders it; *stored (may be NULL) says
 * whether the data was the one import kept. */
static int render_capture(const char *tdir, const char *file, const struct pfs_capture_opts *co,
			  const char *event, const char *title, const char *out, bool *stored)
{
	struct pfs_capture cap;
	struct pfs_err err;
	int ev = -1;
	char *json = NULL, *deftitle = NULL;
	size_t len = 0;
	int ex;
	pfs_err_clear(&err);
	if ((ex = cli_load_capture(self(), &cap, file, co)) >= 0)
		goto out;
	if (stored)
		*stored = cap.report_json != NULL;
	if (event && (ev = pfs_capture_event(&cap, event)) < 0) {
		ex = cli_usage_error(self(), "%s: no event '%s' in capture %s", file, event,
				     cap.info.label);
		goto out;
	}
	if (!title) {
		size_t n = strlen(cap.info.label) + sizeof("perfsight: ");
		deftitle = pfs_xmalloc(n);
		snprintf(deftitle, n, "perfsight: %s", cap.info.label);
		title = deftitle;
	}
	if (pfs_capture_report_data(&cap, ev, title, &json, &len, &err) < 0) {
		ex = cli_fail(file, &err);
		goto out;
	}
	if (pfs_html_write_report(tdir, json, len, title, out, &err) < 0) {
		ex = cli_fail_output(out, &err);
		goto out;
	}
	cli_print_diags(stderr, file, &cap.diag);
	if (cap.analysis)
		cli_print_diags(stderr, file, pfs_analysis_diag(cap.analysis));
	ex = cli_diag_exit(&cap.diag);
out:
	free(json);
	free(deftitle);
	pfs_capture_release(&cap);
	return ex;
}

/* Every capture of db into dir/ID.html, then dir/index.html with the trend charts. */
static int render_each(const char *tdir, const char *db, const struct pfs_capture_opts *co,
		       const char *dir)
{
	struct pfs_store *st = NULL;
	struct pfs_store_capture *caps = NULL;
	struct pfs_err err;
	int n = 0, ex = EXIT_OK;
	size_t stored = 0;
	if (pfs_capture_detect(db, &err) != PFS_CAPTURE_DB)
		return cli_usage_error(self(), "--each takes a perfsight database, not %s", db);
	if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
		fprintf(stderr, "perfsight: %s: cannot make the directory: %s\n", dir,
			strerror(errno));
		return EXIT_INTERNAL;
	}
	if (pfs_store_open(&st, db, PFS_STORE_READONLY, &err) < 0 ||
	    (n = pfs_store_captures(st, &caps, &err)) < 0) {
		ex = cli_fail(db, &err);
		pfs_store_close(st);
		return ex;
	}
	pfs_store_close(st);
	for (int i = 0; i < n && ex == EXIT_OK; i++) {
		char which[32], out[4096];
		struct pfs_capture_opts o = *co;
		snprintf(which, sizeof(which), "%lld", (long long)caps[i].id);
		snprintf(out, sizeof(out), "%s/%lld.html", dir, (long long)caps[i].id);
		o.which = which;
		o.stored_report = true;
		bool was = false;
		int r = render_capture(tdir, db, &o, NULL, NULL, out, &was);
		stored += was;
		if (r != EXIT_OK && r != EXIT_DIAG)
			ex = r;
	}
	if (ex == EXIT_OK) {
		struct pfs_trend *t = NULL;
		struct pfs_trend_opts to = {.link_dir = ""};
		char index[4096], title[4200];
		snprintf(index, sizeof(index), "%s/index.html", dir);
		snprintf(title, sizeof(title), "perfsight: the captures of %s", db);
		if ((ex = cli_trend_load(db, &to, &t)) == EXIT_OK)
			ex = cli_trend_page(t, tdir, title, index);
		pfs_trend_free(t);
		if (ex == EXIT_OK)
			fprintf(stderr,
				"reports: %d in %s (%zu from stored report data), index %s\n", n,
				dir, stored, index);
	}
	pfs_store_captures_free(caps, (size_t)n);
	return ex;
}

int cmd_report(int argc, char **argv)
{
	enum { O_DATA = 256, O_TITLE, O_TEMPL, O_EVENT, O_EACH };
	static const struct option opts[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"data", required_argument, NULL, O_DATA},
	    {"title", required_argument, NULL, O_TITLE},
	    {"templates", required_argument, NULL, O_TEMPL},
	    CLI_CAPTURE_LONGOPTS,
	    {"event", required_argument, NULL, O_EVENT},
	    {"each", no_argument, NULL, O_EACH},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	if (cli_is_help(self(), argc, argv))
		return cli_finish_stdout(EXIT_OK);
	struct pfs_capture_opts co = {.analysis = true, .timeline = true};
	const char *data = NULL, *out = NULL, *title = NULL, *tdir = NULL, *event = NULL;
	char *found = NULL;
	bool each = false;
	int c, ex;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case O_DATA:
			data = optarg;
			break;
		case O_TITLE:
			title = optarg;
			break;
		case O_TEMPL:
			tdir = optarg;
			break;
		case O_EVENT:
			event = optarg;
			break;
		case O_EACH:
			each = true;
			break;
		default:
			if (cli_capture_option(c, optarg, &co))
				break;
			return cli_usage_error(self(), "unknown option or missing value '%s'",
					       argv[optind - 1]);
		}
	}
	if (data && optind != argc)
		return cli_usage_error(self(), "--data and INPUT ('%s') exclude each other",
				       argv[optind]);
	if (!data && optind != argc - 1)
		return cli_usage_error(self(), "expects one INPUT (or --data FILE)");
	if (!out)
		return cli_usage_error(self(), "-o is required");
	if ((ex = cli_templates("report", &tdir, &found)) >= 0)
		return ex;
	/* the data import kept counts every sampling event: one event is made anew */
	co.stored_report = !event;
	if (each && (data || event || title || co.which))
		ex = cli_usage_error(self(),
				     "--each makes every capture's report, untitled and of "
				     "every event: not with --data, --event, --title or --capture");
	else if (each)
		ex = render_each(tdir, argv[optind], &co, out);
	else if (data)
		ex = render_data(tdir, data, title, out);
	else
		ex = render_capture(tdir, argv[optind], &co, event, title, out, NULL);
	free(found);
	return cli_finish_stdout(ex);
}
