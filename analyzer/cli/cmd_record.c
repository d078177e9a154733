/*
 * perfsight record: runs perf record with what the analysis needs (DWARF call graphs, the
 * cpu-clock at its own frequency, sched_switch, sched_wakeup and switch events, optionally
 * uprobes on CPython's GC and GIL functions), then makes the directory self-contained: the
 * CPython perf maps and jitdumps and, with --bundle, the ELF files keyed by build-id.
 *
 * Every event is recorded exactly: only the clock is sampled (cpu-clock/freq=N/); every
 * tracepoint and uprobe has period 1 (-c 1), so no switch, wakeup, GC or GIL record is dropped
 * and each entry probe meets its own return. A global -F would sample them too.
 *
 * The uprobes are system-wide kernel state. They get a group of their own (perfsight_<pid>) and
 * are removed whatever happens to the recording: perf failing, the workload failing, SIGINT,
 * SIGTERM or SIGHUP. Only SIGKILL can leave them behind; `perf probe -d 'perfsight_*'` clears
 * them then.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "perfdata.h"
#include "pyclass.h"

const char cmd_record_usage[] =
    "usage: perfsight record [-o DIR] [--duration S] [-F HZ] [--stack-size BYTES] [--probes]\n"
    "                        [--perf-jit] [--bundle] (-p PID[,PID...] | [--] CMD [ARG...])\n"
    "\n"
    "Records a capture perfsight can analyze into DIR (default perfsight-capture): DIR/perf.data\n"
    "from\n"
    "  perf record -c 1 -e cpu-clock/freq=HZ,name=cpu-clock/ --call-graph dwarf,BYTES\n"
    "      -e sched:sched_switch -e sched:sched_wakeup/call-graph=no/ --switch-events\n"
    "      -z --buildid-mmap -m 16M\n"
    "(the clock sampled at HZ; every switch and wakeup kept: period 1, no global -F; records\n"
    "compressed, about 25 to 1; build-ids in the mmap records, Linux 5.12+), and\n"
    "DIR/maps/: the perf-PID.map and jit-PID.dump files that name the Python functions of each\n"
    "recorded process. For CMD, perfsight sets PYTHONPERFSUPPORT=1 (CPython 3.12+ then writes\n"
    "the maps) unless the environment sets it.\n"
    "\n"
    "  -o DIR         output directory (created; an existing perf.data in it is replaced)\n"
    "  -p PID,...     record these running processes (and the threads and children they start)\n"
    "  --duration S   stop after S seconds (default: when CMD exits, or Ctrl-C)\n"
    "  -F HZ          the clock's sampling frequency (default 499)\n"
    "  --stack-size BYTES\n"
    "                 user stack copied per sample (default 32768, most 65528; NK for N KiB):\n"
    "                 a Python level needs about 500 bytes, a deeper stack is cut and rooted\n"
    "                 at [truncated]. gunicorn + Flask (gthread) under wrk, 2 CPUs, 499 Hz:\n"
    "                 16 KiB 15% of stacks cut, 1.3 MB/s; 32 KiB 9%, 2.9 MB/s; 65528 0.2%,\n"
    "                 7.1 MB/s and perf starts to lose records (tests/tools/record-rate.sh)\n"
    "  --probes       add uprobes on the target's libpython: the GC collector's entry (with its\n"
    "                 stack and generation) and return, and take_gil's entry (with a stack of\n"
    "                 at most 16 KiB) and return (exact GC pauses and GIL waits; return\n"
    "                 probes carry no stack); they are removed afterwards, also on Ctrl-C,\n"
    "                 SIGTERM and SIGHUP. A probe perf cannot place is left out with perf's\n"
    "                 reason. 3.4 MB/s for the gunicorn above, where a request takes the GIL\n"
    "                 about 8 times, and perf loses some records on 2 busy CPUs\n"
    "  --perf-jit     CPython 3.13+: PYTHON_PERF_JIT_SUPPORT=1 instead (a jitdump with unwind\n"
    "                 tables; perf record -k 1)\n"
    "  --bundle       copy the ELF files the processes mapped into DIR/.build-id/ (symbols and\n"
    "                 unwind tables, keyed by build-id) so DIR can be analyzed elsewhere\n"
    "\n"
    "Needs perf and the right to use it (root, or perf_event_paranoid <= 1; --probes needs\n"
    "root). PERFSIGHT_PERF names another perf binary.\n"
    "exit status: 0 ok, 2 usage, 3 target or perf unusable, 4 perf failed\n"
    "example: perfsight record -o cap --probes -- python3.12 app.py\n";

struct rec_opts {
	const char *dir;
	const char *pids;
	char **cmd;
	double duration;
	unsigned freq, stack_size;
	bool probes, bundle, perf_jit;
};

/*
 * --call-graph dwarf,SIZE: perfsight's default holds the request paths of the gunicorn + Flask
 * services measured (docs/stacks.md); perf takes at most 65528 (a multiple of 8)
 */
