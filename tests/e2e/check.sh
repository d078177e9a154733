# perfsight check, the CI gate: its exit codes, messages and outputs for a pass, a failure,
# too few samples, a bad rule, a bad baseline and a baseline of another program; the JUnit
# file validated against the JUnit schema (tests/schemas/junit.xsd) with libxml2; Markdown and
# JSON; --report-on-fail; hostile names in the outputs.
T_SUITE=check
. tests/e2e/lib.sh

if ! command -v python3 >/dev/null 2>&1; then
	skip all "python3 not installed"
	exit 0
fi
F=fixtures
BASE=$F/ciapp-base/perf.data
SLOW=$F/ciapp-slow/perf.data
GC=$F/ciapp-gc/perf.data
XSD=tests/schemas/junit.xsd

# run NAME WANT-EXIT ARGS...: perfsight check ARGS, its stdout in $OUT/NAME.out, stderr in .err
run() {
	name=$1 want=$2
	shift 2
	"$PERFSIGHT" check "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"
	rc=$?
	if [ $rc -eq "$want" ]; then ok "$name-exit-$want"; else nok "$name-exit-$want" "exit $rc: $(tail -2 "$OUT/$name.err")"; fi
}
junit_valid() { # FILE
	if ! command -v xmllint >/dev/null 2>&1; then
		skip "$2-junit-valid" "xmllint not installed (libxml2-utils, make deps)"
	elif xmllint --noout --schema "$XSD" "$1" >"$OUT/$2.xsd.log" 2>&1; then
		ok "$2-junit-valid"
	else
		nok "$2-junit-valid" "$(tail -2 "$OUT/$2.xsd.log")"
	fi
}

# pass: a capture against itself, every output written
run pass 0 "$BASE" --baseline "$BASE" --max-regression 2pts --max-gc-share 50% \
	--max-share 'checksum=40%' --junit "$OUT/pass.xml" --markdown "$OUT/pass.md" \
	--json "$OUT/pass.json" --report-on-fail "$OUT/pass-report.html"
junit_valid "$OUT/pass.xml" pass
check pass-junit-counts grep -q 'tests="4" failures="0"' "$OUT/pass.xml"
check pass-verdict-line grep -qx 'verdict: pass' "$OUT/pass.out"
check pass-json python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(d["format"] != "perfsight-check/1" or d["verdict"] != "pass" or len(d["rules"]) != 4)' "$OUT/pass.json"
check pass-markdown grep -q '^### perfsight check: pass' "$OUT/pass.md"
check pass-no-report test ! -e "$OUT/pass-report.html"

# fail: the slowed function against the baseline
run fail 5 "$SLOW" --baseline "$BASE" --max-regression 2pts --max-growth 'checksum=+2pts' \
	--max-gc-share 50% --junit "$OUT/fail.xml" --markdown "$OUT/fail.md" --json "$OUT/fail.json" \
	--report-on-fail "$OUT/fail-report.html"
junit_valid "$OUT/fail.xml" fail
check fail-junit-counts grep -q 'tests="4" failures="2"' "$OUT/fail.xml"
check fail-names-function grep -q 'FAIL *max-regression 2pts: .*py::checksum' "$OUT/fail.out"
check fail-growth-measured grep -q 'FAIL *max-growth checksum=+2pts: share of /checksum/ .*beyond noise' "$OUT/fail.out"
check fail-gc-passes grep -q '^pass *max-gc-share 50%' "$OUT/fail.out"
check fail-markdown-changes sh -c "grep -q '^### perfsight check: \*\*FAIL\*\*' '$OUT/fail.md' && grep -q '^- +.*checksum' '$OUT/fail.md'"
check fail-report-is-diff sh -c "grep -q 'perfsight-diff/1' '$OUT/fail-report.html'"

# the GC-heavy endpoint: GC share over its limit, and its growth beyond noise
run gc 5 "$GC" --baseline "$BASE" --max-gc-share 10% --max-growth '^\[gc\]$=+5pts'
check gc-share-fails grep -q 'FAIL *max-gc-share 10%: GC share 1[0-9.]*%' "$OUT/gc.out"
check gc-growth-fails grep -q 'FAIL *max-growth ^\\\[gc\\\]$=+5pts' "$OUT/gc.out"
# without a baseline the GC rule alone, and the plain report on failure
run gc-alone 5 "$GC" --max-gc-share 10% --report-on-fail "$OUT/gc-alone.html"
check gc-alone-report sh -c "grep -q 'id=\"perfsight-data\"' '$OUT/gc-alone.html' && ! grep -q perfsight-diff/1 '$OUT/gc-alone.html'"

# too few samples: the gate refuses to judge, with its own message and exit code
run few 6 "$SLOW" --baseline "$BASE" --min-samples 100000 --max-regression 2pts --junit "$OUT/few.xml"
check few-message grep -q 'CANNOT JUDGE *min-samples 100000: cannot judge: too few samples' "$OUT/few.out"
check few-others-not-passed sh -c "! grep -q '^pass' '$OUT/few.out'"
junit_valid "$OUT/few.xml" few
check few-junit-type grep -q 'type="cannot-judge"' "$OUT/few.xml"

# a figure the capture does not have is not a pass: no GC figures in a profiler dump
run dump-gc 6 $F/pyinstrument/per-request --max-gc-share 10%
check dump-gc-message grep -q 'cannot judge: GC share not measured' "$OUT/dump-gc.out"

