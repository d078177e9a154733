#!/bin/sh
# The share of cut stacks against perf's --call-graph dwarf,SIZE (issue 12): records the deep
# chain (tests/workloads/chain.py, CPython 3.13 -X perf, 3 threads) and gunicorn + Flask
# (CPython 3.12 -X perf, 2 workers, gthread with 4 threads and sync, under wrk) at each SIZE, and prints per
# capture the CPU samples, how many perfsight roots at [truncated], their share, and the size
# the stacks-cut diagnostic says would have held them. A measurement, not a test: run as root
# with perf, pyenv's 3.12.1 and 3.13.0, wrk, and gunicorn + Flask staged in /srv/app/site
# (tests/tools/record/stage-workloads.sh). Only its own JIT maps are moved out of /tmp.
#
# usage: tests/tools/cut-sizes.sh [OUTDIR] [SIZES]     (default tests/out/cut-sizes, "8192 16384 32768 65528")
set -u
out=${1:-tests/out/cut-sizes}
sizes=${2:-"8192 16384 32768 65528"}
PERFSIGHT=${PERFSIGHT:-$(pwd)/build/perfsight}
P312=$(pyenv prefix 3.12.1)/bin/python3.12
P313=$(pyenv prefix 3.13.0)/bin/python3.13
W=$(pwd)/tests/tools/record/workloads
EV='cpu-clock/freq=199,name=cpu-clock/'
mkdir -p "$out"

own() { # capture dir
	for pid in $(perf script -i "$1" -F pid 2>/dev/null | sort -u); do
		[ -f "/tmp/perf-$pid.map" ] && mv "/tmp/perf-$pid.map" "$2/"
	done
	return 0
}
# measure NAME SIZE CAPTURE: a table row; "in requests" counts the samples in app.py's views
# (gunicorn) or under the chain's leaves (chain.py), whose Python frames a cut leaves visible
measure() {
	"$PERFSIGHT" collapse "$3" > "$3.folded" 2> "$3.err"
	awk -v n="$1" -v s="$2" -v err="$3.err" '
		{ t += $NF }
		/^[^;]*;\[truncated\];/ { c += $NF }
		/;py::(cpu|alloc|render|hashy|io|spin|churn):/ {
			r += $NF
			if ($0 ~ /^[^;]*;\[truncated\];/)
				rc += $NF
		}
		END {
			held = "-"
			while ((getline l < err) > 0)
				if (match(l, /dwarf,[0-9]+ would have held [a-z ]+/))
					held = substr(l, RSTART, RLENGTH)
			printf "| %s | %d | %d | %.1f%% (%d) | %.1f%% (%d of %d) | %s |\n", n, s, t,
				t ? 100 * c / t : 0, c, r ? 100 * rc / r : 0, rc, r, held
		}' "$3.folded"
}

echo "| capture | dwarf size | CPU samples | cut | cut in requests | the diagnostic's advice |"
echo "|---|---:|---:|---:|---:|---|"
for s in $sizes; do
	d=$out/chain-$s
	rm -rf "$d" && mkdir -p "$d"
	perf record -q -o "$d/perf.data" -e "$EV" --call-graph "dwarf,$s" -- \
		"$P313" -X perf tests/workloads/chain.py 3 > /dev/null 2>&1
	own "$d/perf.data" "$d"
	measure "chain.py, 3.13" "$s" "$d/perf.data"
done
for k in gthread sync; do
	for s in $sizes; do
		d=$out/gunicorn-$k-$s
		rm -rf "$d" && mkdir -p "$d"
		port=$((20000 + ($$ + s) % 20000))
		th=""
		[ $k = gthread ] && th="--threads 4"
		perf record -q -o "$d/perf.data" -e "$EV" --call-graph "dwarf,$s" -- timeout -s TERM 8 \
			env PYTHONPATH="/srv/app/site:$W" "$P312" -X perf -m gunicorn -w 2 -k $k $th \
			-b "127.0.0.1:$port" --chdir "$W" app:app > "$d/record.log" 2>&1 &
		rp=$!
		sleep 2.5
		wrk -t2 -c8 -d4s -s "$W/mix.lua" "http://127.0.0.1:$port/" > "$d/load.txt" 2>&1
		wait $rp
		own "$d/perf.data" "$d"
		measure "gunicorn + Flask, 3.12 $k" "$s" "$d/perf.data"
	done
done
