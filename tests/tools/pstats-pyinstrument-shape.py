"""Writes a pstats dump shaped as pyinstrument's pstats renderer writes them.

    python tests/tools/pstats-pyinstrument-shape.py OUT

pyinstrument (`pyinstrument -r pstats`, 4.x and 5.x) samples stacks; it does not count calls.
Its pstats renderer walks the sampled call tree and, per (file, line, function), writes -1 for
both call counts, adds each tree node's own time to tottime and its time to cumtime, and per
parent the same into that caller's entry: so cumtime sums every occurrence of a function in
the tree, recursion included. pyinstrument cannot be installed on this machine (no PyPI), so
this writes that shape from a small call tree of known times instead; the figures perfsight
must read are the ones written here, and tests/tools/pstats_check.py checks them.
"""
import marshal
import sys

# (file, line, function), own seconds, children
TREE = (("app.py", 1, "<module>"), 0.001, [
    (("app.py", 10, "handle"), 0.002, [
        (("app.py", 20, "render"), 0.004, [
            (("<built-in>", 0, "sorted"), 0.0005, []),
        ]),
        (("app.py", 30, "query"), 0.008, [
            (("app.py", 30, "query"), 0.003, []),  # recursion: a second tree node
        ]),
    ]),
    (("app.py", 40, "teardown"), 0.0002, []),
])


def total(node):
    return node[1] + sum(total(c) for c in node[2])


def add(stats, node, parent):
    key, own, kids = node
    cum = total(node)
    cc, nc, tt, ct, callers = stats.get(key, (-1, -1, 0, 0, {}))
    stats[key] = (cc, nc, tt + own, ct + cum, callers)
    if parent is not None:
        pcc, pnc, ptt, pct = callers.get(parent, (-1, -1, 0, 0))
        callers[parent] = (pcc, pnc, ptt + own, pct + cum)
    for kid in kids:
        add(stats, kid, key)


def main():
    stats = {}
    add(stats, TREE, None)
    with open(sys.argv[1], "wb") as f:
        f.write(marshal.dumps(stats))


main()
