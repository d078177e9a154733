# perfsight's "what to change": on the verdict fixtures (tests/tools/record/verdicts.sh, one
# gunicorn scenario each), exactly the verdicts each must trigger fire, and none on the control;
# their figures and every thread's time budget agree with budget_reference.py's reading of
# perf script; the budgets add up on every fixture; a database gives the same verdicts; without
# sched_switch no off-CPU verdict is issued and the summary says what to record.
T_SUITE=verdicts
. tests/e2e/lib.sh

if ! command -v python3 >/dev/null 2>&1; then
	skip all "python3 is missing (the reference figures need it)"
	exit 0
fi
# scenario: the verdicts it must trigger (and nothing else)
expect() {
	case $1 in
	oversub) echo "cpu-bound oversubscribed interpreter-overhead" ;;
	gil) echo "gil-bound-threads interpreter-overhead" ;;
	io) echo "io-bound" ;;
	gc) echo "gc-heavy" ;;
	# the pure-Python encoder's bytecode is the json module's time (docs/categories.md), not
	# the interpreter's: what it costs is the slow path, not interpreter overhead
	json) echo "slow-path:json-encoder" ;;
	idle) echo "idle" ;;
	balanced) echo "" ;;
	esac
}
# scenario: its one endpoint (the view every request runs)
endpoint() {
	case $1 in
	oversub | gil) echo r_cpu ;;
	io) echo r_io ;;
	gc) echo r_gc ;;
	json) echo r_json ;;
	balanced) echo r_native ;;
	esac
}
DB=$OUT/verdicts.db
rm -f "$DB" "$DB-wal" "$DB-shm"
for d in fixtures/verdict-*; do
	[ -f "$d/perf.data" ] || continue
	fx=$(basename "$d")
	scen=${fx#verdict-}
	"$PERFSIGHT" summary --json "$d/perf.data" > "$OUT/$fx.json" 2> "$OUT/$fx.err"
	check "json_$fx" test $? -le 1
	if python3 tests/tools/budget_reference.py "$d/perf-script.txt.zst" --app verdictapp.py \
		> "$OUT/$fx.ref" 2> "$OUT/$fx.referr"; then
		if python3 tests/tools/check_verdicts.py "$OUT/$fx.json" "$OUT/$fx.ref" \
			"$(expect "$scen")" "$(endpoint "$scen")" > "$OUT/$fx.check" 2>&1; then
			ok "verdicts_and_reference_$fx"
		else
			nok "verdicts_and_reference_$fx" "$(head -3 "$OUT/$fx.check" | tr '\n' ' ')"
		fi
	else
		nok "reference_$fx" "$(tail -1 "$OUT/$fx.referr")"
	fi
	# the text names the same verdicts, at the top
	"$PERFSIGHT" summary "$d/perf.data" > "$OUT/$fx.txt" 2> /dev/null
	check "text_top_$fx" sh -c "grep -m1 '^what to change\|^pid ' '$OUT/$fx.txt' | grep -q '^what to change'"
	for id in $(expect "$scen"); do
		check "text_${fx}_$id" grep -qF "[$id]" "$OUT/$fx.txt"
	done
	[ -z "$(expect "$scen")" ] && check "text_none_$fx" grep -q "no verdict" "$OUT/$fx.txt"
	# a database gives the same verdicts, budgets and service
	if "$PERFSIGHT" import "$d/perf.data" -o "$DB" --label "$fx" > /dev/null 2>&1; then
		"$PERFSIGHT" summary --json --capture "$fx" "$DB" > "$OUT/$fx.db.json" 2> /dev/null
		check "db_same_$fx" python3 -c "
import json, sys
a = json.load(open(sys.argv[1]))['captures'][0]; b = json.load(open(sys.argv[2]))['captures'][0]
for k in ('service', 'verdicts', 'not_judged', 'processes', 'workers'):
    assert a[k] == b[k], k
" "$OUT/$fx.json" "$OUT/$fx.db.json"
	else
		nok "db_same_$fx" "import failed"
	fi
done
# every fixture's budgets add up (the verdict ones above; here every other capture too)
for d in fixtures/*; do
	[ -f "$d/perf.data" ] || continue
	fx=$(basename "$d")
	"$PERFSIGHT" summary --json "$d/perf.data" > "$OUT/all-$fx.json" 2> /dev/null
	if python3 tests/tools/check_verdicts.py --budget "$OUT/all-$fx.json" > "$OUT/all-$fx.chk" 2>&1; then
		ok "budget_adds_up_$fx"
	else
		nok "budget_adds_up_$fx" "$(head -2 "$OUT/all-$fx.chk" | tr '\n' ' ')"
	fi
done
# no sched_switch: no off-CPU verdict, and the summary says what would enable it
f=fixtures/ciapp-base/perf.data
if [ -f "$f" ]; then
	"$PERFSIGHT" summary --json "$f" > "$OUT/noswitch.json" 2> /dev/null
	check noswitch_no_offcpu_verdict python3 -c "
import json, sys
c = json.load(open(sys.argv[1]))['captures'][0]
ids = set(v['id'] for v in c['verdicts'])
assert not ids & {'oversubscribed', 'gil-bound-threads', 'io-bound', 'idle'}, ids
skipped = {s['id']: s for s in c['not_judged']}
for k in ('oversubscribed', 'gil-bound-threads', 'io-bound', 'idle'):
    assert 'sched_switch' in skipped[k]['enable'], skipped[k]
assert c['service']['off_cpu_measured'] is False
" "$OUT/noswitch.json"
fi
