/*
 * jitmap, procmap, symbols and unwind on small inputs made here and on the fixture binary
 * fixtures/native-pipe-tracepoints/cycles (built -O2 -g: mix() is inlined into leaf_hash()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "jitmap.h"
#include "procmap.h"
#include "profile.h"
#include "symbols.h"

#define CYCLES "native-pipe-tracepoints/cycles"
#define BIAS 0x555555554000ull

static const char *write_file(const char *name, const char *text)
{
	static char path[8][512];
	static int k;
	k = (k + 1) % 8;
	snprintf(path[k], sizeof(path[k]), "%s/%s", t_tmpdir(), name);
	FILE *f = fopen(path[k], "w");
	T_ASSERT(f);
	fputs(text, f);
	fclose(f);
	return path[k];
}

/* The symbol's address (and size) in the fixture binary, as nm -S prints them. */
static uint64_t nm_addr_size(const char *file, const char *sym, uint64_t *size)
{
	char cmd[1024], line[512];
	snprintf(cmd, sizeof(cmd), "nm -S %s", file);
	FILE *p = popen(cmd, "r");
	if (!p)
		t_skip("nm not available");
	uint64_t a = 0;
	while (fgets(line, sizeof(line), p)) {
		char name[256], type;
		unsigned long long v, sz;
		if (sscanf(line, "%llx %llx %c %255s", &v, &sz, &type, name) == 4 &&
		    !strcmp(name, sym)) {
			a = v;
			if (size)
				*size = sz;
		}
	}
	pclose(p);
	if (!a)
		t_skip("nm did not list the symbol");
	return a;
}

static uint64_t nm_addr(const char *file, const char *sym)
{
	return nm_addr_size(file, sym, NULL);
}

static void test_jitmap_parse(void)
{
	const char *path = write_file("perf-1.map", "1000 10 py::f:/a.py\n"
						    "0x2000 0x20 py::g:/b.py\n"
						    "garbage line\n"
						    "3000 zz nope\n"
						    "1000 10 py::f2:/a.py\n"
						    "4000 0 empty\n");
	struct pfs_diag d;
	struct pfs_err err;
	struct pfs_jitmap *jm;
	pfs_diag_init(&d);
	T_EQ(pfs_jitmap_load(&jm, path, &d, &err), 0);
	T_EQ(pfs_jitmap_size(jm), 2);
	T_STREQ(pfs_jitmap_lookup(jm, 0x1000), "py::f2:/a.py");
	T_STREQ(pfs_jitmap_lookup(jm, 0x100f), "py::f2:/a.py");
	T_ASSERT(pfs_jitmap_lookup(jm, 0x1010) == NULL);
	T_STREQ(pfs_jitmap_lookup(jm, 0x201f), "py::g:/b.py");
	T_ASSERT(pfs_jitmap_lookup(jm, 0xfff) == NULL);
	T_EQ(pfs_diag_count(&d, "jit-map-malformed"), 3);
	T_ASSERT(strstr(d.v[0].msg, "perf-1.map:3") != NULL);
	pfs_jitmap_free(jm);
	T_ASSERT(pfs_jitmap_load(&jm, "tests/out/no/such/perf-2.map", &d, &err) == PFS_EIO);
	pfs_diag_release(&d);
}

/* F8 of the fuzz findings: a map that is a FIFO blocked the run, one linked to /dev/zero grew
 * one line without end; both are refused, at once */
static void test_jitmap_special_files(void)
{
	char fifo[512], dev[512];
	struct pfs_diag d;
	struct pfs_err err;
	struct pfs_jitmap *jm = NULL;
	snprintf(fifo, sizeof(fifo), "%s/perf-3.map", t_tmpdir());
	snprintf(dev, sizeof(dev), "%s/perf-4.map", t_tmpdir());
	unlink(fifo);
	unlink(dev);
	T_EQ(mkfifo(fifo, 0600), 0);
	T_EQ(symlink("/dev/zero", dev), 0);
	pfs_diag_init(&d);
	T_EQ(pfs_jitmap_load(&jm, fifo, &d, &err), PFS_EFORMAT);
	T_ASSERT(strstr(err.msg, "not a regular file"));
	T_EQ(pfs_jitmap_load(&jm, dev, &d, &err), PFS_EFORMAT);
	/* through the search: counted as unreadable, the pid has no map */
	const char *dirs[] = {t_tmpdir()};
	struct pfs_jitmaps *m = pfs_jitmaps_new(dirs, 1, &d);
	pfs_jitmaps_use_tmp(m, false);
	T_ASSERT(pfs_jitmaps_get(m, 3) == NULL);
	T_ASSERT(pfs_jitmaps_get(m, 4) == NULL);
	T_EQ(pfs_diag_count(&d, "jit-map-unreadable"), 2);
	pfs_jitmaps_free(m);
	pfs_diag_release(&d);
	unlink(fifo);
	unlink(dev);
}

