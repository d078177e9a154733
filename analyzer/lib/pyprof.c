#include "pyprof.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_parse.h>

#include "xalloc.h"

/*
 * One streaming pass per file (two for speedscope, whose shared frame table may follow the
 * profiles that index it). yajl calls back per token; a stack of levels, one per open JSON
 * container, says what the container is (a state) and which key of it is being read, so each
 * value is checked against what that place in the format expects. Bounds: nesting, frames per
 * stack, number size and line length are capped, so hostile input fails with PFS_ELIMIT
 * instead of exhausting memory.
 */
#define CHUNK (256 * 1024)
#define MAX_NEST 10000
#define MAX_STACK 100000
#define MAX_LINE (1 << 20)
/*
 * The distinct stacks rows are given may hold LEAF_FRAMES_BASE frames in all, plus
 * LEAF_FRAMES_PER_BYTE per byte of input. What comes after loading (views, folded export,
 * flame graph, summary) costs at least the frames of each distinct stack, and some formats
 * give linear input a quadratic sum: each event of an evented speedscope opens a stack one
 * frame deeper than the last (F7 of the fuzz findings: 5.5 MB made 5.2 GB of folded text).
 * A real profile's distinct stacks are few against its size: the fixtures' hold 0.004 to
 * 0.04 frames per byte, so they stay far below.
 */
#define LEAF_FRAMES_BASE ((uint64_t)1000000)
#define LEAF_FRAMES_PER_BYTE 1
#define MAX_SECONDS 1e9		     /* a weight or duration beyond 31 years is not a profile */
#define MAX_COUNT 9007199254740992.0 /* 2^53: exact in a double */

enum st {
	S_SKIP,
	S_TOP,
	S_SESSION,
	S_PREFIXES,
	S_RECORDS,
	S_RECORD,
	S_STACK,
	S_NODE,
	S_CHILDREN,
	S_HNODE,
	S_HCHILDREN,
	S_PROFILES,
	S_PROFILE,
	S_EVENTS,
	S_EVENT,
	S_SAMPLES,
	S_SAMPLE,
	S_WEIGHTS,
	S_SHARED,
	S_FRAMES,
	S_SFRAME,
};

enum key {
	K_UNKNOWN,
	K_START_TIME,
	K_DURATION,
	K_SAMPLE_COUNT,
	K_CPU_TIME,
	K_PROGRAM,
	K_TARGET,
	K_START_CALL_STACK,
	K_SYS_PATH,
	K_SYS_PREFIXES,
	K_MIN_INTERVAL,
	K_MAX_INTERVAL,
	K_FRAME_RECORDS,
	K_ROOT_FRAME,
	K_SESSION,
	K_FRAME_TREE,
	K_SCHEMA,
	K_NAME,
	K_EXPORTER,
	K_ACTIVE,
	K_PROFILES,
	K_SHARED,
	K_FUNCTION,
	K_FILE_PATH_SHORT,
	K_FILE_PATH,
	K_LINE_NO,
	K_TIME,
	K_AWAIT_TIME,
	K_IS_APP,
	K_CHILDREN,
	K_GROUP_ID,
	K_CLASS_NAME,
	K_IDENTIFIER,
	K_ATTRIBUTES,
	K_TYPE,
	K_UNIT,
	K_START_VALUE,
	K_END_VALUE,
	K_EVENTS,
	K_SAMPLES,
	K_WEIGHTS,
	K_AT,
	K_FRAME,
	K_FRAMES,
	K_FILE,
	K_LINE,
	K_COL,
	K_ELEMENT, /* an array element, for messages */
	K_NKEYS,
};

static const char *const key_names[K_NKEYS] = {
    [K_UNKNOWN] = "?",
    [K_START_TIME] = "start_time",
    [K_DURATION] = "duration",
    [K_SAMPLE_COUNT] = "sample_count",
    [K_CPU_TIME] = "cpu_time",
    [K_PROGRAM] = "program",
    [K_TARGET] = "target_description",
    [K_START_CALL_STACK] = "start_call_stack",
    [K_SYS_PATH] = "sys_path",
    [K_SYS_PREFIXES] = "sys_prefixes",
    [K_MIN_INTERVAL] = "min_interval",
    [K_MAX_INTERVAL] = "max_interval",
    [K_FRAME_RECORDS] = "frame_records",
    [K_ROOT_FRAME] = "root_frame",
    [K_SESSION] = "session",
    [K_FRAME_TREE] = "frame_tree",
    [K_SCHEMA] = "$schema",
    [K_NAME] = "name",
    [K_EXPORTER] = "exporter",
    [K_ACTIVE] = "activeProfileIndex",
    [K_PROFILES] = "profiles",
    [K_SHARED] = "shared",
    [K_FUNCTION] = "function",
    [K_FILE_PATH_SHORT] = "file_path_short",
    [K_FILE_PATH] = "file_path",
    [K_LINE_NO] = "line_no",
    [K_TIME] = "time",
    [K_AWAIT_TIME] = "await_time",
    [K_IS_APP] = "is_application_code",
    [K_CHILDREN] = "children",
    [K_GROUP_ID] = "group_id",
    [K_CLASS_NAME] = "class_name",
    [K_IDENTIFIER] = "identifier",
    [K_ATTRIBUTES] = "attributes",
    [K_TYPE] = "type",
    [K_UNIT] = "unit",
    [K_START_VALUE] = "startValue",
    [K_END_VALUE] = "endValue",
    [K_EVENTS] = "events",
    [K_SAMPLES] = "samples",
    [K_WEIGHTS] = "weights",
    [K_AT] = "at",
    [K_FRAME] = "frame",
    [K_FRAMES] = "frames",
    [K_FILE] = "file",
    [K_LINE] = "line",
    [K_COL] = "col",
    [K_ELEMENT] = "element",
};

/* Keys each object state knows, K_UNKNOWN-terminated. */
static const uint8_t top_keys[] = {
    K_START_TIME,	K_DURATION, K_SAMPLE_COUNT, K_CPU_TIME,	    K_PROGRAM,	    K_TARGET,
    K_START_CALL_STACK, K_SYS_PATH, K_SYS_PREFIXES, K_MIN_INTERVAL, K_MAX_INTERVAL, K_FRAME_RECORDS,
    K_ROOT_FRAME,	K_SESSION,  K_FRAME_TREE,   K_SCHEMA,	    K_NAME,	    K_EXPORTER,
    K_ACTIVE,		K_PROFILES, K_SHARED,	    K_UNKNOWN};
static const uint8_t node_keys[] = {K_FUNCTION, K_FILE_PATH_SHORT, K_FILE_PATH, K_LINE_NO,
				    K_TIME,	K_AWAIT_TIME,	   K_IS_APP,	K_CHILDREN,
				    K_GROUP_ID, K_CLASS_NAME,	   K_UNKNOWN};
static const uint8_t hnode_keys[] = {K_IDENTIFIER, K_TIME, K_ATTRIBUTES, K_CHILDREN, K_UNKNOWN};
static const uint8_t profile_keys[] = {K_TYPE,	 K_NAME,    K_UNIT,    K_START_VALUE, K_END_VALUE,
				       K_EVENTS, K_SAMPLES, K_WEIGHTS, K_UNKNOWN};
static const uint8_t event_keys[] = {K_TYPE, K_AT, K_FRAME, K_UNKNOWN};
static const uint8_t shared_keys[] = {K_FRAMES, K_UNKNOWN};
static const uint8_t sframe_keys[] = {K_NAME, K_FILE, K_LINE, K_COL, K_UNKNOWN};

enum vt { V_NULL, V_BOOL, V_NUM, V_STR, V_MAP, V_ARR };
static const char *const vt_names[] = {"null", "boolean", "number", "string", "object", "array"};

enum mode { M_DETECT, M_LOAD, M_SS_FRAMES, M_SS_PROFILES };

struct lvl {
	uint8_t st;
	uint8_t key;  /* map: key of the value being read */
	uint8_t via;  /* the key this container was reached through, for messages */
	uint32_t idx; /* values read so far */
};

/* Raw frame text -> frame id (0: [self], folded into the parent). */
struct fcache {
	struct fent {
		uint64_t hash;
		size_t off, len;
		uint32_t frame;
	} * v;
	size_t n, cap;
	uint32_t *tab; /* 1-based index into v, 0 empty */
	size_t tcap;
	char *pool;
	size_t pool_len, pool_cap;
};

struct node {
	uint32_t name, file, line, frame, path;
	double time, child;
	uint32_t n_children;
	bool has_time, has_name, pathed, is_self, pseudo;
};

struct ld {
	const char *path;
	struct pfs_profile *prof;
	pfs_sample_cb cb;
	void *payload;
	struct pfs_diag *diag;
	struct pfs_err *err;
	struct pfs_pyprof_capture *cap;
	uint32_t *next_tid;
	enum mode mode;
	int kind; /* decided format (the embedded one for HTML), 0 while unknown */
	int rc;	  /* set by a callback that stopped the parse */
	yajl_handle h;
	uint64_t base; /* file offset of the chunk being parsed */
	uint64_t seen; /* bit per top-level key (K_*) */
	uint64_t sess_seen;

	struct lvl *lv;
	size_t nlv, cap_lv;

	/* the frames of the distinct stacks rows were given (a bit per leaf path seen), and
	 * how many they may hold (LEAF_FRAMES_*) */
	uint64_t *leaf_seen;
	size_t leaf_cap;
	uint64_t leaf_frames, frames_budget;

	/* the stack being read (records, folded lines, sampled speedscope) */
	uint32_t *sf, *sp; /* frames, paths */
	size_t sn, scap, prev_n;
	bool diverged, self_leaf;
	double rec_weight;
	bool rec_weight_set, rec_stack_set;
	double elapsed;

	struct node *nodes;
	size_t n_nodes, cap_nodes;

	/* speedscope */
	uint32_t *ss_frames; /* shared frame index -> frame id (0: folded into parent) */
	size_t ss_n, ss_cap;
	struct {
		uint32_t name, file, line;
		bool has_name, is_self;
	} sfr;
	struct {
		int type; /* 'E' evented, 'S' sampled, 0 not given */
		enum pfs_pyprof_unit unit;
		double scale, start, end, last_at;
		bool has_start, has_end, has_events, has_samples, has_weights;
		uint32_t tid;
		uint32_t name;
		uint32_t *ev_idx, *ev_path;
		size_t ev_n, ev_cap;
		uint32_t *spaths;
		size_t n_spaths, cap_spaths;
		double *w;
		size_t n_w, cap_w;
		uint32_t cur;
	} pr;
	struct {
		int type;
		double at;
		uint64_t frame;
		bool has_at, has_frame;
	} ev;

	struct fcache fc;
	bool saw_thread; /* a <thread> root frame: 4.0+ even when 'program' says <= 4.6 */
	bool done;	 /* the top-level value is complete */
	bool ev_made[3];
	uint32_t ev_of[3]; /* event index per enum pfs_pyprof_unit */
};

