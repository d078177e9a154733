/*
 * pfs_writer: builds perf.data files for tests, byte for byte as perf lays them out, so that
 * the reader can be checked against inputs whose every field is known.
 *
 * A writer is created with its events (struct pfs_attr: the fields, attr.size, name and ids)
 * and the header features (struct pfs_info: the bits of info->features say which feature
 * sections to write; a bit the writer does not know gets an opaque 16-byte payload). Both
 * are borrowed until pfs_w_finish(). Records are then appended in file order, and
 * pfs_w_finish() hands back the whole file in a malloc'ed buffer the caller frees.
 *
 * Options: the other byte order (every field swapped, the attr flag bitfield bit-reversed
 * within each byte as a big-endian perf writes it), pipe mode (HEADER_ATTR, HEADER_FEATURE,
 * HEADER_TRACING_DATA with its payload outside header.size, HEADER_BUILD_ID records instead of
 * sections, an EVENT_UPDATE name record per named event), zstd compression (kernel records go through one continuous stream cut into
 * COMPRESSED records every `chunk` bytes, so records straddle chunks), and a killed perf
 * (data.size 0, no feature sections).
 *
 * Records are built with pfs_w_begin(), the pfs_w_u8..pfs_w_str field writers and
 * pfs_w_end(), which appends the sample_id trailer the record's attr asks for; the helpers
 * below do that for each record kind. The writer is test code: misuse (a record over 65535
 * bytes, an attr index out of range) aborts.
 */
#ifndef PFS_WRITER_H
#define PFS_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "perfdata.h"

struct pfs_w_opts {
	bool swap;           /* write the byte order that is not the host's */
	bool pipe;           /* pipe mode: 16-byte header, everything as records */
	bool compressed;     /* kernel records go into COMPRESSED records */
	bool compressed2;    /* ... into COMPRESSED2 records (with compressed) */
	size_t chunk;        /* uncompressed bytes per COMPRESSED record; 0 means 4096 */
	bool data_size_zero; /* file mode: a killed perf (data.size 0, no features) */
	uint64_t attr_size;  /* file mode attrs entry size; 0 means the largest attr.size + 16 */
};

struct pfs_w;

/* Starts a file. attrs[i].size 0 writes size 0 with a 64-byte attr; info may be NULL. */
struct pfs_w *pfs_w_new(const struct pfs_w_opts *o, const struct pfs_attr *attrs, size_t n_attrs,
			const struct pfs_info *info);
/* Where things went in a file-mode file (zeros in pipe mode). */
struct pfs_w_layout {
	uint64_t attrs_off, attr_size, data_off, data_size, feat_table_off;
	unsigned n_features; /* entries in the feature table */
};

/* Returns the file (malloc'ed, *len bytes) and frees the writer; layout may be NULL. */
uint8_t *pfs_w_finish(struct pfs_w *w, size_t *len, struct pfs_w_layout *layout);
/* As pfs_w_finish, writing the file to path; returns 0 or -1 with errno. */
int pfs_w_finish_file(struct pfs_w *w, const char *path);

/* Record builder: header, fields in the file's byte order, then the trailer of attr. */
void pfs_w_begin(struct pfs_w *w, uint32_t type, uint16_t misc);
void pfs_w_u8(struct pfs_w *w, uint8_t v);
void pfs_w_u16(struct pfs_w *w, uint16_t v);
void pfs_w_u32(struct pfs_w *w, uint32_t v);
void pfs_w_u64(struct pfs_w *w, uint64_t v);
/* Bytes as they are (memory images, RAW payloads). */
void pfs_w_bytes(struct pfs_w *w, const void *p, size_t n);
/* A NUL-terminated string zero-padded to a multiple of 8 bytes. */
void pfs_w_str(struct pfs_w *w, const char *s);
/*
 * Ends the record. attr >= 0: a kernel record of that event, with the sample_id trailer when
 * the attr has sample_id_all (sid may be NULL for zeros). attr < 0: a perf-tool record.
 */
void pfs_w_end(struct pfs_w *w, int attr, const struct pfs_sample_id *sid);
/* Ends a tool record whose payload of n bytes follows outside header.size (66, 71). */
void pfs_w_end_extra(struct pfs_w *w, const void *extra, size_t n);

/* One record of each kind; sid gives the sample_id fields (trailer or sample body). */
void pfs_w_sample(struct pfs_w *w, int attr, uint16_t misc, const struct pfs_sample_id *sid,
		  const struct pfs_sample *s);
void pfs_w_mmap(struct pfs_w *w, int attr, uint16_t misc, const struct pfs_sample_id *sid,
		const struct pfs_rec_mmap *m);
/* MMAP2; with misc & PFS_MISC_MMAP_BUILD_ID the build id replaces maj/min/ino. */
void pfs_w_mmap2(struct pfs_w *w, int attr, uint16_t misc, const struct pfs_sample_id *sid,
		 const struct pfs_rec_mmap *m);
void pfs_w_comm(struct pfs_w *w, int attr, const struct pfs_sample_id *sid,
		const struct pfs_rec_comm *c);
/* FORK or EXIT */
void pfs_w_task(struct pfs_w *w, uint32_t type, int attr, const struct pfs_sample_id *sid,
		const struct pfs_rec_task *t);
void pfs_w_lost(struct pfs_w *w, int attr, const struct pfs_sample_id *sid, uint64_t id,
		uint64_t lost);
void pfs_w_lost_samples(struct pfs_w *w, int attr, const struct pfs_sample_id *sid,
			uint64_t lost);
void pfs_w_switch(struct pfs_w *w, int attr, const struct pfs_sample_id *sid,
		  const struct pfs_rec_switch *s);
/* THROTTLE or UNTHROTTLE */
void pfs_w_throttle(struct pfs_w *w, uint32_t type, int attr, const struct pfs_sample_id *sid,
		    uint64_t time, uint64_t id, uint64_t stream_id);
/* READ: one read_format block as the attr's read_format says, from values/n */
void pfs_w_read(struct pfs_w *w, int attr, const struct pfs_sample_id *sid, uint32_t pid,
		uint32_t tid, uint64_t enabled, uint64_t running, const struct pfs_read_value *v,
		size_t n);
void pfs_w_finished_round(struct pfs_w *w);
/*
 * The remaining kernel and tool kinds with fixed test contents (values derived from seed),
 * so a reader test can count them and check their trailers.
 */
void pfs_w_other_kernel(struct pfs_w *w, uint32_t type, int attr, const struct pfs_sample_id *sid,
			uint64_t seed);
void pfs_w_other_tool(struct pfs_w *w, uint32_t type, uint64_t seed);
/* A record type nobody knows, with body_len bytes of body. */
void pfs_w_unknown(struct pfs_w *w, uint32_t type, size_t body_len);

/* Stores v at off in buf as the file (swap or not) would. */
void pfs_w_patch_u64(uint8_t *buf, size_t off, uint64_t v, bool swap);
void pfs_w_patch_u32(uint8_t *buf, size_t off, uint32_t v, bool swap);

#endif