/* In /tmp, which any local user writes, a map is read only when this user or root owns it. */
static void test_jitmap_tmp_owner(void)
{
	/* a pid above the kernel's largest (4194304): no process of anyone writes this map */
	const uint32_t pid = 4999999;
	char path[64];
	struct pfs_diag d;
	FILE *f;
	if (geteuid() != 0)
		t_skip("needs root to give a /tmp file another owner");
	snprintf(path, sizeof(path), "/tmp/perf-%u.map", pid);
	unlink(path);
	T_ASSERT((f = fopen(path, "w")) != NULL);
	fputs("1000 10 planted\n", f);
	fclose(f);
	pfs_diag_init(&d);
	struct pfs_jitmaps *m = pfs_jitmaps_new(NULL, 0, &d);
	T_ASSERT(pfs_jitmaps_get(m, pid) != NULL); /* root's own: read */
	pfs_jitmaps_free(m);
	T_EQ(chown(path, 65534, 65534), 0);
	m = pfs_jitmaps_new(NULL, 0, &d);
	T_ASSERT(pfs_jitmaps_get(m, pid) == NULL); /* another user's: not */
	T_EQ(pfs_diag_count(&d, "jit-map-not-owned"), 1);
	pfs_jitmaps_free(m);
	/* and /tmp is not searched at all for a capture made elsewhere */
	T_EQ(chown(path, 0, 0), 0);
	m = pfs_jitmaps_new(NULL, 0, &d);
	pfs_jitmaps_use_tmp(m, false);
	T_ASSERT(pfs_jitmaps_get(m, pid) == NULL);
	pfs_jitmaps_free(m);
	pfs_diag_release(&d);
	unlink(path);
}

static struct pfs_map map_of(struct pfs_profile *p, const char *name, uint64_t start, uint64_t end,
			     uint64_t pgoff)
{
	struct pfs_map m = {.start = start,
			    .end = end,
			    .pgoff = pgoff,
			    .name = pfs_profile_cstr(p, name),
			    .prot = PROT_READ | PROT_EXEC,
			    .anon = pfs_map_name_is_anon(name)};
	return m;
}

static void test_procmap_overlap_fork_exec(void)
{
	struct pfs_profile *p = pfs_profile_new();
	struct pfs_procmap *pm = pfs_procmap_new(p, NULL);
	struct pfs_map a = map_of(p, "/lib/a.so", 0x1000, 0x5000, 0);
	struct pfs_map b = map_of(p, "/lib/b.so", 0x2000, 0x3000, 0x7000);
	pfs_procmap_mmap(pm, 10, &a);
	pfs_procmap_mmap(pm, 10, &b);
	struct pfs_proc *pr = pfs_procmap_find(pm, 10);
	T_EQ(pr->n_maps, 3);
	T_EQ(pfs_proc_map_at(pr, 0x1fff)->name, a.name);
	T_EQ(pfs_proc_map_at(pr, 0x2000)->name, b.name);
	const struct pfs_map *tail = pfs_proc_map_at(pr, 0x3000);
	T_EQ(tail->name, a.name);
	T_EQ(tail->pgoff, 0x2000);
	T_ASSERT(pfs_proc_map_at(pr, 0x5000) == NULL);
	pfs_procmap_fork(pm, 11, 10);
	struct pfs_proc *child = pfs_procmap_find(pm, 11);
	T_EQ(child->ppid, 10);
	T_EQ(child->n_maps, 3);
	pfs_procmap_fork(pm, 10, 10);
	T_EQ(pfs_procmap_find(pm, 10)->n_maps, 3);
	uint32_t gen = child->gen;
	pfs_procmap_exec(pm, 11, pfs_profile_cstr(p, "sh"));
	T_EQ(child->n_maps, 0);
	T_ASSERT(child->gen != gen);
	T_EQ(pfs_procmap_find(pm, 10)->n_maps, 3);
	T_ASSERT(pfs_map_name_is_anon("//anon"));
	T_ASSERT(pfs_map_name_is_anon("[heap]"));
	T_ASSERT(!pfs_map_name_is_anon("/usr/lib/libc.so.6"));
	pfs_procmap_free(pm);
	pfs_profile_free(p);
}

