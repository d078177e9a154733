#include "gate.h"

#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "html.h"
#include "jsonw.h"
#include "stats.h"
#include "xalloc.h"

void pfs_gate_init(struct pfs_gate *g)
{
	memset(g, 0, sizeof(*g));
}

void pfs_gate_release(struct pfs_gate *g)
{
	for (size_t i = 0; i < g->n; i++) {
		free(g->v[i].text);
		free(g->v[i].origin);
		free(g->v[i].re);
	}
	free(g->v);
	memset(g, 0, sizeof(*g));
}

static const struct {
	const char *name;
	enum pfs_gate_kind kind;
	const char *what; /* the value's form, for messages */
} rule_names[] = {
    {"min-samples", PFS_GATE_MIN_SAMPLES_RULE, "a count such as 500"},
    {"max-gc-share", PFS_GATE_GC_SHARE, "a share such as 10%"},
    {"max-gil-wait", PFS_GATE_GIL_WAIT, "a share such as 5%"},
    {"max-share", PFS_GATE_SHARE, "REGEX=SHARE such as '^py::render=3%'"},
    {"max-cut-stacks", PFS_GATE_CUT_STACKS, "a share such as 5%"},
    {"max-growth", PFS_GATE_GROWTH, "REGEX=+POINTS such as 'checksum=+2pts'"},
    {"max-regression", PFS_GATE_REGRESSION, "points such as 2pts"},
};

/* "10%", "10" -> 0.10; "+2pts", "2" -> 0.02 (points); -1 when it is neither. */
static double parse_amount(const char *s, bool points)
{
	char *end;
	if (*s == '+' && points)
		s++;
	double v = strtod(s, &end);
	if (end == s || !isfinite(v) || v < 0)
		return -1;
	if (*end && strcmp(end, "%") && !(points && (!strcmp(end, "pts") || !strcmp(end, "pt"))))
		return -1;
	return v / 100;
}

int pfs_gate_add(struct pfs_gate *g, const char *name, const char *value, const char *origin,
		 struct pfs_err *err)
{
	size_t k = 0;
	while (k < sizeof(rule_names) / sizeof(rule_names[0]) && strcmp(rule_names[k].name, name))
		k++;
	if (k == sizeof(rule_names) / sizeof(rule_names[0]))
		return pfs_err_set(err, PFS_EUSAGE, PFS_NO_OFF, "%s: unknown rule '%s'", origin,
				   name);
	struct pfs_gate_rule r = {.kind = rule_names[k].kind};
	const char *amount = value;
	char *end;
	if (!value || !*value)
		goto bad;
	if (r.kind == PFS_GATE_SHARE || r.kind == PFS_GATE_GROWTH) {
		const char *eq = strrchr(value, '=');
		if (!eq || eq == value)
			goto bad;
		r.re = pfs_xstrndup(value, (size_t)(eq - value));
		amount = eq + 1;
	}
	if (r.kind == PFS_GATE_MIN_SAMPLES_RULE) {
		errno = 0;
		unsigned long long n = strtoull(value, &end, 10);
		if (*end || end == value || errno || *value == '-')
			goto bad;
		r.limit = (double)n;
	} else {
		bool pts = r.kind == PFS_GATE_GROWTH || r.kind == PFS_GATE_REGRESSION;
		if ((r.limit = parse_amount(amount, pts)) < 0 || (!pts && r.limit > 1))
			goto bad;
	}
	size_t tl = strlen(name) + strlen(value) + 2;
	r.text = pfs_xmalloc(tl);
	snprintf(r.text, tl, "%s %s", name, value);
	r.origin = pfs_xstrdup(origin);
	PFS_GROW(g->v, g->cap, g->n + 1);
	g->v[g->n++] = r;
	return 0;
bad:
	free(r.re);
	return pfs_err_set(err, PFS_EUSAGE, PFS_NO_OFF, "%s: %s: '%s' is not %s", origin, name,
			   value ? value : "", rule_names[k].what);
}

