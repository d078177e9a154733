/*
 * contenthash: the hash every database stores per capture. These vectors pin it: if one
 * changes, every database written before stops finding its duplicates (docs/schema.md says it
 * happened once). The vectors were taken from the hash as import computed it before it moved
 * into lib/ (the same 42001b94... for fixtures/two-pythons/perf.data as that build's database).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "contenthash.h"
#include "harness.h"

#define V_EMPTY "8bc232edb40229d43d4ccc405d6c0d7e"
#define V_A "9f3cc7031d6211376949e0104654d843"
#define V_31 "1cb1147df1667e19ead89b30d62dde1a"
#define V_32 "8de729a1fc6d1f25ff2d5f330bd6985f"
#define V_33 "72fdf787693b1c4155a42c443e4d3a65"
#define V_1000 "5a2a096a62e55b08be7995c1811283bb"
#define V_DIR "ddf2b15345908608c34a8426fe670b52"
/* a capture as import hashed it before the move (the database it wrote says so) */
#define V_FIXTURE "42001b9468b9092635568978ef9ae8c1"

static const char *hex_of(const void *p, size_t n)
{
	static char out[33];
	struct pfs_contenthash h = pfs_contenthash_start;
	pfs_contenthash_bytes(&h, p, n);
	pfs_contenthash_hex(&h, out);
	return out;
}

static void test_vectors(void)
{
	char buf[1000];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 7 + 3);
	T_STREQ(hex_of("", 0), V_EMPTY);
	T_STREQ(hex_of("a", 1), V_A);
	T_STREQ(hex_of(buf, 31), V_31);
	T_STREQ(hex_of(buf, 32), V_32);
	T_STREQ(hex_of(buf, 33), V_33);
	T_STREQ(hex_of(buf, 1000), V_1000);
	char out[33];
	struct pfs_err err;
	T_EQ(pfs_contenthash_input("fixtures/two-pythons/perf.data", false, out, &err), 0);
	T_STREQ(out, V_FIXTURE);
}

/* Fed in pieces of any size, the same hash: a stripe may straddle two reads. */
static void test_pieces(void)
{
	char buf[1000], out[33];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 7 + 3);
	for (size_t step = 1; step < 70; step += 3) {
		struct pfs_contenthash h = pfs_contenthash_start;
		for (size_t at = 0; at < sizeof(buf); at += step)
			pfs_contenthash_bytes(&h, buf + at,
					      at + step > sizeof(buf) ? sizeof(buf) - at : step);
		pfs_contenthash_hex(&h, out);
		T_STREQ(out, V_1000);
	}
}

/* A file is its bytes; a directory its regular files' names (with NUL) and bytes, by name. */
static void test_file_and_directory(void)
{
	char dir[] = "/tmp/t_contenthash.XXXXXX", path[256], out[33], want[33];
	struct pfs_err err;
	T_ASSERT(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/b", dir);
	FILE *f = fopen(path, "w");
	fputs("second", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/a", dir);
	f = fopen(path, "w");
	fputs("first", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/sub", dir);
	T_EQ(mkdir(path, 0700), 0); /* not a regular file: not hashed */
	snprintf(path, sizeof(path), "%s/a", dir);
	T_EQ(pfs_contenthash_input(path, false, out, &err), 0);
	T_STREQ(out, hex_of("first", 5));
	T_EQ(pfs_contenthash_input(dir, true, out, &err), 0);
	struct pfs_contenthash h = pfs_contenthash_start;
	pfs_contenthash_bytes(&h, "a", 2);
	pfs_contenthash_bytes(&h, "first", 5);
	pfs_contenthash_bytes(&h, "b", 2);
	pfs_contenthash_bytes(&h, "second", 6);
	pfs_contenthash_hex(&h, want);
	T_STREQ(out, want);
	T_STREQ(out, V_DIR);
	/* a small file's content counts: before the fix a piece that did not fill the 32-byte
	 * tail was dropped, so "first" -> "firsT" kept the directory's hash */
	snprintf(path, sizeof(path), "%s/a", dir);
	f = fopen(path, "w");
	fputs("firsT", f);
	fclose(f);
	T_EQ(pfs_contenthash_input(dir, true, want, &err), 0);
	T_ASSERT(strcmp(out, want) != 0);
	snprintf(path, sizeof(path), "%s/missing", dir);
	T_ASSERT(pfs_contenthash_input(path, false, out, &err) < 0);
	T_ASSERT(strstr(err.msg, "cannot open") != NULL);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	T_EQ(system(path), 0);
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
	    T_CASE(vectors),
	    T_CASE(pieces),
	    T_CASE(file_and_directory),
	};
	return t_main(argc, argv, "contenthash", cases, sizeof(cases) / sizeof(cases[0]));
}
