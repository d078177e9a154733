/*
 * pstats: marshal objects, then the stats dict they hold. See pstats.h.
 *
 * Marshal (CPython's Python/marshal.c; the same for 3.8 to 3.14 but for slices, added in
 * version 5 by 3.14): one type byte per object, its high bit FLAG_REF when a later TYPE_REF
 * may point back at it. Integers are little-endian, lengths signed 32-bit. References number
 * the flagged objects in the order their type byte was read: a container's number is taken
 * before its items are read (so an item may point back at the tuple it is in), except a
 * frozenset's and a code object's, which exist only once complete (a reference to one still
 * being read is an error, as it is in CPython).
 *
 *   type                      version  body
 *   '0' NULL                  all      (ends a dict)
 *   'N' 'T' 'F' '.' 'S'       all      None, True, False, Ellipsis, StopIteration
 *   'i' INT                   all      int32
 *   'I' INT64                 <= 2.x   int64 (no longer written, still read)
 *   'l' LONG                  all      int32 n, |n| digits of 15 bits (uint16 each), sign of n
 *   'f' FLOAT / 'x' COMPLEX   0, 1     one (two) uint8 length + decimal text
 *   'g' / 'y' BINARY          >= 2     one (two) IEEE 754 doubles
 *   's' bytes                 all      int32 length + bytes
 *   'u' str, 't' interned     all      int32 length + UTF-8 (lone surrogates allowed)
 *   'a' 'A' ASCII (interned)  >= 4     int32 length + Latin-1 bytes
 *   'z' 'Z' short ASCII       >= 4     uint8 length + Latin-1 bytes
 *   '(' tuple, '[' list       all      int32 count + items
 *   ')' small tuple           >= 4     uint8 count + items
 *   '<' set, '>' frozenset    >= 2     int32 count + items
 *   '{' dict                  all      key, value pairs until NULL
 *   ':' slice                 >= 5     start, stop, step
 *   'r' REF                   >= 3     int32 index of a flagged object
 *   'c' code                  all      3.8-3.10: 6 int32, 8 objects, int32, 1 object;
 *                                      3.11-3.14: 5 int32, 8 objects, int32, 2 objects
 *
 * Code objects are not in what cProfile writes, but `python -m profile -o` (profile.py) of
 * 3.12 and 3.13 names its top-level call by the script's code object. The file does not say
 * which CPython wrote it: the first code object is read with the 3.11 layout and, if that does
 * not give a code object's types, again with the 3.8 one; the layout that fits is kept for
 * the rest of the file, and code objects inside a code object take their parent's, so no byte
 * is read more than twice. A code object names a function as
 * `<code object NAME, file "FILE", line N>` (Python's repr without the address).
 *
 * Objects go into one table of nodes; None, True, False, Ellipsis and StopIteration share five
 * fixed nodes, so every other node took at least two bytes of input, and each container lists
 * its items' node ids in a kids array (one id per item, items being at least one byte). That
 * is what bounds memory by the file's size and not by any count it holds.
 */
#include "pstats.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cursor.h"
#include "xalloc.h"

/* A dump nests five deep (dict, value tuple, callers dict, caller tuple, number); CPython's
 * own limit is 2000. Anything deeper than this is not a dump. */
#define MAX_DEPTH 64
#define FLAG_REF 0x80

enum mtype {
	M_NONE = 0,
	M_BOOL,
	M_ELLIPSIS,
	M_STOPITER,
	M_INT,	 /* fits int64: v.i */
	M_BIG,	 /* an int beyond int64: v.d approximates it */
	M_FLOAT, /* v.d */
	M_OTHER, /* complex, slice, set, frozenset: never part of a dump */
	M_STR,	 /* text: v.s, n bytes, enc says how */
	M_BYTES, /* bytes: v.s, n */
	M_TUPLE, /* tuple or list: n items at kids[v.k] */
	M_DICT,	 /* n pairs: 2n ids at kids[v.k] */
	M_CODE,	 /* a code object: its filename and name at kids[v.k], n its first line */
};

enum { ENC_UTF8 = 0, ENC_LATIN1 = 1 };

struct mnode {
	uint64_t off; /* offset of the type byte */
	union {
		int64_t i;
		double d;
		uint64_t s; /* offset of the bytes */
		uint64_t k; /* first index in kids */
	} v;
	uint32_t n;
	uint8_t type, enc;
};

/* The fixed nodes of the singletons. */
enum { N_NONE = 0, N_FALSE, N_TRUE, N_ELLIPSIS, N_STOPITER, N_FIXED };
#define NODE_NULL UINT32_MAX	  /* TYPE_NULL: ends a dict */
#define NODE_ERR (UINT32_MAX - 1) /* err is set */
#define REF_PENDING UINT32_MAX	  /* a frozenset or code object not read yet */

struct mp {
	const uint8_t *buf;
	size_t len;
	struct pfs_cursor c;
	struct mnode *nodes;
	size_t n_nodes, cap_nodes;
	uint32_t *kids;
	size_t n_kids, cap_kids;
	uint32_t *stack; /* items of the containers being read, innermost last */
	size_t n_stack, cap_stack;
	uint32_t *refs; /* reference index -> node */
	size_t n_refs, cap_refs;
	int depth;
	int code_layout; /* 311 or 38 once a code object was read; 0 before */
	int in_code;	 /* the layout of the code object being read, 0 outside one */
	int rc;		 /* the error's code, once one is set */
	int version;	 /* the lowest marshal version that writes every type seen */
	uint64_t ref_uses;
	struct pfs_err *err;
};

