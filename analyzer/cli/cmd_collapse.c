/*
 * perfsight collapse: folded stacks (FlameGraph's stackcollapse-perf.pl format) straight from
 * a perf.data capture, symbolized and unwound by perfsight itself.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "cli.h"
#include "commands.h"
#include "capture.h"
#include "outfile.h"
#include "profile.h"

const char cmd_collapse_usage[] =
    "usage: perfsight collapse INPUT [-o OUT] [--event NAME] [--no-inline] [--pid] [--tid]\n"
    "                          [--weight samples|period|seconds] [--addrs] [--symfs DIR]\n"
    "                          [--app-dir DIR] [--jit-maps DIR] [--kallsyms FILE]\n"
    "                          [--capture ID|LABEL]\n"
    "\n"
    "Writes one line per distinct stack, \"comm;root;...;leaf COUNT\", sorted, as\n"
    "stackcollapse-perf.pl does from perf script output. Frames are function names without\n"
    "offsets, inline frames included, [unknown] when unresolved, [kernel] for kernel frames\n"
    "when the capture's kernel symbols are not available. DWARF stacks run through CPython's\n"
    "-X perf trampolines and -X perf_jit code to the thread's entry; one cut where its stack\n"
    "dump ended is rooted at [truncated] (a diagnostic says which --call-graph dwarf,SIZE\n"
    "would have held it).\n"
    "\n"
    "INPUT is told by its content: a perf.data capture (- reads pipe mode from standard\n"
    "input), a perfsight database (the capture named by --capture when it holds several),\n"
    "or a profiler dump (pyinstrument, speedscope, folded stacks, or a directory of them,\n"
    "merged; no comm root, weights in the dump's own unit: seconds for pyinstrument). A\n"
    "call-graph profile (pstats, callgrind) has no stacks: it is refused (exit 3).\n"
    "\n"
    "  -o OUT            write to OUT (atomically) instead of standard output\n"
    "  --event NAME      the sampling event to fold (default: the capture's first one)\n"
    "  --no-inline       do not expand inline frames\n"
    "  --pid, --tid      root frame comm-PID or comm-PID/TID\n"
    "  --weight W        samples (default), period (summed sample periods) or seconds\n"
    "  --capture WHICH   the capture of a database, by id or label\n"
    "  --addrs           unresolved frames as [dso <0xaddr>] instead of [unknown]\n"
    "  --symfs DIR       look for recorded paths under DIR first\n"
    "  --app-dir DIR     look for binaries by file name in DIR (the capture's own directory\n"
    "                    is always searched)\n"
    "  --jit-maps DIR    perf-PID.map and jit-PID.dump files (then the capture's directory,\n"
    "                    its maps/, and /tmp for a capture made on this machine)\n"
    "  --kallsyms FILE   kernel symbols of the machine that recorded the capture\n"
    "\n"
    "exit status: 0 ok, 1 done with data-dropping diagnostics, 2 usage, 3 unreadable input\n"
    "example: perfsight collapse fixtures/py312-threads-dwarf/perf.data --event cpu-clock\n";

static const struct cli_cmd *self(void)
{
	return cli_find("collapse");
}

int cmd_collapse(int argc, char **argv)
{
	enum { O_EVENT = 256, O_NOINL, O_PID, O_TID, O_WEIGHT, O_ADDRS };
	static const struct option opts[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"event", required_argument, NULL, O_EVENT},
	    {"no-inline", no_argument, NULL, O_NOINL},
	    {"pid", no_argument, NULL, O_PID},
	    {"tid", no_argument, NULL, O_TID},
	    {"weight", required_argument, NULL, O_WEIGHT},
	    {"addrs", no_argument, NULL, O_ADDRS},
	    CLI_CAPTURE_LONGOPTS,
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	if (cli_is_help(self(), argc, argv))
		return cli_finish_stdout(EXIT_OK);
	struct pfs_capture_opts co = {.ingest = {.first_sampling = true}};
	struct pfs_ingest_opts *io = &co.ingest;
	struct pfs_fold_opts fo = {.event = -1, .root = PFS_FOLD_COMM};
	const char *out = "-";
	bool weight_set = false;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case O_EVENT:
			io->event = optarg;
			break;
		case O_NOINL:
			io->no_inline = true;
			break;
		case O_PID:
			if (fo.root != PFS_FOLD_TID)
				fo.root = PFS_FOLD_PID;
			break;
		case O_TID:
			fo.root = PFS_FOLD_TID;
			break;
		case O_WEIGHT:
			weight_set = true;
			if (!strcmp(optarg, "samples"))
				fo.weight = PFS_FOLD_SAMPLES;
			else if (!strcmp(optarg, "period"))
				fo.weight = PFS_FOLD_PERIOD;
			else if (!strcmp(optarg, "seconds"))
				fo.weight = PFS_FOLD_SECONDS;
			else
				return cli_usage_error(
				    self(), "--weight is samples, period or seconds, not '%s'",
				    optarg);
			break;
		case O_ADDRS:
			io->addr_names = true;
			break;
		default:
			if (cli_capture_option(c, optarg, &co))
				break;
			return cli_usage_error(self(), "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return cli_usage_error(self(), "expects one INPUT");
	const char *file = argv[optind];

	struct pfs_capture cap;
	struct pfs_err err;
	struct pfs_outfile of = {0};
	pfs_err_clear(&err);
	int ex = cli_load_capture(self(), &cap, file, &co);
	if (ex >= 0)
		goto out;
	if (cap.graph) {
		fprintf(stderr,
			"perfsight: %s: a call-graph profile (%s) holds caller-callee edges, not "
			"stacks: there is nothing to collapse ('perfsight report' shows its call "
			"graph, 'perfsight flamegraph' one reconstructed from the edges)\n",
			file, pfs_cg_format_name(pfs_cg_format(cap.graph)));
		ex = EXIT_INPUT;
		goto out;
	}
	/* a dump has no comm to root its stacks on */
	if (cap.kind == PFS_CAPTURE_PYPROF && fo.root == PFS_FOLD_COMM)
		fo.root = PFS_FOLD_NONE;
	if (!weight_set)
		fo.weight = pfs_capture_default_weight(&cap);
	if (pfs_capture_fold_event(&cap, io->event, &fo.event) < 0) {
		ex = cli_usage_error(self(), "%s: no event '%s' in capture %s", file,
				     io->event ? io->event : "(sampling)", cap.info.label);
		goto out;
	}
	if (pfs_outfile_open(&of, out, &err) < 0 ||
	    pfs_agg_write_folded(cap.agg, cap.prof, NULL, &fo, of.f, &err) < 0 ||
	    pfs_outfile_commit(&of, &err) < 0) {
		pfs_outfile_abort(&of);
		ex = cli_fail_output(out, &err);
		goto out;
	}
	cli_print_diags(stderr, file, &cap.diag);
	ex = cli_diag_exit(&cap.diag);
out:
	pfs_capture_release(&cap);
	return cli_finish_stdout(ex);
}
