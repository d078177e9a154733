#include "diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

void pfs_diag_init(struct pfs_diag *d)
{
	memset(d, 0, sizeof(*d));
}

void pfs_diag_release(struct pfs_diag *d)
{
	free(d->v);
	memset(d, 0, sizeof(*d));
}

static struct pfs_diag_entry *find(const struct pfs_diag *d, const char *code)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].code == code || !strcmp(d->v[i].code, code))
			return &d->v[i];
	return NULL;
}

static void addv(struct pfs_diag *d, enum pfs_severity sev, const char *code, uint64_t n,
		 uint64_t off, const char *fmt, va_list ap)
{
	struct pfs_diag_entry *e;
	if (!n)
		return;
	e = find(d, code);
	if (e) {
		e->count += n;
		if (sev > e->sev)
			e->sev = sev;
		return;
	}
	PFS_GROW(d->v, d->cap, d->n + 1);
	e = &d->v[d->n++];
	e->code = code;
	e->sev = sev;
	e->count = n;
	e->first_off = off;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
}

void pfs_diag_add(struct pfs_diag *d, enum pfs_severity sev, const char *code, uint64_t off,
		  const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	addv(d, sev, code, 1, off, fmt, ap);
	va_end(ap);
}

void pfs_diag_addn(struct pfs_diag *d, enum pfs_severity sev, const char *code, uint64_t n,
		   uint64_t off, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	addv(d, sev, code, n, off, fmt, ap);
	va_end(ap);
}

uint64_t pfs_diag_count(const struct pfs_diag *d, const char *code)
{
	const struct pfs_diag_entry *e = find(d, code);
	return e ? e->count : 0;
}

int pfs_diag_worst(const struct pfs_diag *d)
{
	int w = -1;
	for (size_t i = 0; i < d->n; i++)
		if ((int)d->v[i].sev > w)
			w = (int)d->v[i].sev;
	return w;
}

void pfs_diag_merge(struct pfs_diag *dst, const struct pfs_diag *src)
{
	for (size_t i = 0; i < src->n; i++) {
		const struct pfs_diag_entry *s = &src->v[i];
		pfs_diag_addn(dst, s->sev, s->code, s->count, s->first_off, "%s", s->msg);
	}
}

void pfs_diag_lost(struct pfs_diag *d, uint64_t lost, uint64_t off)
{
	pfs_diag_addn(
	    d, PFS_ERROR, "lost-samples", lost, off,
	    "%llu samples were lost while recording (perf's ring buffer was full): every "
	    "figure counts less than happened, and intervals that span a loss are dropped; "
	    "record with a bigger buffer (-m) or a lower frequency",
	    (unsigned long long)lost);
}

const char *pfs_severity_name(enum pfs_severity s)
{
	switch (s) {
	case PFS_NOTE:
		return "note";
	case PFS_WARN:
		return "warning";
	case PFS_ERROR:
		return "error";
	case PFS_UNSUPP:
		return "unsupported";
	}
	return "?";
}

void pfs_diag_write_json(const struct pfs_diag *d, struct pfs_jsonw *w)
{
	pfs_jsonw_arr(w);
	for (size_t i = 0; d && i < d->n; i++) {
		pfs_jsonw_obj(w);
		pfs_jsonw_key(w, "code");
		pfs_jsonw_str(w, d->v[i].code);
		pfs_jsonw_key(w, "severity");
		pfs_jsonw_str(w, pfs_severity_name(d->v[i].sev));
		pfs_jsonw_key(w, "count");
		pfs_jsonw_u64(w, d->v[i].count);
		pfs_jsonw_key(w, "first_offset");
		if (d->v[i].first_off == PFS_NO_OFF)
			pfs_jsonw_null(w);
		else
			pfs_jsonw_u64(w, d->v[i].first_off);
		pfs_jsonw_key(w, "message");
		pfs_jsonw_str(w, d->v[i].msg);
		pfs_jsonw_end_obj(w);
	}
	pfs_jsonw_end_arr(w);
}
