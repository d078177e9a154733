#include "stats.h"

#include <math.h>
#include <stdlib.h>

#include "xalloc.h"

double pfs_stats_norm_sf(double z)
{
	return 0.5 * erfc(z / M_SQRT2);
}

struct pfs_stats_prop pfs_stats_two_prop(uint64_t x1, uint64_t n1, uint64_t x2, uint64_t n2,
					 double scale, double dispersion)
{
	return pfs_stats_two_prop_se(x1, n1, x2, n2, scale, 0, dispersion);
}

struct pfs_stats_prop pfs_stats_two_prop_se(uint64_t x1, uint64_t n1, uint64_t x2, uint64_t n2,
					    double scale, double scale_se, double dispersion)
{
	struct pfs_stats_prop r = {0, 0, 0, 1};
	if (n1)
		r.p1 = (double)x1 / (double)n1;
	if (n2)
		r.p2 = (double)x2 / (double)n2;
	if (!n1 || !n2)
		return r;
	double e1 = scale > 0 ? r.p1 * scale : r.p1; /* what x1's share would be now */
	if (e1 > 1)
		e1 = 1;
	double pool = (e1 * (double)n1 + (double)x2) / (double)(n1 + n2);
	double var = pool * (1 - pool) * (1.0 / (double)n1 + 1.0 / (double)n2);
	if (dispersion > 1)
		var *= dispersion;
	if (scale_se > 0)
		var += (r.p1 * scale_se) * (r.p1 * scale_se);
	if (!(var > 0))
		return r;
	/* Yates' continuity correction: counts are whole numbers, and a row of a few samples
	 * swings by whole samples (4 -> 16 of ~700 is not the change its shares suggest) */
	double gap = fabs(r.p2 - e1) - 0.5 * (1.0 / (double)n1 + 1.0 / (double)n2);
	r.z = gap > 0 ? copysign(gap, r.p2 - e1) / sqrt(var) : 0;
	r.p = 2 * pfs_stats_norm_sf(fabs(r.z));
	if (r.p > 1)
		r.p = 1;
	return r;
}

static int dbl_cmp(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return (a > b) - (a < b);
}

double pfs_stats_median_ratio(const uint64_t *x1, const uint64_t *x2, size_t n, uint64_t n1,
			      uint64_t n2)
{
	if (!n || !n1 || !n2)
		return 1;
	double *r = pfs_xmalloc(n * sizeof(*r));
	for (size_t i = 0; i < n; i++)
		r[i] = (((double)x2[i] + 0.5) / (double)n2) / (((double)x1[i] + 0.5) / (double)n1);
	qsort(r, n, sizeof(*r), dbl_cmp);
	double m = n % 2 ? r[n / 2] : 0.5 * (r[n / 2 - 1] + r[n / 2]);
	free(r);
	return m;
}

double pfs_stats_median_ratio_se(const uint64_t *x1, const uint64_t *x2, size_t n, uint64_t n1,
				 uint64_t n2)
{
	if (n < 3 || !n1 || !n2)
		return 0;
	double *l = pfs_xmalloc(n * sizeof(*l));
	for (size_t i = 0; i < n; i++)
		l[i] = log((((double)x2[i] + 0.5) / (double)n2) /
			   (((double)x1[i] + 0.5) / (double)n1));
	qsort(l, n, sizeof(*l), dbl_cmp);
	double med = n % 2 ? l[n / 2] : 0.5 * (l[n / 2 - 1] + l[n / 2]);
	for (size_t i = 0; i < n; i++)
		l[i] = fabs(l[i] - med);
	qsort(l, n, sizeof(*l), dbl_cmp);
	double mad = n % 2 ? l[n / 2] : 0.5 * (l[n / 2 - 1] + l[n / 2]);
	free(l);
	return exp(med) * 1.2533 * 1.4826 * mad / sqrt((double)n);
}

double pfs_stats_dispersion(double *z, size_t n)
{
	if (n < 8)
		return 1;
	for (size_t i = 0; i < n; i++)
		z[i] *= z[i];
	qsort(z, n, sizeof(*z), dbl_cmp);
	double med = n % 2 ? z[n / 2] : 0.5 * (z[n / 2 - 1] + z[n / 2]);
	double d = med / PFS_STATS_CHI2_MEDIAN;
	return d > 1 ? d : 1;
}

