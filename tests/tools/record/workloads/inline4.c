/*
 * A C program built with -gdwarf-4 for tests/e2e/fresh.sh: its inline frame's file comes from a
 * version 4 line table header (directory 0 is the compilation directory), the layout gcc wrote
 * before DWARF 5. About half a second of CPU in outer() and the inner() inlined into it.
 */
#include <stdio.h>

/* volatile: the compiler may not fold the loop away */
static volatile double step = 1.0000001;

static inline __attribute__((always_inline)) double inner(double x)
{
	for (int i = 0; i < 200; i++)
		x = x * step + 0.5;
	return x;
}

static __attribute__((noinline)) double outer(int n)
{
	double s = 0;
	for (int i = 0; i < n; i++)
		s += inner(i);
	return s;
}

int main(void)
{
	double t = 0;
	for (int k = 0; k < 300; k++)
		t += outer(10000);
	printf("%f\n", t);
	return 0;
}
