/*
 * ingest: a perf.data capture turned into a profile and a stream of samples.
 *
 * pfs_ingest_perf() reads the capture with the reader (time order), keeps processes and maps
 * with procmap, and for each sample of the selected event builds its stack, leaf first:
 * the kernel part from the callchain (context markers decide kernel or user), the user part
 * unwound from the registers and stack dump when the event recorded them (--call-graph dwarf),
 * else from the callchain (frame pointers). Every address becomes frames through symbols
 * (JIT maps, kernel symbols; inline frames for DWARF-unwound addresses: like perf 6.1,
 * callchain addresses are named by their symbol only, so frame-pointer stacks read as perf's
 * and a return address is never named after the inline block that follows the call); the
 * stack is interned as a call path in the
 * profile, and one struct pfs_sample_row goes to the sink. Memory grows with distinct frames
 * and stacks, never with samples.
 *
 * The profile also gets the events (capture order), threads (names over time: the row carries
 * the name the thread had at that sample) and processes (pid, ppid, comm, cmdline taken from
 * the name given at exec). Diagnostics of the reader, the symbolizer and the unwinder are
 * merged into the caller's diag; one of ingest's own: "fp-chains-broken" when most
 * frame-pointer user stacks end in [unknown] after a few frames.
 *
 * Ownership: everything is borrowed; the profile keeps what ingest put in it.
 */
#ifndef PFS_INGEST_H
#define PFS_INGEST_H

#include <stdbool.h>

#include "diag.h"
#include "err.h"
#include "profile.h"

struct pfs_reader;
struct pfs_record;

/*
 * What a consumer needs beyond the rows (the Python analysis: tracing data, the binaries mapped,
 * switch records, RAW payloads, the reader's statistics at the end). Every member may be NULL.
 */
struct pfs_ingest_hooks {
	void *payload;
	/* every record that is not a sample, after ingest has applied it */
	void (*record)(void *payload, struct pfs_reader *r, const struct pfs_record *rec);
	/* every streamed sample, after the sink, with the record it was made of; < 0 stops */
	int (*sample)(void *payload, const struct pfs_sample_row *row,
		      const struct pfs_record *rec);
	/* once, after the last record, while the reader is still open */
	void (*end)(void *payload, struct pfs_reader *r);
};

struct pfs_ingest_opts {
	const char *symfs;    /* root prefixed to recorded paths */
	const char *app_dir;  /* binaries searched by file name */
	const char *jit_maps; /* perf-PID.map directory, searched first */
	const char *kallsyms; /* kernel symbols file */
	bool no_inline;	      /* no inline frames */
	bool addr_names;      /* unresolved frames named "[dso <0xaddr>]" */
	bool unwind_libdw;    /* DWARF stacks unwound by libdwfl alone (to check the rule cache) */
	bool symfs_only;      /* binaries under symfs only (symbols.h): the fuzz harness */
	const char *event;    /* only this event's samples; NULL: see first_sampling */
	bool first_sampling;  /* with event NULL: only the capture's first sampling event */
	unsigned max_stack;   /* frames kept per sample, leaf first; 0: 1024 */
	const struct pfs_ingest_hooks *hooks; /* NULL: none */
};

/*
 * Reads path ("-": standard input) into prof, streaming samples to cb(payload, row).
 * Returns 0; or a negative code: the capture cannot be read (err names the offset), the event
 * asked for is not in the capture (PFS_EUSAGE), or cb's own negative code.
 */
int pfs_ingest_perf(const char *path, const struct pfs_ingest_opts *o, struct pfs_profile *prof,
		    pfs_sample_cb cb, void *payload, struct pfs_diag *diag,
		    struct pfs_err *err) PFS_MUST_CHECK;

#endif
