/*
 * perfsight summary: the Python findings of each capture (analysis.h) in a terminal or as one
 * perfsight-summary/1 document. A perf.data capture is analysed as it is read; a database gives
 * back the analysis import stored; a profiler dump says what it can (time, CPU utilisation,
 * top functions, the slowest requests of a directory) and that GC and GIL figures are beyond it.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "cgprint.h"
#include "cli.h"
#include "commands.h"
#include "jsonw.h"
#include "store.h"
#include "xalloc.h"

const char cmd_summary_usage[] =
    "usage: perfsight summary INPUT... [--json] [--capture ID|LABEL] [--no-inline]\n"
    "                         [--symfs DIR] [--app-dir DIR] [--jit-maps DIR] [--kallsyms FILE]\n"
    "\n"
    "Where each capture's Python processes spend CPU, per process and per thread: the CPU\n"
    "categories (Python code by origin, interpreter, GC, GIL, allocator, native, kernel), the GC\n"
    "share and, with uprobes, every GC pause; GIL waits from sched_switch and from take_gil\n"
    "uprobes; gunicorn/uWSGI masters and workers as separate rows plus an all-workers row;\n"
    "CPU, GC and GIL wait per request handler: the view under Flask's, Django's or\n"
    "Starlette/FastAPI's dispatch, or the WSGI callable under gunicorn (docs/handlers.md).\n"
    "What could not be computed is said, with the reason (no Python, no tracing data, ...).\n"
    "\n"
    "INPUT is told by its content: a perf.data capture (perfsight record makes one with what\n"
    "the analysis needs), a perfsight database (the analysis import stored; --capture picks one\n"
    "of several), or a profiler dump (pyinstrument, speedscope, folded, or a directory of\n"
    "per-request dumps): for a dump, wall and CPU time, CPU utilisation, the top functions and,\n"
    "for a directory, the slowest requests by file; GC and GIL figures are not in such dumps.\n"
    "A call-graph profile (a cProfile/pstats dump, a callgrind file) gives its top functions\n"
    "by own and by inclusive cost with calls and per-call costs, and its hottest paths\n"
    "(reconstructed from the caller-callee edges: an estimate).\n"
    "A database of several captures without --capture lists them, slowest first (as many\n"
    "as a directory imported one capture per file gives); with --json, every capture's\n"
    "summary, in the order of their ids.\n"
    "\n"
    "  --json            one perfsight-summary/1 document for all INPUTs (docs/summary.md)\n"
    "  --capture WHICH   the capture of a database, by id or label\n"
    "  --no-inline       do not expand inline frames (GC entries inlined are then missed)\n"
    "  --symfs DIR, --app-dir DIR, --jit-maps DIR, --kallsyms FILE   as for collapse\n"
    "\n"
    "exit status: 0 ok, 1 done with data-dropping diagnostics, 2 usage, 3 unreadable input\n"
    "example: perfsight summary fixtures/py312-threads-probes/perf.data\n";

#define TOP_FUNCS 10
#define TOP_REQS 10

static const struct cli_cmd *self(void)
{
	return cli_find("summary");
}

/* A function's weight: leaf (self) and anywhere on the stack (total, once per stack). */
struct fnw {
	uint32_t frame;
	double self, total;
};

static int cmp_fnw(const void *x, const void *y)
{
	const struct fnw *a = x, *b = y;
	if (a->self != b->self)
		return a->self > b->self ? -1 : 1;
	if (a->total != b->total)
		return a->total > b->total ? -1 : 1;
	return a->frame < b->frame ? -1 : a->frame > b->frame;
}

/* Sums the agg's cells by frame; returns the frames with weight, heaviest self first. */
static struct fnw *top_functions(const struct pfs_capture *c, size_t *n_out, double *all)
{
	size_t nf = pfs_profile_n_frames(c->prof) + 1, n = 0;
	struct fnw *v = pfs_xcalloc(nf, sizeof(*v));
	uint32_t *seen = pfs_xcalloc(nf, sizeof(*seen));
	*all = 0;
	for (size_t i = 0; i < pfs_agg_n(c->agg); i++) {
		const struct pfs_agg_cell *cell = pfs_agg_cell(c->agg, i);
		double w = cell->weight;
		uint32_t path = cell->path;
		*all += w;
		if (path)
			v[pfs_profile_pathget(c->prof, path)->frame].self += w;
		/* a recursive function counts once per stack: mark frames with the cell's index */
		for (; path; path = pfs_profile_pathget(c->prof, path)->parent) {
			uint32_t f = pfs_profile_pathget(c->prof, path)->frame;
			if (seen[f] == i + 1)
				continue;
			seen[f] = (uint32_t)(i + 1);
			v[f].total += w;
		}
	}
	for (size_t f = 1; f < nf; f++)
		if (v[f].self > 0 || v[f].total > 0) {
			v[n] = v[f];
			v[n++].frame = (uint32_t)f;
		}
	free(seen);
	qsort(v, n, sizeof(*v), cmp_fnw);
	*n_out = n;
	return v;
}

