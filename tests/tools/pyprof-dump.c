/*
 * pyprof-dump: test-only driver of the pyprof reader. Loads one file (or, with -m, a directory
 * merged) and prints what the tests compare:
 *
 *   pyprof-dump -s PATH   one "capture" line per file and a "total" line (key=value)
 *   pyprof-dump -f PATH   folded stacks: "name (file:line);... WEIGHT", one per distinct stack
 *   pyprof-dump -b PATH   load time, MB/s of input and peak RSS
 *   pyprof-dump -a PATH   "1 frame" or "0 frame" per call path: is its leaf application code
 *
 * Exit 0 when the load succeeds, 3 (message on stderr) when it fails.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pyprof.h"
#include "xalloc.h"

struct acc {
	double *w;
	size_t cap;
};

static int sink(void *payload, const struct pfs_sample_row *row)
{
	struct acc *a = payload;
	if (row->path >= a->cap) {
		size_t old = a->cap;
		PFS_GROW(a->w, a->cap, (size_t)row->path + 1);
		memset(a->w + old, 0, (a->cap - old) * sizeof(*a->w));
	}
	a->w[row->path] += row->weight;
	return 0;
}

static void put_frame(const struct pfs_profile *p, uint32_t fid)
{
	const struct pfs_frame *f = pfs_profile_frameget(p, fid);
	size_t n;
	const char *s = pfs_profile_strget(p, f->name, &n);
	/* names may hold anything; keep the folded line parseable */
	for (size_t i = 0; i < n; i++)
		putchar(s[i] == ';' || s[i] == '\n' || s[i] == ' ' || !s[i] ? '_' : s[i]);
	if (f->file) {
		s = pfs_profile_strget(p, f->file, &n);
		fputs(" (", stdout);
		for (size_t i = 0; i < n; i++)
			putchar(s[i] == ';' || s[i] == '\n' || s[i] == ' ' || !s[i] ? '_' : s[i]);
		printf(":%" PRIu32 ")", f->line);
	}
}

static void print_folded(const struct pfs_profile *p, const struct acc *a)
{
	uint32_t *chain = NULL;
	size_t cap = 0;
	for (size_t id = 0; id < a->cap; id++) {
		size_t n = 0;
		if (a->w[id] <= 0)
			continue;
		for (uint32_t q = (uint32_t)id; q; q = pfs_profile_pathget(p, q)->parent) {
			PFS_GROW(chain, cap, n + 1);
			chain[n++] = pfs_profile_pathget(p, q)->frame;
		}
		if (!n)
			fputs("[root]", stdout);
		while (n--) {
			put_frame(p, chain[n]);
			if (n)
				putchar(';');
		}
		printf(" %.9f\n", a->w[id]);
	}
	free(chain);
}

static void print_num(const char *k, double v)
{
	if (isnan(v))
		printf(" %s=-", k);
	else
		printf(" %s=%.9f", k, v);
}

static void print_summary(const struct pfs_profile *p, const struct pfs_pyprof_meta *m,
			  const struct pfs_diag *d)
{
	for (size_t i = 0; i < m->n_caps; i++) {
		const struct pfs_pyprof_capture *c = &m->caps[i];
		printf("capture label=%s kind=%s unit=%s version=%d tid=%" PRIu32,
		       pfs_profile_strget(p, c->label, NULL), pfs_pyprof_kind_name(c->kind),
		       c->unit == PFS_PYPROF_SECONDS ? "seconds" : "samples", c->version, c->tid);
		print_num("duration", c->duration);
		print_num("cpu_time", c->cpu_time);
		print_num("start_time", c->start_time);
		if (c->sample_count == UINT64_MAX)
			printf(" sample_count=-");
		else
			printf(" sample_count=%" PRIu64, c->sample_count);
		printf(" rows=%" PRIu64, c->rows);
		print_num("weight", c->weight);
		printf(" prefixes=%u\n", c->n_sys_prefix);
	}
	printf("total kind=%s captures=%zu rows=%" PRIu64, pfs_pyprof_kind_name(m->kind), m->n_caps,
	       m->rows);
	print_num("weight", m->weight);
	printf(" frames=%zu paths=%zu\n", pfs_profile_n_frames(p), pfs_profile_n_paths(p));
	for (size_t i = 0; i < d->n; i++)
		printf("diag %s %s count=%" PRIu64 "\n", pfs_severity_name(d->v[i].sev),
		       d->v[i].code, d->v[i].count);
}

int main(int argc, char **argv)
{
	struct pfs_pyprof_opts opts = {0};
	struct pfs_pyprof_meta meta;
	struct pfs_diag diag;
	struct pfs_err err = {0};
	struct acc acc = {0};
	struct pfs_profile *p;
	struct timespec t0, t1;
	int c, mode = 's', rc;

	while ((c = getopt(argc, argv, "msfba")) != -1) {
		if (c == 'm')
			opts.merge = true;
		else if (c == 's' || c == 'f' || c == 'b' || c == 'a')
			mode = c;
		else
			return 2;
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: pyprof-dump [-m] [-s|-f|-b|-a] PATH\n");
		return 2;
	}
	pfs_diag_init(&diag);
	p = pfs_profile_new();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = pfs_pyprof_load(argv[optind], &opts, p, sink, &acc, &meta, &diag, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc < 0) {
		fprintf(stderr, "pyprof-dump: %s\n", err.msg);
	} else if (mode == 's') {
		print_summary(p, &meta, &diag);
	} else if (mode == 'f') {
		print_folded(p, &acc);
	} else if (mode == 'a') {
		for (size_t id = 1; id <= pfs_profile_n_paths(p); id++) {
			printf("%d ", pfs_pyprof_is_app(p, &meta.caps[0], (uint32_t)id));
			put_frame(p, pfs_profile_pathget(p, (uint32_t)id)->frame);
			putchar('\n');
		}
	} else {
		struct stat sb;
		struct rusage ru;
		double secs =
		    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		getrusage(RUSAGE_SELF, &ru);
		if (stat(argv[optind], &sb) == 0)
			printf("bytes=%lld seconds=%.3f mb_per_s=%.1f rows=%" PRIu64
			       " max_rss_kb=%ld\n",
			       (long long)sb.st_size, secs, (double)sb.st_size / 1e6 / secs,
			       meta.rows, ru.ru_maxrss);
	}
	pfs_pyprof_meta_release(&meta);
	pfs_profile_free(p);
	pfs_diag_release(&diag);
	free(acc.w);
	return rc < 0 ? 3 : 0;
}
