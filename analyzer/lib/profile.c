#include "profile.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/*
 * Interning uses one open-addressing table per kind of object, 8 bytes a slot (a million call
 * paths and their views fill millions of slots): the id (0 = empty) and the upper half of the
 * key's hash, which filters the probes before contents are compared; the lower half places the
 * entry and is recomputed from it when the table grows. Objects live in dense arrays indexed
 * by id.
 */
struct islot {
	uint32_t id; /* 0 = empty */
	uint32_t tag;
};

struct pfs_profile;
typedef uint64_t (*hash_fn)(const struct pfs_profile *p, uint32_t id);

struct itab {
	struct islot *slots;
	size_t cap; /* power of two */
	size_t n;
	hash_fn hash_of; /* the hash of entry id */
};

struct strrec {
	const char *s; /* NUL-terminated, in a pool chunk */
	size_t len;
};

/*
 * A small direct-mapped cache of call-path edges in front of the path table: stacks repeat
 * their hot edges, and a table of a million paths misses the CPU caches on every probe.
 */
#define EDGE_SLOTS (1u << 15)

struct edge {
	uint32_t parent, frame, child;
};

/* Strings never move once interned (getters hand out pointers): the pool grows by chunks. */
#define POOL_CHUNK (64u << 10)

struct pfs_profile {
	char **chunks;
	size_t n_chunks, cap_chunks;
	size_t chunk_used, chunk_size; /* of the last chunk */
	struct strrec *strs;	       /* index id; [0] is "" */
	size_t n_strs, cap_strs;
	struct itab str_tab;

	struct pfs_frame *frames; /* index id; [0] unused */
	size_t n_frames, cap_frames;
	struct itab frame_tab;

	struct pfs_path_node *paths; /* index id; [0] is the root */
	size_t n_paths, cap_paths;
	struct itab path_tab;
	struct edge *edges; /* EDGE_SLOTS recently used (parent, frame) -> child, 0 = empty */

	struct pfs_event *events;
	size_t n_events, cap_events;

	struct pfs_thread *threads;
	size_t n_threads, cap_threads;
	struct itab thread_tab;

	struct pfs_process *procs;
	size_t n_procs, cap_procs;
	struct itab proc_tab;
};

static uint64_t mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

static uint64_t hash_bytes(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ len;
	while (len >= 8) {
		uint64_t v;
		memcpy(&v, s, 8);
		h = mix64(h ^ v);
		s += 8;
		len -= 8;
	}
	if (len) {
		uint64_t v = 0;
		memcpy(&v, s, len);
		h = mix64(h ^ v ^ 0x5bd1e995u);
	}
	return h;
}

static void itab_grow(const struct pfs_profile *p, struct itab *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 1024;
	struct islot *slots = pfs_xcalloc(ncap, sizeof(*slots));
	for (size_t i = 0; i < t->cap; i++) {
		size_t j;
		if (!t->slots[i].id)
			continue;
		j = t->hash_of(p, t->slots[i].id) & (ncap - 1);
		while (slots[j].id)
			j = (j + 1) & (ncap - 1);
		slots[j] = t->slots[i];
	}
	free(t->slots);
	t->slots = slots;
	t->cap = ncap;
}

/* Finds the slot for hash h: returns the id whose contents eq() accepts, or 0 and the empty
 * slot to fill in *slot. */
typedef int (*eq_fn)(const struct pfs_profile *p, uint32_t id, const void *key);

static uint32_t itab_find(const struct pfs_profile *p, struct itab *t, uint64_t h, eq_fn eq,
			  const void *key, size_t *slot)
{
	size_t j;
	uint32_t tag = (uint32_t)(h >> 32);
	if ((t->n + 1) * 4 > t->cap * 3)
		itab_grow(p, t);
	j = h & (t->cap - 1);
	while (t->slots[j].id) {
		if (t->slots[j].tag == tag && eq(p, t->slots[j].id, key))
			return t->slots[j].id;
		j = (j + 1) & (t->cap - 1);
	}
	*slot = j;
	return 0;
}

