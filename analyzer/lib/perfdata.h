/*
 * perfdata: reads perf.data exactly as perf wrote it and hands out records one at a time.
 *
 * Handles file mode and pipe mode (header size 16, records to EOF, attrs and features as
 * records), both byte orders (detected by the magic; every field is swapped, the attr flag
 * bitfield bit-reversed per byte as perf does), attr ABI sizes VER0 (64) to anything newer
 * (unknown tail ignored), the feature sections a report needs, COMPRESSED/COMPRESSED2 records
 * (one continuous zstd stream, records may straddle two compressed chunks), and the
 * FINISHED_ROUND ordering rule; zst decompresses.
 *
 * Reading model (pull iterator):
 *
 *     pfs_reader_open()  -> header, attrs and (file mode) feature sections are parsed
 *     pfs_reader_next()  -> 1 and a record / 0 at the end / <0 on a fatal error
 *     pfs_reader_close()
 *
 * In pipe mode the attrs, event names and features arrive as records; pfs_reader_next()
 * absorbs them into the same structures (and also returns them), so pfs_reader_info() is
 * complete only after they have been read (perf writes them first).
 *
 * Invariants:
 *  1. A record handed out is borrowed: its pointers are valid until the next
 *     pfs_reader_next() or pfs_reader_close().
 *  2. rec->off is the byte offset of the record in the file; a record that came out of a
 *     compressed chunk carries the offset of that COMPRESSED record and rec->compressed = 1.
 *  3. In time order (the default), kernel records are queued and released by perf's two-round
 *     rule: at each FINISHED_ROUND everything not later than the newest time seen at the
 *     previous FINISHED_ROUND is released in (time, file order). Records without a time and
 *     user (perf-tool) records are released at once, in file order. Memory is bounded by what
 *     two rounds hold.
 *  4. Bad input never crashes and never loops: a header or attr that cannot be made sense of
 *     is a fatal error naming the byte offset; a bad record past the header is a counted
 *     diagnostic (see pfs_reader_diag()) and reading stops at the last good record when the
 *     stream cannot be resynchronised.
 */
#ifndef PFS_PERFDATA_H
#define PFS_PERFDATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "err.h"

/* PERF_RECORD_* types, kernel (1-22) and perf-tool (64-86) */
enum {
	PFS_REC_MMAP = 1,
	PFS_REC_LOST = 2,
	PFS_REC_COMM = 3,
	PFS_REC_EXIT = 4,
	PFS_REC_THROTTLE = 5,
	PFS_REC_UNTHROTTLE = 6,
	PFS_REC_FORK = 7,
	PFS_REC_READ = 8,
	PFS_REC_SAMPLE = 9,
	PFS_REC_MMAP2 = 10,
	PFS_REC_AUX = 11,
	PFS_REC_ITRACE_START = 12,
	PFS_REC_LOST_SAMPLES = 13,
	PFS_REC_SWITCH = 14,
	PFS_REC_SWITCH_CPU_WIDE = 15,
	PFS_REC_NAMESPACES = 16,
	PFS_REC_KSYMBOL = 17,
	PFS_REC_BPF_EVENT = 18,
	PFS_REC_CGROUP = 19,
	PFS_REC_TEXT_POKE = 20,
	PFS_REC_AUX_OUTPUT_HW_ID = 21,
	PFS_REC_CALLCHAIN_DEFERRED = 22,
	PFS_REC_KERNEL_MAX = 23,

