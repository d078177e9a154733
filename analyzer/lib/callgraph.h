/*
 * callgraph: a call-graph profile, the shape deterministic profilers write. Per function: how
 * often it was called and its costs (self: in its own code; inclusive: with its callees); per
 * caller-callee edge: the calls along it and their costs. Nothing about whole stacks: a path
 * a -> b -> c is not in such a profile, only the edges a -> b and b -> c. pstats (cProfile,
 * pstats.Stats.dump_stats, pyinstrument's pstats renderer) and callgrind (valgrind, pprofile)
 * are read into this shape by pstats.h and callgrind.h; the store keeps it (the cg_ tables of
 * docs/schema.md); info, summary, report and export show it. docs/callgraph.md describes the
 * formats and every figure.
 *
 * Functions are frames of a profile the graph borrows (name, file, line, and dso for
 * callgrind's ELF object), so strings and frames are interned once and the store writes them
 * with the capture's other frames. Costs are doubles per event: pstats has one event, "time",
 * in seconds (self = tottime, inclusive = cumtime); callgrind has the file's events (Ir, ...),
 * integer counts summed exactly (the readers refuse sums of 2^53 or more).
 *
 * What is derived here rather than read: the functions sorted by a cost, and a call tree
 * reconstructed from the edges (pfs_cg_tree_build). The reconstruction assumes what gprof
 * assumes, that a function spends its time on each callee in the same proportion whoever
 * called it; it is an estimate, never a measured stack, and everything built from it says so.
 *
 * Ownership: pfs_cg_new() / pfs_cg_free(); the profile must outlive the graph. Strings in
 * struct pfs_cg_info are owned by the graph.
 */
#ifndef PFS_CALLGRAPH_H
#define PFS_CALLGRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "diag.h"
#include "err.h"
#include "jsonw.h"
#include "profile.h"

/* A count the input does not give (pyinstrument's pstats writes -1: it samples, it does not
 * count calls). */
#define PFS_CG_UNKNOWN UINT64_MAX
/* Costs and counts are summed exactly only below this (doubles have 53 bits). */
#define PFS_CG_EXACT_MAX 9007199254740992.0

enum pfs_cg_format {
	PFS_CG_PSTATS = 1,    /* marshal of {(file, line, name): (cc, nc, tt, ct, callers)} */
	PFS_CG_CALLGRIND = 2, /* valgrind's callgrind format, version 1 */
};

struct pfs_cg_func {
	uint32_t frame;	     /* the profile's frame */
	uint64_t calls;	     /* all calls (pstats nc); PFS_CG_UNKNOWN when not counted */
	uint64_t prim_calls; /* calls not made under another call of itself (pstats cc) */
	bool listed;	     /* an entry of its own (else only named as a caller or callee) */
	bool recursive;	     /* it calls itself directly (an edge f -> f) */
};

struct pfs_cg_edge {
	uint32_t caller, callee; /* function indexes */
	uint64_t calls;		 /* PFS_CG_UNKNOWN when not counted */
	uint64_t prim_calls;	 /* pstats' cc of the edge; PFS_CG_UNKNOWN for callgrind */
};

/* What the input said about itself, for info. NULL strings and NAN are "not given". */
struct pfs_cg_info {
	uint64_t size; /* bytes read */
	/* pstats */
	int marshal_version; /* the lowest marshal version that writes the types seen (0-5) */
	uint64_t refs;	     /* objects flagged for reference (FLAG_REF) */
	uint64_t ref_uses;   /* back-references (TYPE_REF) */
	/* callgrind */
	char *creator, *cmd, *positions, *version;
	int64_t pid;	 /* -1 when not given */
	uint32_t parts;	 /* parts read (their costs are summed) */
	double *summary; /* per event: the summary: line, else the totals: line; NAN when absent */
	uint64_t cost_lines, call_lines;
};

struct pfs_callgraph;

struct pfs_callgraph *pfs_cg_new(struct pfs_profile *prof, enum pfs_cg_format format);
void pfs_cg_free(struct pfs_callgraph *g);

/* Building (the readers and the store) */

