#!/bin/sh
# The report's size and speed budget on a big capture (issue 7): the report of a 1M-sample
# capture is at most 5 MB, opens and draws its flame graph in under 2 s in headless Chromium,
# and renders from a database import of the capture in under 1 s.
#
# usage: tests/tools/bench-report.sh CAPTURE_DIR [OUTDIR]   (CAPTURE_DIR holds perf.data, maps/)
# The database is imported once into OUTDIR and reused while it is newer than the capture.
# Prints one line per figure; exits 1 when a budget is exceeded, 2 when it cannot run.
set -e
cap=$1
out=${2:-tests/out/bench-report}
B=${B:-build}
[ -s "$cap/perf.data" ] || { echo "bench-report: no $cap/perf.data" >&2; exit 2; }
mkdir -p "$out"
ms() { echo $((($2 - $1) / 1000000)); }

t0=$(date +%s%N)
"$B"/perfsight report "$cap/perf.data" -o "$out/report.html" 2>"$out/report.err" || [ $? -eq 1 ]
t1=$(date +%s%N)
db="$out/import.db"
if [ ! -s "$db" ] || [ "$cap/perf.data" -nt "$db" ]; then
	rm -f "$db"
	"$B"/perfsight import "$cap/perf.data" -o "$db" >/dev/null 2>"$out/import.err" ||
		[ $? -eq 1 ]
fi
t2=$(date +%s%N)
"$B"/perfsight report "$db" -o "$out/report-db.html" 2>"$out/report-db.err" || [ $? -eq 1 ]
t3=$(date +%s%N)

[ -d tests/browser/node_modules/playwright-core ] ||
	(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
open=$(node tests/browser/run.js open "$out/report.html" "$out" |
	sed -n 's/^# open_ms \([0-9]*\).*/\1/p')
samples=$(python3 -c '
import json, re, sys
html = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r"id=\"perfsight-data\">([^<]*)</script>", html)
print(json.loads(m.group(1))["meta"]["samples"])' "$out/report.html")
size=$(stat -c %s "$out/report.html")
size_db=$(stat -c %s "$out/report-db.html")
render=$(ms "$t0" "$t1")
render_db=$(ms "$t2" "$t3")
echo "report: samples $samples"
echo "report: report_bytes $size (budget 5000000)"
echo "report: report_from_db_bytes $size_db"
echo "report: render_from_capture_ms $render (ingest, symbolization and the analysis included)"
echo "report: render_from_db_ms $render_db (budget 1000)"
echo "report: open_and_draw_ms ${open:-none} (budget 2000)"
[ "$size" -le 5000000 ] && [ "$size_db" -le 5000000 ] && [ -n "$open" ] &&
	[ "$open" -le 2000 ] && [ "$render_db" -le 1000 ]
