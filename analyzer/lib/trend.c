#include "trend.h"

#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "jsonw.h"
#include "xalloc.h"

/* The figures a trend charts: the stored name, its unit, and the diff figure it comes from. */
static const struct {
	const char *name, *unit;
	int fig; /* enum pfs_diff_fig, -1: the capture's samples */
} figs[] = {
    {"samples", "count", -1},
    {"cpu_per_worker_s", "seconds", PFS_DIFF_CPU_WORKER},
    {"gc_share", "share", PFS_DIFF_GC_SHARE},
    {"gc_pause_p99_ms", "ms", PFS_DIFF_GC_P99},
    {"gil_wait_share", "share", PFS_DIFF_GIL_ALL},
    {"cut_stack_share", "share", PFS_DIFF_CUT_SHARE},
};
#define N_FIGS (sizeof(figs) / sizeof(figs[0]))

static int row_total_cmp(const void *x, const void *y)
{
	const struct pfs_store_trend *a = x, *b = y;
	if (a->total != b->total)
		return a->total > b->total ? -1 : 1;
	return strcmp(a->name, b->name);
}

int pfs_trend_capture_rows(struct pfs_capture *c, struct pfs_store_trend **out, size_t *n_out,
			   struct pfs_err *err)
{
	struct pfs_diff_opts o = {.view = PFS_VIEW_PYTHON, .min_delta = -1};
	struct pfs_diff *d;
	int rc = pfs_diff_new(&d, NULL, c, &o, err);
	*out = NULL;
	*n_out = 0;
	if (rc < 0)
		return rc;
	const struct pfs_diff_row *self = pfs_diff_rows(d, PFS_DIFF_SELF);
	const struct pfs_diff_row *total = pfs_diff_rows(d, PFS_DIFF_TOTAL);
	size_t nf = pfs_diff_n_rows(d, PFS_DIFF_TOTAL);
	double samples = (double)pfs_diff_side(d, 1)->samples;
	struct pfs_store_trend *fn = pfs_xmalloc((nf ? nf : 1) * sizeof(*fn));
	for (size_t i = 0; i < nf; i++)
		fn[i] = (struct pfs_store_trend){
		    .kind = "function",
		    .name = total[i].name,
		    .value = samples > 0 ? (double)self[i].x2 / samples : NAN,
		    .total = samples > 0 ? (double)total[i].x2 / samples : NAN,
		};
	qsort(fn, nf, sizeof(*fn), row_total_cmp);
	if (nf > PFS_TREND_KEEP)
		nf = PFS_TREND_KEEP;
	struct pfs_store_trend *v = pfs_xmalloc((N_FIGS + nf) * sizeof(*v));
	size_t n = 0;
	for (size_t k = 0; k < N_FIGS; k++)
		v[n++] = (struct pfs_store_trend){
		    .kind = "figure",
		    .name = pfs_xstrdup(figs[k].name),
		    .value = figs[k].fig < 0 ? samples : pfs_diff_fig(d, figs[k].fig)->new_,
		    .total = NAN,
		};
	for (size_t i = 0; i < nf; i++) {
		v[n] = fn[i];
		v[n++].name = pfs_xstrdup(fn[i].name);
	}
	for (size_t i = 0; i < n; i++)
		v[i].kind = pfs_xstrdup(v[i].kind);
	free(fn);
	pfs_diff_free(d);
	*out = v;
	*n_out = n;
	return 0;
}

void pfs_trend_rows_free(struct pfs_store_trend *rows, size_t n)
{
	pfs_store_trend_free(rows, n);
}

/* ---- the series ---- */

struct series {
	char *name;
	const char *kind, *unit;
	double *v;
	double sum; /* functions: the sum of their shares, to rank them */
};

struct col {
	int64_t id;
	char *label, *imported_at;
	uint64_t samples;
	bool figured;
};

struct pfs_trend {
	struct col *col;
	size_t n_col;
	struct series *s;
	size_t n_s;
	size_t unfigured;
	bool by_label;
	char *link_dir;
};

static int col_label_cmp(const void *x, const void *y)
{
	const struct col *a = x, *b = y;
	int c = strverscmp(a->label ? a->label : "", b->label ? b->label : "");
	return c ? c : (a->id > b->id) - (a->id < b->id);
}

