#include "pytramp.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cursor.h"
#include "err.h"

#define EM_X86_64_ 62
#define EM_AARCH64_ 183

/* The frame as the template has built it so far. */
struct state {
	int cfa;   /* CFA = sp + cfa */
	int ra_at; /* CFA + ra_at, 0: in the link register */
	int fp_at; /* CFA + fp_at, 0: unchanged */
	bool fp_clobbered;
};

/* What one instruction does. */
enum op { OP_NOP, OP_SP, OP_PUSH_FP, OP_POP_FP, OP_FP_FROM_SP, OP_CALL, OP_RET, OP_SAVE, OP_LOAD };

struct insn {
	size_t len;
	enum op op;
	int sp_delta;		 /* bytes the stack grows by (OP_SP, and pre/post-index pairs) */
	bool pac_sign, pac_auth; /* aarch64 paciasp / autiasp */
};

static bool fail(char *why, size_t why_len, const char *fmt, ...) PFS_PRINTF(3, 4);

static bool fail(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (why && why_len)
		vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
	return false;
}

/* One x86_64 instruction at c; false when it is not one of the forms followed. */
static bool x86_insn(struct pfs_cursor *c, struct insn *in)
{
	const uint8_t *p = c->p;
	size_t left = pfs_cursor_left(c);
	*in = (struct insn){0};
#define IS(...)                                                                                    \
	(sizeof((const uint8_t[]){__VA_ARGS__}) <= left &&                                         \
	 !memcmp(p, (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})) &&     \
	 (in->len = sizeof((const uint8_t[]){__VA_ARGS__})))
	if (IS(0xf3, 0x0f, 0x1e, 0xfa) || IS(0x90) || IS(0x66, 0x90) || IS(0x0f, 0x1f, 0x00) ||
	    IS(0x0f, 0x1f, 0x40, 0x00) || IS(0x0f, 0x1f, 0x44, 0x00, 0x00)) {
		in->op = OP_NOP;
	} else if (IS(0x55)) {
		in->op = OP_PUSH_FP;
		in->sp_delta = 8;
	} else if (IS(0x5d)) {
		in->op = OP_POP_FP;
		in->sp_delta = -8;
	} else if (IS(0x48, 0x89, 0xe5)) {
		in->op = OP_FP_FROM_SP;
	} else if (IS(0xc3)) {
		in->op = OP_RET;
	} else if (left >= 4 && p[0] == 0x48 && p[1] == 0x83 && (p[2] == 0xec || p[2] == 0xc4)) {
		/* sub/add $imm8 (sign-extended), %rsp */
		in->len = 4;
		in->op = OP_SP;
		in->sp_delta = (p[2] == 0xec ? 1 : -1) * (int8_t)p[3];
	} else if (left >= 7 && p[0] == 0x48 && p[1] == 0x81 && (p[2] == 0xec || p[2] == 0xc4)) {
		int32_t imm = (int32_t)pfs_load_u32(p + 3, false);
		if (imm < -4096 || imm > 4096)
			return false;
		in->len = 7;
		in->op = OP_SP;
		in->sp_delta = (p[2] == 0xec ? 1 : -1) * imm;
	} else if (left >= 2 && p[0] == 0xff && (p[1] & 0xf8) == 0xd0 && p[1] != 0xd4) {
		in->len = 2; /* call *%reg (not %rsp) */
		in->op = OP_CALL;
	} else if (left >= 3 && p[0] == 0x41 && p[1] == 0xff && (p[2] & 0xf8) == 0xd0) {
		in->len = 3; /* call *%r8..%r15 */
		in->op = OP_CALL;
	} else {
		return false;
	}
#undef IS
	return true;
}

