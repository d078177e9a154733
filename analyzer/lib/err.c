#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int pfs_err_setv(struct pfs_err *err, int code, uint64_t off, const char *fmt, va_list ap)
{
	if (err) {
		err->code = code;
		err->sys_errno = 0;
		err->off = off;
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	}
	return code;
}

int pfs_err_set(struct pfs_err *err, int code, uint64_t off, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pfs_err_setv(err, code, off, fmt, ap);
	va_end(ap);
	return code;
}

int pfs_err_sys(struct pfs_err *err, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	pfs_err_setv(err, PFS_EIO, PFS_NO_OFF, fmt, ap);
	va_end(ap);
	if (err) {
		size_t n = strlen(err->msg);
		snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(saved));
		err->sys_errno = saved;
	}
	return PFS_EIO;
}

void pfs_err_clear(struct pfs_err *err)
{
	if (err) {
		err->code = 0;
		err->sys_errno = 0;
		err->off = PFS_NO_OFF;
		err->msg[0] = 0;
	}
}

const char *pfs_err_name(int code)
{
	switch (code) {
	case PFS_OK:
		return "ok";
	case PFS_EIO:
		return "i/o error";
	case PFS_EFORMAT:
		return "format error";
	case PFS_EUNSUPP:
		return "unsupported";
	case PFS_ELIMIT:
		return "limit exceeded";
	case PFS_EDB:
		return "database error";
	case PFS_EDEP:
		return "library error";
	case PFS_EUSAGE:
		return "usage error";
	}
	return "unknown error";
}
