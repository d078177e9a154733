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
	for c in python3.13 python3.12 python3; do
		PY=$($c -c 'import sys; print(sys.executable if sys.version_info >= (3, 12) else "")' 2>/dev/null)
		[ -n "$PY" ] && break
	done
	# pyenv installs that are not the selected version: their shims refuse to run
	if [ -z "$PY" ] && command -v pyenv >/dev/null 2>&1; then
		for v in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.(1[2-9]|[2-9][0-9])' | sort -rV); do
			p=$(pyenv prefix "$v" 2>/dev/null)/bin/python3
			[ -x "$p" ] && PY=$p && break
		done
	fi
	[ -n "$PY" ] || why="no CPython 3.12+ (its -X perf maps name the Python frames)"
fi
names="exit perf-data maps-copied events no-uprobe-left sigterm-exit no-uprobe-left-after-sigterm duration-stops-command bundle attach-pid no-uprobe-left-after-attach gil-on-crunch-threads gc-on-main-thread"
if [ -n "$why" ]; then
	for n in $names; do skip "$n" "$why"; done
	exit 0
fi

leftover() { perf probe -l 2>/dev/null | grep -c 'perfsight_'; }
before=$(leftover)

dir=$OUT/cap
rm -rf "$dir"
"$PERFSIGHT" record -o "$dir" --probes -- "$PY" tests/workloads/threads.py > "$OUT/record.out" 2> "$OUT/record.err"
rc=$?
if [ $rc -eq 0 ]; then ok exit; else nok exit "exit $rc: $(tail -3 "$OUT/record.err")"; fi
check perf-data test -s "$dir/perf.data"
if ls "$dir"/maps/perf-*.map >/dev/null 2>&1; then ok maps-copied; else nok maps-copied "no perf-PID.map in $dir/maps"; fi
"$PERFSIGHT" info --json "$dir/perf.data" > "$OUT/info.json" 2>/dev/null
if python3 -c '
import json, sys
ev = {e["name"] for e in json.load(open(sys.argv[1]))["events"]}
need = ["cpu-clock", "sched:sched_switch"]
miss = [n for n in need if n not in ev]
for f in ("take_gil", "take_gil__return", "gc_collect_main", "gc_collect_main__return"):
    if not any(e.endswith(":" + f) for e in ev):
        miss.append("*:" + f)
if miss:
    print("missing events:", miss, "have:", sorted(ev)); sys.exit(1)' "$OUT/info.json" > "$OUT/events.why"; then
	ok events
else
	nok events "$(cat "$OUT/events.why")"
fi
if [ "$(leftover)" = "$before" ]; then ok no-uprobe-left; else nok no-uprobe-left "$(perf probe -l | grep perfsight_)"; fi

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
if [ "$(leftover)" = "$before" ]; then ok no-uprobe-left-after-sigterm; else nok no-uprobe-left-after-sigterm "$(perf probe -l | grep perfsight_)"; fi

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
import json, sys
ev = {e["name"]: e["samples"] for e in json.load(open(sys.argv[1]))["events"]}
sys.exit(0 if ev.get("cpu-clock") and any(k.endswith(":take_gil") for k in ev) else 1)' "$OUT/attach.json"; then
	ok attach-pid
else
	nok attach-pid "exit $rc: $(tail -2 "$OUT/attach.err")"
fi
if [ "$(leftover)" = "$before" ]; then ok no-uprobe-left-after-attach; else nok no-uprobe-left-after-attach "$(perf probe -l | grep perfsight_)"; fi

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
                                wait=(t["gil_probe_wait_s"] or 0) + (t["gil_wait_s"] or 0))
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
# the main thread is the python process's first thread (lowest tid among those with samples)
verdict=$(python3 -c '
import json, sys
th = {int(k): v for k, v in json.load(open(sys.argv[1])).items() if v["cpu"] > 0}
if len(th) < 4:
    print("gil no: fewer than 4 threads with samples:", th); print("gc no: as above"); sys.exit()
main = min(th); crunch = [t for t in th if t != main]
g = all(th[t]["wait"] > 0 for t in crunch)
print("gil", "yes" if g else "no:", "" if g else {t: th[t]["wait"] for t in crunch})
share = lambda t: th[t]["gc"] / th[t]["cpu"]
c = share(main) > 0.05 and all(share(main) > 2 * share(t) for t in crunch)
print("gc", "yes" if c else "no:", "" if c else {t: round(share(t), 3) for t in th})' "$OUT/threads.json")
echo "$verdict" > "$OUT/verdict.txt"
case "$(echo "$verdict" | grep '^gil')" in "gil yes"*) ok gil-on-crunch-threads ;; *) nok gil-on-crunch-threads "($src) $(echo "$verdict" | grep '^gil')" ;; esac
case "$(echo "$verdict" | grep '^gc')" in "gc yes"*) ok gc-on-main-thread ;; *) nok gc-on-main-thread "($src) $(echo "$verdict" | grep '^gc')" ;; esac
