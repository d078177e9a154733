#include "ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "perfdata.h"
#include "procmap.h"
#include "symbols.h"
#include "xalloc.h"

#define PERF_TYPE_TRACEPOINT 2
/* threads whose last frame-pointer stack is remembered (a power of two) */
#define MEMO_SLOTS 1024u

/*
 * The last frame-pointer stack of a thread, root first: consecutive samples of a thread
 * share most of their stack from the root down, so a new sample reuses the call path of the
 * longest common root-side run of raw addresses and resolves only the rest. Valid only for the
 * same address space (pid and the gen of its maps and of the kernel's): the same addresses
 * then resolve to the same frames.
 */
struct stack_memo {
	uint32_t tid, pid, gen, kgen;
	bool valid;
	bool root_unknown; /* the outermost frame is [unknown] (fp-chains-broken) */
	size_t n, cap;
	uint64_t *ips;	 /* root first */
	bool *kernel;	 /* the context each address was in */
	uint32_t *path;	 /* call path after the frames of ips[0..i] */
	uint32_t *depth; /* frames in that path */
};

/*
 * What the stacks cut where their dump ended would have needed. A thread's stack ends at a
 * fixed place (its entry frame): a whole unwind of the thread says where (the highest dump byte
 * it read), and a cut sample of the same thread then needed that place minus its stack
 * pointer. Cut samples are counted by stack pointer in 256-byte steps, so memory follows the
 * depth of the stacks, not the number of samples.
 */
struct cut_cell {
	uint32_t pid, tid;
	uint64_t key;	/* sp >> 8 for a cut count, CUT_TOP for the thread's top */
	uint64_t value; /* samples, or the top */
};
#define CUT_TOP UINT64_MAX
struct cuts {
	struct cut_cell *v; /* open addressing; pid 0 and tid 0 with key 0: empty */
	size_t n, cap;
	uint64_t dwarf, cut; /* DWARF stacks unwound, and cut */
	uint64_t dump;	     /* the largest stack dump size a cut sample asked for */
};

struct ingest {
	const struct pfs_ingest_opts *o;
	struct pfs_reader *r;
	struct pfs_profile *prof;
	struct pfs_procmap *pm;
	struct pfs_symbols *sym;
	struct pfs_diag *diag;
	pfs_sample_cb cb;
	void *payload;

	bool events_ready;
	bool capture_set;     /* the symbolizer knows the capture's host and build-ids */
	uint32_t *ev_of_attr; /* attr index -> event index + 1 */
	size_t n_ev_of_attr;
	int want_attr; /* attr index streamed, -1 every one */
	int first_sampling;

	uint64_t *pcs;	  /* unwound user addresses */
	uint32_t *frames; /* the stack being built, leaf first */
	size_t max_frames;
	uint64_t fp_user, fp_broken;

	struct stack_memo *memo; /* MEMO_SLOTS, allocated at the first frame-pointer stack */
	uint32_t f_truncated;	 /* the [truncated] root frame, 0 until first used */
	struct cuts cuts;

	/*
	 * Samples read while the symbolizer's threads still load kallsyms or DWARF: unwound and
	 * located in their process's maps at their time, named once the threads are done.
	 */
	bool defer;    /* build_stack records items instead of frames */
	bool fp_check; /* the deferred stack is a frame-pointer one (fp_broken) */
	struct pend_item {
		uint64_t v; /* kernel address, or file address of a user one */
		uint32_t x; /* the file (PEND_USER*) or the frame (PEND_FRAME) */
		uint8_t kind;
	} * items;
	size_t n_items, cap_items;
	struct pend_sample {
		struct pfs_sample_row row;
		size_t first, n; /* items */
		bool fp_check;
	} * pend;
	size_t n_pend, cap_pend;
	bool *ctx; /* scratch: kernel context of each address in pcs */
};

static bool is_sampling(const struct pfs_attr *a)
{
	return a->type != PERF_TYPE_TRACEPOINT;
}

static const char *attr_name(const struct pfs_attr *a, char *buf, size_t len)
{
	return a->name ? a->name : pfs_attr_default_name(a, buf, len);
}

