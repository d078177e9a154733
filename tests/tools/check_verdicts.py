#!/usr/bin/env python3
"""Checks a perfsight summary's verdicts and time budgets against budget_reference.py's figures
of the same capture (docs/verdicts.md). Prints one line per failed check and exits 1 if any.

    check_verdicts.py SUMMARY.json REF.json 'id1 id2 ...' [VIEW]
                                    the verdicts that must fire, exactly; VIEW: the scenario's
                                    one endpoint, which must be the top handler
    check_verdicts.py --budget SUMMARY.json                  only the budgets add up (any capture)

Checked:
- the verdict ids are exactly the expected ones (none fires on a control);
- every thread's budget: parts + not recorded = lifetime within 1% (and each part >= 0);
- per thread, on CPU, GIL wait, runnable, socket I/O, select/poll and the off-CPU rest agree with
  the reference within 1% of the lifetime or 5 ms, and the lifetime is the reference window;
- each verdict's evidence against the reference: seconds within 2% of the workers' lifetime,
  sample counts exactly (CPU, GC) or within 2% (slow-path frames), shares within 0.02.
"""
import json
import sys

errors = []


def fail(msg):
    errors.append(msg)


def near(a, b, tol):
    return abs(a - b) <= tol


def budget_adds_up(s):
    n = 0
    for c in s["captures"]:
        for p in c["processes"]:
            for t in p["threads"]:
                b = t.get("budget")
                if not b or b["source"] != "switches":
                    continue
                n += 1
                parts = b["on_cpu_s"] + sum(b[k] for k in ("gil_wait_s", "io_wait_s", "idle_s",
                                                          "lock_wait_s", "runnable_s"))
                total = parts + b["not_recorded_s"]
                if any(b[k] < 0 for k in ("on_cpu_s", "gil_wait_s", "io_wait_s", "idle_s",
                                          "lock_wait_s", "runnable_s", "not_recorded_s")):
                    fail("thread %d: a negative part: %s" % (t["tid"], b))
                if not near(total, b["lifetime_s"], 0.01 * b["lifetime_s"] + 1e-9):
                    fail("thread %d: parts %.6f + not recorded %.6f = %.6f, lifetime %.6f"
                         % (t["tid"], parts, b["not_recorded_s"], total, b["lifetime_s"]))
                cat = sum(b["on_cpu"].values())
                if not near(cat, b["on_cpu_s"], 1e-6 + 1e-6 * b["on_cpu_s"]):
                    fail("thread %d: on-CPU categories %.6f != on_cpu_s %.6f"
                         % (t["tid"], cat, b["on_cpu_s"]))
    return n


