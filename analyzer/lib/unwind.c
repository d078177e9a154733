#include "unwind.h"

#include <elfutils/libdwfl.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* perf's x86_64 register numbers */
enum {
	PR_AX = 0,
	PR_BX = 1,
	PR_CX = 2,
	PR_DX = 3,
	PR_SI = 4,
	PR_DI = 5,
	PR_BP = 6,
	PR_SP = 7,
	PR_IP = 8,
	PR_R8 = 16,
};

/* DWARF x86_64 register n is perf register dwarf_to_perf[n] */
static const int dwarf_to_perf[17] = {
    PR_AX,     PR_DX,	  PR_CX,     PR_BX,	PR_SI,	   PR_DI,     PR_BP,	 PR_SP, PR_R8,
    PR_R8 + 1, PR_R8 + 2, PR_R8 + 3, PR_R8 + 4, PR_R8 + 5, PR_R8 + 6, PR_R8 + 7, PR_IP,
};

struct pfs_unwind {
	struct pfs_symbols *sym;
	struct pfs_diag *diag;
	/* the sample being unwound */
	struct pfs_proc *proc;
	uint32_t tid;
	uint64_t mask;
	const struct pfs_sample *smp;
	uint64_t sp;
	bool beyond_dump; /* the last unwind step wanted stack above the dump */
	uint64_t *pcs;
	size_t n, max;
};

struct pfs_unwind *pfs_unwind_new(struct pfs_symbols *s, struct pfs_diag *diag)
{
	struct pfs_unwind *u = pfs_xcalloc(1, sizeof(*u));
	u->sym = s;
	u->diag = diag;
	return u;
}

void pfs_unwind_free(struct pfs_unwind *u)
{
	free(u);
}

static bool reg(const struct pfs_unwind *u, int perf_reg, uint64_t *out)
{
	if (!(u->mask >> perf_reg & 1))
		return false;
	unsigned i = pfs_popcount64(u->mask & ((1ull << perf_reg) - 1));
	if (i >= u->smp->n_regs_user)
		return false;
	*out = u->smp->regs_user[i];
	return true;
}

static pid_t next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	struct pfs_unwind *u = arg;
	if (*thread_argp)
		return 0;
	*thread_argp = u;
	return (pid_t)u->tid;
}

static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	struct pfs_unwind *u = arg;
	const struct pfs_sample *smp = u->smp;
	uint64_t have = smp->stack_user_dyn_size < smp->stack_user_size ? smp->stack_user_dyn_size
									: smp->stack_user_size;
	if (addr >= u->sp && addr - u->sp <= have && have - (addr - u->sp) >= 8) {
		uint64_t v;
		memcpy(&v, smp->stack_user + (addr - u->sp), 8);
		*result = v;
		return true;
	}
	uint64_t v;
	if (pfs_symbols_read_file_mem(u->sym, u->proc, addr, &v)) {
		*result = v;
		return true;
	}
	if (addr >= u->sp)
		u->beyond_dump = true;
	return false;
}

static bool set_initial_registers(Dwfl_Thread *thread, void *arg)
{
	struct pfs_unwind *u = arg;
	for (unsigned n = 0; n < 17; n++) {
		uint64_t v;
		if (!reg(u, dwarf_to_perf[n], &v))
			continue;
		Dwarf_Word w = v;
		if (!dwfl_thread_state_registers(thread, (int)n, 1, &w))
			return false;
	}
	return true;
}

static const Dwfl_Thread_Callbacks callbacks = {
    .next_thread = next_thread,
    .memory_read = memory_read,
    .set_initial_registers = set_initial_registers,
};

static int frame_cb(Dwfl_Frame *state, void *arg)
{
	struct pfs_unwind *u = arg;
	Dwarf_Addr pc;
	bool act;
	/*
	 * dwfl_frame_pc unwinds one step ahead to tell an activation from a call: the reads
	 * of the caller's frame happen here, so whether they ran past the dump is known after
	 * it, not before.
	 */
	u->beyond_dump = false;
	if (!dwfl_frame_pc(state, &pc, &act))
		return DWARF_CB_ABORT;
	if (!act)
		pc--;
	u->pcs[u->n++] = pc;
	return u->n < u->max ? DWARF_CB_OK : DWARF_CB_ABORT;
}

size_t pfs_unwind_user(struct pfs_unwind *u, struct pfs_proc *p, uint32_t tid,
		       const struct pfs_attr *attr, const struct pfs_sample *smp, uint64_t *pcs,
		       size_t max)
{
	if (!max)
		return 0;
	if (!smp->regs_user_abi || !smp->n_regs_user) {
		pfs_diag_add(u->diag, PFS_NOTE, "regs-missing", PFS_NO_OFF,
			     "samples without user registers: their user stack is unknown");
		return 0;
	}
	u->mask = attr->sample_regs_user;
	u->smp = smp;
	uint64_t ip, sp;
	if (!reg(u, PR_IP, &ip) || !reg(u, PR_SP, &sp)) {
		pfs_diag_add(u->diag, PFS_WARN, "unwind-arch-unsupported", PFS_NO_OFF,
			     "user registers lack ip or sp (mask 0x%llx): only x86_64 is unwound",
			     (unsigned long long)u->mask);
		return 0;
	}
	pcs[0] = ip;
	if (!smp->stack_user_dyn_size || !smp->stack_user_size) {
		pfs_diag_add(u->diag, PFS_NOTE, "stack-dump-empty", PFS_NO_OFF,
			     "samples with an empty user stack dump: only their pc is known");
		return 1;
	}
	Dwfl *dwfl = pfs_symbols_space_dwfl(u->sym, p);
	if (!dwfl)
		return 1;
	u->proc = p;
	u->tid = tid;
	u->sp = sp;
	u->pcs = pcs;
	u->n = 0;
	u->max = max;
	if (dwfl_pid(dwfl) <= 0 && !dwfl_attach_state(dwfl, NULL, (pid_t)p->pid, &callbacks, u)) {
		pfs_diag_add(u->diag, PFS_WARN, "unwind-attach-failed", PFS_NO_OFF,
			     "cannot unwind process %u: %s", p->pid, dwfl_errmsg(-1));
		return 1;
	}
	u->beyond_dump = false;
	/* it ends in an error where the CFI or the stack dump runs out: what came before stands */
	(void)dwfl_getthread_frames(dwfl, (pid_t)tid, frame_cb, u);
	/*
	 * A caller whose return address lies above the stack dump: the stack goes on but we
	 * cannot see it. One unresolvable frame says so (perf shows the same [unknown]) rather
	 * than passing the truncated stack off as complete.
	 */
	if (u->beyond_dump && u->n && u->n < max)
		u->pcs[u->n++] = UINT64_MAX;
	if (!u->n) {
		pcs[0] = ip;
		return 1;
	}
	return u->n;
}
