#include "procmap.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "xalloc.h"

struct pfs_procmap {
	struct pfs_profile *prof;
	void (*release)(void *sym);
	/* open addressing on pid; slots hold indexes + 1 into procs */
	uint32_t *slots;
	size_t n_slots;
	struct pfs_proc **procs;
	size_t n_procs, cap_procs;
	struct pfs_proc *kernel;
};

static size_t pid_hash(uint32_t pid)
{
	return (size_t)(pid * 2654435761u);
}

struct pfs_procmap *pfs_procmap_new(struct pfs_profile *prof, void (*release)(void *sym))
{
	struct pfs_procmap *pm = pfs_xcalloc(1, sizeof(*pm));
	pm->prof = prof;
	pm->release = release;
	pm->n_slots = 64;
	pm->slots = pfs_xcalloc(pm->n_slots, sizeof(*pm->slots));
	pm->kernel = pfs_xcalloc(1, sizeof(*pm->kernel));
	pm->kernel->pid = PFS_KERNEL_PID;
	return pm;
}

static void proc_free(struct pfs_procmap *pm, struct pfs_proc *p)
{
	if (p->sym && pm->release)
		pm->release(p->sym);
	free(p->maps);
	free(p);
}

void pfs_procmap_free(struct pfs_procmap *pm)
{
	if (!pm)
		return;
	for (size_t i = 0; i < pm->n_procs; i++)
		proc_free(pm, pm->procs[i]);
	proc_free(pm, pm->kernel);
	free(pm->procs);
	free(pm->slots);
	free(pm);
}

struct pfs_proc *pfs_procmap_find(const struct pfs_procmap *pm, uint32_t pid)
{
	if (pid == PFS_KERNEL_PID)
		return pm->kernel;
	for (size_t h = pid_hash(pid) & (pm->n_slots - 1);; h = (h + 1) & (pm->n_slots - 1)) {
		uint32_t s = pm->slots[h];
		if (!s)
			return NULL;
		if (pm->procs[s - 1]->pid == pid)
			return pm->procs[s - 1];
	}
}

static void rehash(struct pfs_procmap *pm)
{
	free(pm->slots);
	pm->n_slots *= 2;
	pm->slots = pfs_xcalloc(pm->n_slots, sizeof(*pm->slots));
	for (size_t i = 0; i < pm->n_procs; i++) {
		size_t h = pid_hash(pm->procs[i]->pid) & (pm->n_slots - 1);
		while (pm->slots[h])
			h = (h + 1) & (pm->n_slots - 1);
		pm->slots[h] = (uint32_t)(i + 1);
	}
}

struct pfs_proc *pfs_procmap_proc(struct pfs_procmap *pm, uint32_t pid)
{
	struct pfs_proc *p = pfs_procmap_find(pm, pid);
	if (p)
		return p;
	if ((pm->n_procs + 1) * 2 > pm->n_slots)
		rehash(pm);
	p = pfs_xcalloc(1, sizeof(*p));
	p->pid = pid;
	PFS_GROW(pm->procs, pm->cap_procs, pm->n_procs + 1);
	pm->procs[pm->n_procs++] = p;
	size_t h = pid_hash(pid) & (pm->n_slots - 1);
	while (pm->slots[h])
		h = (h + 1) & (pm->n_slots - 1);
	pm->slots[h] = (uint32_t)pm->n_procs;
	return p;
}

struct pfs_proc *pfs_procmap_kernel(struct pfs_procmap *pm)
{
	return pm->kernel;
}