struct env {
	struct pfs_profile *p;
	struct pfs_procmap *pm;
	struct pfs_symbols *s;
	struct pfs_diag d;
};

static void env_open(struct env *e, const struct pfs_symbols_opts *o)
{
	e->p = pfs_profile_new();
	pfs_diag_init(&e->d);
	e->pm = pfs_procmap_new(e->p, pfs_symbols_release_space);
	e->s = pfs_symbols_new(o, e->p, e->pm, &e->d);
}

static void env_close(struct env *e)
{
	pfs_procmap_free(e->pm);
	pfs_symbols_free(e->s);
	pfs_diag_release(&e->d);
	pfs_profile_free(e->p);
}

static const char *fname(struct env *e, uint32_t frame)
{
	return pfs_profile_strget(e->p, pfs_profile_frameget(e->p, frame)->name, NULL);
}

static struct pfs_proc *with_cycles(struct env *e, const char *recorded)
{
	struct pfs_map m = map_of(e->p, recorded, BIAS + 0x1000, BIAS + 0x2000, 0x1000);
	pfs_procmap_mmap(e->pm, 42, &m);
	return pfs_procmap_find(e->pm, 42);
}

static void test_symbols_inline_chain(void)
{
	uint64_t size = 0;
	uint64_t leaf = nm_addr_size(t_fixture(CYCLES), "leaf_hash", &size);
	uint64_t walk = leaf + size;
	struct pfs_symbols_opts o = {0};
	struct env e;
	env_open(&e, &o);
	struct pfs_proc *pr = with_cycles(&e, t_fixture(CYCLES));
	uint32_t f[16];
	size_t best = 0;
	/* somewhere in leaf_hash mix() is inlined: the chain ends in leaf_hash, inner frames are
	 * flagged inlined */
	for (uint64_t a = leaf; a < walk; a++) {
		size_t n = pfs_symbols_user(e.s, pr, BIAS + a, true, f, 16);
		T_ASSERT(n >= 1);
		T_STREQ(fname(&e, f[n - 1]), "leaf_hash");
		T_EQ(pfs_profile_frameget(e.p, f[n - 1])->inlined, 0);
		for (size_t i = 0; i + 1 < n; i++)
			T_EQ(pfs_profile_frameget(e.p, f[i])->inlined, 1);
		if (n > best)
			best = n;
		/* a callchain address: the symbol alone, as perf 6.1 names it */
		T_EQ(pfs_symbols_user(e.s, pr, BIAS + a, false, f, 16), 1);
		T_STREQ(fname(&e, f[0]), "leaf_hash");
	}
	T_ASSERT(best >= 2);
	T_EQ(e.d.n, 0);
	env_close(&e);

	o.no_inline = true;
	env_open(&e, &o);
	pr = with_cycles(&e, t_fixture(CYCLES));
	for (uint64_t a = leaf; a < walk; a++) {
		T_EQ(pfs_symbols_user(e.s, pr, BIAS + a, true, f, 16), 1);
		T_STREQ(fname(&e, f[0]), "leaf_hash");
	}
	env_close(&e);
}

