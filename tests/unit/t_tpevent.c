#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "perfdata.h"
#include "tpevent.h"
#include "xalloc.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define COMMON                                                                                     \
	"format:\n"                                                                                \
	"\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"                     \
	"\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"                     \
	"\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"             \
	"\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n"

/* The format a 6.x kernel exports (TASK_REPORT_MAX 0x100). */
static const char switch_fmt[] =
	"name: sched_switch\nID: 372\n" COMMON
	"\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;\n"
	"\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;\n"
	"\tfield:int prev_prio;\toffset:28;\tsize:4;\tsigned:1;\n"
	"\tfield:long prev_state;\toffset:32;\tsize:8;\tsigned:1;\n"
	"\tfield:char next_comm[16];\toffset:40;\tsize:16;\tsigned:0;\n"
	"\tfield:pid_t next_pid;\toffset:56;\tsize:4;\tsigned:1;\n"
	"\tfield:int next_prio;\toffset:60;\tsize:4;\tsigned:1;\n\n"
	"print fmt: \"prev_comm=%s prev_pid=%d prev_prio=%d prev_state=%s%s ==> next_comm=%s "
	"next_pid=%d next_prio=%d\", REC->prev_comm, REC->prev_pid, REC->prev_prio, "
	"(REC->prev_state & ((((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | "
	"0x00000010 | 0x00000020 | 0x00000040) + 1) << 1) - 1)) ? __print_flags(REC->prev_state & "
	"((((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x00000010 | "
	"0x00000020 | 0x00000040) + 1) << 1) - 1), \"|\", { 0x00000001, \"S\" }, { 0x00000002, "
	"\"D\" }, { 0x00000004, \"T\" }, { 0x00000008, \"t\" }, { 0x00000010, \"X\" }, { "
	"0x00000020, \"Z\" }, { 0x00000040, \"P\" }, { 0x00000080, \"I\" }) : \"R\", "
	"REC->prev_state & (((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | "
	"0x00000010 | 0x00000020 | 0x00000040) + 1) << 1) ? \"+\" : \"\", REC->next_comm, "
	"REC->next_pid, REC->next_prio\n";

static const char probe_fmt[] = "name: take_gil\nID: 2001\n" COMMON
				"\tfield:unsigned long __probe_ip;\toffset:8;\tsize:8;\tsigned:0;\n\n"
				"print fmt: \"(%lx)\", REC->__probe_ip\n";

static const char dyn_fmt[] = "name: dyn\nID: 3000\n" COMMON
			      "\tfield:__data_loc char[] msg;\toffset:8;\tsize:4;\tsigned:0;\n\n"
			      "print fmt: \"msg=%s\", __get_str(msg)\n";

struct buf {
	uint8_t *p;
	size_t n, cap;
	bool big;
};

