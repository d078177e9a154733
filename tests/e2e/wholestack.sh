# Whole Python stacks (issue 12): through CPython's perf trampolines and jitdumps, to the thread
# entry, with cut stacks marked [truncated] in every view and export.
#
# Against the committed fixtures (tests/workloads/chain.py under CPython 3.13, DWARF 32 KiB):
#  - the known chain: every leaf sample holds the whole chain written in chain.py, root to leaf,
#    in the native and the python view, with no [unknown] under the Python frames;
#  - the referee: perf itself on -X perf_jit, after perf inject --jit, against perfsight on the
#    raw file and its jitdump (weighted overlap >= 0.98); on both, perf's stacks are leaf ends
#    of perfsight's (perfsight only adds named outer frames);
#  - inclusive time: a recursive function counted once per sample.
# Recorded here and now (each part says SKIP when perf, its rights or a pyenv CPython is
# missing): the chain under 3.12 and 3.13 -X perf with GC uprobes (probe group of its own, period
# 1) and sched_switch: whole chains, GC pauses and GIL waits named by their whole Python path;
# the same workload with -X perf_jit, its Python paths (perf after inject) against -X perf's
# (perfsight); a -z capture, which perf 6.1 cannot inject, read by perfsight; gunicorn + Flask
# with 32 KiB dumps, view samples carrying the chain from gunicorn's worker loop through
# Flask's dispatch. Only this script's own JIT files are moved out of /tmp.
T_SUITE=wholestack
. tests/e2e/lib.sh
AGREE="python3 tests/tools/folded-agree.py"
CHAIN="python3 tests/tools/chain-check.py"

# collapse NAME CAPTURE [options]: $OUT/NAME.folded and .err; the --mask-kernel option the
# comparison with perf needs ($MASK). --addrs: an unresolved frame says whether a file maps it
# ("[libx.so <addr>]") or nothing does ("[unknown <addr>]", a frame made of stack contents)
collapse() {
	n=$1 f=$2
	shift 2
	"$PERFSIGHT" collapse "$f" --addrs "$@" > "$OUT/$n.folded" 2> "$OUT/$n.err"
	MASK=""
	grep -q kernel-symbols-unavailable "$OUT/$n.err" && MASK=--mask-kernel
	return 0
}
chain() { # name folded [min]
	if r=$($CHAIN check "$2" --min "${3:-0.95}"); then ok "$1 ($r)"; else nok "$1" "$r"; fi
}

# ---- the committed fixtures ----
for d in py313-chain-perf py313-chain-perfjit; do
	f=fixtures/$d/perf.data
	collapse "$d" "$f"
	chain "$d-whole-chain" "$OUT/$d.folded"
	"$PERFSIGHT" export "$f" --view python --format folded -o "$OUT/$d.py.folded" 2>/dev/null
	chain "$d-python-view-is-the-call-tree" "$OUT/$d.py.folded"
	if r=$($AGREE "$OUT/$d.folded" --script "fixtures/$d/perf-script.txt.zst" --event cpu-clock \
		$MASK --truncated --min-suffix 1); then
		ok "$d-perf-stacks-are-leaf-ends ($r)"
	else
		nok "$d-perf-stacks-are-leaf-ends" "$r"
	fi
done
d=py313-chain-perfjit
if r=$($AGREE "$OUT/$d.folded" --script "fixtures/$d/perf-script-injected.txt.zst" --event cpu-clock \
	$MASK --truncated --min 0.98); then
	ok "jitdump-read-natively-agrees-with-perf-inject-0.98 ($r)"
else
	nok "jitdump-read-natively-agrees-with-perf-inject-0.98" "$r"
fi
check jitdump-named-from-the-dump grep -q ';py::level_12:/srv/app/chain.py;' "$OUT/$d.folded"
# without the jitdump the trampolines are neither named nor stepped through
mkdir -p "$OUT/nodump" && cp "fixtures/$d/perf.data" "$OUT/nodump/perf.data"
collapse nodump "$OUT/nodump/perf.data"
if ! $CHAIN check "$OUT/nodump.folded" > /dev/null; then
	ok "jitdump-needed-for-the-chain"
else
	nok "jitdump-needed-for-the-chain" "the chain is whole without the jitdump"
fi

