/*
 * perfsight import: captures into a database, one transaction each (store.h). Input kinds are
 * told apart by content: perf.data (file or pipe mode) goes through ingest, pyinstrument,
 * speedscope and folded files through pyprof, call-graph profiles (pstats, callgrind) are read
 * whole before the database is touched and written to its cg_ tables. A directory is one capture
 * per file, all in one store batch (or, with --merge, one capture through pyprof).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "cli.h"
#include "commands.h"
#include "contenthash.h"
#include "perfdata.h"
#include "profile.h"
#include "pyprof.h"
#include "store.h"
#include "trend.h"
#include "xalloc.h"

const char cmd_import_usage[] =
    "usage: perfsight import INPUT... -o DB [--label NAME] [--replace] [--merge]\n"
    "\n"
    "Adds each INPUT to the SQLite database DB (created when missing) as one capture:\n"
    "a perf.data file (file or pipe mode), a pyinstrument session, JSON or HTML file, a\n"
    "speedscope file, a folded-stacks file, or a call-graph profile: a cProfile/pstats dump\n"
    "or a callgrind file (their functions, caller-callee edges and costs go to the cg_ tables;\n"
    "docs/schema.md). Each capture is written in one transaction: an\n"
    "import that fails or is killed leaves DB exactly as it was. A perf.data capture is also\n"
    "analysed (perfsight summary): its GC and GIL figures, off-CPU intervals and probe hits are\n"
    "stored so that summary and report read them back, and so is its report's data\n"
    "(compressed), so that perfsight report renders it in a moment. docs/schema.md describes\n"
    "the tables and views; open DB with sqlite3, Datasette or pandas.\n"
    "\n"
    "A directory of per-request dumps (a pyinstrument middleware's) becomes one capture per\n"
    "file, labelled by the file name (NAME/FILE with --label NAME); renderings of one request\n"
    "(0001-cpu.pyisession, 0001-cpu.json) count once, files that are no profile are skipped\n"
    "with a note. All of a directory's captures are written in ONE transaction: a malformed\n"
    "file, a file already in DB (without --replace), two files of one content, a full disk\n"
    "or a kill leave nothing of the directory in DB. With --merge the directory is one capture\n"
    "instead, each request a thread named by its file (summary lists the slowest requests).\n"
    "\n"
    "  -o, --output DB  the database\n"
    "  --label NAME     the capture's name in DB (one INPUT only); default: INPUT as given\n"
    "  --replace        replace a capture of the same content or label instead of refusing\n"
    "  --merge          a directory INPUT becomes one merged capture, not one per file\n"
    "\n"
    "On a terminal a progress line (bytes, samples, rate, ETA) is drawn on standard error.\n"
    "A one-paragraph summary per capture (per directory) goes to standard output.\n"
    "\n"
    "exit status: 0 ok; 1 imported with data-dropping diagnostics (among them lost-samples:\n"
    "perf lost samples while recording; the line says how many); 2 usage, or a capture of\n"
    "the same content or label already in DB (--replace replaces it); 3 an INPUT unreadable\n"
    "or malformed (nothing of it imported, the other INPUTs are); 4 DB cannot be used: its\n"
    "directory is missing or not writable, the disk is full, another process holds it\n"
    "locked, or it is not a perfsight database (the run stops; DB is as before the failed\n"
    "capture, byte for byte when nothing was imported)\n"
    "example: perfsight import fixtures/py312-threads-fp/perf.data -o runs.db --label fp\n";

enum input_kind { IN_PERF, IN_PYPROF, IN_GRAPH };

/* The input's content hash, computed on a thread of its own while ingest reads the input: the
 * capture is begun without it and given it (pfs_store_set_hash) as soon as it is ready, so a
 * duplicate is still refused a moment into the import. */
struct hasher {
	pthread_t thread;
	const char *path;
	bool is_dir, running, taken;
	atomic_bool done;
	int rc;
	bool input_err; /* rc is the input's fault (unreadable), not the database's */
	struct pfs_err err;
	char hex[33];
};

