/*
 * Round trips through the perf.data reader: files built by tests/helper/pfs_writer with known
 * contents, in both byte orders, file and pipe mode, plain and zstd-compressed, read back
 * field by field; then the ordering rule, cut and damaged files, and bad headers.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cursor.h"
#include "harness.h"
#include "perfdata.h"
#include "pfs_writer.h"

#define BR_HW_INDEX (1ull << 17)
#define BR_COUNTERS (1ull << 19)
#define ALL_SAMPLE_BITS ((1ull << 25) - 1)
#define SID_BITS                                                                                   \
	(PFS_S_TID | PFS_S_TIME | PFS_S_ID | PFS_S_STREAM_ID | PFS_S_CPU | PFS_S_IDENTIFIER)

/* ---- the scenario: three events, every record kind ---- */

static uint64_t ids_a[] = {101, 102}, ids_b[] = {201, 202, 203}, ids_c[] = {301};

static void make_attrs(struct pfs_attr at[3])
{
	memset(at, 0, 3 * sizeof(*at));
	/* A: every sample bit, group read with every read_format bit, full branch stack */
	at[0].type = 0;
	at[0].size = 136;
	at[0].config = 0;
	at[0].sample_period = 4000;
	at[0].sample_type = ALL_SAMPLE_BITS;
	at[0].read_format = PFS_FMT_TOTAL_TIME_ENABLED | PFS_FMT_TOTAL_TIME_RUNNING | PFS_FMT_ID |
			    PFS_FMT_GROUP | PFS_FMT_LOST;
	at[0].flags = PFS_ATTR_FLAG(0) | PFS_ATTR_FLAG(PFS_AF_FREQ) |
		      PFS_ATTR_FLAG(PFS_AF_SAMPLE_ID_ALL) | PFS_ATTR_FLAG(PFS_AF_USE_CLOCKID) |
		      PFS_ATTR_FLAG(33) | PFS_ATTR_FLAG(37);
	at[0].wakeup_events = 7;
	at[0].bp_type = 3;
	at[0].config1 = 0x1111;
	at[0].config2 = 0x2222;
	at[0].branch_sample_type = BR_HW_INDEX | BR_COUNTERS | 1;
	at[0].sample_regs_user = 0xff0fff;
	at[0].sample_stack_user = 8192;
	at[0].clockid = 1;
	at[0].sample_regs_intr = 0x3;
	at[0].aux_watermark = 4096;
	at[0].sample_max_stack = 127;
	at[0].aux_sample_size = 64;
	at[0].sig_data = 0x5151;
	at[0].config3 = 0x3333;
	at[0].name = (char *)"cycles:u";
	at[0].ids = ids_a;
	at[0].n_ids = 2;
	/* B: a common profile layout, non-group read, VER3 attr */
	at[1].type = 1;
	at[1].size = 96;
	at[1].config = 0;
	at[1].sample_period = 1000000;
	at[1].sample_type = PFS_S_IDENTIFIER | PFS_S_IP | PFS_S_TID | PFS_S_TIME | PFS_S_CPU |
			    PFS_S_PERIOD | PFS_S_READ | PFS_S_CALLCHAIN | PFS_S_BRANCH_STACK;
	at[1].read_format = PFS_FMT_ID | PFS_FMT_TOTAL_TIME_RUNNING;
	at[1].flags = PFS_ATTR_FLAG(PFS_AF_SAMPLE_ID_ALL) | PFS_ATTR_FLAG(1) | PFS_ATTR_FLAG(23);
	at[1].branch_sample_type = 2;
	at[1].name = (char *)"cpu-clock";
	at[1].ids = ids_b;
	at[1].n_ids = 3;
	/* C: the dummy event that carries side-band records, VER1 */
	at[2].type = 1;
	at[2].size = 72;
	at[2].config = 9;
	at[2].sample_period = 1;
	at[2].sample_type =
	    PFS_S_IDENTIFIER | PFS_S_TID | PFS_S_TIME | PFS_S_ID | PFS_S_STREAM_ID | PFS_S_CPU;
	at[2].flags = PFS_ATTR_FLAG(PFS_AF_SAMPLE_ID_ALL) | PFS_ATTR_FLAG(8) | PFS_ATTR_FLAG(9) |
		      PFS_ATTR_FLAG(PFS_AF_CONTEXT_SWITCH);
	at[2].config1 = 0xc1;
	at[2].name = (char *)"dummy:u";
	at[2].ids = ids_c;
	at[2].n_ids = 1;
}

/* leaves out the 100 KB tracing blob and the 60 KB sample, for tests that read a file often */
static bool small_scenario;

static char *cmdline[] = {(char *)"/usr/bin/perf", (char *)"record", (char *)"-g"};
static uint8_t tracing_blob[100000]; /* past a 64 KiB stream window */
static struct pfs_build_id build_ids[2];
static char pmu_cpu[] = "cpu", pmu_sw[] = "software";

static void set_feature(struct pfs_info *in, unsigned bit)
{
	in->features[bit / 64] |= 1ull << (bit % 64);
}

static void make_info(struct pfs_info *in)
{
	static const unsigned bits[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 16, 21, 23, 29};
	memset(in, 0, sizeof(*in));
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		set_feature(in, bits[i]);
	in->hostname = (char *)"synth-host";
	in->osrelease = (char *)"6.1.0-test-amd64";
	in->version = (char *)"6.1.99";
	in->arch = (char *)"x86_64";
	in->nr_cpus_avail = 8;
	in->nr_cpus_online = 6;
	in->cpudesc = (char *)"Test CPU @ 3.00GHz";
	in->cpuid = (char *)"GenuineIntel,6,85,4";
	in->total_mem_kb = 16318480;
	in->cmdline = cmdline;
	in->n_cmdline = 3;
	in->first_sample_time = 1000;
	in->last_sample_time = 9000;
	in->clock_resolution_ns = 1;
	in->clockid = 1;
	in->wall_clock_ns = 1700000000123456789ull;
	in->clockid_time_ns = 123456789;
	for (size_t i = 0; i < sizeof(tracing_blob); i++)
		tracing_blob[i] = (uint8_t)(i * 7 + 1);
	memcpy(tracing_blob, "\x17\x08\x44tracing0.6", 13);
	in->tracing_data = tracing_blob;
	in->tracing_data_len = small_scenario ? 48 : sizeof(tracing_blob);
	memset(build_ids, 0, sizeof(build_ids));
	build_ids[0].pid = -1;
	build_ids[0].size = 20;
	build_ids[0].cpumode = PFS_MISC_KERNEL;
	build_ids[0].filename = (char *)"[kernel.kallsyms]";
	build_ids[1].pid = 4242;
	build_ids[1].size = 16;
	build_ids[1].cpumode = PFS_MISC_USER;
	build_ids[1].filename = (char *)"/usr/lib/x86_64-linux-gnu/libpython3.12.so.1.0";
	for (int i = 0; i < 20; i++) {
		build_ids[0].id[i] = (uint8_t)(0xa0 + i);
		build_ids[1].id[i] = i < 16 ? (uint8_t)(0x10 + i) : 0;
	}
	in->build_ids = build_ids;
	in->n_build_ids = 2;
	{
		static struct {
			uint32_t type;
			char *name;
		} pmus[2];
		pmus[0].type = 4;
		pmus[0].name = pmu_cpu;
		pmus[1].type = 1;
		pmus[1].name = pmu_sw;
		in->pmus = (void *)pmus;
		in->n_pmus = 2;
	}
}

/* What a record should read back as. */
struct exp {
	uint32_t type;
	uint16_t misc;
	int attr; /* -1: tool record */
	struct pfs_sample_id sid;
	struct pfs_sample s;
	struct pfs_rec_mmap m;
	struct pfs_rec_comm c;
	struct pfs_rec_task t;
	struct pfs_rec_switch sw;
	struct pfs_rec_lost l;
	uint64_t seed;
	uint64_t off; /* where it was written (uncompressed files) */
};

struct scen {
	struct pfs_attr attrs[3];
	struct pfs_info info;
	struct exp e[96];
	size_t n;
	uint64_t tool[PFS_REC_MAX]; /* tool records written, by type */
	size_t unknown;
};

/* the writer build() is filling, so add() can note each record's offset */
static struct pfs_w *cur_w;

static struct exp *add(struct scen *sc, uint32_t type, uint16_t misc, int attr,
		       const struct pfs_sample_id *sid)
{
	struct exp *e = &sc->e[sc->n++];
	T_ASSERT(sc->n <= sizeof(sc->e) / sizeof(sc->e[0]));
	memset(e, 0, sizeof(*e));
	e->off = pfs_w_next_offset(cur_w);
	e->type = type;
	e->misc = misc;
	e->attr = attr;
	if (sid)
		e->sid = *sid;
	return e;
}

/* kernel frames, then user frames: the markers travel with the addresses */
static uint64_t cc_full[] = {
    PFS_CONTEXT_KERNEL, 0xffffffff81000010ull, 0xffffffff81000200ull, PFS_CONTEXT_USER,
    0x401234,		0x7f0000001000ull};
static uint8_t raw12[12] = {0x2a, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
static struct pfs_branch_entry br2[2] = {{0x401000, 0x402000, 0x10001}, {0x403000, 0x404000, 2}};
static uint64_t br_counters[2] = {3, 4};
static uint64_t regs20[20], regs2[2] = {0xaaaa, 0xbbbb};
static uint8_t stack64[64];
static uint8_t aux16[16] = "aux-sample-data";
static struct pfs_read_value rv_group[2] = {{1000, 101, 1}, {2000, 201, 0}};
static struct pfs_read_value rv_one[1] = {{555, 202, 0}};

static void full_sample(struct pfs_sample *s)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < 20; i++)
		regs20[i] = 0x1111ull * (uint64_t)(i + 1);
	for (int i = 0; i < 64; i++)
		stack64[i] = (uint8_t)(0xc0 ^ i);
	s->ip = 0x401234;
	s->addr = 0xdead0000;
	s->period = 4001;
	s->read_time_enabled = 999;
	s->read_time_running = 888;
	s->read_values = rv_group;
	s->n_read_values = 2;
	s->callchain = cc_full;
	s->n_callchain = 6;
	s->raw = raw12;
	s->raw_size = 12;
	s->branches = br2;
	s->n_branches = 2;
	s->branch_hw_idx = 7;
	s->has_hw_idx = true;
	s->branch_counters = br_counters;
	s->regs_user_abi = 2;
	s->regs_user = regs20;
	s->n_regs_user = 20;
	s->stack_user = stack64;
	s->stack_user_size = 64;
	s->stack_user_dyn_size = 40;
	s->weight = 0x0003000200000001ull;
	s->data_src = 0x68100142ull;
	s->transaction = 0x11;
	s->regs_intr_abi = 2;
	s->regs_intr = regs2;
	s->n_regs_intr = 2;
	s->phys_addr = 0x12345000;
	s->cgroup = 77;
	s->data_page_size = 4096;
	s->code_page_size = 2097152;
	s->aux = aux16;
	s->aux_size = 16;
}

