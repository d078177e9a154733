#!/bin/sh
# Records one capture of tests/workloads/ciapp.py: gunicorn (2 sync workers) under wrk load,
# the clock at its own frequency with DWARF stacks, zstd-compressed (-z), perf attached to the
# server's processes once they serve. 16 KiB stack dumps hold the whole path of this app's
# requests (0.2-0.5% of the stacks cut, against 96% with 4 KiB, at the same 0.8 MB for 4 s
# compressed); a diff of cut stacks would compare how many stacks happened to be cut: the
# total share of every caller moves with it. No probes: GC is
# measured by its samples, which is what a gate on GC share reads (and perf 6.1 refuses a
# probe named like one another recording holds, whatever its group).
#     tests/tools/record/ciapp.sh DIR [CHANGE] [SECONDS] [--fixture]
# CHANGE: empty (the baseline), slow or gc (see ciapp.py). --fixture also writes perf's own
# view beside the capture (perf script, zstd-compressed; perf report --stats) and a MANIFEST.
# Needs perf, wrk, CPython 3.12 (pyenv) and Flask + gunicorn staged in /srv/app/site
# (tests/tools/record/stage-workloads.sh). Exits 77 with the reason when one is missing.
set -u
dir=$1
change=${2:-}
secs=${3:-3}
fixture=${4:-}
here=$(cd "$(dirname "$0")/../../.." && pwd)
FREQ=${FREQ:-199}
py=$(pyenv prefix 3.12.1 2>/dev/null)/bin/python3.12
why=""
! command -v perf >/dev/null 2>&1 && why="perf is not installed"
[ -z "$why" ] && ! command -v wrk >/dev/null 2>&1 && why="wrk is not installed"
[ -z "$why" ] && [ ! -x "$py" ] && why="no pyenv CPython 3.12.1"
[ -z "$why" ] && [ ! -d /srv/app/site/gunicorn ] && why="gunicorn and Flask are not staged in /srv/app/site"
if [ -n "$why" ]; then
	echo "ciapp.sh: $why" >&2
	exit 77
fi
mkdir -p "$dir/maps"
dir=$(cd "$dir" && pwd) # gunicorn --chdir: its pid file needs a full path
port=$($py -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# a fixed, neutral place: the app's file is part of its functions' names (py::f:FILE), which
# must be the same in every capture a diff compares
app=/srv/app/ciapp
mkdir -p "$app"
cp "$here/tests/workloads/ciapp.py" "$app/"
events="-e cpu-clock/freq=$FREQ,name=cpu-clock/"
# the steady state only: perf attaches to the master and its workers once they serve, while
# wrk keeps them busy; startup (imports) would weigh more or less with the machine's load.
# --preload imports the app in the master before the fork, so a worker serves from its first
# instant (on a loaded machine a worker still importing Flask was caught by the capture)
CIAPP_CHANGE=$change PYTHONPATH=/srv/app/site timeout -s TERM $((secs + 30)) "$py" -X perf \
	-m gunicorn -w 2 -k sync --preload -b 127.0.0.1:$port --pid "$dir/gunicorn.pid" --chdir "$app" \
	ciapp:app 2>"$dir/record.log" &
server=$!
up=0
for _ in $(seq 1 100); do
	if $py -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' \
		"$port" 2>/dev/null && [ -s "$dir/gunicorn.pid" ]; then
		up=1
		break
	fi
	sleep 0.2
done
if [ $up = 0 ]; then
	echo "ciapp.sh: gunicorn did not start: $(tail -3 "$dir/record.log")" >&2
	kill $server 2>/dev/null
	exit 1
fi
master=$(cat "$dir/gunicorn.pid")
sleep 1 # the workers boot
pids=$master
for w in $(pgrep -P "$master"); do pids=$pids,$w; done
wrk -t2 -c4 -d"$((secs + 2))s" -s "$here/tests/workloads/ciapp.lua" "http://127.0.0.1:$port/" \
	>"$dir/load.txt" 2>&1 &
load=$!
sleep 1
# shellcheck disable=SC2086
perf record -q -z -o "$dir/perf.data" $events --call-graph dwarf,16384 -p "$pids" -- sleep "$secs" \
	2>>"$dir/record.log"
wait $load
kill -TERM "$master" 2>/dev/null
wait $server 2>/dev/null
rm -f "$dir/gunicorn.pid"
# the JIT maps of this capture's processes only (others' recordings keep theirs in /tmp too)
for pid in $(perf script -i "$dir/perf.data" -F pid 2>/dev/null | sort -u); do
	[ -f "/tmp/perf-$pid.map" ] && mv "/tmp/perf-$pid.map" "$dir/maps/"
done
if [ "$fixture" = --fixture ]; then
	perf script -i "$dir/perf.data" 2>/dev/null | zstd -q -19 -o "$dir/perf-script.txt.zst"
	perf report -i "$dir/perf.data" --stats 2>/dev/null >"$dir/perf-report-stats.txt"
	{
		echo "what: tests/workloads/ciapp.py under gunicorn (-w 2 -k sync) and wrk (-t2 -c4, ciapp.lua), the steady state for ${secs}s, CIAPP_CHANGE='$change'"
		echo "recorded-with: tests/tools/record/ciapp.sh DIR '$change' $secs: python3.12 -X perf -m gunicorn -w 2 -k sync ... & wrk ... & perf record -z $events --call-graph dwarf,16384 -p MASTER,WORKERS -- sleep $secs"
		echo "perf: $(perf --version)"
		echo "kernel: $(uname -r)"
		echo "recorded: $(date -u +%Y-%m-%d)"
	} >"$dir/MANIFEST"
	rm -f "$dir/record.log"
fi