#define DEFAULT_STACK_SIZE 32768
#define MAX_STACK_SIZE 65528

/* One uprobe event to record: its name and whether its samples carry a stack. */
struct probe_ev {
	char name[160];
	bool stack;
	unsigned stack_max; /* a smaller dump than the clock's for this event, 0: the same */
};

/*
 * take_gil's entry stack, at every GIL acquisition (about 8 per request in a gthread worker),
 * gives the callers of the samples taken while waiting in it (the uretprobe replaced their
 * return address). 16 KiB holds a gthread worker's request paths; a sync worker does not wait
 * for the GIL. At 32 KiB perf lost 8.8k records of a 9 s gunicorn capture on 2 CPUs, at 16 KiB
 * 860 (docs/stacks.md).
 */
#define TAKE_GIL_STACK_MAX 16384

static volatile sig_atomic_t got_signal;
static volatile pid_t perf_pid;

static void on_signal(int sig)
{
	got_signal = sig;
	/* perf stops on SIGINT, writes its file, and ends the workload it started */
	if (perf_pid > 0)
		kill(perf_pid, SIGINT);
}

static const char *perf_bin(void)
{
	const char *p = getenv("PERFSIGHT_PERF");
	return p && *p ? p : "perf";
}

/*
 * Runs argv, stdout into out (NUL-terminated, cut at len; may be NULL to discard), stderr
 * discarded, or into out as well with merge_err. Returns the exit status, or -1 when it could
 * not run.
 */
static int run(const char *const *argv, char *out, size_t len, bool merge_err)
{
	int fd[2], status;
	size_t n = 0;
	pid_t pid;
	if (pipe(fd))
		return -1;
	pid = fork();
	if (pid < 0) {
		close(fd[0]);
		close(fd[1]);
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(fd[1], 1);
		if (merge_err)
			dup2(fd[1], 2);
		else if (null >= 0)
			dup2(null, 2);
		close(fd[0]);
		close(fd[1]);
		/* execvp's prototype predates const; it does not write to argv */
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fd[1]);
	for (;;) {
		char buf[4096];
		ssize_t r = read(fd[0], buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (out && n + 1 < len) {
			size_t c = (size_t)r < len - 1 - n ? (size_t)r : len - 1 - n;
			memcpy(out + n, buf, c);
			n += c;
		}
	}
	if (out && len)
		out[n] = 0;
	close(fd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int mkdir_p(const char *path)
{
	char buf[4096];
	size_t n = strlen(path);
	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != 0)
			continue;
		buf[i] = 0;
		if (mkdir(buf, 0777) && errno != EEXIST)
			return -1;
		buf[i] = path[i];
	}
	return 0;
}

static int copy_file(const char *src, const char *dst)
{
	char buf[65536];
	int in = open(src, O_RDONLY), out;
	ssize_t r;
	if (in < 0)
		return -1;
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0) {
		close(in);
		return -1;
	}
	while ((r = read(in, buf, sizeof(buf))) > 0) {
		ssize_t off = 0;
		while (off < r) {
			ssize_t w = write(out, buf + off, (size_t)(r - off));
			if (w < 0) {
				close(in);
				close(out);
				return -1;
			}
			off += w;
		}
	}
	close(in);
	return close(out) || r < 0 ? -1 : 0;
}

