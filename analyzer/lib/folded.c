/*
 * folded: folded stacks into an aggregated tree.
 */
#include <stdint.h>
#include <string.h>

#include "folded.h"
#include "pyclass.h"
#include "xalloc.h"

static int has_prefix(const char *s, size_t len, const char *p)
{
	size_t n = strlen(p);
	return len >= n && !memcmp(s, p, n);
}

enum pfs_fg_kind pfs_folded_kind(const char *name, size_t len)
{
	const char *func, *file;
	size_t flen, filelen;
	char buf[256];

	if (has_prefix(name, len, "[gc]"))
		return PFS_KIND_GC;
	if (has_prefix(name, len, "[gil"))
		return PFS_KIND_GIL;
	if (has_prefix(name, len, "[kernel]"))
		return PFS_KIND_KERNEL;
	if (has_prefix(name, len, "[interpreter]") || has_prefix(name, len, "[alloc]"))
		return PFS_KIND_INTERP;
	if (has_prefix(name, len, "[native"))
		return PFS_KIND_NATIVE;
	if (has_prefix(name, len, "[unknown]") || has_prefix(name, len, "[other]") ||
	    has_prefix(name, len, "[truncated]"))
		return PFS_KIND_OTHER;
	if (len >= 4 && !memcmp(name + len - 4, "_[k]", 4))
		return PFS_KIND_KERNEL;
	if (len >= sizeof(buf))
		len = sizeof(buf) - 1;
	memcpy(buf, name, len);
	buf[len] = '\0';
	if (pfs_pyclass_split_pyname(buf, &func, &flen, &file, &filelen))
		return pfs_pyclass_origin(file, filelen) == PFS_PYORIG_APP ? PFS_KIND_PYTHON
									   : PFS_KIND_LIBRARY;
	switch (pfs_pyclass_function(NULL, buf, NULL)) {
	case PFS_PYFN_GC:
		return PFS_KIND_GC;
	case PFS_PYFN_GIL_TAKE:
	case PFS_PYFN_GIL_DROP:
		return PFS_KIND_GIL;
	case PFS_PYFN_EVAL:
	case PFS_PYFN_ALLOC:
		return PFS_KIND_INTERP;
	case PFS_PYFN_NONE:
		break;
	}
	if (has_prefix(buf, len, "_Py") || has_prefix(buf, len, "Py"))
		return PFS_KIND_INTERP;
	return PFS_KIND_NATIVE;
}

/*
 * A line longer than this, or with more frames, is a bad line: pyprof's folded loader has the
 * same bounds, and a flame graph of a 5M-frame stack is a gigabyte of SVG (F9 of the fuzz
 * findings: one 10 MB line).
 */
#define MAX_LINE ((size_t)1 << 20)
#define MAX_DEPTH 100000

/* The frames of stack [f, end) ("a;b;c"): more than MAX_DEPTH is counted as MAX_DEPTH + 1. */
static size_t depth_of(const char *f, const char *end)
{
	size_t n = 1;
	while (n <= MAX_DEPTH && (f = memchr(f, ';', (size_t)(end - f)))) {
		f++;
		n++;
	}
	return n;
}

long long pfs_folded_read(const char *buf, size_t len, struct pfs_fg_tree *t, struct pfs_diag *d,
			  struct pfs_err *err)
{
	long long lines = 0;
	uint64_t sum = 0;
	size_t pos = 0;

	while (pos < len) {
		const char *line = buf + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - line) : len - pos;
		size_t off = pos;
		pos += ll + (nl ? 1 : 0);
		if (ll && line[ll - 1] == '\r')
			ll--;
		if (!ll)
			continue;
		const char *sp = NULL;
		for (size_t i = ll; i-- > 0;)
			if (line[i] == ' ') {
				sp = line + i;
				break;
			}
		uint64_t count = 0;
		/* a NUL cannot be part of a frame name (names are C strings): the line is bad */
		int ok = sp && sp > line && sp + 1 < line + ll && !memchr(line, '\0', ll);
		for (const char *c = sp ? sp + 1 : line; ok && c < line + ll; c++) {
			if (*c < '0' || *c > '9' || count > (uint64_t)(INT64_MAX - (*c - '0')) / 10)
				ok = 0;
			else
				count = count * 10 + (uint64_t)(*c - '0');
		}
		if (!ok) {
			pfs_diag_add(d, PFS_ERROR, "folded-bad-line", off,
				     "folded line %lld is not \"frame;frame COUNT\"", lines + 1);
			continue;
		}
		if (ll > MAX_LINE || depth_of(line, sp) > MAX_DEPTH) {
			pfs_diag_add(d, PFS_ERROR, "folded-bad-line", off,
				     "folded line %lld is longer than %zu bytes or deeper than %d "
				     "frames",
				     lines + 1, MAX_LINE, MAX_DEPTH);
			continue;
		}
		if (sum + count < sum)
			return pfs_err_set(err, PFS_ELIMIT, off,
					   "folded counts overflow 64 bits at byte offset %zu",
					   off);
		sum += count;
		size_t node = 0;
		const char *f = line;
		while (f < sp) {
			const char *semi = memchr(f, ';', (size_t)(sp - f));
			const char *end = semi ? semi : sp;
			if (end > f)
				node = pfs_fg_tree_child(t, node, f, (size_t)(end - f),
							 pfs_folded_kind(f, (size_t)(end - f)));
			f = end + 1;
		}
		t->v[node].self += count;
		lines++;
	}
	pfs_fg_tree_totals(t);
	return lines;
}
