#!/usr/bin/env python3
"""Side-by-side timings for `make bench`: perfsight against its peers on the same files.

Each pair of commands runs alternately (peer, perfsight, peer, ...) so that drift on these
noisy 2-core machines hits both alike; the median wall time and the peak RSS of each are kept,
and the ratio perfsight/peer is what we quote. Cases without a peer (speeds in samples/s or
MB/s) are medians of the same number of runs. Every case ends in one verdict per target
(issues 2, 3, 4 and 6); a peer that is not installed is skipped with a SKIP line, never
silently. The table goes to stdout and tests/out/bench.txt, the figures to tests/out/bench.json.

usage: bench.py [--runs N] [--pyprof FILE] [--trend-db DB] CAPTURE_DIR...
"""
import json, os, shutil, statistics, subprocess, sys, time

RSS_LIMIT_MB = 250          # issue 4: import peak RSS, whatever the capture size
IMPORT_RATE = 500000        # issue 4: samples/s on the 1M+ frame-pointer capture
IMPORT_BYTES = 40           # issue 4: database bytes per sample
PYPROF_RATE = 100           # issue 6: MB/s of pyinstrument JSON
DIFF_RATIO = 2.0            # issue 14: diff of two big captures <= 2x two reports of them
TREND_S = 1.0               # issue 14: trend over a 1,000-capture database

lines = []
results = []


def out(s=""):
    print(s, flush=True)
    lines.append(s)


def run(cmd, before=None):
    if before:
        before()
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t0
    return dt, ru.ru_maxrss / 1024.0, os.waitstatus_to_exitcode(status)


def measure(ours, peer, runs, before=None):
    """Median wall and max RSS of ours (and of peer, alternating); None when ours failed."""
    t_o, t_p, m_o, m_p = [], [], [], []
    for _ in range(runs):
        if peer:
            dt, rss, _ = run(peer)
            t_p.append(dt)
            m_p.append(rss)
        dt, rss, rc = run(ours, before)
        if rc not in (0, 1):
            out(f"  FAILED (exit {rc}): {' '.join(ours)}")
            return None
        t_o.append(dt)
        m_o.append(rss)
    return (statistics.median(t_o), max(m_o),
            statistics.median(t_p) if peer else None, max(m_p) if peer else None)


def row(case, m, peer_name, verdicts, **extra):
    s_o, r_o, s_p, r_p = m
    ratio = s_o / s_p if s_p else None
    peer = (f"{peer_name:<24} {s_p:8.3f} {r_p:7.0f}" if s_p is not None
            else f"{'-':<24} {'-':>8} {'-':>7}")
    rs = f"{ratio:6.2f}" if ratio is not None else f"{'-':>6}"
    out(f"{case:<38} {s_o:8.3f} {r_o:7.0f} | {peer} | {rs} | {'; '.join(verdicts)}")
    results.append(dict(case=case, perfsight_s=s_o, perfsight_mb=r_o, peer=peer_name,
                        peer_s=s_p, peer_mb=r_p, ratio=ratio, verdicts=verdicts, **extra))


def verdict(ok, text):
    return ("ok " if ok else "OVER ") + text


def samples_of(ps, f):
    info = json.loads(subprocess.run([ps, "info", "--json", f], capture_output=True,
                                     text=True).stdout)
    return sum(e["samples"] for e in info["events"])