static void itab_put(struct itab *t, size_t slot, uint64_t h, uint32_t id)
{
	t->slots[slot].id = id;
	t->slots[slot].tag = (uint32_t)(h >> 32);
	t->n++;
}

static void itab_release(struct itab *t)
{
	free(t->slots);
}

static uint64_t str_hash_of(const struct pfs_profile *p, uint32_t id);
static uint64_t frame_hash_of(const struct pfs_profile *p, uint32_t id);
static uint64_t path_hash_of(const struct pfs_profile *p, uint32_t id);
static uint64_t thread_hash_of(const struct pfs_profile *p, uint32_t id);
static uint64_t proc_hash_of(const struct pfs_profile *p, uint32_t id);

struct pfs_profile *pfs_profile_new(void)
{
	struct pfs_profile *p = pfs_xcalloc(1, sizeof(*p));
	PFS_GROW(p->strs, p->cap_strs, 1);
	p->strs[0].s = "";
	p->strs[0].len = 0;
	p->n_strs = 1;
	PFS_GROW(p->frames, p->cap_frames, 1);
	memset(&p->frames[0], 0, sizeof(p->frames[0]));
	p->n_frames = 1;
	PFS_GROW(p->paths, p->cap_paths, 1);
	memset(&p->paths[0], 0, sizeof(p->paths[0]));
	p->n_paths = 1;
	p->str_tab.hash_of = str_hash_of;
	p->frame_tab.hash_of = frame_hash_of;
	p->path_tab.hash_of = path_hash_of;
	p->thread_tab.hash_of = thread_hash_of;
	p->proc_tab.hash_of = proc_hash_of;
	return p;
}

void pfs_profile_free(struct pfs_profile *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_chunks; i++)
		free(p->chunks[i]);
	free(p->chunks);
	free(p->strs);
	itab_release(&p->str_tab);
	free(p->frames);
	itab_release(&p->frame_tab);
	free(p->paths);
	itab_release(&p->path_tab);
	free(p->edges);
	free(p->events);
	free(p->threads);
	itab_release(&p->thread_tab);
	free(p->procs);
	itab_release(&p->proc_tab);
	free(p);
}

struct strkey {
	const char *s;
	size_t len;
};

static int str_eq(const struct pfs_profile *p, uint32_t id, const void *key)
{
	const struct strkey *k = key;
	return p->strs[id].len == k->len && !memcmp(p->strs[id].s, k->s, k->len);
}

/* Room for n bytes that will not move: in the last chunk, else in a new one. */
static char *pool_alloc(struct pfs_profile *p, size_t n)
{
	if (!p->n_chunks || p->chunk_size - p->chunk_used < n) {
		size_t size = n > POOL_CHUNK ? n : POOL_CHUNK;
		PFS_GROW(p->chunks, p->cap_chunks, p->n_chunks + 1);
		p->chunks[p->n_chunks++] = pfs_xmalloc(size);
		p->chunk_size = size;
		p->chunk_used = 0;
	}
	p->chunk_used += n;
	return p->chunks[p->n_chunks - 1] + p->chunk_used - n;
}

static uint64_t str_hash_of(const struct pfs_profile *p, uint32_t id)
{
	return hash_bytes(p->strs[id].s, p->strs[id].len);
}

uint32_t pfs_profile_str(struct pfs_profile *p, const char *s, size_t len)
{
	struct strkey k = {s, len};
	uint64_t h = hash_bytes(s, len);
	size_t slot = 0;
	uint32_t id = itab_find(p, &p->str_tab, h, str_eq, &k, &slot);
	if (id)
		return id;
	char *copy = pool_alloc(p, len + 1);
	memcpy(copy, s, len);
	copy[len] = 0;
	PFS_GROW(p->strs, p->cap_strs, p->n_strs + 1);
	p->strs[p->n_strs].s = copy;
	p->strs[p->n_strs].len = len;
	id = (uint32_t)p->n_strs++;
	itab_put(&p->str_tab, slot, h, id);
	return id;
}

const char *pfs_profile_strget(const struct pfs_profile *p, uint32_t id, size_t *len_out)
{
	if (id >= p->n_strs)
		id = 0;
	if (len_out)
		*len_out = p->strs[id].len;
	return p->strs[id].s;
}