int pfs_gate_read(struct pfs_gate *g, const char *path, struct pfs_err *err)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned lineno = 0;
	int rc = 0;
	if (!f)
		return pfs_err_sys(err, "cannot open the rules file %s", path);
	while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
		char *s = line, *hash = strchr(line, '#'), origin[512];
		lineno++;
		if (hash)
			*hash = 0;
		while (*s == ' ' || *s == '\t')
			s++;
		char *e = s + strlen(s);
		while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
			*--e = 0;
		if (!*s)
			continue;
		char *val = s + strcspn(s, " \t");
		if (*val) {
			*val++ = 0;
			while (*val == ' ' || *val == '\t')
				val++;
		}
		/* values may be quoted as on a command line */
		size_t vl = strlen(val);
		if (vl >= 2 && (val[0] == '\'' || val[0] == '"') && val[vl - 1] == val[0]) {
			val[vl - 1] = 0;
			val++;
		}
		if (s[0] == '-' && s[1] == '-')
			s += 2;
		snprintf(origin, sizeof(origin), "%s:%u", path, lineno);
		rc = pfs_gate_add(g, s, val, origin, err);
	}
	if (rc == 0 && ferror(f))
		rc = pfs_err_sys(err, "cannot read the rules file %s", path);
	free(line);
	fclose(f);
	return rc;
}

bool pfs_gate_needs_baseline(const struct pfs_gate *g, const struct pfs_gate_rule **which)
{
	for (size_t i = 0; i < g->n; i++)
		if (g->v[i].kind == PFS_GATE_GROWTH || g->v[i].kind == PFS_GATE_REGRESSION) {
			if (which)
				*which = &g->v[i];
			return true;
		}
	return false;
}

const char *pfs_gate_status_name(enum pfs_gate_status s)
{
	return s == PFS_GATE_PASS ? "pass" : s == PFS_GATE_FAIL ? "fail" : "cannot judge";
}

/* ---- judging ---- */

static void set(struct pfs_gate_result *r, enum pfs_gate_status st, double v, const char *fmt, ...)
    PFS_PRINTF(4, 5);
static void set(struct pfs_gate_result *r, enum pfs_gate_status st, double v, const char *fmt, ...)
{
	va_list ap;
	r->status = st;
	r->value = v;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
}

/* A share's 95% interval under binomial sampling, for the reader of a threshold verdict. */
static double half_width(double p, uint64_t n)
{
	return n ? 1.96 * sqrt(p * (1 - p) / (double)n) : NAN;
}

static void judge_fig(struct pfs_gate_result *r, const struct pfs_diff *d, enum pfs_diff_fig k,
		      const char *what)
{
	const struct pfs_diff_figure *f = pfs_diff_fig(d, k);
	const struct pfs_gate_rule *rule = r->rule;
	if (isnan(f->new_)) {
		set(r, PFS_GATE_CANNOT, NAN, "cannot judge: %s not measured: %s", what,
		    f->why ? f->why : "not in the capture");
		return;
	}
	uint64_t n = pfs_diff_side(d, 1)->samples;
	bool over = f->new_ > rule->limit;
	set(r, over ? PFS_GATE_FAIL : PFS_GATE_PASS, f->new_,
	    "%s %.2f%% (+/- %.2f, 95%%) %s %.2f%%", what, f->new_ * 100,
	    half_width(f->new_, n) * 100, over ? ">" : "<=", rule->limit * 100);
}

/*
 * max-regression P: a row fails when its growth is beyond P points with the noise accounted
 * for, not merely beyond 0: a one-sided test of (share - expected share - P) over the row's own
 * standard error (the diff's test gives it: |share - expected| - continuity, over |z|), at the
 * diff's alpha, Bonferroni over every row tested in the three tables. Measured on 24 runs of an
 * unchanged app: a row that grew 5.6 points by noise (the allocator's cost under one function)
 * passed a test against 0 and failed the gate; against the margin it is 2.4 standard errors,
 * not enough among 120 rows.
 */