def main():
    args = sys.argv[1:]
    runs, pyprof, trend_db = 5, None, None
    while args and args[0].startswith("--"):
        if args[0] == "--runs":
            runs = int(args[1])
        elif args[0] == "--pyprof":
            pyprof = args[1]
        elif args[0] == "--trend-db":
            trend_db = args[1]
        args = args[2:]
    ps = os.environ.get("PERFSIGHT", "build/perfsight")
    have_perf = shutil.which("perf") is not None
    caps = [d for d in args if os.path.exists(os.path.join(d, "perf.data"))]
    name = lambda d: os.path.basename(os.path.normpath(d))
    # big-dwarf2 is only the other side of diff's case: the per-capture targets are not its
    big = [d for d in caps if name(d).startswith("big-") and name(d) != "big-dwarf2"]
    caps = [d for d in caps if name(d) != "big-dwarf2"]
    dw = [d for d in args if name(d) in ("big-dwarf", "big-dwarf2") and
          os.path.exists(os.path.join(d, "perf.data"))]
    out(f"perfsight vs peers: median of {runs} alternating runs; wall seconds, peak RSS MB")
    out(f"{'case':<38} {'s':>8} {'MB':>7} | {'peer':<24} {'s':>8} {'MB':>7} | {'ratio':>6} | verdicts")
    if not have_perf:
        out("SKIP every perf peer: perf is not installed (ratios cannot be measured)")

    # issue 2: info against perf report --stats
    for d in caps:
        f = os.path.join(d, "perf.data")
        peer = ["perf", "report", "--stats", "-i", f] if have_perf else None
        m = measure([ps, "info", f], peer, runs)
        if m:
            v = [verdict(m[0] <= m[2], "info <= 1.0x perf report --stats")] if peer else \
                ["SKIP ratio: no perf"]
            row(f"info {name(d)} ({os.path.getsize(f) / 1e6:.0f} MB)", m,
                "perf report --stats", v)

    # issue 3: collapse against perf script
    for d in big:
        f = os.path.join(d, "perf.data")
        col = [ps, "collapse", "--event", "cpu-clock", f]
        noinl = ["perf", "script", "--no-inline", "-i", f] if have_perf else None
        m = measure(col, noinl, runs)
        if not m:
            continue
        v = [verdict(m[0] <= 0.5 * m[2], "<= 0.5x perf script --no-inline")] if noinl else \
            ["SKIP ratio: no perf"]
        rss_peers = [m[3]] if noinl else []
        if name(d) == "big-dwarf" and have_perf:
            m2 = measure(col, ["perf", "script", "-i", f], max(1, runs // 2))
            if m2:
                rss_peers.append(m2[3])
                row(f"collapse {name(d)}", m2, "perf script",
                    [verdict(m2[0] <= 0.1 * m2[2], "<= 0.1x perf script")])
            v.append(verdict(m[1] < min(rss_peers), "RSS below both perf scripts"))
        row(f"collapse {name(d)}", m, "perf script --no-inline", v)

    # issue 4: import, end to end, and what it costs per sample
    for d in big:
        f = os.path.join(d, "perf.data")
        db = f"/tmp/perfsight-bench-{name(d)}.db"

        def fresh():
            for x in (db, db + "-wal", db + "-shm", db + "-journal"):
                if os.path.exists(x):
                    os.unlink(x)
        noinl = ["perf", "script", "--no-inline", "-i", f] if have_perf else None
        m = measure([ps, "import", f, "-o", db], noinl, max(1, runs // 2), fresh)
        if not m or not os.path.exists(db):
            continue
        n = samples_of(ps, f)
        rate, per = n / m[0], os.path.getsize(db) / max(n, 1)
        v = [verdict(m[1] < RSS_LIMIT_MB, f"RSS < {RSS_LIMIT_MB} MB")]
        if name(d) == "big-dwarf":
            v.append(verdict(m[0] <= m[2], "<= 1.0x perf script --no-inline") if noinl
                     else "SKIP ratio: no perf")
        else:
            v.append(verdict(rate >= IMPORT_RATE, f"{rate:,.0f} samples/s >= {IMPORT_RATE:,}"))
            v.append(verdict(per <= IMPORT_BYTES, f"{per:.1f} B/sample <= {IMPORT_BYTES}"))
        row(f"import {name(d)} ({n} samples)", m, "perf script --no-inline", v,
            samples=n, samples_per_s=rate, bytes_per_sample=per)
        fresh()

    # issue 6: a large pyinstrument session, imported and collapsed end to end
    if pyprof and os.path.exists(pyprof):
        mb = os.path.getsize(pyprof) / 1e6
        db = "/tmp/perfsight-bench-pyprof.db"

        def fresh():
            for x in (db, db + "-wal", db + "-shm", db + "-journal"):
                if os.path.exists(x):
                    os.unlink(x)
        for what, cmd, before in (
                ("import", [ps, "import", pyprof, "-o", db], fresh),
                ("collapse", [ps, "collapse", pyprof], None)):
            m = measure(cmd, None, max(1, runs // 2), before)
            if m:
                rate = mb / m[0]
                row(f"{what} pyisession ({mb:.0f} MB)", m, "-",
                    [verdict(rate >= PYPROF_RATE, f"{rate:.0f} MB/s >= {PYPROF_RATE}")],
                    mb_per_s=rate)
        fresh()
    elif pyprof:
        out(f"SKIP pyprof: {pyprof} is missing")

    # issue 14: diff of big-dwarf against a second capture of its size, against two reports
    if len(dw) == 2:
        a, b = (os.path.join(d, "perf.data") for d in sorted(dw, key=name))
        two = ["sh", "-c", f'"{ps}" report "{a}" -o /dev/null && "{ps}" report "{b}" -o /dev/null']
        m = measure([ps, "diff", a, b, "-o", "/dev/null", "--json", "/dev/null"], two,
                    max(1, runs // 2))
        if m:
            row("diff big-dwarf big-dwarf2 (html+json)", m, "two perfsight reports",
                [verdict(m[0] <= DIFF_RATIO * m[2], f"<= {DIFF_RATIO}x two reports")])
    else:
        out("SKIP diff: big-dwarf2 is missing (tests/tools/record/big-dwarf.sh records it)")

    # issue 14: trend over a database of 1,000 captures, from the figures import kept
    if trend_db and os.path.exists(trend_db):
        m = measure([ps, "trend", trend_db, "-o", "/dev/null", "--json", "/dev/null"], None,
                    runs)
        if m:
            caps = json.loads(subprocess.run([ps, "trend", trend_db, "--json", "-"],
                                             capture_output=True, text=True).stdout)
            n = len(caps["captures"])
            row(f"trend {n} captures (html+json)", m, "-",
                [verdict(m[0] < TREND_S and n >= 1000, f"< {TREND_S} s over >= 1000 captures")],
                captures=n)
    elif trend_db:
        out(f"SKIP trend: {trend_db} is missing")

    over = sum(1 for r in results for v in r["verdicts"] if v.startswith("OVER"))
    out(f"{len(results)} cases, {over} verdicts over their target")
    os.makedirs("tests/out", exist_ok=True)
    with open("tests/out/bench.txt", "w") as fh:
        fh.write("\n".join(lines) + "\n")
    with open("tests/out/bench.json", "w") as fh:
        json.dump(results, fh, indent=1)


main()
