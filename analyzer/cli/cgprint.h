/*
 * cgprint: what info and summary print for a call-graph profile (pstats, callgrind; capture.h
 * loads it into c->graph), in text or JSON. The figures come from callgraph.h; this only
 * prints them, names with control bytes replaced.
 */
#ifndef PFS_CLI_CGPRINT_H
#define PFS_CLI_CGPRINT_H

#include <stdbool.h>

#include "capture.h"
#include "cli.h"
#include "jsonw.h"

/* perfsight info FILE for a call-graph profile: loads it and prints what it holds. Returns the
 * exit code. */
int cli_cg_info(const struct cli_cmd *cmd, const char *file, bool json);
/* The terminal summary of a loaded call-graph capture: top functions by own and by inclusive
 * cost, with calls and per-call costs as pstats prints them, and the hottest paths. */
void cli_cg_summary_text(const struct pfs_capture *c);
/* Its capture object of perfsight-summary/1 (docs/summary.md). */
void cli_cg_summary_json(const struct pfs_capture *c, struct pfs_jsonw *w);

#endif
