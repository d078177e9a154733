#include "export.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static double cell_weight(const struct pfs_agg_cell *c, enum pfs_fold_weight w)
{
	switch (w) {
	case PFS_FOLD_PERIOD:
		return (double)c->period;
	case PFS_FOLD_SECONDS:
		return c->weight;
	default:
		return (double)c->count;
	}
}

/* A clock whose period is nanoseconds of CPU (the rule reportdata.c's time events follow). */
static bool is_clock_event(struct pfs_profile *p, uint32_t event)
{
	const struct pfs_event *e = pfs_profile_event(p, event);
	const char *n = e ? pfs_profile_strget(p, e->name, NULL) : "";
	return !strcmp(n, "cpu-clock") || !strcmp(n, "task-clock") ||
	       !strncmp(n, "cpu-clock:", 10) || !strncmp(n, "task-clock:", 11);
}

static bool cell_matches(const struct pfs_agg_cell *c, const struct pfs_export_opts *o)
{
	return o->event < 0 || c->event == (uint32_t)o->event;
}

static int thread_cmp(const void *x, const void *y, void *arg)
{
	const struct pfs_agg *a = arg;
	const struct pfs_agg_cell *p = pfs_agg_cell(a, *(const size_t *)x);
	const struct pfs_agg_cell *q = pfs_agg_cell(a, *(const size_t *)y);
	if (p->pid != q->pid)
		return p->pid < q->pid ? -1 : 1;
	if (p->tid != q->tid)
		return p->tid < q->tid ? -1 : 1;
	return (*(const size_t *)x > *(const size_t *)y) -
	       (*(const size_t *)x < *(const size_t *)y);
}

