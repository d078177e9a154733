#!/bin/sh
# perfsight report and perfsight flamegraph from the command line: exit codes, diagnostics,
# atomic output, standard output, the folded totals in the SVG. The browser checks are in
# browser.sh.
T_SUITE=report-cli
. tests/e2e/lib.sh

data="$OUT/data.json"
printf '{"version":1,"meta":{"title":"t"},"strings":["all"],"processes":[]}' >"$data"
"$PERFSIGHT" report --data "$data" -o "$OUT/r.html"
check report-exit-0 test $? -eq 0
check report-has-csp grep -q "default-src 'none'" "$OUT/r.html"
"$PERFSIGHT" report --data "$data" -o - | grep -q '<script type="application/json" id="perfsight-data">'
check report-to-stdout test $? -eq 0
"$PERFSIGHT" report --data "$data" 2>/dev/null
check report-needs-output test $? -eq 2
"$PERFSIGHT" report -o "$OUT/r.html" 2>/dev/null
check report-needs-data test $? -eq 2
"$PERFSIGHT" report --data "$OUT/missing.json" -o "$OUT/r.html" 2>"$OUT/missing.err"
check report-missing-data-exit-3 test $? -eq 3
check report-missing-data-names-file grep -q "missing.json" "$OUT/missing.err"
printf '{"a":"\377"}' >"$OUT/bad.json"
cp "$OUT/r.html" "$OUT/keep.html"
"$PERFSIGHT" report --data "$OUT/bad.json" -o "$OUT/r.html" 2>"$OUT/bad.err"
check report-bad-utf8-exit-3 test $? -eq 3
check report-failure-keeps-old-file cmp -s "$OUT/r.html" "$OUT/keep.html"
PERFSIGHT_TEMPLATES="$OUT" "$PERFSIGHT" report --data "$data" -o "$OUT/r2.html" 2>/dev/null
check report-bad-templates-env test $? -ne 0
"$PERFSIGHT" report --data "$data" --templates report-templates -o "$OUT/r3.html"
check report-templates-option test $? -eq 0

folded="$OUT/in.folded"
printf 'main;py::work:/srv/app/app.py;gc_collect_main 7\nmain;py::work:/srv/app/app.py 5\nmain;do_sys_open_[k] 3\n' >"$folded"
"$PERFSIGHT" flamegraph "$folded" -o "$OUT/f.svg" --title 'a <b>' --width 900 --colors hot --hash --inverted
check flamegraph-exit-0 test $? -eq 0
check flamegraph-root-total grep -q 'data-samples="15"' "$OUT/f.svg"
check flamegraph-title-escaped grep -q 'a &lt;b&gt;' "$OUT/f.svg"
check flamegraph-width grep -q 'width="900"' "$OUT/f.svg"
check flamegraph-inverted grep -q 'data-inverted="1"' "$OUT/f.svg"
printf 'a;b 2\nbroken line\nc 1\n' >"$OUT/bad.folded"
"$PERFSIGHT" flamegraph "$OUT/bad.folded" -o "$OUT/b.svg" 2>"$OUT/bad-folded.err"
check flamegraph-bad-line-exit-1 test $? -eq 1
check flamegraph-bad-line-diagnostic grep -q "folded-bad-line (x1)" "$OUT/bad-folded.err"
check flamegraph-bad-line-rest-drawn grep -q 'data-samples="3"' "$OUT/b.svg"
printf 'no counts at all\n' >"$OUT/empty.folded"
"$PERFSIGHT" flamegraph "$OUT/empty.folded" -o "$OUT/e.svg" 2>/dev/null
check flamegraph-no-samples-exit-3 test $? -eq 3
"$PERFSIGHT" flamegraph "$folded" -o "$OUT/p.svg" --colors plaid 2>/dev/null
check flamegraph-bad-palette-exit-2 test $? -eq 2
"$PERFSIGHT" flamegraph "$folded" -o "$OUT/p.svg" --width 5 2>/dev/null
check flamegraph-bad-width-exit-2 test $? -eq 2
"$PERFSIGHT" flamegraph - -o - <"$folded" | grep -q '<svg'
check flamegraph-stdin-stdout test $? -eq 0

# --- reports of captures: each perf fixture, a database import of one, a pyinstrument directory

# data HTML: the report data the HTML file embeds, on standard output
data() {
	python3 -c '
import json, re, sys
m = re.search(r"<script type=\"application/json\" id=\"perfsight-data\">([^<]*)</script>",
              open(sys.argv[1], encoding="utf-8").read())
print(m.group(1) if m else "")' "$1"
}
# fact FILE EXPR: a value of the data file (d is the document)
fact() {
	python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}