/* The libpython (or a statically linked python binary) that /proc/PID/maps shows. */
static bool lib_from_maps(const char *pid, char *lib, size_t len)
{
	char path[64], line[4096];
	FILE *f;
	bool found = false;
	snprintf(path, sizeof(path), "/proc/%s/maps", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char *file = strchr(line, '/');
		size_t l;
		if (!file)
			continue;
		l = strcspn(file, "\n");
		file[l] = 0;
		if (!pfs_pyclass_is_python_dso(file))
			continue;
		/* libpython holds the interpreter when there is one; else the binary does */
		if (!found || strstr(pfs_pyclass_basename(file), "libpython")) {
			snprintf(lib, len, "%s", file);
			found = true;
		}
	}
	fclose(f);
	return found;
}

/* argv0 resolved through PATH, as execvp would. */
static bool which(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH");
	if (strchr(name, '/')) {
		snprintf(out, len, "%s", name);
		return access(out, X_OK) == 0;
	}
	while (path && *path) {
		size_t n = strcspn(path, ":");
		snprintf(out, len, "%.*s/%s", (int)n, path, name);
		if (n && access(out, X_OK) == 0)
			return true;
		path += n + (path[n] == ':');
	}
	return false;
}

/* The python binary a command runs: itself, or the interpreter of its #! line. */
static bool interpreter_of(const char *cmd, char *out, size_t len)
{
	char line[512];
	FILE *f;
	if (!which(cmd, out, len))
		return false;
	f = fopen(out, "r");
	if (!f)
		return false;
	if (fgets(line, sizeof(line), f) && !strncmp(line, "#!", 2)) {
		char *a = line + 2, *b;
		a += strspn(a, " \t");
		b = a + strcspn(a, " \t\n");
		*b = 0;
		if (!strcmp(pfs_pyclass_basename(a), "env")) {
			a = b + strspn(b, " \t");
			b = a + strcspn(a, " \t\n");
		}
		*b = 0;
		fclose(f);
		return which(a, out, len);
	}
	fclose(f);
	return true;
}

/* The libpython a program will load: ldd's answer, else the binary itself if it is python. */
static bool lib_from_program(const char *cmd, char *lib, size_t len)
{
	char exe[4096], out[16384];
	const char *argv[] = {"ldd", exe, NULL};
	if (!interpreter_of(cmd, exe, sizeof(exe)))
		return false;
	if (run(argv, out, sizeof(out), false) == 0) {
		for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n")) {
			char *arrow = strstr(l, "=> /");
			if (arrow && strstr(l, "libpython")) {
				char *p = arrow + 3;
				p[strcspn(p, " \t(")] = 0;
				snprintf(lib, len, "%s", p);
				return true;
			}
		}
	}
	if (pfs_pyclass_is_python_dso(exe)) {
		snprintf(lib, len, "%s", exe);
		return true;
	}
	return false;
}

/*
 * The libpython a command will load: the first of its words that is a Python program, so that
 * wrappers (timeout, env, nice, a #! script of python) find the interpreter they start.
 */
static bool lib_from_command(char *const *cmd, char *lib, size_t len)
{
	for (size_t i = 0; cmd[i]; i++)
		if (!strchr(cmd[i], '=') && cmd[i][0] != '-' && lib_from_program(cmd[i], lib, len))
			return true;
	return false;
}

/* The first line of perf's message that says what went wrong, without its padding. */
static const char *perf_reason(char *msg)
{
	char *best = NULL;
	for (char *l = strtok(msg, "\n"); l; l = strtok(NULL, "\n")) {
		l += strspn(l, " \t");
		if (!*l)
			continue;
		if (!best)
			best = l;
		if (strstr(l, "rror") || strstr(l, "ailed") || strstr(l, "not found")) {
			best = l;
			break;
		}
	}
	return best ? best : "no message";
}

