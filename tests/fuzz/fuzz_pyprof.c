/*
 * fuzz_pyprof: the profiler dumps pyprof reads, told apart by content as every command tells
 * them (pyinstrument .pyisession, renderer JSON and HTML pages with the data embedded,
 * speedscope sampled and evented, folded stacks), then what the commands do with the profile
 * (fuzz.h). The first input byte picks the file name's suffix, which detection does not read
 * but labels do.
 */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {"p.pyisession", "p.json", "p.html", "p.folded"};
	struct pfs_capture_opts o = {.analysis = true, .timeline = true};
	const char *name = names[size ? data[0] % 4 : 0];
	if (size)
		data++, size--;
	fuzz_capture_path(fuzz_file(name, data, size), &o);
	return 0;
}
