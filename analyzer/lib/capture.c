#include "capture.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "callgrind.h"
#include "cgreport.h"
#include "perfdata.h"
#include "pstats.h"
#include "store.h"
#include "xalloc.h"

/* The call-graph format whose first bytes head holds, or 0. */
static int graph_format(const unsigned char *head, size_t n)
{
	if (pfs_pstats_sniff(head, n))
		return PFS_CG_PSTATS;
	if (pfs_callgrind_sniff(head, n))
		return PFS_CG_CALLGRIND;
	return 0;
}

/* Reads up to n bytes of the start of path into head: the count, or a negative code. */
static ssize_t read_head(const char *path, unsigned char *head, size_t n, struct pfs_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pfs_err_sys(err, "cannot open %s", path);
	ssize_t k = read(fd, head, n);
	int saved = errno;
	close(fd);
	if (k < 0) {
		errno = saved;
		return pfs_err_sys(err, "cannot read %s", path);
	}
	return k;
}

int pfs_capture_detect(const char *path, struct pfs_err *err)
{
	unsigned char head[64] = {0};
	struct stat sb;
	if (!strcmp(path, "-"))
		return PFS_CAPTURE_PERF;
	if (stat(path, &sb) < 0)
		return pfs_err_sys(err, "cannot open %s", path);
	if (S_ISDIR(sb.st_mode)) {
		char *in = pfs_reader_dir_capture(path);
		free(in);
		return in ? PFS_CAPTURE_PERF : PFS_CAPTURE_PYPROF;
	}
	ssize_t n = read_head(path, head, sizeof(head), err);
	if (n < 0)
		return (int)n;
	if (n >= 8 && (!memcmp(head, "PERFILE2", 8) || !memcmp(head, "2ELIFREP", 8)))
		return PFS_CAPTURE_PERF;
	if (n >= 16 && !memcmp(head, "SQLite format 3", 16))
		return PFS_CAPTURE_DB;
	if (graph_format(head, (size_t)n))
		return PFS_CAPTURE_CALLGRAPH;
	return PFS_CAPTURE_PYPROF;
}

/* The row fan-out: agg, the caller's sink, the timeline (made at the first row, see below). */
struct loader {
	struct pfs_capture *c;
	const struct pfs_capture_opts *o;
	bool want_timeline;
};

/* The analysis' sink: the caller's (o->an_sink), and the GIL waits to the timeline. */
static int an_offcpu(void *payload, const struct pfs_an_offcpu *x)
{
	const struct pfs_an_sink *s = ((struct loader *)payload)->o->an_sink;
	return s && s->offcpu ? s->offcpu(s->payload, x) : 0;
}

static int an_probe(void *payload, const struct pfs_sample_row *row, const char *fields)
{
	const struct pfs_an_sink *s = ((struct loader *)payload)->o->an_sink;
	return s && s->probe ? s->probe(s->payload, row, fields) : 0;
}

static int an_wait(void *payload, const struct pfs_an_wait *w)
{
	struct loader *l = payload;
	const struct pfs_an_sink *s = l->o->an_sink;
	int rc = s && s->wait ? s->wait(s->payload, w) : 0;
	if (rc >= 0 && l->c->timeline)
		rc = pfs_reportdata_tl_wait(l->c->timeline, w);
	return rc;
}

static void timeline_start(struct loader *l)
{
	struct pfs_capture *c = l->c;
	const struct pfs_pyver *ver = c->analysis ? pfs_analysis_python(c->analysis) : NULL;
	/*
	 * The analysis names the CPython from the binaries mapped before the first sample; the
	 * views classify the timeline's stacks with that version's tables.
	 */
	c->views = pfs_views_new(c->prof, ver);
	c->timeline = pfs_reportdata_tl_new(c->prof, c->views, -1);
	l->want_timeline = false;
}

