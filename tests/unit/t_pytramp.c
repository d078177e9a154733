/*
 * pytramp: the unwinding rules read out of CPython's perf trampoline template, for the bytes
 * CPython's Python/asm_trampoline.S assembles to (x86_64 as measured in pyenv's 3.12.1 and
 * 3.13.0 libpython; aarch64 assembled by hand from the same source), and refusals of anything
 * else.
 */
#include "harness.h"
#include "pytramp.h"

#define X86 62
#define A64 183

/* sub $8,%rsp; call *%rcx; add $8,%rsp; ret: libpython3.12.so.1.0 0x24364c, 3.13 0x1e44bc */
static const uint8_t x86_312[] = {0x48, 0x83, 0xec, 0x08, 0xff, 0xd1, 0x48, 0x83, 0xc4, 0x08, 0xc3};

static void expect(const struct pfs_pytramp *t, uint64_t off, int cfa, int ra, int fp)
{
	const struct pfs_pytramp_rule *r = pfs_pytramp_at(t, off);
	if (!r)
		t_fail(__FILE__, __LINE__, "no rule at offset %" PRIu64, off);
	if (r->cfa_off != cfa || r->ra_at != ra || r->fp_at != fp)
		t_fail(__FILE__, __LINE__,
		       "offset %" PRIu64 ": cfa %d ra %d fp %d, want cfa %d ra %d fp %d", off,
		       r->cfa_off, r->ra_at, r->fp_at, cfa, ra, fp);
}

static void test_x86_64_cpython(void)
{
	struct pfs_pytramp t;
	char why[128];
	T_ASSERT(pfs_pytramp_decode(X86, x86_312, sizeof(x86_312), &t, why, sizeof(why)));
	T_EQ(t.len, 11);
	T_EQ(t.machine, X86);
	expect(&t, 0, 8, -8, 0);  /* sampled at entry: the return address is on top */
	expect(&t, 4, 16, -8, 0); /* at the call */
	/* the return address after the call is offset 6: the unwinder looks up 5 */
	expect(&t, 5, 16, -8, 0);
	expect(&t, 6, 16, -8, 0); /* sampled at the add */
	expect(&t, 10, 8, -8, 0); /* at the ret */
	T_ASSERT(pfs_pytramp_at(&t, 11) == NULL);
	T_ASSERT(pfs_pytramp_at(&t, 1000) == NULL);
}

/* the CET build: endbr64 first */
static void test_x86_64_endbr(void)
{
	uint8_t code[4 + sizeof(x86_312)] = {0xf3, 0x0f, 0x1e, 0xfa};
	memcpy(code + 4, x86_312, sizeof(x86_312));
	struct pfs_pytramp t;
	T_ASSERT(pfs_pytramp_decode(X86, code, sizeof(code), &t, NULL, 0));
	expect(&t, 0, 8, -8, 0);
	expect(&t, 4, 8, -8, 0);
	expect(&t, 9, 16, -8, 0); /* return address 10, minus one */
}

/* a frame-pointer variant: push %rbp; mov %rsp,%rbp; call *%rax; pop %rbp; ret; int3 padding */
static void test_x86_64_frame_pointer(void)
{
	static const uint8_t code[] = {0x55, 0x48, 0x89, 0xe5, 0xff, 0xd0, 0x5d, 0xc3, 0xcc, 0xcc};
	struct pfs_pytramp t;
	char why[128];
	T_ASSERT(pfs_pytramp_decode(X86, code, sizeof(code), &t, why, sizeof(why)));
	expect(&t, 0, 8, -8, 0);
	expect(&t, 1, 16, -8, -16);
	expect(&t, 5, 16, -8, -16);
	expect(&t, 7, 8, -8, 0);
	T_ASSERT(pfs_pytramp_at(&t, 8) == NULL); /* padding */
}

/* stp x29,x30,[sp,-16]!; mov x29,sp; blr x3; ldp x29,x30,[sp],16; ret */
static const uint32_t a64_words[] = {0xa9bf7bfd, 0x910003fd, 0xd63f0060, 0xa8c17bfd, 0xd65f03c0};

static void words(uint8_t *out, const uint32_t *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (int b = 0; b < 4; b++)
			out[i * 4 + (size_t)b] = (uint8_t)(w[i] >> (8 * b));
}

