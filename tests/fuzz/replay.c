/*
 * replay: the driver `make check` links each harness with instead of libFuzzer's (which
 * needs clang): calls LLVMFuzzerTestOneInput() once on each file given, or on each file of
 * each directory given, in name order, and prints how many it ran. A crash or a sanitizer
 * report ends the run with the file named on stderr just before.
 *
 *     build/tests/fuzz/replay-fuzz_perf tests/fuzz/corpus/fuzz_perf tests/fuzz/regress/fuzz_perf
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, k;
	if (!f) {
		fprintf(stderr, "replay: cannot open %s\n", path);
		return -1;
	}
	do {
		if (len == cap) {
			cap = cap ? cap * 2 : 65536;
			if (!(buf = realloc(buf, cap)))
				abort();
		}
		k = fread(buf + len, 1, cap - len, f);
		len += k;
	} while (k);
	fclose(f);
	fprintf(stderr, "replay: %s\n", path);
	/* an exact-size copy, so that ASan sees a read past the input's end */
	uint8_t *exact = malloc(len ? len : 1);
	if (!exact)
		abort();
	memcpy(exact, buf, len);
	free(buf);
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv)
{
	long n = 0;
	int bad = 0;
	for (int i = 1; i < argc; i++) {
		struct stat sb;
		if (stat(argv[i], &sb) != 0) {
			fprintf(stderr, "replay: cannot stat %s\n", argv[i]);
			bad = 1;
			continue;
		}
		if (!S_ISDIR(sb.st_mode)) {
			bad |= run_file(argv[i]) != 0;
			n++;
			continue;
		}
		struct dirent **ents;
		int m = scandir(argv[i], &ents, NULL, by_name);
		if (m < 0) {
			fprintf(stderr, "replay: cannot list %s\n", argv[i]);
			bad = 1;
			continue;
		}
		for (int j = 0; j < m; j++) {
			char path[4096];
			snprintf(path, sizeof(path), "%s/%s", argv[i], ents[j]->d_name);
			if (ents[j]->d_name[0] != '.' && stat(path, &sb) == 0 &&
			    S_ISREG(sb.st_mode)) {
				bad |= run_file(path) != 0;
				n++;
			}
			free(ents[j]);
		}
		free(ents);
	}
	printf("%ld inputs\n", n);
	return bad;
}
