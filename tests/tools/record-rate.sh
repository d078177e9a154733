#!/bin/sh
# What `perfsight record` costs in capture size: records threads.py (3 GIL-bound threads and a
# GC-heavy main thread, CPython 3.12 -X perf) and gunicorn + Flask (CPython 3.12, 2 gthread
# workers with 4 threads, under wrk) with and without --probes, and prints per capture its size,
# its span, MB/s (size / span), the records per event, the lost records and the share of cut
# stacks. A measurement, not a test: run as root with perf, pyenv's 3.12.1, wrk, and gunicorn +
# Flask staged in /srv/app/site (tests/tools/record/stage-workloads.sh). Only its own JIT maps
# are moved out of /tmp (into each capture's maps/, by perfsight record).
#
# usage: tests/tools/record-rate.sh [OUTDIR] [RECORD-OPTION...]
#        (default tests/out/record-rate; options go to every perfsight record, e.g. --stack-size 16384)
set -u
out=${1:-tests/out/record-rate}
[ $# -gt 0 ] && shift
PERFSIGHT=${PERFSIGHT:-$(pwd)/build/perfsight}
P312=$(pyenv prefix 3.12.1)/bin/python3.12
W=$(pwd)/tests/tools/record/workloads
SECS=${SECS:-5}
mkdir -p "$out"
out=$(cd "$out" && pwd)

row() { # name capture-dir
	"$PERFSIGHT" info --json "$2/perf.data" > "$2/info.json" 2>/dev/null
	"$PERFSIGHT" summary --json "$2/perf.data" > "$2/summary.json" 2>/dev/null
	python3 - "$1" "$2" <<'PY'
import json, sys
name, d = sys.argv[1], sys.argv[2]
i = json.load(open(d + "/info.json"))
try:
    s = json.load(open(d + "/summary.json"))
    cut = sum((p.get("cut_stacks") or {}).get("samples") or 0 for c in s["captures"] for p in c["processes"])
    cpu = sum(p.get("cpu_samples") or 0 for c in s["captures"] for p in c["processes"])
    cutshare = "%.1f%%" % (100 * cut / cpu) if cpu else "-"
except Exception:
    cutshare = "-"
mb = i["size"] / 1e6
span = i["duration_s"] or 0
ev = ", ".join("%s %d" % (e["name"].split(":")[-1], e["samples"]) for e in i["events"])
print("| %s | %.1f MB | %.2f s | %.1f MB/s | %d | %s | %s |" % (
    name, mb, span, mb / span if span else 0, i["lost_events"] or 0, cutshare, ev))
PY
}

echo "| capture | size | span | MB/s | lost records | cut stacks | records per event |"
echo "|---|---:|---:|---:|---:|---:|---|"
for probes in "" --probes; do
	d=$out/threads$probes
	rm -rf "$d"
	(cd "$W" && "$PERFSIGHT" record -o "$d" $probes "$@" -- "$P312" -X perf threads.py) \
		> /dev/null 2> "$out/threads$probes.err"
	row "threads.py $probes" "$d"
done
for probes in "" --probes; do
	d=$out/gunicorn$probes
	rm -rf "$d"
	port=$($P312 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	"$PERFSIGHT" record -o "$d" $probes "$@" -- timeout -s TERM $((SECS + 3)) \
		env PYTHONPATH=/srv/app/site:/srv/app "$P312" -X perf -m gunicorn -w 2 -k gthread \
		--threads 4 -b 127.0.0.1:$port --chdir /srv/app app:app \
		> /dev/null 2> "$out/gunicorn$probes.err" &
	rec=$!
	sleep 2
	wrk -t2 -c8 -d${SECS}s -s "$W/mix.lua" "http://127.0.0.1:$port/" > "$out/wrk$probes.txt" 2>&1
	wait $rec
	row "gunicorn gthread, wrk $(awk '/Requests\/sec/ {print $2 " req/s"}' "$out/wrk$probes.txt") $probes" "$d"
done
