/*
 * xalloc: allocation that cannot fail. Nothing in perfsight recovers from running out of
 * memory, so these print one line and abort (as git and mandoc do). Sizes derived from input
 * must be capped by the caller before they get here (PFS_ELIMIT).
 */
#ifndef PFS_XALLOC_H
#define PFS_XALLOC_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

void *pfs_xmalloc(size_t n);
void *pfs_xcalloc(size_t n, size_t size);
void *pfs_xrealloc(void *p, size_t n);
/* realloc of n elements of size, aborting on overflow of n * size */
void *pfs_xreallocarray(void *p, size_t n, size_t size);
char *pfs_xstrdup(const char *s);
char *pfs_xstrndup(const char *s, size_t n);
/*
 * Grows *p (of *cap elements) to hold at least need elements; doubles to amortize. A need
 * beyond what doubling can reach is asked for as it is (and pfs_xreallocarray aborts on one
 * that overflows): the doubling never wraps to 0.
 */
#define PFS_GROW(p, cap, need)                                                                     \
	do {                                                                                       \
		if ((need) > (cap)) {                                                              \
			size_t pfs_nc_ = (cap) ? (cap)*2 : 16;                                     \
			while (pfs_nc_ < (need))                                                   \
				pfs_nc_ = pfs_nc_ > SIZE_MAX / 2 ? (size_t)(need) : pfs_nc_ * 2;   \
			(p) = pfs_xreallocarray((p), pfs_nc_, sizeof(*(p)));                       \
			(cap) = pfs_nc_;                                                           \
		}                                                                                  \
	} while (0)

/* Grows *p (of *cap elements) to hold index i, the new elements zeroed; doubles to amortize. */
#define PFS_GROW_ZEROED(p, cap, i)                                                                 \
	do {                                                                                       \
		if ((size_t)(i) >= (cap)) {                                                        \
			size_t pfs_nc_ = (cap) ? (cap) : 64;                                       \
			while (pfs_nc_ <= (size_t)(i))                                             \
				pfs_nc_ = pfs_nc_ > SIZE_MAX / 2 ? (size_t)(i) + 1 : pfs_nc_ * 2;  \
			(p) = pfs_xreallocarray((p), pfs_nc_, sizeof(*(p)));                       \
			memset((p) + (cap), 0, (pfs_nc_ - (cap)) * sizeof(*(p)));                  \
			(cap) = pfs_nc_;                                                           \
		}                                                                                  \
	} while (0)

#endif
