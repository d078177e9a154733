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

# Bad input through `perfsight import` into a database that already holds a capture: each file
# is refused with exit 3 and a message naming the file and the byte offset or the key, and the
# database keeps exactly what it had (nothing half-imported, integrity_check ok). The cases:
# every fixture kind cut at five places, wrong types, missing keys, huge numbers, deep nesting,
# an unknown version, an empty directory, files that are none of these, and a directory whose
# last file is bad (no capture from its good files either).
if ! command -v sqlite3 >/dev/null 2>&1 || ! command -v python3 >/dev/null 2>&1; then
	skip import-bad-input "needs sqlite3 and python3"
	exit 0
fi
BAD=$OUT/bad
rm -rf "$BAD" && mkdir -p "$BAD/empty-dir" "$BAD/mixed-dir"
DB=$OUT/bad.db
rm -f "$DB" "$DB-wal" "$DB-shm"
"$PERFSIGHT" import "$FIX/per-request/0001-cpu.pyisession" -o "$DB" > /dev/null 2>&1
state() {
	sqlite3 -batch "$DB" "SELECT (SELECT count(*) FROM captures), (SELECT count(*) FROM samples),
		(SELECT count(*) FROM frames), (SELECT count(*) FROM paths)"
}
before=$(state)
# makes the files and a manifest: name, then what the message must hold (an extended regex)
python3 - "$FIX" "$BAD" > "$BAD/manifest" 2> "$BAD/manifest.err" <<'PY'
import json, os, shutil, sys
fix, bad = sys.argv[1:]
def put(name, data, want):
    with open(os.path.join(bad, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    print(f"{name}\t{want}")
for src in ["flask-testclient.pyisession", "flask-testclient.json",
            "flask-testclient.speedscope.json",
            "html-renderer-data/wikipedia_article_word_count.json"]:
    d = open(os.path.join(fix, src), "rb").read()
    end = d.rindex(b"}")  # cut before the last brace: never whole
    base = os.path.basename(src)
    for k, cut in enumerate([1, len(d) // 10, len(d) // 2, len(d) * 9 // 10, end]):
        put(f"cut{k}-{base}", d[:cut], "offset [0-9]+")
session = json.load(open(os.path.join(fix, "per-request/0002-alloc.pyisession")))
def variant(name, want, **change):
    s = dict(session)
    for k, v in change.items():
        if v is None:
            s.pop(k, None)
        else:
            s[k] = v
    put(name, json.dumps(s).replace('"HUGE"', "1e999").replace('"BIGINT"', "9" * 40), want)
variant("type-records.pyisession", "'frame_records'", frame_records="x")
variant("type-record.pyisession", "'frame_records'", frame_records=[[1, 2]])
variant("type-duration.pyisession", "'duration'", duration="long")
variant("missing-duration.pyisession", "'duration'", duration=None)
variant("missing-records.pyisession", "offset [0-9]+|'frame_records'", frame_records=None)
variant("huge-duration.pyisession", "'duration'", duration="HUGE")
variant("huge-count.pyisession", "'sample_count'", sample_count="BIGINT")
variant("unknown-version.pyisession", "unknown pyinstrument version",
        target_description=None, program=None)
deep = "[" * 200000 + "]" * 200000
put("deep.pyisession", '{"frame_records": [[' + deep + ', 0.1]], "duration": 1}',
    "offset [0-9]+|nest|deep|'frame_records'")
put("deep-speedscope.json", '{"shared": {"frames": ' + deep + '}, "profiles": []}',
    "offset [0-9]+|nest|deep|'frames'")
put("deep-unknown-key.pyisession", json.dumps(session)[:-1] + ', "extra": ' + deep + "}",
    "nested deeper than [0-9]+ levels at offset [0-9]+")
put("garbage.pyisession", os.urandom(4096), "offset [0-9]+|not a")
put("text.txt", "hello, world\n", "not a")
put("empty.json", "", "not a|offset [0-9]+|empty")
put("neg-weight.pyisession", json.dumps({**session, "frame_records": [[["a\x00b\x001"], -1]]}),
    "'frame_records'")
# good files the database does not hold yet (0001 is in it: a duplicate would be refused first)
for f in ["0002-alloc.pyisession", "0004-hash.pyisession"]:
    shutil.copy(os.path.join(fix, "per-request", f), os.path.join(bad, "mixed-dir", f))
d = open(os.path.join(fix, "per-request/0003-render.pyisession"), "rb").read()
with open(os.path.join(bad, "mixed-dir", "0003-render.pyisession"), "wb") as f:
    f.write(d[: len(d) // 2])
print("mixed-dir\t0003-render.pyisession.*offset [0-9]+")
print("empty-dir\tholds no")
PY
[ $? -eq 0 ] || nok import-bad-inputs-made "$(tail -c 300 "$BAD/manifest.err")"
fails=""
n=0
while IFS="$(printf '\t')" read -r name want; do
	n=$((n + 1))
	"$PERFSIGHT" import "$BAD/$name" -o "$DB" < /dev/null > "$BAD/$name.out" 2> "$BAD/$name.err"
	rc=$?
	if [ $rc -ne 3 ]; then
		fails="$fails $name(exit $rc)"
	elif ! grep -qF "$name" "$BAD/$name.err" || ! grep -Eq "$want" "$BAD/$name.err"; then
		fails="$fails $name(message: $(head -c 160 "$BAD/$name.err"))"
	elif [ "$(state)" != "$before" ]; then
		fails="$fails $name(database changed: $(state))"
	fi
done < "$BAD/manifest"
if [ -z "$fails" ]; then
	ok "import-refuses-$n-bad-inputs"
else
	nok "import-refuses-$n-bad-inputs" "$fails"
fi
check import-bad-database-integrity test "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok

# folded stacks weigh their counts: collapse and export give a folded file back line for line
"$PERFSIGHT" collapse fixtures/py312-threads-fp/perf.data 2>/dev/null | sort > "$OUT/fp.folded"
"$PERFSIGHT" collapse "$OUT/fp.folded" 2>/dev/null | sort > "$OUT/fp-again.folded"
"$PERFSIGHT" export "$OUT/fp.folded" --format folded -o - 2>/dev/null | sort > "$OUT/fp-export.folded"
check folded-collapse-keeps-counts cmp "$OUT/fp.folded" "$OUT/fp-again.folded"
check folded-export-keeps-counts cmp "$OUT/fp.folded" "$OUT/fp-export.folded"
