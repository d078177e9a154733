/*
 * perfsight flamegraph: a standalone interactive SVG flame graph of folded stacks, with
 * flamegraph.pl's options where they apply.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "folded.h"
#include "html.h"
#include "slurp.h"

const char cmd_flamegraph_usage[] =
    "usage: perfsight flamegraph FOLDED -o OUT.svg [--title T] [--subtitle S] [--width PX]\n"
    "                            [--minwidth PX] [--inverted] [--colors PALETTE] [--hash]\n"
    "                            [--countname NAME] [--templates DIR]\n"
    "\n"
    "Draws folded stacks (\"root;...;leaf COUNT\" lines, as stackcollapse-perf.pl writes them;\n"
    "- reads standard input) as an SVG that opens in any browser, with search (click Search,\n"
    "Ctrl-F, or open it as out.svg#s=REGEX) showing the matched share, and click-to-zoom. Every\n"
    "sample is drawn: frames narrower than --minwidth are merged into one [other] frame per\n"
    "parent, so the root's count equals the sum of the input counts.\n"
    "\n"
    "  -o, --output F     the SVG file, written atomically (- for standard output)\n"
    "  --title T          title (default \"Flame Graph\", or \"Icicle Graph\" with --inverted)\n"
    "  --subtitle S       second title line\n"
    "  --width PX         image width (default 1200)\n"
    "  --minwidth PX      merge frames narrower than this (default 0.1)\n"
    "  --inverted         icicle graph: root at the top\n"
    "  --colors PALETTE   kind (default: colour by frame kind: Python app, library,\n"
    "                     interpreter, GC, GIL, kernel, native), hot, mem, io, red, green,\n"
    "                     blue, aqua, yellow, purple, orange\n"
    "  --hash             shade by function name, so a function keeps its colour across graphs\n"
    "  --countname NAME   what the counts are (default \"samples\")\n"
    "  --templates DIR    where flamegraph.svg.js is (see perfsight report --help)\n"
    "\n"
    "exit status: 0 ok, 1 done but some lines were not folded stacks (dropped, listed),\n"
    "2 usage, 3 unreadable input, 4 output failed\n"
    "example: perfsight flamegraph stacks.folded --title 'gunicorn worker' -o flame.svg\n";

#define FOLDED_MAX ((size_t)4 << 30)

static const struct cli_cmd *self(void)
{
	return cli_find("flamegraph");
}

int cmd_flamegraph(int argc, char **argv)
{
	struct pfs_fg_opts o = {.minwidth = -1};
	const char *in = NULL, *out = NULL, *tdir = NULL;
	char *found = NULL, *buf = NULL, *end;
	size_t len;
	struct pfs_err err;
	struct pfs_diag d;
	struct pfs_fg_tree t;
	int rc;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int more = i + 1 < argc;
		if (more && (!strcmp(a, "-o") || !strcmp(a, "--output")))
			out = argv[++i];
		else if (more && !strcmp(a, "--title"))
			o.title = argv[++i];
		else if (more && !strcmp(a, "--subtitle"))
			o.subtitle = argv[++i];
		else if (more && !strcmp(a, "--countname"))
			o.countname = argv[++i];
		else if (more && !strcmp(a, "--templates"))
			tdir = argv[++i];
		else if (more && !strcmp(a, "--colors")) {
			o.colors = argv[++i];
			if (!pfs_html_palette_ok(o.colors))
				return cli_usage_error(self(), "unknown palette '%s'", o.colors);
		} else if (more && !strcmp(a, "--width")) {
			unsigned long w = strtoul(argv[++i], &end, 10);
			if (*end || w < 30 || w > 100000)
				return cli_usage_error(self(), "--width wants 30..100000 pixels");
			o.width = (unsigned)w;
		} else if (more && !strcmp(a, "--minwidth")) {
			o.minwidth = strtod(argv[++i], &end);
			if (*end || !(o.minwidth >= 0 && o.minwidth <= 1000))
				return cli_usage_error(self(), "--minwidth wants 0..1000 pixels");
		} else if (!strcmp(a, "--inverted"))
			o.inverted = 1;
		else if (!strcmp(a, "--hash"))
			o.hash = 1;
		else if (a[0] == '-' && a[1])
			return cli_usage_error(self(), "unknown option '%s'", a);
		else if (!in)
			in = a;
		else
			return cli_usage_error(self(), "one input only ('%s')", a);
	}
	if (!in)
		return cli_usage_error(self(), "no input (a folded stacks file, or -)");
	if (!out)
		return cli_usage_error(self(), "-o is required");
	if (!tdir) {
		if (pfs_html_find_templates(&found, &err) < 0)
			return cli_fail("flamegraph", &err);
		tdir = found;
	}
	if (cli_slurp(in, FOLDED_MAX, &buf, &len, &err) < 0) {
		free(found);
		return cli_fail(in, &err);
	}
	pfs_diag_init(&d);
	pfs_fg_tree_init(&t);
	long long lines = pfs_folded_read(buf, len, &t, &d, &err);
	free(buf);
	if (lines < 0) {
		rc = cli_fail(in, &err);
	} else if (!t.v[0].total) {
		cli_print_diags(stderr, in, &d);
		fprintf(stderr, "perfsight: %s: no samples to draw\n", in);
		rc = EXIT_INPUT;
	} else if (pfs_html_write_flamegraph_svg(tdir, &t, &o, out, &err) < 0) {
		rc = cli_fail(out, &err);
	} else {
		cli_print_diags(stderr, in, &d);
		rc = cli_diag_exit(&d);
	}
	pfs_fg_tree_release(&t);
	pfs_diag_release(&d);
	free(found);
	return rc;
}
