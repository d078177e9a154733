/*
 * perfsight: command table and dispatch. Each command lives in cmd_<name>.c and exports only
 * cmd_<name>(); the table below gives its name, summary and usage text.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <malloc.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "html.h"

static int cmd_help(int argc, char **argv);

static const struct cli_cmd commands[] = {
    CLI_COMMANDS{"help", cmd_help, "show commands, or one command's help",
		 "usage: perfsight help [COMMAND]\n"},
};

const struct cli_cmd *cli_find(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

/* Edit distance (insertions, deletions, substitutions, adjacent swaps) of a and b, capped. */
static size_t distance(const char *a, const char *b)
{
	enum { MAX = 32 };
	size_t la = strlen(a), lb = strlen(b), d[MAX + 1][MAX + 1];
	if (la > MAX || lb > MAX)
		return MAX;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	return d[la][lb];
}

/* The command name is most likely a slip of: within 2 edits, or a prefix of one; else NULL. */
static const struct cli_cmd *nearest(const char *name)
{
	const struct cli_cmd *best = NULL;
	size_t bd = 3;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		size_t d = distance(name, commands[i].name);
		if (*name && !strncmp(commands[i].name, name, strlen(name)))
			d = 1;
		if (d < bd) {
			bd = d;
			best = &commands[i];
		}
	}
	return best;
}

static void overview(FILE *f)
{
	fprintf(f, "usage: perfsight COMMAND [ARGS]\n\n"
		   "perfsight turns perf.data captures and pyinstrument dumps into answers:\n"
		   "where each Python worker's CPU goes, how much is GC and GIL, and why.\n\n"
		   "commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].summary);
	fprintf(f,
		"\n'perfsight COMMAND --help' shows a command's options.\n"
		"exit status: 0 ok, 1 done with data-dropping diagnostics, 2 usage, 3 bad input,\n"
		"4 internal or output error; check: 5 a rule failed, 6 it cannot judge\n");
}

static int cmd_help(int argc, char **argv)
{
	if (argc >= 2) {
		const struct cli_cmd *c = cli_find(argv[1]);
		if (!c) {
			const struct cli_cmd *near = nearest(argv[1]);
			fprintf(stderr, "perfsight: no such command '%s'", argv[1]);
			if (near)
				fprintf(stderr, "; did you mean '%s'?", near->name);
			fputc('\n', stderr);
			return EXIT_USAGE;
		}
		fputs(c->usage, stdout);
		return cli_finish_stdout(EXIT_OK);
	}
	overview(stdout);
	return cli_finish_stdout(EXIT_OK);
}

int cli_load_capture(const struct cli_cmd *cmd, struct pfs_capture *cap, const char *file,
		     const struct pfs_capture_opts *co)
{
	struct pfs_err err;
	pfs_err_clear(&err);
	int rc = pfs_capture_load(cap, file, co, &err);
	if (rc == PFS_EUSAGE)
		return cli_usage_error(cmd, "%s: %s", file, err.msg);
	if (rc < 0) {
		cli_print_diags(stderr, file, &cap->diag);
		return cli_fail(file, &err);
	}
	return -1;
}

int cli_fail(const char *file, const struct pfs_err *err)
{
	if (err->off != PFS_NO_OFF)
		fprintf(stderr, "perfsight: %s: at byte offset %llu (0x%llx): %s\n", file,
			(unsigned long long)err->off, (unsigned long long)err->off, err->msg);
	else
		fprintf(stderr, "perfsight: %s: %s\n", file, err->msg);
	switch (err->code) {
	case PFS_EFORMAT:
	case PFS_EUNSUPP:
	case PFS_ELIMIT:
		return EXIT_INPUT;
	case PFS_EIO:
		return err->sys_errno == ENOENT || err->sys_errno == EACCES ||
			       err->sys_errno == EISDIR
			   ? EXIT_INPUT
			   : EXIT_INTERNAL;
	case PFS_EUSAGE:
		return EXIT_USAGE;
	default:
		return EXIT_INTERNAL;
	}
}

void cli_wrote(const char *what, const char *path)
{
	struct stat st;
	if (!path || !strcmp(path, "-"))
		return;
	if (stat(path, &st) || !S_ISREG(st.st_mode))
		fprintf(stderr, "%s: %s\n", what, path);
	else if (st.st_size >= 1000000)
		fprintf(stderr, "%s: %s (%.1f MB)\n", what, path, (double)st.st_size / 1e6);
	else
		fprintf(stderr, "%s: %s (%.1f kB)\n", what, path, (double)st.st_size / 1e3);
}

int cli_fail_output(const char *out, const struct pfs_err *err)
{
	int rc = cli_fail(out, err);
	return rc == EXIT_USAGE ? EXIT_USAGE : EXIT_INTERNAL;
}

int cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "perfsight %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n'perfsight %s --help' shows the options\n", cmd->name);
	return EXIT_USAGE;
}

