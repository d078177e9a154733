#include "cgres.h"

#include <string.h>

static void init(struct cg_res *r)
{
	memset(r, 0, sizeof(*r));
	r->p = pfs_profile_new();
	pfs_diag_init(&r->d);
}

void cg_res_parse(struct cg_res *r, cg_parse_fn parse, const void *buf, size_t len)
{
	init(r);
	r->rc = parse(buf, len, r->p, &r->g, &r->d, &r->e);
}

void cg_res_load(struct cg_res *r, cg_load_fn load, const char *path)
{
	init(r);
	r->rc = load(path, r->p, &r->g, &r->d, &r->e);
}

void cg_res_free(struct cg_res *r)
{
	pfs_cg_free(r->g);
	pfs_profile_free(r->p);
	pfs_diag_release(&r->d);
}

uint32_t cg_fn_named(const struct pfs_callgraph *g, const char *name)
{
	for (uint32_t f = 0; f < pfs_cg_n_funcs(g); f++)
		if (!strcmp(pfs_cg_name(g, f), name))
			return f;
	return UINT32_MAX;
}

uint32_t cg_edge_of(const struct pfs_callgraph *g, uint32_t a, uint32_t b)
{
	for (uint32_t e = 0; e < pfs_cg_n_edges(g); e++)
		if (pfs_cg_edge_get(g, e)->caller == a && pfs_cg_edge_get(g, e)->callee == b)
			return e;
	return UINT32_MAX;
}
