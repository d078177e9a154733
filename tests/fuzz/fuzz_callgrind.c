/*
 * fuzz_callgrind: the callgrind reader (callgrind.h) on the input as a callgrind file, then
 * what every command does with the graph (fuzz_cg.h).
 */
#include "fuzz_cg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_cg_run(pfs_callgrind_parse, data, size);
}