/* One aarch64 instruction (little-endian word) at c. */
static bool a64_insn(struct pfs_cursor *c, struct insn *in, int *rt, int *rt2)
{
	if (pfs_cursor_left(c) < 4)
		return false;
	uint32_t w = pfs_load_u32(c->p, false);
	*in = (struct insn){.len = 4};
	*rt = (int)(w & 31);
	*rt2 = (int)(w >> 10 & 31);
	int rn = (int)(w >> 5 & 31);
	int imm7 = (int)(w >> 15 & 0x7f);
	if (imm7 & 0x40)
		imm7 -= 0x80;
	if (w == 0xd503201f || w == 0xd503241f || w == 0xd503245f || w == 0xd503249f ||
	    w == 0xd50324df) {
		in->op = OP_NOP; /* nop, bti, bti c, bti j, bti jc */
	} else if (w == 0xd503233f) {
		in->op = OP_NOP; /* paciasp */
		in->pac_sign = true;
	} else if (w == 0xd50323bf) {
		in->op = OP_NOP; /* autiasp */
		in->pac_auth = true;
	} else if ((w & 0xffc00000) == 0xa9800000 && rn == 31 && imm7 < 0) {
		in->op = OP_SAVE; /* stp rt, rt2, [sp, #imm]! */
		in->sp_delta = -imm7 * 8;
	} else if ((w & 0xffc00000) == 0xa8c00000 && rn == 31 && imm7 > 0) {
		in->op = OP_LOAD; /* ldp rt, rt2, [sp], #imm */
		in->sp_delta = -imm7 * 8;
	} else if (w == 0x910003fd) {
		in->op = OP_FP_FROM_SP; /* mov x29, sp */
	} else if ((w & 0xff8003ff) == 0xd10003ff || (w & 0xff8003ff) == 0x910003ff) {
		int imm = (int)(w >> 10 & 0xfff) << (w >> 22 & 1 ? 12 : 0);
		if (imm > 4096)
			return false;
		in->op = OP_SP; /* sub/add sp, sp, #imm */
		in->sp_delta = (w & 0x40000000) ? imm : -imm;
	} else if ((w & 0xfffffc1f) == 0xd63f0000) {
		in->op = OP_CALL; /* blr xn */
	} else if (w == 0xd65f03c0) {
		in->op = OP_RET;
	} else {
		return false;
	}
	return true;
}

static void put(struct pfs_pytramp *t, size_t from, size_t to, const struct state *st)
{
	for (size_t i = from; i < to && i < PFS_PYTRAMP_MAX; i++)
		t->at[i] = (struct pfs_pytramp_rule){(int16_t)st->cfa, (int16_t)st->ra_at,
						     (int16_t)st->fp_at, true};
}

/* Padding after the return: int3 or nop (x86_64), udf #0 or nop (aarch64). */
static bool padding(uint16_t machine, const uint8_t *p, size_t n)
{
	if (machine == EM_X86_64_) {
		for (size_t i = 0; i < n; i++)
			if (p[i] != 0xcc && p[i] != 0x90)
				return false;
		return true;
	}
	if (n % 4)
		return false;
	for (size_t i = 0; i < n; i += 4) {
		uint32_t w = pfs_load_u32(p + i, false);
		if (w != 0 && w != 0xd503201f)
			return false;
	}
	return true;
}

