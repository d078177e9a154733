# perfsight summary: on every perf fixture against the reference figures of perf script
# (check_summary.py), the same summary back from a database import, gunicorn's master and
# workers as rows of their own, profiler dumps (what they can tell, the slowest requests of a
# per-request directory), and captures that lack what a figure needs: no Python, no tracing
# data, a CPython outside the tables, probes on other functions.
T_SUITE=summary
. tests/e2e/lib.sh

have_py=1
command -v python3 >/dev/null 2>&1 || have_py=0
# (check() keeps its name in $n: loops here use other names)
# jq-like reads of a summary: py 'EXPR' FILE, with d the document and c its first capture
py() {
	python3 -c "import json, sys
d = json.load(open(sys.argv[1])); c = d['captures'][0]
$1" "$2"
}

"$PERFSIGHT" summary > /dev/null 2>&1
check usage_no_input test $? = 2
"$PERFSIGHT" summary --bogus fixtures/py312-threads-fp/perf.data > /dev/null 2>&1
check usage_bad_option test $? = 2
"$PERFSIGHT" help summary > "$OUT/help.txt" 2>&1
check help_names_json grep -q -- --json "$OUT/help.txt"

if [ $have_py = 0 ]; then
	skip fixtures "python3 is missing (the reference figures and JSON checks need it)"
	exit 0
fi

