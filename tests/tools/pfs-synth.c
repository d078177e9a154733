/*
 * pfs-synth: writes a synthetic perf.data for the end-to-end tests, through tests/helper's
 * pfs_writer.
 *
 *     pfs-synth OUT [--swap] [--pipe] [--compressed] [--chunk N] [--data-size-zero]
 *                   [--kind minimal|samples|all] [--samples N] [--attr-size N]
 *
 * minimal: one cpu-clock event, a COMM, an MMAP2 and N samples.
 * samples: two events (IDENTIFIER), the usual features, a process with two threads, N samples
 *          with call chains, FINISHED_ROUND every 16 samples (what perf 6.1 reads back too).
 * all:     samples, plus an event with every sample_type bit, every record kind, tool records,
 *          unknown record types and unknown feature bits.
 * --attr-size sets every attr.size (perf 6.1 refuses attrs above its own 128 bytes).
 * It prints "samples N" (the SAMPLE records written) on standard output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "perfdata.h"
#include "pfs_writer.h"

enum kind { K_MINIMAL, K_SAMPLES, K_ALL };

static uint64_t ids_clock[] = {1001, 1002}, ids_dummy[] = {2001}, ids_all[] = {3001};
static char *cmdline[] = {(char *)"/usr/bin/perf", (char *)"record", (char *)"-g",
			  (char *)"--", (char *)"python3"};

static void usage(void)
{
	fprintf(stderr, "usage: pfs-synth OUT [--swap] [--pipe] [--compressed] [--chunk N] "
			"[--data-size-zero] [--kind minimal|samples|all] [--samples N] "
			"[--attr-size N]\n");
	exit(2);
}

static size_t make_attrs(struct pfs_attr *at, enum kind k)
{
	uint64_t common = PFS_S_IP | PFS_S_TID | PFS_S_TIME | PFS_S_CPU | PFS_S_PERIOD |
			  PFS_S_CALLCHAIN;
	memset(at, 0, 3 * sizeof(*at));
	at[0].type = 1; /* cpu-clock */
	at[0].size = 136;
	at[0].sample_period = 4000;
	at[0].sample_type = common;
	at[0].flags = PFS_ATTR_FLAG(0) | PFS_ATTR_FLAG(1) | PFS_ATTR_FLAG(8) | PFS_ATTR_FLAG(9) |
		      PFS_ATTR_FLAG(PFS_AF_FREQ) | PFS_ATTR_FLAG(PFS_AF_SAMPLE_ID_ALL) |
		      PFS_ATTR_FLAG(23) | PFS_ATTR_FLAG(24);
	at[0].sample_max_stack = 127;
	at[0].name = (char *)"cpu-clock:u";
	at[0].ids = ids_clock;
	at[0].n_ids = 2;
	if (k == K_MINIMAL) {
		at[0].n_ids = 1;
		return 1;
	}
	at[0].sample_type |= PFS_S_IDENTIFIER;
	at[1].type = 1;
	at[1].size = 136;
	at[1].config = 9; /* dummy */
	at[1].sample_period = 1;
	at[1].sample_type = PFS_S_IDENTIFIER | PFS_S_IP | PFS_S_TID | PFS_S_TIME | PFS_S_CPU;
	at[1].flags = PFS_ATTR_FLAG(PFS_AF_SAMPLE_ID_ALL) | PFS_ATTR_FLAG(PFS_AF_CONTEXT_SWITCH);
	at[1].name = (char *)"dummy:u";
	at[1].ids = ids_dummy;
	at[1].n_ids = 1;
	if (k == K_SAMPLES)
		return 2;
	at[2].type = 4;
	at[2].size = 200; /* newer than any ABI we know */
	at[2].config = 0x1234;
	at[2].sample_period = 10007;
	at[2].sample_type = (1ull << 25) - 1;
	at[2].read_format = PFS_FMT_TOTAL_TIME_ENABLED | PFS_FMT_TOTAL_TIME_RUNNING |
			    PFS_FMT_ID | PFS_FMT_GROUP | PFS_FMT_LOST;
	at[2].flags = PFS_ATTR_FLAG(PFS_AF_SAMPLE_ID_ALL);
	at[2].branch_sample_type = (1ull << 17) | (1ull << 19);
	at[2].sample_regs_user = 0xff0fff;
	at[2].sample_regs_intr = 0x3;
	at[2].name = (char *)"raw 0x1234";
	at[2].ids = ids_all;
	at[2].n_ids = 1;
	return 3;
}