/* The profile's event of attr a, whose index in the reader is i. */
static uint32_t event_of(struct ingest *in, size_t i, const struct pfs_attr *a)
{
	if (i >= in->n_ev_of_attr) {
		size_t nc = i + 1;
		in->ev_of_attr = pfs_xreallocarray(in->ev_of_attr, nc, sizeof(*in->ev_of_attr));
		memset(in->ev_of_attr + in->n_ev_of_attr, 0,
		       (nc - in->n_ev_of_attr) * sizeof(*in->ev_of_attr));
		in->n_ev_of_attr = nc;
	}
	if (!in->ev_of_attr[i]) {
		char buf[128];
		struct pfs_event *e;
		in->ev_of_attr[i] = pfs_profile_add_event(in->prof, attr_name(a, buf, sizeof(buf)),
							  is_sampling(a)) +
				    1;
		e = pfs_profile_event(in->prof, in->ev_of_attr[i] - 1);
		e->clock = (uint8_t)pfs_profile_clock_of(a->type, a->config);
		e->freq = (a->flags & PFS_ATTR_FLAG(PFS_AF_FREQ)) != 0;
		e->period = a->sample_period;
	}
	return in->ev_of_attr[i] - 1;
}

/* At the first sample every attr is known (pipe mode sends them first): name the events. */
static int events_init(struct ingest *in, struct pfs_err *err)
{
	size_t n = pfs_reader_n_attrs(in->r);
	in->events_ready = true;
	in->want_attr = -1;
	in->first_sampling = -1;
	for (size_t i = 0; i < n; i++) {
		const struct pfs_attr *a = pfs_reader_attr(in->r, i);
		char buf[128];
		event_of(in, i, a);
		if (in->first_sampling < 0 && is_sampling(a))
			in->first_sampling = (int)i;
		if (in->o->event && in->want_attr < 0 &&
		    !strcmp(attr_name(a, buf, sizeof(buf)), in->o->event))
			in->want_attr = (int)i;
	}
	if (in->o->event && in->want_attr < 0) {
		char list[512], buf[128];
		size_t k = 0;
		list[0] = 0;
		for (size_t i = 0; i < n && k < sizeof(list); i++)
			k += (size_t)snprintf(
			    list + k, sizeof(list) - k, "%s%s", i ? ", " : "",
			    attr_name(pfs_reader_attr(in->r, i), buf, sizeof(buf)));
		return pfs_err_set(err, PFS_EUSAGE, PFS_NO_OFF,
				   "no event '%s' in the capture (it has: %s)", in->o->event, list);
	}
	if (!in->o->event && in->o->first_sampling) {
		if (in->first_sampling < 0)
			return pfs_err_set(err, PFS_EUSAGE, PFS_NO_OFF,
					   "the capture has no sampling event (only tracepoints)");
		in->want_attr = in->first_sampling;
	}
	return 0;
}

static struct pfs_thread *thread_seen(struct ingest *in, uint32_t pid, uint32_t tid, uint64_t t)
{
	struct pfs_thread *th = pfs_profile_thread(in->prof, pid, tid);
	if (t) {
		if (!th->start || t < th->start)
			th->start = t;
		if (t > th->end)
			th->end = t;
	}
	return th;
}

static void side_band(struct ingest *in, const struct pfs_record *rec)
{
	uint64_t t = rec->sid.has & PFS_S_TIME ? rec->sid.time : 0;
	switch (rec->type) {
	case PFS_REC_COMM: {
		const struct pfs_rec_comm *c = &rec->u.comm;
		uint32_t name = pfs_profile_cstr(in->prof, c->comm ? c->comm : "");
		thread_seen(in, c->pid, c->tid, t)->comm = name;
		if (c->pid == c->tid || c->exec) {
			struct pfs_process *pr = pfs_profile_process(in->prof, c->pid);
			pr->comm = name;
			if (c->exec)
				pr->cmdline = name;
		}
		break;
	}
	case PFS_REC_FORK: {
		const struct pfs_rec_task *k = &rec->u.task;
		uint32_t pcomm = pfs_profile_thread(in->prof, k->ppid, k->ptid)->comm;
		struct pfs_thread *th = thread_seen(in, k->pid, k->tid, k->time);
		if (!th->comm)
			th->comm = pcomm;
		if (k->pid != k->ppid) {
			struct pfs_process *pr = pfs_profile_process(in->prof, k->pid);
			pr->ppid = k->ppid;
			if (!pr->comm)
				pr->comm = pcomm;
			if (!pr->start || (k->time && k->time < pr->start))
				pr->start = k->time;
		}
		break;
	}
	case PFS_REC_EXIT: {
		const struct pfs_rec_task *k = &rec->u.task;
		thread_seen(in, k->pid, k->tid, k->time);
		if (k->pid == k->tid && k->time)
			pfs_profile_process(in->prof, k->pid)->end = k->time;
		break;
	}
	default:
		break;
	}
	pfs_procmap_apply(in->pm, rec);
}

enum { PEND_KERNEL, PEND_USER, PEND_USER_INLINE, PEND_FRAME };

