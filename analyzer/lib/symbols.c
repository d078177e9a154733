#include "symbols.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cursor.h"
#include "jitdump.h"
#include "jitmap.h"
#include "pytramp.h"
#include "xalloc.h"

enum dso_state { DSO_UNTRIED = 0, DSO_OK = 1, DSO_FAILED = -1 };

struct plt_range {
	uint64_t start, end, first; /* entries from first, 16 bytes each */
};

struct fn_range {
	uint64_t low, high;
	Dwarf_Off die_off;
	uint32_t tree; /* index + 1 of the function's scope tree in its dso, 0 until built */
};

/*
 * The scopes inside one function that inline frames can come from (inlined subroutines and the
 * blocks around them), read once: looking up an address walks these arrays, not DIEs.
 */
struct scope_tree {
	struct scope {
		Dwarf_Off off;
		uint32_t first_child, next; /* indexes, NO_SCOPE for none */
		uint32_t ranges, n_ranges;  /* into pcs, [lo, hi) pairs */
		bool inlined;
	} * v;
	size_t n, cap;
	uint64_t *pcs;
	size_t n_pcs, cap_pcs;
};
#define NO_SCOPE UINT32_MAX

struct cu_fns {
	Dwarf_Off cu_off;
	struct fn_range *v; /* by low */
	size_t n, cap;
	Dwarf_Off resume; /* the next top-level DIE to index, 0 before the first */
	bool complete;	  /* every top-level DIE indexed */
};

/* A CU's file table as dwarf_decl_file names its entries, read from the line table header. */
struct cu_files {
	Dwarf_CU *cu;
	struct src_file {
		const char *dir, *name; /* in the debug sections; dir NULL when name stands alone */
		uint32_t id;		/* the joined path's string id, 0 until first used */
	} * f;
	size_t n;
	bool bad; /* a header this reader does not follow: libdw's full parse decides */
};

/* A debug section's bytes, as libdw decompressed them. */
struct dsec {
	const uint8_t *p;
	size_t len;
};

struct dso {
	uint32_t name; /* string id, recorded path */
	char *base;    /* file name part of the recorded path */
	int state;
	char *path; /* the file found */
	int fd;
	Elf *elf;
	const uint8_t *raw;
	size_t raw_len;
	uint16_t e_type;
	struct load_seg {
		uint64_t vaddr, offset, filesz;
	} * segs;
	size_t n_segs;
	Dwfl *dwfl; /* symbolization: the file alone at bias 0, so addresses are file vaddrs */
	Dwfl_Module *mod;
	Dwfl *dw_dwfl; /* the same, its DWARF read by the preload thread (NULL: mod's is used) */
	Dwfl_Module *dw_mod;
	struct plt_range plt;
	char **plt_names; /* by .rela.plt index */
	size_t n_plt;
	struct fsym {
		uint64_t start, end;
		const char *name;      /* in the module's string table: addr2line's choice */
		const char *perf_name; /* perf's choice among the aliases at start */
		uint32_t order;
		bool sized;
		uint8_t bind; /* STB_GLOBAL, STB_WEAK, STB_LOCAL */
	} * syms;	      /* functions by start, one per address */
	size_t n_syms;
	bool syms_loaded;
	struct cu_fns *cus; /* function index of each CU looked at */
	size_t n_cus, cap_cus;
	struct scope_tree *trees;
	size_t n_trees, cap_trees;
	struct cu_files *files; /* file tables of the CUs whose names were asked */
	size_t n_files, cap_files, last_files;
	struct dsec line, line_str, str;
	bool secs_tried;
	uint8_t want_bid[20];
	uint8_t want_bid_size;
	bool dwarf_bad, syms_bad;
	bool syms_pending;  /* its symbol table is being read by the preload thread */
	bool debug_only;    /* a separate debug file: symbols and DWARF, no code or CFI to trust */
	int8_t tramp_state; /* CPython's perf trampoline template: 0 not looked, 1 ok, -1 none */
	struct pfs_pytramp *tramp; /* its rules, when tramp_state is 1 */
};

struct cache_slot {
	uint64_t addr;
	uint32_t dso; /* index + 1; 0 = empty */
	uint32_t off; /* into the frame pool */
	uint32_t n;
};

struct ksym {
	uint64_t addr;
	uint32_t name;	/* offset into the kallsyms name pool */
	uint32_t frame; /* frame id once used, 0 before */
};

/*
 * The file mapping the last user address fell in: consecutive addresses of a stack mostly fall
 * in the same one, and the maps of a process at one gen do not change.
 */
struct last_map {
	const struct pfs_proc *p;
	uint32_t gen;
	uint64_t start, end;
	size_t dso; /* index: the dso array grows */
	uint64_t bias;
};

/* a kallsyms file being read (see kallsyms_start) */
struct kload {
	char *path;
	pthread_t thread;
	bool started;	  /* the thread runs or ran and was not joined */
	bool pending;	  /* read (or being read), not taken yet */
	atomic_bool done; /* the thread has finished */
	struct ksym *ksyms;
	size_t n_ksyms, ksyms_cap;
	char *kpool;
	size_t kpool_len, kpool_cap;
	uint64_t text;
	bool have_text, all_zero;
	size_t bad;
	int open_errno;
};

struct space_mod {
	uint32_t dso;
	uint64_t bias;
};

/* What one unwinding step from an address does, as libdwfl would do it (see step_rules). */
enum { RULE_SKIP, RULE_UNDEF, RULE_SAME, RULE_LOC, RULE_VAL, RULE_REG };
enum { STEP_CFI, STEP_FP, STEP_LIBDW };
struct step_rules {
	uint64_t pc;  /* the lookup address; 0: empty slot */
	uint8_t kind; /* STEP_*: CFI rules, the frame-pointer fallback, or only libdwfl knows */
	bool jit;     /* rules for JIT code libdwfl has no module for (see jit_step_rules) */
	bool signal;  /* the CFI's CIE is a signal frame's */
	bool cfa_ok;  /* the CFA is register cfa_reg plus cfa_off (else it cannot be had) */
	uint8_t cfa_reg, ra;
	uint8_t rule[17];
	uint8_t active[17]; /* the registers with a value rule (not skip or undefined), in order */
	uint8_t n_active;
	bool ra_undef; /* the return address register's rule is "undefined": no caller */
	uint64_t cfa_off;
	uint64_t val[17]; /* RULE_LOC/RULE_VAL: offset from the CFA; RULE_REG: the register */
};

struct space {
	Dwfl *dwfl;
	uint32_t gen;
	struct space_mod *mods; /* reported to dwfl */
	size_t n_mods, cap_mods;
	struct step_rules *steps; /* open addressing on pc, for the modules dwfl has now */
	size_t n_steps, cap_steps;
	uint32_t tramp_dso; /* index + 1 of the dso whose trampoline template applies, 0 none */
	bool tramp_looked;  /* tramp_dso is known for the maps of gen */
	uint64_t up_start, up_end; /* the [uprobes] mapping (uretprobe trampolines), 0 0: none */
	bool up_looked;		   /* up_start/up_end are known for the maps of gen */
};

/* perf's x86_64 register numbers */
enum {
	PR_AX = 0,
	PR_BX = 1,
	PR_CX = 2,
	PR_DX = 3,
	PR_SI = 4,
	PR_DI = 5,
	PR_BP = 6,
	PR_SP = 7,
	PR_IP = 8,
	PR_R8 = 16,
};

/* DWARF x86_64 register n is perf register dwarf_to_perf[n] */
static const int dwarf_to_perf[17] = {
    PR_AX,     PR_DX,	  PR_CX,     PR_BX,	PR_SI,	   PR_DI,     PR_BP,	 PR_SP, PR_R8,
    PR_R8 + 1, PR_R8 + 2, PR_R8 + 3, PR_R8 + 4, PR_R8 + 5, PR_R8 + 6, PR_R8 + 7, PR_IP,
};

struct regs {
	uint64_t v[17]; /* DWARF numbering */
	uint32_t set;	/* bit n: v[n] is known */
	uint64_t pc;
};

/* The sample being unwound, read by the Dwfl thread callbacks. */
struct unwind {
	struct pfs_symbols *sym;
	struct pfs_proc *proc;
	struct space *space;
	Dwfl *dwfl;
	uint32_t tid;
	uint64_t mask;
	const struct pfs_sample *smp;
	uint64_t sp;   /* the sample's stack pointer: where the dump starts */
	uint64_t have; /* bytes of stack the dump holds */
	uint64_t top;  /* one past the highest byte of the dump read */
	uint64_t x_start[2],
	    x_end[2];	  /* the executable mappings the last return addresses were in */
	bool beyond_dump; /* the last unwind step wanted stack above the dump */
	uint64_t *pcs;
	uint64_t *sps; /* each frame's stack pointer (0: unknown), max of them */
	size_t n, max, cap_sps;
	int end;	    /* enum pfs_unwind_end once known (or END_URETPROBE), -1 before */
	uint64_t splice_sp; /* END_URETPROBE: the stack pointer of the caller to find */
	/* a stretch unwound by libdwfl (see libdw_walk) */
	struct regs seg;   /* its first frame's registers */
	bool seg_first;	   /* the next frame callback is its first frame */
	bool seg_initial;  /* that frame is the sample's own (libdwfl's initial frame) */
	uint64_t last_sp;  /* the stack pointer of the frame before, for the progress check */
	uint64_t last_pc;  /* and its pc */
	bool have_last_sp; /* last_sp is known */
	bool switched;	   /* it stopped at JIT code: go on from resume */
	struct regs resume;
	bool resume_initial, resume_signal;
};

/*
 * The DWARF of the preloaded files, read on a thread of its own into Dwfls of its own (libdwfl
 * is not safe for two threads on one Dwfl): decompressing it overlaps the main thread's work.
 */
struct dwload {
	pthread_t thread;
	bool started; /* the thread runs or ran and was not joined */
	atomic_bool done;
	const Dwfl_Callbacks *cb;
	struct dwjob {
		uint32_t dso; /* index in dsos */
		char *base, *path;
		Dwfl *dwfl; /* DWARF, when wanted: the thread's own Dwfl */
		Dwfl_Module *mod;
		Dwfl_Module *sym_mod; /* the dso's own module, whose symbol table is read */
		struct fsym *syms;    /* read_syms' answer, until dwarf_take hands it over */
		size_t n_syms;
		bool want_dwarf, syms_ok;
	} * jobs;
	size_t n, cap;
};

struct pfs_symbols {
	struct unwind uw; /* the argument of every Dwfl's thread callbacks */
	struct pfs_symbols_opts o;
	char *symfs, *app_dir, *capture_dir, *kallsyms_path, *home_debug;
	struct pfs_profile *prof;
	struct pfs_procmap *pm;
	struct pfs_diag *diag;
	struct pfs_jitmaps *jit;
	Dwfl_Callbacks cb;	 /* symbolization: finds separate debug info */
	Dwfl_Callbacks space_cb; /* unwinding: .eh_frame of the mapped files is enough */
	char *debuginfo_path;

	struct dso *dsos;
	size_t n_dsos, cap_dsos;
	uint32_t *dso_by_name; /* string id -> index + 1 */
	size_t cap_by_name;

	struct last_map last;
	struct cache_slot *cache;
	size_t cache_cap, cache_n;
	uint32_t *pool;
	size_t pool_n, pool_cap;

	struct pfs_build_id *bids; /* copies of HEADER_BUILD_ID entries */
	size_t n_bids, cap_bids;

	bool kernel_tried, kernel_ok;
	char *hostname, *osrelease;
	struct ksym *ksyms;
	size_t n_ksyms;
	char *kpool; /* kallsyms names: most are never used, so they are interned only on use */
	size_t kpool_len;
	struct kload kload;
	struct dwload dwload;
	struct jit_dump {
		uint32_t pid;
		struct pfs_jitdump *jd; /* NULL: looked for, none readable */
	} * dumps;
	size_t n_dumps, cap_dumps;
	struct whole {
		uint32_t pid, tid;
		uint64_t *pcs, *sps; /* a stack unwound to its root from a function's entry */
		size_t n, cap;
	} * wholes; /* the last few per thread of the processes with uprobes (see uretprobe) */
	size_t n_wholes, cap_wholes;
	struct nomap {
		uint32_t pid;
		bool missing; /* CPython with perf support, and no map or jitdump of its own */
	} * nomaps;	      /* every process that had an unnamed frame in anonymous memory */
	size_t n_nomaps, cap_nomaps;
	uint64_t *note_pcs; /* pfs_symbols_note_entry's scratch, NOTE_MAX */
	int64_t kdelta;
	bool kdelta_set;

	uint32_t s_unknown, s_kernel;
};

/*
 * Address spaces only unwind: loading (and decompressing) every library's debug info once per
 * process would cost more than the unwinding; the symbolizer loads it once per file.
 */
static int no_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
			const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
			char **debuginfo_file_name)
{
	return -1;
}

/* Whether a regular file exists at dir/mid/name (mid may be empty). */
static bool exists_at(const char *dir, const char *mid, const char *name)
{
	char path[4096];
	struct stat st;
	int n = snprintf(path, sizeof(path), "%s%s%s%s", dir, *mid ? "/" : "", mid, name);
	return n > 0 && (size_t)n < sizeof(path) && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/*
 * Whether libdwfl's path search (":.debug:/usr/lib/debug", the debuglink name or, without
 * one, "FILE.debug" and FILE itself) has any file to look at for file_name.
 */
static bool debuglink_candidate(const char *file_name, const char *debuglink)
{
	const char *slash = file_name ? strrchr(file_name, '/') : NULL;
	char dir[4096], name[4096];
	const char *names[2] = {debuglink, NULL};
	if (!file_name && !debuglink)
		return false;
	if (slash && (size_t)(slash - file_name) < sizeof(dir)) {
		memcpy(dir, file_name, (size_t)(slash - file_name));
		dir[slash - file_name] = 0;
	} else {
		snprintf(dir, sizeof(dir), ".");
	}
	if (!debuglink) {
		const char *base = slash ? slash + 1 : file_name;
		snprintf(name, sizeof(name), "%s.debug", base);
		names[0] = name;
		names[1] = base;
	}
	for (int i = 0; i < 2 && names[i]; i++) {
		char rel[4096];
		if (names[i][0] == '/') {
			if (exists_at("", "", names[i]) ||
			    exists_at("/usr/lib/debug", "", names[i]))
				return true;
			continue;
		}
		snprintf(rel, sizeof(rel), "/%s", names[i]);
		if (exists_at(dir, "", rel) || exists_at(dir, ".debug", rel) ||
		    exists_at("/usr/lib/debug", dir[0] == '/' ? dir + 1 : dir, rel))
			return true;
	}
	return false;
}

/*
 * Separate debug info as dwfl_standard_find_debuginfo finds it, without loading libdebuginfod
 * when no server is configured: the standard search loads it (and libcurl, gnutls, krb5: 25
 * libraries, ~6 ms before any work) the first time a file has no local debug info, even when
 * DEBUGINFOD_URLS is unset and nothing will be asked. So when no server is set and neither the
 * build-id tree nor the debuglink places hold a candidate, the answer is "none" at once.
 */
static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
			  const char *file_name, const char *debuglink_file,
			  GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	const char *urls = getenv("DEBUGINFOD_URLS");
	if (!urls || !*urls) {
		errno = 0;
		int fd = dwfl_build_id_find_debuginfo(mod, userdata, modname, base, file_name,
						      debuglink_file, debuglink_crc,
						      debuginfo_file_name);
		if (fd >= 0 || errno != 0)
			return fd;
		if (!debuglink_candidate(file_name, debuglink_file))
			return -1;
	}
	return dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file,
					    debuglink_crc, debuginfo_file_name);
}

static char *xstrdup_or_null(const char *s)
{
	return s ? pfs_xstrdup(s) : NULL;
}

struct pfs_symbols *pfs_symbols_new(const struct pfs_symbols_opts *opts, struct pfs_profile *prof,
				    struct pfs_procmap *pm, struct pfs_diag *diag)
{
	struct pfs_symbols *s = pfs_xcalloc(1, sizeof(*s));
	elf_version(EV_CURRENT);
	if (opts)
		s->o = *opts;
	s->symfs = xstrdup_or_null(s->o.symfs);
	s->app_dir = xstrdup_or_null(s->o.app_dir);
	s->capture_dir = xstrdup_or_null(s->o.capture_dir);
	s->kallsyms_path = xstrdup_or_null(s->o.kallsyms);
	const char *home = getenv("HOME");
	if (home && *home) {
		size_t n = strlen(home) + 8;
		s->home_debug = pfs_xmalloc(n);
		snprintf(s->home_debug, n, "%s/.debug", home);
	}
	s->prof = prof;
	s->pm = pm;
	s->diag = diag;
	s->uw.sym = s;
	s->jit = pfs_jitmaps_new(s->o.jit_dirs, s->o.n_jit_dirs, diag);
	s->debuginfo_path = pfs_xstrdup(":.debug:/usr/lib/debug");
	s->cb.find_elf = dwfl_build_id_find_elf;
	s->cb.find_debuginfo = find_debuginfo;
	s->cb.section_address = dwfl_offline_section_address;
	s->cb.debuginfo_path = &s->debuginfo_path;
	s->space_cb = s->cb;
	s->space_cb.find_debuginfo = no_debuginfo;
	s->cache_cap = 1024;
	s->cache = pfs_xcalloc(s->cache_cap, sizeof(*s->cache));
	s->s_unknown = pfs_profile_cstr(prof, "[unknown]");
	s->s_kernel = pfs_profile_cstr(prof, "[kernel]");
	return s;
}

