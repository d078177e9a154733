/*
 * diag: counted diagnostics for recoverable bad input.
 *
 * Whatever a stage drops or guesses (a truncated record, an unknown feature, a frame it cannot
 * name) is reported here instead of being skipped silently. Each diagnostic has a stable code
 * (a short kebab-case string literal such as "truncated-record"), a severity, a count, the byte
 * offset of its first occurrence and the message of its first occurrence. The CLI prints them,
 * the store keeps them, the report shows them.
 *
 * Ownership: a struct pfs_diag is embedded by its owner (_init/_release). Codes must be string
 * literals (they are compared by pointer first, then by content, and never copied).
 */
#ifndef PFS_DIAG_H
#define PFS_DIAG_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "jsonw.h"

enum pfs_severity {
	PFS_NOTE = 0,	/* worth knowing, results are exact */
	PFS_WARN = 1,	/* results may be less complete than the user expects */
	PFS_ERROR = 2,	/* data was dropped */
	PFS_UNSUPP = 3, /* input uses something we do not handle; it was skipped */
};

struct pfs_diag_entry {
	const char *code;
	enum pfs_severity sev;
	uint64_t count;
	uint64_t first_off; /* PFS_NO_OFF when not tied to an input offset */
	char msg[512];	    /* message of the first occurrence */
};

struct pfs_diag {
	struct pfs_diag_entry *v;
	size_t n, cap;
};

void pfs_diag_init(struct pfs_diag *d);
void pfs_diag_release(struct pfs_diag *d);

/* Counts one occurrence of code; the message is kept only for the first one. */
void pfs_diag_add(struct pfs_diag *d, enum pfs_severity sev, const char *code, uint64_t off,
		  const char *fmt, ...) PFS_PRINTF(5, 6);
/* Counts n occurrences at once (n may be 0: nothing happens). */
void pfs_diag_addn(struct pfs_diag *d, enum pfs_severity sev, const char *code, uint64_t n,
		   uint64_t off, const char *fmt, ...) PFS_PRINTF(6, 7);
/* Count recorded for code, 0 if none. */
uint64_t pfs_diag_count(const struct pfs_diag *d, const char *code);
/* Worst severity present, -1 when empty. */
int pfs_diag_worst(const struct pfs_diag *d);
/* Adds every entry of src into dst (counts summed, first message kept). */
void pfs_diag_merge(struct pfs_diag *dst, const struct pfs_diag *src);
const char *pfs_severity_name(enum pfs_severity s);
/*
 * Adds the one "lost-samples" diagnostic (an error: perf dropped data while recording) for lost
 * samples (0: nothing), first seen at off. Every reader of a capture (a perf.data file, a
 * database holding one) gives it this way, so info, summary, import and the report say the same.
 */
void pfs_diag_lost(struct pfs_diag *d, uint64_t lost, uint64_t off);
/* Writes d (may be NULL: none) as a JSON array of {"code", "severity", "count",
 * "first_offset" (null when none), "message"}, the shape every JSON output of perfsight uses. */
void pfs_diag_write_json(const struct pfs_diag *d, struct pfs_jsonw *w);

#endif