static void fc_release(struct fcache *c)
{
	free(c->v);
	free(c->tab);
	free(c->pool);
	memset(c, 0, sizeof(*c));
}

static uint64_t hash_mem(const unsigned char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull ^ n;
	while (n >= 8) {
		uint64_t v;
		memcpy(&v, s, 8);
		h = (h ^ v) * 0x100000001b3ull;
		h ^= h >> 29;
		s += 8;
		n -= 8;
	}
	if (n) {
		uint64_t v = 0;
		memcpy(&v, s, n);
		h = (h ^ v) * 0x100000001b3ull;
	}
	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93ull;
	h ^= h >> 32;
	return h;
}

static struct fent *fc_find(struct fcache *c, const unsigned char *s, size_t n, uint64_t h)
{
	if (!c->tcap)
		return NULL;
	for (size_t i = h & (c->tcap - 1);; i = (i + 1) & (c->tcap - 1)) {
		uint32_t id = c->tab[i];
		struct fent *e;
		if (!id)
			return NULL;
		e = &c->v[id - 1];
		if (e->hash == h && e->len == n && !memcmp(c->pool + e->off, s, n))
			return e;
	}
}

static void fc_add(struct fcache *c, const unsigned char *s, size_t n, uint64_t h, uint32_t frame)
{
	if ((c->n + 1) * 2 > c->tcap) {
		size_t ncap = c->tcap ? c->tcap * 2 : 1024;
		uint32_t *nt = pfs_xcalloc(ncap, sizeof(*nt));
		for (size_t k = 0; k < c->n; k++) {
			size_t i = c->v[k].hash & (ncap - 1);
			while (nt[i])
				i = (i + 1) & (ncap - 1);
			nt[i] = (uint32_t)k + 1;
		}
		free(c->tab);
		c->tab = nt;
		c->tcap = ncap;
	}
	PFS_GROW(c->v, c->cap, c->n + 1);
	PFS_GROW(c->pool, c->pool_cap, c->pool_len + n + 1);
	memcpy(c->pool + c->pool_len, s, n);
	c->v[c->n] = (struct fent){h, c->pool_len, n, frame};
	c->pool_len += n;
	size_t i = h & (c->tcap - 1);
	while (c->tab[i])
		i = (i + 1) & (c->tcap - 1);
	c->tab[i] = (uint32_t)++c->n;
}

static uint64_t cur_off(const struct ld *l)
{
	return l->base + (l->h ? yajl_get_bytes_consumed(l->h) : 0);
}

