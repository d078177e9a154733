"""Compares perfsight's reading of a callgrind file with callgrind_annotate's.

    python3 tests/tools/callgrind_check.py EXPORT.json FILE

EXPORT.json is `perfsight export FILE --format json` (perfsight-callgraph/1). callgrind_annotate
(valgrind's) is run on FILE twice, for self costs and with --inclusive=yes, every function
shown (--threshold=100). Checked, for every event:
  - the program totals: callgrind_annotate's PROGRAM TOTALS (the summary: or totals: line, or
    the sum of the cost lines) is perfsight's summary when the file has one, and perfsight's
    sum of self costs when it has none; the sum of self costs is the sum of annotate's
    per-function self costs (which add up to the cost lines);
  - self cost per function name (annotate names a function file:name, the file changing at
    fi=/fe= lines inside it; both sides are summed by name): equal;
  - inclusive cost of each function that is alone with its name and does not call itself:
    equal (both sum the calls into a function from others, or take the own cost and the calls
    out of one nothing calls; annotate adds a function's calls to itself too, which counts
    the recursion twice).
Prints one line of figures and exits 0, or the differences and exits 1.
"""
import collections
import json
import re
import subprocess
import sys

# a column: "12,345 (6.78%)", "." for 0, or a bare "0" (a share that rounds to nothing)
COL = r"([\d,]+(?: \(\s*[\d.]+%\))?|\.)"


def annotate(path, inclusive):
    out = subprocess.run(["callgrind_annotate", "--threshold=100", "--auto=no",
                          "--inclusive=" + ("yes" if inclusive else "no"), path],
                         check=True, capture_output=True, text=True).stdout
    lines = out.splitlines()
    events = None
    totals = None
    rows = {}
    for i, line in enumerate(lines):
        if line.startswith("Events shown:"):
            events = line.split(":", 1)[1].split()
        m = re.match(r"^\s*(?P<cols>(?:%s\s+)+)(?P<rest>.*)$" % COL, line)
        if not m or events is None:
            continue
        vals = [0 if v == "." else int(v.split()[0].replace(",", ""))
                for v in re.findall(COL, m.group("cols"))]
        if len(vals) != len(events):
            continue
        rest = m.group("rest")
        if rest.startswith("PROGRAM TOTALS"):
            totals = vals
        elif re.match(r"^\S.*:.*", rest) and not rest.startswith("=>"):
            name = re.sub(r" \[[^]]*\]$", "", rest)
            rows.setdefault(name, vals)
    return events, totals, rows


def main():
    export, path = sys.argv[1], sys.argv[2]
    with open(export) as f:
        doc = json.load(f)
    events, totals, selfs = annotate(path, False)
    _, _, incls = annotate(path, True)
    errors = []
    names = [e["name"] for e in doc["events"]]
    if names != events:
        errors.append("events: annotate %r, perfsight %r" % (events, names))
    fns = doc["functions"]
    sums = [e["total"] for e in doc["events"]]
    summary = [e["summary"] for e in doc["events"]]
    want_totals = [s if s is not None else t for s, t in zip(summary, sums)]
    if totals != want_totals:
        errors.append("program totals: annotate %r, perfsight %r" % (totals, want_totals))
    # self costs by function name; annotate's rows are file:name, files may hold no ':'
    by_name = collections.defaultdict(lambda: [0] * len(names))
    for f in fns:
        for k, v in enumerate(f["self"]):
            by_name[f["function"]][k] += v
    ann_by_name = collections.defaultdict(lambda: [0] * len(names))
    known = {f["function"] for f in fns}
    for row, vals in selfs.items():
        # the function is the longest suffix after a ':' that perfsight knows
        name = next((row[i + 1:] for i in range(len(row)) if row[i] == ":" and
                     row[i + 1:] in known), None)
        if name is None:
            errors.append("annotate's %r names no function perfsight has" % row)
            continue
        for k, v in enumerate(vals):
            ann_by_name[name][k] += v
    ann_sum = [sum(v[k] for v in ann_by_name.values()) for k in range(len(names))]
    if ann_sum != sums:
        errors.append("sum of self costs: annotate %r, perfsight %r" % (ann_sum, sums))
    for name in set(by_name) | set(ann_by_name):
        a, b = ann_by_name.get(name, [0] * len(names)), by_name.get(name, [0] * len(names))
        if a != b:
            errors.append("self cost of %r: annotate %r, perfsight %r" % (name, a, b))
    # inclusive costs where both definitions agree: a function alone with its name, calling
    # itself not
    count = collections.Counter(f["function"] for f in fns)
    recursive = {e["caller"] for e in doc["edges"] if e["caller"] == e["callee"]}
    checked = 0
    for i, f in enumerate(fns):
        if count[f["function"]] != 1 or i in recursive:
            continue
        rows = [v for r, v in incls.items() if r.endswith(":" + f["function"])]
        if len(rows) != 1:
            continue
        checked += 1
        if rows[0] != f["inclusive"]:
            errors.append("inclusive cost of %r: annotate %r, perfsight %r" % (
                f["function"], rows[0], f["inclusive"]))
    if errors:
        print("\n".join(errors[:20]))
        sys.exit(1)
    print("%s: events %s, program totals %s, self costs of %d function names and inclusive "
          "costs of %d functions equal to callgrind_annotate's" % (
              path, " ".join(names), totals, len(by_name), checked))


main()
