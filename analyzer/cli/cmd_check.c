/*
 * perfsight check: a CI gate. Judges a capture against rules (lib/gate.h), alone or against a
 * baseline capture (through lib/diff.h), prints each rule's verdict and writes the JUnit,
 * Markdown and JSON outputs CI servers and tickets read; exits 5 when a rule fails and 6
 * when the gate cannot judge.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture.h"
#include "cli.h"
#include "commands.h"
#include "diff.h"
#include "gate.h"
#include "html.h"
#include "outfile.h"
#include "pair.h"

const char cmd_check_usage[] =
    "usage: perfsight check INPUT [--capture WHICH] [--baseline B [--baseline-capture WHICH]]\n"
    "                       [RULES...] [--rules FILE] [--junit FILE] [--markdown FILE]\n"
    "                       [--json FILE] [--report-on-fail FILE]\n"
    "\n"
    "A CI gate: judges INPUT (any input perfsight reads) by the rules, alone or against the\n"
    "baseline B, prints each rule, its measured value and its verdict, and exits 0 when every\n"
    "rule passes. A gate never passes what it cannot measure: too few samples, a figure the\n"
    "capture does not have, or a baseline of another program are 'cannot judge'.\n"
    "\n"
    "rules (docs/check.md; a share is '10%' or '10', points are '2pts' or '2'):\n"
    "  --min-samples N          judge nothing with fewer samples (default 100)\n"
    "  --max-gc-share S         GC samples / CPU samples\n"
    "  --max-gil-wait S         GIL wait / lifetime of the threads that ran Python\n"
    "  --max-share 'RE=S'       total share of the functions matching the regular expression\n"
    "                           RE (a call path 'a;b' when RE holds a ';')\n"
    "  --max-cut-stacks S       stacks the unwinder cut short\n"
    "  --max-growth 'RE=+P'     with --baseline: that share grew by more than P points,\n"
    "                           beyond sampling noise\n"
    "  --max-regression P       with --baseline: any function's own or total share, or any\n"
    "                           call path, grew by more than P points, beyond sampling noise\n"
    "  --rules FILE             rules, one 'NAME VALUE' per line ('#' comments)\n"
    "\n"
    "outputs (any combination; files are written atomically, - is standard output):\n"
    "  --junit FILE             JUnit XML, one testcase per rule\n"
    "  --markdown FILE          a short summary for a CI job page or a ticket, with the\n"
    "                           largest significant changes\n"
    "  --json FILE              the perfsight-check/1 document\n"
    "  --report-on-fail FILE    when a rule fails: the diff page against the baseline (the\n"
    "                           report without one), to attach to the ticket\n"
    "  --quiet                  no text on standard output\n"
    "\n"
    "comparison (with --baseline; a gate's alpha is 0.001, not diff's 0.01: its false alarm\n"
    "fails a build):\n" PAIR_USAGE "  --templates DIR  report templates (as in perfsight report)\n"
    "  --symfs DIR, --app-dir DIR, --jit-maps DIR, --kallsyms FILE\n"
    "                   where symbols are found, as in perfsight collapse\n"
    "\n"
    "exit status: 0 every rule passed, 2 usage (a bad rule), 3 INPUT or the baseline is\n"
    "unreadable, 4 output error, 5 a rule failed, 6 the gate cannot judge\n"
    "example: perfsight check new.db --capture build-42 --baseline base.db --max-regression 2pts\n"
    "             --max-gc-share 10% --junit perf-junit.xml --report-on-fail regression.html\n";

static const struct cli_cmd *self(void)
{
	return cli_find("check");
}

/* Writes one output through fn into path, atomically. */
static int output(const char *path, int (*fn)(void *, FILE *, struct pfs_err *), void *arg)
{
	struct pfs_outfile of = {0};
	struct pfs_err err;
	if (pfs_outfile_open(&of, path, &err) < 0 || fn(arg, of.f, &err) < 0 ||
	    pfs_outfile_commit(&of, &err) < 0) {
		pfs_outfile_abort(&of);
		cli_fail(path, &err);
		return EXIT_INTERNAL;
	}
	return EXIT_OK;
}

struct outs {
	const struct pfs_gate_result *r;
	size_t n;
	const struct pfs_diff *d;
	bool baseline;
};