/* Defer mode's push: one item per address (per frame when located to frames already). */
static bool push_item(struct ingest *in, size_t *n, struct pfs_proc *p, uint64_t addr, bool kernel,
		      bool inlines)
{
	uint32_t tmp[64];
	struct pfs_symloc loc = {0, 0};
	size_t k = kernel ? 0 : pfs_symbols_locate(in->sym, p, addr, &loc, tmp, 64);
	size_t want = kernel || loc.dso ? 1 : k;
	PFS_GROW(in->items, in->cap_items, in->n_items + want);
	struct pend_item *it = in->items + in->n_items;
	if (kernel)
		*it = (struct pend_item){addr, 0, PEND_KERNEL};
	else if (loc.dso)
		*it = (struct pend_item){loc.va, loc.dso, inlines ? PEND_USER_INLINE : PEND_USER};
	else
		for (size_t i = 0; i < k; i++)
			it[i] = (struct pend_item){0, tmp[i], PEND_FRAME};
	in->n_items += want;
	*n += want;
	return *n < in->max_frames;
}

/* Appends the frames of one address; false when the stack is full. */
static bool push(struct ingest *in, size_t *n, struct pfs_proc *p, uint64_t addr, bool kernel,
		 bool inlines)
{
	if (*n >= in->max_frames)
		return false;
	if (in->defer)
		return push_item(in, n, p, addr, kernel, inlines);
	size_t room = in->max_frames - *n;
	*n += kernel ? pfs_symbols_kernel(in->sym, pfs_procmap_kernel(in->pm), addr,
					  in->frames + *n, room)
		     : pfs_symbols_user(in->sym, p, addr, inlines, in->frames + *n, room);
	return *n < in->max_frames;
}

/* The [truncated] root frame, replacing the outermost frame when the stack is full. */
static void push_root(struct ingest *in, size_t *n, uint32_t frame)
{
	struct pend_item it = {0, frame, PEND_FRAME};
	if (!in->defer) {
		if (*n >= in->max_frames)
			--*n;
		in->frames[(*n)++] = frame;
	} else if (*n >= in->max_frames && in->n_items) {
		in->items[in->n_items - 1] = it;
	} else {
		PFS_GROW(in->items, in->cap_items, in->n_items + 1);
		in->items[in->n_items++] = it;
		++*n;
	}
}

static uint32_t truncated_frame(struct ingest *in)
{
	if (!in->f_truncated) {
		struct pfs_frame f = {.name = pfs_profile_cstr(in->prof, PFS_FRAME_TRUNCATED),
				      .kind = PFS_FK_PSEUDO};
		in->f_truncated = pfs_profile_frame(in->prof, &f);
	}
	return in->f_truncated;
}

/* ---- cut stacks: how many, and what dump size would have held them ---- */

static size_t cut_hash(uint32_t tid, uint64_t key, size_t cap)
{
	uint64_t h = (key ^ (uint64_t)tid << 32) * 0x9e3779b97f4a7c15ull;
	return (size_t)(h >> 24) & (cap - 1);
}

static bool cut_empty(const struct cut_cell *e)
{
	return !e->pid && !e->tid && !e->key;
}

/* The cell of (pid, tid, key), or NULL. */
static const struct cut_cell *cut_find(const struct cuts *c, uint32_t pid, uint32_t tid,
				       uint64_t key)
{
	for (size_t j = c->cap ? cut_hash(tid, key, c->cap) : 0; c->cap;
	     j = (j + 1) & (c->cap - 1)) {
		const struct cut_cell *e = &c->v[j];
		if (cut_empty(e))
			return NULL;
		if (e->pid == pid && e->tid == tid && e->key == key)
			return e;
	}
	return NULL;
}

/* The cell of (pid, tid, key), added when new. */
static struct cut_cell *cut_cell(struct cuts *c, uint32_t pid, uint32_t tid, uint64_t key)
{
	if ((c->n + 1) * 2 > c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 256;
		struct cut_cell *nv = pfs_xcalloc(nc, sizeof(*nv));
		for (size_t i = 0; i < c->cap; i++) {
			struct cut_cell *e = &c->v[i];
			if (cut_empty(e))
				continue;
			size_t j = cut_hash(e->tid, e->key, nc);
			while (!cut_empty(&nv[j]))
				j = (j + 1) & (nc - 1);
			nv[j] = *e;
		}
		free(c->v);
		c->v = nv;
		c->cap = nc;
	}
	size_t j = cut_hash(tid, key, c->cap);
	for (;; j = (j + 1) & (c->cap - 1)) {
		struct cut_cell *e = &c->v[j];
		if (cut_empty(e)) {
			*e = (struct cut_cell){pid, tid, key, 0};
			c->n++;
			return e;
		}
		if (e->pid == pid && e->tid == tid && e->key == key)
			return e;
	}
}

