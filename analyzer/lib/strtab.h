/*
 * strtab: a table of strings, each once, numbered in order of first addition from 0: what a
 * document that refers to names by index needs (pprof's string table, diff's names). Open
 * addressing on an FNV-1a hash, kept under half full; the strings are copied.
 *
 * Ownership: caller-embedded (_init / _release); strings returned are borrowed until release.
 */
#ifndef PFS_STRTAB_H
#define PFS_STRTAB_H

#include <stddef.h>
#include <stdint.h>

struct pfs_strtab {
	char **v; /* the strings, by index */
	size_t n, cap;
	uint32_t *slots; /* index + 1, 0 empty */
	size_t nslots;
};

void pfs_strtab_init(struct pfs_strtab *t);
void pfs_strtab_release(struct pfs_strtab *t);
/* The index of the len bytes at s (cut at a NUL inside: the table holds C strings), added
 * when new. */
uint32_t pfs_strtab_add(struct pfs_strtab *t, const char *s, size_t len);
/* The same for a C string (NULL is ""). */
uint32_t pfs_strtab_cstr(struct pfs_strtab *t, const char *s);

#endif