static int fail(struct ld *l, int code, uint64_t off, const char *fmt, ...) PFS_PRINTF(4, 5);
static int fail(struct ld *l, int code, uint64_t off, const char *fmt, ...)
{
	char what[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (off == PFS_NO_OFF)
		l->rc = pfs_err_set(l->err, code, off, "%s: %s", l->path, what);
	else
		l->rc = pfs_err_set(l->err, code, off, "%s: %s at offset %llu", l->path, what,
				    (unsigned long long)off);
	return l->rc;
}

/* Fails the parse at the current offset: the value for key (or element) had the wrong type. */
static int bad_type(struct ld *l, const char *where, enum vt got, const char *want)
{
	return fail(l, PFS_EFORMAT, cur_off(l), "'%s': expected %s, got %s", where, want,
		    vt_names[got]);
}

static int parse_num(struct ld *l, const char *where, const char *s, size_t n, double *out)
{
	char buf[64];
	char *end;
	double d;
	if (n >= sizeof(buf))
		return fail(l, PFS_ELIMIT, cur_off(l), "'%s': number of %zu digits", where, n);
	memcpy(buf, s, n);
	buf[n] = 0;
	d = strtod(buf, &end);
	if (end != buf + n || !isfinite(d) || fabs(d) > 1e300)
		return fail(l, PFS_ELIMIT, cur_off(l), "'%s': number %s out of range", where, buf);
	*out = d;
	return 0;
}

/* A non-negative number of seconds within MAX_SECONDS. */
static int parse_secs(struct ld *l, const char *where, const char *s, size_t n, double *out)
{
	int rc = parse_num(l, where, s, n, out);
	if (rc)
		return rc;
	if (*out < 0 || *out > MAX_SECONDS)
		return fail(l, PFS_ELIMIT, cur_off(l), "'%s': %g seconds out of range", where,
			    *out);
	return 0;
}

/* A non-negative integer below 2^53. */
static int parse_count(struct ld *l, const char *where, const char *s, size_t n, uint64_t *out)
{
	double d;
	int rc = parse_num(l, where, s, n, &d);
	if (rc)
		return rc;
	if (d < 0 || d >= MAX_COUNT || d != floor(d))
		return fail(l, PFS_ELIMIT, cur_off(l), "'%s': %.17g is not a count", where, d);
	*out = (uint64_t)d;
	return 0;
}

/* Length of the valid UTF-8 sequence at s (1 to 4), or 0. Surrogates and overlongs are not
 * valid: JSON can carry lone "\udc80" escapes (Python writes surrogate-escaped file names). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned lo = 0x80, hi = 0xbf;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (n < len)
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/*
 * Interns a string from the input. Strings are kept valid UTF-8 for whatever renders them:
 * each byte of an invalid sequence becomes U+FFFD, counted as "invalid-utf8".
 */
static uint32_t str_id(struct ld *l, const void *s, size_t n)
{
	const unsigned char *u = s;
	unsigned char *fix;
	size_t i = 0, k = 0, bad = 0;
	uint32_t id;
	while (i < n) {
		size_t q = utf8_seq(u + i, n - i);
		if (!q)
			break;
		i += q;
	}
	if (i == n)
		return pfs_profile_str(l->prof, s, n);
	fix = pfs_xmalloc(n * 3);
	memcpy(fix, u, i);
	k = i;
	while (i < n) {
		size_t q = utf8_seq(u + i, n - i);
		if (q) {
			memcpy(fix + k, u + i, q);
			k += q;
			i += q;
		} else {
			memcpy(fix + k, "\xef\xbf\xbd", 3);
			k += 3;
			i++;
			bad++;
		}
	}
	pfs_diag_addn(l->diag, PFS_WARN, "invalid-utf8", bad, cur_off(l),
		      "%s: bytes that are not UTF-8 (or lone surrogates) replaced by U+FFFD",
		      l->path);
	id = pfs_profile_str(l->prof, (const char *)fix, k);
	free(fix);
	return id;
}

static uint32_t mkframe(struct ld *l, uint32_t name, uint32_t file, uint32_t line, int kind)
{
	struct pfs_frame f = {.name = name, .file = file, .line = line, .kind = (uint8_t)kind};
	return pfs_profile_frame(l->prof, &f);
}

static bool bracketed(const unsigned char *s, size_t n)
{
	return n >= 2 && s[0] == '[' && s[n - 1] == ']';
}

static bool all_digits(const unsigned char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/*
 * A pyinstrument frame string: function NUL file NUL firstline, then U+0001-led attributes
 * (c<class>, l<line>, h<hide>). Returns the frame id, 0 for [self].
 */
static uint32_t parse_frame_string(struct ld *l, const unsigned char *s, size_t n)
{
	const unsigned char *attr = memchr(s, 1, n);
	size_t idn = attr ? (size_t)(attr - s) : n;
	const unsigned char *z1, *z2;
	uint64_t off = cur_off(l);

	if (attr) {
		const unsigned char *a = attr, *end = s + n;
		while (a < end) {
			const unsigned char *nx = memchr(a + 1, 1, (size_t)(end - a - 1));
			if (!nx)
				nx = end;
			if (nx == a + 1 || !memchr("clh", a[1], 3))
				pfs_diag_add(l->diag, PFS_NOTE, "frame-attribute", off,
					     "%s: frame attribute %.*s ignored", l->path,
					     (int)(nx - a - 1 > 40 ? 40 : nx - a - 1),
					     (const char *)a + 1);
			a = nx;
		}
	}
	z1 = memchr(s, 0, idn);
	if (!z1) {
		if (idn == 6 && !memcmp(s, "[self]", 6))
			return 0;
		if (bracketed(s, idn))
			return mkframe(l, str_id(l, s, idn), 0, 0, PFS_FK_PSEUDO);
		pfs_diag_add(l->diag, PFS_WARN, "frame-grammar", off,
			     "%s: frame string without file and line: %.*s", l->path,
			     (int)(idn > 60 ? 60 : idn), (const char *)s);
		return mkframe(l, str_id(l, s, idn), 0, 0, PFS_FK_PYINSTRUMENT);
	}
	size_t nn = (size_t)(z1 - s);
	z2 = memchr(z1 + 1, 0, idn - nn - 1);
	size_t fn = z2 ? (size_t)(z2 - z1 - 1) : idn - nn - 1;
	const unsigned char *ln = z2 ? z2 + 1 : NULL;
	size_t lnn = z2 ? (size_t)(s + idn - ln) : 0;
	uint32_t line = 0;

	if (nn == 6 && !memcmp(s, "[self]", 6))
		return 0;
	/* 4.0-4.3 synthetic leaves carry a pseudo file: "[await]" NUL "<await>" NUL "0" */
	if (bracketed(s, nn) && fn >= 2 && z1[1] == '<' && z1[fn] == '>')
		return mkframe(l, str_id(l, s, nn), 0, 0, PFS_FK_PSEUDO);
	/* the 4.x+ root is the thread: name NUL "<thread>" NUL ident (a pthread_t, not a line) */
	if (fn == 8 && !memcmp(z1 + 1, "<thread>", 8)) {
		l->saw_thread = true;
		return mkframe(l, str_id(l, s, nn), str_id(l, "<thread>", 8), 0, PFS_FK_PSEUDO);
	}
	if (!z2) {
		pfs_diag_add(l->diag, PFS_WARN, "frame-grammar", off,
			     "%s: frame string without a line number field", l->path);
	} else {
		uint64_t v = 0;
		for (size_t i = 0; i < lnn && i < 11; i++)
			v = v * 10 + (uint64_t)(ln[i] - '0');
		if (!all_digits(ln, lnn) || lnn > 10 || v > UINT32_MAX)
			pfs_diag_add(l->diag, PFS_WARN, "frame-grammar", off,
				     "%s: frame line number is not a 32-bit decimal", l->path);
		else
			line = (uint32_t)v;
	}
	return mkframe(l, str_id(l, s, nn), str_id(l, z1 + 1, fn), line, PFS_FK_PYINSTRUMENT);
}

static uint32_t frame_of(struct ld *l, const unsigned char *s, size_t n)
{
	uint64_t h = hash_mem(s, n);
	struct fent *e = fc_find(&l->fc, s, n, h);
	uint32_t fr;
	if (e)
		return e->frame;
	fr = parse_frame_string(l, s, n);
	fc_add(&l->fc, s, n, h, fr);
	return fr;
}

static uint32_t event_for(struct ld *l, enum pfs_pyprof_unit unit)
{
	if (!l->ev_made[unit]) {
		l->ev_of[unit] = pfs_profile_add_event(
		    l->prof, unit == PFS_PYPROF_SECONDS ? "wall-clock" : "samples", true);
		l->ev_made[unit] = true;
	}
	return l->ev_of[unit];
}

static int emit(struct ld *l, uint32_t tid, uint32_t path, double weight, enum pfs_pyprof_unit unit,
		uint64_t time)
{
	struct pfs_sample_row row = {
	    .event = event_for(l, unit),
	    .pid = 0,
	    .tid = tid,
	    .cpu = UINT32_MAX,
	    .time = time,
	    .path = path,
	    .period = unit == PFS_PYPROF_SECONDS ? (uint64_t)llround(weight * 1e9)
						 : (uint64_t)llround(weight),
	    .weight = weight,
	};
	int rc;
	if (path && !(path / 64 < l->leaf_cap && l->leaf_seen[path / 64] >> (path % 64) & 1)) {
		uint64_t budget = LEAF_FRAMES_BASE + l->frames_budget;
		PFS_GROW_ZEROED(l->leaf_seen, l->leaf_cap, path / 64);
		l->leaf_seen[path / 64] |= 1ull << (path % 64);
		l->leaf_frames += pfs_profile_pathget(l->prof, path)->depth;
		if (l->leaf_frames > budget)
			return fail(l, PFS_ELIMIT, PFS_NO_OFF,
				    "the distinct stacks hold more than %llu frames in all (%d per "
				    "byte of input, and %llu): each deeper than the last?",
				    (unsigned long long)budget, LEAF_FRAMES_PER_BYTE,
				    (unsigned long long)LEAF_FRAMES_BASE);
	}
	if (!l->cap->unit)
		l->cap->unit = unit;
	l->cap->rows++;
	l->cap->weight += weight;
	pfs_profile_event(l->prof, row.event)->samples++;
	pfs_profile_thread(l->prof, 0, tid)->samples++;
	rc = l->cb ? l->cb(l->payload, &row) : 0;
	if (rc < 0) {
		l->rc = pfs_err_set(l->err, rc, PFS_NO_OFF, "%s: the sample sink stopped: %s",
				    l->path, pfs_err_name(rc));
	}
	return rc < 0 ? rc : 0;
}

/* Appends frame fr to the stack being read, reusing the previous stack's paths while the
 * prefix is the same (consecutive samples mostly share all but the leaf). */
static int stack_push(struct ld *l, uint32_t fr, uint64_t off)
{
	size_t d = l->sn;
	uint32_t path;
	if (!fr) {
		l->self_leaf = true;
		return 0;
	}
	if (l->self_leaf) {
		pfs_diag_add(l->diag, PFS_WARN, "self-not-leaf", off,
			     "%s: a [self] frame has frames below it; they are kept", l->path);
		l->self_leaf = false;
	}
	if (d >= MAX_STACK)
		return fail(l, PFS_ELIMIT, off, "stack deeper than %d frames", MAX_STACK);
	if (!l->diverged && d < l->prev_n && l->sf[d] == fr) {
		path = l->sp[d];
	} else {
		l->diverged = true;
		path = pfs_profile_path(l->prof, d ? l->sp[d - 1] : 0, fr);
		if (d >= l->scap) {
			size_t c = l->scap;
			PFS_GROW(l->sf, c, d + 1);
			PFS_GROW(l->sp, l->scap, d + 1);
		}
		l->sf[d] = fr;
		l->sp[d] = path;
	}
	l->sn = d + 1;
	return 0;
}

static void stack_begin(struct ld *l)
{
	l->sn = 0;
	l->diverged = false;
	l->self_leaf = false;
}

static uint32_t stack_end(struct ld *l)
{
	l->prev_n = l->sn;
	return l->sn ? l->sp[l->sn - 1] : 0;
}

static int push(struct ld *l, enum st st, uint8_t via)
{
	if (l->nlv >= MAX_NEST)
		return fail(l, PFS_ELIMIT, cur_off(l), "JSON nested deeper than %d levels",
			    MAX_NEST);
	PFS_GROW(l->lv, l->cap_lv, l->nlv + 1);
	l->lv[l->nlv++] = (struct lvl){.st = (uint8_t)st, .key = K_UNKNOWN, .via = via};
	return 0;
}

static int skip_value(struct ld *l, enum vt vt, uint8_t via)
{
	return vt == V_MAP || vt == V_ARR ? push(l, S_SKIP, via) : 0;
}

static int set_kind(struct ld *l, int kind, uint8_t key)
{
	if (l->mode == M_DETECT) {
		l->kind = kind;
		l->rc = 1; /* stop: decided */
		return 1;
	}
	if (!l->kind)
		l->kind = kind;
	if (l->kind != kind)
		return fail(l, PFS_EFORMAT, cur_off(l), "key '%s' does not belong in a %s file",
			    key_names[key], pfs_pyprof_kind_name(l->kind));
	return 0;
}

static struct node *node_top(struct ld *l)
{
	return &l->nodes[l->n_nodes - 1];
}

static int node_open(struct ld *l, enum st st, uint8_t via)
{
	PFS_GROW(l->nodes, l->cap_nodes, l->n_nodes + 1);
	memset(&l->nodes[l->n_nodes++], 0, sizeof(struct node));
	return push(l, st, via);
}

/* Gives the open node its frame and path: needed before its children, or when it closes. */
static int node_path(struct ld *l, struct node *nd)
{
	uint32_t parent = l->n_nodes > 1 ? nd[-1].path : 0;
	if (nd->pathed)
		return 0;
	if (!nd->has_name)
		return fail(l, PFS_EFORMAT, cur_off(l),
			    "frame node without 'function' or 'identifier' before its children");
	if (nd->is_self || !nd->frame) {
		nd->is_self = true;
		nd->path = parent;
	} else {
		nd->path = pfs_profile_path(l->prof, parent, nd->frame);
	}
	nd->pathed = true;
	return 0;
}

/* A JSONRenderer node's frame, once its function, file and line are read. */
static void json_node_frame(struct ld *l, struct node *nd)
{
	if (!nd->has_name || nd->frame || nd->is_self)
		return;
	if (nd->pseudo)
		nd->frame = mkframe(l, nd->name, 0, 0, PFS_FK_PSEUDO);
	else
		nd->frame = mkframe(l, nd->name, nd->file, nd->line, PFS_FK_PYINSTRUMENT);
}

static int node_close(struct ld *l)
{
	struct node *nd = node_top(l);
	double self, tol;
	int rc;
	if (!nd->has_time)
		return fail(l, PFS_EFORMAT, cur_off(l), "frame node without 'time'");
	if ((rc = node_path(l, nd)))
		return rc;
	self = nd->time - nd->child;
	/* the JSON renderer prints %f: each child time is rounded to 5e-7 */
	tol = 1e-6 * (nd->n_children + 1);
	if (self < -tol)
		pfs_diag_add(l->diag, PFS_WARN, "negative-self-time", cur_off(l),
			     "%s: children of a frame node add up to %g s more than its time",
			     l->path, -self);
	if (!nd->is_self && self > 1e-9 &&
	    (rc = emit(l, l->cap->tid, nd->path, self, PFS_PYPROF_SECONDS, 0)))
		return rc;
	if (l->n_nodes > 1 && !nd->is_self) {
		nd[-1].child += nd->time;
		nd[-1].n_children++;
	}
	l->n_nodes--;
	return 0;
}

static int header_value(struct ld *l, struct lvl *p, enum vt vt, const char *s, size_t n)
{
	struct pfs_pyprof_capture *c = l->cap;
	uint8_t k = p->key;
	const char *kn = key_names[k];
	bool top = p->st == S_TOP;
	int rc = 0;

	if (k < 64) {
		if (top)
			l->seen |= 1ull << k;
		else
			l->sess_seen |= 1ull << k;
	}
	if (l->mode == M_DETECT && top) {
		switch (k) {
		case K_FRAME_RECORDS:
			return set_kind(l, PFS_PYPROF_SESSION, k);
		case K_ROOT_FRAME:
			return set_kind(l, PFS_PYPROF_JSON, k);
		case K_SESSION:
		case K_FRAME_TREE:
			return set_kind(l, PFS_PYPROF_HTML_DATA, k);
		case K_PROFILES:
		case K_SHARED:
		case K_SCHEMA:
		case K_EXPORTER:
		case K_ACTIVE:
			return set_kind(l, PFS_PYPROF_SPEEDSCOPE, k);
		default:
			return skip_value(l, vt, k);
		}
	}
	if (l->mode == M_SS_FRAMES || l->mode == M_SS_PROFILES) {
		if (k == K_SHARED && l->mode == M_SS_FRAMES)
			return vt == V_MAP ? push(l, S_SHARED, k) : bad_type(l, kn, vt, "object");
		if (k == K_PROFILES && l->mode == M_SS_PROFILES)
			return vt == V_ARR ? push(l, S_PROFILES, k) : bad_type(l, kn, vt, "array");
		if (k == K_NAME && l->mode == M_SS_PROFILES && vt == V_STR)
			c->program = str_id(l, s, n);
		if (k == K_UNKNOWN && l->mode == M_SS_PROFILES)
			pfs_diag_add(l->diag, PFS_NOTE, "unknown-key", cur_off(l),
				     "%s: unknown top-level key ignored", l->path);
		switch (k) {
		case K_SCHEMA:
		case K_NAME:
		case K_EXPORTER:
		case K_ACTIVE:
		case K_PROFILES:
		case K_SHARED:
		case K_UNKNOWN:
			return skip_value(l, vt, k);
		default:
			return fail(l, PFS_EFORMAT, cur_off(l),
				    "key '%s' does not belong in a speedscope file", kn);
		}
	}

	switch (k) {
	case K_START_TIME:
	case K_DURATION:
	case K_CPU_TIME:
	case K_MIN_INTERVAL:
	case K_MAX_INTERVAL: {
		double d;
		if (vt == V_NULL && (k == K_CPU_TIME))
			return 0; /* 3.x and 4.0-4.4 may write null */
		if (vt != V_NUM)
			return bad_type(l, kn, vt, "number");
		if (k == K_START_TIME)
			rc = parse_num(l, kn, s, n, &d);
		else
			rc = parse_secs(l, kn, s, n, &d);
		if (rc)
			return rc;
		if (k == K_START_TIME)
			c->start_time = d;
		else if (k == K_DURATION)
			c->duration = d;
		else if (k == K_CPU_TIME)
			c->cpu_time = d;
		else
			c->version = 5;
		return 0;
	}
	case K_SAMPLE_COUNT:
		if (vt != V_NUM)
			return bad_type(l, kn, vt, "number");
		return parse_count(l, kn, s, n, &c->sample_count);
	case K_PROGRAM:
	case K_TARGET:
		if (vt == V_NULL)
			return 0;
		if (vt != V_STR)
			return bad_type(l, kn, vt, "string");
		c->program = str_id(l, s, n);
		if (!c->version)
			c->version = k == K_TARGET ? 4 : 3;
		return 0;
	case K_START_CALL_STACK:
	case K_SYS_PATH:
		if (vt != V_ARR)
			return bad_type(l, kn, vt, "array");
		return push(l, S_SKIP, k);
	case K_SYS_PREFIXES:
		if (vt != V_ARR)
			return bad_type(l, kn, vt, "array");
		return push(l, S_PREFIXES, k);
	case K_FRAME_RECORDS:
		if (!top)
			break;
		if ((rc = set_kind(l, PFS_PYPROF_SESSION, k)))
			return rc;
		if (vt != V_ARR)
			return bad_type(l, kn, vt, "array");
		stack_begin(l);
		l->prev_n = 0;
		return push(l, S_RECORDS, k);
	case K_ROOT_FRAME:
		if (!top)
			break;
		if ((rc = set_kind(l, PFS_PYPROF_JSON, k)))
			return rc;
		if (vt == V_NULL)
			return 0;
		if (vt != V_MAP)
			return bad_type(l, kn, vt, "object or null");
		return node_open(l, S_NODE, k);
	case K_SESSION:
		if (!top)
			break;
		if ((rc = set_kind(l, PFS_PYPROF_HTML_DATA, k)))
			return rc;
		if (vt != V_MAP)
			return bad_type(l, kn, vt, "object");
		return push(l, S_SESSION, k);
	case K_FRAME_TREE:
		if (!top)
			break;
		if ((rc = set_kind(l, PFS_PYPROF_HTML_DATA, k)))
			return rc;
		if (vt == V_NULL)
			return 0;
		if (vt != V_MAP)
			return bad_type(l, kn, vt, "object or null");
		return node_open(l, S_HNODE, k);
	case K_UNKNOWN:
		pfs_diag_add(l->diag, PFS_NOTE, "unknown-key", cur_off(l),
			     "%s: unknown pyinstrument key ignored", l->path);
		return skip_value(l, vt, k);
	default:
		break;
	}
	/* JSON detection could not place: a key of another format says nothing yet */
	if (!l->kind)
		return skip_value(l, vt, k);
	return fail(l, PFS_EFORMAT, cur_off(l), "key '%s' does not belong in a %s", kn,
		    top ? pfs_pyprof_kind_name(l->kind) : "session object");
}

static int node_value(struct ld *l, struct lvl *p, enum vt vt, const char *s, size_t n)
{
	struct node *nd = node_top(l);
	uint8_t k = p->key;
	const char *kn = key_names[k];
	double d;
	int rc;

	switch (k) {
	case K_FUNCTION:
		if (vt != V_STR)
			return bad_type(l, kn, vt, "string");
		nd->name = str_id(l, s, n);
		nd->has_name = true;
		nd->is_self = n == 6 && !memcmp(s, "[self]", 6);
		nd->pseudo = bracketed((const unsigned char *)s, n);
		break;
	case K_IDENTIFIER:
		if (vt != V_STR)
			return bad_type(l, kn, vt, "string");
		nd->frame = frame_of(l, (const unsigned char *)s, n);
		nd->has_name = true;
		nd->is_self = !nd->frame;
		break;
	case K_FILE_PATH:
		if (vt == V_NULL)
			break;
		if (vt != V_STR)
			return bad_type(l, kn, vt, "string");
		nd->file = str_id(l, s, n);
		break;
	case K_LINE_NO: {
		uint64_t v;
		if (vt == V_NULL)
			break;
		if (vt != V_NUM)
			return bad_type(l, kn, vt, "number");
		if ((rc = parse_count(l, kn, s, n, &v)))
			return rc;
		if (v > UINT32_MAX)
			return fail(l, PFS_ELIMIT, cur_off(l), "'%s': %llu out of range", kn,
				    (unsigned long long)v);
		nd->line = (uint32_t)v;
		break;
	}
	case K_TIME:
		if (vt != V_NUM)
			return bad_type(l, kn, vt, "number");
		if ((rc = parse_secs(l, kn, s, n, &d)))
			return rc;
		nd->time = d;
		nd->has_time = true;
		break;
	case K_AWAIT_TIME:
		if (vt != V_NUM && vt != V_NULL)
			return bad_type(l, kn, vt, "number");
		break;
	case K_IS_APP:
		if (vt != V_BOOL)
			return bad_type(l, kn, vt, "boolean");
		break;
	case K_FILE_PATH_SHORT:
	case K_GROUP_ID:
	case K_CLASS_NAME:
		if (vt != V_STR && vt != V_NULL)
			return bad_type(l, kn, vt, "string");
		break;
	case K_ATTRIBUTES:
		if (vt != V_MAP)
			return bad_type(l, kn, vt, "object");
		return push(l, S_SKIP, k);
	case K_CHILDREN:
		if (vt != V_ARR)
			return bad_type(l, kn, vt, "array");
		if (p->st == S_NODE)
			json_node_frame(l, nd);
		if ((rc = node_path(l, nd)))
			return rc;
		return push(l, p->st == S_NODE ? S_CHILDREN : S_HCHILDREN, k);
	default:
		pfs_diag_add(l->diag, PFS_NOTE, "unknown-key", cur_off(l),
			     "%s: unknown frame node key ignored", l->path);
		return skip_value(l, vt, k);
	}
	return 0;
}

static int profile_value(struct ld *l, struct lvl *p, enum vt vt, const char *s, size_t n)
{
	uint8_t k = p->key;
	const char *kn = key_names[k];
	int rc;
	switch (k) {
	case K_TYPE:
		if (vt != V_STR)
			return bad_type(l, kn, vt, "string");
		if (n == 7 && !memcmp(s, "evented", 7))
			l->pr.type = 'E';
		else if (n == 7 && !memcmp(s, "sampled", 7))
			l->pr.type = 'S';
		else
			return fail(l, PFS_EUNSUPP, cur_off(l), "speedscope profile type '%.*s'",
				    (int)(n > 40 ? 40 : n), s);
		return 0;
	case K_NAME:
		if (vt != V_STR)
			return bad_type(l, kn, vt, "string");
		l->pr.name = str_id(l, s, n);
		return 0;
	case K_UNIT: {
		static const struct {
			const char *name;
			double scale;
		} units[] = {{"seconds", 1},
			     {"milliseconds", 1e-3},
			     {"microseconds", 1e-6},
			     {"nanoseconds", 1e-9},
			     {"none", 0}};
		if (vt != V_STR)
			return bad_type(l, kn, vt, "string");
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			if (strlen(units[i].name) == n && !memcmp(units[i].name, s, n)) {
				l->pr.scale = units[i].scale ? units[i].scale : 1;
				l->pr.unit =
				    units[i].scale ? PFS_PYPROF_SECONDS : PFS_PYPROF_SAMPLES;
				return 0;
			}
		}
		return fail(l, PFS_EUNSUPP, cur_off(l), "speedscope unit '%.*s'",
			    (int)(n > 40 ? 40 : n), s);
	}
	case K_START_VALUE:
	case K_END_VALUE: {
		double d;
		if (vt != V_NUM)
			return bad_type(l, kn, vt, "number");
		if ((rc = parse_num(l, kn, s, n, &d)))
			return rc;
		if (k == K_START_VALUE) {
			l->pr.start = d;
			l->pr.has_start = true;
		} else {
			l->pr.end = d;
			l->pr.has_end = true;
		}
		return 0;
	}
	case K_EVENTS:
	case K_SAMPLES:
	case K_WEIGHTS:
		if (vt != V_ARR)
			return bad_type(l, kn, vt, "array");
		if (!l->pr.unit)
			return fail(l, PFS_EFORMAT, cur_off(l),
				    "speedscope profile: key 'unit' must come before '%s'", kn);
		if (k == K_EVENTS) {
			l->pr.has_events = true;
			l->pr.last_at = l->pr.has_start ? l->pr.start : 0;
			return push(l, S_EVENTS, k);
		}
		if (k == K_SAMPLES) {
			l->pr.has_samples = true;
			return push(l, S_SAMPLES, k);
		}
		l->pr.has_weights = true;
		return push(l, S_WEIGHTS, k);
	default:
		pfs_diag_add(l->diag, PFS_NOTE, "unknown-key", cur_off(l),
			     "%s: unknown speedscope profile key ignored", l->path);
		return skip_value(l, vt, k);
	}
}

static int ss_frame_id(struct ld *l, uint64_t idx, uint32_t *out)
{
	if (idx >= l->ss_n)
		return fail(l, PFS_EFORMAT, cur_off(l),
			    "speedscope frame index %llu beyond the %zu shared frames",
			    (unsigned long long)idx, l->ss_n);
	*out = l->ss_frames[idx];
	return 0;
}

static int event_close(struct ld *l)
{
	uint32_t fr = 0, path;
	double at = l->ev.at;
	int rc;
	if (!l->ev.type || !l->ev.has_at || !l->ev.has_frame)
		return fail(l, PFS_EFORMAT, cur_off(l),
			    "speedscope event needs 'type', 'at' and 'frame'");
	if (at < l->pr.last_at)
		return fail(l, PFS_EFORMAT, cur_off(l), "speedscope event time %.17g before %.17g",
			    at, l->pr.last_at);
	if (l->pr.ev_n && at > l->pr.last_at &&
	    (rc = emit(l, l->pr.tid, l->pr.ev_path[l->pr.ev_n - 1],
		       (at - l->pr.last_at) * l->pr.scale, l->pr.unit, 0)))
		return rc;
	l->pr.last_at = at;
	if ((rc = ss_frame_id(l, l->ev.frame, &fr)))
		return rc;
	if (l->ev.type == 'O') {
		uint32_t parent = l->pr.ev_n ? l->pr.ev_path[l->pr.ev_n - 1] : 0;
		if (l->pr.ev_n >= MAX_STACK)
			return fail(l, PFS_ELIMIT, cur_off(l), "stack deeper than %d frames",
				    MAX_STACK);
		path = fr ? pfs_profile_path(l->prof, parent, fr) : parent;
		if (l->pr.ev_n >= l->pr.ev_cap) {
			size_t c = l->pr.ev_cap;
			PFS_GROW(l->pr.ev_idx, c, l->pr.ev_n + 1);
			PFS_GROW(l->pr.ev_path, l->pr.ev_cap, l->pr.ev_n + 1);
		}
		l->pr.ev_idx[l->pr.ev_n] = (uint32_t)l->ev.frame;
		l->pr.ev_path[l->pr.ev_n++] = path;
		return 0;
	}
	if (!l->pr.ev_n || l->pr.ev_idx[l->pr.ev_n - 1] != l->ev.frame)
		return fail(l, PFS_EFORMAT, cur_off(l),
			    "speedscope event closes frame %llu, which is not the innermost open",
			    (unsigned long long)l->ev.frame);
	l->pr.ev_n--;
	return 0;
}

static void profile_open(struct ld *l)
{
	l->pr.type = 0;
	l->pr.unit = PFS_PYPROF_UNIT_NONE;
	l->pr.scale = 1;
	l->pr.has_start = l->pr.has_end = false;
	l->pr.has_events = l->pr.has_samples = l->pr.has_weights = false;
	l->pr.ev_n = l->pr.n_spaths = l->pr.n_w = 0;
	l->pr.name = 0;
	l->pr.tid = (*l->next_tid)++;
	l->prev_n = 0;
}

static int profile_close(struct ld *l)
{
	int rc;
	if (!l->pr.type || (l->pr.type == 'E' && !l->pr.has_events) ||
	    (l->pr.type == 'S' && (!l->pr.has_samples || !l->pr.has_weights)))
		return fail(l, PFS_EFORMAT, cur_off(l),
			    "speedscope profile needs 'type' and its 'events', or 'samples' and "
			    "'weights'");
	if ((l->pr.type == 'E') != !l->pr.has_samples)
		return fail(l, PFS_EFORMAT, cur_off(l),
			    "speedscope profile of one type carries the other's data");
	if (l->pr.ev_n)
		pfs_diag_add(l->diag, PFS_WARN, "unclosed-frames", cur_off(l),
			     "%s: speedscope profile ends with %zu frames open", l->path,
			     l->pr.ev_n);
	if (l->pr.type == 'S') {
		if (l->pr.n_spaths != l->pr.n_w)
			return fail(l, PFS_EFORMAT, cur_off(l),
				    "speedscope profile has %zu samples but %zu weights",
				    l->pr.n_spaths, l->pr.n_w);
		for (size_t i = 0; i < l->pr.n_w; i++)
			if ((rc = emit(l, l->pr.tid, l->pr.spaths[i], l->pr.w[i] * l->pr.scale,
				       l->pr.unit, 0)))
				return rc;
	}
	if (l->pr.unit == PFS_PYPROF_SECONDS && l->pr.has_start && l->pr.has_end) {
		double d = (l->pr.end - l->pr.start) * l->pr.scale;
		if (isnan(l->cap->duration) || d > l->cap->duration)
			l->cap->duration = d;
	}
	if (l->pr.name)
		pfs_profile_thread(l->prof, 0, l->pr.tid)->comm = l->pr.name;
	return 0;
}

/* A value arrives in the container on top of the level stack. */
static int on_value(struct ld *l, enum vt vt, const char *s, size_t n)
{
	struct lvl *p;
	uint32_t idx;
	uint64_t v;
	double d;
	int rc;

	if (!l->nlv) {
		if (vt != V_MAP) {
			if (l->mode == M_DETECT) {
				l->rc = 1;
				return 1;
			}
			return bad_type(l, "top level", vt, "object");
		}
		return push(l, S_TOP, K_UNKNOWN);
	}
	p = &l->lv[l->nlv - 1];
	idx = p->idx++;
	switch (p->st) {
	case S_SKIP:
		return skip_value(l, vt, p->via);
	case S_TOP:
	case S_SESSION:
		return header_value(l, p, vt, s, n);
	case S_PREFIXES:
		if (vt != V_STR)
			return bad_type(l, "sys_prefixes", vt, "string");
		if (l->cap->n_sys_prefix < 8)
			l->cap->sys_prefix[l->cap->n_sys_prefix++] = str_id(l, s, n);
		else
			pfs_diag_add(l->diag, PFS_NOTE, "sys-prefixes", cur_off(l),
				     "%s: more than 8 sys_prefixes; the rest ignored", l->path);
		return 0;
	case S_RECORDS:
		if (vt != V_ARR)
			return bad_type(l, "frame_records", vt, "array");
		l->rec_weight_set = l->rec_stack_set = false;
		return push(l, S_RECORD, K_FRAME_RECORDS);
	case S_RECORD:
		if (idx == 0 && vt == V_ARR) {
			stack_begin(l);
			l->rec_stack_set = true;
			return push(l, S_STACK, K_FRAME_RECORDS);
		}
		if (idx == 1 && vt == V_NUM) {
			if ((rc = parse_secs(l, "frame_records", s, n, &d)))
				return rc;
			l->rec_weight = d;
			l->rec_weight_set = true;
			return 0;
		}
		return fail(l, PFS_EFORMAT, cur_off(l),
			    "'frame_records': element %u of a record is %s; a record is [stack, "
			    "seconds]",
			    idx, vt_names[vt]);
	case S_STACK:
		if (vt != V_STR)
			return bad_type(l, "frame_records", vt, "string (frame)");
		return stack_push(l, frame_of(l, (const unsigned char *)s, n), cur_off(l));
	case S_NODE:
	case S_HNODE:
		return node_value(l, p, vt, s, n);
	case S_CHILDREN:
	case S_HCHILDREN:
		if (vt != V_MAP)
			return bad_type(l, "children", vt, "object");
		return node_open(l, p->st == S_CHILDREN ? S_NODE : S_HNODE, K_CHILDREN);
	case S_PROFILES:
		if (vt != V_MAP)
			return bad_type(l, "profiles", vt, "object");
		profile_open(l);
		return push(l, S_PROFILE, K_PROFILES);
	case S_PROFILE:
		return profile_value(l, p, vt, s, n);
	case S_EVENTS:
		if (vt != V_MAP)
			return bad_type(l, "events", vt, "object");
		memset(&l->ev, 0, sizeof(l->ev));
		return push(l, S_EVENT, K_EVENTS);
	case S_EVENT:
		switch (p->key) {
		case K_TYPE:
			if (vt != V_STR)
				return bad_type(l, "type", vt, "string");
			if (n != 1 || (s[0] != 'O' && s[0] != 'C'))
				return fail(l, PFS_EFORMAT, cur_off(l),
					    "speedscope event type is not \"O\" or \"C\"");
			l->ev.type = s[0];
			return 0;
		case K_AT:
			if (vt != V_NUM)
				return bad_type(l, "at", vt, "number");
			if ((rc = parse_num(l, "at", s, n, &l->ev.at)))
				return rc;
			l->ev.has_at = true;
			return 0;
		case K_FRAME:
			if (vt != V_NUM)
				return bad_type(l, "frame", vt, "number");
			if ((rc = parse_count(l, "frame", s, n, &l->ev.frame)))
				return rc;
			l->ev.has_frame = true;
			return 0;
		default:
			pfs_diag_add(l->diag, PFS_NOTE, "unknown-key", cur_off(l),
				     "%s: unknown speedscope event key ignored", l->path);
			return skip_value(l, vt, p->key);
		}
	case S_SAMPLES:
		if (vt != V_ARR)
			return bad_type(l, "samples", vt, "array");
		stack_begin(l);
		return push(l, S_SAMPLE, K_SAMPLES);
	case S_SAMPLE: {
		uint32_t fr = 0;
		if (vt != V_NUM)
			return bad_type(l, "samples", vt, "number");
		if ((rc = parse_count(l, "samples", s, n, &v)) || (rc = ss_frame_id(l, v, &fr)))
			return rc;
		return stack_push(l, fr, cur_off(l));
	}
	case S_WEIGHTS:
		if (vt != V_NUM)
			return bad_type(l, "weights", vt, "number");
		if ((rc = parse_num(l, "weights", s, n, &d)))
			return rc;
		if (d < 0 || d * l->pr.scale > MAX_SECONDS)
			return fail(l, PFS_ELIMIT, cur_off(l), "'weights': %g out of range", d);
		PFS_GROW(l->pr.w, l->pr.cap_w, l->pr.n_w + 1);
		l->pr.w[l->pr.n_w++] = d;
		return 0;
	case S_SHARED:
		if (p->key == K_FRAMES) {
			if (vt != V_ARR)
				return bad_type(l, "frames", vt, "array");
			return push(l, S_FRAMES, K_FRAMES);
		}
		return skip_value(l, vt, p->key);
	case S_FRAMES:
		if (vt != V_MAP)
			return bad_type(l, "frames", vt, "object");
		memset(&l->sfr, 0, sizeof(l->sfr));
		return push(l, S_SFRAME, K_FRAMES);
	case S_SFRAME:
		switch (p->key) {
		case K_NAME:
			if (vt != V_STR)
				return bad_type(l, "name", vt, "string");
			l->sfr.name = str_id(l, s, n);
			l->sfr.has_name = true;
			l->sfr.is_self = n == 6 && !memcmp(s, "[self]", 6);
			return 0;
		case K_FILE:
			if (vt == V_NULL)
				return 0;
			if (vt != V_STR)
				return bad_type(l, "file", vt, "string");
			l->sfr.file = str_id(l, s, n);
			return 0;
		case K_LINE:
			if (vt == V_NULL)
				return 0;
			if (vt != V_NUM)
				return bad_type(l, "line", vt, "number");
			if ((rc = parse_count(l, "line", s, n, &v)))
				return rc;
			l->sfr.line = v > UINT32_MAX ? 0 : (uint32_t)v;
			return 0;
		default:
			return skip_value(l, vt, p->key);
		}
	}
	return fail(l, PFS_EFORMAT, cur_off(l), "unexpected %s", vt_names[vt]);
}

static int on_close(struct ld *l)
{
	struct lvl *p = &l->lv[--l->nlv];
	switch (p->st) {
	case S_RECORD: {
		uint32_t path;
		if (!l->rec_stack_set || !l->rec_weight_set)
			return fail(l, PFS_EFORMAT, cur_off(l),
				    "'frame_records': a record is [stack, seconds]");
		path = l->sn ? l->sp[l->sn - 1] : 0;
		if (!l->sn && !l->self_leaf)
			pfs_diag_add(l->diag, PFS_WARN, "empty-stack", cur_off(l),
				     "%s: a frame record with an empty stack (kept at the root)",
				     l->path);
		{
			double t = l->cap->start_time + l->elapsed;
			uint64_t ns = isfinite(t) && t > 0 && t < 1e10 ? (uint64_t)(t * 1e9) : 0;
			l->elapsed += l->rec_weight;
			return emit(l, l->cap->tid, path, l->rec_weight, PFS_PYPROF_SECONDS, ns);
		}
	}
	case S_STACK:
		stack_end(l);
		return 0;
	case S_NODE:
	case S_HNODE:
		if (p->st == S_NODE)
			json_node_frame(l, node_top(l));
		return node_close(l);
	case S_PROFILE:
		return profile_close(l);
	case S_EVENT:
		return event_close(l);
	case S_SAMPLE:
		PFS_GROW(l->pr.spaths, l->pr.cap_spaths, l->pr.n_spaths + 1);
		l->pr.spaths[l->pr.n_spaths++] = stack_end(l);
		return 0;
	case S_SFRAME: {
		uint32_t fr = 0;
		if (!l->sfr.has_name)
			return fail(l, PFS_EFORMAT, cur_off(l), "speedscope frame without 'name'");
		if (!l->sfr.is_self) {
			size_t nl;
			const char *nm = pfs_profile_strget(l->prof, l->sfr.name, &nl);
			bool pseudo = !l->sfr.file && bracketed((const unsigned char *)nm, nl);
			fr = mkframe(l, l->sfr.name, l->sfr.file, l->sfr.line,
				     pseudo ? PFS_FK_PSEUDO : PFS_FK_PYINSTRUMENT);
		}
		PFS_GROW(l->ss_frames, l->ss_cap, l->ss_n + 1);
		l->ss_frames[l->ss_n++] = fr;
		return 0;
	}
	case S_TOP:
		l->done = true;
		return 0;
	default:
		return 0;
	}
}

static struct ld *L(void *ctx)
{
	return ctx;
}

static int cb_null(void *ctx)
{
	return on_value(L(ctx), V_NULL, NULL, 0) == 0;
}

static int cb_bool(void *ctx, int b)
{
	return on_value(L(ctx), V_BOOL, b ? "true" : "false", b ? 4 : 5) == 0;
}

static int cb_number(void *ctx, const char *s, size_t n)
{
	return on_value(L(ctx), V_NUM, s, n) == 0;
}

static int cb_string(void *ctx, const unsigned char *s, size_t n)
{
	return on_value(L(ctx), V_STR, (const char *)s, n) == 0;
}

static int cb_start_map(void *ctx)
{
	return on_value(L(ctx), V_MAP, NULL, 0) == 0;
}

static int cb_start_array(void *ctx)
{
	return on_value(L(ctx), V_ARR, NULL, 0) == 0;
}

static int cb_end(void *ctx)
{
	struct ld *l = L(ctx);
	if (!l->nlv)
		return 1;
	return on_close(l) == 0;
}

static const uint8_t *keys_of(enum st st)
{
	switch (st) {
	case S_TOP:
	case S_SESSION:
		return top_keys;
	case S_NODE:
		return node_keys;
	case S_HNODE:
		return hnode_keys;
	case S_PROFILE:
		return profile_keys;
	case S_EVENT:
		return event_keys;
	case S_SHARED:
		return shared_keys;
	case S_SFRAME:
		return sframe_keys;
	default:
		return NULL;
	}
}

static int cb_map_key(void *ctx, const unsigned char *s, size_t n)
{
	struct ld *l = L(ctx);
	struct lvl *p = &l->lv[l->nlv - 1];
	const uint8_t *ks = keys_of(p->st);
	p->key = K_UNKNOWN;
	if (!ks)
		return 1;
	for (; *ks != K_UNKNOWN; ks++) {
		const char *kn = key_names[*ks];
		if (kn[0] == (char)s[0] && strlen(kn) == n && !memcmp(kn, s, n)) {
			p->key = *ks;
			break;
		}
	}
	return 1;
}

static const yajl_callbacks callbacks = {
    .yajl_null = cb_null,
    .yajl_boolean = cb_bool,
    .yajl_number = cb_number,
    .yajl_string = cb_string,
    .yajl_start_map = cb_start_map,
    .yajl_map_key = cb_map_key,
    .yajl_end_map = cb_end,
    .yajl_start_array = cb_start_array,
    .yajl_end_array = cb_end,
};

static int yajl_fail(struct ld *l, uint64_t off)
{
	unsigned char *m = yajl_get_error(l->h, 0, NULL, 0);
	size_t n = strlen((const char *)m);
	while (n && (m[n - 1] == '\n' || m[n - 1] == ' '))
		n--;
	fail(l, PFS_EFORMAT, off, "invalid JSON (%.*s)", (int)n, (const char *)m);
	yajl_free_error(l->h, m);
	return l->rc;
}

/*
 * One yajl pass over fd from byte start. Returns 0, a negative code with err set, or 1 in
 * detect mode once the kind is decided.
 */
static int json_pass(struct ld *l, int fd, uint64_t start, bool trailing, unsigned char *buf)
{
	yajl_status st;
	int rc = 0;
	l->h = yajl_alloc(&callbacks, NULL, l);
	yajl_config(l->h, yajl_allow_trailing_garbage, trailing ? 1 : 0);
	l->nlv = 0;
	l->n_nodes = 0;
	l->rc = 0;
	l->done = false;
	l->base = start;
	if (lseek(fd, (off_t)start, SEEK_SET) < 0) {
		rc = pfs_err_sys(l->err, "%s: cannot seek", l->path);
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf, CHUNK);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = pfs_err_sys(l->err, "%s: cannot read at offset %llu", l->path,
					 (unsigned long long)l->base);
			goto out;
		}
		if (n == 0)
			break;
		st = yajl_parse(l->h, buf, (size_t)n);
		if (st == yajl_status_client_canceled) {
			rc = l->rc;
			goto out;
		}
		if (st != yajl_status_ok) {
			rc = yajl_fail(l, l->base + yajl_get_bytes_consumed(l->h));
			goto out;
		}
		l->base += (uint64_t)n;
		/* with trailing garbage allowed, yajl ignores what follows the value */
		if (trailing && l->done)
			break;
	}
	st = yajl_complete_parse(l->h);
	if (st == yajl_status_client_canceled)
		rc = l->rc;
	else if (st != yajl_status_ok)
		rc = yajl_fail(l, l->base);
