/*
 * pair: the comparison options and loading shared by perfsight diff and perfsight check.
 */
#include "pair.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void pair_opts_init(struct pfs_diff_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->view = PFS_VIEW_PYTHON;
	o->correction = PFS_DIFF_HOLM;
	o->alpha = PFS_DIFF_ALPHA;
	o->min_delta = PFS_DIFF_MIN_DELTA;
}

double pair_parse_points(const char *s)
{
	char *end;
	if (!s || !*s)
		return -1;
	if (*s == '+')
		s++;
	double v = strtod(s, &end);
	if (end == s || !isfinite(v) || v < 0)
		return -1;
	if (*end && strcmp(end, "pts") && strcmp(end, "pt") && strcmp(end, "%"))
		return -1;
	return v;
}

int pair_option(const struct cli_cmd *cmd, int c, const char *arg, struct pfs_diff_opts *o)
{
	char *end;
	double v;
	int view;
	switch (c) {
	case PAIR_O_VIEW:
		if ((view = pfs_view_parse(arg)) < 0)
			return cli_usage_error(cmd, "unknown view '%s'", arg);
		o->view = (enum pfs_view)view;
		return 1;
	case PAIR_O_CORRECTION:
		if (!strcmp(arg, "holm"))
			o->correction = PFS_DIFF_HOLM;
		else if (!strcmp(arg, "bh"))
			o->correction = PFS_DIFF_BH;
		else
			return cli_usage_error(cmd, "--correction: holm or bh, not '%s'", arg);
		return 1;
	case PAIR_O_ALPHA:
		v = strtod(arg, &end);
		if (end == arg || *end || !(v > 0 && v < 1))
			return cli_usage_error(
			    cmd, "--alpha: a probability between 0 and 1, not '%s'", arg);
		o->alpha = v;
		return 1;
	case PAIR_O_MIN_DELTA:
		if ((v = pair_parse_points(arg)) < 0)
			return cli_usage_error(
			    cmd, "--min-delta: points such as 0.5 or 1pts, not '%s'", arg);
		o->min_delta = v;
		return 1;
	case PAIR_O_NO_DISPERSION:
		o->no_dispersion = true;
		return 1;
	case PAIR_O_EVENT:
		o->base_event = o->new_event = arg;
		return 1;
	}
	return 0;
}

int pair_load(const struct cli_cmd *cmd, struct pfs_capture *b, const char *base,
	      const char *base_which, struct pfs_capture *n, const char *new_,
	      const char *new_which, const struct pfs_capture_opts *co)
{
	struct pfs_capture_opts o = *co;
	int ex;
	memset(n, 0, sizeof(*n));
	o.analysis = true;
	o.which = base_which;
	if ((ex = cli_load_capture(cmd, b, base, &o)) >= 0)
		return ex;
	o.which = new_which;
	return cli_load_capture(cmd, n, new_, &o);
}
