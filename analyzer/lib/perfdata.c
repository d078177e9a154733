/*
 * perfdata: the perf.data reader. See perfdata.h for the reading model and its invariants;
 * section numbers (§) refer to perf's perf.data-file-format.txt as summarised in docs/.
 *
 * Design notes
 *
 * Bytes come from one of two sources: a mapping of the whole file (the normal case: records
 * are walked in place, nothing is copied unless it must outlive the mapping's window) or a
 * forward-only stream (standard input in pipe mode), which keeps a window of bytes from the
 * current record on and compacts it as reading advances.
 *
 * The record pipeline has three stages:
 *
 *   raw_next()      next record in file order: from the decompressed buffer when it holds a
 *                   complete record, else from the source; counts it; absorbs the records that
 *                   describe the capture (attrs, features, event names, id index, tracing data)
 *   queue (heap)    kernel records with a time wait here until FINISHED_ROUND releases them
 *   decode()        fills struct pfs_record for the caller: attr attribution, sample_id,
 *                   and the body of the record kinds a report needs
 *
 * Why time order works in bounded memory: perf writes FINISHED_ROUND after each pass over all
 * ring buffers, and no record written after that round is older than the newest record seen at
 * the round before it (perf's ordered-events two-round rule). Records that violate it are still
 * delivered, and counted as out of order.
 */
#include "perfdata.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cursor.h"
#include "xalloc.h"
#include "zst.h"

#define MAGIC_LE 0x32454c4946524550ull /* "PERFILE2" read on a little-endian host */
#define MAGIC_BE 0x50455246494c4532ull
#define FILE_HEADER_SIZE 104
#define PIPE_HEADER_SIZE 16
#define ATTR_VER0 64
#define MAX_ATTRS 4096
#define MAX_IDS (1u << 22)
#define MAX_FEATURE_SIZE (256u << 20)
#define MAX_STRINGS 65536
/* how far reading runs ahead before consumed pages of the mapping are handed back */
#define RELEASE_STEP (4u << 20)

enum {
	FEAT_TRACING_DATA = 1,
	FEAT_BUILD_ID,
	FEAT_HOSTNAME,
	FEAT_OSRELEASE,
	FEAT_VERSION,
	FEAT_ARCH,
	FEAT_NRCPUS,
	FEAT_CPUDESC,
	FEAT_CPUID,
	FEAT_TOTAL_MEM,
	FEAT_CMDLINE,
	FEAT_EVENT_DESC,
	FEAT_CPU_TOPOLOGY,
	FEAT_NUMA_TOPOLOGY,
	FEAT_BRANCH_STACK,
	FEAT_PMU_MAPPINGS,
	FEAT_GROUP_DESC,
	FEAT_AUXTRACE,
	FEAT_STAT,
	FEAT_CACHE,
	FEAT_SAMPLE_TIME,
	FEAT_MEM_TOPOLOGY,
	FEAT_CLOCKID,
	FEAT_DIR_FORMAT,
	FEAT_BPF_PROG_INFO,
	FEAT_BPF_BTF,
	FEAT_COMPRESSED,
	FEAT_CPU_PMU_CAPS,
	FEAT_CLOCK_DATA,
	FEAT_HYBRID_TOPOLOGY,
	FEAT_PMU_CAPS,
	FEAT_CPU_DOMAIN_INFO,
	FEAT_E_MACHINE,
	FEAT_CLN_SIZE,
	FEAT_KNOWN_MAX
};

/* A record on its way out: where its bytes are and whether the reader owns a copy. */
struct qrec {
	uint64_t time;
	uint64_t seq;
	const uint8_t *p; /* header + body */
	const uint8_t *extra;
	size_t extra_len;
	uint64_t off;
	bool compressed;
	bool owned; /* p (and extra) were copied and must be freed */
};

struct idmap {
	uint64_t *keys;
	uint32_t *vals; /* attr index + 1; 0 = empty */
	size_t cap, n;
};

struct pfs_reader {
	struct pfs_reader_opts opts;
	const char *path;

	/* source */
	const uint8_t *map; /* whole file (mapping or caller buffer); NULL when streaming */
	size_t map_len;
	bool unmap;
	uint64_t released;   /* mapped bytes [0, released) were handed back to the page cache */
	uint64_t release_at; /* reading position of the last look for what can be released */
	int fd;		     /* stream fd, -1 when mapped */
	uint8_t *win;	     /* stream window holding [win_off, win_off + win_len) */
	size_t win_len, win_cap;
	uint64_t win_off;
	bool eof;

	uint64_t pos; /* next record offset */
	uint64_t end; /* end of data (UINT64_MAX: to EOF of the stream) */
	bool swap;

	struct pfs_info info;
	size_t cap_build_ids, cap_pmus;
	struct pfs_stats stats;
	struct pfs_diag diag;
	struct pfs_attr **attrs;
	size_t n_attrs, cap_attrs;
	struct idmap ids;
	bool saw_attr_record;

	/* decompression */
	struct pfs_zst_stream *zs;
	uint8_t *dbuf;
	size_t dlen, dpos, dcap;
	uint64_t doff; /* offset of the compressed record the buffered bytes came from */
	/* the compressed chunk being inflated (a copy: at most one record, < 64 KiB), what of
	 * it is consumed, and what it has given so far */
	uint8_t *zin;
	size_t zin_len, zin_pos, zin_cap;
	uint64_t zout;
	bool zfull; /* the last step filled its output: zstd may hold more of what it read */

	/* ordering */
	struct qrec *heap;
	size_t n_heap, cap_heap;
	uint64_t seq;
	uint64_t flush_limit; /* records with time <= this may go */
	uint64_t next_flush;  /* newest time seen at the last FINISHED_ROUND */
	uint64_t max_time;    /* newest time seen so far */
	uint64_t last_out_time;
	bool flushing_all; /* at the end: release everything */
	bool ended;	   /* the end was reached and its diagnostics given */
	uint64_t lost_off; /* offset of the first LOST or LOST_SAMPLES record, 0 none */
	struct qrec cur;   /* the record last handed out (freed on the next call) */

	/* decode scratch */
	uint64_t *u64s;
	size_t cap_u64s;
	struct pfs_read_value *rv;
	size_t cap_rv;
	struct pfs_branch_entry *br;
	size_t cap_br;
	uint8_t *copybuf; /* records copied out of a stream window for direct delivery */
	size_t cap_copybuf;
};

/* ---- small helpers ---- */

static struct pfs_cursor cur_at(const struct pfs_reader *r, const void *p, size_t len)
{
	return pfs_cursor_make(p, len, r->swap);
}

/*
 * The id map's slot for key. Ids come from the file, so the hash is seeded per process (the
 * address of a static, which ASLR moves, and the time): with a fixed multiplier a file could
 * pick ids that all land in one cluster and make every insert and lookup walk it (F6 of the
 * fuzz findings: 160k ids, 7.5 s). murmur3's finalizer spreads the seeded key.
 */
static size_t idmap_slot(uint64_t key, size_t cap)
{
	static uint64_t seed;
	if (!seed) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		seed = ((uint64_t)(uintptr_t)&seed ^ (uint64_t)ts.tv_nsec ^
			(uint64_t)ts.tv_sec << 32) |
		       1;
	}
	key ^= seed;
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdull;
	key ^= key >> 33;
	key *= 0xc4ceb9fe1a85ec53ull;
	key ^= key >> 33;
	return (size_t)key & (cap - 1);
}

static void idmap_put(struct idmap *m, uint64_t key, uint32_t val)
{
	size_t j;
	if ((m->n + 1) * 2 > m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 64;
		uint64_t *k = pfs_xcalloc(ncap, sizeof(*k));
		uint32_t *v = pfs_xcalloc(ncap, sizeof(*v));
		for (size_t i = 0; i < m->cap; i++) {
			if (!m->vals[i])
				continue;
			j = idmap_slot(m->keys[i], ncap);
			while (v[j])
				j = (j + 1) & (ncap - 1);
			k[j] = m->keys[i];
			v[j] = m->vals[i];
		}
		free(m->keys);
		free(m->vals);
		m->keys = k;
		m->vals = v;
		m->cap = ncap;
	}
	j = idmap_slot(key, m->cap);
	while (m->vals[j]) {
		if (m->keys[j] == key) {
			m->vals[j] = val;
			return;
		}
		j = (j + 1) & (m->cap - 1);
	}
	m->keys[j] = key;
	m->vals[j] = val;
	m->n++;
}

static uint32_t idmap_get(const struct idmap *m, uint64_t key)
{
	size_t j;
	if (!m->cap)
		return 0;
	j = idmap_slot(key, m->cap);
	while (m->vals[j]) {
		if (m->keys[j] == key)
			return m->vals[j];
		j = (j + 1) & (m->cap - 1);
	}
	return 0;
}

/* ---- names ---- */

static const char *const kernel_names[PFS_REC_KERNEL_MAX] = {
    [PFS_REC_MMAP] = "MMAP",
    [PFS_REC_LOST] = "LOST",
    [PFS_REC_COMM] = "COMM",
    [PFS_REC_EXIT] = "EXIT",
    [PFS_REC_THROTTLE] = "THROTTLE",
    [PFS_REC_UNTHROTTLE] = "UNTHROTTLE",
    [PFS_REC_FORK] = "FORK",
    [PFS_REC_READ] = "READ",
    [PFS_REC_SAMPLE] = "SAMPLE",
    [PFS_REC_MMAP2] = "MMAP2",
    [PFS_REC_AUX] = "AUX",
    [PFS_REC_ITRACE_START] = "ITRACE_START",
    [PFS_REC_LOST_SAMPLES] = "LOST_SAMPLES",
    [PFS_REC_SWITCH] = "SWITCH",
    [PFS_REC_SWITCH_CPU_WIDE] = "SWITCH_CPU_WIDE",
    [PFS_REC_NAMESPACES] = "NAMESPACES",
    [PFS_REC_KSYMBOL] = "KSYMBOL",
    [PFS_REC_BPF_EVENT] = "BPF_EVENT",
    [PFS_REC_CGROUP] = "CGROUP",
    [PFS_REC_TEXT_POKE] = "TEXT_POKE",
    [PFS_REC_AUX_OUTPUT_HW_ID] = "AUX_OUTPUT_HW_ID",
    [PFS_REC_CALLCHAIN_DEFERRED] = "CALLCHAIN_DEFERRED",
};

static const char *const user_names[PFS_REC_MAX - 64] = {
    "ATTR",	      "EVENT_TYPE",    "TRACING_DATA",	   "BUILD_ID",
    "FINISHED_ROUND", "ID_INDEX",      "AUXTRACE_INFO",	   "AUXTRACE",
    "AUXTRACE_ERROR", "THREAD_MAP",    "CPU_MAP",	   "STAT_CONFIG",
    "STAT",	      "STAT_ROUND",    "EVENT_UPDATE",	   "TIME_CONV",
    "FEATURE",	      "COMPRESSED",    "FINISHED_INIT",	   "COMPRESSED2",
    "BPF_METADATA",   "SCHEDSTAT_CPU", "SCHEDSTAT_DOMAIN",
};

