/*
 * pyprof: reads what Python profilers already wrote (pyinstrument session files, its JSON and
 * HTML renderings, speedscope JSON, folded stacks, and directories of per-request dumps) into
 * a struct pfs_profile, streaming one pfs_sample_row per sample or per leaf weight.
 *
 * Formats are told apart by content (pfs_pyprof_detect), never by file name. JSON is parsed
 * with yajl's streaming parser from a fixed-size read buffer, so memory grows with distinct
 * frames and stacks, never with the file: a 200 MB .pyisession needs no whole-file tree.
 * docs/inputs.md describes each format and how it maps.
 *
 * Mapping: every Python frame becomes a frame of kind PFS_FK_PYINSTRUMENT (name = function,
 * file, line = first line of the code object when the source gives it); pyinstrument's
 * synthetic frames ([await], [out-of-context], the <thread> root) become PFS_FK_PSEUDO;
 * [self] is folded into its parent. Rows carry pid 0, tid = the capture's number (1-based;
 * one per file of a merged directory, one per profile of a speedscope file), cpu UINT32_MAX,
 * and weight in wall seconds for pyinstrument sources (period = ns) or in samples otherwise
 * (period = count). Each capture's thread spans the file's start_time to start_time + duration
 * (ns since the epoch) when the file gives both, so a database keeps each request's duration.
 *
 * Ownership: the caller owns the profile and the meta (pfs_pyprof_meta_release). On error
 * nothing in meta is left allocated, but rows already streamed and strings/frames/paths already
 * interned stay: the caller discards the profile and whatever its sink stored (e.g. rolls back).
 * Only this module uses yajl.
 */
#ifndef PFS_PYPROF_H
#define PFS_PYPROF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "err.h"
#include "profile.h"

enum pfs_pyprof_kind {
	PFS_PYPROF_NONE = 0,	   /* not a file this module reads */
	PFS_PYPROF_SESSION = 1,	   /* pyinstrument .pyisession (Session.save), 3.x-5.x */
	PFS_PYPROF_JSON = 2,	   /* pyinstrument JSONRenderer output: root_frame tree */
	PFS_PYPROF_HTML_DATA = 3,  /* pyinstrument 5.x HTML renderer data: {session, frame_tree} */
	PFS_PYPROF_HTML = 4,	   /* pyinstrument HTML page with one of the above embedded */
	PFS_PYPROF_SPEEDSCOPE = 5, /* speedscope file (sampled or evented profiles) */
	PFS_PYPROF_FOLDED = 6,	   /* folded stacks: "a;b;c COUNT" lines */
	PFS_PYPROF_DIR = 7,	   /* a directory of any of the above */
};

enum pfs_pyprof_unit {
	PFS_PYPROF_UNIT_NONE = 0,
	PFS_PYPROF_SECONDS = 1, /* weights are wall seconds */
	PFS_PYPROF_SAMPLES = 2, /* weights are sample counts */
};

/* What one file said about itself. Doubles are NAN and counts UINT64_MAX when not given. */
struct pfs_pyprof_capture {
	enum pfs_pyprof_kind kind; /* the file's own kind (HTML for a page, not what it embeds) */
	enum pfs_pyprof_unit unit;
	int version;	   /* pyinstrument major version inferred from keys: 3, 4, 5; 0 unknown */
	double start_time; /* Unix epoch seconds */
	double duration;   /* wall seconds */
	double cpu_time;   /* process CPU seconds over the duration (all threads) */
	uint64_t sample_count; /* as declared by the file */
	uint64_t rows;	       /* rows streamed for this capture */
	double weight;	       /* sum of those rows' weights */
	uint32_t program;      /* string id: target_description or program, 0 if none */
	uint32_t label;	       /* string id: the file name, or opts->label */
	uint32_t tid;	       /* the tid its rows carry (the first, for multi-thread speedscope) */
	uint32_t event;	       /* profile event index its rows carry */
	uint32_t sys_prefix[8]; /* string ids of sys_prefixes (library vs application code) */
	unsigned n_sys_prefix;
};

