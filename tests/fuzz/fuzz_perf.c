/*
 * fuzz_perf: the perf.data reader and everything after it (ingest, procmap, symbols, the
 * tracepoints, the Python analysis, the views, the report data and the folded export): the
 * input as a file (mmapped: file mode, pipe mode, compressed records and the feature
 * sections), and, when its header is a pipe header, once more through a pipe, as `perfsight
 * info -` reads it from a pipeline (the stream window, records that arrive in pieces).
 */
#include <pthread.h>
#include <signal.h>

#include "fuzz.h"

struct feeder {
	int fd;
	const uint8_t *data;
	size_t size;
};

static void *feed(void *arg)
{
	struct feeder *f = arg;
	size_t done = 0;
	while (done < f->size) {
		ssize_t k = write(f->fd, f->data + done, f->size - done);
		if (k <= 0)
			break; /* the reader stopped reading: EPIPE */
		done += (size_t)k;
	}
	close(f->fd);
	return NULL;
}

static bool pipe_header(const uint8_t *data, size_t size)
{
	static const uint8_t le[16] = {'P', 'E', 'R', 'F', 'I', 'L', 'E', '2', 16};
	static const uint8_t be[16] = {'2', 'E', 'L', 'I', 'F', 'R', 'E', 'P',
				       0,   0,	 0,   0,   0,	0,   0,	  16};
	return size >= 16 && (!memcmp(data, le, 16) || !memcmp(data, be, 16));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char none[300], kallsyms[300];
	struct pfs_capture_opts o = {.analysis = true, .timeline = true};
	int fds[2], saved;
	pthread_t th;
	struct feeder f;

	/* no binary, JIT map or kernel symbol of this machine takes part */
	snprintf(none, sizeof(none), "%s/none", fuzz_dir());
	snprintf(kallsyms, sizeof(kallsyms), "%s/none/kallsyms", fuzz_dir());
	o.ingest.symfs = none;
	o.ingest.jit_maps = none;
	o.ingest.kallsyms = kallsyms;
	/* no binary of this machine takes part (fast, and the same everywhere), but for one input
	 * in eight: those are unwound and named with the binaries the fixtures map (CPython, libc)
	 * where they exist here, as `perfsight collapse` does */
	o.ingest.symfs_only = size % 8 != 0;
	fuzz_capture_path(fuzz_file("perf.data", data, size), &o);
	if (!pipe_header(data, size))
		return 0;
	signal(SIGPIPE, SIG_IGN);
	if (pipe(fds) != 0)
		abort();
	f = (struct feeder){.fd = fds[1], .data = data, .size = size};
	if (pthread_create(&th, NULL, feed, &f) != 0)
		abort();
	/* "-" is standard input: the pipe stands in for it while the capture loads */
	if ((saved = dup(STDIN_FILENO)) < 0 || dup2(fds[0], STDIN_FILENO) < 0)
		abort();
	close(fds[0]);
	fuzz_capture_path("-", &o);
	if (dup2(saved, STDIN_FILENO) < 0)
		abort();
	close(saved);
	pthread_join(th, NULL);
	return 0;
}