/* The sample as the reader must return it for attr a: absent fields zero. */
static struct pfs_sample mask_sample(const struct pfs_sample *in, const struct pfs_attr *a)
{
	struct pfs_sample s = {0};
	uint64_t st = a->sample_type;
	if (st & PFS_S_IP)
		s.ip = in->ip;
	if (st & PFS_S_ADDR)
		s.addr = in->addr;
	if (st & PFS_S_PERIOD)
		s.period = in->period;
	if (st & PFS_S_READ) {
		if (a->read_format & PFS_FMT_TOTAL_TIME_ENABLED)
			s.read_time_enabled = in->read_time_enabled;
		if (a->read_format & PFS_FMT_TOTAL_TIME_RUNNING)
			s.read_time_running = in->read_time_running;
		s.read_values = in->read_values;
		s.n_read_values = (a->read_format & PFS_FMT_GROUP) ? in->n_read_values : 1;
	}
	if (st & PFS_S_CALLCHAIN) {
		s.callchain = in->callchain;
		s.n_callchain = in->n_callchain;
	}
	if (st & PFS_S_RAW) {
		s.raw = in->raw;
		s.raw_size = in->raw_size;
	}
	if (st & PFS_S_BRANCH_STACK) {
		s.branches = in->branches;
		s.n_branches = in->n_branches;
		s.has_hw_idx = (a->branch_sample_type & BR_HW_INDEX) != 0;
		s.branch_hw_idx = s.has_hw_idx ? in->branch_hw_idx : 0;
		if (a->branch_sample_type & BR_COUNTERS)
			s.branch_counters = in->branch_counters;
	}
	if ((st & PFS_S_REGS_USER) && in->regs_user_abi) {
		s.regs_user_abi = in->regs_user_abi;
		s.regs_user = in->regs_user;
		s.n_regs_user = pfs_popcount64(a->sample_regs_user);
	}
	if ((st & PFS_S_STACK_USER) && in->stack_user_size) {
		s.stack_user = in->stack_user;
		s.stack_user_size = in->stack_user_size;
		s.stack_user_dyn_size = in->stack_user_dyn_size;
	}
	if (st & (PFS_S_WEIGHT | PFS_S_WEIGHT_STRUCT))
		s.weight = in->weight;
	if (st & PFS_S_DATA_SRC)
		s.data_src = in->data_src;
	if (st & PFS_S_TRANSACTION)
		s.transaction = in->transaction;
	if ((st & PFS_S_REGS_INTR) && in->regs_intr_abi) {
		s.regs_intr_abi = in->regs_intr_abi;
		s.regs_intr = in->regs_intr;
		s.n_regs_intr = pfs_popcount64(a->sample_regs_intr);
	}
	if (st & PFS_S_PHYS_ADDR)
		s.phys_addr = in->phys_addr;
	if (st & PFS_S_CGROUP)
		s.cgroup = in->cgroup;
	if (st & PFS_S_DATA_PAGE_SIZE)
		s.data_page_size = in->data_page_size;
	if (st & PFS_S_CODE_PAGE_SIZE)
		s.code_page_size = in->code_page_size;
	if (st & PFS_S_AUX) {
		s.aux = in->aux;
		s.aux_size = in->aux_size;
	}
	return s;
}

static struct pfs_sample_id mask_sid(const struct pfs_sample_id *in, uint64_t st)
{
	struct pfs_sample_id s = {0};
	s.has = st & SID_BITS;
	if (st & PFS_S_TID) {
		s.pid = in->pid;
		s.tid = in->tid;
	}
	if (st & PFS_S_TIME)
		s.time = in->time;
	if (st & (PFS_S_ID | PFS_S_IDENTIFIER))
		s.id = in->id;
	if (st & PFS_S_STREAM_ID)
		s.stream_id = in->stream_id;
	if (st & PFS_S_CPU)
		s.cpu = in->cpu;
	return s;
}

static uint64_t now = 1000;

static struct pfs_sample_id sid_of(const struct scen *sc, int attr, uint32_t pid, uint32_t tid,
				   size_t which_id)
{
	struct pfs_sample_id s = {0};
	s.pid = pid;
	s.tid = tid;
	s.time = now;
	now += 10;
	s.id = sc->attrs[attr].ids[which_id % sc->attrs[attr].n_ids];
	s.stream_id = s.id + 1000;
	s.cpu = (uint32_t)(which_id % 4);
	return s;
}

/* the offset and width of the seed field of each pfs_w_other_kernel kind */
static void seed_field(uint32_t type, size_t *off, size_t *width)
{
	*off = 0;
	*width = 8;
	if (type == PFS_REC_ITRACE_START || type == PFS_REC_NAMESPACES)
		*width = 4;
	if (type == PFS_REC_BPF_EVENT) {
		*off = 4;
		*width = 4;
	}
}

static void write_tool(struct pfs_w *w, struct scen *sc, uint32_t type, uint64_t seed)
{
	pfs_w_other_tool(w, type, seed);
	sc->tool[type]++;
}

/* Writes the scenario: every record kind, in three rounds, and remembers what was written. */
static uint8_t *build(struct scen *sc, const struct pfs_w_opts *o, size_t *len)
{
	struct pfs_w *w;
	struct pfs_sample s, small;
	struct pfs_sample_id sid;
	struct exp *e;
	static const uint32_t others[] = {
	    PFS_REC_AUX,       PFS_REC_ITRACE_START,	 PFS_REC_NAMESPACES,
	    PFS_REC_KSYMBOL,   PFS_REC_BPF_EVENT,	 PFS_REC_CGROUP,
	    PFS_REC_TEXT_POKE, PFS_REC_AUX_OUTPUT_HW_ID, PFS_REC_CALLCHAIN_DEFERRED};
	memset(sc, 0, sizeof(*sc));
	now = 1000;
	make_attrs(sc->attrs);
	make_info(&sc->info);
	w = pfs_w_new(o, sc->attrs, 3, &sc->info);
	cur_w = w;

	write_tool(w, sc, PFS_REC_ID_INDEX, 0);
	write_tool(w, sc, PFS_REC_THREAD_MAP, 4242);
	write_tool(w, sc, PFS_REC_CPU_MAP, 0);
	write_tool(w, sc, PFS_REC_TIME_CONV, 5);
	write_tool(w, sc, PFS_REC_EVENT_UPDATE, 0);
	write_tool(w, sc, PFS_REC_AUXTRACE_INFO, 9);

	/* synthesized side band: zeroed trailers of the first event */
	e = add(sc, PFS_REC_MMAP, PFS_MISC_KERNEL, 0, NULL);
	e->m.pid = UINT32_MAX;
	e->m.start = 0xffffffff81000000ull;
	e->m.len = 0x1000000;
	e->m.pgoff = 0xffffffff81000000ull;
	e->m.filename = "[kernel.kallsyms]_text";
	pfs_w_mmap(w, 0, e->misc, NULL, &e->m);
	e = add(sc, PFS_REC_COMM, PFS_MISC_USER, 0, NULL);
	e->c.pid = e->c.tid = 4242;
	e->c.comm = "python3.12";
	pfs_w_comm(w, 0, NULL, &e->c);
	e = add(sc, PFS_REC_MMAP2, PFS_MISC_USER, 0, NULL);
	e->m.pid = e->m.tid = 4242;
	e->m.start = 0x7f0000000000ull;
	e->m.len = 0x400000;
	e->m.pgoff = 0x1000;
	e->m.maj = 8;
	e->m.min = 1;
	e->m.ino = 123456;
	e->m.ino_generation = 9;
	e->m.prot = 5;
	e->m.flags = 2;
	e->m.filename = "/usr/lib/x86_64-linux-gnu/libpython3.12.so.1.0";
	pfs_w_mmap2(w, 0, e->misc, NULL, &e->m);
	write_tool(w, sc, PFS_REC_FINISHED_INIT, 0);

	/* round 1: live side band on the dummy event */
	sid = sid_of(sc, 2, 4242, 4243, 0);
	e = add(sc, PFS_REC_FORK, 0, 2, &sid);
	e->t.pid = 4242;
	e->t.ppid = 4242;
	e->t.tid = 4243;
	e->t.ptid = 4242;
	e->t.time = sid.time;
	pfs_w_task(w, PFS_REC_FORK, 2, &sid, &e->t);
	sid = sid_of(sc, 2, 4242, 4243, 0);
	e = add(sc, PFS_REC_COMM, PFS_MISC_USER | PFS_MISC_COMM_EXEC, 2, &sid);
	e->c.pid = 4242;
	e->c.tid = 4243;
	e->c.comm = "gunicorn: worker";
	e->c.exec = true;
	pfs_w_comm(w, 2, &sid, &e->c);
	sid = sid_of(sc, 2, 4242, 4243, 0);
	e = add(sc, PFS_REC_MMAP2, PFS_MISC_USER | PFS_MISC_MMAP_BUILD_ID, 2, &sid);
	e->m.pid = 4242;
	e->m.tid = 4243;
	e->m.start = 0x555555554000ull;
	e->m.len = 0x2000;
	e->m.pgoff = 0;
	e->m.build_id_size = 20;
	for (int i = 0; i < 20; i++)
		e->m.build_id[i] = (uint8_t)(0x30 + i);
	e->m.prot = 5;
	e->m.flags = 2;
	e->m.filename = "/usr/bin/python3.12 (deleted)";
	pfs_w_mmap2(w, 2, e->misc, &sid, &e->m);
	sid = sid_of(sc, 2, 4242, 4243, 0);
	e = add(sc, PFS_REC_MMAP, PFS_MISC_USER, 2, &sid);
	e->m.pid = 4242;
	e->m.tid = 4243;
	e->m.start = 0x10000;
	e->m.len = 0x1000;
	e->m.pgoff = 0x2000;
	e->m.filename = "//anon";
	pfs_w_mmap(w, 2, e->misc, &sid, &e->m);
	pfs_w_finished_round(w);
	sc->tool[PFS_REC_FINISHED_ROUND]++;

	/* round 2: samples of every layout */
	full_sample(&s);
	sid = sid_of(sc, 0, 4242, 4243, 1);
	e = add(sc, PFS_REC_SAMPLE, PFS_MISC_USER, 0, &sid);
	e->s = s;
	pfs_w_sample(w, 0, e->misc, &sid, &s);
	/* no registers (abi 0), no stack (size 0), empty chain and branch stack */
	small = s;
	small.regs_user_abi = 0;
	small.regs_intr_abi = 0;
	small.stack_user_size = 0;
	small.n_callchain = 0;
	small.n_branches = 0;
	small.n_read_values = 1;
	small.raw_size = 4;
	sid = sid_of(sc, 0, 4242, 4242, 0);
	e = add(sc, PFS_REC_SAMPLE, PFS_MISC_KERNEL, 0, &sid);
	e->s = small;
	pfs_w_sample(w, 0, e->misc, &sid, &small);
	if (!small_scenario) {
		/* near the 64 KiB record limit: a stream reader must hold it whole */
		static uint8_t big_stack[60000];
		struct pfs_sample big = s;
		for (size_t i = 0; i < sizeof(big_stack); i++)
			big_stack[i] = (uint8_t)(i * 31);
		big.stack_user = big_stack;
		big.stack_user_size = sizeof(big_stack);
		big.stack_user_dyn_size = 59000;
		sid = sid_of(sc, 0, 4242, 4243, 1);
		e = add(sc, PFS_REC_SAMPLE, PFS_MISC_USER, 0, &sid);
		e->s = big;
		pfs_w_sample(w, 0, e->misc, &sid, &big);
	}
	for (size_t k = 0; k < 3; k++) {
		struct pfs_sample b = s;
		b.read_values = rv_one;
		b.n_read_values = 1;
		b.ip = 0x500000 + k;
		b.n_callchain = 3 + k;
		sid = sid_of(sc, 1, 4242, (uint32_t)(4242 + k), k);
		e = add(sc, PFS_REC_SAMPLE, PFS_MISC_USER, 1, &sid);
		e->s = b;
		pfs_w_sample(w, 1, e->misc, &sid, &b);
	}
	sid = sid_of(sc, 0, 4242, 4243, 0);
	e = add(sc, PFS_REC_LOST, 0, 0, &sid);
	e->l.id = 101;
	e->l.lost = 5;
	pfs_w_lost(w, 0, &sid, e->l.id, e->l.lost);
	sid = sid_of(sc, 1, 4242, 4243, 2);
	e = add(sc, PFS_REC_LOST_SAMPLES, 0, 1, &sid);
	e->l.lost = 3;
	pfs_w_lost_samples(w, 1, &sid, e->l.lost);
	pfs_w_finished_round(w);
	sc->tool[PFS_REC_FINISHED_ROUND]++;

	/* round 3: the rest of the kernel kinds, tool records between them */
	sid = sid_of(sc, 2, 4242, 4243, 0);
	e = add(sc, PFS_REC_SWITCH, PFS_MISC_SWITCH_OUT | PFS_MISC_SWITCH_OUT_PREEMPT, 2, &sid);
	e->sw.out = e->sw.preempt = true;
	pfs_w_switch(w, 2, &sid, &e->sw);
	sid = sid_of(sc, 2, 4242, 4243, 0);
	e = add(sc, PFS_REC_SWITCH, 0, 2, &sid);
	pfs_w_switch(w, 2, &sid, &e->sw);
	sid = sid_of(sc, 2, 0, 0, 0);
	e = add(sc, PFS_REC_SWITCH_CPU_WIDE, PFS_MISC_SWITCH_OUT, 2, &sid);
	e->sw.out = true;
	e->sw.cpu_wide = true;
	e->sw.next_prev_pid = 4242;
	e->sw.next_prev_tid = 4244;
	pfs_w_switch(w, 2, &sid, &e->sw);
	sid = sid_of(sc, 1, 4242, 4243, 0);
	e = add(sc, PFS_REC_THROTTLE, 0, 1, &sid);
	e->seed = sid.time;
	pfs_w_throttle(w, PFS_REC_THROTTLE, 1, &sid, sid.time, sid.id, sid.stream_id);
	sid = sid_of(sc, 1, 4242, 4243, 0);
	e = add(sc, PFS_REC_UNTHROTTLE, 0, 1, &sid);
	e->seed = sid.time;
	pfs_w_throttle(w, PFS_REC_UNTHROTTLE, 1, &sid, sid.time, sid.id, sid.stream_id);
	sid = sid_of(sc, 0, 4242, 4243, 0);
	e = add(sc, PFS_REC_READ, 0, 0, &sid);
	pfs_w_read(w, 0, &sid, 4242, 4243, 50, 40, rv_group, 2);
	write_tool(w, sc, PFS_REC_HEADER_BUILD_ID, 0x40);
	for (size_t k = 0; k < sizeof(others) / sizeof(others[0]); k++) {
		sid = sid_of(sc, 2, 4242, 4243, 0);
		e = add(sc, others[k], 0, 2, &sid);
		e->seed = 0x7000 + k;
		pfs_w_other_kernel(w, others[k], 2, &sid, e->seed);
	}
	write_tool(w, sc, PFS_REC_AUXTRACE, 0x99);
	pfs_w_unknown(w, 200, 16);
	pfs_w_unknown(w, 30000, 5);
	sc->unknown = 2;
	sid = sid_of(sc, 2, 4242, 4243, 0);
	e = add(sc, PFS_REC_EXIT, 0, 2, &sid);
	e->t.pid = e->t.ppid = 4242;
	e->t.tid = e->t.ptid = 4243;
	e->t.time = sid.time;
	pfs_w_task(w, PFS_REC_EXIT, 2, &sid, &e->t);
	pfs_w_finished_round(w);
	sc->tool[PFS_REC_FINISHED_ROUND]++;
	return pfs_w_finish(w, len, NULL);
}