# a recursive function counts once per sample in its inclusive time: descend is on every stack
# of the chain four times
"$PERFSIGHT" export fixtures/py313-chain-perf/perf.data --format json --view python -o "$OUT/top.json" 2>/dev/null
if python3 - "$OUT/top.json" "$OUT/py313-chain-perf.py.folded" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
want = sum(int(l.rsplit(" ", 1)[1]) for l in open(sys.argv[2]) if ";py::descend:" in l)
got = [t["total"] for t in d["top_functions"] if t["function"].startswith("py::descend:")]
print(got, want, d["total"], file=sys.stderr)
sys.exit(0 if got == [want] and 0 < want <= d["total"] else 1)
PY
then ok "recursive-function-total-once-per-sample"; else nok "recursive-function-total-once-per-sample" "see $OUT/top.json"; fi

# a cut stack keeps its [truncated] root in every view and export (the 4 KiB threads capture
# cuts the deepest of its stacks)
f=fixtures/py312-threads-dwarf/perf.data
for v in native mixed python; do
	"$PERFSIGHT" export "$f" --view "$v" --format folded -o "$OUT/cut.$v.folded" 2>/dev/null
	check "truncated-root-$v-view" grep -q '^\[truncated\];' "$OUT/cut.$v.folded"
done
"$PERFSIGHT" export "$f" --view python --format speedscope -o "$OUT/cut.speedscope.json" 2>/dev/null
check truncated-in-speedscope grep -q '"name":"\[truncated\]"' "$OUT/cut.speedscope.json"
"$PERFSIGHT" flamegraph "$f" --view python -o "$OUT/cut.svg" 2>/dev/null
check truncated-in-flamegraph grep -q '\[truncated\]' "$OUT/cut.svg"
"$PERFSIGHT" report "$f" -o "$OUT/cut.html" 2>/dev/null
check truncated-in-report grep -q '\[truncated\]' "$OUT/cut.html"
check cut-share-in-report grep -q '"cut_stacks":{"samples":[1-9]' "$OUT/cut.html"
"$PERFSIGHT" summary "$f" --json > "$OUT/cut.summary.json" 2>"$OUT/cut.summary.err"
if python3 - "$OUT/cut.summary.json" "$OUT/cut.native.folded" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
cut = sum(int(l.rsplit(" ", 1)[1]) for l in open(sys.argv[2]) if l.startswith("[truncated];"))
got = sum(p["cut_stacks"]["samples"] for p in d["captures"][0]["processes"])
share = d["captures"][0]["processes"][0]["cut_stacks"]["share"]
sys.exit(0 if got == cut > 0 and 0 < share < 1 else 1)
PY
then ok "cut-stacks-in-summary-json"; else nok "cut-stacks-in-summary-json" "see $OUT/cut.summary.json"; fi
check stacks-cut-diagnostic-says-the-size grep -q 'stacks-cut.*--call-graph dwarf,[0-9]* would have held' "$OUT/cut.summary.err"
rm -f "$OUT/cut.db"
"$PERFSIGHT" import "$f" -o "$OUT/cut.db" > /dev/null 2>&1
"$PERFSIGHT" summary "$OUT/cut.db" --json > "$OUT/cut.db.json" 2>/dev/null
check cut-stacks-from-database sh -c "grep -o '\"cut_stacks\":{[^}]*}' '$OUT/cut.summary.json' > '$OUT/a' && grep -o '\"cut_stacks\":{[^}]*}' '$OUT/cut.db.json' > '$OUT/b' && [ -s '$OUT/a' ] && cmp -s '$OUT/a' '$OUT/b'"

# ---- recorded here and now ----
P312=$(pyenv prefix 3.12.1 2>/dev/null)/bin/python3.12
P313=$(pyenv prefix 3.13.0 2>/dev/null)/bin/python3.13
W=$(pwd)/tests/workloads/chain.py
why=$(perf_why)
if [ -n "$why" ]; then
	skip recording "$why"
	exit 0
fi
EV='cpu-clock/period=10000000,name=cpu-clock/'
# uprobes of a group of our own, written to tracefs directly: perf 6.1's perf probe refuses an
# event name another group already uses (another recording's gc_collect_main), the kernel does
# not, and perfsight knows the GC probes by that name
GROUP=pfs_wholestack_$$
UPROBES=/sys/kernel/tracing/uprobe_events
[ -w "$UPROBES" ] || UPROBES=/sys/kernel/debug/tracing/uprobe_events
unprobe() {
	for e in gc_collect_main gc_collect_main__return; do
		echo "-:$GROUP/$e" >> "$UPROBES" 2> /dev/null
	done
	return 0
}
trap unprobe EXIT
# probe LIB FN: entry and return uprobes GROUP:FN and GROUP:FN__return
probe() {
	off=$(python3 - "$1" "$2" <<'PY'
import subprocess, sys
lib, fn = sys.argv[1:]
run = lambda *a: subprocess.run(a, capture_output=True, text=True).stdout.splitlines()
addr = next(int(l.split()[1], 16) for l in run("readelf", "-sW", lib)
            if l.split()[-1:] == [fn] and " FUNC " in l)
for l in run("readelf", "-lW", lib):
    f = l.split()
    if f[:1] == ["LOAD"] and int(f[2], 16) <= addr < int(f[2], 16) + int(f[5], 16):
        print(hex(addr - int(f[2], 16) + int(f[1], 16)))
        break
PY
	) || return 1
	[ -n "$off" ] && unprobe && echo "p:$GROUP/$2 $1:$off" >> "$UPROBES" &&
		echo "r:$GROUP/$2__return $1:$off" >> "$UPROBES"
}