struct progress {
	struct pfs_store *st;
	struct pfs_profile *prof;
	struct pfs_capture *cap; /* perf.data: its profile is the one rows name */
	struct pfs_agg *agg;	 /* a dump's rows summed, for its trend figures; NULL: none */
	struct pfs_err sink_err; /* an off-CPU or probe row the store refused */
	const char *path;	 /* input, for the bytes-done figure */
	uint64_t size;		 /* 0: unknown (a directory, a pipe) */
	struct hasher *hash;
	bool replace;
	bool tty;
	uint64_t samples, unresolved;
	uint64_t first_time, last_time; /* over rows that carry one; 0: none yet */
	double t0, last_draw;
	bool drawn;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* How far the input has been read: the file position of the descriptor open on it. */
static uint64_t bytes_done(const char *path)
{
	char real[PATH_MAX], link[PATH_MAX], name[320], line[128];
	uint64_t pos = 0;
	DIR *d;
	struct dirent *e;
	if (!realpath(path, real) || !(d = opendir("/proc/self/fd")))
		return 0;
	while ((e = readdir(d))) {
		ssize_t n;
		FILE *f;
		snprintf(name, sizeof(name), "/proc/self/fd/%s", e->d_name);
		n = readlink(name, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = 0;
		if (strcmp(link, real))
			continue;
		snprintf(name, sizeof(name), "/proc/self/fdinfo/%s", e->d_name);
		if (!(f = fopen(name, "r")))
			continue;
		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, "pos:", 4) && strtoull(line + 4, NULL, 10) > pos)
				pos = strtoull(line + 4, NULL, 10);
		fclose(f);
	}
	closedir(d);
	return pos;
}

static void draw(struct progress *p, double t)
{
	double el = t - p->t0, rate = el > 0 ? (double)p->samples / el : 0;
	uint64_t done = p->size ? bytes_done(p->path) : 0;
	cli_term_control("\r\033[K");
	fprintf(stderr, "importing %s: ", p->path);
	if (done && p->size) {
		double frac = (double)done / (double)p->size;
		fprintf(stderr, "%3.0f%% %.1f/%.1f MB, ", frac * 100, (double)done / 1e6,
			(double)p->size / 1e6);
		if (frac > 0.01 && frac < 1) {
			double eta = el / frac - el;
			fprintf(stderr, "ETA %d:%02d, ", (int)eta / 60, (int)eta % 60);
		}
	}
	fprintf(stderr, "%" PRIu64 " samples, %.0fk samples/s", p->samples, rate / 1000);
	p->drawn = true;
	p->last_draw = t;
}

static void clear_progress(struct progress *p)
{
	if (p->drawn)
		cli_term_control("\r\033[K");
	p->drawn = false;
}

static void *hasher_main(void *arg)
{
	struct hasher *h = arg;
	h->rc = pfs_contenthash_input(h->path, h->is_dir, h->hex, &h->err);
	atomic_store(&h->done, true);
	return NULL;
}

/* Starts hashing path; without a thread, hashes it here and now. */
static void hasher_start(struct hasher *h, const char *path, bool is_dir)
{
	h->path = path;
	h->is_dir = is_dir;
	atomic_init(&h->done, false);
	h->running = pthread_create(&h->thread, NULL, hasher_main, h) == 0;
	if (!h->running)
		hasher_main(h);
}

static void hasher_join(struct hasher *h)
{
	if (h->running)
		pthread_join(h->thread, NULL);
	h->running = false;
}

/* Waits for the hash and gives it to the open capture. Returns 0 or the error in h->err. */
static int hasher_take(struct hasher *h, struct pfs_store *st, bool replace)
{
	hasher_join(h);
	h->taken = true;
	h->input_err = h->rc != 0;
	if (!h->rc) {
		h->rc = pfs_store_set_hash(st, h->hex, replace, &h->err);
		h->input_err = false;
	}
	return h->rc;
}

/* The sink ingest streams to: counts what the summary needs, redraws, hands on to the store. */
static int progress_cb(void *payload, const struct pfs_sample_row *row)
{
	struct progress *p = payload;
	if (!p->hash->taken && !(p->samples & 0xfff) && atomic_load(&p->hash->done) &&
	    hasher_take(p->hash, p->st, p->replace))
		return p->hash->rc;
	if (row->time && (!p->first_time || row->time < p->first_time))
		p->first_time = row->time;
	if (row->time > p->last_time)
		p->last_time = row->time;
	struct pfs_profile *prof = p->cap ? p->cap->prof : p->prof;
	if (row->path) {
		const struct pfs_frame *f =
		    pfs_profile_frameget(prof, pfs_profile_pathget(prof, row->path)->frame);
		p->unresolved += f->kind == PFS_FK_UNKNOWN;
	} else {
		p->unresolved++;
	}
	if (p->tty && !(++p->samples & 0x3fff)) {
		double t = now_s();
		if (t - p->last_draw > 0.1)
			draw(p, t);
	} else if (!p->tty) {
		p->samples++;
	}
	if (p->agg)
		pfs_agg_add(p->agg, row);
	return pfs_store_sample(p->st, prof, row);
}

