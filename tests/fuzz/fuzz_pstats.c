/*
 * fuzz_pstats: the pstats reader (pstats.h: marshal to call graph) on the input as a dump,
 * then what every command does with the graph (fuzz_cg.h).
 */
#include "fuzz_cg.h"
#include "pstats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_cg_run(pfs_pstats_parse, data, size);
}
