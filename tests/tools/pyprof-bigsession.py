#!/usr/bin/env python3
"""Writes a large pyinstrument session for benchmarks by repeating a real session's
frame_records until the file reaches the requested size (the header is scaled to match, so
the result is a valid session: sample_count = records, duration = sum of weights).

Usage: pyprof-bigsession.py SOURCE.pyisession DEST MEGABYTES
"""
import json
import os
import sys

src, dest, mb = sys.argv[1], sys.argv[2], float(sys.argv[3])
with open(src) as f:
    sess = json.load(f)
records = sess.pop("frame_records")
one = len(json.dumps(records))
reps = max(1, int(mb * 1e6 / one))
total = sum(r[1] for r in records) * reps
sess["sample_count"] = len(records) * reps
sess["duration"] = total
tmp = dest + ".tmp"
with open(tmp, "w") as f:
    head = json.dumps(sess)
    f.write(head[:-1] + ', "frame_records": [')
    chunk = json.dumps(records)[1:-1]
    for i in range(reps):
        f.write(chunk if i == 0 else ", " + chunk)
    f.write("]}")
os.replace(tmp, dest)
print("%s: %d records, %.1f MB" % (dest, len(records) * reps, os.path.getsize(dest) / 1e6))
