/*
 * symbols: names for addresses and user stacks unwound from DWARF, with elfutils
 * (libdwfl/libdw/libelf; the only module that uses elfutils).
 *
 * Files (struct dso, one per recorded file name) are found on first use, in this order: the
 * recorded path under --symfs, the recorded path, the file name in --app-dir and in the
 * capture's directory (a binary copied beside its capture), then the build-id caches
 * (~/.debug/.build-id/xx/rest/elf). Separate debug info is found by elfutils itself
 * (/usr/lib/debug/.build-id, .gnu_debuglink, and debuginfod when DEBUGINFOD_URLS is set). When
 * the capture recorded a build-id for the file (HEADER_BUILD_ID or MMAP2), a candidate with
 * another build-id is refused; if none fits, the dso's frames are "[unknown]" and a
 * "build-id-mismatch" diagnostic names the file. A missing, unreadable or non-ELF file is a
 * "dso-not-found" / "dso-not-elf" diagnostic, counted once per file.
 *
 * Names: each (dso, file address) is resolved once and cached: the ELF symbol
 * (dwfl_module_addrinfo; PLT stubs named "func@plt" as perf does), then, unless no_inline, the
 * inline chain from the DWARF scopes (innermost first, names and call-site file:line from
 * DWARF, as addr2line -i prints them). Frames are interned in the caller's profile.
 * Addresses in anonymous memory are looked up in the process's jitdump (jit-PID.dump), then its
 * JIT map (perf-PID.map), then its parent's (a forked worker runs code its parent generated);
 * both are found by jitmap's rule (--jit-maps, the capture's directory, its maps/, and /tmp
 * only for a capture made on this machine). A file mapped as a jitdump marker has no frames. Kernel
 * addresses use kallsyms:
 * --kallsyms FILE, or /proc/kallsyms only when the capture's hostname and os release are this
 * machine's; KASLR is undone through the pgoff of the capture's "[kernel.kallsyms]_text" map.
 * Without symbols kernel frames are "[kernel]" and counted ("kernel-unresolved").
 *
 * Address spaces: one Dwfl per process (in pfs_proc.sym), with a module for each mapped ELF
 * file at its load bias, rebuilt when the process's maps change.
 *
 * Unwinding (perf record --call-graph dwarf: PERF_SAMPLE_REGS_USER + PERF_SAMPLE_STACK_USER):
 * by the CFI of the process's Dwfl (dwfl_attach_state() done once per address space), with
 * callbacks that read the sample being unwound: registers (x86_64 perf register numbering
 * mapped to DWARF's), memory from the stack dump for [sp, sp + dyn_size) and from the mapped ELF
 * files elsewhere. Each address's CFI rules are read from libdw once per address space and
 * applied here as libdwfl's unwinder applies them (same reads, same end conditions, x86_64's
 * frame-pointer fallback where no CFI covers an address); a stretch of stack that meets a DWARF
 * expression rule is unwound by libdwfl itself (dwfl_getthread_frames, from the registers the
 * rule cache reached), as every frame is with unwind_libdw. The addresses returned are lookup
 * addresses, as perf uses them: the sampled pc itself, then each return address minus one (so
 * a call at the end of an inline block names the caller's inline chain, not what follows it).
 *
 * JIT code has no CFI in any file. Three kinds are unwound through, wherever the pc lies in
 * anonymous executable memory (libdwfl's walk hands such frames over and takes the stack back
 * after them):
 *  - a region of the process's jitdump (jit-PID.dump, CPython 3.13 -X perf_jit and other JITs,
 *    found where perf maps are) with unwinding info: the region's own .eh_frame, read by libdw;
 *  - a jitdump region without it whose bytes are a CPython perf trampoline: pytramp's rule;
 *  - a copy of CPython's perf trampoline (-X perf, 3.12+): a "py::" entry of the process's
 *    perf map, or an ancestor's, whose size is the length of the template between
 *    _Py_trampoline_func_start and _Py_trampoline_func_end in the interpreter the process maps
 *    (libpython or a static python binary, symtab or dynsym): the copies' bytes are not in the
 *    capture, so the map entry plus that template are the evidence, and the rule is pytramp's
 *    reading of the template's bytes (x86_64 3.12/3.13: CFA = rsp + 16 at the return address,
 *    return address at CFA - 8, no register saved). An entry of another size is counted
 *    ("trampoline-size-mismatch") and left to the frame-pointer fallback; a template pytramp
 *    does not follow is one "trampoline-unknown" diagnostic naming the interpreter, and Python
 *    stacks then end at the innermost Python frame as before.
 * A walk never invents frames: a return address outside every executable mapping of the
 * process, or a caller whose stack pointer is not above its callee's, ends the stack at the
 * frame before ("unwind-bad-return-address", "unwind-no-progress"). How a walk ended is
 * returned (struct pfs_unwind_info): at the outermost frame (its CFI has no return address, as
 * _start's and clone3's), cut where the stack dump ends (the caller's frame lies above it),
 * stopped (no rule, unreadable memory), or at the frame limit; with the stack pointer and the
 * highest dump byte read, from which the caller tells what dump size a cut stack needed. Bad
 * samples are counted diagnostics: "regs-missing" (no user registers), "stack-dump-empty"
 * (dyn_size 0: only the pc is known), "unwind-arch-unsupported" (the registers lack ip or sp).
 *
 * Ownership: pfs_symbols_new() / pfs_symbols_free(); the profile, procmap and diag passed to
 * _new are borrowed and must outlive it. Free the procmap first or pass pfs_symbols_release_space
 * as its release hook (it is only a free of the Dwfl).
 */
