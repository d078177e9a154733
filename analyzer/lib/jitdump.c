#include "jitdump.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cursor.h"
#include "xalloc.h"

#define MAGIC 0x4A695444u /* "JiTD" as the writer's u32 */
#define MAGIC_SWAPPED 0x4454694Au
#define MAX_FILE (1ull << 30)
#define HEADER_MIN 40 /* magic .. flags */
#define RECORD_HEADER 16

enum { CODE_LOAD = 0, CODE_MOVE = 1, CODE_DEBUG_INFO = 2, CODE_CLOSE = 3, CODE_UNWINDING = 4 };

struct entry {
	struct pfs_jitcode c;
	size_t order; /* record order: a later region wins on equal addresses */
};

struct pfs_jitdump {
	char *path;
	uint8_t *buf;
	size_t len;
	uint32_t machine, pid;
	struct entry *v;
	size_t n, cap;
};

/* The whole file, refused when it is not a regular file or too large. */
static int slurp(struct pfs_jitdump *jd, const char *path, struct pfs_err *err)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return pfs_err_sys(err, "cannot open jitdump %s", path);
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st)) {
		rc = pfs_err_sys(err, "cannot stat jitdump %s", path);
	} else if (!S_ISREG(st.st_mode)) {
		rc = pfs_err_set(err, PFS_EFORMAT, PFS_NO_OFF, "jitdump %s: not a regular file",
				 path);
	} else if ((uint64_t)st.st_size > MAX_FILE) {
		rc = pfs_err_set(err, PFS_ELIMIT, PFS_NO_OFF,
				 "jitdump %s: %lld bytes, more than the 1 GiB read", path,
				 (long long)st.st_size);
	} else {
		jd->buf = pfs_xmalloc((size_t)st.st_size + 1);
		while (jd->len < (size_t)st.st_size) {
			ssize_t k = read(fd, jd->buf + jd->len, (size_t)st.st_size - jd->len);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0) {
				rc = pfs_err_sys(err, "cannot read jitdump %s", path);
				break;
			}
			if (k == 0)
				break; /* shrank while read: take what is there */
			jd->len += (size_t)k;
		}
	}
	close(fd);
	return rc;
}

