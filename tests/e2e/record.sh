# perfsight record on a fresh threaded workload: the capture holds what the analysis needs, the
# maps are copied, the uprobes are gone afterwards (also after SIGTERM), and the GIL waits and
# the GC land on the right threads. Skipped, with the reason, where perf cannot record.
T_SUITE=record
. tests/e2e/lib.sh

# usage errors need no perf
"$PERFSIGHT" record > /dev/null 2>&1; rc=$?
if [ $rc -eq 2 ]; then ok usage-no-target; else nok usage-no-target "exit $rc, want 2"; fi
"$PERFSIGHT" record -p 12x -o "$OUT/never" > /dev/null 2>&1; rc=$?
if [ $rc -eq 2 ] && [ ! -e "$OUT/never" ]; then ok usage-bad-pid; else nok usage-bad-pid "exit $rc, want 2 and no directory"; fi
"$PERFSIGHT" record -p 1 -- true > /dev/null 2>&1; rc=$?
if [ $rc -eq 2 ]; then ok usage-pid-and-command; else nok usage-pid-and-command "exit $rc, want 2"; fi

why=""
if [ "$(id -u)" != 0 ]; then
	why="needs root (uprobes)"
elif ! command -v perf >/dev/null 2>&1; then
	why="perf is not installed"
elif ! perf record -q -o "$OUT/try.data" -e cpu-clock -e sched:sched_switch -- true >/dev/null 2>&1; then
	why="perf cannot record here (perf_event_open or tracefs refused)"
fi
PY=""
if [ -z "$why" ]; then
	# 3.12 first: its gc_collect_main runs inside gc.callbacks, so the interpreter's own timing
	# of a collection holds the probed pause (3.13's runs the callbacks itself)
	for c in python3.12 python3.13 python3; do
		PY=$($c -c 'import sys; print(sys.executable if sys.version_info >= (3, 12) else "")' 2>/dev/null)
		[ -n "$PY" ] && break
	done
	# pyenv installs that are not the selected version: their shims refuse to run
	if [ -z "$PY" ] && command -v pyenv >/dev/null 2>&1; then
		for v in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.(1[2-9]|[2-9][0-9])' | sort -V); do
			p=$(pyenv prefix "$v" 2>/dev/null)/bin/python3
			[ -x "$p" ] && PY=$p && break
		done
	fi
	[ -n "$PY" ] || why="no CPython 3.12+ (its -X perf maps name the Python frames)"
fi
names="exit perf-data maps-copied events events-exact stacks-per-event switch-records no-uprobe-left probes-beside-another-group probe-failure-reason stack-size-option command-without-dashes sigterm-exit no-uprobe-left-after-sigterm duration-stops-command bundle attach-pid no-uprobe-left-after-attach gil-on-crunch-threads gc-on-main-thread gc-pauses-match-interpreter perf-jit-dump"
if [ -n "$why" ]; then
	for n in $names; do skip "$n" "$why"; done
	exit 0
fi

# the probes a recording of ours left behind: its group is named in its "uprobes GROUP:*" line
# (other recordings on the machine have groups of their own)
leftover() { # stderr-of-record
	g=$(sed -n 's/^perfsight record: uprobes \(perfsight_[0-9]*\):.*/\1/p' "$1" | head -1)
	[ -n "$g" ] && perf probe -l 2>/dev/null | grep -c " $g:"
	[ -n "$g" ] || echo "no uprobes line"
}

dir=$OUT/cap
rm -rf "$dir"
GC_TRUTH_LOG=$(pwd)/$OUT/gc-truth.txt "$PERFSIGHT" record -o "$dir" --probes -- "$PY" tests/workloads/threads.py > "$OUT/record.out" 2> "$OUT/record.err"
rc=$?
if [ $rc -eq 0 ]; then ok exit; else nok exit "exit $rc: $(tail -3 "$OUT/record.err")"; fi
check perf-data test -s "$dir/perf.data"
if ls "$dir"/maps/perf-*.map >/dev/null 2>&1; then ok maps-copied; else nok maps-copied "no perf-PID.map in $dir/maps"; fi
"$PERFSIGHT" info --json "$dir/perf.data" > "$OUT/info.json" 2>/dev/null
if python3 -c '
import json, re, sys
ev = {e["name"] for e in json.load(open(sys.argv[1]))["events"]}
need = ["cpu-clock", "sched:sched_switch", "sched:sched_wakeup"]
miss = [n for n in need if n not in ev]
# FN, or FN_N when another probe group holds FN
for f in ("take_gil", "gc_collect_main"):
    for r in ("", "__return"):
        if not any(re.fullmatch(r".*:%s(_[0-9]+)?%s" % (f, r), e) for e in ev):
            miss.append("*:" + f + r)