static void judge_regression(struct pfs_gate_result *r, const struct pfs_diff *d)
{
	char list[768] = "";
	size_t used = 0, bad = 0, tested = 0;
	double worst = 0, lim = r->rule->limit;
	uint64_t n1 = pfs_diff_side(d, 0)->samples, n2 = pfs_diff_side(d, 1)->samples;
	double cc = n1 && n2 ? 0.5 * (1.0 / (double)n1 + 1.0 / (double)n2) : 0;
	for (int t = PFS_DIFF_SELF; t <= PFS_DIFF_PATHS; t++)
		for (size_t i = 0; i < pfs_diff_n_rows(d, t); i++)
			tested += pfs_diff_rows(d, t)[i].tested;
	/* own time, total time and paths: with whole stacks a function made slower often shows in
	 * its total first (its own time splits between it and the [alloc] or [gc] under it) */
	for (int t = PFS_DIFF_SELF; t <= PFS_DIFF_PATHS; t++) {
		const struct pfs_diff_row *v = pfs_diff_rows(d, t);
		for (size_t i = 0; i < pfs_diff_n_rows(d, t); i++) {
			double delta = v[i].s2 - v[i].s1, excess = v[i].s2 - v[i].expected;
			if (!v[i].significant || delta <= lim || !(fabs(v[i].z) > 0))
				continue;
			double se = (fabs(excess) - cc) / fabs(v[i].z);
			if (!(se > 0) || pfs_stats_norm_sf((excess - lim - cc) / se) >
					     pfs_diff_alpha(d) / (double)tested)
				continue;
			if (delta > worst)
				worst = delta;
			if (bad++ < 5 && used < sizeof(list) - 1) {
				int k = snprintf(
				    list + used, sizeof(list) - used,
				    "%s%s %s %.2f%% -> %.2f%% (%+.2f pts)", used ? "; " : "",
				    t == PFS_DIFF_SELF	  ? "self"
				    : t == PFS_DIFF_TOTAL ? "total"
							  : "path",
				    v[i].name, v[i].s1 * 100, v[i].s2 * 100, delta * 100);
				used = k < 0 ? used : used + (size_t)k;
			}
		}
	}
	if (bad)
		set(r, PFS_GATE_FAIL, worst, "%zu significant growth%s over %.2f pts: %s%s", bad,
		    bad > 1 ? "s" : "", r->rule->limit * 100, list, bad > 5 ? "; ..." : "");
	else
		set(r, PFS_GATE_PASS, worst,
		    "no function or path grew by more than %.2f pts beyond noise",
		    r->rule->limit * 100);
}

