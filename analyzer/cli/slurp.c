/*
 * slurp: read a whole file, with a size cap.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slurp.h"
#include "xalloc.h"

int cli_slurp(const char *path, size_t max, char **out, size_t *len, struct pfs_err *err)
{
	int is_stdin = !strcmp(path, "-");
	FILE *f = is_stdin ? stdin : fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	if (!f)
		return pfs_err_sys(err, "cannot open %s", path);
	for (;;) {
		PFS_GROW(buf, cap, n + 65537);
		size_t got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (n > max) {
			rc = pfs_err_set(err, PFS_ELIMIT, PFS_NO_OFF, "%s is larger than %zu bytes",
					 path, max);
			break;
		}
		if (!got) {
			if (ferror(f))
				rc = pfs_err_sys(err, "cannot read %s", path);
			break;
		}
	}
	if (!is_stdin)
		fclose(f);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}
