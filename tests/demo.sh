#!/bin/sh
# make demo: the main job on a bundled capture (gunicorn, 2 gthread workers under wrk load).
set -e
B=${B:-build}
cap=fixtures/gunicorn-gthread-pipe/perf.data
mkdir -p demo
echo "== perfsight info $cap"
"$B"/perfsight info "$cap"