# own NAME: moves the JIT files of the capture's pids from /tmp into its maps/
own() {
	mkdir -p "$OUT/$1/maps"
	for pid in $(perf script -i "$OUT/$1/perf.data" -F pid 2> /dev/null | sort -u); do
		for x in "/tmp/perf-$pid.map" "/tmp/jit-$pid.dump"; do
			[ -f "$x" ] && mv "$x" "$OUT/$1/maps/"
		done
	done
	return 0
}
# rec NAME perf-record-args... -- command...
rec() {
	n=$1
	shift
	rm -rf "${OUT:?}/$n" && mkdir -p "$OUT/$n"
	perf record -q -o "$OUT/$n/perf.data" "$@" > "$OUT/$n/record.log" 2>&1
	[ -s "$OUT/$n/perf.data" ]
}

for v in 3.12 3.13; do
	py=$P312 lib=$(pyenv prefix 3.12.1 2>/dev/null)/lib/libpython3.12.so.1.0
	[ $v = 3.13 ] && py=$P313 lib=$(pyenv prefix 3.13.0 2>/dev/null)/lib/libpython3.13.so.1.0
	n=chain-$v
	if [ ! -x "$py" ] || [ ! -f "$lib" ]; then
		skip "$n" "no pyenv CPython $v (pyenv install $v)"
		continue
	fi
	if ! probe "$lib" gc_collect_main 2> "$OUT/$n.probe.log"; then
		skip "$n" "cannot add uprobes to $UPROBES: $(head -c 200 "$OUT/$n.probe.log")"
		continue
	fi
	if ! rec "$n" -k 1 -e "$EV" -e sched:sched_switch -e "$GROUP:gc_collect_main" \
		-e "$GROUP:gc_collect_main__return" --call-graph dwarf,32768 -- "$py" -X perf "$W" 2; then
		nok "$n-recorded" "$(tail -c 300 "$OUT/$n/record.log")"
		continue
	fi
	unprobe
	own "$n"
	collapse "$n" "$OUT/$n/perf.data"
	chain "$n-whole-chain" "$OUT/$n.folded"
	"$PERFSIGHT" report "$OUT/$n/perf.data" -o "$OUT/$n.html" 2> "$OUT/$n.report.err"
	# every GC pause (probes) and GIL wait (sched_switch) under the chain's leaves names its whole
	# Python path, root to leaf; nearly all pauses are under the allocating leaf
	if r=$(python3 - "$OUT/$n.html" <<'PY'
import json, re, sys
m = re.search(r'<script type="application/json" id="perfsight-data">([^<]*)</script>',
              open(sys.argv[1], encoding="utf-8").read())
d = json.loads(m.group(1))
S = d["strings"]
levels = ["level_%02d" % i for i in range(1, 25)]
def names(st):
    return [S[i].rsplit(" (", 1)[0] for i in st]
def whole(n, leaf=None):
    head = (["<module>"] if n[:1] == ["<module>"] else
            ["Thread._bootstrap", "Thread._bootstrap_inner", "Thread.run"])
    k = len(head)
    tail = ["descend"] * 3 + ["work"] + ([leaf] if leaf else [])
    return (n[:k] == head and n[k:k + 26] == ["run"] + levels + ["descend"] and
            n[k + 26:k + 26 + len(tail)] == tail)
pauses = [names(p["stack"]) for p in d.get("gc_pauses", []) if p["stack"]]
waits = [names(w["stack"]) for w in d.get("gil_waits", []) if "work" in names(w["stack"])]
churn = [n for n in pauses if "churn" in n]
bad_p = sum(1 for n in churn if not whole(n, "churn"))
bad_w = sum(1 for n in waits if not whole(n))
print(f"pauses {len(pauses)} under churn {len(churn)} not whole {bad_p}; "
      f"waits under work {len(waits)} not whole {bad_w}")
sys.exit(0 if churn and len(churn) >= 0.9 * len(pauses) and not bad_p and waits and not bad_w
         else 1)
PY
	); then
		ok "$n-gc-pauses-and-gil-waits-name-the-whole-path ($r)"
	else
		nok "$n-gc-pauses-and-gil-waits-name-the-whole-path" "$r; see $OUT/$n.html"
	fi