#ifndef PFS_SYMBOLS_H
#define PFS_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "perfdata.h"
#include "procmap.h"
#include "profile.h"

struct pfs_symbols_opts {
	const char *symfs;	     /* root prefixed to recorded paths, or NULL */
	const char *app_dir;	     /* searched by file name, or NULL */
	const char *capture_dir;     /* the capture's directory, searched by file name, or NULL */
	const char *const *jit_dirs; /* searched for perf-PID.map before /tmp */
	size_t n_jit_dirs;
	const char *kallsyms; /* kernel symbols file, or NULL */
	bool no_inline;	      /* do not expand inline frames */
	bool addr_names;      /* name unresolved frames "[dso <0xaddr>]" instead of "[unknown]" */
	bool unwind_libdw;    /* every step through libdwfl, none from the rule cache (checks) */
	bool symfs_only;      /* binaries under symfs only, never at their recorded paths nor in
				 ~/.debug: no file of this machine takes part (the fuzz harness) */
};

struct pfs_symbols;

struct pfs_symbols *pfs_symbols_new(const struct pfs_symbols_opts *opts, struct pfs_profile *prof,
				    struct pfs_procmap *pm, struct pfs_diag *diag);
void pfs_symbols_free(struct pfs_symbols *s);
/* The procmap release hook for pfs_proc.sym. */
void pfs_symbols_release_space(void *sym);

/*
 * Sets what the capture says about the machine and its files: hostname/osrelease decide
 * whether /proc/kallsyms may be used (NULL: unknown, never); build_ids are the
 * HEADER_BUILD_ID entries. Call once, before the first lookup. The kallsyms file the kernel
 * frames will need (--kallsyms, or /proc/kallsyms of this machine) starts loading here on a
 * thread of its own, which the first kernel lookup (or pfs_symbols_free) joins.
 */
void pfs_symbols_set_capture(struct pfs_symbols *s, const char *hostname, const char *osrelease,
			     const struct pfs_build_id *build_ids, size_t n_build_ids);

/*
 * Frames for a user address of process p, innermost first (inline frames when inlines and not
 * no_inline, then the function), written to out (at most max). Always at least one frame
 * ("[unknown]" when unresolved) when max > 0. Returns the number written.
 */
size_t pfs_symbols_user(struct pfs_symbols *s, struct pfs_proc *p, uint64_t addr, bool inlines,
			uint32_t *out, size_t max);
