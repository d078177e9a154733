/*
 * outfile: atomic replacement of regular files, and direct writes to what is not one (a
 * device or FIFO must stay what it is: `-o /dev/null` once replaced the device with a file).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "outfile.h"

static void test_regular_file_replaced_on_commit(void)
{
	char path[600], buf[64];
	struct pfs_outfile o;
	struct pfs_err err;
	snprintf(path, sizeof(path), "%s/outfile.txt", t_tmpdir());
	FILE *f = fopen(path, "w");
	T_ASSERT(f != NULL);
	fputs("old\n", f);
	fclose(f);
	T_EQ(pfs_outfile_open(&o, path, &err), 0);
	fputs("new\n", o.f);
	/* until the commit the earlier file is what readers see */
	f = fopen(path, "r");
	T_ASSERT(f && fgets(buf, sizeof(buf), f));
	fclose(f);
	T_STREQ(buf, "old\n");
	T_EQ(pfs_outfile_commit(&o, &err), 0);
	f = fopen(path, "r");
	T_ASSERT(f && fgets(buf, sizeof(buf), f));
	fclose(f);
	T_STREQ(buf, "new\n");
	unlink(path);
}

static void test_fifo_written_in_place(void)
{
	char path[600], buf[64];
	struct pfs_outfile o;
	struct pfs_err err;
	struct stat st;
	snprintf(path, sizeof(path), "%s/outfile.fifo", t_tmpdir());
	unlink(path);
	T_EQ(mkfifo(path, 0600), 0);
	/* a reader end held open here, so that opening for writing does not block */
	int rd = open(path, O_RDWR | O_NONBLOCK);
	T_ASSERT(rd >= 0);
	T_EQ(pfs_outfile_open(&o, path, &err), 0);
	fputs("stacks 1\n", o.f);
	T_EQ(pfs_outfile_commit(&o, &err), 0);
	ssize_t n = read(rd, buf, sizeof(buf) - 1);
	T_EQ(n, 9);
	buf[n > 0 ? n : 0] = 0;
	T_STREQ(buf, "stacks 1\n");
	T_EQ(stat(path, &st), 0);
	T_ASSERT(S_ISFIFO(st.st_mode));
	/* an aborted write leaves the FIFO too */
	T_EQ(pfs_outfile_open(&o, path, &err), 0);
	pfs_outfile_abort(&o);
	T_EQ(stat(path, &st), 0);
	T_ASSERT(S_ISFIFO(st.st_mode));
	close(rd);
	unlink(path);
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
	    T_CASE(regular_file_replaced_on_commit),
	    T_CASE(fifo_written_in_place),
	};
	return t_main(argc, argv, "outfile", cases, sizeof(cases) / sizeof(cases[0]));
}