# bad rules: usage errors naming the rule (and the file and line)
run bad-value 2 "$BASE" --max-gc-share lots
check bad-value-message grep -q "max-gc-share: 'lots' is not a share" "$OUT/bad-value.err"
printf '# rules\nmin-samples 10\nmax-gc-share 10%%  # a comment\nmax-everything 3%%\n' >"$OUT/bad.rules"
run bad-rule-file 2 "$BASE" --rules "$OUT/bad.rules"
check bad-rule-file-line grep -q "bad.rules:4: unknown rule 'max-everything'" "$OUT/bad-rule-file.err"
run needs-baseline 2 "$BASE" --max-regression 2pts
check needs-baseline-message grep -q 'max-regression 2pts (command line) needs --baseline' "$OUT/needs-baseline.err"
printf '# the CI job'"'"'s rules\nmin-samples 100\n\n--max-gc-share 50%%\nmax-share "^py::checksum=40%%"   # one function\nmax-regression 2pts\n' >"$OUT/good.rules"
run rules-file 0 "$BASE" --baseline "$BASE" --rules "$OUT/good.rules" --json "$OUT/rules.json"
check rules-file-unquoted grep -q '^pass *max-share ^py::checksum=40%' "$OUT/rules-file.out"
check rules-file-origin python3 -c '
import json, sys
o = [r["origin"] for r in json.load(open(sys.argv[1]))["rules"]]
sys.exit(not (o[0].endswith("good.rules:2") and o[-1].endswith("good.rules:6")))' "$OUT/rules.json"
check rules-file-count sh -c "[ \$(grep -c '^pass' '$OUT/rules-file.out') = 4 ]"

# bad baselines: unreadable (exit 3, naming the file), and another program (cannot judge)
run missing-baseline 3 "$SLOW" --baseline "$OUT/no-such-baseline" --max-regression 2pts
check missing-baseline-named grep -q 'no-such-baseline' "$OUT/missing-baseline.err"
head -c 4096 /dev/urandom >"$OUT/garbage.data"
run garbage-baseline 3 "$SLOW" --baseline "$OUT/garbage.data" --max-regression 2pts
run other-program 6 "$SLOW" --baseline $F/py312-threads-dwarf/perf.data --max-regression 2pts
check other-program-message grep -q 'barely shares functions with the capture.*another program' "$OUT/other-program.out"
run unreadable-input 3 "$OUT/no-such-capture" --max-gc-share 10%

# hostile names: escaped in Markdown and JUnit, the JUnit still valid
run hostile 5 $F/hostile/perf.data --max-share '<img src=x onerror=alert.1.>|script=0%' \
	--junit "$OUT/hostile.xml" --markdown "$OUT/hostile.md"
junit_valid "$OUT/hostile.xml" hostile
check hostile-markdown-escaped sh -c "grep -q '&lt;img src=x onerror=alert.1.&gt;' '$OUT/hostile.md' && ! grep -q '<img\|<script\|</script' '$OUT/hostile.md'"

# an output that cannot be written
run bad-output 4 "$BASE" --max-gc-share 50% --junit /nonexistent-dir/x.xml
check help sh -c "'$PERFSIGHT' check --help | grep -q 'exit status: 0 every rule passed'"

# the README's rules file is one check reads (its example job is the documentation of the gate)
python3 - README.md "$OUT/readme.rules" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
m = re.search(r"with `perf/gate.rules` in the repository:\n\n```\n(.*?)```", text, re.S)
open(sys.argv[2], "w").write(m.group(1) if m else "")
PY
if [ -s "$OUT/readme.rules" ]; then
	# the README asks for 2000 samples: the small fixtures make the gate refuse, by that rule
	run readme-rules 6 "$SLOW" --baseline "$BASE" --rules "$OUT/readme.rules"
	check readme-rules-read grep -q 'CANNOT JUDGE *min-samples 2000: cannot judge: too few samples' "$OUT/readme-rules.out"
else
	nok readme-rules "no perf/gate.rules block in README.md"
fi

# --max-cut-stacks reads the summary's cut_stacks (stacks rooted at [truncated], docs/stacks.md):
# the threads fixture was recorded with 4 KiB dumps, so some of its stacks are cut
CUT=$F/py312-threads-dwarf/perf.data
"$PERFSIGHT" summary --json "$CUT" >"$OUT/cut.summary.json" 2>/dev/null
cut=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))["captures"][0]
n = sum(p["cut_stacks"]["samples"] for p in d["processes"])
c = sum(p["cpu_samples"] for p in d["processes"])
print("%.6f" % (n / c) if c else "")' "$OUT/cut.summary.json")
if [ -z "$cut" ] || [ "$(python3 -c "print(int(0 < $cut < 1))")" != 1 ]; then
	nok cut-stacks-fixture "the fixture's summary has no cut stacks to gate on ($cut)"
else
	below=$(python3 -c "print('%.2f%%' % (100 * $cut / 2))")
	above=$(python3 -c "print('%.2f%%' % (100 * $cut * 2))")
	run cut-over 5 "$CUT" --max-cut-stacks "$below" --json "$OUT/cut-over.json"
	run cut-under 0 "$CUT" --max-cut-stacks "$above"
	if python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
v = [r for r in d["rules"] if "cut" in r["rule"]][0]["value"]
sys.exit(0 if abs(v - float(sys.argv[2])) < 1e-4 else 1)' "$OUT/cut-over.json" "$cut" 2>"$OUT/cut-over.py.err"; then
		ok cut-stacks-is-summary-share
	else
		nok cut-stacks-is-summary-share "check's value differs from the summary's $cut ($(tail -1 "$OUT/cut-over.py.err"))"
	fi
fi
