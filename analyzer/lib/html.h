/*
 * html: the renderers. The only module that uses libxml2. It writes
 *   - the self-contained HTML report: report-templates/report.html parsed as XHTML, its fill
 *     points (data-pfs-fill) filled through the tree API with report.css, page.js (the DOM
 *     helpers), flame.js (the flame graph every page shares) and report.js, and the data JSON
 *     (docs/report-data.md), a
 *     Content-Security-Policy that forbids every fetch, and the result serialized as HTML; the
 *     diff and trend pages the same way (below);
 *   - the standalone SVG flame graph (xmlTextWriter) of an aggregated call tree, with the
 *     search and zoom script report-templates/flamegraph.svg.js embedded.
 * Strings from captures only ever enter the output as libxml2 text or attribute values, or
 * inside the escaped JSON, so they cannot become markup.
 *
 * Templates are read from a directory the caller names; pfs_html_find_templates() finds the
 * repository's or the installed one.
 *
 * Ownership: struct pfs_fg_tree is caller-embedded (_init / _release) and owns its nodes and
 * their names. Every output is written atomically (outfile.h).
 */
#ifndef PFS_HTML_H
#define PFS_HTML_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Frame kinds, in the order of the report's "kinds" array (docs/report-data.md). */
enum pfs_fg_kind {
	PFS_KIND_PYTHON,  /* Python code of the application */
	PFS_KIND_LIBRARY, /* Python code of the standard library and installed packages */
	PFS_KIND_INTERP,  /* the CPython interpreter */
	PFS_KIND_GC,	  /* the cyclic garbage collector */
	PFS_KIND_GIL,	  /* taking or waiting for the GIL */
	PFS_KIND_KERNEL,
	PFS_KIND_NATIVE, /* any other native code */
	PFS_KIND_OTHER,	 /* the root, merged remainders, unknown */
	PFS_KIND_COUNT
};

/* Name of a kind as in the report's data ("python", ..., "other"). */
const char *pfs_fg_kind_name(enum pfs_fg_kind k);

struct pfs_fg_node {
	int32_t parent; /* index of the parent; -1 for the root; always < own index */
	uint8_t kind;	/* enum pfs_fg_kind */
	char *name;	/* owned by the tree */
	uint64_t self;	/* weight of samples whose leaf is this frame */
	uint64_t total; /* self plus the children's totals; pfs_fg_tree_totals() fills it */
};

/* An aggregated call tree: node 0 is the root "all". */
struct pfs_fg_tree {
	struct pfs_fg_node *v;
	size_t n, cap;
	uint32_t *slots; /* open-addressing index of (parent, kind, name) -> node + 1 */
	size_t nslots;
};

/* Makes an empty tree holding only the root "all". */
void pfs_fg_tree_init(struct pfs_fg_tree *t);
void pfs_fg_tree_release(struct pfs_fg_tree *t);
/* Returns the index of the child of parent with this name (len bytes, need not be
 * NUL-terminated) and kind, adding it when missing. parent must be a valid index. Adding may
 * move t->v: index it after the call, never hold a pointer across one. */
size_t pfs_fg_tree_child(struct pfs_fg_tree *t, size_t parent, const char *name, size_t len,
			 enum pfs_fg_kind kind);
/* Computes every node's total from the self weights. */
void pfs_fg_tree_totals(struct pfs_fg_tree *t);

/*
 * Finds the template directory: $PERFSIGHT_TEMPLATES when set, else report-templates/ in the
 * source tree the executable was built in (one to three directories above it: build/,
 * build/san/, build/san/tests/), else the installed EXE_DIR/../share/perfsight/report-templates.
 * A directory
 * qualifies when it holds report.html. Returns 0 and a malloc'ed path in *out, or PFS_EIO when
 * none exists (the message lists where it looked).
 */
int pfs_html_find_templates(char **out, struct pfs_err *err) PFS_MUST_CHECK;