size_t pfs_profile_n_strs(const struct pfs_profile *p)
{
	return p->n_strs - 1;
}

static uint64_t frame_hash(const struct pfs_frame *f)
{
	uint64_t h = mix64(((uint64_t)f->name << 32) ^ f->file);
	h = mix64(h ^ (((uint64_t)f->line << 32) | f->dso));
	return mix64(h ^ ((uint64_t)f->kind << 8) ^ f->inlined);
}

static uint64_t frame_hash_of(const struct pfs_profile *p, uint32_t id)
{
	return frame_hash(&p->frames[id]);
}

static int frame_eq(const struct pfs_profile *p, uint32_t id, const void *key)
{
	const struct pfs_frame *a = &p->frames[id], *b = key;
	return a->name == b->name && a->file == b->file && a->line == b->line && a->dso == b->dso &&
	       a->kind == b->kind && a->inlined == b->inlined;
}

uint32_t pfs_profile_frame(struct pfs_profile *p, const struct pfs_frame *f)
{
	struct pfs_frame k = *f;
	uint64_t h;
	size_t slot = 0;
	uint32_t id;
	k.inlined = k.inlined ? 1 : 0;
	h = frame_hash(&k);
	id = itab_find(p, &p->frame_tab, h, frame_eq, &k, &slot);
	if (id)
		return id;
	PFS_GROW(p->frames, p->cap_frames, p->n_frames + 1);
	p->frames[p->n_frames] = k;
	id = (uint32_t)p->n_frames++;
	itab_put(&p->frame_tab, slot, h, id);
	return id;
}

const struct pfs_frame *pfs_profile_frameget(const struct pfs_profile *p, uint32_t id)
{
	return id < p->n_frames ? &p->frames[id] : &p->frames[0];
}

size_t pfs_profile_n_frames(const struct pfs_profile *p)
{
	return p->n_frames - 1;
}

struct pathkey {
	uint32_t parent, frame;
};

static uint64_t path_hash(uint32_t parent, uint32_t frame)
{
	return mix64(((uint64_t)parent << 32) | frame);
}

static uint64_t path_hash_of(const struct pfs_profile *p, uint32_t id)
{
	return path_hash(p->paths[id].parent, p->paths[id].frame);
}

static int path_eq(const struct pfs_profile *p, uint32_t id, const void *key)
{
	const struct pathkey *k = key;
	return p->paths[id].parent == k->parent && p->paths[id].frame == k->frame;
}

uint32_t pfs_profile_path(struct pfs_profile *p, uint32_t parent, uint32_t frame)
{
	struct pathkey k;
	uint64_t h;
	size_t slot = 0;
	uint32_t id;
	struct edge *e;
	if (parent >= p->n_paths)
		parent = 0;
	k.parent = parent;
	k.frame = frame;
	h = path_hash(parent, frame);
	if (!p->edges)
		p->edges = pfs_xcalloc(EDGE_SLOTS, sizeof(*p->edges));
	e = &p->edges[(h >> 40) & (EDGE_SLOTS - 1)];
	if (e->child && e->parent == parent && e->frame == frame)
		return e->child;
	id = itab_find(p, &p->path_tab, h, path_eq, &k, &slot);
	if (!id) {
		PFS_GROW(p->paths, p->cap_paths, p->n_paths + 1);
		p->paths[p->n_paths].parent = parent;
		p->paths[p->n_paths].frame = frame;
		p->paths[p->n_paths].depth = p->paths[parent].depth + 1;
		id = (uint32_t)p->n_paths++;
		itab_put(&p->path_tab, slot, h, id);
	}
	*e = (struct edge){parent, frame, id};
	return id;
}

const struct pfs_path_node *pfs_profile_pathget(const struct pfs_profile *p, uint32_t id)
{
	return id < p->n_paths ? &p->paths[id] : &p->paths[0];
}

size_t pfs_profile_n_paths(const struct pfs_profile *p)
{
	return p->n_paths - 1;
}

