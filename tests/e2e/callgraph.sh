#!/bin/sh
# Call-graph profiles (issue 15, item 3): pstats dumps and callgrind files, checked against the
# tools that wrote them. For the committed fixtures and for dumps made now by cProfile and
# profile.py under every CPython of pyenv (3.8-3.13; a small workload and one of 12000+
# functions), perfsight's export must equal Python's own pstats, function by function and edge
# by edge (tests/tools/pstats_check.py, run by the Python that wrote the dump); for valgrind's
# callgrind files (the fixtures, and a run made now) and pprofile's, the totals and costs must
# equal callgrind_annotate's (tests/tools/callgrind_check.py). Then every command on them:
# info, summary (text and JSON), import (the database gives back the same graph), report,
# export (json, callgrind), flamegraph (labelled reconstructed), collapse (refused).
T_SUITE=callgraph
. tests/e2e/lib.sh
FX=fixtures/callgraph
PY=${PYTHON:-python3}

# pstats_ok LABEL DUMP PYTHON: perfsight's export of DUMP equals PYTHON's pstats
pstats_ok() {
	if ! "$PERFSIGHT" export "$2" --format json -o "$OUT/$1.json" 2>"$OUT/$1.err"; then
		nok "$1" "export: $(tail -1 "$OUT/$1.err")"
	elif "$3" tests/tools/pstats_check.py "$OUT/$1.json" "$2" >"$OUT/$1.check" 2>&1; then
		ok "$1"
		sed 's/^/# /' "$OUT/$1.check"
	else
		nok "$1" "$(head -3 "$OUT/$1.check" | tr '\n' ' ')"
	fi
}

# callgrind_ok LABEL FILE: perfsight's export of FILE agrees with callgrind_annotate
callgrind_ok() {
	if ! command -v callgrind_annotate >/dev/null 2>&1; then
		skip "$1" "no callgrind_annotate (make deps installs valgrind)"
	elif ! "$PERFSIGHT" export "$2" --format json -o "$OUT/$1.json" 2>"$OUT/$1.err"; then
		nok "$1" "export: $(tail -1 "$OUT/$1.err")"
	elif "$PY" tests/tools/callgrind_check.py "$OUT/$1.json" "$2" >"$OUT/$1.check" 2>&1; then
		ok "$1"
		sed 's/^/# /' "$OUT/$1.check"
	else
		nok "$1" "$(head -3 "$OUT/$1.check" | tr '\n' ' ')"
	fi
}

# --- the fixtures, read by this machine's Python (any 3.x reads any cProfile dump)
for f in "$FX"/cprofile-py3*.prof "$FX"/pyinstrument-shape.pstats; do
	pstats_ok "fixture-$(basename "$f")" "$f" "$PY"
done
# profile.py names its script by a code object, which only a CPython of the same layout reads
py312=$(pyenv prefix 3.12.1 2>/dev/null)/bin/python
py39=$(pyenv prefix 3.9.18 2>/dev/null)/bin/python
if [ -x "$py312" ]; then
	pstats_ok fixture-profile-py312.prof "$FX/profile-py312.prof" "$py312"
else
	skip fixture-profile-py312.prof "no CPython 3.12 in pyenv to read its code object"
fi
if [ -x "$py39" ]; then
	pstats_ok fixture-profile-py39.prof "$FX/profile-py39.prof" "$py39"
else
	skip fixture-profile-py39.prof "no CPython 3.9 in pyenv to read its code object"
fi

# --- dumps made now, under every CPython of pyenv: cProfile (small and 12000+ functions) and
# profile.py
for v in 3.8.18 3.9.18 3.10.13 3.11.7 3.12.1 3.13.0; do
	py=$(pyenv prefix "$v" 2>/dev/null)/bin/python
	if [ ! -x "$py" ]; then
		skip "cprofile-$v" "CPython $v is not in pyenv"
		continue
	fi
	"$py" -m cProfile -o "$OUT/cprofile-$v.prof" tests/workloads/cg_app.py &&
		pstats_ok "cprofile-$v" "$OUT/cprofile-$v.prof" "$py"
	"$py" -m cProfile -o "$OUT/cprofile-big-$v.prof" tests/workloads/cg_app.py --many 12000 &&
		pstats_ok "cprofile-12000-functions-$v" "$OUT/cprofile-big-$v.prof" "$py"
	"$py" -m profile -o "$OUT/profile-$v.prof" tests/workloads/cg_app.py &&
		pstats_ok "profile-$v" "$OUT/profile-$v.prof" "$py"
