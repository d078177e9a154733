/*
 * fuzz_jitmap: a perf-PID.map as JITs write it (jitmap.h), loaded and looked up at the
 * addresses its own lines name and around them.
 */
#include <inttypes.h>

#include "fuzz.h"
#include "jitmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pfs_jitmap *jm = NULL;
	struct pfs_diag d;
	struct pfs_err err;
	pfs_diag_init(&d);
	if (pfs_jitmap_load(&jm, fuzz_file("perf-1.map", data, size), &d, &err) == 0) {
		/* every address a line starts with, its neighbours, and the edges */
		const char *p = (const char *)data, *end = p + size;
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
			char head[32];
			uint64_t start, len;
			/* the input is not NUL-terminated: its start address copied out first */
			memcpy(head, p, ll < sizeof(head) - 1 ? ll : sizeof(head) - 1);
			head[ll < sizeof(head) - 1 ? ll : sizeof(head) - 1] = '\0';
			uint64_t a = strtoull(head, NULL, 16);
			(void)pfs_jitmap_lookup(jm, a);
			(void)pfs_jitmap_lookup(jm, a - 1);
			(void)pfs_jitmap_find(jm, a + 1, &start, &len);
			p = nl ? nl + 1 : end;
		}
		(void)pfs_jitmap_lookup(jm, 0);
		(void)pfs_jitmap_lookup(jm, UINT64_MAX);
		(void)pfs_jitmap_size(jm);
	}
	pfs_jitmap_free(jm);
	pfs_diag_release(&d);
	return 0;
}
