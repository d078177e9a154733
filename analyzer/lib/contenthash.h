/*
 * contenthash: the content hash every database stores for each capture (captures.content_hash,
 * docs/schema.md), by which import finds a capture already imported. It is a contract with
 * every database ever written: tests/unit/t_contenthash.c pins it with test vectors, and a
 * change to it is a change of schema.
 *
 * Not a security boundary: four independent 64-bit multiply-rotate lanes over 32-byte stripes
 * (independent so that the CPU runs them side by side and the hash keeps up with a page-cached
 * read), mixed with the length into 32 hex digits.
 *
 * Ownership: a struct pfs_contenthash is a value, started from pfs_contenthash_start; nothing
 * to free.
 */
#ifndef PFS_CONTENTHASH_H
#define PFS_CONTENTHASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct pfs_contenthash {
	uint64_t v[4], len;
	unsigned char tail[32];
	size_t ntail;
};

/* The state every hash starts from. */
extern const struct pfs_contenthash pfs_contenthash_start;

void pfs_contenthash_bytes(struct pfs_contenthash *h, const void *data, size_t n);
/* The 32 hex digits (and a NUL) of what h was given; h is spent. */
void pfs_contenthash_hex(struct pfs_contenthash *h, char out[33]);
/* Adds a file's bytes (read with pread: the descriptor's position stays 0). */
int pfs_contenthash_file(struct pfs_contenthash *h, const char *path,
			 struct pfs_err *err) PFS_MUST_CHECK;
/*
 * The hash of an input: a file's bytes, or a directory's regular files, each as its name (with
 * its NUL) then its bytes, in name order. Returns 0 or a negative code with err set.
 */
int pfs_contenthash_input(const char *path, bool is_dir, char out[33],
			  struct pfs_err *err) PFS_MUST_CHECK;

#endif