struct pfs_gate_result *pfs_gate_eval(const struct pfs_gate *g, struct pfs_diff *d, bool baseline,
				      size_t *n_out)
{
	static char implicit_text[] = "min-samples 100", implicit_origin[] = "default";
	static struct pfs_gate_rule implicit = {
	    .kind = PFS_GATE_MIN_SAMPLES_RULE,
	    .text = implicit_text,
	    .origin = implicit_origin,
	    .limit = PFS_GATE_MIN_SAMPLES,
	    .implicit = true,
	};
	size_t n = g->n, k = 0;
	bool have_min = false;
	for (size_t i = 0; i < g->n; i++)
		have_min |= g->v[i].kind == PFS_GATE_MIN_SAMPLES_RULE;
	struct pfs_gate_result *res = pfs_xcalloc(n + 1, sizeof(*res));
	const struct pfs_diff_side *b = pfs_diff_side(d, 0), *nw = pfs_diff_side(d, 1);
	bool too_few = false, other = false;
	if (!have_min)
		res[k++].rule = &implicit;
	for (size_t i = 0; i < g->n; i++)
		if (g->v[i].kind == PFS_GATE_MIN_SAMPLES_RULE)
			res[k++].rule = &g->v[i];
	for (size_t i = 0; i < g->n; i++)
		if (g->v[i].kind != PFS_GATE_MIN_SAMPLES_RULE)
			res[k++].rule = &g->v[i];
	for (size_t i = 0; i < k; i++) {
		struct pfs_gate_result *r = &res[i];
		const struct pfs_gate_rule *rule = r->rule;
		if (rule->kind != PFS_GATE_MIN_SAMPLES_RULE)
			break;
		uint64_t least = (uint64_t)rule->limit;
		if (nw->samples < least || (baseline && b->samples < least)) {
			too_few = true;
			set(r, PFS_GATE_CANNOT, (double)nw->samples,
			    "cannot judge: too few samples (%llu in the capture%s%llu%s), at least "
			    "%llu needed",
			    (unsigned long long)nw->samples, baseline ? ", " : "",
			    baseline ? (unsigned long long)b->samples : 0ull,
			    baseline ? " in the baseline" : "", (unsigned long long)least);
		} else {
			set(r, PFS_GATE_PASS, (double)nw->samples, "%llu samples%s, at least %llu",
			    (unsigned long long)nw->samples,
			    baseline ? " (and the baseline's)" : "", (unsigned long long)least);
		}
	}
	if (baseline && (pfs_diff_overlap(d, 0) < PFS_DIFF_MIN_OVERLAP ||
			 pfs_diff_overlap(d, 1) < PFS_DIFF_MIN_OVERLAP))
		other = true;
	for (size_t i = 0; i < k; i++) {
		struct pfs_gate_result *r = &res[i];
		const struct pfs_gate_rule *rule = r->rule;
		if (rule->kind == PFS_GATE_MIN_SAMPLES_RULE)
			continue;
		if (too_few) {
			set(r, PFS_GATE_CANNOT, NAN,
			    "cannot judge: too few samples (see min-samples)");
			continue;
		}
		bool vs = rule->kind == PFS_GATE_GROWTH || rule->kind == PFS_GATE_REGRESSION;
		if (vs && other) {
			set(r, PFS_GATE_CANNOT, NAN,
			    "cannot judge: the baseline barely shares functions with the capture "
			    "(%.0f%% of the capture's samples are in functions the baseline has, "
			    "%.0f%% the other way): a baseline of another program?",
			    pfs_diff_overlap(d, 1) * 100, pfs_diff_overlap(d, 0) * 100);
			continue;
		}
		struct pfs_diff_row m;
		struct pfs_err err;
		switch (rule->kind) {
		case PFS_GATE_GC_SHARE:
			judge_fig(r, d, PFS_DIFF_GC_SHARE, "GC share");
			break;
		case PFS_GATE_GIL_WAIT:
			judge_fig(r, d, PFS_DIFF_GIL_ALL, "GIL wait");
			break;
		case PFS_GATE_CUT_STACKS:
			judge_fig(r, d, PFS_DIFF_CUT_SHARE, "cut stacks");
			break;
		case PFS_GATE_SHARE:
			if (pfs_diff_match(d,
					   strchr(rule->re, ';') ? PFS_DIFF_PATHS : PFS_DIFF_TOTAL,
					   rule->re, &m, &err) < 0) {
				set(r, PFS_GATE_CANNOT, NAN, "cannot judge: %s", err.msg);
				break;
			}
			set(r, m.s2 > rule->limit ? PFS_GATE_FAIL : PFS_GATE_PASS, m.s2,
			    "share of /%s/ %.2f%% (+/- %.2f, 95%%) %s %.2f%%%s", rule->re,
			    m.s2 * 100, half_width(m.s2, nw->samples) * 100,
			    m.s2 > rule->limit ? ">" : "<=", rule->limit * 100,
			    m.x2 ? "" : " (nothing matches)");
			break;
		case PFS_GATE_GROWTH: {
			if (pfs_diff_match(d,
					   strchr(rule->re, ';') ? PFS_DIFF_PATHS : PFS_DIFF_TOTAL,
					   rule->re, &m, &err) < 0) {
				set(r, PFS_GATE_CANNOT, NAN, "cannot judge: %s", err.msg);
				break;
			}
			double delta = m.s2 - m.s1;
			bool bad = m.significant && delta > rule->limit;
			set(r, bad ? PFS_GATE_FAIL : PFS_GATE_PASS, delta,
			    "share of /%s/ %.2f%% -> %.2f%% (%+.2f pts, %s, p=%.2g) %s +%.2f pts",
			    rule->re, m.s1 * 100, m.s2 * 100, delta * 100,
			    m.significant ? "beyond noise"
			    : m.tested	  ? "within noise"
					  : "too few samples to test",
			    m.p, bad ? ">" : "allowed up to", rule->limit * 100);
			break;
		}
		case PFS_GATE_REGRESSION:
			judge_regression(r, d);
			break;
		default:
			break;
		}
	}
	*n_out = k;
	return res;
}

