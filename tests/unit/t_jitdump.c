/*
 * jitdump: jit-PID.dump files written here record by record, as perf's jitdump specification
 * lays them out (either byte order), and the damaged ones a JIT killed mid-write or a hostile
 * directory leaves.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "jitdump.h"

struct buf {
	uint8_t b[8192];
	size_t n;
	bool swap;
};

static void put(struct buf *b, const void *p, size_t n)
{
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void u32(struct buf *b, uint32_t v)
{
	if (b->swap)
		v = __builtin_bswap32(v);
	put(b, &v, 4);
}

static void u64(struct buf *b, uint64_t v)
{
	if (b->swap)
		v = __builtin_bswap64(v);
	put(b, &v, 8);
}

static void header(struct buf *b, uint32_t pid)
{
	u32(b, 0x4A695444);
	u32(b, 1);
	u32(b, 40);
	u32(b, 62);
	u32(b, 0);
	u32(b, pid);
	u64(b, 123);
	u64(b, 0);
}

static void record(struct buf *b, uint32_t id, uint32_t body)
{
	u32(b, id);
	u32(b, 16 + body);
	u64(b, 1000);
}

static void load(struct buf *b, uint64_t addr, const char *name, const uint8_t *code, size_t n,
		 uint64_t index)
{
	size_t nl = strlen(name) + 1;
	record(b, 0, (uint32_t)(40 + nl + n));
	u32(b, 7);
	u32(b, 8);
	u64(b, addr);
	u64(b, addr);
	u64(b, n);
	u64(b, index);
	put(b, name, nl);
	put(b, code, n);
}

static const uint8_t tramp[] = {0x48, 0x83, 0xec, 0x08, 0xff, 0xd1, 0x48, 0x83, 0xc4, 0x08, 0xc3};

static const char *write_dump(const char *name, const struct buf *b, size_t n)
{
	static char path[4096];
	snprintf(path, sizeof(path), "%s/%s", t_tmpdir(), name);
	FILE *f = fopen(path, "wb");
	T_ASSERT(f != NULL);
	T_EQ(fwrite(b->b, 1, n, f), n);
	fclose(f);
	return path;
}

/* a dump as CPython 3.13 -X perf_jit writes it, and what perfsight reads from it */
static void build(struct buf *b, bool swap)
{
	memset(b, 0, sizeof(*b));
	b->swap = swap;
	header(b, 4242);
	/* unwinding info: 24 bytes of .eh_frame, then a 20-byte .eh_frame_hdr */
	record(b, 4, 24 + 44);
	u64(b, 44);
	u64(b, 20);
	u64(b, 48);
	for (int i = 0; i < 44; i++) {
		uint8_t x = (uint8_t)i;
		put(b, &x, 1);
	}
	load(b, 0x7f0000001000, "py::f:/app/a.py", tramp, sizeof(tramp), 1);
	load(b, 0x7f0000002000, "py::g:/app/a.py", tramp, sizeof(tramp), 2);
	/* debug info (line tables) is skipped */
	record(b, 2, 16);
	u64(b, 0x7f0000002000);
	u64(b, 0);
	/* code index 2 moves; the region at the old address stays */
	record(b, 1, 48);
	u32(b, 7);
	u32(b, 8);
	u64(b, 0x7f0000003000);
	u64(b, 0x7f0000002000);
	u64(b, 0x7f0000003000);
	u64(b, sizeof(tramp));
	u64(b, 2);
	/* the same address again: the later load wins */
	load(b, 0x7f0000001000, "py::f2:/app/a.py", tramp, sizeof(tramp), 3);
	record(b, 3, 0);
	/* after the close record nothing counts */
	load(b, 0x7f0000009000, "py::late:/app/a.py", tramp, sizeof(tramp), 4);
}