const char *pfs_record_type_name(uint32_t type)
{
	if (type < PFS_REC_KERNEL_MAX)
		return kernel_names[type];
	if (type >= 64 && type < PFS_REC_MAX)
		return user_names[type - 64];
	return NULL;
}

static const char *const feature_names[FEAT_KNOWN_MAX] = {
    "reserved",	       "tracing_data", "build_id",	  "hostname",	  "osrelease",
    "version",	       "arch",	       "nrcpus",	  "cpudesc",	  "cpuid",
    "total_mem",       "cmdline",      "event_desc",	  "cpu_topology", "numa_topology",
    "branch_stack",    "pmu_mappings", "group_desc",	  "auxtrace",	  "stat",
    "cache",	       "sample_time",  "mem_topology",	  "clockid",	  "dir_format",
    "bpf_prog_info",   "bpf_btf",      "compressed",	  "cpu_pmu_caps", "clock_data",
    "hybrid_topology", "pmu_caps",     "cpu_domain_info", "e_machine",	  "cln_size",
};

const char *pfs_feature_name(unsigned bit)
{
	return bit < FEAT_KNOWN_MAX ? feature_names[bit] : NULL;
}

const char *pfs_attr_default_name(const struct pfs_attr *a, char *buf, size_t len)
{
	static const char *const hw[] = {"cycles",
					 "instructions",
					 "cache-references",
					 "cache-misses",
					 "branch-instructions",
					 "branch-misses",
					 "bus-cycles",
					 "stalled-cycles-frontend",
					 "stalled-cycles-backend",
					 "ref-cycles"};
	static const char *const sw[] = {
	    "cpu-clock",	"task-clock",	"page-faults",	"context-switches",
	    "cpu-migrations",	"minor-faults", "major-faults", "alignment-faults",
	    "emulation-faults", "dummy",	"bpf-output",	"cgroup-switches"};
	if (a->type == 0 && (a->config & 0xffffffffu) < sizeof(hw) / sizeof(hw[0]))
		snprintf(buf, len, "%s", hw[a->config & 0xffffffffu]);
	else if (a->type == 1 && a->config < sizeof(sw) / sizeof(sw[0]))
		snprintf(buf, len, "%s", sw[a->config]);
	else if (a->type == 2)
		snprintf(buf, len, "tracepoint:%llu", (unsigned long long)a->config);
	else
		snprintf(buf, len, "type%u:0x%llx", a->type, (unsigned long long)a->config);
	return buf;
}

/* ---- attrs ---- */

static unsigned char revbyte(unsigned char b)
{
	b = (unsigned char)((b & 0xf0) >> 4 | (b & 0x0f) << 4);
	b = (unsigned char)((b & 0xcc) >> 2 | (b & 0x33) << 2);
	b = (unsigned char)((b & 0xaa) >> 1 | (b & 0x55) << 1);
	return b;
}

static size_t trailer_len(uint64_t st)
{
	return 8 *
	       (size_t)(!!(st & PFS_S_TID) + !!(st & PFS_S_TIME) + !!(st & PFS_S_ID) +
			!!(st & PFS_S_STREAM_ID) + !!(st & PFS_S_CPU) + !!(st & PFS_S_IDENTIFIER));
}

/*
 * Decodes one perf_event_attr of `avail` bytes at c. Fields past attr.size read as 0; a size
 * past what we know is accepted (newer ABI) and its tail ignored.
 */
static int parse_attr(struct pfs_reader *r, const uint8_t *p, size_t avail, uint64_t off,
		      struct pfs_attr *a, struct pfs_err *err)
{
	struct pfs_cursor c = cur_at(r, p, avail);
	uint8_t flags[8];
	const uint8_t *fp;
	size_t sz;
	memset(a, 0, sizeof(*a));
	a->type = pfs_cursor_u32(&c);
	a->size = pfs_cursor_u32(&c);
	if (c.bad)
		return pfs_err_set(err, PFS_EFORMAT, off,
				   "cannot read attr: truncated (need 8, have %zu)", avail);
	sz = a->size ? a->size : ATTR_VER0;
	if (sz < ATTR_VER0)
		return pfs_err_set(err, PFS_EFORMAT, off + 4,
				   "attr size %u is below the smallest ABI (64)", a->size);
	if (sz > avail)
		return pfs_err_set(err, PFS_EFORMAT, off + 4,
				   "attr size %zu exceeds its %zu bytes of room", sz, avail);
	c = cur_at(r, p + 8, sz - 8);
	a->config = pfs_cursor_u64(&c);
	a->sample_period = pfs_cursor_u64(&c);
	a->sample_type = pfs_cursor_u64(&c);
	a->read_format = pfs_cursor_u64(&c);
	fp = pfs_cursor_bytes(&c, 8);
	memcpy(flags, fp, 8);
	if (r->info.big_endian)
		for (int i = 0; i < 8; i++)
			flags[i] = revbyte(flags[i]);
	for (int i = 0; i < 8; i++)
		a->flags |= (uint64_t)flags[i] << (8 * i);
	a->wakeup_events = pfs_cursor_u32(&c);
	a->bp_type = pfs_cursor_u32(&c);
	a->config1 = pfs_cursor_u64(&c);
	if (pfs_cursor_left(&c) >= 8)
		a->config2 = pfs_cursor_u64(&c);
	if (pfs_cursor_left(&c) >= 8)
		a->branch_sample_type = pfs_cursor_u64(&c);
	if (pfs_cursor_left(&c) >= 16) {
		a->sample_regs_user = pfs_cursor_u64(&c);
		a->sample_stack_user = pfs_cursor_u32(&c);
		a->clockid = (int32_t)pfs_cursor_u32(&c);
	}
	if (pfs_cursor_left(&c) >= 8)
		a->sample_regs_intr = pfs_cursor_u64(&c);
	if (pfs_cursor_left(&c) >= 8) {
		a->aux_watermark = pfs_cursor_u32(&c);
		a->sample_max_stack = pfs_cursor_u16(&c);
		pfs_cursor_u16(&c);
	}
	if (pfs_cursor_left(&c) >= 8) {
		a->aux_sample_size = pfs_cursor_u32(&c);
		pfs_cursor_u32(&c);
	}
	if (pfs_cursor_left(&c) >= 8)
		a->sig_data = pfs_cursor_u64(&c);
	if (pfs_cursor_left(&c) >= 8)
		a->config3 = pfs_cursor_u64(&c);
	a->trailer_len =
	    (a->flags & PFS_ATTR_FLAG(PFS_AF_SAMPLE_ID_ALL)) ? trailer_len(a->sample_type) : 0;
	return 0;
}

static struct pfs_attr *add_attr(struct pfs_reader *r, const struct pfs_attr *a)
{
	struct pfs_attr *n = pfs_xmalloc(sizeof(*n));
	*n = *a;
	PFS_GROW(r->attrs, r->cap_attrs, r->n_attrs + 1);
	r->attrs[r->n_attrs++] = n;
	return n;
}

static void attr_set_ids(struct pfs_reader *r, struct pfs_attr *a, size_t idx, const uint8_t *p,
			 size_t n)
{
	free(a->ids);
	a->ids = pfs_xcalloc(n ? n : 1, sizeof(uint64_t));
	a->n_ids = n;
	for (size_t i = 0; i < n; i++) {
		a->ids[i] = pfs_load_u64(p + 8 * i, r->swap);
		idmap_put(&r->ids, a->ids[i], (uint32_t)idx + 1);
	}
}

static void attr_set_name(struct pfs_attr *a, const char *s, size_t len)
{
	free(a->name);
	a->name = pfs_xstrndup(s, strnlen(s, len));
}

/* ---- source access ---- */

/* A stream window grows by at most this much before the bytes it waits for have come. */
#define WIN_STEP ((size_t)1 << 20)

/*
 * Makes the n bytes at off addressable and returns them, or NULL when fewer exist (then
 * *have gets how many do). Stream mode can only move forward: off must not precede the window.
 */
static const uint8_t *src_get(struct pfs_reader *r, uint64_t off, size_t n, size_t *have,
			      struct pfs_err *err, int *rc)
{
	*rc = 0;
	if (r->map) {
		if (off > r->map_len) {
			*have = 0;
			return NULL;
		}
		*have = r->map_len - off;
		if (*have < n)
			return NULL;
		return r->map + off;
	}
	if (off < r->win_off) {
		*rc = pfs_err_set(err, PFS_EUSAGE, off, "stream read behind its window");
		*have = 0;
		return NULL;
	}
	if (off - r->win_off > r->win_len) {
		/* skip forward: drop the window and discard bytes up to off */
		uint64_t skip = off - r->win_off - r->win_len;
		r->win_off += r->win_len;
		r->win_len = 0;
		while (skip && !r->eof) {
			uint8_t tmp[65536];
			ssize_t k = read(r->fd, tmp, skip < sizeof(tmp) ? skip : sizeof(tmp));
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0) {
				*rc = pfs_err_sys(err, "cannot read %s", r->path);
				*have = 0;
				return NULL;
			}
			if (k == 0)
				r->eof = true;
			skip -= (uint64_t)k;
			r->win_off += (uint64_t)k;
		}
		if (skip) {
			*have = 0;
			return NULL;
		}
	}
	/* drop what precedes off, keep the rest */
	if (off > r->win_off) {
		size_t drop = (size_t)(off - r->win_off);
		memmove(r->win, r->win + drop, r->win_len - drop);
		r->win_len -= drop;
		r->win_off = off;
	}
	while (r->win_len < n && !r->eof) {
		ssize_t k;
		/* grown with the bytes that arrive, not to the size a record claims: a stream
		 * that ends early costs what it sent */
		size_t want = n - r->win_len > WIN_STEP ? r->win_len + WIN_STEP : n;
		PFS_GROW(r->win, r->win_cap, want > 65536 ? want : 65536);
		k = read(r->fd, r->win + r->win_len, r->win_cap - r->win_len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			*rc = pfs_err_sys(err, "cannot read %s", r->path);
			*have = 0;
			return NULL;
		}
		if (k == 0)
			r->eof = true;
		r->win_len += (size_t)k;
	}
	*have = r->win_len;
	return r->win_len >= n ? r->win : NULL;
}

/*
 * Moves the source to off without keeping what lies before it: true when the source holds
 * off (a stream discards the bytes as it reads them), false when it ends first.
 */
static bool src_skip(struct pfs_reader *r, uint64_t off, struct pfs_err *err, int *rc)
{
	size_t have;
	*rc = 0;
	if (r->map)
		return off <= r->map_len;
	(void)src_get(r, off, 0, &have, err, rc);
	return !*rc && r->win_off == off;
}

/*
 * Hands the pages of the mapping that no record still needs back to the page cache, so that
 * resident memory follows the two-round queue and not the file size. What remains referenced
 * is the data from the oldest queued record on (copies are not in the mapping); the bytes stay
 * readable afterwards (a private read-only file mapping faults them back in), so a pointer that
 * outlives this only costs a re-read.
 */