/* The analysis' off-CPU intervals and probe hits, to their tables. */
static int offcpu_cb(void *payload, const struct pfs_an_offcpu *o)
{
	struct progress *p = payload;
	const struct pfs_store_offcpu so = {.pid = o->pid,
					    .tid = o->tid,
					    .t_out = o->t_out,
					    .t_in = o->t_in,
					    .state = o->state,
					    .path = o->path};
	return pfs_store_put_offcpu(p->st, &so, &p->sink_err);
}

static int probe_cb(void *payload, const struct pfs_sample_row *row, const char *fields)
{
	struct progress *p = payload;
	const struct pfs_store_probe sp = {.event = row->event,
					   .pid = row->pid,
					   .tid = row->tid,
					   .cpu = row->cpu,
					   .time = row->time,
					   .path = row->path,
					   .fields = fields};
	return pfs_store_put_probe(p->st, &sp, &p->sink_err);
}

/* What the capture's header says (host, versions, command line, time span, build-ids). Pipe
 * mode carries these as records ahead of the data: read until the first kernel record. */
struct perf_meta {
	struct pfs_capture_meta m;
	char *cmdline;
	struct pfs_reader *r;
};

static int read_perf_meta(const char *path, struct perf_meta *pm, struct pfs_err *err)
{
	const struct pfs_reader_opts ro = {.file_order = true, .no_decode = true};
	const struct pfs_info *in;
	struct pfs_record rec;
	int rc = pfs_reader_open(&pm->r, path, &ro, err);
	if (rc)
		return rc;
	in = pfs_reader_info(pm->r);
	if (in->pipe)
		while ((rc = pfs_reader_next(pm->r, &rec, err)) == 1 && rec.type >= 64)
			;
	if (rc < 0)
		return rc;
	pm->m.host = in->hostname;
	pm->m.os_release = in->osrelease;
	pm->m.perf_version = in->version;
	pm->m.cpus = in->nr_cpus_online;
	if (in->n_cmdline) {
		size_t len = 0;
		for (size_t i = 0; i < in->n_cmdline; i++)
			len += strlen(in->cmdline[i]) + 1;
		pm->cmdline = pfs_xcalloc(1, len + 1);
		for (size_t i = 0; i < in->n_cmdline; i++) {
			if (i)
				strcat(pm->cmdline, " ");
			strcat(pm->cmdline, in->cmdline[i]);
		}
		pm->m.cmdline = pm->cmdline;
	}
	if (in->has_sample_time && in->last_sample_time >= in->first_sample_time) {
		pm->m.duration = (double)(in->last_sample_time - in->first_sample_time) / 1e9;
		if (in->has_clock_data)
			pm->m.start_time =
			    ((double)in->wall_clock_ns +
			     ((double)in->first_sample_time - (double)in->clockid_time_ns)) /
			    1e9;
	}
	return 0;
}

static int put_buildids(struct pfs_store *st, const struct pfs_info *in, struct pfs_err *err)
{
	for (size_t i = 0; i < in->n_build_ids; i++) {
		const struct pfs_build_id *b = &in->build_ids[i];
		char hex[41];
		int rc;
		if (!b->filename)
			continue;
		for (unsigned k = 0; k < b->size && k < 20; k++)
			snprintf(hex + 2 * k, 3, "%02x", b->id[k]);
		hex[2 * (b->size < 20 ? b->size : 20)] = 0;
		if ((rc = pfs_store_put_buildid(st, b->filename, hex, err)))
			return rc;
	}
	return 0;
}

static const char *pyprof_kind(enum pfs_pyprof_kind k)
{
	switch (k) {
	case PFS_PYPROF_SPEEDSCOPE:
		return "speedscope";
	case PFS_PYPROF_FOLDED:
		return "folded";
	default:
		return "pyinstrument";
	}
}

struct import_result {
	int64_t id;
	uint64_t samples, unresolved;
	double seconds;
	size_t funcs, edges; /* a call-graph profile's */
};

/* How one input is imported: its label, a content hash already computed (NULL: compute it). */
struct import_opts {
	const char *db; /* the database's name, for messages */
	const char *label;
	const char *hash;
	bool replace, tty;
};

/* Imports one input; returns 0 or a negative code with err set (the capture rolled back).
 * *input_err tells whether the input (not the database) was at fault. */
/* The figures `perfsight trend` reads, made now from what the import holds (trend.h). */
static int put_trend(struct pfs_store *st, struct pfs_capture *cap, struct pfs_err *err);