static void print_diag(FILE *f, const char *file, const struct pfs_diag_entry *e)
{
	fprintf(f, "perfsight: %s: %s %s (x%llu)", file, pfs_severity_name(e->sev), e->code,
		(unsigned long long)e->count);
	if (e->first_off != PFS_NO_OFF)
		fprintf(f, " first at byte offset %llu", (unsigned long long)e->first_off);
	fprintf(f, ": %s\n", e->msg);
}

void cli_print_diags_all(FILE *f, const char *file, const struct pfs_diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		print_diag(f, file, &d->v[i]);
}

void cli_print_diags(FILE *f, const char *file, const struct pfs_diag *d)
{
	const char *all = getenv("PERFSIGHT_NOTES");
	size_t notes = 0;
	if (all && *all && strcmp(all, "0")) {
		cli_print_diags_all(f, file, d);
		return;
	}
	for (size_t i = 0; i < d->n; i++) {
		if (d->v[i].sev == PFS_NOTE)
			notes++;
		else
			print_diag(f, file, &d->v[i]);
	}
	if (!notes)
		return;
	fprintf(f, "perfsight: %s: %zu note%s:", file, notes, notes == 1 ? "" : "s");
	for (size_t i = 0, k = 0; i < d->n; i++)
		if (d->v[i].sev == PFS_NOTE)
			fprintf(f, "%s %s", k++ ? "," : "", d->v[i].code);
	fputs(" (PERFSIGHT_NOTES=1 prints them whole)\n", f);
}

int cli_diag_exit(const struct pfs_diag *d)
{
	return pfs_diag_worst(d) == PFS_ERROR ? EXIT_DIAG : EXIT_OK;
}

int cli_is_help(const struct cli_cmd *cmd, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(cmd->usage, stdout);
			return 1;
		}
	}
	return 0;
}

void cli_put_safe(const char *s, int max)
{
	int n = 0;
	for (; s && *s && n < max; s++, n++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
	if (s && *s)
		fputs("...", stdout);
}

/*
 * The terminal guard. Names, labels, hosts and messages come from the input, and a byte of
 * ESC or another control in them would drive the terminal that shows them (F13 of the fuzz
 * findings: a label "\e[2J" cleared the screen, a host "\e]0;...\a" set its title). So what
 * goes to a terminal, and all of a command's text output, passes through a stream that writes
 * each C0 control but tab and newline, DEL, and each C1 control (U+0080..U+009F, in UTF-8) as
 * '?', as cli_put_safe does. Data written for programs (JSON, folded stacks to a file or a
 * pipe) is not touched.
 */
struct guard {
	int fd;
	bool c2; /* the last byte written was 0xc2: a C1 control may follow */
};

static ssize_t guard_write(void *cookie, const char *buf, size_t len)
{
	struct guard *g = cookie;
	char out[4096];
	size_t n = 0, i = 0;
	while (i < len || n) {
		while (i < len && n + 2 <= sizeof(out)) {
			unsigned char b = (unsigned char)buf[i++];
			if (g->c2) {
				g->c2 = false;
				if (b >= 0x80 && b <= 0x9f) {
					out[n++] = '?';
					continue;
				}
				out[n++] = (char)0xc2;
			}
			if (b == 0xc2)
				g->c2 = true;
			else if ((b < 0x20 && b != '\n' && b != '\t') || b == 0x7f)
				out[n++] = '?';
			else
				out[n++] = (char)b;
		}
		for (size_t w = 0; w < n;) {
			ssize_t k = write(g->fd, out + w, n - w);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				return -1;
			w += (size_t)k;
		}
		n = 0;
	}
	return (ssize_t)len;
}

static int guard_close(void *cookie)
{
	struct guard *g = cookie;
	if (g->c2 && write(g->fd, "\xc2", 1) != 1)
		return -1;
	return 0;
}

/*
 * *f (stdout or stderr) through the guard; the stream's own buffer is flushed first. The
 * cookies are static: exit flushes the streams without closing them.
 */
static void guard(FILE **f, int fd)
{
	static const cookie_io_functions_t io = {.write = guard_write, .close = guard_close};
	static struct guard guards[2];
	struct guard *g = &guards[fd == STDERR_FILENO];
	FILE *n;
	*g = (struct guard){.fd = fd};
	fflush(*f);
	if (!(n = fopencookie(g, "w", io)))
		return;
	setvbuf(n, NULL, fd == STDERR_FILENO ? _IONBF : isatty(fd) ? _IOLBF : _IOFBF, 0);
	*f = n;
}

void cli_term_control(const char *seq)
{
	size_t n = strlen(seq);
	fflush(stderr);
	if (write(STDERR_FILENO, seq, n) != (ssize_t)n)
		return; /* a progress line: nothing to do about a terminal that went away */
}

void cli_guard_text(void)
{
	static bool done;
	if (done || isatty(STDOUT_FILENO))
		return; /* a terminal's is guarded already */
	done = true;
	guard(&stdout, STDOUT_FILENO);
}

int cli_finish_stdout(int rc)
{
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "perfsight: cannot write standard output: %s\n", strerror(errno));
		return EXIT_INTERNAL;
	}
	return rc;
}

