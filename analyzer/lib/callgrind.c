/*
 * callgrind: the line reader, the grammar and the writer. See callgrind.h; the grammar is the
 * "Callgrind Format Specification" of valgrind's manual (docs/callgraph.md quotes what
 * matters).
 */
#include "callgrind.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cursor.h"
#include "xalloc.h"

#define READ_CHUNK ((size_t)256 << 10)
#define MAX_POS 3
/* Events per file: callgrind's cache and branch simulation together write 13. */
#define MAX_EVENTS 64

/* Lines from a file descriptor (through a buffer) or from memory. */
struct lines {
	int fd; /* -1: mem */
	const uint8_t *mem;
	size_t mem_len;
	uint8_t *buf;
	size_t cap, start, end;
	uint64_t base; /* file offset of buf[0] (of mem[0] for memory) */
	bool eof;
};

/* The next line without its newline (and a '\r' before it): 1, 0 at the end, or PFS_EIO /
 * PFS_ELIMIT. */
static int next_line(struct lines *l, const char **s, size_t *n, uint64_t *off, struct pfs_err *err)
{
	for (;;) {
		const uint8_t *b = l->fd < 0 ? l->mem : l->buf;
		size_t end = l->fd < 0 ? l->mem_len : l->end;
		const uint8_t *nl =
		    end > l->start ? memchr(b + l->start, '\n', end - l->start) : NULL;
		if (nl || (l->fd < 0 || l->eof)) {
			size_t len = nl ? (size_t)(nl - (b + l->start)) : end - l->start;
			if (!nl && !len)
				return 0;
			if (len > PFS_CALLGRIND_MAX_LINE)
				return pfs_err_set(
				    err, PFS_ELIMIT, l->base + l->start,
				    "callgrind: a line longer than %zu bytes at offset "
				    "%llu",
				    PFS_CALLGRIND_MAX_LINE,
				    (unsigned long long)(l->base + l->start));
			*s = (const char *)b + l->start;
			*off = l->base + l->start;
			l->start += len + (nl != NULL);
			if (len && (*s)[len - 1] == '\r')
				len--;
			*n = len;
			return 1;
		}
		if (end - l->start > PFS_CALLGRIND_MAX_LINE)
			return pfs_err_set(err, PFS_ELIMIT, l->base + l->start,
					   "callgrind: a line longer than %zu bytes at offset %llu",
					   PFS_CALLGRIND_MAX_LINE,
					   (unsigned long long)(l->base + l->start));
		/* keep the partial line, read more behind it */
		if (l->end > l->start)
			memmove(l->buf, l->buf + l->start, l->end - l->start);
		l->base += l->start;
		l->end -= l->start;
		l->start = 0;
		if (l->cap - l->end < READ_CHUNK) {
			l->cap = l->end + READ_CHUNK;
			l->buf = pfs_xrealloc(l->buf, l->cap);
		}
		ssize_t k = read(l->fd, l->buf + l->end, l->cap - l->end);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return pfs_err_sys(err, "cannot read the callgrind file");
		if (k == 0)
			l->eof = true;
		l->end += (size_t)k;
	}
}

/* Name compression: one map from id to string per kind of name. */
enum { NM_OB = 0, NM_FL, NM_FN, NM_KINDS };

struct nslot {
	uint64_t id;
	uint32_t str; /* 0: empty */
};

struct names {
	struct nslot *v;
	size_t n, cap;
};

static struct nslot *names_find(struct names *m, uint64_t id, bool add)
{
	if (add && 2 * (m->n + 1) > m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 256;
		struct nslot *nv = pfs_xcalloc(ncap, sizeof(*nv));
		for (size_t i = 0; i < m->cap; i++) {
			if (!m->v[i].str)
				continue;
			size_t j = (size_t)(m->v[i].id * 0x9e3779b97f4a7c15ull >> 40) & (ncap - 1);
			while (nv[j].str)
				j = (j + 1) & (ncap - 1);
			nv[j] = m->v[i];
		}
		free(m->v);
		m->v = nv;
		m->cap = ncap;
	}
	if (!m->cap)
		return NULL;
	size_t j = (size_t)(id * 0x9e3779b97f4a7c15ull >> 40) & (m->cap - 1);
	for (; m->v[j].str; j = (j + 1) & (m->cap - 1))
		if (m->v[j].id == id)
			return &m->v[j];
	if (!add)
		return NULL;
	m->v[j].id = id;
	m->n++;
	return &m->v[j];
}

