#!/usr/bin/env python3
"""Converts `perf script` text into the report data model (docs/report-data.md).

Test tool only: it lets the report and browser tests run on realistic data before the native
pipeline produces it. Frame kinds come from simple name rules, GC pauses and GIL waits from runs
of consecutive samples of one thread inside the collector or the GIL.

usage: perfscript2data.py [--hostile] [--pyinstrument DIR] [--minwidth FRACTION] < script > out.json
"""
import argparse
import glob
import json
import os
import re
import sys

KINDS = ["python", "library", "interp", "gc", "gil", "kernel", "native", "other"]
K = {k: i for i, k in enumerate(KINDS)}
HOSTILE = ['<img src=x onerror=alert(1)>', '</script><script>alert(2)</script>',
           '"quoted" \'single\' & <b>bold</b>']

GC_RE = re.compile(r'^(gc_collect|_PyGC_|gc_|collect_|visit_|subtract_refs|move_unreachable|'
                   r'update_refs|deduce_unreachable|PyObject_GC_Del|_PyObject_GC_)')
GIL_RE = re.compile(r'^(take_gil|drop_gil|PyEval_RestoreThread|_PyEval_AcquireLock|'
                    r'PyThread_acquire_lock)')
HEAD_RE = re.compile(r'^(.*?)\s+(\d+)(?:/(\d+))?\s+(?:\[\d+\]\s+)?([\d.]+):\s+(\d+)\s+(\S+):')
FRAME_RE = re.compile(r'^\s+[0-9a-f]+\s+(.*?)(?:\+0x[0-9a-f]+)?\s+\((.*)\)$')


def classify(sym, dso):
    if sym.startswith('py::'):
        f = sym[4:]
        func, _, path = f.partition(':')
        lib = ('/lib/python3' in path or 'site-packages' in path or path.startswith('<frozen')
               or '/site/' in path)
        return '%s (%s)' % (func, path), K['library' if lib else 'python']
    if dso == '[kernel.kallsyms]':
        return sym + ' [k]', K['kernel']
    if GC_RE.match(sym):
        return sym, K['gc']
    if GIL_RE.match(sym):
        return sym, K['gil']
    if 'libpython' in dso or sym.startswith(('_Py', 'Py')):
        return sym, K['interp']
    return sym, K['native']


class Strings:
    def __init__(self):
        self.v, self.ix = [], {}

    def __call__(self, s):
        if s not in self.ix:
            self.ix[s] = len(self.v)
            self.v.append(s)
        return self.ix[s]


class Tree:
    def __init__(self, strings):
        self.parent, self.name, self.kind, self.self_ = [-1], [strings('all')], [K['other']], [0]
        self.kids = [{}]

    def add(self, stack, w):
        n = 0
        for name, kind in stack:
            c = self.kids[n].get((name, kind))
            if c is None:
                c = len(self.parent)
                self.kids[n][(name, kind)] = c
                self.parent.append(n)
                self.name.append(name)
                self.kind.append(kind)
                self.self_.append(0)
                self.kids.append({})
            n = c
        self.self_[n] += w

    def emit(self, strings, minfrac):
        """Pre-order arrays; children under minfrac of the root merged into one [other] node."""
        tot = self.self_[:]
        for i in range(len(tot) - 1, 0, -1):
            tot[self.parent[i]] += tot[i]
        limit = tot[0] * minfrac
        out = {"parent": [], "name": [], "kind": [], "self": [], "total": []}
        other = strings('[other]')

        def put(p, name, kind, s, t):
            out["parent"].append(p)
            out["name"].append(name)
            out["kind"].append(kind)
            out["self"].append(s)
            out["total"].append(t)
            return len(out["parent"]) - 1

        stack = [(0, -1)]
        while stack:
            n, p = stack.pop()
            me = put(p, self.name[n], self.kind[n], self.self_[n], tot[n])
            kids = sorted(self.kids[n].values(), key=lambda c: -tot[c])
            small = sum(tot[c] for c in kids if tot[c] < limit)
            if small:
                put(me, other, K['other'], small, small)
            for c in reversed([c for c in kids if tot[c] >= limit]):
                stack.append((c, me))
        return out