static void cuts_count(struct ingest *in, const struct pfs_record *rec,
		       const struct pfs_unwind_info *ui)
{
	struct cuts *c = &in->cuts;
	uint32_t pid = rec->sid.pid, tid = rec->sid.tid;
	c->dwarf++;
	if (ui->end == PFS_UNWIND_ROOT && ui->top > ui->sp) {
		struct cut_cell *e = cut_cell(c, pid, tid, CUT_TOP);
		if (ui->top > e->value)
			e->value = ui->top;
	} else if (ui->end == PFS_UNWIND_CUT) {
		c->cut++;
		cut_cell(c, pid, tid, ui->sp >> 8)->value++;
		if (rec->attr->sample_stack_user > c->dump)
			c->dump = rec->attr->sample_stack_user;
	}
}

/* perf's largest --call-graph dwarf size */
#define DWARF_MAX 65528u

struct cut_need {
	uint64_t bytes, samples;
};

static int cmp_need(const void *x, const void *y)
{
	const struct cut_need *a = x, *b = y;
	return (a->bytes > b->bytes) - (a->bytes < b->bytes);
}

/* A dump size perf takes that holds bytes of stack: a multiple of 4 KiB, perf's maximum at most. */
static uint64_t dump_size(uint64_t bytes)
{
	uint64_t size = (bytes + 4095) / 4096 * 4096;
	return size > DWARF_MAX ? DWARF_MAX : size;
}

/*
 * One "stacks-cut" diagnostic: how many, and the dump sizes that would have held nine in ten
 * of those whose depth is known, and all of them.
 */
static void cuts_report(struct ingest *in)
{
	struct cuts *c = &in->cuts;
	if (!c->cut)
		return;
	uint64_t held = 0, over = 0, unknown = 0;
	struct cut_need *need = NULL;
	size_t n_need = 0, cap_need = 0;
	for (size_t i = 0; i < c->cap; i++) {
		const struct cut_cell *e = &c->v[i];
		if (cut_empty(e) || e->key == CUT_TOP)
			continue;
		const struct cut_cell *t = cut_find(c, e->pid, e->tid, CUT_TOP);
		/* a forked child's main thread runs on its parent's main-thread stack */
		uint32_t pid = e->pid;
		for (int up = 0; !t && e->tid == e->pid && up < 8; up++) {
			pid = pfs_profile_process(in->prof, pid)->ppid;
			if (!pid)
				break;
			t = cut_find(c, pid, pid, CUT_TOP);
		}
		uint64_t sp = e->key << 8;
		if (!t || t->value <= sp) {
			unknown += e->value;
			continue;
		}
		uint64_t want = t->value - sp;
		if (want > DWARF_MAX) {
			over += e->value;
			continue;
		}
		held += e->value;
		PFS_GROW(need, cap_need, n_need + 1);
		need[n_need++] = (struct cut_need){want, e->value};
	}
	char advice[200] = "", more[160] = "";
	if (held) {
		qsort(need, n_need, sizeof(*need), cmp_need);
		uint64_t sum = 0, p90 = 0;
		for (size_t i = 0; i < n_need && !p90; i++) {
			sum += need[i].samples;
			if (sum * 10 >= (held + over) * 9)
				p90 = need[i].bytes;
		}
		uint64_t all = dump_size(need[n_need - 1].bytes);
		if (p90 && dump_size(p90) < all)
			snprintf(advice, sizeof(advice),
				 "; --call-graph dwarf,%llu would have held 90%% of those of known "
				 "depth, dwarf,%llu %s",
				 (unsigned long long)dump_size(p90), (unsigned long long)all,
				 over ? "all the others" : "all");
		else
			snprintf(advice, sizeof(advice),
				 "; --call-graph dwarf,%llu would have held %s",
				 (unsigned long long)all,
				 over	   ? "those of known depth but the deepest"
				 : unknown ? "those of known depth"
					   : "all of them");
	}
	size_t k = 0;
	if (over)
		k += (size_t)snprintf(more, sizeof(more), "; %llu need more than perf's maximum %u",
				      (unsigned long long)over, DWARF_MAX);
	if (unknown && k < sizeof(more))
		snprintf(more + k, sizeof(more) - k,
			 "; %llu are of threads never unwound whole (depth unknown)",
			 (unsigned long long)unknown);
	free(need);
	pfs_diag_addn(in->diag, PFS_WARN, "stacks-cut", c->cut, PFS_NO_OFF,
		      "%llu of %llu DWARF stacks (%.1f%%) end where the %llu-byte stack dump ends, "
		      "rooted at [truncated]%s%s",
		      (unsigned long long)c->cut, (unsigned long long)c->dwarf,
		      100.0 * (double)c->cut / (double)c->dwarf, (unsigned long long)c->dump,
		      advice, more);
}