/* ---- comparisons ---- */

static void check_sample(const struct pfs_sample *g, const struct pfs_sample *x)
{
	T_EQ(g->ip, x->ip);
	T_EQ(g->addr, x->addr);
	T_EQ(g->period, x->period);
	T_EQ(g->read_time_enabled, x->read_time_enabled);
	T_EQ(g->read_time_running, x->read_time_running);
	T_EQ(g->n_read_values, x->n_read_values);
	for (uint64_t i = 0; i < x->n_read_values; i++) {
		T_EQ(g->read_values[i].value, x->read_values[i].value);
		T_EQ(g->read_values[i].id, x->read_values[i].id);
		T_EQ(g->read_values[i].lost, x->read_values[i].lost);
	}
	T_EQ(g->n_callchain, x->n_callchain);
	for (uint64_t i = 0; i < x->n_callchain; i++)
		T_EQ(g->callchain[i], x->callchain[i]);
	T_EQ(g->raw_size, x->raw_size);
	T_ASSERT(!x->raw_size || !memcmp(g->raw, x->raw, x->raw_size));
	T_EQ(g->n_branches, x->n_branches);
	T_EQ(g->has_hw_idx, x->has_hw_idx);
	T_EQ(g->branch_hw_idx, x->branch_hw_idx);
	for (uint64_t i = 0; i < x->n_branches; i++) {
		T_EQ(g->branches[i].from, x->branches[i].from);
		T_EQ(g->branches[i].to, x->branches[i].to);
		T_EQ(g->branches[i].flags, x->branches[i].flags);
	}
	T_EQ(g->branch_counters != NULL, x->branch_counters != NULL);
	for (uint64_t i = 0; x->branch_counters && i < x->n_branches; i++)
		T_EQ(g->branch_counters[i], x->branch_counters[i]);
	T_EQ(g->regs_user_abi, x->regs_user_abi);
	T_EQ(g->n_regs_user, x->n_regs_user);
	for (uint32_t i = 0; i < x->n_regs_user; i++)
		T_EQ(g->regs_user[i], x->regs_user[i]);
	T_EQ(g->stack_user_size, x->stack_user_size);
	T_EQ(g->stack_user_dyn_size, x->stack_user_dyn_size);
	T_ASSERT(!x->stack_user_size ||
		 !memcmp(g->stack_user, x->stack_user, (size_t)x->stack_user_size));
	T_EQ(g->weight, x->weight);
	T_EQ(g->data_src, x->data_src);
	T_EQ(g->transaction, x->transaction);
	T_EQ(g->regs_intr_abi, x->regs_intr_abi);
	T_EQ(g->n_regs_intr, x->n_regs_intr);
	for (uint32_t i = 0; i < x->n_regs_intr; i++)
		T_EQ(g->regs_intr[i], x->regs_intr[i]);
	T_EQ(g->phys_addr, x->phys_addr);
	T_EQ(g->cgroup, x->cgroup);
	T_EQ(g->data_page_size, x->data_page_size);
	T_EQ(g->code_page_size, x->code_page_size);
	T_EQ(g->aux_size, x->aux_size);
	T_ASSERT(!x->aux_size || !memcmp(g->aux, x->aux, (size_t)x->aux_size));
}

static void check_sid(const struct pfs_sample_id *g, const struct pfs_sample_id *x)
{
	T_EQ(g->has, x->has);
	T_EQ(g->pid, x->pid);
	T_EQ(g->tid, x->tid);
	T_EQ(g->time, x->time);
	T_EQ(g->id, x->id);
	T_EQ(g->stream_id, x->stream_id);
	T_EQ(g->cpu, x->cpu);
}

static void check_attr(const struct pfs_attr *g, const struct pfs_attr *x)
{
	size_t sz = x->size ? x->size : 64;
	T_EQ(g->type, x->type);
	T_EQ(g->size, x->size);
	T_EQ(g->config, x->config);
	T_EQ(g->sample_period, x->sample_period);
	T_EQ(g->sample_type, x->sample_type);
	T_EQ(g->read_format, x->read_format);
	T_EQ(g->flags, x->flags);
	T_EQ(g->wakeup_events, x->wakeup_events);
	T_EQ(g->bp_type, x->bp_type);
	T_EQ(g->config1, x->config1);
	/* fields past attr.size were not written and must read as 0 */
	T_EQ(g->config2, sz >= 72 ? x->config2 : 0);
	T_EQ(g->branch_sample_type, sz >= 80 ? x->branch_sample_type : 0);
	T_EQ(g->sample_regs_user, sz >= 96 ? x->sample_regs_user : 0);
	T_EQ(g->sample_stack_user, sz >= 96 ? x->sample_stack_user : 0);
	T_EQ(g->clockid, sz >= 96 ? x->clockid : 0);
	T_EQ(g->sample_regs_intr, sz >= 104 ? x->sample_regs_intr : 0);
	T_EQ(g->aux_watermark, sz >= 112 ? x->aux_watermark : 0);
	T_EQ(g->sample_max_stack, sz >= 112 ? x->sample_max_stack : 0);
	T_EQ(g->aux_sample_size, sz >= 120 ? x->aux_sample_size : 0);
	T_EQ(g->sig_data, sz >= 128 ? x->sig_data : 0);
	T_EQ(g->config3, sz >= 136 ? x->config3 : 0);
	T_EQ(g->n_ids, x->n_ids);
	for (size_t i = 0; i < x->n_ids; i++)
		T_EQ(g->ids[i], x->ids[i]);
}

