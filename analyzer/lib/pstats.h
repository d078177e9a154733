/*
 * pstats: reads the profile dumps of Python's deterministic profilers into a call graph
 * (callgraph.h): what `python -m cProfile -o FILE`, `cProfile.Profile.dump_stats`,
 * `pstats.Stats.dump_stats` and pyinstrument's pstats renderer write. No Python is run.
 *
 * The file is Python's marshal serialisation of one dict, as written by CPython 3.8 to 3.14
 * (marshal versions 4 and 5; the older versions' types are read too):
 *
 *     {(file, line, name): (cc, nc, tt, ct, {(file, line, name): (nc, cc, tt, ct), ...}), ...}
 *
 * per function its primitive and total calls, its own time (tottime) and its time with callees
 * (cumtime), and per caller the same four figures for the calls from that caller (profile.py,
 * the pure-Python profiler, writes a plain call count there instead). docs/callgraph.md
 * describes the types and how each figure maps.
 *
 * Reading is two steps. The bytes become a table of marshal objects, with back-references
 * (FLAG_REF, TYPE_REF) resolved as CPython resolves them; every count and length is checked
 * against the bytes left before anything is read, so memory stays within a fixed multiple of
 * the file's size whatever a hostile count says (17 bytes per byte of input measured at the
 * worst: 10 MB of empty tuples, 171 MB of RSS). Then the table is
 * read as the dict above: a dict key seen twice keeps its last value, as Python's dict does.
 * All reads go through lib/cursor.h. A file that is not such a dump fails with PFS_EFORMAT and
 * a message naming the byte offset of the object at fault.
 *
 * Ownership: the caller owns the profile (functions are interned as its frames) and the graph
 * returned (pfs_cg_free). Nothing is left allocated on error.
 */
#ifndef PFS_PSTATS_H
#define PFS_PSTATS_H

#include <stdbool.h>
#include <stddef.h>

#include "callgraph.h"
#include "diag.h"
#include "err.h"
#include "profile.h"

/* Files larger than this are refused (PFS_ELIMIT): a 10000-function profile is about 2 MB. */
#define PFS_PSTATS_MAX_SIZE ((size_t)256 << 20)

/* Whether n bytes at head (the start of a file; 2 suffice) open a pstats dump: a marshal
 * dict, empty or keyed by a tuple. JSON and the other inputs never start so. */
bool pfs_pstats_sniff(const void *head, size_t n);

/*
 * Reads len bytes of a pstats dump into a new graph over prof (*out, finished). Recoverable
 * oddities go to diag: strings that are not UTF-8 ("invalid-utf8"), a dict key given twice
 * ("duplicate-key"), bytes after the dict ("trailing-bytes"), call counts not recorded
 * ("calls-unknown"). Returns 0; PFS_EFORMAT (not marshal, or not the dict above: err names the
 * offset); PFS_ELIMIT (nesting deeper than a dump has, an integer beyond 64 bits, a file over
 * PFS_PSTATS_MAX_SIZE).
 */
int pfs_pstats_parse(const void *buf, size_t len, struct pfs_profile *prof,
		     struct pfs_callgraph **out, struct pfs_diag *diag,
		     struct pfs_err *err) PFS_MUST_CHECK;
/* The same from the file at path (PFS_EIO when it cannot be read). */
int pfs_pstats_load(const char *path, struct pfs_profile *prof, struct pfs_callgraph **out,
		    struct pfs_diag *diag, struct pfs_err *err) PFS_MUST_CHECK;

#endif
