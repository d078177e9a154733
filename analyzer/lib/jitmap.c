#include "jitmap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xalloc.h"

struct jit_entry {
	uint64_t start, end;
	size_t name;  /* offset into the name pool */
	size_t order; /* line order, so a later entry wins on equal starts */
};

struct pfs_jitmap {
	char *path;
	struct jit_entry *v;
	size_t n, cap;
	char *pool;
	size_t pool_len, pool_cap;
};

struct jit_slot {
	uint32_t pid;
	struct pfs_jitmap *map; /* NULL: searched, none found */
};

struct pfs_jitmaps {
	char **dirs; /* the last is /tmp */
	size_t n_dirs;
	bool no_tmp; /* the capture was made elsewhere: /tmp holds another machine's files */
	struct jit_slot *slots;
	size_t n_slots, cap_slots;
	struct pfs_diag *diag;
};

static int parse_hex(const char **p, uint64_t *out)
{
	const char *s = *p;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	uint64_t v = 0;
	int nd = 0;
	for (;; s++, nd++) {
		int c = *s, d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			break;
		if (nd >= 16)
			return -1;
		v = v << 4 | (uint64_t)d;
	}
	if (!nd)
		return -1;
	*p = s;
	*out = v;
	return 0;
}

/* One "START SIZE NAME" line; 0 when well formed. */
static int parse_line(struct pfs_jitmap *jm, const char *line, size_t len, size_t order)
{
	const char *p = line;
	uint64_t start, size;
	if (parse_hex(&p, &start) || *p != ' ')
		return -1;
	p++;
	if (parse_hex(&p, &size) || *p != ' ')
		return -1;
	p++;
	size_t nlen = len - (size_t)(p - line);
	if (!nlen || !size || start + size < start)
		return -1;
	PFS_GROW(jm->pool, jm->pool_cap, jm->pool_len + nlen + 1);
	memcpy(jm->pool + jm->pool_len, p, nlen);
	jm->pool[jm->pool_len + nlen] = 0;
	PFS_GROW(jm->v, jm->cap, jm->n + 1);
	jm->v[jm->n++] = (struct jit_entry){start, start + size, jm->pool_len, order};
	jm->pool_len += nlen + 1;
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct jit_entry *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/*
 * Opens a map to read: a regular file of at most MAX_FILE bytes. A map comes with a capture
 * (its maps/ directory) or from /tmp, so it may be anything: a FIFO would block the open and
 * then the reading (O_NONBLOCK, and refused), a link to /dev/zero would give one endless line.
 */
#define MAX_FILE ((uint64_t)1 << 30)

static int open_map(const char *path, FILE **out, struct pfs_err *err)
{
	struct stat st;
	int rc, fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return pfs_err_sys(err, "cannot open JIT map %s", path);
	if (fstat(fd, &st) != 0)
		rc = pfs_err_sys(err, "cannot stat JIT map %s", path);
	else if (!S_ISREG(st.st_mode))
		rc = pfs_err_set(err, PFS_EFORMAT, PFS_NO_OFF, "JIT map %s is not a regular file",
				 path);
	else if ((uint64_t)st.st_size > MAX_FILE)
		rc = pfs_err_set(err, PFS_ELIMIT, PFS_NO_OFF,
				 "JIT map %s: %lld bytes, more than the 1 GiB read", path,
				 (long long)st.st_size);
	else if ((*out = fdopen(fd, "r")))
		return 0;
	else
		rc = pfs_err_sys(err, "cannot read JIT map %s", path);
	close(fd);
	return rc;
}

int pfs_jitmap_load(struct pfs_jitmap **out, const char *path, struct pfs_diag *diag,
		    struct pfs_err *err)
{
	FILE *f = NULL;
	int orc = open_map(path, &f, err);
	if (orc < 0)
		return orc;
	struct pfs_jitmap *jm = pfs_xcalloc(1, sizeof(*jm));
	jm->path = pfs_xstrdup(path);
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		size_t len = (size_t)n;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		if (!len)
			continue;
		if (memchr(line, 0, len) || parse_line(jm, line, len, lineno))
			pfs_diag_add(diag, PFS_WARN, "jit-map-malformed", PFS_NO_OFF,
				     "%s:%zu: not \"START SIZE NAME\"; line skipped", path, lineno);
	}
	free(line);
	int rd_err = ferror(f);
	fclose(f);
	if (rd_err) {
		pfs_jitmap_free(jm);
		return pfs_err_set(err, PFS_EIO, PFS_NO_OFF, "cannot read JIT map %s", path);
	}
	if (jm->n)
		qsort(jm->v, jm->n, sizeof(*jm->v), cmp_entry);
	size_t w = 0;
	for (size_t i = 0; i < jm->n; i++) {
		if (w && jm->v[w - 1].start == jm->v[i].start)
			w--;
		jm->v[w++] = jm->v[i];
	}
	jm->n = w;
	*out = jm;
	return 0;
}

