# perfsight export end to end: every capture fixture exported as speedscope (checked against the
# speedscope file format's required keys), folded (totals equal what was read) and JSON, a
# folded round trip that must be byte-identical, and the error paths.
T_SUITE=export
. tests/e2e/lib.sh

if ! command -v python3 >/dev/null 2>&1; then
	skip all "python3 not installed"
	exit 0
fi

# check_speedscope FILE: the keys speedscope's schema requires, indexes in range
check_speedscope() {
	python3 - "$1" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["$schema"] == "https://www.speedscope.app/file-format-schema.json", d.get("$schema")
frames = d["shared"]["frames"]
assert isinstance(frames, list) and frames, "no frames"
for f in frames:
    assert isinstance(f["name"], str)
assert d["profiles"], "no profiles"
for p in d["profiles"]:
    for k in ("type", "name", "unit", "startValue", "endValue"):
        assert k in p, "profile without " + k
    assert p["type"] == "sampled"
    assert p["unit"] in ("none", "nanoseconds", "microseconds", "milliseconds", "seconds", "bytes")
    assert len(p["samples"]) == len(p["weights"]), "samples and weights differ in length"
    for s in p["samples"]:
        assert all(0 <= i < len(frames) for i in s), "frame index out of range"
    assert abs(sum(p["weights"]) - (p["endValue"] - p["startValue"])) < 1e-6 * max(1, len(p["weights"]))
EOF
}

# folded_total FILE: the sum of the last column
folded_total() {
	python3 -c 'import sys; print(repr(sum(float(l.rsplit(" ", 1)[1]) for l in open(sys.argv[1]) if l.strip())))' "$1"
}

# json_field FILE EXPR: a value of the JSON export
json_field() {
	python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(repr(eval(sys.argv[2])))' "$1" "$2"
}

# close A B TOL: |A - B| <= TOL
close() {
	python3 -c 'import sys; a, b, t = map(float, sys.argv[1:]); sys.exit(abs(a - b) > t)' "$1" "$2" "$3"
}