if miss:
    print("missing events:", miss, "have:", sorted(ev)); sys.exit(1)' "$OUT/info.json" > "$OUT/events.why"; then
	ok events
else
	nok events "$(cat "$OUT/events.why")"
fi
# exact: the clock alone is sampled (its own frequency); every tracepoint and uprobe has period 1
if python3 -c '
import json, sys
bad = []
for e in json.load(open(sys.argv[1]))["events"]:
    if e["name"] == "cpu-clock":
        if e.get("frequency_hz") != 499: bad.append((e["name"], e.get("frequency_hz"), e.get("period")))
    elif e.get("period") != 1 or e.get("frequency_hz"):
        bad.append((e["name"], e.get("frequency_hz"), e.get("period")))
if bad:
    print("sampled, want period 1 (clock: 499 Hz):", bad); sys.exit(1)' "$OUT/info.json" > "$OUT/exact.why"; then
	ok events-exact
else
	nok events-exact "$(cat "$OUT/exact.why")"
fi
# stacks where they name code (the clock, switches, probe entries: 32 KiB by default; take_gil's
# entry, at every GIL acquisition, 16 KiB), none on wakeups and return probes
if python3 -c '
import json, re, sys
bad = []
for e in json.load(open(sys.argv[1]))["events"]:
    want = not (e["name"].endswith("__return") or e["name"] == "sched:sched_wakeup")
    has = "STACK_USER" in e["sample_type"] and e["callchain"] == "dwarf"
    size = 16384 if re.fullmatch(".*:take_gil(_[0-9]+)?", e["name"]) else 32768
    if want != has or (want and e["stack_size"] != size):
        bad.append((e["name"], e["callchain"], e["stack_size"]))
if bad:
    print("stacks wrong:", bad); sys.exit(1)' "$OUT/info.json" > "$OUT/stacks.why"; then
	ok stacks-per-event
else
	nok stacks-per-event "$(cat "$OUT/stacks.why")"
fi
n=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["records"].get("SWITCH", 0))' "$OUT/info.json")
if [ "${n:-0}" -gt 0 ]; then ok switch-records; else nok switch-records "no PERF_RECORD_SWITCH (--switch-events)"; fi
n=$(leftover "$OUT/record.err")
if [ "$n" = 0 ]; then ok no-uprobe-left; else nok no-uprobe-left "$n"; fi

# perf 6.1 refuses an event name another group holds: a foreign take_gil probe (as another
# recording leaves) must not cost us ours; the foreign group is ours to remove
lib=$(awk '/uprobes/ {print $NF}' "$OUT/record.err")
other=pfs_record_test_$$
perf probe -q -x "$lib" -a "$other:take_gil=take_gil" > /dev/null 2>&1
"$PERFSIGHT" record -o "$OUT/other" --probes -- "$PY" -c 'import threading; [t.start() or t.join() for t in [threading.Thread(target=sum, args=(range(10**6),))]]' > /dev/null 2> "$OUT/other.err"
rc=$?
perf probe -q -d "$other:*" > /dev/null 2>&1
"$PERFSIGHT" summary --json "$OUT/other/perf.data" > "$OUT/other.json" 2>/dev/null
if [ $rc -eq 0 ] && python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))["captures"][0]
sys.exit(0 if any(t["gil_probe_waits"] for p in d["processes"] for t in p["threads"]) else 1)' "$OUT/other.json"; then
	ok probes-beside-another-group
else
	nok probes-beside-another-group "exit $rc: $(grep -v '^\[' "$OUT/other.err" | tail -3)"