void pfs_jitmap_free(struct pfs_jitmap *jm)
{
	if (!jm)
		return;
	free(jm->path);
	free(jm->v);
	free(jm->pool);
	free(jm);
}

const char *pfs_jitmap_lookup(const struct pfs_jitmap *jm, uint64_t addr)
{
	return pfs_jitmap_find(jm, addr, NULL, NULL);
}

const char *pfs_jitmap_find(const struct pfs_jitmap *jm, uint64_t addr, uint64_t *start,
			    uint64_t *size)
{
	size_t lo = 0, hi = jm->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (jm->v[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Regions may overlap when code memory was reused: the nearest start that covers wins. */
	for (size_t i = lo; i-- > 0;) {
		if (addr < jm->v[i].end) {
			if (start)
				*start = jm->v[i].start;
			if (size)
				*size = jm->v[i].end - jm->v[i].start;
			return jm->pool + jm->v[i].name;
		}
		if (lo - i > 4)
			break;
	}
	return NULL;
}

const char *pfs_jitmap_path(const struct pfs_jitmap *jm)
{
	return jm->path;
}

size_t pfs_jitmap_size(const struct pfs_jitmap *jm)
{
	return jm->n;
}

struct pfs_jitmaps *pfs_jitmaps_new(const char *const *dirs, size_t n, struct pfs_diag *diag)
{
	struct pfs_jitmaps *m = pfs_xcalloc(1, sizeof(*m));
	m->dirs = pfs_xcalloc(n + 1, sizeof(*m->dirs));
	for (size_t i = 0; i < n; i++)
		if (dirs[i])
			m->dirs[m->n_dirs++] = pfs_xstrdup(dirs[i]);
	m->dirs[m->n_dirs++] = pfs_xstrdup("/tmp");
	m->diag = diag;
	return m;
}

void pfs_jitmaps_free(struct pfs_jitmaps *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_dirs; i++)
		free(m->dirs[i]);
	free(m->dirs);
	for (size_t i = 0; i < m->n_slots; i++)
		pfs_jitmap_free(m->slots[i].map);
	free(m->slots);
	free(m);
}

/*
 * Whether path, found in directory i, may be read: anything in the directories the capture
 * brings; in /tmp (the last, which any local user can write) only a file this user or root
 * owns, as perf requires of the maps it reads there.
 */
static bool owned_if_tmp(const struct pfs_jitmaps *m, size_t i, const char *path)
{
	struct stat st;
	if (i + 1 != m->n_dirs || lstat(path, &st) != 0)
		return true; /* not /tmp, or nothing there: the open says what it finds */
	return !S_ISLNK(st.st_mode) && (st.st_uid == geteuid() || st.st_uid == 0);
}

const struct pfs_jitmap *pfs_jitmaps_get(struct pfs_jitmaps *m, uint32_t pid)
{
	for (size_t i = 0; i < m->n_slots; i++)
		if (m->slots[i].pid == pid)
			return m->slots[i].map;
	struct pfs_jitmap *jm = NULL;
	for (size_t i = 0; i < m->n_dirs - m->no_tmp && !jm; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/perf-%u.map", m->dirs[i], pid);
		struct pfs_err err;
		if (!owned_if_tmp(m, i, path)) {
			pfs_diag_add(m->diag, PFS_WARN, "jit-map-not-owned", PFS_NO_OFF,
				     "%s is owned neither by this user nor by root: not read (any "
				     "user can write /tmp)",
				     path);
			continue;
		}
		if (pfs_jitmap_load(&jm, path, m->diag, &err) < 0) {
			jm = NULL;
			if (err.sys_errno != ENOENT && err.sys_errno != ENOTDIR)
				pfs_diag_add(m->diag, PFS_WARN, "jit-map-unreadable", PFS_NO_OFF,
					     "%s", err.msg);
		}
	}
	PFS_GROW(m->slots, m->cap_slots, m->n_slots + 1);
	m->slots[m->n_slots++] = (struct jit_slot){pid, jm};
	return jm;
}

void pfs_jitmaps_use_tmp(struct pfs_jitmaps *m, bool use)
{
	m->no_tmp = !use;
}

void pfs_jitmaps_describe(const struct pfs_jitmaps *m, char *buf, size_t len)
{
	size_t at = 0;
	if (len)
		buf[0] = 0;
	for (size_t i = 0; i < m->n_dirs - m->no_tmp && at < len; i++) {
		int k = snprintf(buf + at, len - at, "%s%s", i ? ", " : "", m->dirs[i]);
		if (k < 0)
			break;
		at += (size_t)k;
	}
}

bool pfs_jitmaps_locate(const struct pfs_jitmaps *m, const char *name, char *path, size_t len)
{
	for (size_t i = 0; i < m->n_dirs - m->no_tmp; i++) {
		struct stat st;
		int k = snprintf(path, len, "%s/%s", m->dirs[i], name);
		if (k > 0 && (size_t)k < len && !stat(path, &st) && owned_if_tmp(m, i, path))
			return true;
	}
	return false;
}