out:
	yajl_free(l->h);
	l->h = NULL;
	return rc;
}

/* Reads up to cap bytes from the start of fd. */
static ssize_t read_head(int fd, unsigned char *buf, size_t cap)
{
	size_t got = 0;
	while (got < cap) {
		ssize_t n = pread(fd, buf + got, cap - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static size_t skip_ws(const unsigned char *b, size_t n)
{
	size_t i = 0;
	if (n >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf)
		i = 3;
	while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r'))
		i++;
	return i;
}

/*
 * Finds the JSON a pyinstrument HTML page embeds: 5.x writes "const sessionData = {...};",
 * 3.x-4.x "window.profileSession = {...}". Returns the offset of its '{', or -1.
 */
static int64_t html_find(int fd, unsigned char *buf)
{
	static const char *const marks[] = {"sessionData = ", "profileSession = "};
	const size_t keep = 32;
	uint64_t base = 0;
	size_t have = 0;
	for (;;) {
		ssize_t n = pread(fd, buf + have, CHUNK - have, (off_t)(base + have));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		have += (size_t)n;
		for (size_t m = 0; m < 2; m++) {
			size_t ml = strlen(marks[m]);
			const unsigned char *p = buf;
			while ((p = memmem(p, have - (size_t)(p - buf), marks[m], ml))) {
				size_t i = (size_t)(p - buf) + ml;
				while (i < have && (buf[i] == ' ' || buf[i] == '\n'))
					i++;
				if (i < have && buf[i] == '{')
					return (int64_t)(base + i);
				p += ml;
			}
		}
		if (have > keep) {
			memmove(buf, buf + have - keep, keep);
			base += have - keep;
			have = keep;
		}
	}
}

/* "a;b;c 12" with optional CR: the stack, then one space, then a count. */
static bool folded_line_ok(const unsigned char *s, size_t n)
{
	const unsigned char *sp;
	size_t i, dots = 0;
	if (n && s[n - 1] == '\r')
		n--;
	sp = n ? memrchr(s, ' ', n) : NULL;
	if (!sp || sp == s || sp + 1 == s + n || memchr(s, 0, n))
		return false;
	for (i = (size_t)(sp - s) + 1; i < n; i++) {
		if (s[i] == '.' && dots++ == 0)
			continue;
		if (s[i] < '0' || s[i] > '9')
			return false;
	}
	return true;
}

/* The head of a file is folded stacks when its first non-empty line is; later lines are
 * checked as they are read, so a bad one is reported with its number. cut tells that the head
 * is a prefix of the file, so its last line may be partial. */
static bool folded_head(const unsigned char *b, size_t n, bool cut)
{
	size_t i = 0;
	while (i < n) {
		const unsigned char *nl = memchr(b + i, '\n', n - i);
		size_t len = nl ? (size_t)(nl - b - i) : n - i;
		if (!nl && cut)
			return false;
		if (len && !(len == 1 && b[i] == '\r'))
			return folded_line_ok(b + i, len);
		i += len + 1;
	}
	return false;
}

static void ld_release(struct ld *l)
{
	free(l->leaf_seen);
	free(l->lv);
	free(l->sf);
	free(l->sp);
	free(l->nodes);
	free(l->ss_frames);
	free(l->pr.ev_idx);
	free(l->pr.ev_path);
	free(l->pr.spaths);
	free(l->pr.w);
	fc_release(&l->fc);
}

/* JSON that detection could not place: loading it anyway names what is wrong and where. */
#define KIND_JSONISH 100

static int detect_fd(const char *path, int fd, unsigned char *buf, bool *jsonish,
		     struct pfs_err *err)
{
	ssize_t n = read_head(fd, buf, CHUNK);
	size_t i;
	if (n < 0)
		return pfs_err_sys(err, "%s: cannot read", path);
	i = skip_ws(buf, (size_t)n);
	if (i == (size_t)n)
		return PFS_PYPROF_NONE;
	*jsonish = buf[i] == '{' || buf[i] == '[';
	if (buf[i] == '{') {
		struct pfs_pyprof_capture cap = {0};
		uint32_t tid = 1;
		struct pfs_diag d;
		struct ld l = {
		    .path = path, .mode = M_DETECT, .cap = &cap, .next_tid = &tid, .diag = &d};
		struct pfs_err e;
		int rc;
		pfs_diag_init(&d);
		l.err = &e;
		rc = json_pass(&l, fd, 0, false, buf);
		ld_release(&l);
		pfs_diag_release(&d);
		if (rc == 1)
			return l.kind;
		if (rc == PFS_EIO)
			return pfs_err_set(err, rc, e.off, "%s", e.msg);
		return PFS_PYPROF_NONE;
	}
	/* Python's folded stacks often begin with "<module>": a first line of the folded
	 * grammar wins over the HTML guess (no page's first line ends in " COUNT") */
	if (buf[i] == '<' && !folded_head(buf + i, (size_t)n - i, n == CHUNK))
		return html_find(fd, buf) >= 0 ? PFS_PYPROF_HTML : PFS_PYPROF_NONE;
	return folded_head(buf + i, (size_t)n - i, n == CHUNK) ? PFS_PYPROF_FOLDED
							       : PFS_PYPROF_NONE;
}

static int detect(const char *path, bool *jsonish, struct pfs_err *err)
{
	struct stat sb;
	unsigned char *buf;
	int fd, rc;
	if (stat(path, &sb) < 0)
		return pfs_err_sys(err, "%s: cannot stat", path);
	if (S_ISDIR(sb.st_mode))
		return PFS_PYPROF_DIR;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pfs_err_sys(err, "%s: cannot open", path);
	buf = pfs_xmalloc(CHUNK);
	rc = detect_fd(path, fd, buf, jsonish, err);
	free(buf);
	close(fd);
	return rc;
}

int pfs_pyprof_detect(const char *path, struct pfs_err *err)
{
	bool jsonish = false;
	return detect(path, &jsonish, err);
}

/* A folded frame: "name (file:line)" as py-spy writes it, else just a name. */
static uint32_t folded_frame(struct ld *l, const unsigned char *s, size_t n)
{
	uint64_t h = hash_mem(s, n);
	struct fent *e = fc_find(&l->fc, s, n, h);
	uint32_t fr, name, file = 0, line = 0;
	if (e)
		return e->frame;
	name = str_id(l, s, n);
	if (n > 4 && s[n - 1] == ')') {
		const unsigned char *open = NULL;
		for (size_t i = n - 1; i-- > 1;)
			if (s[i] == '(' && s[i - 1] == ' ') {
				open = s + i;
				break;
			}
		if (open) {
			const unsigned char *in = open + 1;
			size_t inn = (size_t)(s + n - 1 - in);
			const unsigned char *colon = inn ? memrchr(in, ':', inn) : NULL;
			size_t dn = colon ? (size_t)(s + n - 1 - colon - 1) : 0;
			name = str_id(l, s, (size_t)(open - 1 - s));
			if (colon && dn && dn <= 9 && all_digits(colon + 1, dn)) {
				file = str_id(l, in, (size_t)(colon - in));
				for (size_t i = 0; i < dn; i++)
					line = line * 10 + (uint32_t)(colon[1 + i] - '0');
			} else {
				file = str_id(l, in, inn);
			}
		}
	}
	fr = mkframe(l, name, file, line, PFS_FK_PYINSTRUMENT);
	fc_add(&l->fc, s, n, h, fr);
	return fr;
}

static int folded_line(struct ld *l, const unsigned char *s, size_t n, uint64_t off,
		       uint64_t lineno)
{
	const unsigned char *sp, *p, *end;
	double w;
	char num[32];
	size_t cn;
	int rc;
	if (n && s[n - 1] == '\r')
		n--;
	if (!n)
		return 0;
	if (!folded_line_ok(s, n))
		return fail(l, PFS_EFORMAT, off, "line %llu is not \"frame;frame;... count\"",
			    (unsigned long long)lineno);
	sp = memrchr(s, ' ', n);
	cn = (size_t)(s + n - sp - 1);
	if (cn >= sizeof(num))
		return fail(l, PFS_ELIMIT, off, "line %llu: count of %zu digits",
			    (unsigned long long)lineno, cn);
	memcpy(num, sp + 1, cn);
	num[cn] = 0;
	w = strtod(num, NULL);
	if (!(w < MAX_COUNT))
		return fail(l, PFS_ELIMIT, off, "line %llu: count %s out of range",
			    (unsigned long long)lineno, num);
	stack_begin(l);
	for (p = s, end = sp; p < end;) {
		const unsigned char *semi = memchr(p, ';', (size_t)(end - p));
		size_t fl = semi ? (size_t)(semi - p) : (size_t)(end - p);
		if (!fl)
			pfs_diag_add(l->diag, PFS_WARN, "empty-frame", off,
				     "%s: line %llu has an empty frame", l->path,
				     (unsigned long long)lineno);
		if ((rc = stack_push(l, folded_frame(l, p, fl), off)))
			return rc;
		p += fl + 1;
	}
	if (w == 0)
		return 0;
	return emit(l, l->cap->tid, stack_end(l), w, PFS_PYPROF_SAMPLES, 0);
}

static int folded_pass(struct ld *l, int fd, unsigned char *buf)
{
	unsigned char *line = NULL;
	size_t ln = 0, lcap = 0;
	uint64_t off = 0, line_off = 0, lineno = 1;
	int rc = 0;
	for (;;) {
		ssize_t n = read(fd, buf, CHUNK);
		size_t i = 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = pfs_err_sys(l->err, "%s: cannot read at offset %llu", l->path,
					 (unsigned long long)off);
			break;
		}
		if (n == 0) {
			if (ln)
				rc = folded_line(l, line, ln, line_off, lineno);
			break;
		}
		while (i < (size_t)n) {
			const unsigned char *nl = memchr(buf + i, '\n', (size_t)n - i);
			size_t take = nl ? (size_t)(nl - buf - i) : (size_t)n - i;
			if (ln + take > MAX_LINE) {
				rc = fail(l, PFS_ELIMIT, line_off, "line %llu longer than %d bytes",
					  (unsigned long long)lineno, MAX_LINE);
				goto out;
			}
			if (!nl || ln) {
				PFS_GROW(line, lcap, ln + take + 1);
				memcpy(line + ln, buf + i, take);
				ln += take;
			}
			if (nl) {
				rc = ln ? folded_line(l, line, ln, line_off, lineno)
					: folded_line(l, buf + i, take, line_off, lineno);
				if (rc)
					goto out;
				ln = 0;
				lineno++;
				line_off = off + i + take + 1;
			}
			i += take + (nl ? 1 : 0);
		}
		off += (uint64_t)n;
	}
out:
	free(line);
	return rc;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s && s[1] ? s + 1 : path;
}

static int check_session(struct ld *l, uint64_t seen, bool records)
{
	static const uint8_t need[] = {K_DURATION, K_SAMPLE_COUNT, K_START_TIME};
	for (size_t i = 0; i < sizeof(need); i++)
		if (!(seen & (1ull << need[i])))
			return fail(l, PFS_EFORMAT, PFS_NO_OFF, "missing key '%s'",
				    key_names[need[i]]);
	if (!(seen & ((1ull << K_PROGRAM) | (1ull << K_TARGET))))
		return fail(l, PFS_EUNSUPP, PFS_NO_OFF,
			    "unknown pyinstrument version: neither 'program' (3.x-4.6) nor "
			    "'target_description' (4.7+)");
	if (records && l->cap->sample_count != l->cap->rows)
		pfs_diag_add(l->diag, PFS_WARN, "sample-count-mismatch", PFS_NO_OFF,
			     "%s: sample_count says %llu, frame_records holds %llu", l->path,
			     (unsigned long long)l->cap->sample_count,
			     (unsigned long long)l->cap->rows);
	return 0;
}

static int load_file(const char *path, const char *label, struct ld *l, int kind,
		     unsigned char *buf)
{
	struct pfs_pyprof_capture *c = l->cap;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = 0;
	struct stat st;
	if (fd < 0)
		return pfs_err_sys(l->err, "%s: cannot open", path);
	if (fstat(fd, &st) == 0 && st.st_size > 0)
		l->frames_budget += (uint64_t)st.st_size * LEAF_FRAMES_PER_BYTE;
	c->kind = kind;
	c->start_time = c->duration = c->cpu_time = NAN;
	c->sample_count = UINT64_MAX;
	c->label = pfs_profile_cstr(l->prof, label ? label : base_name(path));
	c->tid = *l->next_tid;
	l->path = path;
	l->kind = kind == PFS_PYPROF_HTML ? 0 : kind;
	l->mode = M_LOAD;
	l->seen = l->sess_seen = 0;
	l->saw_thread = false;
	l->elapsed = 0;
	l->ss_n = 0;
	l->fc.n = 0;
	l->fc.pool_len = 0;
	if (l->fc.tcap)
		memset(l->fc.tab, 0, l->fc.tcap * sizeof(*l->fc.tab));

	switch (kind) {
	case PFS_PYPROF_SESSION:
	case PFS_PYPROF_JSON:
	case PFS_PYPROF_HTML_DATA:
	case KIND_JSONISH:
		(*l->next_tid)++;
		l->kind = 0;
		rc = json_pass(l, fd, 0, false, buf);
		if (!rc && !l->kind)
			rc = fail(l, PFS_EFORMAT, PFS_NO_OFF,
				  "JSON without the keys of a pyinstrument or speedscope file "
				  "(none of 'frame_records', 'root_frame', 'frame_tree', "
				  "'profiles')");
		else if (!rc && kind != KIND_JSONISH && l->kind != kind)
			rc = fail(l, PFS_EFORMAT, PFS_NO_OFF, "changed while read");
		c->kind = l->kind;
		break;
	case PFS_PYPROF_HTML: {
		int64_t at = html_find(fd, buf);
		(*l->next_tid)++;
		if (at < 0) {
			rc =
			    fail(l, PFS_EFORMAT, PFS_NO_OFF, "no pyinstrument session in the page");
			break;
		}
		rc = json_pass(l, fd, (uint64_t)at, true, buf);
		if (!rc && l->kind != PFS_PYPROF_JSON && l->kind != PFS_PYPROF_HTML_DATA)
			rc = fail(l, PFS_EFORMAT, (uint64_t)at,
				  "the page embeds no pyinstrument frame tree");
		break;
	}
	case PFS_PYPROF_SPEEDSCOPE:
		l->mode = M_SS_FRAMES;
		rc = json_pass(l, fd, 0, false, buf);
		if (rc)
			break;
		if (!(l->seen & (1ull << K_SHARED)))
			rc = fail(l, PFS_EFORMAT, PFS_NO_OFF, "missing key 'shared'");
		else if (!(l->seen & (1ull << K_PROFILES)))
			rc = fail(l, PFS_EFORMAT, PFS_NO_OFF, "missing key 'profiles'");
		if (rc)
			break;
		l->mode = M_SS_PROFILES;
		rc = json_pass(l, fd, 0, false, buf);
		/* each profile took a tid; without any, the capture still owns c->tid */
		if (*l->next_tid == c->tid)
			(*l->next_tid)++;
		break;
	case PFS_PYPROF_FOLDED:
		(*l->next_tid)++;
		if (lseek(fd, 0, SEEK_SET) < 0)
			rc = pfs_err_sys(l->err, "%s: cannot seek", path);
		else
			rc = folded_pass(l, fd, buf);
		break;
	default:
		rc = pfs_err_set(l->err, PFS_EFORMAT, PFS_NO_OFF,
				 "%s: not a pyinstrument, speedscope or folded-stacks file", path);
		break;
	}
	close(fd);
	if (rc)
		return rc < 0 ? rc : PFS_EFORMAT;
	switch (l->kind) {
	case PFS_PYPROF_SESSION:
		if (!(l->seen & (1ull << K_FRAME_RECORDS)))
			return fail(l, PFS_EFORMAT, PFS_NO_OFF, "missing key 'frame_records'");
		/* 4.0-4.6 also write 'program'; their stacks start at a <thread> root */
		if (c->version == 3 && l->saw_thread)
			c->version = 4;
		rc = check_session(l, l->seen, true);
		break;
	case PFS_PYPROF_JSON:
		if (!(l->seen & (1ull << K_ROOT_FRAME)))
			return fail(l, PFS_EFORMAT, PFS_NO_OFF, "missing key 'root_frame'");
		rc = check_session(l, l->seen, false);
		break;
	case PFS_PYPROF_HTML_DATA:
		if (!(l->seen & (1ull << K_SESSION)))
			return fail(l, PFS_EFORMAT, PFS_NO_OFF, "missing key 'session'");
		if (!(l->seen & (1ull << K_FRAME_TREE)))
			return fail(l, PFS_EFORMAT, PFS_NO_OFF, "missing key 'frame_tree'");
		rc = check_session(l, l->sess_seen, false);
		break;
	default:
		break;
	}
	if (rc)
		return rc;
	if (!c->unit)
		c->unit = kind == PFS_PYPROF_FOLDED || (kind == PFS_PYPROF_SPEEDSCOPE)
			      ? PFS_PYPROF_SAMPLES
			      : PFS_PYPROF_SECONDS;
	c->event = event_for(l, c->unit);
	{
		struct pfs_thread *t = pfs_profile_thread(l->prof, 0, c->tid);
		double end = c->start_time + c->duration;
		if (!t->comm)
			t->comm = c->label;
		/* the request's wall span, so a database keeps each file's duration */
		if (!t->start && isfinite(end) && c->start_time > 0 && end < 1e10 &&
		    c->duration >= 0) {
			t->start = (uint64_t)(c->start_time * 1e9);
			t->end = (uint64_t)(end * 1e9);
		}
	}
	if (c->program && !pfs_profile_process(l->prof, 0)->cmdline)
		pfs_profile_process(l->prof, 0)->cmdline = c->program;
	return 0;
}

static int entry_rank(int kind)
{
	switch (kind) {
	case PFS_PYPROF_SESSION:
		return 6;
	case PFS_PYPROF_HTML_DATA:
		return 5;
	case PFS_PYPROF_SPEEDSCOPE:
		return 4;
	case PFS_PYPROF_HTML:
		return 3;
	case PFS_PYPROF_JSON:
		return 2;
	case PFS_PYPROF_FOLDED:
		return 1;
	default:
		return 0;
	}
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t stem_len(const char *name)
{
	const char *dot = strchr(name, '.');
	return dot ? (size_t)(dot - name) : strlen(name);
}

void pfs_pyprof_dir_release(struct pfs_pyprof_dir *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].path);
		free(d->v[i].label);
	}
	free(d->v);
	d->v = NULL;
	d->n = 0;
}

