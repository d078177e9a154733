#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "perfdata.h"
#include "tpblob.h"
#include "tpevent.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void check_switch_states(bool big)
{
	static const struct {
		uint64_t state;
		const char *s;
		bool runnable;
	} cases[] = {
	    {0, "R", true},    {0x100, "R+", true}, {1, "S", false},	  {2, "D", false},
	    {3, "S|D", false}, {0x80, "I", false},  {0x101, "S+", false},
	};
	const char *fmts[] = {t_switch_fmt};
	struct buf b = t_make_blob(big, "sched", fmts, 1);
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
		struct buf r =
		    t_switch_raw(big, "python3.12", 12357, cases[i].state, "swapper/0", 0);
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
	const char *fmts[] = {t_switch_fmt};
	struct buf b = t_make_blob(false, "sched", fmts, 1);
	struct buf r = t_switch_raw(false, "a", 1, 1, "b", 2);
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
	const char *fmts[] = {t_probe_fmt, t_dyn_fmt};
	struct buf b = t_make_blob(false, "probe_libpython3", fmts, 2);
	struct buf r = {0};
	struct pfs_tpevent *t;
	struct pfs_err err;
	char s[8];
	uint64_t v;
	T_EQ(pfs_tpevent_open(&t, b.p, b.n, NULL, &err), 0);
	T_STREQ(pfs_tpevent_name(t, 2001), "probe_libpython3:take_gil");
	T_STREQ(pfs_tpevent_name(t, 3000), "probe_libpython3:dyn");
	T_ASSERT(pfs_tpevent_name(t, 372) == NULL);
	t_put_int(&r, 2001, 2);
	t_put_int(&r, 0, 2);
	t_put_int(&r, 7, 4);
	t_put_int(&r, 0x7fb87d2ae9f0ull, 8);
	T_EQ(pfs_tpevent_u64(t, 2001, r.p, r.n, "__probe_ip", &v, &err), 0);
	T_EQ(v, 0x7fb87d2ae9f0ull);
	free(r.p);
	/* __data_loc: offset 12, length 6 ("hello\0") */
	memset(&r, 0, sizeof(r));
	t_put_int(&r, 3000, 2);
	t_put_int(&r, 0, 2);
	t_put_int(&r, 7, 4);
	t_put_int(&r, (6u << 16) | 12u, 4);
	t_put(&r, "hello", 6);
	T_EQ(pfs_tpevent_str(t, 3000, r.p, r.n, "msg", s, sizeof(s), &err), 5);
	T_STREQ(s, "hello");
	T_EQ(pfs_tpevent_str(t, 3000, r.p, r.n, "msg", s, 3, &err), 5);
	T_STREQ(s, "he");
	/* a location pointing past the data */
	r.n = 8;
	t_put_int(&r, (60u << 16) | 12u, 4);
	t_put(&r, "hello", 6);
	T_EQ(pfs_tpevent_str(t, 3000, r.p, r.n, "msg", s, sizeof(s), &err), PFS_EFORMAT);
	T_EQ(pfs_tpevent_u64(t, 3000, r.p, r.n, "msg", &v, &err), PFS_EUSAGE);
	pfs_tpevent_close(t);
	free(b.p);
	free(r.p);
}

static void test_bad_blobs(void)
{
	const char *fmts[] = {t_switch_fmt};
	struct buf b = t_make_blob(false, "sched", fmts, 1);
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
		struct buf c = t_make_blob(false, "sched", fmts, 0);
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
	const char *fmts[] = {"no format here", t_probe_fmt};
	struct buf b = t_make_blob(false, "probe_x", fmts, 2);
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