	PFS_REC_HEADER_ATTR = 64,
	PFS_REC_HEADER_EVENT_TYPE = 65,
	PFS_REC_HEADER_TRACING_DATA = 66,
	PFS_REC_HEADER_BUILD_ID = 67,
	PFS_REC_FINISHED_ROUND = 68,
	PFS_REC_ID_INDEX = 69,
	PFS_REC_AUXTRACE_INFO = 70,
	PFS_REC_AUXTRACE = 71,
	PFS_REC_AUXTRACE_ERROR = 72,
	PFS_REC_THREAD_MAP = 73,
	PFS_REC_CPU_MAP = 74,
	PFS_REC_STAT_CONFIG = 75,
	PFS_REC_STAT = 76,
	PFS_REC_STAT_ROUND = 77,
	PFS_REC_EVENT_UPDATE = 78,
	PFS_REC_TIME_CONV = 79,
	PFS_REC_HEADER_FEATURE = 80,
	PFS_REC_COMPRESSED = 81,
	PFS_REC_FINISHED_INIT = 82,
	PFS_REC_COMPRESSED2 = 83,
	PFS_REC_BPF_METADATA = 84,
	PFS_REC_SCHEDSTAT_CPU = 85,
	PFS_REC_SCHEDSTAT_DOMAIN = 86,
	PFS_REC_MAX = 87,
};

/* PERF_SAMPLE_* bits */
enum {
	PFS_S_IP = 1u << 0,
	PFS_S_TID = 1u << 1,
	PFS_S_TIME = 1u << 2,
	PFS_S_ADDR = 1u << 3,
	PFS_S_READ = 1u << 4,
	PFS_S_CALLCHAIN = 1u << 5,
	PFS_S_ID = 1u << 6,
	PFS_S_CPU = 1u << 7,
	PFS_S_PERIOD = 1u << 8,
	PFS_S_STREAM_ID = 1u << 9,
	PFS_S_RAW = 1u << 10,
	PFS_S_BRANCH_STACK = 1u << 11,
	PFS_S_REGS_USER = 1u << 12,
	PFS_S_STACK_USER = 1u << 13,
	PFS_S_WEIGHT = 1u << 14,
	PFS_S_DATA_SRC = 1u << 15,
	PFS_S_IDENTIFIER = 1u << 16,
	PFS_S_TRANSACTION = 1u << 17,
	PFS_S_REGS_INTR = 1u << 18,
	PFS_S_PHYS_ADDR = 1u << 19,
	PFS_S_AUX = 1u << 20,
	PFS_S_CGROUP = 1u << 21,
	PFS_S_DATA_PAGE_SIZE = 1u << 22,
	PFS_S_CODE_PAGE_SIZE = 1u << 23,
	PFS_S_WEIGHT_STRUCT = 1u << 24,
};

/* read_format bits */
enum {
	PFS_FMT_TOTAL_TIME_ENABLED = 1,
	PFS_FMT_TOTAL_TIME_RUNNING = 2,
	PFS_FMT_ID = 4,
	PFS_FMT_GROUP = 8,
	PFS_FMT_LOST = 16,
};

/* attr flag bits (host order after reading) */
#define PFS_ATTR_FLAG(n) (1ull << (n))
enum {
	PFS_AF_FREQ = 10,
	PFS_AF_SAMPLE_ID_ALL = 18,
	PFS_AF_EXCLUDE_CALLCHAIN_USER = 22,
	PFS_AF_USE_CLOCKID = 25,
	PFS_AF_CONTEXT_SWITCH = 26,
};

/* callchain context markers */
#define PFS_CONTEXT_HV ((uint64_t)-32)
#define PFS_CONTEXT_KERNEL ((uint64_t)-128)
#define PFS_CONTEXT_USER ((uint64_t)-512)
#define PFS_CONTEXT_USER_DEFERRED ((uint64_t)-640)
#define PFS_CONTEXT_GUEST ((uint64_t)-2048)
#define PFS_CONTEXT_GUEST_KERNEL ((uint64_t)-2176)
#define PFS_CONTEXT_GUEST_USER ((uint64_t)-2560)
#define PFS_CONTEXT_MAX ((uint64_t)-4095)

