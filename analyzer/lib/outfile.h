/*
 * outfile: outputs written atomically. Data goes to a temporary file beside the destination;
 * pfs_outfile_commit() flushes, fsyncs and renames it into place, so a reader never sees a
 * half-written report and a failed run leaves any earlier file untouched.
 * pfs_outfile_abort() removes the temporary. The path "-" writes to standard output directly,
 * and so does a path that exists and is not a regular file (/dev/null, a FIFO, a terminal):
 * renaming a temporary over it would replace the device with a file.
 *
 * Ownership: the struct is caller-embedded (_open / _commit or _abort).
 */
#ifndef PFS_OUTFILE_H
#define PFS_OUTFILE_H

#include <stdbool.h>
#include <stdio.h>

#include "err.h"

struct pfs_outfile {
	FILE *f;     /* write here */
	char *path;  /* destination */
	char *tmp;   /* temporary beside it, NULL for stdout and devices */
	bool direct; /* f is the destination itself (a device or FIFO), closed at commit */
};

int pfs_outfile_open(struct pfs_outfile *o, const char *path, struct pfs_err *err) PFS_MUST_CHECK;
/* Makes the output visible. Returns 0 or PFS_EIO (and removes the temporary). */
int pfs_outfile_commit(struct pfs_outfile *o, struct pfs_err *err) PFS_MUST_CHECK;
/* Discards the output; safe on a struct never opened (zeroed) or already committed. */
void pfs_outfile_abort(struct pfs_outfile *o);

#endif