static uint64_t pos(const struct mp *m)
{
	return (uint64_t)(m->c.p - m->buf);
}

static int fail(struct pfs_err *err, int code, uint64_t off, const char *fmt, ...) PFS_PRINTF(4, 5);
static int fail(struct pfs_err *err, int code, uint64_t off, const char *fmt, ...)
{
	char what[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return pfs_err_set(err, code, off, "%s at offset %llu", what, (unsigned long long)off);
}

static uint32_t mfail(struct mp *m, int code, uint64_t off, const char *what)
{
	m->rc = fail(m->err, code, off, "marshal: %s", what);
	return NODE_ERR;
}

static void need_version(struct mp *m, int v)
{
	if (v > m->version)
		m->version = v;
}

static uint32_t new_node(struct mp *m, uint8_t type, uint64_t off)
{
	PFS_GROW(m->nodes, m->cap_nodes, m->n_nodes + 1);
	m->nodes[m->n_nodes] = (struct mnode){.off = off, .type = type};
	return (uint32_t)m->n_nodes++;
}

/* Takes the next reference number for node (REF_PENDING: to be filled when complete). */
static size_t add_ref(struct mp *m, uint32_t node)
{
	PFS_GROW(m->refs, m->cap_refs, m->n_refs + 1);
	m->refs[m->n_refs] = node;
	return m->n_refs++;
}

/* A length or count: int32, not negative, and (each unit taking at least unit bytes) not more
 * than the bytes left. */
static bool read_len(struct mp *m, uint64_t off, size_t unit, const char *what, uint32_t *out)
{
	int32_t n = (int32_t)pfs_cursor_u32(&m->c);
	char msg[160];
	if (m->c.bad) {
		mfail(m, PFS_EFORMAT, off, "truncated: the file ends in a length");
		return false;
	}
	if (n < 0) {
		snprintf(msg, sizeof(msg), "%s of negative size %d", what, (int)n);
		mfail(m, PFS_EFORMAT, off, msg);
		return false;
	}
	if ((uint64_t)n * unit > pfs_cursor_left(&m->c)) {
		snprintf(msg, sizeof(msg),
			 "truncated: %s of %u claims more than the %zu bytes left", what,
			 (unsigned)n, pfs_cursor_left(&m->c));
		mfail(m, PFS_EFORMAT, off, msg);
		return false;
	}
	*out = (uint32_t)n;
	return true;
}

static uint32_t r_object(struct mp *m);
static uint32_t r_code(struct mp *m, bool flag, uint64_t off);

/* Reads n items into the stack, then moves them to kids as node x's items. */
static uint32_t r_items(struct mp *m, uint32_t x, uint32_t n, uint8_t type)
{
	size_t base = m->n_stack;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t it = r_object(m);
		if (it == NODE_ERR)
			return NODE_ERR;
		if (it == NODE_NULL)
			return mfail(m, PFS_EFORMAT, m->nodes[x].off, "NULL object in a container");
		PFS_GROW(m->stack, m->cap_stack, m->n_stack + 1);
		m->stack[m->n_stack++] = it;
	}
	PFS_GROW(m->kids, m->cap_kids, m->n_kids + n);
	if (n) /* kids is still NULL before the first item of the file */
		memcpy(m->kids + m->n_kids, m->stack + base, n * sizeof(*m->kids));
	m->nodes[x].type = type;
	m->nodes[x].n = n;
	m->nodes[x].v.k = m->n_kids;
	m->n_kids += n;
	m->n_stack = base;
	return x;
}

static uint32_t r_dict(struct mp *m, uint32_t x)
{
	size_t base = m->n_stack;
	for (;;) {
		uint32_t k = r_object(m), v;
		if (k == NODE_ERR)
			return NODE_ERR;
		if (k == NODE_NULL)
			break;
		v = r_object(m);
		if (v == NODE_ERR)
			return NODE_ERR;
		if (v == NODE_NULL)
			return mfail(m, PFS_EFORMAT, m->nodes[x].off, "a dict key without a value");
		PFS_GROW(m->stack, m->cap_stack, m->n_stack + 2);
		m->stack[m->n_stack++] = k;
		m->stack[m->n_stack++] = v;
	}
	size_t n = m->n_stack - base;
	if (n / 2 > UINT32_MAX)
		return mfail(m, PFS_ELIMIT, m->nodes[x].off, "a dict of more than 2^32 items");
	PFS_GROW(m->kids, m->cap_kids, m->n_kids + n);
	if (n)
		memcpy(m->kids + m->n_kids, m->stack + base, n * sizeof(*m->kids));
	m->nodes[x].type = M_DICT;
	m->nodes[x].n = (uint32_t)(n / 2);
	m->nodes[x].v.k = m->n_kids;
	m->n_kids += n;
	m->n_stack = base;
	return x;
}