static void put(struct buf *b, const void *p, size_t n)
{
	PFS_GROW(b->p, b->cap, b->n + n);
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

static void put_int(struct buf *b, uint64_t v, size_t size)
{
	uint8_t x[8];
	for (size_t i = 0; i < size; i++)
		x[b->big ? size - 1 - i : i] = (uint8_t)(v >> (8 * i));
	put(b, x, size);
}

static void put_text(struct buf *b, const char *s)
{
	put_int(b, strlen(s), 8);
	put(b, s, strlen(s));
}

/* A tracing-data blob as perf writes it, with the given formats under system sys. */
static struct buf make_blob(bool big, const char *sys, const char *const *fmts, size_t n)
{
	static const uint8_t magic[10] = {0x17, 0x08, 0x44, 't', 'r', 'a', 'c', 'i', 'n', 'g'};
	struct buf b = {.big = big};
	put(&b, magic, sizeof(magic));
	put(&b, "0.6", 4);
	put_int(&b, big, 1);
	put_int(&b, 8, 1);
	put_int(&b, 4096, 4);
	put(&b, "header_page", 12);
	put_text(&b, "\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n"
		     "\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;\n"
		     "\tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;\n"
		     "\tfield: char data;\toffset:16;\tsize:4080;\tsigned:0;\n");
	put(&b, "header_event", 13);
	put_text(&b, "# compressed entry header\n");
	put_int(&b, 0, 4); /* ftrace formats */
	put_int(&b, 1, 4); /* systems */
	put(&b, sys, strlen(sys) + 1);
	put_int(&b, n, 4);
	for (size_t i = 0; i < n; i++)
		put_text(&b, fmts[i]);
	put_int(&b, 0, 4); /* kallsyms */
	put_int(&b, 0, 4); /* printk */
	put_int(&b, 0, 8); /* saved cmdlines */
	return b;
}

static struct buf switch_raw(bool big, const char *prev, uint32_t prev_pid, uint64_t state,
			     const char *next, uint32_t next_pid)
{
	struct buf r = {.big = big};
	char comm[16];
	put_int(&r, 372, 2);
	put_int(&r, 0, 1);
	put_int(&r, 0, 1);
	put_int(&r, prev_pid, 4);
	memset(comm, 0, sizeof(comm));
	memcpy(comm, prev, strnlen(prev, sizeof(comm)));
	put(&r, comm, 16);
	put_int(&r, prev_pid, 4);
	put_int(&r, 120, 4);
	put_int(&r, state, 8);
	memset(comm, 0, sizeof(comm));
	memcpy(comm, next, strnlen(next, sizeof(comm)));
	put(&r, comm, 16);
	put_int(&r, next_pid, 4);
	put_int(&r, 120, 4);
	put_int(&r, 0, 4); /* the kernel pads RAW to 8 bytes after the u32 size */
	return r;
}

static void check_switch_states(bool big)
{
	static const struct {
		uint64_t state;
		const char *s;
		bool runnable;
	} cases[] = {
		{0, "R", true},    {0x100, "R+", true}, {1, "S", false},   {2, "D", false},
		{3, "S|D", false}, {0x80, "I", false},  {0x101, "S+", false},
	};
	const char *fmts[] = {switch_fmt};
	struct buf b = make_blob(big, "sched", fmts, 1);
	struct pfs_tpevent *t;
	struct pfs_err err;
	struct pfs_diag d;
	pfs_diag_init(&d);
	T_EQ(pfs_tpevent_open(&t, b.p, b.n, &d, &err), 0);
	T_EQ(d.n, 0);
	T_EQ(pfs_tpevent_n_events(t), 1);
	T_STREQ(pfs_tpevent_name(t, 372), "sched:sched_switch");
	T_EQ(pfs_tpevent_id(t, "sched", "sched_switch"), 372);
	T_EQ(pfs_tpevent_id(t, "sched", "sched_wakeup"), (uint64_t)-1);
	for (size_t i = 0; i < N(cases); i++) {
		struct buf r = switch_raw(big, "python3.12", 12357, cases[i].state, "swapper/0", 0);
		struct pfs_tp_switch sw;
		T_EQ(pfs_tpevent_switch(t, 372, r.p, r.n, &sw, &err), 1);
		T_EQ(sw.prev_pid, 12357);
		T_EQ(sw.next_pid, 0);
		T_STREQ(sw.prev_comm, "python3.12");
		T_STREQ(sw.next_comm, "swapper/0");
		T_EQ(sw.prev_state, cases[i].state);
		T_STREQ(sw.prev_state_s, cases[i].s);
		T_EQ(sw.runnable, cases[i].runnable);
		free(r.p);
	}
	pfs_tpevent_close(t);
	pfs_diag_release(&d);
	free(b.p);
}

static void test_switch_little_endian(void)
{
	check_switch_states(false);
}

static void test_switch_big_endian(void)
{
	check_switch_states(true);
}

static void test_truncated_raw_is_an_error(void)
{
	const char *fmts[] = {switch_fmt};
	struct buf b = make_blob(false, "sched", fmts, 1);
	struct buf r = switch_raw(false, "a", 1, 1, "b", 2);
	struct pfs_tpevent *t;
	struct pfs_tp_switch sw;
	struct pfs_err err;
	uint64_t v;
	T_EQ(pfs_tpevent_open(&t, b.p, b.n, NULL, &err), 0);
	for (size_t len = 0; len < 64; len++)
		T_EQ(pfs_tpevent_switch(t, 372, r.p, len, &sw, &err), PFS_EFORMAT);
	T_ASSERT(strstr(err.msg, "truncated"));
	T_EQ(pfs_tpevent_switch(t, 372, r.p, 64, &sw, &err), 1);
	/* another id is simply not a switch */
	T_EQ(pfs_tpevent_switch(t, 373, r.p, r.n, &sw, &err), 0);
	T_EQ(pfs_tpevent_u64(t, 372, r.p, r.n, "no_such_field", &v, &err), PFS_EUSAGE);
	T_EQ(pfs_tpevent_u64(t, 999, r.p, r.n, "prev_pid", &v, &err), PFS_EUSAGE);
	T_EQ(pfs_tpevent_u64(t, 372, r.p, r.n, "prev_comm", &v, &err), PFS_EUSAGE);
	T_EQ(pfs_tpevent_u64(t, 372, r.p, r.n, "common_pid", &v, &err), 0);
	T_EQ(v, 1);
	pfs_tpevent_close(t);
	free(b.p);
	free(r.p);
}

static void test_probe_and_dynamic_fields(void)
{
	const char *fmts[] = {probe_fmt, dyn_fmt};
	struct buf b = make_blob(false, "probe_libpython3", fmts, 2);
	struct buf r = {0};
	struct pfs_tpevent *t;
	struct pfs_err err;
	char s[8];
	uint64_t v;
	T_EQ(pfs_tpevent_open(&t, b.p, b.n, NULL, &err), 0);
	T_STREQ(pfs_tpevent_name(t, 2001), "probe_libpython3:take_gil");
	T_STREQ(pfs_tpevent_name(t, 3000), "probe_libpython3:dyn");
	T_ASSERT(pfs_tpevent_name(t, 372) == NULL);
	put_int(&r, 2001, 2);
	put_int(&r, 0, 2);
	put_int(&r, 7, 4);
	put_int(&r, 0x7fb87d2ae9f0ull, 8);
	T_EQ(pfs_tpevent_u64(t, 2001, r.p, r.n, "__probe_ip", &v, &err), 0);
	T_EQ(v, 0x7fb87d2ae9f0ull);
	free(r.p);
	/* __data_loc: offset 12, length 6 ("hello\0") */
	memset(&r, 0, sizeof(r));
	put_int(&r, 3000, 2);
	put_int(&r, 0, 2);
	put_int(&r, 7, 4);
	put_int(&r, (6u << 16) | 12u, 4);
	put(&r, "hello", 6);
	T_EQ(pfs_tpevent_str(t, 3000, r.p, r.n, "msg", s, sizeof(s), &err), 5);
	T_STREQ(s, "hello");
	T_EQ(pfs_tpevent_str(t, 3000, r.p, r.n, "msg", s, 3, &err), 5);
	T_STREQ(s, "he");
	/* a location pointing past the data */
	r.n = 8;
	put_int(&r, (60u << 16) | 12u, 4);
	put(&r, "hello", 6);
	T_EQ(pfs_tpevent_str(t, 3000, r.p, r.n, "msg", s, sizeof(s), &err), PFS_EFORMAT);
	T_EQ(pfs_tpevent_u64(t, 3000, r.p, r.n, "msg", &v, &err), PFS_EUSAGE);
	pfs_tpevent_close(t);
	free(b.p);
	free(r.p);
}

static void test_bad_blobs(void)
{
	const char *fmts[] = {switch_fmt};
	struct buf b = make_blob(false, "sched", fmts, 1);
	struct pfs_tpevent *t = (void *)1;
	struct pfs_err err;
	size_t formats_end;
	T_EQ(pfs_tpevent_open(&t, NULL, 0, NULL, &err), PFS_EFORMAT);
	T_ASSERT(t == NULL);
	T_ASSERT(strstr(err.msg, "no tracing data"));
	T_EQ(pfs_tpevent_open(&t, "\x17\x08\x44trace", 10, NULL, &err), PFS_EFORMAT);
	/* every truncation before the end of the formats fails cleanly, never crashes */
	formats_end = b.n - 16;
	for (size_t len = 1; len < formats_end; len++) {
		int rc = pfs_tpevent_open(&t, b.p, len, NULL, &err);
		if (rc == 0)
			t_fail(__FILE__, __LINE__, "truncated to %zu bytes: accepted", len);
		T_EQ(rc, PFS_EFORMAT);
	}
	/* kallsyms, printk and saved cmdlines are optional */
	T_EQ(pfs_tpevent_open(&t, b.p, formats_end, NULL, &err), 0);
	pfs_tpevent_close(t);
	/* a huge format count is refused without allocating */
	{
		struct buf c = make_blob(false, "sched", fmts, 0);
		size_t at = c.n - 16 - 4;
		memcpy(c.p + at, "\xff\xff\xff\x7f", 4);
		T_EQ(pfs_tpevent_open(&t, c.p, c.n, NULL, &err), PFS_ELIMIT);
		free(c.p);
	}
	/* a long size of 3 */
	b.p[14] = 3;
	T_EQ(pfs_tpevent_open(&t, b.p, b.n, NULL, &err), PFS_EFORMAT);
	free(b.p);
}

static void test_bad_format_is_a_diagnostic(void)
{
	const char *fmts[] = {"no format here", probe_fmt};
	struct buf b = make_blob(false, "probe_x", fmts, 2);
	struct pfs_tpevent *t;
	struct pfs_err err;
	struct pfs_diag d;
	pfs_diag_init(&d);
	T_EQ(pfs_tpevent_open(&t, b.p, b.n, &d, &err), 0);
	T_EQ(pfs_diag_count(&d, "tracepoint-format"), 1);
	T_STREQ(pfs_tpevent_name(t, 2001), "probe_x:take_gil");
	pfs_tpevent_close(t);
	pfs_diag_release(&d);
	free(b.p);
}

/* The real capture: sched_switch plus the uprobes of py312-threads-probes. */
static void test_fixture_probes_capture(void)
{
	struct pfs_reader *r;
	struct pfs_tpevent *t;
	struct pfs_err err;
	struct pfs_record rec;
	const struct pfs_info *info;
	uint64_t switches = 0, waits = 0, take = 0, bad = 0;
	int rc;
	T_EQ(pfs_reader_open(&r, t_fixture("py312-threads-probes/perf.data"), NULL, &err), 0);
	info = pfs_reader_info(r);
	T_ASSERT(info->tracing_data != NULL);
	T_EQ(pfs_tpevent_open(&t, info->tracing_data, info->tracing_data_len, NULL, &err), 0);
	T_ASSERT(pfs_tpevent_id(t, "sched", "sched_switch") >= 0);
	T_ASSERT(pfs_tpevent_id(t, "probe_libpython3", "take_gil") >= 0);
	T_ASSERT(pfs_tpevent_id(t, "probe_libpython3", "gc_collect_main__return") >= 0);
	while ((rc = pfs_reader_next(r, &rec, &err)) == 1) {
		struct pfs_tp_switch sw;
		const char *name;
		if (rec.type != PFS_REC_SAMPLE || !rec.attr || rec.attr->type != 2)
			continue;
		name = pfs_tpevent_name(t, rec.attr->config);
		T_ASSERT(name != NULL);
		if (!strcmp(name, "probe_libpython3:take_gil"))
			take++;
		rc = pfs_tpevent_switch(t, rec.attr->config, rec.u.sample.raw,
					rec.u.sample.raw_size, &sw, &err);
		if (rc < 0)
			bad++;
		if (rc == 1) {
			switches++;
			if (!sw.runnable)
				waits++;
			T_ASSERT(sw.prev_state_s[0]);
		}
	}
	T_EQ(rc, 0);
	T_EQ(bad, 0);
	/* perf-report-stats.txt: 173 sched_switch and 115 take_gil samples */
	T_EQ(switches, 173);
	T_EQ(take, 115);
	T_ASSERT(waits > 0 && waits < switches);
	pfs_tpevent_close(t);
	pfs_reader_close(r);
}

/* Pipe mode: the blob arrives as a HEADER_TRACING_DATA record, payload outside its size. */
static void test_fixture_pipe_tracing_data(void)
{
	struct pfs_reader *r;
	struct pfs_tpevent *t = NULL;
	struct pfs_err err;
	struct pfs_record rec;
	uint64_t switches = 0, bad = 0;
	int rc;
	T_EQ(pfs_reader_open(&r, t_fixture("native-pipe-tracepoints/perf.data"), NULL, &err), 0);
	while ((rc = pfs_reader_next(r, &rec, &err)) == 1) {
		struct pfs_tp_switch sw;
		if (rec.type == PFS_REC_HEADER_TRACING_DATA) {
			const struct pfs_info *info = pfs_reader_info(r);
			T_ASSERT(t == NULL);
			T_ASSERT(info->tracing_data != NULL);
			T_EQ(pfs_tpevent_open(&t, info->tracing_data, info->tracing_data_len, NULL,
					      &err),
			     0);
			continue;
		}
		if (rec.type != PFS_REC_SAMPLE || !rec.attr || rec.attr->type != 2)
			continue;
		T_ASSERT(t != NULL);
		rc = pfs_tpevent_switch(t, rec.attr->config, rec.u.sample.raw,
					rec.u.sample.raw_size, &sw, &err);
		if (rc < 0)
			bad++;
		else if (rc == 1)
			switches++;
	}
	T_EQ(rc, 0);
	T_EQ(bad, 0);
	/* perf reads only 29 of them before it desyncs; the file holds more */
	T_ASSERT(switches >= 29);
	pfs_tpevent_close(t);
	pfs_reader_close(r);
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
		T_CASE(switch_little_endian),
		T_CASE(switch_big_endian),
		T_CASE(truncated_raw_is_an_error),
		T_CASE(probe_and_dynamic_fields),
		T_CASE(bad_blobs),
		T_CASE(bad_format_is_a_diagnostic),
		T_CASE(fixture_probes_capture),
		T_CASE(fixture_pipe_tracing_data),
	};
	return t_main(argc, argv, "tpevent", cases, N(cases));
}
