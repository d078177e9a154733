#!/usr/bin/env python3
"""Side-by-side timings for `make bench`: perfsight against perf on the same files.

Each pair of commands runs alternately (perf, perfsight, perf, ...) so that drift on these
noisy 2-core machines hits both alike; the median wall time and the peak RSS of each are kept,
and the ratio perfsight/peer is what we quote. Results go to stdout and tests/out/bench.json.

usage: bench.py [--runs N] [--only NAME] CAPTURE_DIR...
"""
import json, os, statistics, subprocess, sys, time

def run(cmd, stdout=subprocess.DEVNULL):
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t0
    rc = os.waitstatus_to_exitcode(status)
    return dt, ru.ru_maxrss / 1024.0, rc

def compare(name, ours, peer, runs, results, limit=None, peer_name=None):
    t_o, t_p, m_o, m_p = [], [], [], []
    for _ in range(runs):
        dt, rss, rc = run(peer); t_p.append(dt); m_p.append(rss)
        dt, rss, rc2 = run(ours); t_o.append(dt); m_o.append(rss)
        if rc2 not in (0, 1):
            print(f"  {name}: perfsight exited {rc2}: {' '.join(ours)}")
            return
    mo, mp = statistics.median(t_o), statistics.median(t_p)
    ratio = mo / mp if mp else float("inf")
    verdict = "" if limit is None else ("  ok" if ratio <= limit else f"  OVER the {limit} limit")
    print(f"  {name:<44} perfsight {mo:8.3f} s {max(m_o):7.1f} MB | {peer_name or peer[0] + ' ' + peer[1]:<28} "
          f"{mp:8.3f} s {max(m_p):7.1f} MB | ratio {ratio:5.2f}{verdict}")
    results.append(dict(name=name, perfsight_s=mo, perfsight_mb=max(m_o), peer=" ".join(peer), peer_s=mp,
                        peer_mb=max(m_p), ratio=ratio, limit=limit))

def main():
    args = sys.argv[1:]
    runs = 5
    if args[:1] == ["--runs"]:
        runs = int(args[1]); args = args[2:]
    ps = os.environ.get("PERFSIGHT", "build/perfsight")
    results = []
    print(f"perfsight vs perf, median of {runs} alternating runs, wall time and peak RSS")
    print("info vs perf report --stats (must be <= 1.0):")
    for d in args:
        f = os.path.join(d, "perf.data")
        if not os.path.exists(f):
            continue
        n = os.path.basename(os.path.normpath(d))
        size = os.path.getsize(f) / 1e6
        compare(f"{n} ({size:.0f} MB)", [ps, "info", f], ["perf", "report", "--stats", "-i", f], runs, results, 1.0,
                "perf report --stats")
    have = lambda cmd: subprocess.run([ps, cmd, "--help"], capture_output=True).returncode == 0
    caps = [d for d in args if os.path.exists(os.path.join(d, "perf.data"))]
    big = [d for d in caps if os.path.basename(os.path.normpath(d)).startswith("big-")]
    if have("collapse"):
        print("collapse vs perf script (dwarf: <= 0.5 of --no-inline, <= 0.1 of inline; fp: <= 0.5 of --no-inline):")
        for d in big:
            f = os.path.join(d, "perf.data")
            n = os.path.basename(os.path.normpath(d))
            col = [ps, "collapse", "--event", "cpu-clock", f, "-o", "/dev/null"]
            compare(f"{n} collapse", col, ["perf", "script", "--no-inline", "-i", f], runs, results, 0.5,
                    "perf script --no-inline")
            if n == "big-dwarf":
                compare(f"{n} collapse", col, ["perf", "script", "-i", f], max(1, runs // 2), results, 0.1,
                        "perf script")
    if have("import"):
        print("import (fp: >= 500k samples/s, <= 40 B/sample; dwarf: <= perf script --no-inline):")
        for d in big:
            f = os.path.join(d, "perf.data")
            n = os.path.basename(os.path.normpath(d))
            db = f"/tmp/perfsight-bench-{n}.db"
            def imp():
                if os.path.exists(db): os.unlink(db)
                return [ps, "import", f, "-o", db]
            compare(f"{n} import", imp(), ["perf", "script", "--no-inline", "-i", f], 1, results,
                    1.0 if n == "big-dwarf" else None, "perf script --no-inline")
            if os.path.exists(db):
                info = json.loads(subprocess.run([ps, "info", "--json", f], capture_output=True, text=True).stdout)
                nsamp = sum(e["samples"] for e in info["events"])
                t = results[-1]["perfsight_s"]
                print(f"    {nsamp} samples, {nsamp / t:,.0f} samples/s, {os.path.getsize(db) / max(nsamp, 1):.1f} B/sample, "
                      f"peak RSS {results[-1]['perfsight_mb']:.0f} MB")
                results[-1].update(samples=nsamp, samples_per_s=nsamp / t, bytes_per_sample=os.path.getsize(db) / max(nsamp, 1))
                os.unlink(db)
    os.makedirs("tests/out", exist_ok=True)
    json.dump(results, open("tests/out/bench.json", "w"), indent=1)

main()