/*
 * pfs_symbols_user in two steps, for callers that resolve later what they read now. Locate
 * finds the file and file address of addr in p's maps as they are now: into *loc (loc->dso
 * nonzero) when its frames come from that file, else (JIT code, no file, unreadable file) the
 * frames go to out at once and their number is returned, loc->dso 0. Resolve gives the frames
 * of a located address, as pfs_symbols_user does; the process need not exist any more.
 */
struct pfs_symloc {
	uint32_t dso; /* 0: nothing to resolve */
	uint64_t va;  /* address in the file's own vaddr space */
};
size_t pfs_symbols_locate(struct pfs_symbols *s, struct pfs_proc *p, uint64_t addr,
			  struct pfs_symloc *loc, uint32_t *out, size_t max);
size_t pfs_symbols_resolve(struct pfs_symbols *s, const struct pfs_symloc *loc, bool inlines,
			   uint32_t *out, size_t max);
/*
 * Whether the kallsyms file or the preloaded files' DWARF are still being read on their
 * threads: a lookup now would wait for them. Never blocks.
 */
bool pfs_symbols_loading(const struct pfs_symbols *s);

/* As pfs_symbols_user for a kernel address; kernel is pfs_procmap_kernel(). */
size_t pfs_symbols_kernel(struct pfs_symbols *s, struct pfs_proc *kernel, uint64_t addr,
			  uint32_t *out, size_t max);

/* How an unwind ended. */
enum pfs_unwind_end {
	PFS_UNWIND_ROOT = 0,	/* at the outermost frame: the CFI says it has no caller */
	PFS_UNWIND_CUT,		/* the caller's frame lies above the recorded stack dump */
	PFS_UNWIND_STOPPED,	/* no rule for a frame, or memory it needs is unreadable */
	PFS_UNWIND_BAD_RA,	/* the next return address is outside every executable mapping */
	PFS_UNWIND_NO_PROGRESS, /* the next frame would not be above the one before */
	PFS_UNWIND_FULL,	/* max frames reached */
	PFS_UNWIND_NONE, /* not unwound (no registers, empty dump, no ELF mapped): the pc only */
};

struct pfs_unwind_info {
	enum pfs_unwind_end end;
	uint64_t sp;   /* the sample's user stack pointer: the dump starts there */
	uint64_t top;  /* one past the highest dump byte the walk read (0: none) */
	uint64_t dump; /* bytes of stack the sample holds */
};

/*
 * Unwinds the user stack of sample smp (of event attr, thread tid of process p) into pcs,
 * innermost first, at most max, and says how it ended in *info (may be NULL). Returns the
 * number of addresses (0 when the sample has no usable registers; a diagnostic says why).
 */
size_t pfs_symbols_unwind_user(struct pfs_symbols *s, struct pfs_proc *p, uint32_t tid,
			       const struct pfs_attr *attr, const struct pfs_sample *smp,
			       uint64_t *pcs, size_t max, struct pfs_unwind_info *info);
/*
 * Unwinds a sample the caller does not stream when it was taken at a function's first
 * instruction (an entry uprobe's sample), only for what the unwinder keeps of it: the callers
 * of later samples in that call whose return address a uretprobe replaced.
 */
void pfs_symbols_note_entry(struct pfs_symbols *s, struct pfs_proc *p, uint32_t tid,
			    const struct pfs_attr *attr, const struct pfs_sample *smp);
/* Reads 8 bytes of p's memory at addr from the file mapped there; false when not file-backed. */
bool pfs_symbols_read_file_mem(struct pfs_symbols *s, const struct pfs_proc *p, uint64_t addr,
			       uint64_t *val);

/*
 * Gives the diagnostics that need the whole capture: "perf-map-missing" (a warning) when
 * processes running a CPython with perf support (an interpreter with the perf trampoline
 * template, 3.12+) had frames in anonymous memory and neither a perf-PID.map nor a
 * jit-PID.dump of their own was found: their Python function names are missing. It names the
 * pids and the places searched. Call once, after the last lookup.
 */
void pfs_symbols_finish(struct pfs_symbols *s);

/* Whether kernel addresses can be named (kallsyms loaded and accepted). */
bool pfs_symbols_have_kernel(const struct pfs_symbols *s);

#endif
