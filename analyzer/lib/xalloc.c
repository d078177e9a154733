#include "xalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t n)
{
	fprintf(stderr, "perfsight: out of memory (allocating %zu bytes)\n", n);
	abort();
}

void *pfs_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom(n);
	return p;
}

void *pfs_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom(n * size);
	return p;
}

void *pfs_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom(n);
	return q;
}

void *pfs_xreallocarray(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		oom(SIZE_MAX);
	return pfs_xrealloc(p, n * size);
}

char *pfs_xstrdup(const char *s)
{
	return pfs_xstrndup(s, strlen(s));
}

char *pfs_xstrndup(const char *s, size_t n)
{
	char *p = pfs_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}