void pfs_gate_results_free(struct pfs_gate_result *r, size_t n)
{
	(void)n;
	free(r);
}

enum pfs_gate_status pfs_gate_verdict(const struct pfs_gate_result *r, size_t n)
{
	enum pfs_gate_status v = PFS_GATE_PASS;
	for (size_t i = 0; i < n; i++) {
		if (r[i].status == PFS_GATE_FAIL)
			return PFS_GATE_FAIL;
		if (r[i].status == PFS_GATE_CANNOT)
			v = PFS_GATE_CANNOT;
	}
	return v;
}

/* ---- outputs ---- */

int pfs_gate_write_text(const struct pfs_gate_result *r, size_t n, FILE *f, struct pfs_err *err)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%-12s %s%s: %s\n",
			r[i].status == PFS_GATE_PASS   ? "pass"
			: r[i].status == PFS_GATE_FAIL ? "FAIL"
						       : "CANNOT JUDGE",
			r[i].rule->text, r[i].rule->implicit ? " (default)" : "", r[i].msg);
	enum pfs_gate_status v = pfs_gate_verdict(r, n);
	fprintf(f, "verdict: %s\n",
		v == PFS_GATE_PASS   ? "pass"
		: v == PFS_GATE_FAIL ? "FAIL (a rule failed)"
				     : "CANNOT JUDGE (a rule could not be measured)");
	if (ferror(f))
		return pfs_err_sys(err, "cannot write the verdicts");
	return 0;
}

/* Markdown of a name from a capture: HTML's specials as entities, Markdown's punctuation
 * escaped, newlines as spaces, so a hostile name stays text on a job page or a ticket. */
static void md_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '&':
			fputs("&amp;", f);
			break;
		case '\n':
		case '\r':
			fputc(' ', f);
			break;
		default:
			if (strchr("\\`*_[]|~", *s))
				fputc('\\', f);
			fputc(*s, f);
		}
	}
}

int pfs_gate_write_markdown(const struct pfs_gate_result *r, size_t n, const struct pfs_diff *d,
			    bool baseline, FILE *f, struct pfs_err *err)
{
	enum pfs_gate_status v = pfs_gate_verdict(r, n);
	fprintf(f, "### perfsight check: %s\n\n",
		v == PFS_GATE_PASS   ? "pass"
		: v == PFS_GATE_FAIL ? "**FAIL**"
				     : "**cannot judge**");
	fputs("Capture: ", f);
	md_text(f, pfs_diff_side(d, 1)->label ? pfs_diff_side(d, 1)->label : "");
	fprintf(f, " (%llu samples)", (unsigned long long)pfs_diff_side(d, 1)->samples);
	if (baseline) {
		fputs(", baseline: ", f);
		md_text(f, pfs_diff_side(d, 0)->label ? pfs_diff_side(d, 0)->label : "");
		fprintf(f, " (%llu samples)", (unsigned long long)pfs_diff_side(d, 0)->samples);
	}
	fputs("\n\n| rule | verdict | measured |\n|---|---|---|\n", f);
	for (size_t i = 0; i < n; i++) {
		fputs("| ", f);
		md_text(f, r[i].rule->text);
		fprintf(f, " | %s | ",
			r[i].status == PFS_GATE_PASS   ? "pass"
			: r[i].status == PFS_GATE_FAIL ? "**fail**"
						       : "**cannot judge**");
		md_text(f, r[i].msg);
		fputs(" |\n", f);
	}
	if (baseline) {
		uint32_t top[10];
		size_t k = pfs_diff_top_changes(d, top, 10);
		static const char *const tn[] = {"self", "total", "path"};
		fprintf(f, "\nSignificant changes against the baseline (%zu; the largest %s):\n\n",
			k, k > 10 ? "10" : "all");
		if (!k)
			fputs("none beyond sampling noise\n", f);
		for (size_t i = 0; i < k && i < 10; i++) {
			const struct pfs_diff_row *x =
			    &pfs_diff_rows(d, top[i] >> 28)[top[i] & 0xfffffff];
			fprintf(f, "- %+.2f pts (%.2f%% -> %.2f%%) %s ", (x->s2 - x->s1) * 100,
				x->s1 * 100, x->s2 * 100, tn[top[i] >> 28]);
			md_text(f, x->name);
			fputc('\n', f);
		}
	}
	if (ferror(f))
		return pfs_err_sys(err, "cannot write the Markdown summary");
	return 0;
}

