# perfsight import of a directory of per-request dumps (issue 6): one capture per file by
# default, labelled by the file name (NAME/FILE with --label NAME); --merge gives one capture
# whose total is the sum of the files'. A directory is all or nothing: a malformed file, a file
# the database already holds, two files of one content, an empty directory, a full disk or a
# SIGKILL leave the database byte for byte as it was. summary reads the requests back from the
# database: the captures slowest first, or a merged capture's slowest requests.
T_SUITE=import-dir
. tests/e2e/lib.sh

R=fixtures/pyinstrument/per-request
q() { sqlite3 -batch "$@"; }
ncap() { q "$1" "SELECT count(*) FROM captures"; }
fresh() { rm -f "$1" "$1-wal" "$1-shm"; }
err=$OUT/err

if ! command -v sqlite3 >/dev/null 2>&1 || ! command -v python3 >/dev/null 2>&1; then
	skip all "needs sqlite3 and python3 (tests/deps.sh installs them)"
	exit 0
fi

# What the directory holds, from the files themselves: one request per stem, its richest
# rendering (the .pyisession), with its duration and sample count.
python3 - "$R" >"$OUT/want.tsv" <<'EOF'
import json, os, sys
d = sys.argv[1]
for f in sorted(os.listdir(d)):
    if f.endswith(".pyisession"):
        s = json.load(open(os.path.join(d, f)))
        print(f"{f}\t{s['duration']!r}\t{s['sample_count']}")
EOF
nreq=$(wc -l <"$OUT/want.tsv")
check fixture_has_30_requests test "$nreq" = 30

# --- the default: one capture per file
DB=$OUT/per-file.db
fresh "$DB"
if $PERFSIGHT import "$R" -o "$DB" >"$OUT/per-file.out" 2>"$err"; then
	ok per_file_import
else
	nok per_file_import "exit $? ($(tail -1 "$err"))"
fi
check per_file_30_captures test "$(ncap "$DB")" = "$nreq"
check per_file_info_says_30 sh -c "'$PERFSIGHT' info '$DB' | grep -Eq '^captures: +$nreq\$'"
check per_file_labels_are_file_names test \
	"$(q "$DB" "SELECT group_concat(label, ' ') FROM (SELECT label FROM captures ORDER BY id)")" = \
	"$(cut -f1 "$OUT/want.tsv" | tr '\n' ' ' | sed 's/ $//')"
check per_file_sources_name_files test "$(q "$DB" \
	"SELECT count(*) FROM captures WHERE source = '$R/' || label")" = "$nreq"
check per_file_one_paragraph grep -q "$nreq captures in .*one per file" "$OUT/per-file.out"
check per_file_integrity test "$(q "$DB" 'PRAGMA integrity_check')" = ok
# each capture is its file: the session's duration and sample count
q -separator "$(printf '\t')" "$DB" \
	"SELECT label, duration, n_samples, total(weight) FROM captures c JOIN samples s
	 ON s.capture = c.id GROUP BY c.id ORDER BY c.id" >"$OUT/got.tsv"
check per_file_each_is_its_file python3 - "$OUT/want.tsv" "$OUT/got.tsv" <<'EOF'
import sys
want = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
got = [l.rstrip("\n").split("\t") for l in open(sys.argv[2])]
assert len(want) == len(got), (len(want), len(got))
for (wf, wd, wn), (gf, gd, gn, gw) in zip(want, got):
    assert wf == gf, (wf, gf)
    assert abs(float(gd) - float(wd)) <= 0.01 * float(wd), (wf, wd, gd)
    # a short request's samples cover most of its wall time, never more
    assert 0.5 * float(wd) < float(gw) <= 1.01 * float(wd), (wf, wd, gw)
    assert int(gn) == int(wn), (wf, wn, gn)
EOF
per_file_total=$(q "$DB" "SELECT printf('%.9f', total(weight)) || ' ' || count(*) FROM samples")

