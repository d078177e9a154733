/*
 * fuzz_tpevent: the tracing-data blob of a capture (HEADER_TRACING_DATA, the tracepoint
 * formats) parsed by tpevent.h through libtraceevent, then every event it parsed decoding a
 * sample payload: the tail of the input after the blob's own length. The first 4 input bytes
 * say where the blob ends (little-endian), the rest is blob then payload.
 */
#include "fuzz.h"
#include "tpevent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pfs_tpevent *t = NULL;
	struct pfs_diag d;
	struct pfs_err err;
	uint32_t blob_len;
	const uint8_t *raw;
	size_t raw_len;
	FILE *null;
	if (size < 4)
		return 0;
	blob_len = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
		   (uint32_t)data[3] << 24;
	data += 4, size -= 4;
	if (blob_len > size)
		blob_len = (uint32_t)size;
	raw = data + blob_len;
	raw_len = size - blob_len;
	pfs_diag_init(&d);
	if (!(null = fopen("/dev/null", "w")))
		abort();
	if (pfs_tpevent_open(&t, data, blob_len, &d, &err) == 0) {
		size_t n = pfs_tpevent_n_events(t);
		int64_t sw = pfs_tpevent_id(t, "sched", "sched_switch");
		/* the ids the formats declared: common ones, and whatever the payload says */
		uint64_t ids[4] = {(uint64_t)sw, 1, 372,
				   raw_len >= 2 ? (uint64_t)(raw[0] | raw[1] << 8) : 0};
		for (size_t i = 0; i < 4 && n; i++) {
			struct pfs_tp_switch s;
			uint64_t v;
			char buf[64];
			int rc = 0;
			(void)pfs_tpevent_name(t, ids[i]);
			rc |= pfs_tpevent_switch(t, ids[i], raw, raw_len, &s, &err);
			rc |= pfs_tpevent_u64(t, ids[i], raw, raw_len, "common_pid", &v, &err);
			rc |= pfs_tpevent_str(t, ids[i], raw, raw_len, "prev_comm", buf,
					      sizeof(buf), &err);
			rc |= pfs_tpevent_fields_json(t, ids[i], raw, raw_len, null, &err);
			(void)rc;
		}
	}
	fclose(null);
	pfs_tpevent_close(t);
	pfs_diag_release(&d);
	return 0;
}