/*
 * Adds GROUP:NAME=FN [ARG] and GROUP:NAME__return=FN%return. NAME is FN, or FN_2, FN_3... when
 * perf refuses FN because an event of that name exists in another group (perf 6.1 wants event
 * names unique across groups); the analysis knows both spellings. On success fills ev[0..1]
 * (the entry with a stack, the return without) and returns true; else puts perf's reason in
 * why.
 */
static bool add_probe_pair(const char *group, const char *lib, const char *fn, const char *arg,
			   struct probe_ev *ev, char *why, size_t wlen)
{
	char name[96], e1[256], e2[256], msg[4096];
	const char *add[] = {perf_bin(), "probe", "-x", lib, "-a", e1, "-a", e2, NULL};
	for (int k = 1; k <= 9; k++) {
		if (k == 1)
			snprintf(name, sizeof(name), "%s", fn);
		else
			snprintf(name, sizeof(name), "%s_%d", fn, k);
		snprintf(e1, sizeof(e1), "%s:%s=%s%s%s", group, name, fn, arg ? " " : "",
			 arg ? arg : "");
		/* perf names a return probe NAME__return itself */
		snprintf(e2, sizeof(e2), "%s:%s=%s%%return", group, name, fn);
		if (run(add, msg, sizeof(msg), true) == 0) {
			snprintf(ev[0].name, sizeof(ev[0].name), "%s:%s", group, name);
			ev[0].stack = true;
			ev[0].stack_max = 0;
			snprintf(ev[1].name, sizeof(ev[1].name), "%s:%s__return", group, name);
			ev[1].stack = false;
			ev[1].stack_max = 0;
			return true;
		}
		if (!strstr(msg, "already exists"))
			break;
	}
	snprintf(why, wlen, "%s", perf_reason(msg));
	return false;
}

static void remove_probes(const char *group)
{
	char ev[128];
	const char *del[] = {perf_bin(), "probe", "-q", "-d", ev, NULL};
	snprintf(ev, sizeof(ev), "%s:*", group);
	if (run(del, NULL, 0, false) != 0)
		fprintf(
		    stderr,
		    "perfsight record: could not remove the uprobes %s; run: perf probe -d '%s'\n",
		    ev, ev);
}

/*
 * Adds the GC and GIL probe pairs into ev (room for 4); returns how many events were added
 * (0: none, and nothing left to remove).
 */
static int add_probes(const struct rec_opts *o, const char *group, struct probe_ev *ev)
{
	char lib[4096], why[512];
	struct pfs_pyver v;
	const char *const *gc;
	int n = 0;
	bool found = o->pids ? false : lib_from_command(o->cmd, lib, sizeof(lib));
	if (o->pids) {
		char pids[4096], *save = NULL;
		snprintf(pids, sizeof(pids), "%s", o->pids);
		for (char *p = strtok_r(pids, ",", &save); p && !found;
		     p = strtok_r(NULL, ",", &save))
			found = lib_from_maps(p, lib, sizeof(lib));
	}
	if (!found) {
		fprintf(stderr,
			"perfsight record: --probes: no libpython or python binary found for "
			"the target; recording without probes\n");
		return 0;
	}
	gc = pfs_pyclass_gc_probe_functions(pfs_pyclass_version(lib, &v) ? &v : NULL);
	for (; *gc; gc++) {
		/* the generation argument needs the library's debug info; without it, none */
		if (add_probe_pair(group, lib, *gc, "generation", ev + n, why, sizeof(why)) ||
		    add_probe_pair(group, lib, *gc, NULL, ev + n, why, sizeof(why))) {
			n += 2;
			break;
		}
		fprintf(stderr, "perfsight record: --probes: cannot probe %s in %s: %s\n", *gc, lib,
			why);
	}
	if (!*gc)
		fprintf(stderr,
			"perfsight record: --probes: no GC collector function to probe in %s: no "
			"GC pauses\n",
			lib);
	if (add_probe_pair(group, lib, "take_gil", NULL, ev + n, why, sizeof(why))) {
		ev[n].stack_max = TAKE_GIL_STACK_MAX;
		n += 2;
	} else
		fprintf(stderr,
			"perfsight record: --probes: cannot probe take_gil in %s: %s: no "
			"probe-based GIL waits\n",
			lib, why);
	if (n)
		fprintf(stderr, "perfsight record: uprobes %s:* on %s\n", group, lib);
	return n;
}