/* Index of the first map whose end is above addr. */
static size_t first_above(const struct pfs_proc *p, uint64_t addr)
{
	size_t lo = 0, hi = p->n_maps;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->maps[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct pfs_map *pfs_proc_map_at(const struct pfs_proc *p, uint64_t addr)
{
	size_t i = first_above(p, addr);
	if (i < p->n_maps && p->maps[i].start <= addr)
		return &p->maps[i];
	return NULL;
}

static void insert_map(struct pfs_proc *p, const struct pfs_map *m)
{
	/* rule 1: cut what the new mapping overlaps; a map spanning it is split in two */
	size_t i = first_above(p, m->start);
	struct pfs_map keep[2];
	size_t n_keep = 0, j = i;
	for (; j < p->n_maps && p->maps[j].start < m->end; j++) {
		const struct pfs_map *o = &p->maps[j];
		if (o->start < m->start) {
			keep[n_keep] = *o;
			keep[n_keep++].end = m->start;
		}
		if (o->end > m->end) {
			keep[n_keep] = *o;
			keep[n_keep].start = m->end;
			if (!o->anon)
				keep[n_keep].pgoff += m->end - o->start;
			n_keep++;
		}
	}
	size_t removed = j - i, added = n_keep + 1;
	PFS_GROW(p->maps, p->cap_maps, p->n_maps - removed + added);
	memmove(&p->maps[i + added], &p->maps[j], (p->n_maps - j) * sizeof(*p->maps));
	p->n_maps = p->n_maps - removed + added;
	size_t w = i;
	for (size_t k = 0; k < n_keep; k++)
		if (keep[k].start < m->start)
			p->maps[w++] = keep[k];
	p->maps[w++] = *m;
	for (size_t k = 0; k < n_keep; k++)
		if (keep[k].start >= m->end)
			p->maps[w++] = keep[k];
	p->gen++;
}

void pfs_procmap_mmap(struct pfs_procmap *pm, uint32_t pid, const struct pfs_map *m)
{
	if (m->end <= m->start)
		return;
	insert_map(pfs_procmap_proc(pm, pid), m);
}

static void reset_maps(struct pfs_procmap *pm, struct pfs_proc *p)
{
	p->n_maps = 0;
	p->gen++;
	if (p->sym && pm->release)
		pm->release(p->sym);
	p->sym = NULL;
	p->jit = NULL;
	p->jit_loaded = false;
	p->jitdump = NULL;
	p->jitdump_loaded = false;
}

void pfs_procmap_fork(struct pfs_procmap *pm, uint32_t pid, uint32_t ppid)
{
	if (pid == ppid)
		return;
	struct pfs_proc *c = pfs_procmap_proc(pm, pid);
	struct pfs_proc *par = pfs_procmap_find(pm, ppid);
	reset_maps(pm, c);
	c->exited = false;
	c->ppid = ppid;
	c->exec_comm = 0;
	if (!par)
		return;
	c->comm = par->comm;
	if (!par->n_maps)
		return;
	PFS_GROW(c->maps, c->cap_maps, par->n_maps);
	memcpy(c->maps, par->maps, par->n_maps * sizeof(*c->maps));
	c->n_maps = par->n_maps;
}

void pfs_procmap_exec(struct pfs_procmap *pm, uint32_t pid, uint32_t comm)
{
	struct pfs_proc *p = pfs_procmap_proc(pm, pid);
	reset_maps(pm, p);
	p->exec_comm = comm;
	p->comm = comm;
}

bool pfs_map_name_is_anon(const char *name)
{
	if (!name[0] || name[0] == '[')
		return true;
	if (!strncmp(name, "//anon", 6) || !strncmp(name, "/dev/zero", 9) ||
	    !strncmp(name, "/memfd:", 7) || !strncmp(name, "/SYSV", 5) ||
	    !strncmp(name, "/anon_hugepage", 14))
		return true;
	return false;
}

static void from_record(struct pfs_procmap *pm, const struct pfs_record *rec, struct pfs_map *m)
{
	const struct pfs_rec_mmap *r = &rec->u.mmap;
	memset(m, 0, sizeof(*m));
	m->start = r->start;
	m->end = r->start + r->len < r->start ? UINT64_MAX : r->start + r->len;
	m->pgoff = r->pgoff;
	const char *fn = r->filename ? r->filename : "";
	m->name = pfs_profile_cstr(pm->prof, fn);
	m->prot = rec->type == PFS_REC_MMAP2 ? r->prot : PROT_EXEC;
	m->anon = pfs_map_name_is_anon(fn);
	if (r->build_id_size) {
		m->build_id_size = r->build_id_size > 20 ? 20 : r->build_id_size;
		memcpy(m->build_id, r->build_id, m->build_id_size);
	}
}

bool pfs_procmap_apply(struct pfs_procmap *pm, const struct pfs_record *rec)
{
	switch (rec->type) {
	case PFS_REC_MMAP:
	case PFS_REC_MMAP2: {
		struct pfs_map m;
		from_record(pm, rec, &m);
		uint16_t mode = rec->misc & PFS_MISC_CPUMODE_MASK;
		if (rec->u.mmap.pid == UINT32_MAX || mode == PFS_MISC_KERNEL ||
		    mode == PFS_MISC_GUEST_KERNEL) {
			m.anon = false;
			insert_map(pm->kernel, &m);
		} else {
			pfs_procmap_mmap(pm, rec->u.mmap.pid, &m);
		}
		return true;
	}
	case PFS_REC_COMM: {
		const struct pfs_rec_comm *c = &rec->u.comm;
		uint32_t name = pfs_profile_cstr(pm->prof, c->comm ? c->comm : "");
		if (c->exec) {
			pfs_procmap_exec(pm, c->pid, name);
		} else if (c->pid == c->tid) {
			pfs_procmap_proc(pm, c->pid)->comm = name;
		}
		return true;
	}
	case PFS_REC_FORK:
		pfs_procmap_fork(pm, rec->u.task.pid, rec->u.task.ppid);
		return true;
	case PFS_REC_EXIT:
		if (rec->u.task.pid == rec->u.task.tid) {
			struct pfs_proc *p = pfs_procmap_proc(pm, rec->u.task.pid);
			p->exited = true;
			/* its maps stay for stragglers; what was built from them can go */
			if (p->sym && pm->release)
				pm->release(p->sym);
			p->sym = NULL;
		}
		return true;
	default:
		return false;
	}
}