static void dso_close(struct dso *d)
{
	if (d->dwfl)
		dwfl_end(d->dwfl);
	if (d->dw_dwfl)
		dwfl_end(d->dw_dwfl);
	if (d->elf)
		elf_end(d->elf);
	if (d->fd >= 0)
		close(d->fd);
	for (size_t i = 0; i < d->n_plt; i++)
		free(d->plt_names[i]);
	free(d->plt_names);
	free(d->syms);
	for (size_t i = 0; i < d->n_cus; i++)
		free(d->cus[i].v);
	free(d->cus);
	for (size_t i = 0; i < d->n_files; i++)
		free(d->files[i].f);
	for (size_t i = 0; i < d->n_trees; i++) {
		free(d->trees[i].v);
		free(d->trees[i].pcs);
	}
	free(d->trees);
	free(d->files);
	free(d->segs);
	free(d->path);
	free(d->base);
	free(d->tramp);
}

void pfs_symbols_free(struct pfs_symbols *s)
{
	if (!s)
		return;
	/* the preload thread may still read the dsos' symbol tables */
	if (s->dwload.started)
		pthread_join(s->dwload.thread, NULL);
	s->dwload.started = false;
	for (size_t i = 0; i < s->n_dsos; i++)
		dso_close(&s->dsos[i]);
	free(s->dsos);
	free(s->dso_by_name);
	free(s->cache);
	free(s->pool);
	for (size_t i = 0; i < s->n_bids; i++)
		free(s->bids[i].filename);
	free(s->bids);
	if (s->kload.started)
		pthread_join(s->kload.thread, NULL);
	for (size_t i = 0; i < s->dwload.n; i++) {
		free(s->dwload.jobs[i].syms);
		if (s->dwload.jobs[i].dwfl)
			dwfl_end(s->dwload.jobs[i].dwfl);
		free(s->dwload.jobs[i].base);
		free(s->dwload.jobs[i].path);
	}
	free(s->dwload.jobs);
	free(s->kload.ksyms);
	free(s->kload.kpool);
	free(s->kload.path);
	free(s->ksyms);
	free(s->kpool);
	pfs_jitmaps_free(s->jit);
	for (size_t i = 0; i < s->n_dumps; i++)
		pfs_jitdump_free(s->dumps[i].jd);
	free(s->dumps);
	for (size_t i = 0; i < s->n_wholes; i++) {
		free(s->wholes[i].pcs);
		free(s->wholes[i].sps);
	}
	free(s->wholes);
	free(s->nomaps);
	free(s->uw.sps);
	free(s->note_pcs);
	free(s->symfs);
	free(s->app_dir);
	free(s->capture_dir);
	free(s->kallsyms_path);
	free(s->home_debug);
	free(s->hostname);
	free(s->osrelease);
	free(s->debuginfo_path);
	free(s);
}

void pfs_symbols_release_space(void *sym)
{
	struct space *sp = sym;
	if (!sp)
		return;
	if (sp->dwfl)
		dwfl_end(sp->dwfl);
	free(sp->mods);
	free(sp->steps);
	free(sp);
}

static void kallsyms_start(struct pfs_symbols *s, const char *path);
static bool same_machine(const struct pfs_symbols *s);
static struct dso *dso_get(struct pfs_symbols *s, const struct pfs_map *m);
static void dso_open(struct pfs_symbols *s, struct dso *d);
static bool read_syms(Dwfl_Module *mod, struct fsym **out, size_t *n_out);
static void syms_taken(struct pfs_symbols *s, struct dso *d, bool ok, struct fsym *syms, size_t n);

/*
 * Reads the symbol table, then the DWARF, of every job; touches nothing but the jobs and their
 * dsos' own modules (which nothing else uses until dwarf_take), so it runs on its own thread.
 */
static void *dwarf_read(void *arg)
{
	struct dwload *w = arg;
	for (size_t i = 0; i < w->n; i++) {
		struct dwjob *j = &w->jobs[i];
		j->syms_ok = read_syms(j->sym_mod, &j->syms, &j->n_syms);
	}
	for (size_t i = 0; i < w->n; i++) {
		struct dwjob *j = &w->jobs[i];
		if (!j->want_dwarf)
			continue;
		j->dwfl = dwfl_begin(w->cb);
		if (!j->dwfl)
			continue;
		dwfl_report_begin(j->dwfl);
		j->mod = dwfl_report_elf(j->dwfl, j->base, j->path, -1, 0, true);
		dwfl_report_end(j->dwfl, NULL, NULL);
		Dwarf_Addr bias;
		if (j->mod)
			dwfl_module_getdwarf(j->mod, &bias);
	}
	atomic_store(&w->done, true);
	return NULL;
}

/* Waits for the preload thread and hands each file its DWARF. */
static void dwarf_take(struct pfs_symbols *s)
{
	struct dwload *w = &s->dwload;
	if (w->started)
		pthread_join(w->thread, NULL);
	w->started = false;
	for (size_t i = 0; i < w->n; i++) {
		struct dwjob *j = &w->jobs[i];
		struct dso *d = &s->dsos[j->dso];
		if (d->syms_pending) {
			d->syms_pending = false;
			syms_taken(s, d, j->syms_ok, j->syms, j->n_syms);
			j->syms = NULL;
		}
		if (j->mod && !d->dw_dwfl) {
			d->dw_dwfl = j->dwfl;
			d->dw_mod = j->mod;
			j->dwfl = NULL;
		}
	}
}

/* The module whose DWARF d's inline frames come from. */
static Dwfl_Module *dwarf_mod(struct pfs_symbols *s, struct dso *d)
{
	if (s->dwload.started)
		dwarf_take(s);
	return d->dw_mod ? d->dw_mod : d->mod;
}

/*
 * perf record lists the files its samples hit (HEADER_BUILD_ID, user space ones with cpumode
 * PERF_RECORD_MISC_USER). Opening them now, and reading their symbol tables and DWARF on a
 * thread (decompressing a libc's debug sections is tens of milliseconds), fills the time the
 * kernel spends formatting /proc/kallsyms for the other thread, which the first sample with a
 * kernel frame would otherwise wait out doing nothing, and leaves the reading of the samples
 * to this one.
 */
static void preload(struct pfs_symbols *s)
{
	for (size_t i = 0; i < s->n_bids; i++) {
		const struct pfs_build_id *b = &s->bids[i];
		size_t len = strlen(b->filename);
		if ((b->cpumode & 7) != 2 /* PERF_RECORD_MISC_USER */ || b->filename[0] != '/' ||
		    (len > 3 && !strcmp(b->filename + len - 3, ".ko")))
			continue;
		struct pfs_map m = {.name = pfs_profile_cstr(s->prof, b->filename)};
		m.build_id_size = b->size > 20 ? 20 : b->size;
		memcpy(m.build_id, b->id, m.build_id_size);
		struct dso *d = dso_get(s, &m);
		if (d->state == DSO_UNTRIED)
			dso_open(s, d);
		if (d->state != DSO_OK || d->syms_loaded || d->syms_pending || s->dwload.started)
			continue;
		struct dwload *w = &s->dwload;
		d->syms_pending = true;
		PFS_GROW(w->jobs, w->cap, w->n + 1);
		w->jobs[w->n++] = (struct dwjob){.dso = (uint32_t)(d - s->dsos),
						 .base = pfs_xstrdup(d->base),
						 .path = pfs_xstrdup(d->path),
						 .sym_mod = d->mod,
						 .want_dwarf = !s->o.no_inline};
	}
	struct dwload *w = &s->dwload;
	if (w->n && !w->started) {
		w->cb = &s->cb;
		w->started = pthread_create(&w->thread, NULL, dwarf_read, w) == 0;
		if (!w->started)
			dwarf_read(w);
	}
}

void pfs_symbols_set_capture(struct pfs_symbols *s, const char *hostname, const char *osrelease,
			     const struct pfs_build_id *build_ids, size_t n_build_ids)
{
	free(s->hostname);
	free(s->osrelease);
	s->hostname = xstrdup_or_null(hostname);
	s->osrelease = xstrdup_or_null(osrelease);
	for (size_t i = 0; i < n_build_ids; i++) {
		if (!build_ids[i].filename || !build_ids[i].size)
			continue;
		PFS_GROW(s->bids, s->cap_bids, s->n_bids + 1);
		s->bids[s->n_bids] = build_ids[i];
		s->bids[s->n_bids++].filename = pfs_xstrdup(build_ids[i].filename);
	}
	/* /tmp holds this machine's JIT files: another machine's capture must not read them */
	pfs_jitmaps_use_tmp(s->jit, same_machine(s));
	if (!s->kernel_tried && !s->kload.pending) {
		if (s->kallsyms_path)
			kallsyms_start(s, s->kallsyms_path);
		else if (same_machine(s))
			kallsyms_start(s, "/proc/kallsyms");
	}
	preload(s);
}

/* ---- finding and opening files ---- */

static int read_build_id(Elf *elf, uint8_t *out, size_t max)
{
	const void *p;
	ssize_t n = dwelf_elf_gnu_build_id(elf, &p);
	if (n <= 0)
		return 0;
	size_t k = (size_t)n < max ? (size_t)n : max;
	memcpy(out, p, k);
	return (int)k;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	out[2 * n] = 0;
}

enum { TRY_OK, TRY_MISSING, TRY_NOT_ELF, TRY_MISMATCH, TRY_UNREADABLE };

/* Opens path as d's file when it is ELF and its build-id fits. */
static int try_file(struct dso *d, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? TRY_MISSING : TRY_UNREADABLE;
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		if (elf)
			elf_end(elf);
		close(fd);
		return TRY_NOT_ELF;
	}
	GElf_Ehdr eh;
	if (!gelf_getehdr(elf, &eh)) {
		elf_end(elf);
		close(fd);
		return TRY_NOT_ELF;
	}
	if (d->want_bid_size) {
		uint8_t bid[20];
		int n = read_build_id(elf, bid, sizeof(bid));
		if (n != d->want_bid_size || memcmp(bid, d->want_bid, (size_t)n)) {
			elf_end(elf);
			close(fd);
			return TRY_MISMATCH;
		}
	}
	d->fd = fd;
	d->elf = elf;
	d->e_type = eh.e_type;
	d->path = pfs_xstrdup(path);
	size_t len = 0;
	d->raw = (const uint8_t *)elf_rawfile(elf, &len);
	d->raw_len = d->raw ? len : 0;
	return TRY_OK;
}