static int row_cb(void *payload, const struct pfs_sample_row *row)
{
	struct loader *l = payload;
	struct pfs_capture *c = l->c;
	int rc = 0;
	c->rows++;
	if (c->agg) {
		pfs_agg_add(c->agg, row);
	} else {
		PFS_GROW_ZEROED(c->row_paths, c->n_row_paths, row->path / 64);
		c->row_paths[row->path / 64] |= 1ull << (row->path % 64);
	}
	if (l->o->sink && (rc = l->o->sink(l->o->payload, row)) < 0)
		return rc;
	if (l->want_timeline)
		timeline_start(l);
	if (c->timeline)
		pfs_reportdata_tl_add(c->timeline, row);
	return 0;
}

static void hook_record(void *payload, struct pfs_reader *r, const struct pfs_record *rec)
{
	struct loader *l = payload;
	if (l->c->analysis)
		pfs_analysis_perf_record(l->c->analysis, r, rec);
}

static int hook_sample(void *payload, const struct pfs_sample_row *row,
		       const struct pfs_record *rec)
{
	struct loader *l = payload;
	return l->c->analysis ? pfs_analysis_perf_sample(l->c->analysis, row, rec) : 0;
}

static char *dupnz(const char *s)
{
	return s && *s ? pfs_xstrdup(s) : NULL;
}

/* The recorded command line, perf's own arguments included, as `perf report --header` shows. */
static char *join_cmdline(const struct pfs_info *info)
{
	size_t len = 1;
	for (size_t i = 0; i < info->n_cmdline; i++)
		len += (info->cmdline[i] ? strlen(info->cmdline[i]) : 0) + 1;
	if (!info->n_cmdline)
		return NULL;
	char *s = pfs_xmalloc(len), *p = s;
	for (size_t i = 0; i < info->n_cmdline; i++) {
		const char *a = info->cmdline[i] ? info->cmdline[i] : "";
		size_t n = strlen(a);
		if (i)
			*p++ = ' ';
		memcpy(p, a, n);
		p += n;
	}
	*p = 0;
	return s;
}

static void hook_end(void *payload, struct pfs_reader *r)
{
	struct loader *l = payload;
	struct pfs_capture *c = l->c;
	const struct pfs_info *info = pfs_reader_info(r);
	const struct pfs_stats *st = pfs_reader_stats(r);
	c->info.host = dupnz(info->hostname);
	c->info.os_release = dupnz(info->osrelease);
	c->info.perf_version = dupnz(info->version);
	c->info.cmdline = join_cmdline(info);
	c->info.cpus = info->nr_cpus_online;
	c->info.lost_samples = pfs_stats_lost(st);
	if (st->last_time > st->first_time)
		c->info.duration_s = (double)(st->last_time - st->first_time) / 1e9;
	if (info->has_clock_data && info->wall_clock_ns) {
		/* the capture's clock reference gives the wall time it was recorded at */
		time_t t = (time_t)(info->wall_clock_ns / 1000000000u);
		struct tm tm;
		char buf[64];
		if (gmtime_r(&t, &tm) && strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm))
			c->info.recorded = pfs_xstrdup(buf);
	}
	if (c->analysis)
		pfs_analysis_perf_finish(c->analysis, r, c->info.label, c->info.source);
}

static const char *base_name(const char *path)
{
	const char *sl = strrchr(path, '/');
	return sl && sl[1] ? sl + 1 : path;
}

/* A capture's label: its directory when the file has perf's default name, else its name. */
static char *label_of(const char *path)
{
	const char *b = base_name(path);
	if (!strcmp(path, "-"))
		return pfs_xstrdup("stdin");
	if (!strcmp(b, "perf.data") && b > path) {
		const char *end = b - 1, *start = end;
		while (start > path && start[-1] != '/')
			start--;
		if (end > start)
			return pfs_xstrndup(start, (size_t)(end - start));
	}
	return pfs_xstrdup(b);
}