/*
 * Writes the HTML report to out_path ("-" for standard output) from the templates in
 * templates_dir and the data JSON (len bytes, UTF-8, no NUL). title (may be NULL: "perfsight
 * report") becomes the document title and heading. The JSON is embedded unparsed, with <, >, &,
 * U+2028 and U+2029 escaped as \uXXXX, which keeps its value and keeps it inside its element.
 * Returns 0; PFS_EIO when a template or the output cannot be read or written; PFS_EFORMAT when
 * a template is malformed (not well-formed XHTML, a fill point missing, a stylesheet or script
 * that could close its element) or the data is not NUL-free UTF-8; PFS_EDEP when libxml2 fails.
 */
int pfs_html_write_report(const char *templates_dir, const char *data_json, size_t len,
			  const char *title, const char *out_path,
			  struct pfs_err *err) PFS_MUST_CHECK;

/*
 * The same page machinery for the other pages, each a skeleton of report-templates/ with the
 * same fill points, report.css, and its scripts after page.js: perfsight diff's page (diff.html;
 * flame.js and diff.js; the data of docs/diff.md with its trees) and the trend page
 * (trend.html, trend.js; docs/trend.md). Same returns.
 */
int pfs_html_write_diff(const char *templates_dir, const char *data_json, size_t len,
			const char *title, const char *out_path,
			struct pfs_err *err) PFS_MUST_CHECK;
int pfs_html_write_trend(const char *templates_dir, const char *data_json, size_t len,
			 const char *title, const char *out_path,
			 struct pfs_err *err) PFS_MUST_CHECK;

/* One test case of a JUnit XML report. */
struct pfs_junit_case {
	const char *name, *classname;
	const char *failure_type; /* NULL: passed */
	const char *message;	  /* the failure's one-line message */
	const char *text;	  /* the failure's longer text, NULL: none */
};

/*
 * Writes a JUnit XML report (one <testsuite>, as Apache Ant's JUnit task writes it and CI
 * servers read it: properties, one testcase per case, system-out, system-err) of n cases to
 * out_path, atomically. timestamp is "YYYY-MM-DDTHH:MM:SS" (no zone), seconds the suite's
 * time. Text is cleaned of what XML 1.0 cannot hold. Returns 0, PFS_EIO or PFS_EDEP.
 */
int pfs_html_write_junit(const char *suite, const char *hostname, const char *timestamp,
			 double seconds, const struct pfs_junit_case *c, size_t n,
			 const char *out_path, struct pfs_err *err) PFS_MUST_CHECK;

/* flamegraph.pl's options, where they apply. */
struct pfs_fg_opts {
	const char *title;     /* NULL: "Flame Graph" (or "Icicle Graph" when inverted) */
	const char *subtitle;  /* NULL: none */
	unsigned width;	       /* image width in pixels; 0: 1200 */
	double minwidth;       /* frames narrower than this many pixels are merged; <0: 0.1 */
	int inverted;	       /* icicle: root at the top */
	const char *colors;    /* "kind" (default: hue by frame kind), or a flamegraph.pl palette:
				* hot mem io red green blue aqua yellow purple orange */
	int hash;	       /* shade by a hash of the name, so a function keeps its colour across
				* graphs; otherwise by position (still deterministic) */
	const char *countname; /* NULL: "samples" */
};

/* True when name is one of the palettes pfs_fg_opts.colors accepts. */
int pfs_html_palette_ok(const char *name);

/*
 * Writes an interactive SVG flame graph of tree (whose totals must be filled) to out_path,
 * embedding templates_dir/flamegraph.svg.js for search (regex, matched share) and zoom.
 * Children are drawn in name order; the children of one frame that are each narrower than
 * minwidth are drawn as one "[other]" frame (or, if that too is narrower, left as the parent's
 * visible self time), so every sample stays in the picture: the root's count is the tree's
 * total. Returns 0, PFS_EUSAGE for a bad palette or empty tree, PFS_EIO, PFS_EFORMAT for a
 * script that contains "]]>", or PFS_EDEP.
 */
int pfs_html_write_flamegraph_svg(const char *templates_dir, const struct pfs_fg_tree *tree,
				  const struct pfs_fg_opts *opts, const char *out_path,
				  struct pfs_err *err) PFS_MUST_CHECK;

#endif