static void load_segments(struct dso *d)
{
	size_t n, cap = 0;
	if (elf_getphdrnum(d->elf, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(d->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		PFS_GROW(d->segs, cap, d->n_segs + 1);
		d->segs[d->n_segs++] = (struct load_seg){ph.p_vaddr, ph.p_offset, ph.p_filesz};
	}
}

/* perf's x86 PLT naming: .plt entries after a 16-byte header, in .rela.plt order. */
static void load_plt(struct dso *d)
{
	size_t shstrndx;
	if (elf_getshdrstrndx(d->elf, &shstrndx))
		return;
	Elf_Scn *scn = NULL, *rela = NULL;
	GElf_Shdr plt_sh = {0}, sec_sh = {0}, rela_sh = {0};
	bool have_plt = false, have_sec = false;
	while ((scn = elf_nextscn(d->elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		const char *nm = elf_strptr(d->elf, shstrndx, sh.sh_name);
		if (!nm)
			continue;
		if (!strcmp(nm, ".plt")) {
			plt_sh = sh;
			have_plt = true;
		} else if (!strcmp(nm, ".plt.sec")) {
			sec_sh = sh;
			have_sec = true;
		} else if (!strcmp(nm, ".rela.plt") && sh.sh_type == SHT_RELA) {
			rela = scn;
			rela_sh = sh;
		}
	}
	if (!rela || !have_plt || !rela_sh.sh_entsize)
		return;
	Elf_Scn *symscn = elf_getscn(d->elf, rela_sh.sh_link);
	GElf_Shdr sym_sh;
	Elf_Data *rdata = elf_getdata(rela, NULL), *sdata;
	if (!symscn || !gelf_getshdr(symscn, &sym_sh) || !rdata ||
	    !(sdata = elf_getdata(symscn, NULL)))
		return;
	size_t n = rela_sh.sh_size / rela_sh.sh_entsize;
	if (n > 1u << 20)
		return;
	d->plt_names = pfs_xcalloc(n ? n : 1, sizeof(*d->plt_names));
	for (size_t i = 0; i < n; i++) {
		GElf_Rela r;
		GElf_Sym sym;
		if (!gelf_getrela(rdata, (int)i, &r) ||
		    !gelf_getsym(sdata, (int)GELF_R_SYM(r.r_info), &sym))
			continue;
		const char *nm = elf_strptr(d->elf, sym_sh.sh_link, sym.st_name);
		if (!nm || !*nm)
			continue;
		size_t len = strlen(nm) + 5;
		d->plt_names[i] = pfs_xmalloc(len);
		snprintf(d->plt_names[i], len, "%s@plt", nm);
	}
	d->n_plt = n;
	if (have_sec) {
		d->plt = (struct plt_range){sec_sh.sh_addr, sec_sh.sh_addr + sec_sh.sh_size,
					    sec_sh.sh_addr};
	} else {
		d->plt = (struct plt_range){plt_sh.sh_addr, plt_sh.sh_addr + plt_sh.sh_size,
					    plt_sh.sh_addr + 16};
	}
}

static const char *base_name(const char *p)
{
	const char *b = strrchr(p, '/');
	return b ? b + 1 : p;
}

/*
 * How far the ELF headers say the file goes: the section header table (at the end of what
 * linkers write) and every loaded segment. A file cut short (a copy interrupted, a full disk)
 * still opens, but libelf then quietly sees no sections: without this nothing would say why
 * its frames are [unknown].
 */
static uint64_t elf_extent(Elf *elf)
{
	GElf_Ehdr eh;
	if (!gelf_getehdr(elf, &eh))
		return 0;
	uint64_t end = eh.e_shnum ? eh.e_shoff + (uint64_t)eh.e_shnum * eh.e_shentsize : 0;
	size_t n;
	if (elf_getphdrnum(elf, &n))
		return end;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD &&
		    ph.p_offset + ph.p_filesz > end)
			end = ph.p_offset + ph.p_filesz;
	}
	return end;
}

/*
 * Whether a file name is a JIT's jitdump (".../jit-PID.dump"): the JIT maps it executable so
 * that perf records where it is, as a marker; it holds no code to map.
 */
static bool jitdump_marker(const char *base)
{
	unsigned pid;
	int end = 0;
	return sscanf(base, "jit-%u.dump%n", &pid, &end) == 1 && end && !base[end];
}

static void dso_open(struct pfs_symbols *s, struct dso *d)
{
	const char *rec = pfs_profile_strget(s->prof, d->name, NULL);
	if (jitdump_marker(d->base)) {
		d->state = DSO_FAILED;
		return;
	}
	char path[4096];
	int worst = TRY_MISSING, r = TRY_MISSING;
	bool debug_try = false;
#define TRY(...)                                                                                   \
	do {                                                                                       \
		snprintf(path, sizeof(path), __VA_ARGS__);                                         \
		r = try_file(d, path);                                                             \
		if (r == TRY_OK && !debug_try)                                                     \
			goto found;                                                                \
		if (r > worst)                                                                     \
			worst = r;                                                                 \
	} while (0)
	if (s->symfs && rec[0] == '/')
		TRY("%s%s", s->symfs, rec);
	if (rec[0] && !s->o.symfs_only)
		TRY("%s", rec);
	if (s->app_dir)
		TRY("%s/%s", s->app_dir, d->base);
	if (s->capture_dir)
		TRY("%s/%s", s->capture_dir, d->base);
	if (d->want_bid_size && s->home_debug && !s->o.symfs_only) {
		char h[41];
		hex(d->want_bid, d->want_bid_size, h);
		TRY("%s/.build-id/%.2s/%s/elf", s->home_debug, h, h + 2);
	}
	if (d->want_bid_size) {
		/* the separate debug file alone still names functions; its bytes are not code */
		char h[41];
		hex(d->want_bid, d->want_bid_size, h);
		debug_try = true;
		TRY("%s/usr/lib/debug/.build-id/%.2s/%s.debug", s->symfs ? s->symfs : "", h, h + 2);
		if (r == TRY_OK) {
			d->raw = NULL;
			d->raw_len = 0;
			d->debug_only = true;
			goto found;
		}
	}
#undef TRY
	d->state = DSO_FAILED;
	switch (worst) {
	case TRY_MISMATCH: {
		char h[41];
		hex(d->want_bid, d->want_bid_size, h);
		pfs_diag_add(s->diag, PFS_WARN, "build-id-mismatch", PFS_NO_OFF,
			     "%s: no file with the recorded build-id %s; its frames are [unknown]",
			     rec, h);
		break;
	}
	case TRY_NOT_ELF:
		pfs_diag_add(s->diag, PFS_WARN, "dso-not-elf", PFS_NO_OFF,
			     "%s: not an ELF file; its frames are [unknown]", rec);
		break;
	case TRY_UNREADABLE:
		pfs_diag_add(s->diag, PFS_WARN, "dso-unreadable", PFS_NO_OFF,
			     "%s: cannot be read; its frames are [unknown]", rec);
		break;
	default:
		pfs_diag_add(s->diag, PFS_WARN, "dso-not-found", PFS_NO_OFF,
			     "%s: not found (try --symfs or --app-dir); its frames are [unknown]",
			     rec);
	}
	return;
found:;
	struct stat st;
	uint64_t want = elf_extent(d->elf);
	if (!fstat(d->fd, &st) && want > (uint64_t)st.st_size)
		pfs_diag_add(s->diag, PFS_WARN, "dso-truncated", PFS_NO_OFF,
			     "%s: truncated: its ELF headers reach offset 0x%" PRIx64
			     " but the file has 0x%" PRIx64 " bytes; frames it cannot name are "
			     "[unknown]",
			     d->path, want, (uint64_t)st.st_size);
	load_segments(d);
	load_plt(d);
	d->dwfl = dwfl_begin(&s->cb);
	if (d->dwfl) {
		dwfl_report_begin(d->dwfl);
		d->mod = dwfl_report_elf(d->dwfl, d->base, d->path, -1, 0, true);
		dwfl_report_end(d->dwfl, NULL, NULL);
	}
	if (!d->mod) {
		pfs_diag_add(s->diag, PFS_WARN, "dso-unreadable", PFS_NO_OFF,
			     "%s: elfutils cannot load it (%s); its frames are [unknown]", d->path,
			     dwfl_errmsg(-1));
		d->state = DSO_FAILED;
		return;
	}
	d->state = DSO_OK;
}

static struct dso *dso_get(struct pfs_symbols *s, const struct pfs_map *m)
{
	if (m->name >= s->cap_by_name) {
		size_t old = s->cap_by_name;
		size_t nc = old ? old : 64;
		while (nc <= m->name)
			nc *= 2;
		s->dso_by_name = pfs_xreallocarray(s->dso_by_name, nc, sizeof(*s->dso_by_name));
		memset(s->dso_by_name + old, 0, (nc - old) * sizeof(*s->dso_by_name));
		s->cap_by_name = nc;
	}
	uint32_t idx = s->dso_by_name[m->name];
	if (idx)
		return &s->dsos[idx - 1];
	PFS_GROW(s->dsos, s->cap_dsos, s->n_dsos + 1);
	struct dso *d = &s->dsos[s->n_dsos++];
	memset(d, 0, sizeof(*d));
	d->fd = -1;
	d->name = m->name;
	d->base = pfs_xstrdup(base_name(pfs_profile_strget(s->prof, m->name, NULL)));
	const char *rec = pfs_profile_strget(s->prof, m->name, NULL);
	if (m->build_id_size) {
		d->want_bid_size = m->build_id_size;
		memcpy(d->want_bid, m->build_id, m->build_id_size);
	} else {
		for (size_t i = 0; i < s->n_bids; i++)
			if (!strcmp(s->bids[i].filename, rec)) {
				d->want_bid_size = s->bids[i].size > 20 ? 20 : s->bids[i].size;
				memcpy(d->want_bid, s->bids[i].id, d->want_bid_size);
				break;
			}
	}
	s->dso_by_name[m->name] = (uint32_t)s->n_dsos;
	return d;
}

static struct dso *dso_ready(struct pfs_symbols *s, const struct pfs_map *m)
{
	struct dso *d = dso_get(s, m);
	if (d->state == DSO_UNTRIED)
		dso_open(s, d);
	return d->state == DSO_OK ? d : NULL;
}

/* Load bias of d as mapped by m: runtime address minus file vaddr. */
static bool map_bias(const struct dso *d, const struct pfs_map *m, uint64_t *bias)
{
	if (d->e_type == ET_EXEC) {
		*bias = 0;
		return true;
	}
	for (size_t i = 0; i < d->n_segs; i++) {
		const struct load_seg *g = &d->segs[i];
		uint64_t pg_off = g->offset & ~(uint64_t)0xfff;
		if (m->pgoff >= pg_off && m->pgoff < g->offset + g->filesz + 0x1000) {
			*bias = m->start - m->pgoff - (g->vaddr - g->offset);
			return true;
		}
	}
	if (!d->n_segs)
		return false;
	*bias = m->start - m->pgoff;
	return true;
}

/* ---- the (dso, address) -> frames cache ---- */

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

static struct cache_slot *cache_find(struct pfs_symbols *s, uint32_t dso, uint64_t addr)
{
	size_t mask = s->cache_cap - 1;
	for (size_t h = mix(addr ^ (uint64_t)dso << 40) & mask;; h = (h + 1) & mask) {
		struct cache_slot *c = &s->cache[h];
		if (!c->dso || (c->dso == dso && c->addr == addr))
			return c;
	}
}

static void cache_put(struct pfs_symbols *s, uint32_t dso, uint64_t addr, const uint32_t *f,
		      size_t n)
{
	if ((s->cache_n + 1) * 2 > s->cache_cap) {
		struct cache_slot *old = s->cache;
		size_t oc = s->cache_cap;
		s->cache_cap *= 2;
		s->cache = pfs_xcalloc(s->cache_cap, sizeof(*s->cache));
		for (size_t i = 0; i < oc; i++)
			if (old[i].dso)
				*cache_find(s, old[i].dso, old[i].addr) = old[i];
		free(old);
	}
	struct cache_slot *c = cache_find(s, dso, addr);
	PFS_GROW(s->pool, s->pool_cap, s->pool_n + n);
	memcpy(s->pool + s->pool_n, f, n * sizeof(*f));
	*c = (struct cache_slot){addr, dso, (uint32_t)s->pool_n, (uint32_t)n};
	s->pool_n += n;
	s->cache_n++;
}

/* ---- resolving ---- */

static uint32_t frame(struct pfs_symbols *s, uint32_t name, uint32_t file, uint32_t line,
		      uint32_t dso, enum pfs_frame_kind kind, bool inlined)
{
	struct pfs_frame f = {name, file, line, dso, (uint8_t)kind, inlined ? 1 : 0};
	return pfs_profile_frame(s->prof, &f);
}

static uint32_t unknown_frame(struct pfs_symbols *s, uint32_t dso, uint64_t addr, bool kernel)
{
	uint32_t name = kernel ? s->s_kernel : s->s_unknown;
	if (s->o.addr_names) {
		char buf[300];
		const char *dn =
		    dso ? base_name(pfs_profile_strget(s->prof, dso, NULL)) : "unknown";
		snprintf(buf, sizeof(buf), "[%s <%" PRIx64 ">]", *dn ? dn : "unknown", addr);
		name = pfs_profile_cstr(s->prof, buf);
	}
	return frame(s, name, 0, 0, dso, kernel ? PFS_FK_KERNEL : PFS_FK_UNKNOWN, false);
}

/* The name the function has in the symbol table when the compiler said (glibc's __GI_ names),
 * else its source name: addr2line's choice, so our stacks read as perf's. */
static const char *die_name(Dwarf_Die *die)
{
	Dwarf_Attribute a;
	const char *n = NULL;
	if (dwarf_attr_integrate(die, DW_AT_linkage_name, &a) ||
	    dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &a))
		n = dwarf_formstring(&a);
	if (!n && dwarf_attr_integrate(die, DW_AT_name, &a))
		n = dwarf_formstring(&a);
	return n;
}

/*
 * ---- source file names ----
 *
 * dwarf_decl_file reads a CU's whole line program (every row of its line table) to name one
 * file, which for an interpreter's eval loop is most of the cost of its inline frames. The
 * file table is in the line program's header: read just that, and join directory and name
 * as libdw does, so the names are the ones dwarf_decl_file would give.
 */

static void find_dsecs(struct dso *d, Dwarf *dw)
{
	d->secs_tried = true;
	Elf *elf = dwarf_getelf(dw);
	size_t shstrndx;
	if (!elf || elf_getshdrstrndx(elf, &shstrndx))
		return;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		const char *nm;
		if (!gelf_getshdr(scn, &sh) || !(nm = elf_strptr(elf, shstrndx, sh.sh_name)))
			continue;
		struct dsec *t = !strcmp(nm, ".debug_line")	  ? &d->line
				 : !strcmp(nm, ".debug_line_str") ? &d->line_str
				 : !strcmp(nm, ".debug_str")	  ? &d->str
								  : NULL;
		Elf_Data *data;
		/* libdw decompressed the sections it opened; a still compressed one is not read */
		if (t && !(sh.sh_flags & SHF_COMPRESSED) && (data = elf_getdata(scn, NULL)) &&
		    data->d_buf) {
			t->p = data->d_buf;
			t->len = data->d_size;
		}
	}
}

