/*
 * stats: the tests that tell a change from sampling noise (docs/diff-statistics.md says why
 * these and how they are used). Pure functions over numbers: no allocation but for the
 * adjusted p-values the caller's arrays receive, no state, no I/O.
 *
 *  - the two-proportion z test on sample counts (pooled variance), optionally with the
 *    variance inflated by a dispersion factor measured on the same comparison;
 *  - the dispersion factor itself (genomic control: the median of the tests' z^2 over the
 *    median of a chi-square with one degree of freedom, never below 1);
 *  - Holm's step-down and Benjamini-Hochberg's step-up adjustments for many tests;
 *  - the Mann-Whitney U test (normal approximation, tie-corrected) for durations (GC pauses,
 *    requests), and quantiles.
 */
#ifndef PFS_STATS_H
#define PFS_STATS_H

#include <stddef.h>
#include <stdint.h>

/* The median of a chi-square distribution with one degree of freedom. */
#define PFS_STATS_CHI2_MEDIAN 0.4549364231195724

/* P(Z > z) for a standard normal Z. */
double pfs_stats_norm_sf(double z);

struct pfs_stats_prop {
	double p1, p2; /* x1/n1 and x2/n2 (0 when n is 0) */
	double z;      /* (p2 - p1) / its standard error under H0: p1 = p2; 0 when undefined */
	double p;      /* two-sided p-value; 1 when the test is undefined (n1 or n2 is 0, or
			  both proportions are 0 or 1) */
};

/*
 * Two-proportion z test of x1 of n1 against x2 of n2 (with Yates' continuity correction), the
 * pooled variance multiplied by dispersion (1: plain binomial sampling; larger widens the noise
 * band). scale (1: none) tests x2/n2 against scale * x1/n1 instead: the share x1 would have in the
 * second sample if only the rest of it had changed (a composition shift, pfs_stats_median_ratio()).
 */
struct pfs_stats_prop pfs_stats_two_prop(uint64_t x1, uint64_t n1, uint64_t x2, uint64_t n2,
					 double scale, double dispersion);
/*
 * The same, with scale_se the standard error of scale: the shift is an estimate, and its error
 * weighs as (x1/n1 * scale_se)^2 on the variance, which matters for large rows only (a
 * function holding 95% of the samples cannot be judged against a shift known to +/-4%).
 */
struct pfs_stats_prop pfs_stats_two_prop_se(uint64_t x1, uint64_t n1, uint64_t x2, uint64_t n2,
					    double scale, double scale_se, double dispersion);

/*
 * The median over the n pairs (x1[i], x2[i]) of (x2 + 0.5) / n2 over (x1 + 0.5) / n1: by how
 * much the shares of the parts that did not change moved because others did (the
 * median-of-ratios normalisation of count data). 1 when n is 0. x1 and x2 are not changed.
 */
double pfs_stats_median_ratio(const uint64_t *x1, const uint64_t *x2, size_t n, uint64_t n1,
			      uint64_t n2);
/*
 * The standard error of pfs_stats_median_ratio() over the same pairs: the median's,
 * 1.2533 sigma / sqrt(n), with sigma of the log ratios from their median absolute deviation
 * (1.4826 MAD), times the median ratio. 0 when n < 3.
 */
double pfs_stats_median_ratio_se(const uint64_t *x1, const uint64_t *x2, size_t n, uint64_t n1,
				 uint64_t n2);

/*
 * The dispersion of n z scores: median(z^2) / PFS_STATS_CHI2_MEDIAN, at least 1; 1 when n < 8
 * (too few to say). The z scores are of tests where most hypotheses hold (most functions do
 * not change between two builds); z is reordered.
 */
double pfs_stats_dispersion(double *z, size_t n);

/*
 * The same with each z weighted (w[i] >= 0, e.g. the row's samples): the weighted median of
 * z^2, so that the rows that hold most of the samples, whose run-to-run variation exceeds plain
 * sampling most, set the noise. z and w are reordered together.
 */
double pfs_stats_dispersion_weighted(double *z, double *w, size_t n);

/* Holm's step-down adjusted p-values of p[0..n) into adj (which may be p). FWER control. */
void pfs_stats_holm(const double *p, size_t n, double *adj);
/* Benjamini-Hochberg's adjusted p-values (q-values) into adj (which may be p). FDR control. */
void pfs_stats_bh(const double *p, size_t n, double *adj);

/* The q-quantile (0..1) of v[0..n) sorted ascending, linearly interpolated; NAN when n is 0. */
double pfs_stats_quantile(const double *v, size_t n, double q);

/*
 * Mann-Whitney U test of a[0..na) against b[0..nb) (both are sorted in place): the two-sided
 * p-value by the normal approximation with the tie correction; 1 when na or nb is 0.
 */
double pfs_stats_mann_whitney(double *a, size_t na, double *b, size_t nb);

#endif