/* A frame-pointer user stack of n frames (in->frames): broken when its root is [unknown]. */
static void count_fp_stack(struct ingest *in, size_t n)
{
	in->fp_user++;
	if (n && in->frames[n - 1] &&
	    pfs_profile_frameget(in->prof, in->frames[n - 1])->kind == PFS_FK_UNKNOWN)
		in->fp_broken++;
}

static size_t build_stack(struct ingest *in, const struct pfs_record *rec, struct pfs_proc *p)
{
	const struct pfs_sample *smp = &rec->u.sample;
	const struct pfs_attr *a = rec->attr;
	unsigned mode = rec->misc & PFS_MISC_CPUMODE_MASK;
	bool dwarf = (a->sample_type & PFS_S_REGS_USER) && (a->sample_type & PFS_S_STACK_USER);
	size_t n = 0;
	if (!(a->sample_type & PFS_S_CALLCHAIN) || !smp->n_callchain) {
		bool k = mode == PFS_MISC_KERNEL || mode == PFS_MISC_GUEST_KERNEL;
		if (k || !dwarf) {
			push(in, &n, p, smp->ip, k, false);
			if (k && !dwarf)
				return n;
		}
		if (!dwarf)
			return n;
	} else {
		bool kernel = mode == PFS_MISC_KERNEL || mode == PFS_MISC_GUEST_KERNEL;
		size_t user_frames = 0;
		for (uint64_t i = 0; i < smp->n_callchain; i++) {
			uint64_t ip = smp->callchain[i];
			if (ip >= PFS_CONTEXT_MAX) {
				kernel = ip == PFS_CONTEXT_KERNEL ||
					 ip == PFS_CONTEXT_GUEST_KERNEL || ip == PFS_CONTEXT_HV;
				continue;
			}
			if (!kernel && dwarf)
				break;
			if (!kernel)
				user_frames++;
			if (!push(in, &n, p, ip, kernel, false))
				return n;
		}
		if (!dwarf) {
			if (user_frames && in->defer) {
				in->fp_check = true;
			} else if (user_frames) {
				count_fp_stack(in, n);
			}
			return n;
		}
	}
	struct pfs_unwind_info ui;
	size_t np =
	    pfs_symbols_unwind_user(in->sym, p, rec->sid.tid, a, smp, in->pcs, in->max_frames, &ui);
	if (!np && mode == PFS_MISC_USER)
		push(in, &n, p, smp->ip, false, true);
	bool full = false;
	for (size_t i = 0; i < np && !full; i++)
		full = !push(in, &n, p, in->pcs[i], false, true);
	if (ui.end != PFS_UNWIND_NONE)
		cuts_count(in, rec, &ui);
	/* a stack whose callers are unknown says so at its root rather than pass for whole */
	if (ui.end == PFS_UNWIND_CUT || ui.end == PFS_UNWIND_FULL || full)
		push_root(in, &n, truncated_frame(in));
	return n;
}

static uint32_t path_of(struct ingest *in, size_t n)
{
	uint32_t path = 0;
	while (n--)
		path = pfs_profile_path(in->prof, path, in->frames[n]);
	return path;
}

static void memo_reserve(struct stack_memo *m, size_t n)
{
	if (n <= m->cap)
		return;
	m->ips = pfs_xreallocarray(m->ips, n, sizeof(*m->ips));
	m->kernel = pfs_xreallocarray(m->kernel, n, sizeof(*m->kernel));
	m->path = pfs_xreallocarray(m->path, n, sizeof(*m->path));
	m->depth = pfs_xreallocarray(m->depth, n, sizeof(*m->depth));
	m->cap = n;
}

/*
 * The call path of a frame-pointer callchain through the thread's memo; the same frames, in
 * the same order, and the same diagnostics as build_stack() gives. Returns false (and leaves
 * the memo empty) when the stack would reach max_frames: build_stack() truncates it there.
 */
