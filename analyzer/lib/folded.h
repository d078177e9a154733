/*
 * folded: reads folded stacks ("root;...;leaf COUNT" per line, as stackcollapse-perf.pl and
 * `perfsight export --format folded` write them) into an aggregated call tree (html.h), the
 * input of the SVG flame graph. Folded text carries no frame kinds, so each frame's kind is
 * guessed from its name through pyclass: "py::func:file" frames are Python (application or
 * library by file), "_[k]" suffixes kernel, CPython's GC and GIL functions and pseudo-frames
 * ([gc], [gil wait]) their own kinds, other CPython functions the interpreter.
 *
 * Ownership: the caller owns the tree (pfs_fg_tree_init before, _release after).
 */
#ifndef PFS_FOLDED_H
#define PFS_FOLDED_H

#include <stddef.h>

#include "diag.h"
#include "err.h"
#include "html.h"

/* The kind folded input implies for a frame name (len bytes). */
enum pfs_fg_kind pfs_folded_kind(const char *name, size_t len);

/*
 * Adds every line of buf (len bytes) to t and fills the totals. A line without a count, with a
 * count that is not a decimal number below 2^63, with a NUL byte, with an empty stack, longer
 * than 1 MiB or deeper than 100,000 frames (pyprof's bounds) is counted as the
 * diagnostic "folded-bad-line" (PFS_ERROR: its samples are lost) with its byte offset; empty
 * lines are ignored. Returns the number of lines added, or PFS_ELIMIT when the total weight
 * would overflow 64 bits (the offset names the line).
 */
long long pfs_folded_read(const char *buf, size_t len, struct pfs_fg_tree *t, struct pfs_diag *d,
			  struct pfs_err *err) PFS_MUST_CHECK;

#endif
