/*
 * fuzz_db: a perfsight database read back (store.h through capture.h), as `summary`, `report`
 * and `info` read one that someone else wrote: tampered pages, rows or schema. The input is
 * the database file itself; the seeds are small real imports.
 */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* as summary, report, and report with a stored report load it */
	struct pfs_capture_opts s = {.analysis = true, .agg_without_analysis = true};
	struct pfs_capture_opts r = {.analysis = true, .timeline = true};
	struct pfs_capture_opts rs = {.analysis = true, .timeline = true, .stored_report = true};
	const char *path = fuzz_file("p.db", data, size);
	char side[600];
	fuzz_capture_path(path, &s);
	fuzz_capture_path(path, &r);
	fuzz_capture_path(path, &rs);
	/* a reader may leave a -wal or -shm beside the file: start the next input clean */
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
	return 0;
}