static const char *frame_name(const struct pfs_capture *c, uint32_t f)
{
	return pfs_profile_strget(c->prof, pfs_profile_frameget(c->prof, f)->name, NULL);
}

static const char *frame_file(const struct pfs_capture *c, uint32_t f)
{
	uint32_t s = pfs_profile_frameget(c->prof, f)->file;
	return s ? pfs_profile_strget(c->prof, s, NULL) : NULL;
}

static double utilisation(double cpu, double wall)
{
	return !isnan(cpu) && !isnan(wall) && wall > 0 ? cpu / wall : NAN;
}

static int cmp_req(const void *x, const void *y)
{
	const struct pfs_pyprof_capture *a = *(const struct pfs_pyprof_capture *const *)x;
	const struct pfs_pyprof_capture *b = *(const struct pfs_pyprof_capture *const *)y;
	double da = isnan(a->duration) ? a->weight : a->duration;
	double db = isnan(b->duration) ? b->weight : b->duration;
	if (da != db)
		return da > db ? -1 : 1;
	return a->tid < b->tid ? -1 : a->tid > b->tid;
}

/* The files of a merged directory, slowest first (borrowed pointers; free the array). */
static const struct pfs_pyprof_capture **slowest(const struct pfs_capture *c)
{
	const struct pfs_pyprof_capture **v =
	    pfs_xcalloc(c->pyprof.n_caps ? c->pyprof.n_caps : 1, sizeof(*v));
	for (size_t i = 0; i < c->pyprof.n_caps; i++)
		v[i] = &c->pyprof.caps[i];
	qsort(v, c->pyprof.n_caps, sizeof(*v), cmp_req);
	return v;
}

static const char *unit_name(const struct pfs_capture *c)
{
	if (c->kind == PFS_CAPTURE_DB && !c->pyprof.unit)
		return NULL;
	return c->pyprof.unit == PFS_PYPROF_SECONDS   ? "seconds"
	       : c->pyprof.unit == PFS_PYPROF_SAMPLES ? "samples"
						      : "mixed";
}

static const char no_gil_msg[] =
    "GC/GIL: not available from a profiler dump (pyinstrument and its peers sample Python "
    "stacks only; record with perfsight record for GC and GIL figures)";
static const char no_analysis_msg[] =
    "the database holds no analysis for this capture (a profiler dump, or imported by an "
    "older perfsight): GC and GIL figures not computed";

/* Total CPU seconds of the dump's files (NAN when any does not say). */
static double dump_cpu(const struct pfs_capture *c)
{
	double s = 0;
	if (!c->pyprof.n_caps)
		return NAN;
	for (size_t i = 0; i < c->pyprof.n_caps; i++)
		s += c->pyprof.caps[i].cpu_time;
	return s;
}

static double dump_wall(const struct pfs_capture *c)
{
	double s = 0;
	if (!c->pyprof.n_caps)
		return c->info.duration_s;
	for (size_t i = 0; i < c->pyprof.n_caps; i++)
		s += c->pyprof.caps[i].duration;
	return s;
}

static uint64_t dump_samples(const struct pfs_capture *c)
{
	uint64_t n = 0;
	for (size_t i = 0; i < pfs_agg_n(c->agg); i++)
		n += pfs_agg_cell(c->agg, i)->count;
	return n;
}

