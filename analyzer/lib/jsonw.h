/*
 * jsonw: a small streaming JSON writer for the machine-readable outputs (info --json,
 * summary --json, exports). It tracks nesting to place commas, escapes every string
 * (control characters, quotes, backslash, and <, >, & and U+2028/2029 as \uXXXX so the text can
 * also sit inside an HTML <script> element), and replaces invalid UTF-8 with U+FFFD.
 *
 * Ownership: struct pfs_jsonw is caller-embedded (_init); it borrows the FILE.
 */
#ifndef PFS_JSONW_H
#define PFS_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct pfs_jsonw {
	FILE *f;
	int depth;
	bool need_comma[64];
	bool after_key;
	bool pretty;
};

void pfs_jsonw_init(struct pfs_jsonw *w, FILE *f, bool pretty);
void pfs_jsonw_obj(struct pfs_jsonw *w); /* { */
void pfs_jsonw_end_obj(struct pfs_jsonw *w);
void pfs_jsonw_arr(struct pfs_jsonw *w); /* [ */
void pfs_jsonw_end_arr(struct pfs_jsonw *w);
void pfs_jsonw_key(struct pfs_jsonw *w, const char *k);
void pfs_jsonw_str(struct pfs_jsonw *w, const char *s); /* NULL writes null */
void pfs_jsonw_strn(struct pfs_jsonw *w, const char *s, size_t len);
void pfs_jsonw_u64(struct pfs_jsonw *w, uint64_t v);
void pfs_jsonw_i64(struct pfs_jsonw *w, int64_t v);
void pfs_jsonw_dbl(struct pfs_jsonw *w, double v); /* non-finite writes null */
/* The same with 17 significant digits: the value a reader parses back is v exactly. */
void pfs_jsonw_dbl_exact(struct pfs_jsonw *w, double v);
void pfs_jsonw_bool(struct pfs_jsonw *w, bool v);
void pfs_jsonw_null(struct pfs_jsonw *w);
/* Writes s escaped (without quotes) to f: for callers that build JSON text elsewhere. */
void pfs_json_escape(FILE *f, const char *s, size_t len);

#endif
