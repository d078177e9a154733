#include "agg.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

struct pfs_agg {
	struct pfs_agg_cell *cells;
	size_t n, cap;
	/*
	 * open addressing: cell index + 1 (0 = empty) and 32 bits of the key's hash, so that a
	 * probe past another key rarely reads its cell (a million cells do not fit a cache)
	 */
	struct aslot {
		uint32_t cell, tag;
	} * slots;
	size_t n_slots;
	uint64_t first, last;
};

static uint64_t key_hash(const struct pfs_agg_cell *c)
{
	uint64_t h = ((uint64_t)c->path << 32 | c->tid) * 0x9e3779b97f4a7c15ull;
	h ^= ((uint64_t)c->event << 40 | (uint64_t)c->comm << 8 | (c->pid & 0xff)) *
	     0xc2b2ae3d27d4eb4full;
	return h ^ (h >> 29);
}

static bool key_eq(const struct pfs_agg_cell *a, const struct pfs_agg_cell *b)
{
	return a->path == b->path && a->tid == b->tid && a->pid == b->pid && a->event == b->event &&
	       a->comm == b->comm;
}

struct pfs_agg *pfs_agg_new(void)
{
	return pfs_xcalloc(1, sizeof(struct pfs_agg));
}

void pfs_agg_free(struct pfs_agg *a)
{
	if (!a)
		return;
	free(a->cells);
	free(a->slots);
	free(a);
}

static void rehash(struct pfs_agg *a)
{
	size_t ns = a->n_slots ? a->n_slots * 2 : 4096;
	struct aslot *s = pfs_xcalloc(ns, sizeof(*s));
	for (size_t i = 0; i < a->n; i++) {
		uint64_t h = key_hash(&a->cells[i]);
		size_t j = h & (ns - 1);
		while (s[j].cell)
			j = (j + 1) & (ns - 1);
		s[j] = (struct aslot){(uint32_t)i + 1, (uint32_t)(h >> 32)};
	}
	free(a->slots);
	a->slots = s;
	a->n_slots = ns;
}

void pfs_agg_put(struct pfs_agg *a, const struct pfs_agg_cell *k)
{
	if ((a->n + 1) * 2 > a->n_slots)
		rehash(a);
	uint64_t h = key_hash(k);
	uint32_t tag = (uint32_t)(h >> 32);
	size_t j = h & (a->n_slots - 1);
	while (a->slots[j].cell) {
		if (a->slots[j].tag == tag) {
			struct pfs_agg_cell *c = &a->cells[a->slots[j].cell - 1];
			if (key_eq(c, k)) {
				c->count += k->count;
				c->period += k->period;
				c->weight += k->weight;
				return;
			}
		}
		j = (j + 1) & (a->n_slots - 1);
	}
	PFS_GROW(a->cells, a->cap, a->n + 1);
	a->cells[a->n] = *k;
	a->slots[j] = (struct aslot){(uint32_t)++a->n, tag};
}

int pfs_agg_add(void *payload, const struct pfs_sample_row *row)
{
	struct pfs_agg *a = payload;
	struct pfs_agg_cell c = {
	    .event = row->event,
	    .pid = row->pid,
	    .tid = row->tid,
	    .comm = row->comm,
	    .path = row->path,
	    .count = 1,
	    .period = row->period,
	    .weight = row->weight,
	};
	if (row->time) {
		if (!a->first || row->time < a->first)
			a->first = row->time;
		if (row->time > a->last)
			a->last = row->time;
	}
	pfs_agg_put(a, &c);
	return 0;
}

void pfs_agg_widen(struct pfs_agg *a, uint64_t first, uint64_t last)
{
	if (first && (!a->first || first < a->first))
		a->first = first;
	if (last > a->last)
		a->last = last;
}

size_t pfs_agg_n(const struct pfs_agg *a)
{
	return a->n;
}

const struct pfs_agg_cell *pfs_agg_cell(const struct pfs_agg *a, size_t i)
{
	return i < a->n ? &a->cells[i] : NULL;
}

uint64_t pfs_agg_first_time(const struct pfs_agg *a)
{
	return a->first;
}

uint64_t pfs_agg_last_time(const struct pfs_agg *a)
{
	return a->last;
}

/* ---- folded output ---- */

struct line {
	size_t off, len; /* in the text buffer */
	uint64_t count;
	double weight;
};

struct fold {
	char *text;
	size_t len, cap;
	struct line *lines;
	size_t n, cap_lines;
	uint32_t *slots;
	size_t n_slots;
	uint32_t *stack;
	size_t cap_stack;
};

static void put_name(struct fold *f, const char *s, size_t n)
{
	PFS_GROW(f->text, f->cap, f->len + n + 1);
	char *d = f->text + f->len;
	memcpy(d, s, n);
	/* names rarely hold line breaks: look for them with memchr, not byte by byte */
	for (char *p = memchr(d, '\n', n); p; p = memchr(p + 1, '\n', n - (size_t)(p + 1 - d)))
		*p = ' ';
	for (char *p = memchr(d, '\r', n); p; p = memchr(p + 1, '\r', n - (size_t)(p + 1 - d)))
		*p = ' ';
	f->len += n;
}

/* Eight bytes a step: whole Python stacks make lines of kilobytes (a byte-wise FNV-1a was a
 * tenth of a DWARF capture's collapse). */