int pfs_pyprof_dir_scan(const char *path, struct pfs_pyprof_dir *out, struct pfs_diag *diag,
			struct pfs_err *err)
{
	DIR *dir = opendir(path);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0, vcap = 0;
	int rc = 0;

	out->v = NULL;
	out->n = 0;
	if (!dir)
		return pfs_err_sys(err, "%s: cannot open directory", path);
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		PFS_GROW(names, cap, n + 1);
		names[n++] = pfs_xstrdup(de->d_name);
	}
	closedir(dir);
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n && rc >= 0; i++) {
		size_t pl = strlen(path) + strlen(names[i]) + 2;
		char *full = pfs_xmalloc(pl);
		struct stat sb;
		int kind;
		snprintf(full, pl, "%s/%s", path, names[i]);
		if (stat(full, &sb) < 0 || !S_ISREG(sb.st_mode)) {
			pfs_diag_add(diag, PFS_NOTE, "not-a-profile", PFS_NO_OFF,
				     "%s: not a regular file, skipped", full);
			free(full);
			continue;
		}
		bool jsonish = false;
		kind = detect(full, &jsonish, err);
		if (kind < 0) {
			rc = kind;
			free(full);
			break;
		}
		/* JSON detection could not place is a dump cut short or broken: loading it says
		 * where, rather than the directory losing a request without a word */
		if (kind == PFS_PYPROF_NONE && jsonish)
			kind = KIND_JSONISH;
		if (kind == PFS_PYPROF_NONE) {
			pfs_diag_add(diag, PFS_NOTE, "not-a-profile", PFS_NO_OFF,
				     "%s: not a profile this reader knows, skipped", full);
			free(full);
			continue;
		}
		if (out->n) {
			struct pfs_pyprof_entry *last = &out->v[out->n - 1];
			size_t sl = stem_len(names[i]);
			if (stem_len(last->label) == sl && !memcmp(last->label, names[i], sl)) {
				pfs_diag_add(diag, PFS_NOTE, "duplicate-rendering", PFS_NO_OFF,
					     "%s: another rendering of the same capture, skipped",
					     entry_rank(kind) > entry_rank(last->kind) ? last->path
										       : full);
				if (entry_rank(kind) > entry_rank(last->kind)) {
					free(last->path);
					free(last->label);
					*last = (struct pfs_pyprof_entry){
					    full, pfs_xstrdup(names[i]), kind};
				} else {
					free(full);
				}
				continue;
			}
		}
		PFS_GROW(out->v, vcap, out->n + 1);
		out->v[out->n++] = (struct pfs_pyprof_entry){full, pfs_xstrdup(names[i]), kind};
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (rc < 0)
		return rc;
	if (!out->n)
		return pfs_err_set(
		    err, PFS_EFORMAT, PFS_NO_OFF,
		    "%s: the directory holds no pyinstrument, speedscope or folded file", path);
	return (int)out->n;
}