static uint64_t uleb(struct pfs_cursor *c)
{
	uint64_t v = 0;
	for (unsigned shift = 0;; shift += 7) {
		uint8_t b = pfs_cursor_u8(c);
		if (c->bad)
			return 0;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
}

static const char *sec_str(const struct dsec *sec, uint64_t off)
{
	if (!sec->p || off >= sec->len || !memchr(sec->p + off, 0, sec->len - off))
		return NULL;
	return (const char *)sec->p + off;
}

static const char *inline_str(struct pfs_cursor *c)
{
	const uint8_t *z = memchr(c->p, 0, pfs_cursor_left(c));
	if (!z) {
		c->bad = true;
		return NULL;
	}
	const char *s = (const char *)c->p;
	c->p = z + 1;
	return s;
}

/* One DWARF 5 entry field of the given form: its string when it is one; false when unknown. */
static bool entry_field(struct dso *d, struct pfs_cursor *c, uint64_t form, unsigned offset_size,
			const char **str, uint64_t *num)
{
	*str = NULL;
	*num = 0;
	switch (form) {
	case DW_FORM_string:
		*str = inline_str(c);
		return *str != NULL;
	case DW_FORM_line_strp:
	case DW_FORM_strp: {
		uint64_t off = offset_size == 8 ? pfs_cursor_u64(c) : pfs_cursor_u32(c);
		*str = sec_str(form == DW_FORM_strp ? &d->str : &d->line_str, off);
		return !c->bad && *str;
	}
	case DW_FORM_udata:
		*num = uleb(c);
		return !c->bad;
	case DW_FORM_data1:
		*num = pfs_cursor_u8(c);
		return !c->bad;
	case DW_FORM_data2:
		*num = pfs_cursor_u16(c);
		return !c->bad;
	case DW_FORM_data4:
		*num = pfs_cursor_u32(c);
		return !c->bad;
	case DW_FORM_data8:
		*num = pfs_cursor_u64(c);
		return !c->bad;
	case DW_FORM_data16:
		return pfs_cursor_skip(c, 16);
	case DW_FORM_block:
		return pfs_cursor_skip(c, uleb(c)) && !c->bad;
	default:
		return false;
	}
}

/* The directories (or files) of a DWARF 5 header: paths and directory indexes. */
static bool v5_entries(struct dso *d, struct pfs_cursor *c, unsigned offset_size, bool need_dir,
		       const char ***paths, uint64_t **dirs, size_t *n)
{
	uint64_t forms[2][32];
	unsigned nf = pfs_cursor_u8(c);
	if (c->bad || nf > 32)
		return false;
	for (unsigned i = 0; i < nf; i++) {
		forms[0][i] = uleb(c);
		forms[1][i] = uleb(c);
	}
	uint64_t count = uleb(c);
	if (c->bad || (nf && count > pfs_cursor_left(c) / nf) || (!nf && count))
		return false;
	*paths = pfs_xcalloc(count ? count : 1, sizeof(**paths));
	*dirs = pfs_xcalloc(count ? count : 1, sizeof(**dirs));
	*n = count;
	for (uint64_t k = 0; k < count; k++) {
		bool have_path = false, have_dir = false;
		for (unsigned i = 0; i < nf; i++) {
			const char *str;
			uint64_t num;
			if (!entry_field(d, c, forms[1][i], offset_size, &str, &num))
				return false;
			if (forms[0][i] == DW_LNCT_path) {
				(*paths)[k] = str;
				have_path = str != NULL;
			} else if (forms[0][i] == DW_LNCT_directory_index) {
				(*dirs)[k] = num;
				have_dir = true;
			}
		}
		if (!have_path || (need_dir && !have_dir))
			return false;
	}
	return true;
}

/* Reads the file table of the line program at off; false when it is not one this follows. */
static bool read_file_table(struct dso *d, struct cu_files *t, uint64_t off, const char *comp_dir)
{
	if (off >= d->line.len)
		return false;
	struct pfs_cursor c = pfs_cursor_make(d->line.p + off, d->line.len - off, false);
	unsigned offset_size = 4;
	uint64_t unit_len = pfs_cursor_u32(&c);
	if (unit_len == 0xffffffff) {
		offset_size = 8;
		unit_len = pfs_cursor_u64(&c);
	}
	if (c.bad || unit_len > pfs_cursor_left(&c))
		return false;
	c.end = c.p + unit_len;
	unsigned version = pfs_cursor_u16(&c);
	if (version < 2 || version > 5)
		return false;
	if (version >= 5) {
		unsigned addr_size = pfs_cursor_u8(&c);
		if ((addr_size != 4 && addr_size != 8) || pfs_cursor_u8(&c) != 0)
			return false;
	}
	uint64_t header_len = offset_size == 8 ? pfs_cursor_u64(&c) : pfs_cursor_u32(&c);
	if (c.bad || header_len > pfs_cursor_left(&c))
		return false;
	c.end = c.p + header_len;
	pfs_cursor_skip(&c, version >= 4 ? 5 : 4); /* instruction lengths, is_stmt, line base */
	unsigned opcode_base = pfs_cursor_u8(&c);
	if (c.bad || !opcode_base || !pfs_cursor_skip(&c, opcode_base - 1u))
		return false;
	const char **dpath = NULL, **fpath = NULL;
	uint64_t *ddir = NULL, *fdir = NULL;
	size_t nd = 0, nfl = 0;
	bool ok = false;
	if (version >= 5) {
		ok = v5_entries(d, &c, offset_size, false, &dpath, &ddir, &nd) &&
		     v5_entries(d, &c, offset_size, true, &fpath, &fdir, &nfl);
	} else {
		/* directory 0 is the compilation directory; file 0 does not exist */
		size_t cap = 0;
		PFS_GROW(dpath, cap, 1);
		dpath[nd++] = comp_dir;
		while (!c.bad && pfs_cursor_left(&c) && *c.p) {
			PFS_GROW(dpath, cap, nd + 1);
			dpath[nd++] = inline_str(&c);
		}
		pfs_cursor_skip(&c, 1);
		size_t capf = 0, capd = 0;
		PFS_GROW(fpath, capf, 1);
		PFS_GROW(fdir, capd, 1);
		fpath[0] = NULL;
		fdir[0] = 0;
		nfl = 1;
		while (!c.bad && pfs_cursor_left(&c) && *c.p) {
			PFS_GROW(fpath, capf, nfl + 1);
			PFS_GROW(fdir, capd, nfl + 1);
			fpath[nfl] = inline_str(&c);
			fdir[nfl++] = uleb(&c);
			uleb(&c);
			uleb(&c);
		}
		ok = !c.bad && pfs_cursor_left(&c) && *c.p == 0;
	}
	for (size_t i = 0; ok && i < nfl; i++)
		if (fdir[i] >= nd || (version >= 5 && !dpath[fdir[i]]))
			ok = false;
	if (ok) {
		t->f = pfs_xcalloc(nfl ? nfl : 1, sizeof(*t->f));
		t->n = nfl;
		for (size_t i = 0; i < nfl; i++) {
			const char *nm = fpath[i];
			bool alone = !nm || nm[0] == '/';
			t->f[i] = (struct src_file){alone ? NULL : dpath[fdir[i]], nm, 0};
		}
	}
	free(dpath);
	free(ddir);
	free(fpath);
	free(fdir);
	return ok;
}

static struct cu_files *cu_files(struct dso *d, Dwarf_CU *cu)
{
	if (d->last_files < d->n_files && d->files[d->last_files].cu == cu)
		return &d->files[d->last_files];
	for (size_t i = 0; i < d->n_files; i++)
		if (d->files[i].cu == cu) {
			d->last_files = i;
			return &d->files[i];
		}
	PFS_GROW(d->files, d->cap_files, d->n_files + 1);
	struct cu_files *t = &d->files[d->n_files];
	d->last_files = d->n_files++;
	*t = (struct cu_files){cu, NULL, 0, true};
	Dwarf_Die cudie;
	Dwarf_Half version;
	uint8_t unit_type;
	Dwarf_Attribute a;
	Dwarf_Word off;
	if (!d->secs_tried)
		find_dsecs(d, dwarf_cu_getdwarf(cu));
	if (!d->line.p || dwarf_cu_info(cu, &version, &unit_type, &cudie, NULL, NULL, NULL, NULL) ||
	    (unit_type != DW_UT_compile && unit_type != DW_UT_partial) ||
	    !dwarf_attr(&cudie, DW_AT_stmt_list, &a) || dwarf_formudata(&a, &off))
		return t;
	const char *comp_dir = dwarf_formstring(dwarf_attr(&cudie, DW_AT_comp_dir, &a));
	t->bad = !read_file_table(d, t, off, comp_dir);
	return t;
}

/* dwarf_decl_file's answer as a string id (0 for none), without reading the line table. */
static uint32_t decl_file(struct pfs_symbols *s, struct dso *d, Dwarf_Die *die)
{
	Dwarf_Attribute a;
	Dwarf_Word idx;
	if (dwarf_formudata(dwarf_attr_integrate(die, DW_AT_decl_file, &a), &idx) || !idx)
		return 0;
	struct cu_files *t = cu_files(d, a.cu);
	if (t->bad || idx >= t->n) {
		const char *df = dwarf_decl_file(die);
		return df ? pfs_profile_cstr(s->prof, df) : 0;
	}
	struct src_file *f = &t->f[idx];
	if (!f->id) {
		if (!f->dir) {
			f->id = pfs_profile_cstr(s->prof, f->name);
		} else {
			size_t ld = strlen(f->dir), ln = strlen(f->name);
			char *p = pfs_xmalloc(ld + ln + 2);
			memcpy(p, f->dir, ld);
			p[ld] = '/';
			memcpy(p + ld + 1, f->name, ln + 1);
			f->id = pfs_profile_cstr(s->prof, p);
			free(p);
		}
	}
	return f->id;
}

static bool is_c(int lang)
{
	return lang == DW_LANG_C89 || lang == DW_LANG_C || lang == DW_LANG_C99 ||
	       lang == DW_LANG_C11 || lang == 0x2c /* DW_LANG_C17 */;
}

static int cmp_fn(const void *x, const void *y)
{
	const struct fn_range *a = x, *b = y;
	return a->low < b->low ? -1 : a->low > b->low;
}

static void index_fns(struct cu_fns *c, Dwarf_Die *parent, int depth)
{
	Dwarf_Die die;
	if (depth > 8 || dwarf_child(parent, &die))
		return;
	do {
		int tag = dwarf_tag(&die);
		if (tag == DW_TAG_namespace || tag == DW_TAG_class_type ||
		    tag == DW_TAG_structure_type || tag == DW_TAG_module) {
			index_fns(c, &die, depth + 1);
			continue;
		}
		if (tag != DW_TAG_subprogram)
			continue;
		Dwarf_Addr base, lo, hi;
		ptrdiff_t off = 0;
		while ((off = dwarf_ranges(&die, off, &base, &lo, &hi)) > 0) {
			if (hi <= lo)
				continue;
			PFS_GROW(c->v, c->cap, c->n + 1);
			c->v[c->n++] = (struct fn_range){lo, hi, dwarf_dieoffset(&die), 0};
		}
	} while (dwarf_siblingof(&die, &die) == 0);
}

/* The function index of a CU, empty until cu_find asks it for an address. */
static struct cu_fns *cu_index(struct dso *d, Dwarf_Die *cu)
{
	Dwarf_Off off = dwarf_dieoffset(cu);
	for (size_t i = 0; i < d->n_cus; i++)
		if (d->cus[i].cu_off == off)
			return &d->cus[i];
	PFS_GROW(d->cus, d->cap_cus, d->n_cus + 1);
	struct cu_fns *c = &d->cus[d->n_cus++];
	memset(c, 0, sizeof(*c));
	c->cu_off = off;
	return c;
}

static struct fn_range *fn_at(struct cu_fns *c, Dwarf_Addr pc)
{
	size_t lo = 0, hi = c->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->v[mid].low <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && pc < c->v[lo - 1].high ? &c->v[lo - 1] : NULL;
}

/*
 * The function of the CU holding pc, NULL if none. The CU's top-level DIEs are indexed as far
 * as the first lookup that needs them: a C file's types and declarations come before its
 * functions, and the functions after the last one sampled are never read.
 */
static struct fn_range *cu_find(struct dso *d, Dwarf_Die *cu, Dwarf_Addr pc)
{
	struct cu_fns *c = cu_index(d, cu);
	struct fn_range *f = fn_at(c, pc);
	if (f || c->complete)
		return f;
	Dwarf_Die die;
	int r;
	if (c->resume)
		r = dwarf_offdie(dwarf_cu_getdwarf(cu->cu), c->resume, &die) ? 0 : 1;
	else
		r = dwarf_child(cu, &die);
	/* C has no functions inside types: its structs are not walked member by member */
	bool c_lang = is_c(dwarf_srclang(cu));
	bool hit = false;
	while (r == 0 && !hit) {
		int tag = dwarf_tag(&die);
		if (tag == DW_TAG_namespace || tag == DW_TAG_module ||
		    (!c_lang && (tag == DW_TAG_class_type || tag == DW_TAG_structure_type))) {
			index_fns(c, &die, 1);
		} else if (tag == DW_TAG_subprogram) {
			Dwarf_Addr base, lo, hi;
			ptrdiff_t off = 0;
			while ((off = dwarf_ranges(&die, off, &base, &lo, &hi)) > 0) {
				if (hi <= lo)
					continue;
				PFS_GROW(c->v, c->cap, c->n + 1);
				c->v[c->n++] = (struct fn_range){lo, hi, dwarf_dieoffset(&die), 0};
				hit = hit || (pc >= lo && pc < hi);
			}
		}
		r = dwarf_siblingof(&die, &die);
	}
	if (r == 0)
		c->resume = dwarf_dieoffset(&die);
	else
		c->complete = true;
	if (c->n)
		qsort(c->v, c->n, sizeof(*c->v), cmp_fn);
	return fn_at(c, pc);
}

static bool scope_tag(int tag)
{
	return tag == DW_TAG_inlined_subroutine || tag == DW_TAG_lexical_block ||
	       tag == DW_TAG_try_block || tag == DW_TAG_catch_block;
}

/* Adds the scopes below parent (tree index pidx) to t, depth first. */
static void scope_children(struct scope_tree *t, Dwarf_Die *parent, uint32_t pidx, int depth)
{
	Dwarf_Die die;
	uint32_t prev = NO_SCOPE;
	if (depth > 256 || t->n >= NO_SCOPE - 1 || dwarf_child(parent, &die))
		return;
	do {
		int tag = dwarf_tag(&die);
		if (!scope_tag(tag))
			continue;
		PFS_GROW(t->v, t->cap, t->n + 1);
		uint32_t i = (uint32_t)t->n++;
		t->v[i] = (struct scope){
		    dwarf_dieoffset(&die), NO_SCOPE, NO_SCOPE,
		    (uint32_t)t->n_pcs,	   0,	     tag == DW_TAG_inlined_subroutine};
		Dwarf_Addr base, lo, hi;
		ptrdiff_t off = 0;
		while ((off = dwarf_ranges(&die, off, &base, &lo, &hi)) > 0) {
			PFS_GROW(t->pcs, t->cap_pcs, t->n_pcs + 2);
			t->pcs[t->n_pcs++] = lo;
			t->pcs[t->n_pcs++] = hi;
			t->v[i].n_ranges++;
		}
		if (prev == NO_SCOPE)
			t->v[pidx].first_child = i;
		else
			t->v[prev].next = i;
		prev = i;
		scope_children(t, &die, i, depth + 1);
	} while (dwarf_siblingof(&die, &die) == 0);
}

static bool scope_has(const struct scope_tree *t, const struct scope *sc, uint64_t pc)
{
	for (uint32_t r = 0; r < sc->n_ranges; r++)
		if (pc >= t->pcs[sc->ranges + 2 * r] && pc < t->pcs[sc->ranges + 2 * r + 1])
			return true;
	return false;
}

/*
 * The DIEs of the function holding pc and of the inline expansions around pc, innermost
 * first, into scopes (at most max). The function's scope tree is read on its first address;
 * the descent then follows only the scopes that hold pc.
 */
static int scopes_at(struct dso *d, Dwarf_Die *cu, Dwarf_Addr pc, Dwarf_Die *scopes, int max)
{
	struct fn_range *fr = cu_find(d, cu, pc);
	if (!fr)
		return 0;
	Dwarf *dw = dwarf_cu_getdwarf(cu->cu);
	Dwarf_Die fn;
	if (!dw || !dwarf_offdie(dw, fr->die_off, &fn))
		return -1;
	if (!fr->tree) {
		PFS_GROW(d->trees, d->cap_trees, d->n_trees + 1);
		struct scope_tree *t = &d->trees[d->n_trees++];
		memset(t, 0, sizeof(*t));
		PFS_GROW(t->v, t->cap, 1);
		t->v[t->n++] = (struct scope){fr->die_off, NO_SCOPE, NO_SCOPE, 0, 0, false};
		scope_children(t, &fn, 0, 0);
		fr->tree = (uint32_t)d->n_trees;
	}
	const struct scope_tree *t = &d->trees[fr->tree - 1];
	uint32_t chain[64];
	int n = 0;
	chain[n++] = 0;
	uint32_t cur = 0;
	while (n < 64) {
		uint32_t k = t->v[cur].first_child;
		while (k != NO_SCOPE && !scope_has(t, &t->v[k], pc))
			k = t->v[k].next;
		if (k == NO_SCOPE)
			break;
		cur = k;
		if (t->v[k].inlined)
			chain[n++] = k;
	}
	int k = 0;
	for (int i = n; i-- > 0 && k < max;) {
		if (i == 0)
			scopes[k++] = fn;
		else if (dwarf_offdie(dw, t->v[chain[i]].off, &scopes[k]))
			k++;
		else
			return -1;
	}
	return k;
}

/*
 * GNU as gives every function symbol of an assembler file its own DW_TAG_subprogram (glibc's
 * munmap: __munmap, __GI___munmap, munmap, __GI_munmap); addr2line, and so perf, names the
 * address after the last one that covers it.
 */
static const char *asm_subprogram_name(Dwarf_Die *cu, Dwarf_Addr pc)
{
	Dwarf_Die child;
	const char *nm = NULL;
	if (dwarf_child(cu, &child))
		return NULL;
	do {
		const char *n;
		if (dwarf_tag(&child) == DW_TAG_subprogram && dwarf_haspc(&child, pc) == 1 &&
		    (n = dwarf_diename(&child)))
			nm = n;
	} while (dwarf_siblingof(&child, &child) == 0);
	return nm;
}

/* The inline chain at addr as addr2line -i reports it; n frames into out, innermost first. */
static size_t inline_chain(struct pfs_symbols *s, struct dso *d, uint64_t addr,
			   const struct fsym *fs, uint32_t *out, size_t max)
{
	const char *sym_name = fs ? fs->name : NULL;
	Dwarf_Addr bias = 0;
	/* an error left over from an earlier lookup is not this one's */
	(void)dwfl_errno();
	Dwarf_Die *cu = dwfl_module_addrdie(dwarf_mod(s, d), addr, &bias);
	if (!cu) {
		/*
		 * libdwfl passes on libdw's and libelf's errors with their origin in the upper 16
		 * bits; its own (an address outside every CU: code without DWARF) have none.
		 */
		int e = dwfl_errno();
		if (e >> 16 && !d->dwarf_bad) {
			d->dwarf_bad = true;
			pfs_diag_add(s->diag, PFS_WARN, "dwarf-unreadable", PFS_NO_OFF,
				     "%s: cannot read DWARF (%s); inline frames skipped", d->path,
				     dwfl_errmsg(e));
		}
		return 0;
	}
	Dwarf_Die scopes[64];
	int n = scopes_at(d, cu, addr - bias, scopes, 64);
	if (n <= 0) {
		if (n < 0 && !d->dwarf_bad) {
			d->dwarf_bad = true;
			pfs_diag_add(s->diag, PFS_WARN, "dwarf-unreadable", PFS_NO_OFF,
				     "%s: cannot read DWARF (%s); inline frames skipped", d->path,
				     dwarf_errmsg(-1));
		}
		return 0;
	}
	int lang = dwarf_srclang(cu);
	bool c_lang = is_c(lang);
	size_t k = 0;
	for (int i = 0; i < n && k < max; i++) {
		int tag = dwarf_tag(&scopes[i]);
		if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram)
			continue;
		const char *nm = die_name(&scopes[i]);
		Dwarf_Attribute la;
		Dwarf_Addr low;
		/*
		 * addr2line takes a C function's DWARF name; in other languages (assembler:
		 * clone3, memcpy) it prefers the symbol that starts where the function does,
		 * unless DWARF gave a linkage name: so do we.
		 */
		if (tag == DW_TAG_subprogram && k == 0 && lang == DW_LANG_Mips_Assembler) {
			const char *an = asm_subprogram_name(cu, addr - bias);
			if (an)
				nm = an;
		} else if (tag == DW_TAG_subprogram && k == 0 && fs && !c_lang &&
			   !dwarf_attr_integrate(&scopes[i], DW_AT_linkage_name, &la) &&
			   !dwarf_lowpc(&scopes[i], &low) && low + bias == fs->start) {
			nm = sym_name;
		}
		if (!nm && tag == DW_TAG_subprogram)
			nm = sym_name;
		uint32_t name = nm ? pfs_profile_cstr(s->prof, nm) : s->s_unknown;
		bool inl = tag == DW_TAG_inlined_subroutine;
		/*
		 * A frame is a function, not an address: file:line is where the function is
		 * defined, so every sample in it shares one frame and one call-path node.
		 */
		int dl = 0;
		uint32_t file = decl_file(s, d, &scopes[i]);
		uint32_t line = dwarf_decl_line(&scopes[i], &dl) == 0 && dl > 0 ? (uint32_t)dl : 0;
		out[k++] = frame(s, name, file, line, d->name, PFS_FK_NATIVE, inl);
		if (!inl)
			break;
	}
	return k;
}

static unsigned underscores(const char *n)
{
	unsigned k = 0;
	while (n[k] == '_')
		k++;
	return k;
}

/*
 * Which of two functions at one address names it: addr2line's and perf's choice in practice
 * (clone3 over __clone3, __memcpy_avx_unaligned_erms over __memmove_avx_unaligned_erms): a
 * sized one, then not weak, then global (perf: __munmap over the weak munmap), then fewer
 * leading underscores, then the shorter name, then the first listed.
 */
static bool better_alias(const struct fsym *a, const struct fsym *b)
{
	if (a->sized != b->sized)
		return a->sized;
	if ((a->bind == STB_WEAK) != (b->bind == STB_WEAK))
		return b->bind == STB_WEAK;
	if ((a->bind == STB_GLOBAL) != (b->bind == STB_GLOBAL))
		return a->bind == STB_GLOBAL;
	unsigned ua = underscores(a->name), ub = underscores(b->name);
	if (ua != ub)
		return ua < ub;
	size_t la = strlen(a->name), lb = strlen(b->name);
	if (la != lb)
		return la < lb;
	return a->order < b->order;
}

/*
 * perf's own choice (choose_best_symbol) for addresses it names from its symbol table alone,
 * callchain entries: the same up to the underscores, then the longer name
 * (__GI___libc_open over __GI___open, __memmove_avx512_unaligned_erms over __memcpy_...).
 */
static bool perf_better(const struct fsym *a, const struct fsym *b)
{
	if (a->sized != b->sized)
		return a->sized;
	if ((a->bind == STB_WEAK) != (b->bind == STB_WEAK))
		return b->bind == STB_WEAK;
	if ((a->bind == STB_GLOBAL) != (b->bind == STB_GLOBAL))
		return a->bind == STB_GLOBAL;
	unsigned ua = underscores(a->name), ub = underscores(b->name);
	if (ua != ub)
		return ua < ub;
	size_t la = strlen(a->name), lb = strlen(b->name);
	if (la != lb)
		return la > lb;
	return a->order < b->order;
}

