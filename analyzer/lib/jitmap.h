/*
 * jitmap: the symbol maps JIT compilers write for perf, /tmp/perf-PID.map, one line per
 * generated code region: "START SIZE NAME" (hex, with or without 0x). CPython's -X perf
 * trampolines name Python functions there ("py::crunch:/srv/app/threads.py"); nothing else in
 * the capture knows them.
 *
 * A struct pfs_jitmaps finds and loads the map of each pid once, searching, in order, the
 * directories it was given (--jit-maps, the capture's directory and its maps/ subdirectory),
 * then /tmp unless told the capture was made on another machine (pfs_jitmaps_use_tmp: symbols
 * tells it so unless the capture's hostname and kernel release are this machine's). In /tmp,
 * which any local user can write, only a file this user or root owns is read ("jit-map-not-
 * owned" otherwise), as perf does. A map must be a regular file of at most 1 GiB: a FIFO or a
 * link to a device is refused without blocking ("jit-map-unreadable"). A pid
 * without a map is remembered as such. The other files JITs write for perf (jit-PID.dump) are
 * found by the same rule (pfs_jitmaps_locate) and read by jitdump. Malformed lines are skipped and
 * counted as "jit-map-malformed" diagnostics naming the file and line; a later entry for the same
 * start replaces an earlier one, as the JIT reuses code memory.
 *
 * Ownership: pfs_jitmaps_new() / pfs_jitmaps_free(); names returned are borrowed until the free.
 * The diagnostics sink is caller-owned and must outlive the struct.
 */
#ifndef PFS_JITMAP_H
#define PFS_JITMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"

struct pfs_jitmap;
struct pfs_jitmaps;

/* dirs (n entries, may be 0) are searched in order before /tmp; copied. */
struct pfs_jitmaps *pfs_jitmaps_new(const char *const *dirs, size_t n, struct pfs_diag *diag);
void pfs_jitmaps_free(struct pfs_jitmaps *m);

/* Whether /tmp is searched (it is unless told otherwise): only for a capture made here. */
void pfs_jitmaps_use_tmp(struct pfs_jitmaps *m, bool use);
/*
 * The path of the file called name (e.g. "jit-1234.dump") in the first directory searched that
 * has one, into path (len bytes); false when none has.
 */
bool pfs_jitmaps_locate(const struct pfs_jitmaps *m, const char *name, char *path, size_t len);

/*
 * The places searched, in order, as one line ("DIR, DIR/maps, /tmp"; /tmp only when searched),
 * into buf (len bytes, NUL-terminated, cut at len).
 */
void pfs_jitmaps_describe(const struct pfs_jitmaps *m, char *buf, size_t len);

/* The map of pid, loaded on first use; NULL when no directory holds perf-PID.map. */
const struct pfs_jitmap *pfs_jitmaps_get(struct pfs_jitmaps *m, uint32_t pid);

/* The name of the region holding addr, or NULL. */
const char *pfs_jitmap_lookup(const struct pfs_jitmap *jm, uint64_t addr);
/* The same, with the region's start and size (either may be NULL). */
const char *pfs_jitmap_find(const struct pfs_jitmap *jm, uint64_t addr, uint64_t *start,
			    uint64_t *size);
/* The file the map was read from. */
const char *pfs_jitmap_path(const struct pfs_jitmap *jm);
/* Number of entries kept. */
size_t pfs_jitmap_size(const struct pfs_jitmap *jm);

/*
 * Parses one map file. Returns 0 and *out (possibly with no entries), PFS_EIO when it cannot
 * be read, PFS_EFORMAT when it is not a regular file, PFS_ELIMIT beyond 1 GiB. Malformed lines
 * go to diag.
 */
int pfs_jitmap_load(struct pfs_jitmap **out, const char *path, struct pfs_diag *diag,
		    struct pfs_err *err) PFS_MUST_CHECK;
void pfs_jitmap_free(struct pfs_jitmap *jm);

#endif
