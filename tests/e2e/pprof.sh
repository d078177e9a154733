# perfsight export --format pprof read back by a real reader: `go tool pprof` (Debian's
# golang-go, installed by make deps). For every perf capture fixture and the pyinstrument
# directory, in the python and native views: `-raw` lists every sample, and their total must
# be the folded export's (sample counts, and wall time for the dump); `-top` must name the same
# heaviest functions with the same self counts as the folded export's leaves; the labels carry
# pid, tid, comm and, with the Python analysis, the worker role. Bad uses exit as documented.
T_SUITE=pprof
. tests/e2e/lib.sh

if ! command -v go >/dev/null 2>&1; then
	skip all "go is not installed (make deps installs golang-go)"
	exit 0
fi
if ! command -v python3 >/dev/null 2>&1; then
	skip all "python3 not installed"
	exit 0
fi
export GOCACHE="$PWD/$OUT/gocache" GOFLAGS=-mod=mod HOME=${HOME:-/tmp}

# raw_total RAW COLUMN: the sum of one value column of `go tool pprof -raw`'s samples
raw_total() {
	python3 - "$1" "$2" <<'PY'
import re, sys
col = int(sys.argv[2]); tot = 0; on = False
for line in open(sys.argv[1]):
    if line.startswith("Samples:"):
        on = True; continue
    if on and re.match(r"^[A-Z][a-z]+", line):
        break
    m = re.match(r"^\s+(-?\d+)\s+(-?\d+):", line)
    if on and m:
        tot += int(m.group(col))
print(tot)
PY
}

# top_agrees FOLDED TOP: -top's 10 heaviest by flat (self) match the folded leaves, by name
top_agrees() {
	python3 - "$1" "$2" <<'PY'
import re, sys, collections
flat = collections.Counter()
for line in open(sys.argv[1]):
    stack, n = line.rstrip("\n").rsplit(" ", 1)
    leaf = stack.split(";")[-1]
    m = re.match(r"^py::(.*):([^:]*)$", leaf)
    flat[m.group(1) if m else leaf] += int(float(n))
top = []
for line in open(sys.argv[2]):
    m = re.match(r"^\s+(\d+)\s+[\d.]+%\s+[\d.]+%\s+\d+\s+[\d.]+%\s+(.*)$", line)
    if m:
        top.append((m.group(2), int(m.group(1))))
if len(top) < 3:
    sys.exit("pprof -top listed %d functions" % len(top))
want = flat.most_common()
# ties at the cut may be listed in either order: compare the ones strictly above the 10th
cut = top[min(9, len(top) - 1)][1]
got = {n: v for n, v in top if v > cut}
exp = {n: v for n, v in want if v > cut}
if got != exp:
    sys.exit("pprof %s\nfolded %s" % (sorted(got.items())[:8], sorted(exp.items())[:8]))
PY
}

for cap in fixtures/*/perf.data fixtures/pyinstrument/per-request; do
	case $cap in */perf.data) fx=$(basename "$(dirname "$cap")") ;; *) fx=pyinstrument ;; esac
	# an idle service: no sample of the default event to export (tests/e2e/verdicts.sh)
	[ "$fx" = verdict-idle ] && continue
	xrc=$(fx_rc "$(dirname "$cap")")
	for view in python native; do
		name=$fx-$view
		o=$OUT/$name
		"$PERFSIGHT" export "$cap" --format pprof --view $view -o "$o.pb.gz" 2>"$o.err"
		if [ $? -ne "$xrc" ]; then
			nok "$name::export" "$(tail -2 "$o.err")"
			continue
		fi
		"$PERFSIGHT" export "$cap" --format folded --weight samples --view $view -o "$o.folded" 2>/dev/null
		if ! go tool pprof -raw "$o.pb.gz" >"$o.raw" 2>"$o.goerr"; then
			nok "$name::go-reads-it" "$(tail -2 "$o.goerr")"
			continue
		fi
		ok "$name::go-reads-it"
		got=$(raw_total "$o.raw" 1)
		want=$(awk '{n += $NF} END {print n + 0}' "$o.folded")
		if [ "$got" = "$want" ] && [ "$got" -gt 0 ]; then
			ok "$name::sample-total"
		else
			nok "$name::sample-total" "pprof $got, folded $want"
		fi
		go tool pprof -top -nodefraction=0 -nodecount=100000 -sample_index=samples "$o.pb.gz" >"$o.top" 2>/dev/null
		if top_agrees "$o.folded" "$o.top" >"$o.topcheck" 2>&1; then
			ok "$name::top-functions"
		else
			nok "$name::top-functions" "$(head -c 400 "$o.topcheck")"
		fi
		if [ "$fx" = pyinstrument ]; then
			# wall time: the second value in ns is the folded export's seconds
			"$PERFSIGHT" export "$cap" --format folded --view $view -o "$o.s.folded" 2>/dev/null
			ns=$(raw_total "$o.raw" 2)
			s=$(awk '{n += $NF} END {printf "%.9f", n}' "$o.s.folded")
			check "$name::wall-time" python3 -c "import sys; sys.exit(abs($ns / 1e9 - $s) > 1e-6 * max(1, $s) + 1e-6 * $(wc -l < "$o.s.folded"))"
		else
			check "$name::labels" grep -q "pid:\[[0-9]*\] tid:\[[0-9]*\]" "$o.raw"
		fi
	done
done

# roles: the gunicorn capture's workers are labelled as such
if grep -q "role:\[worker\]" "$OUT/gunicorn-gthread-pipe-python.raw" &&
	grep -q "role:\[master\]" "$OUT/gunicorn-gthread-pipe-python.raw"; then
	ok roles
else
	nok roles "no worker or master role label"
fi
# CPU time: a cpu-clock capture's second value is cpu nanoseconds, and pprof shows it
check cpu-nanoseconds grep -q "^PeriodType: cpu nanoseconds" "$OUT/py312-threads-dwarf-python.raw"
# Python functions carry their file
go tool pprof -traces "$OUT/py312-threads-dwarf-python.pb.gz" >/dev/null 2>&1
if go tool pprof -raw "$OUT/py312-threads-dwarf-python.pb.gz" 2>/dev/null |
	grep -q "threads.py"; then
	ok python-files
else
	nok python-files "no Python file name in the locations"
fi
# a database capture gives the same profile as its perf.data
db=$OUT/pprof.db
rm -f "$db"
if "$PERFSIGHT" import fixtures/py312-threads-dwarf/perf.data -o "$db" >/dev/null 2>&1 &&
	"$PERFSIGHT" export "$db" --format pprof --view python -o "$OUT/db.pb.gz" 2>/dev/null &&
	go tool pprof -raw "$OUT/db.pb.gz" >"$OUT/db.raw" 2>/dev/null &&
	[ "$(raw_total "$OUT/db.raw" 1)" = "$(raw_total "$OUT/py312-threads-dwarf-python.raw" 1)" ]; then
	ok database-same-total
else
	nok database-same-total "the database's pprof differs from the perf.data's"
fi
# an output that cannot be written exits 4 and leaves nothing
"$PERFSIGHT" export fixtures/py312-threads-fp/perf.data --format pprof -o /nonexistent/dir/x.pb.gz 2>/dev/null
check bad-output-exit-4 test $? -eq 4