static void test_aarch64_cpython(void)
{
	uint8_t code[20];
	words(code, a64_words, 5);
	struct pfs_pytramp t;
	char why[128];
	T_ASSERT(pfs_pytramp_decode(A64, code, sizeof(code), &t, why, sizeof(why)));
	T_EQ(t.ra_signed, 0);
	expect(&t, 0, 0, 0, 0);	     /* entry: CFA = sp, return address in x30 */
	expect(&t, 4, 16, -8, -16);  /* after stp: x29 at CFA-16, x30 at CFA-8 */
	expect(&t, 8, 16, -8, -16);  /* at blr */
	expect(&t, 11, 16, -8, -16); /* return address 12, minus one */
	expect(&t, 12, 16, -8, -16); /* sampled at the ldp */
	expect(&t, 16, 0, 0, 0);     /* at ret: restored */
	T_ASSERT(pfs_pytramp_at(&t, 20) == NULL);
}

/* the PAC/BTI build: hint 25 (paciasp) first, hint 29 (autiasp) before ret */
static void test_aarch64_pac(void)
{
	static const uint32_t w[] = {0xd503233f, 0xa9bf7bfd, 0x910003fd, 0xd63f0060,
				     0xa8c17bfd, 0xd50323bf, 0xd65f03c0};
	uint8_t code[sizeof(w)];
	words(code, w, sizeof(w) / 4);
	struct pfs_pytramp t;
	T_ASSERT(pfs_pytramp_decode(A64, code, sizeof(code), &t, NULL, 0));
	T_EQ(t.ra_signed, 1);
	expect(&t, 4, 0, 0, 0);
	expect(&t, 15, 16, -8, -16);
	expect(&t, 24, 0, 0, 0);
}

static void refused(uint16_t machine, const uint8_t *code, size_t n, const char *want)
{
	struct pfs_pytramp t;
	char why[128] = "";
	if (pfs_pytramp_decode(machine, code, n, &t, why, sizeof(why)))
		t_fail(__FILE__, __LINE__, "decoded a template that should be refused (%s)", want);
	if (!strstr(why, want))
		t_fail(__FILE__, __LINE__, "reason \"%s\", want \"%s\"", why, want);
	T_EQ(t.len, 0);
}

static void test_unknown_templates(void)
{
	uint8_t code[64];
	/* an instruction not followed: mov %rdi,%rax */
	static const uint8_t mov[] = {0x48, 0x89, 0xf8, 0xff, 0xd1, 0xc3};
	refused(X86, mov, sizeof(mov), "unknown instruction at offset 0");
	/* two calls */
	static const uint8_t two[] = {0x48, 0x83, 0xec, 0x08, 0xff, 0xd1, 0xff,
				      0xd1, 0x48, 0x83, 0xc4, 0x08, 0xc3};
	refused(X86, two, sizeof(two), "2 calls");
	/* no call */
	static const uint8_t none[] = {0x90, 0xc3};
	refused(X86, none, sizeof(none), "0 calls");
	/* the stack not restored at the return */
	static const uint8_t unbal[] = {0x48, 0x83, 0xec, 0x08, 0xff, 0xd1, 0xc3};
	refused(X86, unbal, sizeof(unbal), "not restored");
	/* no return: the template cut short */
	refused(X86, x86_312, 6, "no return");
	/* code after the return */
	static const uint8_t after[] = {0x48, 0x83, 0xec, 0x08, 0xff, 0xd1,
					0x48, 0x83, 0xc4, 0x08, 0xc3, 0x55};
	refused(X86, after, sizeof(after), "after the return");
	/* rbp overwritten without being saved */
	static const uint8_t clob[] = {0x48, 0x89, 0xe5, 0xff, 0xd1, 0xc3};
	refused(X86, clob, sizeof(clob), "unsaved");
	/* aarch64: blr with the link register unsaved */
	static const uint32_t nosave[] = {0xd63f0060, 0xd65f03c0};
	words(code, nosave, 2);
	refused(A64, code, 8, "return address unsaved");
	/* aarch64: a load that restores other registers than were saved */
	static const uint32_t badload[] = {0xa9bf7bfd, 0xd63f0060, 0xa8c17bf3, 0xd65f03c0};
	words(code, badload, 4);
	refused(A64, code, 16, "offset 8");
	/* riscv (CPython has a form for it, this does not) */
	refused(243, x86_312, sizeof(x86_312), "machine 243");
	memset(code, 0x90, sizeof(code));
	refused(X86, code, 0, "template of 0 bytes");
	uint8_t big[100];
	memset(big, 0x90, sizeof(big));
	refused(X86, big, sizeof(big), "at most 64");
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
	    T_CASE(x86_64_cpython),  T_CASE(x86_64_endbr), T_CASE(x86_64_frame_pointer),
	    T_CASE(aarch64_cpython), T_CASE(aarch64_pac),  T_CASE(unknown_templates),
	};
	return t_main(argc, argv, "pytramp", cases, sizeof(cases) / sizeof(cases[0]));
}