/* The same for a profiler dump, from its profile and the rows the import summed. */
static int put_dump_trend(struct pfs_store *st, struct pfs_profile *prof, struct pfs_agg *agg,
			  const struct pfs_pyprof_meta *pym, const char *label, struct pfs_err *err)
{
	struct pfs_capture c = {.kind = PFS_CAPTURE_PYPROF, .prof = prof, .agg = agg};
	c.views = pfs_views_new(prof, NULL);
	c.pyprof = *pym; /* borrowed: not released here */
	c.info.label = (char *)(label ? label : "");
	int rc = put_trend(st, &c, err);
	pfs_views_free(c.views);
	return rc;
}

static int put_trend(struct pfs_store *st, struct pfs_capture *cap, struct pfs_err *err)
{
	struct pfs_store_trend *rows;
	size_t n;
	int rc = pfs_trend_capture_rows(cap, &rows, &n, err);
	if (rc == 0)
		rc = pfs_store_put_trend(st, rows, n, err);
	pfs_trend_rows_free(rows, n);
	return rc;
}

static int import_one(struct pfs_store *st, const char *path, const struct import_opts *io,
		      struct pfs_diag *diag, struct import_result *res, bool *input_err,
		      struct pfs_err *err)
{
	struct pfs_profile *prof = pfs_profile_new();
	struct perf_meta pm = {.m = {.start_time = NAN, .duration = NAN}};
	struct pfs_pyprof_meta pym = {0};
	struct pfs_capture cap = {0};
	struct hasher hasher = {0};
	struct progress pr = {.st = st,
			      .prof = prof,
			      .path = path,
			      .tty = io->tty,
			      .hash = &hasher,
			      .replace = io->replace};
	const char *label = io->label;
	const struct pfs_an_sink an_sink = {.payload = &pr, .offcpu = offcpu_cb, .probe = probe_cb};
	struct stat sb;
	enum input_kind kind;
	int rc, pykind = PFS_PYPROF_NONE;

	*input_err = true;
	if (stat(path, &sb) != 0) {
		rc = pfs_err_sys(err, "cannot open");
		goto out;
	}
	if (!S_ISDIR(sb.st_mode) && pfs_capture_detect(path, NULL) == PFS_CAPTURE_PERF) {
		kind = IN_PERF;
	} else if (!S_ISDIR(sb.st_mode) &&
		   pfs_capture_detect(path, NULL) == PFS_CAPTURE_CALLGRAPH) {
		/* small, and read whole before the database is touched */
		kind = IN_GRAPH;
		pr.cap = &cap;
		rc = pfs_capture_load(&cap, path, NULL, err);
		pfs_diag_merge(diag, &cap.diag);
		if (rc)
			goto out;
	} else {
		pykind = pfs_pyprof_detect(path, err);
		if (pykind < 0) {
			rc = pykind;
			goto out;
		}
		/* what detection cannot place may be JSON cut short (the load names the offset)
		 * or a dump whose telling keys come late: a load tried before DB is touched */
		if (pykind == PFS_PYPROF_NONE) {
			struct pfs_profile *scratch = pfs_profile_new();
			struct pfs_diag sd;
			pfs_diag_init(&sd);
			rc = pfs_pyprof_load(path, NULL, scratch, NULL, NULL, NULL, &sd, err);
			pfs_diag_release(&sd);
			pfs_profile_free(scratch);
			if (rc)
				goto out;
		}
		kind = IN_PYPROF;
	}
	pm.m.label = label;
	pm.m.source = path;
	pm.m.content_hash = io->hash;
	pm.m.tool_version = PFS_VERSION;
	if (kind == IN_PERF) {
		pm.m.kind = "perf";
		pm.m.weight_unit = "samples";
		if ((rc = read_perf_meta(path, &pm, err)))
			goto out;
	} else if (kind == IN_GRAPH) {
		pm.m.kind = pfs_cg_format_name(pfs_cg_format(cap.graph));
		/* the unit of its costs: pstats' seconds, or callgrind's counts of events */
		pm.m.weight_unit = pfs_cg_seconds(cap.graph) ? "seconds" : "samples";
		pm.m.cmdline = cap.info.cmdline;
	} else {
		pm.m.kind = pykind == PFS_PYPROF_DIR ? "pyinstrument" : pyprof_kind(pykind);
	}
	pr.size = S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : 0;
	pr.t0 = pr.last_draw = now_s();
	/* a directory's files come hashed (duplicates among them are refused before any write) */
	if (io->hash)
		hasher.taken = true;
	else
		hasher_start(&hasher, path, S_ISDIR(sb.st_mode));

