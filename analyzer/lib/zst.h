/*
 * zst: zstd compression, the only module that uses libzstd. perfdata feeds a capture's
 * compressed records (one continuous stream cut into chunks) through a pfs_zst_stream; store
 * compresses and restores the blobs it keeps (a capture's report data) in one call each.
 *
 * Ownership: a stream is pfs_zst_stream_new() / pfs_zst_stream_free(); buffers the one-shot
 * calls return are malloc'd and the caller's to free.
 */
#ifndef PFS_ZST_H
#define PFS_ZST_H

#include <stddef.h>

#include "err.h"

struct pfs_zst_stream;

/* A decompression stream, or NULL when zstd cannot allocate one. */
struct pfs_zst_stream *pfs_zst_stream_new(void);
void pfs_zst_stream_free(struct pfs_zst_stream *s);
/* Forgets a broken frame: the next input starts a new one. */
void pfs_zst_stream_reset(struct pfs_zst_stream *s);

/*
 * Decompresses from in[*in_pos..in_len) into out[*out_pos..out_cap), advancing both positions.
 * Returns 0 (stop when the output is full or the input consumed), or PFS_EFORMAT with *why
 * (may be NULL) set to zstd's static description of the damage.
 */
int pfs_zst_stream_step(struct pfs_zst_stream *s, const void *in, size_t in_len, size_t *in_pos,
			void *out, size_t out_cap, size_t *out_pos,
			const char **why) PFS_MUST_CHECK;

/* Compresses len bytes into one frame that records its size. Returns the malloc'd frame
 * (length in *out_len); never fails (allocation failure aborts, as pfs_xmalloc does). */
void *pfs_zst_compress(const void *p, size_t len, size_t *out_len);

/*
 * Restores a frame pfs_zst_compress() made, refusing one that says it holds more than max
 * bytes. Returns 0 and a malloc'd *out (NUL-terminated after *out_len bytes), or PFS_EFORMAT
 * (err names what is wrong with the frame; what names the blob in the message).
 */
int pfs_zst_decompress(const void *p, size_t len, size_t max, const char *what, char **out,
		       size_t *out_len, struct pfs_err *err) PFS_MUST_CHECK;

#endif
