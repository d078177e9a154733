/*
 * The command table's entries. One line per command, one file per command (cmd_<name>.c);
 * the usage texts live beside each command's code.
 */
#ifndef PFS_COMMANDS_H
#define PFS_COMMANDS_H

#include <stdio.h>

#include "err.h"

#define PFS_VERSION "0.1.0"

int cmd_export(int argc, char **argv);
extern const char cmd_export_usage[];
int cmd_info(int argc, char **argv);
extern const char cmd_info_usage[];
int cmd_import(int argc, char **argv);
extern const char cmd_import_usage[];
int cmd_record(int argc, char **argv);
extern const char cmd_record_usage[];
int cmd_report(int argc, char **argv);
extern const char cmd_report_usage[];
int cmd_flamegraph(int argc, char **argv);
extern const char cmd_flamegraph_usage[];
int cmd_collapse(int argc, char **argv);
extern const char cmd_collapse_usage[];
int cmd_summary(int argc, char **argv);
extern const char cmd_summary_usage[];
int cmd_diff(int argc, char **argv);
extern const char cmd_diff_usage[];
/* A diff's page data (its document with the trees), for cli_json_page (cmd_diff.c). */
int cli_diff_page_data(const void *d, FILE *f, struct pfs_err *err);
int cmd_check(int argc, char **argv);
extern const char cmd_check_usage[];
int cmd_trend(int argc, char **argv);
extern const char cmd_trend_usage[];

struct pfs_trend;
struct pfs_trend_opts;
/* The trend of a database (cmd_trend.c): loads it, or prints why not; returns an exit code. */
int cli_trend_load(const char *db, const struct pfs_trend_opts *to, struct pfs_trend **out);
/* The trend page of t to out; returns an exit code. */
int cli_trend_page(const struct pfs_trend *t, const char *tdir, const char *title, const char *out);

#define CLI_COMMANDS                                                                               \
	{"export", cmd_export, "folded stacks, speedscope or a JSON summary for other tools",      \
	 cmd_export_usage},                                                                        \
	    {"info", cmd_info,                                                                     \
	     "what a capture holds: host, events, records, samples, diagnostics", cmd_info_usage}, \
	    {"import", cmd_import, "add captures to an SQLite database (one transaction each)",    \
	     cmd_import_usage},                                                                    \
	    {"record", cmd_record,                                                                 \
	     "run perf record with what the Python analysis needs (and probes)",                   \
	     cmd_record_usage},                                                                    \
	    {"collapse", cmd_collapse, "folded stacks of a capture, symbolized and unwound",       \
	     cmd_collapse_usage},                                                                  \
	    {"summary", cmd_summary, "GC, GIL and CPU categories per process and thread",          \
	     cmd_summary_usage},                                                                   \
	    {"report", cmd_report, "one self-contained HTML report", cmd_report_usage},            \
	    {"flamegraph", cmd_flamegraph, "an interactive SVG flame graph",                       \
	     cmd_flamegraph_usage},                                                                \
	    {"diff", cmd_diff, "what changed between two captures, beyond sampling noise",         \
	     cmd_diff_usage},                                                                      \
	    {"check", cmd_check, "a CI gate: rules on a capture, alone or against a baseline",     \
	     cmd_check_usage},                                                                     \
	    {"trend", cmd_trend, "figures across the captures of a database, as charts",           \
	     cmd_trend_usage},

#endif