# --- the same directory again: refused, the database byte for byte as it was
cp "$DB" "$OUT/per-file.before"
$PERFSIGHT import "$R" -o "$DB" >/dev/null 2>"$err"
check reimport_refused_exit_2 test $? = 2
check reimport_names_the_file grep -q "$R/0001-cpu.pyisession: .*already holds this content" "$err"
check reimport_says_nothing_imported grep -q "nothing of the directory imported" "$err"
check reimport_db_unchanged cmp "$DB" "$OUT/per-file.before"
check reimport_no_side_files test ! -e "$DB-wal" -a ! -e "$DB-shm"
# --replace: every file replaced, under new ids, nothing orphaned
if $PERFSIGHT import "$R" -o "$DB" --replace >/dev/null 2>"$err"; then
	ok replace_accepted
else
	nok replace_accepted "exit $? ($(tail -1 "$err"))"
fi
check replace_keeps_30 test "$(ncap "$DB")" = "$nreq"
check replace_new_ids test "$(q "$DB" "SELECT min(id) FROM captures")" -gt "$nreq"
check replace_same_total test \
	"$(q "$DB" "SELECT printf('%.9f', total(weight)) || ' ' || count(*) FROM samples")" = \
	"$per_file_total"
check replace_no_orphans test "$(q "$DB" "SELECT (SELECT count(*) FROM samples WHERE capture
	NOT IN (SELECT id FROM captures)) + (SELECT count(*) FROM threads WHERE capture NOT IN
	(SELECT id FROM captures))")" = 0

# --- --label L: L/FILE
DB=$OUT/labelled.db
fresh "$DB"
$PERFSIGHT import "$R" -o "$DB" --label req >/dev/null 2>"$err"
check label_prefix test "$(q "$DB" "SELECT count(*) FROM captures WHERE label = 'req/' ||
	substr(source, length('$R/') + 1)")" = "$nreq"
check label_first test "$(q "$DB" "SELECT label FROM captures ORDER BY id LIMIT 1")" = \
	"req/$(head -1 "$OUT/want.tsv" | cut -f1)"

# --- --merge: one capture, the sum of the 30
DB=$OUT/merged.db
fresh "$DB"
if $PERFSIGHT import "$R" --merge -o "$DB" >/dev/null 2>"$err"; then
	ok merge_import
else
	nok merge_import "exit $? ($(tail -1 "$err"))"
fi
check merge_one_capture test "$(ncap "$DB")" = 1
check merge_total_is_sum test \
	"$(q "$DB" "SELECT printf('%.9f', total(weight)) || ' ' || count(*) FROM samples")" = \
	"$per_file_total"
check merge_threads_named_by_file test "$(q "$DB" \
	"SELECT group_concat(comm, ' ') FROM (SELECT comm FROM threads ORDER BY tid)")" = \
	"$(cut -f1 "$OUT/want.tsv" | tr '\n' ' ' | sed 's/ $//')"

# --- summary from the databases: the slowest requests by file
slowest=$(sort -t "$(printf '\t')" -k2,2gr "$OUT/want.tsv" | head -1 | cut -f1)
$PERFSIGHT summary "$OUT/merged.db" >"$OUT/merged.txt" 2>"$err"
check merged_summary_lists_requests grep -q "slowest requests (of $nreq)" "$OUT/merged.txt"
check merged_summary_slowest_first sh -c \
	"grep -A1 'slowest requests' '$OUT/merged.txt' | tail -1 | grep -q '$slowest'"
$PERFSIGHT summary --json "$OUT/merged.db" >"$OUT/merged.json" 2>"$err"
$PERFSIGHT summary --json "$R" >"$OUT/dir.json" 2>"$err"
check merged_db_requests_as_dir python3 - "$OUT/merged.json" "$OUT/dir.json" <<'EOF'
import json, sys
db = json.load(open(sys.argv[1]))["captures"][0]["pyprof"]["requests"]
d = json.load(open(sys.argv[2]))["captures"][0]["pyprof"]["requests"]
assert [r["file"] for r in db] == [r["file"] for r in d], ([r["file"] for r in db][:5],
                                                           [r["file"] for r in d][:5])
