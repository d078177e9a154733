/*
 * perfsight trend: figures across the captures of a database (lib/trend.h), from what import
 * kept for each: a table, perfsight-trend/1 JSON, or a page of small line charts.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "html.h"
#include "outfile.h"
#include "store.h"
#include "trend.h"

const char cmd_trend_usage[] =
    "usage: perfsight trend DB [--labels GLOB] [--metric M]... [--top N] [--sort import|label]\n"
    "                       [-o TREND.html] [--json FILE] [--reports DIR]\n"
    "\n"
    "Per capture of the database, in import order or by label: samples, CPU seconds per\n"
    "worker, GC share, GC p99 pause, GIL wait share, cut-stack share, and the total shares of\n"
    "the heaviest functions over the whole series. Read from the figures import keeps for each\n"
    "capture, never from its samples (a thousand captures take well under a second); a figure\n"
    "a capture did not measure is '-' (null), never 0. Captures imported by an older\n"
    "perfsight, and profiler dumps, have their samples only (import them again with\n"
    "--replace).\n"
    "\n"
    "  --labels GLOB    only the captures whose label matches (fnmatch, e.g. 'build-*')\n"
    "  --metric M       only these figures (repeat): samples, cpu_per_worker_s, gc_share,\n"
    "                   gc_pause_p99_ms, gil_wait_share, cut_stack_share, functions\n"
    "  --top N          functions charted, the heaviest over the series (5)\n"
    "  --sort S         import (default) or label (natural order: build-9 before build-10)\n"
    "  -o, --output F   the page: one small chart per figure, each point linked to its\n"
    "                   capture (self-contained, inline SVG, nothing fetched)\n"
    "  --json FILE      the perfsight-trend/1 document (docs/trend.md); - for standard output\n"
    "  --reports DIR    link each point to DIR/ID.html (what perfsight report DB --each writes)\n"
    "  --templates DIR  report templates (as in perfsight report)\n"
    "\n"
    "exit status: 0 ok, 2 usage, 3 not a perfsight database, 4 output error\n"
    "example: perfsight trend runs.db --labels 'build-*' --sort label -o trend.html\n";

static const struct cli_cmd *self(void)
{
	return cli_find("trend");
}

static int write_json_file(const struct pfs_trend *t, const char *path)
{
	struct pfs_outfile of = {0};
	struct pfs_err err;
	if (pfs_outfile_open(&of, path, &err) < 0 ||
	    pfs_trend_write_json(t, of.f, true, &err) < 0 || pfs_outfile_commit(&of, &err) < 0) {
		pfs_outfile_abort(&of);
		cli_fail(path, &err);
		return EXIT_INTERNAL;
	}
	return EXIT_OK;
}

static int page_data(const void *t, FILE *f, struct pfs_err *err)
{
	return pfs_trend_write_json(t, f, false, err);
}

int cli_trend_page(const struct pfs_trend *t, const char *tdir, const char *title, const char *out)
{
	return cli_json_page(page_data, t, pfs_html_write_trend, tdir, title, out);
}

int cli_trend_load(const char *db, const struct pfs_trend_opts *to, struct pfs_trend **out)
{
	struct pfs_store *st = NULL;
	struct pfs_store_capture *caps = NULL;
	struct pfs_store_trend *rows = NULL;
	struct pfs_err err;
	int n_caps = 0, n_rows = 0, ex = EXIT_OK;
	*out = NULL;
	if (pfs_capture_detect(db, &err) != PFS_CAPTURE_DB) {
		fprintf(stderr, "perfsight: %s: not a perfsight database\n", db);
		return EXIT_INPUT;
	}
	if (pfs_store_open(&st, db, PFS_STORE_READONLY, &err) < 0 ||
	    (n_caps = pfs_store_captures(st, &caps, &err)) < 0 ||
	    (n_rows = pfs_store_trend(st, to->labels, to->top ? to->top : PFS_TREND_TOP, &rows,
				      &err)) < 0) {
		ex = cli_fail(db, &err);
		goto out;
	}
	if (pfs_trend_new(out, caps, (size_t)n_caps, rows, (size_t)n_rows, to, &err) < 0)
		ex = cli_usage_error(self(), "%s", err.msg);
out:
	if (n_rows > 0)
		pfs_store_trend_free(rows, (size_t)n_rows);
	if (n_caps > 0)
		pfs_store_captures_free(caps, (size_t)n_caps);
	pfs_store_close(st);
	return ex;
}

int cmd_trend(int argc, char **argv)
{
	enum { O_LABELS = 256, O_METRIC, O_TOP, O_SORT, O_JSON, O_REPORTS, O_TEMPL };
	static const struct option opts[] = {
	    {"labels", required_argument, NULL, O_LABELS},
	    {"metric", required_argument, NULL, O_METRIC},
	    {"top", required_argument, NULL, O_TOP},
	    {"sort", required_argument, NULL, O_SORT},
	    {"output", required_argument, NULL, 'o'},
	    {"json", required_argument, NULL, O_JSON},
	    {"reports", required_argument, NULL, O_REPORTS},
	    {"templates", required_argument, NULL, O_TEMPL},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct pfs_trend_opts to = {0};
	const char *metrics[16];
	size_t n_metrics = 0;
	const char *out = NULL, *json = NULL, *tdir = NULL;
	char *found = NULL, *end;
	struct pfs_trend *t = NULL;
	struct pfs_err err;
	int c, ex;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case O_LABELS:
			to.labels = optarg;
			break;
		case O_METRIC:
			if (n_metrics + 1 >= sizeof(metrics) / sizeof(metrics[0]))
				return cli_usage_error(self(), "too many --metric");
			metrics[n_metrics++] = optarg;
			metrics[n_metrics] = NULL;
			to.metrics = metrics;
			break;
		case O_TOP:
			to.top = strtoul(optarg, &end, 10);
			if (end == optarg || *end || !to.top || to.top > 100)
				return cli_usage_error(self(), "--top: 1 to 100, not '%s'", optarg);
			break;
		case O_SORT:
			if (strcmp(optarg, "import") && strcmp(optarg, "label"))
				return cli_usage_error(self(), "--sort: import or label, not '%s'",
						       optarg);
			to.by_label = !strcmp(optarg, "label");
			break;
		case 'o':
			out = optarg;
			break;
		case O_JSON:
			json = optarg;
			break;
		case O_REPORTS:
			to.link_dir = optarg;
			break;
		case O_TEMPL:
			tdir = optarg;
			break;
		default:
			return cli_usage_error(self(), "unknown option or missing value '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return cli_usage_error(self(), "expects one DB");
	if (out && (ex = cli_templates("trend", &tdir, &found)) >= 0)
		return ex;
	if ((ex = cli_trend_load(argv[optind], &to, &t)) != EXIT_OK)
		goto done;
	if ((!json || strcmp(json, "-")) && pfs_trend_write_text(t, stdout, &err) < 0)
		ex = EXIT_INTERNAL;
	if (json && ex == EXIT_OK)
		ex = write_json_file(t, json);
	if (out && ex == EXIT_OK) {
		char title[512];
		snprintf(title, sizeof(title), "perfsight trend: %s", argv[optind]);
		ex = cli_trend_page(t, tdir, title, out);
		if (ex == EXIT_OK && strcmp(out, "-"))
			fprintf(stderr, "trend: %s\n", out);
	}
done:
	pfs_trend_free(t);
	free(found);
	return cli_finish_stdout(ex);
}
