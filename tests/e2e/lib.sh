# Shared helpers for the end-to-end scripts: TAP-like lines that tests/run.sh counts.
# Scripts run from the repository root with $PERFSIGHT pointing at the binary under test.
T_N=0
T_SUITE=${T_SUITE:-e2e}
OUT=tests/out/${T_SUITE}
mkdir -p "$OUT"
ok() { T_N=$((T_N + 1)); echo "ok $T_N - $T_SUITE::$1"; }
nok() { T_N=$((T_N + 1)); echo "not ok $T_N - $T_SUITE::$1: $2"; }
skip() { T_N=$((T_N + 1)); echo "ok $T_N - $T_SUITE::$1 # SKIP $2"; }
# check NAME COND-COMMAND... : ok when the command succeeds
check() { n=$1; shift; if "$@" >/dev/null 2>&1; then ok "$n"; else nok "$n" "failed: $*"; fi; }
# perf_why: prints why perf cannot record here (nothing when it can)
perf_why() {
	if ! command -v perf >/dev/null; then
		echo "perf is not installed"
	elif ! perf record -q -o "$OUT/perf-why.data" -e cpu-clock -- true > "$OUT/perf-why.log" 2>&1; then
		echo "perf cannot record here: $(head -c 200 "$OUT/perf-why.log")"
	fi
}
# fx_rc DIR: the exit status every command reading the capture in DIR gives: 1 when perf's own
# stats beside it (perf-report-stats.txt) count LOST or LOST_SAMPLES records (perf dropped
# samples while recording: the lost-samples error), else 0
fx_rc() {
	if grep -qE '^ *LOST(_SAMPLES)? events: +[1-9]' "$1/perf-report-stats.txt" 2>/dev/null; then
		echo 1
	else
		echo 0
	fi
}