uint32_t pfs_profile_add_event(struct pfs_profile *p, const char *name, bool sampling)
{
	PFS_GROW(p->events, p->cap_events, p->n_events + 1);
	memset(&p->events[p->n_events], 0, sizeof(p->events[0]));
	p->events[p->n_events].name = pfs_profile_cstr(p, name);
	p->events[p->n_events].sampling = sampling;
	return (uint32_t)p->n_events++;
}

enum pfs_clock pfs_profile_clock_of(uint32_t type, uint64_t config)
{
	/* PERF_TYPE_SOFTWARE: CPU_CLOCK 0, TASK_CLOCK 1; PERF_TYPE_HARDWARE: CPU_CYCLES 0,
	 * REF_CPU_CYCLES 9 (a hybrid PMU's type sits in config's high 32 bits) */
	if (type == 1 && (config == 0 || config == 1))
		return PFS_CLOCK_NS;
	if (type == 0 && ((config & 0xffffffffu) == 0 || (config & 0xffffffffu) == 9))
		return PFS_CLOCK_CYCLES;
	return PFS_CLOCK_NONE;
}

struct pfs_event *pfs_profile_event(struct pfs_profile *p, uint32_t i)
{
	return i < p->n_events ? &p->events[i] : NULL;
}

size_t pfs_profile_n_events(const struct pfs_profile *p)
{
	return p->n_events;
}

static uint64_t thread_hash(uint32_t pid, uint32_t tid)
{
	return mix64(((uint64_t)pid << 32) | tid);
}

static uint64_t thread_hash_of(const struct pfs_profile *p, uint32_t id)
{
	return thread_hash(p->threads[id - 1].pid, p->threads[id - 1].tid);
}

static int thread_eq(const struct pfs_profile *p, uint32_t id, const void *key)
{
	const struct pfs_thread *k = key;
	return p->threads[id - 1].pid == k->pid && p->threads[id - 1].tid == k->tid;
}

static uint64_t proc_hash_of(const struct pfs_profile *p, uint32_t id)
{
	return mix64(p->procs[id - 1].pid);
}

static int proc_eq(const struct pfs_profile *p, uint32_t id, const void *key)
{
	return p->procs[id - 1].pid == *(const uint32_t *)key;
}

struct pfs_thread *pfs_profile_thread(struct pfs_profile *p, uint32_t pid, uint32_t tid)
{
	struct pfs_thread k = {.pid = pid, .tid = tid};
	uint64_t h = thread_hash(pid, tid);
	size_t slot = 0;
	uint32_t id = itab_find(p, &p->thread_tab, h, thread_eq, &k, &slot);
	if (id)
		return &p->threads[id - 1];
	PFS_GROW(p->threads, p->cap_threads, p->n_threads + 1);
	p->threads[p->n_threads] = k;
	id = (uint32_t)++p->n_threads;
	itab_put(&p->thread_tab, slot, h, id);
	pfs_profile_process(p, pid);
	return &p->threads[id - 1];
}

struct pfs_process *pfs_profile_process(struct pfs_profile *p, uint32_t pid)
{
	uint64_t h = mix64(pid);
	size_t slot = 0;
	uint32_t id = itab_find(p, &p->proc_tab, h, proc_eq, &pid, &slot);
	if (id)
		return &p->procs[id - 1];
	PFS_GROW(p->procs, p->cap_procs, p->n_procs + 1);
	memset(&p->procs[p->n_procs], 0, sizeof(p->procs[0]));
	p->procs[p->n_procs].pid = pid;
	id = (uint32_t)++p->n_procs;
	itab_put(&p->proc_tab, slot, h, id);
	return &p->procs[id - 1];
}

size_t pfs_profile_n_threads(const struct pfs_profile *p)
{
	return p->n_threads;
}

struct pfs_thread *pfs_profile_thread_at(const struct pfs_profile *p, size_t i)
{
	return i < p->n_threads ? &p->threads[i] : NULL;
}

size_t pfs_profile_n_processes(const struct pfs_profile *p)
{
	return p->n_procs;
}

struct pfs_process *pfs_profile_process_at(const struct pfs_profile *p, size_t i)
{
	return i < p->n_procs ? &p->procs[i] : NULL;
}