fi

# a probe perf cannot place: perf's own words, and the recording goes on without it
cat > "$OUT/fakeperf" <<'SH'
#!/bin/sh
if [ "$1" = probe ]; then
	case "$*" in *" -d "*) exit 0 ;; esac
	echo "Error: Failed to find symbol at 0xdead in the_library_under_test" >&2
	exit 254
fi
exec perf "$@"
SH
chmod +x "$OUT/fakeperf"
PERFSIGHT_PERF=$OUT/fakeperf "$PERFSIGHT" record -o "$OUT/fake" --probes -- "$PY" -c 'pass' > /dev/null 2> "$OUT/fake.err"
rc=$?
if [ $rc -eq 0 ] && grep -q 'cannot probe take_gil in .*: Error: Failed to find symbol at 0xdead' "$OUT/fake.err"; then
	ok probe-failure-reason
else
	nok probe-failure-reason "exit $rc: $(tail -3 "$OUT/fake.err")"
fi

# --stack-size sets the dump of every event that has a stack
"$PERFSIGHT" record -o "$OUT/small" --stack-size 8K -- "$PY" -c 'sum(range(10**6))' > /dev/null 2> "$OUT/small.err"
"$PERFSIGHT" info --json "$OUT/small/perf.data" > "$OUT/small.json" 2>/dev/null
if python3 -c '
import json, sys
s = {e["stack_size"] for e in json.load(open(sys.argv[1]))["events"] if e["callchain"] == "dwarf"}
sys.exit(0 if s == {8192} else 1)' "$OUT/small.json"; then
	ok stack-size-option
else
	nok stack-size-option "$(tail -2 "$OUT/small.err")"
fi

# the command may come without "--"; the last line says what to run next
"$PERFSIGHT" record -o "$OUT/nodash" "$PY" -c 'sum(range(10**6))' > /dev/null 2> "$OUT/nodash.err"
rc=$?
if [ $rc -eq 0 ] && [ -s "$OUT/nodash/perf.data" ] && tail -1 "$OUT/nodash.err" | grep -q "^next: perfsight summary $OUT/nodash"; then
	ok command-without-dashes
else
	nok command-without-dashes "exit $rc: $(tail -2 "$OUT/nodash.err")"
fi

# a recording stopped by SIGTERM still removes its probes and leaves a readable capture
sig=$OUT/sig
rm -rf "$sig"
"$PERFSIGHT" record -o "$sig" --probes -- "$PY" tests/workloads/threads.py > /dev/null 2> "$OUT/sig.err" &
pid=$!
sleep 1.5
kill -TERM $pid
wait $pid
rc=$?
if [ $rc -eq 0 ] && "$PERFSIGHT" info "$sig/perf.data" > /dev/null 2>&1; then ok sigterm-exit; else nok sigterm-exit "exit $rc: $(tail -3 "$OUT/sig.err")"; fi
n=$(leftover "$OUT/sig.err")
if [ "$n" = 0 ]; then ok no-uprobe-left-after-sigterm; else nok no-uprobe-left-after-sigterm "$n"; fi

# --duration stops a command that would run for 30 s; --bundle copies what the samples hit
bund=$OUT/bundle
rm -rf "$bund"
start=$(date +%s)
"$PERFSIGHT" record -o "$bund" --bundle --duration 1 -- "$PY" -c '
import time
t = time.time()
while time.time() - t < 30:
    sum(range(1000))' > /dev/null 2> "$OUT/bundle.err"