static void json_dump(const struct pfs_capture *c, struct pfs_jsonw *w)
{
	size_t nf;
	double all, cpu = dump_cpu(c), wall = dump_wall(c);
	struct fnw *fv = top_functions(c, &nf, &all);
	pfs_jsonw_obj(w);
	pfs_jsonw_key(w, "label");
	pfs_jsonw_str(w, c->info.label);
	pfs_jsonw_key(w, "source");
	pfs_jsonw_str(w, c->info.source);
	pfs_jsonw_key(w, "duration_s");
	pfs_jsonw_dbl(w, wall);
	pfs_jsonw_key(w, "events");
	pfs_jsonw_obj(w);
	pfs_jsonw_end_obj(w);
	pfs_jsonw_key(w, "lost_samples");
	pfs_jsonw_null(w);
	pfs_jsonw_key(w, "python");
	pfs_jsonw_null(w);
	pfs_jsonw_key(w, "notes");
	pfs_jsonw_arr(w);
	pfs_jsonw_obj(w);
	pfs_jsonw_key(w, "code");
	pfs_jsonw_str(w, c->kind == PFS_CAPTURE_DB ? "no-analysis" : "gc-gil-unavailable");
	pfs_jsonw_key(w, "severity");
	pfs_jsonw_str(w, "note");
	pfs_jsonw_key(w, "count");
	pfs_jsonw_u64(w, 1);
	pfs_jsonw_key(w, "message");
	pfs_jsonw_str(w, c->kind == PFS_CAPTURE_DB ? no_analysis_msg : no_gil_msg);
	pfs_jsonw_end_obj(w);
	pfs_jsonw_end_arr(w);
	pfs_jsonw_key(w, "processes");
	pfs_jsonw_arr(w);
	pfs_jsonw_end_arr(w);
	pfs_jsonw_key(w, "workers");
	pfs_jsonw_arr(w);
	pfs_jsonw_end_arr(w);
	pfs_jsonw_key(w, "pyprof");
	pfs_jsonw_obj(w);
	pfs_jsonw_key(w, "format");
	pfs_jsonw_str(w, c->kind == PFS_CAPTURE_DB ? NULL : pfs_pyprof_kind_name(c->pyprof_kind));
	pfs_jsonw_key(w, "unit");
	pfs_jsonw_str(w, unit_name(c));
	pfs_jsonw_key(w, "files");
	pfs_jsonw_u64(w, c->pyprof.n_caps);
	pfs_jsonw_key(w, "samples");
	pfs_jsonw_u64(w, dump_samples(c));
	pfs_jsonw_key(w, "weight");
	pfs_jsonw_dbl(w, all);
	pfs_jsonw_key(w, "duration_s");
	pfs_jsonw_dbl(w, wall);
	pfs_jsonw_key(w, "cpu_time_s");
	pfs_jsonw_dbl(w, cpu);
	pfs_jsonw_key(w, "cpu_utilisation");
	pfs_jsonw_dbl(w, utilisation(cpu, wall));
	pfs_jsonw_key(w, "top_functions");
	pfs_jsonw_arr(w);
	for (size_t i = 0; i < nf && i < TOP_FUNCS; i++) {
		pfs_jsonw_obj(w);
		pfs_jsonw_key(w, "function");
		pfs_jsonw_str(w, frame_name(c, fv[i].frame));
		pfs_jsonw_key(w, "file");
		pfs_jsonw_str(w, frame_file(c, fv[i].frame));
		pfs_jsonw_key(w, "self");
		pfs_jsonw_dbl(w, fv[i].self);
		pfs_jsonw_key(w, "total");
		pfs_jsonw_dbl(w, fv[i].total);
		pfs_jsonw_end_obj(w);
	}
	pfs_jsonw_end_arr(w);
	pfs_jsonw_key(w, "requests");
	pfs_jsonw_arr(w);
	if (c->pyprof_kind == PFS_PYPROF_DIR) {
		const struct pfs_pyprof_capture **r = slowest(c);
		for (size_t i = 0; i < c->pyprof.n_caps; i++) {
			pfs_jsonw_obj(w);
			pfs_jsonw_key(w, "file");
			pfs_jsonw_str(w, pfs_profile_strget(c->prof, r[i]->label, NULL));
			pfs_jsonw_key(w, "duration_s");
			pfs_jsonw_dbl(w, r[i]->duration);
			pfs_jsonw_key(w, "cpu_time_s");
			pfs_jsonw_dbl(w, r[i]->cpu_time);
			pfs_jsonw_key(w, "cpu_utilisation");
			pfs_jsonw_dbl(w, utilisation(r[i]->cpu_time, r[i]->duration));
			pfs_jsonw_key(w, "samples");
			pfs_jsonw_u64(w, r[i]->rows);
			pfs_jsonw_key(w, "weight");
			pfs_jsonw_dbl(w, r[i]->weight);
			pfs_jsonw_end_obj(w);
		}
		free(r);
	}
	pfs_jsonw_end_arr(w);
	pfs_jsonw_end_obj(w);
	pfs_jsonw_end_obj(w);
	free(fv);
}

