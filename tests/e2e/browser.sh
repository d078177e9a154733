#!/bin/sh
# Browser tests: the HTML report and the SVG flame graph opened in headless Chromium (Debian's
# chromium, driven by playwright-core from tests/browser/; no browser is downloaded). For every
# perf fixture, a database import of one, and a pyinstrument directory, `perfsight report`
# renders the capture and tests/browser/run.js checks against the data the report embeds:
# no console error, no network request, the flame graph draws, search, zoom, the views, the
# worker filter; `perfsight flamegraph` draws it and the SVG's root must equal the folded
# export. Hostile names (fixtures/hostile, and a pyinstrument directory whose function names and
# program are payloads) must stay text and never run. Screenshots land in tests/out/browser/.
T_SUITE=browser
. tests/e2e/lib.sh
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
export CHROMIUM

if ! command -v node >/dev/null 2>&1; then
	skip setup "node is not installed (make deps)"
	exit 0
fi
if [ ! -x "$CHROMIUM" ]; then
	skip setup "no Chromium at $CHROMIUM (make deps)"
	exit 0
fi
if [ ! -d tests/browser/node_modules/playwright-core ]; then
	if ! (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error) >"$OUT/npm.log" 2>&1; then
		nok setup "npm ci in tests/browser failed (see $OUT/npm.log)"
		exit 1
	fi
fi

# run.js prints "ok - NAME", "ok - NAME # SKIP WHY" or "not ok - NAME: WHY"; number them here
browser() { # LABEL ARGS...
	label=$1
	shift
	node tests/browser/run.js "$@" >"$OUT/$label.log" 2>&1
	rc=$?
	n=0
	while IFS= read -r line; do
		case $line in
		"ok - "*"# SKIP "*)
			name=${line#ok - }
			skip "$label::${name%% \# SKIP *}" "${name#* \# SKIP }"; n=$((n + 1)) ;;
		"ok - "*) ok "$label::${line#ok - }"; n=$((n + 1)) ;;
		"not ok - "*) nok "$label::${line#not ok - }" "see $OUT/$label.log"; n=$((n + 1)) ;;
		esac
	done <"$OUT/$label.log"
	if [ $n -eq 0 ] || { [ $rc -ne 0 ] && ! grep -q '^not ok' "$OUT/$label.log"; }; then
		nok "$label" "run.js exited $rc: $(tail -3 "$OUT/$label.log" | tr '\n' ' ')"
	fi
}

# capture LABEL INPUT: the report and the SVG of a capture, checked in the browser
capture() {
	label=$1
	input=$2
	"$PERFSIGHT" report "$input" --title "perfsight: $label" -o "$OUT/$label.html" \
		2>"$OUT/$label.report.err"
	rc=$?
	# 1 when perf lost samples while recording (the report is written, and says so)
	want=0
	[ -d "$input" ] || want=$(fx_rc "$(dirname "$input")")
	if [ $rc -ne "$want" ] || [ ! -s "$OUT/$label.html" ]; then
		nok "$label::report" "exit $rc (want $want): $(tail -3 "$OUT/$label.report.err")"
		return
	fi
	ok "$label::report"
	browser "$label" report "$OUT/$label.html" "$OUT/$label"
	# the graph's root must be the folded export's total (run.js sums the file it is given)
	weight=
	case $label in pyinstrument*) weight="--weight period" ;; esac
	"$PERFSIGHT" export "$input" --format folded --view mixed $weight \
		-o "$OUT/$label.folded" 2>/dev/null
	rce=$?
	"$PERFSIGHT" flamegraph "$input" --view mixed --title "$label" -o "$OUT/$label.svg" \
		2>"$OUT/$label.svg.err"
	rcf=$?
	if [ $rce -eq "$want" ] && [ $rcf -eq "$want" ]; then
		browser "$label-svg" svg "$OUT/$label.svg" "$OUT/$label.folded" "$OUT/$label"
	else
		nok "$label::flamegraph" "$(tail -3 "$OUT/$label.svg.err")"
	fi
}

