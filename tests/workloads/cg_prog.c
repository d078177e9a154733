/*
 * A native program whose call structure is known, for the callgrind reader's tests: direct
 * recursion (rec), a loop calling a leaf (mid), and main calling both: 50 x (6 + 20) calls of
 * leaf, 50 of mid and rec, 50 x 19 of rec by itself. noipa keeps the compiler from computing
 * a call once for the whole loop, so the calls are the ones written here.
 *     cc -O1 -g -fno-inline -o cg_prog cg_prog.c
 *     valgrind --tool=callgrind --callgrind-out-file=callgrind.out ./cg_prog
 */
#include <stdio.h>

#define KEEP __attribute__((noipa))

static KEEP unsigned long leaf(unsigned long x)
{
	unsigned long s = 0;
	for (unsigned long i = 0; i < x; i++)
		s += i * i;
	return s;
}

static KEEP unsigned long rec(int n)
{
	return n <= 1 ? leaf(10) : rec(n - 1) + leaf((unsigned long)n);
}

static KEEP unsigned long mid(int k)
{
	unsigned long s = 0;
	for (int i = 0; i < k; i++)
		s += leaf(100 + (unsigned long)i);
	return s;
}

int main(int argc, char **argv)
{
	unsigned long t = 0;
	(void)argv;
	for (int i = 0; i < 50; i++)
		t += mid(5 + argc) + rec(20);
	printf("%lu\n", t);
	return 0;
}
