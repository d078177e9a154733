/*
 * gate: `perfsight check`'s rules, their verdicts over a diff (diff.h; a capture alone when
 * there is no baseline), and the verdicts' outputs: terminal text, a Markdown summary for a CI
 * job page or ticket, perfsight-check/1 JSON and JUnit XML (written through html.c, the
 * libxml2 module). docs/check.md documents the rules, the rules file and the outputs.
 *
 * A rule is "NAME VALUE", on the command line as --NAME VALUE or one per line of a rules file
 * ('#' starts a comment):
 *
 *     min-samples 500                 refuse to judge a capture (or baseline) with fewer
 *     max-gc-share 10%                GC samples / CPU samples
 *     max-gil-wait 5%                 GIL wait / lifetime of the threads that ran Python
 *     max-share 'REGEX=3%'            total share of the functions matching REGEX (a path
 *                                     when REGEX has a ';'), each sample counted once
 *     max-cut-stacks 5%               stacks the unwinder cut short
 *     max-growth 'REGEX=+2pts'        (baseline) that share grew by more, beyond noise
 *     max-regression 2pts             (baseline) any function's own share or any call path
 *                                     grew by more, beyond noise
 *
 * Verdicts: pass, fail, or cannot judge (too few samples, a figure the capture does not have,
 * a baseline of another program): a gate never passes what it could not measure.
 *
 * Ownership: struct pfs_gate is caller-embedded (_init/_release) and owns its rules; results
 * are an array the caller frees with pfs_gate_results_free().
 */
#ifndef PFS_GATE_H
#define PFS_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "diff.h"
#include "err.h"

/*
 * The adjusted p-value below which a gate calls a change beyond noise: ten times stricter than
 * diff's, since its false alarm fails a build (measured on 24 repeated captures of one app on a
 * busy machine: 0.01 failed 1 pair of 276, 0.001 none).
 */
#define PFS_GATE_ALPHA 0.001

/* The least samples a capture needs to be judged when no min-samples rule says otherwise. */
#define PFS_GATE_MIN_SAMPLES 100

enum pfs_gate_kind {
	PFS_GATE_MIN_SAMPLES_RULE,
	PFS_GATE_GC_SHARE,
	PFS_GATE_GIL_WAIT,
	PFS_GATE_SHARE,
	PFS_GATE_CUT_STACKS,
	PFS_GATE_GROWTH,
	PFS_GATE_REGRESSION,
};

struct pfs_gate_rule {
	enum pfs_gate_kind kind;
	char *text;   /* as written: "max-gc-share 10%" */
	char *origin; /* "command line", or FILE:LINE */
	char *re;     /* max-share, max-growth */
	double limit; /* a fraction (shares, points / 100) or a count (min-samples) */
	bool implicit;
};

struct pfs_gate {
	struct pfs_gate_rule *v;
	size_t n, cap;
};

void pfs_gate_init(struct pfs_gate *g);
void pfs_gate_release(struct pfs_gate *g);

/*
 * Adds the rule name (without the leading --) with its value. origin names where it was
 * written. Returns 0, or PFS_EUSAGE with err saying what is wrong (unknown rule, bad value).
 */
int pfs_gate_add(struct pfs_gate *g, const char *name, const char *value, const char *origin,
		 struct pfs_err *err) PFS_MUST_CHECK;
/* Reads a rules file. Returns 0, PFS_EIO, or PFS_EUSAGE naming FILE:LINE. */
int pfs_gate_read(struct pfs_gate *g, const char *path, struct pfs_err *err) PFS_MUST_CHECK;
/* True when a rule needs a baseline. */
bool pfs_gate_needs_baseline(const struct pfs_gate *g, const struct pfs_gate_rule **which);

enum pfs_gate_status { PFS_GATE_PASS = 0, PFS_GATE_FAIL, PFS_GATE_CANNOT };

struct pfs_gate_result {
	const struct pfs_gate_rule *rule;
	enum pfs_gate_status status;
	double value; /* the measured figure (fraction, or count), NAN when not measured */
	char msg[1024];
};

/*
 * Judges every rule over d (made with a NULL base when there is no baseline). Returns the
 * results (one per rule, min-samples first) and their count in *n.
 */
struct pfs_gate_result *pfs_gate_eval(const struct pfs_gate *g, struct pfs_diff *d, bool baseline,
				      size_t *n);
void pfs_gate_results_free(struct pfs_gate_result *r, size_t n);
/* The verdict of all results: FAIL when any failed, else CANNOT when any could not judge. */
enum pfs_gate_status pfs_gate_verdict(const struct pfs_gate_result *r, size_t n);
const char *pfs_gate_status_name(enum pfs_gate_status s);

/* Each rule, its measured value and its verdict, one line each. Returns 0 or PFS_EIO. */
int pfs_gate_write_text(const struct pfs_gate_result *r, size_t n, FILE *f,
			struct pfs_err *err) PFS_MUST_CHECK;
/* A short Markdown summary: the verdict, the rules, the top significant changes. */
int pfs_gate_write_markdown(const struct pfs_gate_result *r, size_t n, const struct pfs_diff *d,
			    bool baseline, FILE *f, struct pfs_err *err) PFS_MUST_CHECK;
/* The perfsight-check/1 document. */
int pfs_gate_write_json(const struct pfs_gate_result *r, size_t n, const struct pfs_diff *d,
			bool baseline, FILE *f, struct pfs_err *err) PFS_MUST_CHECK;
/* JUnit XML, one testcase per rule, to path (atomically; "-": standard output). */
int pfs_gate_write_junit(const struct pfs_gate_result *r, size_t n, const char *input,
			 double seconds, const char *path, struct pfs_err *err) PFS_MUST_CHECK;

#endif