static int load_perf(struct pfs_capture *c, const char *path, const struct pfs_capture_opts *o,
		     struct loader *l, struct pfs_err *err)
{
	struct pfs_ingest_opts io = o->ingest;
	struct pfs_ingest_hooks hooks = {
	    .payload = l, .record = hook_record, .sample = hook_sample, .end = hook_end};
	if (o->analysis) {
		const struct pfs_an_sink *u = o->an_sink;
		struct pfs_an_sink sink = {.payload = l,
					   .offcpu = u && u->offcpu ? an_offcpu : NULL,
					   .probe = u && u->probe ? an_probe : NULL,
					   .wait = an_wait};
		c->analysis = pfs_analysis_new(c->prof);
		pfs_analysis_set_sink(c->analysis, &sink);
		io.event = NULL;
		io.first_sampling = false;
	}
	io.hooks = &hooks;
	l->want_timeline = o->timeline;
	int rc = pfs_ingest_perf(path, &io, c->prof, row_cb, l, &c->diag, err);
	if (rc < 0)
		return rc;
	if (!c->views)
		c->views =
		    pfs_views_new(c->prof, c->analysis ? pfs_analysis_python(c->analysis) : NULL);
	return 0;
}

/* c->info from the capture's row, as every read of a database gives it. */
static void info_from_row(struct pfs_capture *c, const struct pfs_store_capture *k)
{
	struct pfs_capture_info *i = &c->info;
	free(i->label);
	free(i->source);
	free(i->kind);
	free(i->host);
	free(i->os_release);
	free(i->perf_version);
	free(i->cmdline);
	free(i->recorded);
	i->label = dupnz(k->label);
	i->source = dupnz(k->source);
	i->kind = dupnz(k->kind);
	i->host = dupnz(k->host);
	i->os_release = dupnz(k->os_release);
	i->perf_version = dupnz(k->perf_version);
	i->cmdline = dupnz(k->cmdline);
	i->recorded = NULL;
	i->duration_s = k->duration;
	i->cpus = k->cpus;
	i->lost_samples = k->lost_samples;
	if (!isnan(k->start_time) && k->start_time > 0) {
		time_t t = (time_t)k->start_time;
		struct tm tm;
		char buf[64];
		if (gmtime_r(&t, &tm) && strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm))
			i->recorded = pfs_xstrdup(buf);
	}
}

/*
 * Reads the row of capture id into c->info, and its weight unit into *weight_unit (NULL or
 * the caller's to free). Returns 0, PFS_EDB, or PFS_EUSAGE (no such id).
 */
static int read_row(struct pfs_capture *c, struct pfs_store *st, int64_t id, char **weight_unit,
		    struct pfs_err *err)
{
	struct pfs_store_capture *caps = NULL;
	int n = pfs_store_captures(st, &caps, err), rc = PFS_EUSAGE;
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++)
		if (caps[i].id == id) {
			info_from_row(c, &caps[i]);
			*weight_unit = dupnz(caps[i].weight_unit);
			rc = 0;
		}
	pfs_store_captures_free(caps, (size_t)n);
	if (rc)
		return pfs_err_set(err, rc, PFS_NO_OFF, "no capture %lld in the database",
				   (long long)id);
	return 0;
}

/*
 * A profiler dump read back from a database: one pfs_pyprof_capture per thread (each file of a
 * merged directory is a thread named by the file; its start and end are the file's span), with
 * the rows and weight the agg summed for it. A "pyinstrument" capture of several threads is a
 * merged directory: a pyinstrument file itself is always one thread.
 */
