#!/bin/sh
# make demo: the main job on a bundled capture (gunicorn, 2 gthread workers under wrk load):
# what the capture holds, the HTML report and an SVG flame graph of its Python view, written
# under demo/ (git-ignored). SCREENSHOT=1 also refreshes docs/report-screenshot.png from the
# report in headless Chromium (the README shows it).
set -e
B=${B:-build}
cap=fixtures/gunicorn-gthread-pipe/perf.data
out=demo
mkdir -p "$out"
echo "== perfsight info $cap"
"$B"/perfsight info "$cap"
echo
echo "== perfsight report $cap -o $out/report.html"
"$B"/perfsight report "$cap" --title "perfsight demo: gunicorn, 2 gthread workers" \
	-o "$out/report.html"
# its diagnostics are the report's, printed above: only the line that says what it wrote
"$B"/perfsight flamegraph "$cap" --view python --title "gunicorn workers (python view)" \
	-o "$out/flamegraph.svg" 2>"$out/flamegraph.err"
tail -1 "$out/flamegraph.err" >&2
"$B"/perfsight export "$cap" --format json --view python -o "$out/top.json" 2>/dev/null
python3 - "$out/top.json" <<'EOF' || true
import json, sys
d = json.load(open(sys.argv[1]))
s = d["summary"]
print("%s: %d samples over %.1f s, %s lost; events %s" % (
    s["label"], d["total"], s["duration_s"] or 0, s.get("lost_samples", "?"),
    ", ".join(s["events"])))
print("where the CPU goes (python view, total share of the samples):")
for f in d["top_functions"][:6]:
    print("  %5.1f%%  %s" % (100 * f["total_share"], f["function"]))
EOF
# which request handler costs the CPU: a capture with whole request paths (16 KiB stacks)
echo
echo "== perfsight summary fixtures/ciapp-gc/perf.data (its request handlers)"
"$B"/perfsight summary fixtures/ciapp-gc/perf.data 2>/dev/null | sed -n '/^request handlers/,$p'
if [ "${SCREENSHOT:-0}" = 1 ]; then
	[ -d tests/browser/node_modules/playwright-core ] ||
		(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
	node tests/browser/screenshot.js "$out/report.html" docs/report-screenshot.png
	echo "screenshot:  $(pwd)/docs/report-screenshot.png"
fi
