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
