#include <math.h>
#include <stdlib.h>

#include "harness.h"
#include "stats.h"

#define T_NEAR(a, b, tol)                                                                          \
	do {                                                                                       \
		double t_x_ = (a), t_y_ = (b);                                                     \
		if (!(fabs(t_x_ - t_y_) <= (tol)))                                                 \
			t_fail(__FILE__, __LINE__, "%s = %.9g, want %.9g", #a, t_x_, t_y_);        \
	} while (0)

/* Reference values from the textbook formulas (pooled z with Yates' correction, Holm, BH,
 * Mann-Whitney with the tie correction and continuity correction, as
 * scipy.stats.mannwhitneyu(method="asymptotic")). */
static void test_two_proportions(void)
{
	struct pfs_stats_prop r = pfs_stats_two_prop(50, 100, 70, 100, 1, 1);
	T_NEAR(r.p1, 0.5, 1e-12);
	T_NEAR(r.p2, 0.7, 1e-12);
	/* (0.2 - Yates' 0.5 * (1/100 + 1/100)) / sqrt(0.6 * 0.4 * (2/100)) */
	T_NEAR(r.z, 2.742413778, 1e-8);
	T_NEAR(r.p, 0.006099, 1e-6);
	/* a dispersion of 4 halves z */
	r = pfs_stats_two_prop(50, 100, 70, 100, 1, 4);
	T_NEAR(r.z, 2.742413778 / 2, 1e-8);
	/* the sign says which way */
	T_ASSERT(pfs_stats_two_prop(70, 100, 50, 100, 1, 1).z < 0);
	/* undefined tests are p = 1, never NaN */
	T_NEAR(pfs_stats_two_prop(0, 0, 5, 10, 1, 1).p, 1, 0);
	T_NEAR(pfs_stats_two_prop(0, 10, 0, 10, 1, 1).p, 1, 0);
	T_NEAR(pfs_stats_two_prop(10, 10, 10, 10, 1, 1).p, 1, 0);
	/* against a scaled share: 35 of 100 is what 50 of 100 becomes when the rest grew by
	 * 1/0.7, no change; 50 of 100 is */
	T_NEAR(pfs_stats_two_prop(50, 100, 35, 100, 0.7, 1).z, 0, 1e-12);
	/* within the continuity correction: no evidence at all */
	T_NEAR(pfs_stats_two_prop(50, 100, 50, 101, 1, 1).z, 0, 0);
	T_ASSERT(pfs_stats_two_prop(50, 100, 50, 100, 0.7, 1).p < 0.05);
	/* a function that appears from nothing is a change */
	T_ASSERT(pfs_stats_two_prop(0, 1000, 100, 1000, 1, 1).p < 1e-10);
}

static void test_holm_and_bh(void)
{
	double p[4] = {0.01, 0.04, 0.03, 0.005}, h[4], q[4];
	pfs_stats_holm(p, 4, h);
	T_NEAR(h[0], 0.03, 1e-12);
	T_NEAR(h[1], 0.06, 1e-12);
	T_NEAR(h[2], 0.06, 1e-12);
	T_NEAR(h[3], 0.02, 1e-12);
	pfs_stats_bh(p, 4, q);
	T_NEAR(q[0], 0.02, 1e-12);
	T_NEAR(q[1], 0.04, 1e-12);
	T_NEAR(q[2], 0.04, 1e-12);
	T_NEAR(q[3], 0.02, 1e-12);
	/* in place, and capped at 1 */
	double r[3] = {0.5, 0.6, 0.9};
	pfs_stats_holm(r, 3, r);
	T_NEAR(r[0], 1, 0);
	T_NEAR(r[2], 1, 0);
}

static void test_median_ratio(void)
{
	/* one part grew tenfold, the others kept their counts: their shares all fell by the same
	 * factor, which is the median ratio */
	uint64_t a[5] = {100, 100, 100, 100, 100}, b[5] = {1000, 100, 100, 100, 100};
	double r = pfs_stats_median_ratio(a, b, 5, 500, 1400);
	T_NEAR(r, 500.0 / 1400, 0.002);
	T_NEAR(pfs_stats_median_ratio(a, b, 0, 500, 1400), 1, 0);
	/* the four unchanged parts agree exactly: the shift is known, its error 0 */
	T_NEAR(pfs_stats_median_ratio_se(a, b, 5, 500, 1400), 0, 1e-12);
	/* log ratios ln(0.5), 0, ln(2) (+0.5 smoothing): median 0, MAD 0.69, so
	 * se = 1.2533 * 1.4826 * 0.69 / sqrt(3) */
	uint64_t c[3] = {1000, 1000, 1000}, e[3] = {500, 1000, 2000};
	double want = 1.2533 * 1.4826 * log((2000.5 / 1000.5)) / sqrt(3.0);
	T_NEAR(pfs_stats_median_ratio_se(c, e, 3, 1000, 1000), want, 0.002);
	T_NEAR(pfs_stats_median_ratio_se(c, e, 2, 1000, 1000), 0, 0);
}

/* A large row against an uncertain shift is not a change; a small one still is. */
static void test_shift_error_weighs_on_large_rows(void)
{
	/* 94.5% -> 96.9% with a shift of 0.944 +/- 0.04: within the shift's error */
	struct pfs_stats_prop big = pfs_stats_two_prop_se(945, 1000, 969, 1000, 0.944, 0.04, 1);
	struct pfs_stats_prop exact = pfs_stats_two_prop_se(945, 1000, 969, 1000, 0.944, 0, 1);
	T_ASSERT(exact.p < 1e-6);
	T_ASSERT(big.p > 0.01);
	/* 1% -> 3%: the shift's error (0.04 of 1%) changes nothing */
	struct pfs_stats_prop small = pfs_stats_two_prop_se(10, 1000, 30, 1000, 1, 0.04, 1);
	T_NEAR(small.p, pfs_stats_two_prop(10, 1000, 30, 1000, 1, 1).p, 1e-4);
}

static void test_dispersion(void)
{
	/* z scores of unit variance give about 1; scores twice as wide give about 4 */
	double z[1000], w[1000];
	for (int i = 0; i < 1000; i++) {
		/* quantiles of the standard normal by bisection on the survival function */
		double lo = -10, hi = 10, u = (i + 0.5) / 1000;
		for (int k = 0; k < 80; k++) {
			double mid = (lo + hi) / 2;
			if (1 - pfs_stats_norm_sf(mid) < u)
				lo = mid;
			else
				hi = mid;
		}
		z[i] = lo;
		w[i] = 2 * lo;
	}
	T_NEAR(pfs_stats_dispersion(z, 1000), 1, 0.02);
	T_NEAR(pfs_stats_dispersion(w, 1000), 4, 0.08);
	/* weighted: the heavy rows' spread wins */
	double zz[10] = {4, 4, 4, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5},
	       ww[10] = {9, 9, 9, 1, 1, 1, 1, 1, 1, 1};
	T_NEAR(pfs_stats_dispersion_weighted(zz, ww, 10), 16 / PFS_STATS_CHI2_MEDIAN, 1e-9);
	double few[3] = {5, 5, 5};
	T_NEAR(pfs_stats_dispersion(few, 3), 1, 0);
}

static void test_quantiles_and_mann_whitney(void)
{
	double v[5] = {1, 2, 3, 4, 10};
	T_NEAR(pfs_stats_quantile(v, 5, 0.5), 3, 0);
	T_NEAR(pfs_stats_quantile(v, 5, 0.99), 4 + 0.96 * 6, 1e-12);
	T_NEAR(pfs_stats_quantile(v, 5, 1), 10, 0);
	T_ASSERT(isnan(pfs_stats_quantile(v, 0, 0.5)));
	double a[5] = {5, 4, 3, 2, 1}, b[5] = {6, 7, 8, 9, 10};
	T_NEAR(pfs_stats_mann_whitney(a, 5, b, 5), 0.0122, 1e-4);
	double c[4] = {1, 2, 2, 3}, d[4] = {2, 3, 4, 5};
	T_NEAR(pfs_stats_mann_whitney(c, 4, d, 4), 0.136658, 1e-5);
	T_NEAR(pfs_stats_mann_whitney(c, 4, d, 0), 1, 0);
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
	    T_CASE(two_proportions), T_CASE(holm_and_bh),
	    T_CASE(median_ratio),    T_CASE(shift_error_weighs_on_large_rows),
	    T_CASE(dispersion),	     T_CASE(quantiles_and_mann_whitney),
	};
	return t_main(argc, argv, "stats", cases, sizeof(cases) / sizeof(cases[0]));
}
