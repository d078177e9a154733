# GC and GIL figures against the truth (issue 13): a capture recorded the old way (a global -F
# samples the probes and sched_switch) gives no pause or probe-wait figure anywhere, only the
# warning; on the exact capture, switch-based GIL waits agree with the take_gil probes per
# thread, and GC pauses agree in number with the interpreter's own log (gc-truth.txt, parsed
# here on its own).
T_SUITE=truth
. tests/e2e/lib.sh

if ! command -v python3 >/dev/null 2>&1; then
	skip all "python3 is missing (the JSON checks need it)"
	exit 0
fi

S=fixtures/py312-sampled-probes/perf.data
P=fixtures/py312-threads-probes

# ---- sampled events: the warning, and no figure in any output ----
"$PERFSIGHT" summary "$S" > "$OUT/sampled.txt" 2> /dev/null
check sampled_warning_text grep -q "sampled (freq 499)" "$OUT/sampled.txt"
check sampled_not_measured_text grep -q "GC pauses: not measured" "$OUT/sampled.txt"
check sampled_no_pause_line sh -c "! grep -q 'GC pauses (probes)' '$OUT/sampled.txt'"
check sampled_no_wait_line sh -c "! grep -q '^  GIL wait:' '$OUT/sampled.txt'"
"$PERFSIGHT" summary --json "$S" > "$OUT/sampled.json" 2> /dev/null
cat > "$OUT/no-figures.py" << 'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
c = d["captures"][0]
assert any(n["code"] == "sampled-events" and n["severity"] == "warning" for n in c["notes"]), "no warning"
assert set(c["not_measured"]) == {"gc_pauses", "gil_probe_waits", "gil_switch_waits"}, c["not_measured"]
for p in c["processes"] + c["workers"]:
    g, l = p["gc"], p["gil"]
    for k in ("pauses", "pause_s", "pause_max_ms", "pause_p50_ms", "pause_p95_ms"):
        assert g[k] is None, (k, g[k])
    assert g["longest"] == [] and g["not_measured"], g
    for k in ("wait_s", "waits", "probe_wait_s", "probe_waits", "runnable_s"):
        assert l[k] is None, (k, l[k])
    assert l["top_waits"] == []
    for t in p.get("threads", []):
        for k in ("gil_wait_s", "gil_probe_wait_s", "gc_pauses", "gc_pause_s"):
            assert t[k] is None, (k, t[k])
EOF
check sampled_json_null python3 "$OUT/no-figures.py" "$OUT/sampled.json"
"$PERFSIGHT" report "$S" -o "$OUT/sampled.html" > /dev/null 2>&1
cat > "$OUT/no-report-figures.py" << 'EOF'
import json, re, sys
html = open(sys.argv[1]).read()
m = re.search(r'<script type="application/json" id="perfsight-data"[^>]*>(.*?)</script>', html, re.S)
d = json.loads(m.group(1)) if m else None
assert d, "no report data"
assert "gc_pauses" not in d and "gil_waits" not in d, "interval lists in the report"
assert any(w["code"] == "sampled-events" for w in d["warnings"])
for p in d["processes"]:
    assert "pauses" not in p.get("gc", {}) and "wait_s" not in p.get("gil", {}), p
    assert p["gc"]["not_measured"], p
EOF
check sampled_report_no_figures python3 "$OUT/no-report-figures.py" "$OUT/sampled.html"
DB=$OUT/sampled.db
rm -f "$DB" "$DB-wal" "$DB-shm"
"$PERFSIGHT" import "$S" -o "$DB" --label sampled > /dev/null 2>&1
"$PERFSIGHT" summary --json --capture sampled "$DB" > "$OUT/sampled.db.json" 2> /dev/null
check sampled_db_json_null python3 "$OUT/no-figures.py" "$OUT/sampled.db.json"
"$PERFSIGHT" report "$DB" --capture sampled -o "$OUT/sampled-db.html" > /dev/null 2>&1
check sampled_db_report_no_figures python3 "$OUT/no-report-figures.py" "$OUT/sampled-db.html"

# ---- exact events: switches against probes, pauses against the interpreter ----
"$PERFSIGHT" summary --json "$P/perf.data" > "$OUT/probes.json" 2> /dev/null
cat > "$OUT/switch-vs-probe.py" << 'EOF'
import json, sys
c = json.load(open(sys.argv[1]))["captures"][0]
bad = []
n = 0
for p in c["processes"]:
    for t in p["threads"]:
        sw, pr = t["gil_wait_s"], t["gil_probe_wait_s"]
        if sw is None or pr is None or max(sw, pr) < 0.05:
            continue
        n += 1
        if abs(sw - pr) > 0.15 * pr:
            bad.append(f"thread {t['tid']}: switches {sw:.3f} s, probes {pr:.3f} s")
assert n >= 3, f"only {n} threads wait 50 ms or more"
assert not bad, bad
EOF
check switch_waits_match_probes python3 "$OUT/switch-vs-probe.py" "$OUT/probes.json"
cat > "$OUT/gc-truth.py" << 'EOF'
import json, sys
truth = {}
for line in open(sys.argv[2]):
    tid, gen, start, stop = line.split()
    truth.setdefault(int(tid), []).append(int(stop) - int(start))
c = json.load(open(sys.argv[1]))["captures"][0]
ours = {t["tid"]: t["gc_pauses"] for p in c["processes"] for t in p["threads"]}
for tid, v in truth.items():
    n = ours.get(tid)
    assert n is not None, f"thread {tid} has no pauses"
    assert abs(n - len(v)) <= 0.03 * len(v), f"thread {tid}: {n} pauses, the interpreter {len(v)}"
EOF
check gc_pause_count_matches_interpreter python3 "$OUT/gc-truth.py" "$OUT/probes.json" \
	"$P/gc-truth.txt"
