/*
 * slurp: whole input files for the commands that take text (report data JSON, folded stacks).
 */
#ifndef PFS_CLI_SLURP_H
#define PFS_CLI_SLURP_H

#include <stddef.h>

#include "err.h"

/* Reads path ("-": standard input) into a malloc'ed, NUL-terminated buffer. Returns 0, PFS_EIO,
 * or PFS_ELIMIT when the file exceeds max bytes. */
int cli_slurp(const char *path, size_t max, char **out, size_t *len, struct pfs_err *err);

#endif