static int cmp_fsym(const void *x, const void *y)
{
	const struct fsym *a = x, *b = y;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return better_alias(a, b) ? -1 : better_alias(b, a);
}

/*
 * perf keeps the functions of sections named like text only (.text, .text.hot, not .init,
 * .fini or glibc's __libc_freeres_fn): an unsized _init would otherwise name every address up
 * to the next symbol (.plt.got, stray frame-pointer addresses) where perf says [unknown]. In
 * those sections it also takes labels without a type (ld.so's _start and _dl_start_user),
 * as addr2line does.
 */
static bool in_text_section(Elf *elf, GElf_Word shndx)
{
	size_t shstrndx;
	GElf_Shdr sh;
	Elf_Scn *scn = elf ? elf_getscn(elf, shndx) : NULL;
	if (!scn || !gelf_getshdr(scn, &sh) || elf_getshdrstrndx(elf, &shstrndx))
		return true;
	const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
	return !name || strstr(name, "text") != NULL;
}

/*
 * The functions of mod's symbol table, sorted, one per address (perf's choice of name among
 * aliases in perf_name), into *out; false when the table is missing or empty. Touches only mod.
 */
static bool read_syms(Dwfl_Module *mod, struct fsym **out, size_t *n_out)
{
	struct fsym *syms = NULL;
	size_t n_syms = 0, cap = 0;
	*out = NULL;
	*n_out = 0;
	int n = dwfl_module_getsymtab(mod);
	if (n <= 0)
		return false;
	for (int i = 0; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		GElf_Word shndx;
		Elf *elf = NULL;
		const char *nm = dwfl_module_getsym_info(mod, i, &sym, &addr, &shndx, &elf, NULL);
		int type = GELF_ST_TYPE(sym.st_info);
		if (!nm || !*nm || shndx == SHN_UNDEF || !addr ||
		    (type != STT_FUNC && type != STT_GNU_IFUNC && type != STT_NOTYPE) ||
		    !in_text_section(elf, shndx))
			continue;
		PFS_GROW(syms, cap, n_syms + 1);
		syms[n_syms++] = (struct fsym){addr,
					       addr + sym.st_size,
					       nm,
					       nm,
					       (uint32_t)i,
					       sym.st_size > 0,
					       (uint8_t)GELF_ST_BIND(sym.st_info)};
	}
	if (n_syms)
		qsort(syms, n_syms, sizeof(*syms), cmp_fsym);
	size_t w = 0;
	struct fsym pbest = {0};
	for (size_t i = 0; i < n_syms; i++) {
		const struct fsym f = syms[i];
		if (w && syms[w - 1].start == f.start) {
			if (perf_better(&f, &pbest)) {
				pbest = f;
				syms[w - 1].perf_name = f.name;
			}
			continue;
		}
		pbest = f;
		syms[w] = f;
		syms[w++].perf_name = f.name;
	}
	/* as perf does: a symbol without a size extends to the next one */
	for (size_t i = 0; i < w; i++)
		if (!syms[i].sized)
			syms[i].end = i + 1 < w ? syms[i + 1].start : syms[i].start + 1;
	*out = syms;
	*n_out = w;
	return true;
}

/* Gives d the symbol table read_syms read (ok: it had one). */
static void syms_taken(struct pfs_symbols *s, struct dso *d, bool ok, struct fsym *syms, size_t n)
{
	d->syms_loaded = true;
	d->syms = syms;
	d->n_syms = n;
	if (!ok) {
		d->syms_bad = true;
		pfs_diag_add(s->diag, PFS_WARN, "dso-no-symbols", PFS_NO_OFF,
			     "%s: no usable symbol table; its frames are [unknown]", d->path);
	}
}

static void load_syms(struct pfs_symbols *s, struct dso *d)
{
	struct fsym *syms;
	size_t n;
	bool ok = read_syms(d->mod, &syms, &n);
	syms_taken(s, d, ok, syms, n);
}

static const struct fsym *sym_at(struct pfs_symbols *s, struct dso *d, uint64_t addr)
{
	if (d->syms_pending)
		dwarf_take(s);
	if (!d->syms_loaded)
		load_syms(s, d);
	size_t lo = 0, hi = d->n_syms;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (d->syms[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && addr < d->syms[lo - 1].end)
		return &d->syms[lo - 1];
	return NULL;
}

static size_t resolve_file_addr(struct pfs_symbols *s, struct dso *d, uint64_t addr, bool inlines,
				uint32_t *out, size_t max)
{
	if (d->n_plt && addr >= d->plt.start && addr < d->plt.end) {
		if (addr >= d->plt.first) {
			size_t i = (addr - d->plt.first) / 16;
			if (i < d->n_plt && d->plt_names[i]) {
				uint32_t nm = pfs_profile_cstr(s->prof, d->plt_names[i]);
				out[0] = frame(s, nm, 0, 0, d->name, PFS_FK_NATIVE, false);
				return 1;
			}
		}
		out[0] = unknown_frame(s, d->name, addr, false);
		return 1;
	}
	const struct fsym *fs = sym_at(s, d, addr);
	const char *sname = fs ? (inlines ? fs->name : fs->perf_name) : NULL;
	if (inlines && max > 0) {
		size_t k = inline_chain(s, d, addr, fs, out, max);
		if (k)
			return k;
	}
	if (!sname) {
		out[0] = unknown_frame(s, d->name, addr, false);
		return 1;
	}
	out[0] = frame(s, pfs_profile_cstr(s->prof, sname), 0, 0, d->name, PFS_FK_NATIVE, false);
	return 1;
}

static const struct pfs_jitmap *proc_jit(struct pfs_symbols *s, struct pfs_proc *p)
{
	if (!p->jit_loaded) {
		p->jit = (void *)pfs_jitmaps_get(s->jit, p->pid);
		p->jit_loaded = true;
	}
	return p->jit;
}

/* JIT entries found are cached under their process: the maps files do not change. */
#define JIT_CACHE_KEY (1u << 30)

/* The jitdump of p (jit-PID.dump, found as perf maps are), loaded once per pid. */
static const struct pfs_jitdump *proc_jitdump(struct pfs_symbols *s, struct pfs_proc *p)
{
	if (p->jitdump_loaded)
		return p->jitdump;
	p->jitdump_loaded = true;
	for (size_t i = 0; i < s->n_dumps; i++)
		if (s->dumps[i].pid == p->pid)
			return p->jitdump = s->dumps[i].jd;
	char name[32], path[4096];
	struct pfs_jitdump *jd = NULL;
	snprintf(name, sizeof(name), "jit-%u.dump", p->pid);
	if (pfs_jitmaps_locate(s->jit, name, path, sizeof(path))) {
		struct pfs_err err;
		if (pfs_jitdump_load(&jd, path, s->diag, &err) < 0) {
			pfs_diag_add(s->diag, PFS_WARN, "jitdump-unreadable", PFS_NO_OFF,
				     "%s; its JIT frames are [unknown]", err.msg);
			jd = NULL;
		}
	}
	PFS_GROW(s->dumps, s->cap_dumps, s->n_dumps + 1);
	s->dumps[s->n_dumps++] = (struct jit_dump){p->pid, jd};
	return p->jitdump = jd;
}

/* What the JIT side files say about an address. */
struct jit_hit {
	const char *name, *path; /* the entry's name, the file it is from */
	uint64_t start, size;
	const struct pfs_jitcode *code; /* a jitdump region: its bytes and unwinding info */
};

/*
 * The JIT entry holding addr: in p's jitdump, then its perf map, then its parent's (a forked
 * worker runs code its parent generated), and so on up.
 */
static bool jit_lookup(struct pfs_symbols *s, struct pfs_proc *p, uint64_t addr, struct jit_hit *h)
{
	struct pfs_proc *q = p;
	for (int depth = 0; q && depth < 16; depth++) {
		const struct pfs_jitdump *jd = proc_jitdump(s, q);
		const struct pfs_jitcode *c = jd ? pfs_jitdump_find(jd, addr) : NULL;
		if (c) {
			*h = (struct jit_hit){c->name, pfs_jitdump_path(jd), c->addr, c->size, c};
			return true;
		}
		const struct pfs_jitmap *jm = proc_jit(s, q);
		h->code = NULL;
		h->name = jm ? pfs_jitmap_find(jm, addr, &h->start, &h->size) : NULL;
		if (h->name) {
			h->path = pfs_jitmap_path(jm);
			return true;
		}
		if (!q->ppid || q->ppid == q->pid)
			break;
		q = pfs_procmap_find(s->pm, q->ppid);
	}
	return false;
}

static const struct pfs_pytramp *dso_tramp(struct pfs_symbols *s, struct dso *d);

/*
 * Whether p runs a CPython with perf support: it maps an interpreter with the perf trampoline
 * template (3.12+; _Py_trampoline_func_start). Its code in anonymous memory is then the
 * trampolines' copies (-X perf), whose names only a perf map (or jitdump) has.
 */
static bool proc_perf_python(struct pfs_symbols *s, const struct pfs_proc *p)
{
	for (size_t i = 0; i < p->n_maps; i++) {
		const struct pfs_map *m = &p->maps[i];
		if (m->anon || !(m->prot & 4 /* PROT_EXEC */))
			continue;
		struct dso *d = dso_ready(s, m);
		if (d && dso_tramp(s, d))
			return true;
	}
	return false;
}

/*
 * A frame of p in anonymous memory that no JIT file names: counted against p when p runs
 * CPython with perf support and has no perf map or jitdump of its own (pfs_symbols_finish says
 * so once, naming the pids and the places searched).
 */
static void note_unnamed(struct pfs_symbols *s, struct pfs_proc *p, const struct pfs_map *m)
{
	struct nomap *nm = NULL;
	/* the trampolines' arena is plain anonymous memory; [uprobes], [vdso] and the like are not
	 */
	const char *name = pfs_profile_strget(s->prof, m->name, NULL);
	if (!name || strncmp(name, "//anon", 6))
		return;
	for (size_t i = 0; i < s->n_nomaps && !nm; i++)
		if (s->nomaps[i].pid == p->pid)
			nm = &s->nomaps[i];
	if (nm)
		return;
	bool missing = !proc_jit(s, p) && !proc_jitdump(s, p) && proc_perf_python(s, p);
	PFS_GROW(s->nomaps, s->cap_nomaps, s->n_nomaps + 1);
	s->nomaps[s->n_nomaps++] = (struct nomap){.pid = p->pid, .missing = missing};
}

void pfs_symbols_finish(struct pfs_symbols *s)
{
	char pids[160], dirs[256];
	size_t n = 0, at = 0;
	pids[0] = 0;
	for (size_t i = 0; i < s->n_nomaps; i++) {
		const struct nomap *nm = &s->nomaps[i];
		if (!nm->missing)
			continue;
		n++;
		if (at < sizeof(pids)) {
			int k =
			    snprintf(pids + at, sizeof(pids) - at, "%s%u", at ? ", " : "", nm->pid);
			at += k > 0 ? (size_t)k : 0;
		}
	}
	if (!n)
		return;
	pfs_jitmaps_describe(s->jit, dirs, sizeof(dirs));
	pfs_diag_addn(s->diag, PFS_WARN, "perf-map-missing", n, PFS_NO_OFF,
		      "%zu process%s run%s CPython with perf support (%s stacks pass through perf "
		      "trampolines) but no perf-PID.map (nor jit-PID.dump) was found for pid%s %s "
		      "(searched %s%s): "
		      "the Python function names are missing (those frames are [unknown], their "
		      "time the interpreter's); copy /tmp/perf-PID.map from the recording machine "
		      "beside the capture or give --jit-maps DIR",
		      n, n == 1 ? "" : "es", n == 1 ? "s" : "", n == 1 ? "its" : "their",
		      n == 1 ? "" : "s", pids, dirs,
		      same_machine(s) ? "" : "; /tmp not searched: the capture was made elsewhere");
	s->n_nomaps = 0;
}

static size_t resolve_jit(struct pfs_symbols *s, struct pfs_proc *p, const struct pfs_map *m,
			  uint64_t addr, uint32_t *out)
{
	uint32_t key = JIT_CACHE_KEY | (p->pid & (JIT_CACHE_KEY - 1));
	struct cache_slot *c = p->pid < JIT_CACHE_KEY ? cache_find(s, key, addr) : NULL;
	if (c && c->dso) {
		out[0] = s->pool[c->off];
		return 1;
	}
	struct jit_hit h;
	if (jit_lookup(s, p, addr, &h)) {
		bool py = !strncmp(h.name, "py::", 4);
		out[0] = frame(s, pfs_profile_cstr(s->prof, h.name), 0, 0,
			       pfs_profile_cstr(s->prof, h.path), py ? PFS_FK_PYTHON : PFS_FK_JIT,
			       false);
		if (c)
			cache_put(s, key, addr, out, 1);
		return 1;
	}
	if (m && m->anon)
		note_unnamed(s, p, m);
	out[0] = unknown_frame(s, m ? m->name : 0, addr, false);
	return 1;
}

size_t pfs_symbols_locate(struct pfs_symbols *s, struct pfs_proc *p, uint64_t addr,
			  struct pfs_symloc *loc, uint32_t *out, size_t max)
{
	loc->dso = 0;
	if (!max)
		return 0;
	struct dso *d;
	uint64_t bias;
	struct last_map *lm = &s->last;
	if (lm->p == p && lm->gen == p->gen && addr >= lm->start && addr < lm->end) {
		d = &s->dsos[lm->dso];
		bias = lm->bias;
	} else {
		const struct pfs_map *m = pfs_proc_map_at(p, addr);
		if (!m || m->anon)
			return resolve_jit(s, p, m, addr, out);
		d = dso_ready(s, m);
		if (!d || !map_bias(d, m, &bias)) {
			out[0] = unknown_frame(s, m->name, addr, false);
			return 1;
		}
		*lm = (struct last_map){p, p->gen, m->start, m->end, (size_t)(d - s->dsos), bias};
	}
	loc->dso = (uint32_t)(d - s->dsos) + 1;
	loc->va = addr - bias;
	return 0;
}

size_t pfs_symbols_resolve(struct pfs_symbols *s, const struct pfs_symloc *loc, bool inlines,
			   uint32_t *out, size_t max)
{
	if (!max || !loc->dso || loc->dso > s->n_dsos)
		return 0;
	struct dso *d = &s->dsos[loc->dso - 1];
	inlines = inlines && !s->o.no_inline;
	uint32_t di = loc->dso | (inlines ? 0 : 1u << 31);
	struct cache_slot *c = cache_find(s, di, loc->va);
	if (c->dso) {
		size_t n = c->n < max ? c->n : max;
		memcpy(out, s->pool + c->off, n * sizeof(*out));
		return n;
	}
	uint32_t tmp[64];
	size_t n = resolve_file_addr(s, d, loc->va, inlines, tmp, sizeof(tmp) / sizeof(tmp[0]));
	cache_put(s, di, loc->va, tmp, n);
	if (n > max)
		n = max;
	memcpy(out, tmp, n * sizeof(*out));
	return n;
}

size_t pfs_symbols_user(struct pfs_symbols *s, struct pfs_proc *p, uint64_t addr, bool inlines,
			uint32_t *out, size_t max)
{
	struct pfs_symloc loc;
	size_t n = pfs_symbols_locate(s, p, addr, &loc, out, max);
	return loc.dso ? pfs_symbols_resolve(s, &loc, inlines, out, max) : n;
}

bool pfs_symbols_loading(const struct pfs_symbols *s)
{
	return (s->kload.started && !atomic_load(&s->kload.done)) ||
	       (s->dwload.started && !atomic_load(&s->dwload.done));
}

/* ---- kernel ---- */

static int cmp_ksym(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* One "ADDR TYPE NAME[\t[module]]" line of a kallsyms file into k. */
static void kallsyms_line(struct kload *k, const char *line, const char *eol, bool *sorted)
{
	uint64_t a = 0;
	const char *p = line;
	int digits = 0;
	for (; p < eol && digits <= 16; p++, digits++) {
		unsigned v;
		if (*p >= '0' && *p <= '9')
			v = (unsigned)(*p - '0');
		else if ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'f')
			v = (unsigned)((*p | 0x20) - 'a' + 10);
		else
			break;
		a = a << 4 | v;
	}
	if (!digits || digits > 16 || eol - p < 4 || p[0] != ' ' || p[2] != ' ') {
		k->bad++;
		return;
	}
	char type = p[1];
	const char *nm = p + 3;
	size_t len = 0;
	while (nm + len < eol && nm[len] != ' ' && nm[len] != '\t')
		len++;
	if (!len) {
		k->bad++;
		return;
	}
	if (len == 5 && !memcmp(nm, "_text", 5)) {
		k->text = a;
		k->have_text = true;
	}
	if (a)
		k->all_zero = false;
	if (type != 't' && type != 'T' && type != 'w' && type != 'W')
		return;
	if (k->kpool_len + len + 1 > UINT32_MAX)
		return;
	PFS_GROW(k->kpool, k->kpool_cap, k->kpool_len + len + 1);
	memcpy(k->kpool + k->kpool_len, nm, len);
	k->kpool[k->kpool_len + len] = 0;
	PFS_GROW(k->ksyms, k->ksyms_cap, k->n_ksyms + 1);
	if (k->n_ksyms && a < k->ksyms[k->n_ksyms - 1].addr)
		*sorted = false;
	k->ksyms[k->n_ksyms++] = (struct ksym){a, (uint32_t)k->kpool_len, 0};
	k->kpool_len += len + 1;
}

/*
 * Reads a kallsyms file into k; touches nothing else, so it can run on its own thread. Large
 * reads: /proc/kallsyms formats symbols as it is read, and small reads make it seek again.
 */
static void *kallsyms_read(void *arg)
{
	struct kload *k = arg;
	int fd = open(k->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		k->open_errno = errno ? errno : EIO;
		atomic_store(&k->done, true);
		return NULL;
	}
	size_t cap = 1 << 20, have = 0;
	char *buf = pfs_xmalloc(cap);
	bool sorted = true;
	k->all_zero = true;
	for (;;) {
		ssize_t r = read(fd, buf + have, cap - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r < 0)
				k->open_errno = errno;
			break;
		}
		have += (size_t)r;
		const char *line = buf, *end = buf + have, *eol;
		while ((eol = memchr(line, '\n', (size_t)(end - line)))) {
			kallsyms_line(k, line, eol, &sorted);
			line = eol + 1;
		}
		have = (size_t)(end - line);
		memmove(buf, line, have);
		/* a line longer than the buffer: grow it */
		if (have == cap)
			buf = pfs_xrealloc(buf, cap *= 2);
	}
	if (have && !k->open_errno)
		kallsyms_line(k, buf, buf + have, &sorted);
	free(buf);
	close(fd);
	/* /proc/kallsyms comes sorted: the sort is for files written otherwise */
	if (!sorted)
		qsort(k->ksyms, k->n_ksyms, sizeof(*k->ksyms), cmp_ksym);
	atomic_store(&k->done, true);
	return NULL;
}