static uint64_t text_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull ^ n;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, s + i, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 29;
	}
	for (; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

/* Counts the line just written at [start, f->len): merges it with an identical earlier one. */
static void commit_line(struct fold *f, size_t start, uint64_t count, double weight)
{
	size_t n = f->len - start, j;
	uint64_t h = text_hash(f->text + start, n);
	if ((f->n + 1) * 4 > f->n_slots * 3) {
		size_t ns = f->n_slots ? f->n_slots * 2 : 4096;
		uint32_t *s = pfs_xcalloc(ns, sizeof(*s));
		for (size_t i = 0; i < f->n; i++) {
			size_t k = text_hash(f->text + f->lines[i].off, f->lines[i].len) & (ns - 1);
			while (s[k])
				k = (k + 1) & (ns - 1);
			s[k] = (uint32_t)i + 1;
		}
		free(f->slots);
		f->slots = s;
		f->n_slots = ns;
	}
	j = h & (f->n_slots - 1);
	while (f->slots[j]) {
		struct line *l = &f->lines[f->slots[j] - 1];
		if (l->len == n && !memcmp(f->text + l->off, f->text + start, n)) {
			l->count += count;
			l->weight += weight;
			f->len = start;
			return;
		}
		j = (j + 1) & (f->n_slots - 1);
	}
	PFS_GROW(f->lines, f->cap_lines, f->n + 1);
	f->lines[f->n].off = start;
	f->lines[f->n].len = n;
	f->lines[f->n].count = count;
	f->lines[f->n].weight = weight;
	f->slots[j] = (uint32_t)++f->n;
}

static int line_cmp(const void *x, const void *y, void *text)
{
	const struct line *a = x, *b = y;
	const char *sort_text = text;
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(sort_text + a->off, sort_text + b->off, n);
	if (c)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

/*
 * The cells a folded listing prints, merged on what the line shows (root name, pid or tid when
 * the root names them, the path in the chosen view) before any text is built: most cells differ
 * only in what the line does not show.
 */
static struct pfs_agg *fold_keys(const struct pfs_agg *a, struct pfs_profile *p,
				 struct pfs_views *v, const struct pfs_fold_opts *o)
{
	struct pfs_agg *m = pfs_agg_new();
	for (size_t i = 0; i < a->n; i++) {
		struct pfs_agg_cell c = a->cells[i];
		if (o->event >= 0 && c.event != (uint32_t)o->event)
			continue;
		if (o->only_pid && c.pid != o->only_pid)
			continue;
		if (v && o->view != PFS_VIEW_NATIVE)
			c.path = pfs_views_path(v, o->view, c.path);
		if (!c.comm)
			c.comm = pfs_profile_thread(p, c.pid, c.tid)->comm;
		c.event = 0;
		if (o->root != PFS_FOLD_TID)
			c.tid = 0;
		if (o->root != PFS_FOLD_PID && o->root != PFS_FOLD_TID)
			c.pid = 0;
		if (o->root == PFS_FOLD_NONE)
			c.comm = 0;
		pfs_agg_put(m, &c);
	}
	return m;
}

int pfs_agg_write_folded(const struct pfs_agg *a, struct pfs_profile *p, struct pfs_views *v,
			 const struct pfs_fold_opts *o, FILE *out, struct pfs_err *err)
{
	struct fold f = {0};
	char num[64];
	int rc = 0;
	struct pfs_agg *keys = fold_keys(a, p, v, o);
	/* never NULL: a line of no frame (a row without a stack, and no root) is text + 0 */
	PFS_GROW(f.text, f.cap, 64);
	for (size_t i = 0; i < keys->n; i++) {
		const struct pfs_agg_cell *c = &keys->cells[i];
		uint32_t comm = c->comm;
		size_t start = f.len, depth = 0;
		if (o->root != PFS_FOLD_NONE) {
			const char *s = comm ? pfs_profile_strget(p, comm, NULL) : "[unknown]";
			put_name(&f, s, strlen(s));
			if (o->root == PFS_FOLD_PID)
				snprintf(num, sizeof(num), "-%u", c->pid);
			else if (o->root == PFS_FOLD_TID)
				snprintf(num, sizeof(num), "-%u/%u", c->pid, c->tid);
			else
				num[0] = 0;
			put_name(&f, num, strlen(num));
		}
		for (uint32_t q = c->path; q; q = pfs_profile_pathget(p, q)->parent) {
			PFS_GROW(f.stack, f.cap_stack, depth + 1);
			f.stack[depth++] = pfs_profile_pathget(p, q)->frame;
		}
		while (depth--) {
			size_t n;
			const char *s = pfs_profile_strget(
			    p, pfs_profile_frameget(p, f.stack[depth])->name, &n);
			if (f.len > start)
				put_name(&f, ";", 1);
			put_name(&f, s, n);
		}
		commit_line(&f, start, o->weight == PFS_FOLD_PERIOD ? c->period : c->count,
			    c->weight);
	}
	pfs_agg_free(keys);
	if (f.n)
		qsort_r(f.lines, f.n, sizeof(*f.lines), line_cmp, f.text);
	for (size_t i = 0; i < f.n; i++) {
		fwrite(f.text + f.lines[i].off, 1, f.lines[i].len, out);
		if (o->weight == PFS_FOLD_SECONDS)
			fprintf(out, " %.6f\n", f.lines[i].weight);
		else
			fprintf(out, " %llu\n", (unsigned long long)f.lines[i].count);
	}
	if (ferror(out))
		rc = pfs_err_sys(err, "cannot write folded stacks");
	free(f.text);
	free(f.lines);
	free(f.slots);
	free(f.stack);
	return rc;
}