static void check_dump(const char *path)
{
	struct pfs_diag d;
	struct pfs_err err;
	struct pfs_jitdump *jd;
	pfs_diag_init(&d);
	T_EQ(pfs_jitdump_load(&jd, path, &d, &err), 0);
	T_EQ(pfs_jitdump_pid(jd), 4242);
	T_EQ(pfs_jitdump_machine(jd), 62);
	T_EQ(pfs_jitdump_size(jd), 3);
	const struct pfs_jitcode *c = pfs_jitdump_find(jd, 0x7f0000001006);
	T_ASSERT(c != NULL);
	T_STREQ(c->name, "py::f2:/app/a.py");
	T_ASSERT(c->eh_frame == NULL); /* the unwinding info was the first load's */
	T_EQ(c->size, sizeof(tramp));
	T_ASSERT(!memcmp(c->code, tramp, sizeof(tramp)));
	c = pfs_jitdump_find(jd, 0x7f0000002000);
	T_STREQ(c->name, "py::g:/app/a.py");
	c = pfs_jitdump_find(jd, 0x7f000000300a);
	T_ASSERT(c != NULL);
	T_STREQ(c->name, "py::g:/app/a.py");
	T_EQ(c->index, 2);
	T_ASSERT(pfs_jitdump_find(jd, 0x7f000000300b) == NULL);
	T_ASSERT(pfs_jitdump_find(jd, 0x7f0000000fff) == NULL);
	T_ASSERT(pfs_jitdump_find(jd, 0x7f0000009000) == NULL);
	T_EQ(pfs_diag_count(&d, "jitdump-truncated"), 0);
	pfs_jitdump_free(jd);
	pfs_diag_release(&d);
}

static void test_records(void)
{
	struct buf b;
	build(&b, false);
	check_dump(write_dump("jit-4242.dump", &b, b.n));
	/* the unwinding info goes with the load after it, laid out as perf inject lays it */
	struct pfs_diag d;
	struct pfs_err err;
	struct pfs_jitdump *jd;
	pfs_diag_init(&d);
	T_EQ(pfs_jitdump_load(&jd, write_dump("jit-4243.dump", &b, b.n), &d, &err), 0);
	T_EQ(pfs_jitdump_size(jd), 3);
	const struct pfs_jitcode *c = pfs_jitdump_at(jd, 0);
	T_EQ(c->addr, 0x7f0000001000);
	c = pfs_jitdump_at(jd, 1);
	T_EQ(c->addr, 0x7f0000002000);
	T_ASSERT(c->eh_frame == NULL);
	pfs_jitdump_free(jd);
	pfs_diag_release(&d);
}

/* a JIT on a machine of the other byte order */
static void test_swapped(void)
{
	struct buf b;
	build(&b, true);
	check_dump(write_dump("jit-swapped.dump", &b, b.n));
}

/* unwinding info on the first load: where its .eh_frame was meant to be */
static void test_unwinding_info(void)
{
	struct buf b = {0};
	header(&b, 1);
	record(&b, 4, 24 + 44);
	u64(&b, 44);
	u64(&b, 20);
	u64(&b, 48);
	for (int i = 0; i < 44; i++) {
		uint8_t x = (uint8_t)(0x40 + i);
		put(&b, &x, 1);
	}
	load(&b, 0x5000, "py::f:/a.py", tramp, sizeof(tramp), 1);
	struct pfs_diag d;
	struct pfs_err err;
	struct pfs_jitdump *jd;
	pfs_diag_init(&d);
	T_EQ(pfs_jitdump_load(&jd, write_dump("jit-unw.dump", &b, b.n), &d, &err), 0);
	const struct pfs_jitcode *c = pfs_jitdump_find(jd, 0x5000);
	T_ASSERT(c && c->eh_frame);
	T_EQ(c->eh_frame_len, 24);
	T_EQ(c->eh_frame_hdr_len, 20);
	T_EQ(c->eh_frame[0], 0x40);
	T_EQ(c->eh_frame_addr, 0x5000 + 16); /* ALIGN_8(11) after the code */
	pfs_jitdump_free(jd);
	pfs_diag_release(&d);
}