static bool memo_path(struct ingest *in, const struct pfs_record *rec, struct pfs_proc *p,
		      uint32_t *path_out)
{
	const struct pfs_sample *smp = &rec->u.sample;
	unsigned mode = rec->misc & PFS_MISC_CPUMODE_MASK;
	bool kernel = mode == PFS_MISC_KERNEL || mode == PFS_MISC_GUEST_KERNEL;
	size_t m = 0, user_frames = 0;
	for (uint64_t i = 0; i < smp->n_callchain; i++) {
		uint64_t ip = smp->callchain[i];
		if (ip >= PFS_CONTEXT_MAX) {
			kernel = ip == PFS_CONTEXT_KERNEL || ip == PFS_CONTEXT_GUEST_KERNEL ||
				 ip == PFS_CONTEXT_HV;
			continue;
		}
		/* one frame per address without inlines: this many would be truncated */
		if (m + 1 >= in->max_frames)
			return false;
		in->pcs[m] = ip;
		in->ctx[m++] = kernel;
		user_frames += !kernel;
	}
	if (!in->memo)
		in->memo = pfs_xcalloc(MEMO_SLOTS, sizeof(*in->memo));
	uint32_t tid = rec->sid.tid, kgen = pfs_procmap_kernel(in->pm)->gen;
	struct stack_memo *mm = &in->memo[(tid * 0x9e3779b1u) >> 22 & (MEMO_SLOTS - 1)];
	size_t common = 0, kernel_reused = 0;
	if (mm->valid && mm->tid == tid && mm->pid == p->pid && mm->gen == p->gen &&
	    mm->kgen == kgen)
		while (common < mm->n && common < m && mm->ips[common] == in->pcs[m - 1 - common] &&
		       mm->kernel[common] == in->ctx[m - 1 - common])
			kernel_reused += mm->kernel[common++];
	uint32_t path = common ? mm->path[common - 1] : 0;
	size_t depth = common ? mm->depth[common - 1] : 0;
	bool root_unknown = common && mm->root_unknown;
	mm->valid = false;
	memo_reserve(mm, m);
	for (size_t j = common; j < m; j++) {
		size_t at = m - 1 - j;
		size_t room = in->max_frames - depth;
		size_t nf = in->ctx[at] ? pfs_symbols_kernel(in->sym, pfs_procmap_kernel(in->pm),
							     in->pcs[at], in->frames, room)
					: pfs_symbols_user(in->sym, p, in->pcs[at], false,
							   in->frames, room);
		/* a resolver giving several frames for one address could still reach the limit */
		if (depth + nf >= in->max_frames)
			return false;
		if (j == 0)
			root_unknown =
			    nf && pfs_profile_frameget(in->prof, in->frames[nf - 1])->kind ==
				      PFS_FK_UNKNOWN;
		while (nf--)
			path = pfs_profile_path(in->prof, path, in->frames[nf]);
		depth = pfs_profile_pathget(in->prof, path)->depth;
		mm->ips[j] = in->pcs[at];
		mm->kernel[j] = in->ctx[at];
		mm->path[j] = path;
		mm->depth[j] = (uint32_t)depth;
	}
	if (kernel_reused && !pfs_symbols_have_kernel(in->sym))
		pfs_diag_addn(in->diag, PFS_NOTE, "kernel-unresolved", kernel_reused, PFS_NO_OFF,
			      "kernel frames without kernel symbols, shown as [kernel]");
	if (user_frames) {
		in->fp_user++;
		in->fp_broken += root_unknown;
	}
	*mm = (struct stack_memo){tid, p->pid,	p->gen,	 kgen,	     true,     root_unknown,
				  m,   mm->cap, mm->ips, mm->kernel, mm->path, mm->depth};
	*path_out = path;
	return true;
}

/* A DWARF stack depends on the stack dump, not only on addresses: only fp chains are memoized. */
static uint32_t sample_path(struct ingest *in, const struct pfs_record *rec, struct pfs_proc *p)
{
	const struct pfs_attr *a = rec->attr;
	bool dwarf = (a->sample_type & PFS_S_REGS_USER) && (a->sample_type & PFS_S_STACK_USER);
	uint32_t path;
	if (!in->defer && !dwarf && (a->sample_type & PFS_S_CALLCHAIN) &&
	    rec->u.sample.n_callchain && memo_path(in, rec, p, &path))
		return path;
	return path_of(in, build_stack(in, rec, p));
}

/*
 * Tells the symbolizer about the capture's machine and build-ids: at open in file mode (so
 * that kallsyms loads while the first records are read), at the first sample in pipe mode
 * (the features arrive as records before it).
 */
static void capture_set(struct ingest *in)
{
	const struct pfs_info *info = pfs_reader_info(in->r);
	pfs_symbols_set_capture(in->sym, info->hostname, info->osrelease, info->build_ids,
				info->n_build_ids);
	in->capture_set = true;
}