static void release_consumed(struct pfs_reader *r)
{
	uint64_t floor = r->pos, page = (uint64_t)sysconf(_SC_PAGESIZE);
	r->release_at = r->pos;
	for (size_t i = 0; i < r->n_heap; i++)
		if (!r->heap[i].owned && !r->heap[i].compressed && r->heap[i].off < floor)
			floor = r->heap[i].off;
	if (!r->cur.owned && r->cur.p && !r->cur.compressed && r->cur.off < floor)
		floor = r->cur.off;
	floor &= ~(page - 1);
	if (floor > r->map_len)
		floor = r->map_len & ~(page - 1);
	if (floor <= r->released)
		return;
	madvise((void *)(r->map + r->released), (size_t)(floor - r->released), MADV_DONTNEED);
	r->released = floor;
}

/* ---- features (§1.3, §1.4): shared by file mode sections and pipe HEADER_FEATURE ---- */

static char *read_string(struct pfs_cursor *c)
{
	uint32_t len = pfs_cursor_u32(c);
	const uint8_t *s;
	if (c->bad || len > pfs_cursor_left(c)) {
		c->bad = true;
		return NULL;
	}
	s = pfs_cursor_bytes(c, len);
	return pfs_xstrndup((const char *)s, strnlen((const char *)s, len));
}

static void set_string(char **dst, char *s)
{
	if (!s)
		return;
	free(*dst);
	*dst = s;
}

static void feature_bad(struct pfs_reader *r, unsigned bit, uint64_t off)
{
	const char *n = pfs_feature_name(bit);
	pfs_diag_add(&r->diag, PFS_WARN, "bad-feature", off,
		     "feature section %s (bit %u) is malformed; ignored", n ? n : "?", bit);
}

static void parse_build_ids(struct pfs_reader *r, const uint8_t *p, size_t len, uint64_t off)
{
	struct pfs_cursor c = cur_at(r, p, len);
	while (pfs_cursor_left(&c) >= 8) {
		const uint8_t *rec = c.p;
		struct pfs_cursor h;
		struct pfs_build_id b;
		uint16_t misc, size;
		const uint8_t *id, *name;
		pfs_cursor_u32(&c);
		misc = pfs_cursor_u16(&c);
		size = pfs_cursor_u16(&c);
		if (size < 36 || (size_t)size > pfs_cursor_left(&c) + 8) {
			feature_bad(r, FEAT_BUILD_ID, off + (uint64_t)(rec - p));
			return;
		}
		h = cur_at(r, rec + 8, size - 8u);
		memset(&b, 0, sizeof(b));
		b.pid = (int32_t)pfs_cursor_u32(&h);
		id = pfs_cursor_bytes(&h, 24);
		name = h.p;
		memcpy(b.id, id, 20);
		if (misc & PFS_MISC_BUILD_ID_SIZE) {
			b.size = id[20] <= 20 ? id[20] : 20;
		} else {
			b.size = 20;
			while (b.size >= 4 && !memcmp(b.id + b.size - 4, "\0\0\0\0", 4))
				b.size -= 4;
		}
		b.cpumode = misc & PFS_MISC_CPUMODE_MASK;
		b.filename = pfs_xstrndup((const char *)name,
					  strnlen((const char *)name, pfs_cursor_left(&h)));
		PFS_GROW(r->info.build_ids, r->cap_build_ids, r->info.n_build_ids + 1);
		r->info.build_ids[r->info.n_build_ids++] = b;
		pfs_cursor_skip(&c, size - 8u);
	}
}

static void parse_event_desc(struct pfs_reader *r, const uint8_t *p, size_t len, uint64_t off)
{
	struct pfs_cursor c = cur_at(r, p, len);
	uint32_t nr = pfs_cursor_u32(&c), sz = pfs_cursor_u32(&c);
	if (c.bad || sz < ATTR_VER0 || nr > MAX_ATTRS) {
		feature_bad(r, FEAT_EVENT_DESC, off);
		return;
	}
	for (uint32_t i = 0; i < nr; i++) {
		struct pfs_attr a;
		struct pfs_attr *target = NULL;
		const uint8_t *ap = pfs_cursor_bytes(&c, sz);
		uint32_t nids;
		char *name;
		const uint8_t *ids;
		if (!ap || parse_attr(r, ap, sz, off, &a, NULL)) {
			feature_bad(r, FEAT_EVENT_DESC, off);
			return;
		}
		nids = pfs_cursor_u32(&c);
		name = read_string(&c);
		if (c.bad || nids > pfs_cursor_left(&c) / 8) {
			free(name);
			feature_bad(r, FEAT_EVENT_DESC, off);
			return;
		}
		ids = pfs_cursor_bytes(&c, (size_t)nids * 8);
		for (uint32_t k = 0; k < nids && !target; k++) {
			uint32_t idx = idmap_get(&r->ids, pfs_load_u64(ids + 8 * k, r->swap));
			if (idx)
				target = r->attrs[idx - 1];
		}
		if (!target && i < r->n_attrs && r->attrs[i]->config == a.config &&
		    r->attrs[i]->type == a.type)
			target = r->attrs[i];
		if (target && name)
			attr_set_name(target, name, strlen(name));
		free(name);
	}
}

static void parse_feature(struct pfs_reader *r, unsigned bit, const uint8_t *p, size_t len,
			  uint64_t off)
{
	struct pfs_cursor c = cur_at(r, p, len);
	struct pfs_info *in = &r->info;
	in->features[bit / 64] |= 1ull << (bit % 64);
	switch (bit) {
	case FEAT_TRACING_DATA:
		free((void *)in->tracing_data);
		in->tracing_data = pfs_xmalloc(len ? len : 1);
		memcpy((void *)in->tracing_data, p, len);
		in->tracing_data_len = len;
		return;
	case FEAT_BUILD_ID:
		parse_build_ids(r, p, len, off);
		return;
	case FEAT_HOSTNAME:
		set_string(&in->hostname, read_string(&c));
		break;
	case FEAT_OSRELEASE:
		set_string(&in->osrelease, read_string(&c));
		break;
	case FEAT_VERSION:
		set_string(&in->version, read_string(&c));
		break;
	case FEAT_ARCH:
		set_string(&in->arch, read_string(&c));
		break;
	case FEAT_CPUDESC:
		set_string(&in->cpudesc, read_string(&c));
		break;
	case FEAT_CPUID:
		set_string(&in->cpuid, read_string(&c));
		break;
	case FEAT_NRCPUS:
		in->nr_cpus_avail = pfs_cursor_u32(&c);
		in->nr_cpus_online = pfs_cursor_u32(&c);
		break;
	case FEAT_TOTAL_MEM:
		in->total_mem_kb = pfs_cursor_u64(&c);
		break;
	case FEAT_CMDLINE: {
		uint32_t nr = pfs_cursor_u32(&c);
		if (c.bad || nr > MAX_STRINGS || nr > pfs_cursor_left(&c) / 4) {
			c.bad = true;
			break;
		}
		for (size_t i = 0; i < in->n_cmdline; i++)
			free(in->cmdline[i]);
		free(in->cmdline);
		in->cmdline = pfs_xcalloc(nr ? nr : 1, sizeof(char *));
		in->n_cmdline = 0;
		for (uint32_t i = 0; i < nr && !c.bad; i++) {
			char *s = read_string(&c);
			if (s)
				in->cmdline[in->n_cmdline++] = s;
		}
		break;
	}
	case FEAT_EVENT_DESC:
		parse_event_desc(r, p, len, off);
		return;
	case FEAT_PMU_MAPPINGS: {
		uint32_t nr = pfs_cursor_u32(&c);
		if (c.bad || nr > MAX_STRINGS || nr > pfs_cursor_left(&c) / 8) {
			c.bad = true;
			break;
		}
		for (uint32_t i = 0; i < nr && !c.bad; i++) {
			uint32_t type = pfs_cursor_u32(&c);
			char *s = read_string(&c);
			if (!s)
				break;
			PFS_GROW(in->pmus, r->cap_pmus, in->n_pmus + 1);
			in->pmus[in->n_pmus].type = type;
			in->pmus[in->n_pmus++].name = s;
		}
		break;
	}
	case FEAT_SAMPLE_TIME:
		in->first_sample_time = pfs_cursor_u64(&c);
		in->last_sample_time = pfs_cursor_u64(&c);
		in->has_sample_time = !c.bad;
		break;
	case FEAT_CLOCKID:
		in->clock_resolution_ns = pfs_cursor_u64(&c);
		break;
	case FEAT_CLOCK_DATA:
		pfs_cursor_u32(&c); /* version */
		in->clockid = pfs_cursor_u32(&c);
		in->wall_clock_ns = pfs_cursor_u64(&c);
		in->clockid_time_ns = pfs_cursor_u64(&c);
		in->has_clock_data = !c.bad;
		break;
	case FEAT_COMPRESSED:
		pfs_cursor_u32(&c); /* version */
		in->comp_type = pfs_cursor_u32(&c);
		in->comp_level = pfs_cursor_u32(&c);
		in->comp_ratio = pfs_cursor_u32(&c);
		in->comp_mmap_len = pfs_cursor_u32(&c);
		in->compressed = !c.bad;
		break;
	default:
		/* known sections a report does not need, and unknown ones: skipped by size */
		if (bit >= FEAT_KNOWN_MAX)
			pfs_diag_add(&r->diag, PFS_NOTE, "unknown-feature", off,
				     "feature bit %u is unknown; its %zu bytes were skipped", bit,
				     len);
		return;
	}
	if (c.bad)
		feature_bad(r, bit, off);
}

/* ---- open ---- */

static int read_file_header(struct pfs_reader *r, struct pfs_err *err)
{
	size_t have;
	int rc;
	const uint8_t *h = src_get(r, 0, 16, &have, err, &rc);
	uint64_t magic, hsize;
	struct pfs_cursor c;
	if (rc)
		return rc;
	if (!h)
		return pfs_err_set(
		    err, PFS_EFORMAT, 0,
		    "not a perf.data file: %zu bytes, too short for a header (need 16)", have);
	memcpy(&magic, h, 8);
	if (magic == MAGIC_LE)
		r->swap = false;
	else if (magic == MAGIC_BE)
		r->swap = true;
	else if (!memcmp(h, "PERFFILE", 8))
		return pfs_err_set(err, PFS_EUNSUPP, 0,
				   "perf.data version 1 (magic PERFFILE) is not supported");
	else
		return pfs_err_set(err, PFS_EFORMAT, 0,
				   "not a perf.data file: bad magic (expected PERFILE2)");
	/* the magic's byte order is the file's: "PERFILE2" as bytes means little-endian */
	r->info.big_endian = memcmp(h, "PERFILE2", 8) != 0;
	r->info.swapped = r->swap;
	c = cur_at(r, h + 8, 8);
	hsize = pfs_cursor_u64(&c);
	if (hsize == PIPE_HEADER_SIZE) {
		r->info.pipe = true;
		r->pos = PIPE_HEADER_SIZE;
		r->end = UINT64_MAX;
		return 0;
	}
	if (hsize != FILE_HEADER_SIZE && hsize != 72)
		return pfs_err_set(err, PFS_EFORMAT, 8,
				   "header size %llu is neither 104 (file) nor 16 (pipe)",
				   (unsigned long long)hsize);
	if (!r->map) {
		/* file mode needs random access: keep the whole stream in memory */
		while (!r->eof) {
			src_get(r, 0, r->win_len + (1u << 20), &have, err, &rc);
			if (rc)
				return rc;
		}
		r->map = r->win;
		r->map_len = r->win_len;
		r->info.file_size = r->win_len;
	}
	return 0;
}