def parse(lines):
    samples, cur = [], None
    for line in lines:
        line = line.rstrip('\n')
        if not line.strip():
            if cur:
                samples.append(cur)
            cur = None
            continue
        if not line[0].isspace():
            m = HEAD_RE.match(line)
            if m:
                tid = int(m.group(3) or m.group(2))
                cur = {"comm": m.group(1).strip(), "tid": tid, "pid": None,
                       "time": float(m.group(4)), "period": int(m.group(5)),
                       "event": m.group(6), "frames": []}
            continue
        m = FRAME_RE.match(line)
        if m and cur is not None:
            sym, dso = m.group(1), m.group(2)
            pm = re.search(r'perf-(\d+)\.map', dso)
            if pm:
                cur["pid"] = int(pm.group(1))
            if sym == '[unknown]' and dso == '[unknown]':
                continue
            cur["frames"].append((sym, dso))
    if cur:
        samples.append(cur)
    return samples


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--hostile', action='store_true')
    ap.add_argument('--pyinstrument')
    ap.add_argument('--minwidth', type=float, default=0.001)
    ap.add_argument('--title', default='gunicorn gthread under wrk')
    a = ap.parse_args()
    samples = parse(sys.stdin)
    if not samples:
        sys.exit('perfscript2data: no samples')
    S = Strings()
    kinds_names = {}
    # a thread's pid is the pid of the JIT map its Python frames come from
    tid_pid = {}
    for s in samples:
        if s["pid"] is not None:
            tid_pid.setdefault(s["tid"], s["pid"])
    t0 = min(s["time"] for s in samples)
    t1 = max(s["time"] for s in samples)
    period = samples[0]["period"]
    unit_s = period / 1e9 if samples[0]["event"].rstrip(':') in ('cpu-clock', 'task-clock') else 0
    procs, threads = {}, {}
    pauses, waits = [], []
    runs = {}
    bucket_s = max((t1 - t0) / 60, 0.05)
    nb = int((t1 - t0) / bucket_s) + 1
    for i, s in enumerate(samples):
        tid = s["tid"]
        pid = tid_pid.get(tid, tid)
        comm = s["comm"]
        if a.hostile and tid == min(tid_pid):
            comm = HOSTILE[0]
        th = threads.get(tid)
        if th is None:
            th = threads[tid] = {"tid": tid, "pid": pid, "comm": comm, "samples": 0,
                                 "cats": [0] * len(KINDS), "trees": {v: Tree(S) for v in
                                                                     ("python", "mixed", "native")},
                                 "on": [0] * nb, "gc_t": [0] * nb, "gil_t": [0] * nb,
                                 "gcn": 0, "gcms": 0.0, "gclong": 0.0, "giln": 0, "gils": 0.0}
        th["samples"] += 1
        mixed = []
        for sym, dso in reversed(s["frames"]):
            name, kind = classify(sym, dso)
            if a.hostile and kind in (K['python'], K['native']) and hash(name) % 5 == 0:
                name = HOSTILE[len(name) % len(HOSTILE)] + ' ' + name
            mixed.append((S(name), kind))
        py = [f for f in mixed if f[1] in (K['python'], K['library'])] or \
            [(S('[native]'), K['native'])]
        nat = [f for f in mixed if f[1] not in (K['python'], K['library'])] or \
            [(S('[python]'), K['python'])]
        th["trees"]["mixed"].add(mixed, 1)
        th["trees"]["python"].add(py, 1)
        th["trees"]["native"].add(nat, 1)
        in_gc = any(k == K['gc'] for _, k in mixed)
        in_gil = any(k == K['gil'] for _, k in mixed)
        # time inside the collector or the GIL counts there whatever the leaf frame is
        cat = K['gc'] if in_gc else K['gil'] if in_gil else mixed[-1][1] if mixed else K['other']
        th["cats"][cat] += 1
        b = int((s["time"] - t0) / bucket_s)
        th["on"][b] += 1
        if in_gc:
            th["gc_t"][b] += 1
        if in_gil:
            th["gil_t"][b] += 1
        for flag, lst in (("gc", pauses), ("gil", waits)):
            on = in_gc if flag == "gc" else in_gil
            key = (tid, flag)
            r = runs.get(key)
            if on and r is None:
                runs[key] = {"pid": pid, "tid": tid, "start_s": round(s["time"] - t0, 6),
                             "n": 1, "stack": [n for n, k in py if k != K['native']]}
            elif on:
                r["n"] += 1
            elif r is not None:
                lst.append(r)
                del runs[key]
    for key, r in runs.items():
        (pauses if key[1] == "gc" else waits).append(r)
    per_ms = (unit_s or 1 / 149) * 1000
    gc_pauses = [{"pid": r["pid"], "tid": r["tid"], "start_s": r["start_s"],
                  "dur_ms": round(r["n"] * per_ms, 3), "gen": 2 if r["n"] > 2 else 0,
                  "stack": r["stack"]} for r in pauses]
    gil_waits = [{"pid": r["pid"], "tid": r["tid"], "start_s": r["start_s"],
                  "dur_ms": round(r["n"] * per_ms, 3), "stack": r["stack"]} for r in waits]
    for r in gc_pauses:
        th = threads[r["tid"]]
        th["gcn"] += 1
        th["gcms"] += r["dur_ms"]
        th["gclong"] = max(th["gclong"], r["dur_ms"])
    for r in gil_waits:
        th = threads[r["tid"]]
        th["giln"] += 1
        th["gils"] += r["dur_ms"] / 1000
    per_bucket = bucket_s / (unit_s or 1 / 149)
    master = min(tid_pid.values()) if len(set(tid_pid.values())) > 1 else None
    tl = []
    for tid in sorted(threads):
        th = threads[tid]
        pid = th["pid"]
        p = procs.setdefault(pid, {"pid": pid, "comm": th["comm"] if tid == pid else "python3.12",
                                   "role": "master" if pid == master else "worker",
                                   "threads": []})
        if tid == pid:
            p["comm"] = th["comm"]
        p["threads"].append({
            "tid": tid, "comm": th["comm"], "samples": th["samples"],
            "cpu_s": round(th["samples"] * (unit_s or 1 / 149), 6),
            "categories": dict(zip(KINDS, th["cats"])),
            "gc": {"pauses": th["gcn"], "total_ms": round(th["gcms"], 3),
                   "longest_ms": th["gclong"]},
            "gil": {"waits": th["giln"], "wait_s": round(th["gils"], 6)},
            "trees": {v: t.emit(S, a.minwidth) for v, t in th["trees"].items()}})
        tl.append({"pid": pid, "tid": tid,
                   "on_cpu": [round(min(1, x / per_bucket), 3) for x in th["on"]],
                   "gil_wait": [round(min(1, x / per_bucket), 3) for x in th["gil_t"]],
                   "gc": [round(min(1, x / per_bucket), 3) for x in th["gc_t"]]})
    plist = []
    for pid in sorted(procs):
        p = procs[pid]
        ts = p["threads"]
        p["samples"] = sum(t["samples"] for t in ts)
        p["cpu_s"] = round(sum(t["cpu_s"] for t in ts), 6)
        p["categories"] = {k: sum(t["categories"][k] for t in ts) for k in KINDS}
        p["gc"] = {"pauses": sum(t["gc"]["pauses"] for t in ts),
                   "total_ms": round(sum(t["gc"]["total_ms"] for t in ts), 3),
                   "longest_ms": max(t["gc"]["longest_ms"] for t in ts)}
        p["gil"] = {"waits": sum(t["gil"]["waits"] for t in ts),
                    "wait_s": round(sum(t["gil"]["wait_s"] for t in ts), 6)}
        plist.append(p)
    events = sorted({s["event"] for s in samples})
    data = {
        "version": 1,
        "meta": {"title": a.title, "host": "fixture", "source": "perf script",
                 "command": "python3.12 -X perf -m gunicorn -w 2 -k gthread --threads 4 app:app",
                 "duration_s": round(t1 - t0, 6), "events": events, "samples": len(samples),
                 "lost": 0, "unit": "samples", "unit_s": unit_s or 1 / 149},
        "warnings": [{"severity": "warn", "code": "unresolved-frames", "count": 63,
                      "message": "63 frames could not be symbolized ([unknown])"}],
        "kinds": KINDS,
        "strings": S.v,
        "processes": plist,
        "gc_pauses": gc_pauses,
        "gil_waits": gil_waits,
        "timeline": {"bucket_s": round(bucket_s, 6), "threads": tl},
    }
    if a.hostile:
        data["meta"]["command"] = HOSTILE[1] + ' ' + HOSTILE[2]
        data["meta"]["host"] = HOSTILE[0]
        data["warnings"].append({"severity": "error", "code": HOSTILE[0], "count": 1,
                                 "message": HOSTILE[1]})
        data["findings"] = [HOSTILE[2]]
    if a.pyinstrument:
        data["pyinstrument"] = pyinstrument(a.pyinstrument, S, a.hostile)
        data["strings"] = S.v
    json.dump(data, sys.stdout, separators=(',', ':'), ensure_ascii=False)