FIX=fixtures/pyinstrument
for input in "$FIX/flask-testclient.pyisession" "$FIX/flask-testclient.json" \
	"$FIX/flask-testclient.speedscope.json" "$FIX"/html-renderer-data/*.json "$FIX/per-request"; do
	name=$(basename "$input")
	o="$OUT/$name"
	if "$PERFSIGHT" export "$input" --format speedscope -o "$o.speedscope.json" 2>"$o.err" &&
		check_speedscope "$o.speedscope.json" >"$o.check" 2>&1; then
		ok "speedscope-$name"
	else
		nok "speedscope-$name" "$(cat "$o.err" "$o.check" 2>/dev/null | tail -3)"
	fi
	for view in python mixed; do
		check "speedscope-$view-$name" sh -c "\"$PERFSIGHT\" export \"$input\" --format speedscope --view $view -o \"$o.$view.json\" 2>/dev/null && python3 -c 'import json,sys; json.load(open(sys.argv[1]))' \"$o.$view.json\""
	done
	# the folded totals are the totals read: rows for sample counts, weight for wall time
	if "$PERFSIGHT" export "$input" --format json -o "$o.json" 2>/dev/null &&
		"$PERFSIGHT" export "$input" --format folded -o "$o.folded" 2>/dev/null &&
		"$PERFSIGHT" export "$input" --format folded --weight samples -o "$o.samples.folded" 2>/dev/null; then
		rows=$(json_field "$o.json" 'd["summary"]["rows"]')
		weight=$(json_field "$o.json" 'd["summary"]["weight"]')
		total=$(json_field "$o.json" 'd["total"]')
		lines=$(wc -l < "$o.folded")
		if [ "$(folded_total "$o.samples.folded")" = "$rows.0" ] &&
			close "$(folded_total "$o.folded")" "$weight" "$(echo "$lines" | awk '{print $1 * 1e-6}')" &&
			close "$total" "$weight" 1e-9; then
			ok "folded-totals-$name"
		else
			nok "folded-totals-$name" "rows $rows weight $weight total $total, folded $(folded_total "$o.samples.folded") / $(folded_total "$o.folded")"
		fi
	else
		nok "folded-totals-$name" "export failed"
	fi
	# folded -> perfsight -> folded is the identity
	if "$PERFSIGHT" export "$o.samples.folded" --format folded -o "$o.rt.folded" 2>"$o.rt.err" &&
		cmp -s "$o.samples.folded" "$o.rt.folded"; then
		ok "folded-round-trip-$name"
	else
		nok "folded-round-trip-$name" "$(cat "$o.rt.err"; diff "$o.samples.folded" "$o.rt.folded" | head -3)"
	fi
done

# Markup and quotes in frame names survive folded and speedscope as text
printf '%s\n' 'main;<img src=x onerror=alert(1)>;"q" & '"'"'s'"'"' 3' 'main;</script><script>x 2' \
	| LC_ALL=C sort > "$OUT/hostile.folded"
if "$PERFSIGHT" export "$OUT/hostile.folded" --format folded -o "$OUT/hostile.rt.folded" 2>/dev/null &&
	cmp -s "$OUT/hostile.folded" "$OUT/hostile.rt.folded"; then
	ok hostile-folded-round-trip
else
	nok hostile-folded-round-trip "$(diff "$OUT/hostile.folded" "$OUT/hostile.rt.folded" 2>&1 | head -3)"
fi
if "$PERFSIGHT" export "$OUT/hostile.folded" --format speedscope -o "$OUT/hostile.json" 2>/dev/null &&
	! grep -q '<' "$OUT/hostile.json" &&
	python3 -c 'import json,sys; n = [f["name"] for f in json.load(open(sys.argv[1]))["shared"]["frames"]]; sys.exit(not ("</script><script>x" in n and "<img src=x onerror=alert(1)>" in n))' "$OUT/hostile.json"; then
	ok hostile-speedscope
else
	nok hostile-speedscope "names not kept as escaped text"
fi

# perf.data captures go through the capture loader: speedscope valid, every view's folded total
# equal to what collapse folds from the same event, the JSON total the same
for cap in fixtures/*/perf.data; do
	name=$(basename "$(dirname "$cap")")
	o="$OUT/$name"
	"$PERFSIGHT" export "$cap" --format speedscope -o "$o.speedscope.json" 2>"$o.err"
	rc=$?
	if [ $rc -le 1 ] && ! "$PERFSIGHT" collapse "$cap" 2>/dev/null | grep -q .; then
		# fixtures/verdict-idle: an idle service, no CPU sample in the whole capture
		skip "speedscope-$name" "no sample of the capture's first sampling event: nothing to draw"
	elif [ $rc -le 1 ] && check_speedscope "$o.speedscope.json" >"$o.check" 2>&1; then
		ok "speedscope-$name"
	else
		nok "speedscope-$name" "exit $rc: $(cat "$o.err" "$o.check" 2>/dev/null | tail -2)"
	fi
	"$PERFSIGHT" collapse "$cap" -o "$o.collapse" 2>/dev/null
	want=$(folded_total "$o.collapse")
	for view in native mixed python; do
		"$PERFSIGHT" export "$cap" --format folded --view $view -o "$o.$view.folded" 2>/dev/null
		got=$(folded_total "$o.$view.folded")
		check "folded-total-$view-$name" test -n "$want" -a "$got" = "$want"
	done
	"$PERFSIGHT" export "$cap" --format json --view python -o "$o.json" 2>/dev/null
	check "json-total-$name" close "$(json_field "$o.json" 'd["total"]')" "${want:-nan}" 0
	check "json-source-$name" test "$(json_field "$o.json" 'd["summary"]["source"]')" = "'perf.data'"
done

