#!/usr/bin/env python3
"""The time budgets and verdict figures of a capture, computed from `perf script
--show-switch-events` text alone: the referee of tests/e2e/verdicts.sh. Written apart from
perfsight (no shared code, its own reading of the text), with the same definitions
(docs/verdicts.md):

- the window is the capture's first to last sample (cpu-clock, sched_switch, sched_wakeup);
  switch records outside it (perf's side-band event runs before and after) only set a thread's
  state; segments are cut to the window;
- a thread is on CPU from a switch-in (a PERF_RECORD_SWITCH IN, a sched_switch naming it
  next_pid) or any sample of it, to its switch-out (sched_switch with it as prev_pid, or a
  PERF_RECORD_SWITCH OUT); off CPU from the switch-out to the next switch-in (or, with none,
  its next sample: an upper bound);
- an off-CPU segment is: runnable when prev_state is R/R+ (or the record says preempt); gil
  with take_gil on the switch-out stack; else by the kernel functions of the stack: sock (a
  socket read, write or connect), poll (select, poll, epoll), futex, sleep, other; unknown
  when only a switch record (no sched_switch stack) saw it;
- the wakeup delay is a sched_wakeup of the thread to its switch-in.
Per process it also counts CPU samples, GC samples (a GC collector frame on the stack), the
samples with frames of json's pure-Python encoder, and per request handler frame (py::NAME
of the application file named with --app) the samples under it.

    budget_reference.py PERF-SCRIPT.txt[.zst] [--app FILE-SUFFIX] > ref.json
"""
import json
import re
import subprocess
import sys

HEAD = re.compile(r"^\s*(.*?)\s+(\d+)(?:/(\d+))?\s+(?:\[(\d+)\]\s+)?(\d+\.\d+):\s+(.*)$")
GC = ("gc_collect_main", "collect", "_PyGC_Collect", "gc_collect_region")
SOCK = ("tcp_recvmsg", "sock_recvmsg", "unix_stream_read_generic", "sk_wait_data",
        "inet_wait_for_connect", "sk_stream_wait_memory", "__sys_connect")
POLL = ("do_select", "do_sys_poll", "ep_poll")
FUTEX = ("futex_wait", "futex_wait_queue", "__futex_wait")
SLEEP = ("hrtimer_nanosleep", "do_nanosleep")
JSON_PY = ("._iterencode:", "._iterencode_dict:", "._iterencode_list:")


def lines(path):
    if path.endswith(".zst"):
        out = subprocess.run(["zstd", "-dc", path], check=True, capture_output=True).stdout
        return out.decode("utf-8", "replace").splitlines()
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read().splitlines()


def records(path):
    """(tid, cpu, t, kind, text, stack) in file order; kind: out, in, cpu, switch, wakeup."""
    cur = None
    for line in lines(path):
        if line.startswith("\t"):
            if cur is not None and line.strip():
                fn = line.strip().split(None, 1)
                cur[5].append(fn[1].split("+")[0].split(" (")[0] if len(fn) > 1 else fn[0])
            continue
        if not line.strip():
            continue
        m = HEAD.match(line)
        if not m:
            continue
        if cur is not None:
            yield cur
        tid = int(m.group(3) or m.group(2))
        cpu = int(m.group(4)) if m.group(4) else None
        t = float(m.group(5))
        rest = m.group(6)
        if rest.startswith("PERF_RECORD_SWITCH"):
            kind = "out" if " OUT" in rest else "in"
        elif "sched:sched_switch:" in rest:
            kind = "switch"
        elif "sched:sched_wakeup" in rest:
            kind = "wakeup"
        elif "cpu-clock" in rest:
            kind = "cpu"
        else:
            kind = "other"
        cur = [tid, cpu, t, kind, rest, []]
    if cur is not None:
        yield cur


def classify(state, stack):
    if state is None:
        return "unknown"
    if state.startswith("R"):
        return "runnable"
    if any(f == "take_gil" or f.startswith("take_gil.") for f in stack):
        return "gil"
    for names, part in ((SOCK, "sock"), (POLL, "poll"), (FUTEX, "futex"), (SLEEP, "sleep")):
        if any(f.split(".")[0] in names for f in stack):
            return part
    return "other"


