# perfsight info against perf's own view (perf report --stats beside each fixture), in text and
# JSON, in file order and time order, from a path and from standard input.
T_SUITE=info
. tests/e2e/lib.sh
for d in fixtures/*/; do
	f=$d/perf.data
	[ -f "$f" ] || continue
	n=$(basename "$d")
	stats=$d/perf-report-stats.txt
	"$PERFSIGHT" info "$f" > "$OUT/$n.txt" 2> "$OUT/$n.err"
	rc=$?
	"$PERFSIGHT" info --json "$f" > "$OUT/$n.json" 2>> "$OUT/$n.err"
	rcj=$?
	want=$(fx_rc "$d")
	if [ $rc -ne "$want" ] || [ $rcj -ne "$want" ]; then
		nok "$n-exit" "exit $rc/$rcj: $(head -c 300 "$OUT/$n.err")"
		continue
	fi
	ok "$n-exit"
	# perf's lost samples: the lost-samples error exactly when perf's own stats count a loss,
	# of the count the capture's LOST and LOST_SAMPLES records give
	if python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
d = [x for x in j["diagnostics"] if x["code"] == "lost-samples"]
lost = max(j["lost_samples"], j.get("lost_events", 0))
if sys.argv[2] == "1":
    sys.exit(not (len(d) == 1 and d[0]["severity"] == "error" and d[0]["count"] == lost > 0))
sys.exit(bool(d))' "$OUT/$n.json" "$want"; then ok "$n-lost-samples"; else nok "$n-lost-samples" "$(grep -i lost "$OUT/$n.txt" | head -3)"; fi
	if [ "$want" = 1 ]; then
		if grep -q '^  error lost-samples' "$OUT/$n.txt"; then ok "$n-lost-samples-text"; else nok "$n-lost-samples-text" "not among the diagnostics"; fi
	fi
	if [ -s "$stats" ]; then
		if r=$(python3 tests/tools/check_stats.py "$stats" "$OUT/$n.txt"); then ok "$n-text-matches-perf"; else nok "$n-text-matches-perf" "$r"; fi
		if r=$(python3 tests/tools/check_stats.py "$stats" "$OUT/$n.json" --json); then ok "$n-json-matches-perf"; else nok "$n-json-matches-perf" "$r"; fi
	fi
	"$PERFSIGHT" info --time-order "$f" > "$OUT/$n.ordered.txt" 2>/dev/null
	# the counts, not the diagnostics: time order may add a note about records perf wrote late
	sed -i '/^diagnostics:/,$d' "$OUT/$n.ordered.txt"
	if sed '/^diagnostics:/,$d' "$OUT/$n.txt" | cmp -s - "$OUT/$n.ordered.txt"; then ok "$n-time-order-same-counts"; else nok "$n-time-order-same-counts" "$(diff "$OUT/$n.txt" "$OUT/$n.ordered.txt" | head -5)"; fi
	"$PERFSIGHT" info --json - < "$f" > "$OUT/$n.stdin.json" 2>/dev/null
	if python3 -c '
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
sys.exit(0 if a["records"] == b["records"] and a["events"] == b["events"] else 1)' "$OUT/$n.json" "$OUT/$n.stdin.json"; then ok "$n-stdin"; else nok "$n-stdin" "counts differ when read from standard input"; fi
done

# the pipe file perf 6.1 cannot read back: every byte read, tracing data handed on, no diagnostic
f=fixtures/native-pipe-tracepoints/perf.data
if python3 -c '
import json, os, sys
j = json.load(open(sys.argv[1]))
ok = (j["mode"] == "pipe" and j["bytes_read"] == os.path.getsize(sys.argv[2]) and not j["diagnostics"]
      and j["records"].get("TRACING_DATA") == 1 and j["tracing_data_bytes"] > 0
      and {e["name"]: e["samples"] for e in j["events"]}.get("sched:sched_switch", 0) > 0)
sys.exit(0 if ok else 1)' "$OUT/native-pipe-tracepoints.json" "$f"; then
	ok "native-pipe-read-whole"
else
	nok "native-pipe-read-whole" "not read to the end, or diagnostics, or no tracing data"
fi

# bad input: exit 3 and a message naming the file (and the offset where there is one)
: > "$OUT/empty.data"
head -c 300 fixtures/py312-threads-fp/perf.data > "$OUT/cut300.data"
printf 'PERFILE3xxxxxxxxxxxxxxxx' > "$OUT/badmagic.data"
for c in "empty.data:offset 0" "cut300.data:offset 24" "badmagic.data:offset 0" "missing.data:No such file" ".:directory"; do
	f=$OUT/${c%%:*}
	want=${c#*:}
	[ "${c%%:*}" = . ] && f=fixtures
	"$PERFSIGHT" info "$f" > /dev/null 2> "$OUT/bad.err"
	rc=$?
	if [ $rc -eq 3 ] && grep -q "$f" "$OUT/bad.err" && grep -q "$want" "$OUT/bad.err"; then
		ok "bad-input-${c%%:*}"
	else
		nok "bad-input-${c%%:*}" "exit $rc, stderr: $(cat "$OUT/bad.err")"
	fi
done
head -c 60000 fixtures/py312-threads-fp/perf.data > "$OUT/cut60k.data"
"$PERFSIGHT" info --json "$OUT/cut60k.data" > "$OUT/cut60k.json" 2>/dev/null
rc=$?
if [ $rc -eq 1 ] && grep -q '"truncated-record"' "$OUT/cut60k.json"; then ok "truncated-last-record-is-a-diagnostic"; else nok "truncated-last-record-is-a-diagnostic" "exit $rc"; fi

# a database is described by its captures, with the sample count each import stored
rm -f "$OUT/two.db"
"$PERFSIGHT" import fixtures/py312-threads-fp/perf.data --label fp -o "$OUT/two.db" > /dev/null 2>&1
"$PERFSIGHT" import fixtures/py312-threads-probes/perf.data --label probes -o "$OUT/two.db" > /dev/null 2>&1
"$PERFSIGHT" info --json "$OUT/two.db" > "$OUT/two-db.json" 2> "$OUT/two-db.err"
rc=$?
fp=$("$PERFSIGHT" info --json fixtures/py312-threads-fp/perf.data 2>/dev/null |
	python3 -c 'import json,sys; print(sum(e["samples"] for e in json.load(sys.stdin)["events"]))')
# the probes capture lost 2 samples: its row says so and the exit status is 1, as for the file
if [ $rc -eq 1 ] && python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
caps = {c["label"]: c for c in j["captures"]}
sys.exit(0 if sorted(caps) == ["fp", "probes"] and caps["fp"]["samples"] == int(sys.argv[2])
         and caps["fp"]["host"] and caps["fp"]["kind"] == "perf"
         and caps["fp"]["lost_samples"] == 0 and caps["probes"]["lost_samples"] == 2 else 1)' \
	"$OUT/two-db.json" "$fp"; then
	ok "database-lists-captures"
else
	nok "database-lists-captures" "exit $rc: $(cat "$OUT/two-db.err")"
fi
"$PERFSIGHT" info "$OUT/two.db" > "$OUT/two-db.txt" 2>&1
if grep -q "captures:     2" "$OUT/two-db.txt" && grep -q " fp " "$OUT/two-db.txt" &&
	grep -q " probes .*  2 samples lost (lost-samples)" "$OUT/two-db.txt"; then
	ok "database-text"
else
	nok "database-text" "$(head -5 "$OUT/two-db.txt")"
fi