static void check_info(const struct pfs_info *g, const struct pfs_info *x, bool pipe)
{
	T_STREQ(g->hostname, x->hostname);
	T_STREQ(g->osrelease, x->osrelease);
	T_STREQ(g->version, x->version);
	T_STREQ(g->arch, x->arch);
	T_STREQ(g->cpudesc, x->cpudesc);
	T_STREQ(g->cpuid, x->cpuid);
	T_EQ(g->nr_cpus_avail, x->nr_cpus_avail);
	T_EQ(g->nr_cpus_online, x->nr_cpus_online);
	T_EQ(g->total_mem_kb, x->total_mem_kb);
	T_EQ(g->n_cmdline, x->n_cmdline);
	for (size_t i = 0; i < x->n_cmdline; i++)
		T_STREQ(g->cmdline[i], x->cmdline[i]);
	T_EQ(g->clock_resolution_ns, x->clock_resolution_ns);
	T_ASSERT(g->has_clock_data);
	T_EQ(g->clockid, x->clockid);
	T_EQ(g->wall_clock_ns, x->wall_clock_ns);
	T_EQ(g->clockid_time_ns, x->clockid_time_ns);
	T_ASSERT(g->has_sample_time);
	T_EQ(g->first_sample_time, x->first_sample_time);
	T_EQ(g->last_sample_time, x->last_sample_time);
	T_EQ(g->n_pmus, x->n_pmus);
	for (size_t i = 0; i < x->n_pmus; i++) {
		T_EQ(g->pmus[i].type, x->pmus[i].type);
		T_STREQ(g->pmus[i].name, x->pmus[i].name);
	}
	T_ASSERT(g->tracing_data_len >= x->tracing_data_len);
	T_ASSERT(!memcmp(g->tracing_data, x->tracing_data, x->tracing_data_len));
	/* plus the HEADER_BUILD_ID record written among the data */
	T_EQ(g->n_build_ids, x->n_build_ids + 1);
	for (size_t i = 0; i < x->n_build_ids; i++) {
		T_EQ(g->build_ids[i].pid, x->build_ids[i].pid);
		T_EQ(g->build_ids[i].size, x->build_ids[i].size);
		T_EQ(g->build_ids[i].cpumode, x->build_ids[i].cpumode);
		T_ASSERT(!memcmp(g->build_ids[i].id, x->build_ids[i].id, x->build_ids[i].size));
		T_STREQ(g->build_ids[i].filename, x->build_ids[i].filename);
	}
	/* pipe build ids are HEADER_BUILD_ID records, not a feature: bit 2 stays clear */
	for (unsigned bit = 1; bit < 30; bit++)
		if (!(pipe && bit == 2) && (x->features[bit / 64] >> (bit % 64) & 1) &&
		    !(g->features[bit / 64] >> (bit % 64) & 1))
			t_fail(__FILE__, __LINE__, "feature bit %u is not set", bit);
}

static void check_exp(struct pfs_reader *r, const struct scen *sc, const struct pfs_record *rec,
		      const struct exp *x)
{
	const struct pfs_attr *a = &sc->attrs[x->attr];
	struct pfs_sample_id sid;
	T_EQ(rec->type, x->type);
	T_EQ(rec->misc, x->misc);
	T_ASSERT(rec->attr != NULL);
	T_EQ(pfs_reader_attr_index(r, rec->attr), (size_t)x->attr);
	sid = mask_sid(&x->sid, a->sample_type);
	check_sid(&rec->sid, &sid);
	switch (x->type) {
	case PFS_REC_SAMPLE: {
		struct pfs_sample want = mask_sample(&x->s, a);
		check_sample(&rec->u.sample, &want);
		break;
	}
	case PFS_REC_MMAP:
	case PFS_REC_MMAP2:
		T_EQ(rec->u.mmap.pid, x->m.pid);
		T_EQ(rec->u.mmap.tid, x->m.tid);
		T_EQ(rec->u.mmap.start, x->m.start);
		T_EQ(rec->u.mmap.len, x->m.len);
		T_EQ(rec->u.mmap.pgoff, x->m.pgoff);
		T_EQ(rec->u.mmap.maj, x->m.maj);
		T_EQ(rec->u.mmap.min, x->m.min);
		T_EQ(rec->u.mmap.ino, x->m.ino);
		T_EQ(rec->u.mmap.ino_generation, x->m.ino_generation);
		T_EQ(rec->u.mmap.build_id_size, x->m.build_id_size);
		T_ASSERT(!memcmp(rec->u.mmap.build_id, x->m.build_id, 20));
		T_EQ(rec->u.mmap.prot, x->m.prot);
		T_EQ(rec->u.mmap.flags, x->m.flags);
		T_STREQ(rec->u.mmap.filename, x->m.filename);
		break;
	case PFS_REC_COMM:
		T_EQ(rec->u.comm.pid, x->c.pid);
		T_EQ(rec->u.comm.tid, x->c.tid);
		T_EQ(rec->u.comm.exec, x->c.exec);
		T_STREQ(rec->u.comm.comm, x->c.comm);
		break;
	case PFS_REC_FORK:
	case PFS_REC_EXIT:
		T_EQ(rec->u.task.pid, x->t.pid);
		T_EQ(rec->u.task.ppid, x->t.ppid);
		T_EQ(rec->u.task.tid, x->t.tid);
		T_EQ(rec->u.task.ptid, x->t.ptid);
		T_EQ(rec->u.task.time, x->t.time);
		break;
	case PFS_REC_SWITCH:
	case PFS_REC_SWITCH_CPU_WIDE:
		T_EQ(rec->u.sw.out, x->sw.out);
		T_EQ(rec->u.sw.preempt, x->sw.preempt);
		T_EQ(rec->u.sw.cpu_wide, x->sw.cpu_wide);
		T_EQ(rec->u.sw.next_prev_pid, x->sw.next_prev_pid);
		T_EQ(rec->u.sw.next_prev_tid, x->sw.next_prev_tid);
		break;
	case PFS_REC_LOST:
	case PFS_REC_LOST_SAMPLES:
		T_EQ(rec->u.lost.id, x->l.id);
		T_EQ(rec->u.lost.lost, x->l.lost);
		break;
	case PFS_REC_READ: {
		bool swap = pfs_reader_info(r)->swapped;
		T_EQ(rec->body_len, 8 + 8 * (1 + 2 + 3 * 2) + rec->attr->trailer_len);
		T_EQ(pfs_load_u32(rec->body, swap), 4242);
		T_EQ(pfs_load_u64(rec->body + 8, swap), 2);
		T_EQ(pfs_load_u64(rec->body + 16, swap), 50);
		T_EQ(pfs_load_u64(rec->body + 40, swap), rv_group[0].id);
		break;
	}
	default: {
		size_t off, width;
		bool swap = pfs_reader_info(r)->swapped;
		seed_field(x->type, &off, &width);
		T_ASSERT(rec->body_len >= off + width + rec->attr->trailer_len);
		T_EQ(width == 8 ? pfs_load_u64(rec->body + off, swap)
				: pfs_load_u32(rec->body + off, swap),
		     x->seed);
		break;
	}
	}
}

static bool want_kernel(uint32_t type)
{
	return type > 0 && type < 64;
}

/* Standard input as a real pipe fed by a child, so the reader takes its streaming path. */
struct stream {
	int saved_stdin;
	pid_t child;
};

static void stream_begin(struct stream *st, const uint8_t *buf, size_t len)
{
	int fds[2];
	T_ASSERT(pipe(fds) == 0);
	st->child = fork();
	T_ASSERT(st->child >= 0);
	if (st->child == 0) {
		size_t done = 0;
		close(fds[0]);
		while (done < len) {
			ssize_t k = write(fds[1], buf + done, len - done);
			if (k <= 0)
				_exit(1);
			done += (size_t)k;
		}
		_exit(0);
	}
	close(fds[1]);
	st->saved_stdin = dup(STDIN_FILENO);
	T_ASSERT(st->saved_stdin >= 0);
	T_ASSERT(dup2(fds[0], STDIN_FILENO) == STDIN_FILENO);
	close(fds[0]);
}

static void stream_end(struct stream *st)
{
	int status;
	dup2(st->saved_stdin, STDIN_FILENO);
	close(st->saved_stdin);
	/* the reader may stop before the writer is done: do not let it block on a full pipe */
	kill(st->child, SIGKILL);
	waitpid(st->child, &status, 0);
}

static int open_any(struct pfs_reader **r, const uint8_t *buf, size_t len,
		    const struct pfs_reader_opts *ro, bool streamed, struct pfs_err *err)
{
	if (streamed)
		return pfs_reader_open(r, "-", ro, err);
	return pfs_reader_open_mem(r, buf, len, ro, err);
}

/*
 * Reads buf in file order (from memory, or streamed through standard input) and checks every
 * kernel record against the scenario, the tool records by count, and the header/feature
 * information.
 */