# a clock's samples are CPU time: speedscope's unit is seconds, each thread's weights its CPU
# seconds as the summary counts them (the clock's periods); --weight samples keeps counts
cap=fixtures/py312-threads-dwarf/perf.data
"$PERFSIGHT" export "$cap" --format speedscope -o "$OUT/clock.speedscope.json" 2>/dev/null
"$PERFSIGHT" export "$cap" --format speedscope --weight samples -o "$OUT/count.speedscope.json" 2>/dev/null
"$PERFSIGHT" summary --json "$cap" > "$OUT/clock.summary.json" 2>/dev/null
if python3 - "$OUT/clock.speedscope.json" "$OUT/count.speedscope.json" "$OUT/clock.summary.json" <<'PY'
import json, re, sys
s, c, m = (json.load(open(f)) for f in sys.argv[1:])
want = sum(p["cpu_s"] for p in m["captures"][0]["processes"])
for p in s["profiles"]:
    assert p["unit"] == "seconds", p["unit"]
    assert abs(sum(p["weights"]) - p["endValue"]) < 1e-6
got = sum(p["endValue"] for p in s["profiles"])
assert want > 0 and abs(got - want) <= 0.01 * want, (got, want)
for p in c["profiles"]:
    assert p["unit"] == "none" and all(w == int(w) for w in p["weights"]), p["unit"]
PY
then
	ok speedscope-clock-in-seconds
else
	nok speedscope-clock-in-seconds "unit or weights not the clock's seconds"
fi

# a database import exports what the capture exports
db="$OUT/export.db"
rm -f "$db"
cap=fixtures/py312-threads-dwarf/perf.data
if "$PERFSIGHT" import "$cap" -o "$db" >/dev/null 2>"$OUT/import.err"; then
	for view in native python; do
		"$PERFSIGHT" export "$cap" --format folded --view $view -o "$OUT/perf.$view.folded" 2>/dev/null
		"$PERFSIGHT" export "$db" --format folded --view $view -o "$OUT/db.$view.folded" 2>/dev/null
		check "database-folded-$view-equal" cmp -s "$OUT/perf.$view.folded" "$OUT/db.$view.folded"
	done
	"$PERFSIGHT" export "$db" --format json -o "$OUT/db.json" 2>/dev/null
	check database-json-source test \
		"$(json_field "$OUT/db.json" 'd["summary"]["source"]')" = "'database'"
	expect_db_rc=0
	"$PERFSIGHT" export "$db" --capture no-such-capture --format folded -o "$OUT/x" 2>/dev/null ||
		expect_db_rc=$?
	check database-unknown-capture-exit-2 test "$expect_db_rc" -eq 2
else
	nok database-import "$(head -c 300 "$OUT/import.err")"
fi

# Errors: usage 2, bad input 3, and a failed export leaves an earlier output untouched
expect_rc() {
	n=$1; want=$2; shift 2
	"$@" > "$OUT/$n.out" 2> "$OUT/$n.err"
	rc=$?
	if [ $rc -eq "$want" ]; then ok "$n"; else nok "$n" "exit $rc, want $want: $(head -c 200 "$OUT/$n.err")"; fi
}
expect_rc no-format 2 "$PERFSIGHT" export "$FIX/flask-testclient.json" -o "$OUT/x"
expect_rc bad-format 2 "$PERFSIGHT" export "$FIX/flask-testclient.json" --format svg -o "$OUT/x"
expect_rc bad-view 2 "$PERFSIGHT" export "$FIX/flask-testclient.json" --format folded --view py -o "$OUT/x"
expect_rc no-such-event 2 "$PERFSIGHT" export "$FIX/flask-testclient.json" --format folded --event cycles -o "$OUT/x"
expect_rc missing-input 3 "$PERFSIGHT" export "$OUT/does-not-exist" --format folded -o "$OUT/x"
printf 'keep me\n' > "$OUT/kept.txt"
printf 'hello, world\n' > "$OUT/not-a-profile.txt"
expect_rc not-a-profile 3 "$PERFSIGHT" export "$OUT/not-a-profile.txt" --format folded -o "$OUT/kept.txt"
check output-untouched-on-failure grep -qx 'keep me' "$OUT/kept.txt"
expect_rc unwritable-output 4 "$PERFSIGHT" export "$FIX/flask-testclient.json" --format folded -o "$OUT/no-such-dir/x.folded"
check help-lists-export sh -c "\"$PERFSIGHT\" help | grep -q '^  export '"
