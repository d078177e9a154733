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
# F3, F12, F11, F14: tampered databases. The regress files are the finding's own (views with
# an endless recursive query standing in for py_events and gc_pauses, a trigger and a table of
# its own, INT64_MAX ids); the rest are made here from a real import with the sqlite3 shell.
for f in $R/db/F3-*.db $R/db/F12-*.db $R/db/F11-*.db; do
	n=$(basename "$f" .db)
	hostile "$n-summary" 3 30 16 - -- "$PERFSIGHT" summary "$f"
	hostile "$n-report" '[03]' 30 16 - -- "$PERFSIGHT" report "$f" -o "$OUT/$n.html"
done
base=tests/fuzz/corpus/db/probes.db
if ! command -v sqlite3 >/dev/null; then
	skip tampered-dbs "the sqlite3 shell is missing (tests/deps.sh installs it)"
else
	# tamper NAME SQL: a copy of the base database with SQL run on it
	tamper() {
		cp "$base" "$OUT/$1.db" && sqlite3 "$OUT/$1.db" "$2" && echo "$OUT/$1.db"
	}
	db=$(tamper view-endless "DROP TABLE py_events; CREATE VIEW py_events AS WITH RECURSIVE
		c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT 1 AS capture, 0 AS event,
		x AS samples FROM c;")
	hostile F3-view-endless-summary 3 30 16 - -- "$PERFSIGHT" summary "$db"
	db=$(tamper view-other-sql "DROP VIEW folded; CREATE VIEW folded AS SELECT 1;")
	hostile F3-view-other-sql 3 30 16 - -- "$PERFSIGHT" summary "$db"
	# F12: a trigger alone, that would falsify what import writes: refused, file untouched
	db=$(tamper trigger-only "CREATE TRIGGER t AFTER INSERT ON captures BEGIN
		DELETE FROM strings; END;")
	cp "$db" "$OUT/trigger-before.db"
	hostile F12-trigger-import 4 30 16 - -- "$PERFSIGHT" import \
		fixtures/pyinstrument/per-request/0005-io.json -o "$db"
	check F12-trigger-db-unchanged cmp "$db" "$OUT/trigger-before.db"
	hostile F12-trigger-only-summary 3 30 16 - -- "$PERFSIGHT" summary "$db"
	# F14: a table missing is bad input (3), not an internal error (4)
	db=$(tamper missing-table "DROP TABLE py_threads;")
	hostile F14-missing-table-summary 3 30 16 - -- "$PERFSIGHT" summary "$db"
	hostile F14-missing-table-report 3 30 16 - -- "$PERFSIGHT" report "$db" -o "$OUT/m.html"
	# found while fixing F3: a sample naming a call path the capture does not hold was used
	# as an index (a crash in report); now bad input
	# (the stored report dropped: a report is then made from the samples)
	db=$(tamper sample-path-out "UPDATE samples SET path = 99999999; DELETE FROM report_data;")
	# summary reads the stored analysis of this capture, not its samples: 0 is right too
	hostile sample-path-out-summary "[03]" 30 16 - -- "$PERFSIGHT" summary "$db"
	for c in report flamegraph; do
		hostile sample-path-out-$c 3 30 16 - -- "$PERFSIGHT" $c "$db" -o "$OUT/spo.$c"
	done
	# F7 in a database: a chain of 50,000 call paths with a sample on each (1.9 MB) is
	# 1.25e9 frames of stacks; refused by the frame budget of its distinct stacks
	cp tests/fuzz/corpus/db/pyprof.db "$OUT/chain.db"
	python3 - "$OUT/chain.db" 50000 <<'PY'
import sqlite3, sys
db, n = sqlite3.connect(sys.argv[1]), int(sys.argv[2])
pb, np_, fb = db.execute("SELECT path_base, n_paths, frame_base FROM captures").fetchone()
parent, depth = db.execute("SELECT id, depth FROM paths WHERE parent IS NULL LIMIT 1").fetchone()
th = db.execute("SELECT id FROM threads LIMIT 1").fetchone()[0]
ev = db.execute("SELECT id FROM events LIMIT 1").fetchone()[0]
rows = []
for k in range(n):
    rows.append((pb + np_ + 1 + k, 1, parent, fb + 1, depth + 1))
    parent, depth = rows[-1][0], depth + 1
db.executemany("INSERT INTO paths VALUES (?,?,?,?,?)", rows)
db.executemany("INSERT INTO samples(capture, event, thread, path, period, weight) "
               "VALUES (1, ?, ?, ?, 1, 1.0)", [(ev, th, r[0]) for r in rows])
db.execute("UPDATE captures SET n_paths = n_paths + ?, n_samples = n_samples + ?, "
           "sample_last = (SELECT max(id) FROM samples)", (n, n))
db.commit()
PY
	hostile F7-db-path-chain-summary 3 30 16 - -- "$PERFSIGHT" summary "$OUT/chain.db"
	for c in report flamegraph; do
		hostile F7-db-path-chain-$c 3 30 16 - -- "$PERFSIGHT" $c "$OUT/chain.db" \
			-o "$OUT/chain.$c"
	done
	# what is still a perfsight database: an index of one's own on its tables
	db=$(tamper extra-index "CREATE INDEX mine ON samples(time);")
	hostile accepted-extra-index 0 30 16 - -- "$PERFSIGHT" summary "$db"
fi
# F8: the JIT map a capture brings is a FIFO (the open blocked) or a link to /dev/zero (one
# endless line): refused at once, the rest of the capture read
mkdir -p "$OUT/f8-fifo/maps" "$OUT/f8-zero/maps"
cp fixtures/py312-threads-fp/perf.data "$OUT/f8-fifo/" && cp fixtures/py312-threads-fp/perf.data "$OUT/f8-zero/"
map=$(basename fixtures/py312-threads-fp/maps/perf-*.map)
rm -f "$OUT/f8-fifo/maps/$map" "$OUT/f8-zero/maps/$map"
mkfifo "$OUT/f8-fifo/maps/$map"
ln -s /dev/zero "$OUT/f8-zero/maps/$map"
for k in fifo zero; do
	hostile F8-jit-map-$k '[01]' 30 16 - -- "$PERFSIGHT" collapse "$OUT/f8-$k/perf.data" \
		-o "$OUT/f8-$k.folded"
	check F8-jit-map-$k-said grep -q 'not a regular file' "$OUT/F8-jit-map-$k.err"
done
# F7: an evented speedscope 40,000 frames deep (5.5 MB; its distinct stacks hold 8e8 frames,
# 5.2 GB of folded text then): refused by the frame budget of its stacks, before any of it
python3 - "$OUT/evented-40k.json" 40000 <<'PY'
import sys
n = int(sys.argv[2])
ev = ['{"type":"O","frame":0,"at":%d}' % i for i in range(n)]
ev += ['{"type":"C","frame":0,"at":%d}' % (n + i) for i in range(n)]
open(sys.argv[1], "w").write(
    '{"$schema":"https://www.speedscope.app/file-format-schema.json",'
    '"shared":{"frames":[{"name":"f"}]},"profiles":[{"type":"evented","name":"t",'
    '"unit":"seconds","startValue":0,"endValue":%d,"events":[%s]}]}' % (2 * n, ",".join(ev)))
PY
mb7=$(($(wc -c <"$OUT/evented-40k.json") * 4 / 1048576)) # 4x its size
for c in summary export flamegraph report; do
	case $c in
	summary) a= ;;
	export) a="--format folded -o $OUT/f7.folded" ;;
	flamegraph) a="-o $OUT/f7.svg" ;;
	report) a="-o $OUT/f7.html" ;;
	esac
	# shellcheck disable=SC2086
	hostile F7-evented-40k-$c 3 60 $mb7 - -- "$PERFSIGHT" $c "$OUT/evented-40k.json" $a
