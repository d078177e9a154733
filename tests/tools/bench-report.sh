#!/bin/sh
# The report's size and speed budget on a big capture (issue 7: a 1M-sample capture gives at
# most 5 MB and opens and draws in under 2 s in headless Chromium). Until perfsight writes the
# report data itself, the data comes from `perf script` through tests/tools/perfscript2data.py.
#
# usage: tests/tools/bench-report.sh CAPTURE_DIR [OUTDIR]   (CAPTURE_DIR holds perf.data, maps/)
# Prints one line per figure; exits 1 when a budget is exceeded.
set -e
cap=$1
out=${2:-tests/out/bench-report}
B=${B:-build}
[ -s "$cap/perf.data" ] || { echo "no $cap/perf.data" >&2; exit 2; }
mkdir -p "$out"
cp "$cap"/maps/perf-*.map /tmp/ 2>/dev/null || true # perf script names Python frames from /tmp
if [ ! -s "$out/data.json" ] || [ "$cap/perf.data" -nt "$out/data.json" ]; then
	perf script -i "$cap/perf.data" 2>/dev/null | python3 tests/tools/perfscript2data.py >"$out/data.json"
fi
t0=$(date +%s%N)
"$B"/perfsight report --data "$out/data.json" -o "$out/report.html"
t1=$(date +%s%N)
[ -d tests/browser/node_modules/playwright-core ] ||
	(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
open=$(node tests/browser/run.js open "$out/report.html" "$out" | sed -n 's/^# open_ms \([0-9]*\).*/\1/p')
samples=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["meta"]["samples"])' "$out/data.json")
size=$(stat -c %s "$out/report.html")
echo "samples $samples"
echo "report_bytes $size (budget 5000000)"
echo "render_ms $(((t1 - t0) / 1000000)) (from report data; the database part is not included)"
echo "open_and_draw_ms $open (budget 2000)"
[ "$size" -le 5000000 ] && [ -n "$open" ] && [ "$open" -le 2000 ]