static void check_roundtrip(const struct scen *sc, const struct pfs_w_opts *o, const uint8_t *buf,
			    size_t len, bool streamed)
{
	struct pfs_reader_opts ro = {.file_order = true};
	struct pfs_reader *r;
	struct pfs_err err;
	struct pfs_record rec;
	const struct pfs_stats *st;
	const struct pfs_info *in;
	size_t k = 0, n_compressed_recs = 0, n_aux_extra = 0;
	uint64_t samples[3] = {0};
	struct stream strm;
	int rc;
	if (streamed)
		stream_begin(&strm, buf, len);
	T_EQ(open_any(&r, buf, len, &ro, streamed, &err), 0);
	while ((rc = pfs_reader_next(r, &rec, &err)) == 1) {
		if (rec.compressed)
			n_compressed_recs++;
		if (rec.type == PFS_REC_AUXTRACE) {
			/* its payload is stepped over (never buffered), the records after it read
			 */
			T_ASSERT(!rec.extra);
			T_EQ(rec.extra_len, 0);
			n_aux_extra++;
		}
		if (!want_kernel(rec.type))
			continue;
		T_ASSERT(k < sc->n);
		check_exp(r, sc, &rec, &sc->e[k]);
		/* invariant 2: the record's own offset, or that of its COMPRESSED record */
		if (!o->compressed) {
			T_EQ(rec.off, sc->e[k].off);
		} else {
			T_ASSERT(rec.off + 8 <= len);
			T_EQ(pfs_load_u32(buf + rec.off, o->swap),
			     o->compressed2 ? PFS_REC_COMPRESSED2 : PFS_REC_COMPRESSED);
		}
		if (rec.type == PFS_REC_SAMPLE)
			samples[sc->e[k].attr]++;
		k++;
	}
	T_EQ(rc, 0);
	T_EQ(k, sc->n);
	T_EQ(n_aux_extra, 1);
	in = pfs_reader_info(r);
	st = pfs_reader_stats(r);
	T_EQ(in->pipe, o->pipe);
	T_EQ(in->swapped, o->swap);
	T_EQ(in->big_endian, o->swap);
	T_EQ(pfs_reader_n_attrs(r), 3);
	for (size_t i = 0; i < 3; i++) {
		struct pfs_attr *a = pfs_reader_attr(r, i);
		check_attr(a, &sc->attrs[i]);
		T_STREQ(a->name, sc->attrs[i].name);
		T_EQ(a->n_samples, samples[i]);
		for (size_t j = 0; j < sc->attrs[i].n_ids; j++)
			T_ASSERT(pfs_reader_attr_by_id(r, sc->attrs[i].ids[j]) == a);
	}
	T_EQ(pfs_reader_attr(r, 1)->n_lost, 3);
	check_info(in, &sc->info, o->pipe);
	T_EQ(in->compressed, o->compressed);
	if (o->compressed) {
		T_EQ(in->comp_type, 1);
		T_EQ(in->comp_mmap_len, 528384);
		T_EQ(n_compressed_recs, sc->n);
		/* small chunks: more COMPRESSED records than rounds, so records straddle them */
		T_ASSERT(st->records[o->compressed2 ? PFS_REC_COMPRESSED2 : PFS_REC_COMPRESSED] >
			 3);
		T_ASSERT(st->decompressed_bytes > 0);
	} else {
		T_EQ(n_compressed_recs, 0);
		T_EQ(st->records[PFS_REC_COMPRESSED], 0);
	}
	{
		uint64_t kern[PFS_REC_KERNEL_MAX] = {0}, total = 0;
		for (size_t i = 0; i < sc->n; i++)
			kern[sc->e[i].type]++;
		for (uint32_t t = 1; t < PFS_REC_KERNEL_MAX; t++)
			T_EQ(st->records[t], kern[t]);
		for (uint32_t t = 64; t < PFS_REC_MAX; t++) {
			uint64_t want = sc->tool[t];
			if (t == PFS_REC_COMPRESSED || t == PFS_REC_COMPRESSED2 ||
			    t == PFS_REC_HEADER_FEATURE)
				continue;
			if (o->pipe && t == PFS_REC_HEADER_ATTR)
				want = 3;
			if (o->pipe && t == PFS_REC_HEADER_TRACING_DATA)
				want = 1;
			if (o->pipe && t == PFS_REC_HEADER_BUILD_ID)
				want += 2;
			if (o->pipe && t == PFS_REC_EVENT_UPDATE)
				want += 3;
			T_EQ(st->records[t], want);
		}
		for (uint32_t t = 0; t < PFS_REC_MAX; t++)
			total += st->records[t];
		T_EQ(st->unknown_records, sc->unknown);
		T_EQ(st->total, total + sc->unknown);
		T_EQ(pfs_diag_count(pfs_reader_diag(r), "unknown-record-type"), sc->unknown);
	}
	T_EQ(st->lost_events, 5);
	T_EQ(st->lost_samples, 3);
	T_EQ(st->bytes_read, o->pipe ? len : in->data_off + in->data_size);
	/* nothing but the unknown records and perf's loss (the larger of its two counts) is worth
	 * a diagnostic */
	T_EQ(pfs_diag_count(pfs_reader_diag(r), "lost-samples"), 5);
	T_EQ(pfs_reader_diag(r)->n, 2);
	pfs_reader_close(r);
	if (streamed)
		stream_end(&strm);
}

/* Time order over the same file: same records, times never decrease after the synthesized. */
static void check_time_order(const struct scen *sc, const uint8_t *buf, size_t len, bool streamed)
{
	struct pfs_reader *r;
	struct pfs_err err;
	struct pfs_record rec;
	uint64_t last = 0, n = 0;
	struct stream strm;
	const struct pfs_sample *big = NULL;
	int rc;
	if (streamed)
		stream_begin(&strm, buf, len);
	T_EQ(open_any(&r, buf, len, NULL, streamed, &err), 0);
	while ((rc = pfs_reader_next(r, &rec, &err)) == 1) {
		if (!want_kernel(rec.type))
			continue;
		n++;
		T_ASSERT(rec.sid.time >= last);
		last = rec.sid.time;
		/* queued records were copied out of the window: their bytes must still be right */
		for (size_t i = 0; i < sc->n; i++)
			if (sc->e[i].type == PFS_REC_SAMPLE && rec.type == PFS_REC_SAMPLE &&
			    sc->e[i].sid.time == rec.sid.time) {
				struct pfs_sample want =
				    mask_sample(&sc->e[i].s, &sc->attrs[sc->e[i].attr]);
				check_sample(&rec.u.sample, &want);
				if (want.stack_user_size > 1000)
					big = &rec.u.sample;
			}
	}
	T_EQ(rc, 0);
	T_EQ(n, sc->n);
	T_ASSERT(big != NULL || small_scenario);
	T_EQ(pfs_reader_stats(r)->out_of_order, 0);
	pfs_reader_close(r);
	if (streamed)
		stream_end(&strm);
}

static void roundtrip(bool swap, bool pipe, int compressed)
{
	struct pfs_w_opts o = {.swap = swap,
			       .pipe = pipe,
			       .compressed = compressed > 0,
			       .compressed2 = compressed > 1,
			       .chunk = 100};
	static struct scen sc;
	size_t len;
	uint8_t *buf = build(&sc, &o, &len);
	check_roundtrip(&sc, &o, buf, len, false);
	check_time_order(&sc, buf, len, false);
	/* file mode through a pipe is read whole first; pipe mode streams */
	check_roundtrip(&sc, &o, buf, len, true);
	check_time_order(&sc, buf, len, true);
	free(buf);
}

#define ROUNDTRIP(name, swap, pipe, comp)                                                          \
	static void test_##name(void)                                                              \
	{                                                                                          \
		roundtrip(swap, pipe, comp);                                                       \
	}
ROUNDTRIP(roundtrip_le_file, false, false, false)
ROUNDTRIP(roundtrip_be_file, true, false, false)
ROUNDTRIP(roundtrip_le_pipe, false, true, false)
ROUNDTRIP(roundtrip_be_pipe, true, true, false)
ROUNDTRIP(roundtrip_le_file_zstd, false, false, true)
ROUNDTRIP(roundtrip_be_file_zstd, true, false, true)
ROUNDTRIP(roundtrip_le_pipe_zstd, false, true, true)
ROUNDTRIP(roundtrip_be_pipe_zstd, true, true, true)
ROUNDTRIP(roundtrip_le_file_zstd2, false, false, 2)
ROUNDTRIP(roundtrip_be_pipe_zstd2, true, true, 2)

/* The same file through pfs_reader_open() on a path. */
static void test_open_path(void)
{
	struct pfs_w_opts o = {.swap = true, .compressed = true, .chunk = 333};
	static struct scen sc;
	char path[600];
	size_t len;
	uint8_t *buf = build(&sc, &o, &len);
	struct pfs_reader *r;
	struct pfs_err err;
	FILE *f;
	snprintf(path, sizeof(path), "%s/open_path.data", t_tmpdir());
	f = fopen(path, "wb");
	T_ASSERT(f && fwrite(buf, 1, len, f) == len);
	fclose(f);
	check_roundtrip(&sc, &o, buf, len, false);
	T_EQ(pfs_reader_open(&r, path, NULL, &err), 0);
	T_EQ(pfs_reader_info(r)->file_size, len);
	pfs_reader_close(r);
	free(buf);
}

/*
 * A mapped file larger than the reader's release step: the pages behind the oldest queued
 * record are handed back while reading, so every record must still come out whole, in time
 * order, whether rounds release records as they go (pipe: a round every 500 samples) or never
 * do (one open round: every record stays queued and nothing may be released under it).
 */
static void big_file(bool rounds, bool pipe)
{
	enum { N = 40000, DEPTH = 48 };
	struct pfs_attr at = {.type = 1,
			      .size = 128,
			      .sample_type = PFS_S_IP | PFS_S_TID | PFS_S_TIME | PFS_S_CALLCHAIN,
			      .flags = PFS_ATTR_FLAG(PFS_AF_SAMPLE_ID_ALL)};
	struct pfs_w_opts o = {.pipe = pipe};
	struct pfs_w *w = pfs_w_new(&o, &at, 1, NULL);
	uint64_t chain[DEPTH];
	char path[600];
	snprintf(path, sizeof(path), "%s/big_%d%d.data", t_tmpdir(), rounds, pipe);
	for (uint64_t i = 0; i < N; i++) {
		/* each group of 10 written newest first: the reader must reorder within rounds */
		uint64_t t = 1000 + (i / 10) * 10 + (9 - i % 10);
		struct pfs_sample_id sid = {.pid = 1, .tid = 2, .time = t};
		for (size_t k = 0; k < DEPTH; k++)
			chain[k] = t * 1000 + k;
		struct pfs_sample smp = {.ip = t, .callchain = chain, .n_callchain = DEPTH};
		pfs_w_sample(w, 0, PFS_MISC_USER, &sid, &smp);
		if (rounds && i % 500 == 499)
			pfs_w_finished_round(w);
	}
	T_EQ(pfs_w_finish_file(w, path), 0);
	struct pfs_reader *r;
	struct pfs_record rec;
	struct pfs_err err;
	uint64_t n = 0, last = 0, bad = 0;
	int rc;
	T_EQ(pfs_reader_open(&r, path, NULL, &err), 0);
	T_ASSERT(pfs_reader_info(r)->file_size > 3 * (4u << 20));
	while ((rc = pfs_reader_next(r, &rec, &err)) == 1) {
		if (rec.type != PFS_REC_SAMPLE)
			continue;
		uint64_t t = rec.sid.time;
		n++;
		bad += t < last || rec.u.sample.ip != t || rec.u.sample.n_callchain != DEPTH;
		for (size_t k = 0; k < rec.u.sample.n_callchain && k < DEPTH; k++)
			bad += rec.u.sample.callchain[k] != t * 1000 + k;
		last = t;
	}
	T_EQ(rc, 0);
	T_EQ(n, N);
	T_EQ(bad, 0);
	T_EQ(pfs_reader_stats(r)->out_of_order, 0);
	pfs_reader_close(r);
	unlink(path);
}

static void test_big_file_rounds(void)
{
	big_file(true, false);
}

static void test_big_file_one_round(void)
{
	big_file(false, false);
}

static void test_big_pipe_file_rounds(void)
{
	big_file(true, true);
}