void pfs_pyprof_meta_release(struct pfs_pyprof_meta *m)
{
	free(m->caps);
	memset(m, 0, sizeof(*m));
}

int pfs_pyprof_load(const char *path, const struct pfs_pyprof_opts *opts, struct pfs_profile *prof,
		    pfs_sample_cb cb, void *payload, struct pfs_pyprof_meta *meta_out,
		    struct pfs_diag *diag, struct pfs_err *err)
{
	static const struct pfs_pyprof_opts defaults = {0};
	struct pfs_pyprof_meta meta = {0};
	struct pfs_pyprof_dir dir = {0};
	struct ld l = {.prof = prof, .cb = cb, .payload = payload, .diag = diag, .err = err};
	uint32_t next_tid = 1;
	unsigned char *buf = NULL;
	size_t cap = 0;
	int kind, rc = 0;
	bool jsonish = false;

	if (!opts)
		opts = &defaults;
	if (meta_out)
		memset(meta_out, 0, sizeof(*meta_out));
	kind = detect(path, &jsonish, err);
	if (kind < 0)
		return kind;
	if (kind == PFS_PYPROF_NONE && !jsonish)
		return pfs_err_set(err, PFS_EFORMAT, 0,
				   "%s: not a pyinstrument, speedscope or folded-stacks file",
				   path);
	if (kind == PFS_PYPROF_DIR) {
		if (!opts->merge)
			return pfs_err_set(err, PFS_EUSAGE, PFS_NO_OFF,
					   "%s: a directory loads merged; list it with "
					   "pfs_pyprof_dir_scan to load one capture per file",
					   path);
		rc = pfs_pyprof_dir_scan(path, &dir, diag, err);
		if (rc < 0)
			goto out;
	} else {
		dir.v = pfs_xmalloc(sizeof(*dir.v));
		dir.v[0] = (struct pfs_pyprof_entry){
		    pfs_xstrdup(path), pfs_xstrdup(opts->label ? opts->label : base_name(path)),
		    kind ? (enum pfs_pyprof_kind)kind : (enum pfs_pyprof_kind)KIND_JSONISH};
		dir.n = 1;
	}
	buf = pfs_xmalloc(CHUNK);
	l.next_tid = &next_tid;
	for (size_t i = 0; i < dir.n; i++) {
		PFS_GROW(meta.caps, cap, meta.n_caps + 1);
		memset(&meta.caps[meta.n_caps], 0, sizeof(meta.caps[0]));
		l.cap = &meta.caps[meta.n_caps++];
		rc = load_file(dir.v[i].path, dir.v[i].label, &l, dir.v[i].kind, buf);
		if (rc < 0)
			goto out;
		meta.rows += l.cap->rows;
		meta.weight += l.cap->weight;
	}
	meta.kind = kind == PFS_PYPROF_DIR ? PFS_PYPROF_DIR : meta.caps[0].kind;
	meta.unit = meta.caps[0].unit;
	meta.event = meta.caps[0].event;
	for (size_t i = 1; i < meta.n_caps; i++) {
		if (meta.caps[i].unit == meta.unit)
			continue;
		/* seconds and samples do not add up; each capture's rows keep their own event */
		pfs_diag_add(diag, PFS_NOTE, "mixed-units", PFS_NO_OFF,
			     "%s: captures in wall seconds and in samples; no total weight", path);
		meta.unit = PFS_PYPROF_UNIT_NONE;
		meta.weight = NAN;
		break;
	}
	rc = 0;
out:
	free(buf);
	ld_release(&l);
	pfs_pyprof_dir_release(&dir);
	if (rc < 0 || !meta_out)
		pfs_pyprof_meta_release(&meta);
	else
		*meta_out = meta;
	return rc < 0 ? rc : 0;
}

