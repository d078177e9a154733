# perfsight import: captures into a database, duplicates, the SQL views against the input,
# atomicity under SIGKILL, and the bad places (missing or read-only directory, full disk,
# a file that is not our database, a newer schema, a locked database).
T_SUITE=import
. tests/e2e/lib.sh

PY=fixtures/pyinstrument
q() { sqlite3 -batch "$@"; }
ncap() { q "$1" "SELECT count(*) FROM captures"; }
fresh() { rm -f "$1" "$1-wal" "$1-shm"; }

if ! command -v sqlite3 >/dev/null 2>&1; then
	skip all "the sqlite3 command is missing (tests/deps.sh installs it)"
	exit 0
fi

# --- several captures, one database
DB=$OUT/multi.db
fresh "$DB"
if $PERFSIGHT import $PY/flask-testclient.pyisession $PY/flask-testclient.speedscope.json \
	$PY/per-request --merge -o "$DB" >"$OUT/multi.out" 2>"$OUT/multi.err"; then
	ok import_three_inputs
else
	nok import_three_inputs "exit $? ($(tail -1 "$OUT/multi.err"))"
fi
check three_captures test "$(ncap "$DB")" = 3
check integrity test "$(q "$DB" 'PRAGMA integrity_check')" = ok
check schema_version test "$(q "$DB" 'PRAGMA user_version')" = 3
check summary_paragraph_per_capture test "$(grep -c ' samples' "$OUT/multi.out")" = 3
check no_progress_when_not_a_tty test "$(grep -c importing "$OUT/multi.err")" = 0
# every capture's samples sum to what its captures row says, and threads account for them all
bad=$(q "$DB" "SELECT count(*) FROM captures c WHERE n_samples <>
	(SELECT count(*) FROM samples s WHERE s.capture = c.id) OR n_samples <>
	(SELECT sum(samples) FROM thread_cpu t WHERE t.capture = c.id)")
check sample_counts_agree test "$bad" = 0
# the seconds of a pyinstrument session are its samples' weights: the root's total is all of it
tot=$(q "$DB" "SELECT printf('%.6f', sum(weight)) FROM samples WHERE capture = 1")
root=$(q "$DB" "SELECT printf('%.6f', max(weight)) FROM top_total WHERE capture = 1")
check top_total_root_is_everything test "$tot" = "$root"
check weight_unit_seconds test "$(q "$DB" 'SELECT weight_unit FROM captures WHERE id = 1')" = seconds
for v in frames_text dsos top_self top_total thread_cpu folded gc_share; do
	check "view_$v" q "$DB" "SELECT * FROM $v LIMIT 1"
done

# --- perf.data captures against perf's own figures, and the SQL folded export against collapse
DB=$OUT/perf.db
fresh "$DB"
for d in fixtures/*/; do
	n=$(basename "$d")
	[ -f "$d/perf.data" ] || continue
	$PERFSIGHT import "$d/perf.data" -o "$DB" --label "$n" >/dev/null 2>"$OUT/perf.err"
	if [ $? -ne "$(fx_rc "$d")" ]; then
		if grep -q "no ingest stage" "$OUT/perf.err"; then
			skip "perf_$n" "this build has no perf.data ingest stage"
		else
			nok "perf_import_$n" "$(tail -1 "$OUT/perf.err")"
		fi
		continue
	fi
	ok "perf_import_$n"
	if [ -f "$d/perf-script.txt.zst" ] && command -v python3 >/dev/null 2>&1; then
		python3 tests/tools/perf-script-reference.py "$d/perf-script.txt.zst" >"$OUT/ref-$n.json"
		$PERFSIGHT collapse --pid "$d/perf.data" >"$OUT/collapse-pid-$n.folded" 2>/dev/null
		if python3 tests/tools/check_db.py "$DB" "$n" "$d/perf-report-stats.txt" \
			"$OUT/ref-$n.json" "$OUT/collapse-pid-$n.folded" >"$OUT/check-$n.out" 2>&1; then
			ok "perf_counts_$n"
		else
			nok "perf_counts_$n" "$(head -3 "$OUT/check-$n.out" | tr '\n' ' ')"
		fi
	else
		skip "perf_counts_$n" "no perf-script.txt.zst or python3"
	fi
	ev=$(q "$DB" "SELECT e.name FROM events e JOIN captures c ON c.id = e.capture
		WHERE c.label = '$n' AND e.sampling ORDER BY e.id LIMIT 1")
	$PERFSIGHT collapse "$d/perf.data" >"$OUT/collapse-$n.folded" 2>/dev/null
	q "$DB" "SELECT stack || ' ' || samples FROM folded f JOIN captures c ON c.id = f.capture
		WHERE c.label = '$n' AND f.event = '$ev' ORDER BY stack" >"$OUT/sql-$n.folded"
	check "perf_folded_sql_equals_collapse_$n" cmp "$OUT/collapse-$n.folded" "$OUT/sql-$n.folded"
done
if [ -s "$DB" ]; then
	check perf_db_integrity test "$(q "$DB" 'PRAGMA integrity_check')" = ok
fi

# --- the same content twice: refused, then replaced
DB=$OUT/multi.db
before=$(q "$DB" "SELECT group_concat(id) FROM captures")
if $PERFSIGHT import $PY/flask-testclient.pyisession -o "$DB" --label again \
	>/dev/null 2>"$OUT/dup.err"; then
	nok duplicate_refused "exit 0"
else
	check duplicate_refused grep -q "already holds this content" "$OUT/dup.err"
fi
check duplicate_left_db_alone test "$(q "$DB" "SELECT group_concat(id) FROM captures")" = "$before"
if $PERFSIGHT import $PY/flask-testclient.pyisession -o "$DB" --replace >/dev/null 2>&1; then
	ok replace_accepted
else
	nok replace_accepted "exit $?"
fi
check replace_keeps_count test "$(ncap "$DB")" = 3
check replace_new_id test "$(q "$DB" "SELECT id FROM captures WHERE content_hash = \
	(SELECT content_hash FROM captures WHERE kind = 'pyinstrument' ORDER BY id DESC LIMIT 1)")" = 4
check replace_no_orphan_samples test "$(q "$DB" \
	"SELECT count(*) FROM samples WHERE capture NOT IN (SELECT id FROM captures)")" = 0
check replace_no_orphan_paths test "$(q "$DB" \
	"SELECT count(*) FROM paths WHERE capture NOT IN (SELECT id FROM captures)")" = 0

# --- the SQL views against a folded input whose answers awk computes
F=$OUT/in.folded
awk 'BEGIN { for (i = 0; i < 3000; i++)
	printf "main;mod%d;fn%d;leaf%d %d\n", i % 5, i % 37, i % 301, 1 + i % 7 }' |
	awk '{ c[$1] += $2 } END { for (k in c) print k, c[k] }' | LC_ALL=C sort >"$F"
DB=$OUT/folded.db
fresh "$DB"
$PERFSIGHT import "$F" -o "$DB" --label fold >/dev/null 2>&1
q "$DB" "SELECT stack || ' ' || period FROM folded WHERE capture = 1 ORDER BY stack" |
	sed 's/^fold;//' >"$OUT/sql.folded"
check folded_sql_equals_input cmp "$F" "$OUT/sql.folded"
want=$(awk '{ s += $2 } END { print s }' "$F")
check total_of_root test "$(q "$DB" "SELECT sum(period) FROM samples")" = "$want"
want=$(awk '/;mod3;/ { s += $2 } END { print s }' "$F")
got=$(q "$DB" "SELECT printf('%d', weight) FROM top_total WHERE function = 'mod3'")
check top_total_counts_each_sample_once test "$got" = "$want"
want=$(awk '/;leaf7 / { s += $2 } END { print s }' "$F")
got=$(q "$DB" "SELECT printf('%d', weight) FROM top_self WHERE function = 'leaf7'")
check top_self_of_a_leaf test "$got" = "$want"

# --- SIGKILL midway: the database is as it was
BIG=$OUT/big.folded
awk 'BEGIN { for (i = 0; i < 1500000; i++) printf "main;m%d;f%d;l%d %d\n", i % 50, i % 997, i % 20011, 1 }' \
	>"$BIG"
DB=$OUT/kill.db
fresh "$DB"
$PERFSIGHT import "$F" -o "$DB" --label first >/dev/null 2>&1
before=$(q "$DB" "SELECT count(*), sum(period) FROM samples")
$PERFSIGHT import "$BIG" -o "$DB" --label big >/dev/null 2>&1 &
pid=$!
n=0
# kill once the import has written a good part of its transaction into the WAL
while [ $n -lt 600 ] && kill -0 $pid 2>/dev/null; do
	sz=$(stat -c %s "$DB-wal" 2>/dev/null || echo 0)
	[ "$sz" -gt 8000000 ] && break
	sleep 0.05
	n=$((n + 1))
done
if kill -9 $pid 2>/dev/null; then
	wait $pid 2>/dev/null
	check kill9_integrity test "$(q "$DB" 'PRAGMA integrity_check')" = ok
	check kill9_new_capture_absent test "$(q "$DB" "SELECT group_concat(label) FROM captures")" = first
	check kill9_earlier_capture_intact test "$(q "$DB" "SELECT count(*), sum(period) FROM samples")" = "$before"
	if $PERFSIGHT import "$F" -o "$DB" --label again >/dev/null 2>"$OUT/kill.err"; then
		nok kill9_db_still_usable "the same content was accepted twice"
	else
		check kill9_db_still_usable grep -q "already holds" "$OUT/kill.err"
	fi
else
	wait $pid
	nok kill9_midway "the import finished before it could be killed"
fi

# --- a progress line on a terminal
if command -v script >/dev/null 2>&1; then
	DB=$OUT/tty.db
	fresh "$DB"
	script -qec "$PERFSIGHT import $BIG -o $DB" /dev/null >"$OUT/tty.out" 2>&1
	check progress_on_a_tty grep -q "samples/s" "$OUT/tty.out"
	check progress_shows_percent grep -q "% " "$OUT/tty.out"
else
	skip progress_on_a_tty "no script(1) to give the import a terminal"
fi

# --- bad places
err=$OUT/bad.err
if $PERFSIGHT import "$F" -o "$OUT/no/such/dir/x.db" >/dev/null 2>"$err"; then
	nok missing_directory "exit 0"
else
	check missing_directory grep -q "directory .*No such file" "$err"
fi

RO=$OUT/ro
mkdir -p "$RO"
ro_ready=""
if [ "$(id -u)" != 0 ]; then
	chmod 555 "$RO" && ro_ready=chmod
elif mount -t tmpfs -o ro,size=1m tmpfs "$RO" 2>/dev/null; then
	ro_ready=mount
fi
if [ -n "$ro_ready" ]; then
	if $PERFSIGHT import "$F" -o "$RO/x.db" >/dev/null 2>"$err"; then
		nok readonly_directory "exit 0"
	else
		check readonly_directory grep -Eq "not writable|Read-only|read-only" "$err"
	fi
	[ "$ro_ready" = mount ] && umount "$RO"
	[ "$ro_ready" = chmod ] && chmod 755 "$RO"
else
	skip readonly_directory "root, and no read-only mount possible here"
fi

# full disk, as a file size limit: the import fails and the database keeps what it had
DB=$OUT/full.db
fresh "$DB"
$PERFSIGHT import "$F" -o "$DB" --label small >/dev/null 2>&1
sum_before=$(q "$DB" "SELECT count(*), sum(period) FROM samples")
(ulimit -f 4096; exec $PERFSIGHT import "$BIG" -o "$DB" --label big) >/dev/null 2>"$err"
rc=$?
if [ $rc -ne 0 ] && [ $rc -lt 128 ]; then
	check full_disk_clear_error grep -Eq "too large|No space|full" "$err"
else
	nok full_disk_clear_error "exit $rc"
fi
check full_disk_integrity test "$(q "$DB" 'PRAGMA integrity_check')" = ok
check full_disk_db_unchanged test "$(q "$DB" "SELECT count(*), sum(period) FROM samples")" = "$sum_before"
check full_disk_capture_absent test "$(ncap "$DB")" = 1

TMPFS=$OUT/tmpfs
mkdir -p "$TMPFS"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=3m tmpfs "$TMPFS" 2>/dev/null; then
	cp "$OUT/full.db" "$TMPFS/t.db"
	if $PERFSIGHT import "$BIG" -o "$TMPFS/t.db" >/dev/null 2>"$err"; then
		nok tmpfs_full "exit 0"
	else
		check tmpfs_full grep -Eq "No space|full" "$err"
	fi
	check tmpfs_full_db_unchanged test "$(q "$TMPFS/t.db" "SELECT count(*), sum(period) FROM samples")" = "$sum_before"
	umount "$TMPFS"
else
	skip tmpfs_full "cannot mount a small tmpfs here"
fi

# not SQLite at all: refused, and the file is left byte for byte
NOT=$OUT/notadb.db
fresh "$NOT"
head -c 3000 "$F" >"$NOT"
cp "$NOT" "$OUT/notadb.copy"
if $PERFSIGHT import "$F" -o "$NOT" >/dev/null 2>"$err"; then
	nok not_sqlite_refused "exit 0"
else
	check not_sqlite_refused grep -q "not a perfsight database" "$err"
fi
check not_sqlite_untouched cmp "$NOT" "$OUT/notadb.copy"

# an SQLite database of another application
OTHER=$OUT/other.db
fresh "$OTHER"
q "$OTHER" "CREATE TABLE t(x); INSERT INTO t VALUES (1)"
cp "$OTHER" "$OUT/other.copy"
if $PERFSIGHT import "$F" -o "$OTHER" >/dev/null 2>"$err"; then
	nok foreign_db_refused "exit 0"
else
	check foreign_db_refused grep -q "not one perfsight wrote" "$err"
fi
check foreign_db_untouched cmp "$OTHER" "$OUT/other.copy"

# a database from a newer perfsight
NEW=$OUT/newer.db
cp "$OUT/folded.db" "$NEW"
rm -f "$NEW-wal" "$NEW-shm"
q "$NEW" "PRAGMA user_version = 99"
if $PERFSIGHT import $PY/flask-testclient.pyisession -o "$NEW" >/dev/null 2>"$err"; then
	nok newer_schema_refused "exit 0"
else
	check newer_schema_refused grep -q "newer perfsight" "$err"
fi
check newer_schema_untouched test "$(ncap "$NEW")" = 1

# locked by another writer: a clear error after a short wait, nothing changed
DB=$OUT/folded.db
before=$(ncap "$DB")
(printf 'BEGIN IMMEDIATE;\nINSERT INTO gc_functions VALUES (%s);\n' "'lock-test'"; sleep 5;
	printf 'ROLLBACK;\n') | sqlite3 "$DB" &
lock=$!
sleep 0.5
if $PERFSIGHT import $PY/flask-testclient.pyisession -o "$DB" >/dev/null 2>"$err"; then
	nok locked_db_refused "exit 0"
else
	check locked_db_refused grep -q "locked" "$err"
fi
wait $lock
check locked_db_unchanged test "$(ncap "$DB")" = "$before"
check locked_db_integrity test "$(q "$DB" 'PRAGMA integrity_check')" = ok

# usage errors
check no_output_is_usage sh -c "$PERFSIGHT import '$F' 2>/dev/null; test \$? = 2"
check label_with_two_inputs_is_usage sh -c \
	"$PERFSIGHT import '$F' '$F' -o '$OUT/u.db' --label x 2>/dev/null; test \$? = 2"
if $PERFSIGHT import "$OUT" -o "$OUT/u.db" >/dev/null 2>"$err"; then
	nok not_a_capture "exit 0"
else
	check not_a_capture grep -q "$OUT" "$err"
fi

# a perf.data import stores the analysis: its books, off-CPU intervals and probe hits
DB=$OUT/analysis.db
fresh "$DB"
P=fixtures/py312-threads-probes/perf.data
$PERFSIGHT import "$P" -o "$DB" --label probes >"$OUT/probes.line" 2>"$err"
rc=$?
# perf lost 2 samples recording it (perf-report-stats.txt: LOST_SAMPLES): the import's line
# says so, the diagnostic is listed and stored, and the exit status is 1 (data was dropped)
check lost_import_exit_1 test $rc = 1
check lost_import_line grep -q '; 2 samples were lost while recording (lost-samples);' \
	"$OUT/probes.line"
check lost_import_diagnostic grep -q 'error lost-samples (x2)' "$err"
check lost_import_stored test "$(q "$DB" "SELECT count || ' ' || severity FROM diagnostics
	WHERE code = 'lost-samples'")" = "2 error"
check lost_import_books test "$(q "$DB" "SELECT lost_samples FROM py_analysis")" = 2
if [ $rc = 1 ]; then
	for t in py_analysis py_threads py_categories gc_pauses gil_wait_stacks gil_waits \
		py_events offcpu probes report_data; do
		check "analysis_table_$t" test "$(q "$DB" "SELECT count(*) FROM $t")" -gt 0
	done
	# the books add up to the events table's own counts
	check py_threads_cpu_samples test "$(q "$DB" "SELECT sum(cpu_samples) FROM py_threads")" = \
		"$(q "$DB" "SELECT samples FROM events WHERE name = 'cpu-clock'")"
	check gc_pauses_paths_in_capture test "$(q "$DB" "SELECT count(*) FROM gc_pauses g
		JOIN captures c ON c.id = g.capture
		WHERE g.path IS NOT NULL AND g.path NOT BETWEEN c.path_base + 1 AND
		c.path_base + c.n_paths")" = 0
	# a version-1 database (before the analysis tables) is read as it is and upgraded on write
	V1=$OUT/v1.db
	fresh "$V1"
	cp "$DB" "$V1"
	q "$V1" "DROP TABLE py_analysis; DROP TABLE py_threads; DROP TABLE py_categories;
		DROP TABLE gc_pauses; DROP TABLE gil_wait_stacks; DROP TABLE py_events;
		DROP TABLE py_notes; DROP VIEW cg_edges_text; DROP VIEW cg_functions_text;
		DROP TABLE cg_info; DROP TABLE cg_events; DROP TABLE cg_functions;
		DROP TABLE cg_edges; DROP TABLE cg_costs; PRAGMA user_version = 1"
	$PERFSIGHT summary --json "$V1" > "$OUT/v1.json" 2>"$err"
	check v1_read_without_analysis grep -q '"no-analysis"' "$OUT/v1.json"
	check v1_still_version_1 test "$(q "$V1" 'PRAGMA user_version')" = 1
	if $PERFSIGHT import fixtures/py312-threads-fp/perf.data -o "$V1" --label fp \
		>/dev/null 2>"$err"; then
		check v1_upgraded test "$(q "$V1" 'PRAGMA user_version')" = 3
		check v1_new_capture_analysed test "$(q "$V1" "SELECT count(*) FROM py_analysis a
			JOIN captures c ON c.id = a.capture WHERE c.label = 'fp'")" = 1
		check v1_old_capture_kept test "$(ncap "$V1")" = 2
	else
		nok v1_upgraded "$(tail -1 "$err")"
	fi
	# a version-2 database (before the call-graph tables): read as it is, upgraded on write
	V2=$OUT/v2.db
	fresh "$V2"
	cp "$DB" "$V2"
	q "$V2" "DROP VIEW cg_edges_text; DROP VIEW cg_functions_text; DROP TABLE cg_info;
		DROP TABLE cg_events; DROP TABLE cg_functions; DROP TABLE cg_edges;
		DROP TABLE cg_costs; PRAGMA user_version = 2"
	$PERFSIGHT summary --json "$V2" > "$OUT/v2.json" 2>"$err"
	check v2_read_as_it_is grep -q '"probes"' "$OUT/v2.json"
	check v2_still_version_2 test "$(q "$V2" 'PRAGMA user_version')" = 2
	if $PERFSIGHT import fixtures/callgraph/cprofile-py312.prof -o "$V2" --label pstats \
		>/dev/null 2>"$err"; then
		check v2_upgraded test "$(q "$V2" 'PRAGMA user_version')" = 3
		check v2_call_graph_stored test "$(q "$V2" "SELECT count(*) FROM cg_functions f
			JOIN captures c ON c.id = f.capture WHERE c.label = 'pstats'")" = 24
	else
		nok v2_upgraded "$(tail -1 "$err")"
	fi
else
	nok analysis_import "$(tail -1 "$err")"
fi

# --- every SQL example of docs/schema.md runs on a database of a perf.data, a pyinstrument and
# a pstats capture (the schema and its indexes are what the examples assume)
DB=$OUT/docs.db
fresh "$DB"
rm -f "$OUT"/doc-q*.sql
if $PERFSIGHT import fixtures/py312-threads-fp/perf.data $PY/flask-testclient.pyisession \
	fixtures/callgraph/cprofile-py312.prof -o "$DB" >/dev/null 2>"$OUT/docs.err"; then
	awk -v d="$OUT" '/^```sql$/ { f = 1; n++; next } /^```/ { f = 0 }
		f { print > (d "/doc-q" n ".sql") }' docs/schema.md
	n=0
	bad=
	for f in "$OUT"/doc-q*.sql; do
		[ -f "$f" ] || continue
		n=$((n + 1))
		sqlite3 -batch -bail "$DB" <"$f" >/dev/null 2>"$OUT/docs.err" ||
			bad="$bad $(basename "$f"): $(head -1 "$OUT/docs.err")"
	done
	check docs_examples_found test $n -ge 8
	if [ -z "$bad" ]; then ok docs_examples_run; else nok docs_examples_run "$bad"; fi
else
	nok docs_examples_run "import: $(tail -1 "$OUT/docs.err")"
fi
