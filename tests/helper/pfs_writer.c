/*
 * pfs_writer: see pfs_writer.h. Layouts follow perf's header.c / synthetic-events.c and the
 * kernel's perf_output_sample(); the reader is never consulted, so a shared misreading of the
 * format would have to be made twice, independently, to go unnoticed.
 */
#include "pfs_writer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define NAME_ALIGN 64
#define PIPE_LAST_FEATURE 32 /* perf 6.1's HEADER_LAST_FEATURE: the pipe end marker */
#define BRANCH_HW_INDEX (1ull << 17)
#define BRANCH_COUNTERS (1ull << 19)

struct wbuf {
	uint8_t *p;
	size_t n, cap;
};

struct pfs_w {
	struct pfs_w_opts o;
	const struct pfs_attr *attrs;
	size_t n_attrs;
	const struct pfs_info *info;
	struct wbuf out;  /* pipe: the whole stream; file: the data section */
	struct wbuf rec;  /* the record being built */
	struct wbuf pend; /* kernel records waiting to be compressed */
	struct wbuf *cur; /* where the field writers append */
	ZSTD_CCtx *z;
	bool in_rec;
	bool rec_kernel;
};

static void die(const char *what)
{
	fprintf(stderr, "pfs_writer: %s\n", what);
	abort();
}

static void wb_reserve(struct wbuf *b, size_t more)
{
	if (b->n + more <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->n + more)
		cap *= 2;
	b->p = realloc(b->p, cap);
	if (!b->p)
		die("out of memory");
	b->cap = cap;
}