/*
 * Starts reading the kallsyms file the capture will need, on a thread of its own: reading
 * /proc/kallsyms costs the kernel tens of milliseconds of formatting, which then overlap with
 * the first samples' symbolization instead of preceding it.
 */
static void kallsyms_start(struct pfs_symbols *s, const char *path)
{
	struct kload *k = &s->kload;
	k->path = pfs_xstrdup(path);
	k->started = pthread_create(&k->thread, NULL, kallsyms_read, k) == 0;
	if (!k->started)
		kallsyms_read(k);
	k->pending = true;
}

/* Waits for the kallsyms file and takes its symbols; false (and a diagnostic) when unusable. */
static bool kallsyms_take(struct pfs_symbols *s)
{
	struct kload *k = &s->kload;
	if (k->started)
		pthread_join(k->thread, NULL);
	k->started = k->pending = false;
	if (k->open_errno) {
		pfs_diag_add(s->diag, PFS_WARN, "kallsyms-unreadable", PFS_NO_OFF,
			     "%s: cannot open: %s; kernel frames are [kernel]", k->path,
			     strerror(k->open_errno));
		return false;
	}
	if (k->bad)
		pfs_diag_addn(s->diag, PFS_WARN, "kallsyms-malformed", k->bad, PFS_NO_OFF,
			      "%s: lines not \"ADDR TYPE NAME\" skipped", k->path);
	if (!k->n_ksyms || k->all_zero) {
		pfs_diag_add(s->diag, PFS_WARN, "kallsyms-unusable", PFS_NO_OFF,
			     "%s: no kernel text symbols with addresses (kptr_restrict?); kernel "
			     "frames are [kernel]",
			     k->path);
		return false;
	}
	s->ksyms = k->ksyms;
	s->n_ksyms = k->n_ksyms;
	s->kpool = k->kpool;
	s->kpool_len = k->kpool_len;
	k->ksyms = NULL;
	k->kpool = NULL;
	if (k->have_text) {
		s->kdelta = (int64_t)k->text;
		s->kdelta_set = true;
	}
	return true;
}

static bool same_machine(const struct pfs_symbols *s)
{
	struct utsname u;
	if (!s->hostname || !s->osrelease || uname(&u))
		return false;
	return !strcmp(u.nodename, s->hostname) && !strcmp(u.release, s->osrelease);
}

static void kernel_init(struct pfs_symbols *s, struct pfs_proc *kernel)
{
	s->kernel_tried = true;
	if (!s->kload.pending && s->kallsyms_path)
		kallsyms_start(s, s->kallsyms_path);
	else if (!s->kload.pending && same_machine(s))
		kallsyms_start(s, "/proc/kallsyms");
	if (s->kload.pending) {
		s->kernel_ok = kallsyms_take(s);
	} else {
		pfs_diag_add(s->diag, PFS_NOTE, "kernel-symbols-unavailable", PFS_NO_OFF,
			     "the capture was made on %s %s, not this machine: kernel frames are "
			     "[kernel] (give its kallsyms with --kallsyms)",
			     s->hostname ? s->hostname : "(unknown host)",
			     s->osrelease ? s->osrelease : "(unknown release)");
	}
	/* KASLR: the capture's _text map carries the runtime _text address in pgoff */
	int64_t file_text = s->kdelta_set ? s->kdelta : 0;
	s->kdelta = 0;
	for (size_t i = 0; s->kdelta_set && i < kernel->n_maps; i++) {
		const char *nm = pfs_profile_strget(s->prof, kernel->maps[i].name, NULL);
		if (!strncmp(nm, "[kernel.kallsyms]", 17)) {
			s->kdelta = (int64_t)(kernel->maps[i].pgoff - (uint64_t)file_text);
			break;
		}
	}
}

bool pfs_symbols_have_kernel(const struct pfs_symbols *s)
{
	return s->kernel_ok;
}

size_t pfs_symbols_kernel(struct pfs_symbols *s, struct pfs_proc *kernel, uint64_t addr,
			  uint32_t *out, size_t max)
{
	if (!max)
		return 0;
	if (!s->kernel_tried)
		kernel_init(s, kernel);
	const struct pfs_map *m = pfs_proc_map_at(kernel, addr);
	uint32_t dso = m ? m->name : 0;
	if (!s->kernel_ok) {
		pfs_diag_add(s->diag, PFS_NOTE, "kernel-unresolved", PFS_NO_OFF,
			     "kernel frames without kernel symbols, shown as [kernel]");
		out[0] = unknown_frame(s, dso, addr, true);
		return 1;
	}
	uint64_t a = addr - (uint64_t)s->kdelta;
	size_t lo = 0, hi = s->n_ksyms;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->ksyms[mid].addr <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo) {
		out[0] = unknown_frame(s, dso, addr, true);
		return 1;
	}
	struct ksym *k = &s->ksyms[lo - 1];
	if (!k->frame)
		k->frame = frame(s, pfs_profile_cstr(s->prof, s->kpool + k->name), 0, 0, dso,
				 PFS_FK_KERNEL, false);
	out[0] = k->frame;
	return 1;
}

/* ---- address spaces for unwinding ---- */

/* Reports the modules of p not yet in sp; false when one cannot be added. */
static bool report_new(struct pfs_symbols *s, struct space *sp, const struct pfs_proc *p)
{
	bool ok = true;
	dwfl_report_begin_add(sp->dwfl);
	for (size_t i = 0; i < p->n_maps && ok; i++) {
		const struct pfs_map *m = &p->maps[i];
		if (m->anon || !(m->prot & 4 /* PROT_EXEC */))
			continue;
		struct dso *d = dso_ready(s, m);
		uint64_t bias;
		if (!d || !map_bias(d, m, &bias))
			continue;
		uint32_t di = (uint32_t)(d - s->dsos);
		size_t k = 0;
		while (k < sp->n_mods && (sp->mods[k].dso != di || sp->mods[k].bias != bias))
			k++;
		if (k < sp->n_mods)
			continue;
		if (dwfl_report_elf(sp->dwfl, d->base, d->path, -1, bias, true)) {
			PFS_GROW(sp->mods, sp->cap_mods, sp->n_mods + 1);
			sp->mods[sp->n_mods++] = (struct space_mod){di, bias};
		} else {
			/* usually an overlap with a module this space no longer maps */
			ok = false;
		}
	}
	dwfl_report_end(sp->dwfl, NULL, NULL);
	return ok;
}

/* The Dwfl of p's address space, up to date with its maps; NULL when it has no ELF module. */
static Dwfl *space_dwfl(struct pfs_symbols *s, struct pfs_proc *p)
{
	struct space *sp = p->sym;
	if (!sp) {
		sp = pfs_xcalloc(1, sizeof(*sp));
		sp->gen = p->gen - 1;
		p->sym = sp;
	}
	if (sp->gen == p->gen && sp->dwfl)
		return sp->n_mods ? sp->dwfl : NULL;
	sp->gen = p->gen;
	/* what an address's unwinding step finds may change with the modules */
	sp->n_steps = 0;
	sp->tramp_looked = false;
	sp->up_looked = false;
	if (sp->steps)
		memset(sp->steps, 0, sp->cap_steps * sizeof(*sp->steps));
	/*
	 * Maps only grow between execs (an exec drops the whole space), so new modules are added
	 * to the Dwfl; a file mapped over another one's range needs a fresh Dwfl.
	 */
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!sp->dwfl) {
			sp->dwfl = dwfl_begin(&s->space_cb);
			sp->n_mods = 0;
			if (!sp->dwfl)
				return NULL;
		}
		if (report_new(s, sp, p) || attempt)
			break;
		dwfl_end(sp->dwfl);
		sp->dwfl = NULL;
	}
	return sp->dwfl && sp->n_mods ? sp->dwfl : NULL;
}

bool pfs_symbols_read_file_mem(struct pfs_symbols *s, const struct pfs_proc *p, uint64_t addr,
			       uint64_t *val)
{
	const struct pfs_map *m = pfs_proc_map_at(p, addr);
	if (!m || m->anon || addr + 8 > m->end || addr + 8 < addr)
		return false;
	struct dso *d = dso_ready(s, m);
	if (!d || !d->raw)
		return false;
	uint64_t off = addr - m->start + m->pgoff;
	if (off + 8 > d->raw_len || off + 8 < off)
		return false;
	memcpy(val, d->raw + off, 8);
	return true;
}

static bool reg(const struct unwind *u, int perf_reg, uint64_t *out)
{
	if (!(u->mask >> perf_reg & 1))
		return false;
	unsigned i = pfs_popcount64(u->mask & ((1ull << perf_reg) - 1));
	if (i >= u->smp->n_regs_user)
		return false;
	*out = u->smp->regs_user[i];
	return true;
}

static pid_t next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	struct unwind *u = arg;
	if (*thread_argp)
		return 0;
	*thread_argp = u;
	return (pid_t)u->tid;
}

static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	struct unwind *u = arg;
	uint64_t have = u->have;
	if (addr >= u->sp && addr - u->sp <= have && have - (addr - u->sp) >= 8) {
		uint64_t v;
		memcpy(&v, u->smp->stack_user + (addr - u->sp), 8);
		*result = v;
		if (addr + 8 > u->top)
			u->top = addr + 8;
		return true;
	}
	uint64_t v;
	if (pfs_symbols_read_file_mem(u->sym, u->proc, addr, &v)) {
		*result = v;
		return true;
	}
	if (addr >= u->sp)
		u->beyond_dump = true;
	return false;
}

/* memory_read's common case, inline where steps read the stack: a word inside the dump. */
static inline bool dump_read(struct unwind *u, uint64_t addr, Dwarf_Word *result)
{
	if (addr < u->sp || addr - u->sp > u->have || u->have - (addr - u->sp) < 8)
		return false;
	memcpy(result, u->smp->stack_user + (addr - u->sp), 8);
	if (addr + 8 > u->top)
		u->top = addr + 8;
	return true;
}

/* The sample's registers that it recorded, in DWARF numbering. */
static void initial_regs(const struct unwind *u, struct regs *r)
{
	r->set = 0;
	for (unsigned n = 0; n < 17; n++)
		if (reg(u, dwarf_to_perf[n], &r->v[n]))
			r->set |= 1u << n;
	r->pc = r->set >> 16 & 1 ? r->v[16] : 0;
}

/* libdwfl's first frame: the sample's registers, or where the rule cache handed over. */
static bool set_initial_registers(Dwfl_Thread *thread, void *arg)
{
	struct unwind *u = arg;
	for (unsigned n = 0; n < 17; n++)
		if (u->seg.set >> n & 1 &&
		    !dwfl_thread_state_registers(thread, (int)n, 1, &u->seg.v[n]))
			return false;
	return true;
}

static const Dwfl_Thread_Callbacks callbacks = {
    .next_thread = next_thread,
    .memory_read = memory_read,
    .set_initial_registers = set_initial_registers,
};

/*
 * Unwinding without libdwfl's per-frame cost. libdwfl looks up the CFI of every frame of every
 * sample (an FDE search under a lock, the CIE and FDE programs run again, a frame allocated):
 * most of a DWARF capture's unwinding time, for the few thousand addresses a program's samples
 * share. Here each lookup address's rules are taken from the same Dwfl and the same CFI once,
 * and applied as libdwfl's handle_cfi applies them: registers 0 to 16 in order, the same memory
 * reads (so the same stack-dump overrun), the same end conditions, and x86_64's frame-pointer
 * fallback (ebl's x86_64_unwind) where no CFI covers the address. Rules beyond register+offset
 * CFAs and offset/value/register rules (DWARF expressions) are left to libdwfl (libdw_walk).
 */
static void frame_rules(Dwarf_Frame *frame, struct step_rules *r)
{
	r->kind = STEP_LIBDW;
	Dwarf_Addr start, end;
	bool signal = false;
	int ra = dwarf_frame_info(frame, &start, &end, &signal);
	if (ra < 0 || ra >= 17)
		return;
	r->ra = (uint8_t)ra;
	r->signal = signal;
	Dwarf_Op *ops;
	size_t nops;
	if (dwarf_frame_cfa(frame, &ops, &nops) == 0 && nops == 1) {
		if (ops[0].atom == DW_OP_bregx && ops[0].number < 17) {
			r->cfa_ok = true;
			r->cfa_reg = (uint8_t)ops[0].number;
			r->cfa_off = ops[0].number2;
		} else if (ops[0].atom >= DW_OP_breg0 && ops[0].atom <= DW_OP_breg16) {
			r->cfa_ok = true;
			r->cfa_reg = (uint8_t)(ops[0].atom - DW_OP_breg0);
			r->cfa_off = ops[0].number;
		} else {
			return;
		}
	} else if (nops) {
		return;
	}
	for (int regno = 0; regno < 17; regno++) {
		Dwarf_Op mem[3];
		if (dwarf_frame_register(frame, regno, mem, &ops, &nops) != 0) {
			r->rule[regno] = RULE_SKIP;
		} else if (nops == 0) {
			r->rule[regno] = ops == mem    ? RULE_UNDEF
					 : ops == NULL ? RULE_SAME
						       : RULE_SKIP;
		} else if (ops[0].atom == DW_OP_call_frame_cfa) {
			size_t k = 1;
			uint64_t off = 0;
			if (k < nops && ops[k].atom == DW_OP_plus_uconst)
				off = ops[k++].number;
			bool value = k < nops && ops[k].atom == DW_OP_stack_value;
			k += value;
			if (k != nops)
				return;
			r->rule[regno] = value ? RULE_VAL : RULE_LOC;
			r->val[regno] = off;
		} else if (nops == 1 && ops[0].atom == DW_OP_regx && ops[0].number < 17) {
			r->rule[regno] = RULE_REG;
			r->val[regno] = ops[0].number;
		} else {
			return;
		}
	}
	r->kind = STEP_CFI;
}

/* ---- JIT code: CPython's perf trampolines and jitdump regions, for unwinding ---- */

/*
 * Where the JIT code perfsight can unwind through is recognised (see symbols.h): a pc in
 * anonymous executable memory of the process is
 *  1. a region of its jitdump with unwinding info: that region's own CFI;
 *  2. a region of its jitdump without it, whose bytes (the dump has them) are a trampoline
 *     template pytramp follows: that template's rule;
 *  3. a "py::" entry of its perf map (or an ancestor's: a forked worker runs trampolines its
 *     parent made) whose size is the length of the trampoline template in the interpreter the
 *     process maps: a copy of that template, at pc - entry start. The copies' bytes are not in
 *     the capture: the map entry and the template together are the evidence. An entry of
 *     another size is not a copy of this template ("trampoline-size-mismatch"), and is left
 *     to the frame-pointer fallback as before.
 * Anything else keeps libdwfl's x86_64 frame-pointer fallback.
 */