bool pfs_pytramp_decode(uint16_t machine, const uint8_t *code, size_t len, struct pfs_pytramp *t,
			char *why, size_t why_len)
{
	memset(t, 0, sizeof(*t));
	if (machine != EM_X86_64_ && machine != EM_AARCH64_)
		return fail(why, why_len, "machine %u has no trampoline form known here", machine);
	if (!len || len > PFS_PYTRAMP_MAX)
		return fail(why, why_len, "template of %zu bytes (at most %d are followed)", len,
			    PFS_PYTRAMP_MAX);
	bool x86 = machine == EM_X86_64_;
	/* at entry the caller's return address is on the stack (x86_64) or in x30 (aarch64) */
	struct state st = {.cfa = x86 ? 8 : 0, .ra_at = x86 ? -8 : 0};
	const struct state entry = st;
	struct pfs_cursor c = pfs_cursor_make(code, len, false);
	int calls = 0;
	bool signing = false, saved_signed = false;
	while (pfs_cursor_left(&c)) {
		size_t off = len - pfs_cursor_left(&c);
		struct insn in;
		int rt = 0, rt2 = 0;
		if (!(x86 ? x86_insn(&c, &in) : a64_insn(&c, &in, &rt, &rt2)))
			return fail(why, why_len, "unknown instruction at offset %zu (%02x %02x)",
				    off, code[off], off + 1 < len ? code[off + 1] : 0);
		put(t, off, off + 1, &st);
		struct state after = st;
		after.cfa += in.sp_delta;
		switch (in.op) {
		case OP_NOP:
			signing = (signing || in.pac_sign) && !in.pac_auth;
			break;
		case OP_SP:
			break;
		case OP_PUSH_FP:
			if (st.fp_at)
				return fail(why, why_len, "frame pointer saved twice at offset %zu",
					    off);
			after.fp_at = -after.cfa;
			break;
		case OP_POP_FP:
			if (st.fp_at != -st.cfa)
				return fail(why, why_len,
					    "pop at offset %zu does not restore the frame pointer",
					    off);
			after.fp_at = 0;
			after.fp_clobbered = false;
			break;
		case OP_FP_FROM_SP:
			if (!st.fp_at)
				return fail(why, why_len,
					    "frame pointer overwritten unsaved at offset %zu", off);
			after.fp_clobbered = true;
			break;
		case OP_SAVE:
			/* stp x29, x30 (either order) to the new top of the stack */
			if (!((rt == 29 && rt2 == 30) || (rt == 30 && rt2 == 29)) || st.fp_at ||
			    st.ra_at)
				return fail(why, why_len, "unknown register save at offset %zu",
					    off);
			after.fp_at = -after.cfa + (rt == 29 ? 0 : 8);
			after.ra_at = -after.cfa + (rt == 30 ? 0 : 8);
			saved_signed = signing;
			break;
		case OP_LOAD:
			if (!((rt == 29 && rt2 == 30) || (rt == 30 && rt2 == 29)) ||
			    st.fp_at != -st.cfa + (rt == 29 ? 0 : 8) ||
			    st.ra_at != -st.cfa + (rt == 30 ? 0 : 8))
				return fail(why, why_len,
					    "load at offset %zu does not restore what was saved",
					    off);
			after.fp_at = 0;
			after.ra_at = 0;
			after.fp_clobbered = false;
			break;
		case OP_CALL:
			/* the call overwrites the link register: it must be saved by now */
			if (!x86 && !st.ra_at)
				return fail(why, why_len,
					    "call at offset %zu with the return address unsaved",
					    off);
			calls++;
			break;
		case OP_RET:
			if (st.cfa != entry.cfa || st.ra_at != entry.ra_at || st.fp_at ||
			    st.fp_clobbered)
				return fail(why, why_len,
					    "return at offset %zu with the frame not restored",
					    off);
			if (!padding(machine, c.p + in.len, pfs_cursor_left(&c) - in.len))
				return fail(why, why_len, "code after the return at offset %zu",
					    off);
			break;
		}
		if (after.cfa < 0 || after.cfa > 4096 + 16)
			return fail(why, why_len, "stack pointer out of the frame at offset %zu",
				    off);
		/* inside the instruction: the state after it (a return address minus one) */
		put(t, off + 1, off + in.len, &after);
		st = after;
		if (in.op == OP_RET) {
			if (calls != 1)
				return fail(why, why_len, "%d calls through a register, want 1",
					    calls);
			t->machine = machine;
			t->len = (uint8_t)len;
			t->ra_signed = saved_signed;
			/* the padding after the return is never run: it has no rule */
			return true;
		}
		pfs_cursor_skip(&c, in.len);
	}
	return fail(why, why_len, "no return instruction in the %zu bytes", len);
}

const struct pfs_pytramp_rule *pfs_pytramp_at(const struct pfs_pytramp *t, uint64_t off)
{
	if (off >= t->len || !t->at[off].valid)
		return NULL;
	return &t->at[off];
}