done

# the same workload in the two modes, recorded alike (a sample every 2 ms of CPU for 3 s: about a
# thousand samples, so that each path's share is steady from run to run; measured 0.935 to
# 0.978): -X perf unwound by perfsight, -X perf_jit by perf itself after perf inject --jit
EV2='cpu-clock/period=2000000,name=cpu-clock/'
if [ -x "$P313" ] && rec perfmode -k 1 -e "$EV2" --call-graph dwarf,32768 -- "$P313" -X perf "$W" 3; then
	own perfmode
	collapse perfmode "$OUT/perfmode/perf.data"
	chain perfmode-whole-chain "$OUT/perfmode.folded"
fi
if [ -x "$P313" ] && rec perfjit -k 1 -e "$EV2" --call-graph dwarf,32768 -- "$P313" -X perf_jit "$W" 3; then
	pids=$(perf script -i "$OUT/perfjit/perf.data" -F pid 2> /dev/null | sort -u)
	if perf inject --jit -i "$OUT/perfjit/perf.data" -o "$OUT/perfjit/injected.data" \
		> "$OUT/perfjit/inject.log" 2>&1; then
		perf script --max-stack 4096 -i "$OUT/perfjit/injected.data" > "$OUT/perfjit/script.txt" 2> /dev/null
		python3 - "$OUT/perfjit/script.txt" > "$OUT/perfjit.perf.folded" <<'PY'
import importlib.util, sys
from collections import Counter
spec = importlib.util.spec_from_file_location("fa", "tests/tools/folded-agree.py")
fa = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fa)
for k, v in sorted(fa.from_script(sys.argv[1], "cpu-clock", False, True).items()):
    print(k, v)
PY
		$CHAIN pyonly "$OUT/perfjit.perf.folded" > "$OUT/perfjit.perf.py.folded"
		if [ -f "$OUT/perfmode.folded" ]; then
			$CHAIN pyonly "$OUT/perfmode.folded" > "$OUT/perfmode.py.folded"
			# perf 6.1 stops at some of the jitted-PID-N.so frames (libunwind: 3 to 12% of
			# the samples here, the files and their .eh_frame are sound and perfsight
			# unwinds the same code through the jitdump): such a stack counts as agreeing
			# when it is the leaf end of one of ours (--explain)
			if r=$($AGREE "$OUT/perfmode.py.folded" "$OUT/perfjit.perf.py.folded" \
				--explain --min-explained 0.9); then
				ok "perf-and-perf-jit-modes-agree-0.9 ($r)"
			else
				nok "perf-and-perf-jit-modes-agree-0.9" "$r"
			fi
		else
			skip perf-and-perf-jit-modes-agree "no -X perf capture of 3.13 (see perfmode)"
		fi
	else
		nok perf-inject-jit "$(tail -c 300 "$OUT/perfjit/inject.log")"
	fi
	for pid in $pids; do rm -f /tmp/jitted-"$pid"-*.so; done
	rm -f "$OUT/perfjit/injected.data"
	own perfjit
	collapse perfjit "$OUT/perfjit/perf.data"
	chain perfjit-whole-chain "$OUT/perfjit.folded"
else
	skip perf-jit "no pyenv CPython 3.13 or perf could not record"
fi

# a compressed capture: perf 6.1 cannot inject it, perfsight reads its jitdump as it is
if [ -x "$P313" ] && rec perfjit-z -z -k 1 -e "$EV" --call-graph dwarf,32768 -- "$P313" -X perf_jit "$W" 1; then
	own perfjit-z
	collapse perfjit-z "$OUT/perfjit-z/perf.data"
	chain perfjit-z-whole-chain "$OUT/perfjit-z.folded"
else
	skip perf-jit-z "no pyenv CPython 3.13, or perf could not record -z"
fi

# gunicorn + Flask (sync workers: the view runs in the worker's own loop) with 32 KiB dumps
SITE=/srv/app/site
if [ ! -x "$P312" ] || [ ! -d "$SITE/gunicorn" ] || [ ! -d "$SITE/flask" ] || ! command -v wrk > /dev/null; then
	skip gunicorn "needs pyenv CPython 3.12, gunicorn and Flask staged in $SITE (tests/tools/record/stage-workloads.sh) and wrk"