static void test_symbols_app_dir_and_missing(void)
{
	uint64_t main_a = nm_addr(t_fixture(CYCLES), "main");
	struct pfs_symbols_opts o = {0};
	struct env e;
	uint32_t f[4];
	env_open(&e, &o);
	struct pfs_proc *pr = with_cycles(&e, "/nonexistent/build/dir/cycles");
	T_EQ(pfs_symbols_user(e.s, pr, BIAS + main_a, true, f, 4), 1);
	T_STREQ(fname(&e, f[0]), "[unknown]");
	T_EQ(pfs_diag_count(&e.d, "dso-not-found"), 1);
	T_ASSERT(strstr(e.d.v[0].msg, "/nonexistent/build/dir/cycles") != NULL);
	/* once per file, not per frame */
	pfs_symbols_user(e.s, pr, BIAS + main_a + 1, true, f, 4);
	T_EQ(pfs_diag_count(&e.d, "dso-not-found"), 1);
	env_close(&e);

	o.app_dir = "fixtures/native-pipe-tracepoints";
	env_open(&e, &o);
	pr = with_cycles(&e, "/nonexistent/build/dir/cycles");
	pfs_symbols_user(e.s, pr, BIAS + main_a, true, f, 4);
	T_STREQ(fname(&e, f[0]), "main");
	T_EQ(e.d.n, 0);
	env_close(&e);
}

static void test_symbols_build_id_mismatch(void)
{
	uint64_t main_a = nm_addr(t_fixture(CYCLES), "main");
	struct pfs_symbols_opts o = {0};
	struct env e;
	uint32_t f[4];
	env_open(&e, &o);
	struct pfs_map m = map_of(e.p, t_fixture(CYCLES), BIAS + 0x1000, BIAS + 0x2000, 0x1000);
	m.build_id_size = 20;
	memset(m.build_id, 0xab, 20);
	pfs_procmap_mmap(e.pm, 42, &m);
	struct pfs_proc *pr = pfs_procmap_find(e.pm, 42);
	pfs_symbols_user(e.s, pr, BIAS + main_a, true, f, 4);
	T_STREQ(fname(&e, f[0]), "[unknown]");
	T_EQ(pfs_diag_count(&e.d, "build-id-mismatch"), 1);
	T_ASSERT(strstr(e.d.v[0].msg, "cycles") != NULL);
	env_close(&e);
}

/* A binary that is gone but whose separate debug file is installed still gets names. */
static void test_symbols_debug_file_alone(void)
{
	const char *lib = "/usr/lib/x86_64-linux-gnu/libc.so.6";
	char cmd[512], line[512], bid[64] = "";
	snprintf(cmd, sizeof(cmd), "readelf -n %s 2>/dev/null", lib);
	FILE *p = popen(cmd, "r");
	if (!p)
		t_skip("readelf not available");
	while (fgets(line, sizeof(line), p))
		if (sscanf(line, " Build ID: %63s", bid) == 1)
			break;
	pclose(p);
	if (strlen(bid) != 40)
		t_skip("no libc build-id");
	char dbg[256];
	snprintf(dbg, sizeof(dbg), "/usr/lib/debug/.build-id/%.2s/%s.debug", bid, bid + 2);
	FILE *f = fopen(dbg, "r");
	if (!f)
		t_skip("libc debug file not installed (libc6-dbg)");
	fclose(f);
	uint64_t size = 0, a = nm_addr_size(dbg, "__libc_malloc", &size);
	/* no perf build-id cache (~/.debug) to find a copy of the binary in */
	setenv("HOME", t_tmpdir(), 1);
	struct pfs_symbols_opts o = {0};
	struct env e;
	uint32_t fr[8];
	env_open(&e, &o);
	struct pfs_map m = map_of(e.p, "/gone/libc.so.6", BIAS + (a & ~0xfffull),
				  BIAS + (a & ~0xfffull) + 0x10000, a & ~0xfffull);
	m.build_id_size = 20;
	for (int i = 0; i < 20; i++) {
		unsigned v;
		sscanf(bid + 2 * i, "%2x", &v);
		m.build_id[i] = (uint8_t)v;
	}
	pfs_procmap_mmap(e.pm, 42, &m);
	struct pfs_proc *pr = pfs_procmap_find(e.pm, 42);
	size_t n = pfs_symbols_user(e.s, pr, BIAS + a + size / 2, false, fr, 8);
	T_EQ(n, 1);
	T_ASSERT(strcmp(fname(&e, fr[0]), "[unknown]") != 0);
	T_EQ(e.d.n, 0);
	uint64_t v;
	T_ASSERT(!pfs_symbols_read_file_mem(e.s, pr, BIAS + a, &v));
	env_close(&e);
}