static void make_info(struct pfs_info *in, enum kind k)
{
	static const unsigned bits[] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 21, 23, 29};
	memset(in, 0, sizeof(*in));
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		in->features[bits[i] / 64] |= 1ull << (bits[i] % 64);
	if (k == K_ALL)
		in->features[0] |= 1ull << 40 | 1ull << 2;
	in->hostname = (char *)"synth";
	in->osrelease = (char *)"6.1.0-synth";
	in->version = (char *)"6.1.0";
	in->arch = (char *)"x86_64";
	in->nr_cpus_avail = in->nr_cpus_online = 2;
	in->cpudesc = (char *)"Synthetic CPU";
	in->cpuid = (char *)"GenuineIntel,6,85,4";
	in->total_mem_kb = 4000000;
	in->cmdline = cmdline;
	in->n_cmdline = 5;
	in->first_sample_time = 1000000;
	in->last_sample_time = 2000000;
	in->clock_resolution_ns = 1;
	in->clockid = 1;
	in->wall_clock_ns = 1700000000000000000ull;
	in->clockid_time_ns = 1000000;
	{
		static struct pfs_build_id b = {-1, {0x11, 0x22, 0x33}, 20, PFS_MISC_KERNEL,
						(char *)"[kernel.kallsyms]"};
		in->build_ids = &b;
		in->n_build_ids = 1;
	}
}