/* The addresses of _Py_trampoline_func_start and _end in elf's symbol tables. */
static bool tramp_symbols(Elf *elf, uint64_t *start, uint64_t *end)
{
	bool have_start = false, have_end = false;
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn)) && !(have_start && have_end)) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) ||
		    (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM) || !sh.sh_entsize)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		size_t n = sh.sh_size / sh.sh_entsize;
		for (size_t i = 0; data && i < n && !(have_start && have_end); i++) {
			GElf_Sym sym;
			if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF ||
			    !sym.st_name)
				continue;
			const char *nm = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (!nm || strncmp(nm, "_Py_trampoline_func_", 20))
				continue;
			if (!strcmp(nm + 20, "start")) {
				*start = sym.st_value;
				have_start = true;
			} else if (!strcmp(nm + 20, "end")) {
				*end = sym.st_value;
				have_end = true;
			}
		}
	}
	return have_start && have_end;
}

/* d's trampoline template, read and decoded once; NULL when d has none this follows. */
static const struct pfs_pytramp *dso_tramp(struct pfs_symbols *s, struct dso *d)
{
	if (d->tramp_state)
		return d->tramp_state > 0 ? d->tramp : NULL;
	d->tramp_state = -1;
	uint64_t start = 0, end = 0;
	if (!d->raw || !tramp_symbols(d->elf, &start, &end))
		return NULL;
	GElf_Ehdr eh;
	const uint8_t *code = NULL;
	for (size_t i = 0; i < d->n_segs && end > start; i++) {
		const struct load_seg *g = &d->segs[i];
		if (start >= g->vaddr && end <= g->vaddr + g->filesz &&
		    start - g->vaddr + g->offset + (end - start) <= d->raw_len)
			code = d->raw + (start - g->vaddr + g->offset);
	}
	struct pfs_pytramp t;
	char why[160];
	if (!code) {
		snprintf(why, sizeof(why), "its bytes are not in the file");
	} else if (gelf_getehdr(d->elf, &eh) &&
		   pfs_pytramp_decode(eh.e_machine, code, end - start, &t, why, sizeof(why))) {
		d->tramp = pfs_xmalloc(sizeof(t));
		*d->tramp = t;
		d->tramp_state = 1;
		return d->tramp;
	}
	pfs_diag_add(s->diag, PFS_WARN, "trampoline-unknown", PFS_NO_OFF,
		     "%s: its CPython perf trampoline template (%" PRIu64 " bytes at 0x%" PRIx64
		     ") is not one perfsight follows (%s): Python stacks end at the innermost "
		     "Python frame",
		     d->path, end - start, start, why);
	return NULL;
}

/* The template of the interpreter p maps (the first file with one), once per maps gen. */
static const struct pfs_pytramp *proc_tramp(struct pfs_symbols *s, struct space *sp,
					    const struct pfs_proc *p)
{
	if (!sp->tramp_looked) {
		sp->tramp_looked = true;
		sp->tramp_dso = 0;
		for (size_t i = 0; i < p->n_maps && !sp->tramp_dso; i++) {
			const struct pfs_map *m = &p->maps[i];
			if (m->anon || !(m->prot & 4 /* PROT_EXEC */))
				continue;
			struct dso *d = dso_ready(s, m);
			if (d && dso_tramp(s, d))
				sp->tramp_dso = (uint32_t)(d - s->dsos) + 1;
		}
	}
	return sp->tramp_dso ? s->dsos[sp->tramp_dso - 1].tramp : NULL;
}

/* The trampoline rule at offset off into a copy of t, as CFI step rules (x86_64 only). */
static bool tramp_rules(const struct pfs_pytramp *t, uint64_t off, struct step_rules *r)
{
	const struct pfs_pytramp_rule *tr = pfs_pytramp_at(t, off);
	if (!tr || t->machine != EM_X86_64)
		return false;
	r->kind = STEP_CFI;
	r->cfa_ok = true;
	r->cfa_reg = 7;
	r->cfa_off = (uint64_t)(int64_t)tr->cfa_off;
	r->ra = 16;
	/* as x86_64's ABI CFI has it: callee-saved registers keep their values, rsp is the CFA */
	for (int regno = 0; regno < 17; regno++)
		r->rule[regno] = RULE_SKIP;
	static const uint8_t kept[] = {3, 6, 12, 13, 14, 15};
	for (size_t i = 0; i < sizeof(kept); i++)
		r->rule[kept[i]] = RULE_SAME;
	r->rule[7] = RULE_VAL;
	r->val[7] = 0;
	r->rule[16] = RULE_LOC;
	r->val[16] = (uint64_t)(int64_t)tr->ra_at;
	if (tr->fp_at) {
		r->rule[6] = RULE_LOC;
		r->val[6] = (uint64_t)(int64_t)tr->fp_at;
	}
	return true;
}

/*
 * The CFI rules at lookup of a jitdump region, from its own .eh_frame. libdw reads CFI out of
 * an ELF file, so the section is wrapped in a minimal one in memory (a header, .eh_frame at the
 * address its producer laid it out for, the section names), as perf inject's jitted-PID-N.so
 * wraps it. Built per lookup address and dropped: step_rules_at keeps the answer.
 */
static bool jitcode_rules(const struct pfs_jitcode *jc, uint64_t lookup, struct step_rules *r)
{
	static const char names[] = "\0.eh_frame\0.shstrtab"; /* names at 1 and 11 */
	if (!jc->eh_frame || !jc->eh_frame_len || jc->eh_frame_len > (1u << 20))
		return false;
	size_t data_off = sizeof(Elf64_Ehdr), names_off = data_off + jc->eh_frame_len;
	size_t sh_off = (names_off + sizeof(names) + 7) & ~(size_t)7;
	size_t len = sh_off + 3 * sizeof(Elf64_Shdr);
	uint8_t *img = pfs_xcalloc(1, len);
	Elf64_Ehdr eh = {.e_type = ET_DYN,
			 .e_machine = EM_X86_64,
			 .e_version = EV_CURRENT,
			 .e_shoff = sh_off,
			 .e_ehsize = sizeof(Elf64_Ehdr),
			 .e_shentsize = sizeof(Elf64_Shdr),
			 .e_shnum = 3,
			 .e_shstrndx = 2};
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	Elf64_Shdr sh[3] = {{0},
			    {.sh_name = 1,
			     .sh_type = SHT_PROGBITS,
			     .sh_flags = SHF_ALLOC,
			     .sh_addr = jc->eh_frame_addr,
			     .sh_offset = data_off,
			     .sh_size = jc->eh_frame_len,
			     .sh_addralign = 8},
			    {.sh_name = 11,
			     .sh_type = SHT_STRTAB,
			     .sh_offset = names_off,
			     .sh_size = sizeof(names),
			     .sh_addralign = 1}};
	memcpy(img, &eh, sizeof(eh));
	memcpy(img + data_off, jc->eh_frame, jc->eh_frame_len);
	memcpy(img + names_off, names, sizeof(names));
	memcpy(img + sh_off, sh, sizeof(sh));
	Elf *elf = elf_memory((char *)img, len);
	Dwarf_CFI *cfi = elf ? dwarf_getcfi_elf(elf) : NULL;
	Dwarf_Frame *frame = NULL;
	bool ok = cfi && dwarf_cfi_addrframe(cfi, lookup, &frame) == 0;
	if (ok)
		frame_rules(frame, r);
	free(frame);
	if (cfi)
		dwarf_cfi_end(cfi);
	if (elf)
		elf_end(elf);
	free(img);
	return ok && r->kind == STEP_CFI;
}

/* Fills r for JIT code at lookup (see above); r stays the frame-pointer fallback otherwise. */
static void jit_step_rules(struct unwind *u, uint64_t lookup, struct step_rules *r)
{
	struct pfs_symbols *s = u->sym;
	const struct pfs_map *m = pfs_proc_map_at(u->proc, lookup);
	if (!m || !m->anon)
		return;
	struct jit_hit h;
	if (!jit_lookup(s, u->proc, lookup, &h))
		return;
	struct step_rules t = *r;
	if (h.code && h.code->eh_frame) {
		if (jitcode_rules(h.code, lookup, &t)) {
			*r = t;
			r->jit = true;
		}
		return;
	}
	if (strncmp(h.name, "py::", 4))
		return;
	if (h.code) {
		/* a jitdump region without unwinding info: its own bytes */
		struct pfs_pytramp pt;
		if (h.code->size <= PFS_PYTRAMP_MAX &&
		    pfs_pytramp_decode(EM_X86_64, h.code->code, h.code->size, &pt, NULL, 0) &&
		    tramp_rules(&pt, lookup - h.start, &t)) {
			*r = t;
			r->jit = true;
		}
		return;
	}
	const struct pfs_pytramp *pt = proc_tramp(s, u->space, u->proc);
	if (!pt)
		return;
	if (h.size != pt->len) {
		pfs_diag_add(s->diag, PFS_WARN, "trampoline-size-mismatch", PFS_NO_OFF,
			     "%s: entry %s at 0x%" PRIx64 " has %" PRIu64 " bytes, the trampoline "
			     "template %u: not a copy of it, not unwound through",
			     h.path, h.name, h.start, h.size, pt->len);
		return;
	}
	if (tramp_rules(pt, lookup - h.start, &t)) {
		*r = t;
		r->jit = true;
	}
}

/* ---- unwinding ---- */

static void step_rules_find(struct unwind *u, uint64_t lookup, struct step_rules *r);

/* The rules of lookup, with the list of registers step_apply has to go through. */
static void step_rules_read(struct unwind *u, uint64_t lookup, struct step_rules *r)
{
	step_rules_find(u, lookup, r);
	r->n_active = 0;
	for (uint8_t regno = 0; regno < 17; regno++)
		if (r->rule[regno] != RULE_SKIP && r->rule[regno] != RULE_UNDEF)
			r->active[r->n_active++] = regno;
	r->ra_undef = r->ra < 17 && r->rule[r->ra] == RULE_UNDEF;
}

static void step_rules_find(struct unwind *u, uint64_t lookup, struct step_rules *r)
{
	*r = (struct step_rules){.pc = lookup, .kind = STEP_FP};
	Dwfl_Module *mod = dwfl_addrmodule(u->dwfl, lookup);
	Dwarf_Frame *frame = NULL;
	if (!mod) {
		jit_step_rules(u, lookup, r);
		return;
	}
	Dwarf_Addr bias;
	Dwarf_CFI *cfi = dwfl_module_eh_cfi(mod, &bias);
	if (!cfi || dwarf_cfi_addrframe(cfi, lookup - bias, &frame) != 0) {
		frame = NULL;
		cfi = dwfl_module_dwarf_cfi(mod, &bias);
		if (cfi && dwarf_cfi_addrframe(cfi, lookup - bias, &frame) != 0)
			frame = NULL;
	}
	if (!frame)
		return;
	frame_rules(frame, r);
	free(frame);
}

static const struct step_rules *step_rules_at(struct unwind *u, uint64_t lookup)
{
	struct space *sp = u->space;
	if ((sp->n_steps + 1) * 2 > sp->cap_steps) {
		size_t nc = sp->cap_steps ? sp->cap_steps * 2 : 1024;
		struct step_rules *nv = pfs_xcalloc(nc, sizeof(*nv));
		for (size_t i = 0; i < sp->cap_steps; i++) {
			if (!sp->steps[i].pc)
				continue;
			size_t j = (sp->steps[i].pc * 0x9e3779b97f4a7c15ull >> 20) & (nc - 1);
			while (nv[j].pc)
				j = (j + 1) & (nc - 1);
			nv[j] = sp->steps[i];
		}
		free(sp->steps);
		sp->steps = nv;
		sp->cap_steps = nc;
	}
	size_t j = (lookup * 0x9e3779b97f4a7c15ull >> 20) & (sp->cap_steps - 1);
	while (sp->steps[j].pc && sp->steps[j].pc != lookup)
		j = (j + 1) & (sp->cap_steps - 1);
	if (!sp->steps[j].pc) {
		step_rules_read(u, lookup, &sp->steps[j]);
		sp->n_steps++;
	}
	return &sp->steps[j];
}

/*
 * One step from cur to *next by r. Returns false when libdwfl would have no caller frame (an
 * error: unwinding stops); *pc_set tells whether the caller has a pc (else the stack ends).
 */
static bool step_apply(struct unwind *u, const struct step_rules *r, const struct regs *cur,
		       struct regs *next, bool *pc_set)
{
	Dwarf_Word w;
	next->set = 0;
	if (r->kind == STEP_FP) {
		/* x86_64_unwind: rbp is the frame pointer, rbp + 8 the return address */
		uint64_t fp = cur->v[6], sp = cur->set >> 7 & 1 ? cur->v[7] : 0, prev_fp = 0;
		if (!(cur->set >> 6 & 1) || fp == 0)
			return false;
		if (memory_read(NULL, fp, &w, u))
			prev_fp = w;
		if (!memory_read(NULL, fp + 8, &w, u))
			return false;
		next->v[6] = prev_fp;
		next->v[7] = fp + 16;
		next->pc = w;
		next->set = 1u << 6 | 1u << 7;
		*pc_set = true;
		return sp < fp + 16;
	}
	bool cfa_ok = r->cfa_ok && (cur->set >> r->cfa_reg & 1);
	uint64_t cfa = cfa_ok ? cur->v[r->cfa_reg] + r->cfa_off : 0;
	bool ra_undefined = r->ra_undef;
	for (unsigned k = 0; k < r->n_active; k++) {
		unsigned regno = r->active[k];
		uint64_t val;
		switch (r->rule[regno]) {
		case RULE_SAME:
			if (!(cur->set >> regno & 1))
				continue;
			val = cur->v[regno];
			break;
		case RULE_LOC:
			if (!cfa_ok || !(dump_read(u, cfa + r->val[regno], &w) ||
					 memory_read(NULL, cfa + r->val[regno], &w, u)))
				continue;
			val = w;
			break;
		case RULE_VAL:
			if (!cfa_ok)
				continue;
			val = cfa + r->val[regno];
			break;
		case RULE_REG:
			if (!(cur->set >> r->val[regno] & 1))
				continue;
			val = cur->v[r->val[regno]];
			break;
		default:
			continue;
		}
		next->v[regno] = val;
		next->set |= 1u << regno;
	}
	/* the caller's pc is its return address register; 0 or none ends the stack */
	*pc_set = !ra_undefined && (next->set >> r->ra & 1) && next->v[r->ra] != 0;
	if (*pc_set)
		next->pc = next->v[r->ra];
	return true;
}

/*
 * Whether pc lies in an executable mapping of u's process: a return address anywhere else is
 * garbage. Consecutive return addresses mostly lie in one mapping (libpython): it is kept.
 */
static inline bool exec_mapped(struct unwind *u, uint64_t pc)
{
	/* two: a Python stack goes back and forth between libpython and the trampolines */
	if (pc - u->x_start[0] < u->x_end[0] - u->x_start[0])
		return true;
	if (pc - u->x_start[1] < u->x_end[1] - u->x_start[1]) {
		uint64_t s = u->x_start[1], e = u->x_end[1];
		u->x_start[1] = u->x_start[0];
		u->x_end[1] = u->x_end[0];
		u->x_start[0] = s;
		u->x_end[0] = e;
		return true;
	}
	const struct pfs_map *m = pfs_proc_map_at(u->proc, pc);
	if (!m || !(m->prot & 4 /* PROT_EXEC */))
		return false;
	u->x_start[1] = u->x_start[0];
	u->x_end[1] = u->x_end[0];
	u->x_start[0] = m->start;
	u->x_end[0] = m->end;
	return true;
}

/*
 * A return address in the [uprobes] mapping: the kernel's uretprobe trampoline, put in place of
 * the real return address while a return probe on the function is armed (perfsight record's GC
 * and GIL probes). The real one is in the kernel, not in the dump: see splice_uretprobe.
 */
#define END_URETPROBE 100

/* Finds the [uprobes] mapping of u's process, once per maps gen (up_end 0: none). */
static void uprobes_look(struct unwind *u)
{
	struct space *sp = u->space;
	if (!sp->up_looked) {
		sp->up_looked = true;
		sp->up_start = sp->up_end = 0;
		for (size_t i = 0; i < u->proc->n_maps; i++) {
			const struct pfs_map *m = &u->proc->maps[i];
			if (m->anon &&
			    !strcmp(pfs_profile_strget(u->sym->prof, m->name, NULL), "[uprobes]")) {
				sp->up_start = m->start;
				sp->up_end = m->end;
			}
		}
	}
}

/* Whether pc lies in [uprobes] (uprobes_look has found it for u's maps). */
static inline bool uretprobe(const struct unwind *u, uint64_t pc)
{
	return pc - u->space->up_start < u->space->up_end - u->space->up_start;
}

