#!/bin/sh
# Browser tests: the HTML report and the SVG flame graph opened in headless Chromium (Debian's
# chromium, driven by playwright-core from tests/browser/; no browser is downloaded). For every
# fixture with perf script text, tests/tools/perfscript2data.py makes report data (until the
# native pipeline writes it), `perfsight report` renders it and tests/browser/run.js checks:
# no console error, no network request, the flame graph draws, search, zoom, the views, the
# worker filter. Hostile names (fixtures/hostile plus injected ones) must stay text. Screenshots
# land in tests/out/browser/.
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

for dir in fixtures/*/; do
	fx=$(basename "$dir")
	[ -f "$dir/perf-script.txt.zst" ] || continue
	[ "$fx" = hostile ] && continue
	pyi=
	[ "$fx" = gunicorn-gthread-pipe ] && pyi="--pyinstrument fixtures/pyinstrument/per-request"
	if ! zstdcat "$dir/perf-script.txt.zst" |
		python3 tests/tools/perfscript2data.py $pyi --folded "$OUT/$fx.folded" >"$OUT/$fx.json"; then
		nok "$fx::data" "perfscript2data.py failed"
		continue
	fi
	if ! "$PERFSIGHT" report --data "$OUT/$fx.json" --title "perfsight: $fx" -o "$OUT/$fx.html" \
		2>"$OUT/$fx.report.err"; then
		nok "$fx::report" "$(cat "$OUT/$fx.report.err")"
		continue
	fi
	ok "$fx::report"
	browser "$fx" report "$OUT/$fx.html" "$OUT/$fx.json" "$OUT/$fx"
	if "$PERFSIGHT" flamegraph "$OUT/$fx.folded" --title "$fx" -o "$OUT/$fx.svg" \
		2>"$OUT/$fx.svg.err"; then
		browser "$fx-svg" svg "$OUT/$fx.svg" "$OUT/$fx.folded" "$OUT/$fx"
	else
		nok "$fx::flamegraph" "$(cat "$OUT/$fx.svg.err")"
	fi
done

# hostile: the recorded fixture (comm, JIT names) plus hostile meta, warnings, pyinstrument names
zstdcat fixtures/hostile/perf-script.txt.zst |
	python3 tests/tools/perfscript2data.py --hostile --pyinstrument fixtures/pyinstrument/per-request \
		--folded "$OUT/hostile.folded" >"$OUT/hostile.json" &&
	"$PERFSIGHT" report --data "$OUT/hostile.json" --title "<img src=x onerror=alert(1)> report" \
		-o "$OUT/hostile.html" 2>"$OUT/hostile.err"
if [ $? -eq 0 ]; then
	ok hostile::report
	browser hostile hostile "$OUT/hostile.html" "$OUT/hostile.json" "$OUT/hostile"
else
	nok hostile::report "$(cat "$OUT/hostile.err")"
fi
if "$PERFSIGHT" flamegraph "$OUT/hostile.folded" --title "</script><script>alert(3)</script>" \
	--subtitle "<i>'\"&x</i>" -o "$OUT/hostile.svg" 2>"$OUT/hostile.svg.err"; then
	browser hostile-svg svghostile "$OUT/hostile.svg" "$OUT/hostile.folded" "$OUT/hostile"
else
	nok hostile::flamegraph "$(cat "$OUT/hostile.svg.err")"
fi

# the least data the model allows (docs/report-data.md): every optional part missing
printf '{"version":1,"strings":["all"],"processes":[]}' >"$OUT/minimal.json"
if "$PERFSIGHT" report --data "$OUT/minimal.json" -o "$OUT/minimal.html" 2>"$OUT/minimal.err"; then
	browser minimal open "$OUT/minimal.html" "$OUT/minimal"
else
	nok minimal::report "$(cat "$OUT/minimal.err")"
fi
