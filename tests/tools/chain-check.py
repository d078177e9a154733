#!/usr/bin/env python3
"""Checks folded stacks of tests/workloads/chain.py against the call structure it was written
with (issue 12), and turns folded stacks into their Python-only paths.

usage: chain-check.py check FOLDED [--min F] [--descend N]
       chain-check.py pyonly FOLDED            Python-only paths, folded, on standard output

check: the leaf samples are those with spin or churn on the stack. Each must hold the whole
chain, root to leaf, as its Python frames: <module> (main thread) or Thread._bootstrap,
Thread._bootstrap_inner, Thread.run (the other two), then run, level_01 .. level_24, descend
(N + 1 times, N = 3 by default), work, spin or churn (Cell.__init__ may follow churn). A stack
rooted at [truncated] fails (its chain is cut). For every stack with Python frames, the frames
rootward of the outermost one must be named: no [unknown] (nor, from collapse --addrs, an
"[unknown <addr>]" that nothing maps) between the outermost Python frame and the thread entry. Prints one line:
    whole W/L (S) unknown-under-python U
and exits 1 unless S >= --min (default 0.95) and U == 0.

pyonly: each stack's Python frames only ("py::" names), keeping the
folded root (the comm) and any [truncated] mark; the other frames are dropped. Equal paths are
summed.
"""
import sys
from collections import Counter

LEVELS = [f"level_{i:02d}" for i in range(1, 25)]


def load(path):
    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        if not line:
            continue
        stack, _, n = line.rpartition(" ")
        yield stack.split(";"), int(n)


def pyname(frame):
    """The qualified name of a Python frame ("py::name:file"), or None."""
    if not frame.startswith("py::"):
        return None
    name, _, file = frame[4:].partition(":")
    return name if file else None


def expected(root, descend, leaf):
    head = ["<module>"] if root == "<module>" else [
        "Thread._bootstrap", "Thread._bootstrap_inner", "Thread.run"]
    return head + ["run"] + LEVELS + ["descend"] * (descend + 1) + ["work", leaf]


def check(args):
    path = args[0]
    need = float(args[args.index("--min") + 1]) if "--min" in args else 0.95
    descend = int(args[args.index("--descend") + 1]) if "--descend" in args else 3
    leaf_n = whole = unknown = 0
    for frames, n in load(path):
        py = [(i, pyname(f)) for i, f in enumerate(frames)]
        py = [(i, p) for i, p in py if p]
        names = [p for _, p in py]
        if names:
            outer = py[0][0]
            if any(f.startswith("[unknown") for f in frames[1:outer]):
                unknown += n
        leaf = "spin" if "spin" in names else "churn" if "churn" in names else None
        if not leaf:
            continue
        leaf_n += n
        cut = len(frames) > 1 and frames[1] == "[truncated]"
        upto = names[: names.index(leaf) + 1]
        if not cut and names and upto == expected(names[0], descend, leaf):
            whole += n
    share = whole / leaf_n if leaf_n else 0.0
    print(f"whole {whole}/{leaf_n} ({share:.4f}) unknown-under-python {unknown}")
    return 0 if leaf_n and share >= need and not unknown else 1


def pyonly(args):
    out = Counter()
    for frames, n in load(args[0]):
        keep = [frames[0]] + [f for f in frames[1:] if f == "[truncated]" or pyname(f)]
        out[";".join(keep)] += n
    for k, v in sorted(out.items()):
        print(f"{k} {v}")
    return 0


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("check", "pyonly"):
        print(__doc__, file=sys.stderr)
        return 2
    return (check if sys.argv[1] == "check" else pyonly)(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