static void dump_from_db(struct pfs_capture *c, const char *weight_unit)
{
	size_t n = pfs_profile_n_threads(c->prof);
	struct pfs_pyprof_meta *m = &c->pyprof;
	if (!n)
		return;
	m->caps = pfs_xcalloc(n, sizeof(*m->caps));
	m->unit = !weight_unit			    ? PFS_PYPROF_UNIT_NONE
		  : !strcmp(weight_unit, "seconds") ? PFS_PYPROF_SECONDS
		  : !strcmp(weight_unit, "samples") ? PFS_PYPROF_SAMPLES
						    : PFS_PYPROF_UNIT_NONE;
	for (size_t i = 0; i < n; i++) {
		const struct pfs_thread *t = pfs_profile_thread_at(c->prof, i);
		struct pfs_pyprof_capture *k = &m->caps[m->n_caps++];
		k->unit = m->unit;
		k->start_time = t->start ? (double)t->start / 1e9 : NAN;
		k->duration = t->end > t->start && t->start ? (double)(t->end - t->start) / 1e9
			      : n == 1			    ? c->info.duration_s
							    : NAN;
		k->cpu_time = NAN;
		k->sample_count = UINT64_MAX;
		k->label = t->comm;
		k->tid = t->tid;
		for (size_t j = 0; c->agg && j < pfs_agg_n(c->agg); j++) {
			const struct pfs_agg_cell *cell = pfs_agg_cell(c->agg, j);
			if (cell->pid != t->pid || cell->tid != t->tid)
				continue;
			if (!k->rows)
				k->event = cell->event;
			k->rows += cell->count;
			k->weight += cell->weight;
		}
		m->rows += k->rows;
		m->weight += k->weight;
	}
	m->kind = n > 1 && c->info.kind && !strcmp(c->info.kind, "pyinstrument") ? PFS_PYPROF_DIR
										 : PFS_PYPROF_NONE;
	c->pyprof_kind = m->kind;
}

/*
 * The distinct stacks of a database's samples may hold a frame per byte of the file, and 1M:
 * what comes after (views, folded export, flame graph, report) costs their frames, and rows of
 * a few bytes each can make a chain of paths with a sample on every one, n^2/2 frames from n
 * rows (F7 of the fuzz findings, in a database: pyprof bounds a dump the same way).
 */
#define DB_STACK_FRAMES_BASE ((uint64_t)1000000)

static int db_stacks_bounded(const struct pfs_capture *c, const char *path, struct pfs_err *err)
{
	struct stat sb;
	uint64_t budget = DB_STACK_FRAMES_BASE, frames = 0;
	size_t n = pfs_agg_n(c->agg), words = (pfs_profile_n_paths(c->prof) + 64) / 64;
	uint64_t *seen = pfs_xcalloc(words ? words : 1, sizeof(*seen));
	int rc = 0;
	if (stat(path, &sb) == 0 && sb.st_size > 0)
		budget += (uint64_t)sb.st_size;
	for (size_t i = 0; i < n && !rc; i++) {
		uint32_t p = pfs_agg_cell(c->agg, i)->path;
		if (!p || p / 64 >= words || seen[p / 64] >> (p % 64) & 1)
			continue;
		seen[p / 64] |= 1ull << (p % 64);
		frames += pfs_profile_pathget(c->prof, p)->depth;
		if (frames > budget)
			rc =
			    pfs_err_set(err, PFS_ELIMIT, PFS_NO_OFF,
					"capture %lld: its samples' distinct stacks hold more than "
					"%llu frames (a frame per byte of the file, and %llu): "
					"tampered paths?",
					(long long)c->db_id, (unsigned long long)budget,
					(unsigned long long)DB_STACK_FRAMES_BASE);
	}
	free(seen);
	return rc;
}

