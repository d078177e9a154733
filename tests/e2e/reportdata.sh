# reportdata end to end: the report's JSON document of each pyinstrument fixture and of a
# synthetic 1M-sample capture, checked against docs/report-data.md by
# tests/tools/check_reportdata.py (trees add up, parents first, strings in range, no raw
# markup, the size bound).
T_SUITE=reportdata
. tests/e2e/lib.sh
DUMP=${B:-build}/tests/reportdata-dump

if [ ! -x "$DUMP" ]; then
	skip all "no $DUMP (make check builds it)"
	exit 0
fi
if ! command -v python3 >/dev/null 2>&1; then
	skip all "python3 not installed"
	exit 0
fi

# report RESULT-FILE: PASS/FAIL lines to ok/nok
report() {
	while IFS= read -r line; do
		case $line in
		PASS\ *) ok "${line#PASS }" ;;
		FAIL\ *) rest=${line#FAIL }; nok "${rest%%:*}" "${rest#*: }" ;;
		esac
	done < "$1"
	grep -q '^PASS ' "$1" || nok checker "no result: $(head -c 300 "$1")"
}

FIX=fixtures/pyinstrument
for input in "$FIX/flask-testclient.pyisession" "$FIX/flask-testclient.speedscope.json" \
	"$FIX"/html-renderer-data/*.json "$FIX/per-request"; do
	name=$(basename "$input")
	if ! "$DUMP" "$input" > "$OUT/$name.json" 2> "$OUT/$name.err"; then
		nok "write-$name" "$(head -c 300 "$OUT/$name.err")"
		continue
	fi
	# the trees weigh what was read: the export's summary says how much (ns in the document)
	"$PERFSIGHT" export "$input" --format json -o "$OUT/$name.summary.json" 2>/dev/null
	ns=$(python3 -c 'import json, sys; print(round(json.load(open(sys.argv[1]))["summary"]["weight"] * 1e9))' "$OUT/$name.summary.json")
	python3 tests/tools/check_reportdata.py "$OUT/$name.json" --weight "$ns" > "$OUT/$name.check" 2>&1
	report "$OUT/$name.check"
done

# 1M samples over 32 threads from 30k distinct deep stacks: within the 5 MB a report may weigh
if [ "${SAN:-0}" = 1 ]; then
	skip million-samples "too slow under ASan; the unit test covers 1M samples"
else
	"$DUMP" -S 1000000 30000 32 > "$OUT/million.json" 2> "$OUT/million.err"
	python3 tests/tools/check_reportdata.py "$OUT/million.json" --weight 1000000 \
		--max-bytes 5000000 > "$OUT/million.check" 2>&1
	report "$OUT/million.check"
	rm -f "$OUT/million.json"
fi
