#include "jsonw.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

void pfs_jsonw_init(struct pfs_jsonw *w, FILE *f, bool pretty)
{
	memset(w, 0, sizeof(*w));
	w->f = f;
	w->pretty = pretty;
}

static void indent(struct pfs_jsonw *w)
{
	if (!w->pretty)
		return;
	fputc('\n', w->f);
	for (int i = 0; i < w->depth; i++)
		fputs("  ", w->f);
}

/* Separator and indentation before a value or a key. */
static void before(struct pfs_jsonw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->need_comma[w->depth])
		fputc(',', w->f);
	if (w->depth)
		indent(w);
	w->need_comma[w->depth] = true;
}

static void open_(struct pfs_jsonw *w, char c)
{
	before(w);
	fputc(c, w->f);
	if (w->depth < 63)
		w->depth++;
	w->need_comma[w->depth] = false;
}

static void close_(struct pfs_jsonw *w, char c)
{
	bool had = w->need_comma[w->depth];
	if (w->depth)
		w->depth--;
	if (had)
		indent(w);
	fputc(c, w->f);
	if (!w->depth && w->pretty)
		fputc('\n', w->f);
}

void pfs_jsonw_obj(struct pfs_jsonw *w)
{
	open_(w, '{');
}

void pfs_jsonw_end_obj(struct pfs_jsonw *w)
{
	close_(w, '}');
}

void pfs_jsonw_arr(struct pfs_jsonw *w)
{
	open_(w, '[');
}

void pfs_jsonw_end_arr(struct pfs_jsonw *w)
{
	close_(w, ']');
}

void pfs_jsonw_key(struct pfs_jsonw *w, const char *k)
{
	before(w);
	fputc('"', w->f);
	pfs_json_escape(w->f, k, strlen(k));
	fputs(w->pretty ? "\": " : "\":", w->f);
	w->after_key = true;
}

/* Length of a valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;
	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void pfs_json_escape(FILE *f, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < n) {
		unsigned char c = s[i];
		size_t l;
		switch (c) {
		case '"':
			fputs("\\\"", f);
			i++;
			continue;
		case '\\':
			fputs("\\\\", f);
			i++;
			continue;
		case '\n':
			fputs("\\n", f);
			i++;
			continue;
		case '\t':
			fputs("\\t", f);
			i++;
			continue;
		case '<':
		case '>':
		case '&':
			fprintf(f, "\\u%04x", c);
			i++;
			continue;
		default:
			break;
		}
		if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u%04x", c);
			i++;
			continue;
		}
		l = utf8_len(s + i, n - i);
		if (!l) {
			fputs("\\ufffd", f);
			i++;
			continue;
		}
		if (l == 3 && s[i] == 0xe2 && s[i + 1] == 0x80 &&
		    (s[i + 2] == 0xa8 || s[i + 2] == 0xa9)) {
			fprintf(f, "\\u%04x", s[i + 2] == 0xa8 ? 0x2028 : 0x2029);
			i += 3;
			continue;
		}
		fwrite(s + i, 1, l, f);
		i += l;
	}
}

void pfs_jsonw_strn(struct pfs_jsonw *w, const char *s, size_t len)
{
	before(w);
	fputc('"', w->f);
	pfs_json_escape(w->f, s, len);
	fputc('"', w->f);
}

void pfs_jsonw_str(struct pfs_jsonw *w, const char *s)
{
	if (!s) {
		pfs_jsonw_null(w);
		return;
	}
	pfs_jsonw_strn(w, s, strlen(s));
}

void pfs_jsonw_u64(struct pfs_jsonw *w, uint64_t v)
{
	before(w);
	fprintf(w->f, "%" PRIu64, v);
}

void pfs_jsonw_i64(struct pfs_jsonw *w, int64_t v)
{
	before(w);
	fprintf(w->f, "%" PRId64, v);
}

void pfs_jsonw_dbl(struct pfs_jsonw *w, double v)
{
	before(w);
	if (!isfinite(v))
		fputs("null", w->f);
	else
		fprintf(w->f, "%.12g", v);
}

void pfs_jsonw_dbl_exact(struct pfs_jsonw *w, double v)
{
	before(w);
	if (!isfinite(v))
		fputs("null", w->f);
	else
		fprintf(w->f, "%.17g", v);
}

void pfs_jsonw_bool(struct pfs_jsonw *w, bool v)
{
	before(w);
	fputs(v ? "true" : "false", w->f);
}

void pfs_jsonw_null(struct pfs_jsonw *w)
{
	before(w);
	fputs("null", w->f);
}