static int load_db(struct pfs_capture *c, const char *path, const struct pfs_capture_opts *o,
		   struct pfs_err *err)
{
	struct pfs_store *st = NULL;
	int rc = pfs_store_open(&st, path, PFS_STORE_READONLY, err);
	if (rc < 0)
		return rc;
	char *weight_unit = NULL;
	if ((rc = pfs_store_find(st, o->which, &c->db_id, err)) < 0 ||
	    (rc = read_row(c, st, c->db_id, &weight_unit, err)) < 0)
		goto out;
	/* a loss is the capture's, not the load's: read back, it says so as the file does */
	if (c->info.lost_samples != UINT64_MAX)
		pfs_diag_lost(&c->diag, c->info.lost_samples, PFS_NO_OFF);
	if (o->stored_report &&
	    (rc = pfs_store_get_report(st, c->db_id, &c->report_json, &c->report_len, err)) < 0)
		goto out;
	if (c->report_json) {
		c->views = pfs_views_new(c->prof, NULL);
		goto out;
	}
	if ((rc = pfs_store_load_profile(st, c->db_id, c->prof, err)) < 0)
		goto out;
	if ((rc = pfs_store_load_callgraph(st, c->db_id, c->prof, &c->graph, err)) < 0)
		goto out;
	if (c->graph) {
		c->views = pfs_views_new(c->prof, NULL);
		goto out;
	}
	/* what import stored: the same figures as the raw file gives, without its records */
	if ((rc = pfs_store_load_analysis(st, c->db_id, c->prof, c->info.label, c->info.source,
					  &c->analysis, err)) < 0)
		goto out;
	if (c->analysis && o->agg_without_analysis) {
		pfs_agg_free(c->agg);
		c->agg = NULL;
	}
	if (c->agg) {
		int64_t ns = pfs_store_fill_agg(st, c->db_id, c->agg, err);
		if (ns < 0) {
			rc = (int)ns;
			goto out;
		}
		c->rows = (uint64_t)ns;
		if ((rc = db_stacks_bounded(c, path, err)) < 0)
			goto out;
	}
	if (c->info.kind && strcmp(c->info.kind, "perf"))
		dump_from_db(c, weight_unit);
	c->views = pfs_views_new(c->prof, c->analysis ? pfs_analysis_python(c->analysis) : NULL);
out:
	free(weight_unit);
	pfs_store_close(st);
	return rc;
}

static int load_pyprof(struct pfs_capture *c, const char *path, const struct pfs_capture_opts *o,
		       struct loader *l, struct pfs_err *err)
{
	struct pfs_pyprof_opts po = {.merge = !o->no_merge, .label = o->label};
	int kind = pfs_pyprof_detect(path, err);
	if (kind < 0)
		return kind;
	if (kind == PFS_PYPROF_NONE)
		return pfs_err_set(
		    err, PFS_EFORMAT, 0,
		    "not a capture perfsight reads (perf.data, a perfsight database, "
		    "pyinstrument, speedscope, folded stacks, pstats or callgrind)");
	c->pyprof_kind = (enum pfs_pyprof_kind)kind;
	int rc = pfs_pyprof_load(path, &po, c->prof, row_cb, l, &c->pyprof, &c->diag, err);
	if (rc < 0)
		return rc;
	if (c->pyprof.n_caps == 1) {
		const struct pfs_pyprof_capture *k = &c->pyprof.caps[0];
		c->info.duration_s = k->duration;
		if (k->program)
			c->info.cmdline = dupnz(pfs_profile_strget(c->prof, k->program, NULL));
	}
	c->views = pfs_views_new(c->prof, NULL);
	return 0;
}

static int load_callgraph(struct pfs_capture *c, const char *path, struct pfs_err *err)
{
	unsigned char head[64];
	ssize_t n = read_head(path, head, sizeof(head), err);
	int rc;
	if (n < 0)
		return (int)n;
	if (graph_format(head, (size_t)n) == PFS_CG_PSTATS)
		rc = pfs_pstats_load(path, c->prof, &c->graph, &c->diag, err);
	else
		rc = pfs_callgrind_load(path, c->prof, &c->graph, &c->diag, err);
	if (rc < 0)
		return rc;
	if (pfs_cg_info(c->graph)->cmd)
		c->info.cmdline = pfs_xstrdup(pfs_cg_info(c->graph)->cmd);
	c->info.kind = pfs_xstrdup(pfs_cg_format_name(pfs_cg_format(c->graph)));
	c->views = pfs_views_new(c->prof, NULL);
	return 0;
}