/* A decimal float of version 0 and 1: uint8 length, then text. */
static bool r_float_text(struct mp *m, uint64_t off, double *out)
{
	char buf[257], *end;
	uint8_t n = pfs_cursor_u8(&m->c);
	const uint8_t *p = pfs_cursor_bytes(&m->c, n);
	if (!p) {
		mfail(m, PFS_EFORMAT, off, "truncated: the file ends in a float");
		return false;
	}
	memcpy(buf, p, n);
	buf[n] = 0;
	errno = 0;
	*out = strtod(buf, &end);
	if (!n || end != buf + n) {
		mfail(m, PFS_EFORMAT, off, "a text float that is not a number");
		return false;
	}
	return true;
}

static double r_float_bin(struct mp *m)
{
	uint64_t u = pfs_cursor_u64(&m->c);
	double d;
	memcpy(&d, &u, sizeof(d));
	return d;
}

/* 'l': |n| digits of 15 bits, least significant first; the last must not be 0. */
static uint32_t r_long(struct mp *m, uint32_t x)
{
	uint64_t off = m->nodes[x].off;
	int32_t n = (int32_t)pfs_cursor_u32(&m->c);
	uint32_t size = n < 0 ? (uint32_t) - (int64_t)n : (uint32_t)n;
	uint64_t u = 0;
	bool big = false;
	double d = 0, scale = 1;
	if (m->c.bad)
		return mfail(m, PFS_EFORMAT, off, "truncated: the file ends in an int");
	if ((uint64_t)size * 2 > pfs_cursor_left(&m->c))
		return mfail(m, PFS_EFORMAT, off,
			     "truncated: an int with more digits than bytes left");
	for (uint32_t i = 0; i < size; i++) {
		uint16_t dig = pfs_cursor_u16(&m->c);
		if (dig >= 1u << 15)
			return mfail(m, PFS_EFORMAT, off, "an int digit out of range");
		if (i == size - 1 && dig == 0)
			return mfail(m, PFS_EFORMAT, off, "an unnormalized int");
		/* four digits hold 60 bits; a fifth below 8 keeps it within int64 */
		if (i < 4)
			u |= (uint64_t)dig << (15 * i);
		else if (i == 4 && dig < 8)
			u |= (uint64_t)dig << 60;
		else
			big = true;
		d += dig * scale;
		scale *= 32768.0;
	}
	if (!big) {
		m->nodes[x].type = M_INT;
		m->nodes[x].v.i = n < 0 ? -(int64_t)u : (int64_t)u;
	} else {
		m->nodes[x].type = M_BIG;
		m->nodes[x].v.d = n < 0 ? -d : d;
	}
	return x;
}

static uint32_t r_string(struct mp *m, uint32_t x, uint32_t n, uint8_t type, uint8_t enc)
{
	const uint8_t *p = pfs_cursor_bytes(&m->c, n);
	if (!p)
		return mfail(m, PFS_EFORMAT, m->nodes[x].off,
			     "truncated: the file ends in a string");
	m->nodes[x].type = type;
	m->nodes[x].enc = enc;
	m->nodes[x].n = n;
	m->nodes[x].v.s = (uint64_t)(p - m->buf);
	return x;
}

/* What a failed attempt at a code object rewinds to. */
struct mark {
	const uint8_t *p;
	size_t n_nodes, n_kids, n_stack, n_refs;
	int version;
	uint64_t ref_uses;
};

static struct mark mark(const struct mp *m)
{
	struct mark k = {m->c.p,    m->n_nodes, m->n_kids,  m->n_stack,
			 m->n_refs, m->version, m->ref_uses};
	return k;
}

static void rewind_to(struct mp *m, const struct mark *k)
{
	m->c.p = k->p;
	m->c.bad = false;
	m->n_nodes = k->n_nodes;
	m->n_kids = k->n_kids;
	m->n_stack = k->n_stack;
	m->n_refs = k->n_refs;
	m->version = k->version;
	m->ref_uses = k->ref_uses;
	m->rc = 0;
	pfs_err_clear(m->err);
}

/* Reads the next object and checks its type; NODE_ERR (err set) when it is not of type want. */
static uint32_t r_typed(struct mp *m, uint8_t want, uint64_t off)
{
	uint32_t x = r_object(m);
	if (x == NODE_ERR)
		return NODE_ERR;
	if (x == NODE_NULL || m->nodes[x].type != want)
		return mfail(m, PFS_EFORMAT, off, "a code object's field of another type");
	return x;
}

/*
 * The fields of a code object in one CPython's layout (311: 3.11 to 3.14; 38: 3.8 to 3.10):
 * node x gets its file name, name and first line.
 */