struct zw {
	double z2, w;
};

static int zw_cmp(const void *x, const void *y)
{
	const struct zw *a = x, *b = y;
	return (a->z2 > b->z2) - (a->z2 < b->z2);
}

double pfs_stats_dispersion_weighted(double *z, double *w, size_t n)
{
	if (n < 8)
		return 1;
	struct zw *v = pfs_xmalloc(n * sizeof(*v));
	double all = 0, run = 0, med = 0;
	for (size_t i = 0; i < n; i++) {
		v[i] = (struct zw){z[i] * z[i], w[i] > 0 ? w[i] : 0};
		all += v[i].w;
	}
	qsort(v, n, sizeof(*v), zw_cmp);
	for (size_t i = 0; i < n; i++) {
		run += v[i].w;
		if (run >= all / 2) {
			med = v[i].z2;
			break;
		}
	}
	free(v);
	double d = med / PFS_STATS_CHI2_MEDIAN;
	return d > 1 ? d : 1;
}

struct ranked {
	double p;
	size_t i;
};

static int ranked_cmp(const void *x, const void *y)
{
	const struct ranked *a = x, *b = y;
	if (a->p != b->p)
		return a->p < b->p ? -1 : 1;
	return (a->i > b->i) - (a->i < b->i);
}

static struct ranked *rank(const double *p, size_t n)
{
	struct ranked *r = pfs_xmalloc((n ? n : 1) * sizeof(*r));
	for (size_t i = 0; i < n; i++)
		r[i] = (struct ranked){p[i], i};
	qsort(r, n, sizeof(*r), ranked_cmp);
	return r;
}

void pfs_stats_holm(const double *p, size_t n, double *adj)
{
	struct ranked *r = rank(p, n);
	double run = 0;
	for (size_t k = 0; k < n; k++) {
		double a = (double)(n - k) * r[k].p;
		if (a > 1)
			a = 1;
		if (a < run) /* step-down: never smaller than an earlier, smaller p */
			a = run;
		run = a;
		adj[r[k].i] = a;
	}
	free(r);
}

void pfs_stats_bh(const double *p, size_t n, double *adj)
{
	struct ranked *r = rank(p, n);
	double run = 1;
	for (size_t k = n; k-- > 0;) {
		double a = r[k].p * (double)n / (double)(k + 1);
		if (a > run) /* step-up: never larger than a later, larger p's */
			a = run;
		run = a;
		adj[r[k].i] = a;
	}
	free(r);
}

double pfs_stats_quantile(const double *v, size_t n, double q)
{
	if (!n)
		return NAN;
	if (q <= 0)
		return v[0];
	if (q >= 1)
		return v[n - 1];
	double pos = q * (double)(n - 1);
	size_t lo = (size_t)pos;
	double f = pos - (double)lo;
	return lo + 1 < n ? v[lo] + f * (v[lo + 1] - v[lo]) : v[lo];
}

double pfs_stats_mann_whitney(double *a, size_t na, double *b, size_t nb)
{
	if (!na || !nb)
		return 1;
	qsort(a, na, sizeof(*a), dbl_cmp);
	qsort(b, nb, sizeof(*b), dbl_cmp);
	/* merge, giving each run of ties its mean rank; sum a's ranks and the tie term */
	size_t i = 0, j = 0;
	double rank_a = 0, ties = 0, next = 1;
	while (i < na || j < nb) {
		double v = i < na && (j >= nb || a[i] <= b[j]) ? a[i] : b[j];
		size_t ca = 0, cb = 0;
		while (i < na && a[i] == v)
			i++, ca++;
		while (j < nb && b[j] == v)
			j++, cb++;
		double t = (double)(ca + cb);
		double mean = next + (t - 1) / 2;
		rank_a += mean * (double)ca;
		ties += t * t * t - t;
		next += t;
	}
	double n1 = (double)na, n2 = (double)nb, n = n1 + n2;
	double u = rank_a - n1 * (n1 + 1) / 2;
	double mu = n1 * n2 / 2;
	double var = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)));
	if (!(var > 0))
		return 1;
	double z = (fabs(u - mu) - 0.5) / sqrt(var); /* continuity correction */
	if (z < 0)
		z = 0;
	double p = 2 * pfs_stats_norm_sf(z);
	return p > 1 ? 1 : p;
}
