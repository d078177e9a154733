#include "zst.h"

#include <stdlib.h>
#include <zstd.h>

#include "xalloc.h"

/* Level 6 packs report data about 13:1 in tens of milliseconds; higher levels gain little. */
#define LEVEL 6

struct pfs_zst_stream {
	ZSTD_DStream *ds;
};

struct pfs_zst_stream *pfs_zst_stream_new(void)
{
	ZSTD_DStream *ds = ZSTD_createDStream();
	if (!ds)
		return NULL;
	ZSTD_initDStream(ds);
	struct pfs_zst_stream *s = pfs_xmalloc(sizeof(*s));
	s->ds = ds;
	return s;
}

void pfs_zst_stream_free(struct pfs_zst_stream *s)
{
	if (!s)
		return;
	ZSTD_freeDStream(s->ds);
	free(s);
}

void pfs_zst_stream_reset(struct pfs_zst_stream *s)
{
	ZSTD_initDStream(s->ds);
}

int pfs_zst_stream_step(struct pfs_zst_stream *s, const void *in, size_t in_len, size_t *in_pos,
			void *out, size_t out_cap, size_t *out_pos, const char **why)
{
	ZSTD_inBuffer i = {in, in_len, *in_pos};
	ZSTD_outBuffer o = {out, out_cap, *out_pos};
	size_t ret = ZSTD_decompressStream(s->ds, &o, &i);
	*in_pos = i.pos;
	*out_pos = o.pos;
	if (ZSTD_isError(ret)) {
		if (why)
			*why = ZSTD_getErrorName(ret);
		return PFS_EFORMAT;
	}
	return 0;
}

void *pfs_zst_compress(const void *p, size_t len, size_t *out_len)
{
	size_t cap = ZSTD_compressBound(len);
	void *buf = pfs_xmalloc(cap ? cap : 1);
	size_t n = ZSTD_compress(buf, cap, p, len, LEVEL);
	/* with a buffer of the bound's size, only allocation inside zstd can fail */
	if (ZSTD_isError(n))
		abort();
	*out_len = n;
	return buf;
}

int pfs_zst_decompress(const void *p, size_t len, size_t max, const char *what, char **out,
		       size_t *out_len, struct pfs_err *err)
{
	unsigned long long n = ZSTD_getFrameContentSize(p, len);
	*out = NULL;
	*out_len = 0;
	if (n == ZSTD_CONTENTSIZE_ERROR || n == ZSTD_CONTENTSIZE_UNKNOWN)
		return pfs_err_set(err, PFS_EFORMAT, PFS_NO_OFF,
				   "%s: not a zstd frame that records its size (%zu bytes)", what,
				   len);
	if (n > max)
		return pfs_err_set(err, PFS_EFORMAT, PFS_NO_OFF,
				   "%s: says it holds %llu bytes, more than the %zu allowed", what,
				   n, max);
	char *buf = pfs_xmalloc((size_t)n + 1);
	size_t got = ZSTD_decompress(buf, (size_t)n, p, len);
	if (ZSTD_isError(got) || got != n) {
		free(buf);
		return pfs_err_set(err, PFS_EFORMAT, PFS_NO_OFF, "%s: cannot be decompressed (%s)",
				   what,
				   ZSTD_isError(got) ? ZSTD_getErrorName(got) : "short frame");
	}
	buf[n] = 0;
	*out = buf;
	*out_len = (size_t)n;
	return 0;
}
