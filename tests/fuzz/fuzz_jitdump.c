/*
 * fuzz_jitdump: a jit-PID.dump (jitdump.h) loaded, every region it kept read whole, and
 * looked up at its edges.
 */
#include "fuzz.h"
#include "jitdump.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pfs_jitdump *jd = NULL;
	struct pfs_diag d;
	struct pfs_err err;
	volatile uint8_t sink = 0;
	pfs_diag_init(&d);
	if (pfs_jitdump_load(&jd, fuzz_file("jit-1.dump", data, size), &d, &err) == 0) {
		for (size_t i = 0; i < pfs_jitdump_size(jd); i++) {
			const struct pfs_jitcode *c = pfs_jitdump_at(jd, i);
			/* every byte the struct hands out must be readable (ASan checks) */
			sink ^= (uint8_t)strlen(c->name);
			for (uint64_t k = 0; c->code && k < c->size; k++)
				sink ^= c->code[k];
			for (size_t k = 0; c->eh_frame && k < c->eh_frame_len + c->eh_frame_hdr_len;
			     k++)
				sink ^= c->eh_frame[k];
			(void)pfs_jitdump_find(jd, c->addr);
			(void)pfs_jitdump_find(jd, c->addr + c->size - 1);
			(void)pfs_jitdump_find(jd, c->addr + c->size);
		}
		(void)pfs_jitdump_machine(jd);
		(void)pfs_jitdump_pid(jd);
	}
	pfs_jitdump_free(jd);
	pfs_diag_release(&d);
	(void)sink;
	return 0;
}
