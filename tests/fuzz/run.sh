#!/bin/sh
# make fuzz: runs each harness named (fuzz_NAME, built by `make SAN=fuzz fuzz-bin` under
# build/fuzz) for FUZZ_SECONDS, FUZZ_JOBS (2) at a time, under nice -n 19. Each works on its own
# copy of its seeds, build/fuzz/NAME/corpus (kept between runs, so a second run goes on from
# the first), and writes what it finds (crash-*, leak-*, timeout-*, oom-*) and its log to
# build/fuzz/NAME/. FUZZ_FLAGS adds libFuzzer options (e.g. -fork=1 -ignore_crashes=1).
# Ends with one line per harness: seconds, executions, corpus size, and the findings, and
# exits 1 when there is one. A finding becomes a regress input: tests/fuzz/README.md.
B=build/fuzz
secs=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-2}
# leaks of third-party libraries that no caller can free (tests/fuzz/lsan.supp)
export LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
one() { # name
	n=$1
	short=${n#fuzz_}
	dir=$B/$short
	mkdir -p "$dir/corpus"
	[ -d tests/fuzz/corpus/$short ] && cp -n tests/fuzz/corpus/$short/* "$dir/corpus/" 2>/dev/null
	start=$(date +%s)
	# -timeout: an input that takes 10 s is a finding; -rss_limit_mb: so is 2 GB of memory
	nice -n 19 "$B/tests/fuzz/$n" "$dir/corpus" -max_total_time="$secs" -timeout=10 \
		-rss_limit_mb=2048 -malloc_limit_mb=2048 -artifact_prefix="$dir/" \
		-print_final_stats=1 $FUZZ_FLAGS >"$dir/log" 2>&1
	rc=$?
	end=$(date +%s)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
	found=$(ls "$dir" | grep -c -E '^(crash|leak|timeout|oom|slow-unit)-')
	printf '%-16s %5ss %10s execs %6s corpus inputs  %s findings  (exit %s, log %s)\n' \
		"$n" $((end - start)) "${execs:-?}" "$(ls "$dir/corpus" | wc -l)" "$found" "$rc" \
		"$dir/log"
}
if [ "$1" = --one ]; then
	one "$2"
	exit 0
fi
[ $# -gt 0 ] || { echo "usage: tests/fuzz/run.sh fuzz_NAME..." >&2; exit 2; }
for n in "$@"; do
	[ -x "$B/tests/fuzz/$n" ] || { echo "fuzz: $B/tests/fuzz/$n not built (make SAN=fuzz fuzz-bin)" >&2; exit 2; }
done
echo "fuzz: $# harnesses, ${secs}s each, $jobs at a time"
out=$B/run-summary.txt
mkdir -p $B
printf '%s\n' "$@" | xargs -P "$jobs" -n 1 sh "$0" --one | tee "$out"
! grep -q -E ' [1-9][0-9]* findings' "$out"