/* misc bits */
#define PFS_MISC_CPUMODE_MASK 7u
#define PFS_MISC_KERNEL 1u
#define PFS_MISC_USER 2u
#define PFS_MISC_HYPERVISOR 3u
#define PFS_MISC_GUEST_KERNEL 4u
#define PFS_MISC_GUEST_USER 5u
#define PFS_MISC_COMM_EXEC (1u << 13)
#define PFS_MISC_SWITCH_OUT (1u << 13)
#define PFS_MISC_SWITCH_OUT_PREEMPT (1u << 14)
#define PFS_MISC_MMAP_BUILD_ID (1u << 14)
#define PFS_MISC_BUILD_ID_SIZE (1u << 15)

/* One event (perf_event_attr plus what perfsight derives from it). */
struct pfs_attr {
	uint32_t type;
	uint32_t size; /* attr.size as written (0 is read as 64) */
	uint64_t config;
	uint64_t sample_period; /* sample_freq when flags has PFS_AF_FREQ */
	uint64_t sample_type;
	uint64_t read_format;
	uint64_t flags; /* bitfield, host bit order */
	uint32_t wakeup_events;
	uint32_t bp_type;
	uint64_t config1;
	uint64_t config2;
	uint64_t branch_sample_type;
	uint64_t sample_regs_user;
	uint32_t sample_stack_user;
	int32_t clockid;
	uint64_t sample_regs_intr;
	uint32_t aux_watermark;
	uint16_t sample_max_stack;
	uint32_t aux_sample_size;
	uint64_t sig_data;
	uint64_t config3;

	char *name;    /* from EVENT_DESC / EVENT_UPDATE, else synthesized ("cpu-clock") */
	uint64_t *ids; /* event ids of this attr */
	size_t n_ids;
	uint64_t n_samples; /* SAMPLE records attributed to it so far */
	uint64_t n_lost;    /* LOST_SAMPLES attributed to it */
	size_t trailer_len; /* bytes of sample_id trailer on non-sample records */
};

/* The sample_id fields of a record (SAMPLE body or non-sample trailer); has says which. */
struct pfs_sample_id {
	uint64_t has; /* PFS_S_TID | PFS_S_TIME | ... present in this record */
	uint32_t pid, tid;
	uint64_t time;
	uint64_t id;
	uint64_t stream_id;
	uint32_t cpu;
};

struct pfs_read_value {
	uint64_t value, id, lost;
};

struct pfs_branch_entry {
	uint64_t from, to, flags;
};

/*
 * A decoded PERF_RECORD_SAMPLE. Arrays are converted to host order in reader-owned scratch
 * (borrowed, invariant 1). Fields whose bit is absent from the attr's sample_type are 0.
 */
struct pfs_sample {
	uint64_t ip;
	uint64_t addr;
	uint64_t period;
	/* READ */
	uint64_t read_time_enabled, read_time_running;
	const struct pfs_read_value *read_values;
	uint64_t n_read_values;
	/* CALLCHAIN, context markers included */
	const uint64_t *callchain;
	uint64_t n_callchain;
	/* RAW: file byte order, as libtraceevent wants it */
	const uint8_t *raw;
	uint32_t raw_size;
	/* BRANCH_STACK */
	const struct pfs_branch_entry *branches;
	uint64_t n_branches;
	uint64_t branch_hw_idx;
	bool has_hw_idx;
	const uint64_t *branch_counters; /* n_branches entries or NULL */
	/* REGS_USER: abi 0 means none were captured */
	uint64_t regs_user_abi;
	const uint64_t *regs_user; /* popcount(attr->sample_regs_user) entries */
	uint32_t n_regs_user;
	/* STACK_USER: bytes in file order (it is memory), dyn_size valid bytes */
	const uint8_t *stack_user;
	uint64_t stack_user_size;
	uint64_t stack_user_dyn_size;
	/* WEIGHT / WEIGHT_STRUCT (full u64; struct: var1 = low 32 bits) */
	uint64_t weight;
	uint64_t data_src;
	uint64_t transaction;
	uint64_t regs_intr_abi;
	const uint64_t *regs_intr;
	uint32_t n_regs_intr;
	uint64_t phys_addr;
	uint64_t cgroup;
	uint64_t data_page_size;
	uint64_t code_page_size;
	const uint8_t *aux;
	uint64_t aux_size;
};