rc=$?
took=$(( $(date +%s) - start ))
if [ $rc -eq 0 ] && [ $took -lt 15 ]; then ok duration-stops-command; else nok duration-stops-command "exit $rc after ${took}s: $(tail -2 "$OUT/bundle.err")"; fi
lib=$(awk '/libpython|python3/ {print $1 " " $2; exit}' "$bund/build-ids.txt" 2>/dev/null)
id=${lib%% *}
path=${lib#* }
rest=${id#??}
if [ -n "$id" ] && cmp -s "$path" "$bund/.build-id/$(echo "$id" | cut -c1-2)/$rest"; then
	ok bundle
else
	nok bundle "no CPython ELF under $bund/.build-id (build-ids.txt: $(head -3 "$bund/build-ids.txt" 2>/dev/null))"
fi

# -p: the probes go on the libpython the running process maps
"$PY" -X perf -c '
import threading, time
def spin():
    t = time.time()
    while time.time() - t < 8:
        sum(range(1000))
ts = [threading.Thread(target=spin) for _ in range(2)]
[t.start() for t in ts]
[t.join() for t in ts]' &
wpid=$!
sleep 0.5
"$PERFSIGHT" record -o "$OUT/attach" --probes --duration 1 -p $wpid > /dev/null 2> "$OUT/attach.err"
rc=$?
kill $wpid 2>/dev/null
wait $wpid 2>/dev/null
"$PERFSIGHT" info --json "$OUT/attach/perf.data" > "$OUT/attach.json" 2>/dev/null
if [ $rc -eq 0 ] && python3 -c '
import json, re, sys
ev = {e["name"]: e["samples"] for e in json.load(open(sys.argv[1]))["events"]}
sys.exit(0 if ev.get("cpu-clock") and any(re.fullmatch(".*:take_gil(_[0-9]+)?", k) for k in ev) else 1)' "$OUT/attach.json"; then
	ok attach-pid
else
	nok attach-pid "exit $rc: $(tail -2 "$OUT/attach.err")"
fi
n=$(leftover "$OUT/attach.err")
if [ "$n" = 0 ]; then ok no-uprobe-left-after-attach; else nok no-uprobe-left-after-attach "$n"; fi

# where the waits and the GC land: perfsight's own summary when it is built in, else the
# reference figures from perf script (then the capture is what is checked)
if "$PERFSIGHT" help summary > /dev/null 2>&1; then
	"$PERFSIGHT" summary --json "$dir/perf.data" > "$OUT/summary.json" 2> "$OUT/summary.err"
	src="perfsight summary"
	conv='
import json, sys
d = json.load(open(sys.argv[1]))
th = {}
for c in d["captures"]:
    for p in c["processes"]:
        for t in p["threads"]:
            th[t["tid"]] = dict(pid=p["pid"], cpu=t["cpu_samples"], gc=t["gc_samples"],
                                wait=(t["gil_probe_wait_s"] or 0) + (t["gil_wait_s"] or 0),
                                pauses=t["gc_pauses"], pause_s=t["gc_pause_s"])
json.dump(th, sys.stdout)'
	python3 -c "$conv" "$OUT/summary.json" > "$OUT/threads.json"
else
	cp "$dir"/maps/perf-*.map /tmp/ 2>/dev/null
	perf script -i "$dir/perf.data" > "$OUT/perf-script.txt" 2>/dev/null
	src="perf script + reference (perfsight summary not built in)"
	python3 tests/tools/perf-script-reference.py "$OUT/perf-script.txt" > "$OUT/ref.json"
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))["threads"]
json.dump({t: dict(pid=None, cpu=v["cpu_samples"], gc=v["gc_samples"],
                   wait=v["gil_probe_wait_s"] + v["gil_wait_s"]) for t, v in d.items()}, sys.stdout)' "$OUT/ref.json" > "$OUT/threads.json"
fi
# the main thread is the one whose tid is its process's pid (the python process: most samples)
verdict=$(python3 -c '
import json, sys
th = {int(k): v for k, v in json.load(open(sys.argv[1])).items() if v["cpu"] > 0}
if len(th) < 4:
    print("gil no: fewer than 4 threads with samples:", th); print("gc no: as above"); sys.exit()
main = [t for t in th if t == th[t]["pid"]]
if th[min(th)]["pid"] is None or len(main) != 1:
    print("gil no: no single main thread (tid == pid):", th); print("gc no: as above"); sys.exit()
main = main[0]; crunch = [t for t in th if t != main and th[t]["pid"] == th[main]["pid"]]
g = all(th[t]["wait"] > 0 for t in crunch)
print("gil", "yes" if g else "no:", "" if g else {t: th[t]["wait"] for t in crunch})
share = lambda t: th[t]["gc"] / th[t]["cpu"]
c = share(main) > 0.05 and all(share(main) > 2 * share(t) for t in crunch)
print("gc", "yes" if c else "no:", "" if c else {t: round(share(t), 3) for t in th})' "$OUT/threads.json")
echo "$verdict" > "$OUT/verdict.txt"
case "$(echo "$verdict" | grep '^gil')" in "gil yes"*) ok gil-on-crunch-threads ;; *) nok gil-on-crunch-threads "($src) $(echo "$verdict" | grep '^gil')" ;; esac
case "$(echo "$verdict" | grep '^gc')" in "gc yes"*) ok gc-on-main-thread ;; *) nok gc-on-main-thread "($src) $(echo "$verdict" | grep '^gc')" ;; esac

