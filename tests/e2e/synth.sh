# perfsight info over synthetic captures from pfs-synth in every layout the fixtures lack:
# big-endian, zstd with records straddling compressed chunks, pipe mode from a file and from
# standard input, every record kind, unknown records and features. Where perf is installed it
# reads the same files (attr.size 128, the largest perf 6.1 accepts) and both tools must agree
# record for record: the writer is checked against perf, not only against our reader.
T_SUITE=synth
. tests/e2e/lib.sh
B=${B:-build}
SYNTH=$B/tests/pfs-synth
if [ ! -x "$SYNTH" ]; then
	skip all "$SYNTH not built"
	exit 0
fi

# jcheck NAME JSON N MODE ORDER COMPRESSED: samples, mode, byte order and compression as written
jcheck() {
	python3 - "$2" "$3" "$4" "$5" "$6" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
n, mode, order, comp = int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5] == "1"
bad = []
if j["records"].get("SAMPLE") != n:
    bad.append("SAMPLE records %s, want %d" % (j["records"].get("SAMPLE"), n))
if sum(e["samples"] for e in j["events"]) != n: bad.append("event samples do not add up to %d" % n)
if j["mode"] != mode: bad.append("mode %s, want %s" % (j["mode"], mode))
if order not in json.dumps(j["byte_order"]):
    bad.append("byte order %s, want %s" % (j["byte_order"], order))
if bool(j["compressed"]) != comp: bad.append("compressed %s, want %s" % (j["compressed"], comp))
# the one error a capture with LOST records must give is lost-samples (its 4 lost samples)
if any(d["severity"] != "note" and d["code"] != "lost-samples" for d in j["diagnostics"]):
    bad.append("diagnostics: %s" % j["diagnostics"])
print("; ".join(bad))
sys.exit(1 if bad else 0)
EOF
}

# same A.json B.json KEY...: exit 0 when both documents agree on every KEY
same() {
	python3 -c '
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
sys.exit(0 if all(a[k] == b[k] for k in sys.argv[3:]) else 1)' "$@"
}

# layout KIND MODE ORDER COMP: one synthetic capture read from a path, in time order, and
# (pipe mode) through standard input
layout() {
	kind=$1 mode=$2 order=$3 comp=$4
	name=$kind-$mode-$order-z$comp
	f=$OUT/$name.data
	set --
	[ $mode = pipe ] && set -- "$@" --pipe
	[ $order = big ] && set -- "$@" --swap
	[ $comp = 1 ] && set -- "$@" --compressed --chunk 150
	n=$("$SYNTH" "$f" --kind $kind --samples 300 "$@" | sed -n 's/^samples //p')
	"$PERFSIGHT" info --json "$f" > "$OUT/$name.json" 2> "$OUT/$name.err"
	rc=$?
	# the "all" kind holds LOST and LOST_SAMPLES records: perf dropped samples, exit 1 (the
	# lost-samples error), as for a real capture
	want=0
	[ $kind = all ] && want=1
	if [ $rc -ne $want ]; then
		nok "$name" "exit $rc (want $want): $(head -c 300 "$OUT/$name.err")"
		return
	fi
	if why=$(jcheck "$name" "$OUT/$name.json" "$n" "$mode" "$order" $comp); then
		ok "$name"
	else
		nok "$name" "$why"
	fi
	"$PERFSIGHT" info --json --time-order "$f" > "$OUT/$name.ordered.json" 2>/dev/null
	if same "$OUT/$name.json" "$OUT/$name.ordered.json" records events; then
		ok "$name-time-order"
	else
		nok "$name-time-order" "counts differ in time order"
	fi
	[ $mode = pipe ] || return
	cat "$f" | "$PERFSIGHT" info --json - > "$OUT/$name.stdin.json" 2>/dev/null
	if same "$OUT/$name.json" "$OUT/$name.stdin.json" records events bytes_read; then
		ok "$name-stdin"
	else
		nok "$name-stdin" "counts differ when read from standard input"
	fi
}

for kind in samples all; do
	for mode in file pipe; do
		for order in little big; do
			layout $kind $mode $order 0
			layout $kind $mode $order 1
		done
	done
done

# a killed perf: data.size 0, read to the end with a warning, nothing dropped
f=$OUT/killed.data
n=$("$SYNTH" "$f" --data-size-zero --samples 50 | sed -n 's/^samples //p')
"$PERFSIGHT" info --json "$f" > "$OUT/killed.json" 2>/dev/null
if python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
codes = [d["code"] for d in j["diagnostics"]]
n = int(sys.argv[2])
sys.exit(0 if j["records"].get("SAMPLE") == n and "data-size-zero" in codes else 1)' \
	"$OUT/killed.json" "$n"; then
	ok data-size-zero
else
	nok data-size-zero "$(head -c 300 "$OUT/killed.json")"
fi

# perf itself reads what the writer wrote, and agrees with perfsight
if ! command -v perf >/dev/null 2>&1; then
	skip perf-agrees "perf is not installed"
	exit 0
fi
for v in "" "--swap" "--compressed --chunk 100" "--swap --compressed --chunk 77" "--pipe"; do
	name=perf-$(echo "x$v" | tr -cd 'a-z0-9')
	f=$OUT/$name.data
	"$SYNTH" "$f" --attr-size 128 --samples 300 $v >/dev/null
	if ! perf report --stats -i "$f" > "$OUT/$name.stats" 2> "$OUT/$name.perf.err"; then
		nok "$name" "perf cannot read it: $(head -c 300 "$OUT/$name.perf.err")"
		continue
	fi
	"$PERFSIGHT" info "$f" > "$OUT/$name.txt" 2>/dev/null
	# perf 6.1 --stats names pipe events by its own default ("cpu-clock:HG"), not by the
	# EVENT_UPDATE name it reads: compare the counts under the name the file gives
	sed -i 's/^cpu-clock:[A-Za-z]* stats:$/cpu-clock:u stats:/' "$OUT/$name.stats"
	if r=$(python3 tests/tools/check_stats.py "$OUT/$name.stats" "$OUT/$name.txt"); then
		ok "$name"
	else
		nok "$name" "$r"
	fi
done