def main():
    path = sys.argv[1]
    app = sys.argv[sys.argv.index("--app") + 1] if "--app" in sys.argv else None
    recs = list(records(path))
    samples = [r[2] for r in recs if r[3] in ("cpu", "switch", "wakeup")]
    w0, w1 = min(samples), max(samples)
    pid_of = {}
    th = {}

    def T(tid):
        if tid not in th:
            th[tid] = {"state": None, "since": 0.0, "how": None, "stack": None, "wake": None,
                       "b": {k: 0.0 for k in ("on", "runnable", "gil", "sock", "poll", "futex",
                                              "sleep", "other", "unknown", "wake",
                                              "bounded")},
                       "first": None}
        return th[tid]

    def add(t, key, a, b):
        a, b = max(a, w0), min(b, w1)
        if b > a:
            t["b"][key] += b - a
            return b - a
        return 0.0

    def close_off(t, now, exact):
        key = "runnable" if t["how"] == "R" else classify(t["how"], t["stack"] or [])
        if t["how"] is None and t["stack"] is None:
            key = "unknown"
        add(t, key, t["since"], now)
        if not exact:
            add(t, "bounded", t["since"], now)
        if exact and t["wake"] is not None and t["since"] <= t["wake"] <= now <= w1:
            t["b"]["wake"] += now - max(t["wake"], w0) if now > w0 else 0.0
        t["wake"] = None

    def run(t, now):
        if t["state"] == "off":
            close_off(t, now, False)
        if t["state"] != "on":
            t["state"], t["since"] = "on", now

    cpu, gc, js, handler = {}, {}, {}, {}
    for tid, c, now, kind, text, stack in recs:
        t = T(tid)
        if t["first"] is None:
            t["first"] = now
        if kind in ("cpu", "switch", "wakeup"):
            run(t, now)
        if kind == "cpu":
            cpu[tid] = cpu.get(tid, 0) + 1
            if any(f.split(".")[0] in GC for f in stack):
                gc[tid] = gc.get(tid, 0) + 1
            # perf's unwinder stops at the first Python frame: the leaf-most one decides
            py = [f for f in stack if f.startswith("py::")]
            if py and "json/encoder.py" in py[0] and not any(
                    w in py[0] for w in ("JSONEncoder.encode:", "JSONEncoder.iterencode:")):
                js[tid] = js.get(tid, 0) + 1
            if app:
                for f in stack:
                    if f.startswith("py::") and f.endswith(app):
                        name = f[4:].rsplit(":", 1)[0]
                        if name.startswith("r_"):
                            handler[name] = handler.get(name, 0) + 1
                            break
        elif kind == "switch":
            m = re.search(r"prev_pid=(\d+) .*prev_state=(\S+) ==> .*next_pid=(\d+)", text)
            prev, state, nxt = int(m.group(1)), m.group(2), int(m.group(3))
            if nxt in th and nxt != tid:
                n = th[nxt]
                if n["state"] == "off":
                    close_off(n, now, True)
                if n["state"] != "on":
                    n["state"], n["since"] = "on", now
            if prev == tid:
                if t["state"] == "on":
                    add(t, "on", t["since"], now)
                if t["state"] != "off":
                    t["state"], t["since"], t["wake"] = "off", now, None
                t["how"], t["stack"] = state, stack
        elif kind == "out":
            if t["state"] == "off":
                if t["stack"] is None and "preempt" in text:
                    t["how"] = "R"
                continue
            if t["state"] == "on":
                add(t, "on", t["since"], now)
            t["state"], t["since"], t["wake"] = "off", now, None
            t["how"], t["stack"] = ("R" if "preempt" in text else None), None
        elif kind == "in":
            if t["state"] == "off":
                close_off(t, now, True)
            if t["state"] != "on":
                t["state"], t["since"] = "on", now
        elif kind == "wakeup":
            m = re.search(r" pid=(\d+)", text)
            x = th.get(int(m.group(1)))
            if x and x["state"] == "off" and x["wake"] is None and now >= x["since"]:
                x["wake"] = now
    for tid, t in th.items():
        if t["state"] == "on":
            add(t, "on", t["since"], w1)
        elif t["state"] == "off":
            close_off(t, w1, True)
    out = {"window": [w0, w1], "threads": {}, "cpu_samples": cpu, "gc_samples": gc,
           "json_encoder_samples": js, "handler_samples": handler}
    for tid, t in th.items():
        if t["first"] is None or t["first"] > w1:
            continue
        b = t["b"]
        b["life"] = w1 - max(w0, t["first"]) if t["first"] > w0 else w1 - w0
        out["threads"][str(tid)] = b
    json.dump(out, sys.stdout, indent=1, sort_keys=True)


main()
