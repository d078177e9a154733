/*
 * pair: what `perfsight diff` and `perfsight check --baseline` share: the options of the
 * comparison (view, correction, alpha, minimum change, dispersion, events) and the loading of
 * two captures, BASE then NEW, each with its Python analysis.
 */
#ifndef PFS_CLI_PAIR_H
#define PFS_CLI_PAIR_H

#include <stdbool.h>

#include "capture.h"
#include "cli.h"
#include "diff.h"

/* getopt ids of the comparison's options, between the commands' own and CLI_O_CAPTURE */
enum {
	PAIR_O_VIEW = 600,
	PAIR_O_CORRECTION,
	PAIR_O_ALPHA,
	PAIR_O_MIN_DELTA,
	PAIR_O_NO_DISPERSION,
	PAIR_O_EVENT,
};
#define PAIR_LONGOPTS                                                                              \
	{"view", required_argument, NULL, PAIR_O_VIEW},                                            \
	    {"correction", required_argument, NULL, PAIR_O_CORRECTION},                            \
	    {"alpha", required_argument, NULL, PAIR_O_ALPHA},                                      \
	    {"min-delta", required_argument, NULL, PAIR_O_MIN_DELTA},                              \
	    {"no-dispersion", no_argument, NULL, PAIR_O_NO_DISPERSION},                            \
	{                                                                                          \
		"event", required_argument, NULL, PAIR_O_EVENT                                     \
	}

/* The usage lines of those options, for the commands' --help. */
#define PAIR_USAGE                                                                                 \
	"  --view V         the view of the function and path tables: python (default), mixed "    \
	"or\n"                                                                                     \
	"                   native\n"                                                              \
	"  --correction C   holm (default: few false alarms per comparison) or bh\n"               \
	"                   (Benjamini-Hochberg: more power, a few false alarms)\n"                \
	"  --alpha A        the adjusted p-value below which a change is beyond noise (0.01)\n"    \
	"  --min-delta PTS  smaller changes of a share are never reported (0.5 pts)\n"             \
	"  --no-dispersion  plain binomial noise (default: the noise measured on the functions\n"  \
	"                   of the two captures, when wider; docs/diff-statistics.md)\n"           \
	"  --event NAME     the event compared (default: each capture's first sampling event)\n"

/* Defaults: the python view, Holm, alpha 0.01, 0.5 pts. */
void pair_opts_init(struct pfs_diff_opts *o);
/*
 * Applies option c (with arg) to o. Returns 1 when c is one of PAIR_LONGOPTS, 0 when it is
 * not, or the usage exit code (message printed for cmd) for a bad value.
 */
int pair_option(const struct cli_cmd *cmd, int c, const char *arg, struct pfs_diff_opts *o);

/* Parses "2", "2pts", "+2pts", "2%" as points (a share's change); -1 when it is not one. */
double pair_parse_points(const char *s);

/*
 * Loads base (with its database capture base_which) and new into b and n, each with the
 * Python analysis, printing errors as cli_load_capture does. Returns -1 when both loaded, else
 * the exit code. Both are to be released either way.
 */
int pair_load(const struct cli_cmd *cmd, struct pfs_capture *b, const char *base,
	      const char *base_which, struct pfs_capture *n, const char *new_,
	      const char *new_which, const struct pfs_capture_opts *co);

#endif