static int md_out(void *a, FILE *f, struct pfs_err *err)
{
	const struct outs *o = a;
	return pfs_gate_write_markdown(o->r, o->n, o->d, o->baseline, f, err);
}

static int json_out(void *a, FILE *f, struct pfs_err *err)
{
	const struct outs *o = a;
	return pfs_gate_write_json(o->r, o->n, o->d, o->baseline, f, err);
}

/* The page that explains a failure: the diff against the baseline, else the report. */
static int fail_report(const struct pfs_diff *d, struct pfs_capture *c, bool baseline,
		       const char *tdir, const char *path)
{
	char *json = NULL, title[512];
	size_t len = 0;
	struct pfs_err err;
	int ex = EXIT_OK;
	if (baseline) {
		snprintf(title, sizeof(title), "perfsight check failed: %s against %s",
			 pfs_diff_side(d, 1)->label, pfs_diff_side(d, 0)->label);
		ex = cli_json_page(cli_diff_page_data, d, pfs_html_write_diff, tdir, title, path);
	} else {
		snprintf(title, sizeof(title), "perfsight check failed: %s", c->info.label);
		if (pfs_capture_report_data(c, -1, title, &json, &len, &err) < 0 ||
		    pfs_html_write_report(tdir, json, len, title, path, &err) < 0)
			ex = cli_fail(path, &err);
		free(json);
	}
	if (ex == EXIT_OK)
		fprintf(stderr, "report: %s\n", path);
	return ex;
}