done
# F13: control bytes in a label, a host name (a database's, a perf.data's) never reach the
# output of info or summary, in a file or on a terminal, nor the messages on stderr
esc=$(printf '\033')
bel=$(printf '\007')
if command -v sqlite3 >/dev/null; then
	db=$(tamper escapes "UPDATE captures SET label = 'L' || char(27) || '[2J',
		host = char(27) || ']0;owned' || char(7) || char(27) || '[31mEVIL';")
	for c in info summary; do
		"$PERFSIGHT" $c "$db" >"$OUT/f13-$c.out" 2>&1
		check F13-db-$c-no-escape sh -c "! grep -q '[$esc$bel]' '$OUT/f13-$c.out' &&
			grep -q 'L?\[2J' '$OUT/f13-$c.out'"
	done
fi
python3 - tests/fuzz/corpus/perf/synth-all.data "$OUT/f13-host.data" <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
d_off, d_sz = struct.unpack_from("<QQ", b, 40)
bits = int.from_bytes(b[72:104], "little")
idx = bin(bits & 0b111).count("1")  # HEADER_HOSTNAME is bit 3: bits 0-2 come first
off, size = struct.unpack_from("<QQ", b, d_off + d_sz + 16 * idx)
n = struct.unpack_from("<I", b, off)[0]
evil = b"\x1b]0;owned\x07\x1b[2J"[: n - 1].ljust(n - 1, b"x") + b"\0"
b[off + 4 : off + 4 + n] = evil
open(sys.argv[2], "wb").write(b)
PY
"$PERFSIGHT" info "$OUT/f13-host.data" >"$OUT/f13-host.out" 2>&1
check F13-perf-host-no-escape sh -c "grep -q '^host: *?]0;owned' '$OUT/f13-host.out' &&
	! grep -q '[$esc$bel]' '$OUT/f13-host.out'"
# F14: an output that cannot be written is an output error (4), not bad input (3); a missing
# input is still 3
dump=fixtures/pyinstrument/per-request/0005-io.json
hostile F14-report-output-dir 4 30 0 - -- "$PERFSIGHT" report $dump -o "$OUT/no-such-dir/x.html"
hostile F14-flamegraph-output-dir 4 30 0 - -- "$PERFSIGHT" flamegraph $dump \
	-o "$OUT/no-such-dir/x.svg"
hostile F14-collapse-output-dir 4 30 0 - -- "$PERFSIGHT" collapse \
	fixtures/py312-threads-fp/perf.data -o "$OUT/no-such-dir/x.folded"
hostile F14-missing-input 3 30 0 - -- "$PERFSIGHT" report "$OUT/no-such-input.json" -o "$OUT/x.html"
