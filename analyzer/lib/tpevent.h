/*
 * tpevent: decodes tracepoint samples (sched:sched_switch, uprobes) with libtraceevent, the only
 * module that uses it.
 *
 * A perf.data capture with tracepoints carries a tracing-data blob (feature TRACING_DATA in
 * file mode, record HEADER_TRACING_DATA in pipe mode): the kernel's format files of every
 * event recorded. pfs_tpevent_open() parses it; a tracepoint sample (attr.type 2) is then
 * looked up by its format id (attr.config) and its RAW bytes decoded field by field, by name.
 *
 * RAW data comes from the capture and is hostile: every field is bounds-checked against the
 * sample's RAW size before libtraceevent reads it. A format that fails to parse costs that event
 * only (a counted diagnostic); the rest of the blob is still used.
 *
 * Ownership: pfs_tpevent_open() / pfs_tpevent_close(). The blob is copied where libtraceevent
 * needs it and need not outlive the handle. Returned strings are owned by the handle.
 */
#ifndef PFS_TPEVENT_H
#define PFS_TPEVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "diag.h"
#include "err.h"

struct pfs_tpevent;

/* A decoded sched:sched_switch. */
struct pfs_tp_switch {
	uint32_t prev_pid, next_pid;
	char prev_comm[17], next_comm[17];
	uint64_t prev_state;  /* the raw field */
	char prev_state_s[8]; /* as perf prints it: "R", "R+", "S", "D", "S|D", ... */
	bool runnable;	      /* prev_state_s starts with R: preempted, not blocked */
};

/*
 * Parses the tracing-data blob (len bytes, perfdata-format.md section 6). Returns 0 and *out,
 * or PFS_EFORMAT when the blob is absent, not tracing data, or truncated before the event
 * formats, PFS_EDEP when libtraceevent cannot be set up. Formats that do not parse are
 * diagnostics in d ("tracepoint-format"); d may be NULL.
 */
int pfs_tpevent_open(struct pfs_tpevent **out, const void *blob, size_t len, struct pfs_diag *d,
		     struct pfs_err *err) PFS_MUST_CHECK;
void pfs_tpevent_close(struct pfs_tpevent *t);

/* Number of event formats parsed. */
size_t pfs_tpevent_n_events(const struct pfs_tpevent *t);
/* "system:name" of the format with id ("sched:sched_switch"), NULL when unknown. */
const char *pfs_tpevent_name(struct pfs_tpevent *t, uint64_t id);
/* The format id of system:name, or -1 when the blob has no such event. */
int64_t pfs_tpevent_id(struct pfs_tpevent *t, const char *system, const char *name);

/*
 * Reads numeric field `field` of a sample of event id from raw (len bytes, file byte order).
 * Returns 0 and *val; PFS_EUSAGE when the event or the field is unknown or not a number;
 * PFS_EFORMAT when the field lies outside raw.
 */
int pfs_tpevent_u64(struct pfs_tpevent *t, uint64_t id, const void *raw, size_t len,
		    const char *field, uint64_t *val, struct pfs_err *err) PFS_MUST_CHECK;
/*
 * Copies string field `field` (a char array or a __data_loc/__rel_loc string) into buf (always
 * NUL-terminated, cut at buflen - 1). Returns its length before the cut, or the errors of
 * pfs_tpevent_u64.
 */
int pfs_tpevent_str(struct pfs_tpevent *t, uint64_t id, const void *raw, size_t len,
		    const char *field, char *buf, size_t buflen,
		    struct pfs_err *err) PFS_MUST_CHECK;
/*
 * Writes the event's own fields (not the common_ ones) of a sample of event id as one JSON
 * object to f: numbers as numbers, char arrays and __data_loc strings as strings; other arrays
 * are left out. Returns 0, PFS_EUSAGE for an id not in the tracing data, or PFS_EFORMAT when
 * raw is too short for the format or a string lies outside it (nothing written then).
 */
int pfs_tpevent_fields_json(struct pfs_tpevent *t, uint64_t id, const void *raw, size_t len,
			    FILE *f, struct pfs_err *err) PFS_MUST_CHECK;
/*
 * Decodes a sched:sched_switch sample. Returns 1 and *out; 0 when id is not sched_switch;
 * PFS_EFORMAT when raw is too short for the format; PFS_EUSAGE when the capture's format lacks
 * one of the fields (prev_pid, next_pid, prev_state, prev_comm, next_comm).
 */
int pfs_tpevent_switch(struct pfs_tpevent *t, uint64_t id, const void *raw, size_t len,
		       struct pfs_tp_switch *out, struct pfs_err *err) PFS_MUST_CHECK;

#endif
