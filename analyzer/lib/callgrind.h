/*
 * callgrind: reads and writes valgrind's callgrind format (version 1; cachegrind's files are a
 * subset) as a call graph (callgraph.h). `valgrind --tool=callgrind` and `pprofile -f
 * callgrind` write it; callgrind_annotate and KCachegrind read it.
 *
 * Reading: a header of "key: value" lines (events, positions, summary, totals, cmd, creator,
 * pid, part, desc), then body lines: position specifications ob=, fl=, fi=, fe=, fn= (and cob=,
 * cfi=/cfl=, cfn= for call targets) with name compression ("(7) name" defines id 7, "(7)"
 * names it again, one id space for objects, one for files, one for functions); cost lines
 * (subpositions, absolute, "+N", "-N" or "*", then one count per event, missing ones 0);
 * calls= lines, each followed by the cost line of the call: its inclusive cost. jump= and jcnd=
 * lines are read and not kept. A function is (object, file of its fl=, name): fi=/fe= change the
 * file of the cost lines after them (inlined code), not the function. Several parts in one
 * file are summed when their events agree. The file is read through a fixed buffer, one line
 * (at most PFS_CALLGRIND_MAX_LINE bytes) at a time: memory grows with functions and names,
 * never with cost lines. Costs are summed exactly (sums of 2^53 or more are refused).
 *
 * Figures: a function's self cost is the sum of its cost lines; an edge's inclusive cost the
 * sum of its calls' cost lines; a function's inclusive cost is the sum of the calls into it
 * from other functions (a call to itself is inside those already: callgrind_annotate
 * --inclusive=yes adds it again, so a recursive function's figure there can exceed the whole
 * program's), or, for a function nothing else calls, its self cost plus its calls out; its
 * calls are the calls= counts into it (unknown for a function nothing calls), the primitive
 * ones those from other functions.
 *
 * Writing (pfs_callgrind_write): any call graph as one part, positions "line", the function's
 * line; pstats' seconds become integer nanoseconds, so callgrind_annotate and KCachegrind open
 * a cProfile dump.
 *
 * Ownership: the caller owns the profile (functions are interned as its frames) and the graph
 * returned (pfs_cg_free). Nothing is left allocated on error.
 */
#ifndef PFS_CALLGRIND_H
#define PFS_CALLGRIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "callgraph.h"
#include "diag.h"
#include "err.h"
#include "profile.h"

/* A longer line is refused (PFS_ELIMIT): C++ names run to some KB, never to a megabyte. */
#define PFS_CALLGRIND_MAX_LINE ((size_t)1 << 20)

/* Whether the n bytes at head (the start of a file) open a callgrind file: the "# callgrind
 * format" line, or a first line that is one of its header keys. */
bool pfs_callgrind_sniff(const void *head, size_t n);

/*
 * Reads the callgrind file at path into a new graph over prof (*out, finished). Recoverable
 * oddities go to diag: lines of a kind it does not know ("unknown-line", skipped), jumps
 * ("jumps-ignored"), derived events ("derived-event"), totals that do not match the cost lines
 * ("totals-mismatch"), a file of callgrind's without its closing totals: line ("no-totals": cut
 * short). Returns 0; PFS_EIO; PFS_EFORMAT (a line off the grammar: err names the
 * line and its byte offset); PFS_EUNSUPP (parts with different events, a format version
 * above 1); PFS_ELIMIT (a line over PFS_CALLGRIND_MAX_LINE, costs summing to 2^53 or more).
 */
int pfs_callgrind_load(const char *path, struct pfs_profile *prof, struct pfs_callgraph **out,
		       struct pfs_diag *diag, struct pfs_err *err) PFS_MUST_CHECK;
/* The same from len bytes in memory (the fuzz harness). */
int pfs_callgrind_parse(const void *buf, size_t len, struct pfs_profile *prof,
			struct pfs_callgraph **out, struct pfs_diag *diag,
			struct pfs_err *err) PFS_MUST_CHECK;

/* Writes g (finished) as a callgrind file. Returns 0 or PFS_EIO. */
int pfs_callgrind_write(const struct pfs_callgraph *g, FILE *out,
			struct pfs_err *err) PFS_MUST_CHECK;

#endif