/* Names the deferred samples' frames, in the order they were read, and streams their rows. */
static int flush(struct ingest *in)
{
	int rc = 0;
	for (size_t i = 0; i < in->n_pend; i++) {
		struct pend_sample *ps = &in->pend[i];
		size_t n = 0;
		for (size_t j = 0; j < ps->n && n < in->max_frames; j++) {
			const struct pend_item *it = &in->items[ps->first + j];
			size_t room = in->max_frames - n;
			if (it->kind == PEND_KERNEL) {
				n += pfs_symbols_kernel(in->sym, pfs_procmap_kernel(in->pm), it->v,
							in->frames + n, room);
			} else if (it->kind == PEND_FRAME) {
				in->frames[n++] = it->x;
			} else {
				struct pfs_symloc loc = {it->x, it->v};
				n +=
				    pfs_symbols_resolve(in->sym, &loc, it->kind == PEND_USER_INLINE,
							in->frames + n, room);
			}
		}
		if (ps->fp_check)
			count_fp_stack(in, n);
		ps->row.path = path_of(in, n);
		if (rc >= 0 && in->cb)
			rc = in->cb(in->payload, &ps->row);
	}
	in->n_pend = in->n_items = 0;
	return rc;
}

/* Deferred samples held at most: a bound on memory, not a tuning knob. */
#define PEND_MAX_SAMPLES 65536
#define PEND_MAX_ITEMS (1u << 19)

static int sample(struct ingest *in, const struct pfs_record *rec, struct pfs_err *err)
{
	if (!rec->attr)
		return 0;
	if (!in->capture_set)
		capture_set(in);
	if (!in->events_ready) {
		int rc = events_init(in, err);
		if (rc < 0)
			return rc;
	}
	const struct pfs_sample_id *sid = &rec->sid;
	size_t ai = pfs_reader_attr_index(in->r, rec->attr);
	uint32_t ev = event_of(in, ai, rec->attr);
	pfs_profile_event(in->prof, ev)->samples++;
	uint64_t t = sid->has & PFS_S_TIME ? sid->time : 0;
	struct pfs_thread *th = thread_seen(in, sid->pid, sid->tid, t);
	if (in->first_sampling >= 0 && ai == (size_t)in->first_sampling)
		th->samples++;
	if (in->want_attr >= 0 && ai != (size_t)in->want_attr) {
		/* an entry probe's stack tells the callers of samples in the probed call */
		const struct pfs_attr *a = rec->attr;
		if (a->type == PERF_TYPE_TRACEPOINT && (a->sample_type & PFS_S_REGS_USER) &&
		    (a->sample_type & PFS_S_STACK_USER))
			pfs_symbols_note_entry(in->sym, pfs_procmap_proc(in->pm, sid->pid),
					       sid->tid, a, &rec->u.sample);
		return 0;
	}
	if (!th->comm) {
		char buf[24];
		snprintf(buf, sizeof(buf), ":%u", sid->tid);
		th->comm = pfs_profile_cstr(in->prof, buf);
	}
	uint32_t comm = th->comm;
	struct pfs_proc *p = pfs_procmap_proc(in->pm, sid->pid);
	/* hooks see each sample as it is read, with its call path: nothing is deferred for them */
	bool defer = !in->o->hooks && in->n_pend < PEND_MAX_SAMPLES &&
		     in->n_items < PEND_MAX_ITEMS && (in->n_pend || pfs_symbols_loading(in->sym));
	if (!defer && in->n_pend) {
		int rc = flush(in);
		if (rc < 0)
			return rc;
	}
	size_t first = in->n_items;
	in->defer = defer;
	in->fp_check = false;
	uint32_t path = defer ? 0 : sample_path(in, rec, p);
	size_t n_items = defer ? build_stack(in, rec, p) : 0;
	in->defer = false;
	struct pfs_sample_row row = {
	    .event = ev,
	    .pid = sid->pid,
	    .tid = sid->tid,
	    .cpu = sid->has & PFS_S_CPU ? sid->cpu : UINT32_MAX,
	    .time = t,
	    .path = path,
	    .period = rec->u.sample.period,
	    .weight = 1,
	    .comm = comm,
	};
	if (defer) {
		PFS_GROW(in->pend, in->cap_pend, in->n_pend + 1);
		in->pend[in->n_pend++] = (struct pend_sample){row, first, n_items, in->fp_check};
		return 0;
	}
	int rc = in->cb ? in->cb(in->payload, &row) : 0;
	if (rc >= 0 && in->o->hooks && in->o->hooks->sample)
		rc = in->o->hooks->sample(in->o->hooks->payload, &row, rec);
	return rc;
}