/*
 * glibc's assembler functions carry one DWARF subprogram per alias; a DWARF-unwound address
 * in one is named as addr2line names it (perf takes addr2line's name), which is the oracle
 * here: __munmap comes out __GI_munmap.
 */
static void test_symbols_asm_alias_as_addr2line(void)
{
	const char *lib = "/usr/lib/x86_64-linux-gnu/libc.so.6";
	static const char *const syms[] = {"__munmap", "__mmap", "__close"};
	char cmd[1024], want[256];
	FILE *f = fopen(lib, "r");
	if (!f)
		t_skip("no x86_64 glibc here");
	fclose(f);
	setenv("HOME", t_tmpdir(), 1);
	struct pfs_symbols_opts o = {0};
	struct env e;
	uint32_t fr[8];
	env_open(&e, &o);
	/* the whole file mapped at BIAS, as ld.so maps it (text is at its file offset) */
	struct pfs_map m = map_of(e.p, lib, BIAS, BIAS + 0x400000, 0);
	pfs_procmap_mmap(e.pm, 42, &m);
	struct pfs_proc *pr = pfs_procmap_find(e.pm, 42);
	size_t checked = 0;
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		uint64_t a = 0;
		snprintf(cmd, sizeof(cmd), "nm -D %s", lib);
		FILE *p = popen(cmd, "r");
		if (!p)
			t_skip("nm not available");
		char line[512], name[256], type;
		unsigned long long v;
		while (fgets(line, sizeof(line), p))
			if (sscanf(line, "%llx %c %255[^@\n]", &v, &type, name) == 3 &&
			    !strcmp(name, syms[i]))
				a = v;
		pclose(p);
		if (!a)
			continue;
		snprintf(cmd, sizeof(cmd), "addr2line -f -e %s 0x%llx 2>/dev/null", lib,
			 (unsigned long long)a + 1);
		p = popen(cmd, "r");
		if (!p || !fgets(want, sizeof(want), p)) {
			if (p)
				pclose(p);
			t_skip("addr2line not available");
		}
		pclose(p);
		want[strcspn(want, "\n")] = 0;
		/* without glibc's debug file there is no DWARF and addr2line says ?? */
		if (!strcmp(want, "??"))
			continue;
		size_t n = pfs_symbols_user(e.s, pr, BIAS + a + 1, true, fr, 8);
		T_ASSERT(n >= 1);
		T_STREQ(fname(&e, fr[n - 1]), want);
		checked++;
	}
	env_close(&e);
	if (!checked)
		t_skip("glibc's debug file is not installed (libc6-dbg): no DWARF to name from");
}

static void test_symbols_bad_files(void)
{
	struct pfs_symbols_opts o = {0};
	struct env e;
	uint32_t f[4];
	/* not ELF */
	const char *txt = write_file("notelf.so", "this is not an ELF file\n");
	env_open(&e, &o);
	struct pfs_proc *pr = with_cycles(&e, txt);
	pfs_symbols_user(e.s, pr, BIAS + 0x1100, true, f, 4);
	T_STREQ(fname(&e, f[0]), "[unknown]");
	T_EQ(pfs_diag_count(&e.d, "dso-not-elf"), 1);
	env_close(&e);

	/* an ELF header whose sections are cut off: symbols and DWARF unreadable */
	char path[512], cmd[1200];
	snprintf(path, sizeof(path), "%s/truncated", t_tmpdir());
	snprintf(cmd, sizeof(cmd), "head -c 2000 %s > %s", t_fixture(CYCLES), path);
	T_EQ(system(cmd), 0);
	env_open(&e, &o);
	pr = with_cycles(&e, path);
	for (uint64_t a = 0x1000; a < 0x1300; a += 7) {
		T_EQ(pfs_symbols_user(e.s, pr, BIAS + a, true, f, 4), 1);
		T_STREQ(fname(&e, f[0]), "[unknown]");
	}
	T_ASSERT(e.d.n >= 1);
	T_ASSERT(strstr(e.d.v[0].msg, "truncated") != NULL);
	env_close(&e);
}