static uint32_t r_code_fields(struct mp *m, uint32_t x, int layout, uint64_t off)
{
	static const uint8_t f311[] = {M_BYTES, M_TUPLE, M_TUPLE, M_TUPLE,
				       M_BYTES, M_STR,	 M_STR,	  M_STR};
	static const uint8_t f38[] = {M_BYTES, M_TUPLE, M_TUPLE, M_TUPLE,
				      M_TUPLE, M_TUPLE, M_STR,	 M_STR};
	const uint8_t *fields = layout == 311 ? f311 : f38;
	uint32_t kid[8], line;
	int outer = m->in_code;
	pfs_cursor_skip(&m->c, layout == 311 ? 5 * 4 : 6 * 4);
	if (m->c.bad)
		return mfail(m, PFS_EFORMAT, off, "truncated: the file ends in a code object");
	m->in_code = layout;
	for (int i = 0; i < 8; i++)
		if ((kid[i] = r_typed(m, fields[i], off)) == NODE_ERR)
			return NODE_ERR;
	line = pfs_cursor_u32(&m->c);
	if (m->c.bad)
		return mfail(m, PFS_EFORMAT, off, "truncated: the file ends in a code object");
	for (int i = 0; i < (layout == 311 ? 2 : 1); i++)
		if (r_typed(m, M_BYTES, off) == NODE_ERR)
			return NODE_ERR;
	m->in_code = outer;
	PFS_GROW(m->kids, m->cap_kids, m->n_kids + 2);
	m->kids[m->n_kids] = kid[layout == 311 ? 5 : 6];
	m->kids[m->n_kids + 1] = kid[layout == 311 ? 6 : 7];
	m->nodes[x].type = M_CODE;
	m->nodes[x].n = line;
	m->nodes[x].v.k = m->n_kids;
	m->n_kids += 2;
	return x;
}

static uint32_t r_code(struct mp *m, bool flag, uint64_t off)
{
	int layout = m->in_code ? m->in_code : m->code_layout;
	struct mark k = mark(m);
	int outer = m->in_code;
	uint32_t x = new_node(m, M_OTHER, off);
	size_t ref = flag ? add_ref(m, REF_PENDING) : 0;
	uint32_t r = r_code_fields(m, x, layout ? layout : 311, off);
	if (r == NODE_ERR && !layout) {
		/* not the 3.11 layout: the 3.8 one, from the same place */
		rewind_to(m, &k);
		m->in_code = outer;
		x = new_node(m, M_OTHER, off);
		ref = flag ? add_ref(m, REF_PENDING) : 0;
		r = r_code_fields(m, x, 38, off);
		if (r == NODE_ERR)
			return mfail(m, PFS_EFORMAT, off,
				     "a code object in no layout of CPython 3.8 to 3.14");
		m->code_layout = 38;
	} else if (r != NODE_ERR && !layout) {
		m->code_layout = 311;
	}
	if (r != NODE_ERR && flag)
		m->refs[ref] = x;
	return r;
}

static uint32_t r_body(struct mp *m, int type, bool flag, uint64_t off)
{
	uint32_t x, n;
	size_t ref = 0;
	double d;
	switch (type) {
	case '0':
		return NODE_NULL;
	case 'N':
		return N_NONE;
	case 'F':
		return N_FALSE;
	case 'T':
		return N_TRUE;
	case '.':
		return N_ELLIPSIS;
	case 'S':
		return N_STOPITER;
	case 'r': {
		need_version(m, 3);
		int32_t i = (int32_t)pfs_cursor_u32(&m->c);
		if (m->c.bad)
			return mfail(m, PFS_EFORMAT, off,
				     "truncated: the file ends in a reference");
		if (i < 0 || (size_t)i >= m->n_refs || m->refs[i] == REF_PENDING) {
			char msg[120];
			snprintf(msg, sizeof(msg),
				 "invalid reference %d (%zu objects flagged so far)", (int)i,
				 m->n_refs);
			return mfail(m, PFS_EFORMAT, off, msg);
		}
		m->ref_uses++;
		return m->refs[i];
	}
	case 'c':
		return r_code(m, flag, off);
	}
	x = new_node(m, M_NONE, off);
	/* containers are numbered before their items, so items may refer back to them; a
	 * frozenset and a slice only once complete */
	if (flag && type != '>' && type != ':')
		add_ref(m, x);
	else if (flag)
		ref = add_ref(m, REF_PENDING);
	switch (type) {
	case 'i':
		m->nodes[x].type = M_INT;
		m->nodes[x].v.i = (int32_t)pfs_cursor_u32(&m->c);
		break;
	case 'I':
		m->nodes[x].type = M_INT;
		m->nodes[x].v.i = (int64_t)pfs_cursor_u64(&m->c);
		break;
	case 'l':
		x = r_long(m, x);
		break;
	case 'g':
		need_version(m, 2);
		m->nodes[x].type = M_FLOAT;
		m->nodes[x].v.d = r_float_bin(m);
		break;
	case 'f':
		if (!r_float_text(m, off, &d))
			return NODE_ERR;
		m->nodes[x].type = M_FLOAT;
		m->nodes[x].v.d = d;
		break;
	case 'y':
		need_version(m, 2);
		r_float_bin(m);
		r_float_bin(m);
		m->nodes[x].type = M_OTHER;
		break;
	case 'x':
		if (!r_float_text(m, off, &d) || !r_float_text(m, off, &d))
			return NODE_ERR;
		m->nodes[x].type = M_OTHER;
		break;
	case 's':
		if (!read_len(m, off, 1, "a bytes object", &n))
			return NODE_ERR;
		x = r_string(m, x, n, M_BYTES, ENC_LATIN1);
		break;
	case 't':
		need_version(m, 1);
		/* fall through */
	case 'u':
		if (!read_len(m, off, 1, "a string", &n))
			return NODE_ERR;
		x = r_string(m, x, n, M_STR, ENC_UTF8);
		break;
	case 'a':
	case 'A':
		need_version(m, 4);
		if (!read_len(m, off, 1, "a string", &n))
			return NODE_ERR;
		x = r_string(m, x, n, M_STR, ENC_LATIN1);
		break;
	case 'z':
	case 'Z':
		need_version(m, 4);
		x = r_string(m, x, pfs_cursor_u8(&m->c), M_STR, ENC_LATIN1);
		break;
	case ')':
		need_version(m, 4);
		n = pfs_cursor_u8(&m->c);
		x = m->c.bad ? mfail(m, PFS_EFORMAT, off, "truncated: the file ends in a tuple")
			     : r_items(m, x, n, M_TUPLE);
		break;
	case '(':
		if (!read_len(m, off, 1, "a tuple", &n))
			return NODE_ERR;
		x = r_items(m, x, n, M_TUPLE);
		break;
	case '[':
		if (!read_len(m, off, 1, "a list", &n))
			return NODE_ERR;
		x = r_items(m, x, n, M_TUPLE);
		break;
	case '<':
	case '>':
		need_version(m, 2);
		if (!read_len(m, off, 1, "a set", &n))
			return NODE_ERR;
		x = r_items(m, x, n, M_OTHER);
		break;
	case ':':
		need_version(m, 5);
		x = r_items(m, x, 3, M_OTHER);
		break;
	case '{':
		x = r_dict(m, x);
		break;
	default: {
		char msg[80];
		snprintf(msg, sizeof(msg), "unknown type code 0x%02x",
			 (unsigned)(type | flag * 0x80));
		return mfail(m, PFS_EFORMAT, off, msg);
	}
	}
	if (x == NODE_ERR)
		return NODE_ERR;
	if (m->c.bad)
		return mfail(m, PFS_EFORMAT, off, "truncated: the file ends inside an object");
	if (flag && (type == '>' || type == ':'))
		m->refs[ref] = x;
	return x;
}