# every collection recorded: the main thread's pause count against the interpreter's own count
# (gc.callbacks). Only the count: under GIL contention the callbacks themselves wait for the
# GIL between "start" and "stop", so the interpreter's timing of a pause is not its length.
# A capture that lost records cannot hold every collection: then the comparison is skipped.
lost=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["lost_samples"] or 0)' "$OUT/info.json")
if "$PY" -c 'import sys; sys.exit(sys.version_info[:2] == (3, 12))'; then
	skip gc-pauses-match-interpreter "$PY is not CPython 3.12 (from 3.13 gc_collect_main runs gc.callbacks itself)"
elif [ "${lost:-0}" != 0 ]; then
	skip gc-pauses-match-interpreter "the capture lost $lost samples (perf could not keep up on this machine)"
elif [ -s "$OUT/gc-truth.txt" ] && [ "$src" = "perfsight summary" ]; then
	why=$(python3 -c '
import json, sys
th = json.load(open(sys.argv[1]))
truth = {}
for l in open(sys.argv[2]):
    tid = int(l.split()[0])
    truth[tid] = truth.get(tid, 0) + 1
bad = []
for tid, n in truth.items():
    pn = (th.get(str(tid)) or {}).get("pauses") or 0
    if abs(pn - n) > 0.03 * n:
        bad.append("tid %d: %s pauses, the interpreter %d" % (tid, pn, n))
print("; ".join(bad))' "$OUT/threads.json" "$OUT/gc-truth.txt")
	if [ -z "$why" ]; then ok gc-pauses-match-interpreter; else nok gc-pauses-match-interpreter "$why"; fi
else
	skip gc-pauses-match-interpreter "no gc.callbacks log or no perfsight summary"
fi

# --perf-jit on CPython 3.13+: the jitdump beside the capture, perf on CLOCK_MONOTONIC
P313=""
for c in python3.13 "$(pyenv prefix 3.13.0 2>/dev/null)/bin/python3.13"; do
	P313=$($c -c 'import sys; print(sys.executable if sys.version_info >= (3, 13) else "")' 2>/dev/null)
	[ -n "$P313" ] && break
done
if [ -z "$P313" ]; then
	skip perf-jit-dump "no CPython 3.13+ (-X perf_jit)"
else
	rm -rf "$OUT/jit"
	env -u PYTHONPERFSUPPORT "$PERFSIGHT" record -o "$OUT/jit" --perf-jit -- "$P313" -c '
def f(n):
    return sum(i * i for i in range(n))
f(3_000_000)' > /dev/null 2> "$OUT/jit.err"
	rc=$?
	"$PERFSIGHT" info "$OUT/jit/perf.data" 2>/dev/null | grep '^command:' > "$OUT/jit.cmd"
	if [ $rc -eq 0 ] && ls "$OUT"/jit/maps/jit-*.dump > /dev/null 2>&1 &&
		! ls "$OUT"/jit/maps/perf-*.map > /dev/null 2>&1 && grep -q -- ' -k 1 ' "$OUT/jit.cmd"; then
		ok perf-jit-dump
	else
		nok perf-jit-dump "exit $rc, maps: $(ls "$OUT/jit/maps" 2>&1 | tr '\n' ' ') $(cat "$OUT/jit.cmd") $(tail -2 "$OUT/jit.err")"
	fi
fi
