#!/usr/bin/env python3
"""Checks the pyprof reader against the pyinstrument fixtures, reading the same files with
Python's json module as the reference.

Usage: pyprof_check.py DUMP FIXDIR
DUMP is build/tests/pyprof-dump; FIXDIR is fixtures/pyinstrument. Prints one line per check:
"PASS name: figures" or "FAIL name: why"; tests/e2e/pyprof.sh turns them into TAP lines.
"""
import json
import os
import subprocess
import sys

DUMP, FIX = sys.argv[1], sys.argv[2]


def say(ok, name, msg):
    print(("PASS" if ok else "FAIL") + " " + name + ": " + msg)


def run(*args):
    r = subprocess.run([DUMP, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("pyprof-dump %s: exit %d: %s" % (" ".join(args), r.returncode,
                                                           r.stderr.strip()))
    return r.stdout


def summary(path, *flags):
    caps, total = [], None
    for line in run("-s", *flags, path).splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "diag":
            continue
        kv = dict(f.split("=", 1) for f in rest.split(" "))
        if kind == "capture":
            caps.append(kv)
        elif kind == "total":
            total = kv
    return caps, total


def folded(path):
    """Stacks as lists of (name, file, line) and their weights."""
    out = []
    for line in run("-f", path).splitlines():
        stack, _, w = line.rpartition(" ")
        frames = []
        for fr in stack.split(";"):
            if fr.endswith(")") and " (" in fr:
                name, _, loc = fr[:-1].rpartition(" (")
                path, _, line = loc.rpartition(":")
                frames.append((name, path, int(line)))
            else:
                frames.append((fr, "", 0))
        out.append((frames, float(w)))
    return out


def function_totals(stacks):
    """Inclusive time per (function, file, line), each counted once per stack."""
    tot = {}
    for frames, w in stacks:
        for f in set(frames):
            tot[f] = tot.get(f, 0.0) + w
    return tot


def is_app(fn, prefixes):
    """pyinstrument's rule (not under sys_prefixes, not a <pseudo> file), less pyinstrument's
    own frames, which its renderers remove (remove_first_pyinstrument_frames)."""
    path = fn[1]
    return bool(path) and not path.startswith("<") and "/pyinstrument/" not in path and not any(
        path.startswith(p) for p in prefixes)


def compare_functions(name, a, b, prefixes, floor):
    """Application functions of at least floor seconds in either must agree within 2%."""
    worst, n, bad = 0.0, 0, []
    for fn in set(a) | set(b):
        if not is_app(fn, prefixes):
            continue
        x, y = a.get(fn, 0.0), b.get(fn, 0.0)
        if max(x, y) < floor:
            continue
        n += 1
        dev = abs(x - y) / max(x, y)
        worst = max(worst, dev)
        if dev > 0.02:
            bad.append("%s (%s:%d) %.6f vs %.6f" % (fn[0], fn[1], fn[2], x, y))
    say(not bad and n > 0, name,
        "%d application functions, worst deviation %.3f%%%s" %
        (n, worst * 100, ("; " + "; ".join(bad[:3])) if bad else ""))


class Node:
    __slots__ = ("ident", "time", "children", "by_ident")

    def __init__(self, ident):
        self.ident, self.time, self.children, self.by_ident = ident, 0.0, [], {}


def frame_ident(fs):
    """(function, file, first line) of a frame string: what pyinstrument merges frames on."""
    parts = fs.split("\x01")[0].split("\x00")
    line = parts[2] if len(parts) > 2 and parts[2].isdigit() else "0"
    return (parts[0], parts[1] if len(parts) > 1 else "", int(line))


def renderer_model(sess, timeline):
    """Per-function totals a pyinstrument renderer keeps, modelled from the session itself:
    the frame tree built from the records (aggregated for the JSON renderer; in time order,
    merging only with the last sibling, for speedscope), then remove_irrelevant_nodes, which
    drops every node under 1% of the total into its parent. Renderings are lossy by design,
    so they are checked against this model and against the session only where the model
    says they kept a function whole."""
    root = Node(("[root]", "", 0))
    for stack, w in sess["frame_records"]:
        ids = [frame_ident(f) for f in stack]
        if not ids or not ids[-1][0].startswith("["):
            ids.append(("[self]", "", 0))
        node = root
        node.time += w
        for i in ids:
            if timeline:
                c = node.children[-1] if node.children and node.children[-1].ident == i else None
            else:
                c = node.by_ident.get(i)
            if c is None:
                c = Node(i)
                node.children.append(c)
                node.by_ident[i] = c
            c.time += w
            node = c
    top = root.children[0]

    def prune(n):
        n.children = [c for c in n.children if c.time / top.time >= 0.01]
        for c in n.children:
            prune(c)

    prune(top)
    tot = {}

    def walk(n, on_path):
        if n.ident not in on_path:
            tot[n.ident] = tot.get(n.ident, 0.0) + n.time
        for c in n.children:
            walk(c, on_path | {n.ident})

    walk(root, frozenset())
    return tot


def session_facts(path):
    with open(path) as f:
        s = json.load(f)
    return s, sum(r[1] for r in s["frame_records"])


def main():
    base = os.path.join(FIX, "flask-testclient")
    sess, recsum = session_facts(base + ".pyisession")
    prefixes = sess.get("sys_prefixes", [])
    caps, _ = summary(base + ".pyisession")
    c = caps[0]
    dev = abs(float(c["weight"]) - sess["duration"]) / sess["duration"]
    say(dev <= 0.01, "session-total-vs-duration",
        "weight %s s, duration %.9f s, %.4f%%" % (c["weight"], sess["duration"], dev * 100))
    say(int(c["rows"]) == sess["sample_count"], "session-sample-count",
        "rows %s, sample_count %d" % (c["rows"], sess["sample_count"]))
    say(abs(float(c["weight"]) - recsum) < 1e-6, "session-total-vs-records",
        "weight %s s, sum of frame_records %.9f s" % (c["weight"], recsum))

    totals = {}
    for kind, suffix in (("session", ".pyisession"), ("json", ".json"),
                         ("speedscope", ".speedscope.json")):
        st = folded(base + suffix)
        totals[kind] = function_totals(st)
        t = sum(w for _, w in st)
        dev = abs(t - sess["duration"]) / sess["duration"]
        say(dev <= 0.01, kind + "-folded-total-vs-duration",
            "total %.6f s, duration %.6f s, %.4f%%" % (t, sess["duration"], dev * 100))
    floor = 0.01 * sess["duration"]  # the JSON renderer drops nodes below 1% of the total
    models = {"json": renderer_model(sess, False), "speedscope": renderer_model(sess, True)}
    for kind in ("json", "speedscope"):
        model = models[kind]
        compare_functions(kind + "-vs-renderer-model", totals[kind], model, prefixes, 0.0)
        whole = {f for f, t in totals["session"].items()
                 if abs(model.get(f, 0.0) - t) <= 1e-9 * max(t, 1e-9)}
        lossy = sum(1 for f in totals["session"]
                    if f not in whole and is_app(f, prefixes) and totals["session"][f] >= floor)
        compare_functions("session-vs-%s-functions" % kind,
                          {f: t for f, t in totals["session"].items() if f in whole},
                          {f: t for f, t in totals[kind].items() if f in whole}, prefixes, floor)
        print("INFO %s: %d application functions over 1%% the renderer pruned (see model)"
              % (kind, lossy))
    both = {f for f in totals["session"]
            if abs(models["json"].get(f, 0.0) - totals["session"][f]) <= 1e-9 * totals["session"][f]
            and abs(models["speedscope"].get(f, 0.0) - totals["session"][f])
            <= 1e-9 * totals["session"][f]}
    compare_functions("json-vs-speedscope-functions",
                      {f: t for f, t in totals["json"].items() if f in both},
                      {f: t for f, t in totals["speedscope"].items() if f in both}, prefixes, floor)

    # application code: pfs_pyprof_is_app on the session against the JSON renderer's flags
    app = {}
    for line in run("-a", base + ".pyisession").splitlines():
        flag, _, fr = line.partition(" ")
        app.setdefault(fr, set()).add(flag == "1")
    with open(base + ".json") as f:
        tree = json.load(f)["root_frame"]
    n, bad = 0, []

    def clean(t):
        return "".join("_" if c in "; \n\0" else c for c in t)

    def walk(node):
        nonlocal n
        fn = node["function"]
        if not fn.startswith("["):
            key = "%s (%s:%d)" % (clean(fn), clean(node["file_path"]), node["line_no"])
            n += 1
            if app.get(key) != {node["is_application_code"]}:
                bad.append("%s: %s vs %s" % (key, app.get(key), node["is_application_code"]))
        for c in node["children"]:
            walk(c)

    walk(tree)
    say(n > 0 and not bad, "application-code-flags",
        "%d JSON nodes, %d disagree%s" % (n, len(bad), ("; " + "; ".join(bad[:3])) if bad else ""))

    for name in sorted(os.listdir(os.path.join(FIX, "html-renderer-data"))):
        path = os.path.join(FIX, "html-renderer-data", name)
        with open(path) as f:
            d = json.load(f)["session"]["duration"]
        caps, _ = summary(path)
        dev = abs(float(caps[0]["weight"]) - d) / d
        say(dev <= 0.01, "html-data-total-" + name,
            "weight %s s, duration %.6f s, %.4f%%" % (caps[0]["weight"], d, dev * 100))

    pr = os.path.join(FIX, "per-request")
    caps, total = summary(pr, "-m")
    say(len(caps) == 30 and total["captures"] == "30", "per-request-merged",
        "%s captures, %s rows" % (total["captures"], total["rows"]))
    bad, worst, worst_gap = [], 0.0, 0.0
    for c in caps:
        s, rs = session_facts(os.path.join(pr, c["label"]))
        if int(c["rows"]) != s["sample_count"] or abs(float(c["weight"]) - rs) > 1e-6:
            bad.append(c["label"])
        d = s["duration"]
        worst = max(worst, abs(float(c["weight"]) - d) / d)
        worst_gap = max(worst_gap, d - float(c["weight"]))
    say(not bad, "per-request-sessions",
        "30 files: rows = sample_count and weight = sum of records; weight vs duration worst "
        "%.2f%% (an absolute gap of at most %.3f ms the records do not cover)%s" %
        (worst * 100, worst_gap * 1e3, (": " + " ".join(bad)) if bad else ""))
    n = 0
    for name in sorted(os.listdir(pr)):
        if name.endswith(".json"):
            caps, _ = summary(os.path.join(pr, name))
            n += caps[0]["kind"] == "pyinstrument-json"
    say(n == 30, "per-request-json", "%d JSON renderings load one by one" % n)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - any failure is one FAIL line, not a traceback
        say(False, "checker", repr(e))
