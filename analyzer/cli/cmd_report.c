/*
 * perfsight report: the self-contained HTML report, rendered from report data
 * (docs/report-data.md) through the templates in report-templates/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "html.h"
#include "slurp.h"

const char cmd_report_usage[] =
    "usage: perfsight report --data DATA.json -o REPORT.html [--title T] [--templates DIR]\n"
    "\n"
    "Writes one self-contained HTML file (no network fetch; a Content-Security-Policy forbids\n"
    "it) from report data in the JSON model of docs/report-data.md: summary and warnings,\n"
    "workers, flame graph (python/mixed/native, zoom, search), top functions with callers and\n"
    "callees, GC and GIL pauses with their Python stacks, per-thread timeline, and the\n"
    "pyinstrument call tree when the data has one.\n"
    "\n"
    "  --data FILE      the report data (- for standard input)\n"
    "  -o, --output F   the HTML file, written atomically (- for standard output)\n"
    "  --title T        the report title (default \"perfsight report\")\n"
    "  --templates DIR  report templates (default: $PERFSIGHT_TEMPLATES, the source tree's\n"
    "                   report-templates/, or PREFIX/share/perfsight/report-templates)\n"
    "\n"
    "exit status: 0 ok, 2 usage, 3 unreadable data, 4 templates or output failed\n"
    "example: perfsight report --data report.json -o report.html\n";

/* Report data larger than this is not a report anyone can open in a browser. */
#define DATA_MAX ((size_t)1 << 30)

static const struct cli_cmd *self(void)
{
	return cli_find("report");
}

int cmd_report(int argc, char **argv)
{
	const char *data = NULL, *out = NULL, *title = NULL, *tdir = NULL;
	char *found = NULL, *buf = NULL;
	size_t len;
	struct pfs_err err;
	int rc;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (i + 1 < argc && !strcmp(a, "--data"))
			data = argv[++i];
		else if (i + 1 < argc && (!strcmp(a, "-o") || !strcmp(a, "--output")))
			out = argv[++i];
		else if (i + 1 < argc && !strcmp(a, "--title"))
			title = argv[++i];
		else if (i + 1 < argc && !strcmp(a, "--templates"))
			tdir = argv[++i];
		else
			return cli_usage_error(self(), "unexpected argument '%s'", a);
	}
	if (!data)
		return cli_usage_error(self(), "--data is required (the report data JSON)");
	if (!out)
		return cli_usage_error(self(), "-o is required");
	if (!tdir) {
		if (pfs_html_find_templates(&found, &err) < 0)
			return cli_fail("report", &err);
		tdir = found;
	}
	if (cli_slurp(data, DATA_MAX, &buf, &len, &err) < 0) {
		free(found);
		return cli_fail(data, &err);
	}
	rc = pfs_html_write_report(tdir, buf, len, title, out, &err);
	free(buf);
	free(found);
	if (rc < 0)
		return cli_fail(!strncmp(err.msg, "report data", 11) ? data : out, &err);
	return EXIT_OK;
}