static int read_attrs_section(struct pfs_reader *r, uint64_t attr_size, uint64_t a_off,
			      uint64_t a_size, struct pfs_err *err)
{
	uint64_t nr, n_ids = 0;
	if (attr_size < ATTR_VER0 + 16 || attr_size > 4096)
		return pfs_err_set(err, PFS_EFORMAT, 16,
				   "attr_size %llu is impossible (expected 80..4096)",
				   (unsigned long long)attr_size);
	if (a_off > r->map_len || a_size > r->map_len - a_off)
		return pfs_err_set(err, PFS_EFORMAT, 24,
				   "attrs section [0x%llx, +%llu) lies past the end of the file "
				   "(%zu bytes)",
				   (unsigned long long)a_off, (unsigned long long)a_size,
				   r->map_len);
	nr = a_size / attr_size;
	if (nr == 0)
		return pfs_err_set(err, PFS_EFORMAT, 32, "attrs section holds no event");
	if (nr > MAX_ATTRS)
		return pfs_err_set(err, PFS_ELIMIT, 32,
				   "attrs section holds %llu events (limit %u)",
				   (unsigned long long)nr, MAX_ATTRS);
	if (a_size % attr_size)
		pfs_diag_add(&r->diag, PFS_WARN, "attr-section-size", 32,
			     "attrs section size %llu is not a multiple of attr_size %llu",
			     (unsigned long long)a_size, (unsigned long long)attr_size);
	for (uint64_t i = 0; i < nr; i++) {
		uint64_t off = a_off + i * attr_size;
		const uint8_t *p = r->map + off;
		struct pfs_attr a;
		struct pfs_cursor c;
		uint64_t ids_off, ids_size;
		int rc = parse_attr(r, p, attr_size - 16, off, &a, err);
		if (rc)
			return rc;
		c = cur_at(r, p + attr_size - 16, 16);
		ids_off = pfs_cursor_u64(&c);
		ids_size = pfs_cursor_u64(&c);
		add_attr(r, &a);
		if (ids_off > r->map_len || ids_size > r->map_len - ids_off ||
		    ids_size / 8 > MAX_IDS) {
			pfs_diag_add(&r->diag, PFS_WARN, "bad-attr-ids", off + attr_size - 16,
				     "ids of event %llu lie outside the file; ignored",
				     (unsigned long long)i);
			continue;
		}
		/* perf gives each event ids of its own: events that share one region would
		 * cost memory a multiple of the file's size */
		if (ids_size / 8 > r->map_len / 8 - n_ids) {
			pfs_diag_add(&r->diag, PFS_WARN, "bad-attr-ids", off + attr_size - 16,
				     "ids of event %llu make more ids than the file can hold "
				     "(the events share them); ignored",
				     (unsigned long long)i);
			continue;
		}
		n_ids += ids_size / 8;
		attr_set_ids(r, r->attrs[r->n_attrs - 1], r->n_attrs - 1, r->map + ids_off,
			     ids_size / 8);
	}
	return 0;
}

static void read_feature_sections(struct pfs_reader *r, const uint64_t bitmap_in[4])
{
	uint64_t bitmap[4];
	uint64_t table = r->info.data_off + r->info.data_size;
	size_t k = 0;
	memcpy(bitmap, bitmap_in, sizeof(bitmap));
	for (unsigned bit = 0; bit < 256; bit++) {
		struct pfs_cursor c;
		uint64_t off, size, entry;
		if (!(bitmap[bit / 64] >> (bit % 64) & 1))
			continue;
		entry = table + 16 * k++;
		if (entry > r->map_len || r->map_len - entry < 16) {
			pfs_diag_add(
			    &r->diag, PFS_WARN, "feature-table-truncated", entry,
			    "feature table ends past the end of the file; features from bit "
			    "%u on are missing",
			    bit);
			return;
		}
		c = cur_at(r, r->map + entry, 16);
		off = pfs_cursor_u64(&c);
		size = pfs_cursor_u64(&c);
		if (!off && !size)
			continue; /* perf leaves zeroed entries when a feature writer failed */
		if (off > r->map_len || size > r->map_len - off || size > MAX_FEATURE_SIZE) {
			const char *n = pfs_feature_name(bit);
			pfs_diag_add(
			    &r->diag, PFS_WARN, "feature-out-of-bounds", entry,
			    "feature %s (bit %u) section [0x%llx, +%llu) lies past the end "
			    "of the file; ignored",
			    n ? n : "?", bit, (unsigned long long)off, (unsigned long long)size);
			continue;
		}
		parse_feature(r, bit, r->map + off, (size_t)size, off);
	}
}

static int open_file_mode(struct pfs_reader *r, struct pfs_err *err)
{
	struct pfs_cursor c = cur_at(r, r->map + 16, r->map_len - 16);
	uint64_t attr_size, a_off, a_size, d_off, d_size, hsize;
	uint64_t bitmap[4] = {0};
	int rc;
	{
		struct pfs_cursor h = cur_at(r, r->map + 8, 8);
		hsize = pfs_cursor_u64(&h);
	}
	if (r->map_len < hsize)
		return pfs_err_set(err, PFS_EFORMAT, 0,
				   "truncated header (need %llu bytes, have %zu)",
				   (unsigned long long)hsize, r->map_len);
	attr_size = pfs_cursor_u64(&c);
	a_off = pfs_cursor_u64(&c);
	a_size = pfs_cursor_u64(&c);
	d_off = pfs_cursor_u64(&c);
	d_size = pfs_cursor_u64(&c);
	pfs_cursor_u64(&c);
	pfs_cursor_u64(&c);
	if (hsize == FILE_HEADER_SIZE)
		for (int i = 0; i < 4; i++)
			bitmap[i] = pfs_cursor_u64(&c);
	if (r->swap && hsize == FILE_HEADER_SIZE && !(bitmap[0] >> FEAT_HOSTNAME & 1)) {
		/*
		 * perf declared the bitmap as unsigned long[]: a 32-bit writer stored u32
		 * words, so a 64-bit swap scrambles it. Undo it as perf does.
		 */
		uint64_t alt[4];
		for (int i = 0; i < 4; i++) {
			uint64_t v = bitmap[i];
			alt[i] = (uint64_t)__builtin_bswap32((uint32_t)__builtin_bswap64(v) &
							     0xffffffffu) |
				 (uint64_t)__builtin_bswap32((uint32_t)(__builtin_bswap64(v) >> 32))
				     << 32;
		}
		if (alt[0] >> FEAT_HOSTNAME & 1)
			memcpy(bitmap, alt, sizeof(bitmap));
	}
	rc = read_attrs_section(r, attr_size, a_off, a_size, err);
	if (rc)
		return rc;
	if (d_off < hsize || d_off > r->map_len)
		return pfs_err_set(err, PFS_EFORMAT, 40,
				   "data section offset 0x%llx lies outside the file (%zu bytes)",
				   (unsigned long long)d_off, r->map_len);
	r->info.data_off = d_off;
	r->info.data_size = d_size;
	r->pos = d_off;
	if (d_size == 0) {
		r->info.data_size_zero = true;
		r->end = r->map_len;
		pfs_diag_add(
		    &r->diag, PFS_WARN, "data-size-zero", 48,
		    "the header's data size is 0 (perf did not finish writing): records "
		    "are read to the end of the file and the feature sections are missing");
	} else if (d_size > r->map_len - d_off) {
		r->end = r->map_len;
		pfs_diag_add(&r->diag, PFS_ERROR, "data-past-eof", 48,
			     "the data section ends at 0x%llx, past the end of the file (%zu "
			     "bytes): the file was cut short",
			     (unsigned long long)(d_off + d_size), r->map_len);
	} else {
		r->end = d_off + d_size;
		read_feature_sections(r, bitmap);
	}
	return 0;
}

static struct pfs_reader *reader_new(const char *path, const struct pfs_reader_opts *opts)
{
	struct pfs_reader *r = pfs_xcalloc(1, sizeof(*r));
	if (opts)
		r->opts = *opts;
	r->path = path;
	r->fd = -1;
	pfs_diag_init(&r->diag);
	/* never NULL: a sample with empty arrays points into it (NULL + 0 is undefined) */
	PFS_GROW(r->u64s, r->cap_u64s, 64);
	return r;
}

static int finish_open(struct pfs_reader *r, struct pfs_err *err)
{
	int rc = read_file_header(r, err);
	if (rc)
		return rc;
	if (!r->info.pipe) {
		rc = open_file_mode(r, err);
		if (rc)
			return rc;
	}
	return 0;
}

int pfs_reader_open_mem(struct pfs_reader **out, const void *buf, size_t len,
			const struct pfs_reader_opts *opts, struct pfs_err *err)
{
	struct pfs_reader *r = reader_new("(memory)", opts);
	int rc;
	r->map = buf;
	r->map_len = len;
	r->info.file_size = len;
	rc = finish_open(r, err);
	if (rc) {
		pfs_reader_close(r);
		*out = NULL;
		return rc;
	}
	*out = r;
	return 0;
}

char *pfs_reader_dir_capture(const char *path)
{
	struct stat st;
	size_t n = strlen(path);
	char *in;
	if (stat(path, &st) || !S_ISDIR(st.st_mode))
		return NULL;
	in = pfs_xmalloc(n + sizeof("/perf.data"));
	memcpy(in, path, n);
	memcpy(in + n, "/perf.data", sizeof("/perf.data"));
	if (stat(in, &st) || !S_ISREG(st.st_mode)) {
		free(in);
		return NULL;
	}
	return in;
}

