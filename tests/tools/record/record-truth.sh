#!/usr/bin/env bash
# Records the small captures of issue 13's truth checks (as root, perf installed):
#   clock-*      one CPU-bound CPython loop under each spelling of a clock event
#   gc-single    tests/workloads/gc_single.py with exact GC probes (period 1) and its gc-truth.txt
#   probes-lost  threads.py with GC and GIL probes at period 1 into a 1-page buffer: LOST records
# usage: record-truth.sh DEST SET...
# Uprobes go in a group of their own (pfs_truth) and are deleted after; only the perf maps of
# the processes started here are removed.
set -euo pipefail
dest=$1
shift
here=$(cd "$(dirname "$0")/../../.." && pwd)
PY=${PY:-/root/.pyenv/versions/3.12.1/bin/python3.12}
LIB=${LIB:-$(dirname "$PY")/../lib/libpython3.12.so.1.0}
GROUP=pfs_truth

manifest() { # dir what command
	{
		echo "what: $2"
		echo "recorded-with: $3"
		echo "perf: $(perf --version)"
		echo "kernel: $(uname -r)"
		echo "python: $("$PY" -V 2>&1)"
		echo "recorded: $(date -u +%Y-%m-%d)"
	} > "$1/MANIFEST"
}
finish() { # dir: perf's own view beside the capture
	perf script -i "$1/perf.data" --ns --show-lost-events 2>/dev/null | zstd -q -19 -f -o "$1/perf-script.txt.zst"
	perf report -i "$1/perf.data" --stats 2>/dev/null > "$1/perf-report-stats.txt" || true
	rm -f "$1/record.log"
}
unprobe() { perf probe -q -d "$GROUP:*" 2>/dev/null || true; }
probes() { # with_gil: GC entry (with its generation) and return; take_gil's pair too when asked
	unprobe
	local a=(-a "$GROUP:gc_collect_main=gc_collect_main generation" -a "$GROUP:gc_collect_main=gc_collect_main%return")
	[ "$1" = 1 ] && a+=(-a "$GROUP:take_gil=take_gil" -a "$GROUP:take_gil=take_gil%return")
	perf probe -q -x "$LIB" "${a[@]}"
}
trap unprobe EXIT

LOOP='import time
t = time.process_time()
n = 0
while time.process_time() - t < 0.3:
    n += 1'

for set in "$@"; do
	d=$dest/$set
	rm -rf "$d"
	mkdir -p "$d"
	case $set in
	clock-freq) ev='cpu-clock/freq=499/' ;;
	clock-user) ev='cpu-clock:u' ;;
	clock-task) ev='task-clock' ;;
	clock-cycles) ev='cycles' ;;
	clock-named) ev='cpu-clock/freq=499,name=tick/' ;;
	esac
	case $set in
	clock-*)
		perf record -q -o "$d/perf.data" -e "$ev" -- "$PY" -c "$LOOP" 2> "$d/record.log"
		got=$(perf evlist -i "$d/perf.data" 2>/dev/null | head -1)
		if [ "$set" = clock-cycles ] && [ "$got" != cycles ]; then
			echo "$set: perf recorded '$got' for -e cycles (no PMU here): not kept" >&2
			rm -rf "$d"
			continue
		fi
		manifest "$d" "a CPU-bound CPython loop (0.3 s of CPU) sampled by -e $ev: a clock perfsight must know by its attr" \
			"perf record -e '$ev' -- python3.12 -c LOOP"
		;;
	gc-single)
		probes 0
		rm -f "$d/go" "$d/go.ready"
		# real-time priority: on a shared machine a preempted collection (or callback) would
		# time the preemption, differently on each side
		GO="$d/go" GC_TRUTH_LOG="$d/gc-truth.txt" chrt -f 10 "$PY" "$here/tests/workloads/gc_single.py" &
		pid=$!
		while [ ! -e "$d/go.ready" ]; do kill -0 "$pid" || exit 1; sleep 0.05; done
		perf record -q -o "$d/perf.data" -k CLOCK_MONOTONIC -c 1 -e cpu-clock/freq=499,name=cpu-clock/ \
			-e "$GROUP:gc_collect_main" -e "$GROUP:gc_collect_main__return" -p "$pid" 2> "$d/record.log" &
		rec=$!
		sleep 2
		touch "$d/go"
		wait "$pid"
		wait "$rec" || true
		rm -f "$d/go" "$d/go.ready"
		unprobe
		manifest "$d" "tests/workloads/gc_single.py (one thread, every collection milliseconds long), perf attached once its heap is built, exact GC probes (period 1, with the generation); gc-truth.txt is the interpreter's own timing of each collection (gc.callbacks, CLOCK_MONOTONIC as the capture's -k)" \
			"perf probe -x libpython3.12.so.1.0 -a 'GROUP:gc_collect_main=gc_collect_main generation' -a 'GROUP:gc_collect_main=gc_collect_main%return'; perf record -k CLOCK_MONOTONIC -c 1 -e cpu-clock/freq=499,name=cpu-clock/ -e GROUP:gc_collect_main -e GROUP:gc_collect_main__return -p PID (GO=FILE GC_TRUTH_LOG=gc-truth.txt chrt -f 10 python3.12 gc_single.py)"
		;;
	probes-lost)
		probes 1
		perf record -q -o "$d/perf.data" -m 1 -c 1 -e cpu-clock/freq=499,name=cpu-clock/ \
			-e "$GROUP:gc_collect_main" -e "$GROUP:gc_collect_main__return" \
			-e "$GROUP:take_gil" -e "$GROUP:take_gil__return" \
			-- "$PY" "$here/tests/workloads/threads.py" 2> "$d/record.log" || true
		unprobe
		manifest "$d" "tests/workloads/threads.py with GC and take_gil probes at period 1 into a one-page ring buffer (-m 1): perf loses records (LOST), so intervals across a loss must be dropped and counted (no sched_switch: the database then lists every take_gil call, which tests/tools/loss_check.py checks against perf's own view)" \
			"perf probe -x libpython3.12.so.1.0 (GC and take_gil pairs, group GROUP); perf record -m 1 -c 1 -e cpu-clock/freq=499,name=cpu-clock/ -e GROUP:gc_collect_main -e GROUP:gc_collect_main__return -e GROUP:take_gil -e GROUP:take_gil__return -- python3.12 threads.py"
		;;
	*)
		echo "unknown set $set" >&2
		exit 2
		;;
	esac
	finish "$d"
	ls -la "$d"
done