/* Adds an event (cost column); all of them before the first function. Returns its index. */
uint32_t pfs_cg_add_event(struct pfs_callgraph *g, const char *name, const char *description);
/* Sets the description (a long name) of event ev. */
void pfs_cg_set_event_desc(struct pfs_callgraph *g, uint32_t ev, const char *description);
/* The function of frame, added (calls unknown, costs 0, not listed) when new. */
uint32_t pfs_cg_func(struct pfs_callgraph *g, uint32_t frame);
/* The edge caller -> callee, added (calls unknown, costs 0) when new. */
uint32_t pfs_cg_edge(struct pfs_callgraph *g, uint32_t caller, uint32_t callee);
struct pfs_cg_func *pfs_cg_func_at(struct pfs_callgraph *g, uint32_t fn);
struct pfs_cg_edge *pfs_cg_edge_at(struct pfs_callgraph *g, uint32_t e);
/* Cost cells (self and inclusive per event) of a function or an edge, to read or fill. An
 * edge's self is NAN when the input does not give it (callgrind). */
double *pfs_cg_fself(struct pfs_callgraph *g, uint32_t fn);
double *pfs_cg_fincl(struct pfs_callgraph *g, uint32_t fn);
double *pfs_cg_eself(struct pfs_callgraph *g, uint32_t e);
double *pfs_cg_eincl(struct pfs_callgraph *g, uint32_t e);
struct pfs_cg_info *pfs_cg_info_mut(struct pfs_callgraph *g);
/*
 * Ends building: marks recursive functions, sorts each function's callers and callees (by
 * inclusive cost of the first event, heaviest first) and sums the totals. Nothing is added
 * afterwards.
 */
void pfs_cg_finish(struct pfs_callgraph *g);

/* Reading */

enum pfs_cg_format pfs_cg_format(const struct pfs_callgraph *g);
const char *pfs_cg_format_name(enum pfs_cg_format f); /* "pstats", "callgrind" */
struct pfs_profile *pfs_cg_profile(const struct pfs_callgraph *g);
const struct pfs_cg_info *pfs_cg_info(const struct pfs_callgraph *g);
uint32_t pfs_cg_n_events(const struct pfs_callgraph *g);
const char *pfs_cg_event_name(const struct pfs_callgraph *g, uint32_t ev);
const char *pfs_cg_event_desc(const struct pfs_callgraph *g, uint32_t ev); /* NULL: none */
/* The index of the event named name, or -1. */
int pfs_cg_event_find(const struct pfs_callgraph *g, const char *name);
/* Whether costs are seconds (pstats) rather than counts. */
bool pfs_cg_seconds(const struct pfs_callgraph *g);
size_t pfs_cg_n_funcs(const struct pfs_callgraph *g);
size_t pfs_cg_n_edges(const struct pfs_callgraph *g);
const struct pfs_cg_func *pfs_cg_func_get(const struct pfs_callgraph *g, uint32_t fn);
const struct pfs_cg_edge *pfs_cg_edge_get(const struct pfs_callgraph *g, uint32_t e);
double pfs_cg_self(const struct pfs_callgraph *g, uint32_t fn, uint32_t ev);
double pfs_cg_incl(const struct pfs_callgraph *g, uint32_t fn, uint32_t ev);
double pfs_cg_edge_self(const struct pfs_callgraph *g, uint32_t e, uint32_t ev);
double pfs_cg_edge_incl(const struct pfs_callgraph *g, uint32_t e, uint32_t ev);
/* The sum of all functions' self cost of ev: what the profile measured (pstats' total_tt). */
double pfs_cg_total(const struct pfs_callgraph *g, uint32_t ev);
/* Calls summed over the listed functions (pstats' "function calls" and "primitive calls");
 * PFS_CG_UNKNOWN when a listed function's count is unknown. */
uint64_t pfs_cg_total_calls(const struct pfs_callgraph *g, bool primitive);
/* The edges into (callers) or out of (callees) fn, heaviest first (after finish): *n gets
 * their count; the array is the graph's. */
const uint32_t *pfs_cg_callers(const struct pfs_callgraph *g, uint32_t fn, size_t *n);
const uint32_t *pfs_cg_callees(const struct pfs_callgraph *g, uint32_t fn, size_t *n);
/* The function's name, file (NULL when none) and object (NULL when none), borrowed. */
const char *pfs_cg_name(const struct pfs_callgraph *g, uint32_t fn);
const char *pfs_cg_file(const struct pfs_callgraph *g, uint32_t fn);
const char *pfs_cg_object(const struct pfs_callgraph *g, uint32_t fn);
uint32_t pfs_cg_line(const struct pfs_callgraph *g, uint32_t fn);

enum pfs_cg_key {
	PFS_CG_BY_SELF = 0,
	PFS_CG_BY_INCL = 1,
	PFS_CG_BY_CALLS = 2,
};