int cmd_check(int argc, char **argv)
{
	enum {
		O_BASELINE = 256,
		O_BASECAP,
		O_RULES,
		O_JUNIT,
		O_MD,
		O_JSON,
		O_REPORT,
		O_TEMPL,
		O_QUIET,
		O_RULE, /* the rules' options: O_RULE + index in rule_opts */
	};
	static const char *const rule_opts[] = {"min-samples",	 "max-gc-share",   "max-gil-wait",
						"max-share",	 "max-cut-stacks", "max-growth",
						"max-regression"};
	static const struct option opts[] = {
	    {"baseline", required_argument, NULL, O_BASELINE},
	    {"baseline-capture", required_argument, NULL, O_BASECAP},
	    {"rules", required_argument, NULL, O_RULES},
	    {"junit", required_argument, NULL, O_JUNIT},
	    {"markdown", required_argument, NULL, O_MD},
	    {"json", required_argument, NULL, O_JSON},
	    {"report-on-fail", required_argument, NULL, O_REPORT},
	    {"templates", required_argument, NULL, O_TEMPL},
	    {"quiet", no_argument, NULL, O_QUIET},
	    {"min-samples", required_argument, NULL, O_RULE + 0},
	    {"max-gc-share", required_argument, NULL, O_RULE + 1},
	    {"max-gil-wait", required_argument, NULL, O_RULE + 2},
	    {"max-share", required_argument, NULL, O_RULE + 3},
	    {"max-cut-stacks", required_argument, NULL, O_RULE + 4},
	    {"max-growth", required_argument, NULL, O_RULE + 5},
	    {"max-regression", required_argument, NULL, O_RULE + 6},
	    PAIR_LONGOPTS,
	    CLI_CAPTURE_LONGOPTS,
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct pfs_capture_opts co = {0};
	struct pfs_diff_opts dopt;
	struct pfs_gate gate;
	const char *baseline = NULL, *basecap = NULL, *junit = NULL, *md = NULL, *json = NULL;
	const char *report = NULL, *tdir = NULL;
	const char *rules_files[16];
	size_t n_rules_files = 0;
	bool quiet = false;
	char *found = NULL;
	struct pfs_capture b, n;
	struct pfs_diff *d = NULL;
	struct pfs_gate_result *res = NULL;
	size_t n_res = 0;
	struct pfs_err err;
	int c, ex, r;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&b, 0, sizeof(b));
	memset(&n, 0, sizeof(n));
	pair_opts_init(&dopt);
	dopt.alpha = PFS_GATE_ALPHA;
	pfs_gate_init(&gate);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c >= O_RULE && c < O_RULE + (int)(sizeof(rule_opts) / sizeof(rule_opts[0]))) {
			if (pfs_gate_add(&gate, rule_opts[c - O_RULE], optarg, "command line",
					 &err) < 0) {
				ex = cli_usage_error(self(), "%s", err.msg);
				goto out;
			}
			continue;
		}
		switch (c) {
		case O_BASELINE:
			baseline = optarg;
			break;
		case O_BASECAP:
			basecap = optarg;
			break;
		case O_RULES:
			if (n_rules_files == sizeof(rules_files) / sizeof(rules_files[0])) {
				ex = cli_usage_error(self(), "too many --rules files");
				goto out;
			}
			rules_files[n_rules_files++] = optarg;
			break;
		case O_JUNIT:
			junit = optarg;
			break;
		case O_MD:
			md = optarg;
			break;
		case O_JSON:
			json = optarg;
			break;
		case O_REPORT:
			report = optarg;
			break;
		case O_TEMPL:
			tdir = optarg;
			break;
		case O_QUIET:
			quiet = true;
			break;
		default:
			if ((r = pair_option(self(), c, optarg, &dopt)) > 1) {
				ex = r;
				goto out;
			}
			if (r == 1 || cli_capture_option(c, optarg, &co))
				break;
			ex = cli_usage_error(self(), "unknown option or missing value '%s'",
					     argv[optind - 1]);
			goto out;
		}
	}
	for (size_t i = 0; i < n_rules_files; i++)
		if (pfs_gate_read(&gate, rules_files[i], &err) < 0) {
			ex = err.code == PFS_EUSAGE ? cli_usage_error(self(), "%s", err.msg)
						    : cli_fail(rules_files[i], &err);
			goto out;
		}
	if (optind != argc - 1) {
		ex = cli_usage_error(self(), "expects one INPUT");
		goto out;
	}
	const struct pfs_gate_rule *needs;
	if (!baseline && pfs_gate_needs_baseline(&gate, &needs)) {
		ex =
		    cli_usage_error(self(), "%s (%s) needs --baseline", needs->text, needs->origin);
		goto out;
	}
	if (basecap && !baseline) {
		ex = cli_usage_error(self(), "--baseline-capture without --baseline");
		goto out;
	}
	if (report && (ex = cli_templates("check", &tdir, &found)) >= 0)
		goto out;
	const char *input = argv[optind];
	if (baseline) {
		if ((ex = pair_load(self(), &b, baseline, basecap, &n, input, co.which, &co)) >= 0)
			goto out;
	} else {
		struct pfs_capture_opts o = co;
		o.analysis = true;
		if ((ex = cli_load_capture(self(), &n, input, &o)) >= 0)
			goto out;
	}
	dopt.trees = report && baseline;
	if (pfs_diff_new(&d, baseline ? &b : NULL, &n, &dopt, &err) < 0) {
		ex = cli_usage_error(self(), "%s", err.msg);
		goto out;
	}
	res = pfs_gate_eval(&gate, d, baseline != NULL, &n_res);
	enum pfs_gate_status verdict = pfs_gate_verdict(res, n_res);
	ex = EXIT_OK;
	if (!quiet && pfs_gate_write_text(res, n_res, stdout, &err) < 0)
		ex = EXIT_INTERNAL;
	struct outs o = {res, n_res, d, baseline != NULL};
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (junit && pfs_gate_write_junit(res, n_res, input, secs, junit, &err) < 0)
		ex = cli_fail(junit, &err) == EXIT_USAGE ? EXIT_USAGE : EXIT_INTERNAL;
	if (md && output(md, md_out, &o) != EXIT_OK)
		ex = EXIT_INTERNAL;
	if (json && output(json, json_out, &o) != EXIT_OK)
		ex = EXIT_INTERNAL;
	if (report && verdict == PFS_GATE_FAIL &&
	    fail_report(d, &n, baseline != NULL, tdir, report) != EXIT_OK)
		ex = EXIT_INTERNAL;
	if (ex == EXIT_OK)
		ex = verdict == PFS_GATE_FAIL	  ? EXIT_GATE_FAIL
		     : verdict == PFS_GATE_CANNOT ? EXIT_GATE_CANNOT
						  : EXIT_OK;
out:
	pfs_gate_results_free(res, n_res);
	pfs_diff_free(d);
	pfs_gate_release(&gate);
	pfs_capture_release(&b);
	pfs_capture_release(&n);
	free(found);
	return cli_finish_stdout(ex);
}