/* Where a walk is between frames: the next frame to record and how to look it up. */
struct walk {
	struct regs cur;
	bool initial; /* the sample's own frame: its pc is exact */
	bool signal;  /* the frame before was a signal frame: the pc is exact too */
};

/*
 * Steps by the rule cache from w. Returns true when the stack ended (u->end says how); false
 * when the frame at w needs libdwfl (nothing recorded for it) or, with one, after one frame.
 */
static bool fast_walk(struct unwind *u, struct walk *w, bool one)
{
	for (;;) {
		uint64_t pc = w->cur.pc;
		uint64_t lookup = w->initial || w->signal ? pc : pc - 1;
		if (!lookup)
			return false;
		const struct step_rules *r = step_rules_at(u, lookup);
		if (r->kind == STEP_LIBDW)
			return false;
		bool pc_set = false;
		struct regs next;
		u->beyond_dump = false;
		bool ok = step_apply(u, r, &w->cur, &next, &pc_set);
		bool next_signal = r->kind == STEP_CFI && r->signal;
		bool act = w->initial || w->signal || (ok && pc_set && next_signal);
		u->sps[u->n] = w->cur.set >> 7 & 1 ? w->cur.v[7] : 0;
		u->pcs[u->n++] = act ? pc : pc - 1;
		if (u->n >= u->max) {
			u->end = PFS_UNWIND_FULL;
			return true;
		}
		if (!ok || !pc_set) {
			u->end = u->beyond_dump ? PFS_UNWIND_CUT
				 : ok		? PFS_UNWIND_ROOT
						: PFS_UNWIND_STOPPED;
			return true;
		}
		if ((w->cur.set & next.set) >> 7 & 1 &&
		    (next.v[7] < w->cur.v[7] || (next.v[7] == w->cur.v[7] && next.pc == pc))) {
			u->end = PFS_UNWIND_NO_PROGRESS;
			return true;
		}
		if (uretprobe(u, next.pc)) {
			u->end = END_URETPROBE;
			u->splice_sp = next.set >> 7 & 1 ? next.v[7] : 0;
			return true;
		}
		if (!exec_mapped(u, next.pc)) {
			u->end = PFS_UNWIND_BAD_RA;
			return true;
		}
		w->cur = next;
		w->signal = next_signal;
		w->initial = false;
		if (one)
			return false;
	}
}

static int frame_cb(Dwfl_Frame *state, void *arg)
{
	struct unwind *u = arg;
	Dwarf_Addr pc;
	bool act, first = u->seg_first;
	u->seg_first = false;
	/*
	 * dwfl_frame_pc unwinds one step ahead to tell an activation from a call: the reads
	 * of the caller's frame happen here, so whether they ran past the dump is known after
	 * it, not before.
	 */
	u->beyond_dump = false;
	if (!dwfl_frame_pc(state, &pc, &act))
		return DWARF_CB_ABORT;
	Dwarf_Word sp = 0;
	bool have_sp = dwfl_frame_reg(state, 7, &sp) == 0;
	if (!first) {
		/* the checks fast_walk makes of each caller */
		if (have_sp && u->have_last_sp &&
		    (sp < u->last_sp || (sp == u->last_sp && pc == u->last_pc))) {
			u->end = PFS_UNWIND_NO_PROGRESS;
			return DWARF_CB_ABORT;
		}
		if (uretprobe(u, pc)) {
			u->end = END_URETPROBE;
			u->splice_sp = have_sp ? sp : 0;
			return DWARF_CB_ABORT;
		}
		if (!exec_mapped(u, pc)) {
			u->end = PFS_UNWIND_BAD_RA;
			return DWARF_CB_ABORT;
		}
	}
	u->have_last_sp = have_sp;
	u->last_sp = sp;
	u->last_pc = pc;
	uint64_t lookup = act ? pc : pc - 1;
	const struct pfs_map *m = pfs_proc_map_at(u->proc, lookup);
	if (m && m->anon && (!first || u->seg_initial)) {
		/* JIT code the rule cache steps through and libdwfl cannot: hand over */
		const struct step_rules *r = step_rules_at(u, lookup);
		if (r->jit && r->kind == STEP_CFI) {
			struct regs *rg = &u->resume;
			rg->set = 0;
			for (unsigned n = 0; n < 17; n++)
				if (dwfl_frame_reg(state, n, &rg->v[n]) == 0)
					rg->set |= 1u << n;
			rg->pc = pc;
			rg->v[16] = pc;
			rg->set |= 1u << 16;
			u->resume_initial = first;
			u->resume_signal = false;
			u->switched = true;
			return DWARF_CB_ABORT;
		}
	}
	u->sps[u->n] = have_sp ? sp : 0;
	u->pcs[u->n++] = act ? pc : pc - 1;
	if (u->n >= u->max) {
		u->end = PFS_UNWIND_FULL;
		return DWARF_CB_ABORT;
	}
	return DWARF_CB_OK;
}

/*
 * libdwfl's own walk from w, up to the end of the stack (returns false, u->end set) or the
 * next JIT code it has no rule for and the rule cache has (returns true, w there). libdwfl
 * takes its first frame for the sample's own, an activation: a frame below it gets its lookup
 * address (the return address minus one) as its pc.
 */
static bool libdw_walk(struct unwind *u, struct walk *w)
{
	u->seg = w->cur;
	if (!w->initial && !w->signal)
		u->seg.pc--;
	u->seg.v[16] = u->seg.pc;
	u->seg.set |= 1u << 16;
	u->seg_first = true;
	u->seg_initial = w->initial;
	u->have_last_sp = false;
	u->switched = false;
	u->beyond_dump = false;
	int rc = dwfl_getthread_frames(u->dwfl, (pid_t)u->tid, frame_cb, u);
	if (u->switched) {
		w->cur = u->resume;
		w->initial = u->resume_initial;
		w->signal = u->resume_signal;
		return true;
	}
	/* it ends in an error where the CFI or the stack dump runs out: what came before stands */
	if (u->end < 0)
		u->end = u->beyond_dump ? PFS_UNWIND_CUT
			 : rc == 0	? PFS_UNWIND_ROOT
					: PFS_UNWIND_STOPPED;
	return false;
}

/*
 * The frames of the sample in u into u->pcs: by the rule cache, handing stretches it has no
 * rule for to libdwfl (and libdwfl's JIT frames back), or, with unwind_libdw, by libdwfl
 * wherever it has a rule.
 */
static void walk(struct pfs_symbols *s, struct unwind *u)
{
	struct walk w = {.initial = true};
	initial_regs(u, &w.cur);
	bool libdw = s->o.unwind_libdw || !(w.cur.set >> 16 & 1);
	/* each round records a frame at least: a bound, not a limit met in practice */
	for (size_t round = 0; round <= u->max; round++) {
		if (!libdw && fast_walk(u, &w, false))
			return;
		if (!libdw_walk(u, &w))
			return;
		/* libdwfl stopped at JIT code: the rule cache steps through it */
		if (s->o.unwind_libdw && fast_walk(u, &w, true))
			return;
		libdw = s->o.unwind_libdw;
	}
	u->end = PFS_UNWIND_STOPPED;
}

/* Entry stacks kept per thread: the probed calls that can be running at once (GC, GIL). */
#define NOTE_MAX 1024
#define WHOLES_PER_THREAD 4

/* Whether lookup address a of p is the first instruction of a function. */
static bool at_entry(struct pfs_symbols *s, struct pfs_proc *p, uint64_t a)
{
	struct pfs_symloc l;
	uint32_t f[64];
	if (pfs_symbols_locate(s, p, a, &l, f, 64) || !l.dso)
		return false;
	const struct fsym *fs = sym_at(s, &s->dsos[l.dso - 1], l.va);
	return fs && fs->start == l.va;
}

/*
 * Keeps a stack unwound to its root whose sample was taken at a function's first instruction
 * (an entry uprobe's sample), in a process with uprobes: the thread's slot for it, the oldest
 * of its WHOLES_PER_THREAD when all are taken.
 */
static void remember_entry(struct pfs_symbols *s, const struct unwind *u)
{
	if (!u->space->up_end || u->n < 2 || !at_entry(s, u->proc, u->pcs[0]))
		return;
	struct whole *w = NULL;
	size_t mine = 0;
	for (size_t i = 0; i < s->n_wholes; i++) {
		struct whole *x = &s->wholes[i];
		if (x->tid != u->tid || x->pid != u->proc->pid)
			continue;
		mine++;
		if (!w || x->n == 0)
			w = x;
	}
	if (mine < WHOLES_PER_THREAD) {
		PFS_GROW(s->wholes, s->cap_wholes, s->n_wholes + 1);
		w = &s->wholes[s->n_wholes++];
		*w = (struct whole){.pid = u->proc->pid, .tid = u->tid};
	} else {
		/* the oldest: slots are reused in order, so the first of the thread's is */
		struct whole tmp = *w;
		size_t at = (size_t)(w - s->wholes);
		memmove(w, w + 1, (s->n_wholes - at - 1) * sizeof(*w));
		w = &s->wholes[s->n_wholes - 1];
		*w = tmp;
	}
	if (w->cap < u->n) {
		w->pcs = pfs_xreallocarray(w->pcs, u->n, sizeof(*w->pcs));
		w->sps = pfs_xreallocarray(w->sps, u->n, sizeof(*w->sps));
		w->cap = u->n;
	}
	memcpy(w->pcs, u->pcs, u->n * sizeof(*w->pcs));
	memcpy(w->sps, u->sps, u->n * sizeof(*w->sps));
	w->n = u->n;
}

/* Whether two lookup addresses of p lie in the same function of the same file. */
static bool same_function(struct pfs_symbols *s, struct pfs_proc *p, uint64_t a, uint64_t b)
{
	struct pfs_symloc la, lb;
	uint32_t f[64];
	if (pfs_symbols_locate(s, p, a, &la, f, 64) || !la.dso ||
	    pfs_symbols_locate(s, p, b, &lb, f, 64) || lb.dso != la.dso)
		return false;
	struct dso *d = &s->dsos[la.dso - 1];
	const struct fsym *fa = sym_at(s, d, la.va);
	return fa && fa == sym_at(s, d, lb.va);
}

/*
 * The callers of a frame whose return address is a uretprobe trampoline. While the probed call
 * runs, its callers do not change, and the entry probe's own sample (taken at the function's
 * first instruction, before the kernel swaps the return address) unwinds through them: its
 * caller sits at the stack pointer our trampoline's caller would have. So the thread's latest
 * entry stack of the same function whose caller is at that stack pointer gives our frames from
 * there on. Without one (the entry sample cut short, or not recorded with a stack) the stack
 * ends at the probed function ("uretprobe-unresolved").
 */
static void splice_uretprobe(struct pfs_symbols *s, struct unwind *u)
{
	const struct whole *w = NULL;
	for (size_t i = s->n_wholes; i-- > 0 && !w && u->n && u->splice_sp;) {
		const struct whole *x = &s->wholes[i];
		if (x->tid == u->tid && x->pid == u->proc->pid && x->n >= 2 &&
		    x->sps[1] == u->splice_sp &&
		    same_function(s, u->proc, u->pcs[u->n - 1], x->pcs[0]))
			w = x;
	}
	size_t j = 1;
	if (!w) {
		pfs_diag_add(s->diag, PFS_NOTE, "uretprobe-unresolved", PFS_NO_OFF,
			     "stacks that return into a uretprobe trampoline ([uprobes]) of a "
			     "thread with no whole stack from before the probed call: each ends at "
			     "the probed function");
		u->end = PFS_UNWIND_STOPPED;
		return;
	}
	for (; j < w->n && u->n < u->max; j++) {
		u->sps[u->n] = w->sps[j];
		u->pcs[u->n++] = w->pcs[j];
	}
	u->end = j < w->n ? PFS_UNWIND_FULL : PFS_UNWIND_ROOT;
	pfs_diag_add(s->diag, PFS_NOTE, "uretprobe-spliced", PFS_NO_OFF,
		     "stacks that return into a uretprobe trampoline ([uprobes]): their callers "
		     "are taken from the thread's stack at the probed call's entry");
}

void pfs_symbols_note_entry(struct pfs_symbols *s, struct pfs_proc *p, uint32_t tid,
			    const struct pfs_attr *attr, const struct pfs_sample *smp)
{
	uint64_t ip;
	s->uw.mask = attr->sample_regs_user;
	s->uw.smp = smp;
	if (!smp->regs_user_abi || !smp->n_regs_user || !reg(&s->uw, PR_IP, &ip) ||
	    !at_entry(s, p, ip))
		return;
	if (!s->note_pcs)
		s->note_pcs = pfs_xmalloc(NOTE_MAX * sizeof(*s->note_pcs));
	(void)pfs_symbols_unwind_user(s, p, tid, attr, smp, s->note_pcs, NOTE_MAX, NULL);
}

size_t pfs_symbols_unwind_user(struct pfs_symbols *s, struct pfs_proc *p, uint32_t tid,
			       const struct pfs_attr *attr, const struct pfs_sample *smp,
			       uint64_t *pcs, size_t max, struct pfs_unwind_info *info)
{
	struct unwind *u = &s->uw;
	struct pfs_unwind_info none;
	if (!info)
		info = &none;
	*info = (struct pfs_unwind_info){.end = PFS_UNWIND_NONE};
	if (!max)
		return 0;
	if (!smp->regs_user_abi || !smp->n_regs_user) {
		pfs_diag_add(u->sym->diag, PFS_NOTE, "regs-missing", PFS_NO_OFF,
			     "samples without user registers: their user stack is unknown");
		return 0;
	}
	u->mask = attr->sample_regs_user;
	u->smp = smp;
	uint64_t ip, sp;
	if (!reg(u, PR_IP, &ip) || !reg(u, PR_SP, &sp)) {
		pfs_diag_add(u->sym->diag, PFS_WARN, "unwind-arch-unsupported", PFS_NO_OFF,
			     "user registers lack ip or sp (mask 0x%llx): only x86_64 is unwound",
			     (unsigned long long)u->mask);
		return 0;
	}
	pcs[0] = ip;
	if (!smp->stack_user_dyn_size || !smp->stack_user_size) {
		pfs_diag_add(u->sym->diag, PFS_NOTE, "stack-dump-empty", PFS_NO_OFF,
			     "samples with an empty user stack dump: only their pc is known");
		return 1;
	}
	Dwfl *dwfl = space_dwfl(s, p);
	if (!dwfl)
		return 1;
	u->proc = p;
	u->space = p->sym;
	u->dwfl = dwfl;
	u->tid = tid;
	u->sp = sp;
	u->have = smp->stack_user_dyn_size < smp->stack_user_size ? smp->stack_user_dyn_size
								  : smp->stack_user_size;
	u->top = 0;
	memset(u->x_start, 0, sizeof(u->x_start));
	memset(u->x_end, 0, sizeof(u->x_end));
	u->pcs = pcs;
	u->n = 0;
	u->max = max;
	u->end = -1;
	if (dwfl_pid(dwfl) <= 0 && !dwfl_attach_state(dwfl, NULL, (pid_t)p->pid, &callbacks, u)) {
		pfs_diag_add(u->sym->diag, PFS_WARN, "unwind-attach-failed", PFS_NO_OFF,
			     "cannot unwind process %u: %s", p->pid, dwfl_errmsg(-1));
		return 1;
	}
	if (u->cap_sps < max) {
		free(u->sps);
		u->sps = pfs_xmalloc(max * sizeof(*u->sps));
		u->cap_sps = max;
	}
	uprobes_look(u);
	walk(s, u);
	if (u->end == END_URETPROBE)
		splice_uretprobe(s, u);
	else if (u->end == PFS_UNWIND_ROOT)
		remember_entry(s, u);
	info->sp = sp;
	info->top = u->top;
	info->dump = smp->stack_user_dyn_size < smp->stack_user_size ? smp->stack_user_dyn_size
								     : smp->stack_user_size;
	info->end = u->end < 0 ? PFS_UNWIND_STOPPED : (enum pfs_unwind_end)u->end;
	if (info->end == PFS_UNWIND_BAD_RA)
		pfs_diag_add(s->diag, PFS_NOTE, "unwind-bad-return-address", PFS_NO_OFF,
			     "stacks whose next return address lies outside every executable "
			     "mapping of the process (stack contents where no CFI told where the "
			     "return address is): each ends at the frame before it");
	else if (info->end == PFS_UNWIND_NO_PROGRESS)
		pfs_diag_add(s->diag, PFS_NOTE, "unwind-no-progress", PFS_NO_OFF,
			     "stacks whose next frame would not be above the one before (a rule "
			     "that goes round in circles): each ends at the frame before it");
	if (!u->n) {
		pcs[0] = ip;
		return 1;
	}
	return u->n;
}