done
if [ -f "$OUT/cprofile-big-3.12.1.prof" ]; then
	n=$("$PY" -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["functions"]))' \
		"$OUT/cprofile-12000-functions-3.12.1.json")
	check large_profile_has_12000_functions test "$n" -gt 12000
fi

# --- callgrind: the fixtures, valgrind on cg_prog.c now, pprofile now
for f in "$FX"/*.callgrind; do
	callgrind_ok "fixture-$(basename "$f")" "$f"
done
if command -v valgrind >/dev/null 2>&1 && command -v cc >/dev/null 2>&1; then
	cc -O1 -g -fno-inline -o "$OUT/cg_prog" tests/workloads/cg_prog.c &&
		valgrind --tool=callgrind --callgrind-out-file="$OUT/valgrind.callgrind" \
			"$OUT/cg_prog" >/dev/null 2>"$OUT/valgrind.log" &&
		callgrind_ok valgrind-now "$OUT/valgrind.callgrind"
else
	skip valgrind-now "no valgrind or cc"
fi
if command -v pprofile3 >/dev/null 2>&1; then
	pprofile3 -f callgrind -o "$OUT/pprofile.callgrind" tests/workloads/cg_app.py &&
		callgrind_ok pprofile-now "$OUT/pprofile.callgrind"
else
	skip pprofile-now "no pprofile3 (make deps installs python3-pprofile)"
fi

# --- the commands on a dump
D=$FX/cprofile-py312.prof
"$PERFSIGHT" info "$D" >"$OUT/info.txt" 2>&1
check info_names_the_format grep -q '^format: *pstats (Python marshal' "$OUT/info.txt"
check info_counts_functions grep -q '^functions: *24 ' "$OUT/info.txt"
check info_counts_calls grep -q '^calls: *14638 (632 primitive' "$OUT/info.txt"
"$PERFSIGHT" info --json "$FX/valgrind-cg_prog.callgrind" >"$OUT/info.json" 2>&1
check info_json_callgrind "$PY" -c 'import json, sys; d = json.load(open(sys.argv[1]))
assert d["format"] == "callgrind" and d["creator"].startswith("callgrind-")
assert d["events"][0]["total"] == d["events"][0]["summary"]' "$OUT/info.json"

"$PERFSIGHT" summary "$D" >"$OUT/summary.txt" 2>&1
check summary_text_tottime_first sh -c "grep -A2 'by own time (tottime)' '$OUT/summary.txt' |
	tail -1 | grep -q '13950/30 .* fib (tests/workloads/cg_app.py:15)'"
check summary_text_hot_paths_labelled grep -q 'reconstructed from the edges' "$OUT/summary.txt"
"$PERFSIGHT" summary --json "$D" >"$OUT/summary.json" 2>&1
check summary_json_matches_export "$PY" -c 'import json, sys
s = json.load(open(sys.argv[1]))["captures"][0]["callgraph"]
e = json.load(open(sys.argv[2]))
top = max(e["functions"], key=lambda f: f["self"][0])
assert s["top_self"][0]["function"] == top["function"]
assert s["top_self"][0]["self"] == top["self"][0] and s["top_self"][0]["calls"] == top["calls"]
assert s["calls"] == e["calls"] and s["total"] == e["events"][0]["total"]
assert s["hot_paths_reconstructed"] is True and s["hot_paths"]' \
	"$OUT/summary.json" "$OUT/fixture-cprofile-py312.prof.json"

# import: the database gives back the same graph, and its SQL views read it
DB=$OUT/cg.db
rm -f "$DB" "$DB-wal" "$DB-shm"
if "$PERFSIGHT" import "$D" "$FX/valgrind-cg_prog.callgrind" -o "$DB" >"$OUT/import.txt" \
	2>&1; then
	ok import
	check import_schema_3 test "$(sqlite3 "$DB" 'PRAGMA user_version')" = 3
	check import_functions_view test "$(sqlite3 "$DB" "SELECT count(*) FROM cg_functions_text
		WHERE capture = 1")" = 24
	check import_fib_row test "$(sqlite3 "$DB" "SELECT calls || '/' || prim_calls FROM
		cg_functions_text WHERE function = 'fib'")" = 13950/30
	for c in 1 2; do
		"$PERFSIGHT" export "$DB" --capture $c --format json -o "$OUT/db-$c.json" 2>/dev/null
	done
	check db_graph_equals_file "$PY" -c 'import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for d in (a, b):
    del d["label"]
assert a == b, "differ"' "$OUT/db-1.json" "$OUT/fixture-cprofile-py312.prof.json"
	check db_callgrind_equals_file "$PY" -c 'import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for d in (a, b):
    del d["label"]
assert a == b, "differ"' "$OUT/db-2.json" "$OUT/fixture-valgrind-cg_prog.callgrind.json"
	"$PERFSIGHT" summary --capture 1 "$DB" 2>&1 | sed 1d >"$OUT/db-summary.txt"
	sed 1d "$OUT/summary.txt" >"$OUT/file-summary.txt"
	check db_summary_same_tables cmp -s "$OUT/file-summary.txt" "$OUT/db-summary.txt"
else
	nok import "$(tail -1 "$OUT/import.txt")"
fi

# report: the call-graph section, from the file and from the database alike
if "$PERFSIGHT" report "$D" -o "$OUT/report.html" 2>"$OUT/report.err"; then
	ok report
	check report_has_callgraph grep -q '"callgraph":{"format":"pstats"' "$OUT/report.html"
	check report_labels_reconstruction grep -q 'reconstructed-paths' "$OUT/report.html"
	if [ -f "$DB" ]; then
		"$PERFSIGHT" report "$DB" --capture 1 --title "perfsight: cprofile-py312.prof" \
			-o "$OUT/report-db.html" 2>/dev/null
		check report_db_same_data sh -c "sed -n 's/.*id=\"perfsight-data\">//p' \
			'$OUT/report.html' >'$OUT/r1' && sed -n 's/.*id=\"perfsight-data\">//p' \
			'$OUT/report-db.html' >'$OUT/r2' && cmp -s '$OUT/r1' '$OUT/r2'"
	fi
else
	nok report "$(tail -1 "$OUT/report.err")"
fi
size=$("$PERFSIGHT" report "$OUT/cprofile-big-3.12.1.prof" -o "$OUT/big.html" 2>/dev/null &&
	wc -c <"$OUT/big.html")
check report_of_12000_functions_under_5MB test "${size:-99999999}" -lt 5000000

# export callgrind: callgrind_annotate reads it, its totals the dump's nanoseconds
if command -v callgrind_annotate >/dev/null 2>&1 &&
	"$PERFSIGHT" export "$D" --format callgrind -o "$OUT/as.callgrind" 2>/dev/null; then
	check export_callgrind_annotated "$PY" -c 'import json, subprocess, sys
e = json.load(open(sys.argv[1]))
ns = sum(round(f["self"][0] * 1e9) for f in e["functions"])
out = subprocess.run(["callgrind_annotate", sys.argv[2]], capture_output=True, text=True).stdout
line = next(l for l in out.splitlines() if "PROGRAM TOTALS" in l)
assert int(line.split()[0].replace(",", "")) == ns, (line, ns)' \
		"$OUT/fixture-cprofile-py312.prof.json" "$OUT/as.callgrind"
	callgrind_ok export-callgrind-roundtrip "$OUT/as.callgrind"
else
	skip export_callgrind_annotated "no callgrind_annotate"
fi

# flamegraph: reconstructed, and says so; collapse and folded exports refuse
"$PERFSIGHT" flamegraph "$D" --subtitle mine -o "$OUT/flame.svg" 2>"$OUT/flame.err"
check flamegraph_says_reconstructed grep -q 'Reconstructed from caller-callee edges: an estimate, not measured stacks. mine' "$OUT/flame.svg"
"$PERFSIGHT" collapse "$D" >/dev/null 2>"$OUT/collapse.err"
check collapse_refused test $? -eq 3
check collapse_says_why grep -q 'holds caller-callee edges, not stacks' "$OUT/collapse.err"
"$PERFSIGHT" export "$D" --format folded -o "$OUT/x.folded" 2>/dev/null
check export_folded_refused test $? -eq 2
check export_folded_wrote_nothing test ! -e "$OUT/x.folded"
