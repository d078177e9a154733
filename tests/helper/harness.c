#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static jmp_buf t_jmp;
static char t_msg[1024];
static int t_skipped;
static char t_dir[512];
static const char *t_suite = "t";

void t_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(t_msg, sizeof(t_msg), "%s:%d: ", file, line);
	va_start(ap, fmt);
	vsnprintf(t_msg + n, sizeof(t_msg) - (size_t)n, fmt, ap);
	va_end(ap);
	t_skipped = 0;
	longjmp(t_jmp, 1);
}

void t_skip(const char *why)
{
	snprintf(t_msg, sizeof(t_msg), "%s", why);
	t_skipped = 1;
	longjmp(t_jmp, 1);
}

const char *t_tmpdir(void)
{
	if (!t_dir[0]) {
		mkdir("tests/out", 0777);
		snprintf(t_dir, sizeof(t_dir), "tests/out/unit-%s", t_suite);
		mkdir(t_dir, 0777);
	}
	return t_dir;
}

const char *t_fixture(const char *rel)
{
	static char buf[8][512];
	static int i;
	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "fixtures/%s", rel);
	return buf[i];
}

/* The setjmp lives in its own frame so that no local of the loop in t_main
 * is live across the longjmp (gcc's -Wclobbered). Returns 0 passed, 1 skipped,
 * -1 failed. */
static int run_case(const struct t_case *c)
{
	t_msg[0] = 0;
	if (setjmp(t_jmp))
		return t_skipped ? 1 : -1;
	c->fn();
	return 0;
}

int t_main(int argc, char **argv, const char *suite, const struct t_case *cases, size_t n)
{
	const char *only = NULL;
	int failed = 0, num = 0;
	t_suite = suite;
	if (argc == 3 && !strcmp(argv[1], "-s"))
		only = argv[2];
	for (size_t i = 0; i < n; i++) {
		if (only && strcmp(only, cases[i].name))
			continue;
		num++;
		int r = run_case(&cases[i]);
		if (r == 0)
			printf("ok %d - %s::%s\n", num, suite, cases[i].name);
		else if (r == 1)
			printf("ok %d - %s::%s # SKIP %s\n", num, suite, cases[i].name, t_msg);
		else {
			printf("not ok %d - %s::%s: %s\n", num, suite, cases[i].name, t_msg);
			failed++;
		}
		fflush(stdout);
	}
	return failed ? 1 : 0;
}