int pfs_reader_open(struct pfs_reader **out, const char *path, const struct pfs_reader_opts *opts,
		    struct pfs_err *err)
{
	struct pfs_reader *r;
	struct stat st;
	int fd, rc;
	*out = NULL;
	if (!strcmp(path, "-")) {
		r = reader_new(path, opts);
		r->fd = STDIN_FILENO;
		if (fstat(r->fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
			void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, r->fd, 0);
			if (m != MAP_FAILED) {
				r->map = m;
				r->map_len = (size_t)st.st_size;
				r->unmap = true;
				r->fd = -1;
				r->info.file_size = r->map_len;
			}
		}
		goto opened;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pfs_err_sys(err, "cannot open");
	if (fstat(fd, &st)) {
		rc = pfs_err_sys(err, "cannot stat");
		close(fd);
		return rc;
	}
	if (S_ISDIR(st.st_mode)) {
		char *in = pfs_reader_dir_capture(path);
		close(fd);
		if (in) {
			rc = pfs_reader_open(out, in, opts, err);
			free(in);
			return rc;
		}
		return pfs_err_set(err, PFS_EFORMAT, PFS_NO_OFF,
				   "is a directory without a perf.data file");
	}
	r = reader_new(path, opts);
	if (S_ISREG(st.st_mode)) {
		if (st.st_size == 0) {
			close(fd);
			pfs_reader_close(r);
			return pfs_err_set(err, PFS_EFORMAT, 0, "empty file, not a perf.data file");
		}
		r->map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		close(fd);
		if (r->map == MAP_FAILED) {
			r->map = NULL;
			pfs_reader_close(r);
			return pfs_err_sys(err, "cannot map");
		}
		r->map_len = (size_t)st.st_size;
		r->unmap = true;
		r->info.file_size = r->map_len;
		madvise((void *)r->map, r->map_len, MADV_SEQUENTIAL);
	} else {
		r->fd = fd;
	}
opened:
	rc = finish_open(r, err);
	if (rc) {
		pfs_reader_close(r);
		return rc;
	}
	*out = r;
	return 0;
}

static void qrec_release(struct qrec *q)
{
	if (q->owned) {
		free((void *)q->p);
		free((void *)q->extra);
	}
	memset(q, 0, sizeof(*q));
}

void pfs_reader_close(struct pfs_reader *r)
{
	if (!r)
		return;
	if (r->unmap)
		munmap((void *)r->map, r->map_len);
	if (r->fd > STDIN_FILENO)
		close(r->fd);
	free(r->win);
	for (size_t i = 0; i < r->n_attrs; i++) {
		free(r->attrs[i]->name);
		free(r->attrs[i]->ids);
		free(r->attrs[i]);
	}
	free(r->attrs);
	free(r->ids.keys);
	free(r->ids.vals);
	free(r->info.hostname);
	free(r->info.osrelease);
	free(r->info.version);
	free(r->info.arch);
	free(r->info.cpudesc);
	free(r->info.cpuid);
	for (size_t i = 0; i < r->info.n_cmdline; i++)
		free(r->info.cmdline[i]);
	free(r->info.cmdline);
	for (size_t i = 0; i < r->info.n_build_ids; i++)
		free(r->info.build_ids[i].filename);
	free(r->info.build_ids);
	for (size_t i = 0; i < r->info.n_pmus; i++)
		free(r->info.pmus[i].name);
	free(r->info.pmus);
	free((void *)r->info.tracing_data);
	pfs_zst_stream_free(r->zs);
	free(r->dbuf);
	free(r->zin);
	for (size_t i = 0; i < r->n_heap; i++)
		qrec_release(&r->heap[i]);
	free(r->heap);
	qrec_release(&r->cur);
	free(r->u64s);
	free(r->rv);
	free(r->br);
	free(r->copybuf);
	pfs_diag_release(&r->diag);
	free(r);
}

const struct pfs_info *pfs_reader_info(const struct pfs_reader *r)
{
	return &r->info;
}

uint64_t pfs_stats_lost(const struct pfs_stats *st)
{
	return st->lost_samples > st->lost_events ? st->lost_samples : st->lost_events;
}

const struct pfs_stats *pfs_reader_stats(const struct pfs_reader *r)
{
	return &r->stats;
}

struct pfs_diag *pfs_reader_diag(struct pfs_reader *r)
{
	return &r->diag;
}

size_t pfs_reader_n_attrs(const struct pfs_reader *r)
{
	return r->n_attrs;
}

struct pfs_attr *pfs_reader_attr(const struct pfs_reader *r, size_t i)
{
	return i < r->n_attrs ? r->attrs[i] : NULL;
}

struct pfs_attr *pfs_reader_attr_by_id(const struct pfs_reader *r, uint64_t id)
{
	uint32_t idx = idmap_get(&r->ids, id);
	return idx ? r->attrs[idx - 1] : NULL;
}

size_t pfs_reader_attr_index(const struct pfs_reader *r, const struct pfs_attr *a)
{
	for (size_t i = 0; i < r->n_attrs; i++)
		if (r->attrs[i] == a)
			return i;
	return SIZE_MAX;
}

/* ---- attribution (§5.1) ---- */

/* The attr a record belongs to, reading its id where the layout says it is. */
static struct pfs_attr *attr_of(struct pfs_reader *r, uint32_t type, const uint8_t *body,
				size_t len)
{
	struct pfs_attr *first;
	uint64_t st, id;
	uint32_t idx;
	if (r->n_attrs == 0)
		return NULL;
	first = r->attrs[0];
	if (r->n_attrs == 1)
		return first;
	st = first->sample_type;
	if (type == PFS_REC_SAMPLE) {
		size_t pos;
		if (st & PFS_S_IDENTIFIER)
			pos = 0;
		else if (st & PFS_S_ID)
			pos = 8 * (size_t)(!!(st & PFS_S_IP) + !!(st & PFS_S_TID) +
					   !!(st & PFS_S_TIME) + !!(st & PFS_S_ADDR));
		else
			return first;
		if (len < pos + 8)
			return NULL;
		id = pfs_load_u64(body + pos, r->swap);
	} else {
		size_t back;
		if (!first->trailer_len)
			return first;
		if (st & PFS_S_IDENTIFIER)
			back = 8;
		else if (st & PFS_S_ID)
			back = 8 * (size_t)(1 + !!(st & PFS_S_CPU) + !!(st & PFS_S_STREAM_ID));
		else
			return first;
		if (len < back)
			return NULL;
		id = pfs_load_u64(body + len - back, r->swap);
		if (id == 0)
			return first; /* synthesized records carry a zeroed trailer */
	}
	idx = idmap_get(&r->ids, id);
	return idx ? r->attrs[idx - 1] : NULL;
}

/* Reads the sample_id trailer at the end of a non-sample kernel record. */
static bool read_trailer(struct pfs_reader *r, const struct pfs_attr *a, const uint8_t *body,
			 size_t len, struct pfs_sample_id *sid)
{
	struct pfs_cursor c;
	uint64_t st = a->sample_type;
	memset(sid, 0, sizeof(*sid));
	if (!a->trailer_len)
		return true;
	if (len < a->trailer_len)
		return false;
	c = cur_at(r, body + len - a->trailer_len, a->trailer_len);
	if (st & PFS_S_TID) {
		sid->pid = pfs_cursor_u32(&c);
		sid->tid = pfs_cursor_u32(&c);
	}
	if (st & PFS_S_TIME)
		sid->time = pfs_cursor_u64(&c);
	if (st & PFS_S_ID)
		sid->id = pfs_cursor_u64(&c);
	if (st & PFS_S_STREAM_ID)
		sid->stream_id = pfs_cursor_u64(&c);
	if (st & PFS_S_CPU) {
		sid->cpu = pfs_cursor_u32(&c);
		pfs_cursor_u32(&c);
	}
	if (st & PFS_S_IDENTIFIER)
		sid->id = pfs_cursor_u64(&c);
	sid->has = st & (PFS_S_TID | PFS_S_TIME | PFS_S_ID | PFS_S_STREAM_ID | PFS_S_CPU |
			 PFS_S_IDENTIFIER);
	return true;
}

/* The time a record is ordered by, or UINT64_MAX when it has none. */
static uint64_t record_time(struct pfs_reader *r, uint32_t type, const uint8_t *body, size_t len)
{
	struct pfs_attr *a;
	uint64_t st;
	if (type >= 64 || type == 0)
		return UINT64_MAX;
	a = attr_of(r, type, body, len);
	if (!a)
		return UINT64_MAX;
	st = a->sample_type;
	if (!(st & PFS_S_TIME))
		return UINT64_MAX;
	if (type == PFS_REC_SAMPLE) {
		size_t pos = 8 * (size_t)(!!(st & PFS_S_IDENTIFIER) + !!(st & PFS_S_IP) +
					  !!(st & PFS_S_TID));
		return len >= pos + 8 ? pfs_load_u64(body + pos, r->swap) : UINT64_MAX;
	}
	if (!a->trailer_len || len < a->trailer_len)
		return UINT64_MAX;
	return pfs_load_u64(body + len - a->trailer_len + 8 * !!(st & PFS_S_TID), r->swap);
}

/* ---- sample decode (§2.2, kernel order) ---- */

static uint64_t *scratch_u64(struct pfs_reader *r, size_t used, size_t n)
{
	PFS_GROW(r->u64s, r->cap_u64s, used + n);
	return r->u64s + used;
}

static bool read_regs(struct pfs_reader *r, struct pfs_cursor *c, uint64_t mask, uint64_t *abi,
		      const uint64_t **regs, uint32_t *n, size_t *used)
{
	*abi = pfs_cursor_u64(c);
	if (c->bad)
		return false;
	if (*abi == 0)
		return true;
	*n = pfs_popcount64(mask);
	if ((size_t)*n * 8 > pfs_cursor_left(c)) {
		c->bad = true;
		return false;
	}
	{
		uint64_t *dst = scratch_u64(r, *used, *n);
		for (uint32_t i = 0; i < *n; i++)
			dst[i] = pfs_cursor_u64(c);
		*used += *n;
	}
	return true;
}

/*
 * Zeroes a sample with vector stores: this runs once per sample, and the string instruction gcc
 * picks for a plain memset of this size costs more than the rest of a frame-pointer sample's
 * decoding.
 */
static inline void sample_clear(struct pfs_sample *s)
{
	typedef uint64_t v2 __attribute__((vector_size(16), aligned(8)));
	_Static_assert(sizeof(*s) % 16 == 0, "struct pfs_sample is cleared 16 bytes at a time");
	v2 z = {0, 0};
	for (size_t i = 0; i < sizeof(*s) / 16; i++)
		memcpy((char *)s + 16 * i, &z, 16);
}

/*
 * Decodes a SAMPLE body for attr a. Scratch arrays are laid out in r->u64s first and their
 * pointers fixed up at the end, since growing the scratch may move it.
 */
static bool decode_sample(struct pfs_reader *r, const struct pfs_attr *a, const uint8_t *body,
			  size_t len, struct pfs_record *rec)
{
	struct pfs_cursor c = cur_at(r, body, len);
	struct pfs_sample *s = &rec->u.sample;
	struct pfs_sample_id *sid = &rec->sid;
	uint64_t st = a->sample_type;
	size_t used = 0, cc_at = 0, ru_at = 0, ri_at = 0, bc_at = 0;
	sample_clear(s);
	memset(sid, 0, sizeof(*sid));
	if (st & PFS_S_IDENTIFIER)
		sid->id = pfs_cursor_u64(&c);
	if (st & PFS_S_IP)
		s->ip = pfs_cursor_u64(&c);
	if (st & PFS_S_TID) {
		sid->pid = pfs_cursor_u32(&c);
		sid->tid = pfs_cursor_u32(&c);
	}
	if (st & PFS_S_TIME)
		sid->time = pfs_cursor_u64(&c);
	if (st & PFS_S_ADDR)
		s->addr = pfs_cursor_u64(&c);
	if (st & PFS_S_ID)
		sid->id = pfs_cursor_u64(&c);
	if (st & PFS_S_STREAM_ID)
		sid->stream_id = pfs_cursor_u64(&c);
	if (st & PFS_S_CPU) {
		sid->cpu = pfs_cursor_u32(&c);
		pfs_cursor_u32(&c);
	}
	if (st & PFS_S_PERIOD)
		s->period = pfs_cursor_u64(&c);
	sid->has = st & (PFS_S_TID | PFS_S_TIME | PFS_S_ID | PFS_S_STREAM_ID | PFS_S_CPU |
			 PFS_S_IDENTIFIER);
	if (st & PFS_S_READ) {
		uint64_t rf = a->read_format, nr = 1;
		if (rf & PFS_FMT_GROUP) {
			nr = pfs_cursor_u64(&c);
			if (nr > pfs_cursor_left(&c) / 8) {
				c.bad = true;
				return false;
			}
		} else {
			PFS_GROW(r->rv, r->cap_rv, 1);
			r->rv[0].value = pfs_cursor_u64(&c);
		}
		if (rf & PFS_FMT_TOTAL_TIME_ENABLED)
			s->read_time_enabled = pfs_cursor_u64(&c);
		if (rf & PFS_FMT_TOTAL_TIME_RUNNING)
			s->read_time_running = pfs_cursor_u64(&c);
		if (rf & PFS_FMT_GROUP) {
			PFS_GROW(r->rv, r->cap_rv, nr ? nr : 1);
			for (uint64_t i = 0; i < nr && !c.bad; i++) {
				r->rv[i].value = pfs_cursor_u64(&c);
				r->rv[i].id = (rf & PFS_FMT_ID) ? pfs_cursor_u64(&c) : 0;
				r->rv[i].lost = (rf & PFS_FMT_LOST) ? pfs_cursor_u64(&c) : 0;
			}
		} else {
			r->rv[0].id = (rf & PFS_FMT_ID) ? pfs_cursor_u64(&c) : 0;
			r->rv[0].lost = (rf & PFS_FMT_LOST) ? pfs_cursor_u64(&c) : 0;
		}
		s->read_values = r->rv;
		s->n_read_values = nr;
	}
	if (st & PFS_S_CALLCHAIN) {
		uint64_t nr = pfs_cursor_u64(&c);
		if (c.bad || nr > pfs_cursor_left(&c) / 8)
			return false;
		cc_at = used;
		if (nr) {
			/*
			 * the hot loop of frame-pointer captures: one memcpy, then swap if needed;
			 * an empty chain must not reach memcpy, the scratch may still be NULL
			 */
			uint64_t *dst = scratch_u64(r, used, (size_t)nr);
			memcpy(dst, pfs_cursor_bytes(&c, (size_t)nr * 8), (size_t)nr * 8);
			if (r->swap)
				for (uint64_t i = 0; i < nr; i++)
					dst[i] = __builtin_bswap64(dst[i]);
		}
		used += (size_t)nr;
		s->n_callchain = nr;
	}
	if (st & PFS_S_RAW) {
		uint32_t sz = pfs_cursor_u32(&c);
		s->raw = pfs_cursor_bytes(&c, sz);
		s->raw_size = sz;
		if (!s->raw)
			return false;
	}
	if (st & PFS_S_BRANCH_STACK) {
		uint64_t nr = pfs_cursor_u64(&c);
		if (a->branch_sample_type & (1u << 17)) {
			s->branch_hw_idx = pfs_cursor_u64(&c);
			s->has_hw_idx = true;
		}
		if (c.bad || nr > pfs_cursor_left(&c) / 24)
			return false;
		PFS_GROW(r->br, r->cap_br, nr ? nr : 1);
		for (uint64_t i = 0; i < nr; i++) {
			r->br[i].from = pfs_cursor_u64(&c);
			r->br[i].to = pfs_cursor_u64(&c);
			r->br[i].flags = pfs_cursor_u64(&c);
		}
		s->branches = r->br;
		s->n_branches = nr;
		if (a->branch_sample_type & (1u << 19)) {
			if (nr > pfs_cursor_left(&c) / 8)
				return false;
			bc_at = used + 1;
			{
				uint64_t *dst = scratch_u64(r, used, (size_t)nr);
				for (uint64_t i = 0; i < nr; i++)
					dst[i] = pfs_cursor_u64(&c);
			}
			used += (size_t)nr;
		}
	}
	if (st & PFS_S_REGS_USER) {
		ru_at = used + 1;
		if (!read_regs(r, &c, a->sample_regs_user, &s->regs_user_abi, &s->regs_user,
			       &s->n_regs_user, &used))
			return false;
	}
	if (st & PFS_S_STACK_USER) {
		s->stack_user_size = pfs_cursor_u64(&c);
		if (s->stack_user_size) {
			if (s->stack_user_size > pfs_cursor_left(&c))
				return false;
			s->stack_user = pfs_cursor_bytes(&c, (size_t)s->stack_user_size);
			s->stack_user_dyn_size = pfs_cursor_u64(&c);
			if (s->stack_user_dyn_size > s->stack_user_size)
				s->stack_user_dyn_size = s->stack_user_size;
		}
	}
	if (st & (PFS_S_WEIGHT | PFS_S_WEIGHT_STRUCT))
		s->weight = pfs_cursor_u64(&c);
	if (st & PFS_S_DATA_SRC)
		s->data_src = pfs_cursor_u64(&c);
	if (st & PFS_S_TRANSACTION)
		s->transaction = pfs_cursor_u64(&c);
	if (st & PFS_S_REGS_INTR) {
		ri_at = used + 1;
		if (!read_regs(r, &c, a->sample_regs_intr, &s->regs_intr_abi, &s->regs_intr,
			       &s->n_regs_intr, &used))
			return false;
	}
	if (st & PFS_S_PHYS_ADDR)
		s->phys_addr = pfs_cursor_u64(&c);
	if (st & PFS_S_CGROUP)
		s->cgroup = pfs_cursor_u64(&c);
	if (st & PFS_S_DATA_PAGE_SIZE)
		s->data_page_size = pfs_cursor_u64(&c);
	if (st & PFS_S_CODE_PAGE_SIZE)
		s->code_page_size = pfs_cursor_u64(&c);
	if (st & PFS_S_AUX) {
		s->aux_size = pfs_cursor_u64(&c);
		if (s->aux_size > pfs_cursor_left(&c))
			return false;
		s->aux = pfs_cursor_bytes(&c, (size_t)s->aux_size);
	}
	if (c.bad)
		return false;
	/* scratch is final now: fix up the array pointers */
	if (st & PFS_S_CALLCHAIN)
		s->callchain = r->u64s + cc_at;
	if (bc_at)
		s->branch_counters = r->u64s + bc_at - 1;
	if (ru_at && s->regs_user_abi) {
		size_t at = ru_at - 1;
		s->regs_user = r->u64s + at;
	}
	if (ri_at && s->regs_intr_abi)
		s->regs_intr = r->u64s + ri_at - 1;
	return true;
}

/* ---- other records (§3.1) ---- */

static const char *record_string(const uint8_t *p, size_t len)
{
	/* a string must be NUL-terminated inside the record; report it as absent otherwise */
	return memchr(p, 0, len) ? (const char *)p : NULL;
}

static bool decode_other(struct pfs_reader *r, struct pfs_record *rec)
{
	size_t tl = rec->attr && rec->type < 64 ? rec->attr->trailer_len : 0;
	size_t len;
	struct pfs_cursor c;
	if (rec->type < 64 && rec->attr &&
	    !read_trailer(r, rec->attr, rec->body, rec->body_len, &rec->sid))
		return false;
	len = rec->body_len >= tl ? rec->body_len - tl : 0;
	c = cur_at(r, rec->body, len);
	switch (rec->type) {
	case PFS_REC_MMAP:
	case PFS_REC_MMAP2: {
		struct pfs_rec_mmap *m = &rec->u.mmap;
		memset(m, 0, sizeof(*m));
		m->pid = pfs_cursor_u32(&c);
		m->tid = pfs_cursor_u32(&c);
		m->start = pfs_cursor_u64(&c);
		m->len = pfs_cursor_u64(&c);
		m->pgoff = pfs_cursor_u64(&c);
		if (rec->type == PFS_REC_MMAP2) {
			if (rec->misc & PFS_MISC_MMAP_BUILD_ID) {
				const uint8_t *b;
				m->build_id_size = pfs_cursor_u8(&c);
				pfs_cursor_skip(&c, 3);
				b = pfs_cursor_bytes(&c, 20);
				if (b)
					memcpy(m->build_id, b, 20);
				if (m->build_id_size > 20)
					m->build_id_size = 20;
			} else {
				m->maj = pfs_cursor_u32(&c);
				m->min = pfs_cursor_u32(&c);
				m->ino = pfs_cursor_u64(&c);
				m->ino_generation = pfs_cursor_u64(&c);
			}
			m->prot = pfs_cursor_u32(&c);
			m->flags = pfs_cursor_u32(&c);
		}
		if (c.bad)
			return false;
		m->filename = record_string(c.p, pfs_cursor_left(&c));
		return m->filename != NULL;
	}
	case PFS_REC_COMM: {
		struct pfs_rec_comm *m = &rec->u.comm;
		m->pid = pfs_cursor_u32(&c);
		m->tid = pfs_cursor_u32(&c);
		m->exec = (rec->misc & PFS_MISC_COMM_EXEC) != 0;
		if (c.bad)
			return false;
		m->comm = record_string(c.p, pfs_cursor_left(&c));
		return m->comm != NULL;
	}
	case PFS_REC_FORK:
	case PFS_REC_EXIT: {
		struct pfs_rec_task *t = &rec->u.task;
		t->pid = pfs_cursor_u32(&c);
		t->ppid = pfs_cursor_u32(&c);
		t->tid = pfs_cursor_u32(&c);
		t->ptid = pfs_cursor_u32(&c);
		t->time = pfs_cursor_u64(&c);
		return !c.bad;
	}
	case PFS_REC_LOST:
		rec->u.lost.id = pfs_cursor_u64(&c);
		rec->u.lost.lost = pfs_cursor_u64(&c);
		return !c.bad;
	case PFS_REC_LOST_SAMPLES:
		rec->u.lost.id = 0;
		rec->u.lost.lost = pfs_cursor_u64(&c);
		return !c.bad;
	case PFS_REC_SWITCH:
	case PFS_REC_SWITCH_CPU_WIDE: {
		struct pfs_rec_switch *w = &rec->u.sw;
		w->out = (rec->misc & PFS_MISC_SWITCH_OUT) != 0;
		w->preempt = (rec->misc & PFS_MISC_SWITCH_OUT_PREEMPT) != 0;
		w->cpu_wide = rec->type == PFS_REC_SWITCH_CPU_WIDE;
		w->next_prev_pid = w->next_prev_tid = 0;
		if (w->cpu_wide) {
			w->next_prev_pid = pfs_cursor_u32(&c);
			w->next_prev_tid = pfs_cursor_u32(&c);
		}
		return !c.bad;
	}
	default:
		return true;
	}
}

/* ---- raw records: source and decompression ---- */

static bool ensure_zstd(struct pfs_reader *r)
{
	if (!r->zs)
		r->zs = pfs_zst_stream_new();
	return r->zs != NULL;
}

/*
 * Decompression (§3.3) runs as the records are read, not a chunk at a time: the chunk is
 * kept, and inflate() gives the decompressed buffer at most ZSTEP more bytes whenever it holds
 * no whole record. So memory is bounded by a record plus a step whatever a chunk holds (one
 * 64 KiB record of zstd can hold gigabytes), and one chunk's output is bounded by what
 * perf's ring buffer could have held (the COMPRESSED feature's mmap_len; ZCHUNK_MAX when the
 * capture does not say): a chunk that claims more is cut there.
 */
#define ZSTEP ((size_t)1 << 18)
#define ZCHUNK_MAX ((uint64_t)1 << 30)

/* Takes one compressed chunk: what remains of the previous one must be consumed already. */
static void decompress(struct pfs_reader *r, const uint8_t *p, size_t len, uint64_t off)
{
	if (!ensure_zstd(r)) {
		pfs_diag_add(&r->diag, PFS_ERROR, "zstd-init", off,
			     "cannot initialise zstd: compressed records dropped");
		return;
	}
	PFS_GROW(r->zin, r->zin_cap, len ? len : 1);
	memcpy(r->zin, p, len);
	r->zin_len = len;
	r->zin_pos = 0;
	r->zfull = false;
	r->zout = 0;
	r->doff = off;
	r->stats.compressed_bytes += len;
}

/* Inflates the next step of the current chunk; false when there is nothing left of it. */
static bool inflate(struct pfs_reader *r)
{
	uint64_t limit = r->info.comp_mmap_len ? r->info.comp_mmap_len : ZCHUNK_MAX;
	size_t got = 0, room;
	const char *why = NULL;
	/* all of the chunk read is not all of it given: a step that filled its output may leave
	 * decoded bytes inside zstd (dropping them lost a record or so per chunk) */
	if (r->zin_pos >= r->zin_len && !r->zfull)
		return false;
	/* keep only the unread tail: a record straddling two chunks continues in the next */
	if (r->dpos) {
		memmove(r->dbuf, r->dbuf + r->dpos, r->dlen - r->dpos);
		r->dlen -= r->dpos;
		r->dpos = 0;
	}
	PFS_GROW(r->dbuf, r->dcap, r->dlen + ZSTEP);
	room = r->dcap - r->dlen;
	if (room > ZSTEP)
		room = ZSTEP;
	size_t in_before = r->zin_pos;
	if (pfs_zst_stream_step(r->zs, r->zin, r->zin_len, &r->zin_pos, r->dbuf + r->dlen, room,
				&got, &why) < 0) {
		pfs_diag_add(&r->diag, PFS_ERROR, "zstd-error", r->doff,
			     "compressed record at 0x%llx cannot be decompressed (%s): its "
			     "records were dropped",
			     (unsigned long long)r->doff, why);
		pfs_zst_stream_reset(r->zs);
		r->dlen = r->dpos = 0;
		r->zin_pos = r->zin_len;
		r->zfull = false;
		return false;
	}
	r->zfull = got == room;
	r->dlen += got;
	r->zout += got;
	r->stats.decompressed_bytes += got;
	if (r->zout > limit) {
		pfs_diag_add(&r->diag, PFS_ERROR, "zstd-oversize", r->doff,
			     "compressed record at 0x%llx holds more than %llu bytes, more than "
			     "perf's buffer could: the rest of it was dropped",
			     (unsigned long long)r->doff, (unsigned long long)limit);
		pfs_zst_stream_reset(r->zs);
		r->dlen -= (size_t)(r->zout - limit);
		r->zin_pos = r->zin_len;
		r->zfull = false;
		return true;
	}
	/* no progress at all: zstd wants input this chunk does not have (it continues in the
	 * next one). A step that only reads (a frame or block header) is progress: treating it
	 * as the end dropped the rest of the chunk, a sample or so per chunk */
	if (got == 0 && r->zin_pos == in_before) {
		r->zin_pos = r->zin_len;
		r->zfull = false;
		return false;
	}
	return true;
}

struct raw {
	uint32_t type;
	uint16_t misc, size;
	const uint8_t *p; /* header + body */
	const uint8_t *extra;
	size_t extra_len;
	uint64_t off;
	bool compressed;
	bool from_stream_window; /* p lives in a window that the next read may move */
};

/*
 * The next record in file order, or 0 at the end. Records that describe the capture are
 * absorbed into the reader's state here, before anyone looks at samples.
 */
static int raw_next(struct pfs_reader *r, struct raw *out, struct pfs_err *err)
{
	for (;;) {
		size_t have = 0;
		int rc = 0;
		const uint8_t *h;
		struct pfs_cursor c;
		/* 1. a complete record waiting in the decompressed buffer */
		if (r->dlen - r->dpos >= 8) {
			const uint8_t *d = r->dbuf + r->dpos;
			c = cur_at(r, d, 8);
			out->type = pfs_cursor_u32(&c);
			out->misc = pfs_cursor_u16(&c);
			out->size = pfs_cursor_u16(&c);
			if (out->size < 8) {
				pfs_diag_add(&r->diag, PFS_ERROR, "bad-record-size", r->doff,
					     "a decompressed record has size %u (< 8): the rest of "
					     "that compressed stream was dropped",
					     out->size);
				r->dlen = r->dpos = 0;
				continue;
			}
			if (r->dlen - r->dpos >= out->size) {
				out->p = d;
				out->off = r->doff;
				out->compressed = true;
				out->extra = NULL;
				out->extra_len = 0;
				out->from_stream_window = false;
				r->dpos += out->size;
				return 1;
			}
		}
		/* no whole record buffered: more of the chunk, before the file's next record */
		if (inflate(r))
			continue;
		/* 2. the next record of the file */
		if (r->pos >= r->end)
			goto at_end;
		h = src_get(r, r->pos, 8, &have, err, &rc);
		if (rc)
			return rc;
		if (!h) {
			if (have)
				pfs_diag_add(
				    &r->diag, PFS_ERROR, "truncated-record", r->pos,
				    "the last record is cut short: %zu bytes of its 8-byte "
				    "header remain",
				    have);
			goto at_end;
		}
		c = cur_at(r, h, 8);
		out->type = pfs_cursor_u32(&c);
		out->misc = pfs_cursor_u16(&c);
		out->size = pfs_cursor_u16(&c);
		out->off = r->pos;
		out->compressed = false;
		out->extra = NULL;
		out->extra_len = 0;
		if (out->size < 8) {
			pfs_diag_add(&r->diag, PFS_ERROR, "bad-record-size", r->pos,
				     "record of type %u has size %u (< 8): reading stops here, the "
				     "rest of the data cannot be framed",
				     out->type, out->size);
			goto at_end;
		}
		if (r->end != UINT64_MAX && out->size > r->end - r->pos) {
			pfs_diag_add(
			    &r->diag, PFS_ERROR, "truncated-record", r->pos,
			    "record of type %u needs %u bytes but the data ends after %llu: "
			    "it was dropped",
			    out->type, out->size, (unsigned long long)(r->end - r->pos));
			goto at_end;
		}
		h = src_get(r, r->pos, out->size, &have, err, &rc);
		if (rc)
			return rc;
		if (!h) {
			pfs_diag_add(
			    &r->diag, PFS_ERROR, "truncated-record", r->pos,
			    "record of type %u needs %u bytes but the file ends after %zu: "
			    "it was dropped",
			    out->type, out->size, have);
			goto at_end;
		}
		out->p = h;
		out->from_stream_window = r->map == NULL;
		r->pos += out->size;
		/* payloads outside header.size (§3.2: TRACING_DATA, AUXTRACE) */
		if (out->type == PFS_REC_HEADER_TRACING_DATA || out->type == PFS_REC_AUXTRACE) {
			struct pfs_cursor b = cur_at(r, h + 8, out->size - 8u);
			uint64_t xl = pfs_cursor_u64(&b);
			if (out->type == PFS_REC_HEADER_TRACING_DATA) {
				b = cur_at(r, h + 8, out->size - 8u);
				xl = pfs_cursor_u32(&b);
			}
			if (b.bad) {
				pfs_diag_add(&r->diag, PFS_ERROR, "short-record", out->off,
					     "%s record too short for its payload size",
					     pfs_record_type_name(out->type));
			} else if (xl) {
				const uint8_t *x;
				if (r->end != UINT64_MAX && xl > r->end - r->pos) {
					pfs_diag_add(
					    &r->diag, PFS_ERROR, "truncated-record", out->off,
					    "%s payload of %llu bytes runs past the end of "
					    "the data",
					    pfs_record_type_name(out->type),
					    (unsigned long long)xl);
					r->pos = r->end;
					goto at_end;
				}
				/* the header may move when a stream window refills: copy it */
				if (out->from_stream_window) {
					PFS_GROW(r->copybuf, r->cap_copybuf, out->size);
					memcpy(r->copybuf, h, out->size);
					out->p = r->copybuf;
				}
				/* no AUX data is decoded: the payload is stepped over, never
				 * buffered (only the sender bounds a stream's size) */
				if (out->type == PFS_REC_AUXTRACE) {
					if (xl > UINT64_MAX - r->pos ||
					    !src_skip(r, r->pos + xl, err, &rc)) {
						if (rc)
							return rc;
						pfs_diag_add(
						    &r->diag, PFS_ERROR, "truncated-record",
						    out->off,
						    "AUXTRACE payload of %llu bytes is cut short",
						    (unsigned long long)xl);
						r->pos = r->end == UINT64_MAX ? r->win_off : r->end;
						goto at_end;
					}
					r->pos += xl;
					return 1;
				}
				x = xl <= SIZE_MAX ? src_get(r, r->pos, (size_t)xl, &have, err, &rc)
						   : NULL;
				if (rc)
					return rc;
				if (!x) {
					pfs_diag_add(&r->diag, PFS_ERROR, "truncated-record",
						     out->off,
						     "%s payload of %llu bytes is cut short (%zu "
						     "bytes remain)",
						     pfs_record_type_name(out->type),
						     (unsigned long long)xl, have);
					r->pos = r->end == UINT64_MAX ? r->pos + have : r->end;
					goto at_end;
				}
				out->extra = x;
				out->extra_len = (size_t)xl;
				r->pos += xl;
			}
		}
		return 1;
	at_end:
		if (r->dlen > r->dpos) {
			pfs_diag_add(&r->diag, PFS_ERROR, "truncated-record", r->doff,
				     "%zu decompressed bytes at the end do not form a whole record",
				     r->dlen - r->dpos);
			r->dlen = r->dpos = 0;
		}
		r->pos = r->end == UINT64_MAX ? r->pos : r->end;
		r->end = r->pos;
		return 0;
	}
}

/* Records that describe the capture: fold them into the reader's state. */
static void absorb(struct pfs_reader *r, const struct raw *x)
{
	const uint8_t *body = x->p + 8;
	size_t len = x->size - 8u;
	struct pfs_cursor c = cur_at(r, body, len);
	switch (x->type) {
	case PFS_REC_HEADER_ATTR: {
		struct pfs_attr a;
		size_t asz;
		if (parse_attr(r, body, len, x->off + 8, &a, NULL)) {
			pfs_diag_add(&r->diag, PFS_ERROR, "bad-attr-record", x->off,
				     "ATTR record cannot be decoded; its event is unknown");
			return;
		}
		if (r->n_attrs >= MAX_ATTRS) {
			pfs_diag_add(&r->diag, PFS_ERROR, "too-many-attrs", x->off,
				     "more than %u events; the rest are ignored", MAX_ATTRS);
			return;
		}
		asz = a.size ? a.size : ATTR_VER0;
		add_attr(r, &a);
		attr_set_ids(r, r->attrs[r->n_attrs - 1], r->n_attrs - 1, body + asz,
			     (len - asz) / 8);
		return;
	}
	case PFS_REC_HEADER_FEATURE: {
		uint64_t feat = pfs_cursor_u64(&c);
		if (c.bad)
			return;
		if (feat >= 256) {
			pfs_diag_add(&r->diag, PFS_NOTE, "unknown-feature", x->off,
				     "FEATURE record with id %llu is unknown; skipped",
				     (unsigned long long)feat);
			return;
		}
		if (feat >= FEAT_KNOWN_MAX && len > 8) {
			pfs_diag_add(&r->diag, PFS_NOTE, "unknown-feature", x->off,
				     "FEATURE record with id %llu is unknown; its %zu bytes were "
				     "skipped",
				     (unsigned long long)feat, len - 8);
			return;
		}
		if (feat == 0 || feat >= FEAT_KNOWN_MAX)
			return; /* the end marker: the writer's HEADER_LAST_FEATURE, no payload */
		parse_feature(r, (unsigned)feat, body + 8, len - 8, x->off + 16);
		return;
	}
	case PFS_REC_HEADER_TRACING_DATA:
		if (x->extra)
			parse_feature(r, FEAT_TRACING_DATA, x->extra, x->extra_len,
				      x->off + x->size);
		return;
	case PFS_REC_HEADER_BUILD_ID:
		parse_build_ids(r, x->p, x->size, x->off);
		return;
	case PFS_REC_EVENT_UPDATE: {
		uint64_t type = pfs_cursor_u64(&c), id = pfs_cursor_u64(&c);
		struct pfs_attr *a;
		if (c.bad || type != 2)
			return; /* unit, scale and cpus do not concern a profile */
		a = pfs_reader_attr_by_id(r, id);
		if (a && !a->name)
			attr_set_name(a, (const char *)c.p, pfs_cursor_left(&c));
		return;
	}
	case PFS_REC_ID_INDEX: {
		uint64_t nr = pfs_cursor_u64(&c);
		if (c.bad || nr > pfs_cursor_left(&c) / 32) {
			pfs_diag_add(&r->diag, PFS_WARN, "bad-id-index", x->off,
				     "ID_INDEX record is malformed; ignored");
			return;
		}
		for (uint64_t i = 0; i < nr; i++) {
			uint64_t id = pfs_cursor_u64(&c), idx = pfs_cursor_u64(&c);
			pfs_cursor_skip(&c, 16);
			if (idx < r->n_attrs && !idmap_get(&r->ids, id))
				idmap_put(&r->ids, id, (uint32_t)idx + 1);
		}
		return;
	}
	case PFS_REC_COMPRESSED:
		decompress(r, body, len, x->off);
		return;
	case PFS_REC_COMPRESSED2: {
		uint64_t dsz = pfs_cursor_u64(&c);
		if (c.bad || dsz > pfs_cursor_left(&c)) {
			pfs_diag_add(&r->diag, PFS_ERROR, "short-record", x->off,
				     "COMPRESSED2 data size %llu exceeds its record",
				     (unsigned long long)dsz);
			return;
		}
		decompress(r, c.p, (size_t)dsz, x->off);
		return;
	}
	default:
		return;
	}
}

/* ---- the time-order queue ---- */

static bool q_less(const struct qrec *a, const struct qrec *b)
{
	return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

static void q_push(struct pfs_reader *r, const struct qrec *q)
{
	size_t i;
	PFS_GROW(r->heap, r->cap_heap, r->n_heap + 1);
	i = r->n_heap++;
	while (i) {
		size_t parent = (i - 1) / 2;
		if (!q_less(q, &r->heap[parent]))
			break;
		r->heap[i] = r->heap[parent];
		i = parent;
	}
	r->heap[i] = *q;
}

static void q_pop(struct pfs_reader *r, struct qrec *out)
{
	struct qrec last;
	size_t i = 0;
	*out = r->heap[0];
	last = r->heap[--r->n_heap];
	for (;;) {
		size_t l = 2 * i + 1, m = l;
		if (l >= r->n_heap)
			break;
		if (l + 1 < r->n_heap && q_less(&r->heap[l + 1], &r->heap[l]))
			m = l + 1;
		if (!q_less(&r->heap[m], &last))
			break;
		r->heap[i] = r->heap[m];
		i = m;
	}
	if (r->n_heap)
		r->heap[i] = last;
}

/* Copies what must outlive the current window or decompression buffer. */
static void q_own(struct qrec *q, const struct raw *x)
{
	bool must = x->compressed || x->from_stream_window;
	q->p = x->p;
	q->extra = x->extra;
	q->extra_len = x->extra_len;
	q->owned = false;
	if (!must)
		return;
	{
		uint8_t *p = pfs_xmalloc(x->size);
		memcpy(p, x->p, x->size);
		q->p = p;
	}
	if (x->extra) {
		uint8_t *e = pfs_xmalloc(x->extra_len ? x->extra_len : 1);
		memcpy(e, x->extra, x->extra_len);
		q->extra = e;
	}
	q->owned = true;
}

/* ---- decode for the caller ---- */

static void count_record(struct pfs_reader *r, uint32_t type)
{
	r->stats.total++;
	if (pfs_record_type_name(type))
		r->stats.records[type]++;
	else
		r->stats.unknown_records++;
}

static void fill_record(struct pfs_reader *r, const struct qrec *q, struct pfs_record *rec)
{
	struct pfs_cursor c = cur_at(r, q->p, 8);
	memset(rec, 0, offsetof(struct pfs_record, u));
	rec->type = pfs_cursor_u32(&c);
	rec->misc = pfs_cursor_u16(&c);
	rec->size = pfs_cursor_u16(&c);
	rec->off = q->off;
	rec->compressed = q->compressed;
	rec->body = q->p + 8;
	rec->body_len = rec->size - 8u;
	rec->extra = q->extra;
	rec->extra_len = q->extra_len;
	if (rec->type >= 64)
		return;
	rec->attr = attr_of(r, rec->type, rec->body, rec->body_len);
	if (rec->type == PFS_REC_SAMPLE) {
		if (!rec->attr) {
			pfs_diag_add(&r->diag, PFS_ERROR, "unknown-sample-id", rec->off,
				     "sample whose event id matches no event: dropped");
			rec->type = 0;
			return;
		}
		rec->attr->n_samples++;
		if (r->opts.no_decode) {
			uint64_t t = record_time(r, rec->type, rec->body, rec->body_len);
			if (t != UINT64_MAX) {
				if (!r->stats.first_time || t < r->stats.first_time)
					r->stats.first_time = t;
				if (t > r->stats.last_time)
					r->stats.last_time = t;
			}
			return;
		}
		if (!decode_sample(r, rec->attr, rec->body, rec->body_len, rec)) {
			pfs_diag_add(&r->diag, PFS_ERROR, "bad-sample", rec->off,
				     "sample body does not match its event's sample_type (%zu "
				     "bytes): dropped",
				     rec->body_len);
			rec->attr->n_samples--;
			rec->type = 0;
			return;
		}
		if (rec->sid.has & PFS_S_TIME) {
			uint64_t t = rec->sid.time;
			if (!r->stats.first_time || t < r->stats.first_time)
				r->stats.first_time = t;
			if (t > r->stats.last_time)
				r->stats.last_time = t;
		}
		return;
	}
	if ((rec->type == PFS_REC_LOST || rec->type == PFS_REC_LOST_SAMPLES) &&
	    (!r->lost_off || rec->off < r->lost_off))
		r->lost_off = rec->off;
	if (rec->type == PFS_REC_LOST) {
		struct pfs_cursor b = cur_at(r, rec->body, rec->body_len);
		pfs_cursor_u64(&b);
		r->stats.lost_events += pfs_cursor_u64(&b);
	} else if (rec->type == PFS_REC_LOST_SAMPLES) {
		struct pfs_cursor b = cur_at(r, rec->body, rec->body_len);
		uint64_t n = pfs_cursor_u64(&b);
		r->stats.lost_samples += n;
		if (rec->attr)
			rec->attr->n_lost += n;
	}
	if (r->opts.no_decode)
		return;
	if (!decode_other(r, rec)) {
		pfs_diag_add(&r->diag, PFS_ERROR, "short-record", rec->off,
			     "%s record of %u bytes is too short for its fields: dropped",
			     pfs_record_type_name(rec->type), rec->size);
		rec->type = 0;
	}
}

int pfs_reader_next(struct pfs_reader *r, struct pfs_record *rec, struct pfs_err *err)
{
	qrec_release(&r->cur);
	for (;;) {
		struct raw x = {0};
		struct qrec q;
		int rc;
		/* release queued records whose time has come */
		if (r->n_heap && (r->flushing_all || r->heap[0].time <= r->flush_limit)) {
			/* a record dropped on the previous turn may still own its copy */
			qrec_release(&r->cur);
			q_pop(r, &r->cur);
			if (r->cur.time < r->last_out_time)
				r->stats.out_of_order++;
			else
				r->last_out_time = r->cur.time;
			fill_record(r, &r->cur, rec);
			if (rec->type == 0)
				continue;
			return 1;
		}
		if (r->flushing_all) {
			if (!r->ended)
				pfs_diag_lost(&r->diag, pfs_stats_lost(&r->stats),
					      r->lost_off ? r->lost_off : PFS_NO_OFF);
			r->ended = true;
			return 0;
		}
		rc = raw_next(r, &x, err);
		if (rc < 0)
			return rc;
		r->stats.bytes_read = r->pos;
		if (r->unmap && r->map && r->pos - r->release_at >= RELEASE_STEP)
			release_consumed(r);
		if (rc == 0) {
			if (r->stats.out_of_order)
				pfs_diag_addn(
				    &r->diag, PFS_NOTE, "out-of-order", 1, PFS_NO_OFF,
				    "%llu records were out of time order in the file (perf "
				    "wrote them late); perfsight kept them and put them in order",
				    (unsigned long long)r->stats.out_of_order);
			r->flushing_all = true;
			continue;
		}
		count_record(r, x.type);
		if (!pfs_record_type_name(x.type)) {
			pfs_diag_add(&r->diag, PFS_NOTE, "unknown-record-type", x.off,
				     "record type %u is unknown; skipped by its size (%u bytes)",
				     x.type, x.size);
			continue;
		}
		if (x.type >= 64) {
			absorb(r, &x);
			if (x.type == PFS_REC_FINISHED_ROUND) {
				/* two-round rule: release what the previous round had seen */
				r->flush_limit = r->next_flush;
				r->next_flush = r->max_time;
			}
		}
		memset(&q, 0, sizeof(q));
		q.off = x.off;
		q.compressed = x.compressed;
		q.time = (r->opts.file_order || x.type >= 64)
			     ? UINT64_MAX
			     : record_time(r, x.type, x.p + 8, x.size - 8u);
		if (q.time == UINT64_MAX) {
			/* no time (or file order): straight out, in file order */
			q.p = x.p;
			q.extra = x.extra;
			q.extra_len = x.extra_len;
			qrec_release(&r->cur);
			r->cur = q;
			fill_record(r, &r->cur, rec);
			if (rec->type == 0 && x.type != 0)
				continue;
			return 1;
		}
		q.seq = r->seq++;
		if (q.time > r->max_time)
			r->max_time = q.time;
		q_own(&q, &x);
		q_push(r, &q);
	}
}