/* A capture string with control bytes replaced, so a hostile name cannot drive the tty. */
static void put_safe(const char *s, int max)
{
	int n = 0;
	for (; s && *s && n < max; s++, n++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
	if (s && *s)
		fputs("...", stdout);
}

static void print_secs(const char *what, double s)
{
	if (isnan(s))
		printf("%s unknown", what);
	else
		printf("%s %.3f s", what, s);
}

static void text_dump(const struct pfs_capture *c)
{
	size_t nf;
	double all, cpu = dump_cpu(c), wall = dump_wall(c), u = utilisation(cpu, wall);
	bool secs = c->pyprof.unit == PFS_PYPROF_SECONDS;
	struct fnw *fv = top_functions(c, &nf, &all);
	fputs("capture ", stdout);
	put_safe(c->info.label, 200);
	if (c->kind == PFS_CAPTURE_DB)
		printf(": %s%llu samples, from the database",
		       c->pyprof_kind == PFS_PYPROF_DIR ? "directory (merged), " : "",
		       (unsigned long long)dump_samples(c));
	else
		printf(": %s%s, %llu samples", pfs_pyprof_kind_name(c->pyprof_kind),
		       c->pyprof_kind == PFS_PYPROF_DIR ? " (merged)" : "",
		       (unsigned long long)dump_samples(c));
	putchar('\n');
	print_secs("  wall", wall);
	print_secs(", cpu", cpu);
	if (!isnan(u))
		printf(" (CPU utilisation %.0f%%: the rest waited, on I/O, locks or the GIL)",
		       100 * u);
	printf("\n  %s\n", c->kind == PFS_CAPTURE_DB ? no_analysis_msg : no_gil_msg);
	printf("  top functions by self %s:\n", secs ? "time" : "weight");
	for (size_t i = 0; i < nf && i < TOP_FUNCS; i++) {
		const char *file = frame_file(c, fv[i].frame);
		printf("  %6.1f%% self %6.1f%% total  ", all > 0 ? 100 * fv[i].self / all : 0.0,
		       all > 0 ? 100 * fv[i].total / all : 0.0);
		put_safe(frame_name(c, fv[i].frame), 60);
		if (file) {
			fputs(" (", stdout);
			put_safe(file, 60);
			putchar(')');
		}
		putchar('\n');
	}
	if (c->pyprof_kind == PFS_PYPROF_DIR) {
		const struct pfs_pyprof_capture **r = slowest(c);
		printf("  slowest requests (of %zu):\n", c->pyprof.n_caps);
		for (size_t i = 0; i < c->pyprof.n_caps && i < TOP_REQS; i++) {
			double ru = utilisation(r[i]->cpu_time, r[i]->duration);
			fputs("  ", stdout);
			print_secs("", isnan(r[i]->duration) ? r[i]->weight : r[i]->duration);
			if (!isnan(ru))
				printf("  cpu %3.0f%%", 100 * ru);
			fputs("  ", stdout);
			put_safe(pfs_profile_strget(c->prof, r[i]->label, NULL), 100);
			putchar('\n');
		}
		free(r);
	}
	free(fv);
}

/* What to print for one INPUT: a capture's summary, or a database's captures listed. */
struct job {
	const char *file;
	char *which; /* a capture id of file's database, for --json over all of them */
	struct pfs_store_capture *list; /* text: the captures of a database, slowest first */
	int n_list;
	struct pfs_capture cap;
	bool loaded;
};

static int cmp_slowest(const void *x, const void *y)
{
	const struct pfs_store_capture *a = x, *b = y;
	if (isnan(a->duration) != isnan(b->duration))
		return isnan(a->duration) ? 1 : -1;
	if (!isnan(a->duration) && a->duration != b->duration)
		return a->duration > b->duration ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

/* The captures of the database at file when it holds several (else 0): *out and their count. */
static int db_captures(const char *file, struct pfs_store_capture **out, struct pfs_err *err)
{
	struct pfs_store *st;
	int n;
	*out = NULL;
	if (pfs_capture_detect(file, NULL) != PFS_CAPTURE_DB)
		return 0;
	if ((n = pfs_store_open(&st, file, PFS_STORE_READONLY, err)) < 0)
		return n;
	n = pfs_store_captures(st, out, err);
	pfs_store_close(st);
	if (n == 1) {
		pfs_store_captures_free(*out, 1);
		*out = NULL;
		return 0;
	}
	return n;
}

static void text_list(const struct job *j)
{
	fputs("database ", stdout);
	put_safe(j->file, 200);
	printf(": %d captures, slowest first (perfsight summary --capture ID|LABEL gives one):\n",
	       j->n_list);
	for (int i = 0; i < j->n_list; i++) {
		const struct pfs_store_capture *k = &j->list[i];
		fputs("  ", stdout);
		print_secs("", k->duration);
		printf("  %4lld  ", (long long)k->id);
		put_safe(k->label, 60);
		fputs("  ", stdout);
		put_safe(k->kind, 20);
		printf("  %llu samples\n", (unsigned long long)k->n_samples);
	}
}

int cmd_summary(int argc, char **argv)
{
	enum { O_JSON = 256, O_NOINL };
	static const struct option opts[] = {
	    {"json", no_argument, NULL, O_JSON},
	    CLI_CAPTURE_LONGOPTS,
	    {"no-inline", no_argument, NULL, O_NOINL},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	if (cli_is_help(self(), argc, argv))
		return cli_finish_stdout(EXIT_OK);
	struct pfs_capture_opts co = {.analysis = true, .agg_without_analysis = true};
	bool json = false;
	int c, ex = EXIT_OK;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_JSON:
			json = true;
			break;
		case O_NOINL:
			co.ingest.no_inline = true;
			break;
		default:
			if (cli_capture_option(c, optarg, &co))
				break;
			return cli_usage_error(self(), "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cli_usage_error(self(), "expects at least one INPUT");
	if (!json)
		cli_guard_text(); /* names and labels: the capture's bytes */
	size_t n_jobs = 0, cap_jobs = 0;
	struct job *jobs = NULL;
	struct pfs_jsonw w;
	for (int a = optind; a < argc; a++) {
		struct pfs_store_capture *list = NULL;
		struct pfs_err err;
		int n = co.which ? 0 : db_captures(argv[a], &list, &err);
		if (n < 0) {
			ex = cli_fail(argv[a], &err);
			goto out;
		}
		if (n && !json) {
			qsort(list, (size_t)n, sizeof(*list), cmp_slowest);
			PFS_GROW(jobs, cap_jobs, n_jobs + 1);
			jobs[n_jobs++] = (struct job){.file = argv[a], .list = list, .n_list = n};
			continue;
		}
		for (int i = 0; i < (n ? n : 1); i++) {
			PFS_GROW(jobs, cap_jobs, n_jobs + 1);
			jobs[n_jobs] = (struct job){.file = argv[a]};
			if (n && asprintf(&jobs[n_jobs].which, "%lld", (long long)list[i].id) < 0)
				jobs[n_jobs].which = NULL;
			n_jobs++;
		}
		if (n)
			pfs_store_captures_free(list, (size_t)n);
	}
	for (size_t i = 0; i < n_jobs; i++) {
		struct job *j = &jobs[i];
		struct pfs_capture_opts jo = co;
		if (j->list)
			continue;
		if (j->which)
			jo.which = j->which;
		int lx = cli_load_capture(self(), &j->cap, j->file, &jo);
		j->loaded = true;
		if (lx >= 0) {
			ex = lx;
			goto out;
		}
		cli_print_diags(stderr, j->file, &j->cap.diag);
		if (cli_diag_exit(&j->cap.diag) > ex)
			ex = cli_diag_exit(&j->cap.diag);
	}
	if (json) {
		pfs_jsonw_init(&w, stdout, false);
		pfs_jsonw_obj(&w);
		pfs_jsonw_key(&w, "schema");
		pfs_jsonw_str(&w, "perfsight-summary/1");
		pfs_jsonw_key(&w, "captures");
		pfs_jsonw_arr(&w);
	}
	for (size_t i = 0; i < n_jobs; i++) {
		struct pfs_capture *k = &jobs[i].cap;
		struct pfs_err err;
		if (json && k->graph) {
			cli_cg_summary_json(k, &w);
		} else if (json && k->analysis) {
			pfs_analysis_json_capture(k->analysis, &w);
		} else if (json) {
			json_dump(k, &w);
		} else {
			if (i)
				putchar('\n');
			if (jobs[i].list)
				text_list(&jobs[i]);
			else if (k->graph)
				cli_cg_summary_text(k);
			else if (!k->analysis)
				text_dump(k);
			else if (pfs_analysis_write_text(k->analysis, stdout, &err) < 0) {
				ex = cli_fail("standard output", &err);
				goto out;
			}
		}
	}
	if (json) {
		pfs_jsonw_end_arr(&w);
		pfs_jsonw_end_obj(&w);
		putchar('\n');
	}
out:
	for (size_t i = 0; i < n_jobs; i++) {
		if (jobs[i].loaded)
			pfs_capture_release(&jobs[i].cap);
		if (jobs[i].list)
			pfs_store_captures_free(jobs[i].list, (size_t)jobs[i].n_list);
		free(jobs[i].which);
	}
	free(jobs);
	return cli_finish_stdout(ex);
}
