#!/usr/bin/env python3
"""Compares `perfsight info` (text or --json) with `perf report --stats` output.

usage: check_stats.py PERF_REPORT_STATS.txt INFO_OUTPUT [--json]
Exit 0 when every record type count, the total and every event's sample count agree; else
prints each difference and exits 1.
"""
import json, re, sys

def perf_stats(path):
    rec, ev, cur = {}, {}, None
    for line in open(path):
        m = re.match(r"^\s*(\S+) events:\s+(\d+)", line)
        h = re.match(r"^(\S.*) stats:$", line.rstrip())
        if h:
            cur = None if h.group(1) == "Aggregated" else h.group(1)
        elif m and cur is None and m.group(1) != "TOTAL":
            rec[m.group(1)] = int(m.group(2))
        elif m and cur is None:
            rec["TOTAL"] = int(m.group(2))
        elif m and cur and m.group(1) == "SAMPLE":
            ev[cur] = int(m.group(2))
    return rec, ev

def ours_text(path):
    rec, ev, sect = {}, {}, None
    for line in open(path):
        if line.startswith("events:"): sect = "ev"; continue
        if line.startswith("records"): sect = "rec"; continue
        if not line.startswith(" "): sect = None if not line.startswith("  ") else sect
        if sect == "ev":
            m = re.match(r"^  (\S+)\s+(\d+) samples ", line)
            if m: ev[m.group(1)] = int(m.group(2))
        elif sect == "rec":
            m = re.match(r"^\s*(\S+) events:\s+(\d+)", line)
            if m: rec[m.group(1)] = int(m.group(2))
    return rec, ev

def ours_json(path):
    j = json.load(open(path))
    rec = dict(j["records"]); rec["TOTAL"] = j["total_records"]
    return rec, {e["name"]: e["samples"] for e in j["events"]}

def main():
    prec, pev = perf_stats(sys.argv[1])
    orec, oev = (ours_json if "--json" in sys.argv else ours_text)(sys.argv[2])
    bad = []
    if not prec:
        bad.append("perf's stats file holds no record counts")
    for k in sorted(set(prec) | set(orec)):
        if prec.get(k, 0) != orec.get(k, 0):
            bad.append(f"records {k}: perf {prec.get(k, 0)}, perfsight {orec.get(k, 0)}")
    for k in sorted(set(pev) | set(k for k, v in oev.items() if v)):
        if pev.get(k, 0) != oev.get(k, 0):
            bad.append(f"samples of {k}: perf {pev.get(k, 0)}, perfsight {oev.get(k, 0)}")
    for b in bad:
        print(b)
    sys.exit(1 if bad else 0)

main()
