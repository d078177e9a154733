#!/usr/bin/env python3
"""Compares one capture of a perfsight database with perf's own figures for the same file.

usage: check_db.py DB LABEL PERF_REPORT_STATS.txt REFERENCE.json

REFERENCE.json is the output of perf-script-reference.py over the capture's perf script text.
Checks: samples per event equal `perf report --stats`; cpu samples per thread and GC samples per
process (the gc_share view) equal the reference's. Prints each difference; exit 1 if any.
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
    db, label, stats, ref = sys.argv[1:5]
    con = sqlite3.connect(db)
    (cap,) = con.execute("SELECT id FROM captures WHERE label = ?", (label,)).fetchone()
    bad = []
    want = perf_events(stats)
    got = dict(con.execute("SELECT e.name, count(s.id) FROM events e LEFT JOIN samples s "
                           "ON s.event = e.id WHERE e.capture = ? GROUP BY e.id", (cap,)))
    for name in sorted(set(want) | set(got)):
        if want.get(name, 0) != got.get(name, 0):
            bad.append(f"event {name}: database {got.get(name, 0)}, perf report {want.get(name, 0)}")
    r = json.load(open(ref))
    got = dict(con.execute("SELECT t.tid, count(*) FROM samples s JOIN threads t ON t.id = s.thread "
                           "JOIN events e ON e.id = s.event WHERE s.capture = ? AND e.name IN "
                           "('cpu-clock', 'task-clock', 'cycles') GROUP BY t.tid", (cap,)))
    pid_of = dict(con.execute("SELECT tid, pid FROM threads WHERE capture = ?", (cap,)))
    ref_gc = Counter()
    for tid, t in r["threads"].items():
        tid = int(tid)
        if t["cpu_samples"] != got.get(tid, 0):
            bad.append(f"thread {tid}: database {got.get(tid, 0)} cpu samples, perf script {t['cpu_samples']}")
        ref_gc[pid_of.get(tid, -1)] += t["gc_samples"]
    for tid, n in got.items():
        if str(tid) not in r["threads"] and n:
            bad.append(f"thread {tid}: database {n} cpu samples, perf script none")
    got = Counter()
    for pid, n in con.execute("SELECT pid, sum(gc_samples) FROM gc_share WHERE capture = ? AND "
                              "event IN ('cpu-clock', 'task-clock', 'cycles') GROUP BY pid", (cap,)):
        got[pid] = n
    for pid in sorted(set(ref_gc) | set(got)):
        if ref_gc[pid] != got[pid]:
            bad.append(f"process {pid}: database {got[pid]} GC samples, perf script {ref_gc[pid]}")
    for b in bad:
        print(f"{label}: {b}")
    sys.exit(1 if bad else 0)


main()