/* cut anywhere: what came before the cut record stays, and the offset is named */
static void test_truncated(void)
{
	struct buf b;
	build(&b, false);
	/* the first load ends at: header 40 + unwinding 16+24+44 + load 16+40+16+11 */
	size_t first_load_end = 40 + 84 + 83;
	for (size_t cut = first_load_end + 1; cut < first_load_end + 83; cut += 7) {
		struct pfs_diag d;
		struct pfs_err err;
		struct pfs_jitdump *jd;
		pfs_diag_init(&d);
		T_EQ(pfs_jitdump_load(&jd, write_dump("jit-cut.dump", &b, cut), &d, &err), 0);
		T_EQ(pfs_jitdump_size(jd), 1);
		T_EQ(pfs_diag_count(&d, "jitdump-truncated"), 1);
		T_ASSERT(strstr(d.v[0].msg, "jit-cut.dump") && strstr(d.v[0].msg, "offset 207"));
		pfs_jitdump_free(jd);
		pfs_diag_release(&d);
	}
	/* a record that claims more than the file has */
	b.n = 0;
	header(&b, 1);
	record(&b, 0, 1000);
	u64(&b, 0);
	struct pfs_diag d;
	struct pfs_err err;
	struct pfs_jitdump *jd;
	pfs_diag_init(&d);
	T_EQ(pfs_jitdump_load(&jd, write_dump("jit-liar.dump", &b, b.n), &d, &err), 0);
	T_EQ(pfs_jitdump_size(jd), 0);
	T_EQ(pfs_diag_count(&d, "jitdump-truncated"), 1);
	pfs_jitdump_free(jd);
	/* a code load whose code size is more than its record holds */
	b.n = 0;
	header(&b, 1);
	record(&b, 0, 40 + 2);
	u32(&b, 1);
	u32(&b, 1);
	u64(&b, 0x1000);
	u64(&b, 0x1000);
	u64(&b, 1u << 30);
	u64(&b, 1);
	put(&b, "x", 2);
	T_EQ(pfs_jitdump_load(&jd, write_dump("jit-big.dump", &b, b.n), &d, &err), 0);
	T_EQ(pfs_jitdump_size(jd), 0);
	T_EQ(pfs_diag_count(&d, "jitdump-truncated"), 2);
	pfs_jitdump_free(jd);
	pfs_diag_release(&d);
}

static void test_refused(void)
{
	struct pfs_diag d;
	struct pfs_err err;
	struct pfs_jitdump *jd = NULL;
	pfs_diag_init(&d);
	struct buf b = {0};
	static const char junk[] = "not a jitdump at all, but long enough for a header";
	put(&b, junk, sizeof(junk));
	T_EQ(pfs_jitdump_load(&jd, write_dump("jit-junk.dump", &b, b.n), &d, &err), PFS_EFORMAT);
	T_ASSERT(strstr(err.msg, "jit-junk.dump") && strstr(err.msg, "JiTD"));
	b.n = 0;
	header(&b, 1);
	b.b[4] = 2; /* version 2 */
	T_EQ(pfs_jitdump_load(&jd, write_dump("jit-v2.dump", &b, b.n), &d, &err), PFS_EUNSUPP);
	b.b[4] = 1;
	b.b[8] = 0xff; /* header size beyond the file */
	T_EQ(pfs_jitdump_load(&jd, write_dump("jit-hsize.dump", &b, b.n), &d, &err), PFS_EFORMAT);
	T_EQ(pfs_jitdump_load(&jd, write_dump("jit-empty.dump", &b, 0), &d, &err), PFS_EFORMAT);
	/* a FIFO must not hang the run, a directory is no file */
	char path[4096];
	snprintf(path, sizeof(path), "%s/jit-fifo.dump", t_tmpdir());
	unlink(path);
	T_EQ(mkfifo(path, 0600), 0);
	T_EQ(pfs_jitdump_load(&jd, path, &d, &err), PFS_EFORMAT);
	T_ASSERT(strstr(err.msg, "not a regular file"));
	unlink(path);
	T_EQ(pfs_jitdump_load(&jd, t_tmpdir(), &d, &err), PFS_EFORMAT);
	T_EQ(pfs_jitdump_load(&jd, "tests/out/no/such/jit-1.dump", &d, &err), PFS_EIO);
	T_ASSERT(jd == NULL);
	pfs_diag_release(&d);
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
	    T_CASE(records),   T_CASE(swapped), T_CASE(unwinding_info),
	    T_CASE(truncated), T_CASE(refused),
	};
	return t_main(argc, argv, "jitdump", cases, sizeof(cases) / sizeof(cases[0]));
}