	*input_err = false;
	if ((rc = pfs_store_begin_capture(st, &pm.m, io->replace, &res->id, err))) {
		/* a duplicate is this input's: say which database holds it */
		if (rc == PFS_EUSAGE && err) {
			struct pfs_err e = *err;
			pfs_err_set(err, PFS_EUSAGE, PFS_NO_OFF, "%s: %s", io->db, e.msg);
		}
		goto out;
	}
	if (kind == IN_PERF && (rc = put_buildids(st, pfs_reader_info(pm.r), err)))
		goto abort;
	*input_err = true;
	if (kind == IN_PERF) {
		const struct pfs_capture_opts co = {.analysis = true,
						    .an_sink = &an_sink,
						    .no_agg = true,
						    .sink = progress_cb,
						    .payload = &pr};
		pr.cap = &cap;
		rc = pfs_capture_load(&cap, path, &co, err);
		pfs_diag_merge(diag, &cap.diag);
		if (rc && pr.sink_err.code)
			*err = pr.sink_err;
		/* a pipe-mode capture has no time span in its header: the samples give it */
		if (!rc && (isnan(pm.m.duration) || pm.m.duration == 0) &&
		    pr.last_time > pr.first_time) {
			struct pfs_capture_meta up = {.start_time = NAN};
			up.duration = (double)(pr.last_time - pr.first_time) / 1e9;
			*input_err = false;
			rc = pfs_store_update_capture(st, &up, err);
		}
		if (!rc) {
			*input_err = false;
			rc = pfs_store_put_analysis(st, cap.analysis, err);
		}
	} else if (kind == IN_GRAPH) {
		*input_err = false;
		rc = pfs_store_put_callgraph(st, cap.graph, err);
		res->funcs = pfs_cg_n_funcs(cap.graph);
		res->edges = pfs_cg_n_edges(cap.graph);
	} else {
		const struct pfs_pyprof_opts po = {.merge = true, .label = label};
		pr.agg = pfs_agg_new();
		rc = pfs_pyprof_load(path, &po, prof, progress_cb, &pr, &pym, diag, err);
		if (!rc) {
			struct pfs_capture_meta up = {.start_time = NAN, .duration = NAN};
			up.weight_unit = pym.unit == PFS_PYPROF_SECONDS	  ? "seconds"
					 : pym.unit == PFS_PYPROF_SAMPLES ? "samples"
									  : "mixed";
			if (pym.n_caps == 1) {
				up.kind = pyprof_kind(pym.caps[0].kind);
				up.start_time = pym.caps[0].start_time;
				up.duration = pym.caps[0].duration;
				if (pym.caps[0].program)
					up.cmdline =
					    pfs_profile_strget(prof, pym.caps[0].program, NULL);
			}
			*input_err = false;
			rc = pfs_store_update_capture(st, &up, err);
		}
	}
	clear_progress(&pr);
	if (!rc && !hasher.taken)
		rc = hasher_take(&hasher, st, io->replace);
	if (rc) {
		/* A sink failure is the database's: its message is the useful one. */
		if (hasher.taken && hasher.rc) {
			/* the input unreadable, or a duplicate: what ingest said of it is moot */
			*input_err = hasher.input_err;
			if (err)
				*err = hasher.err;
			pfs_diag_release(diag);
			pfs_diag_init(diag);
		} else if (pfs_store_last_error(st)->code) {
			*input_err = false;
			if (err)
				*err = *pfs_store_last_error(st);
		} else if (pr.sink_err.code) {
			*input_err = false;
		}
		goto abort;
	}
	*input_err = false;
	/* the report data is made over the profile as written: its views add paths to it */
	if ((rc = pfs_store_put_diags(st, diag, err)) ||
	    (kind == IN_PERF && ((rc = pfs_store_put_profile(st, cap.prof, err)) ||
				 (rc = pfs_capture_store_report(&cap, st, res->id, err)) ||
				 (rc = put_trend(st, &cap, err)))) ||
	    (kind == IN_PYPROF &&
	     (rc = put_dump_trend(st, prof, pr.agg, &pym, label ? label : path, err))))
		goto abort;
	if ((rc = pfs_store_end_capture(st, kind == IN_PYPROF ? prof : cap.prof, err)))
		goto out;
	res->samples = pr.samples;
	res->unresolved = pr.unresolved;
	res->seconds = now_s() - pr.t0;
	goto out;
abort:
	pfs_store_abort_capture(st);
out:
	hasher_join(&hasher);
	clear_progress(&pr);
	pfs_pyprof_meta_release(&pym);
	pfs_agg_free(pr.agg);
	if (pr.cap)
		pfs_capture_release(&cap);
	if (pm.r)
		pfs_reader_close(pm.r);
	free(pm.cmdline);
	pfs_profile_free(prof);
	return rc;
}