int pfs_gate_write_json(const struct pfs_gate_result *r, size_t n, const struct pfs_diff *d,
			bool baseline, FILE *f, struct pfs_err *err)
{
	struct pfs_jsonw w;
	enum pfs_gate_status v = pfs_gate_verdict(r, n);
	pfs_jsonw_init(&w, f, true);
	pfs_jsonw_obj(&w);
	pfs_jsonw_key(&w, "format");
	pfs_jsonw_str(&w, "perfsight-check/1");
	pfs_jsonw_key(&w, "verdict");
	pfs_jsonw_str(&w, pfs_gate_status_name(v));
	pfs_jsonw_key(&w, "capture");
	pfs_jsonw_str(&w, pfs_diff_side(d, 1)->label);
	pfs_jsonw_key(&w, "samples");
	pfs_jsonw_u64(&w, pfs_diff_side(d, 1)->samples);
	pfs_jsonw_key(&w, "baseline");
	if (baseline)
		pfs_jsonw_str(&w, pfs_diff_side(d, 0)->label);
	else
		pfs_jsonw_null(&w);
	pfs_jsonw_key(&w, "rules");
	pfs_jsonw_arr(&w);
	for (size_t i = 0; i < n; i++) {
		pfs_jsonw_obj(&w);
		pfs_jsonw_key(&w, "rule");
		pfs_jsonw_str(&w, r[i].rule->text);
		pfs_jsonw_key(&w, "origin");
		pfs_jsonw_str(&w, r[i].rule->origin);
		pfs_jsonw_key(&w, "status");
		pfs_jsonw_str(&w, pfs_gate_status_name(r[i].status));
		pfs_jsonw_key(&w, "value");
		pfs_jsonw_dbl(&w, r[i].value);
		pfs_jsonw_key(&w, "limit");
		pfs_jsonw_dbl(&w, r[i].rule->limit);
		pfs_jsonw_key(&w, "message");
		pfs_jsonw_str(&w, r[i].msg);
		pfs_jsonw_end_obj(&w);
	}
	pfs_jsonw_end_arr(&w);
	pfs_jsonw_end_obj(&w);
	fputc('\n', f);
	if (ferror(f))
		return pfs_err_sys(err, "cannot write the check's JSON");
	return 0;
}

int pfs_gate_write_junit(const struct pfs_gate_result *r, size_t n, const char *input,
			 double seconds, const char *path, struct pfs_err *err)
{
	struct pfs_junit_case *c = pfs_xcalloc(n ? n : 1, sizeof(*c));
	char host[256] = "localhost", stamp[32], suite[512];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	if (gethostname(host, sizeof(host) - 1) < 0 || !host[0])
		snprintf(host, sizeof(host), "localhost");
	snprintf(suite, sizeof(suite), "perfsight check %s", input);
	for (size_t i = 0; i < n; i++) {
		c[i].name = r[i].rule->text;
		c[i].classname = "perfsight.check";
		c[i].failure_type = r[i].status == PFS_GATE_PASS   ? NULL
				    : r[i].status == PFS_GATE_FAIL ? "rule-failed"
								   : "cannot-judge";
		c[i].message = r[i].msg;
	}
	int rc = pfs_html_write_junit(suite, host, stamp, seconds, c, n, path, err);
	free(c);
	return rc;
}