static void add(struct pfs_jitdump *jd, const struct pfs_jitcode *c)
{
	PFS_GROW(jd->v, jd->cap, jd->n + 1);
	jd->v[jd->n] = (struct entry){*c, jd->n};
	jd->n++;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	if (x->c.addr != y->c.addr)
		return x->c.addr < y->c.addr ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* A NUL-terminated string at c, within the record; NULL when it has no terminator. */
static const char *cstring(struct pfs_cursor *c)
{
	const uint8_t *nul = memchr(c->p, 0, pfs_cursor_left(c));
	if (!nul)
		return NULL;
	const char *s = (const char *)c->p;
	pfs_cursor_skip(c, (size_t)(nul - c->p) + 1);
	return s;
}

static void truncated(struct pfs_jitdump *jd, struct pfs_diag *diag, size_t off, const char *why)
{
	pfs_diag_add(diag, PFS_WARN, "jitdump-truncated", off,
		     "%s: record at byte offset %zu %s; the records after it are not read",
		     jd->path, off, why);
}

/* The records after the header; stops at the first bad one. */
static void records(struct pfs_jitdump *jd, size_t pos, bool swap, struct pfs_diag *diag)
{
	const uint8_t *unw = NULL;
	size_t unw_len = 0, unw_hdr = 0;
	while (pos < jd->len) {
		struct pfs_cursor c = pfs_cursor_make(jd->buf + pos, jd->len - pos, swap);
		uint32_t id = pfs_cursor_u32(&c);
		uint32_t size = pfs_cursor_u32(&c);
		(void)pfs_cursor_u64(&c); /* timestamp: regions are not matched by time */
		if (c.bad) {
			truncated(jd, diag, pos, "is cut short in its header");
			return;
		}
		if (size < RECORD_HEADER || size > jd->len - pos) {
			truncated(jd, diag, pos,
				  size < RECORD_HEADER ? "has a size below 16"
						       : "runs past the end of the file");
			return;
		}
		c = pfs_cursor_make(jd->buf + pos + RECORD_HEADER, size - RECORD_HEADER, swap);
		struct pfs_jitcode code = {0};
		switch (id) {
		case CODE_LOAD: {
			(void)pfs_cursor_u32(&c); /* pid, tid */
			(void)pfs_cursor_u32(&c);
			(void)pfs_cursor_u64(&c); /* vma */
			code.addr = pfs_cursor_u64(&c);
			code.size = pfs_cursor_u64(&c);
			code.index = pfs_cursor_u64(&c);
			code.name = c.bad ? NULL : cstring(&c);
			/* the code is the record's last size bytes (padding may follow the name) */
			if (c.bad || !code.name || code.size > pfs_cursor_left(&c) ||
			    code.addr + code.size < code.addr) {
				truncated(jd, diag, pos, "is not a code load this reads");
				return;
			}
			code.code = c.end - code.size;
			if (unw) {
				code.eh_frame = unw;
				code.eh_frame_len = unw_len - unw_hdr;
				code.eh_frame_hdr_len = unw_hdr;
				code.eh_frame_addr = code.addr + ((code.size + 7) & ~(uint64_t)7);
			}
			unw = NULL;
			if (code.size)
				add(jd, &code);
			break;
		}
		case CODE_MOVE: {
			(void)pfs_cursor_u32(&c);
			(void)pfs_cursor_u32(&c);
			(void)pfs_cursor_u64(&c);
			uint64_t old = pfs_cursor_u64(&c), to = pfs_cursor_u64(&c);
			uint64_t csize = pfs_cursor_u64(&c), index = pfs_cursor_u64(&c);
			if (c.bad) {
				truncated(jd, diag, pos, "is not a code move this reads");
				return;
			}
			/* the latest region of that index at the old address */
			for (size_t i = jd->n; i-- > 0;) {
				struct pfs_jitcode *e = &jd->v[i].c;
				if (e->index != index || e->addr != old || e->size != csize)
					continue;
				code = *e;
				if (code.eh_frame)
					code.eh_frame_addr += to - old;
				code.addr = to;
				if (to + csize >= to)
					add(jd, &code);
				break;
			}
			break;
		}
		case CODE_UNWINDING: {
			uint64_t usize = pfs_cursor_u64(&c), hsize = pfs_cursor_u64(&c);
			(void)pfs_cursor_u64(&c); /* mapped size */
			if (c.bad || usize > pfs_cursor_left(&c) || hsize > usize) {
				truncated(jd, diag, pos, "is not unwinding info this reads");
				return;
			}
			unw = c.p;
			unw_len = (size_t)usize;
			unw_hdr = (size_t)hsize;
			break;
		}
		case CODE_CLOSE:
			return;
		default: /* debug info (line tables), and types this does not know */
			break;
		}
		pos += size;
	}
}

int pfs_jitdump_load(struct pfs_jitdump **out, const char *path, struct pfs_diag *diag,
		     struct pfs_err *err)
{
	struct pfs_jitdump *jd = pfs_xcalloc(1, sizeof(*jd));
	jd->path = pfs_xstrdup(path);
	int rc = slurp(jd, path, err);
	if (rc < 0) {
		pfs_jitdump_free(jd);
		return rc;
	}
	struct pfs_cursor c = pfs_cursor_make(jd->buf, jd->len, false);
	uint32_t magic = pfs_cursor_u32(&c);
	bool swap = magic == MAGIC_SWAPPED;
	c.swap = swap;
	uint32_t version = pfs_cursor_u32(&c);
	uint32_t hsize = pfs_cursor_u32(&c);
	jd->machine = pfs_cursor_u32(&c);
	(void)pfs_cursor_u32(&c);
	jd->pid = pfs_cursor_u32(&c);
	if (c.bad || (magic != MAGIC && magic != MAGIC_SWAPPED)) {
		rc = pfs_err_set(err, PFS_EFORMAT, 0, "%s: not a jitdump (no \"JiTD\" header)",
				 path);
	} else if (version != 1) {
		rc = pfs_err_set(err, PFS_EUNSUPP, 4, "%s: jitdump version %u (1 is read)", path,
				 version);
	} else if (hsize < HEADER_MIN || hsize > jd->len) {
		rc = pfs_err_set(err, PFS_EFORMAT, 8,
				 "%s: jitdump header of %u bytes (at least %d, at most the file)",
				 path, hsize, HEADER_MIN);
	}
	if (rc < 0) {
		pfs_jitdump_free(jd);
		return rc;
	}
	records(jd, hsize, swap, diag);
	if (jd->n)
		qsort(jd->v, jd->n, sizeof(*jd->v), cmp_entry);
	size_t w = 0;
	for (size_t i = 0; i < jd->n; i++) {
		if (w && jd->v[w - 1].c.addr == jd->v[i].c.addr)
			w--;
		jd->v[w++] = jd->v[i];
	}
	jd->n = w;
	*out = jd;
	return 0;
}

void pfs_jitdump_free(struct pfs_jitdump *jd)
{
	if (!jd)
		return;
	free(jd->path);
	free(jd->buf);
	free(jd->v);
	free(jd);
}

const struct pfs_jitcode *pfs_jitdump_find(const struct pfs_jitdump *jd, uint64_t addr)
{
	size_t lo = 0, hi = jd->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (jd->v[mid].c.addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* regions may overlap when code memory was reused: the nearest start that covers wins */
	for (size_t i = lo; i-- > 0 && lo - i <= 4;)
		if (addr - jd->v[i].c.addr < jd->v[i].c.size)
			return &jd->v[i].c;
	return NULL;
}

const char *pfs_jitdump_path(const struct pfs_jitdump *jd)
{
	return jd->path;
}

uint32_t pfs_jitdump_machine(const struct pfs_jitdump *jd)
{
	return jd->machine;
}

uint32_t pfs_jitdump_pid(const struct pfs_jitdump *jd)
{
	return jd->pid;
}

size_t pfs_jitdump_size(const struct pfs_jitdump *jd)
{
	return jd->n;
}

const struct pfs_jitcode *pfs_jitdump_at(const struct pfs_jitdump *jd, size_t i)
{
	return i < jd->n ? &jd->v[i].c : NULL;
}
