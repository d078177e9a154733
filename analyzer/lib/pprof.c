#include "pprof.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "profile.pb-c.h"
#include "pyclass.h"
#include "strtab.h"
#include "xalloc.h"

typedef Perftools__Profiles__Profile Profile;
typedef Perftools__Profiles__ValueType ValueType;
typedef Perftools__Profiles__Sample Sample;
typedef Perftools__Profiles__Label Label;
typedef Perftools__Profiles__Mapping Mapping;
typedef Perftools__Profiles__Location Location;
typedef Perftools__Profiles__Line Line;
typedef Perftools__Profiles__Function Function;

/* pid -> (process name, role) */
struct proc_label {
	uint32_t pid;
	int64_t comm, role; /* string indexes, -1: none */
};

static int proc_cmp(const void *x, const void *y)
{
	const struct proc_label *a = x, *b = y;
	return (a->pid > b->pid) - (a->pid < b->pid);
}

/* zlib's gzip stream as protobuf-c's output buffer: the packed bytes never sit in memory. */
struct gzbuf {
	ProtobufCBuffer base;
	z_stream z;
	FILE *out;
	int zrc;   /* the first zlib error, Z_OK until then */
	int ioerr; /* fwrite failed */
	unsigned char obuf[1 << 16];
};

static void gz_pump(struct gzbuf *g, int flush)
{
	do {
		g->z.next_out = g->obuf;
		g->z.avail_out = sizeof(g->obuf);
		int rc = deflate(&g->z, flush);
		if (rc == Z_STREAM_ERROR) {
			g->zrc = rc;
			return;
		}
		size_t have = sizeof(g->obuf) - g->z.avail_out;
		if (have && fwrite(g->obuf, 1, have, g->out) != have)
			g->ioerr = 1;
	} while (g->z.avail_out == 0 || (flush == Z_FINISH && g->z.avail_in));
}

static void gz_append(ProtobufCBuffer *b, size_t len, const uint8_t *data)
{
	struct gzbuf *g = (struct gzbuf *)b;
	while (len && g->zrc == Z_OK && !g->ioerr) {
		/* avail_in is 32 bits */
		uInt chunk = len > (1u << 30) ? (1u << 30) : (uInt)len;
		g->z.next_in = (Bytef *)data;
		g->z.avail_in = chunk;
		gz_pump(g, Z_NO_FLUSH);
		data += chunk;
		len -= chunk;
	}
}

/* What one write builds: the messages and the memos from the profile's ids to them. */
struct build {
	struct pfs_profile *p;
	struct pfs_strtab st; /* index 0 is "", as profile.proto requires */
	Function **fn;
	size_t n_fn, cap_fn;
	Location **loc;
	size_t n_loc, cap_loc;
	Mapping **map;
	size_t n_map, cap_map;
	uint32_t *loc_of_frame; /* frame id -> location id, 0: none yet */
	uint32_t *fn_of_name;	/* string id -> function id, 0: none yet */
	uint32_t *map_of_dso;	/* string id -> mapping id, 0: none yet */
};

static uint64_t mapping_of(struct build *b, uint32_t dso)
{
	if (!dso)
		return 0;
	if (!b->map_of_dso[dso]) {
		Mapping *m = pfs_xmalloc(sizeof(*m));
		perftools__profiles__mapping__init(m);
		m->id = b->n_map + 1;
		m->filename = pfs_strtab_cstr(&b->st, pfs_profile_strget(b->p, dso, NULL));
		m->has_functions = 1;
		PFS_GROW(b->map, b->cap_map, b->n_map + 1);
		b->map[b->n_map++] = m;
		b->map_of_dso[dso] = (uint32_t)m->id;
	}
	return b->map_of_dso[dso];
}