static void wb_put(struct wbuf *b, const void *p, size_t n)
{
	if (!n)
		return;
	wb_reserve(b, n);
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

static void wb_zero(struct wbuf *b, size_t n)
{
	wb_reserve(b, n);
	memset(b->p + b->n, 0, n);
	b->n += n;
}

static void wb_fill(struct wbuf *b, uint8_t v, size_t n)
{
	wb_reserve(b, n);
	memset(b->p + b->n, v, n);
	b->n += n;
}

static uint8_t revbyte(uint8_t b)
{
	uint8_t r = 0;
	for (int i = 0; i < 8; i++)
		if (b & (1u << i))
			r |= (uint8_t)(0x80u >> i);
	return r;
}

void pfs_w_u8(struct pfs_w *w, uint8_t v)
{
	wb_put(w->cur, &v, 1);
}

void pfs_w_u16(struct pfs_w *w, uint16_t v)
{
	if (w->o.swap)
		v = __builtin_bswap16(v);
	wb_put(w->cur, &v, 2);
}

void pfs_w_u32(struct pfs_w *w, uint32_t v)
{
	if (w->o.swap)
		v = __builtin_bswap32(v);
	wb_put(w->cur, &v, 4);
}

void pfs_w_u64(struct pfs_w *w, uint64_t v)
{
	if (w->o.swap)
		v = __builtin_bswap64(v);
	wb_put(w->cur, &v, 8);
}

void pfs_w_bytes(struct pfs_w *w, const void *p, size_t n)
{
	wb_put(w->cur, p, n);
}

void pfs_w_str(struct pfs_w *w, const char *s)
{
	size_t n = strlen(s) + 1;
	wb_put(w->cur, s, n - 1);
	wb_zero(w->cur, ((n + 7) & ~(size_t)7) - (n - 1));
}

void pfs_w_patch_u64(uint8_t *buf, size_t off, uint64_t v, bool swap)
{
	if (swap)
		v = __builtin_bswap64(v);
	memcpy(buf + off, &v, 8);
}

void pfs_w_patch_u32(uint8_t *buf, size_t off, uint32_t v, bool swap)
{
	if (swap)
		v = __builtin_bswap32(v);
	memcpy(buf + off, &v, 4);
}

/* perf's string encoding in feature sections: u32 len, then len bytes padded to 64 */
static void put_fstr(struct pfs_w *w, const char *s)
{
	size_t n = strlen(s) + 1;
	size_t len = (n + NAME_ALIGN - 1) / NAME_ALIGN * NAME_ALIGN;
	pfs_w_u32(w, (uint32_t)len);
	wb_put(w->cur, s, n - 1);
	wb_zero(w->cur, len - (n - 1));
}

static size_t attr_bytes(const struct pfs_attr *a)
{
	return a->size ? a->size : 64;
}

/* One perf_event_attr of attr_bytes(a) bytes, zero-padded to pad_to. */
static void put_attr(struct pfs_w *w, const struct pfs_attr *a, size_t pad_to)
{
	struct wbuf tmp = {0}, *saved = w->cur;
	size_t sz = attr_bytes(a);
	uint8_t fl[8];
	w->cur = &tmp;
	pfs_w_u32(w, a->type);
	pfs_w_u32(w, a->size);
	pfs_w_u64(w, a->config);
	pfs_w_u64(w, a->sample_period);
	pfs_w_u64(w, a->sample_type);
	pfs_w_u64(w, a->read_format);
	/* a big-endian compiler allocates bitfields from the top bit of each byte */
	for (int i = 0; i < 8; i++)
		fl[i] = w->o.swap ? revbyte((uint8_t)(a->flags >> (8 * i)))
				  : (uint8_t)(a->flags >> (8 * i));
	wb_put(&tmp, fl, 8);
	pfs_w_u32(w, a->wakeup_events);
	pfs_w_u32(w, a->bp_type);
	pfs_w_u64(w, a->config1);
	pfs_w_u64(w, a->config2);
	pfs_w_u64(w, a->branch_sample_type);
	pfs_w_u64(w, a->sample_regs_user);
	pfs_w_u32(w, a->sample_stack_user);
	pfs_w_u32(w, (uint32_t)a->clockid);
	pfs_w_u64(w, a->sample_regs_intr);
	pfs_w_u32(w, a->aux_watermark);
	pfs_w_u16(w, a->sample_max_stack);
	pfs_w_u16(w, 0);
	pfs_w_u32(w, a->aux_sample_size);
	pfs_w_u32(w, 0);
	pfs_w_u64(w, a->sig_data);
	pfs_w_u64(w, a->config3);
	w->cur = saved;
	if (sz <= tmp.n) {
		wb_put(w->cur, tmp.p, sz);
	} else {
		/* a newer ABI than ours: its unknown tail must be ignored, so make it loud */
		wb_put(w->cur, tmp.p, tmp.n);
		wb_fill(w->cur, 0xee, sz - tmp.n);
	}
	if (pad_to > sz)
		wb_zero(w->cur, pad_to - sz);
	free(tmp.p);
}

static size_t max_attr_bytes(const struct pfs_w *w)
{
	size_t m = 64;
	for (size_t i = 0; i < w->n_attrs; i++)
		if (attr_bytes(&w->attrs[i]) > m)
			m = attr_bytes(&w->attrs[i]);
	return m;
}

static bool has_feature(const struct pfs_info *in, unsigned bit)
{
	return in && (in->features[bit / 64] >> (bit % 64) & 1);
}

/* The features written: info's bits, plus COMPRESSED whenever the data is compressed. */
static bool feature_on(const struct pfs_w *w, unsigned bit)
{
	if (bit == 27 && w->o.compressed)
		return true;
	return has_feature(w->info, bit);
}

static void put_build_id(struct pfs_w *w, uint32_t type, const struct pfs_build_id *b)
{
	size_t n = strlen(b->filename) + 1;
	size_t len = (n + NAME_ALIGN - 1) / NAME_ALIGN * NAME_ALIGN;
	uint8_t id[20] = {0};
	memcpy(id, b->id, b->size <= 20 ? b->size : 20);
	pfs_w_u32(w, type);
	pfs_w_u16(w, (uint16_t)(b->cpumode | PFS_MISC_BUILD_ID_SIZE));
	pfs_w_u16(w, (uint16_t)(36 + len));
	pfs_w_u32(w, (uint32_t)b->pid);
	pfs_w_bytes(w, id, 20);
	pfs_w_u8(w, b->size);
	pfs_w_u8(w, 0);
	pfs_w_u16(w, 0);
	wb_put(w->cur, b->filename, n - 1);
	wb_zero(w->cur, len - (n - 1));
}

/* The payload of feature `bit` as perf writes it. */
static void put_feature(struct pfs_w *w, unsigned bit)
{
	const struct pfs_info *in = w->info;
	switch (bit) {
	case 1:
		pfs_w_bytes(w, in->tracing_data, in->tracing_data_len);
		break;
	case 2:
		for (size_t i = 0; i < in->n_build_ids; i++)
			put_build_id(w, 0, &in->build_ids[i]);
		break;
	case 3:
		put_fstr(w, in->hostname);
		break;
	case 4:
		put_fstr(w, in->osrelease);
		break;
	case 5:
		put_fstr(w, in->version);
		break;
	case 6:
		put_fstr(w, in->arch);
		break;
	case 7:
		pfs_w_u32(w, in->nr_cpus_avail);
		pfs_w_u32(w, in->nr_cpus_online);
		break;
	case 8:
		put_fstr(w, in->cpudesc);
		break;
	case 9:
		put_fstr(w, in->cpuid);
		break;
	case 10:
		pfs_w_u64(w, in->total_mem_kb);
		break;
	case 11:
		pfs_w_u32(w, (uint32_t)in->n_cmdline);
		for (size_t i = 0; i < in->n_cmdline; i++)
			put_fstr(w, in->cmdline[i]);
		break;
	case 12: {
		size_t sz = max_attr_bytes(w);
		pfs_w_u32(w, (uint32_t)w->n_attrs);
		pfs_w_u32(w, (uint32_t)sz);
		for (size_t i = 0; i < w->n_attrs; i++) {
			const struct pfs_attr *a = &w->attrs[i];
			put_attr(w, a, sz);
			pfs_w_u32(w, (uint32_t)a->n_ids);
			put_fstr(w, a->name ? a->name : "");
			for (size_t j = 0; j < a->n_ids; j++)
				pfs_w_u64(w, a->ids[j]);
		}
		break;
	}
	case 16:
		pfs_w_u32(w, (uint32_t)in->n_pmus);
		for (size_t i = 0; i < in->n_pmus; i++) {
			pfs_w_u32(w, in->pmus[i].type);
			put_fstr(w, in->pmus[i].name);
		}
		break;
	case 21:
		pfs_w_u64(w, in->first_sample_time);
		pfs_w_u64(w, in->last_sample_time);
		break;
	case 23:
		pfs_w_u64(w, in->clock_resolution_ns);
		break;
	case 27:
		pfs_w_u32(w, 0);
		if (has_feature(in, 27)) {
			pfs_w_u32(w, in->comp_type);
			pfs_w_u32(w, in->comp_level);
			pfs_w_u32(w, in->comp_ratio);
			pfs_w_u32(w, in->comp_mmap_len);
		} else {
			/* what perf record -z writes by default */
			pfs_w_u32(w, 1);
			pfs_w_u32(w, 1);
			pfs_w_u32(w, 3);
			pfs_w_u32(w, 528384);
		}
		break;
	case 29:
		pfs_w_u32(w, 1);
		pfs_w_u32(w, in->clockid);
		pfs_w_u64(w, in->wall_clock_ns);
		pfs_w_u64(w, in->clockid_time_ns);
		break;
	default:
		wb_fill(w->cur, 0xab, 16);
		break;
	}
}

static void emit_raw(struct pfs_w *w, const uint8_t *p, size_t n)
{
	wb_put(&w->out, p, n);
}

/* Compresses n bytes into COMPRESSED records, continuing the one zstd stream. */
static void compress_into_records(struct pfs_w *w, const uint8_t *p, size_t n)
{
	size_t cap = ZSTD_compressBound(n) + 64;
	uint8_t *zb = malloc(cap);
	ZSTD_inBuffer in = {p, n, 0};
	ZSTD_outBuffer out = {zb, cap, 0};
	size_t left;
	uint8_t hdr[8];
	struct wbuf *saved = w->cur;
	struct wbuf h = {hdr, 0, sizeof(hdr)};
	if (!zb)
		die("out of memory");
	do {
		left = ZSTD_compressStream2(w->z, &out, &in, ZSTD_e_flush);
		if (ZSTD_isError(left))
			die(ZSTD_getErrorName(left));
	} while (left || in.pos < in.size);
	if (out.pos + 24 > 65535)
		die("compressed chunk does not fit a record");
	w->cur = &h;
	if (w->o.compressed2) {
		/* u64 data_size, the bytes, zero padding to 8 (perf 6.16+) */
		size_t padded = (out.pos + 7) & ~(size_t)7;
		uint8_t sz[8], zero[8] = {0};
		pfs_w_u32(w, PFS_REC_COMPRESSED2);
		pfs_w_u16(w, 0);
		pfs_w_u16(w, (uint16_t)(16 + padded));
		h.p = sz;
		h.n = 0;
		pfs_w_u64(w, out.pos);
		w->cur = saved;
		emit_raw(w, hdr, 8);
		emit_raw(w, sz, 8);
		emit_raw(w, zb, out.pos);
		emit_raw(w, zero, padded - out.pos);
	} else {
		pfs_w_u32(w, PFS_REC_COMPRESSED);
		pfs_w_u16(w, 0);
		pfs_w_u16(w, (uint16_t)(out.pos + 8));
		w->cur = saved;
		emit_raw(w, hdr, 8);
		emit_raw(w, zb, out.pos);
	}
	free(zb);
}

static size_t chunk_size(const struct pfs_w *w)
{
	return w->o.chunk ? w->o.chunk : 4096;
}

static void flush_pending(struct pfs_w *w, bool all)
{
	size_t c = chunk_size(w), done = 0;
	while (w->pend.n - done >= c || (all && done < w->pend.n)) {
		size_t n = w->pend.n - done < c ? w->pend.n - done : c;
		compress_into_records(w, w->pend.p + done, n);
		done += n;
	}
	if (!done)
		return;
	memmove(w->pend.p, w->pend.p + done, w->pend.n - done);
	w->pend.n -= done;
}

static void emit_record(struct pfs_w *w, const uint8_t *p, size_t n, bool kernel)
{
	if (w->o.compressed && kernel) {
		wb_put(&w->pend, p, n);
		flush_pending(w, false);
		return;
	}
	if (w->o.compressed)
		flush_pending(w, true);
	emit_raw(w, p, n);
}

void pfs_w_begin(struct pfs_w *w, uint32_t type, uint16_t misc)
{
	if (w->in_rec)
		die("record begun inside a record");
	w->in_rec = true;
	w->rec.n = 0;
	w->cur = &w->rec;
	pfs_w_u32(w, type);
	pfs_w_u16(w, misc);
	pfs_w_u16(w, 0);
}

static void put_sample_id(struct pfs_w *w, const struct pfs_attr *a,
			  const struct pfs_sample_id *sid)
{
	static const struct pfs_sample_id zero;
	uint64_t st = a->sample_type;
	if (!sid)
		sid = &zero;
	if (st & PFS_S_TID) {
		pfs_w_u32(w, sid->pid);
		pfs_w_u32(w, sid->tid);
	}
	if (st & PFS_S_TIME)
		pfs_w_u64(w, sid->time);
	if (st & PFS_S_ID)
		pfs_w_u64(w, sid->id);
	if (st & PFS_S_STREAM_ID)
		pfs_w_u64(w, sid->stream_id);
	if (st & PFS_S_CPU) {
		pfs_w_u32(w, sid->cpu);
		pfs_w_u32(w, 0);
	}
	if (st & PFS_S_IDENTIFIER)
		pfs_w_u64(w, sid->id);
}

static const struct pfs_attr *attr_at(const struct pfs_w *w, int attr)
{
	if (attr < 0 || (size_t)attr >= w->n_attrs)
		die("attr index out of range");
	return &w->attrs[attr];
}

static void end_record(struct pfs_w *w, bool kernel, const void *extra, size_t n_extra)
{
	size_t n = w->rec.n;
	if (!w->in_rec)
		die("record ended without a beginning");
	if (n > 65535)
		die("record larger than 65535 bytes");
	w->in_rec = false;
	{
		uint16_t size = (uint16_t)n;
		if (w->o.swap)
			size = __builtin_bswap16(size);
		memcpy(w->rec.p + 6, &size, 2);
	}
	emit_record(w, w->rec.p, n, kernel);
	if (n_extra)
		emit_raw(w, extra, n_extra);
}

void pfs_w_end(struct pfs_w *w, int attr, const struct pfs_sample_id *sid)
{
	if (attr >= 0) {
		const struct pfs_attr *a = attr_at(w, attr);
		uint32_t type;
		memcpy(&type, w->rec.p, 4);
		if (w->o.swap)
			type = __builtin_bswap32(type);
		if (type != PFS_REC_SAMPLE && (a->flags & PFS_ATTR_FLAG(PFS_AF_SAMPLE_ID_ALL)))
			put_sample_id(w, a, sid);
	}
	end_record(w, attr >= 0, NULL, 0);
}

void pfs_w_end_extra(struct pfs_w *w, const void *extra, size_t n)
{
	/* the payload must not be compressed apart from its record: flush first */
	end_record(w, false, extra, n);
}

static void put_read(struct pfs_w *w, uint64_t rf, uint64_t enabled, uint64_t running,
		     const struct pfs_read_value *v, size_t n)
{
	if (rf & PFS_FMT_GROUP) {
		pfs_w_u64(w, n);
		if (rf & PFS_FMT_TOTAL_TIME_ENABLED)
			pfs_w_u64(w, enabled);
		if (rf & PFS_FMT_TOTAL_TIME_RUNNING)
			pfs_w_u64(w, running);
		for (size_t i = 0; i < n; i++) {
			pfs_w_u64(w, v[i].value);
			if (rf & PFS_FMT_ID)
				pfs_w_u64(w, v[i].id);
			if (rf & PFS_FMT_LOST)
				pfs_w_u64(w, v[i].lost);
		}
		return;
	}
	pfs_w_u64(w, n ? v[0].value : 0);
	if (rf & PFS_FMT_TOTAL_TIME_ENABLED)
		pfs_w_u64(w, enabled);
	if (rf & PFS_FMT_TOTAL_TIME_RUNNING)
		pfs_w_u64(w, running);
	if (rf & PFS_FMT_ID)
		pfs_w_u64(w, n ? v[0].id : 0);
	if (rf & PFS_FMT_LOST)
		pfs_w_u64(w, n ? v[0].lost : 0);
}

static void put_regs(struct pfs_w *w, uint64_t abi, uint64_t mask, const uint64_t *regs)
{
	pfs_w_u64(w, abi);
	if (!abi)
		return;
	for (unsigned i = 0; i < pfs_popcount64(mask); i++)
		pfs_w_u64(w, regs ? regs[i] : 0);
}

void pfs_w_sample(struct pfs_w *w, int attr, uint16_t misc, const struct pfs_sample_id *sid,
		  const struct pfs_sample *s)
{
	const struct pfs_attr *a = attr_at(w, attr);
	uint64_t st = a->sample_type;
	static const struct pfs_sample_id zero;
	if (!sid)
		sid = &zero;
	pfs_w_begin(w, PFS_REC_SAMPLE, misc);
	/* perf_output_sample() order: IDENTIFIER first, AUX last */
	if (st & PFS_S_IDENTIFIER)
		pfs_w_u64(w, sid->id);
	if (st & PFS_S_IP)
		pfs_w_u64(w, s->ip);
	if (st & PFS_S_TID) {
		pfs_w_u32(w, sid->pid);
		pfs_w_u32(w, sid->tid);
	}
	if (st & PFS_S_TIME)
		pfs_w_u64(w, sid->time);
	if (st & PFS_S_ADDR)
		pfs_w_u64(w, s->addr);
	if (st & PFS_S_ID)
		pfs_w_u64(w, sid->id);
	if (st & PFS_S_STREAM_ID)
		pfs_w_u64(w, sid->stream_id);
	if (st & PFS_S_CPU) {
		pfs_w_u32(w, sid->cpu);
		pfs_w_u32(w, 0);
	}
	if (st & PFS_S_PERIOD)
		pfs_w_u64(w, s->period);
	if (st & PFS_S_READ)
		put_read(w, a->read_format, s->read_time_enabled, s->read_time_running,
			 s->read_values, s->n_read_values);
	if (st & PFS_S_CALLCHAIN) {
		pfs_w_u64(w, s->n_callchain);
		for (uint64_t i = 0; i < s->n_callchain; i++)
			pfs_w_u64(w, s->callchain[i]);
	}
	if (st & PFS_S_RAW) {
		pfs_w_u32(w, s->raw_size);
		pfs_w_bytes(w, s->raw, s->raw_size);
	}
	if (st & PFS_S_BRANCH_STACK) {
		pfs_w_u64(w, s->n_branches);
		if (a->branch_sample_type & BRANCH_HW_INDEX)
			pfs_w_u64(w, s->branch_hw_idx);
		for (uint64_t i = 0; i < s->n_branches; i++) {
			pfs_w_u64(w, s->branches[i].from);
			pfs_w_u64(w, s->branches[i].to);
			pfs_w_u64(w, s->branches[i].flags);
		}
		if (a->branch_sample_type & BRANCH_COUNTERS)
			for (uint64_t i = 0; i < s->n_branches; i++)
				pfs_w_u64(w, s->branch_counters ? s->branch_counters[i] : 0);
	}
	if (st & PFS_S_REGS_USER)
		put_regs(w, s->regs_user_abi, a->sample_regs_user, s->regs_user);
	if (st & PFS_S_STACK_USER) {
		pfs_w_u64(w, s->stack_user_size);
		if (s->stack_user_size) {
			pfs_w_bytes(w, s->stack_user, s->stack_user_size);
			pfs_w_u64(w, s->stack_user_dyn_size);
		}
	}
	if (st & (PFS_S_WEIGHT | PFS_S_WEIGHT_STRUCT))
		pfs_w_u64(w, s->weight);
	if (st & PFS_S_DATA_SRC)
		pfs_w_u64(w, s->data_src);
	if (st & PFS_S_TRANSACTION)
		pfs_w_u64(w, s->transaction);
	if (st & PFS_S_REGS_INTR)
		put_regs(w, s->regs_intr_abi, a->sample_regs_intr, s->regs_intr);
	if (st & PFS_S_PHYS_ADDR)
		pfs_w_u64(w, s->phys_addr);
	if (st & PFS_S_CGROUP)
		pfs_w_u64(w, s->cgroup);
	if (st & PFS_S_DATA_PAGE_SIZE)
		pfs_w_u64(w, s->data_page_size);
	if (st & PFS_S_CODE_PAGE_SIZE)
		pfs_w_u64(w, s->code_page_size);
	if (st & PFS_S_AUX) {
		pfs_w_u64(w, s->aux_size);
		pfs_w_bytes(w, s->aux, s->aux_size);
	}
	pfs_w_end(w, attr, sid);
}

void pfs_w_mmap(struct pfs_w *w, int attr, uint16_t misc, const struct pfs_sample_id *sid,
		const struct pfs_rec_mmap *m)
{
	pfs_w_begin(w, PFS_REC_MMAP, misc);
	pfs_w_u32(w, m->pid);
	pfs_w_u32(w, m->tid);
	pfs_w_u64(w, m->start);
	pfs_w_u64(w, m->len);
	pfs_w_u64(w, m->pgoff);
	pfs_w_str(w, m->filename);
	pfs_w_end(w, attr, sid);
}

void pfs_w_mmap2(struct pfs_w *w, int attr, uint16_t misc, const struct pfs_sample_id *sid,
		 const struct pfs_rec_mmap *m)
{
	pfs_w_begin(w, PFS_REC_MMAP2, misc);
	pfs_w_u32(w, m->pid);
	pfs_w_u32(w, m->tid);
	pfs_w_u64(w, m->start);
	pfs_w_u64(w, m->len);
	pfs_w_u64(w, m->pgoff);
	if (misc & PFS_MISC_MMAP_BUILD_ID) {
		pfs_w_u8(w, m->build_id_size);
		pfs_w_u8(w, 0);
		pfs_w_u16(w, 0);
		pfs_w_bytes(w, m->build_id, 20);
	} else {
		pfs_w_u32(w, m->maj);
		pfs_w_u32(w, m->min);
		pfs_w_u64(w, m->ino);
		pfs_w_u64(w, m->ino_generation);
	}
	pfs_w_u32(w, m->prot);
	pfs_w_u32(w, m->flags);
	pfs_w_str(w, m->filename);
	pfs_w_end(w, attr, sid);
}

void pfs_w_comm(struct pfs_w *w, int attr, const struct pfs_sample_id *sid,
		const struct pfs_rec_comm *c)
{
	pfs_w_begin(w, PFS_REC_COMM, (uint16_t)(PFS_MISC_USER | (c->exec ? PFS_MISC_COMM_EXEC : 0)));
	pfs_w_u32(w, c->pid);
	pfs_w_u32(w, c->tid);
	pfs_w_str(w, c->comm);
	pfs_w_end(w, attr, sid);
}

void pfs_w_task(struct pfs_w *w, uint32_t type, int attr, const struct pfs_sample_id *sid,
		const struct pfs_rec_task *t)
{
	pfs_w_begin(w, type, 0);
	pfs_w_u32(w, t->pid);
	pfs_w_u32(w, t->ppid);
	pfs_w_u32(w, t->tid);
	pfs_w_u32(w, t->ptid);
	pfs_w_u64(w, t->time);
	pfs_w_end(w, attr, sid);
}

void pfs_w_lost(struct pfs_w *w, int attr, const struct pfs_sample_id *sid, uint64_t id,
		uint64_t lost)
{
	pfs_w_begin(w, PFS_REC_LOST, 0);
	pfs_w_u64(w, id);
	pfs_w_u64(w, lost);
	pfs_w_end(w, attr, sid);
}

void pfs_w_lost_samples(struct pfs_w *w, int attr, const struct pfs_sample_id *sid,
			uint64_t lost)
{
	pfs_w_begin(w, PFS_REC_LOST_SAMPLES, 0);
	pfs_w_u64(w, lost);
	pfs_w_end(w, attr, sid);
}

void pfs_w_switch(struct pfs_w *w, int attr, const struct pfs_sample_id *sid,
		  const struct pfs_rec_switch *s)
{
	uint16_t misc = (uint16_t)((s->out ? PFS_MISC_SWITCH_OUT : 0) |
				   (s->preempt ? PFS_MISC_SWITCH_OUT_PREEMPT : 0));
	pfs_w_begin(w, s->cpu_wide ? PFS_REC_SWITCH_CPU_WIDE : PFS_REC_SWITCH, misc);
	if (s->cpu_wide) {
		pfs_w_u32(w, s->next_prev_pid);
		pfs_w_u32(w, s->next_prev_tid);
	}
	pfs_w_end(w, attr, sid);
}

void pfs_w_throttle(struct pfs_w *w, uint32_t type, int attr, const struct pfs_sample_id *sid,
		    uint64_t time, uint64_t id, uint64_t stream_id)
{
	pfs_w_begin(w, type, 0);
	pfs_w_u64(w, time);
	pfs_w_u64(w, id);
	pfs_w_u64(w, stream_id);
	pfs_w_end(w, attr, sid);
}

void pfs_w_read(struct pfs_w *w, int attr, const struct pfs_sample_id *sid, uint32_t pid,
		uint32_t tid, uint64_t enabled, uint64_t running, const struct pfs_read_value *v,
		size_t n)
{
	pfs_w_begin(w, PFS_REC_READ, 0);
	pfs_w_u32(w, pid);
	pfs_w_u32(w, tid);
	put_read(w, attr_at(w, attr)->read_format, enabled, running, v, n);
	pfs_w_end(w, attr, sid);
}

void pfs_w_finished_round(struct pfs_w *w)
{
	pfs_w_begin(w, PFS_REC_FINISHED_ROUND, 0);
	pfs_w_end(w, -1, NULL);
}

void pfs_w_other_kernel(struct pfs_w *w, uint32_t type, int attr, const struct pfs_sample_id *sid,
			uint64_t seed)
{
	static const uint8_t tag[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	static const uint8_t poke[8] = {0x90, 0x90, 0x90, 0xe8, 1, 2, 3, 4};
	pfs_w_begin(w, type, 0);
	switch (type) {
	case PFS_REC_THROTTLE:
	case PFS_REC_UNTHROTTLE:
		pfs_w_u64(w, seed);
		pfs_w_u64(w, seed + 1);
		pfs_w_u64(w, seed + 2);
		break;
	case PFS_REC_AUX:
		pfs_w_u64(w, seed);
		pfs_w_u64(w, seed + 1);
		pfs_w_u64(w, 1);
		break;
	case PFS_REC_ITRACE_START:
		pfs_w_u32(w, (uint32_t)seed);
		pfs_w_u32(w, (uint32_t)seed + 1);
		break;
	case PFS_REC_NAMESPACES:
		pfs_w_u32(w, (uint32_t)seed);
		pfs_w_u32(w, (uint32_t)seed + 1);
		pfs_w_u64(w, 7);
		for (uint64_t i = 0; i < 7; i++) {
			pfs_w_u64(w, seed + i);
			pfs_w_u64(w, seed + 100 + i);
		}
		break;
	case PFS_REC_KSYMBOL:
		pfs_w_u64(w, seed);
		pfs_w_u32(w, 64);
		pfs_w_u16(w, 1);
		pfs_w_u16(w, 0);
		pfs_w_str(w, "bpf_prog_6deef7357e7b4530");
		break;
	case PFS_REC_BPF_EVENT:
		pfs_w_u16(w, 1);
		pfs_w_u16(w, 0);
		pfs_w_u32(w, (uint32_t)seed);
		pfs_w_bytes(w, tag, 8);
		break;
	case PFS_REC_CGROUP:
		pfs_w_u64(w, seed);
		pfs_w_str(w, "/system.slice/test.service");
		break;
	case PFS_REC_TEXT_POKE:
		pfs_w_u64(w, seed);
		pfs_w_u16(w, 3);
		pfs_w_u16(w, 5);
		pfs_w_bytes(w, poke, 8);
		pfs_w_u32(w, 0);
		break;
	case PFS_REC_AUX_OUTPUT_HW_ID:
		pfs_w_u64(w, seed);
		break;
	case PFS_REC_CALLCHAIN_DEFERRED:
		pfs_w_u64(w, seed);
		pfs_w_u64(w, 2);
		pfs_w_u64(w, 0x401000 + seed);
		pfs_w_u64(w, 0x402000 + seed);
		break;
	default:
		die("pfs_w_other_kernel: not a kernel record kind it writes");
	}
	pfs_w_end(w, attr, sid);
}

void pfs_w_other_tool(struct pfs_w *w, uint32_t type, uint64_t seed)
{
	static const uint8_t payload[16] = "auxtrace-bytes!";
	char comm[16] = "worker";
	switch (type) {
	case PFS_REC_ID_INDEX: {
		uint64_t nr = 0;
		for (size_t i = 0; i < w->n_attrs; i++)
			nr += w->attrs[i].n_ids;
		pfs_w_begin(w, type, 0);
		pfs_w_u64(w, nr);
		for (size_t i = 0; i < w->n_attrs; i++)
			for (size_t j = 0; j < w->attrs[i].n_ids; j++) {
				pfs_w_u64(w, w->attrs[i].ids[j]);
				pfs_w_u64(w, i);
				pfs_w_u64(w, j);
				pfs_w_u64(w, seed);
			}
		break;
	}
	case PFS_REC_THREAD_MAP:
		pfs_w_begin(w, type, 0);
		pfs_w_u64(w, 2);
		pfs_w_u64(w, seed);
		pfs_w_bytes(w, comm, 16);
		pfs_w_u64(w, seed + 1);
		pfs_w_bytes(w, comm, 16);
		break;
	case PFS_REC_CPU_MAP:
		pfs_w_begin(w, type, 0);
		pfs_w_u16(w, 0);
		pfs_w_u16(w, 2);
		pfs_w_u16(w, 0);
		pfs_w_u16(w, 1);
		break;
	case PFS_REC_TIME_CONV:
		pfs_w_begin(w, type, 0);
		pfs_w_u64(w, 31);
		pfs_w_u64(w, 1000 + seed);
		pfs_w_u64(w, seed);
		pfs_w_u64(w, seed);
		pfs_w_u64(w, ~0ull);
		pfs_w_u8(w, 1);
		pfs_w_u8(w, 0);
		pfs_w_bytes(w, "\0\0\0\0\0\0", 6);
		break;
	case PFS_REC_EVENT_UPDATE:
		/* a unit, type 0: it names nothing, so the attr names stay as written */
		pfs_w_begin(w, type, 0);
		pfs_w_u64(w, 0);
		pfs_w_u64(w, w->n_attrs && w->attrs[0].n_ids ? w->attrs[0].ids[0] : seed);
		pfs_w_str(w, "msec");
		break;
	case PFS_REC_FINISHED_INIT:
	case PFS_REC_FINISHED_ROUND:
		pfs_w_begin(w, type, 0);
		break;
	case PFS_REC_HEADER_BUILD_ID: {
		struct pfs_build_id b = {-1, {0}, 20, PFS_MISC_USER, (char *)"/usr/lib/libseed.so"};
		for (int i = 0; i < 20; i++)
			b.id[i] = (uint8_t)(seed + (uint64_t)i);
		w->in_rec = true;
		w->rec.n = 0;
		w->cur = &w->rec;
		put_build_id(w, type, &b);
		pfs_w_end(w, -1, NULL);
		return;
	}
	case PFS_REC_AUXTRACE_INFO:
		pfs_w_begin(w, type, 0);
		pfs_w_u32(w, 1);
		pfs_w_u32(w, 0);
		pfs_w_u64(w, seed);
		pfs_w_u64(w, seed + 1);
		break;
	case PFS_REC_AUXTRACE:
		pfs_w_begin(w, type, 0);
		pfs_w_u64(w, sizeof(payload));
		pfs_w_u64(w, seed);
		pfs_w_u64(w, seed + 1);
		pfs_w_u32(w, 0);
		pfs_w_u32(w, (uint32_t)seed);
		pfs_w_u32(w, 0);
		pfs_w_u32(w, 0);
		pfs_w_end_extra(w, payload, sizeof(payload));
		return;
	case PFS_REC_STAT_ROUND:
		pfs_w_begin(w, type, 0);
		pfs_w_u64(w, 1);
		pfs_w_u64(w, seed);
		break;
	default:
		die("pfs_w_other_tool: not a tool record kind it writes");
	}
	pfs_w_end(w, -1, NULL);
}

void pfs_w_unknown(struct pfs_w *w, uint32_t type, size_t body_len)
{
	pfs_w_begin(w, type, 0);
	wb_fill(w->cur, 0x5a, body_len);
	pfs_w_end(w, -1, NULL);
}

/* Pipe mode: attrs, features, tracing data and build ids as records, as perf writes them. */
static void pipe_preamble(struct pfs_w *w)
{
	const struct pfs_info *in = w->info;
	w->cur = &w->out;
	pfs_w_u64(w, 0x32454c4946524550ull);
	pfs_w_u64(w, 16);
	for (size_t i = 0; i < w->n_attrs; i++) {
		const struct pfs_attr *a = &w->attrs[i];
		pfs_w_begin(w, PFS_REC_HEADER_ATTR, 0);
		put_attr(w, a, 0);
		for (size_t j = 0; j < a->n_ids; j++)
			pfs_w_u64(w, a->ids[j]);
		pfs_w_end(w, -1, NULL);
	}
	for (unsigned bit = 3; bit < 256; bit++) {
		if (!feature_on(w, bit))
			continue;
		pfs_w_begin(w, PFS_REC_HEADER_FEATURE, 0);
		pfs_w_u64(w, bit);
		put_feature(w, bit);
		pfs_w_end(w, -1, NULL);
	}
	pfs_w_begin(w, PFS_REC_HEADER_FEATURE, 0);
	pfs_w_u64(w, PIPE_LAST_FEATURE);
	pfs_w_end(w, -1, NULL);
	if (has_feature(in, 1)) {
		size_t n = in->tracing_data_len, padded = (n + 7) & ~(size_t)7;
		uint8_t *p = calloc(1, padded ? padded : 1);
		if (!p)
			die("out of memory");
		memcpy(p, in->tracing_data, n);
		pfs_w_begin(w, PFS_REC_HEADER_TRACING_DATA, 0);
		pfs_w_u32(w, (uint32_t)padded);
		pfs_w_end_extra(w, p, padded);
		free(p);
	}
	/* perf 6.1 names pipe events by EVENT_UPDATE (type 2, name), not by EVENT_DESC */
	for (size_t i = 0; i < w->n_attrs; i++) {
		const struct pfs_attr *a = &w->attrs[i];
		if (!a->name || !a->n_ids)
			continue;
		pfs_w_begin(w, PFS_REC_EVENT_UPDATE, 0);
		pfs_w_u64(w, 2);
		pfs_w_u64(w, a->ids[0]);
		pfs_w_str(w, a->name);
		pfs_w_end(w, -1, NULL);
	}
	if (has_feature(in, 2))
		for (size_t i = 0; i < in->n_build_ids; i++) {
			w->in_rec = true;
			w->rec.n = 0;
			w->cur = &w->rec;
			put_build_id(w, PFS_REC_HEADER_BUILD_ID, &in->build_ids[i]);
			pfs_w_end(w, -1, NULL);
		}
}

struct pfs_w *pfs_w_new(const struct pfs_w_opts *o, const struct pfs_attr *attrs, size_t n_attrs,
			const struct pfs_info *info)
{
	struct pfs_w *w = calloc(1, sizeof(*w));
	if (!w)
		die("out of memory");
	if (o)
		w->o = *o;
	w->attrs = attrs;
	w->n_attrs = n_attrs;
	w->info = info;
	w->cur = &w->rec;
	if (w->o.compressed) {
		w->z = ZSTD_createCCtx();
		if (!w->z)
			die("ZSTD_createCCtx failed");
		ZSTD_CCtx_setParameter(w->z, ZSTD_c_compressionLevel, 1);
	}
	if (w->o.pipe)
		pipe_preamble(w);
	return w;
}

static void put_u64_at(struct pfs_w *w, struct wbuf *b, size_t off, uint64_t v)
{
	pfs_w_patch_u64(b->p, off, v, w->o.swap);
}

/* File mode: header | id arrays | attrs | data | feature table | feature bodies. */
static void assemble_file(struct pfs_w *w, struct wbuf *f, struct pfs_w_layout *lay)
{
	size_t attr_size = w->o.attr_size ? w->o.attr_size : max_attr_bytes(w) + 16;
	uint64_t *ids_off = calloc(w->n_attrs + 1, sizeof(*ids_off));
	uint64_t bitmap[4] = {0};
	unsigned nfeat = 0;
	size_t table;
	if (!ids_off)
		die("out of memory");
	w->cur = f;
	wb_zero(f, 104);
	for (size_t i = 0; i < w->n_attrs; i++) {
		ids_off[i] = f->n;
		for (size_t j = 0; j < w->attrs[i].n_ids; j++)
			pfs_w_u64(w, w->attrs[i].ids[j]);
	}
	lay->attrs_off = f->n;
	lay->attr_size = attr_size;
	for (size_t i = 0; i < w->n_attrs; i++) {
		put_attr(w, &w->attrs[i], attr_size - 16);
		pfs_w_u64(w, ids_off[i]);
		pfs_w_u64(w, w->attrs[i].n_ids * 8);
	}
	free(ids_off);
	lay->data_off = f->n;
	wb_put(f, w->out.p, w->out.n);
	lay->data_size = w->o.data_size_zero ? 0 : w->out.n;
	table = f->n;
	lay->feat_table_off = table;
	if (!w->o.data_size_zero) {
		for (unsigned bit = 1; bit < 256; bit++)
			if (feature_on(w, bit))
				bitmap[bit / 64] |= 1ull << (bit % 64);
		for (unsigned bit = 0; bit < 256; bit++)
			nfeat += (unsigned)(bitmap[bit / 64] >> (bit % 64) & 1);
		wb_zero(f, 16 * (size_t)nfeat);
		for (unsigned bit = 0, k = 0; bit < 256; bit++) {
			size_t start = f->n;
			if (!(bitmap[bit / 64] >> (bit % 64) & 1))
				continue;
			put_feature(w, bit);
			put_u64_at(w, f, table + 16 * k, start);
			put_u64_at(w, f, table + 16 * k + 8, f->n - start);
			k++;
		}
	}
	lay->n_features = nfeat;
	put_u64_at(w, f, 0, 0x32454c4946524550ull);
	put_u64_at(w, f, 8, 104);
	put_u64_at(w, f, 16, attr_size);
	put_u64_at(w, f, 24, lay->attrs_off);
	put_u64_at(w, f, 32, attr_size * w->n_attrs);
	put_u64_at(w, f, 40, lay->data_off);
	put_u64_at(w, f, 48, lay->data_size);
	for (int i = 0; i < 4; i++)
		put_u64_at(w, f, 72 + 8 * (size_t)i, bitmap[i]);
}

uint8_t *pfs_w_finish(struct pfs_w *w, size_t *len, struct pfs_w_layout *layout)
{
	struct pfs_w_layout lay = {0};
	struct wbuf f = {0};
	uint8_t *ret;
	if (w->in_rec)
		die("finished inside a record");
	if (w->o.compressed)
		flush_pending(w, true);
	if (w->o.pipe) {
		f = w->out;
		w->out.p = NULL;
	} else {
		assemble_file(w, &f, &lay);
	}
	if (layout)
		*layout = lay;
	*len = f.n;
	ret = f.p ? f.p : malloc(1);
	free(w->out.p);
	free(w->rec.p);
	free(w->pend.p);
	ZSTD_freeCCtx(w->z);
	free(w);
	return ret;
}

int pfs_w_finish_file(struct pfs_w *w, const char *path)
{
	size_t len;
	uint8_t *p = pfs_w_finish(w, &len, NULL);
	FILE *f = fopen(path, "wb");
	int rc = 0;
	if (!f || fwrite(p, 1, len, f) != len)
		rc = -1;
	if (f && fclose(f))
		rc = -1;
	free(p);
	return rc;
}