static int col_id_cmp(const void *x, const void *y)
{
	const int64_t *a = x;
	const struct col *b = y;
	return (*a > b->id) - (*a < b->id);
}

struct fnrow {
	const char *name;
	size_t col;
	double total, self;
};

static int fnrow_cmp(const void *x, const void *y)
{
	const struct fnrow *a = x, *b = y;
	return strcmp(a->name, b->name);
}

static int series_sum_cmp(const void *x, const void *y)
{
	const struct series *a = x, *b = y;
	if (a->sum != b->sum)
		return a->sum > b->sum ? -1 : 1;
	return strcmp(a->name, b->name);
}

static bool wanted(const struct pfs_trend_opts *o, const char *name)
{
	if (!o->metrics)
		return true;
	for (size_t i = 0; o->metrics[i]; i++)
		if (!strcmp(o->metrics[i], name))
			return true;
	return false;
}

int pfs_trend_new(struct pfs_trend **out, const struct pfs_store_capture *caps, size_t n_caps,
		  const struct pfs_store_trend *rows, size_t n_rows, const struct pfs_trend_opts *o,
		  struct pfs_err *err)
{
	for (size_t i = 0; o->metrics && o->metrics[i]; i++) {
		bool known = !strcmp(o->metrics[i], "functions");
		for (size_t k = 0; k < N_FIGS && !known; k++)
			known = !strcmp(o->metrics[i], figs[k].name);
		if (!known)
			return pfs_err_set(
			    err, PFS_EUSAGE, PFS_NO_OFF,
			    "unknown metric '%s' (samples, cpu_per_worker_s, gc_share, "
			    "gc_pause_p99_ms, gil_wait_share, cut_stack_share, functions)",
			    o->metrics[i]);
	}
	struct pfs_trend *t = pfs_xcalloc(1, sizeof(*t));
	t->by_label = o->by_label;
	t->link_dir = o->link_dir ? pfs_xstrdup(o->link_dir) : NULL;
	t->col = pfs_xcalloc(n_caps ? n_caps : 1, sizeof(*t->col));
	for (size_t i = 0; i < n_caps; i++) {
		if (o->labels && fnmatch(o->labels, caps[i].label ? caps[i].label : "", 0))
			continue;
		struct col *c = &t->col[t->n_col++];
		c->id = caps[i].id;
		c->label = pfs_xstrdup(caps[i].label ? caps[i].label : "");
		c->imported_at = caps[i].imported_at ? pfs_xstrdup(caps[i].imported_at) : NULL;
		c->samples = caps[i].n_samples;
	}
	/* columns by id first (the rows' order) to place rows, then as the user asked */
	size_t nc = t->n_col;
	size_t *at = pfs_xmalloc((nc ? nc : 1) * sizeof(*at)); /* id order -> final column */
	if (o->by_label) {
		struct col *byid = pfs_xmalloc((nc ? nc : 1) * sizeof(*byid));
		memcpy(byid, t->col, nc * sizeof(*byid));
		qsort(t->col, nc, sizeof(*t->col), col_label_cmp);
		for (size_t i = 0; i < nc; i++)
			for (size_t j = 0; j < nc; j++)
				if (t->col[j].id == byid[i].id) {
					at[i] = j;
					break;
				}
		free(byid);
	} else {
		for (size_t i = 0; i < nc; i++)
			at[i] = i;
	}
	/* ids of the columns in id order, for placing rows */
	struct col *idx = pfs_xmalloc((nc ? nc : 1) * sizeof(*idx));
	for (size_t i = 0; i < nc; i++)
		idx[i] = t->col[at[i]];
	t->s = pfs_xcalloc(N_FIGS + 1, sizeof(*t->s));
	size_t fig_s[N_FIGS];
	for (size_t k = 0; k < N_FIGS; k++) {
		fig_s[k] = SIZE_MAX;
		if (!wanted(o, figs[k].name))
			continue;
		struct series *s = &t->s[t->n_s];
		fig_s[k] = t->n_s++;
		s->name = pfs_xstrdup(figs[k].name);
		s->kind = "figure";
		s->unit = figs[k].unit;
		s->v = pfs_xmalloc((nc ? nc : 1) * sizeof(double));
		for (size_t i = 0; i < nc; i++)
			s->v[i] = figs[k].fig < 0 ? (double)t->col[i].samples : NAN;
	}
	struct fnrow *fr = pfs_xmalloc((n_rows ? n_rows : 1) * sizeof(*fr));
	size_t n_fr = 0;
	for (size_t r = 0; r < n_rows; r++) {
		const struct col *hit =
		    bsearch(&rows[r].capture, idx, nc, sizeof(*idx), col_id_cmp);
		if (!hit)
			continue;
		size_t c = at[(size_t)(hit - idx)];
		t->col[c].figured = true;
		if (!strcmp(rows[r].kind, "function")) {
			fr[n_fr++] = (struct fnrow){rows[r].name, c, rows[r].total, rows[r].value};
			continue;
		}
		for (size_t k = 0; k < N_FIGS; k++)
			if (fig_s[k] != SIZE_MAX && !strcmp(rows[r].name, figs[k].name))
				t->s[fig_s[k]].v[c] = rows[r].value;
	}
	for (size_t i = 0; i < nc; i++)
		t->unfigured += !t->col[i].figured;
	if (wanted(o, "functions") && n_fr) {
		qsort(fr, n_fr, sizeof(*fr), fnrow_cmp);
		struct series *fs = NULL;
		size_t n_fs = 0, cap_fs = 0;
		for (size_t r = 0; r < n_fr;) {
			size_t e = r;
			PFS_GROW(fs, cap_fs, n_fs + 1);
			struct series *s = &fs[n_fs++];
			memset(s, 0, sizeof(*s));
			s->name = (char *)fr[r].name; /* copied if kept */
			s->kind = "function";
			s->unit = "share";
			s->v = pfs_xmalloc((nc ? nc : 1) * sizeof(double));
			for (size_t i = 0; i < nc; i++)
				s->v[i] = NAN;
			while (e < n_fr && !strcmp(fr[e].name, fr[r].name)) {
				s->v[fr[e].col] = fr[e].total;
				s->sum += isnan(fr[e].self) ? 0 : fr[e].self;
				e++;
			}
			r = e;
		}
		qsort(fs, n_fs, sizeof(*fs), series_sum_cmp);
		size_t top = o->top ? o->top : PFS_TREND_TOP;
		t->s =
		    pfs_xreallocarray(t->s, t->n_s + (top < n_fs ? top : n_fs) + 1, sizeof(*t->s));
		for (size_t i = 0; i < n_fs; i++) {
			if (i < top) {
				fs[i].name = pfs_xstrdup(fs[i].name);
				t->s[t->n_s++] = fs[i];
			} else {
				free(fs[i].v);
			}
		}
		free(fs);
	}
	free(fr);
	free(idx);
	free(at);
	*out = t;
	return 0;
}