struct pfs_pyprof_meta {
	enum pfs_pyprof_kind kind; /* of the path given to load */
	enum pfs_pyprof_unit unit; /* NONE when a merged directory mixes seconds and samples */
	uint32_t event;		   /* event of the first capture (each capture has its own) */
	struct pfs_pyprof_capture *caps; /* one per file, in load order */
	size_t n_caps;
	uint64_t rows;
	double weight; /* sum of all rows' weights; NAN when units are mixed */
};

struct pfs_pyprof_opts {
	bool merge;	   /* a directory loads as one merged profile (else PFS_EUSAGE) */
	const char *label; /* capture label of a single file; NULL: its file name */
};

/* One profile file of a directory, after duplicate renderings are dropped. */
struct pfs_pyprof_entry {
	char *path;  /* dir/name */
	char *label; /* name */
	enum pfs_pyprof_kind kind;
};

struct pfs_pyprof_dir {
	struct pfs_pyprof_entry *v;
	size_t n;
};

/*
 * What kind of input path is, from its content (reads at most what it needs).
 * Returns an enum pfs_pyprof_kind (PFS_PYPROF_NONE for anything else, including malformed
 * JSON) or PFS_EIO when path cannot be read.
 */
int pfs_pyprof_detect(const char *path, struct pfs_err *err);

/*
 * Lists the profile files of directory path, sorted by name, one per request: files of one
 * stem ("0001-cpu.pyisession", "0001-cpu.json") are renderings of one capture and only the
 * richest is kept (session > HTML data > speedscope > HTML > JSON > folded), the others
 * counted as diagnostic "duplicate-rendering". A file that begins as JSON is kept even when
 * it cannot be placed (cut short, broken): loading it fails naming the offset. Other files are
 * counted as "not-a-profile".
 * Returns the number of entries (> 0), PFS_EIO, or PFS_EFORMAT when there is none.
 * Release out with pfs_pyprof_dir_release() (also after an error).
 */
int pfs_pyprof_dir_scan(const char *path, struct pfs_pyprof_dir *out, struct pfs_diag *diag,
			struct pfs_err *err);
void pfs_pyprof_dir_release(struct pfs_pyprof_dir *d);

/*
 * Loads path (a file of any kind above, or with opts->merge a directory) into prof, calling
 * cb(payload, row) for each sample row, and describes it in meta_out (may be NULL).
 * opts may be NULL (defaults). Recoverable oddities (unknown keys, frame strings off the
 * grammar, a declared sample_count that does not match) go to diag.
 * Returns 0; PFS_EIO; PFS_EFORMAT for malformed input (message names the file and the byte
 * offset or key); PFS_EUNSUPP for an unknown version or profile type; PFS_ELIMIT for numbers,
 * nesting or lines beyond sane bounds; PFS_EUSAGE for a directory without opts->merge; or the
 * negative code cb returned.
 */
int pfs_pyprof_load(const char *path, const struct pfs_pyprof_opts *opts, struct pfs_profile *prof,
		    pfs_sample_cb cb, void *payload, struct pfs_pyprof_meta *meta_out,
		    struct pfs_diag *diag, struct pfs_err *err);
void pfs_pyprof_meta_release(struct pfs_pyprof_meta *m);

/*
 * Whether the leaf of call path path_id is application code by pyinstrument's rule: a Python
 * frame whose file is not under one of the capture's sys_prefixes and is not a <pseudo> file
 * ("<ipython-input-..." is application code; "<string>" and "<stdin>" take their caller's
 * answer, true at the root). Without sys_prefixes (speedscope, folded, pyinstrument < 5) only
 * the pseudo-file part applies. False for pseudo frames and the root.
 */
bool pfs_pyprof_is_app(const struct pfs_profile *p, const struct pfs_pyprof_capture *c,
		       uint32_t path_id);

/* Name of a kind ("pyisession", "speedscope", ...). */
const char *pfs_pyprof_kind_name(enum pfs_pyprof_kind k);

#endif
