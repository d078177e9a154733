/*
 * tpblob: builds tracing-data blobs and sched_switch RAW payloads the way perf and the kernel
 * write them, for the tests of tpevent and analysis.
 */
#ifndef PFS_TPBLOB_H
#define PFS_TPBLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *p;
	size_t n, cap;
	bool big;
};

/* Formats: sched_switch (ID 372, a 6.x kernel's), a uprobe take_gil (2001), a __data_loc (3000). */
extern const char t_switch_fmt[], t_probe_fmt[], t_dyn_fmt[];

void t_put(struct buf *b, const void *p, size_t n);
void t_put_int(struct buf *b, uint64_t v, size_t size);
void t_put_text(struct buf *b, const char *s);
/* A blob with the n formats under system sys, in the byte order big says. */
struct buf t_make_blob(bool big, const char *sys, const char *const *fmts, size_t n);
/* The RAW payload of a sched_switch (format ID 372). */
struct buf t_switch_raw(bool big, const char *prev, uint32_t prev_pid, uint64_t state,
			const char *next, uint32_t next_pid);

#endif
