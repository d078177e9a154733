# Two CPythons in one capture (fixtures/two-pythons: a 3.9 and a 3.12 process running
# tests/workloads/gcloop.py): each process is classified by its own CPython's tables. The
# referee is perf's own stacks (perf-script.txt.zst beside the capture): per process, the
# samples with that version's GC entry on the stack (3.9: collect; 3.12: gc_collect_main), which
# perfsight's GC samples must equal. Before per-binary tables, the 3.12 process was judged by
# 3.9's and its GC share read 1.4% instead of 42%.
T_SUITE=pyversions
. tests/e2e/lib.sh
F=fixtures/two-pythons
if ! command -v python3 >/dev/null 2>&1 || ! command -v zstd >/dev/null 2>&1; then
	skip all "python3 or zstd not installed"
	exit 0
fi
if ! "$PERFSIGHT" summary --json "$F/perf.data" >"$OUT/s.json" 2>"$OUT/s.err"; then
	nok summary "$(tail -2 "$OUT/s.err")"
	exit 0
fi
zstd -dcq "$F/perf-script.txt.zst" >"$OUT/perf-script.txt"
r=$(python3 - "$OUT/s.json" "$OUT/perf-script.txt" <<'PY'
import json, re, sys
procs = {p["pid"]: p for p in json.load(open(sys.argv[1]))["captures"][0]["processes"]}
gc_fn = {"python3.9": {"collect", "collect_with_callback", "collect_generations"},
         "python3.12": {"gc_collect_main", "gc_collect_with_callback", "gc_collect_generations"}}
want, comm = {}, {}
for block in open(sys.argv[2]).read().split("\n\n"):
    lines = block.strip("\n").split("\n")
    if not lines or not lines[0].strip():
        continue
    head = lines[0].split()
    c, pid = head[0], int(head[1])
    if c not in gc_fn:
        continue
    comm[pid] = c
    fns = {re.sub(r"\+0x[0-9a-f]+$", "", l.split()[1]) for l in lines[1:] if len(l.split()) > 1}
    want[pid] = want.get(pid, 0) + bool(fns & gc_fn[c])
bad = []
for pid, n in sorted(want.items()):
    got = procs.get(pid, {}).get("gc", {}).get("samples")
    print("%s %d: perf %d, perfsight %s;" % (comm[pid], pid, n, got), end=" ")
    if got != n or n < 10:
        bad.append(pid)
sys.exit(1 if bad or len(want) != 2 else 0)
PY
)
if [ $? -eq 0 ]; then
	ok "gc-samples-per-process-by-own-tables ($r)"
else
	nok gc-samples-per-process-by-own-tables "$r"
fi
check note-says-per-binary grep -q 'each frame is classified by the tables of the CPython binary it is in' "$OUT/s.json"
