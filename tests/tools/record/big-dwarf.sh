#!/bin/sh
# Records a big-dwarf-size capture for make bench (a second one beside record-fixtures.sh's
# big-dwarf, for perfsight diff's timing): gunicorn gthread (2 workers, 4 threads) serving
# /srv/app/app.py under wrk for 5 s, the clock at 999 Hz with DWARF stacks of 8 KiB and
# sched_switch, as record-fixtures.sh's big-dwarf set. Only this capture's JIT maps are
# moved out of /tmp (other recordings keep theirs there).
#     tests/tools/record/big-dwarf.sh DIR
set -u
dir=$1
py=$(pyenv prefix 3.12.1 2>/dev/null)/bin/python3.12
for need in perf wrk; do
	command -v $need >/dev/null 2>&1 || { echo "big-dwarf.sh: $need is not installed" >&2; exit 77; }
done
[ -x "$py" ] && [ -d /srv/app/site/gunicorn ] && [ -f /srv/app/app.py ] ||
	{ echo "big-dwarf.sh: CPython 3.12.1 or the staged app (/srv/app) is missing" >&2; exit 77; }
mkdir -p "$dir/maps"
port=$($py -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PYTHONPATH=/srv/app/site:/srv/app perf record -q -o "$dir/perf.data" \
	-e cpu-clock/freq=999,name=cpu-clock/ -e sched:sched_switch --call-graph dwarf,8192 \
	-- timeout -s TERM 8 "$py" -X perf -m gunicorn -w 2 -k gthread --threads 4 \
	-b 127.0.0.1:$port --chdir /srv/app app:app 2>"$dir/record.log" &
rec=$!
sleep 2
wrk -t2 -c8 -d5s -s /srv/app/mix.lua "http://127.0.0.1:$port/" >"$dir/load.txt" 2>&1
wait $rec
for pid in $(perf script -i "$dir/perf.data" -F pid 2>/dev/null | sort -u); do
	[ -f "/tmp/perf-$pid.map" ] && mv "/tmp/perf-$pid.map" "$dir/maps/"
done
{
	echo "what: a second large capture for timing diff: gunicorn gthread, 5 s, DWARF 8 KiB at 999 Hz"
	echo "recorded-with: tests/tools/record/big-dwarf.sh DIR"
	echo "perf: $(perf --version)"
	echo "kernel: $(uname -r)"
	echo "recorded: $(date -u +%Y-%m-%d)"
} >"$dir/MANIFEST"