struct pfs_rec_mmap {
	uint32_t pid, tid;
	uint64_t start, len, pgoff;
	/* MMAP2 only */
	uint32_t maj, min;
	uint64_t ino, ino_generation;
	uint8_t build_id[20];
	uint8_t build_id_size; /* 0 unless misc has PFS_MISC_MMAP_BUILD_ID */
	uint32_t prot, flags;
	const char *filename; /* NUL-terminated inside the record (reader-checked) */
};

struct pfs_rec_comm {
	uint32_t pid, tid;
	const char *comm;
	bool exec;
};

struct pfs_rec_task { /* FORK and EXIT */
	uint32_t pid, ppid, tid, ptid;
	uint64_t time;
};

struct pfs_rec_switch {
	bool out, preempt;
	bool cpu_wide;
	uint32_t next_prev_pid, next_prev_tid; /* cpu_wide only */
};

struct pfs_rec_lost {
	uint64_t id, lost; /* LOST: id of the event; LOST_SAMPLES: id is 0 */
};

/* One record as handed out by pfs_reader_next(). */
struct pfs_record {
	uint32_t type;
	uint16_t misc;
	uint16_t size;	      /* header.size */
	uint64_t off;	      /* invariant 2 */
	bool compressed;      /* came out of a COMPRESSED record */
	const uint8_t *body;  /* bytes after the 8-byte header, file byte order */
	size_t body_len;      /* header.size - 8 */
	const uint8_t *extra; /* TRACING_DATA payload outside header.size (an AUXTRACE
				 payload is skipped: perfsight decodes no AUX data) */
	size_t extra_len;
	struct pfs_attr *attr; /* the event this record belongs to (NULL for user records) */
	struct pfs_sample_id sid;
	union {
		struct pfs_sample sample;
		struct pfs_rec_mmap mmap; /* MMAP and MMAP2 */
		struct pfs_rec_comm comm;
		struct pfs_rec_task task;
		struct pfs_rec_switch sw;
		struct pfs_rec_lost lost;
	} u;
};

struct pfs_build_id {
	int32_t pid;
	uint8_t id[20];
	uint8_t size;
	uint16_t cpumode;
	char *filename;
};

/* What the header and feature sections said. Strings are owned by the reader; NULL if absent. */
struct pfs_info {
	bool pipe;
	bool swapped;	 /* written in the other byte order */
	bool big_endian; /* the file's byte order */
	uint64_t file_size;
	uint64_t data_off, data_size; /* file mode */
	bool data_size_zero;	      /* perf was killed: read to EOF */
	uint64_t features[4];	      /* feature bitmap (file mode) or features seen (pipe) */
	char *hostname, *osrelease, *version, *arch, *cpudesc, *cpuid;
	uint32_t nr_cpus_avail, nr_cpus_online;
	uint64_t total_mem_kb;
	char **cmdline;
	size_t n_cmdline;
	uint64_t clock_resolution_ns; /* CLOCKID feature */
	bool has_clock_data;
	uint32_t clockid;
	uint64_t wall_clock_ns, clockid_time_ns;
	bool has_sample_time;
	uint64_t first_sample_time, last_sample_time; /* SAMPLE_TIME feature */
	bool compressed;
	uint32_t comp_type, comp_level, comp_ratio, comp_mmap_len;
	struct pfs_build_id *build_ids;
	size_t n_build_ids;
	const uint8_t *tracing_data; /* the blob, file-owned; NULL if none */
	size_t tracing_data_len;
	struct { /* PMU_MAPPINGS */
		uint32_t type;
		char *name;
	} * pmus;
	size_t n_pmus;
};