static uint32_t r_object(struct mp *m)
{
	uint64_t off = pos(m);
	uint8_t code = pfs_cursor_u8(&m->c);
	uint32_t x;
	if (m->c.bad)
		return mfail(m, PFS_EFORMAT, off,
			     "truncated: the file ends where an object should be");
	if (++m->depth > MAX_DEPTH) {
		char msg[80];
		snprintf(msg, sizeof(msg), "objects nested deeper than %d levels", MAX_DEPTH);
		return mfail(m, PFS_ELIMIT, off, msg);
	}
	if (code & FLAG_REF)
		need_version(m, 3);
	x = r_body(m, code & ~FLAG_REF, (code & FLAG_REF) != 0, off);
	m->depth--;
	return x;
}

/* The stats dict: a second pass over the nodes. */
struct rd {
	struct mp *m;
	struct pfs_profile *prof;
	struct pfs_callgraph *g;
	struct pfs_diag *diag;
	struct pfs_err *err;
	char *txt; /* a string converted to UTF-8 */
	size_t txt_cap;
	uint64_t bad_utf8, bad_off;
	uint32_t *last; /* function -> the index + 1 of the dict pair that gives its stats */
	size_t last_cap;
	uint64_t at; /* offset of the entry being read: where an error at a shared None is */
	int rc;	     /* the error's code, once one is set */
};

static const struct mnode *node(const struct rd *r, uint32_t x)
{
	return &r->m->nodes[x];
}

static const char *type_name(const struct mnode *n)
{
	static const char *const names[] = {"None",  "bool",  "Ellipsis", "StopIteration", "int",
					    "int",   "float", "object",	  "str",	   "bytes",
					    "tuple", "dict",  "code"};
	return names[n->type];
}