struct cgr {
	struct pfs_profile *prof;
	struct pfs_callgraph *g;
	struct pfs_diag *diag;
	struct pfs_err *err;
	struct names names[NM_KINDS];
	uint32_t ob, fl, file; /* current object, fl= file, cost lines' file (fi=/fe=) */
	uint32_t fn;	       /* current function, UINT32_MAX: none yet */
	uint32_t cob, cfi;     /* the next call target's object and file, 0: the current ones */
	uint32_t callee;       /* the function the next calls= line calls, UINT32_MAX: none */
	uint64_t call_count;   /* of the calls= line whose cost line comes next */
	bool in_call;
	uint8_t kind; /* the frames' kind */
	int npos;
	uint64_t pos[MAX_POS];
	bool body; /* a body line was read in this part */
	bool have_events;
	uint32_t n_ev;
	uint64_t *self_sum; /* per event: every cost line outside calls, exactly */
	uint64_t *costs;    /* the current line's */
	double *summary, *totals;
	bool *is_self; /* per function: it has cost lines or calls of its own (an fn= block) */
	size_t is_self_cap;
	char *early[MAX_EVENTS]; /* event: lines read before the events: line */
	uint32_t n_early;
	uint64_t lineno, off;
	int rc;
};

static int lfail(struct cgr *r, int code, const char *fmt, ...) PFS_PRINTF(3, 4);
static int lfail(struct cgr *r, int code, const char *fmt, ...)
{
	char what[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return r->rc = pfs_err_set(r->err, code, r->off, "callgrind: line %llu: %s at offset %llu",
				   (unsigned long long)r->lineno, what, (unsigned long long)r->off);
}

static int peek(const struct pfs_cursor *c)
{
	return c->p < c->end ? *c->p : -1;
}

static void skip_space(struct pfs_cursor *c)
{
	while (peek(c) == ' ' || peek(c) == '\t')
		pfs_cursor_u8(c);
}

/* A Number of the grammar: decimal, or hex after "0x". false when none or beyond 64 bits. */
static bool number(struct pfs_cursor *c, uint64_t *out)
{
	uint64_t v = 0;
	int base = 10, digits = 0;
	if (peek(c) == '0' && c->p + 1 < c->end && (c->p[1] == 'x' || c->p[1] == 'X')) {
		pfs_cursor_skip(c, 2);
		base = 16;
	}
	for (;;) {
		int ch = peek(c), d;
		if (ch >= '0' && ch <= '9')
			d = ch - '0';
		else if (base == 16 && ch >= 'a' && ch <= 'f')
			d = ch - 'a' + 10;
		else if (base == 16 && ch >= 'A' && ch <= 'F')
			d = ch - 'A' + 10;
		else
			break;
		if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return false;
		v = v * (uint64_t)base + (uint64_t)d;
		digits++;
		pfs_cursor_u8(c);
	}
	*out = v;
	return digits > 0;
}

static bool at_end(struct pfs_cursor *c)
{
	skip_space(c);
	return c->p == c->end;
}

/* The next word (up to white space or the end): its start, and its length in *k. */
static const char *word(struct pfs_cursor *c, size_t *k)
{
	const char *w = (const char *)c->p;
	*k = 0;
	while (c->p < c->end && peek(c) != ' ' && peek(c) != '\t') {
		pfs_cursor_u8(c);
		(*k)++;
	}
	return w;
}

/*
 * A SubPositionList: npos subpositions, absolute or relative to prev ("+N", "-N", "*"), each
 * followed by white space or the end. update: prev gets the new ones (cost lines; a call's
 * target position is of another function and is not a base for the next line).
 */
static int positions(struct cgr *r, struct pfs_cursor *c, bool update)
{
	uint64_t p[MAX_POS];
	for (int i = 0; i < r->npos; i++) {
		int ch = peek(c);
		uint64_t v = 0;
		skip_space(c);
		ch = peek(c);
		if (ch == '*') {
			pfs_cursor_u8(c);
			p[i] = r->pos[i];
		} else if (ch == '+' || ch == '-') {
			pfs_cursor_u8(c);
			if (!number(c, &v))
				return lfail(r, PFS_EFORMAT,
					     "a relative position without a number");
			if (ch == '-' && v > r->pos[i])
				return lfail(r, PFS_EFORMAT, "a relative position below 0");
			p[i] = ch == '+' ? r->pos[i] + v : r->pos[i] - v;
		} else if (!number(c, &p[i])) {
			return lfail(r, PFS_EFORMAT,
				     "a line that is neither a cost line nor a "
				     "specification");
		}
		if (c->p != c->end && peek(c) != ' ' && peek(c) != '\t')
			return lfail(r, PFS_EFORMAT, "a position followed by '%c'", peek(c));
	}
	if (update)
		memcpy(r->pos, p, sizeof(p[0]) * (size_t)r->npos);
	return 0;
}

/* The costs after the positions into r->costs (missing ones 0). */
static int costs(struct cgr *r, struct pfs_cursor *c)
{
	memset(r->costs, 0, r->n_ev * sizeof(*r->costs));
	for (uint32_t i = 0; !at_end(c); i++) {
		uint64_t v;
		if (i >= r->n_ev)
			return lfail(r, PFS_EFORMAT, "more costs than the %u events", r->n_ev);
		if (!number(c, &v) || (c->p != c->end && peek(c) != ' ' && peek(c) != '\t'))
			return lfail(r, PFS_EFORMAT, "a cost that is not a number");
		if ((double)v >= PFS_CG_EXACT_MAX)
			return lfail(r, PFS_ELIMIT, "a cost of %" PRIu64 " (2^53 or more)", v);
		r->costs[i] = v;
	}
	return 0;
}

/* Adds v to *sum, or fails when the sum reaches 2^53: doubles would round it. */
static int add_exact(struct cgr *r, double *sum, uint64_t v)
{
	if (*sum + (double)v >= PFS_CG_EXACT_MAX)
		return lfail(r, PFS_ELIMIT, "costs summing to 2^53 or more");
	*sum += (double)v;
	return 0;
}

static void mark_self(struct cgr *r, uint32_t fn)
{
	PFS_GROW_ZEROED(r->is_self, r->is_self_cap, fn);
	r->is_self[fn] = true;
}

static int cost_line(struct cgr *r, struct pfs_cursor *c)
{
	int rc;
	if (!r->have_events)
		return lfail(r, PFS_EFORMAT, "a cost line before the events: line");
	if (r->fn == UINT32_MAX)
		return lfail(r, PFS_EFORMAT, "a cost line before any fn= line");
	if ((rc = positions(r, c, true)) || (rc = costs(r, c)))
		return rc;
	if (r->in_call) {
		uint32_t e = pfs_cg_edge(r->g, r->fn, r->callee);
		struct pfs_cg_edge *ed = pfs_cg_edge_at(r->g, e);
		double *incl = pfs_cg_eincl(r->g, e);
		uint64_t had = ed->calls == PFS_CG_UNKNOWN ? 0 : ed->calls;
		if ((double)had + (double)r->call_count >= PFS_CG_EXACT_MAX)
			return lfail(r, PFS_ELIMIT, "calls summing to 2^53 or more");
		ed->calls = had + r->call_count;
		for (uint32_t i = 0; i < r->n_ev; i++)
			if ((rc = add_exact(r, &incl[i], r->costs[i])))
				return rc;
		r->in_call = false;
		return 0;
	}
	double *self = pfs_cg_fself(r->g, r->fn);
	for (uint32_t i = 0; i < r->n_ev; i++) {
		if ((rc = add_exact(r, &self[i], r->costs[i])))
			return rc;
		r->self_sum[i] += r->costs[i]; /* below 2^53 * functions: cannot wrap */
	}
	return 0;
}

/*
 * A PositionName: "(id) name" defines id, "(id)" names it again, anything else is the name
 * itself. Returns the profile string (0 for an empty name), or UINT32_MAX after lfail.
 */
static uint32_t name_of(struct cgr *r, int kind, const char *s, size_t n)
{
	struct pfs_cursor c = pfs_cursor_make(s, n, false);
	uint64_t id;
	skip_space(&c);
	if (peek(&c) == '(' && c.p + 1 < c.end && c.p[1] >= '0' && c.p[1] <= '9') {
		pfs_cursor_u8(&c);
		if (!number(&c, &id) || pfs_cursor_u8(&c) != ')') {
			lfail(r, PFS_EFORMAT, "a compressed name without its ')'");
			return UINT32_MAX;
		}
		skip_space(&c);
		if (c.p == c.end) {
			struct nslot *sl = names_find(&r->names[kind], id, false);
			if (!sl) {
				lfail(r, PFS_EFORMAT,
				      "name (%" PRIu64 ") used before it is defined", id);
				return UINT32_MAX;
			}
			return sl->str;
		}
		uint32_t str = pfs_profile_str(r->prof, (const char *)c.p, pfs_cursor_left(&c));
		names_find(&r->names[kind], id, true)->str = str;
		return str;
	}
	return pfs_profile_str(r->prof, (const char *)c.p, pfs_cursor_left(&c));
}

static uint32_t func_for(struct cgr *r, uint32_t name, uint32_t file, uint32_t ob)
{
	struct pfs_frame f = {.name = name, .file = file, .dso = ob, .kind = r->kind};
	return pfs_cg_func(r->g, pfs_profile_frame(r->prof, &f));
}

/* Body lines "key=value". */
static int spec_line(struct cgr *r, const char *key, size_t kn, const char *v, size_t vn)
{
#define IS(k) (kn == sizeof(k) - 1 && !memcmp(key, k, kn))
	uint32_t s;
	if (IS("calls") || IS("jump") || IS("jcnd")) {
		struct pfs_cursor c = pfs_cursor_make(v, vn, false);
		uint64_t count, jumps;
		int rc;
		skip_space(&c);
		if (!number(&c, &count))
			return lfail(r, PFS_EFORMAT, "%.*s= without a count", (int)kn, key);
		if (IS("jcnd")) {
			/* "exe-count jump-count", or KCachegrind's "jump-count/exe-count" */
			if (peek(&c) == '/')
				pfs_cursor_u8(&c);
			skip_space(&c);
			if (!number(&c, &jumps))
				return lfail(r, PFS_EFORMAT, "jcnd= without its jump count");
		}
		if ((rc = positions(r, &c, false)))
			return rc;
		if (!at_end(&c))
			return lfail(r, PFS_EFORMAT, "%.*s= followed by more than a position",
				     (int)kn, key);
		if (!IS("calls")) {
			pfs_diag_add(r->diag, PFS_NOTE, "jumps-ignored", r->off,
				     "jump= and jcnd= lines (--collect-jumps) are not kept");
			return 0;
		}
		if (r->fn == UINT32_MAX || r->callee == UINT32_MAX)
			return lfail(r, PFS_EFORMAT, "calls= without a %s before it",
				     r->fn == UINT32_MAX ? "fn=" : "cfn=");
		r->call_count = count;
		r->in_call = true;
		return 0;
	}
	int kind = IS("ob") || IS("cob")						     ? NM_OB
		   : IS("fn") || IS("cfn") || IS("jfn")					     ? NM_FN
		   : IS("fl") || IS("fi") || IS("fe") || IS("cfi") || IS("cfl") || IS("jfi") ? NM_FL
											     : -1;
	if (kind < 0) {
		pfs_diag_add(r->diag, PFS_NOTE, "unknown-line", r->off,
			     "a specification perfsight does not know (%.*s=): skipped",
			     (int)(kn < 20 ? kn : 20), key);
		return 0;
	}
	if ((s = name_of(r, kind, v, vn)) == UINT32_MAX)
		return r->rc;
	if (IS("ob")) {
		r->ob = s;
	} else if (IS("fl")) {
		r->fl = r->file = s;
	} else if (IS("fi") || IS("fe")) {
		r->file = s;
	} else if (IS("fn")) {
		r->fn = func_for(r, s, r->fl, r->ob);
		mark_self(r, r->fn);
	} else if (IS("cob")) {
		r->cob = s;
	} else if (IS("cfi") || IS("cfl")) {
		r->cfi = s;
	} else if (IS("cfn")) {
		/* the target's object and file default to the current ones */
		r->callee = func_for(r, s, r->cfi ? r->cfi : r->file, r->cob ? r->cob : r->ob);
		r->cfi = r->cob = 0;
	}
	return 0;
#undef IS
}

/* The costs of a summary: or totals: line. */
static int header_costs(struct cgr *r, const char *v, size_t vn, double **out)
{
	struct pfs_cursor c = pfs_cursor_make(v, vn, false);
	int rc;
	if (!r->have_events)
		return lfail(r, PFS_EFORMAT, "a summary before the events: line");
	if ((rc = costs(r, &c)))
		return rc;
	if (!*out)
		*out = pfs_xcalloc(r->n_ev, sizeof(**out));
	for (uint32_t i = 0; i < r->n_ev; i++)
		(*out)[i] = (double)r->costs[i];
	return 0;
}

static char *dup_value(const char *v, size_t vn)
{
	return pfs_xstrndup(v, vn);
}

static int event_line(struct cgr *r, const char *v, size_t vn);

static int events_line(struct cgr *r, const char *v, size_t vn)
{
	struct pfs_cursor c = pfs_cursor_make(v, vn, false);
	uint32_t n = 0;
	while (!at_end(&c)) {
		size_t k;
		const char *w = word(&c, &k);
		char name[128];
		snprintf(name, sizeof(name), "%.*s", (int)(k < 127 ? k : 127), w);
		if (r->have_events) {
			if (n >= r->n_ev || strcmp(pfs_cg_event_name(r->g, n), name))
				return lfail(r, PFS_EUNSUPP,
					     "a part with other events than the first (%s)", name);
		} else {
			if (n >= MAX_EVENTS)
				return lfail(r, PFS_ELIMIT, "more than %d events", MAX_EVENTS);
			pfs_cg_add_event(r->g, name, NULL);
		}
		n++;
	}
	if (!n)
		return lfail(r, PFS_EFORMAT, "an events: line without events");
	if (r->have_events && n != r->n_ev)
		return lfail(r, PFS_EUNSUPP, "a part with fewer events than the first");
	if (!r->have_events) {
		r->n_ev = n;
		r->self_sum = pfs_xcalloc(n, sizeof(*r->self_sum));
		r->costs = pfs_xcalloc(n, sizeof(*r->costs));
		r->have_events = true;
		for (uint32_t i = 0; i < r->n_early; i++)
			event_line(r, r->early[i], strlen(r->early[i]));
	}
	return 0;
}

/* Sets the long name of the event called name (name and desc: n and dn bytes), if it has none. */
static void describe(struct cgr *r, const char *name, size_t n, const char *desc, size_t dn)
{
	char key[128], *d;
	snprintf(key, sizeof(key), "%.*s", (int)(n < 127 ? n : 127), name);
	int ev = pfs_cg_event_find(r->g, key);
	if (ev < 0 || pfs_cg_event_desc(r->g, (uint32_t)ev) || !dn)
		return;
	d = dup_value(desc, dn);
	pfs_cg_set_event_desc(r->g, (uint32_t)ev, d);
	free(d);
}

/*
 * "event: NAME : long name" or "event: NAME = formula". A long name may come before the
 * events: line (pprofile writes it so): those wait in r->early until the events are known.
 */
static int event_line(struct cgr *r, const char *v, size_t vn)
{
	const char *colon = memchr(v, ':', vn), *eq = memchr(v, '=', vn);
	if (eq && (!colon || eq < colon)) {
		pfs_diag_add(r->diag, PFS_NOTE, "derived-event", r->off,
			     "a derived event (event: NAME = formula) is not computed");
		return 0;
	}
	if (!colon)
		return 0;
	size_t k = (size_t)(colon - v);
	while (k && (v[k - 1] == ' ' || v[k - 1] == '\t'))
		k--;
	const char *d = colon + 1, *end = v + vn;
	while (d < end && (*d == ' ' || *d == '\t'))
		d++;
	if (r->have_events) {
		describe(r, v, k, d, (size_t)(end - d));
	} else if (r->n_early < MAX_EVENTS) {
		r->early[r->n_early++] = dup_value(v, vn);
	}
	return 0;
}

static int header_line(struct cgr *r, const char *key, size_t kn, const char *v, size_t vn)
{
#define IS(k) (kn == sizeof(k) - 1 && !memcmp(key, k, kn))
	struct pfs_cg_info *in = pfs_cg_info_mut(r->g);
	if (IS("totals"))
		return header_costs(r, v, vn, &r->totals);
	if (IS("summary"))
		return header_costs(r, v, vn, &r->summary);
	/* any other header line after body lines starts a new part */
	if (r->body) {
		r->body = false;
		in->parts++;
		r->fn = r->callee = UINT32_MAX;
		r->in_call = false;
		memset(r->pos, 0, sizeof(r->pos));
	}
	if (IS("version")) {
		struct pfs_cursor c = pfs_cursor_make(v, vn, false);
		uint64_t ver;
		if (!number(&c, &ver))
			return lfail(r, PFS_EFORMAT, "a version that is not a number");
		if (ver > 1)
			return lfail(r, PFS_EUNSUPP, "format version %.*s (perfsight reads 1)",
				     (int)(vn < 20 ? vn : 20), v);
		if (!in->version)
			in->version = dup_value(v, vn);
	} else if (IS("creator")) {
		if (!in->creator)
			in->creator = dup_value(v, vn);
	} else if (IS("cmd")) {
		if (!in->cmd)
			in->cmd = dup_value(v, vn);
	} else if (IS("pid")) {
		struct pfs_cursor c = pfs_cursor_make(v, vn, false);
		uint64_t pid;
		if (number(&c, &pid) && pid <= INT64_MAX && in->pid < 0)
			in->pid = (int64_t)pid;
	} else if (IS("positions")) {
		struct pfs_cursor c = pfs_cursor_make(v, vn, false);
		int n = 0;
		while (!at_end(&c)) {
			size_t k;
			const char *w = word(&c, &k);
			if (!((k == 5 && !memcmp(w, "instr", 5)) ||
			      (k == 4 && !memcmp(w, "line", 4)) ||
			      (k == 2 && !memcmp(w, "bb", 2)) || (k == 4 && !memcmp(w, "addr", 4))))
				return lfail(r, PFS_EFORMAT, "an unknown position '%.*s'",
					     (int)(k < 20 ? k : 20), w);
			if (++n > MAX_POS)
				return lfail(r, PFS_EFORMAT, "more than %d positions", MAX_POS);
		}
		if (!n)
			return lfail(r, PFS_EFORMAT, "a positions: line without positions");
		r->npos = n;
		free(in->positions);
		in->positions = dup_value(v, vn);
	} else if (IS("events")) {
		return events_line(r, v, vn);
	} else if (IS("event")) {
		return event_line(r, v, vn);
	} else if (!(IS("part") || IS("thread") || IS("desc"))) {
		pfs_diag_add(r->diag, PFS_NOTE, "unknown-line", r->off,
			     "a header line perfsight does not know (%.*s:): skipped",
			     (int)(kn < 20 ? kn : 20), key);
	}
	return 0;
#undef IS
}

static int one_line(struct cgr *r, const char *s, size_t n)
{
	size_t i = 0;
	if (!n || s[0] == '#')
		return 0;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i == n)
		return 0;
	if (r->in_call) {
		/* the line after calls= is the call's cost line, whatever it looks like */
		struct pfs_cursor c = pfs_cursor_make(s, n, false);
		r->body = true;
		return cost_line(r, &c);
	}
	if ((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')) {
		size_t k = 0;
		while (k < n && s[k] != ':' && s[k] != '=' && s[k] != ' ')
			k++;
		if (k < n && s[k] == '=') {
			/* functions are made by these: the cost columns must be known first */
			if (!r->have_events)
				return lfail(r, PFS_EFORMAT, "a %.*s= line before the events: line",
					     (int)(k < 20 ? k : 20), s);
			r->body = true;
			return spec_line(r, s, k, s + k + 1, n - k - 1);
		}
		if (k < n && s[k] == ':') {
			size_t v = k + 1;
			while (v < n && (s[v] == ' ' || s[v] == '\t'))
				v++;
			return header_line(r, s, k, s + v, n - v);
		}
		return lfail(r, PFS_EFORMAT,
			     "a line that is neither a cost line nor a "
			     "specification");
	}
	struct pfs_cursor c = pfs_cursor_make(s, n, false);
	r->body = true;
	return cost_line(r, &c);
}

/* After the last line: counts and inclusive costs, and what the totals say. */
static void finish(struct cgr *r)
{
	struct pfs_callgraph *g = r->g;
	size_t nf = pfs_cg_n_funcs(g), ne = pfs_cg_n_edges(g);
	bool *called = pfs_xcalloc(nf ? nf : 1, sizeof(*called));
	for (uint32_t f = 0; f < nf; f++)
		pfs_cg_func_at(g, f)->listed = f < r->is_self_cap && r->is_self[f];
	/* a called function: what its callers' calls cost (calls to itself are inside those) */
	for (uint32_t e = 0; e < ne; e++) {
		struct pfs_cg_edge *ed = pfs_cg_edge_at(g, e);
		struct pfs_cg_func *callee = pfs_cg_func_at(g, ed->callee);
		callee->calls = (callee->calls == PFS_CG_UNKNOWN ? 0 : callee->calls) + ed->calls;
		if (ed->caller == ed->callee)
			continue;
		callee->prim_calls =
		    (callee->prim_calls == PFS_CG_UNKNOWN ? 0 : callee->prim_calls) + ed->calls;
		called[ed->callee] = true;
		for (uint32_t i = 0; i < r->n_ev; i++)
			pfs_cg_fincl(g, ed->callee)[i] += pfs_cg_eincl(g, e)[i];
	}
	/* one nothing else calls: its own cost and its calls out */
	for (uint32_t f = 0; f < nf; f++)
		if (!called[f])
			memcpy(pfs_cg_fincl(g, f), pfs_cg_fself(g, f), r->n_ev * sizeof(double));
	for (uint32_t e = 0; e < ne; e++) {
		struct pfs_cg_edge *ed = pfs_cg_edge_at(g, e);
		if (ed->caller != ed->callee && !called[ed->caller])
			for (uint32_t i = 0; i < r->n_ev; i++)
				pfs_cg_fincl(g, ed->caller)[i] += pfs_cg_eincl(g, e)[i];
	}
	free(called);
	struct pfs_cg_info *in = pfs_cg_info_mut(g);
	for (uint32_t i = 0; i < r->n_ev; i++) {
		double sum = (double)r->self_sum[i];
		if (r->totals && r->totals[i] != sum)
			pfs_diag_add(r->diag, PFS_WARN, "totals-mismatch", PFS_NO_OFF,
				     "the totals: line says %.0f %s, the cost lines add up to %.0f",
				     r->totals[i], pfs_cg_event_name(g, i), sum);
		if (r->summary && r->summary[i] < sum)
			pfs_diag_add(
			    r->diag, PFS_WARN, "totals-mismatch", PFS_NO_OFF,
			    "the summary: line says %.0f %s, less than the cost lines' %.0f",
			    r->summary[i], pfs_cg_event_name(g, i), sum);
		in->summary[i] = r->summary ? r->summary[i] : r->totals ? r->totals[i] : NAN;
	}
	if (!r->totals && in->creator && !strncmp(in->creator, "callgrind", 9))
		pfs_diag_add(
		    r->diag, PFS_WARN, "no-totals", PFS_NO_OFF,
		    "no totals: line, which callgrind writes last: the file may be cut short "
		    "(its costs add up to %.0f %s%s%.0f)",
		    (double)r->self_sum[0], pfs_cg_event_name(g, 0),
		    r->summary ? " of the summary's " : "", r->summary ? r->summary[0] : 0.0);
}

static int run(struct lines *l, struct pfs_profile *prof, struct pfs_callgraph **out,
	       struct pfs_diag *diag, struct pfs_err *err)
{
	struct cgr r = {.prof = prof,
			.diag = diag,
			.err = err,
			.fn = UINT32_MAX,
			.callee = UINT32_MAX,
			.npos = 1,
			.kind = PFS_FK_NATIVE};
	const char *s = NULL;
	size_t n = 0;
	uint64_t off = 0;
	int rc;
	*out = NULL;
	r.g = pfs_cg_new(prof, PFS_CG_CALLGRIND);
	pfs_cg_info_mut(r.g)->parts = 1;
	while ((rc = next_line(l, &s, &n, &off, err)) > 0) {
		r.lineno++;
		r.off = off;
		/* pprofile profiles Python: its functions are Python functions */
		if (!r.body && n > 8 && !memcmp(s, "creator:", 8) && memmem(s, n, "pprofile", 8))
			r.kind = PFS_FK_PYINSTRUMENT;
		if ((rc = one_line(&r, s, n)) < 0)
			break;
	}
	if (rc == 0 && r.in_call)
		rc = lfail(&r, PFS_EFORMAT, "the file ends after a calls= line, without its cost");
	if (rc == 0 && !r.have_events) {
		uint64_t end = l->base + (l->fd < 0 ? l->mem_len : l->end);
		rc = pfs_err_set(
		    err, PFS_EFORMAT, end,
		    "callgrind: the file ends at offset %llu without an events: line (the "
		    "one header line it must have)",
		    (unsigned long long)end);
	}
	if (rc == 0) {
		struct pfs_cg_info *in = pfs_cg_info_mut(r.g);
		finish(&r);
		in->size = l->base + (l->fd < 0 ? l->mem_len : l->end);
		pfs_cg_finish(r.g);
		*out = r.g;
		r.g = NULL;
	}
	pfs_cg_free(r.g);
	for (int k = 0; k < NM_KINDS; k++)
		free(r.names[k].v);
	free(r.self_sum);
	free(r.costs);
	free(r.summary);
	free(r.totals);
	free(r.is_self);
	for (uint32_t i = 0; i < r.n_early; i++)
		free(r.early[i]);
	return rc < 0 ? rc : 0;
}

int pfs_callgrind_parse(const void *buf, size_t len, struct pfs_profile *prof,
			struct pfs_callgraph **out, struct pfs_diag *diag, struct pfs_err *err)
{
	struct lines l = {.fd = -1, .mem = buf, .mem_len = len};
	return run(&l, prof, out, diag, err);
}

int pfs_callgrind_load(const char *path, struct pfs_profile *prof, struct pfs_callgraph **out,
		       struct pfs_diag *diag, struct pfs_err *err)
{
	struct lines l = {.fd = open(path, O_RDONLY | O_CLOEXEC)};
	int rc;
	*out = NULL;
	if (l.fd < 0)
		return pfs_err_sys(err, "cannot open %s", path);
	rc = run(&l, prof, out, diag, err);
	free(l.buf);
	close(l.fd);
	return rc;
}

static bool starts(const char *s, size_t n, const char *pre)
{
	size_t k = strlen(pre);
	return n >= k && !memcmp(s, pre, k);
}

bool pfs_callgrind_sniff(const void *head, size_t n)
{
	static const char *const keys[] = {
	    "version:", "creator:", "events:", "positions:", "cmd:",  "pid:",
	    "desc:",	"part:",    "thread:", "summary:",   "event:"};
	const char *s = head;
	if (starts(s, n, "# callgrind format"))
		return true;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (starts(s, n, keys[i]))
			return true;
	return false;
}

/* The writer. */

/* A name once as "(id) name", then as "(id)": ids are the profile's string ids. */
static void put_name(FILE *f, const char *key, uint32_t str, const struct pfs_profile *p,
		     uint8_t *seen)
{
	size_t len;
	const char *s = pfs_profile_strget(p, str, &len);
	fprintf(f, "%s=(%u)", key, str);
	if (!seen[str]) {
		seen[str] = 1;
		fputc(' ', f);
		/* a name cannot hold a newline in this format */
		for (size_t i = 0; i < len; i++)
			fputc(s[i] == '\n' || s[i] == '\r' ? ' ' : s[i], f);
	}
	fputc('\n', f);
}

/* The costs of function fn, or of edge e when fn is UINT32_MAX, as integers. */
/* A file name, "???" (valgrind's word) when there is none. */
static void put_file(FILE *f, const char *key, uint32_t str, const struct pfs_profile *p,
		     uint8_t *seen)
{
	if (str)
		put_name(f, key, str, p, seen);
	else
		fprintf(f, "%s=???\n", key);
}

static void put_costs(FILE *f, const struct pfs_callgraph *g, uint32_t fn, uint32_t e)
{
	bool seconds = pfs_cg_seconds(g);
	for (uint32_t i = 0; i < pfs_cg_n_events(g); i++) {
		double v = fn != UINT32_MAX ? pfs_cg_self(g, fn, i) : pfs_cg_edge_incl(g, e, i);
		double x = seconds ? v * 1e9 : v;
		fprintf(f, " %.0f", isfinite(x) && x > 0 ? nearbyint(x) : 0.0);
	}
	fputc('\n', f);
}

int pfs_callgrind_write(const struct pfs_callgraph *g, FILE *out, struct pfs_err *err)
{
	const struct pfs_profile *p = pfs_cg_profile(g);
	const struct pfs_cg_info *in = pfs_cg_info(g);
	uint32_t nev = pfs_cg_n_events(g);
	/* one flag per string and name kind: files and functions share the profile's ids */
	size_t ns = pfs_profile_n_strs(p) + 1;
	uint8_t *seen = pfs_xcalloc(ns * 3, 1);
	fprintf(out, "# callgrind format\nversion: 1\ncreator: perfsight (from %s)\n",
		pfs_cg_format_name(pfs_cg_format(g)));
	if (in->cmd)
		fprintf(out, "cmd: %s\n", in->cmd);
	fputs("positions: line\n", out);
	if (pfs_cg_seconds(g)) {
		fputs("event: ns : nanoseconds (pstats time, rounded)\nevents: ns\n", out);
	} else {
		for (uint32_t i = 0; i < nev; i++)
			if (pfs_cg_event_desc(g, i))
				fprintf(out, "event: %s : %s\n", pfs_cg_event_name(g, i),
					pfs_cg_event_desc(g, i));
		fputs("events:", out);
		for (uint32_t i = 0; i < nev; i++)
			fprintf(out, " %s", pfs_cg_event_name(g, i));
		fputc('\n', out);
	}
	for (uint32_t f = 0; f < pfs_cg_n_funcs(g); f++) {
		const struct pfs_frame *fr = pfs_profile_frameget(p, pfs_cg_func_get(g, f)->frame);
		size_t n;
		const uint32_t *outs = pfs_cg_callees(g, f, &n);
		fputc('\n', out);
		if (fr->dso)
			put_name(out, "ob", fr->dso, p, seen);
		put_file(out, "fl", fr->file, p, seen + ns);
		put_name(out, "fn", fr->name, p, seen + 2 * ns);
		fprintf(out, "%u", fr->line);
		put_costs(out, g, f, 0);
		for (size_t i = 0; i < n; i++) {
			const struct pfs_cg_edge *e = pfs_cg_edge_get(g, outs[i]);
			const struct pfs_frame *to =
			    pfs_profile_frameget(p, pfs_cg_func_get(g, e->callee)->frame);
			if (to->dso)
				put_name(out, "cob", to->dso, p, seen);
			put_file(out, "cfi", to->file, p, seen + ns);
			put_name(out, "cfn", to->name, p, seen + 2 * ns);
			fprintf(out, "calls=%" PRIu64 " %u\n%u",
				e->calls == PFS_CG_UNKNOWN ? 0 : e->calls, to->line, fr->line);
			put_costs(out, g, UINT32_MAX, outs[i]);
		}
	}
	free(seen);
	if (fflush(out) || ferror(out))
		return pfs_err_sys(err, "cannot write the callgrind file");
	return 0;
}