/* Statistics gathered while reading (what perf report --stats shows, and more). */
struct pfs_stats {
	uint64_t records[PFS_REC_MAX];	/* by type, decompressed records included */
	uint64_t unknown_records;	/* types we do not know, skipped by size */
	uint64_t total;			/* every record counted in records[] and unknown */
	uint64_t lost_events;		/* sum of LOST.lost */
	uint64_t lost_samples;		/* sum of LOST_SAMPLES.lost */
	uint64_t first_time, last_time; /* over samples that carry a time */
	uint64_t compressed_bytes, decompressed_bytes;
	uint64_t out_of_order; /* records that arrived after a later one was released */
	uint64_t bytes_read;   /* progress: bytes of the stream consumed */
};

/*
 * The samples lost while recording, the one figure every command shows: perf 6.x counts each
 * loss twice, in LOST records (ring-buffer overflows, all record types) and in the LOST_SAMPLES
 * records it writes per event at the end; an older perf writes only the first. The larger of
 * the two sums. At the end of the stream the reader adds it as the "lost-samples" diagnostic
 * (pfs_diag_lost), its offset the first LOST or LOST_SAMPLES record's.
 */
uint64_t pfs_stats_lost(const struct pfs_stats *st);

struct pfs_reader_opts {
	bool file_order; /* hand records out in file order, not time order */
	bool no_decode;	 /* do not decode record bodies (count only): the stats pass */
};

struct pfs_reader;

/*
 * The capture a directory stands for: "DIR/perf.data" (to free) when path is a directory
 * holding a regular file perf.data (as `perfsight record -o DIR` writes), else NULL.
 */
char *pfs_reader_dir_capture(const char *path);

/*
 * Opens path ("-" for standard input, pipe mode only; a directory: its perf.data) and reads the
 * header, the attrs and the feature sections. Returns 0 and *out, or a negative code with err
 * naming the offset. opts may be NULL for defaults.
 */
int pfs_reader_open(struct pfs_reader **out, const char *path, const struct pfs_reader_opts *opts,
		    struct pfs_err *err) PFS_MUST_CHECK;
/* As pfs_reader_open, over a caller-owned buffer that must outlive the reader. */
int pfs_reader_open_mem(struct pfs_reader **out, const void *buf, size_t len,
			const struct pfs_reader_opts *opts, struct pfs_err *err) PFS_MUST_CHECK;
/*
 * Hands out the next record (invariant 1). Returns 1 with *rec filled, 0 at the end of the
 * data, or a negative code on an I/O error. Malformed records become diagnostics.
 */
int pfs_reader_next(struct pfs_reader *r, struct pfs_record *rec,
		    struct pfs_err *err) PFS_MUST_CHECK;
void pfs_reader_close(struct pfs_reader *r);

/* Borrowed views, valid until pfs_reader_close(). */
const struct pfs_info *pfs_reader_info(const struct pfs_reader *r);
const struct pfs_stats *pfs_reader_stats(const struct pfs_reader *r);
struct pfs_diag *pfs_reader_diag(struct pfs_reader *r);
size_t pfs_reader_n_attrs(const struct pfs_reader *r);
struct pfs_attr *pfs_reader_attr(const struct pfs_reader *r, size_t i);
/* The attr an event id belongs to, or NULL. */
struct pfs_attr *pfs_reader_attr_by_id(const struct pfs_reader *r, uint64_t id);
/* Index of attr in the reader's list. */
size_t pfs_reader_attr_index(const struct pfs_reader *r, const struct pfs_attr *a);

/* perf's name of a record type as perf report --stats prints it ("MMAP2"), NULL if unknown */
const char *pfs_record_type_name(uint32_t type);
/* perf's name of a feature bit ("hostname"), NULL if unknown */
const char *pfs_feature_name(unsigned bit);
/* A readable name for an attr without one ("cpu-clock", "cycles", "raw 0x1234") into buf. */
const char *pfs_attr_default_name(const struct pfs_attr *a, char *buf, size_t len);
/* Decodes a read_format / sample body etc. is internal; this counts set bits below bit. */
static inline unsigned pfs_popcount64(uint64_t v)
{
	return (unsigned)__builtin_popcountll(v);
}

#endif
