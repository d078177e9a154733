/*
 * tpevent: the tracing-data blob parser (the layout perf's trace-event-read.c writes) and field
 * access over libtraceevent with our own bounds checks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <traceevent/event-parse.h>

#include "cursor.h"
#include "jsonw.h"
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

/* How sched_switch's print fmt renders prev_state (perf prints it through that fmt). */
struct state_fmt {
	bool ok;
	uint64_t preempt; /* the bit that adds "+" (TASK_REPORT_MAX) */
	uint64_t flag[16];
	char name[16][4];
	size_t n;
};

struct pfs_tpevent {
	struct tep_handle *tep;
	struct tp_fmt *fmts;
	size_t n, cap;
	int64_t switch_id;
	struct state_fmt state;
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

static const char *span_str(const char *p, const char *end, const char *needle)
{
	size_t nl = strlen(needle);
	for (; p + nl <= end; p++)
		if (!memcmp(p, needle, nl))
			return p;
	return NULL;
}

static bool is_ident(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

/* Skips "KEY:digits;" at *p (after optional tab/space); false when it is not there. */
static bool skip_num_attr(const char **p, const char *end, const char *key)
{
	size_t kl = strlen(key), n = 0;
	while (*p < end && (**p == '\t' || **p == ' '))
		(*p)++;
	if ((size_t)(end - *p) < kl || memcmp(*p, key, kl))
		return false;
	*p += kl;
	if (*p < end && **p == '-')
		(*p)++;
	while (*p < end && **p >= '0' && **p <= '9' && n < 12) {
		(*p)++;
		n++;
	}
	if (!n || *p >= end || **p != ';')
		return false;
	(*p)++;
	return true;
}

struct names {
	const char *v[256]; /* field names, pointing into the format text */
	size_t len[256];
	size_t n;
};

/* The field's name: the last identifier of the declaration before any '['. */
static void add_field_name(struct names *nm, const char *decl, const char *end)
{
	const char *b = memchr(decl, '[', (size_t)(end - decl));
	const char *e = b ? b : end, *s;
	while (e > decl && e[-1] == ' ')
		e--;
	s = e;
	while (s > decl && is_ident(s[-1]))
		s--;
	if (nm->n < sizeof(nm->v) / sizeof(nm->v[0]) && e > s) {
		nm->v[nm->n] = s;
		nm->len[nm->n++] = (size_t)(e - s);
	}
}

/* "\tfield:TYPE NAME[N];\toffset:N;\tsize:N;\tsigned:N;" */
static bool field_line_ok(const char *p, const char *end, struct names *nm)
{
	int brackets = 0, words = 0;
	bool named = false;
	const char *decl = p;
	while (p < end && *p != ';') {
		char c = *p++;
		/* a type and a name at least: libtraceevent leaks on a lone word */
		if (is_ident(c) && !brackets && (p - 1 == decl || !is_ident(p[-2])))
			words++;
		if (c == '[') {
			if (brackets++)
				return false;
		} else if (c == ']') {
			if (brackets-- != 1)
				return false;
		} else if (is_ident(c)) {
			named = true;
		} else if (c != ' ' && c != '*' &&
			   !(brackets && (c == '(' || c == ')' || c == '+'))) {
			/* sizes may be expressions: saddr[sizeof(struct sockaddr_in6)] */
			return false;
		}
	}
	if (p >= end || brackets || !named || words < 2)
		return false;
	/* an unsized array is a dynamic field's: "__data_loc char[] msg" */
	if (span_str(decl, p, "[]") && strncmp(decl, "__data_loc ", 11) &&
	    strncmp(decl, "__rel_loc ", 10))
		return false;
	add_field_name(nm, decl, p);
	p++;
	if (!skip_num_attr(&p, end, "offset:") || !skip_num_attr(&p, end, "size:"))
		return false;
	/* "signed:" is missing in formats of kernels before 2.6.35 */
	while (p < end && (*p == '\t' || *p == ' '))
		p++;
	return p == end || skip_num_attr(&p, end, "signed:");
}

static bool known_field(const struct names *nm, const char *p, const char *end)
{
	size_t l = 0;
	while (p + l < end && is_ident(p[l]))
		l++;
	for (size_t i = 0; i < nm->n; i++)
		if (nm->len[i] == l && !memcmp(nm->v[i], p, l))
			return true;
	return false;
}

/* Printable, quotes closed, brackets balanced, every REC->field declared. */
static bool print_fmt_ok(const char *p, const char *end, const struct names *nm)
{
	int paren = 0, brace = 0;
	bool quoted = false;
	for (; p < end; p++) {
		char c = *p;
		if (!quoted && end - p > 5 && !memcmp(p, "REC->", 5) &&
		    !known_field(nm, p + 5, end))
			return false;
		if ((unsigned char)c < 0x20 || (unsigned char)c > 0x7e)
			return false;
		if (quoted) {
			if (c == '\\' && p + 1 < end)
				p++;
			else if (c == '"')
				quoted = false;
			continue;
		}
		if (c == '"')
			quoted = true;
		else if (c == '(')
			paren++;
		else if (c == ')' && --paren < 0)
			return false;
		else if (c == '{')
			brace++;
		else if (c == '}' && --brace < 0)
			return false;
	}
	return !quoted && !paren && !brace;
}

/*
 * libtraceevent trusts format text (a malformed field declaration makes it dereference NULL),
 * so a format must have the exact shape the kernel writes before it is handed over.
 */
static bool format_ok(const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	bool name = false, id = false, print = false;
	struct names nm;
	nm.n = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		size_t l = (size_t)(le - p);
		if (memchr(p, 0, l))
			return false;
		if (l >= 6 && !memcmp(p, "name: ", 6)) {
			for (const char *q = p + 6; q < le; q++)
				if (!is_ident(*q))
					return false;
			name = l > 6;
		} else if (l >= 4 && !memcmp(p, "ID: ", 4)) {
			const char *q = p + 4;
			while (q < le && *q >= '0' && *q <= '9' && q - p < 14)
				q++;
			id = q == le && l > 4;
		} else if (l >= 7 && !memcmp(p, "\tfield:", 7)) {
			if (!field_line_ok(p + 7, le, &nm))
				return false;
		} else if (l >= 11 && !memcmp(p, "print fmt: ", 11)) {
			if (!print_fmt_ok(p + 11, le, &nm))
				return false;
			print = true;
		} else if (l && strncmp(p, "format:", l < 8 ? l : 8)) {
			return false;
		}
		p = nl ? nl + 1 : end;
	}
	return name && id && print;
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

/* A tiny evaluator for the constant expressions of kernel print fmts: ( ) + - << | & */
struct expr {
	const char *p, *end;
	bool bad;
	int depth;
};

static void ex_space(struct expr *e)
{
	while (e->p < e->end && *e->p == ' ')
		e->p++;
}

static uint64_t ex_or(struct expr *e);

static uint64_t ex_atom(struct expr *e)
{
	uint64_t v = 0;
	int n = 0;
	ex_space(e);
	if (e->p < e->end && *e->p == '(') {
		if (++e->depth > 32) {
			e->bad = true;
			return 0;
		}
		e->p++;
		v = ex_or(e);
		ex_space(e);
		if (e->p >= e->end || *e->p != ')')
			e->bad = true;
		else
			e->p++;
		e->depth--;
		return v;
	}
	if (e->end - e->p > 2 && e->p[0] == '0' && (e->p[1] == 'x' || e->p[1] == 'X')) {
		e->p += 2;
		for (; e->p < e->end && n < 16; e->p++, n++) {
			char c = *e->p;
			int d = c >= '0' && c <= '9'   ? c - '0'
				: c >= 'a' && c <= 'f' ? c - 'a' + 10
				: c >= 'A' && c <= 'F' ? c - 'A' + 10
						       : -1;
			if (d < 0)
				break;
			v = v * 16 + (uint64_t)d;
		}
	} else {
		for (; e->p < e->end && *e->p >= '0' && *e->p <= '9' && n < 19; e->p++, n++)
			v = v * 10 + (uint64_t)(*e->p - '0');
	}
	if (!n)
		e->bad = true;
	return v;
}

static uint64_t ex_sum(struct expr *e)
{
	uint64_t v = ex_atom(e);
	for (;;) {
		ex_space(e);
		if (e->p < e->end && *e->p == '+') {
			e->p++;
			v += ex_atom(e);
		} else if (e->p < e->end && *e->p == '-') {
			e->p++;
			v -= ex_atom(e);
		} else {
			return v;
		}
	}
}

static uint64_t ex_shift(struct expr *e)
{
	uint64_t v = ex_sum(e);
	ex_space(e);
	while (e->end - e->p >= 2 && e->p[0] == '<' && e->p[1] == '<') {
		uint64_t by;
		e->p += 2;
		by = ex_sum(e);
		v = by < 64 ? v << by : 0;
		ex_space(e);
	}
	return v;
}

static uint64_t ex_or(struct expr *e)
{
	uint64_t v = ex_shift(e);
	for (;;) {
		ex_space(e);
		if (e->p < e->end && *e->p == '|' && (e->p + 1 >= e->end || e->p[1] != '|')) {
			e->p++;
			v |= ex_shift(e);
		} else if (e->p < e->end && *e->p == '&' &&
			   (e->p + 1 >= e->end || e->p[1] != '&')) {
			e->p++;
			v &= ex_shift(e);
		} else {
			return v;
		}
	}
}

/*
 * Reads the kernel's rendering of prev_state from sched_switch's print fmt: the flag table of
 * __print_flags(prev_state & MASK, "|", { 0x1, "S" }, ...) and the bit that prints "+":
 * "REC->prev_state & EXPR ? "+" : """. Returns false when the fmt has another shape.
 */
static bool parse_state_fmt(const char *p, const char *end, struct state_fmt *st)
{
	const char *plus = span_str(p, end, "? \"+\"");
	const char *flags = span_str(p, end, "__print_flags(");
	const char *q, *last = NULL;
	struct expr e;
	memset(st, 0, sizeof(*st));
	if (!plus || !flags)
		return false;
	for (q = p; (q = span_str(q, plus, "REC->prev_state &")) != NULL; q++)
		last = q;
	if (!last)
		return false;
	e = (struct expr){last + strlen("REC->prev_state &"), plus, false, 0};
	st->preempt = ex_or(&e);
	ex_space(&e);
	if (e.bad || e.p != plus || !st->preempt)
		return false;
	for (q = flags; (q = span_str(q, end, "{")) != NULL && st->n < 16;) {
		const char *quote;
		size_t l;
		e = (struct expr){q + 1, end, false, 0};
		st->flag[st->n] = ex_atom(&e);
		ex_space(&e);
		if (e.bad || e.p >= end || *e.p != ',')
			break;
		quote = span_str(e.p, end, "\"");
		if (!quote)
			break;
		quote++;
		for (l = 0; quote + l < end && quote[l] != '"' && l < 3; l++)
			st->name[st->n][l] = quote[l];
		if (quote + l >= end || quote[l] != '"')
			break;
		st->n++;
		q = quote + l;
	}
	st->ok = st->n > 0;
	return st->ok;
}

/* prev_state as __print_flags and the "+" suffix print it. */
static void render_state(const struct state_fmt *st, uint64_t v, char *out, size_t len)
{
	uint64_t rest = v & (st->preempt - 1);
	size_t n = 0;
	out[0] = 0;
	if (!rest) {
		snprintf(out, len, "R");
		n = 1;
	}
	for (size_t i = 0; i < st->n && rest; i++) {
		if (!st->flag[i] || (rest & st->flag[i]) != st->flag[i])
			continue;
		n += (size_t)snprintf(out + n, n < len ? len - n : 0, "%s%s", n ? "|" : "",
				      st->name[i]);
		rest &= ~st->flag[i];
		if (n >= len)
			return;
	}
	if (rest && n < len)
		n += (size_t)snprintf(out + n, len - n, "%s0x%llx", n ? "|" : "",
				      (unsigned long long)rest);
	if ((v & st->preempt) && n < len)
		snprintf(out + n, len - n, "+");
}

/*
 * The format with its print fmt emptied: libtraceevent's expression parser crashes on
 * malformed print fmts, and perfsight reads fields by name, never through the print fmt.
 */
static char *without_print_fmt(const char *text, size_t len, size_t *out_len)
{
	static const char empty[] = "print fmt: \"\"\n";
	const char *pf = span_str(text, text + len, "\nprint fmt: ");
	size_t keep = pf ? (size_t)(pf - text) + 1 : len;
	char *s = pfs_xmalloc(keep + sizeof(empty));
	memcpy(s, text, keep);
	memcpy(s + keep, empty, sizeof(empty));
	*out_len = keep + sizeof(empty) - 1;
	return s;
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
			if (!format_ok(text, (size_t)size)) {
				if (d)
					pfs_diag_add(d, PFS_WARN, "tracepoint-format", off,
						     "tracing data: a format of system '%s' is not "
						     "shaped as the kernel writes them; skipped",
						     sys);
				continue;
			}
			if (!strcmp(sys, "sched") &&
			    span_str(text, text + size, "name: sched_switch\n") &&
			    !parse_state_fmt(text, text + size, &t->state) && d)
				pfs_diag_add(
				    d, PFS_NOTE, "switch-state-format", off,
				    "tracing data: sched_switch's print fmt is not the "
				    "kernel's usual one; prev_state 0 alone reads as runnable");
			{
				size_t cl;
				char *clean = without_print_fmt(text, (size_t)size, &cl);
				rc = tep_parse_event(t->tep, clean, (unsigned long)cl, sys);
				free(clean);
			}
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
	if (t->n)
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

int pfs_tpevent_switch(struct pfs_tpevent *t, uint64_t id, const void *raw, size_t len,
		       struct pfs_tp_switch *out, struct pfs_err *err)
{
	uint64_t v;
	int rc;
	if (t->switch_id < 0 || (uint64_t)t->switch_id != id)
		return 0;
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
	if (t->state.ok)
		render_state(&t->state, out->prev_state, out->prev_state_s,
			     sizeof(out->prev_state_s));
	else
		snprintf(out->prev_state_s, sizeof(out->prev_state_s), "%s",
			 out->prev_state ? "?" : "R");
	out->runnable = out->prev_state_s[0] == 'R';
	return 1;
}

/* One field as JSON, or false when it is neither a number nor a string (left out). */
static int field_json(struct pfs_tpevent *t, uint64_t id, const void *raw, size_t len,
		      const struct tep_format_field *fld, struct pfs_jsonw *w, struct pfs_err *err)
{
	char buf[256];
	uint64_t v;
	int rc;
	bool is_str = (fld->flags & (TEP_FIELD_IS_ARRAY | TEP_FIELD_IS_DYNAMIC)) && fld->type &&
		      strstr(fld->type, "char");
	if (is_str) {
		if ((rc = pfs_tpevent_str(t, id, raw, len, fld->name, buf, sizeof(buf), err)) < 0)
			return rc;
		pfs_jsonw_key(w, fld->name);
		pfs_jsonw_str(w, buf);
		return 0;
	}
	if (fld->flags & (TEP_FIELD_IS_ARRAY | TEP_FIELD_IS_DYNAMIC))
		return 0;
	if ((rc = pfs_tpevent_u64(t, id, raw, len, fld->name, &v, err)) < 0)
		return rc == PFS_EUSAGE ? 0 : rc;
	pfs_jsonw_key(w, fld->name);
	if (fld->flags & TEP_FIELD_IS_SIGNED)
		pfs_jsonw_i64(w, (int64_t)v);
	else
		pfs_jsonw_u64(w, v);
	return 0;
}

int pfs_tpevent_fields_json(struct pfs_tpevent *t, uint64_t id, const void *raw, size_t len,
			    FILE *f, struct pfs_err *err)
{
	struct tp_fmt *fmt = find_fmt(t, id);
	struct pfs_jsonw w;
	int rc;
	if (!fmt)
		return pfs_err_set(err, PFS_EUSAGE, PFS_NO_OFF,
				   "tracepoint id %llu is not in the tracing data",
				   (unsigned long long)id);
	if (len < fmt->static_size)
		return pfs_err_set(
		    err, PFS_EFORMAT, PFS_NO_OFF,
		    "%s sample truncated: raw data has %zu bytes, the format needs %zu", fmt->name,
		    len, fmt->static_size);
	/* every string is checked before anything is written: a bad one writes nothing */
	for (struct tep_format_field *fld = fmt->ev->format.fields; fld; fld = fld->next)
		if ((fld->flags & (TEP_FIELD_IS_ARRAY | TEP_FIELD_IS_DYNAMIC)) && fld->type &&
		    strstr(fld->type, "char") &&
		    (rc = pfs_tpevent_str(t, id, raw, len, fld->name, NULL, 0, err)) < 0)
			return rc;
	pfs_jsonw_init(&w, f, false);
	pfs_jsonw_obj(&w);
	for (struct tep_format_field *fld = fmt->ev->format.fields; fld; fld = fld->next)
		if ((rc = field_json(t, id, raw, len, fld, &w, err)) < 0)
			return rc;
	pfs_jsonw_end_obj(&w);
	return 0;
}
