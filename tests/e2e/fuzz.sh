# The libFuzzer harnesses of tests/fuzz/, replayed without libFuzzer (tests/fuzz/replay.c,
# built by make check with the tree's compiler and, under SAN=1, its sanitizers): each over its
# seed corpus in one run, and each input of tests/fuzz/regress/NAME/ (what fuzzing found once,
# and the reproducers of the findings, tests/fuzz/README.md) on its own, so that a failure names it. A run
# passes when it ends by itself, within the timeout, with status 0 and no sanitizer report.
T_SUITE=fuzz
. tests/e2e/lib.sh
B=${B:-build}
# leaks of third-party libraries that no caller can free (tests/fuzz/lsan.supp)
export LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
SAN_RE='ERROR: AddressSanitizer|runtime error:|LeakSanitizer|ERROR: UndefinedBehaviorSanitizer'
replay() { # test-name timeout binary inputs...
	name=$1 to=$2 bin=$3
	shift 3
	log=$OUT/$(echo "$name" | tr '/' '_').log
	timeout "$to" "$bin" "$@" >"$log" 2>&1
	rc=$?
	if [ $rc -eq 0 ] && ! grep -q -E "$SAN_RE" "$log"; then
		ok "$name ($(tail -1 "$log"))"
	else
		why="exit $rc"
		[ $rc -eq 124 ] && why="still running after ${to}s"
		grep -q -E "$SAN_RE" "$log" && why="$why, $(grep -m1 -E "$SAN_RE" "$log")"
		nok "$name" "$why on $(grep '^replay: ' "$log" | tail -1 | cut -c9-) (log $log)"
	fi
}
for src in tests/fuzz/fuzz_*.c; do
	n=$(basename "$src" .c)
	short=${n#fuzz_}
	bin=$B/tests/fuzz/replay-$n
	if [ ! -x "$bin" ]; then
		nok "$short" "$bin not built"
		continue
	fi
	if [ -d tests/fuzz/corpus/$short ]; then
		replay "corpus/$short" 600 "$bin" tests/fuzz/corpus/$short
	else
		nok "corpus/$short" "no seed corpus tests/fuzz/corpus/$short"
	fi
	for f in tests/fuzz/regress/$short/*; do
		[ -f "$f" ] || continue
		replay "regress/$short/$(basename "$f")" 120 "$bin" "$f"
	done
done