int pfs_export_speedscope(const struct pfs_agg *a, struct pfs_profile *p, struct pfs_views *v,
			  const struct pfs_export_opts *o, FILE *out, struct pfs_err *err)
{
	size_t n = pfs_agg_n(a), m = 0;
	size_t *order = pfs_xmalloc((n ? n : 1) * sizeof(*order));
	uint32_t *vpath = pfs_xmalloc((n ? n : 1) * sizeof(*vpath));
	uint32_t *fidx = NULL; /* frame id -> speedscope index + 1 */
	uint32_t *frames = NULL, *stack = NULL;
	size_t n_frames = 0, cap_frames = 0, cap_fidx = 0, cap_stack = 0;
	struct pfs_jsonw w;
	int rc = 0;
	struct pfs_export_opts eo = *o;
	bool clock_s = o->clock_seconds && o->weight == PFS_FOLD_SAMPLES;
	for (size_t i = 0; i < n; i++)
		if (cell_matches(pfs_agg_cell(a, i), o)) {
			order[m++] = i;
			clock_s = clock_s && is_clock_event(p, pfs_agg_cell(a, i)->event);
		}
	/* samples of a clock are CPU time: seconds, from their periods (ns) */
	if (clock_s) {
		eo.weight = PFS_FOLD_PERIOD;
		o = &eo;
	}
	qsort_r(order, m, sizeof(*order), thread_cmp, (void *)a);
	/* views first: they may add frames, and the frame table must be complete */
	for (size_t i = 0; i < m; i++) {
		uint32_t path = pfs_agg_cell(a, order[i])->path;
		vpath[i] = v ? pfs_views_path(v, o->view, path) : path;
	}
	for (size_t i = 0; i < m; i++)
		for (uint32_t q = vpath[i]; q; q = pfs_profile_pathget(p, q)->parent) {
			uint32_t f = pfs_profile_pathget(p, q)->frame;
			PFS_GROW_ZEROED(fidx, cap_fidx, f);
			if (!fidx[f]) {
				PFS_GROW(frames, cap_frames, n_frames + 1);
				frames[n_frames++] = f;
				fidx[f] = (uint32_t)n_frames;
			}
		}
	pfs_jsonw_init(&w, out, false);
	pfs_jsonw_obj(&w);
	pfs_jsonw_key(&w, "$schema");
	pfs_jsonw_str(&w, "https://www.speedscope.app/file-format-schema.json");
	pfs_jsonw_key(&w, "exporter");
	pfs_jsonw_str(&w, "perfsight");
	pfs_jsonw_key(&w, "name");
	pfs_jsonw_str(&w, o->name ? o->name : "perfsight");
	pfs_jsonw_key(&w, "activeProfileIndex");
	pfs_jsonw_u64(&w, 0);
	pfs_jsonw_key(&w, "shared");
	pfs_jsonw_obj(&w);
	pfs_jsonw_key(&w, "frames");
	pfs_jsonw_arr(&w);
	for (size_t i = 0; i < n_frames; i++) {
		const struct pfs_frame *f = pfs_profile_frameget(p, frames[i]);
		size_t len;
		const char *s = pfs_profile_strget(p, f->name, &len);
		pfs_jsonw_obj(&w);
		pfs_jsonw_key(&w, "name");
		pfs_jsonw_strn(&w, s, len);
		if (f->file) {
			pfs_jsonw_key(&w, "file");
			pfs_jsonw_str(&w, pfs_profile_strget(p, f->file, NULL));
		} else if (f->dso) {
			pfs_jsonw_key(&w, "file");
			pfs_jsonw_str(&w, pfs_profile_strget(p, f->dso, NULL));
		}
		if (f->line) {
			pfs_jsonw_key(&w, "line");
			pfs_jsonw_u64(&w, f->line);
		}
		pfs_jsonw_end_obj(&w);
	}
	pfs_jsonw_end_arr(&w);
	pfs_jsonw_end_obj(&w);
	pfs_jsonw_key(&w, "profiles");
	pfs_jsonw_arr(&w);
	for (size_t i = 0; i < m;) {
		const struct pfs_agg_cell *c0 = pfs_agg_cell(a, order[i]);
		const struct pfs_thread *t = pfs_profile_thread(p, c0->pid, c0->tid);
		size_t j = i;
		double total = 0;
		char name[512];
		while (j < m && pfs_agg_cell(a, order[j])->pid == c0->pid &&
		       pfs_agg_cell(a, order[j])->tid == c0->tid)
			total += cell_weight(pfs_agg_cell(a, order[j++]), o->weight);
		snprintf(name, sizeof(name), "%s (pid %u, tid %u)",
			 t->comm ? pfs_profile_strget(p, t->comm, NULL) : "[unknown]", c0->pid,
			 c0->tid);
		pfs_jsonw_obj(&w);
		pfs_jsonw_key(&w, "type");
		pfs_jsonw_str(&w, "sampled");
		pfs_jsonw_key(&w, "name");
		pfs_jsonw_str(&w, name);
		pfs_jsonw_key(&w, "unit");
		pfs_jsonw_str(&w, o->weight == PFS_FOLD_SECONDS || clock_s ? "seconds" : "none");
		pfs_jsonw_key(&w, "startValue");
		pfs_jsonw_u64(&w, 0);
		pfs_jsonw_key(&w, "endValue");
		pfs_jsonw_dbl(&w, clock_s ? total / 1e9 : total);
		pfs_jsonw_key(&w, "samples");
		pfs_jsonw_arr(&w);
		for (size_t k = i; k < j; k++) {
			size_t d = 0;
			for (uint32_t q = vpath[k]; q; q = pfs_profile_pathget(p, q)->parent) {
				PFS_GROW(stack, cap_stack, d + 1);
				stack[d++] = fidx[pfs_profile_pathget(p, q)->frame] - 1;
			}
			pfs_jsonw_arr(&w);
			while (d--)
				pfs_jsonw_u64(&w, stack[d]);
			pfs_jsonw_end_arr(&w);
		}
		pfs_jsonw_end_arr(&w);
		pfs_jsonw_key(&w, "weights");
		pfs_jsonw_arr(&w);
		for (size_t k = i; k < j; k++) {
			double wt = cell_weight(pfs_agg_cell(a, order[k]), o->weight);
			pfs_jsonw_dbl(&w, clock_s ? wt / 1e9 : wt);
		}
		pfs_jsonw_end_arr(&w);
		pfs_jsonw_end_obj(&w);
		i = j;
	}
	pfs_jsonw_end_arr(&w);
	pfs_jsonw_end_obj(&w);
	fputc('\n', out);
	if (ferror(out))
		rc = pfs_err_sys(err, "cannot write the speedscope file");
	free(order);
	free(vpath);
	free(fidx);
	free(frames);
	free(stack);
	return rc;
}

static int topfn_cmp(const void *x, const void *y)
{
	const struct pfs_topfn *a = x, *b = y;
	if (a->total != b->total)
		return a->total > b->total ? -1 : 1;
	if (a->self != b->self)
		return a->self > b->self ? -1 : 1;
	return (a->name > b->name) - (a->name < b->name);
}

