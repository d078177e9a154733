#include <stdio.h>

#include "harness.h"
#include "strtab.h"

static void test_once_each_in_order(void)
{
	struct pfs_strtab t;
	char buf[32];
	pfs_strtab_init(&t);
	T_EQ(pfs_strtab_cstr(&t, ""), 0);
	T_EQ(pfs_strtab_cstr(&t, "a"), 1);
	T_EQ(pfs_strtab_add(&t, "ab", 1), 1);	/* "a" again */
	T_EQ(pfs_strtab_add(&t, "x\0y", 3), 2); /* cut at the NUL */
	T_STREQ(t.v[2], "x");
	T_EQ(pfs_strtab_cstr(&t, NULL), 0);
	/* many: the table grows and every string keeps its index */
	for (int i = 0; i < 5000; i++) {
		snprintf(buf, sizeof(buf), "s%d", i);
		T_EQ(pfs_strtab_cstr(&t, buf), (uint64_t)i + 3);
	}
	for (int i = 0; i < 5000; i += 7) {
		snprintf(buf, sizeof(buf), "s%d", i);
		T_EQ(pfs_strtab_cstr(&t, buf), (uint64_t)i + 3);
	}
	T_EQ(t.n, 5003);
	pfs_strtab_release(&t);
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
	    T_CASE(once_each_in_order),
	};
	return t_main(argc, argv, "strtab", cases, sizeof(cases) / sizeof(cases[0]));
}