for a, b in zip(db, d):
    assert a["samples"] == b["samples"], (a, b)
    assert abs(a["duration_s"] - b["duration_s"]) <= 1e-6 + 1e-3 * b["duration_s"], (a, b)
EOF
$PERFSIGHT summary "$OUT/per-file.db" >"$OUT/per-file.txt" 2>"$err"
check per_file_summary_exit_0 test $? = 0
check per_file_summary_lists_all test \
	"$(grep -c 'pyinstrument' "$OUT/per-file.txt")" = "$nreq"
check per_file_summary_slowest_first sh -c \
	"sed -n 2p '$OUT/per-file.txt' | grep -q '$slowest'"
check per_file_summary_sorted python3 - "$OUT/per-file.txt" <<'EOF'
import sys
d = [float(l.split()[0]) for l in open(sys.argv[1]).readlines()[1:] if l.strip()]
assert d == sorted(d, reverse=True) and len(d) == 30, d
EOF
$PERFSIGHT summary --json "$OUT/per-file.db" >"$OUT/per-file.json" 2>"$err"
check per_file_summary_json_every_capture python3 -c "
import json, sys
c = json.load(open(sys.argv[1]))['captures']
assert len(c) == $nreq and c[0]['label'] == sys.argv[2], (len(c), c[0]['label'])" \
	"$OUT/per-file.json" "$(head -1 "$OUT/want.tsv" | cut -f1)"
check per_file_summary_one_capture sh -c "'$PERFSIGHT' summary '$OUT/per-file.db' \
	--capture '$slowest' | grep -q '^capture $slowest'"

# --- refusals: the database (one capture already) byte for byte as it was, no side files
BASE=$OUT/base.db
fresh "$BASE"
$PERFSIGHT import fixtures/pyinstrument/flask-testclient.pyisession -o "$BASE" --label first \
	>/dev/null 2>&1
# refused NAME EXIT WANT DIR: the import of DIR into a copy of BASE exits EXIT, its message
# matches WANT (an extended regex), and the copy is unchanged
refused() {
	n=$1 want_rc=$2 want=$3 dir=$4
	db=$OUT/$n.db
	fresh "$db"
	cp "$BASE" "$db"
	$PERFSIGHT import "$dir" -o "$db" >/dev/null 2>"$OUT/$n.err"
	rc=$?
	if [ $rc -ne "$want_rc" ]; then
		nok "$n" "exit $rc, want $want_rc: $(head -c 300 "$OUT/$n.err")"
	elif ! grep -Eq "$want" "$OUT/$n.err"; then
		nok "$n" "message does not match '$want': $(head -c 300 "$OUT/$n.err")"
	elif ! cmp -s "$db" "$BASE"; then
		nok "$n" "the database changed"
	elif [ -e "$db-wal" ] || [ -e "$db-shm" ]; then
		nok "$n" "side files left: $(ls "$db"-*)"
	else
		ok "$n"
	fi
}
D=$OUT/dirs
rm -rf "$D" && mkdir -p "$D/empty" "$D/bad" "$D/twins" "$D/junk" "$D/middle"
refused empty_dir_refused 3 "$D/empty: .*holds no" "$D/empty"
$PERFSIGHT import "$D/empty" -o "$OUT/never.db" >/dev/null 2>&1
check empty_dir_creates_no_db test ! -e "$OUT/never.db"
# a malformed file after good ones: none of the good ones is imported either
for f in 0002-alloc 0004-hash 0006-cpu; do cp "$R/$f.pyisession" "$D/bad/"; done
head -c 1000 "$R/0008-render.pyisession" >"$D/bad/0008-render.pyisession"
refused malformed_file_refused 3 "$D/bad/0008-render.pyisession: .*offset [0-9]+" "$D/bad"
check malformed_file_says_nothing grep -q "nothing of the directory imported (4 files)" \
	"$OUT/malformed_file_refused.err"
