/*
 * cli: what every command shares. The CLI is a thin command table over analyzer/lib: it parses
 * options, calls the library, prints, and maps errors to exit codes in one place.
 *
 * Exit codes: 0 ok; 1 done, with ERROR diagnostics (data dropped); 2 usage; 3 input unreadable
 * or unsupported; 4 internal or output error; for perfsight check: 5 a rule failed, 6 the gate
 * cannot judge.
 */
#ifndef PFS_CLI_H
#define PFS_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "capture.h"
#include "diag.h"
#include "err.h"

enum {
	EXIT_OK = 0,
	EXIT_DIAG = 1,
	EXIT_USAGE = 2,
	EXIT_INPUT = 3,
	EXIT_INTERNAL = 4,
	EXIT_GATE_FAIL = 5,
	EXIT_GATE_CANNOT = 6,
};

struct cli_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary; /* one line for `perfsight help` */
	const char *usage;   /* the full --help text */
};

/* Prints "perfsight: FILE: offset 0x..: MSG" on stderr and returns the exit code for err. */
int cli_fail(const char *file, const struct pfs_err *err);
/* Says on stderr what a command wrote: "WHAT: PATH (SIZE)"; nothing for "-" (stdout). */
void cli_wrote(const char *what, const char *path);
/*
 * As cli_fail, for an output: a file that cannot be created or written (a missing directory,
 * no right to write) is exit 4, not the 3 of an unreadable input.
 */
int cli_fail_output(const char *out, const struct pfs_err *err);
/* Prints "perfsight CMD: MSG" and the usage hint, returns EXIT_USAGE. */
int cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * Prints warnings and errors as "perfsight: FILE: SEVERITY CODE (xN) at 0xOFF: MSG" lines, and
 * the notes (what was done about harmless oddities) as one line of their codes; all in full
 * when PERFSIGHT_NOTES=1.
 */
void cli_print_diags(FILE *f, const char *file, const struct pfs_diag *d);
/* Prints every diagnostic in full (info and import: what the file holds, what was stored). */
void cli_print_diags_all(FILE *f, const char *file, const struct pfs_diag *d);
/* Exit code for a run that completed with these diagnostics. */
int cli_diag_exit(const struct pfs_diag *d);
/* True when argv[i] is -h or --help; prints cmd's usage to stdout. */
int cli_is_help(const struct cli_cmd *cmd, int argc, char **argv);
/*
 * Loads file into cap (pfs_capture_load) for cmd. Returns -1 when it loaded; else prints the
 * load's diagnostics and the error (a capture or event that does not exist as a usage error)
 * and returns the exit code. cap is to be released either way.
 */
int cli_load_capture(const struct cli_cmd *cmd, struct pfs_capture *cap, const char *file,
		     const struct pfs_capture_opts *co);
/* Prints at most max bytes of s (NULL: nothing) on stdout, control bytes as '?' so that a
 * name from a capture cannot drive the terminal, and "..." when it was longer. */
void cli_put_safe(const char *s, int max);
/*
 * Control bytes from the input never reach a terminal: stderr, and stdout when it is one, are
 * guarded from the start (main.c); a command that prints text for people (info, summary) calls
 * this before it prints, so that its output is guarded in a file or a pipe too.
 */
void cli_guard_text(void);
/* Writes the terminal control seq (our own: a progress line's "\r\033[K") to stderr, past
 * the guard. */
void cli_term_control(const char *seq);
/* Closes stdout checking for write errors; returns EXIT_INTERNAL on failure, else rc. */
int cli_finish_stdout(int rc);

const struct cli_cmd *cli_find(const char *name);

/*
 * The report templates: *dir when the user gave one, else the ones found (*found, to free).
 * Returns -1 when *dir is set, else the exit code (the reason printed for cmd).
 */
int cli_templates(const char *cmd, const char **dir, char **found);

/* Writes a document to a FILE (a library writer, adapted). */
typedef int (*cli_json_fn)(const void *arg, FILE *f, struct pfs_err *err);
/* A page's renderer (html.h: pfs_html_write_diff, _trend, _report). */
typedef int (*cli_page_fn)(const char *tdir, const char *json, size_t len, const char *title,
			   const char *out, struct pfs_err *err);
/* Writes fn's document to memory and renders it with page to out; returns an exit code. */
int cli_json_page(cli_json_fn fn, const void *arg, cli_page_fn page, const char *tdir,
		  const char *title, const char *out);

/*
 * The options of every command that reads captures: which capture of a database, and where the
 * symbols are. Their getopt ids start at CLI_O_CAPTURE, above any command's own.
 */
enum { CLI_O_CAPTURE = 1000, CLI_O_SYMFS, CLI_O_APP, CLI_O_JIT, CLI_O_KSYM };
#define CLI_CAPTURE_LONGOPTS                                                                       \
	{"capture", required_argument, NULL, CLI_O_CAPTURE},                                       \
	    {"symfs", required_argument, NULL, CLI_O_SYMFS},                                       \
	    {"app-dir", required_argument, NULL, CLI_O_APP},                                       \
	    {"jit-maps", required_argument, NULL, CLI_O_JIT},                                      \
	{                                                                                          \
		"kallsyms", required_argument, NULL, CLI_O_KSYM                                    \
	}
/* Applies option c (with arg) to co; false when c is not one of CLI_CAPTURE_LONGOPTS. */
bool cli_capture_option(int c, const char *arg, struct pfs_capture_opts *co);

#endif