static uint64_t function_of(struct build *b, const struct pfs_frame *f)
{
	if (!b->fn_of_name[f->name]) {
		size_t len;
		const char *name = pfs_profile_strget(b->p, f->name, &len);
		const char *q, *file;
		size_t qlen, flen;
		Function *fn = pfs_xmalloc(sizeof(*fn));
		perftools__profiles__function__init(fn);
		fn->id = b->n_fn + 1;
		fn->system_name = pfs_strtab_add(&b->st, name, len);
		if (pfs_pyclass_split_pyname(name, &q, &qlen, &file, &flen)) {
			fn->name = pfs_strtab_add(&b->st, q, qlen);
			fn->filename = pfs_strtab_add(&b->st, file, flen);
		} else {
			fn->name = fn->system_name;
			if (f->file)
				fn->filename = pfs_strtab_cstr(
				    &b->st, pfs_profile_strget(b->p, f->file, NULL));
		}
		PFS_GROW(b->fn, b->cap_fn, b->n_fn + 1);
		b->fn[b->n_fn++] = fn;
		b->fn_of_name[f->name] = (uint32_t)fn->id;
	}
	return b->fn_of_name[f->name];
}

static uint64_t location_of(struct build *b, uint32_t frame)
{
	if (!b->loc_of_frame[frame]) {
		const struct pfs_frame *f = pfs_profile_frameget(b->p, frame);
		Location *l = pfs_xmalloc(sizeof(*l) + sizeof(Line) + sizeof(Line *));
		Line *ln = (Line *)(l + 1);
		Line **lines = (Line **)(ln + 1);
		perftools__profiles__location__init(l);
		perftools__profiles__line__init(ln);
		l->id = b->n_loc + 1;
		l->mapping_id = mapping_of(b, f->dso);
		ln->function_id = function_of(b, f);
		ln->line = f->line;
		lines[0] = ln;
		l->line = lines;
		l->n_line = 1;
		PFS_GROW(b->loc, b->cap_loc, b->n_loc + 1);
		b->loc[b->n_loc++] = l;
		b->loc_of_frame[frame] = (uint32_t)l->id;
	}
	return b->loc_of_frame[frame];
}

static bool matches(const struct pfs_agg_cell *c, const struct pfs_pprof_opts *o)
{
	return o->event < 0 || c->event == (uint32_t)o->event;
}

static struct proc_label *proc_labels(struct build *b, const struct pfs_pprof_opts *o,
				      size_t *n_out)
{
	size_t n = pfs_profile_n_processes(b->p);
	struct proc_label *v = pfs_xmalloc((n ? n : 1) * sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		const struct pfs_process *pr = pfs_profile_process_at(b->p, i);
		v[i].pid = pr->pid;
		v[i].comm =
		    pr->comm
			? (int64_t)pfs_strtab_cstr(&b->st, pfs_profile_strget(b->p, pr->comm, NULL))
			: -1;
		v[i].role = -1;
	}
	qsort(v, n, sizeof(*v), proc_cmp);
	for (size_t i = 0; o->analysis && i < pfs_analysis_n_processes(o->analysis); i++) {
		const struct pfs_an_process *ap = pfs_analysis_process(o->analysis, i);
		struct proc_label key = {.pid = ap->pid};
		struct proc_label *hit = bsearch(&key, v, n, sizeof(*v), proc_cmp);
		if (hit && ap->role)
			hit->role = pfs_strtab_cstr(&b->st, ap->role);
	}
	*n_out = n;
	return v;
}

