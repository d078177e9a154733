/* contenthash: the content hash of a capture (contenthash.h). */
#include "contenthash.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xalloc.h"

const struct pfs_contenthash pfs_contenthash_start = {
    {0x243f6a8885a308d3ull, 0x13198a2e03707344ull, 0xa4093822299f31d0ull, 0x082efa98ec4e6c89ull},
    0,
    {0},
    0};

static uint64_t lane(uint64_t v, uint64_t w)
{
	v += w * 0xc2b2ae3d27d4eb4full;
	v = v << 31 | v >> 33;
	return v * 0x9e3779b185ebca87ull;
}

static void hash_stripe(struct pfs_contenthash *h, const unsigned char *p)
{
	uint64_t w[4];
	memcpy(w, p, sizeof(w));
	for (int i = 0; i < 4; i++)
		h->v[i] = lane(h->v[i], w[i]);
}

void pfs_contenthash_bytes(struct pfs_contenthash *h, const void *data, size_t n)
{
	const unsigned char *p = data;
	h->len += n;
	while (n && h->ntail) {
		h->tail[h->ntail++] = *p++;
		n--;
		if (h->ntail == sizeof(h->tail)) {
			hash_stripe(h, h->tail);
			h->ntail = 0;
		}
	}
	/* a piece that did not fill the tail stays in it: before this was said, such a piece
	 * (a directory's next file name, a small file) and the tail before it were dropped */
	if (h->ntail)
		return;
	for (; n >= sizeof(h->tail); p += sizeof(h->tail), n -= sizeof(h->tail))
		hash_stripe(h, p);
	memcpy(h->tail, p, n);
	h->ntail = n;
}

static uint64_t avalanche(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 33);
}

void pfs_contenthash_hex(struct pfs_contenthash *h, char out[33])
{
	unsigned char last[32] = {0};
	memcpy(last, h->tail, h->ntail);
	last[31] = (unsigned char)h->ntail;
	hash_stripe(h, last);
	uint64_t a = h->len, b = ~h->len;
	for (int i = 0; i < 4; i++) {
		a = lane(a ^ h->v[i], h->v[(i + 1) & 3]);
		b = lane(b + h->v[i], h->v[(i + 3) & 3] ^ a);
	}
	snprintf(out, 33, "%016" PRIx64 "%016" PRIx64, avalanche(a), avalanche(b));
}

int pfs_contenthash_file(struct pfs_contenthash *h, const char *path, struct pfs_err *err)
{
	enum { BUF = 1 << 20 };
	unsigned char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
	off_t at = 0;
	ssize_t n;
	if (fd < 0)
		return pfs_err_sys(err, "cannot open");
	buf = pfs_xmalloc(BUF);
	/* pread leaves the descriptor's position at 0: the progress line takes the input's
	 * position from the descriptors open on it, and this one runs ahead of ingest's */
	while ((n = pread(fd, buf, BUF, at)) > 0) {
		pfs_contenthash_bytes(h, buf, (size_t)n);
		at += n;
	}
	if (n < 0)
		rc = pfs_err_sys(err, "cannot read");
	free(buf);
	close(fd);
	return rc;
}

static int name_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int pfs_contenthash_input(const char *path, bool is_dir, char out[33], struct pfs_err *err)
{
	struct pfs_contenthash h = pfs_contenthash_start;
	int rc = 0;
	if (!is_dir) {
		rc = pfs_contenthash_file(&h, path, err);
	} else {
		struct dirent **v;
		int n = scandir(path, &v, NULL, name_cmp);
		if (n < 0)
			return pfs_err_sys(err, "cannot list the directory");
		for (int i = 0; i < n; i++) {
			char *full;
			struct stat sb;
			if (!rc && asprintf(&full, "%s/%s", path, v[i]->d_name) > 0) {
				if (stat(full, &sb) == 0 && S_ISREG(sb.st_mode)) {
					pfs_contenthash_bytes(&h, v[i]->d_name,
							      strlen(v[i]->d_name) + 1);
					rc = pfs_contenthash_file(&h, full, err);
				}
				free(full);
			}
			free(v[i]);
		}
		free(v);
	}
	if (!rc)
		pfs_contenthash_hex(&h, out);
	return rc;
}
