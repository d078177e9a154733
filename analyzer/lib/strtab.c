#include "strtab.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static uint64_t fnv(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

void pfs_strtab_init(struct pfs_strtab *t)
{
	memset(t, 0, sizeof(*t));
}

void pfs_strtab_release(struct pfs_strtab *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i]);
	free(t->v);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static void rehash(struct pfs_strtab *t)
{
	size_t ns = t->nslots ? t->nslots * 2 : 1024;
	uint32_t *sl = pfs_xcalloc(ns, sizeof(*sl));
	for (size_t i = 0; i < t->n; i++) {
		size_t h = (size_t)fnv(t->v[i], strlen(t->v[i])) & (ns - 1);
		while (sl[h])
			h = (h + 1) & (ns - 1);
		sl[h] = (uint32_t)i + 1;
	}
	free(t->slots);
	t->slots = sl;
	t->nslots = ns;
}

uint32_t pfs_strtab_add(struct pfs_strtab *t, const char *s, size_t len)
{
	const char *nul = memchr(s, 0, len);
	if (nul)
		len = (size_t)(nul - s);
	if (2 * (t->n + 1) > t->nslots)
		rehash(t);
	size_t h = (size_t)fnv(s, len) & (t->nslots - 1);
	for (; t->slots[h]; h = (h + 1) & (t->nslots - 1)) {
		const char *x = t->v[t->slots[h] - 1];
		if (!strncmp(x, s, len) && !x[len])
			return t->slots[h] - 1;
	}
	PFS_GROW(t->v, t->cap, t->n + 1);
	t->v[t->n] = pfs_xstrndup(s, len);
	t->slots[h] = (uint32_t)++t->n;
	return (uint32_t)t->n - 1;
}

uint32_t pfs_strtab_cstr(struct pfs_strtab *t, const char *s)
{
	return pfs_strtab_add(t, s ? s : "", s ? strlen(s) : 0);
}