def main():
    if sys.argv[1] == "--budget":
        s = json.load(open(sys.argv[2]))
        n = budget_adds_up(s)
        for e in errors:
            print(e)
        print("%d thread budgets checked" % n)
        sys.exit(1 if errors else 0)
    s = json.load(open(sys.argv[1]))
    r = json.load(open(sys.argv[2]))
    want = set(sys.argv[3].split())
    endpoint = sys.argv[4] if len(sys.argv) > 4 else None
    c = s["captures"][0]
    got = set(v["id"] for v in c["verdicts"])
    if got != want:
        fail("verdicts %s, expected %s" % (sorted(got), sorted(want)))
    n = budget_adds_up(s)
    if not n:
        fail("no thread budget measured from switches")
    w0, w1 = r["window"]
    win = w1 - w0
    if not near(c["duration_s"], win, 2e-6):
        fail("duration %.6f, reference window %.6f" % (c["duration_s"], win))
    # per thread against the reference
    workers = set(c["service"]["groups"][0]["worker_pids"]) if c["service"]["groups"] else set()
    tot = {"on": 0.0, "runnable": 0.0, "gil": 0.0, "sock": 0.0, "poll": 0.0, "wake": 0.0,
           "life": 0.0, "cpu": 0, "gc": 0, "json": 0}
    for p in c["processes"]:
        for t in p["threads"]:
            b = t["budget"]
            x = r["threads"].get(str(t["tid"]))
            if not b or not x:
                fail("thread %d: no budget or no reference" % t["tid"])
                continue
            tol = max(0.005, 0.01 * b["lifetime_s"])
            pairs = [("lifetime", b["lifetime_s"], x["life"]),
                     ("on CPU", b["on_cpu_s"], x["on"]),
                     ("GIL wait", b["gil_wait_s"], x["gil"]),
                     ("runnable", b["runnable_s"], x["runnable"]),
                     ("off-CPU rest", b["io_wait_s"] + b["idle_s"] + b["lock_wait_s"]
                      + b["not_recorded"]["off_cpu_reason_s"],
                      x["sock"] + x["poll"] + x["futex"] + x["sleep"] + x["other"]
                      + x["unknown"])]
            for name, mine, ref in pairs:
                if not near(mine, ref, tol):
                    fail("thread %d: %s %.6f s, reference %.6f s" % (t["tid"], name, mine, ref))
            if p["pid"] in workers:
                tot["on"] += b["on_cpu_s"]
                tot["runnable"] += b["runnable_s"]
                tot["gil"] += b["gil_wait_s"]
                tot["sock"] += x["sock"]
                tot["poll"] += x["poll"]
                tot["wake"] += x["wake"]
                tot["life"] += b["lifetime_s"]
                tot["cpu"] += r["cpu_samples"].get(str(t["tid"]), 0)
                tot["gc"] += r["gc_samples"].get(str(t["tid"]), 0)
                tot["json"] += r["json_encoder_samples"].get(str(t["tid"]), 0)
    stol = max(0.01, 0.02 * tot["life"])
    for v in c["verdicts"]:
        e = v["evidence"]
        vid = v["id"]
        if "on_cpu_s" in e and not near(e["on_cpu_s"], tot["on"], stol):
            fail("%s: on_cpu_s %.4f, workers' reference %.4f" % (vid, e["on_cpu_s"], tot["on"]))
        if "runnable_s" in e and not near(e["runnable_s"], tot["runnable"], stol):
            fail("%s: runnable_s %.4f, reference %.4f" % (vid, e["runnable_s"], tot["runnable"]))
        if "gil_wait_s" in e and not near(e["gil_wait_s"], tot["gil"], stol):
            fail("%s: gil_wait_s %.4f, reference %.4f" % (vid, e["gil_wait_s"], tot["gil"]))
        if "io_wait_s" in e and not near(e["io_wait_s"], tot["sock"], stol):
            fail("%s: io_wait_s %.4f, reference socket waits %.4f" % (vid, e["io_wait_s"],
                                                                     tot["sock"]))
        if "idle_s" in e and e.get("silent_workers", 0) == 0 and \
                not near(e["idle_s"], tot["poll"], stol):
            fail("%s: idle_s %.4f, reference select/poll waits %.4f" % (vid, e["idle_s"],
                                                                       tot["poll"]))
        if "cpu_samples" in e and e["cpu_samples"] != tot["cpu"]:
            fail("%s: cpu_samples %d, reference %d" % (vid, e["cpu_samples"], tot["cpu"]))
        if "gc_samples" in e and e["gc_samples"] != tot["gc"]:
            fail("%s: gc_samples %d, reference %d" % (vid, e["gc_samples"], tot["gc"]))
        if vid == "slow-path:json-encoder" and not near(e["samples"], tot["json"],
                                                         max(2, 0.02 * tot["json"])):
            fail("%s: samples %d, reference %d" % (vid, e["samples"], tot["json"]))
        if "cpu_wait_s" in e and not near(e["cpu_wait_s"], tot["runnable"] + tot["wake"], stol):
            fail("%s: cpu_wait_s %.4f, reference runnable + wakeup delay %.4f"
                 % (vid, e["cpu_wait_s"], tot["runnable"] + tot["wake"]))
    # the dominating handler: perf's unwinder stops at the first Python frame, so perf script
    # cannot count samples per view; the scenario's single endpoint must be the top handler,
    # and its share the handler table's (the view's samples over the workers')
    g = c["service"]["groups"][0] if c["service"]["groups"] else None
    if endpoint and g and g["cpu_samples"] >= 100:
        h = g["top_handler"]
        if not h or h["function"] != endpoint:
            fail("top handler %s, expected %s" % (h and h["function"], endpoint))
        else:
            rows = [x for x in (c["handlers"] or {}).get("rows", []) if x["label"].startswith(
                endpoint + " ")]
            want = rows[0]["cpu_samples"] / g["cpu_samples"] if rows else -1
            if not near(h["cpu_share"], min(want, 1.0), 1e-9):
                fail("top handler share %.4f, handler table %.4f" % (h["cpu_share"], want))
    for e in errors:
        print(e)
    sys.exit(1 if errors else 0)


main()