for cap in fixtures/*/perf.data; do
	fx=$(basename "$(dirname "$cap")")
	[ "$fx" = hostile ] && continue
	# an idle service: 3 CPU samples, nothing to draw (its verdict is tests/e2e/verdicts.sh's)
	[ "$fx" = verdict-idle ] && continue
	capture "$fx" "$cap"
done
capture pyinstrument fixtures/pyinstrument/per-request

# a database import: no Python analysis yet, the same trees
db="$OUT/import.db"
rm -f "$db"
if "$PERFSIGHT" import fixtures/gunicorn-gthread-pipe/perf.data -o "$db" \
	>/dev/null 2>"$OUT/import.err"; then
	capture database "$db"
else
	nok database::import "$(tail -3 "$OUT/import.err")"
fi

# hostile: the recorded fixture (comm, JIT names), a hostile title
if "$PERFSIGHT" report fixtures/hostile/perf.data --title "<img src=x onerror=alert(1)> report" \
	-o "$OUT/hostile.html" 2>"$OUT/hostile.err"; then
	ok hostile::report
	browser hostile hostile "$OUT/hostile.html" "$OUT/hostile"
else
	nok hostile::report "$(cat "$OUT/hostile.err")"
fi
if "$PERFSIGHT" export fixtures/hostile/perf.data --format folded -o "$OUT/hostile.folded" \
	2>/dev/null &&
	"$PERFSIGHT" flamegraph fixtures/hostile/perf.data \
		--title "</script><script>alert(3)</script>" --subtitle "<i>'\"&x</i>" \
		-o "$OUT/hostile.svg" 2>"$OUT/hostile.svg.err"; then
	browser hostile-svg svghostile "$OUT/hostile.svg" "$OUT/hostile.folded" "$OUT/hostile"
else
	nok hostile::flamegraph "$(cat "$OUT/hostile.svg.err")"
fi

# hostile pyinstrument dumps: function names and the program are payloads
rm -rf "$OUT/hostile-pyi"
mkdir -p "$OUT/hostile-pyi"
if python3 - fixtures/pyinstrument/per-request "$OUT/hostile-pyi" <<'PY'
import glob, json, os, sys
payloads = ['<img src=x onerror=alert(1)>', '"quoted" \'single\' & <b>bold</b>',
            '</script><script>alert(2)</script>']
for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.json"))):
    d = json.load(open(f))
    todo = list(payloads)
    def walk(n, depth):
        if depth and todo:
            n["function"] = todo.pop(0)
        for c in n.get("children") or []:
            walk(c, depth + 1)
    walk(d["root_frame"], 0)
    d["target_description"] = "Program: <img src=x onerror=alert(1)>"
    json.dump(d, open(os.path.join(sys.argv[2], os.path.basename(f)), "w"))
PY
then
	if "$PERFSIGHT" report "$OUT/hostile-pyi" --title "<img src=x onerror=alert(1)> dumps" \
		-o "$OUT/hostile-pyi.html" 2>"$OUT/hostile-pyi.err"; then
		ok hostile-pyinstrument::report
		browser hostile-pyinstrument hostile "$OUT/hostile-pyi.html" "$OUT/hostile-pyi-shots"
	else
		nok hostile-pyinstrument::report "$(cat "$OUT/hostile-pyi.err")"
	fi
else
	nok hostile-pyinstrument::make "could not write the hostile dumps"
fi

# the least data the model allows (docs/report-data.md): every optional part missing
printf '{"version":1,"strings":["all"],"processes":[]}' >"$OUT/minimal.json"
if "$PERFSIGHT" report --data "$OUT/minimal.json" -o "$OUT/minimal.html" 2>"$OUT/minimal.err"; then
	browser minimal open "$OUT/minimal.html" "$OUT/minimal"
else
	nok minimal::report "$(cat "$OUT/minimal.err")"
fi

# call-graph profiles (pstats, callgrind): the call-graph view, whose reconstructed parts say
# so; the pstats and pprofile fixtures name functions and a file with markup
# (tests/workloads/cg_app.py); a profile of 12000+ functions made now shows its heaviest 200
cgview() { # LABEL INPUT
	if "$PERFSIGHT" report "$2" -o "$OUT/$1.html" 2>"$OUT/$1.err"; then
		ok "$1::report"
		browser "$1" callgraph "$OUT/$1.html" "$OUT/$1"
	else
		nok "$1::report" "$(tail -3 "$OUT/$1.err")"
	fi
}
cgview pstats fixtures/callgraph/cprofile-py312.prof
cgview callgrind fixtures/callgraph/valgrind-cg_prog.callgrind
cgview pprofile fixtures/callgraph/pprofile.callgrind
if python3 -m cProfile -o "$OUT/cg-big.prof" tests/workloads/cg_app.py --many 12000; then
	cgview pstats-12000 "$OUT/cg-big.prof"
else
	nok pstats-12000::make "python3 -m cProfile failed"
fi
# perfsight diff's page and the trend page (tests/browser/pages.js): the differential flame
# graph of a real change, and the trend of a database, then both with hostile names
if "$PERFSIGHT" diff fixtures/ciapp-base/perf.data fixtures/ciapp-gc/perf.data \
	-o "$OUT/diff.html" >/dev/null 2>"$OUT/diff.err"; then
	browser diff diff "$OUT/diff.html" "$OUT/diff"
else
	nok diff::write "$(tail -3 "$OUT/diff.err")"
fi
if "$PERFSIGHT" diff fixtures/hostile/perf.data fixtures/hostile/perf.data \
	--title "<img src=x onerror=alert(1)> diff" -o "$OUT/diff-hostile.html" >/dev/null \
	2>"$OUT/diff-hostile.err"; then
	browser diffhostile diffhostile "$OUT/diff-hostile.html" "$OUT/diff-hostile"
else
	nok diffhostile::write "$(tail -3 "$OUT/diff-hostile.err")"
fi
tdb="$OUT/trend.db"
rm -rf "$tdb" "$OUT/each"
if "$PERFSIGHT" import fixtures/ciapp-base/perf.data -o "$tdb" --label build-1 >/dev/null 2>&1 &&
	"$PERFSIGHT" import fixtures/ciapp-slow/perf.data -o "$tdb" --label build-2 >/dev/null 2>&1 &&
	"$PERFSIGHT" import fixtures/ciapp-gc/perf.data -o "$tdb" --label build-3 >/dev/null 2>&1 &&
	"$PERFSIGHT" report "$tdb" --each -o "$OUT/each" >/dev/null 2>"$OUT/each.err"; then
	browser trend trend "$OUT/each/index.html" "$OUT/trend"
else
	nok trend::write "$(tail -3 "$OUT/each.err")"
fi
hdb="$OUT/trend-hostile.db"
rm -f "$hdb"
if "$PERFSIGHT" import fixtures/ciapp-base/perf.data -o "$hdb" --label '<img src=x onerror=alert(1)>' \
	>/dev/null 2>&1 &&
	"$PERFSIGHT" import fixtures/hostile/perf.data -o "$hdb" --label "<i>'\"&x</i>" >/dev/null 2>&1 &&
	"$PERFSIGHT" trend "$hdb" --top 20 -o "$OUT/trend-hostile.html" >/dev/null 2>"$OUT/trend-hostile.err"; then
	browser trendhostile trendhostile "$OUT/trend-hostile.html" "$OUT/trend-hostile"
else
	nok trendhostile::write "$(tail -3 "$OUT/trend-hostile.err")"
fi
