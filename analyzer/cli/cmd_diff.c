/*
 * perfsight diff: what changed between two captures and whether it is beyond sampling noise
 * (lib/diff.h), as text, perfsight-diff/1 JSON, and a self-contained HTML page with a
 * differential flame graph.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "cli.h"
#include "commands.h"
#include "diff.h"
#include "html.h"
#include "outfile.h"
#include "pair.h"

const char cmd_diff_usage[] =
    "usage: perfsight diff BASE [--capture WHICH] NEW [--capture WHICH] [-o DIFF.html]\n"
    "                      [--json FILE] [--view python|mixed|native] [--title T]\n"
    "       perfsight diff DB --base WHICH --new WHICH [...]\n"
    "\n"
    "Compares NEW against BASE: per function (self and total) and per call path, the share of\n"
    "each capture's samples before and after, the change in points, and whether it is beyond\n"
    "sampling noise (a two-proportion test per row, adjusted for the number of rows tested;\n"
    "docs/diff-statistics.md); the same per worker role and CPU category, the GC share and\n"
    "pauses and the GIL wait per role where both captures measured them (else 'not\n"
    "comparable'), and for directories of request dumps the median and p95 duration per\n"
    "endpoint. Prints the significant changes, largest first, one line each.\n"
    "\n"
    "BASE and NEW are any inputs perfsight reads (perf.data, a database, a profiler dump);\n"
    "--capture after a database names its capture, or --base and --new name two captures of\n"
    "one database.\n"
    "\n"
    "  -o, --output F   the HTML page: a differential flame graph (NEW's shape, red where it\n"
    "                   grew, blue where it shrank, grey within noise; a toggle shows BASE's\n"
    "                   shape), with search, zoom and the three views, and the tables\n"
    "  --json FILE      the perfsight-diff/1 document (docs/diff.md); - for standard output\n"
    "                   (the text is then not printed)\n"
    "  --title T        the HTML page's title\n"
    "  --templates DIR  report templates (as in perfsight report)\n" PAIR_USAGE
    "  --symfs DIR, --app-dir DIR, --jit-maps DIR, --kallsyms FILE\n"
    "                   where symbols are found, as in perfsight collapse\n"
    "\n"
    "exit status: 0 compared, 2 usage, 3 an input is unreadable, 4 output error\n"
    "example: perfsight diff base/perf.data new/perf.data -o diff.html\n"
    "         perfsight diff runs.db --base build-41 --new build-42 --json -\n";

static const struct cli_cmd *self(void)
{
	return cli_find("diff");
}

/* The diff's document with its trees: what the page embeds. */
int cli_diff_page_data(const void *d, FILE *f, struct pfs_err *err)
{
	return pfs_diff_write_json(d, f, false, true, err);
}

static int write_json(const struct pfs_diff *d, const char *path)
{
	struct pfs_outfile of = {0};
	struct pfs_err err;
	if (pfs_outfile_open(&of, path, &err) < 0 ||
	    pfs_diff_write_json(d, of.f, true, false, &err) < 0 ||
	    pfs_outfile_commit(&of, &err) < 0) {
		pfs_outfile_abort(&of);
		cli_fail(path, &err);
		return EXIT_INTERNAL;
	}
	return EXIT_OK;
}

int cmd_diff(int argc, char **argv)
{
	enum { O_JSON = 256, O_TITLE, O_TEMPL, O_BASE, O_NEW };
	static const struct option opts[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"json", required_argument, NULL, O_JSON},
	    {"title", required_argument, NULL, O_TITLE},
	    {"templates", required_argument, NULL, O_TEMPL},
	    {"base", required_argument, NULL, O_BASE},
	    {"new", required_argument, NULL, O_NEW},
	    PAIR_LONGOPTS,
	    CLI_CAPTURE_LONGOPTS,
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct pfs_capture_opts co = {0};
	struct pfs_diff_opts dopt;
	const char *out = NULL, *json = NULL, *title = NULL, *tdir = NULL;
	const char *in[2] = {NULL, NULL}, *which[2] = {NULL, NULL};
	size_t n_in = 0;
	char *found = NULL;
	struct pfs_capture b, n;
	struct pfs_diff *d = NULL;
	struct pfs_err err;
	int c, ex, r;
	pair_opts_init(&dopt);
	optind = 1;
	opterr = 0;
	/* '-': inputs come back in order (as option 1), so --capture names the one before it */
	while ((c = getopt_long(argc, argv, "-o:h", opts, NULL)) != -1) {
		switch (c) {
		case 1:
			if (n_in == 2)
				return cli_usage_error(
				    self(), "expects BASE and NEW, not also '%s'", optarg);
			in[n_in++] = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case O_JSON:
			json = optarg;
			break;
		case O_TITLE:
			title = optarg;
			break;
		case O_TEMPL:
			tdir = optarg;
			break;
		case O_BASE:
			which[0] = optarg;
			break;
		case O_NEW:
			which[1] = optarg;
			break;
		case CLI_O_CAPTURE:
			if (!n_in)
				return cli_usage_error(self(),
						       "--capture follows the input it names");
			which[n_in - 1] = optarg;
			break;
		default:
			if ((r = pair_option(self(), c, optarg, &dopt)) > 1)
				return r;
			if (r == 1 || cli_capture_option(c, optarg, &co))
				break;
			return cli_usage_error(self(), "unknown option or missing value '%s'",
					       argv[optind - 1]);
		}
	}
	if (n_in == 1 && which[0] && which[1])
		in[n_in++] = in[0]; /* DB --base L1 --new L2 */
	else if ((which[0] || which[1]) && n_in == 1)
		return cli_usage_error(self(), "--base and --new go together, with one database");
	if (n_in != 2)
		return cli_usage_error(self(), "expects BASE and NEW");
	if (out && (ex = cli_templates("diff", &tdir, &found)) >= 0)
		return ex;
	dopt.trees = out != NULL;
	if ((ex = pair_load(self(), &b, in[0], which[0], &n, in[1], which[1], &co)) >= 0)
		goto done;
	if (pfs_diff_new(&d, &b, &n, &dopt, &err) < 0) {
		ex = cli_usage_error(self(), "%s", err.msg);
		goto done;
	}
	ex = EXIT_OK;
	if (!json || strcmp(json, "-")) {
		if (pfs_diff_write_text(d, stdout, 100, &err) < 0)
			ex = EXIT_INTERNAL;
	}
	if (json && ex == EXIT_OK)
		ex = write_json(d, json);
	if (out && ex == EXIT_OK) {
		char deftitle[512];
		if (!title) {
			snprintf(deftitle, sizeof(deftitle), "perfsight diff: %s -> %s",
				 b.info.label, n.info.label);
			title = deftitle;
		}
		ex = cli_json_page(cli_diff_page_data, d, pfs_html_write_diff, tdir, title, out);
		if (ex == EXIT_OK)
			cli_wrote("diff report", out);
	}
done:
	pfs_diff_free(d);
	pfs_capture_release(&b);
	pfs_capture_release(&n);
	free(found);
	return cli_finish_stdout(ex);
}