/* The functions sorted by key of event ev, heaviest first, ties by name: a malloc'd array of
 * pfs_cg_n_funcs() indexes. */
uint32_t *pfs_cg_sorted(const struct pfs_callgraph *g, uint32_t ev, enum pfs_cg_key key);

/* The reconstructed call tree */

#define PFS_CG_TREE_MAX_NODES 20000
#define PFS_CG_TREE_MIN_SHARE 0.0001
#define PFS_CG_TREE_MAX_DEPTH 256
#define PFS_CG_NONE UINT32_MAX

enum {
	PFS_CG_NODE_CUT = 1 << 0,	 /* a call back into a function already on the path */
	PFS_CG_NODE_OTHER = 1 << 1,	 /* the callees lighter than the limit, merged */
	PFS_CG_NODE_UNEXPANDED = 1 << 2, /* the node budget ran out before its callees */
};

struct pfs_cg_node {
	uint32_t parent; /* PFS_CG_NONE for the root (node 0, "all") */
	uint32_t fn;	 /* function index; PFS_CG_NONE for the root and [other] */
	uint32_t flags;
	uint32_t depth; /* 0 for the root */
	double total;	/* estimated cost along this path, callees included */
	double self;	/* total less what the children carry */
};

struct pfs_cg_tree_opts {
	uint32_t event;	    /* cost column */
	size_t max_nodes;   /* 0: PFS_CG_TREE_MAX_NODES */
	double min_share;   /* of the total: lighter callees merge into [other]; 0: the default */
	uint32_t max_depth; /* 0: PFS_CG_TREE_MAX_DEPTH */
};

struct pfs_cg_tree {
	struct pfs_cg_node *v; /* parents before children (parent < index) */
	size_t n;
	double total;	 /* pfs_cg_total() of the event: what the tree should account for */
	double roots;	 /* the cost the roots start with (node 0's total) */
	bool budget_hit; /* some nodes were left unexpanded */
};

/*
 * Reconstructs a call tree from the edges. Roots are the functions whose inclusive cost is
 * more than their callers pass to them (never called, or called before profiling began); each
 * node's cost is split among the function's callees as the edges' inclusive costs split the
 * function's own, a callee already on the path becomes a leaf marked CUT, calls to the
 * function itself are folded in (its self cost counts all its recursion levels), callees under
 * min_share of the total become one [other] child, and the heaviest nodes are expanded first
 * until max_nodes. Totals are kept: total = self + the children's totals. Never fails.
 * Release with pfs_cg_tree_release().
 */
void pfs_cg_tree_build(const struct pfs_callgraph *g, const struct pfs_cg_tree_opts *o,
		       struct pfs_cg_tree *out);
void pfs_cg_tree_release(struct pfs_cg_tree *t);
/*
 * The hottest paths: the n expanded nodes with the most self cost, heaviest first, into out
 * (at most n node indexes); returns how many. A path is the node's chain of parents.
 */
size_t pfs_cg_hot_paths(const struct pfs_cg_tree *t, uint32_t *out, size_t n);

/*
 * Writes the tree as folded stacks, one line per node with own cost ("a;b;c COST"), for the
 * flame graph drawer: costs as integers (pstats' seconds as nanoseconds), names with ';' and
 * line breaks replaced, a CUT node named "NAME (recursive)", [other] as "[other]", an
 * unexpanded node "NAME (not expanded)". Returns 0 or PFS_EIO.
 */
int pfs_cg_tree_write_folded(const struct pfs_callgraph *g, const struct pfs_cg_tree *t, FILE *out,
			     struct pfs_err *err) PFS_MUST_CHECK;

/* JSON */

/*
 * Writes the graph as one perfsight-callgraph/1 document (docs/callgraph.md): the format, its
 * events and totals, every function and edge with its counts and costs (doubles printed to
 * round-trip exactly), and diag (may be NULL). Returns 0 or PFS_EIO.
 */
int pfs_cg_write_json(const struct pfs_callgraph *g, const char *label, const struct pfs_diag *diag,
		      FILE *out, struct pfs_err *err) PFS_MUST_CHECK;
/*
 * The "callgraph" block of a summary (docs/summary.md): format, event, totals, and the top n
 * functions by self and by inclusive cost of event ev with calls and per-call costs, and the
 * hottest paths of the reconstructed tree.
 */
void pfs_cg_json_summary(const struct pfs_callgraph *g, uint32_t ev, size_t n, struct pfs_jsonw *w);

#endif