DB=$OUT/all.db
rm -f "$DB" "$DB-wal" "$DB-shm"
for d in fixtures/*; do
	fx=$(basename "$d")
	[ -f "$d/perf.data" ] || continue
	"$PERFSIGHT" summary --json "$d/perf.data" > "$OUT/$fx.json" 2> "$OUT/$fx.err"
	rc=$?
	if [ $rc -eq "$(fx_rc "$d")" ]; then
		ok "json_$fx"
	else
		nok "json_$fx" "exit $rc: $(tail -1 "$OUT/$fx.err")"
		continue
	fi
	check "schema_$fx" py 'assert d["schema"] == "perfsight-summary/1"' "$OUT/$fx.json"
	check "text_$fx" sh -c "'$PERFSIGHT' summary '$d/perf.data' 2>/dev/null | grep -q '^capture $fx'"
	if [ -f "$d/perf-script.txt.zst" ]; then
		if python3 tests/tools/check_summary.py "$OUT/$fx.json" "$d/perf-script.txt.zst" \
			> "$OUT/$fx.ref" 2>&1; then
			ok "reference_$fx"
		else
			nok "reference_$fx" "$(head -3 "$OUT/$fx.ref" | tr '\n' ' ')"
		fi
	else
		skip "reference_$fx" "no perf-script.txt.zst beside the capture"
	fi
	# import stores the analysis; the database gives back the same figures
	"$PERFSIGHT" import "$d/perf.data" -o "$DB" --label "$fx" > /dev/null 2> "$OUT/$fx.imp"
	if [ $? -eq "$(fx_rc "$d")" ]; then
		"$PERFSIGHT" summary --json --capture "$fx" "$DB" > "$OUT/$fx.db.json" 2> /dev/null
		if python3 tests/tools/check_summary.py --same "$OUT/$fx.json" "$OUT/$fx.db.json" \
			> "$OUT/$fx.same" 2>&1; then
			ok "db_equals_raw_$fx"
		else
			nok "db_equals_raw_$fx" "$(head -3 "$OUT/$fx.same" | tr '\n' ' ')"
		fi
	else
		nok "db_equals_raw_$fx" "import failed: $(tail -1 "$OUT/$fx.imp")"
	fi
done

# the document is rebuilt from the analysis' books (db_equals_raw above), not kept as text
if command -v sqlite3 >/dev/null 2>&1; then
	check no_stored_summary test "$(sqlite3 "$DB" "SELECT count(*) FROM summaries")" = 0
	# off-CPU intervals and probe hits of the probes capture are in their tables
	n_off=$(sqlite3 "$DB" "SELECT count(*) FROM offcpu o JOIN captures c ON c.id = o.capture
		WHERE c.label = 'py312-threads-probes'")
	n_sw=$(py 'print(c["events"].get("sched:sched_switch", 0))' "$OUT/py312-threads-probes.json")
	check offcpu_rows test "$n_off" -gt 0 -a "$n_off" -le "$n_sw"
	n_pr=$(sqlite3 "$DB" "SELECT count(*) FROM probes p JOIN captures c ON c.id = p.capture
		WHERE c.label = 'py312-threads-probes'")
	n_tp=$(py 'print(sum(v for k, v in c["events"].items() if ":" in k))' \
		"$OUT/py312-threads-probes.json")
	check probe_rows_every_tracepoint_sample test "$n_pr" = "$n_tp"
	st=$(sqlite3 "$DB" "SELECT count(*) FROM probes p JOIN captures c ON c.id = p.capture
		WHERE c.label = 'py312-threads-probes'
		AND json_extract(p.fields, '\$.prev_state') IS NOT NULL")
	check probe_fields_decoded test "$st" -gt 0
	# the text summary of a database capture is the analysis', not a stand-in
	"$PERFSIGHT" summary --capture py312-threads-probes "$DB" > "$OUT/db.txt" 2>/dev/null
	check db_text_has_gc_pauses grep -q 'GC pauses (probes)' "$OUT/db.txt"
else
	skip stored_summary "the sqlite3 command is missing"
fi

# several inputs: one document, one capture each, in order
"$PERFSIGHT" summary --json fixtures/py312-threads-fp/perf.data fixtures/pyinstrument/per-request \
	> "$OUT/two.json" 2>/dev/null
check two_inputs_one_document py '
assert [x["label"] for x in d["captures"]] == ["py312-threads-fp", "per-request"]' \
	"$OUT/two.json"

# gunicorn: the master and each worker are rows with their own figures, plus the workers' sum
G=$OUT/gunicorn-gthread-pipe.json
check gunicorn_one_master py 'assert [p["role"] for p in c["processes"]].count("master") == 1' "$G"
check gunicorn_workers_rows py '
w = [p for p in c["processes"] if p["role"] == "worker"]
assert len(w) >= 2 and all(p["cpu_samples"] > 0 for p in w)
assert len({p["pid"] for p in w}) == len(w)' "$G"
check gunicorn_workers_sum py '
w = [p for p in c["processes"] if p["role"] == "worker"]
(g,) = c["workers"]
assert sorted(g["worker_pids"]) == sorted(p["pid"] for p in w)
assert g["cpu_samples"] == sum(p["cpu_samples"] for p in w)' "$G"

# categories are shares of the CPU samples: they sum to 1
check categories_sum_to_one py '
for x in d["captures"]:
    for p in x["processes"]:
        if p["cpu_samples"]:
            assert abs(sum(p["categories"].values()) - 1) < 1e-9, p["pid"]' \
	"$OUT/py312-threads-probes.json"

# no Python at all: said, and the Python figures are not invented
N=$OUT/native-pipe-tracepoints.json
check no_python_note py '
assert c["python"] is None and "no-python" in [n["code"] for n in c["notes"]]' "$N"
check no_python_text sh -c "'$PERFSIGHT' summary fixtures/native-pipe-tracepoints/perf.data \
	2>/dev/null | grep -q 'no CPython found'"
# no probes: their figures are null, not 0
check no_probes_null py '
for p in c["processes"]:
    assert p["gc"]["pauses"] is None and p["gil"]["probe_wait_s"] is None' \
	"$OUT/py312-threads-fp.json"

# captures made from the fixtures by byte edits that keep every offset
mk() { # SRC DST python-bytes-edit
	python3 -c "import sys
b = open(sys.argv[1], 'rb').read()
$3
open(sys.argv[2], 'wb').write(b)" "$1" "$2"
}
P=fixtures/py312-threads-probes/perf.data
# a CPython perfsight has no table for (the same length keeps the file's layout; the probes
# capture's records are compressed, the fp one's are not)
mk fixtures/py312-threads-fp/perf.data "$OUT/py319.data" \
	'b = b.replace(b"python3.12", b"python3.19")'
"$PERFSIGHT" summary --json "$OUT/py319.data" > "$OUT/py319.json" 2>/dev/null
check unknown_python_note py '
assert c["python"]["version"] == "3.19" and not c["python"]["known"]
assert "python-version-unknown" in [n["code"] for n in c["notes"]]' "$OUT/py319.json"
# probes on another function than take_gil and the collector
mk "$P" "$OUT/otherprobe.data" \
	'b = b.replace(b"take_gil", b"make_gil").replace(b"gc_collect_main", b"gc_kollect_main")'
"$PERFSIGHT" summary --json "$OUT/otherprobe.data" > "$OUT/otherprobe.json" 2>/dev/null
check other_probes_said py '
codes = [n["code"] for n in c["notes"]]
assert "other-tracepoint" in codes, codes
for p in c["processes"]:
    assert p["gil"]["probe_wait_s"] is None and p["gc"]["pauses"] is None' "$OUT/otherprobe.json"
# tracing data that does not parse: no GIL waits from switches, and the reason
mk "$P" "$OUT/badtracing.data" 'b = b.replace(b"\x17\x08\x44tracing", b"\x17\x08\x44tracinX")'
"$PERFSIGHT" summary --json "$OUT/badtracing.data" > "$OUT/badtracing.json" 2>/dev/null
check bad_tracing_data_said py '
assert "tracing-data" in [n["code"] for n in c["notes"]]
for p in c["processes"]:
    assert p["gil"]["wait_s"] is None' "$OUT/badtracing.json"
# no tracing data at all: a pipe-mode capture with its HEADER_TRACING_DATA record dropped
python3 - fixtures/native-pipe-tracepoints/perf.data "$OUT/notracing.data" <<'EOF'
import struct, sys
b = open(sys.argv[1], "rb").read()
out, pos = [b[:16]], 16
while pos + 8 <= len(b):
    typ, misc, size = struct.unpack_from("<IHH", b, pos)
    if size < 8:
        break
    end = pos + size
    if typ == 66:  # PERF_RECORD_HEADER_TRACING_DATA: its payload follows the record
        end += struct.unpack_from("<I", b, pos + 8)[0]
    else:
        out.append(b[pos:end])
    pos = end
out.append(b[pos:])
open(sys.argv[2], "wb").write(b"".join(out))
EOF
"$PERFSIGHT" summary --json "$OUT/notracing.data" > "$OUT/notracing.json" 2>/dev/null
if py 'assert "sched:sched_switch" in c["events"]' "$OUT/native-pipe-tracepoints.json" \
	2>/dev/null; then
	check no_tracing_data_said py '
assert "no-tracing-data" in [n["code"] for n in c["notes"]]
for p in c["processes"]:
    assert p["gil"]["wait_s"] is None' "$OUT/notracing.json"
else
	skip no_tracing_data_said "native-pipe-tracepoints has no sched_switch samples"
fi

# profiler dumps: what they tell, and that GC/GIL figures are not in them
S=fixtures/pyinstrument/flask-testclient.pyisession
"$PERFSIGHT" summary --json "$S" > "$OUT/session.json" 2>/dev/null
check dump_gc_gil_unavailable py '
assert "gc-gil-unavailable" in [n["code"] for n in c["notes"]] and c["processes"] == []' \
	"$OUT/session.json"
check dump_utilisation py '
import math
p = c["pyprof"]
assert p["duration_s"] > 0 and p["cpu_time_s"] > 0
assert math.isclose(p["cpu_utilisation"], p["cpu_time_s"] / p["duration_s"])
top = p["top_functions"]
assert top and top[0]["self"] >= top[-1]["self"]' "$OUT/session.json"
"$PERFSIGHT" summary "$S" > "$OUT/session.txt" 2>/dev/null
check dump_text_says_gc_gil grep -q 'GC/GIL: not available' "$OUT/session.txt"
R=fixtures/pyinstrument/per-request
"$PERFSIGHT" summary --json "$R" > "$OUT/requests.json" 2>/dev/null
check requests_listed py '
r = c["pyprof"]["requests"]
assert len(r) == c["pyprof"]["files"] > 1
assert [x["duration_s"] for x in r] == sorted((x["duration_s"] for x in r), reverse=True)' \
	"$OUT/requests.json"
# the slowest file by the dumps' own durations is the first one listed
want=$(python3 - "$R" <<'EOF'
import json, os, sys
best = None
for f in sorted(os.listdir(sys.argv[1])):
    if f.endswith(".pyisession"):
        s = json.load(open(os.path.join(sys.argv[1], f)))
        dur = s.get("duration", s.get("session", {}).get("duration"))
        if dur is not None and (best is None or dur > best[0]):
            best = (dur, f)
print(best[1] if best else "")
EOF
)
got=$(py 'print(c["pyprof"]["requests"][0]["file"])' "$OUT/requests.json")
if [ -n "$want" ]; then
	check slowest_request_first test "$got" = "$want"
else
	skip slowest_request_first "no .pyisession with a duration in $R"
fi
"$PERFSIGHT" summary "$R" > "$OUT/requests.txt" 2>/dev/null
check requests_text grep -q "slowest requests (of" "$OUT/requests.txt"

# bad input: a clear error, exit 3
printf 'not a capture\0\1\2' > "$OUT/junk.bin"
"$PERFSIGHT" summary "$OUT/junk.bin" > /dev/null 2> "$OUT/junk.err"
check junk_exit_3 test $? = 3
check junk_names_file grep -q junk.bin "$OUT/junk.err"

# `timeout 5 env ... python3.12 -m gunicorn`: the wrapper is shown as a wrapper, the master is the
# Python process whose children are the workers, and its command line is the wrapped one, whole
T=fixtures/gunicorn-timeout/perf.data
"$PERFSIGHT" summary --json "$T" > "$OUT/timeout.json" 2>/dev/null
check wrapper_is_not_master py '
p = {x["pid"]: x for x in c["processes"]}
(root,) = [x for x in p.values() if x["ppid"] not in p]
assert root["comm"] == "timeout" and root["role"] == "wrapper" and root["server"] is None, root
(m,) = [x for x in p.values() if x["role"] == "master"]
kids = [x for x in p.values() if x["ppid"] == m["pid"]]
assert m["ppid"] == root["pid"] and m["comm"].startswith("python"), m
assert len(kids) == 2 and all(x["role"] == "worker" for x in kids), kids
assert m["cmdline"].split()[1:4] == ["-m", "gunicorn", "-w"], m["cmdline"]
(g,) = c["workers"]
assert g["master_pid"] == m["pid"] and sorted(g["worker_pids"]) == sorted(x["pid"] for x in kids)' \
	"$OUT/timeout.json"
"$PERFSIGHT" summary "$T" > "$OUT/timeout.txt" 2>/dev/null
check cmdline_keeps_worker_options grep -q '^  cmd: python3.12 -m gunicorn -w 2 -k sync -b .* app:app$' "$OUT/timeout.txt"
check wrapper_says_so grep -q 'timeout  wrapper: starts the service, is not its master' "$OUT/timeout.txt"

# --- a CPython run with perf support whose perf-PID.map is missing: a warning naming the pids
# and the places searched, saying the Python names are missing; none with the maps given
nomap() { # NAME FIXTURE PIDS...: the capture alone in a directory, without its maps
	name=$1 fx=$2
	shift 2
	dir="$OUT/nomap-$fx"
	rm -rf "$dir"
	mkdir -p "$dir"
	cp "fixtures/$fx/perf.data" "$dir/"
	for pid in "$@"; do
		if [ -e "/tmp/perf-$pid.map" ]; then
			skip "$name" "/tmp/perf-$pid.map exists on this machine: the map is not missing"
			return
		fi
	done
	"$PERFSIGHT" summary "$dir/perf.data" > "$dir/summary.txt" 2> "$dir/summary.err"
	if python3 - "$dir/summary.err" "$dir" "$@" <<'PY'
import re, sys
err, d, pids = open(sys.argv[1]).read(), sys.argv[2], sys.argv[3:]
w = [l for l in err.splitlines() if " warning perf-map-missing (x%d): " % len(pids) in l]
assert len(w) == 1, err
w = w[0]
assert "CPython with perf support" in w and "the Python function names are missing" in w, w
listed = re.search(r"for pids? ([0-9, ]+) \(searched ([^)]*)\)", w)
assert listed and sorted(listed.group(1).split(", ")) == sorted(pids), w
assert listed.group(2).startswith(d + ", " + d + "/maps"), w
PY
	then ok "$name"; else nok "$name" "$(grep perf-map-missing "$dir/summary.err" | head -c 300)"; fi
	check "${name}_no_python_names" sh -c "! grep -q 'Python (app)' '$dir/summary.txt'"
	"$PERFSIGHT" summary --jit-maps "fixtures/$fx/maps" "$dir/perf.data" > "$dir/maps.txt" \
		2> "$dir/maps.err"
	check "${name}_maps_given_no_warning" sh -c "! grep -q perf-map-missing '$dir/maps.err'"
	check "${name}_maps_given_python_names" grep -q 'Python (app)' "$dir/maps.txt"
}
nomap perf_map_missing py312-threads-dwarf 22210
nomap perf_map_missing_workers gunicorn-gthread-pipe 16737 16738 16739
# a native program and captures with their maps: no such warning
for fx in native-pipe-tracepoints py312-threads-dwarf gunicorn-gthread-pipe py313-chain-perfjit \
	py312-gc-single py312-clock-freq; do
	"$PERFSIGHT" summary "fixtures/$fx/perf.data" > /dev/null 2> "$OUT/$fx.maps.err"
	check "perf_map_found_$fx" sh -c "! grep -q perf-map-missing '$OUT/$fx.maps.err'"
done