/* Diagnostics by severity, for the summary paragraph. */
struct diag_count {
	size_t n, errors, warnings;
};

static void count_diags(struct diag_count *dc, const struct pfs_diag *d)
{
	dc->n += d->n;
	for (size_t i = 0; i < d->n; i++) {
		dc->errors += d->v[i].sev == PFS_ERROR;
		dc->warnings += d->v[i].sev == PFS_WARN;
	}
}

/* lost: the samples perf lost while recording (UINT64_MAX: unknown), said as info and the
 * report say it */
static void print_diag_tail(const struct diag_count *dc, uint64_t samples, uint64_t unresolved,
			    uint64_t lost, double seconds)
{
	printf("; %.1f%% of them end in an unresolved frame",
	       samples ? 100.0 * (double)unresolved / (double)samples : 0.0);
	if (lost && lost != UINT64_MAX)
		printf("; %" PRIu64 " sample%s lost while recording (lost-samples)", lost,
		       lost == 1 ? " was" : "s were");
	printf("; %zu diagnostic%s (%zu error%s, "
	       "%zu warning%s)%s. Imported in %.2f s (%.0f samples/s).\n",
	       dc->n, dc->n == 1 ? "" : "s", dc->errors, dc->errors == 1 ? "" : "s", dc->warnings,
	       dc->warnings == 1 ? "" : "s", dc->n ? ", listed above" : "", seconds,
	       seconds > 0 ? (double)samples / seconds : 0.0);
}

static void print_summary(const char *path, const char *db, const struct import_result *r,
			  struct pfs_store *st, const struct pfs_diag *d)
{
	struct pfs_store_capture *caps;
	int n = pfs_store_captures(st, &caps, NULL);
	const struct pfs_store_capture *c = NULL;
	struct diag_count dc = {0};
	for (int i = 0; i < n; i++)
		if (caps[i].id == r->id)
			c = &caps[i];
	count_diags(&dc, d);
	printf("%s: capture %lld", path, (long long)r->id);
	if (c)
		printf(" '%s' (%s)", c->label, c->kind);
	if (c && (!strcmp(c->kind, "pstats") || !strcmp(c->kind, "callgrind"))) {
		printf(" in %s: a call graph of %zu functions and %zu caller-callee edges", db,
		       r->funcs, r->edges);
		printf("; %zu diagnostic%s (%zu error%s, %zu warning%s)%s.\n", dc.n,
		       dc.n == 1 ? "" : "s", dc.errors, dc.errors == 1 ? "" : "s", dc.warnings,
		       dc.warnings == 1 ? "" : "s", dc.n ? ", listed above" : "");
		pfs_store_captures_free(caps, (size_t)n);
		return;
	}
	printf(" in %s: %" PRIu64 " samples", db, r->samples);
	if (c && !isnan(c->duration))
		printf(" over %.2f s", c->duration);
	if (c && c->host)
		printf(" on %s", c->host);
	print_diag_tail(&dc, r->samples, r->unresolved, c ? c->lost_samples : UINT64_MAX,
			r->seconds);
	if (n > 0)
		pfs_store_captures_free(caps, (size_t)n);
}

/* A name from the input (a file name becomes a label) with control bytes shown as '?', so a
 * hostile name cannot drive the terminal. */
