/*
 * fuzz_folded: folded stacks as `perfsight flamegraph FILE|-` reads them (folded.h, into the
 * flame graph's tree), and the same text as a capture (pyprof's folded loader) when detection
 * takes it for one.
 */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pfs_capture_opts o = {0};
	fuzz_fold_read((const char *)data, size);
	fuzz_capture_path(fuzz_file("stacks.folded", data, size), &o);
	return 0;
}
