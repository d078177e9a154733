/*
 * harness: the unit-test harness. Each tests/unit/t_<module>.c defines test functions and a
 * table, and calls t_main(). Output is one TAP-like line per test:
 *
 *     ok 3 - perfdata::pipe_mode
 *     not ok 4 - perfdata::swap: t_perfdata.c:120: got 5, want 6
 *     ok 5 - symbols::kallsyms # SKIP no /proc/kallsyms
 *
 * tests/run.sh counts these lines. `t_<module> -s NAME` runs one test.
 * A failed assertion ends the test (longjmp) but not the binary.
 */
#ifndef PFS_HARNESS_H
#define PFS_HARNESS_H

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct t_case {
	const char *name;
	void (*fn)(void);
};

#define T_CASE(n)                                                                                  \
	{                                                                                          \
#n, test_##n                                                                       \
	}

void t_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
void t_skip(const char *why) __attribute__((noreturn));
int t_main(int argc, char **argv, const char *suite, const struct t_case *cases, size_t n);
/* A scratch directory for this test binary (created on first use, under tests/out/). */
const char *t_tmpdir(void);
/* Path of a fixture relative to the repository root (tests run from it). */
const char *t_fixture(const char *rel);

#define T_ASSERT(c)                                                                                \
	do {                                                                                       \
		if (!(c))                                                                          \
			t_fail(__FILE__, __LINE__, "assertion failed: %s", #c);                    \
	} while (0)
#define T_EQ(a, b)                                                                                 \
	do {                                                                                       \
		uint64_t t_a_ = (uint64_t)(a), t_b_ = (uint64_t)(b);                               \
		if (t_a_ != t_b_)                                                                  \
			t_fail(__FILE__, __LINE__,                                                 \
			       "%s = %" PRIu64 " (0x%" PRIx64 "), want %" PRIu64 " (0x%" PRIx64    \
			       ")",                                                                \
			       #a, t_a_, t_a_, t_b_, t_b_);                                        \
	} while (0)
#define T_STREQ(a, b)                                                                              \
	do {                                                                                       \
		const char *t_a_ = (a), *t_b_ = (b);                                               \
		if (!t_a_ || !t_b_ || strcmp(t_a_, t_b_))                                          \
			t_fail(__FILE__, __LINE__, "%s = \"%s\", want \"%s\"", #a,                 \
			       t_a_ ? t_a_ : "(null)", t_b_ ? t_b_ : "(null)");                    \
	} while (0)

#endif
