#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "xalloc.h"

int pfs_outfile_open(struct pfs_outfile *o, const char *path, struct pfs_err *err)
{
	int fd;
	memset(o, 0, sizeof(*o));
	if (!strcmp(path, "-")) {
		o->f = stdout;
		o->path = pfs_xstrdup(path);
		return 0;
	}
	o->path = pfs_xstrdup(path);
	struct stat st;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		o->f = fopen(path, "w");
		if (!o->f) {
			int rc = pfs_err_sys(err, "cannot open %s", path);
			free(o->path);
			memset(o, 0, sizeof(*o));
			return rc;
		}
		o->direct = true;
		return 0;
	}
	o->tmp = pfs_xmalloc(strlen(path) + 16);
	sprintf(o->tmp, "%s.tmp.XXXXXX", path);
	fd = mkstemp(o->tmp);
	if (fd < 0) {
		int rc = pfs_err_sys(err, "cannot create %s", path);
		free(o->tmp);
		free(o->path);
		memset(o, 0, sizeof(*o));
		return rc;
	}
	fchmod(fd, 0644);
	o->f = fdopen(fd, "w");
	if (!o->f) {
		int rc = pfs_err_sys(err, "cannot open %s", o->tmp);
		close(fd);
		unlink(o->tmp);
		free(o->tmp);
		free(o->path);
		memset(o, 0, sizeof(*o));
		return rc;
	}
	return 0;
}

int pfs_outfile_commit(struct pfs_outfile *o, struct pfs_err *err)
{
	int rc = 0;
	if (!o->f)
		return pfs_err_set(err, PFS_EUSAGE, PFS_NO_OFF, "output not open");
	if (!o->tmp) {
		if (fflush(o->f) || ferror(o->f))
			rc = pfs_err_sys(err, "cannot write %s",
					 o->direct ? o->path : "standard output");
		if (o->direct && fclose(o->f) && !rc)
			rc = pfs_err_sys(err, "cannot write %s", o->path);
		o->f = NULL;
		o->direct = false;
		free(o->path);
		o->path = NULL;
		return rc;
	}
	if (fflush(o->f) || ferror(o->f) || fsync(fileno(o->f)))
		rc = pfs_err_sys(err, "cannot write %s", o->path);
	if (fclose(o->f) && !rc)
		rc = pfs_err_sys(err, "cannot write %s", o->path);
	o->f = NULL;
	if (!rc && rename(o->tmp, o->path))
		rc = pfs_err_sys(err, "cannot rename %s to %s", o->tmp, o->path);
	if (rc)
		unlink(o->tmp);
	free(o->tmp);
	free(o->path);
	o->tmp = o->path = NULL;
	return rc;
}

void pfs_outfile_abort(struct pfs_outfile *o)
{
	if (o->f && (o->tmp || o->direct))
		fclose(o->f);
	if (o->tmp)
		unlink(o->tmp);
	free(o->tmp);
	free(o->path);
	memset(o, 0, sizeof(*o));
}
