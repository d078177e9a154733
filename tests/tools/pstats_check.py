"""Compares perfsight's reading of a pstats dump with Python's own pstats module.

    python tests/tools/pstats_check.py EXPORT.json DUMP

EXPORT.json is `perfsight export DUMP --format json` (perfsight-callgraph/1). Run it with the
Python whose pstats is the referee (any 3.8+ reads the dumps of any other). For every function
of pstats.Stats(DUMP).stats: the primitive calls, calls, tottime and cumtime must be equal, and
for every caller its (calls, primitive calls, tottime, cumtime), or its plain count (profile.py
dumps): exactly, floats to the last bit, -1 (pyinstrument's "not counted") being null. The
functions perfsight lists must be the dump's keys and no more; the edges, the callers' entries
and no more; Stats' total_calls, prim_calls and total_tt must be perfsight's totals. Prints one
line of figures and exits 0, or prints the differences and exits 1.
"""
import json
import pstats
import sys


def count(v):
    return None if v == -1 else v


def norm(func):
    """A function key as perfsight names it: a code object (profile.py of 3.12 and 3.13 names
    the script it runs by one) as its repr without the address."""
    f, line, name = func
    if hasattr(name, "co_name"):
        name = '<code object %s, file "%s", line %d>' % (name.co_name, name.co_filename,
                                                         name.co_firstlineno)
    return (f, line, name)


def main():
    export, dump = sys.argv[1], sys.argv[2]
    with open(export) as f:
        doc = json.load(f)
    st = pstats.Stats(dump)
    stats = {norm(k): (v[0], v[1], v[2], v[3], {norm(c): cv for c, cv in v[4].items()})
             for k, v in st.stats.items()}
    errors = []
    fns = doc["functions"]
    key = {i: (f["file"], f["line"], f["function"]) for i, f in enumerate(fns)}
    listed = {key[i]: f for i, f in enumerate(fns) if f["listed"]}
    if set(listed) != set(stats):
        errors.append("functions differ: only perfsight %r, only pstats %r" % (
            sorted(set(listed) - set(stats))[:5], sorted(set(stats) - set(listed))[:5]))
    n_edges = 0
    edges = {(key[e["caller"]], key[e["callee"]]): e for e in doc["edges"]}
    for func, (cc, nc, tt, ct, callers) in stats.items():
        f = listed.get(func)
        if f is None:
            continue
        want = (count(cc), count(nc), tt, ct)
        got = (f["primitive_calls"], f["calls"], f["self"][0], f["inclusive"][0])
        if want != got:
            errors.append("%r: pstats %r, perfsight %r" % (func, want, got))
        for caller, v in callers.items():
            n_edges += 1
            e = edges.get((caller, func))
            if e is None:
                errors.append("edge %r -> %r missing" % (caller, func))
                continue
            if isinstance(v, tuple):
                want = (count(v[0]), count(v[1]), v[2], v[3])
                got = (e["calls"], e["primitive_calls"], e["self"][0], e["inclusive"][0])
            else:
                want = (v, None, None, None)
                got = (e["calls"], e["primitive_calls"], e["self"][0], e["inclusive"][0])
            if want != got:
                errors.append("edge %r -> %r: pstats %r, perfsight %r" % (caller, func, want, got))
    if n_edges != len(doc["edges"]):
        errors.append("perfsight has %d edges, pstats %d" % (len(doc["edges"]), n_edges))
    unknown = any(v[0] == -1 or v[1] == -1 for v in stats.values())
    totals = (None if unknown else st.total_calls, None if unknown else st.prim_calls,
              st.total_tt)
    got = (doc["calls"], doc["primitive_calls"], doc["events"][0]["total"])
    if totals != got:
        errors.append("totals (calls, primitive calls, total_tt): pstats %r, perfsight %r" % (
            totals, got))
    if errors:
        print("\n".join(errors[:20]))
        sys.exit(1)
    print("%s: %d functions, %d edges, %s calls (%s primitive), total_tt %.17g: equal to "
          "Python %d.%d's pstats" % (dump, len(listed), n_edges, totals[0], totals[1], totals[2],
                                     sys.version_info[0], sys.version_info[1]))


main()
