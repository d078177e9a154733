"""A workload whose call structure is known, for the call-graph readers' tests.

    python tests/workloads/cg_app.py              the small workload (the fixtures)
    python tests/workloads/cg_app.py --many N     plus N generated functions (a large profile)

It has direct recursion (fib), mutual recursion (even, odd), methods, a generator, builtins
(sorted, len, sum, str.join), and two functions whose names are markup (a code object renamed, a
function compiled from a file named like a script element): a report must show them as text.
Run under cProfile (python -m cProfile -o OUT ...), profile (python -m profile -o OUT ...) or
pprofile (python3 -m pprofile -f callgrind -o OUT ...).
"""
import sys


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def even(n):
    return True if n == 0 else odd(n - 1)


def odd(n):
    return False if n == 0 else even(n - 1)


class Shape:
    def __init__(self, k):
        self.k = k

    def area(self):
        return sum(i * i for i in range(self.k))


def render(items):
    return ",".join(str(x) for x in sorted(items))


def handle(i):
    s = Shape(i % 7 + 1)
    return render([s.area(), fib(12), len(str(i))]) + str(even(i % 9))


def hostile():
    return 1


hostile.__code__ = hostile.__code__.replace(co_name='<img src=x onerror="alert(1)">&amp;')
WEIRD = {}
exec(compile("def weird_file():\n    return 2\n", "</script><script>alert(2)</script>", "exec"),
     WEIRD)


def many(n):
    """n functions f0..f(n-1), each calling its two children of a binary tree."""
    src = []
    for i in range(n):
        kids = [k for k in (2 * i + 1, 2 * i + 2) if k < n]
        body = " + ".join("f%d()" % k for k in kids) or "1"
        src.append("def f%d():\n    return %s\n" % (i, body))
    g = {}
    exec(compile("".join(src), "generated_many.py", "exec"), g)
    return g["f0"]()


def main():
    total = 0
    for i in range(30):
        total += len(handle(i))
    hostile()
    WEIRD["weird_file"]()
    if "--many" in sys.argv:
        total += many(int(sys.argv[sys.argv.index("--many") + 1]))
    return total


if __name__ == "__main__":
    main()