/* The counting pass (no_decode) sees the same records, samples per event and times. */
static void test_no_decode_counts(void)
{
	struct pfs_w_opts o = {.swap = true, .pipe = true, .compressed = true, .chunk = 120};
	static struct scen sc;
	struct pfs_reader_opts ro[2] = {{.no_decode = false}, {.no_decode = true}};
	struct pfs_stats st[2];
	uint64_t samples[2][3];
	size_t len;
	uint8_t *buf;
	small_scenario = true;
	buf = build(&sc, &o, &len);
	small_scenario = false;
	for (int k = 0; k < 2; k++) {
		struct pfs_reader *r;
		struct pfs_err err;
		struct pfs_record rec;
		int rc;
		T_EQ(pfs_reader_open_mem(&r, buf, len, &ro[k], &err), 0);
		while ((rc = pfs_reader_next(r, &rec, &err)) == 1)
			;
		T_EQ(rc, 0);
		st[k] = *pfs_reader_stats(r);
		for (size_t i = 0; i < 3; i++)
			samples[k][i] = pfs_reader_attr(r, i)->n_samples;
		pfs_reader_close(r);
	}
	for (uint32_t t = 0; t < PFS_REC_MAX; t++)
		T_EQ(st[1].records[t], st[0].records[t]);
	T_EQ(st[1].total, st[0].total);
	T_EQ(st[1].first_time, st[0].first_time);
	T_EQ(st[1].last_time, st[0].last_time);
	T_EQ(st[1].lost_samples, st[0].lost_samples);
	for (size_t i = 0; i < 3; i++)
		T_EQ(samples[1][i], samples[0][i]);
	T_EQ(samples[0][0], 2);
	T_EQ(samples[0][1], 3);
	free(buf);
}

/* Without EVENT_DESC a pipe names its events by EVENT_UPDATE records, as perf writes them. */
static void test_pipe_names_from_event_update(void)
{
	struct pfs_w_opts o = {.pipe = true};
	static struct scen sc;
	struct pfs_reader *r;
	struct pfs_err err;
	struct pfs_record rec;
	struct pfs_w *w;
	uint8_t *buf;
	size_t len;
	int rc;
	memset(&sc, 0, sizeof(sc));
	make_attrs(sc.attrs);
	make_info(&sc.info);
	sc.info.features[0] &= ~(1ull << 12);
	w = pfs_w_new(&o, sc.attrs, 3, &sc.info);
	pfs_w_finished_round(w);
	buf = pfs_w_finish(w, &len, NULL);
	T_EQ(pfs_reader_open_mem(&r, buf, len, NULL, &err), 0);
	while ((rc = pfs_reader_next(r, &rec, &err)) == 1)
		;
	T_EQ(rc, 0);
	for (size_t i = 0; i < 3; i++)
		T_STREQ(pfs_reader_attr(r, i)->name, sc.attrs[i].name);
	T_EQ(pfs_reader_stats(r)->records[PFS_REC_EVENT_UPDATE], 3);
	pfs_reader_close(r);
	free(buf);
}

/* ---- attr sizes and the flag bitfield ---- */

static void attr_sizes(bool swap, bool pipe)
{
	static const uint32_t sizes[] = {0, 64, 72, 80, 96, 104, 112, 120, 128, 136, 200};
	enum { N = sizeof(sizes) / sizeof(sizes[0]) };
	struct pfs_attr at[N];
	uint64_t ids[N];
	struct pfs_w_opts o = {.swap = swap, .pipe = pipe};
	struct pfs_w *w;
	struct pfs_reader *r;
	struct pfs_err err;
	struct pfs_record rec;
	uint8_t *buf;
	size_t len;
	int rc;
	memset(at, 0, sizeof(at));
	for (size_t i = 0; i < N; i++) {
		struct pfs_attr *a = &at[i];
		ids[i] = 7000 + i;
		a->type = (uint32_t)i;
		a->size = sizes[i];
		a->config = 0x0102030405060708ull + i;
		a->sample_period = 1000 + i;
		a->sample_type = PFS_S_IDENTIFIER | PFS_S_IP | PFS_S_TIME;
		a->read_format = i & 7;
		/* asymmetric bits in every byte, so a byte swap and a bit reversal both show */
		a->flags = 0x8000c0a050302601ull >> (i % 3);
		a->wakeup_events = 11;
		a->bp_type = 12;
		a->config1 = 13;
		a->config2 = 14;
		a->branch_sample_type = 15;
		a->sample_regs_user = 16;
		a->sample_stack_user = 17;
		a->clockid = -18;
		a->sample_regs_intr = 19;
		a->aux_watermark = 20;
		a->sample_max_stack = 21;
		a->aux_sample_size = 22;
		a->sig_data = 23;
		a->config3 = 24;
		a->ids = &ids[i];
		a->n_ids = 1;
	}
	w = pfs_w_new(&o, at, N, NULL);
	for (size_t i = 0; i < N; i++) {
		struct pfs_sample s = {.ip = 0x1000 + i};
		struct pfs_sample_id sid = {.time = 10 + i, .id = ids[i]};
		pfs_w_sample(w, (int)i, PFS_MISC_USER, &sid, &s);
	}
	buf = pfs_w_finish(w, &len, NULL);
	T_EQ(pfs_reader_open_mem(&r, buf, len, NULL, &err), 0);
	for (size_t i = 0; (rc = pfs_reader_next(r, &rec, &err)) == 1;) {
		if (rec.type != PFS_REC_SAMPLE)
			continue;
		T_ASSERT(i < N);
		T_EQ(pfs_reader_attr_index(r, rec.attr), i);
		T_EQ(rec.u.sample.ip, 0x1000 + i);
		i++;
	}
	T_EQ(rc, 0);
	T_EQ(pfs_reader_n_attrs(r), N);
	for (size_t i = 0; i < N; i++)
		check_attr(pfs_reader_attr(r, i), &at[i]);
	T_EQ(pfs_reader_diag(r)->n, 0);
	pfs_reader_close(r);
	free(buf);
}

static void test_attr_sizes_le(void)
{
	attr_sizes(false, false);
}

static void test_attr_sizes_be(void)
{
	attr_sizes(true, false);
}

static void test_attr_sizes_pipe_be(void)
{
	attr_sizes(true, true);
}

/* ---- ordering ---- */

/* Writes samples of one event with the given times, FINISHED_ROUND where time is 0. */
static uint8_t *timed(const uint64_t *times, size_t n, bool pipe, size_t *len)
{
	static uint64_t id = 55;
	static struct pfs_attr a;
	struct pfs_w_opts o = {.pipe = pipe};
	struct pfs_w *w;
	memset(&a, 0, sizeof(a));
	a.size = 128;
	a.sample_type = PFS_S_IP | PFS_S_TID | PFS_S_TIME;
	a.flags = PFS_ATTR_FLAG(PFS_AF_SAMPLE_ID_ALL);
	a.ids = &id;
	a.n_ids = 1;
	w = pfs_w_new(&o, &a, 1, NULL);
	for (size_t i = 0; i < n; i++) {
		struct pfs_sample s = {.ip = i};
		struct pfs_sample_id sid = {.pid = 1, .tid = 1, .time = times[i]};
		if (!times[i])
			pfs_w_finished_round(w);
		else
			pfs_w_sample(w, 0, PFS_MISC_USER, &sid, &s);
	}
	return pfs_w_finish(w, len, NULL);
}

static void read_times(const uint8_t *buf, size_t len, bool file_order, uint64_t *out, size_t *n,
		       uint64_t *ooo)
{
	struct pfs_reader_opts ro = {.file_order = file_order};
	struct pfs_reader *r;
	struct pfs_err err;
	struct pfs_record rec;
	int rc;
	*n = 0;
	T_EQ(pfs_reader_open_mem(&r, buf, len, &ro, &err), 0);
	while ((rc = pfs_reader_next(r, &rec, &err)) == 1)
		if (rec.type == PFS_REC_SAMPLE)
			out[(*n)++] = rec.sid.time;
	T_EQ(rc, 0);
	*ooo = pfs_reader_stats(r)->out_of_order;
	pfs_reader_close(r);
}

static void test_finished_round_order(void)
{
	/* each round only holds times later than what the round before the previous released */
	static const uint64_t times[] = {30, 10, 20, 0, 50, 40, 35, 0, 60, 45, 0, 70, 55};
	static const uint64_t sorted[] = {10, 20, 30, 35, 40, 45, 50, 55, 60, 70};
	static const uint64_t filed[] = {30, 10, 20, 50, 40, 35, 60, 45, 70, 55};
	uint64_t got[16], ooo;
	size_t n, len;
	for (int pipe = 0; pipe < 2; pipe++) {
		uint8_t *buf = timed(times, sizeof(times) / sizeof(times[0]), pipe, &len);
		read_times(buf, len, false, got, &n, &ooo);
		T_EQ(n, 10);
		for (size_t i = 0; i < n; i++)
			T_EQ(got[i], sorted[i]);
		T_EQ(ooo, 0);
		read_times(buf, len, true, got, &n, &ooo);
		T_EQ(n, 10);
		for (size_t i = 0; i < n; i++)
			T_EQ(got[i], filed[i]);
		free(buf);
	}
}

static void test_round_violation_counted(void)
{
	/* 5 arrives after the round that released 10..30: delivered late and counted */
	static const uint64_t times[] = {30, 10, 20, 0, 50, 0, 60, 5, 0, 70};
	uint64_t got[16], ooo;
	size_t n, len;
	uint8_t *buf = timed(times, sizeof(times) / sizeof(times[0]), false, &len);
	read_times(buf, len, false, got, &n, &ooo);
	T_EQ(n, 7);
	T_EQ(ooo, 1);
	T_EQ(got[0], 10);
	T_EQ(got[n - 1], 70);
	free(buf);
}

/* ---- ids and attribution ---- */

