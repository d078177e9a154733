/* zst: what store keeps comes back; frames that lie about their size or are cut are refused. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "zst.h"

static void test_roundtrip(void)
{
	struct pfs_err err;
	size_t n = 200000, zlen, len;
	char *src = malloc(n), *back;
	for (size_t i = 0; i < n; i++)
		src[i] = (char)("{\"name\":\"x\"}"[i % 12] + (i % 1000 == 0));
	void *z = pfs_zst_compress(src, n, &zlen);
	T_ASSERT(zlen > 0 && zlen < n / 10);
	T_EQ(pfs_zst_decompress(z, zlen, n, "blob", &back, &len, &err), 0);
	T_EQ(len, n);
	T_ASSERT(!memcmp(back, src, n));
	T_EQ(back[n], 0);
	free(back);
	/* more than the caller allows */
	T_EQ(pfs_zst_decompress(z, zlen, n - 1, "blob", &back, &len, &err), PFS_EFORMAT);
	T_ASSERT(back == NULL && strstr(err.msg, "blob") && strstr(err.msg, "more than"));
	/* cut short */
	T_EQ(pfs_zst_decompress(z, zlen / 2, n, "blob", &back, &len, &err), PFS_EFORMAT);
	T_ASSERT(back == NULL && strstr(err.msg, "blob"));
	free(z);
	free(src);
}

static void test_empty_and_garbage(void)
{
	struct pfs_err err;
	size_t zlen, len;
	char *back;
	void *z = pfs_zst_compress("", 0, &zlen);
	T_EQ(pfs_zst_decompress(z, zlen, 10, "empty", &back, &len, &err), 0);
	T_EQ(len, 0);
	T_EQ(back[0], 0);
	free(back);
	free(z);
	T_EQ(pfs_zst_decompress("not zstd at all", 15, 100, "junk", &back, &len, &err),
	     PFS_EFORMAT);
	T_ASSERT(back == NULL && strstr(err.msg, "junk"));
	T_EQ(pfs_zst_decompress("", 0, 100, "nothing", &back, &len, &err), PFS_EFORMAT);
}

/* The stream perfdata uses: a frame fed in pieces comes out whole. */
static void test_stream_in_pieces(void)
{
	size_t n = 50000, zlen, got = 0;
	char *src = malloc(n), *out = malloc(n);
	const char *why = NULL;
	for (size_t i = 0; i < n; i++)
		src[i] = (char)(i * 7 % 251);
	void *z = pfs_zst_compress(src, n, &zlen);
	struct pfs_zst_stream *s = pfs_zst_stream_new();
	T_ASSERT(s != NULL);
	for (size_t off = 0; off < zlen; off += 100) {
		size_t in_pos = 0, piece = zlen - off < 100 ? zlen - off : 100;
		while (in_pos < piece)
			T_EQ(pfs_zst_stream_step(s, (char *)z + off, piece, &in_pos, out, n, &got,
						 &why),
			     0);
	}
	T_EQ(got, n);
	T_ASSERT(!memcmp(out, src, n));
	pfs_zst_stream_reset(s);
	size_t in_pos = 0;
	got = 0;
	T_EQ(pfs_zst_stream_step(s, "garbage!", 8, &in_pos, out, n, &got, &why), PFS_EFORMAT);
	T_ASSERT(why != NULL);
	pfs_zst_stream_free(s);
	pfs_zst_stream_free(NULL);
	free(z);
	free(src);
	free(out);
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
	    T_CASE(roundtrip),
	    T_CASE(empty_and_garbage),
	    T_CASE(stream_in_pieces),
	};
	return t_main(argc, argv, "zst", cases, sizeof(cases) / sizeof(cases[0]));
}
