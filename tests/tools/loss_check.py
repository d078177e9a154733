#!/usr/bin/env python3
"""Checks, on perf's own view of a capture (`perf script --ns --show-lost-events` text), that no
GC pause or take_gil call perfsight kept spans a LOST record, and counts the ones that do.

usage: loss_check.py PERF_SCRIPT[.zst] DB CAPTURE_LABEL

Perf's view, read here on its own: every probe hit (thread, CPU, time, function, entry or
return) and every PERF_RECORD_LOST (thread, CPU, time). A call is an entry and the same thread's
next return of the same function. It spans a loss when a LOST record of its thread, or of the
CPU of its entry or of its return (any CPU when perf shows none), is stamped in
[entry, return + 100 us] (the kernel stamps a
LOST with the time of the record after the loss; docs/gil.md). A call whose entry or return
was lost pairs here with a neighbour's across the loss, so it spans one too.

perfsight's kept intervals are the database's gc_pauses rows and its probe-measured gil_waits
rows (start, duration, tid). Prints one line "kept N, spanning 0; calls across a loss:
gc G, take_gil T" and exits 1 when a kept interval is not one of perf's calls or spans a loss.
"""
import re
import sqlite3
import subprocess
import sys

LINE = re.compile(r"^\s*\S.*?\s(-?\d+)\s+(?:\[(\d+)\]\s+)?(\d+)\.(\d+):\s+(.*)$")
PAD = 100_000  # ns


def read(path):
    if path.endswith(".zst"):
        return subprocess.run(["zstd", "-dc", path], check=True, capture_output=True, text=True).stdout
    return open(path).read()


def parse(text):
    hits, lost = [], []
    for line in text.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        tid, cpu = int(m.group(1)), int(m.group(2)) if m.group(2) else None
        frac = m.group(4)
        t = int(m.group(3)) * 1_000_000_000 + int(frac.ljust(9, "0")[:9])
        rest = m.group(5)
        if rest.startswith("PERF_RECORD_LOST"):
            lost.append((t, tid, cpu))
            continue
        ev = re.match(r"\s*(\d+\s+)?[\w.-]+:(gc_collect_main|take_gil)(__return)?:", rest)
        if ev:
            hits.append((t, tid, cpu, ev.group(2), bool(ev.group(3))))
    return hits, lost


def calls(hits):
    """(fn, tid, start, end, cpu_in, cpu_out) for each entry and the thread's next return."""
    open_, out = {}, []
    for t, tid, cpu, fn, ret in sorted(hits):
        if not ret:
            open_[(fn, tid)] = (t, cpu)
        elif (fn, tid) in open_:
            s, c = open_.pop((fn, tid))
            out.append((fn, tid, s, t, c, cpu))
    return out


def spans(call, lost):
    fn, tid, s, e, ci, co = call
    # a LOST record whose CPU perf does not show counts for every CPU
    return any(s <= t <= e + PAD and (lt == tid or lc is None or lc in (ci, co)) for t, lt, lc in lost)


def main():
    text, db, label = read(sys.argv[1]), sys.argv[2], sys.argv[3]
    hits, lost = parse(text)
    assert lost, "no LOST record in perf's view: not a capture with losses"
    cs = calls(hits)
    by_start = {(c[1], c[2]): c for c in cs}
    con = sqlite3.connect(db)
    cap = con.execute("SELECT id FROM captures WHERE label = ?", (label,)).fetchone()[0]
    kept = [("gc_collect_main",) + r for r in con.execute(
        "SELECT tid, start, duration_ns FROM gc_pauses WHERE capture = ?", (cap,))]
    kept += [("take_gil",) + r for r in con.execute(
        "SELECT tid, start, duration_ns FROM gil_waits WHERE capture = ? AND probe = 1", (cap,))]
    bad = []
    for fn, tid, start, dur in kept:
        c = by_start.get((tid, start))
        if not c or c[0] != fn or c[3] - c[2] != dur:
            bad.append(f"{fn} of {tid} at {start} ({dur} ns) is not one of perf's calls")
        elif spans(c, lost):
            bad.append(f"{fn} of {tid} at {start} ({dur} ns) spans a LOST record")
    across = {fn: sum(1 for c in cs if c[0] == fn and spans(c, lost)) for fn in ("gc_collect_main", "take_gil")}
    print(f"kept {len(kept)}, spanning {sum('spans' in b for b in bad)}; calls across a loss: "
          f"gc {across['gc_collect_main']}, take_gil {across['take_gil']}; LOST records {len(lost)}")
    for b in bad[:10]:
        print(b)
    sys.exit(1 if bad or not kept else 0)


if __name__ == "__main__":
    main()