# a malformed file first: the same
mkdir -p "$D/bad-first"
cp "$D/bad/0008-render.pyisession" "$D/bad-first/0000-bad.pyisession"
cp "$R/0002-alloc.pyisession" "$D/bad-first/"
refused malformed_first_refused 3 "0000-bad.pyisession: .*offset [0-9]+" "$D/bad-first"
# two files of one content would be one capture twice
cp "$R/0002-alloc.pyisession" "$D/twins/a.pyisession"
cp "$R/0002-alloc.pyisession" "$D/twins/b.pyisession"
refused same_content_refused 3 "a.pyisession and b.pyisession have the same content" "$D/twins"
# one file the database already holds, among new ones: the whole directory refused
cp "$R/0002-alloc.pyisession" "$R/0004-hash.pyisession" "$D/middle/"
cp fixtures/pyinstrument/flask-testclient.pyisession "$D/middle/0003-flask.pyisession"
refused duplicate_among_new_refused 2 "0003-flask.pyisession: .*already holds this content" \
	"$D/middle"
# files that are no profile are skipped with a note; the rest is imported
cp "$R/0002-alloc.pyisession" "$R/0004-hash.pyisession" "$D/junk/"
printf 'request log\n' >"$D/junk/README.txt"
DB=$OUT/junk.db
fresh "$DB"
$PERFSIGHT import "$D/junk" -o "$DB" >/dev/null 2>"$err"
check junk_skipped_imports_rest test $? = 0 -a "$(ncap "$DB")" = 2
check junk_skipped_with_note grep -q "not-a-profile.*README.txt" "$err"

# --- SIGKILL in the middle of a directory: none of its captures, or all of them
BIG=$OUT/big-dir
rm -rf "$BIG" && mkdir -p "$BIG"
awk -v dir="$BIG" 'BEGIN { for (f = 0; f < 12; f++) for (i = 0; i < 40000; i++)
	printf "main;m%d;f%d;l%d %d\n", i % 50, (i + f) % 997, i % 20011, 1 + f \
		>(dir "/" sprintf("%02d", f) ".folded") }'
bad="" midway=0
for delay in 0.05 0.2 0.4 0.7 1.0; do
	DB=$OUT/kill.db
	fresh "$DB"
	cp "$BASE" "$DB"
	$PERFSIGHT import "$BIG" -o "$DB" >/dev/null 2>&1 &
	pid=$!
	sleep $delay
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	integ=$(q "$DB" 'PRAGMA integrity_check' 2>&1)
	n=$(ncap "$DB" 2>&1)
	if [ "$integ" != ok ]; then
		bad="$bad $delay:integrity($integ)"
	elif [ "$n" != 1 ] && [ "$n" != 13 ]; then
		bad="$bad $delay:captures($n)"
	fi
	[ "$n" = 1 ] && midway=$((midway + 1))
done
if [ -z "$bad" ]; then ok kill9_all_or_nothing; else nok kill9_all_or_nothing "$bad"; fi
check kill9_some_midway test $midway -ge 2

# --- a disk that fills up in the middle of the directory: nothing of it, the database as it was
T=$OUT/tmpfs
mkdir -p "$T"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=3m tmpfs "$T" 2>/dev/null; then
	cp "$BASE" "$T/x.db"
	$PERFSIGHT import "$BIG" -o "$T/x.db" >/dev/null 2>"$err"
	check full_disk_exit_4 test $? = 4
	check full_disk_says_full grep -Eq "x.db: .*(full|No space)" "$err"
	check full_disk_unchanged cmp "$T/x.db" "$BASE"
	check full_disk_no_side_files test ! -e "$T/x.db-wal" -a ! -e "$T/x.db-shm"
	umount "$T"
else
	skip full_disk_exit_4 "cannot mount a small tmpfs here (needs root)"
fi
