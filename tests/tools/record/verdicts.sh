#!/bin/sh
# Records one scenario of the verdict tests: tests/workloads/verdictapp.py under gunicorn, loaded
# by wrk (or not, for idle), the events enabled for SECONDS once the workers serve. Every event
# exact: the clock at its own frequency, sched_switch and sched_wakeup at period 1 (the wakeups
# without stacks: only their target and time matter), switch records for the switch-ins, DWARF
# stacks of 16 KiB, zstd-compressed. The server and wrk run at nice -15:
# the machine is shared, and the runnable delay a scenario measures should be its own.
#     tests/tools/record/verdicts.sh DIR SCENARIO [SECONDS] [--fixture]
# SCENARIO: what it must make perfsight say (docs/verdicts.md)
#   oversub   6 sync workers on pure-Python /cpu, 12 connections: cpu-bound, oversubscribed
#   gil       1 gthread worker, 3 threads, pure-Python /cpu, 6 connections: gil-bound-threads
#   io        2 sync workers, /io (a 20 ms backend), 8 connections: io-bound
#   gc        2 sync workers, /gc at a steady 30 requests/s: gc-heavy
#   json      2 sync workers, /json (the pure-Python encoder) at 30 requests/s: slow-path
#   idle      2 sync workers, no load: idle
#   balanced  2 sync workers, /native (hashlib, zlib) at 80 requests/s: no verdict (the control)
# The steady loads come from tests/workloads/verdict_client.py (a request on each new
# connection at a fixed rate), the full ones from wrk.
# --fixture also writes perf's own view (perf script --show-switch-events, zstd; perf report
# --stats) and a MANIFEST.
# Needs perf, wrk, CPython 3.12.1 (pyenv), Flask + gunicorn staged in /srv/app/site. Exits 77
# with the reason when one is missing.
set -u
dir=$1
scen=$2
secs=${3:-3}
fixture=${4:-}
here=$(cd "$(dirname "$0")/../../.." && pwd)
py=$(pyenv prefix 3.12.1 2>/dev/null)/bin/python3.12
why=""
! command -v perf >/dev/null 2>&1 && why="perf is not installed"
[ -z "$why" ] && ! command -v wrk >/dev/null 2>&1 && why="wrk is not installed"
[ -z "$why" ] && [ ! -x "$py" ] && why="no pyenv CPython 3.12.1"
[ -z "$why" ] && [ ! -d /srv/app/site/gunicorn ] && why="gunicorn and Flask are not staged in /srv/app/site"
if [ -n "$why" ]; then
	echo "verdicts.sh: $why" >&2
	exit 77
fi
workers=2 class=sync threads=1 path=/cpu conns=2 rate=0 load=1
case $scen in
oversub) workers=6 conns=12 ;;
gil) workers=1 class=gthread threads=3 conns=6 ;;
io) path=/io conns=8 ;;
gc) path=/gc rate=15 ;;
json) path=/json rate=15 ;;
idle) load=0 ;;
balanced) path=/native rate=40 ;;
*)
	echo "verdicts.sh: unknown scenario $scen" >&2
	exit 2
	;;