static void put_safe(const char *s)
{
	for (; s && *s; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

/* The directory's files in one paragraph: how many captures, their ids and labels, totals. */
static void print_dir_summary(const char *dir, const char *db, const struct import_result *r,
			      size_t n, struct pfs_store *st, const struct diag_count *dc)
{
	struct pfs_store_capture *caps;
	int nc = pfs_store_captures(st, &caps, NULL);
	uint64_t samples = 0, unresolved = 0;
	double seconds = 0, wall = 0;
	const char *first = NULL, *last = NULL;
	bool known = true;
	for (size_t i = 0; i < n; i++) {
		samples += r[i].samples;
		unresolved += r[i].unresolved;
		seconds += r[i].seconds;
		for (int k = 0; k < nc; k++) {
			if (caps[k].id != r[i].id)
				continue;
			if (!first)
				first = caps[k].label;
			last = caps[k].label;
			if (isnan(caps[k].duration))
				known = false;
			else
				wall += caps[k].duration;
		}
	}
	printf("%s: %zu captures in %s, one per file (ids %lld to %lld, '", dir, n, db,
	       (long long)r[0].id, (long long)r[n - 1].id);
	put_safe(first);
	fputs("' to '", stdout);
	put_safe(last);
	printf("'): %" PRIu64 " samples", samples);
	if (known)
		printf(" over %.2f s of requests", wall);
	print_diag_tail(dc, samples, unresolved, UINT64_MAX, seconds);
	if (nc > 0)
		pfs_store_captures_free(caps, (size_t)nc);
}

static int hash_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * A directory, one capture per file, all in one transaction: every file is imported or none
 * (a bad file, a duplicate or a full disk leave DB as it was). Returns the exit code.
 */
static int import_dir(struct pfs_store *st, const char *dir, const struct import_opts *io)
{
	struct pfs_pyprof_dir d = {0};
	struct pfs_diag sdiag;
	struct diag_count dc = {0};
	struct pfs_err err;
	struct import_result *res = NULL;
	char(*hashes)[33] = NULL, **order = NULL;
	int n, code = EXIT_OK;

	pfs_diag_init(&sdiag);
	n = pfs_pyprof_dir_scan(dir, &d, &sdiag, &err);
	cli_print_diags_all(stderr, dir, &sdiag);
	count_diags(&dc, &sdiag);
	if (n < 0) {
		code = cli_fail(dir, &err);
		goto out;
	}
	hashes = pfs_xcalloc((size_t)n, sizeof(*hashes));
	order = pfs_xcalloc((size_t)n, sizeof(*order));
	for (int i = 0; i < n; i++) {
		struct pfs_contenthash h = pfs_contenthash_start;
		if (pfs_contenthash_file(&h, d.v[i].path, &err)) {
			code = cli_fail(d.v[i].path, &err);
			goto out;
		}
		pfs_contenthash_hex(&h, hashes[i]);
		order[i] = hashes[i];
	}
	/* two files of one content would be one capture twice: refused before anything is
	 * written, as --replace would otherwise drop the first for the second */
	qsort(order, (size_t)n, sizeof(*order), hash_cmp);
	for (int i = 1; i < n; i++) {
		if (strcmp(order[i - 1], order[i]))
			continue;
		const char *a = NULL, *b = NULL;
		for (int k = 0; k < n; k++)
			if (!strcmp(hashes[k], order[i]))
				*(a ? &b : &a) = d.v[k].label;
		fprintf(stderr,
			"perfsight: %s: %s and %s have the same content: one capture each is "
			"not possible (remove one, or import the directory with --merge); "
			"nothing imported\n",
			dir, a, b);
		code = EXIT_INPUT;
		goto out;
	}
	if (pfs_store_begin_batch(st, &err)) {
		code = cli_fail_output(io->db, &err);
		goto out;
	}
	res = pfs_xcalloc((size_t)n, sizeof(*res));
	for (int i = 0; i < n; i++) {
		struct import_opts fo = *io;
		struct pfs_diag diag;
		char *label = NULL;
		bool input_err;
		int rc;
		if (io->label && asprintf(&label, "%s/%s", io->label, d.v[i].label) < 0)
			label = NULL;
		fo.label = label ? label : d.v[i].label;
		fo.hash = hashes[i];
		pfs_diag_init(&diag);
		rc = import_one(st, d.v[i].path, &fo, &diag, &res[i], &input_err, &err);
		free(label);
		cli_print_diags_all(stderr, d.v[i].path, &diag);
		count_diags(&dc, &diag);
		pfs_diag_release(&diag);
		if (rc) {
			/* the input's fault, or the database's: an output that cannot be
			 * written is exit 4 whatever the cause (cli_fail_output) */
			code = input_err || err.code == PFS_EUSAGE ? cli_fail(d.v[i].path, &err)
								   : cli_fail_output(io->db, &err);
			pfs_store_abort_batch(st);
			fprintf(stderr,
				"perfsight: %s: nothing of the directory imported (%d file%s); %s "
				"is as it was\n",
				dir, n, n == 1 ? "" : "s", io->db);
			goto out;
		}
	}
	if (pfs_store_commit_batch(st, &err)) {
		code = cli_fail_output(io->db, &err);
		fprintf(stderr, "perfsight: %s: nothing of the directory imported\n", dir);
		goto out;
	}
	print_dir_summary(dir, io->db, res, (size_t)n, st, &dc);
	code = dc.errors ? EXIT_DIAG : EXIT_OK;
out:
	free(res);
	free(order);
	free(hashes);
	pfs_pyprof_dir_release(&d);
	pfs_diag_release(&sdiag);
	return code;
}

int cmd_import(int argc, char **argv)
{
	const struct cli_cmd *self = cli_find("import");
	const char *db = NULL, *label = NULL;
	const char **inputs = pfs_xcalloc((size_t)argc, sizeof(*inputs));
	size_t n_in = 0;
	bool replace = false, merge = false, tty = isatty(STDERR_FILENO);
	struct pfs_store *st = NULL;
	struct pfs_err err;
	int exit_rc = EXIT_OK;
	bool db_new = false, imported = false;

	for (int i = 1; i < argc; i++) {
		if ((!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) && i + 1 < argc)
			db = argv[++i];
		else if (!strncmp(argv[i], "--output=", 9))
			db = argv[i] + 9;
		else if (!strcmp(argv[i], "--label") && i + 1 < argc)
			label = argv[++i];
		else if (!strncmp(argv[i], "--label=", 8))
			label = argv[i] + 8;
		else if (!strcmp(argv[i], "--replace"))
			replace = true;
		else if (!strcmp(argv[i], "--merge"))
			merge = true;
		else if (!strcmp(argv[i], "--"))
			while (++i < argc)
				inputs[n_in++] = argv[i];
		else if (argv[i][0] == '-' && argv[i][1])
			exit_rc =
			    cli_usage_error(self, "unknown option or missing value '%s'", argv[i]);
		else
			inputs[n_in++] = argv[i];
		if (exit_rc)
			goto out;
	}
	if (!db || !*db) {
		exit_rc = cli_usage_error(self, "no database: give -o DB");
		goto out;
	}
	if (!n_in) {
		exit_rc = cli_usage_error(self, "no INPUT to import");
		goto out;
	}
	if (label && n_in > 1) {
		exit_rc =
		    cli_usage_error(self, "--label names one capture; %zu inputs given", n_in);
		goto out;
	}
	if (label && !*label) {
		exit_rc = cli_usage_error(self, "--label must not be empty");
		goto out;
	}
	/* A file size limit must be an error SQLite rolls back, not a signal that kills us. */
	signal(SIGXFSZ, SIG_IGN);
	db_new = access(db, F_OK) != 0 && errno == ENOENT;
	if (pfs_store_open(&st, db, PFS_STORE_CREATE, &err)) {
		exit_rc = cli_fail_output(db, &err);
		goto out;
	}
	for (size_t i = 0; i < n_in; i++) {
		const struct import_opts io = {
		    .db = db, .label = label ? label : inputs[i], .replace = replace, .tty = tty};
		struct pfs_diag diag;
		struct import_result res = {0};
		struct stat sb;
		bool input_err;
		int rc;
		char *dir_cap = pfs_reader_dir_capture(inputs[i]);
		/* a directory `record -o DIR` made is its perf.data; another one, its dumps */
		if (!merge && !dir_cap && stat(inputs[i], &sb) == 0 && S_ISDIR(sb.st_mode)) {
			struct import_opts dio = io;
			dio.label = label;
			rc = import_dir(st, inputs[i], &dio);
			imported |= rc == EXIT_OK || rc == EXIT_DIAG;
			if (rc > exit_rc)
				exit_rc = rc;
			if (rc == EXIT_INTERNAL)
				break;
			continue;
		}
		pfs_diag_init(&diag);
		rc = import_one(st, dir_cap ? dir_cap : inputs[i], &io, &diag, &res, &input_err,
				&err);
		free(dir_cap);
		cli_print_diags_all(stderr, inputs[i], &diag);
		if (rc) {
			/* whatever the cause, a database that cannot be written is exit 4 */
			int code = input_err || err.code == PFS_EUSAGE ? cli_fail(inputs[i], &err)
								       : cli_fail_output(db, &err);
			if (code > exit_rc)
				exit_rc = code;
			pfs_diag_release(&diag);
			/* a database error ends the run; a bad input or a duplicate only skips */
			if (!input_err && err.code != PFS_EUSAGE)
				break;
			continue;
		}
		imported = true;
		print_summary(inputs[i], db, &res, st, &diag);
		if (cli_diag_exit(&diag) > exit_rc)
			exit_rc = cli_diag_exit(&diag);
		pfs_diag_release(&diag);
	}
out:
	pfs_store_close(st);
	/* a database this run created and put nothing into is not left behind */
	if (db_new && !imported)
		unlink(db);
	free(inputs);
	return cli_finish_stdout(exit_rc);
}
