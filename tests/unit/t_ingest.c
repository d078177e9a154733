/*
 * ingest on the fixtures: what it puts in the profile besides the stacks (events, threads,
 * processes) and that every sample of the chosen event reaches the sink once.
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "ingest.h"
#include "profile.h"

struct count {
	uint64_t rows, with_comm, events_seen[8];
	struct pfs_profile *p;
};

static int sink(void *payload, const struct pfs_sample_row *row)
{
	struct count *c = payload;
	c->rows++;
	if (row->comm && pfs_profile_strget(c->p, row->comm, NULL)[0])
		c->with_comm++;
	if (row->event < 8)
		c->events_seen[row->event]++;
	T_ASSERT(row->path != 0);
	return 0;
}

static void test_gunicorn_processes(void)
{
	struct pfs_profile *p = pfs_profile_new();
	struct pfs_diag d;
	struct pfs_err err;
	struct count c = {.p = p};
	struct pfs_ingest_opts o = {.first_sampling = true};
	pfs_diag_init(&d);
	T_EQ(pfs_ingest_perf(t_fixture("gunicorn-gthread-pipe/perf.data"), &o, p, sink, &c, &d,
			     &err),
	     0);
	T_ASSERT(c.rows > 0);
	T_EQ(c.with_comm, c.rows);
	/* only the first sampling event is streamed; its count is what the profile says */
	T_EQ(pfs_profile_event(p, 0)->sampling, 1);
	T_EQ(c.events_seen[0], c.rows);
	T_EQ(pfs_profile_event(p, 0)->samples, c.rows);
	/* the workers were forked by the master: each sampled process but one has a sampled parent */
	uint32_t pids[64];
	size_t sampled = 0, with_parent = 0;
	for (size_t j = 0; j < pfs_profile_n_threads(p); j++) {
		struct pfs_thread *t = pfs_profile_thread_at(p, j);
		size_t k = 0;
		while (k < sampled && pids[k] != t->pid)
			k++;
		if (t->samples && k == sampled && sampled < 64)
			pids[sampled++] = t->pid;
	}
	for (size_t i = 0; i < sampled; i++) {
		struct pfs_process *pr = pfs_profile_process(p, pids[i]);
		T_ASSERT(pr->comm != 0);
		for (size_t k = 0; k < sampled; k++)
			if (pr->ppid == pids[k])
				with_parent++;
	}
	T_ASSERT(sampled >= 3);
	T_EQ(with_parent, sampled - 1);
	pfs_diag_release(&d);
	pfs_profile_free(p);
}

static void test_unknown_event_is_usage_error(void)
{
	struct pfs_profile *p = pfs_profile_new();
	struct pfs_diag d;
	struct pfs_err err;
	struct count c = {.p = p};
	struct pfs_ingest_opts o = {.event = "no-such-event"};
	pfs_diag_init(&d);
	T_EQ(pfs_ingest_perf(t_fixture("py312-threads-fp/perf.data"), &o, p, sink, &c, &d, &err),
	     PFS_EUSAGE);
	T_ASSERT(strstr(err.msg, "cpu-clock") != NULL);
	T_EQ(c.rows, 0);
	pfs_diag_release(&d);
	pfs_profile_free(p);
}

static void test_every_event_when_asked(void)
{
	struct pfs_profile *p = pfs_profile_new();
	struct pfs_diag d;
	struct pfs_err err;
	struct count c = {.p = p};
	struct pfs_ingest_opts o = {0};
	pfs_diag_init(&d);
	T_EQ(pfs_ingest_perf(t_fixture("py312-threads-fp/perf.data"), &o, p, sink, &c, &d, &err),
	     0);
	T_EQ(pfs_profile_n_events(p), 2);
	T_ASSERT(c.events_seen[0] > 0 && c.events_seen[1] > 0);
	T_EQ(c.rows, pfs_profile_event(p, 0)->samples + pfs_profile_event(p, 1)->samples);
	T_ASSERT(!pfs_profile_event(p, 1)->sampling);
	T_ASSERT(pfs_diag_count(&d, "fp-chains-broken") > 0);
	pfs_diag_release(&d);
	pfs_profile_free(p);
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
	    T_CASE(gunicorn_processes),
	    T_CASE(unknown_event_is_usage_error),
	    T_CASE(every_event_when_asked),
	};
	return t_main(argc, argv, "ingest", cases, sizeof(cases) / sizeof(cases[0]));
}