int pfs_pprof_write(const struct pfs_agg *a, struct pfs_profile *p, struct pfs_views *v,
		    const struct pfs_pprof_opts *o, FILE *out, struct pfs_err *err)
{
	struct build b = {.p = p};
	size_t n = pfs_agg_n(a), m = 0, n_procs;
	uint32_t *vpath = pfs_xmalloc((n ? n : 1) * sizeof(*vpath));
	size_t *cells = pfs_xmalloc((n ? n : 1) * sizeof(*cells));
	int rc = 0;
	pfs_strtab_add(&b.st, "", 0);
	/* views first: they may add frames and strings, and the memos are sized by them */
	for (size_t i = 0; i < n; i++) {
		const struct pfs_agg_cell *c = pfs_agg_cell(a, i);
		if (!matches(c, o))
			continue;
		vpath[m] = v ? pfs_views_path(v, o->view, c->path) : c->path;
		cells[m++] = i;
	}
	b.loc_of_frame = pfs_xcalloc(pfs_profile_n_frames(p) + 1, sizeof(uint32_t));
	b.fn_of_name = pfs_xcalloc(pfs_profile_n_strs(p) + 1, sizeof(uint32_t));
	b.map_of_dso = pfs_xcalloc(pfs_profile_n_strs(p) + 1, sizeof(uint32_t));
	struct proc_label *procs = proc_labels(&b, o, &n_procs);

	bool wall = o->weight == PFS_FOLD_SECONDS, ns = wall;
	if (!wall && o->analysis) {
		struct pfs_an_header h;
		pfs_analysis_header(o->analysis, &h);
		ns = h.cpu_clock; /* the periods of a clock event are ns */
	}
	ValueType vt[2], *vtp[2] = {&vt[0], &vt[1]};
	perftools__profiles__value_type__init(&vt[0]);
	perftools__profiles__value_type__init(&vt[1]);
	vt[0].type = pfs_strtab_cstr(&b.st, "samples");
	vt[0].unit = pfs_strtab_cstr(&b.st, "count");
	vt[1].type = pfs_strtab_cstr(&b.st, wall	    ? "wall"
					    : ns	    ? "cpu"
					    : o->event_name ? o->event_name
							    : "events");
	vt[1].unit = pfs_strtab_cstr(&b.st, ns ? "nanoseconds" : "events");
	int64_t k_pid = pfs_strtab_cstr(&b.st, "pid"), k_tid = pfs_strtab_cstr(&b.st, "tid");
	int64_t k_comm = pfs_strtab_cstr(&b.st, "comm"), k_proc = pfs_strtab_cstr(&b.st, "process");
	int64_t k_role = pfs_strtab_cstr(&b.st, "role");

	/* one block per sample: the message, its two values, up to five labels and pointers */
	Sample **samples = pfs_xmalloc((m ? m : 1) * sizeof(*samples));
	uint64_t total_period = 0, total_count = 0;
	for (size_t i = 0; i < m; i++) {
		const struct pfs_agg_cell *c = pfs_agg_cell(a, cells[i]);
		size_t depth = 0;
		for (uint32_t q = vpath[i]; q; q = pfs_profile_pathget(p, q)->parent)
			depth++;
		struct {
			Sample s;
			int64_t val[2];
			Label lab[5];
			Label *labp[5];
		} *blk = pfs_xmalloc(sizeof(*blk));
		uint64_t *locs = pfs_xmalloc((depth ? depth : 1) * sizeof(*locs));
		Sample *s = &blk->s;
		perftools__profiles__sample__init(s);
		size_t d = 0;
		for (uint32_t q = vpath[i]; q; q = pfs_profile_pathget(p, q)->parent)
			locs[d++] = location_of(&b, pfs_profile_pathget(p, q)->frame);
		s->location_id = locs;
		s->n_location_id = depth;
		blk->val[0] = (int64_t)c->count;
		blk->val[1] = wall ? (int64_t)llround(c->weight * 1e9) : (int64_t)c->period;
		total_count += c->count;
		total_period += c->period;
		s->value = blk->val;
		s->n_value = 2;
		size_t nl = 0;
		for (size_t k = 0; k < 5; k++) {
			perftools__profiles__label__init(&blk->lab[k]);
			blk->labp[k] = &blk->lab[k];
		}
		blk->lab[nl].key = k_pid;
		blk->lab[nl++].num = c->pid;
		blk->lab[nl].key = k_tid;
		blk->lab[nl++].num = c->tid;
		uint32_t comm = c->comm ? c->comm : pfs_profile_thread(p, c->pid, c->tid)->comm;
		if (comm) {
			blk->lab[nl].key = k_comm;
			blk->lab[nl++].str =
			    pfs_strtab_cstr(&b.st, pfs_profile_strget(p, comm, NULL));
		}
		struct proc_label key = {.pid = c->pid};
		struct proc_label *pl = bsearch(&key, procs, n_procs, sizeof(*procs), proc_cmp);
		if (pl && pl->comm >= 0) {
			blk->lab[nl].key = k_proc;
			blk->lab[nl++].str = pl->comm;
		}
		if (pl && pl->role >= 0) {
			blk->lab[nl].key = k_role;
			blk->lab[nl++].str = pl->role;
		}
		s->label = blk->labp;
		s->n_label = nl;
		samples[i] = s;
	}

	Profile prof;
	perftools__profiles__profile__init(&prof);
	prof.sample_type = vtp;
	prof.n_sample_type = 2;
	prof.sample = samples;
	prof.n_sample = m;
	prof.mapping = b.map;
	prof.n_mapping = b.n_map;
	prof.location = b.loc;
	prof.n_location = b.n_loc;
	prof.function = b.fn;
	prof.n_function = b.n_fn;
	ValueType period_type = vt[1];
	prof.period_type = &period_type;
	prof.period = total_count ? (int64_t)(total_period / total_count) : 0;
	prof.default_sample_type = ns ? vt[1].type : vt[0].type; /* a string index */
	if (!isnan(o->duration_s) && o->duration_s > 0)
		prof.duration_nanos = (int64_t)llround(o->duration_s * 1e9);
	if (!isnan(o->start_time) && o->start_time > 0)
		prof.time_nanos = (int64_t)llround(o->start_time * 1e9);
	int64_t comment = o->name ? pfs_strtab_cstr(&b.st, o->name) : 0;
	if (o->name) {
		prof.comment = &comment;
		prof.n_comment = 1;
	}
	/* the string table last: everything above adds to it */
	prof.string_table = b.st.v;
	prof.n_string_table = b.st.n;

	struct gzbuf *g = pfs_xcalloc(1, sizeof(*g));
	g->base.append = gz_append;
	g->out = out;
	/* windowBits 15 + 16: a gzip header and trailer, as pprof's readers expect */
	g->zrc = deflateInit2(&g->z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
	if (g->zrc != Z_OK) {
		rc = pfs_err_set(err, PFS_EDEP, PFS_NO_OFF, "zlib: cannot start a gzip stream: %s",
				 zError(g->zrc));
		free(g);
		goto out;
	}
	perftools__profiles__profile__pack_to_buffer(&prof, &g->base);
	g->z.next_in = NULL;
	g->z.avail_in = 0;
	if (g->zrc == Z_OK && !g->ioerr)
		gz_pump(g, Z_FINISH);
	deflateEnd(&g->z);
	if (g->zrc != Z_OK)
		rc = pfs_err_set(err, PFS_EDEP, PFS_NO_OFF, "zlib: cannot compress the profile: %s",
				 zError(g->zrc));
	else if (g->ioerr || ferror(out))
		rc = pfs_err_sys(err, "cannot write the pprof profile");
	free(g);
out:
	for (size_t i = 0; i < m; i++) {
		free(samples[i]->location_id);
		free(samples[i]);
	}
	free(samples);
	for (size_t i = 0; i < b.n_loc; i++)
		free(b.loc[i]);
	for (size_t i = 0; i < b.n_fn; i++)
		free(b.fn[i]);
	for (size_t i = 0; i < b.n_map; i++)
		free(b.map[i]);
	free(b.loc);
	free(b.fn);
	free(b.map);
	free(b.loc_of_frame);
	free(b.fn_of_name);
	free(b.map_of_dso);
	free(procs);
	free(vpath);
	free(cells);
	pfs_strtab_release(&b.st);
	return rc;
}