int pfs_capture_load(struct pfs_capture *c, const char *path, const struct pfs_capture_opts *o,
		     struct pfs_err *err)
{
	static const struct pfs_capture_opts none;
	if (!o)
		o = &none;
	memset(c, 0, sizeof(*c));
	pfs_diag_init(&c->diag);
	c->prof = pfs_profile_new();
	if (!o->no_agg)
		c->agg = pfs_agg_new();
	c->info.duration_s = NAN;
	c->info.lost_samples = UINT64_MAX;
	c->info.source = pfs_xstrdup(path);
	c->info.label = label_of(path);
	struct loader l = {.c = c, .o = o};
	int kind = pfs_capture_detect(path, err);
	if (kind < 0)
		return kind;
	c->kind = (enum pfs_capture_kind)kind;
	switch (c->kind) {
	case PFS_CAPTURE_PERF:
		return load_perf(c, path, o, &l, err);
	case PFS_CAPTURE_DB:
		return load_db(c, path, o, err);
	case PFS_CAPTURE_PYPROF:
		return load_pyprof(c, path, o, &l, err);
	case PFS_CAPTURE_CALLGRAPH:
		return load_callgraph(c, path, err);
	}
	return pfs_err_set(err, PFS_EUSAGE, PFS_NO_OFF, "unknown capture kind %d", kind);
}

void pfs_capture_release(struct pfs_capture *c)
{
	pfs_reportdata_tl_free(c->timeline);
	pfs_views_free(c->views);
	pfs_analysis_free(c->analysis);
	pfs_cg_free(c->graph);
	pfs_pyprof_meta_release(&c->pyprof);
	pfs_agg_free(c->agg);
	pfs_profile_free(c->prof);
	pfs_diag_release(&c->diag);
	free(c->report_json);
	free(c->row_paths);
	free(c->info.label);
	free(c->info.source);
	free(c->info.host);
	free(c->info.os_release);
	free(c->info.perf_version);
	free(c->info.cmdline);
	free(c->info.recorded);
	free(c->info.kind);
	memset(c, 0, sizeof(*c));
}

int pfs_capture_event(const struct pfs_capture *c, const char *name)
{
	if (c->graph)
		return pfs_cg_event_find(c->graph, name);
	for (size_t i = 0; i < pfs_profile_n_events(c->prof); i++)
		if (!strcmp(pfs_profile_strget(c->prof,
					       pfs_profile_event(c->prof, (uint32_t)i)->name, NULL),
			    name))
			return (int)i;
	return -1;
}

int pfs_capture_first_sampling(const struct pfs_capture *c)
{
	for (size_t i = 0; i < pfs_profile_n_events(c->prof); i++)
		if (pfs_profile_event(c->prof, (uint32_t)i)->sampling)
			return (int)i;
	return -1;
}

int pfs_capture_fold_event(const struct pfs_capture *c, const char *name, int *out)
{
	*out = name			       ? pfs_capture_event(c, name)
	       : c->kind == PFS_CAPTURE_PYPROF ? -1
					       : pfs_capture_first_sampling(c);
	return *out < 0 && (name || c->kind != PFS_CAPTURE_PYPROF) ? PFS_EUSAGE : 0;
}

enum pfs_fold_weight pfs_capture_default_weight(const struct pfs_capture *c)
{
	if (c->kind != PFS_CAPTURE_PYPROF)
		return PFS_FOLD_SAMPLES;
	return c->pyprof.unit == PFS_PYPROF_SECONDS ? PFS_FOLD_SECONDS : PFS_FOLD_PERIOD;
}

void pfs_capture_report_meta(const struct pfs_capture *c, struct pfs_reportdata_meta *m)
{
	m->host = c->info.host;
	m->command = c->info.cmdline;
	m->perf_version = c->info.perf_version;
	m->kernel = c->info.os_release;
	m->recorded = c->info.recorded;
	bool dump = c->kind == PFS_CAPTURE_PYPROF ||
		    (c->kind == PFS_CAPTURE_DB && c->info.kind && strcmp(c->info.kind, "perf"));
	m->source = c->graph ? pfs_cg_format_name(pfs_cg_format(c->graph))
		    : dump   ? "pyinstrument"
			     : "perf.data";
	m->duration_s = c->info.duration_s;
	m->lost = c->info.lost_samples;
}