static int rfail(struct rd *r, uint32_t x, const char *fmt, ...) PFS_PRINTF(3, 4);
static int rfail(struct rd *r, uint32_t x, const char *fmt, ...)
{
	char what[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	uint64_t off = node(r, x)->off != PFS_NO_OFF ? node(r, x)->off : r->at;
	return r->rc = fail(r->err, PFS_EFORMAT, off, "not a pstats dump: %s", what);
}

static void put_utf8(struct rd *r, size_t *k, uint32_t cp)
{
	PFS_GROW(r->txt, r->txt_cap, *k + 5);
	if (cp < 0x80) {
		r->txt[(*k)++] = (char)cp;
	} else if (cp < 0x800) {
		r->txt[(*k)++] = (char)(0xc0 | cp >> 6);
		r->txt[(*k)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		r->txt[(*k)++] = (char)(0xe0 | cp >> 12);
		r->txt[(*k)++] = (char)(0x80 | (cp >> 6 & 0x3f));
		r->txt[(*k)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		r->txt[(*k)++] = (char)(0xf0 | cp >> 18);
		r->txt[(*k)++] = (char)(0x80 | (cp >> 12 & 0x3f));
		r->txt[(*k)++] = (char)(0x80 | (cp >> 6 & 0x3f));
		r->txt[(*k)++] = (char)(0x80 | (cp & 0x3f));
	}
}

/*
 * The code point of the UTF-8 sequence at s (len bytes left) into *cp, and its length, or 0
 * when it is not one CPython's decoder takes with "surrogatepass" (which marshal uses: an
 * encoded surrogate is taken, an overlong or truncated sequence is not).
 */
static size_t utf8_decode(const uint8_t *s, size_t len, uint32_t *cp)
{
	static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
	size_t n = s[0] < 0xc0 ? 0 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : s[0] < 0xf8 ? 4 : 0;
	uint32_t v;
	if (n == 0 || n > len)
		return 0;
	v = s[0] & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if (v < min[n] || v > 0x10ffff)
		return 0;
	*cp = v;
	return n;
}

/*
 * The text of string node x as a profile string: Latin-1 (the 'a' and 'z' types, and bytes)
 * and UTF-8 converted to valid UTF-8, lone surrogates (file names Python decoded with
 * surrogateescape) replaced by U+FFFD and counted. Returns 0 after rfail for a string CPython
 * would refuse to read.
 */
static uint32_t text_of(struct rd *r, uint32_t x)
{
	const struct mnode *n = node(r, x);
	const uint8_t *s = r->m->buf + n->v.s;
	size_t k = 0;
	bool plain = true;
	for (uint32_t i = 0; i < n->n && plain; i++)
		plain = s[i] < 0x80;
	if (plain)
		return pfs_profile_str(r->prof, (const char *)s, n->n);
	for (uint32_t i = 0; i < n->n;) {
		uint32_t cp = s[i];
		size_t q = 1;
		if (s[i] >= 0x80 && n->enc == ENC_UTF8 &&
		    !(q = utf8_decode(s + i, n->n - i, &cp))) {
			r->rc = fail(r->err, PFS_EFORMAT, n->off,
				     "marshal: a string that is not UTF-8 (byte 0x%02x at %llu)",
				     s[i], (unsigned long long)(n->v.s + i));
			return 0;
		}
		if (cp >= 0xd800 && cp <= 0xdfff) {
			if (!r->bad_utf8++)
				r->bad_off = n->off;
			cp = 0xfffd;
		}
		put_utf8(r, &k, cp);
		i += (uint32_t)q;
	}
	return pfs_profile_str(r->prof, r->txt, k);
}

static bool is_str(const struct mnode *n)
{
	return n->type == M_STR || n->type == M_BYTES;
}

static uint32_t kid(const struct rd *r, uint32_t x, uint32_t i);

/*
 * A function's name: a string, or a code object (profile.py of 3.12 and 3.13 names the script
 * it runs so) as Python's repr of it without the address. Returns 0 after rfail.
 */
static uint32_t name_of(struct rd *r, uint32_t x)
{
	const struct mnode *n = node(r, x);
	if (n->type != M_CODE)
		return text_of(r, x);
	uint32_t file = text_of(r, kid(r, x, 0)), name = file ? text_of(r, kid(r, x, 1)) : 0;
	if (!name)
		return 0;
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);
	if (!f)
		return 0;
	fprintf(f, "<code object %s, file \"%s\", line %u>",
		pfs_profile_strget(r->prof, name, NULL), pfs_profile_strget(r->prof, file, NULL),
		n->n);
	uint32_t id = fclose(f) == 0 ? pfs_profile_str(r->prof, s, len) : 0;
	free(s);
	if (!id)
		rfail(r, x, "cannot name a code object");
	return id;
}

static bool is_tuple(const struct mnode *n, uint32_t size)
{
	return n->type == M_TUPLE && n->n == size;
}

static uint32_t kid(const struct rd *r, uint32_t x, uint32_t i)
{
	return r->m->kids[node(r, x)->v.k + i];
}

/* A function key (file, line, name) as a function of the graph; UINT32_MAX after rfail. */
static uint32_t func_of(struct rd *r, uint32_t x)
{
	const struct mnode *n = node(r, x);
	if (!is_tuple(n, 3) || !is_str(node(r, kid(r, x, 0))) ||
	    !(is_str(node(r, kid(r, x, 2))) || node(r, kid(r, x, 2))->type == M_CODE) ||
	    node(r, kid(r, x, 1))->type != M_INT) {
		rfail(r, x, "a function key is a (file, line, name) tuple, not this %s%s",
		      type_name(n), n->type == M_TUPLE ? " of other items" : "");
		return UINT32_MAX;
	}
	int64_t line = node(r, kid(r, x, 1))->v.i;
	if (line < 0 || line > UINT32_MAX) {
		rfail(r, kid(r, x, 1), "a line number out of range");
		return UINT32_MAX;
	}
	uint32_t file = text_of(r, kid(r, x, 0)), name = file ? name_of(r, kid(r, x, 2)) : 0;
	if (!file || !name)
		return UINT32_MAX;
	struct pfs_frame f = {
	    .name = name, .file = file, .line = (uint32_t)line, .kind = PFS_FK_PYINSTRUMENT};
	return pfs_cg_func(r->g, pfs_profile_frame(r->prof, &f));
}

/* A call count: an int, -1 meaning not counted (pyinstrument). */
static bool count_of(struct rd *r, uint32_t x, const char *what, uint64_t *out)
{
	const struct mnode *n = node(r, x);
	double v;
	if (n->type == M_INT || x == N_FALSE || x == N_TRUE)
		v = x == N_TRUE ? 1 : x == N_FALSE ? 0 : (double)n->v.i;
	else if (n->type == M_FLOAT && n->v.d == floor(n->v.d))
		v = n->v.d;
	else if (n->type == M_BIG)
		return !(r->rc =
			     fail(r->err, PFS_ELIMIT, n->off, "%s: a count beyond 64 bits", what));
	else
		return !rfail(r, x, "%s is a count, not a %s", what, type_name(n));
	if (v == -1) {
		*out = PFS_CG_UNKNOWN;
		return true;
	}
	if (v < 0 || v >= PFS_CG_EXACT_MAX)
		return !(r->rc = fail(r->err, PFS_EFORMAT, n->off, "not a pstats dump: %s of %.17g",
				      what, v));
	*out = (uint64_t)v;
	return true;
}

/* A time in seconds: any finite number (profile.py's bias correction makes some negative). */
static bool time_of(struct rd *r, uint32_t x, const char *what, double *out)
{
	const struct mnode *n = node(r, x);
	if (n->type == M_INT)
		*out = (double)n->v.i;
	else if (n->type == M_FLOAT || n->type == M_BIG)
		*out = n->v.d;
	else if (x == N_TRUE || x == N_FALSE)
		*out = x == N_TRUE;
	else
		return !rfail(r, x, "%s is a number, not a %s", what, type_name(n));
	if (!isfinite(*out))
		return !(r->rc = fail(r->err, PFS_EFORMAT, n->off,
				      "not a pstats dump: %s is not finite", what));
	return true;
}

/* One caller of fn: (nc, cc, tt, ct), or a plain count (profile.py). */
static bool caller_of(struct rd *r, uint32_t fn, uint32_t kx, uint32_t vx)
{
	uint32_t caller = func_of(r, kx);
	const struct mnode *v = node(r, vx);
	if (caller == UINT32_MAX)
		return false;
	uint32_t e = pfs_cg_edge(r->g, caller, fn);
	struct pfs_cg_edge *ed = pfs_cg_edge_at(r->g, e);
	double *self = pfs_cg_eself(r->g, e), *incl = pfs_cg_eincl(r->g, e);
	if (v->type == M_TUPLE && v->n == 4)
		return count_of(r, kid(r, vx, 0), "a caller's calls", &ed->calls) &&
		       count_of(r, kid(r, vx, 1), "a caller's primitive calls", &ed->prim_calls) &&
		       time_of(r, kid(r, vx, 2), "a caller's tottime", self) &&
		       time_of(r, kid(r, vx, 3), "a caller's cumtime", incl);
	if (!count_of(r, vx, "a caller's value", &ed->calls))
		return false;
	ed->prim_calls = PFS_CG_UNKNOWN;
	*self = NAN;
	*incl = NAN;
	return true;
}

/* Pair i of the top dict: the stats of one function, and its callers. */
static bool entry(struct rd *r, uint32_t fn, uint32_t vx)
{
	const struct mnode *v = node(r, vx);
	struct pfs_cg_func *f = pfs_cg_func_at(r->g, fn);
	if (v->type != M_TUPLE || v->n != 5)
		return !rfail(r, vx,
			      "a function's stats are (cc, nc, tt, ct, callers), not this %s%s",
			      type_name(v), v->type == M_TUPLE ? " of another size" : "");
	uint32_t cx = kid(r, vx, 4);
	const struct mnode *callers = node(r, cx);
	r->at = v->off;
	if (!count_of(r, kid(r, vx, 0), "primitive calls", &f->prim_calls) ||
	    !count_of(r, kid(r, vx, 1), "calls", &f->calls) ||
	    !time_of(r, kid(r, vx, 2), "tottime", pfs_cg_fself(r->g, fn)) ||
	    !time_of(r, kid(r, vx, 3), "cumtime", pfs_cg_fincl(r->g, fn)))
		return false;
	if (callers->type != M_DICT)
		return !rfail(r, cx, "a function's callers are a dict, not a %s",
			      type_name(callers));
	if (f->calls == PFS_CG_UNKNOWN || f->prim_calls == PFS_CG_UNKNOWN)
		pfs_diag_add(r->diag, PFS_NOTE, "calls-unknown", v->off,
			     "call counts not recorded (-1: pyinstrument samples, it does not "
			     "count calls)");
	for (uint32_t i = 0; i < callers->n; i++)
		if (!caller_of(r, fn, kid(r, cx, 2 * i), kid(r, cx, 2 * i + 1)))
			return false;
	return true;
}

static int read_stats(struct rd *r, uint32_t root)
{
	const struct mnode *d = node(r, root);
	if (d->type != M_DICT)
		return rfail(r, root, "the top object is a %s, not a dict", type_name(d));
	/* first the functions, in the dict's order; then each one's last entry */
	for (uint32_t i = 0; i < d->n; i++) {
		uint32_t fn;
		r->at = d->off;
		fn = func_of(r, kid(r, root, 2 * i));
		if (fn == UINT32_MAX)
			return r->rc;
		PFS_GROW_ZEROED(r->last, r->last_cap, fn);
		if (r->last[fn])
			pfs_diag_add(r->diag, PFS_NOTE, "duplicate-key",
				     node(r, kid(r, root, 2 * i))->off,
				     "a function given twice: its last entry counts, as in Python");
		r->last[fn] = i + 1;
		pfs_cg_func_at(r->g, fn)->listed = true;
	}
	for (uint32_t fn = 0; fn < r->last_cap; fn++) {
		uint32_t i = r->last[fn];
		if (!i)
			continue;
		r->at = node(r, kid(r, root, 2 * (i - 1)))->off; /* the key's */
		if (!entry(r, fn, kid(r, root, 2 * (i - 1) + 1)))
			return r->rc;
	}
	return 0;
}

static void mp_release(struct mp *m)
{
	free(m->nodes);
	free(m->kids);
	free(m->stack);
	free(m->refs);
}

int pfs_pstats_parse(const void *buf, size_t len, struct pfs_profile *prof,
		     struct pfs_callgraph **out, struct pfs_diag *diag, struct pfs_err *err)
{
	struct mp m = {.buf = buf, .len = len, .err = err};
	struct rd r = {.m = &m, .prof = prof, .diag = diag, .err = err};
	int rc = 0;
	*out = NULL;
	if (len > PFS_PSTATS_MAX_SIZE)
		return pfs_err_set(err, PFS_ELIMIT, PFS_NO_OFF,
				   "a pstats dump of %zu bytes: perfsight reads up to %zu", len,
				   PFS_PSTATS_MAX_SIZE);
	m.c = pfs_cursor_make(buf, len, __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__);
	for (int i = 0; i < N_FIXED; i++)
		new_node(&m,
			 i == N_NONE	   ? M_NONE
			 : i <= N_TRUE	   ? M_BOOL
			 : i == N_ELLIPSIS ? M_ELLIPSIS
					   : M_STOPITER,
			 PFS_NO_OFF);
	uint32_t root = r_object(&m);
	if (root == NODE_ERR) {
		rc = m.rc;
		goto out;
	}
	if (root == NODE_NULL) {
		rc = fail(err, PFS_EFORMAT, 0,
			  "not a pstats dump: a NULL object where the stats dict should be");
		goto out;
	}
	r.g = pfs_cg_new(prof, PFS_CG_PSTATS);
	pfs_cg_add_event(r.g, "time", "seconds (tottime: self, cumtime: inclusive)");
	if ((rc = read_stats(&r, root)) < 0)
		goto out;
	if (pfs_cursor_left(&m.c))
		pfs_diag_addn(diag, PFS_NOTE, "trailing-bytes", pfs_cursor_left(&m.c), pos(&m),
			      "%zu bytes after the stats dict, ignored (as Python's marshal.load "
			      "ignores them)",
			      pfs_cursor_left(&m.c));
	if (r.bad_utf8)
		pfs_diag_addn(diag, PFS_WARN, "invalid-utf8", r.bad_utf8, r.bad_off,
			      "lone surrogates in names (file names Python could not decode) "
			      "replaced by U+FFFD");
	struct pfs_cg_info *in = pfs_cg_info_mut(r.g);
	in->size = len;
	in->marshal_version = m.version;
	in->refs = m.n_refs;
	in->ref_uses = m.ref_uses;
	pfs_cg_finish(r.g);
	*out = r.g;
	r.g = NULL;
out:
	pfs_cg_free(r.g);
	free(r.txt);
	free(r.last);
	mp_release(&m);
	return rc;
}

bool pfs_pstats_sniff(const void *head, size_t n)
{
	const uint8_t *h = head;
	if (n < 2 || (h[0] & ~FLAG_REF) != '{')
		return false;
	return h[1] == '0' || (h[1] & ~FLAG_REF) == '(' || (h[1] & ~FLAG_REF) == ')';
}

int pfs_pstats_load(const char *path, struct pfs_profile *prof, struct pfs_callgraph **out,
		    struct pfs_diag *diag, struct pfs_err *err)
{
	struct stat sb;
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc, fd = open(path, O_RDONLY | O_CLOEXEC);
	*out = NULL;
	if (fd < 0)
		return pfs_err_sys(err, "cannot open %s", path);
	if (fstat(fd, &sb) < 0) {
		rc = pfs_err_sys(err, "cannot read %s", path);
		goto out;
	}
	if ((uint64_t)sb.st_size > PFS_PSTATS_MAX_SIZE) {
		rc = pfs_err_set(err, PFS_ELIMIT, PFS_NO_OFF,
				 "a pstats dump of %lld bytes: perfsight reads up to %zu",
				 (long long)sb.st_size, PFS_PSTATS_MAX_SIZE);
		goto out;
	}
	buf = pfs_xmalloc((size_t)sb.st_size + 1);
	/* read to the end, whatever the size said: the file may have changed since */
	for (;;) {
		ssize_t k = read(fd, buf + len, (size_t)sb.st_size + 1 - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			rc = pfs_err_sys(err, "cannot read %s", path);
			goto out;
		}
		if (k == 0)
			break;
		len += (size_t)k;
		if (len == (size_t)sb.st_size + 1) {
			rc = pfs_err_set(err, PFS_EIO, PFS_NO_OFF, "%s grew while it was read",
					 path);
			goto out;
		}
	}
	rc = pfs_pstats_parse(buf, len, prof, out, diag, err);
out:
	free(buf);
	close(fd);
	return rc;
}
