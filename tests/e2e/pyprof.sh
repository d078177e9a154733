# pyprof end to end: the pyinstrument fixtures read through build/tests/pyprof-dump and checked
# against Python's own reading of the same files (tests/tools/pyprof_check.py), then the
# error paths a user meets first.
T_SUITE=pyprof
. tests/e2e/lib.sh
DUMP=${B:-build}/tests/pyprof-dump
FIX=fixtures/pyinstrument

if [ ! -x "$DUMP" ]; then
	skip checker "no $DUMP (make check builds it)"
	exit 0
fi
if command -v python3 >/dev/null 2>&1; then
	python3 tests/tools/pyprof_check.py "$DUMP" "$FIX" > "$OUT/check.txt" 2>&1
	while IFS= read -r line; do
		case $line in
		PASS\ *) rest=${line#PASS }; ok "${rest%%:*}" ;;
		FAIL\ *) rest=${line#FAIL }; nok "${rest%%:*}" "${rest#*: }" ;;
		esac
	done < "$OUT/check.txt"
	grep -q '^PASS ' "$OUT/check.txt" || nok checker "no result: $(head -c 300 "$OUT/check.txt")"
else
	skip checker "python3 not installed"
fi

# expect_fail NAME WANT-IN-MESSAGE ARGS...: the load fails with exit 3 and a message holding WANT
expect_fail() {
	n=$1; want=$2; shift 2
	"$DUMP" "$@" > "$OUT/$n.out" 2> "$OUT/$n.err"
	rc=$?
	if [ $rc -eq 3 ] && grep -qF -- "$want" "$OUT/$n.err"; then
		ok "$n"
	else
		nok "$n" "exit $rc, stderr: $(head -c 200 "$OUT/$n.err")"
	fi
}

mkdir -p "$OUT/empty"
expect_fail empty-directory "holds no pyinstrument" -m "$OUT/empty"
expect_fail directory-needs-merge "pfs_pyprof_dir_scan" "$FIX/per-request"
printf 'hello, world\n' > "$OUT/not-a-profile.txt"
expect_fail not-a-profile "not-a-profile.txt: not a pyinstrument" "$OUT/not-a-profile.txt"
printf '{"frame_records": [[["a\\u0000f.py\\u00001"], 0.5]], "duration": 1, "sample_count": 1, "start_time": 0}' > "$OUT/noversion.pyisession"
expect_fail unknown-version "unknown pyinstrument version" "$OUT/noversion.pyisession"
head -c 100000 "$FIX/flask-testclient.pyisession" > "$OUT/cut.pyisession"
expect_fail truncated "cut.pyisession: invalid JSON" "$OUT/cut.pyisession"
printf '{"profiles": "x", "shared": {"frames": []}}' > "$OUT/wrongtype.json"
expect_fail wrong-type "'profiles': expected array, got string" "$OUT/wrongtype.json"

printf 'main;work (app.py:3);leaf 5\nmain;other 2\n' > "$OUT/stacks.folded"
"$DUMP" -s "$OUT/stacks.folded" > "$OUT/folded.txt" 2>&1
check folded-counts grep -q 'kind=folded unit=samples .* rows=2 weight=7.000000000' "$OUT/folded.txt"

# Bounded memory: a 30 MB session (the fixture's records repeated) loads with a peak RSS far
# below its size. ASan's shadow memory makes RSS meaningless under SAN=1.
if [ "${SAN:-0}" = 1 ]; then
	skip bounded-memory "RSS is not comparable under ASan"
elif ! command -v python3 >/dev/null 2>&1; then
	skip bounded-memory "python3 not installed"
else
	python3 tests/tools/pyprof-bigsession.py "$FIX/flask-testclient.pyisession" "$OUT/big.pyisession" 30 >/dev/null
	"$DUMP" -b "$OUT/big.pyisession" > "$OUT/big.txt" 2>&1
	rss=$(sed -n 's/.*max_rss_kb=\([0-9]*\).*/\1/p' "$OUT/big.txt")
	if [ -n "$rss" ] && [ "$rss" -lt 16384 ]; then
		ok bounded-memory
	else
		nok bounded-memory "peak RSS ${rss:-?} KiB for a 30 MB session: $(cat "$OUT/big.txt")"
	fi
	rm -f "$OUT/big.pyisession"
fi
