/*
 * views: the three ways perfsight shows a stack, and what each stack was doing.
 *
 *  - native: every frame as resolved, as perf shows it (Python functions appear where the
 *    CPython -X perf trampoline put them, among the interpreter's own frames);
 *  - mixed:  Python frames with the native code they call, without the interpreter's plumbing:
 *    CPython frames that play no role (not GC, GIL or allocator) are dropped rootward of the
 *    leaf-most Python frame; everything leafward of it is kept, since that is the activity the
 *    sample caught; kernel and non-CPython native frames are always kept;
 *  - python: Python frames only, root to leaf, with the native leaf activity folded into one
 *    labelled pseudo-frame ([gc], [gil wait], [alloc], [native: libfoo.so], [kernel], ...) as
 *    pyclass names it. A stack without Python frames keeps its native frames here.
 *
 * A stack cut short keeps its [truncated] root (profile.h) in every view, so that its first
 * known frame never passes for a real root.
 *
 * A view maps a call path of the profile to another call path of the same profile (created on
 * first use; pseudo-frames have kind PFS_FK_PSEUDO), so every consumer (folded stacks, flame
 * graphs, top functions) works on path ids whatever the view. Results are memoised per path.
 *
 * Ownership: pfs_views_new() borrows the profile, which must outlive it; pfs_views_free().
 * The CPython version (for the role tables) is found from the profile's dso names, or given.
 */
#ifndef PFS_VIEWS_H
#define PFS_VIEWS_H

#include <stdint.h>

#include "profile.h"
#include "pyclass.h"

enum pfs_view {
	PFS_VIEW_NATIVE = 0,
	PFS_VIEW_MIXED = 1,
	PFS_VIEW_PYTHON = 2,
	PFS_VIEW_COUNT = 3,
};

struct pfs_views;

/* ver may be NULL: the version is detected from the dsos of the profile's frames. */
struct pfs_views *pfs_views_new(struct pfs_profile *p, const struct pfs_pyver *ver);
void pfs_views_free(struct pfs_views *v);

/* The CPython version in use (major 0 when none was found). */
const struct pfs_pyver *pfs_views_pyver(const struct pfs_views *v);

/* The path standing for path in view (path itself for native). Returns 0 for the root. */
uint32_t pfs_views_path(struct pfs_views *v, enum pfs_view view, uint32_t path);
/* What the stack ending at path was doing (pyclass's classification, memoised; label_dso is
 * NULL: the label is the python view's leaf). Valid until the next call on v. */
const struct pfs_pystack *pfs_views_stack(struct pfs_views *v, uint32_t path);
/* Parses "native", "mixed" or "python"; returns -1 otherwise. */
int pfs_view_parse(const char *s);
const char *pfs_view_name(enum pfs_view view);

#endif
