/*
 * jitdump: the code a JIT compiler wrote down for perf, jit-PID.dump (the format of perf's
 * tools/perf/Documentation/jitdump-specification.txt), read without `perf inject --jit`.
 *
 * CPython 3.13+ run with -X perf_jit (PYTHON_PERF_JIT_SUPPORT=1) writes one: each Python
 * function's trampoline copy is a JIT_CODE_LOAD record (address, size, name "py::qualname:file",
 * the code bytes), preceded by a JIT_CODE_UNWINDING_INFO record whose .eh_frame (and
 * .eh_frame_hdr) describe how to unwind through it. Other JITs (V8, the JVM agents, .NET) write
 * the same format. What is kept, per code region:
 *  - JIT_CODE_LOAD: address, size, code index, name, code bytes, and the unwinding info of the
 *    JIT_CODE_UNWINDING_INFO record before it, if any (it applies to the next load only, as
 *    perf inject applies it);
 *  - JIT_CODE_MOVE: the region of code index N again at its new address (the old one stays:
 *    samples taken before the move may still point there);
 *  - JIT_CODE_CLOSE: the end; JIT_CODE_DEBUG_INFO and unknown record types are skipped.
 * A later region at the same address replaces an earlier one, as the JIT reuses code memory
 * (records are not matched to samples by time). perf inject places the unwinding info right
 * after the code, .eh_frame at code address + ALIGN_8(code size): producers compute the FDEs'
 * pc-relative addresses for that layout, so eh_frame_addr says where it is.
 *
 * Bad input: a file that is not a regular file, larger than 1 GiB, or without the "JiTD" header
 * (either byte order) is refused (PFS_EFORMAT / PFS_ELIMIT / PFS_EIO, the message names the
 * file); a record that is cut short or lies about its size ends the reading there, keeping what
 * came before, with a "jitdump-truncated" diagnostic naming the file and the byte offset (a
 * JIT killed while writing leaves such a tail). Every length is checked; reads go through
 * cursor.h.
 *
 * Ownership: pfs_jitdump_load() / pfs_jitdump_free(); the regions and their strings and bytes
 * are borrowed from the struct until the free.
 */
#ifndef PFS_JITDUMP_H
#define PFS_JITDUMP_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "err.h"

struct pfs_jitcode {
	uint64_t addr, size; /* [addr, addr + size) */
	uint64_t index;	     /* the record's code index */
	const char *name;    /* NUL-terminated */
	const uint8_t *code; /* size bytes */
	/* unwinding info: .eh_frame then .eh_frame_hdr; eh_frame NULL when none */
	const uint8_t *eh_frame;
	size_t eh_frame_len, eh_frame_hdr_len;
	uint64_t eh_frame_addr; /* the address the producer laid .eh_frame out at */
};

struct pfs_jitdump;

/* Reads path. Returns 0 and *out, or a negative code (err names the file). */
int pfs_jitdump_load(struct pfs_jitdump **out, const char *path, struct pfs_diag *diag,
		     struct pfs_err *err) PFS_MUST_CHECK;
void pfs_jitdump_free(struct pfs_jitdump *jd);

/* The region holding addr, or NULL. */
const struct pfs_jitcode *pfs_jitdump_find(const struct pfs_jitdump *jd, uint64_t addr);
const char *pfs_jitdump_path(const struct pfs_jitdump *jd);
/* The ELF e_machine and pid its header gives. */
uint32_t pfs_jitdump_machine(const struct pfs_jitdump *jd);
uint32_t pfs_jitdump_pid(const struct pfs_jitdump *jd);
/* Regions kept, and each by index (sorted by address). */
size_t pfs_jitdump_size(const struct pfs_jitdump *jd);
const struct pfs_jitcode *pfs_jitdump_at(const struct pfs_jitdump *jd, size_t i);

#endif
