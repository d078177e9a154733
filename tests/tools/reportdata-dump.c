/*
 * reportdata-dump: test-only driver of reportdata. Writes the report's JSON document
 * (docs/report-data.md) on standard output:
 *
 *   reportdata-dump INPUT                 from a pyinstrument/speedscope/folded input (pyprof)
 *   reportdata-dump -S SAMPLES DISTINCT THREADS
 *                                         from a synthetic capture: SAMPLES cpu-clock samples
 *                                         over THREADS threads, drawn from DISTINCT deep
 *                                         Python stacks; prints "bytes=N seconds=S" (the
 *                                         write alone) on standard error
 *
 * Exit 0 on success, 3 (message on stderr) when the input cannot be read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reportdata.h"
#include "xalloc.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

struct tee {
	struct pfs_agg *a;
	struct pfs_reportdata_tl *tl;
};

static int synthetic(size_t samples, size_t distinct, uint32_t threads)
{
	struct pfs_profile *p = pfs_profile_new();
	struct pfs_agg *a = pfs_agg_new();
	uint32_t *pool = pfs_xmalloc(distinct * sizeof(*pool));
	uint32_t ev = pfs_profile_add_event(p, "cpu-clock", true);
	uint64_t x = 88172645463325252ull, t = 1000000000ull;
	struct pfs_views *v;
	struct pfs_reportdata_tl *tl;
	struct pfs_reportdata_input in = {0};
	struct pfs_err err;
	struct pfs_frame lib = {.name = pfs_profile_cstr(p, "_PyEval_EvalFrameDefault"),
				.dso = pfs_profile_cstr(p, "/usr/lib/libpython3.12.so.1.0"),
				.kind = PFS_FK_NATIVE};
	uint32_t eval = pfs_profile_frame(p, &lib);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	double t0;
	int rc;
	for (size_t i = 0; i < distinct; i++) {
		uint32_t path = 0;
		unsigned depth = 8 + (unsigned)(next(&x) % 40);
		for (unsigned d = 0; d < depth; d++) {
			struct pfs_frame fr = {.kind = PFS_FK_PYTHON};
			char name[64];
			snprintf(name, sizeof(name), "py::fn%u:/srv/app/m%u.py",
				 (unsigned)(next(&x) % (d < 4 ? 4 : 3000)), d % 7);
			fr.name = pfs_profile_cstr(p, name);
			path = pfs_profile_path(p, path, eval);
			path = pfs_profile_path(p, path, pfs_profile_frame(p, &fr));
		}
		pool[i] = path;
	}
	v = pfs_views_new(p, NULL);
	tl = pfs_reportdata_tl_new(p, v, -1);
	for (size_t i = 0; i < samples; i++) {
		uint64_t r = next(&x) % distinct;
		struct pfs_sample_row row = {.event = ev,
					     .pid = 100 + (uint32_t)(i % threads) / 4,
					     .tid = 1000 + (uint32_t)(i % threads),
					     .path = pool[r * r / distinct],
					     .time = t += 250000,
					     .period = 250000,
					     .weight = 1};
		pfs_agg_add(a, &row);
		pfs_reportdata_tl_add(tl, &row);
	}
	in.profile = p;
	in.agg = a;
	in.views = v;
	in.timeline = tl;
	pfs_reportdata_meta_init(&in.meta);
	in.meta.title = "synthetic";
	t0 = now();
	rc = pfs_reportdata_write(&in, NULL, f, &err);
	fclose(f);
	fprintf(stderr, "bytes=%zu seconds=%.3f\n", len, now() - t0);
	if (rc == 0)
		fwrite(buf, 1, len, stdout);
	else
		fprintf(stderr, "reportdata-dump: %s\n", err.msg);
	free(buf);
	free(pool);
	pfs_reportdata_tl_free(tl);
	pfs_views_free(v);
	pfs_agg_free(a);
	pfs_profile_free(p);
	return rc ? 4 : 0;
}

static int from_input(const char *path)
{
	struct pfs_profile *p = pfs_profile_new();
	struct pfs_agg *a = pfs_agg_new();
	struct pfs_pyprof_opts po = {.merge = true};
	struct pfs_pyprof_meta m = {0};
	struct pfs_reportdata_input in = {0};
	struct pfs_views *v = NULL;
	struct pfs_diag d;
	struct pfs_err err;
	int rc = 0;
	pfs_diag_init(&d);
	if (pfs_pyprof_load(path, &po, p, pfs_agg_add, a, &m, &d, &err) < 0) {
		fprintf(stderr, "reportdata-dump: %s\n", err.msg);
		rc = 3;
		goto out;
	}
	v = pfs_views_new(p, NULL);
	in.profile = p;
	in.agg = a;
	in.views = v;
	in.pyprof = &m;
	in.diag = &d;
	pfs_reportdata_meta_init(&in.meta);
	in.meta.title = path;
	in.meta.source = "pyinstrument";
	if (pfs_reportdata_write(&in, NULL, stdout, &err) < 0) {
		fprintf(stderr, "reportdata-dump: %s\n", err.msg);
		rc = 4;
	}
out:
	pfs_views_free(v);
	pfs_pyprof_meta_release(&m);
	pfs_diag_release(&d);
	pfs_agg_free(a);
	pfs_profile_free(p);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "-S"))
		return synthetic(strtoull(argv[2], NULL, 10), strtoull(argv[3], NULL, 10),
				 (uint32_t)strtoul(argv[4], NULL, 10));
	if (argc == 2)
		return from_input(argv[1]);
	fprintf(stderr, "usage: reportdata-dump INPUT | -S SAMPLES DISTINCT THREADS\n");
	return 2;
}
