#!/bin/sh
# Runs every test of `make check`: the unit test binaries, then the end-to-end scripts in
# tests/e2e/ (golden, robustness, browser). Each prints "ok N - name", "not ok N - name: why" or
# "ok N - name # SKIP why"; this script counts them and ends with the line CI reads:
#     N passed, N failed, N skipped
# A test binary that dies without printing its lines counts as a failure.
B=${B:-build}
export B PERFSIGHT="$PWD/$B/perfsight"
mkdir -p tests/out
log=tests/out/run.log
: > "$log"
run() { # name cmd...
	name=$1; shift
	out=$("$@" 2>tests/out/"$name".stderr); rc=$?
	printf '%s\n' "$out" | tee -a "$log"
	if [ $rc -ne 0 ] && ! printf '%s\n' "$out" | grep -q '^not ok'; then
		echo "not ok - $name: exited $rc without reporting a failure (see tests/out/$name.stderr)" | tee -a "$log"
		tail -5 tests/out/"$name".stderr
	fi
}
# binaries of the sources present only: a stale binary of a removed test must not run
for src in tests/unit/t_*.c; do
	t=$B/tests/$(basename "$src" .c)
	if [ -x "$t" ]; then
		run "$(basename "$t")" "$t"
	else
		echo "not ok - $(basename "$t"): not built" | tee -a "$log"
	fi
done
for t in tests/e2e/*.sh; do
	[ -f "$t" ] || continue
	run "$(basename "$t" .sh)" sh "$t"
done
pass=$(grep -c '^ok ' "$log" | tr -d ' ')
skip=$(grep -c '^ok .*# SKIP' "$log" | tr -d ' ')
fail=$(grep -c '^not ok' "$log" | tr -d ' ')
pass=$((pass - skip))
if [ "$fail" -gt 0 ]; then
	echo
	echo "failures:"
	grep '^not ok' "$log"
fi
if [ "$skip" -gt 0 ]; then
	echo "skipped:"
	grep '^ok .*# SKIP' "$log"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