static void test_ids_to_attrs(void)
{
	/* four events with ID (not IDENTIFIER): perf's id_pos after IP, TID, TIME */
	static uint64_t ids[4][3] = {{11, 12, 13}, {21, 22, 0}, {31, 0, 0}, {41, 42, 0}};
	static const size_t nids[4] = {3, 2, 1, 2};
	struct pfs_attr at[4];
	struct pfs_w_opts o = {0};
	struct pfs_w *w;
	struct pfs_reader *r;
	struct pfs_err err;
	struct pfs_record rec;
	uint64_t per[4] = {0}, lost_off = 0;
	uint8_t *buf;
	size_t len;
	int rc;
	memset(at, 0, sizeof(at));
	for (size_t i = 0; i < 4; i++) {
		at[i].size = 136;
		at[i].config = i;
		at[i].sample_type =
		    PFS_S_IP | PFS_S_TID | PFS_S_TIME | PFS_S_ID | PFS_S_CPU | PFS_S_PERIOD;
		at[i].flags = PFS_ATTR_FLAG(PFS_AF_SAMPLE_ID_ALL);
		at[i].ids = ids[i];
		at[i].n_ids = nids[i];
	}
	w = pfs_w_new(&o, at, 4, NULL);
	for (size_t k = 0; k < 40; k++) {
		size_t ev = (k * 7) % 4;
		struct pfs_sample s = {.ip = k, .period = k};
		struct pfs_sample_id sid = {.pid = 9,
					    .tid = 9,
					    .time = k + 1,
					    .id = ids[ev][k % nids[ev]],
					    .cpu = (uint32_t)k % 2};
		pfs_w_sample(w, (int)ev, PFS_MISC_USER, &sid, &s);
		per[ev]++;
	}
	{
		/* a LOST on event 3's second id, attributed through the trailer */
		struct pfs_sample_id sid = {.pid = 9, .tid = 9, .time = 100, .id = 42};
		pfs_w_lost(w, 3, &sid, 42, 8);
	}
	{
		/* an id nobody declared: the sample is dropped and counted */
		struct pfs_sample s = {.ip = 1};
		struct pfs_sample_id sid = {.time = 101, .id = 999};
		pfs_w_sample(w, 0, PFS_MISC_USER, &sid, &s);
	}
	buf = pfs_w_finish(w, &len, NULL);
	T_EQ(pfs_reader_open_mem(&r, buf, len, NULL, &err), 0);
	while ((rc = pfs_reader_next(r, &rec, &err)) == 1) {
		if (rec.type == PFS_REC_SAMPLE) {
			size_t ev = (rec.u.sample.ip * 7) % 4;
			T_EQ(pfs_reader_attr_index(r, rec.attr), ev);
			T_EQ(rec.u.sample.period, rec.u.sample.ip);
		}
		if (rec.type == PFS_REC_LOST) {
			T_EQ(pfs_reader_attr_index(r, rec.attr), 3);
			T_EQ(rec.u.lost.lost, 8);
			T_EQ(rec.sid.id, 42);
			lost_off = rec.off;
		}
	}
	T_EQ(rc, 0);
	for (size_t i = 0; i < 4; i++)
		T_EQ(pfs_reader_attr(r, i)->n_samples, per[i]);
	T_EQ(pfs_diag_count(pfs_reader_diag(r), "unknown-sample-id"), 1);
	/* perf's loss is data dropped: one error at the end, at the LOST record, given once */
	T_EQ(pfs_stats_lost(pfs_reader_stats(r)), 8);
	T_EQ(pfs_diag_count(pfs_reader_diag(r), "lost-samples"), 8);
	T_EQ(pfs_diag_worst(pfs_reader_diag(r)), PFS_ERROR);
	for (size_t i = 0; i < pfs_reader_diag(r)->n; i++)
		if (!strcmp(pfs_reader_diag(r)->v[i].code, "lost-samples"))
			T_EQ(pfs_reader_diag(r)->v[i].first_off, lost_off);
	T_EQ(pfs_reader_next(r, &rec, &err), 0);
	T_EQ(pfs_diag_count(pfs_reader_diag(r), "lost-samples"), 8);
	T_EQ(pfs_reader_stats(r)->records[PFS_REC_SAMPLE], 41);
	pfs_reader_close(r);
	free(buf);
}

/* ---- cut and damaged files ---- */

/* One event, nsamples samples of 40 bytes; *last_off is where the last one starts. */
static uint8_t *small_file(const struct pfs_w_opts *o, size_t *len, size_t *last_off,
			   size_t nsamples, struct pfs_w_layout *lay)
{
	static uint64_t id = 5;
	static struct pfs_attr a;
	static struct pfs_info in;
	struct pfs_w *w;
	memset(&a, 0, sizeof(a));
	memset(&in, 0, sizeof(in));
	a.size = 136;
	a.sample_type = PFS_S_IP | PFS_S_TID | PFS_S_TIME | PFS_S_PERIOD;
	a.flags = PFS_ATTR_FLAG(PFS_AF_SAMPLE_ID_ALL);
	a.ids = &id;
	a.n_ids = 1;
	set_feature(&in, 3);
	in.hostname = (char *)"h";
	w = pfs_w_new(o, &a, 1, &in);
	for (size_t k = 0; k < nsamples; k++) {
		struct pfs_sample s = {.ip = k, .period = 1};
		struct pfs_sample_id sid = {.pid = 1, .tid = 1, .time = k + 1};
		pfs_w_sample(w, 0, PFS_MISC_USER, &sid, &s);
	}
	{
		struct pfs_w_layout l;
		uint8_t *p = pfs_w_finish(w, len, &l);
		bool to_eof = o->pipe || o->data_size_zero;
		*last_off = (to_eof ? *len : l.data_off + l.data_size) - 40;
		if (lay)
			*lay = l;
		return p;
	}
}

static void count_samples(const uint8_t *buf, size_t len, uint64_t *n, struct pfs_reader **keep)
{
	struct pfs_reader *r;
	struct pfs_err err;
	struct pfs_record rec;
	int rc;
	*n = 0;
	T_EQ(pfs_reader_open_mem(&r, buf, len, NULL, &err), 0);
	while ((rc = pfs_reader_next(r, &rec, &err)) == 1)
		if (rec.type == PFS_REC_SAMPLE)
			(*n)++;
	T_EQ(rc, 0);
	*keep = r;
}

static void test_data_size_zero(void)
{
	struct pfs_w_opts o = {.data_size_zero = true};
	size_t len, last;
	uint8_t *buf = small_file(&o, &len, &last, 10, NULL);
	struct pfs_reader *r;
	uint64_t n;
	count_samples(buf, len, &n, &r);
	T_EQ(n, 10);
	T_ASSERT(pfs_reader_info(r)->data_size_zero);
	T_EQ(pfs_diag_count(pfs_reader_diag(r), "data-size-zero"), 1);
	T_ASSERT(pfs_reader_info(r)->hostname == NULL);
	pfs_reader_close(r);
	free(buf);
}

static void truncated_last(bool pipe, bool compressed)
{
	struct pfs_w_opts o = {
	    .pipe = pipe, .compressed = compressed, .chunk = 64, .data_size_zero = !pipe};
	size_t len, last;
	uint8_t *buf = small_file(&o, &len, &last, 10, NULL);
	struct pfs_reader *r;
	uint64_t n;
	if (compressed) {
		/* cut inside the last COMPRESSED record: its tail is lost, the reader keeps going
		 */
		count_samples(buf, len - 3, &n, &r);
		T_ASSERT(n > 0 && n < 10);
		T_ASSERT(pfs_diag_count(pfs_reader_diag(r), "truncated-record") >= 1);
	} else {
		count_samples(buf, last + 20, &n, &r);
		T_EQ(n, 9);
		T_EQ(pfs_diag_count(pfs_reader_diag(r), "truncated-record"), 1);
		T_EQ(pfs_diag_worst(pfs_reader_diag(r)), PFS_ERROR);
		{
			const struct pfs_diag *d = pfs_reader_diag(r);
			for (size_t i = 0; i < d->n; i++)
				if (!strcmp(d->v[i].code, "truncated-record"))
					T_EQ(d->v[i].first_off, last);
		}
	}
	pfs_reader_close(r);
	free(buf);
}

static void test_truncated_last_record_file(void)
{
	truncated_last(false, false);
}

static void test_truncated_last_record_pipe(void)
{
	truncated_last(true, false);
}

static void test_truncated_compressed(void)
{
	truncated_last(true, true);
}

static void test_data_past_eof(void)
{
	struct pfs_w_opts o = {0};
	size_t len, last;
	uint8_t *buf = small_file(&o, &len, &last, 10, NULL);
	struct pfs_reader *r;
	uint64_t n;
	/* the feature table and half of the last sample gone: data.size points past the end */
	count_samples(buf, last + 12, &n, &r);
	T_EQ(n, 9);
	T_EQ(pfs_diag_count(pfs_reader_diag(r), "data-past-eof"), 1);
	T_EQ(pfs_diag_count(pfs_reader_diag(r), "truncated-record"), 1);
	pfs_reader_close(r);
	free(buf);
}

static void test_unknown_features(void)
{
	static uint64_t id = 5;
	struct pfs_attr a = {.size = 136, .sample_type = PFS_S_IP, .ids = &id, .n_ids = 1};
	struct pfs_info in;
	struct pfs_w *w;
	struct pfs_reader *r;
	struct pfs_err err;
	uint8_t *buf;
	size_t len;
	for (int pipe = 0; pipe < 2; pipe++) {
		struct pfs_w_opts o = {.pipe = pipe, .swap = !pipe};
		memset(&in, 0, sizeof(in));
		set_feature(&in, 3);
		set_feature(&in, 40);
		set_feature(&in, 100);
		set_feature(&in, 200);
		set_feature(&in, 10);
		in.hostname = (char *)"known-before";
		in.total_mem_kb = 77;
		w = pfs_w_new(&o, &a, 1, &in);
		pfs_w_finished_round(w);
		buf = pfs_w_finish(w, &len, NULL);
		T_EQ(pfs_reader_open_mem(&r, buf, len, NULL, &err), 0);
		{
			struct pfs_record rec;
			int rc;
			while ((rc = pfs_reader_next(r, &rec, &err)) == 1)
				;
			T_EQ(rc, 0);
		}
		T_STREQ(pfs_reader_info(r)->hostname, "known-before");
		T_EQ(pfs_reader_info(r)->total_mem_kb, 77);
		/* the pipe end marker (id 32, no payload) is not one of them */
		T_EQ(pfs_diag_count(pfs_reader_diag(r), "unknown-feature"), 3);
		if (pipe)
			T_EQ(pfs_reader_stats(r)->records[PFS_REC_HEADER_FEATURE], 6);
		pfs_reader_close(r);
		free(buf);
	}
}

/* ---- bad headers: a negative code and the offset of the field at fault ---- */

static void expect_open_fails(const uint8_t *buf, size_t len, int code, uint64_t off)
{
	struct pfs_reader *r = (struct pfs_reader *)1;
	struct pfs_err err;
	int rc;
	pfs_err_clear(&err);
	rc = pfs_reader_open_mem(&r, buf, len, NULL, &err);
	if (rc == 0)
		pfs_reader_close(r);
	T_ASSERT(rc < 0);
	T_EQ(rc, code);
	T_EQ(err.code, code);
	T_EQ(err.off, off);
	T_ASSERT(err.msg[0]);
	T_ASSERT(r == NULL);
}