int main(int argc, char **argv)
{
	const struct cli_cmd *c;
	/*
	 * glibc raises its mmap threshold to the size of each large block freed, after which
	 * blocks of tens of megabytes (a report's cells, its views' memos) grow inside the heap by
	 * copying: an import's peak memory then depends on which of them happen to grow at once
	 * (292 MB against 230 on a 3M-sample capture). Large blocks stay mappings, grown in place.
	 */
	mallopt(M_MMAP_THRESHOLD, 256 << 10);
	/* messages always, and whatever goes to a terminal: see guard() */
	guard(&stderr, STDERR_FILENO);
	if (isatty(STDOUT_FILENO))
		guard(&stdout, STDOUT_FILENO);
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		overview(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : cli_finish_stdout(EXIT_OK);
	}
	if (!strcmp(argv[1], "--version")) {
		printf("perfsight %s\n", PFS_VERSION);
		return cli_finish_stdout(EXIT_OK);
	}
	c = cli_find(argv[1]);
	if (!c) {
		const struct cli_cmd *near = nearest(argv[1]);
		if (near)
			fprintf(stderr,
				"perfsight: '%s' is not a command; did you mean '%s'? 'perfsight "
				"help' lists them\n",
				argv[1], near->name);
		else
			fprintf(stderr,
				"perfsight: '%s' is not a command; 'perfsight help' lists them\n",
				argv[1]);
		return EXIT_USAGE;
	}
	if (c->fn != cmd_help && cli_is_help(c, argc - 1, argv + 1))
		return cli_finish_stdout(EXIT_OK);
	return c->fn(argc - 1, argv + 1);
}

int cli_templates(const char *cmd, const char **dir, char **found)
{
	struct pfs_err err;
	if (*dir)
		return -1;
	if (pfs_html_find_templates(found, &err) < 0)
		return cli_fail(cmd, &err);
	*dir = *found;
	return -1;
}

int cli_json_page(cli_json_fn fn, const void *arg, cli_page_fn page, const char *tdir,
		  const char *title, const char *out)
{
	char *buf = NULL;
	size_t len = 0;
	struct pfs_err err;
	int rc;
	FILE *m = open_memstream(&buf, &len);
	if (!m) {
		fprintf(stderr, "perfsight: %s: out of memory\n", out);
		return EXIT_INTERNAL;
	}
	rc = fn(arg, m, &err);
	if (fclose(m) && rc >= 0)
		rc = pfs_err_sys(&err, "cannot write the page's data");
	if (rc >= 0)
		rc = page(tdir, buf, len, title, out, &err);
	free(buf);
	return rc < 0 ? cli_fail_output(out, &err) : EXIT_OK;
}

bool cli_capture_option(int c, const char *arg, struct pfs_capture_opts *co)
{
	switch (c) {
	case CLI_O_CAPTURE:
		co->which = arg;
		return true;
	case CLI_O_SYMFS:
		co->ingest.symfs = arg;
		return true;
	case CLI_O_APP:
		co->ingest.app_dir = arg;
		return true;
	case CLI_O_JIT:
		co->ingest.jit_maps = arg;
		return true;
	case CLI_O_KSYM:
		co->ingest.kallsyms = arg;
		return true;
	}
	return false;
}