static void write_all_kinds(struct pfs_w *w, uint64_t *t)
{
	static uint64_t cc[] = {PFS_CONTEXT_USER, 0x401000, 0x402000};
	static uint8_t raw[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
	static struct pfs_branch_entry br[1] = {{0x401000, 0x402000, 1}};
	static uint64_t regs[20], regs2[2], counters[1] = {1};
	static uint8_t stack[32], aux[8];
	static struct pfs_read_value rv[2] = {{10, 3001, 0}, {20, 1001, 0}};
	static const uint32_t kernel[] = {PFS_REC_AUX,       PFS_REC_ITRACE_START,
					  PFS_REC_NAMESPACES, PFS_REC_KSYMBOL,
					  PFS_REC_BPF_EVENT, PFS_REC_CGROUP,
					  PFS_REC_TEXT_POKE, PFS_REC_AUX_OUTPUT_HW_ID,
					  PFS_REC_THROTTLE,  PFS_REC_UNTHROTTLE};
	static const uint32_t tool[] = {PFS_REC_ID_INDEX,     PFS_REC_THREAD_MAP,
					PFS_REC_CPU_MAP,      PFS_REC_TIME_CONV,
					PFS_REC_EVENT_UPDATE, PFS_REC_HEADER_BUILD_ID,
					PFS_REC_AUXTRACE_INFO, PFS_REC_AUXTRACE};
	struct pfs_sample s = {0};
	struct pfs_sample_id sid = {.pid = 100, .tid = 101, .id = 3001, .cpu = 1};
	struct pfs_rec_switch sw = {.out = true, .preempt = true};
	struct pfs_rec_switch cw = {.cpu_wide = true, .next_prev_pid = 100, .next_prev_tid = 102};
	s.ip = 0x401000;
	s.period = 10007;
	s.read_values = rv;
	s.n_read_values = 2;
	s.callchain = cc;
	s.n_callchain = 3;
	s.raw = raw;
	s.raw_size = 12;
	s.branches = br;
	s.n_branches = 1;
	s.branch_counters = counters;
	s.regs_user_abi = 2;
	s.regs_user = regs;
	s.stack_user = stack;
	s.stack_user_size = 32;
	s.stack_user_dyn_size = 16;
	s.regs_intr_abi = 2;
	s.regs_intr = regs2;
	s.aux = aux;
	s.aux_size = 8;
	sid.time = (*t)++;
	pfs_w_sample(w, 2, PFS_MISC_USER, &sid, &s);
	s.regs_user_abi = 0;
	s.stack_user_size = 0;
	sid.time = (*t)++;
	pfs_w_sample(w, 2, PFS_MISC_USER, &sid, &s);
	for (size_t i = 0; i < sizeof(kernel) / sizeof(kernel[0]); i++) {
		sid.time = (*t)++;
		pfs_w_other_kernel(w, kernel[i], 2, &sid, i + 1);
	}
	sid.time = (*t)++;
	pfs_w_switch(w, 2, &sid, &sw);
	sid.time = (*t)++;
	pfs_w_switch(w, 2, &sid, &cw);
	sid.time = (*t)++;
	pfs_w_lost(w, 2, &sid, 3001, 4);
	sid.time = (*t)++;
	pfs_w_lost_samples(w, 2, &sid, 2);
	sid.time = (*t)++;
	pfs_w_read(w, 2, &sid, 100, 101, 5, 5, rv, 2);
	for (size_t i = 0; i < sizeof(tool) / sizeof(tool[0]); i++)
		pfs_w_other_tool(w, tool[i], i);
	pfs_w_unknown(w, 150, 24);
	pfs_w_unknown(w, 40000, 3);
}

int main(int argc, char **argv)
{
	struct pfs_w_opts o = {0};
	enum kind k = K_SAMPLES;
	size_t nsamples = 200, nattrs, written = 0;
	struct pfs_attr at[3];
	struct pfs_info in;
	struct pfs_w *w;
	const char *out = NULL;
	uint64_t t = 1000000;
	uint32_t attr_size = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--swap"))
			o.swap = true;
		else if (!strcmp(argv[i], "--pipe"))
			o.pipe = true;
		else if (!strcmp(argv[i], "--compressed"))
			o.compressed = true;
		else if (!strcmp(argv[i], "--data-size-zero"))
			o.data_size_zero = true;
		else if (!strcmp(argv[i], "--chunk") && i + 1 < argc)
			o.chunk = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--attr-size") && i + 1 < argc)
			attr_size = (uint32_t)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--samples") && i + 1 < argc)
			nsamples = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--kind") && i + 1 < argc) {
			i++;
			if (!strcmp(argv[i], "minimal"))
				k = K_MINIMAL;
			else if (!strcmp(argv[i], "samples"))
				k = K_SAMPLES;
			else if (!strcmp(argv[i], "all"))
				k = K_ALL;
			else
				usage();
		} else if (argv[i][0] == '-' || out)
			usage();
		else
			out = argv[i];
	}
	if (!out)
		usage();
	nattrs = make_attrs(at, k);
	for (size_t i = 0; attr_size && i < nattrs; i++)
		at[i].size = attr_size;
	make_info(&in, k);
	w = pfs_w_new(&o, at, nattrs, k == K_MINIMAL ? NULL : &in);
	{
		struct pfs_rec_comm c = {100, 100, "python3", false};
		struct pfs_rec_comm c2 = {100, 101, "worker-1", false};
		struct pfs_rec_mmap m = {.pid = 100,
					 .tid = 100,
					 .start = 0x400000,
					 .len = 0x10000,
					 .pgoff = 0,
					 .maj = 8,
					 .ino = 42,
					 .prot = 5,
					 .flags = 2,
					 .filename = "/usr/bin/python3"};
		struct pfs_rec_task f = {100, 100, 101, 100, 0};
		struct pfs_sample_id sid = {.pid = 100, .tid = 100};
		pfs_w_comm(w, 0, NULL, &c);
		pfs_w_mmap2(w, 0, PFS_MISC_USER, NULL, &m);
		if (k != K_MINIMAL) {
			sid.id = ids_dummy[0];
			sid.time = f.time = t++;
			pfs_w_task(w, PFS_REC_FORK, 1, &sid, &f);
			sid.tid = 101;
			sid.time = t++;
			pfs_w_comm(w, 1, &sid, &c2);
		}
	}
	for (size_t i = 0; i < nsamples; i++) {
		static uint64_t cc[] = {PFS_CONTEXT_USER, 0x401010, 0x402020, 0x403030, 0x404040};
		struct pfs_sample s = {.ip = 0x401010 + 16 * (i % 4), .period = 250000};
		struct pfs_sample_id sid = {.pid = 100,
					    .tid = 100 + (uint32_t)(i % 2),
					    .id = ids_clock[i % 2],
					    .cpu = (uint32_t)(i % 2)};
		s.callchain = cc;
		s.n_callchain = 2 + i % 4;
		/* two CPUs' buffers interleave: times alternate back and forth within a round */
		sid.time = t + (i % 2 ? 3 : 0);
		t += 2;
		pfs_w_sample(w, 0, PFS_MISC_USER, &sid, &s);
		written++;
		if (i % 16 == 15)
			pfs_w_finished_round(w);
	}
	if (k == K_ALL) {
		write_all_kinds(w, &t);
		written += 2;
	}
	pfs_w_finished_round(w);
	if (pfs_w_finish_file(w, out)) {
		perror(out);
		return 1;
	}
	printf("samples %zu\n", written);
	return 0;
}