static char *dir_of(const char *path)
{
	const char *sl = strrchr(path, '/');
	if (!sl)
		return pfs_xstrdup(".");
	if (sl == path)
		return pfs_xstrdup("/");
	return pfs_xstrndup(path, (size_t)(sl - path));
}

int pfs_ingest_perf(const char *path, const struct pfs_ingest_opts *o, struct pfs_profile *prof,
		    pfs_sample_cb cb, void *payload, struct pfs_diag *diag, struct pfs_err *err)
{
	struct pfs_ingest_opts defaults = {0};
	if (!o)
		o = &defaults;
	struct ingest in = {.o = o, .prof = prof, .diag = diag, .cb = cb, .payload = payload};
	int rc = pfs_reader_open(&in.r, path, NULL, err);
	if (rc < 0)
		return rc;
	/* a directory stands for its perf.data (perfsight record -o DIR): the maps are in it */
	char *in_dir = pfs_reader_dir_capture(path);
	char *cap_dir = in_dir ? pfs_xstrdup(path) : strcmp(path, "-") ? dir_of(path) : NULL;
	free(in_dir);
	char *maps_dir = NULL;
	if (cap_dir) {
		size_t len = strlen(cap_dir) + 6;
		maps_dir = pfs_xmalloc(len);
		snprintf(maps_dir, len, "%s/maps", cap_dir);
	}
	const char *jit_dirs[3];
	size_t nj = 0;
	if (o->jit_maps)
		jit_dirs[nj++] = o->jit_maps;
	if (cap_dir) {
		jit_dirs[nj++] = cap_dir;
		jit_dirs[nj++] = maps_dir;
	}
	struct pfs_symbols_opts so = {
	    .symfs = o->symfs,
	    .app_dir = o->app_dir,
	    .capture_dir = cap_dir,
	    .jit_dirs = jit_dirs,
	    .n_jit_dirs = nj,
	    .kallsyms = o->kallsyms,
	    .no_inline = o->no_inline,
	    .unwind_libdw = o->unwind_libdw,
	    .symfs_only = o->symfs_only,
	    .addr_names = o->addr_names,
	};
	in.pm = pfs_procmap_new(prof, pfs_symbols_release_space);
	in.sym = pfs_symbols_new(&so, prof, in.pm, diag);
	in.max_frames = o->max_stack ? o->max_stack : 1024;
	in.pcs = pfs_xmalloc(in.max_frames * sizeof(*in.pcs));
	in.frames = pfs_xmalloc(in.max_frames * sizeof(*in.frames));
	in.ctx = pfs_xmalloc(in.max_frames * sizeof(*in.ctx));
	in.want_attr = -1;
	in.first_sampling = -1;
	if (!pfs_reader_info(in.r)->pipe)
		capture_set(&in);

	struct pfs_record rec;
	while ((rc = pfs_reader_next(in.r, &rec, err)) > 0) {
		if (rec.type == PFS_REC_SAMPLE) {
			rc = sample(&in, &rec, err);
			if (rc < 0)
				break;
		} else {
			side_band(&in, &rec);
			if (o->hooks && o->hooks->record)
				o->hooks->record(o->hooks->payload, in.r, &rec);
		}
	}
	if (rc >= 0 && in.n_pend)
		rc = flush(&in);
	if (rc >= 0 && !in.events_ready)
		rc = events_init(&in, err);
	if (rc >= 0 && o->hooks && o->hooks->end)
		o->hooks->end(o->hooks->payload, in.r);
	cuts_report(&in);
	pfs_symbols_finish(in.sym);
	if (in.fp_user >= 10 && in.fp_broken * 2 > in.fp_user)
		pfs_diag_addn(diag, PFS_WARN, "fp-chains-broken", in.fp_broken, PFS_NO_OFF,
			      "%llu of %llu frame-pointer user stacks end in [unknown]: the code "
			      "was built without frame pointers; record with --call-graph dwarf",
			      (unsigned long long)in.fp_broken, (unsigned long long)in.fp_user);
	pfs_diag_merge(diag, pfs_reader_diag(in.r));
	pfs_procmap_free(in.pm);
	pfs_symbols_free(in.sym);
	pfs_reader_close(in.r);
	for (size_t i = 0; in.memo && i < MEMO_SLOTS; i++) {
		free(in.memo[i].ips);
		free(in.memo[i].kernel);
		free(in.memo[i].path);
		free(in.memo[i].depth);
	}
	free(in.memo);
	free(in.cuts.v);
	free(in.items);
	free(in.pend);
	free(in.ctx);
	free(in.ev_of_attr);
	free(in.pcs);
	free(in.frames);
	free(cap_dir);
	free(maps_dir);
	return rc < 0 ? rc : 0;
}
