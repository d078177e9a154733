#!/usr/bin/env python3
"""Checks a report data document against docs/report-data.md (version 1).

usage: check_reportdata.py DOC.json [--weight W] [--max-bytes N]

Prints "PASS name" or "FAIL name: why" lines. --weight: the total every thread's trees must add
up to over the whole document (the capture's weight in the document's unit).
"""
import argparse
import json
import os
import sys

KINDS = ["python", "library", "interp", "gc", "gil", "kernel", "native", "other"]


class Fail(Exception):
    pass


def need(cond, why):
    if not cond:
        raise Fail(why)


def check_tree(t, strings, cols, where):
    n = len(t["parent"])
    for c in cols:
        need(len(t[c]) == n, "%s: column %s has %d entries, parent %d" % (where, c, len(t[c]), n))
    need(n >= 1 and t["parent"][0] == -1, where + ": node 0 is not the root")
    sums = [0] * n
    for i in range(1, n):
        p = t["parent"][i]
        need(0 <= p < i, "%s: parent[%d] = %d" % (where, i, p))
        sums[p] += t["total"][i]
    for i in range(n):
        need(abs(t["total"][i] - t["self"][i] - sums[i]) <= 1e-6 * max(1, abs(t["total"][i])),
             "%s: total[%d] %r != self %r + children %r" % (where, i, t["total"][i],
                                                             t["self"][i], sums[i]))
        need(0 <= t["name"][i] < len(strings), "%s: name[%d] out of range" % (where, i))
        if "kind" in t:
            need(0 <= t["kind"][i] < len(KINDS), "%s: kind[%d] out of range" % (where, i))
            if strings[t["name"][i]] == "[other]":
                need(t["kind"][i] == KINDS.index("other"), where + ": [other] not of kind other")
        if "file" in t:
            need(0 <= t["file"][i] < len(strings), "%s: file[%d] out of range" % (where, i))
    return t["total"][0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("doc")
    ap.add_argument("--weight", type=float)
    ap.add_argument("--max-bytes", type=int)
    a = ap.parse_args()
    name = os.path.basename(a.doc)
    checks = []

    def check(what, fn):
        try:
            fn()
            checks.append("PASS %s-%s" % (what, name))
        except (Fail, KeyError, TypeError, IndexError) as e:
            checks.append("FAIL %s-%s: %s" % (what, name, e))

    text = open(a.doc, encoding="utf-8").read()
    d = json.loads(text)
    strings = d.get("strings", [])

    def top():
        need(d["version"] == 1, "version")
        need(d["kinds"] == KINDS, "kinds")
        need(isinstance(d["meta"], dict) and isinstance(d["warnings"], list), "meta/warnings")
        need(all(isinstance(s, str) for s in strings), "strings")
        for w in d["warnings"]:
            need(w["severity"] in ("info", "warn", "error"), "severity " + w["severity"])
        need("<" not in text and ">" not in text and "&" not in text, "unescaped markup")
    check("contract", top)

    def trees():
        whole = 0
        for p in d["processes"]:
            need(p["role"] in ("master", "worker", "other"), "role " + p["role"])
            psum = 0
            for th in p["threads"]:
                totals = [check_tree(th["trees"][v], strings,
                                     ("name", "kind", "self", "total"),
                                     "pid %d tid %d %s" % (p["pid"], th["tid"], v))
                          for v in ("python", "mixed", "native")]
                need(len(set(totals)) == 1, "views disagree: %r" % totals)
                need(sum(th["categories"].values()) == totals[0] or
                     abs(sum(th["categories"].values()) - totals[0]) <= len(KINDS),
                     "categories %r vs total %r" % (sum(th["categories"].values()), totals[0]))
                psum += totals[0]
            need(abs(sum(p["categories"].values()) - psum) <= len(KINDS) * len(p["threads"]),
                 "process categories")
            whole += psum
        if a.weight is not None:
            need(abs(whole - a.weight) <= 1e-6 * max(1, a.weight) + len(d["processes"]),
                 "trees add up to %r, capture weighs %r" % (whole, a.weight))
    check("trees", trees)

    if "pyinstrument" in d:
        def sessions():
            for s in d["pyinstrument"]["sessions"]:
                check_tree(s["tree"], strings, ("name", "file", "line", "self", "total"),
                           "session " + str(s["label"]))
        check("sessions", sessions)
    if "timeline" in d:
        def timeline():
            tl = d["timeline"]
            need(tl["bucket_s"] > 0, "bucket_s")
            for t in tl["threads"]:
                n = len(t["on_cpu"])
                for k in ("gil_wait", "gc"):
                    need(len(t[k]) == n, k + " length")
                for k in ("on_cpu", "gil_wait", "gc"):
                    need(all(0 <= x <= 1 for x in t[k]), k + " outside 0..1")
        check("timeline", timeline)
    if a.max_bytes:
        def size():
            need(len(text.encode()) <= a.max_bytes, "%d bytes" % len(text.encode()))
        check("size", size)
    print("\n".join(checks))


if __name__ == "__main__":
    main()