else
	port=$((20000 + $$ % 20000))
	rm -rf "$OUT/gunicorn" && mkdir -p "$OUT/gunicorn"
	perf record -q -o "$OUT/gunicorn/perf.data" -e "$EV" --call-graph dwarf,32768 -- \
		timeout -s TERM 20 env PYTHONPATH="$SITE:$(pwd)/tests/tools/record/workloads" "$P312" -X perf \
		-m gunicorn -w 2 -k sync -b "127.0.0.1:$port" --chdir "$(pwd)/tests/tools/record/workloads" app:app \
		> "$OUT/gunicorn/record.log" 2>&1 &
	rp=$!
	# the server answers before wrk starts: on a loaded machine its boot takes seconds
	for _ in $(seq 1 50); do
		"$P312" -c 'import socket, sys, urllib.request; urllib.request.urlopen("http://127.0.0.1:%s/cpu" % sys.argv[1], timeout=1)' "$port" 2> /dev/null && break
		sleep 0.1
	done
	wrk -t2 -c4 -d3s -s tests/tools/record/workloads/mix.lua "http://127.0.0.1:$port/" > "$OUT/gunicorn/load.txt" 2>&1
	pkill -TERM -f "gunicorn -w 2 -k sync -b 127.0.0.1:$port" 2> /dev/null # its master: the capture ends
	wait $rp
	own gunicorn
	collapse gunicorn "$OUT/gunicorn/perf.data"
	if r=$(python3 - "$OUT/gunicorn.folded" <<'PY'
import sys
views = {"cpu", "alloc", "render", "hashy", "io"}
chain = ["Arbiter.run", "Arbiter.spawn_worker", "Worker.init_process", "SyncWorker.run",
         "SyncWorker.handle", "SyncWorker.handle_request", "Flask.__call__", "Flask.wsgi_app",
         "Flask.full_dispatch_request", "Flask.dispatch_request"]
n = whole = cut = 0
for line in open(sys.argv[1]):
    stack, _, c = line.rstrip("\n").rpartition(" ")
    fr = stack.split(";")
    py = [f[4:].partition(":")[0] for f in fr if f.startswith("py::")]
    if not any(p in views for p in py):
        continue
    c = int(c)
    n += c
    if fr[1] == "[truncated]":
        cut += c
        continue
    it = iter(py)
    if all(any(p == want for p in it) for want in chain):
        whole += c
print(f"view samples {n}, whole {whole}, cut {cut}")
sys.exit(0 if n >= 20 and whole >= 0.95 * (n - cut) and cut <= 0.5 * n else 1)
PY
	); then
		ok "gunicorn-flask-views-carry-the-worker-loop-chain ($r)"
	else
		nok "gunicorn-flask-views-carry-the-worker-loop-chain" "$r; see $OUT/gunicorn.folded"
	fi
	# the request-handler table: each endpoint that burns CPU (/io only sleeps) is a Flask
	# view row, and the views hold the samples the folded stacks put under them
	"$PERFSIGHT" summary --json "$OUT/gunicorn/perf.data" > "$OUT/gunicorn-summary.json" 2> "$OUT/gunicorn-summary.err"
	if r=$(python3 - "$OUT/gunicorn-summary.json" "$OUT/gunicorn.folded" <<'PY'
import json, sys
h = json.load(open(sys.argv[1]))["captures"][0]["handlers"]
rows = {r["label"].split(" ")[0]: r for r in h["rows"] if r["framework"] == "flask" and r["kind"] == "view"}
want = {"cpu", "alloc", "render", "hashy"}
missing = want - set(rows)
# the folded stacks' own count of samples whose first app frame under dispatch_request is a view
folded = dict.fromkeys(want, 0)
for line in open(sys.argv[2]):
    stack, _, c = line.rstrip("\n").rpartition(" ")
    py = [f[4:].partition(":")[0] for f in stack.split(";") if f.startswith("py::")]
    if "Flask.dispatch_request" in py:
        below = py[py.index("Flask.dispatch_request") + 1:]
        v = next((p for p in below if p in want), None)
        if v:
            folded[v] += int(c)
bad = [v for v in want - missing if rows[v]["cpu_samples"] != folded[v]]
print("frameworks %s; views %s; folded %s" % (h["frameworks"],
      {v: rows[v]["cpu_samples"] for v in sorted(want - missing)}, folded))
sys.exit(1 if missing or bad or "gunicorn" not in h["frameworks"] else 0)
PY
	); then
		ok "gunicorn-flask-handler-table-lists-each-endpoint ($r)"
	else
		nok "gunicorn-flask-handler-table-lists-each-endpoint" "$r; see $OUT/gunicorn-summary.json"
	fi
fi
