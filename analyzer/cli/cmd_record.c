/*
 * perfsight record: runs perf record with what the analysis needs (DWARF call graphs,
 * cpu-clock, sched_switch, switch events, optionally uprobes on CPython's GC and GIL functions),
 * then makes the directory self-contained: the CPython perf maps and, with --bundle, the ELF
 * files keyed by build-id.
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
    "usage: perfsight record [-o DIR] [--duration S] [-F HZ] [--probes] [--bundle]\n"
    "                        (-p PID[,PID...] | -- CMD [ARG...])\n"
    "\n"
    "Records a capture perfsight can analyze into DIR (default perfsight-capture):\n"
    "DIR/perf.data from 'perf record -F HZ --call-graph dwarf,16384 -e cpu-clock\n"
    "-e sched:sched_switch --switch-events', and DIR/maps/perf-PID.map, the Python function\n"
    "names CPython's perf trampoline wrote for each recorded process. For CMD, perfsight sets\n"
    "PYTHONPERFSUPPORT=1 (CPython 3.12+ then writes those maps) unless it is already set.\n"
    "\n"
    "  -o DIR         output directory (created; an existing perf.data in it is replaced)\n"
    "  -p PID,...     record these running processes (and the threads and children they start)\n"
    "  --duration S   stop after S seconds (default: when CMD exits, or Ctrl-C)\n"
    "  -F HZ          sampling frequency (default 499)\n"
    "  --probes       add uprobes on the target's libpython: the GC collector's entry and\n"
    "                 return (exact GC pauses) and take_gil's (exact GIL waits); they are\n"
    "                 removed afterwards, also on Ctrl-C, SIGTERM and SIGHUP\n"
    "  --bundle       copy the ELF files the capture hit into DIR/.build-id/ (symbols and\n"
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
	unsigned freq;
	bool probes, bundle;
};

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
 * discarded unless show_err. Returns the exit status, or -1 when it could not run.
 */
static int run(const char *const *argv, char *out, size_t len, bool show_err)
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
		if (!show_err && null >= 0)
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

/* The libpython a command will load: ldd's answer, else the binary itself if it is python. */
static bool lib_from_command(const char *cmd, char *lib, size_t len)
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

