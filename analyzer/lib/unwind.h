/*
 * unwind: user stacks from the registers and stack bytes a sample carries (perf record
 * --call-graph dwarf: PERF_SAMPLE_REGS_USER + PERF_SAMPLE_STACK_USER), unwound with libdwfl's
 * CFI interpreter through the sample's process Dwfl (symbols.c builds it).
 *
 * dwfl_attach_state() is done once per address space, with callbacks that read the sample
 * currently being unwound: registers (x86_64 perf register numbering mapped to DWARF's),
 * memory from the stack dump for [sp, sp + dyn_size) and from the mapped ELF files elsewhere.
 * The addresses returned are lookup addresses, as perf uses them: the sampled pc itself, then
 * each return address minus one (so a call at the end of an inline block names the caller's
 * inline chain, not what follows the call).
 *
 * A stack deeper than its dump ends in one extra address, UINT64_MAX (named [unknown]), as in
 * perf: the caller whose return address lies beyond the dump.
 *
 * Bad samples are diagnostics, counted: "regs-missing" (no user registers, e.g. a kernel
 * thread or an ABI we do not know), "stack-dump-empty" (dyn_size 0: only the sampled pc is
 * known), "unwind-arch-unsupported" (the registers lack ip or sp).
 *
 * Ownership: pfs_unwind_new() / pfs_unwind_free(); symbols and diag are borrowed.
 */
#ifndef PFS_UNWIND_H
#define PFS_UNWIND_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "perfdata.h"
#include "procmap.h"
#include "symbols.h"

struct pfs_unwind;

struct pfs_unwind *pfs_unwind_new(struct pfs_symbols *s, struct pfs_diag *diag);
void pfs_unwind_free(struct pfs_unwind *u);

/*
 * Unwinds the user stack of sample smp (of event attr, thread tid of process p) into pcs,
 * innermost first, at most max. Returns the number of addresses (0 when the sample has no
 * usable registers; a diagnostic says why).
 */
size_t pfs_unwind_user(struct pfs_unwind *u, struct pfs_proc *p, uint32_t tid,
		       const struct pfs_attr *attr, const struct pfs_sample *smp, uint64_t *pcs,
		       size_t max);

#endif