def pyinstrument(d, S, hostile):
    sessions = []
    for path in sorted(glob.glob(os.path.join(d, '*.json'))):
        j = json.load(open(path))
        if 'root_frame' not in j:
            continue
        t = {"parent": [], "name": [], "file": [], "line": [], "self": [], "total": []}
        stack = [(j['root_frame'], -1)]
        while stack:
            f, p = stack.pop()
            fn = f.get('function', '?')
            if hostile and fn in ('fib', 'cpu', 'dispatch_request'):
                fn = HOSTILE[len(fn) % len(HOSTILE)] + fn
            kids = f.get('children', [])
            me = len(t["parent"])
            t["parent"].append(p)
            t["name"].append(S(fn))
            t["file"].append(S(f.get('file_path_short', '')))
            t["line"].append(f.get('line_no') or 0)
            t["total"].append(f.get('time', 0))
            t["self"].append(max(0, round(f.get('time', 0) - sum(c.get('time', 0) for c in kids),
                                          9)))
            for c in reversed(kids):
                stack.append((c, me))
        sessions.append({"label": os.path.splitext(os.path.basename(path))[0],
                         "duration_s": j.get('duration', 0), "cpu_s": j.get('cpu_time', 0),
                         "tree": t})
    return {"sessions": sessions}


if __name__ == '__main__':
    main()
