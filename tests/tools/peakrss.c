/*
 * peakrss: runs a command and says what it cost, for the tests that bound memory (hostile
 * sizes, the fuzz findings): its peak resident set, wall time and how it ended.
 *
 *     peakrss [-t SECONDS] -- CMD ARGS...
 *
 * Prints one line to stderr after the command's own output: "peakrss: rc=N rss_kb=N secs=F"
 * (rc is the exit status, 128 + the signal for a signal, 124 when killed after SECONDS), and
 * exits with rc. Standard input, output and error are the command's. The peak is the child's
 * ru_maxrss (getrusage of the waited child, as GNU time's %M), so it counts the command only.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double limit = 0, t0;
	int i = 1, status = 0, rc, timed_out = 0;
	struct rusage ru;
	pid_t pid;
	if (i + 1 < argc && !strcmp(argv[i], "-t")) {
		limit = atof(argv[i + 1]);
		i += 2;
	}
	if (i < argc && !strcmp(argv[i], "--"))
		i++;
	if (i >= argc) {
		fprintf(stderr, "usage: peakrss [-t SECONDS] -- CMD ARGS...\n");
		return 2;
	}
	t0 = now();
	pid = fork();
	if (pid < 0) {
		perror("peakrss: fork");
		return 2;
	}
	if (pid == 0) {
		execvp(argv[i], argv + i);
		fprintf(stderr, "peakrss: cannot run %s: %s\n", argv[i], strerror(errno));
		_exit(127);
	}
	for (;;) {
		pid_t w = wait4(pid, &status, limit > 0 ? WNOHANG : 0, &ru);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			perror("peakrss: wait");
			return 2;
		}
		if (limit > 0 && now() - t0 > limit && !timed_out) {
			kill(pid, SIGKILL);
			timed_out = 1;
		}
		if (limit > 0)
			usleep(10000);
	}
	rc = timed_out ? 124 : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
	fprintf(stderr, "peakrss: rc=%d rss_kb=%ld secs=%.2f\n", rc, ru.ru_maxrss, now() - t0);
	return rc;
}