static bool has_prefix(const char *s, size_t n, const char *pre, size_t pn)
{
	return pn && pn <= n && !memcmp(s, pre, pn);
}

bool pfs_pyprof_is_app(const struct pfs_profile *p, const struct pfs_pyprof_capture *c,
		       uint32_t path_id)
{
	if (!path_id)
		return false;
	while (path_id) {
		const struct pfs_path_node *node = pfs_profile_pathget(p, path_id);
		const struct pfs_frame *f = pfs_profile_frameget(p, node->frame);
		size_t n;
		const char *file = pfs_profile_strget(p, f->file, &n);
		if (f->kind != PFS_FK_PYINSTRUMENT || !n)
			return false;
		if ((n == 8 && !memcmp(file, "<string>", 8)) ||
		    (n == 7 && !memcmp(file, "<stdin>", 7))) {
			path_id = node->parent;
			continue;
		}
		if (file[0] == '<')
			return has_prefix(file, n, "<ipython-input", 14);
		for (unsigned i = 0; i < c->n_sys_prefix; i++) {
			size_t pn;
			const char *pre = pfs_profile_strget(p, c->sys_prefix[i], &pn);
			if (has_prefix(file, n, pre, pn))
				return false;
		}
		return true;
	}
	return true;
}

const char *pfs_pyprof_kind_name(enum pfs_pyprof_kind k)
{
	switch (k) {
	case PFS_PYPROF_SESSION:
		return "pyisession";
	case PFS_PYPROF_JSON:
		return "pyinstrument-json";
	case PFS_PYPROF_HTML_DATA:
		return "pyinstrument-html-data";
	case PFS_PYPROF_HTML:
		return "pyinstrument-html";
	case PFS_PYPROF_SPEEDSCOPE:
		return "speedscope";
	case PFS_PYPROF_FOLDED:
		return "folded";
	case PFS_PYPROF_DIR:
		return "directory";
	default:
		return "unknown";
	}
}
