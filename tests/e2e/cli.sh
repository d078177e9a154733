# What a new user trips over first: `report DIR` on the directory `perfsight record -o DIR` made,
# output errors (exit 4, as documented), each writer saying what it wrote, and a mistyped command
# answered with the nearest one. No perf needed: fixtures/gunicorn-timeout is such a directory.
T_SUITE=cli
. tests/e2e/lib.sh
DIR=fixtures/gunicorn-timeout
rm -rf "$OUT" && mkdir -p "$OUT"

# a record directory is its perf.data, for every command that reads a capture
"$PERFSIGHT" report "$DIR" -o "$OUT/dir.html" > /dev/null 2> "$OUT/dir.err"
rc=$?
if [ $rc -le 1 ] && grep -q '<html' "$OUT/dir.html"; then ok report-record-dir; else nok report-record-dir "exit $rc: $(tail -2 "$OUT/dir.err")"; fi
"$PERFSIGHT" summary --json "$DIR" > "$OUT/dir.json" 2>/dev/null
"$PERFSIGHT" summary --json "$DIR/perf.data" > "$OUT/file.json" 2>/dev/null
if python3 -c '
import json, sys
a, b = (json.load(open(f))["captures"][0]["processes"] for f in sys.argv[1:])
sys.exit(0 if a == b and any(p["cpu_samples"] for p in a) else 1)' "$OUT/dir.json" "$OUT/file.json"; then
	ok summary-record-dir
else
	nok summary-record-dir "the directory's summary is not its perf.data's"
fi
"$PERFSIGHT" info "$DIR" > "$OUT/info.txt" 2>&1
check info-record-dir grep -q '^events:' "$OUT/info.txt"
"$PERFSIGHT" collapse "$DIR" > "$OUT/dir.folded" 2>/dev/null
# the maps are found in DIR/maps: Python names, not bare addresses
check collapse-record-dir-names grep -q 'py::' "$OUT/dir.folded"
rm -f "$OUT/dir.db"
"$PERFSIGHT" import "$DIR" -o "$OUT/dir.db" > /dev/null 2>&1
rc=$?
if [ $rc -le 1 ] && "$PERFSIGHT" info "$OUT/dir.db" 2>/dev/null | grep -q 'gunicorn-timeout'; then ok import-record-dir; else nok import-record-dir "exit $rc"; fi
# a directory without perf.data is still a directory of profiler dumps (or an error)
mkdir -p "$OUT/empty"
"$PERFSIGHT" report "$OUT/empty" -o "$OUT/empty.html" > /dev/null 2> "$OUT/empty.err"
rc=$?
if [ $rc -eq 3 ]; then ok empty-dir-is-bad-input; else nok empty-dir-is-bad-input "exit $rc, want 3: $(tail -1 "$OUT/empty.err")"; fi

# an output that cannot be written is exit 4 (3 is for inputs), for every writer
F=$DIR/perf.data
for c in "report $F -o" "flamegraph $F -o" "collapse $F -o" "export $F --format folded -o" \
	"export $F --format speedscope -o" "diff $F $F -o"; do
	name=$(echo "$c" | awk '{print $1 ($3 == "--format" ? "-" $4 : "")}')
	# shellcheck disable=SC2086
	"$PERFSIGHT" $c "$OUT/no/such/dir/out" > /dev/null 2> "$OUT/$name.err"
	rc=$?
	if [ $rc -eq 4 ] && grep -q 'no/such/dir/out' "$OUT/$name.err"; then
		ok "output-error-exit-4-$name"
	else
		nok "output-error-exit-4-$name" "exit $rc: $(tail -1 "$OUT/$name.err")"
	fi
done