/* pids of the capture's processes (from its samples and task records) */
struct pidset {
	uint32_t *v;
	size_t n, cap;
};

static void pidset_add(struct pidset *s, uint32_t pid)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] == pid)
			return;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (!s->v) {
			fprintf(stderr, "perfsight: out of memory\n");
			abort();
		}
	}
	s->v[s->n++] = pid;
}

/*
 * The ELF files to bundle by build-id: the header's table, and the ids MMAP2 records carry
 * (--buildid-mmap: then perf writes no table).
 */
struct bid {
	char hex[41];
	char *file;
};
struct bidset {
	struct bid *v;
	size_t n, cap;
};

static void bids_add(struct bidset *s, const uint8_t *id, size_t size, const char *file)
{
	struct bid b;
	if (!file || file[0] != '/' || !size || size > 20)
		return;
	for (size_t k = 0; k < size; k++)
		snprintf(b.hex + 2 * k, 3, "%02x", id[k]);
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i].hex, b.hex))
			return;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (!s->v) {
			fprintf(stderr, "perfsight: out of memory\n");
			abort();
		}
	}
	b.file = strdup(file);
	if (!b.file) {
		fprintf(stderr, "perfsight: out of memory\n");
		abort();
	}
	s->v[s->n++] = b;
}

static void bids_release(struct bidset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].file);
	free(s->v);
}

/* Copies maps and (bundle) ELF files; returns 0 or an exit code. */
static int finish_dir(const struct rec_opts *o, const char *data)
{
	struct pfs_reader *r;
	struct pfs_record rec;
	struct pfs_err err;
	struct pidset pids = {0};
	struct bidset bids = {0};
	char src[4200], dst[4200];
	int rc, copied[2] = {0, 0};
	if (pfs_reader_open(&r, data, NULL, &err) < 0)
		return cli_fail(data, &err);
	while ((rc = pfs_reader_next(r, &rec, &err)) == 1) {
		if (rec.type == PFS_REC_SAMPLE && (rec.sid.has & PFS_S_TID))
			pidset_add(&pids, rec.sid.pid);
		else if (rec.type == PFS_REC_COMM)
			pidset_add(&pids, rec.u.comm.pid);
		else if (rec.type == PFS_REC_FORK)
			pidset_add(&pids, rec.u.task.pid);
		else if (rec.type == PFS_REC_MMAP2 && o->bundle)
			bids_add(&bids, rec.u.mmap.build_id, rec.u.mmap.build_id_size,
				 rec.u.mmap.filename);
	}
	if (rc < 0) {
		cli_fail(data, &err);
		pfs_reader_close(r);
		free(pids.v);
		bids_release(&bids);
		return EXIT_INPUT;
	}
	/* what the processes wrote into /tmp: perf maps (-X perf), jitdumps (-X perf_jit) */
	for (size_t i = 0; i < pids.n; i++) {
		for (int k = 0; k < 2; k++) {
			char name[64];
			if (k)
				snprintf(name, sizeof(name), "jit-%u.dump", pids.v[i]);
			else
				snprintf(name, sizeof(name), "perf-%u.map", pids.v[i]);
			snprintf(src, sizeof(src), "/tmp/%s", name);
			snprintf(dst, sizeof(dst), "%s/maps/%s", o->dir, name);
			if (access(src, R_OK))
				continue;
			if (copy_file(src, dst) == 0)
				copied[k]++;
			else
				fprintf(stderr, "perfsight record: cannot copy %s to %s: %s\n", src,
					dst, strerror(errno));
		}
	}
	fprintf(stderr, "perfsight record: %s, %d Python perf map%s and %d jitdump%s copied\n",
		data, copied[0], copied[0] == 1 ? "" : "s", copied[1], copied[1] == 1 ? "" : "s");
	if (o->bundle) {
		const struct pfs_info *info = pfs_reader_info(r);
		int n = 0;
		snprintf(dst, sizeof(dst), "%s/build-ids.txt", o->dir);
		FILE *list = fopen(dst, "w");
		for (size_t i = 0; i < info->n_build_ids; i++)
			bids_add(&bids, info->build_ids[i].id, info->build_ids[i].size,
				 info->build_ids[i].filename);
		for (size_t i = 0; i < bids.n; i++) {
			const struct bid *b = &bids.v[i];
			snprintf(dst, sizeof(dst), "%s/.build-id/%.2s", o->dir, b->hex);
			mkdir_p(dst);
			snprintf(dst, sizeof(dst), "%s/.build-id/%.2s/%s", o->dir, b->hex,
				 b->hex + 2);
			if (copy_file(b->file, dst) == 0) {
				n++;
				if (list)
					fprintf(list, "%s %s\n", b->hex, b->file);
			} else {
				fprintf(stderr, "perfsight record: --bundle: cannot copy %s: %s\n",
					b->file, strerror(errno));
			}
		}
		if (list)
			fclose(list);
		fprintf(stderr, "perfsight record: %d ELF file%s bundled under %s/.build-id\n", n,
			n == 1 ? "" : "s", o->dir);
	}
	pfs_reader_close(r);
	free(pids.v);
	bids_release(&bids);
	return EXIT_OK;
}