/* Adds GROUP:FN=FN and its return probe; true when both are in place. */
static bool add_probe_pair(const char *group, const char *lib, const char *fn)
{
	char e1[256], e2[256];
	const char *add[] = {perf_bin(), "probe", "-q", "-x", lib, "-a", e1, "-a", e2, NULL};
	snprintf(e1, sizeof(e1), "%s:%s=%s", group, fn, fn);
	/* perf names a return probe EVENT__return itself */
	snprintf(e2, sizeof(e2), "%s:%s=%s%%return", group, fn, fn);
	return run(add, NULL, 0, false) == 0;
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

/* Returns how many probe pairs were added (0: none, and nothing left to remove). */
static int add_probes(const struct rec_opts *o, const char *group)
{
	char lib[4096];
	struct pfs_pyver v;
	const char *const *gc;
	int n = 0;
	bool found = o->pids ? false : lib_from_command(o->cmd[0], lib, sizeof(lib));
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
	for (; *gc; gc++)
		if (add_probe_pair(group, lib, *gc)) {
			n++;
			break;
		}
	if (!*gc)
		fprintf(stderr,
			"perfsight record: --probes: no GC collector function to probe in %s\n",
			lib);
	if (add_probe_pair(group, lib, "take_gil"))
		n++;
	else
		fprintf(stderr, "perfsight record: --probes: cannot probe take_gil in %s\n", lib);
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

/* Copies maps and (bundle) ELF files; returns 0 or an exit code. */
static int finish_dir(const struct rec_opts *o, const char *data)
{
	struct pfs_reader *r;
	struct pfs_record rec;
	struct pfs_err err;
	struct pidset pids = {0};
	char src[4200], dst[4200];
	int rc, copied = 0;
	if (pfs_reader_open(&r, data, NULL, &err) < 0)
		return cli_fail(data, &err);
	while ((rc = pfs_reader_next(r, &rec, &err)) == 1) {
		if (rec.type == PFS_REC_SAMPLE && (rec.sid.has & PFS_S_TID))
			pidset_add(&pids, rec.sid.pid);
		else if (rec.type == PFS_REC_COMM)
			pidset_add(&pids, rec.u.comm.pid);
		else if (rec.type == PFS_REC_FORK)
			pidset_add(&pids, rec.u.task.pid);
	}
	if (rc < 0) {
		cli_fail(data, &err);
		pfs_reader_close(r);
		free(pids.v);
		return EXIT_INPUT;
	}
	for (size_t i = 0; i < pids.n; i++) {
		snprintf(src, sizeof(src), "/tmp/perf-%u.map", pids.v[i]);
		snprintf(dst, sizeof(dst), "%s/maps/perf-%u.map", o->dir, pids.v[i]);
		if (access(src, R_OK) == 0) {
			if (copy_file(src, dst) == 0)
				copied++;
			else
				fprintf(stderr, "perfsight record: cannot copy %s to %s: %s\n", src,
					dst, strerror(errno));
		}
	}
	fprintf(stderr, "perfsight record: %s, %d Python perf map%s copied\n", data, copied,
		copied == 1 ? "" : "s");
	if (o->bundle) {
		const struct pfs_info *info = pfs_reader_info(r);
		int n = 0;
		snprintf(dst, sizeof(dst), "%s/build-ids.txt", o->dir);
		FILE *list = fopen(dst, "w");
		for (size_t i = 0; i < info->n_build_ids; i++) {
			const struct pfs_build_id *b = &info->build_ids[i];
			char hex[41];
			if (!b->filename || b->filename[0] != '/' || !b->size || b->size > 20)
				continue;
			for (unsigned k = 0; k < b->size; k++)
				snprintf(hex + 2 * k, 3, "%02x", b->id[k]);
			snprintf(dst, sizeof(dst), "%s/.build-id/%.2s", o->dir, hex);
			mkdir_p(dst);
			snprintf(dst, sizeof(dst), "%s/.build-id/%.2s/%s", o->dir, hex, hex + 2);
			if (copy_file(b->filename, dst) == 0) {
				n++;
				if (list)
					fprintf(list, "%s %s\n", hex, b->filename);
			} else {
				fprintf(stderr, "perfsight record: --bundle: cannot copy %s: %s\n",
					b->filename, strerror(errno));
			}
		}
		if (list)
			fclose(list);
		fprintf(stderr, "perfsight record: %d ELF file%s bundled under %s/.build-id\n", n,
			n == 1 ? "" : "s", o->dir);
	}
	pfs_reader_close(r);
	free(pids.v);
	return EXIT_OK;
}

static int parse(int argc, char **argv, struct rec_opts *o)
{
	const struct cli_cmd *self = cli_find("record");
	int i;
	o->dir = "perfsight-capture";
	o->freq = 499;
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
		} else if (!strcmp(a, "--probes")) {
			o->probes = true;
		} else if (!strcmp(a, "--bundle")) {
			o->bundle = true;
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

static int record(const struct rec_opts *o, const char *data, const char *group, bool probes)
{
	char freq[32], secs[64], evgroup[160];
	const char *argv[64 + 256];
	size_t n = 0;
	int status;
	pid_t pid;
	snprintf(freq, sizeof(freq), "%u", o->freq);
	snprintf(evgroup, sizeof(evgroup), "%s:*", group);
	argv[n++] = perf_bin();
	argv[n++] = "record";
	argv[n++] = "-q";
	argv[n++] = "-o";
	argv[n++] = data;
	argv[n++] = "-F";
	argv[n++] = freq;
	argv[n++] = "--call-graph";
	argv[n++] = "dwarf,16384";
	argv[n++] = "-e";
	argv[n++] = "cpu-clock";
	argv[n++] = "-e";
	argv[n++] = "sched:sched_switch";
	argv[n++] = "--switch-events";
	if (probes) {
		argv[n++] = "-e";
		argv[n++] = evgroup;
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
		setenv("PYTHONPERFSUPPORT", "1", 0);
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
	/* perf ends a recording we stopped by re-raising SIGINT once its file is written */
	if (got_signal && status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGINT)
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
		probes = add_probes(&o, group);
	rc = record(&o, data, group, probes > 0);
	if (probes)
		remove_probes(group);
	if (rc != EXIT_OK)
		return rc;
	return finish_dir(&o, data);
}