# each writer says what it wrote and how big it is, as its last line on stderr
for c in "report:report $F -o $OUT/r.html" "flame graph:flamegraph $F -o $OUT/f.svg" \
	"export (speedscope):export $F --format speedscope -o $OUT/s.json" \
	"export (folded):export $F --format folded -o $OUT/e.folded" \
	"folded stacks:collapse $F -o $OUT/c.folded"; do
	what=${c%%:*}
	args=${c#*:}
	out=${args##* }
	# shellcheck disable=SC2086
	"$PERFSIGHT" $args > /dev/null 2> "$OUT/wrote.err"
	last=$(tail -1 "$OUT/wrote.err")
	case "$last" in
	"$what: $out ("*" kB)" | "$what: $out ("*" MB)") [ -s "$out" ] && ok "says-what-it-wrote-${args%% *}" || nok "says-what-it-wrote-${args%% *}" "no $out" ;;
	*) nok "says-what-it-wrote-${args%% *}" "last line: $last" ;;
	esac
done
# to standard output: nothing to say, and nothing mixed into the data
"$PERFSIGHT" export "$F" --format folded -o - 2> "$OUT/stdout.err" > "$OUT/stdout.folded"
if ! grep -q '^export' "$OUT/stdout.err" && ! grep -q '^export' "$OUT/stdout.folded"; then ok stdout-says-nothing; else nok stdout-says-nothing "$(tail -1 "$OUT/stdout.err")"; fi

# a mistyped command: the nearest one, exit 2
for pair in reprot:report sumary:summary flame:flamegraph exprot:export improt:import; do
	"$PERFSIGHT" "${pair%%:*}" x > /dev/null 2> "$OUT/typo.err"
	rc=$?
	if [ $rc -eq 2 ] && grep -q "did you mean '${pair#*:}'" "$OUT/typo.err"; then ok "nearest-command-${pair%%:*}"; else nok "nearest-command-${pair%%:*}" "exit $rc: $(cat "$OUT/typo.err")"; fi
done
"$PERFSIGHT" xyzzy > /dev/null 2> "$OUT/far.err"
rc=$?
if [ $rc -eq 2 ] && ! grep -q 'did you mean' "$OUT/far.err"; then ok no-guess-when-far; else nok no-guess-when-far "exit $rc: $(cat "$OUT/far.err")"; fi

# the first screen: warnings in full, notes as one line of their codes (PERFSIGHT_NOTES=1: whole)
P=fixtures/py312-threads-probes
"$PERFSIGHT" summary "$P" > /dev/null 2> "$OUT/notes.err"
PERFSIGHT_NOTES=1 "$PERFSIGHT" summary "$P" > /dev/null 2> "$OUT/notes-all.err"
if grep -q '^perfsight: .*: warning stacks-cut' "$OUT/notes.err" &&
	[ "$(grep -c ' note ' "$OUT/notes.err")" = 0 ] &&
	grep -q '^perfsight: .*: [0-9]* notes: .*out-of-order' "$OUT/notes.err" &&
	grep -q ': note out-of-order (x1): .* out of time order in the file' "$OUT/notes-all.err"; then
	ok notes-in-one-line
else
	nok notes-in-one-line "$(cat "$OUT/notes.err" | head -3)"
fi
# no perf jargon in the summary's first lines
"$PERFSIGHT" summary fixtures/gunicorn-timeout > "$OUT/first.txt" 2>&1
if ! head -20 "$OUT/first.txt" | grep -q -i 'handoffs on-CPU\|round violations\|Samples: '; then ok no-jargon-first-screen; else nok no-jargon-first-screen "$(grep -i 'handoffs\|round viol' "$OUT/first.txt" | head -2)"; fi
check categories-in-words grep -q '^  CPU by category: Python (app) [0-9.]*%, Python (stdlib)' "$OUT/first.txt"
"$PERFSIGHT" help sumary > /dev/null 2> "$OUT/help-typo.err"
rc=$?
if [ $rc -eq 2 ] && grep -q "did you mean 'summary'" "$OUT/help-typo.err"; then ok help-nearest-command; else nok help-nearest-command "exit $rc: $(cat "$OUT/help-typo.err")"; fi