/* The report data of c over the given diagnostics, titled title (NULL: none). */
static int report_json(struct pfs_capture *c, int event, const char *title,
		       const struct pfs_diag *diag, char **json, size_t *len, struct pfs_err *err)
{
	struct pfs_reportdata_opts ro = {.event = event, .weight = PFS_FOLD_SAMPLES};
	struct pfs_reportdata_input in = {
	    .profile = c->prof,
	    .agg = c->agg,
	    .views = c->views,
	    .analysis = c->analysis,
	    .timeline = c->timeline,
	    .pyprof = c->kind == PFS_CAPTURE_PYPROF ? &c->pyprof : NULL,
	    .diag = diag,
	};
	FILE *mem;
	int rc;
	*json = NULL;
	*len = 0;
	/* a pyinstrument dump counts wall time: its weights are ns periods */
	if (c->kind == PFS_CAPTURE_PYPROF && c->pyprof.unit == PFS_PYPROF_SECONDS)
		ro.weight = PFS_FOLD_PERIOD;
	pfs_reportdata_meta_init(&in.meta);
	pfs_capture_report_meta(c, &in.meta);
	in.meta.title = title;
	if (!(mem = open_memstream(json, len)))
		return pfs_err_sys(err, "cannot make the report data in memory");
	if (c->graph)
		rc = pfs_cgreport_write(c->graph, event < 0 ? 0 : (uint32_t)event, &in.meta, diag,
					mem, err);
	else
		rc = pfs_reportdata_write(&in, &ro, mem, err);
	if (fclose(mem) != 0 && rc == 0)
		rc = pfs_err_sys(err, "cannot make the report data in memory");
	if (rc < 0) {
		free(*json);
		*json = NULL;
		*len = 0;
	}
	return rc;
}

int pfs_capture_report_data(struct pfs_capture *c, int event, const char *title, char **json,
			    size_t *len, struct pfs_err *err)
{
	if (c->report_json)
		return pfs_reportdata_set_title(c->report_json, c->report_len, title, json, len,
						err);
	return report_json(c, event, title, &c->diag, json, len, err);
}

/*
 * A capture's rows read from the database on a thread of its own and handed over in batches:
 * SQLite's stepping there, the sums here (after the stacks are classified), so that neither
 * waits for the other's whole pass.
 */
#define SCAN_BATCH 4096
#define SCAN_SLOTS 4

struct scan {
	struct pfs_store *st;
	int64_t id;
	int64_t n; /* rows read, or the scan's negative code */
	struct pfs_err err;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct pfs_sample_row *rows[SCAN_SLOTS]; /* SCAN_BATCH rows each */
	size_t fill[SCAN_SLOTS];		 /* rows in each handed-over batch */
	size_t head, tail; /* batches taken, batches handed over (the filling one: tail) */
	size_t cur;	   /* rows in the filling batch */
	bool done;
};

/* Hands the filling batch over, then waits for a free one. */
static void scan_publish(struct scan *sc)
{
	pthread_mutex_lock(&sc->mu);
	sc->fill[sc->tail % SCAN_SLOTS] = sc->cur;
	sc->tail++;
	pthread_cond_broadcast(&sc->cv);
	while (sc->tail - sc->head >= SCAN_SLOTS)
		pthread_cond_wait(&sc->cv, &sc->mu);
	pthread_mutex_unlock(&sc->mu);
	sc->cur = 0;
}

static int scan_push(void *payload, const struct pfs_sample_row *row)
{
	struct scan *sc = payload;
	sc->rows[sc->tail % SCAN_SLOTS][sc->cur++] = *row;
	if (sc->cur == SCAN_BATCH)
		scan_publish(sc);
	return 0;
}

static void *scan_run(void *arg)
{
	struct scan *sc = arg;
	sc->n = pfs_store_scan_samples(sc->st, sc->id, scan_push, sc, &sc->err);
	if (sc->cur)
		scan_publish(sc);
	pthread_mutex_lock(&sc->mu);
	sc->done = true;
	pthread_cond_broadcast(&sc->cv);
	pthread_mutex_unlock(&sc->mu);
	return NULL;
}

