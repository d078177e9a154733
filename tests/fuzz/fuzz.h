/*
 * fuzz: what the libFuzzer harnesses of tests/fuzz/ share. Each harness is one file defining
 * LLVMFuzzerTestOneInput(); `make fuzz` links it with libFuzzer (clang), `make check` with
 * tests/fuzz/replay.c, which calls it on every file of its corpus and of its regress directory
 * (tests/fuzz/README.md).
 *
 * The readers take paths, so fuzz_file() writes the input to a scratch file first (under
 * /dev/shm when there is one: a tmpfs, so a write costs no disk), and fuzz_use_capture() does
 * with a loaded capture what the commands do: the report data, the folded export of each view
 * and the flame graph's tree read back from it. Everything is freed, so LeakSanitizer sees what
 * a reader leaks.
 */
#ifndef PFS_FUZZ_H
#define PFS_FUZZ_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture.h"
#include "folded.h"
#include "html.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_dir_path[256];

/* Removes the scratch directory and what is in it (at exit). */
static inline void fuzz_dir_remove(void)
{
	DIR *d = opendir(fuzz_dir_path);
	struct dirent *e;
	char path[600];
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", fuzz_dir_path, e->d_name);
			unlink(path);
		}
	if (d)
		closedir(d);
	rmdir(fuzz_dir_path);
}

/* A scratch directory of this process, made on first use, removed at exit. */
static inline const char *fuzz_dir(void)
{
	char *dir = fuzz_dir_path;
	if (!dir[0]) {
		const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
		snprintf(dir, sizeof(fuzz_dir_path), "%s/pfs-fuzz-%ld", base ? base : "/tmp",
			 (long)getpid());
		if (mkdir(dir, 0700) != 0 && access(dir, W_OK) != 0)
			abort();
		atexit(fuzz_dir_remove);
	}
	return dir;
}

/* Writes data to the scratch file name (replacing it) and returns its path (static). */
static inline const char *fuzz_file(const char *name, const uint8_t *data, size_t size)
{
	static char path[512];
	FILE *f;
	snprintf(path, sizeof(path), "%s/%s", fuzz_dir(), name);
	unlink(path);
	if (!(f = fopen(path, "wb")) || (size && fwrite(data, 1, size, f) != size) || fclose(f))
		abort();
	return path;
}

/* The flame graph's reading of folded text: what `perfsight flamegraph` draws. */
static inline void fuzz_fold_read(const char *buf, size_t len)
{
	struct pfs_fg_tree t;
	struct pfs_diag d;
	struct pfs_err err;
	pfs_diag_init(&d);
	pfs_fg_tree_init(&t);
	if (pfs_folded_read(buf, len, &t, &d, &err) < 0)
		pfs_err_clear(&err);
	pfs_fg_tree_release(&t);
	pfs_diag_release(&d);
}

/* What the commands do with a loaded capture: report data, folded export, flame graph tree. */
static inline void fuzz_use_capture(struct pfs_capture *c)
{
	char *json = NULL, *buf = NULL;
	size_t len = 0;
	struct pfs_err err;
	if (c->graph)
		return; /* the call-graph harnesses (fuzz_cg.h) cover what is done with a graph */
	if (!c->agg && !c->report_json)
		return; /* loaded as summary loads a database: nothing more is made of it */
	if (pfs_capture_report_data(c, -1, "fuzz", &json, &len, &err) == 0)
		free(json);
	if (!c->agg)
		return;
	for (int v = 0; v < PFS_VIEW_COUNT; v++) {
		struct pfs_fold_opts fo = {.event = -1, .root = PFS_FOLD_NONE, .view = v};
		FILE *mem = open_memstream(&buf, &len);
		int rc;
		if (!mem)
			abort();
		fo.weight = pfs_capture_default_weight(c);
		if (fo.weight == PFS_FOLD_SECONDS)
			fo.weight = PFS_FOLD_PERIOD;
		rc = pfs_agg_write_folded(c->agg, c->prof, c->views, &fo, mem, &err);
		if (fclose(mem) != 0)
			abort();
		if (rc == 0)
			fuzz_fold_read(buf, len);
		free(buf);
		buf = NULL;
	}
}

/* Loads path as every command does (analysis and timeline on) and uses it. */
static inline void fuzz_capture_path(const char *path, const struct pfs_capture_opts *o)
{
	struct pfs_capture c;
	struct pfs_err err;
	if (pfs_capture_load(&c, path, o, &err) == 0)
		fuzz_use_capture(&c);
	pfs_capture_release(&c);
}

#endif