void pfs_trend_free(struct pfs_trend *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_col; i++) {
		free(t->col[i].label);
		free(t->col[i].imported_at);
	}
	for (size_t i = 0; i < t->n_s; i++) {
		free(t->s[i].name);
		free(t->s[i].v);
	}
	free(t->col);
	free(t->s);
	free(t->link_dir);
	free(t);
}

static void text_value(FILE *f, const struct series *s, size_t i)
{
	double v = s->v[i];
	if (isnan(v))
		fprintf(f, " %10s", "-");
	else if (!strcmp(s->unit, "share"))
		fprintf(f, " %9.2f%%", v * 100);
	else if (!strcmp(s->unit, "count"))
		fprintf(f, " %10.0f", v);
	else
		fprintf(f, " %10.3f", v);
}

int pfs_trend_write_text(const struct pfs_trend *t, FILE *f, struct pfs_err *err)
{
	static const char *const heads[N_FIGS] = {"samples",   "cpu/worker", "gc",
						  "gc p99 ms", "gil wait",   "cut stacks"};
	fprintf(f, "%zu captures (%s order)", t->n_col, t->by_label ? "label" : "import");
	if (t->unfigured)
		fprintf(f,
			"; %zu without stored figures (imported by an older perfsight or a "
			"profiler dump: import them again with --replace)",
			t->unfigured);
	fprintf(f, "\n%-5s %-28s", "id", "label");
	for (size_t k = 0; k < t->n_s; k++)
		if (!strcmp(t->s[k].kind, "figure"))
			for (size_t j = 0; j < N_FIGS; j++)
				if (!strcmp(t->s[k].name, figs[j].name))
					fprintf(f, " %10s", heads[j]);
	fputc('\n', f);
	for (size_t i = 0; i < t->n_col; i++) {
		const char *l = t->col[i].label;
		size_t len = strlen(l);
		fprintf(f, "%-5lld %-28s", (long long)t->col[i].id, len > 28 ? l + len - 28 : l);
		for (size_t k = 0; k < t->n_s; k++)
			if (!strcmp(t->s[k].kind, "figure"))
				text_value(f, &t->s[k], i);
		fputc('\n', f);
	}
	bool head = false;
	for (size_t k = 0; k < t->n_s; k++) {
		const struct series *s = &t->s[k];
		if (strcmp(s->kind, "function"))
			continue;
		if (!head)
			fprintf(f,
				"\nheaviest functions over the series (total share: first, last, "
				"min, max):\n");
		head = true;
		double first = NAN, last = NAN, lo = NAN, hi = NAN;
		for (size_t i = 0; i < t->n_col; i++) {
			double v = s->v[i];
			if (isnan(v))
				continue;
			if (isnan(first))
				first = v;
			last = v;
			lo = isnan(lo) || v < lo ? v : lo;
			hi = isnan(hi) || v > hi ? v : hi;
		}
		fprintf(f, "  %6.2f%% %6.2f%% %6.2f%% %6.2f%%  %s\n", first * 100, last * 100,
			lo * 100, hi * 100, s->name);
	}
	if (ferror(f))
		return pfs_err_sys(err, "cannot write the trend");
	return 0;
}

