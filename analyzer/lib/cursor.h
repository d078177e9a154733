/*
 * cursor: bounds-checked reads from a byte range in a given byte order.
 *
 * Every read from captured data goes through a cursor: it never reads past end, never casts
 * a pointer (memcpy, so unaligned data is fine) and swaps when the data's byte order is not
 * ours. A failed read sets the sticky `bad` flag, returns 0 and leaves the position unchanged,
 * so decoders may read a whole structure and check `bad` once at the end.
 *
 * The cursor borrows its bytes; it owns nothing.
 */
#ifndef PFS_CURSOR_H
#define PFS_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct pfs_cursor {
	const uint8_t *p;   /* next byte */
	const uint8_t *end; /* one past the last byte */
	bool swap;	    /* the data's byte order is not the host's */
	bool bad;	    /* a read ran past end */
};

static inline struct pfs_cursor pfs_cursor_make(const void *p, size_t len, bool swap)
{
	struct pfs_cursor c = {(const uint8_t *)p, (const uint8_t *)p + len, swap, false};
	return c;
}

static inline size_t pfs_cursor_left(const struct pfs_cursor *c)
{
	return (size_t)(c->end - c->p);
}

static inline bool pfs_cursor_need(struct pfs_cursor *c, size_t n)
{
	if (c->bad || pfs_cursor_left(c) < n) {
		c->bad = true;
		return false;
	}
	return true;
}

static inline uint8_t pfs_cursor_u8(struct pfs_cursor *c)
{
	if (!pfs_cursor_need(c, 1))
		return 0;
	return *c->p++;
}

static inline uint16_t pfs_cursor_u16(struct pfs_cursor *c)
{
	uint16_t v;
	if (!pfs_cursor_need(c, 2))
		return 0;
	memcpy(&v, c->p, 2);
	c->p += 2;
	return c->swap ? __builtin_bswap16(v) : v;
}

static inline uint32_t pfs_cursor_u32(struct pfs_cursor *c)
{
	uint32_t v;
	if (!pfs_cursor_need(c, 4))
		return 0;
	memcpy(&v, c->p, 4);
	c->p += 4;
	return c->swap ? __builtin_bswap32(v) : v;
}

static inline uint64_t pfs_cursor_u64(struct pfs_cursor *c)
{
	uint64_t v;
	if (!pfs_cursor_need(c, 8))
		return 0;
	memcpy(&v, c->p, 8);
	c->p += 8;
	return c->swap ? __builtin_bswap64(v) : v;
}

/* Returns a pointer to the next n bytes and skips them, or NULL (and bad) if fewer remain. */
static inline const uint8_t *pfs_cursor_bytes(struct pfs_cursor *c, size_t n)
{
	const uint8_t *p;
	if (!pfs_cursor_need(c, n))
		return NULL;
	p = c->p;
	c->p += n;
	return p;
}

static inline bool pfs_cursor_skip(struct pfs_cursor *c, size_t n)
{
	return pfs_cursor_bytes(c, n) != NULL;
}

/* Reads a u64 from raw bytes in the given order (for arrays kept in file order). */
static inline uint64_t pfs_load_u64(const void *p, bool swap)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return swap ? __builtin_bswap64(v) : v;
}

static inline uint32_t pfs_load_u32(const void *p, bool swap)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return swap ? __builtin_bswap32(v) : v;
}

#endif