# holds NAME FILE EXPR: a check that EXPR is true of the data file (d is the document)
holds() {
	check "$1" test "$(fact "$2" "$3")" = True
}
# folded_total FILE: the sum of the last column
folded_total() {
	awk '{ s += $NF } END { printf "%d\n", s }' "$1"
}
# root_is NAME SVG FOLDED: the SVG's root counts what the folded file holds
root_is() {
	check "$1" grep -q "data-samples=\"$(folded_total "$3")\"" "$2"
}
# checked NAME DATA WEIGHT: check_reportdata.py's verdicts as test lines
checked() {
	python3 tests/tools/check_reportdata.py "$2" --weight "$3" --max-bytes 5000000 >"$2.check" 2>&1
	while IFS= read -r line; do
		case $line in
		PASS\ *) ok "$1-${line#PASS }" ;;
		FAIL\ *) rest=${line#FAIL }; nok "$1-${rest%%:*}" "${rest#*: }" ;;
		esac
	done <"$2.check"
	grep -q '^PASS ' "$2.check" || nok "$1-checker" "no result: $(head -c 300 "$2.check")"
}

if ! command -v python3 >/dev/null 2>&1; then
	skip captures "python3 not installed"
	exit 0
fi

for cap in fixtures/*/perf.data; do
	fx=$(basename "$(dirname "$cap")")
	o="$OUT/$fx"
	"$PERFSIGHT" report "$cap" -o "$o.html" 2>"$o.err"
	rc=$?
	check "capture-$fx-exit-$(fx_rc "$(dirname "$cap")")" test $rc -eq "$(fx_rc "$(dirname "$cap")")"
	[ -s "$o.html" ] || { nok "capture-$fx-written" "$(tail -2 "$o.err")"; continue; }
	data "$o.html" >"$o.json"
	# the trees count every sampling event: here the one collapse folds by default
	"$PERFSIGHT" collapse "$cap" -o "$o.folded" 2>/dev/null
	want=$(folded_total "$o.folded")
	checked "capture-$fx" "$o.json" "$want"
	check "capture-$fx-samples" test "$(fact "$o.json" 'd["meta"]["samples"]')" = "$want"
	check "capture-$fx-source" test "$(fact "$o.json" 'd["meta"]["source"]')" = perf.data
	holds "capture-$fx-command" "$o.json" 'd["meta"]["command"].startswith("/usr/bin/perf ")'
	check "capture-$fx-default-title" grep -q "<title>perfsight: $fx</title>" "$o.html"
	# a thread is on the timeline once it had a CPU sample (verdict-idle had none)
	if [ "$want" = 0 ] || [ "$fx" = verdict-idle ]; then
		holds "capture-$fx-timeline" "$o.json" 'len(d["timeline"]["threads"]) == 0'
	else
		holds "capture-$fx-timeline" "$o.json" 'len(d["timeline"]["threads"]) > 0'
	fi
	check "capture-$fx-csp" grep -q "default-src 'none'" "$o.html"
done

# every process collapse sees is in the report: gunicorn's master and its workers
cap=fixtures/gunicorn-gthread-pipe/perf.data
"$PERFSIGHT" collapse "$cap" --pid -o "$OUT/gunicorn.pid.folded" 2>/dev/null
pids=$(sed 's/;.*//; s/.*-//' "$OUT/gunicorn.pid.folded" | sort -un | tr '\n' ' ')
check gunicorn-processes test "$pids" = "$(fact "$OUT/gunicorn-gthread-pipe.json" \
	'"".join(str(p) + " " for p in sorted(p["pid"] for p in d["processes"]))')"
# the GC pauses the probes measured, the Python stacks they ran under
o="$OUT/py312-threads-probes.json"
holds probes-gc-pauses "$o" 'len(d.get("gc_pauses", [])) > 0'
holds probes-gc-pause-stacks "$o" 'any(p["stack"] for p in d["gc_pauses"])'
# the GIL waits the switches measured: each one listed (up to 2000), adding up to the figures
for fx in py312-threads-dwarf py312-threads-probes; do
	o="$OUT/$fx.json"
	waits='sum(p.get("gil", {}).get("waits", 0) for p in d["processes"])'
	wait_s='sum(p["gil"]["wait_s"] for p in d["processes"] if "gil" in p)'
	listed='sum(x["dur_ms"] for x in d["gil_waits"]) / 1e3'
	holds "$fx-gil-waits-listed" "$o" "len(d.get('gil_waits', [])) == min(2000, $waits) > 0"
	holds "$fx-gil-waits-add-up" "$o" "len(d['gil_waits']) == 2000 or abs($listed - $wait_s) < 1e-6"
	holds "$fx-gil-waits-longest-first" "$o" \
		'all(a["dur_ms"] >= b["dur_ms"] for a, b in zip(d["gil_waits"], d["gil_waits"][1:]))'
done
check probes-gc-figures test "$(fact "$o" 'any("gc" in p for p in d["processes"])')" = True

# hostile names never appear as markup: the JSON escapes <, libxml2 the title
o="$OUT/hostile-title"
"$PERFSIGHT" report fixtures/hostile/perf.data --title '<img src=x onerror=alert(1)>' \
	-o "$o.html" 2>/dev/null