/*
 * Only functions of text sections name addresses, as perf has it: _init (in .init, without a
 * size) must not stretch over .plt.got up to main.
 */
static void test_symbols_text_sections_only(void)
{
	uint64_t init = 0;
	{
		/* _init has no size: nm -S leaves that column out */
		char cmd[1024], line[512], name[256], type;
		unsigned long long v;
		snprintf(cmd, sizeof(cmd), "nm %s", t_fixture(CYCLES));
		FILE *p = popen(cmd, "r");
		if (!p)
			t_skip("nm not available");
		while (fgets(line, sizeof(line), p))
			if (sscanf(line, "%llx %c %255s", &v, &type, name) == 3 &&
			    !strcmp(name, "_init"))
				init = v;
		pclose(p);
		if (!init)
			t_skip("nm did not list _init");
	}
	uint64_t main_a = nm_addr(t_fixture(CYCLES), "main");
	struct pfs_symbols_opts o = {0};
	struct env e;
	uint32_t f[4];
	env_open(&e, &o);
	struct pfs_proc *pr = with_cycles(&e, t_fixture(CYCLES));
	T_EQ(pfs_symbols_user(e.s, pr, BIAS + init + 4, false, f, 4), 1);
	T_STREQ(fname(&e, f[0]), "[unknown]");
	/* .plt.got, just below main */
	T_EQ(pfs_symbols_user(e.s, pr, BIAS + main_a - 8, false, f, 4), 1);
	T_STREQ(fname(&e, f[0]), "[unknown]");
	T_EQ(pfs_symbols_user(e.s, pr, BIAS + main_a, false, f, 4), 1);
	T_STREQ(fname(&e, f[0]), "main");
	env_close(&e);
}

static void test_symbols_jit_parent_fallback(void)
{
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/jit", t_tmpdir());
	char cmd[1100];
	snprintf(cmd, sizeof(cmd), "mkdir -p %s", dir);
	T_EQ(system(cmd), 0);
	write_file("jit/perf-900100.map", "7f0000001000 40 py::crunch:/srv/app/threads.py\n");
	write_file("jit/perf-900101.map", "7f0000002000 40 py::late:/srv/app/w.py\nbad\n");
	const char *dirs[] = {dir};
	struct pfs_symbols_opts o = {.jit_dirs = dirs, .n_jit_dirs = 1};
	struct env e;
	uint32_t f[4];
	env_open(&e, &o);
	struct pfs_map anon = map_of(e.p, "//anon", 0x7f0000000000, 0x7f0000010000, 0);
	pfs_procmap_mmap(e.pm, 900100, &anon);
	pfs_procmap_fork(e.pm, 900101, 900100);
	pfs_procmap_fork(e.pm, 900102, 900100);
	struct pfs_proc *w1 = pfs_procmap_find(e.pm, 900101);
	struct pfs_proc *w2 = pfs_procmap_find(e.pm, 900102);
	pfs_symbols_user(e.s, w1, 0x7f0000001010, true, f, 4);
	T_STREQ(fname(&e, f[0]), "py::crunch:/srv/app/threads.py");
	T_EQ(pfs_profile_frameget(e.p, f[0])->kind, PFS_FK_PYTHON);
	pfs_symbols_user(e.s, w1, 0x7f0000002000, true, f, 4);
	T_STREQ(fname(&e, f[0]), "py::late:/srv/app/w.py");
	pfs_symbols_user(e.s, w2, 0x7f0000001000, true, f, 4);
	T_STREQ(fname(&e, f[0]), "py::crunch:/srv/app/threads.py");
	pfs_symbols_user(e.s, w2, 0x7f0000003000, true, f, 4);
	T_STREQ(fname(&e, f[0]), "[unknown]");
	T_EQ(pfs_diag_count(&e.d, "jit-map-malformed"), 1);
	env_close(&e);
}

