/*
 * err: the error record every fallible library function fills.
 *
 * Library functions return 0 (or a count) on success and a negative enum pfs_errcode on
 * failure. When they fail they describe the failure in a caller-owned struct pfs_err passed
 * as the last argument (it may be NULL when the caller does not care). pfs_err_set() returns
 * the negative code so that `return pfs_err_set(err, ...)` reads naturally.
 *
 * Messages follow git: lower case, no full stop, what failed first, then where
 * ("cannot read attr section at offset 0x1a0: truncated (need 136, have 40)").
 * The CLI prefixes the file name; the library puts byte offsets in the message and in off.
 */
#ifndef PFS_ERR_H
#define PFS_ERR_H

#include <stdarg.h>
#include <stdint.h>

enum pfs_errcode {
	PFS_OK = 0,
	PFS_EIO = -1,	  /* the OS refused: open, read, mmap, write */
	PFS_EFORMAT = -2, /* the input is not what it claims to be */
	PFS_EUNSUPP = -3, /* well-formed but beyond what we handle */
	PFS_ELIMIT = -4,  /* a size from the input exceeds a sane bound */
	PFS_EDB = -5,	  /* SQLite said no */
	PFS_EDEP = -6,	  /* another third-party library said no */
	PFS_EUSAGE = -7,  /* the caller asked for something impossible */
};

#define PFS_NO_OFF UINT64_MAX

struct pfs_err {
	int code;      /* the enum pfs_errcode returned */
	int sys_errno; /* errno when code is PFS_EIO, else 0 */
	uint64_t off;  /* byte offset in the input, PFS_NO_OFF when none applies */
	char msg[512];
};

#define PFS_MUST_CHECK __attribute__((warn_unused_result))
#define PFS_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Fills err (if not NULL) and returns code, which must be negative. */
int pfs_err_set(struct pfs_err *err, int code, uint64_t off, const char *fmt, ...) PFS_PRINTF(4, 5);
int pfs_err_setv(struct pfs_err *err, int code, uint64_t off, const char *fmt, va_list ap)
    PFS_PRINTF(4, 0);
/* As pfs_err_set, appending ": strerror(errno)" and keeping errno. */
int pfs_err_sys(struct pfs_err *err, const char *fmt, ...) PFS_PRINTF(2, 3);
/* Clears err to "no error". */
void pfs_err_clear(struct pfs_err *err);
/* Name of a code, for messages ("format error"). */
const char *pfs_err_name(int code);

#endif