int pfs_trend_write_json(const struct pfs_trend *t, FILE *f, bool pretty, struct pfs_err *err)
{
	struct pfs_jsonw w;
	char href[4096];
	pfs_jsonw_init(&w, f, pretty);
	pfs_jsonw_obj(&w);
	pfs_jsonw_key(&w, "format");
	pfs_jsonw_str(&w, "perfsight-trend/1");
	pfs_jsonw_key(&w, "order");
	pfs_jsonw_str(&w, t->by_label ? "label" : "import");
	pfs_jsonw_key(&w, "unfigured");
	pfs_jsonw_u64(&w, t->unfigured);
	pfs_jsonw_key(&w, "captures");
	pfs_jsonw_arr(&w);
	for (size_t i = 0; i < t->n_col; i++) {
		pfs_jsonw_obj(&w);
		pfs_jsonw_key(&w, "id");
		pfs_jsonw_i64(&w, t->col[i].id);
		pfs_jsonw_key(&w, "label");
		pfs_jsonw_str(&w, t->col[i].label);
		pfs_jsonw_key(&w, "imported_at");
		pfs_jsonw_str(&w, t->col[i].imported_at);
		pfs_jsonw_key(&w, "figured");
		pfs_jsonw_bool(&w, t->col[i].figured);
		pfs_jsonw_key(&w, "report");
		if (t->link_dir) {
			snprintf(href, sizeof(href), "%s%s%lld.html", t->link_dir,
				 *t->link_dir ? "/" : "", (long long)t->col[i].id);
			pfs_jsonw_str(&w, href);
		} else {
			pfs_jsonw_null(&w);
		}
		pfs_jsonw_end_obj(&w);
	}
	pfs_jsonw_end_arr(&w);
	pfs_jsonw_key(&w, "series");
	pfs_jsonw_arr(&w);
	for (size_t k = 0; k < t->n_s; k++) {
		const struct series *s = &t->s[k];
		pfs_jsonw_obj(&w);
		pfs_jsonw_key(&w, "name");
		pfs_jsonw_str(&w, s->name);
		pfs_jsonw_key(&w, "kind");
		pfs_jsonw_str(&w, s->kind);
		pfs_jsonw_key(&w, "unit");
		pfs_jsonw_str(&w, s->unit);
		pfs_jsonw_key(&w, "values");
		pfs_jsonw_arr(&w);
		for (size_t i = 0; i < t->n_col; i++)
			pfs_jsonw_dbl(&w, s->v[i]);
		pfs_jsonw_end_arr(&w);
		pfs_jsonw_end_obj(&w);
	}
	pfs_jsonw_end_arr(&w);
	pfs_jsonw_end_obj(&w);
	if (pretty)
		fputc('\n', f);
	if (ferror(f))
		return pfs_err_sys(err, "cannot write the trend");
	return 0;
}
