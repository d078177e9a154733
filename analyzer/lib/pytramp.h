/*
 * pytramp: how to unwind through a copy of CPython's perf trampoline, read from the template's
 * own bytes.
 *
 * CPython 3.12+ run with -X perf (PYTHONPERFSUPPORT=1) calls each Python function's
 * _PyEval_EvalFrameDefault through a copy of one small assembler stub: the bytes between the
 * symbols _Py_trampoline_func_start and _Py_trampoline_func_end of libpython (or of a python
 * binary linked statically), copied into anonymous executable memory and named in
 * /tmp/perf-PID.map ("py::qualname:file"). The copies have no CFI, so a DWARF unwinder stops at
 * the first one. Their rule follows from the template: x86_64 3.12 and 3.13 are
 *     sub $8,%rsp; call *%rcx; add $8,%rsp; ret          (endbr64 first in CET builds)
 * so at the return address CFA = rsp + 16, the caller's return address is at CFA - 8 and no
 * register is saved; aarch64 (Python/asm_trampoline.S) is
 *     stp x29,x30,[sp,-16]!; mov x29,sp; blr x3; ldp x29,x30,[sp],16; ret
 * (paciasp/autiasp around it in PAC/BTI builds): CFA = sp + 16 after the stp, x29 saved at
 * CFA - 16, the return address (x30) at CFA - 8.
 *
 * pfs_pytramp_decode() follows the template instruction by instruction, as an unwinder must:
 * where the CFA is (stack pointer + offset) before each instruction, where the return address
 * and the frame pointer are, and checks that the whole template is one frame that calls
 * through a register exactly once, restores what it saved and returns. Known forms: x86_64
 * endbr64, nop, push/pop %rbp, sub/add $imm to %rsp, mov %rsp,%rbp, call *%reg, ret (int3 or
 * nop padding after it); aarch64 paciasp, autiasp, bti, nop, stp/ldp of x29/x30 on sp (pre- and
 * post-index), mov x29,sp, sub/add sp,#imm, blr, ret (udf #0 or nop padding after it).
 * Anything else is an unknown template: no rule, and a reason the caller reports (it must not
 * guess).
 *
 * Rules are per byte offset into the template, indexed by the unwinder's lookup address: at an
 * instruction's first byte, the state before it (a sampled pc); inside an instruction, the
 * state after it (a return address minus one lands in the last byte of its call).
 *
 * Pure: no I/O, no allocation, no state.
 */
#ifndef PFS_PYTRAMP_H
#define PFS_PYTRAMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PFS_PYTRAMP_MAX 64 /* template bytes followed at most */

/* Where things are at one offset, relative to the CFA (the caller's stack pointer). */
struct pfs_pytramp_rule {
	int16_t cfa_off; /* CFA = sp + cfa_off */
	int16_t ra_at;	 /* the return address is at CFA + ra_at; 0: still in the link register */
	int16_t fp_at;	 /* the frame pointer is saved at CFA + fp_at; 0: unchanged */
	bool valid;	 /* an offset the template runs (not padding after its return) */
};

struct pfs_pytramp {
	uint16_t machine; /* ELF e_machine: EM_X86_64 (62) or EM_AARCH64 (183) */
	uint8_t len;	  /* template bytes */
	bool ra_signed;	  /* aarch64 PAC: the saved return address is signed (strip it) */
	struct pfs_pytramp_rule at[PFS_PYTRAMP_MAX];
};

/*
 * Decodes the template (len bytes of code for machine) into *t. Returns true; or false when
 * the template is not one this follows, with the reason in why (NUL-terminated, at most
 * why_len bytes).
 */
bool pfs_pytramp_decode(uint16_t machine, const uint8_t *code, size_t len, struct pfs_pytramp *t,
			char *why, size_t why_len);

/* The rule at lookup offset off into a copy, or NULL when off is not inside the template. */
const struct pfs_pytramp_rule *pfs_pytramp_at(const struct pfs_pytramp *t, uint64_t off);

#endif
