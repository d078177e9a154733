/*
 * tpevent: the tracing-data blob parser (the layout perf's trace-event-read.c writes) and field
 * access over libtraceevent with our own bounds checks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <traceevent/event-parse.h>
#include <traceevent/trace-seq.h>

#include "cursor.h"
#include "tpevent.h"
#include "xalloc.h"

/* A blob holds a few hundred formats at most; more means a corrupt count. */
#define MAX_FORMATS 100000u

struct tp_fmt {
	int64_t id;
	char *name; /* "system:name" */
	struct tep_event *ev;
	size_t static_size; /* RAW bytes the fixed fields need */
};

struct pfs_tpevent {
	struct tep_handle *tep;
	struct tp_fmt *fmts;
	size_t n, cap;
	int64_t switch_id;
};

static int fmt_cmp(const void *a, const void *b)
{
	const struct tp_fmt *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

static struct tp_fmt *find_fmt(struct pfs_tpevent *t, uint64_t id)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if ((uint64_t)t->fmts[mid].id == id)
			return &t->fmts[mid];
		if ((uint64_t)t->fmts[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static size_t fields_end(const struct tep_format_field *f, size_t end)
{
	for (; f; f = f->next) {
		size_t e;
		if (f->offset < 0 || f->size < 0)
			continue;
		e = (size_t)f->offset + (size_t)f->size;
		if (e > end)
			end = e;
	}
	return end;
}

static bool host_big_endian(void)
{
	const uint16_t one = 1;
	uint8_t b;
	memcpy(&b, &one, 1);
	return b == 0;
}

/* Reads a NUL-terminated string of at most max bytes; NULL when none ends in range. */
static const char *read_cstr(struct pfs_cursor *c, size_t max)
{
	size_t left = pfs_cursor_left(c);
	const uint8_t *nul;
	if (left > max)
		left = max;
	nul = memchr(c->p, 0, left);
	if (!nul) {
		c->bad = true;
		return NULL;
	}
	return (const char *)pfs_cursor_bytes(c, (size_t)(nul - c->p) + 1);
}

static uint64_t blob_off(const struct pfs_cursor *c, const void *blob)
{
	return (uint64_t)(c->p - (const uint8_t *)blob);
}

/* Reads a u64 size and that many bytes; NULL on truncation. */
static const char *read_text(struct pfs_cursor *c, uint64_t *size)
{
	*size = pfs_cursor_u64(c);
	if (c->bad || *size > pfs_cursor_left(c)) {
		c->bad = true;
		return NULL;
	}
	return (const char *)pfs_cursor_bytes(c, (size_t)*size);
}

static int parse_formats(struct pfs_tpevent *t, struct pfs_cursor *c, const void *blob,
			 struct pfs_diag *d, struct pfs_err *err)
{
	uint32_t nsys, n;
	uint64_t size;
	/* ftrace's own formats: perf parses them for function tracing only */
	n = pfs_cursor_u32(c);
	if (n > MAX_FORMATS)
		return pfs_err_set(err, PFS_ELIMIT, blob_off(c, blob),
				   "tracing data: %u ftrace formats is not a plausible count", n);
	for (uint32_t i = 0; i < n && !c->bad; i++)
		read_text(c, &size);
	nsys = pfs_cursor_u32(c);
	if (nsys > MAX_FORMATS)
		return pfs_err_set(err, PFS_ELIMIT, blob_off(c, blob),
				   "tracing data: %u event systems is not a plausible count", nsys);
	for (uint32_t s = 0; s < nsys && !c->bad; s++) {
		const char *sys = read_cstr(c, 4096);
		n = pfs_cursor_u32(c);
		if (c->bad)
			break;
		if (n > MAX_FORMATS)
			return pfs_err_set(err, PFS_ELIMIT, blob_off(c, blob),
					   "tracing data: %u formats in system '%s'", n, sys);
		for (uint32_t i = 0; i < n; i++) {
			uint64_t off = blob_off(c, blob);
			const char *text = read_text(c, &size);
			enum tep_errno rc;
			if (!text)
				break;
			rc = tep_parse_event(t->tep, text, (unsigned long)size, sys);
			if (rc != 0 && d) {
				char msg[128];
				tep_strerror(t->tep, rc, msg, sizeof(msg));
				pfs_diag_add(
				    d, PFS_WARN, "tracepoint-format", off,
				    "tracing data: a format of system '%s' does not parse: %s", sys,
				    msg);
			}
		}
	}
	if (c->bad)
		return pfs_err_set(err, PFS_EFORMAT, blob_off(c, blob),
				   "tracing data truncated in the event formats");
	return 0;
}

static void index_events(struct pfs_tpevent *t)
{
	int n = tep_get_events_count(t->tep);
	t->switch_id = -1;
	for (int i = 0; i < n; i++) {
		struct tep_event *ev = tep_get_event(t->tep, i);
		struct tp_fmt *f;
		size_t len;
		if (!ev || !ev->name || ev->id < 0)
			continue;
		PFS_GROW(t->fmts, t->cap, t->n + 1);
		f = &t->fmts[t->n++];
		f->id = ev->id;
		f->ev = ev;
		len = strlen(ev->system ? ev->system : "") + strlen(ev->name) + 2;
		f->name = pfs_xmalloc(len);
		snprintf(f->name, len, "%s:%s", ev->system ? ev->system : "", ev->name);
		f->static_size =
		    fields_end(ev->format.fields, fields_end(ev->format.common_fields, 0));
		if (!strcmp(f->name, "sched:sched_switch"))
			t->switch_id = ev->id;
	}
	qsort(t->fmts, t->n, sizeof(*t->fmts), fmt_cmp);
}

int pfs_tpevent_open(struct pfs_tpevent **out, const void *blob, size_t len, struct pfs_diag *d,
		     struct pfs_err *err)
{
	static const uint8_t magic[10] = {0x17, 0x08, 0x44, 't', 'r', 'a', 'c', 'i', 'n', 'g'};
	struct pfs_cursor c = pfs_cursor_make(blob, len, false);
	struct pfs_tpevent *t;
	const uint8_t *m;
	const char *version, *tag, *text;
	uint8_t big, long_size;
	uint32_t page_size;
	uint64_t size;
	char *hp;
	int rc;

	*out = NULL;
	if (!blob || !len)
		return pfs_err_set(err, PFS_EFORMAT, PFS_NO_OFF,
				   "no tracing data: the capture has no tracepoint formats");
	m = pfs_cursor_bytes(&c, sizeof(magic));
	if (!m || memcmp(m, magic, sizeof(magic)))
		return pfs_err_set(err, PFS_EFORMAT, 0, "tracing data: bad magic");
	version = read_cstr(&c, 16);
	big = pfs_cursor_u8(&c);
	long_size = pfs_cursor_u8(&c);
	if (c.bad)
		return pfs_err_set(err, PFS_EFORMAT, blob_off(&c, blob),
				   "tracing data truncated in its header (%zu bytes)", len);
	if (long_size != 4 && long_size != 8)
		return pfs_err_set(err, PFS_EFORMAT, blob_off(&c, blob) - 1,
				   "tracing data: long size %u is neither 4 nor 8", long_size);
	c.swap = (big != 0) != host_big_endian();
	page_size = pfs_cursor_u32(&c);
	tag = read_cstr(&c, 16);
	if (!tag || strcmp(tag, "header_page"))
		return pfs_err_set(err, PFS_EFORMAT, blob_off(&c, blob),
				   "tracing data (version %s): no header_page section", version);
	text = read_text(&c, &size);
	if (!text)
		return pfs_err_set(err, PFS_EFORMAT, blob_off(&c, blob),
				   "tracing data truncated in header_page");

	t = pfs_xcalloc(1, sizeof(*t));
	t->tep = tep_alloc();
	if (!t->tep) {
		free(t);
		return pfs_err_set(err, PFS_EDEP, PFS_NO_OFF, "libtraceevent: tep_alloc failed");
	}
	/* libtraceevent would print parse warnings on stderr; they become diagnostics instead */
	tep_set_loglevel(TEP_LOG_NONE);
	tep_set_file_bigendian(t->tep, big ? TEP_BIG_ENDIAN : TEP_LITTLE_ENDIAN);
	tep_set_local_bigendian(t->tep, host_big_endian() ? TEP_BIG_ENDIAN : TEP_LITTLE_ENDIAN);
	tep_set_long_size(t->tep, long_size);
	tep_set_page_size(t->tep, (int)page_size);
	hp = pfs_xstrndup(text, (size_t)size);
	if (tep_parse_header_page(t->tep, hp, (unsigned long)size, long_size) && d)
		pfs_diag_add(d, PFS_NOTE, "tracepoint-format", PFS_NO_OFF,
			     "tracing data: header_page does not parse; default layout assumed");
	free(hp);
	tag = read_cstr(&c, 16);
	if (!tag || strcmp(tag, "header_event") || !read_text(&c, &size)) {
		pfs_tpevent_close(t);
		return pfs_err_set(err, PFS_EFORMAT, blob_off(&c, blob),
				   "tracing data: no header_event section");
	}
	rc = parse_formats(t, &c, blob, d, err);
	if (rc < 0) {
		pfs_tpevent_close(t);
		return rc;
	}
	index_events(t);
	*out = t;
	return 0;
}

void pfs_tpevent_close(struct pfs_tpevent *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->fmts[i].name);
	free(t->fmts);
	tep_free(t->tep);
	free(t);
}

size_t pfs_tpevent_n_events(const struct pfs_tpevent *t)
{
	return t->n;
}

const char *pfs_tpevent_name(struct pfs_tpevent *t, uint64_t id)
{
	struct tp_fmt *f = find_fmt(t, id);
	return f ? f->name : NULL;
}

int64_t pfs_tpevent_id(struct pfs_tpevent *t, const char *system, const char *name)
{
	size_t sl = strlen(system);
	for (size_t i = 0; i < t->n; i++) {
		const char *n = t->fmts[i].name;
		if (!strncmp(n, system, sl) && n[sl] == ':' && !strcmp(n + sl + 1, name))
			return t->fmts[i].id;
	}
	return -1;
}

static int lookup(struct pfs_tpevent *t, uint64_t id, size_t len, const char *field,
		  struct tp_fmt **fo, struct tep_format_field **fldo, struct pfs_err *err)
{
	struct tp_fmt *f = find_fmt(t, id);
	struct tep_format_field *fld;
	if (!f)
		return pfs_err_set(err, PFS_EUSAGE, PFS_NO_OFF,
				   "tracepoint id %llu is not in the tracing data",
				   (unsigned long long)id);
	fld = tep_find_any_field(f->ev, field);
	if (!fld)
		return pfs_err_set(err, PFS_EUSAGE, PFS_NO_OFF, "%s has no field '%s'", f->name,
				   field);
	if (len < f->static_size)
		return pfs_err_set(
		    err, PFS_EFORMAT, PFS_NO_OFF,
		    "%s sample truncated: raw data has %zu bytes, the format needs %zu", f->name,
		    len, f->static_size);
	*fo = f;
	*fldo = fld;
	return 0;
}

int pfs_tpevent_u64(struct pfs_tpevent *t, uint64_t id, const void *raw, size_t len,
		    const char *field, uint64_t *val, struct pfs_err *err)
{
	struct tp_fmt *f;
	struct tep_format_field *fld;
	int rc = lookup(t, id, len, field, &f, &fld, err);
	if (rc < 0)
		return rc;
	if ((fld->flags & (TEP_FIELD_IS_ARRAY | TEP_FIELD_IS_DYNAMIC)) ||
	    (fld->size != 1 && fld->size != 2 && fld->size != 4 && fld->size != 8))
		return pfs_err_set(err, PFS_EUSAGE, PFS_NO_OFF, "%s field '%s' is not a number",
				   f->name, field);
	*val = tep_read_number(t->tep, (const uint8_t *)raw + fld->offset, fld->size);
	if ((fld->flags & TEP_FIELD_IS_SIGNED) && fld->size < 8) {
		/* sign-extend so a -1 pid reads as (uint64_t)-1, not 0xffffffff */
		unsigned bits = (unsigned)fld->size * 8;
		uint64_t sign = 1ull << (bits - 1);
		*val = (*val ^ sign) - sign;
	}
	return 0;
}

int pfs_tpevent_str(struct pfs_tpevent *t, uint64_t id, const void *raw, size_t len,
		    const char *field, char *buf, size_t buflen, struct pfs_err *err)
{
	struct tp_fmt *f;
	struct tep_format_field *fld;
	const uint8_t *p;
	size_t off, n, k;
	int rc = lookup(t, id, len, field, &f, &fld, err);
	if (rc < 0)
		return rc;
	if (fld->flags & TEP_FIELD_IS_DYNAMIC) {
		uint32_t loc;
		if (fld->size != 4)
			return pfs_err_set(err, PFS_EUSAGE, PFS_NO_OFF,
					   "%s field '%s': dynamic location of size %d", f->name,
					   field, fld->size);
		loc = (uint32_t)tep_read_number(t->tep, (const uint8_t *)raw + fld->offset, 4);
		off = loc & 0xffff;
		n = loc >> 16;
		if (fld->flags & TEP_FIELD_IS_RELATIVE)
			off += (size_t)fld->offset + (size_t)fld->size;
	} else if (fld->flags & TEP_FIELD_IS_ARRAY) {
		off = (size_t)fld->offset;
		n = (size_t)fld->size;
	} else {
		return pfs_err_set(err, PFS_EUSAGE, PFS_NO_OFF, "%s field '%s' is not a string",
				   f->name, field);
	}
	if (off > len || n > len - off)
		return pfs_err_set(err, PFS_EFORMAT, PFS_NO_OFF,
				   "%s field '%s' at %zu+%zu lies outside the %zu raw bytes",
				   f->name, field, off, n, len);
	p = (const uint8_t *)raw + off;
	k = 0;
	while (k < n && p[k])
		k++;
	if (buflen) {
		size_t c = k < buflen - 1 ? k : buflen - 1;
		memcpy(buf, p, c);
		buf[c] = 0;
	}
	return (int)k;
}

/* perf prints prev_state through the format's print fmt; take its token from the INFO text. */
static void print_prev_state(struct pfs_tpevent *t, struct tp_fmt *f, const void *raw, size_t len,
			     char *out, size_t outlen)
{
	struct trace_seq s;
	struct tep_record rec;
	const char *p;
	size_t k = 0;
	memset(&rec, 0, sizeof(rec));
	rec.data = (void *)(uintptr_t)raw;
	rec.size = (int)len;
	trace_seq_init(&s);
	tep_print_event(t->tep, &s, &rec, "%s", TEP_PRINT_INFO);
	trace_seq_terminate(&s);
	out[0] = 0;
	p = s.buffer ? strstr(s.buffer, "prev_state=") : NULL;
	if (p) {
		p += strlen("prev_state=");
		while (p[k] && p[k] != ' ' && k + 1 < outlen) {
			out[k] = p[k];
			k++;
		}
		out[k] = 0;
	}
	trace_seq_destroy(&s);
}

int pfs_tpevent_switch(struct pfs_tpevent *t, uint64_t id, const void *raw, size_t len,
		       struct pfs_tp_switch *out, struct pfs_err *err)
{
	struct tp_fmt *f;
	uint64_t v;
	int rc;
	if (t->switch_id < 0 || (uint64_t)t->switch_id != id)
		return 0;
	f = find_fmt(t, id);
	memset(out, 0, sizeof(*out));
	if ((rc = pfs_tpevent_u64(t, id, raw, len, "prev_pid", &v, err)) < 0)
		return rc;
	out->prev_pid = (uint32_t)v;
	if ((rc = pfs_tpevent_u64(t, id, raw, len, "next_pid", &v, err)) < 0)
		return rc;
	out->next_pid = (uint32_t)v;
	if ((rc = pfs_tpevent_u64(t, id, raw, len, "prev_state", &out->prev_state, err)) < 0)
		return rc;
	if ((rc = pfs_tpevent_str(t, id, raw, len, "prev_comm", out->prev_comm,
				  sizeof(out->prev_comm), err)) < 0)
		return rc;
	if ((rc = pfs_tpevent_str(t, id, raw, len, "next_comm", out->next_comm,
				  sizeof(out->next_comm), err)) < 0)
		return rc;
	print_prev_state(t, f, raw, len, out->prev_state_s, sizeof(out->prev_state_s));
	if (!out->prev_state_s[0])
		/* no usable print fmt: states other than running are the low bits */
		snprintf(out->prev_state_s, sizeof(out->prev_state_s), "%s",
			 (out->prev_state & 0xff) ? "?" : "R");
	out->runnable = out->prev_state_s[0] == 'R';
	return 1;
}