static int parse(int argc, char **argv, struct rec_opts *o)
{
	const struct cli_cmd *self = cli_find("record");
	int i;
	o->dir = "perfsight-capture";
	o->freq = 499;
	o->stack_size = DEFAULT_STACK_SIZE;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		char *end;
		if (!strcmp(a, "--")) {
			i++;
			break;
		} else if (!strcmp(a, "-o") && i + 1 < argc) {
			o->dir = argv[++i];
		} else if (!strcmp(a, "-p") && i + 1 < argc) {
			o->pids = argv[++i];
			if (!*o->pids || o->pids[strspn(o->pids, "0123456789,")])
				return cli_usage_error(self, "-p wants PID[,PID...], not '%s'",
						       o->pids);
		} else if (!strcmp(a, "--duration") && i + 1 < argc) {
			o->duration = strtod(argv[++i], &end);
			if (*end || !(o->duration > 0) || o->duration > 86400)
				return cli_usage_error(self, "--duration wants seconds, not '%s'",
						       argv[i]);
		} else if (!strcmp(a, "-F") && i + 1 < argc) {
			unsigned long f = strtoul(argv[++i], &end, 10);
			if (*end || !f || f > 100000)
				return cli_usage_error(self, "-F wants a frequency in Hz, not '%s'",
						       argv[i]);
			o->freq = (unsigned)f;
		} else if (!strcmp(a, "--stack-size") && i + 1 < argc) {
			unsigned long b = strtoul(argv[++i], &end, 10);
			if (*end == 'K' || *end == 'k')
				b *= 1024, end++;
			if (*end || b < 8 || b > MAX_STACK_SIZE)
				return cli_usage_error(self,
						       "--stack-size wants bytes from 8 to %d (or "
						       "NK), not '%s'",
						       MAX_STACK_SIZE, argv[i]);
			o->stack_size = (unsigned)(b + 7) / 8 * 8;
		} else if (!strcmp(a, "--probes")) {
			o->probes = true;
		} else if (!strcmp(a, "--perf-jit")) {
			o->perf_jit = true;
		} else if (!strcmp(a, "--bundle")) {
			o->bundle = true;
		} else if (a[0] != '-') {
			break; /* the command, without "--" */
		} else {
			return cli_usage_error(self, "unknown option '%s'", a);
		}
	}
	if (i < argc)
		o->cmd = &argv[i];
	if (!o->pids == !o->cmd)
		return cli_usage_error(self, "give either -p PID[,PID...] or -- CMD");
	return EXIT_OK;
}

