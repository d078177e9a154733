/*
 * procmap: processes and their address spaces over time, rebuilt from the side-band records
 * of a capture: COMM (names; exec), FORK, EXIT, MMAP and MMAP2.
 *
 * Records are applied in the order the reader releases them (time order), so the state at any
 * moment is the state "as of" the last record applied: a sample resolves against the maps of
 * its process at its time by being looked up when it is read. Rules, as the kernel behaves:
 *  1. A new mapping replaces whatever it overlaps (older mappings are cut or dropped).
 *  2. FORK of a new process (pid != ppid) copies the parent's maps; a FORK inside a process
 *     (a new thread) changes nothing here. A pid seen again after its EXIT starts afresh.
 *  3. COMM with the exec flag empties the address space: the new image's mmaps follow it.
 *  4. Kernel mappings (MMAP with pid -1, "[kernel.kallsyms]_text" and modules) live in one
 *     kernel space, pfs_procmap_kernel().
 *  5. Each change to a process's maps bumps its gen, so caches built from the maps (the
 *     symbolizer's Dwfl) know when to rebuild. EXIT of a process releases them (its maps stay,
 *     for samples that arrive after it).
 *
 * File names are interned in the caller's profile (struct pfs_map.name is a string id), so
 * every later stage can key on it. Ownership: pfs_procmap_new() / pfs_procmap_free(); struct
 * pfs_proc pointers stay valid until the free (processes are never removed). Per-process data
 * of other modules hangs off pfs_proc.sym and is released through the hook given to _new.
 */
#ifndef PFS_PROCMAP_H
#define PFS_PROCMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "perfdata.h"
#include "profile.h"

#define PFS_KERNEL_PID UINT32_MAX

struct pfs_map {
	uint64_t start, end; /* [start, end) */
	uint64_t pgoff;	     /* file offset of start; for the kernel _text map, its address */
	uint32_t name;	     /* string id of the file name as recorded */
	uint32_t prot;	     /* PROT_* when MMAP2 said, else PROT_EXEC assumed for MMAP */
	uint8_t build_id[20];
	uint8_t build_id_size; /* 0 when the record carried none */
	bool anon;	       /* no file behind it: //anon, [heap], [anon:...], memfd, ... */
};

struct pfs_proc {
	uint32_t pid, ppid; /* ppid 0 when unknown */
	uint32_t comm;	    /* string id of the last name of the main thread, 0 if none */
	uint32_t exec_comm; /* string id of the name given at the last exec, 0 if none */
	bool exited;
	struct pfs_map *maps; /* sorted by start, non-overlapping */
	size_t n_maps, cap_maps;
	uint32_t gen; /* bumped on every change of maps (rule 5) */
	void *sym;    /* owned by the symbolizer; released with the hook */
	void *jit;    /* the symbolizer's cached JIT map lookup */
	bool jit_loaded;
	const void *jitdump; /* the symbolizer's cached jitdump lookup */
	bool jitdump_loaded;
};

struct pfs_procmap;

/* release(sym) is called for every non-NULL pfs_proc.sym when the process is reset or freed. */
struct pfs_procmap *pfs_procmap_new(struct pfs_profile *prof, void (*release)(void *sym));
void pfs_procmap_free(struct pfs_procmap *pm);

/*
 * Applies one side-band record (COMM, FORK, EXIT, MMAP, MMAP2); other types are ignored.
 * Returns true when the record changed the state.
 */
bool pfs_procmap_apply(struct pfs_procmap *pm, const struct pfs_record *rec);

/* Direct forms of the above, used by apply and by tests. */
void pfs_procmap_mmap(struct pfs_procmap *pm, uint32_t pid, const struct pfs_map *m);
void pfs_procmap_fork(struct pfs_procmap *pm, uint32_t pid, uint32_t ppid);
void pfs_procmap_exec(struct pfs_procmap *pm, uint32_t pid, uint32_t comm);

/* The process pid, created empty on first mention. */
struct pfs_proc *pfs_procmap_proc(struct pfs_procmap *pm, uint32_t pid);
/* The process pid or NULL. */
struct pfs_proc *pfs_procmap_find(const struct pfs_procmap *pm, uint32_t pid);
/* The kernel's address space (rule 4). */
struct pfs_proc *pfs_procmap_kernel(struct pfs_procmap *pm);
/* The mapping holding addr in p, or NULL. */
const struct pfs_map *pfs_proc_map_at(const struct pfs_proc *p, uint64_t addr);

/* True for names the kernel gives mappings with no file ("//anon", "[heap]", ...). */
bool pfs_map_name_is_anon(const char *name);

#endif