static void test_symbols_kallsyms_kaslr(void)
{
	const char *ks = write_file("kallsyms", "ffffffff81000000 T _text\n"
						"ffffffff81001000 T do_one\n"
						"ffffffff81002000 t do_two\n"
						"ffffffff81003000 D some_data\n"
						"not a line\n");
	struct pfs_symbols_opts o = {.kallsyms = ks};
	struct env e;
	uint32_t f[4];
	env_open(&e, &o);
	/* the capture's kernel ran 0x200000 higher than the kallsyms file says (KASLR) */
	struct pfs_map k = map_of(e.p, "[kernel.kallsyms]_text", 0xffffffff81200000,
				  0xffffffff83200000, 0xffffffff81200000);
	k.anon = false;
	struct pfs_proc *kern = pfs_procmap_kernel(e.pm);
	pfs_procmap_mmap(e.pm, PFS_KERNEL_PID, &k);
	pfs_symbols_kernel(e.s, kern, 0xffffffff81201010, f, 4);
	T_STREQ(fname(&e, f[0]), "do_one");
	T_EQ(pfs_profile_frameget(e.p, f[0])->kind, PFS_FK_KERNEL);
	pfs_symbols_kernel(e.s, kern, 0xffffffff81202fff, f, 4);
	T_STREQ(fname(&e, f[0]), "do_two");
	T_EQ(pfs_diag_count(&e.d, "kallsyms-malformed"), 1);
	env_close(&e);

	/* no kallsyms and another machine: [kernel], counted */
	struct pfs_symbols_opts none = {0};
	env_open(&e, &none);
	pfs_symbols_set_capture(e.s, "some-other-host", "0.0-none", NULL, 0);
	pfs_symbols_kernel(e.s, pfs_procmap_kernel(e.pm), 0xffffffff81201010, f, 4);
	T_STREQ(fname(&e, f[0]), "[kernel]");
	pfs_symbols_kernel(e.s, pfs_procmap_kernel(e.pm), 0xffffffff81201011, f, 4);
	T_EQ(pfs_diag_count(&e.d, "kernel-unresolved"), 2);
	T_EQ(pfs_diag_count(&e.d, "kernel-symbols-unavailable"), 1);
	env_close(&e);
}

/* kallsyms read on its own thread from set_capture: unsorted, missing, or never needed */
static void test_symbols_kallsyms_background(void)
{
	const char *ks = write_file("kallsyms-unsorted", "ffffffff81003000 T do_three\n"
							 "ffffffff81000000 T _text\n"
							 "ffffffff81001000 T do_one\n");
	struct pfs_symbols_opts o = {.kallsyms = ks};
	struct env e;
	uint32_t f[4];
	env_open(&e, &o);
	pfs_symbols_set_capture(e.s, "some-other-host", "0.0-none", NULL, 0);
	pfs_symbols_kernel(e.s, pfs_procmap_kernel(e.pm), 0xffffffff81003010, f, 4);
	T_STREQ(fname(&e, f[0]), "do_three");
	pfs_symbols_kernel(e.s, pfs_procmap_kernel(e.pm), 0xffffffff81001010, f, 4);
	T_STREQ(fname(&e, f[0]), "do_one");
	T_ASSERT(pfs_symbols_have_kernel(e.s));
	env_close(&e);

	/* started, never needed: freeing joins it */
	env_open(&e, &o);
	pfs_symbols_set_capture(e.s, "some-other-host", "0.0-none", NULL, 0);
	env_close(&e);

	/* a file that cannot be opened: [kernel], and the reason once */
	struct pfs_symbols_opts missing = {.kallsyms = "no/such/kallsyms"};
	env_open(&e, &missing);
	pfs_symbols_set_capture(e.s, "some-other-host", "0.0-none", NULL, 0);
	pfs_symbols_kernel(e.s, pfs_procmap_kernel(e.pm), 0xffffffff81001010, f, 4);
	T_STREQ(fname(&e, f[0]), "[kernel]");
	pfs_symbols_kernel(e.s, pfs_procmap_kernel(e.pm), 0xffffffff81001010, f, 4);
	T_EQ(pfs_diag_count(&e.d, "kallsyms-unreadable"), 1);
	T_ASSERT(!pfs_symbols_have_kernel(e.s));
	env_close(&e);
}