struct pfs_topfn *pfs_topfn_compute(const struct pfs_agg *a, struct pfs_profile *p,
				    struct pfs_views *v, const struct pfs_export_opts *o,
				    size_t *n_out, double *grand_total)
{
	size_t n = pfs_agg_n(a);
	uint32_t *vpath = pfs_xmalloc((n ? n : 1) * sizeof(*vpath));
	int32_t *slot = NULL;	/* name string id -> index in out, -1 none */
	uint64_t *stamp = NULL; /* name string id -> last cell that counted it */
	struct pfs_topfn *out = NULL;
	size_t n_out_ = 0, cap_out = 0, n_names;
	double all = 0;
	for (size_t i = 0; i < n; i++) {
		const struct pfs_agg_cell *c = pfs_agg_cell(a, i);
		vpath[i] = cell_matches(c, o) && v ? pfs_views_path(v, o->view, c->path) : c->path;
	}
	/* the [truncated] mark of a cut stack is no function: it has no time of its own */
	uint32_t cut = pfs_profile_cstr(p, PFS_FRAME_TRUNCATED);
	n_names = pfs_profile_n_strs(p) + 1;
	slot = pfs_xmalloc(n_names * sizeof(*slot));
	memset(slot, 0xff, n_names * sizeof(*slot));
	stamp = pfs_xcalloc(n_names, sizeof(*stamp));
	for (size_t i = 0; i < n; i++) {
		const struct pfs_agg_cell *c = pfs_agg_cell(a, i);
		double wt;
		bool leaf = true;
		if (!cell_matches(c, o))
			continue;
		wt = cell_weight(c, o->weight);
		all += wt;
		for (uint32_t q = vpath[i]; q; q = pfs_profile_pathget(p, q)->parent) {
			const struct pfs_frame *f =
			    pfs_profile_frameget(p, pfs_profile_pathget(p, q)->frame);
			struct pfs_topfn *t;
			if (f->name == cut && f->kind == PFS_FK_PSEUDO)
				continue;
			if (slot[f->name] < 0) {
				PFS_GROW(out, cap_out, n_out_ + 1);
				memset(&out[n_out_], 0, sizeof(out[0]));
				out[n_out_].name = f->name;
				out[n_out_].kind = f->kind;
				out[n_out_].dso = f->dso;
				slot[f->name] = (int32_t)n_out_++;
			}
			t = &out[slot[f->name]];
			if (leaf)
				t->self += wt;
			leaf = false;
			if (stamp[f->name] != i + 1) {
				stamp[f->name] = i + 1;
				t->total += wt;
			}
		}
	}
	if (n_out_)
		qsort(out, n_out_, sizeof(*out), topfn_cmp);
	free(vpath);
	free(slot);
	free(stamp);
	*n_out = n_out_;
	if (grand_total)
		*grand_total = all;
	return out;
}

static const char *kind_name(uint8_t k)
{
	static const char *const names[PFS_FK_COUNT] = {
	    "unknown", "native", "kernel", "python", "jit", "pyinstrument", "pseudo"};
	return k < PFS_FK_COUNT ? names[k] : "unknown";
}

void pfs_topfn_write_json(struct pfs_jsonw *w, const struct pfs_profile *p,
			  const struct pfs_topfn *t, size_t n, double grand_total)
{
	pfs_jsonw_arr(w);
	for (size_t i = 0; i < n; i++) {
		size_t len;
		const char *s = pfs_profile_strget(p, t[i].name, &len);
		pfs_jsonw_obj(w);
		pfs_jsonw_key(w, "function");
		pfs_jsonw_strn(w, s, len);
		pfs_jsonw_key(w, "kind");
		pfs_jsonw_str(w, kind_name(t[i].kind));
		pfs_jsonw_key(w, "dso");
		pfs_jsonw_str(w, t[i].dso ? pfs_profile_strget(p, t[i].dso, NULL) : NULL);
		pfs_jsonw_key(w, "self");
		pfs_jsonw_dbl(w, t[i].self);
		pfs_jsonw_key(w, "total");
		pfs_jsonw_dbl(w, t[i].total);
		pfs_jsonw_key(w, "self_share");
		pfs_jsonw_dbl(w, grand_total > 0 ? t[i].self / grand_total : 0);
		pfs_jsonw_key(w, "total_share");
		pfs_jsonw_dbl(w, grand_total > 0 ? t[i].total / grand_total : 0);
		pfs_jsonw_end_obj(w);
	}
	pfs_jsonw_end_arr(w);
}