/* Sums the batches handed over into agg; with wait, until the scan is done. */
static void scan_take(struct scan *sc, struct pfs_agg *agg, bool wait)
{
	for (;;) {
		pthread_mutex_lock(&sc->mu);
		while (wait && sc->head == sc->tail && !sc->done)
			pthread_cond_wait(&sc->cv, &sc->mu);
		if (sc->head == sc->tail) {
			pthread_mutex_unlock(&sc->mu);
			return;
		}
		size_t slot = sc->head % SCAN_SLOTS, n = sc->fill[slot];
		pthread_mutex_unlock(&sc->mu);
		for (size_t i = 0; i < n; i++)
			pfs_agg_add(agg, &sc->rows[slot][i]);
		pthread_mutex_lock(&sc->mu);
		sc->head++;
		pthread_cond_broadcast(&sc->cv);
		pthread_mutex_unlock(&sc->mu);
	}
}

int pfs_capture_store_report(struct pfs_capture *c, struct pfs_store *st, int64_t id,
			     struct pfs_err *err)
{
	struct pfs_diag none;
	char *json = NULL;
	size_t len = 0;
	int rc;
	if (c->kind != PFS_CAPTURE_PERF)
		return pfs_err_set(err, PFS_EUSAGE, PFS_NO_OFF,
				   "only a perf.data capture has report data to store");
	/* what a report of the database would be given: the row's meta, no load diagnostics
	 * but the loss, which load_db gives every read of the capture */
	char *weight_unit = NULL;
	rc = read_row(c, st, id, &weight_unit, err);
	free(weight_unit);
	if (rc < 0)
		return rc;
	if (!c->agg) {
		/*
		 * Summed now, from the rows written, rather than while ingest still holds its
		 * symbol tables: the import's peak memory stays what ingest needs. The rows are
		 * read on a thread while this one classifies their stacks (which the report's
		 * trees need next, and which need nothing from the database) and sums them.
		 */
		struct scan sc = {.st = st, .id = id};
		pthread_t th;
		struct pfs_agg *agg = pfs_agg_new();
		pfs_err_clear(&sc.err);
		for (int k = 0; k < SCAN_SLOTS; k++)
			sc.rows[k] = pfs_xmalloc(SCAN_BATCH * sizeof(*sc.rows[k]));
		pthread_mutex_init(&sc.mu, NULL);
		pthread_cond_init(&sc.cv, NULL);
		bool threaded = pthread_create(&th, NULL, scan_run, &sc) == 0;
		if (!threaded)
			sc.n = pfs_store_scan_samples(st, id, pfs_agg_add, agg, &sc.err);
		for (size_t w = 0; w < c->n_row_paths; w++) {
			for (uint64_t bits = c->row_paths[w]; bits; bits &= bits - 1) {
				uint32_t path = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(bits));
				pfs_views_stack(c->views, path);
				pfs_views_path(c->views, PFS_VIEW_MIXED, path);
				pfs_views_path(c->views, PFS_VIEW_PYTHON, path);
			}
			/* now and then, so that the reader never waits long for a free batch */
			if (threaded && w % 64 == 63)
				scan_take(&sc, agg, false);
		}
		if (threaded) {
			scan_take(&sc, agg, true);
			pthread_join(th, NULL);
		}
		pthread_cond_destroy(&sc.cv);
		pthread_mutex_destroy(&sc.mu);
		for (int k = 0; k < SCAN_SLOTS; k++)
			free(sc.rows[k]);
		c->agg = agg;
		if (sc.n < 0) {
			*err = sc.err;
			return (int)sc.n;
		}
		c->rows = (uint64_t)sc.n;
	}
	pfs_diag_init(&none);
	if (c->info.lost_samples != UINT64_MAX)
		pfs_diag_lost(&none, c->info.lost_samples, PFS_NO_OFF);
	rc = report_json(c, -1, NULL, &none, &json, &len, err);
	pfs_diag_release(&none);
	if (rc == 0)
		rc = pfs_store_put_report(st, json, len, err);
	free(json);
	return rc;
}