static void test_unwind_bad_samples(void)
{
	struct pfs_symbols_opts o = {0};
	struct env e;
	env_open(&e, &o);
	struct pfs_proc *pr = with_cycles(&e, t_fixture(CYCLES));
	struct pfs_attr attr = {.sample_regs_user = 0xff0fff,
				.sample_type = PFS_S_REGS_USER | PFS_S_STACK_USER};
	uint64_t regs[20] = {0}, pcs[8];
	struct pfs_sample smp = {0};
	/* no registers */
	T_EQ(pfs_symbols_unwind_user(e.s, pr, 42, &attr, &smp, pcs, 8, NULL), 0);
	T_EQ(pfs_diag_count(&e.d, "regs-missing"), 1);
	/* registers, but an empty stack dump: the pc alone */
	regs[8] = BIAS + 0x1100; /* ip is perf register 8, the 9th set bit of the mask */
	regs[7] = 0x7ffc0000;
	smp.regs_user_abi = 2;
	smp.regs_user = regs;
	smp.n_regs_user = 20;
	T_EQ(pfs_symbols_unwind_user(e.s, pr, 42, &attr, &smp, pcs, 8, NULL), 1);
	T_EQ(pcs[0], BIAS + 0x1100);
	T_EQ(pfs_diag_count(&e.d, "stack-dump-empty"), 1);
	/* registers without ip/sp (another arch's mask) */
	attr.sample_regs_user = 0x3f;
	T_EQ(pfs_symbols_unwind_user(e.s, pr, 42, &attr, &smp, pcs, 8, NULL), 0);
	T_EQ(pfs_diag_count(&e.d, "unwind-arch-unsupported"), 1);
	/* a stack dump of garbage: whatever comes out, it ends, and no frame is made of it */
	uint8_t stack[256];
	for (size_t i = 0; i < sizeof(stack); i++)
		stack[i] = (uint8_t)(i * 37);
	attr.sample_regs_user = 0xff0fff;
	smp.stack_user = stack;
	smp.stack_user_size = sizeof(stack);
	smp.stack_user_dyn_size = sizeof(stack);
	struct pfs_unwind_info ui;
	size_t n = pfs_symbols_unwind_user(e.s, pr, 42, &attr, &smp, pcs, 8, &ui);
	T_ASSERT(n >= 1 && n <= 8);
	T_EQ(pcs[0], BIAS + 0x1100);
	for (size_t i = 1; i < n; i++) {
		const struct pfs_map *m = pfs_proc_map_at(pr, pcs[i] + 1);
		T_ASSERT(m && (m->prot & 4));
	}
	/* rbp and the slot above it hold an address nothing maps: the walk stops there */
	uint64_t *w = (uint64_t *)(void *)stack;
	memset(stack, 0, sizeof(stack));
	w[8] = 0;		   /* at rbp: the caller's rbp */
	w[9] = 0x30d00ef;	   /* above it the return address: what 3.13 -X perf printed */
	regs[6] = 0x7ffc0000 + 64; /* rbp: perf register 6 */
	regs[8] = 0x7f0000100000;  /* ip in anonymous memory: no CFI, the frame-pointer rule */
	uint64_t bad = pfs_diag_count(&e.d, "unwind-bad-return-address");
	n = pfs_symbols_unwind_user(e.s, pr, 42, &attr, &smp, pcs, 8, &ui);
	T_EQ(n, 1);
	T_EQ(ui.end, PFS_UNWIND_BAD_RA);
	T_EQ(pfs_diag_count(&e.d, "unwind-bad-return-address"), bad + 1);
	env_close(&e);
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
	    T_CASE(jitmap_parse),
	    T_CASE(jitmap_special_files),
	    T_CASE(jitmap_tmp_owner),
	    T_CASE(procmap_overlap_fork_exec),
	    T_CASE(symbols_inline_chain),
	    T_CASE(symbols_app_dir_and_missing),
	    T_CASE(symbols_build_id_mismatch),
	    T_CASE(symbols_debug_file_alone),
	    T_CASE(symbols_asm_alias_as_addr2line),
	    T_CASE(symbols_bad_files),
	    T_CASE(symbols_text_sections_only),
	    T_CASE(symbols_jit_parent_fallback),
	    T_CASE(symbols_kallsyms_kaslr),
	    T_CASE(symbols_kallsyms_background),
	    T_CASE(unwind_bad_samples),
	};
	return t_main(argc, argv, "symbols", cases, sizeof(cases) / sizeof(cases[0]));
}
