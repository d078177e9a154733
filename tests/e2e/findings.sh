# The findings of the first fuzzing run (../shared/docs/fuzz-findings-3765a2d.md, F1-F14),
# through the command line: each reproducer (tests/fuzz/regress/, or made here when it is big
# or a special file) must end by itself with the exit status the README documents, within a
# memory bound: its peak RSS (tests/tools/peakrss, the child's ru_maxrss) at most a fixed cap
# plus a multiple of its input's size. The harness replays (tests/e2e/fuzz.sh) cover the
# library; these cover what the CLI does around it (stdin, exit codes, what reaches the
# terminal).
T_SUITE=findings
. tests/e2e/lib.sh
B=${B:-build}
PERFSIGHT=${PERFSIGHT:-$PWD/$B/perfsight}
PEAK=$B/tests/peakrss
R=tests/fuzz/regress
# ASan's shadow memory and quarantine: a sanitized build gets a larger fixed cap
CAP_MB=64
[ "${SAN:-0}" = 1 ] && CAP_MB=400
if [ ! -x "$PEAK" ]; then
	skip all "$PEAK not built"
	exit 0
fi
# hostile NAME WANT_RC LIMIT_S MAX_MB [STDIN_FILE|-] -- CMD...: WANT_RC is a regex of exit
# statuses; the run is killed after LIMIT_S (a hang); MAX_MB is added to the fixed cap
hostile() {
	name=$1 want=$2 lim=$3 mb=$4 in=$5
	shift 5
	[ "$1" = -- ] && shift
	if [ "$in" = - ]; then
		"$PEAK" -t "$lim" -- "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" </dev/null
	else
		cat "$in" | "$PEAK" -t "$lim" -- "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"
	fi
	line=$(grep '^peakrss: ' "$OUT/$name.err" | tail -1)
	rc=$(echo "$line" | sed -n 's/.*rc=\([0-9]*\).*/\1/p')
	kb=$(echo "$line" | sed -n 's/.*rss_kb=\([0-9]*\).*/\1/p')
	max=$(((CAP_MB + mb) * 1024))
	if grep -q -E 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' "$OUT/$name.err"; then
		nok "$name" "sanitizer report (see $OUT/$name.err)"
	elif ! echo "$rc" | grep -q -x -E "$want"; then
		nok "$name" "exit $rc, want $want ($line; $(grep -v '^peakrss' "$OUT/$name.err" | head -2 | tr '\n' ' '))"
	elif [ "$kb" -gt "$max" ]; then
		nok "$name" "peak RSS $kb KB > $max KB ($line)"
	else
		ok "$name ($line)"
	fi
}
# F1: a frame name with a NUL, as a file detected as folded and through standard input
hostile F1-folded-nul-path 1 60 0 - -- "$PERFSIGHT" flamegraph \
	$R/folded/F1-folded-nul-overread-min-path.folded -o "$OUT/f1.svg"
hostile F1-folded-nul-stdin 3 60 0 $R/folded/F1-folded-nul-overread-min.folded -- \
	"$PERFSIGHT" flamegraph - -o "$OUT/f1.svg"
# F2: a pipe whose AUXTRACE record claims 2^63 or 2^40 bytes: read to its end, exit 1
for f in $R/perf/F2-pipe-auxtrace-*.data; do
	hostile "$(basename "$f" .data)" 1 60 0 "$f" -- "$PERFSIGHT" info -
done
# F4: a zstd bomb (67 KB of records inflating to 2 GiB): decompressed a step at a time as the
# records are read, each chunk cut at what perf's buffer could hold; read as a file and a pipe
hostile F4-zstd-bomb-file 1 120 0 - -- "$PERFSIGHT" info $R/perf/F4-zstd-bomb-2GB.data
hostile F4-zstd-bomb-stdin 1 120 0 $R/perf/F4-zstd-bomb-2GB.data -- "$PERFSIGHT" info -
# F5: 4096 events sharing one region of 65536 ids (852 KB): the ids past what the file holds
# are refused, memory stays a multiple of the file
hostile F5-attrs-shared-ids 0 60 8 - -- "$PERFSIGHT" info $R/perf/F5-attrs-shared-ids-2GB.data
# F6: 160k ids chosen to collide in a fixed hash (7.5 s then): the seeded hash reads them at
# once, so the run is killed after 5 s (15 s sanitized) if they cluster again
f6=5
[ "${SAN:-0}" = 1 ] && f6=15
hostile F6-idmap-collide 0 $f6 8 - -- "$PERFSIGHT" info $R/perf/F6-idmap-collide-160k.data
