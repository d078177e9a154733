/*
 * pprof: a capture written as pprof's profile.proto (analyzer/proto/profile.proto, compiled by
 * protoc-c at build time), gzipped: what `go tool pprof`, Pyroscope, Parca, Grafana and Google
 * Cloud Profiler read. The only module that uses protobuf-c and zlib.
 *
 * One pprof Sample per agg cell of the chosen event (one per thread, thread name and call path
 * in the chosen view), so the totals are the folded export's. Its values are the cell's sample
 * count ("samples"/"count") and, for a perf capture, its summed period ("cpu"/"nanoseconds"
 * when the analysis says the periods are ns, else the event's name/"events"); for a profiler
 * dump in wall seconds, the wall time ("wall"/"nanoseconds"). Labels: pid, tid, comm (the
 * thread's name at those samples), process (the process' name) and, with an analysis, role
 * (master, worker, process). Every frame is one Location with one Line; its Function carries
 * the frame's name (for a CPython -X perf frame "py::qualname:file", the qualname, with the
 * file as filename), its file and line when known; its Mapping is the frame's binary.
 *
 * Ownership: everything passed in is borrowed; computing the view paths may add paths and
 * frames to the profile (through the views).
 */
#ifndef PFS_PPROF_H
#define PFS_PPROF_H

#include <stdio.h>

#include "agg.h"
#include "analysis.h"
#include "err.h"
#include "profile.h"
#include "views.h"

struct pfs_pprof_opts {
	int event;	    /* event index, -1 for all */
	enum pfs_view view; /* the frames each sample's stack is made of */
	/* the second value: PFS_FOLD_SECONDS writes wall nanoseconds from the rows' weights;
	 * otherwise the periods */
	enum pfs_fold_weight weight;
	const char *name;	/* the capture's label, kept as a comment; NULL: none */
	const char *event_name; /* the event's name, for the period's sample type */
	double duration_s;	/* NAN: unknown */
	double start_time;	/* Unix epoch seconds, NAN: unknown */
	const struct pfs_analysis *analysis; /* NULL: no role labels, periods not known as ns */
};

/*
 * Writes the gzipped profile to out. Returns 0, PFS_EIO when out fails, or PFS_EDEP when
 * zlib fails.
 */
int pfs_pprof_write(const struct pfs_agg *a, struct pfs_profile *p, struct pfs_views *v,
		    const struct pfs_pprof_opts *o, FILE *out, struct pfs_err *err) PFS_MUST_CHECK;

#endif
