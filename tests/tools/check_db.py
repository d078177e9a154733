#!/usr/bin/env python3
"""Compares one capture of a perfsight database with perf's own figures for the same file.

usage: check_db.py DB LABEL PERF_REPORT_STATS.txt REFERENCE.json COLLAPSE_PID.folded

REFERENCE.json is the output of perf-script-reference.py over the capture's perf script text;
COLLAPSE_PID.folded is `perfsight collapse --pid` of the same file.
Checks: samples per event equal `perf report --stats` (perf script's count when the stats file
has none, as for pipe mode); cpu samples per thread equal perf script's; GC samples per process
of the gc_share view equal those of the collapsed stacks (same stacks, counted outside SQL).
Prints each difference; exit 1 if any.
"""
import json, re, sqlite3, sys
from collections import Counter


def perf_events(path):
    ev, cur = {}, None
    for line in open(path):
        h = re.match(r"^(\S.*) stats:$", line.rstrip())
        m = re.match(r"^\s*(\S+) events:\s+(\d+)", line)
        if h:
            cur = None if h.group(1) == "Aggregated" else h.group(1)
        elif m and cur and m.group(1) == "SAMPLE":
            ev[cur] = int(m.group(2))
    return ev


def main():
    db, label, stats, ref, folded = sys.argv[1:6]
    con = sqlite3.connect(db)
    (cap,) = con.execute("SELECT id FROM captures WHERE label = ?", (label,)).fetchone()
    bad = []
    r = json.load(open(ref))
    want = perf_events(stats) or r["events"]
    got = dict(con.execute("SELECT e.name, count(s.id) FROM events e LEFT JOIN samples s "
                           "ON s.event = e.id WHERE e.capture = ? GROUP BY e.id", (cap,)))
    for name in sorted(set(want) | set(got)):
        if want.get(name, 0) != got.get(name, 0):
            bad.append(f"event {name}: database {got.get(name, 0)}, perf report {want.get(name, 0)}")
    got = dict(con.execute("SELECT t.tid, count(*) FROM samples s JOIN threads t ON t.id = s.thread "
                           "JOIN events e ON e.id = s.event WHERE s.capture = ? AND e.sampling "
                           "GROUP BY t.tid", (cap,)))
    for tid, t in r["threads"].items():
        tid = int(tid)
        if t["cpu_samples"] != got.get(tid, 0):
            bad.append(f"thread {tid}: database {got.get(tid, 0)} cpu samples, perf script {t['cpu_samples']}")
    for tid, n in got.items():
        if str(tid) not in r["threads"] and n:
            bad.append(f"thread {tid}: database {n} cpu samples, perf script none")
    gc_names = [n for (n,) in con.execute("SELECT name FROM gc_functions")]
    ref_gc = Counter()
    for line in open(folded):
        stack, n = line.rstrip("\n").rsplit(" ", 1)
        root, *frames = stack.split(";")
        if any(f in gc_names or f.split(".")[0] in gc_names for f in frames):
            ref_gc[int(root.rsplit("-", 1)[1])] += int(n)
    got = Counter()
    for pid, n in con.execute("SELECT pid, sum(gc_samples) FROM gc_share WHERE capture = ? AND "
                              "event IN (SELECT name FROM events WHERE capture = ?1 AND sampling) "
                              "GROUP BY pid", (cap,)):
        got[pid] = n
    for pid in sorted(set(ref_gc) | set(got)):
        if ref_gc[pid] != got[pid]:
            bad.append(f"process {pid}: database {got[pid]} GC samples, collapse {ref_gc[pid]}")
    for b in bad:
        print(f"{label}: {b}")
    sys.exit(1 if bad else 0)


main()