check hostile-report-exit-0 test $? -eq 0
check hostile-no-raw-markup sh -c \
	"! grep -q '<img src=x' '$o.html' && ! grep -q '<script><' '$o.html'"
data "$o.html" >"$o.json"
holds hostile-names-kept "$o.json" 'any("<img src=x onerror=alert(1)>" in s for s in d["strings"])'

# a database import reports the same trees as the capture (no analysis figures yet)
db="$OUT/report.db"
rm -f "$db"
cap=fixtures/py312-threads-dwarf/perf.data
if "$PERFSIGHT" import "$cap" -o "$db" >/dev/null 2>"$OUT/import.err"; then
	"$PERFSIGHT" report "$db" -o "$OUT/db.html" 2>"$OUT/db.err"
	check database-report-exit-0 test $? -eq 0
	data "$OUT/db.html" >"$OUT/db.json"
	checked database "$OUT/db.json" "$(folded_total "$OUT/py312-threads-dwarf.folded")"
	trees='sorted((p["pid"], t["tid"], v, t["trees"][v]["total"][0]) for p in d["processes"]
		for t in p["threads"] for v in ("native", "mixed", "python"))'
	check database-same-trees test "$(fact "$OUT/db.json" "$trees")" = \
		"$(fact "$OUT/py312-threads-dwarf.json" "$trees")"
	check database-label-title grep -q '<title>perfsight: [^<]*py312-threads-dwarf' "$OUT/db.html"
	"$PERFSIGHT" report "$db" --capture no-such-capture -o "$OUT/x.html" 2>/dev/null
	check database-unknown-capture-exit-2 test $? -eq 2
else
	nok database-import "$(head -c 300 "$OUT/import.err")"
fi

# a directory of pyinstrument dumps: one session per distinct dump, wall time in ns
pyi=fixtures/pyinstrument/per-request
"$PERFSIGHT" report "$pyi" -o "$OUT/pyi.html" 2>/dev/null
check pyinstrument-report-exit-0 test $? -eq 0
data "$OUT/pyi.html" >"$OUT/pyi.json"
"$PERFSIGHT" export "$pyi" --format json -o "$OUT/pyi.export.json" 2>/dev/null
check pyinstrument-sessions test "$(fact "$OUT/pyi.json" 'len(d["pyinstrument"]["sessions"])')" = \
	"$(fact "$OUT/pyi.export.json" 'len(d["summary"]["captures"])')"
check pyinstrument-unit-ns test "$(fact "$OUT/pyi.json" 'd["meta"]["unit"]')" = ns
"$PERFSIGHT" export "$pyi" --format folded --weight period -o "$OUT/pyi.folded" 2>/dev/null
checked pyinstrument "$OUT/pyi.json" "$(folded_total "$OUT/pyi.folded")"

dwarf=fixtures/py312-threads-dwarf/perf.data
"$PERFSIGHT" report "$dwarf" --event no-such-event -o "$OUT/x.html" 2>/dev/null
check report-unknown-event-exit-2 test $? -eq 2
"$PERFSIGHT" report "$dwarf" --data "$data" -o "$OUT/x.html" 2>/dev/null
check report-data-and-input-exit-2 test $? -eq 2
"$PERFSIGHT" report "$OUT/missing.perf" -o "$OUT/x.html" 2>/dev/null
check report-missing-input-exit-3 test $? -eq 3

# --- flame graphs of captures: the root is the folded export's total in every view
for cap in fixtures/py312-threads-probes/perf.data fixtures/gunicorn-gthread-pipe/perf.data \
	fixtures/py312-threads-dwarf/perf.data; do
	fx=$(basename "$(dirname "$cap")")
	for view in native mixed python; do
		"$PERFSIGHT" export "$cap" --format folded --view $view -o "$OUT/$fx.$view.folded" 2>/dev/null
		"$PERFSIGHT" flamegraph "$cap" --view $view -o "$OUT/$fx.$view.svg" 2>/dev/null
		root_is "flamegraph-$fx-$view-total" "$OUT/$fx.$view.svg" "$OUT/$fx.$view.folded"
	done
done
"$PERFSIGHT" flamegraph "$pyi" -o "$OUT/pyi.svg" 2>/dev/null
root_is flamegraph-pyinstrument-ns-total "$OUT/pyi.svg" "$OUT/pyi.folded"
check flamegraph-pyinstrument-countname grep -q ' ns' "$OUT/pyi.svg"
"$PERFSIGHT" flamegraph "$db" --view python -o "$OUT/db.svg" 2>/dev/null
root_is flamegraph-database-total "$OUT/db.svg" "$OUT/py312-threads-dwarf.python.folded"
"$PERFSIGHT" flamegraph "$folded" --view python -o "$OUT/x.svg" 2>/dev/null
check flamegraph-view-of-folded-exit-2 test $? -eq 2
"$PERFSIGHT" flamegraph "$dwarf" --event no-such-event -o "$OUT/x.svg" 2>/dev/null
check flamegraph-unknown-event-exit-2 test $? -eq 2