static void test_bad_headers(void)
{
	struct pfs_w_opts o = {0};
	struct pfs_w_layout lay;
	size_t len, last;
	uint8_t *good = small_file(&o, &len, &last, 3, &lay), *b = malloc(len);
	T_ASSERT(b);
	/* wrong magic */
	memcpy(b, good, len);
	memcpy(b, "PERFILE3", 8);
	expect_open_fails(b, len, PFS_EFORMAT, 0);
	/* too short for any header */
	expect_open_fails(good, 10, PFS_EFORMAT, 0);
	expect_open_fails(good, 0, PFS_EFORMAT, 0);
	/* header size neither 104 nor 16 */
	memcpy(b, good, len);
	pfs_w_patch_u64(b, 8, 4096, false);
	expect_open_fails(b, len, PFS_EFORMAT, 8);
	/* attr_size 0, and absurd */
	memcpy(b, good, len);
	pfs_w_patch_u64(b, 16, 0, false);
	expect_open_fails(b, len, PFS_EFORMAT, 16);
	pfs_w_patch_u64(b, 16, 1ull << 40, false);
	expect_open_fails(b, len, PFS_EFORMAT, 16);
	/* attrs section past the end, and with an absurd size */
	memcpy(b, good, len);
	pfs_w_patch_u64(b, 24, len + 8, false);
	expect_open_fails(b, len, PFS_EFORMAT, 24);
	memcpy(b, good, len);
	pfs_w_patch_u64(b, 32, UINT64_MAX - 4, false);
	expect_open_fails(b, len, PFS_EFORMAT, 24);
	/* an attrs section too small for one entry */
	memcpy(b, good, len);
	pfs_w_patch_u64(b, 32, 8, false);
	expect_open_fails(b, len, PFS_EFORMAT, 32);
	/* data offset past the end */
	memcpy(b, good, len);
	pfs_w_patch_u64(b, 40, len + 1, false);
	expect_open_fails(b, len, PFS_EFORMAT, 40);
	memcpy(b, good, len);
	pfs_w_patch_u64(b, 40, UINT64_MAX, false);
	expect_open_fails(b, len, PFS_EFORMAT, 40);
	/* attr.size below VER0, and larger than its entry */
	memcpy(b, good, len);
	pfs_w_patch_u32(b, (size_t)lay.attrs_off + 4, 32, false);
	expect_open_fails(b, len, PFS_EFORMAT, lay.attrs_off + 4);
	memcpy(b, good, len);
	pfs_w_patch_u32(b, (size_t)lay.attrs_off + 4, 4000, false);
	expect_open_fails(b, len, PFS_EFORMAT, lay.attrs_off + 4);
	/* truncated inside the header and inside the attrs */
	expect_open_fails(good, 60, PFS_EFORMAT, 0);
	expect_open_fails(good, (size_t)lay.attrs_off + 20, PFS_EFORMAT, 24);
	free(b);
	free(good);
}

static void test_bad_sections_are_diagnostics(void)
{
	/* the feature table and the ids point past the end: the file opens, diagnostics count */
	struct pfs_w_opts o = {0};
	struct pfs_w_layout lay;
	static uint64_t id = 5;
	static struct pfs_info in;
	struct pfs_attr a = {.size = 136, .sample_type = PFS_S_IP, .ids = &id, .n_ids = 1};
	struct pfs_w *w;
	struct pfs_reader *r;
	struct pfs_err err;
	uint8_t *buf;
	size_t len;
	memset(&in, 0, sizeof(in));
	set_feature(&in, 3);
	set_feature(&in, 6);
	in.hostname = (char *)"h";
	in.arch = (char *)"x86_64";
	w = pfs_w_new(&o, &a, 1, &in);
	pfs_w_finished_round(w); /* data.size 0 would mean "no feature sections" */
	buf = pfs_w_finish(w, &len, &lay);
	pfs_w_patch_u64(buf, (size_t)lay.feat_table_off, len + 100, false);
	pfs_w_patch_u64(buf, (size_t)lay.feat_table_off + 24, UINT64_MAX / 2, false);
	pfs_w_patch_u64(buf, (size_t)(lay.attrs_off + lay.attr_size - 16), len * 2, false);
	T_EQ(pfs_reader_open_mem(&r, buf, len, NULL, &err), 0);
	T_EQ(pfs_diag_count(pfs_reader_diag(r), "feature-out-of-bounds"), 2);
	T_EQ(pfs_diag_count(pfs_reader_diag(r), "bad-attr-ids"), 1);
	T_ASSERT(pfs_reader_info(r)->hostname == NULL);
	pfs_reader_close(r);
	free(buf);
}

/*
 * A big-endian 32-bit perf stored its feature bitmap as eight u32 words (unsigned long[]);
 * read as four u64 the hostname bit is missing, and perf retries as u32 words.
 */
static void test_bitmap_from_32bit_writer(void)
{
	struct pfs_w_opts o = {.swap = true};
	static uint64_t id = 5;
	static struct pfs_info in;
	struct pfs_attr a = {.size = 136, .sample_type = PFS_S_IP, .ids = &id, .n_ids = 1};
	struct pfs_w *w;
	struct pfs_reader *r;
	struct pfs_err err;
	uint8_t *buf;
	size_t len;
	memset(&in, 0, sizeof(in));
	set_feature(&in, 3);
	set_feature(&in, 6);
	set_feature(&in, 10);
	in.hostname = (char *)"sparc32";
	in.arch = (char *)"sparc";
	in.total_mem_kb = 4096;
	w = pfs_w_new(&o, &a, 1, &in);
	pfs_w_finished_round(w);
	buf = pfs_w_finish(w, &len, NULL);
	for (int k = 0; k < 8; k++)
		pfs_w_patch_u32(buf, 72 + 4 * (size_t)k,
				(uint32_t)(in.features[k / 2] >> (32 * (k % 2))), true);
	T_EQ(pfs_reader_open_mem(&r, buf, len, NULL, &err), 0);
	T_STREQ(pfs_reader_info(r)->hostname, "sparc32");
	T_STREQ(pfs_reader_info(r)->arch, "sparc");
	T_EQ(pfs_reader_info(r)->total_mem_kb, 4096);
	pfs_reader_close(r);
	free(buf);
}

/*
 * Reads a damaged file to the end: opening fails cleanly (negative code, a message, no
 * reader) or reading ends by itself. Returns the number of records read.
 */
static uint64_t read_damaged(const uint8_t *buf, size_t len, bool time_order)
{
	struct pfs_reader_opts ro = {.file_order = !time_order};
	struct pfs_reader *r;
	struct pfs_err err;
	struct pfs_record rec;
	uint64_t n = 0;
	int rc;
	pfs_err_clear(&err);
	rc = pfs_reader_open_mem(&r, buf, len, &ro, &err);
	if (rc < 0) {
		T_ASSERT(r == NULL);
		T_ASSERT(err.msg[0]);
		T_EQ(err.code, rc);
		return 0;
	}
	T_EQ(rc, 0);
	while ((rc = pfs_reader_next(r, &rec, &err)) == 1) {
		n++;
		/* a record is at least its header: more records than bytes / 8 means a loop */
		T_ASSERT(n <= (len + pfs_reader_stats(r)->decompressed_bytes) / 8 + 1);
		if (rec.type == PFS_REC_SAMPLE)
			T_ASSERT(rec.attr != NULL);
	}
	T_ASSERT(rc <= 0);
	pfs_reader_close(r);
	return n;
}

static void damaged(bool swap, bool pipe, bool compressed)
{
	struct pfs_w_opts o = {.swap = swap, .pipe = pipe, .compressed = compressed, .chunk = 90};
	static struct scen sc;
	size_t len;
	uint8_t *buf, *b;
	small_scenario = true;
	buf = build(&sc, &o, &len);
	small_scenario = false;
	b = malloc(len);
	T_ASSERT(b);
	/*
	 * every cut (the copy keeps ASan watching the bytes past the cut), every byte flipped
	 * with fixed patterns; each zstd reader costs a decompression context, so those files
	 * take every fifth offset
	 */
	size_t step = compressed ? 5 : 1;
	for (size_t cut = 0; cut < len; cut += step) {
		memcpy(b, buf, cut);
		read_damaged(b, cut, cut % 2);
	}
	for (size_t at = 0; at < len; at += step) {
		memcpy(b, buf, len);
		b[at] ^= (uint8_t)(at % 3 == 0 ? 0xff : at % 3 == 1 ? 0x80 : 0x01);
		read_damaged(b, len, at % 2);
	}
	free(b);
	free(buf);
}

static void test_damaged_le_file(void)
{
	damaged(false, false, false);
}

static void test_damaged_be_pipe(void)
{
	damaged(true, true, false);
}

static void test_damaged_le_pipe_zstd(void)
{
	damaged(false, true, true);
}

static void test_damaged_be_file_zstd(void)
{
	damaged(true, false, true);
}

/* A record whose size field is below 8 ends the stream with a diagnostic, not a loop. */
static void test_record_size_below_header(void)
{
	for (int pipe = 0; pipe < 2; pipe++) {
		struct pfs_w_opts o = {.pipe = pipe, .data_size_zero = true};
		size_t len, last;
		uint8_t *buf = small_file(&o, &len, &last, 5, NULL);
		struct pfs_reader *r;
		uint64_t n;
		pfs_w_patch_u32(buf, last + 4, 4u << 16, false);
		count_samples(buf, len, &n, &r);
		T_EQ(n, 4);
		T_EQ(pfs_diag_count(pfs_reader_diag(r), "bad-record-size"), 1);
		pfs_reader_close(r);
		free(buf);
	}
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
	    T_CASE(roundtrip_le_file),
	    T_CASE(roundtrip_be_file),
	    T_CASE(roundtrip_le_pipe),
	    T_CASE(roundtrip_be_pipe),
	    T_CASE(roundtrip_le_file_zstd),
	    T_CASE(roundtrip_be_file_zstd),
	    T_CASE(roundtrip_le_pipe_zstd),
	    T_CASE(roundtrip_be_pipe_zstd),
	    T_CASE(roundtrip_le_file_zstd2),
	    T_CASE(roundtrip_be_pipe_zstd2),
	    T_CASE(open_path),
	    T_CASE(no_decode_counts),
	    T_CASE(pipe_names_from_event_update),
	    T_CASE(attr_sizes_le),
	    T_CASE(attr_sizes_be),
	    T_CASE(attr_sizes_pipe_be),
	    T_CASE(finished_round_order),
	    T_CASE(round_violation_counted),
	    T_CASE(ids_to_attrs),
	    T_CASE(data_size_zero),
	    T_CASE(truncated_last_record_file),
	    T_CASE(truncated_last_record_pipe),
	    T_CASE(truncated_compressed),
	    T_CASE(data_past_eof),
	    T_CASE(unknown_features),
	    T_CASE(bad_headers),
	    T_CASE(bad_sections_are_diagnostics),
	    T_CASE(record_size_below_header),
	    T_CASE(bitmap_from_32bit_writer),
	    T_CASE(damaged_le_file),
	    T_CASE(damaged_be_pipe),
	    T_CASE(damaged_le_pipe_zstd),
	    T_CASE(damaged_be_file_zstd),
	    T_CASE(big_file_rounds),
	    T_CASE(big_file_one_round),
	    T_CASE(big_pipe_file_rounds),
	};
	return t_main(argc, argv, "perfdata", cases, sizeof(cases) / sizeof(cases[0]));
}