esac
mkdir -p "$dir/maps"
dir=$(cd "$dir" && pwd)
freeport() {
	$py -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
port=$(freeport)
# a fixed, neutral place: the app's file is part of its functions' names (py::f:FILE)
app=/srv/app/verdicts
mkdir -p "$app"
cp "$here/tests/workloads/verdictapp.py" "$here/tests/workloads/verdict_backend.py" "$app/"
backend=""
if [ "$scen" = io ]; then
	bport=$(freeport)
	nice -n -15 "$py" "$app/verdict_backend.py" "$bport" 20 >/dev/null 2>&1 &
	backend=$!
	export VERDICT_BACKEND=127.0.0.1:$bport
fi
# perf starts the server with its events disabled (-D -1) and enables them through its control
# fifo once the workers serve under load, for SECONDS: the capture holds the steady state, and
# the fork tree (FORK records are side-band, recorded while disabled) names master and workers.
# (perf 6.1 attached with -p to a master and its workers records only the master once a
# tracepoint is among the events.)
# perf 6.1 takes no period term on a tracepoint: it records every hit (sample_period 1, the
# capture's attrs say so) unless a global -F or -c says otherwise, which this line has not
events="-e cpu-clock/freq=199,name=cpu-clock/ -e sched:sched_switch"
events="$events -e sched:sched_wakeup/call-graph=no/"
rm -f "$dir/ctl" "$dir/ack"
mkfifo "$dir/ctl" "$dir/ack"
exec 8<>"$dir/ctl" 9<>"$dir/ack"
# shellcheck disable=SC2086
PYTHONPATH=/srv/app/site timeout -s TERM $((secs + 60)) nice -n -15 perf record -q -z -m 2048 -D -1 \
	--control "fifo:$dir/ctl,$dir/ack" -o "$dir/perf.data" $events --switch-events \
	--call-graph dwarf,16384 -- "$py" -X perf -m gunicorn -w $workers -k $class \
	--threads $threads --preload -b 127.0.0.1:$port --pid "$dir/gunicorn.pid" --chdir "$app" \
	verdictapp:app 2>"$dir/record.log" &
server=$!
up=0
for _ in $(seq 1 150); do
	if $py -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' \
		"$port" 2>/dev/null && [ -s "$dir/gunicorn.pid" ]; then
		up=1
		break
	fi
	sleep 0.2
done
if [ $up = 0 ]; then
	echo "verdicts.sh: gunicorn did not start: $(tail -3 "$dir/record.log")" >&2
	kill $server $backend 2>/dev/null
	exit 1
fi
master=$(cat "$dir/gunicorn.pid")
sleep 1 # the workers boot
wrkpid=""
if [ $load = 1 ]; then
	if [ "$rate" = 0 ]; then
		nice -n -15 wrk -t1 -c$conns -d"$((secs + 3))s" "http://127.0.0.1:$port$path" \
			>"$dir/load.txt" 2>&1 &
	else
		nice -n -15 "$py" "$here/tests/workloads/verdict_client.py" 127.0.0.1:$port $path \
			$conns $rate $((secs + 3)) >"$dir/load.txt" 2>&1 &
	fi
	wrkpid=$!
	sleep 1
fi
echo enable >&8
read -r _ <&9
sleep "$secs"
echo disable >&8
read -r _ <&9
[ -n "$wrkpid" ] && wait $wrkpid
kill -TERM "$master" 2>/dev/null
wait $server 2>/dev/null
exec 8>&- 9>&-
rm -f "$dir/ctl" "$dir/ack"
[ -n "$backend" ] && kill $backend 2>/dev/null
rm -f "$dir/gunicorn.pid"
# perf's own view while the JIT maps are still in /tmp, where perf script looks for them
if [ "$fixture" = --fixture ]; then
	perf script -i "$dir/perf.data" --show-switch-events 2>/dev/null |
		zstd -q -19 -f -o "$dir/perf-script.txt.zst"
	perf report -i "$dir/perf.data" --stats 2>/dev/null >"$dir/perf-report-stats.txt"
fi
# the JIT maps of this capture's processes only (others' recordings keep theirs in /tmp too)
for pid in $(perf script -i "$dir/perf.data" -F pid 2>/dev/null | sort -u); do
	[ -f "/tmp/perf-$pid.map" ] && mv "/tmp/perf-$pid.map" "$dir/maps/"
done
if [ "$fixture" = --fixture ]; then
	{
		echo "what: tests/workloads/verdictapp.py under gunicorn (-w $workers -k $class --threads $threads --preload), scenario $scen: $path, $conns connections (wrk) or threads at $rate requests/s each (verdict_client.py), load=$load, for ${secs}s"
		echo "recorded-with: tests/tools/record/verdicts.sh DIR $scen $secs: nice -n -15 perf record -z -m 2048 -D -1 --control fifo:CTL,ACK $events --switch-events --call-graph dwarf,16384 -- python3.12 -X perf -m gunicorn ..., enabled for ${secs}s once wrk loads it"
		echo "nr_cpus: $(nproc)"
		echo "perf: $(perf --version)"
		echo "kernel: $(uname -r)"
		echo "recorded: $(date -u +%Y-%m-%d)"
	} >"$dir/MANIFEST"
	rm -f "$dir/record.log"
fi
