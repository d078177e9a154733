# perfsight record on a fresh threaded workload: the capture holds what the analysis needs, the
# maps are copied, the uprobes are gone afterwards (also after SIGTERM), and the GIL waits and
# the GC land on the right threads. Skipped, with the reason, where perf cannot record.
T_SUITE=record
. tests/e2e/lib.sh

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
names="exit perf-data maps-copied events no-uprobe-left sigterm-exit no-uprobe-left-after-sigterm gil-on-crunch-threads gc-on-main-thread"
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