/*
 * Sets the interpreter's perf support for a command perfsight starts, unless its environment
 * already says: the perf map trampolines, or with --perf-jit on CPython 3.13+ the jitdump.
 */
static void set_perf_support(const struct rec_opts *o)
{
	char lib[4096];
	struct pfs_pyver v = {0};
	bool jit = false;
	if (o->perf_jit) {
		bool known = lib_from_command(o->cmd, lib, sizeof(lib)) &&
			     pfs_pyclass_version(lib, &v) && v.major;
		jit = !known || v.major > 3 || (v.major == 3 && v.minor >= 13);
		if (!jit)
			fprintf(stderr,
				"perfsight record: --perf-jit needs CPython 3.13+; %s is %d.%d: "
				"using PYTHONPERFSUPPORT=1 (perf maps)\n",
				lib, v.major, v.minor);
	}
	if (jit)
		setenv("PYTHON_PERF_JIT_SUPPORT", "1", 0);
	else
		setenv("PYTHONPERFSUPPORT", "1", 0);
}

static int record(const struct rec_opts *o, const char *data, const struct probe_ev *pev, int n_pev)
{
	char clock[96], stack[32], secs[64], evs[4][sizeof(pev->name) + 48];
	const char *argv[64 + 256];
	size_t n = 0;
	int status;
	pid_t pid;
	snprintf(clock, sizeof(clock), "cpu-clock/freq=%u,name=cpu-clock/", o->freq);
	snprintf(stack, sizeof(stack), "dwarf,%u", o->stack_size);
	argv[n++] = perf_bin();
	argv[n++] = "record";
	argv[n++] = "-q";
	argv[n++] = "-o";
	argv[n++] = data;
	/* period 1 for every event without its own; the clock has its own frequency */
	argv[n++] = "-c";
	argv[n++] = "1";
	/*
	 * A DWARF sample is mostly its stack dump, which compresses about 25 to 1 (gunicorn under
	 * load: 70 MB/s raw, 3 MB/s with -z); a 16 MiB ring per CPU keeps perf from losing records
	 * in bursts of switches (root only: others are held to perf_event_mlock_kb)
	 */
	argv[n++] = "-z";
	/*
	 * perf 6.1 writes a -z capture's build-id table without the ids; with the ids in the
	 * MMAP2 records (Linux 5.12+) the table is whole again, and perf skips its pass over the
	 * file at the end
	 */
	argv[n++] = "--buildid-mmap";
	if (geteuid() == 0) {
		argv[n++] = "-m";
		argv[n++] = "16M";
	}
	argv[n++] = "--call-graph";
	argv[n++] = stack;
	argv[n++] = "-e";
	argv[n++] = clock;
	/* the switch-out stack names the code that waits; a wakeup's stack is the waker's */
	argv[n++] = "-e";
	argv[n++] = "sched:sched_switch";
	argv[n++] = "-e";
	argv[n++] = "sched:sched_wakeup/call-graph=no/";
	argv[n++] = "--switch-events";
	if (o->perf_jit) {
		/* the jitdump's timestamps are CLOCK_MONOTONIC */
		argv[n++] = "-k";
		argv[n++] = "1";
	}
	for (int k = 0; k < n_pev && k < 4; k++) {
		if (!pev[k].stack)
			snprintf(evs[k], sizeof(evs[k]), "%.159s/call-graph=no/", pev[k].name);
		else if (pev[k].stack_max && pev[k].stack_max < o->stack_size)
			snprintf(evs[k], sizeof(evs[k]), "%.159s/call-graph=dwarf,stack-size=%u/",
				 pev[k].name, pev[k].stack_max);
		else
			snprintf(evs[k], sizeof(evs[k]), "%.159s", pev[k].name);
		argv[n++] = "-e";
		argv[n++] = evs[k];
	}
	if (o->pids) {
		argv[n++] = "-p";
		argv[n++] = o->pids;
		if (o->duration > 0) {
			snprintf(secs, sizeof(secs), "%g", o->duration);
			argv[n++] = "--";
			argv[n++] = "sleep";
			argv[n++] = secs;
		}
	} else {
		argv[n++] = "--";
		for (size_t k = 0; o->cmd[k]; k++) {
			if (n + 1 >= sizeof(argv) / sizeof(argv[0])) {
				fprintf(stderr,
					"perfsight record: the command has too many arguments\n");
				return EXIT_USAGE;
			}
			argv[n++] = o->cmd[k];
		}
	}
	argv[n] = NULL;
	if (o->cmd)
		set_perf_support(o);
	else
		fprintf(stderr,
			"perfsight record: running processes name their Python functions only if "
			"they were started with %s\n",
			o->perf_jit ? "-X perf_jit (or PYTHON_PERF_JIT_SUPPORT=1)"
				    : "-X perf (or PYTHONPERFSUPPORT=1)");
	if (got_signal)
		return EXIT_OK;
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "perfsight record: cannot fork: %s\n", strerror(errno));
		return EXIT_INTERNAL;
	}
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "perfsight record: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	perf_pid = pid;
	if (got_signal)
		kill(pid, SIGINT);
	if (o->cmd && o->duration > 0)
		alarm((unsigned)(o->duration + 0.999));
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			status = -1;
			break;
		}
	perf_pid = 0;
	alarm(0);
	/*
	 * perf ends a recording we stopped by re-raising a signal once its file is written: SIGINT,
	 * or the SIGTERM it sent the workload it started; finish_dir() reads the file to be sure
	 */
	if (got_signal && status != -1 && WIFSIGNALED(status) &&
	    (WTERMSIG(status) == SIGINT || WTERMSIG(status) == SIGTERM))
		return EXIT_OK;
	if (status == -1 || !WIFEXITED(status)) {
		fprintf(stderr, "perfsight record: perf ended abnormally\n");
		return EXIT_INTERNAL;
	}
	/* a stop we asked for (Ctrl-C, --duration) is success if perf wrote its file */
	if (WEXITSTATUS(status) == 127)
		return EXIT_INPUT;
	if (WEXITSTATUS(status) && !got_signal) {
		struct stat st;
		if (stat(data, &st) || st.st_size == 0) {
			fprintf(stderr, "perfsight record: perf record failed (exit %d)\n",
				WEXITSTATUS(status));
			return EXIT_INTERNAL;
		}
		fprintf(stderr, "perfsight record: the workload or perf exited with %d\n",
			WEXITSTATUS(status));
	}
	return EXIT_OK;
}

int cmd_record(int argc, char **argv)
{
	struct rec_opts o = {0};
	char data[4096], maps[4096], group[64];
	struct probe_ev pev[4];
	int rc, probes = 0;
	struct sigaction sa;
	rc = parse(argc, argv, &o);
	if (rc != EXIT_OK)
		return rc;
	/* from here on a signal must not skip the removal of the probes */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	snprintf(maps, sizeof(maps), "%s/maps", o.dir);
	if (mkdir_p(maps)) {
		fprintf(stderr, "perfsight record: cannot create %s: %s\n", maps, strerror(errno));
		return EXIT_INTERNAL;
	}
	snprintf(data, sizeof(data), "%s/perf.data", o.dir);
	snprintf(group, sizeof(group), "perfsight_%ld", (long)getpid());
	if (o.probes)
		probes = add_probes(&o, group, pev);
	rc = record(&o, data, pev, probes);
	if (probes)
		remove_probes(group);
	if (rc != EXIT_OK)
		return rc;
	rc = finish_dir(&o, data);
	if (rc == EXIT_OK)
		fprintf(stderr,
			"next: perfsight summary %s, or perfsight report %s -o report.html\n",
			o.dir, o.dir);
	return rc;
}
