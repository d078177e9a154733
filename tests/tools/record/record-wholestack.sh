#!/usr/bin/env bash
# Records the whole-stack fixtures of issue 12 (run as root, perf installed, pyenv's 3.13.0):
#   py313-chain-perf     tests/workloads/chain.py under CPython 3.13 -X perf (trampolines, perf map)
#   py313-chain-perfjit  the same under -X perf_jit (a jitdump), recorded with -k 1 so that
#                        perf inject --jit can make perf's own view of it: the referee
# usage: record-wholestack.sh DEST SET...
# Small on purpose (a CPU sample every 20 ms for 2 s, 32 KiB stack dumps: about 1.6 MB each);
# tests/e2e/wholestack.sh records the larger ones at test time. The workload is staged at
# /srv/app/chain.py, a neutral path that ends up in the files. Only this script's own JIT files
# (its pids) are moved out of /tmp.
set -euo pipefail
dest=$(cd "$1" && pwd); shift
here=$(cd "$(dirname "$0")" && pwd)
P313=${P313:-$(pyenv prefix 3.13.0)/bin/python3.13}
mkdir -p /srv/app
cp "$here/../../workloads/chain.py" /srv/app/chain.py
EVENT='cpu-clock/period=20000000,name=cpu-clock/'

manifest() { # dir what command
  { echo "what: $2"; echo "recorded-with: $3"; echo "perf: $(perf --version)"; echo "kernel: $(uname -r)";
    echo "python: $("$P313" -VV | head -1)"; echo "recorded: $(date -u +%Y-%m-%d)"; } > "$1/MANIFEST"; }
own_files() { # capture dir: move the JIT files of its pids into dir/maps
  mkdir -p "$2/maps"
  for pid in $(perf script -i "$1" -F pid 2>/dev/null | sort -u); do
    for f in "/tmp/perf-$pid.map" "/tmp/jit-$pid.dump"; do [ -f "$f" ] && mv "$f" "$2/maps/"; done
  done
  return 0; }

for set in "$@"; do
  d=$dest/$set; rm -rf "$d"; mkdir -p "$d"
  case $set in
  py313-chain-perf)
    cmd="perf record -k 1 -e $EVENT --call-graph dwarf,32768 -- python3.13 -X perf /srv/app/chain.py 2"
    (cd /srv/app && perf record -q -o "$d/perf.data" -k 1 -e "$EVENT" --call-graph dwarf,32768 -- \
      "$P313" -X perf chain.py 2 2> "$d/record.log")
    # perf script needs the map in /tmp to name the Python frames: read it there, then move it
    perf script -i "$d/perf.data" 2>/dev/null | zstd -q -19 -o "$d/perf-script.txt.zst"
    own_files "$d/perf.data" "$d"
    manifest "$d" "chain.py (a known 30-level Python call chain in 3 threads, reference cycles for the GC), CPython 3.13 -X perf: trampolines named by perf-PID.map; perf itself stops at the first Python frame" "$cmd" ;;
  py313-chain-perfjit)
    cmd="perf record -k 1 -e $EVENT --call-graph dwarf,32768 -- python3.13 -X perf_jit /srv/app/chain.py 2; perf inject --jit; perf script --max-stack 4096"
    (cd /srv/app && perf record -q -o "$d/perf.data" -k 1 -e "$EVENT" --call-graph dwarf,32768 -- \
      "$P313" -X perf_jit chain.py 2 2> "$d/record.log")
    perf script -i "$d/perf.data" 2>/dev/null | zstd -q -19 -o "$d/perf-script.txt.zst"
    # the referee: perf inject --jit turns the jitdump into jitted-PID-N.so files beside it
    # (in /tmp, where the capture says the dump was), perf script reads them
    perf inject --jit -i "$d/perf.data" -o "$d/injected.data"
    perf script --max-stack 4096 -i "$d/injected.data" 2>/dev/null | zstd -q -19 -o "$d/perf-script-injected.txt.zst"
    for pid in $(perf script -i "$d/perf.data" -F pid 2>/dev/null | sort -u); do rm -f /tmp/jitted-"$pid"-*.so; done
    rm -f "$d/injected.data"
    own_files "$d/perf.data" "$d"
    manifest "$d" "chain.py under CPython 3.13 -X perf_jit: a jitdump (maps/jit-PID.dump) with unwinding info; perf-script-injected.txt.zst is perf's view after perf inject --jit (the referee)" "$cmd" ;;
  *) echo "unknown set $set"; exit 2 ;;
  esac
  perf report -i "$d/perf.data" --stats 2>/dev/null > "$d/perf-report-stats.txt" || true
  rm -f "$d/record.log"
  ls -la "$d" "$d/maps"
done
