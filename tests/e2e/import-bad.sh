# perfsight import in bad places (issue 4), beyond what import.sh checks: an existing database
# in a read-only place, a disk that fills up and is freed again, files that look like SQLite
# but are not whole, a database locked by another writer (refused within a bound, usable once
# released), and SIGKILL at several moments of an import (each leaves the database passing
# PRAGMA integrity_check with the earlier capture intact and the new one whole or absent).
# Every refusal must exit 4 (import --help: the database cannot be used) with the file's name
# and the reason in the message (never SQLite's bare "SQL logic error"), leave an existing
# database byte for byte as it was with no -wal, -shm or temp file beside it, and create no
# database that was not there. Mounts (read-only bind, small tmpfs) need root, the read-only
# directory for another user needs root and setpriv: without them those parts say SKIP.
T_SUITE=import-bad
. tests/e2e/lib.sh

PY=fixtures/pyinstrument
A=$PY/flask-testclient.pyisession
B=$PY/flask-testclient.speedscope.json
q() { sqlite3 -batch "$@"; }
ncap() { q "$1" "SELECT count(*) FROM captures"; }
content() { q "$1" "SELECT count(*), sum(period), total(weight) FROM samples"; }
fresh() { rm -f "$1" "$1-wal" "$1-shm"; }
err=$OUT/err

if ! command -v sqlite3 >/dev/null 2>&1; then
	skip all "the sqlite3 command is missing (tests/deps.sh installs it)"
	exit 0
fi

# refused NAME FILE CMD...: the command exits 4 and names FILE, not with SQLite's bare words
refused() {
	n=$1 f=$2
	shift 2
	"$@" >/dev/null 2>"$err"
	rc=$?
	if [ $rc -ne 4 ]; then
		nok "$n" "exit $rc, want 4: $(head -c 200 "$err")"
	elif ! grep -qF "$f" "$err"; then
		nok "$n" "the message does not name $f: $(head -c 200 "$err")"
	elif grep -q "SQL logic error" "$err"; then
		nok "$n" "a raw SQLite message: $(head -c 200 "$err")"
	else
		ok "$n"
	fi
}
# no_side NAME DB: nothing but DB itself in its directory carries its name (no -wal, -shm,
# -journal or temp file)
no_side() {
	left=$(ls -a "$(dirname "$2")" | grep -F "$(basename "$2")" | grep -vx "$(basename "$2")")
	if [ -z "$left" ]; then ok "$1"; else nok "$1" "left beside it: $left"; fi
}

# the base database: one capture
BASE=$OUT/base.db
fresh "$BASE"
$PERFSIGHT import "$A" -o "$BASE" --label first >/dev/null 2>&1
check base_imported test "$(ncap "$BASE")" = 1
base_content=$(content "$BASE")

# --- a missing directory: nothing is created on the way
refused missing_directory_refused "$OUT/nodir/sub/x.db" \
	$PERFSIGHT import "$A" -o "$OUT/nodir/sub/x.db"
check missing_directory_not_created test ! -e "$OUT/nodir"

# --- an existing database in a read-only place
RO=$OUT/ro
rm -rf "$RO" && mkdir -p "$RO"
cp "$BASE" "$RO/x.db"
ro=""
if [ "$(id -u)" != 0 ]; then
	chmod 555 "$RO" && chmod 444 "$RO/x.db" && ro=chmod
elif mount --bind "$RO" "$RO" 2>/dev/null; then
	if mount -o remount,ro,bind "$RO" 2>/dev/null; then ro=mount; else umount "$RO"; fi
fi
if [ -n "$ro" ]; then
	refused readonly_db_refused "$RO/x.db" $PERFSIGHT import "$B" -o "$RO/x.db"
	check readonly_db_unchanged cmp "$RO/x.db" "$BASE"
	check readonly_no_side_files sh -c "! ls '$RO' | grep -q -- '-wal\|-shm\|tmp'"
	[ "$ro" = mount ] && umount "$RO"
	[ "$ro" = chmod ] && chmod 755 "$RO"
else
	skip readonly_db_refused "root without bind mounts: no read-only place to try"
fi

# --- a disk that fills up, then has room again: the database is as it was, and usable
BIG=$OUT/big.folded
awk 'BEGIN { for (i = 0; i < 400000; i++)
	printf "main;m%d;f%d;l%d %d\n", i % 50, i % 997, i % 20011, 1 }' >"$BIG"
T=$OUT/tmpfs
mkdir -p "$T"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=2m tmpfs "$T" 2>/dev/null; then
	cp "$BASE" "$T/x.db"
	refused full_disk_refused "$T/x.db" $PERFSIGHT import "$BIG" -o "$T/x.db"
	check full_disk_integrity test "$(q "$T/x.db" 'PRAGMA integrity_check')" = ok
	check full_disk_unchanged test "$(content "$T/x.db")" = "$base_content"
	check full_disk_capture_absent test "$(ncap "$T/x.db")" = 1
	# room again (the big import's leftovers gone with a bigger disk): the next import works
	mount -o remount,size=64m "$T"
	if $PERFSIGHT import "$BIG" -o "$T/x.db" --label big >/dev/null 2>"$err"; then
		check full_disk_then_room_imports test "$(ncap "$T/x.db")" = 2
	else
		nok full_disk_then_room_imports "$(head -c 200 "$err")"
	fi
	check full_disk_then_room_integrity test "$(q "$T/x.db" 'PRAGMA integrity_check')" = ok
	umount "$T"
else
	skip full_disk_refused "cannot mount a small tmpfs here (needs root)"
fi

# --- files that are not (whole) SQLite databases: refused, left byte for byte
for kind in random truncated header-only; do
	f=$OUT/not-$kind.db
	fresh "$f"
	case $kind in
	random) head -c 65536 /dev/urandom >"$f" ;;
	truncated) head -c 4096 "$BASE" >"$f" ;;
	header-only) head -c 100 "$BASE" >"$f" ;;
	esac
	cp "$f" "$f.copy"
	refused "not_a_db_${kind}_refused" "$f" $PERFSIGHT import "$B" -o "$f"
	check "not_a_db_${kind}_untouched" cmp "$f" "$f.copy"
done

# --- locked by another writer: refused within a bound, then usable once the lock is gone
DB=$OUT/locked.db
fresh "$DB"
cp "$BASE" "$DB"
fifo=$OUT/lock.fifo
rm -f "$fifo" && mkfifo "$fifo"
# the writer holds its transaction until it reads ROLLBACK from the fifo
sqlite3 "$DB" <"$fifo" >/dev/null 2>&1 &
lock=$!
exec 9>"$fifo"
printf 'BEGIN EXCLUSIVE;\nDELETE FROM captures;\n' >&9
sleep 0.5
t0=$(date +%s)
refused locked_db_refused "$DB" $PERFSIGHT import "$B" -o "$DB"
t1=$(date +%s)
check locked_db_refused_within_30s test $((t1 - t0)) -le 30
check locked_db_says_locked grep -q "locked" "$err"
printf 'ROLLBACK;\n.quit\n' >&9
exec 9>&-
wait $lock
check locked_db_unchanged test "$(content "$DB")" = "$base_content"
if $PERFSIGHT import "$B" -o "$DB" --label after >/dev/null 2>"$err"; then
	check locked_db_usable_after test "$(ncap "$DB")" = 2
else
	nok locked_db_usable_after "$(head -c 200 "$err")"
fi

# --- SIGKILL at several moments: all or nothing, never a damaged database
want=$(awk '{s += $NF} END {print s}' "$BIG")
bad="" midway=0
for delay in 0.02 0.1 0.25 0.5 0.8 1.2; do
	DB=$OUT/kill.db
	fresh "$DB"
	cp "$BASE" "$DB"
	$PERFSIGHT import "$BIG" -o "$DB" --label big >/dev/null 2>&1 &
	pid=$!
	sleep $delay
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	integ=$(q "$DB" 'PRAGMA integrity_check' 2>&1)
	first=$(q "$DB" "SELECT count(*), sum(period), total(weight) FROM samples WHERE capture =
		(SELECT id FROM captures WHERE label = 'first')" 2>&1)
	big=$(q "$DB" "SELECT count(*) FROM captures WHERE label = 'big'" 2>&1)
	bigw=$(q "$DB" "SELECT printf('%d', total(period)) FROM samples WHERE capture =
		(SELECT id FROM captures WHERE label = 'big')" 2>&1)
	if [ "$integ" != ok ]; then
		bad="$bad $delay:integrity($integ)"
	elif [ "$first" != "$base_content" ]; then
		bad="$bad $delay:first($first)"
	elif [ "$big" = 1 ] && [ "$bigw" != "$want" ]; then
		bad="$bad $delay:partial($bigw of $want)"
	fi
	[ "$big" = 0 ] && midway=$((midway + 1))
done
if [ -z "$bad" ]; then ok kill9_sweep_all_or_nothing; else nok kill9_sweep_all_or_nothing "$bad"; fi
# the sweep means something only if some kills landed before the commit
check kill9_sweep_some_midway test $midway -ge 2

# --- perf.data into each bad place (the issue's cases), one by one
FP=fixtures/py312-threads-fp/perf.data
PBASE=$OUT/pbase.db
fresh "$PBASE"
$PERFSIGHT import "$A" -o "$PBASE" --label first >/dev/null 2>&1

# a missing directory: exit 4, the directory named, nothing created
refused perf_missing_dir_exit_4 "$OUT/gone/x.db" $PERFSIGHT import "$FP" -o "$OUT/gone/x.db"
check perf_missing_dir_says_so grep -q "directory .*gone.*No such file" "$err"
check perf_missing_dir_not_created test ! -e "$OUT/gone"

# a directory another user may not write: an existing database refused before any write, a
# new one not created
P=$OUT/perm
rm -rf "$P" && mkdir -p "$P" && cp "$PBASE" "$P/x.db" && chmod 755 "$P" && chmod 644 "$P/x.db"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1 &&
	setpriv --reuid=nobody --regid=nogroup --clear-groups test -r "$FP" -a -x "$PERFSIGHT" \
		2>/dev/null; then
	as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
	refused perf_readonly_existing_exit_4 "$P/x.db" \
		as_nobody $PERFSIGHT import "$FP" -o "$P/x.db"
	check perf_readonly_existing_says_read_only grep -q "read-only.*Permission denied" "$err"
	check perf_readonly_existing_unchanged cmp "$P/x.db" "$PBASE"
	no_side perf_readonly_existing_no_side_files "$P/x.db"
	refused perf_readonly_new_exit_4 "$P/new.db" as_nobody $PERFSIGHT import "$FP" -o "$P/new.db"
	check perf_readonly_new_says_not_writable grep -q "not writable" "$err"
	check perf_readonly_new_not_created test ! -e "$P/new.db"
else
	skip perf_readonly_existing_exit_4 "not root, no setpriv, or nobody cannot read the tree"
fi

# a read-only mount: the same, for root
RM=$OUT/romount
rm -rf "$RM" && mkdir -p "$RM" && cp "$PBASE" "$RM/x.db"
if [ "$(id -u)" = 0 ] && mount --bind "$RM" "$RM" 2>/dev/null; then
	if mount -o remount,ro,bind "$RM" 2>/dev/null; then
		refused perf_ro_mount_exit_4 "$RM/x.db" $PERFSIGHT import "$FP" -o "$RM/x.db"
		check perf_ro_mount_says_read_only grep -q "Read-only file system" "$err"
		check perf_ro_mount_unchanged cmp "$RM/x.db" "$PBASE"
		no_side perf_ro_mount_no_side_files "$RM/x.db"
	else
		skip perf_ro_mount_exit_4 "cannot remount a bind mount read-only here"
	fi
	umount "$RM"
else
	skip perf_ro_mount_exit_4 "cannot bind-mount here (needs root)"
fi

# a full disk: a 1 MB tmpfs filled up beside the existing database, and a file size limit
T1=$OUT/tmpfs1m
mkdir -p "$T1"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=1m tmpfs "$T1" 2>/dev/null; then
	cp "$PBASE" "$T1/x.db"
	head -c $((1024 * 1024)) /dev/zero >"$T1/fill" 2>/dev/null
	refused perf_full_tmpfs_exit_4 "$T1/x.db" $PERFSIGHT import "$FP" -o "$T1/x.db"
	check perf_full_tmpfs_says_full grep -q "disk is full" "$err"
	check perf_full_tmpfs_unchanged cmp "$T1/x.db" "$PBASE"
	no_side perf_full_tmpfs_no_side_files "$T1/x.db"
	# a new database on the full disk: none left behind
	$PERFSIGHT import "$FP" -o "$T1/new.db" >/dev/null 2>"$err"
	check perf_full_tmpfs_new_exit_4 test $? = 4
	check perf_full_tmpfs_new_not_left test ! -e "$T1/new.db"
	umount "$T1"
else
	skip perf_full_tmpfs_exit_4 "cannot mount a small tmpfs here (needs root)"
fi
U=$OUT/ulimit.db
fresh "$U"
cp "$PBASE" "$U"
(
	ulimit -f 16
	exec $PERFSIGHT import fixtures/py312-threads-dwarf/perf.data -o "$U"
) >/dev/null 2>"$err"
check perf_ulimit_exit_4 test $? = 4
check perf_ulimit_says_limit grep -Eq "ulimit.db: .*(file size limit|File too large)" "$err"
check perf_ulimit_unchanged cmp "$U" "$PBASE"
no_side perf_ulimit_no_side_files "$U"
fresh "$OUT/ulimit-new.db"
(
	ulimit -f 16
	exec $PERFSIGHT import "$FP" -o "$OUT/ulimit-new.db"
) >/dev/null 2>"$err"
check perf_ulimit_new_exit_4 test $? = 4
check perf_ulimit_new_not_left test ! -e "$OUT/ulimit-new.db"

# files that are not a perfsight database: refused as such, byte for byte
for kind in text random other-sqlite; do
	f=$OUT/perf-not-$kind.db
	fresh "$f"
	case $kind in
	text) printf 'not a database\n' >"$f" ;;
	random) head -c 8192 /dev/urandom >"$f" ;;
	other-sqlite) q "$f" "CREATE TABLE t(x); INSERT INTO t VALUES (1)" ;;
	esac
	cp "$f" "$f.copy"
	refused "perf_not_db_${kind}_exit_4" "$f" $PERFSIGHT import "$FP" -o "$f"
	check "perf_not_db_${kind}_says_so" \
		grep -Eq "not a perfsight database|not one perfsight wrote" "$err"
	check "perf_not_db_${kind}_unchanged" cmp "$f" "$f.copy"
	rm -f "$f.copy"
	no_side "perf_not_db_${kind}_no_side_files" "$f"
done

# locked by another process holding BEGIN EXCLUSIVE (python3's sqlite3): refused within the
# busy timeout, byte for byte unchanged once the other process let go
if command -v python3 >/dev/null 2>&1; then
	L=$OUT/perf-locked.db
	fresh "$L"
	cp "$PBASE" "$L"
	rm -f "$OUT/locked.ready"
	python3 -c '
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN EXCLUSIVE")
c.execute("DELETE FROM samples")
open(sys.argv[2], "w").close()
time.sleep(5)
c.execute("ROLLBACK")
c.close()' "$L" "$OUT/locked.ready" &
	locker=$!
	i=0
	while [ ! -e "$OUT/locked.ready" ] && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	refused perf_locked_exit_4 "$L" $PERFSIGHT import "$FP" -o "$L"
	check perf_locked_says_locked grep -q "locked by another process" "$err"
	wait $locker
	rm -f "$OUT/locked.ready"
	check perf_locked_unchanged cmp "$L" "$PBASE"
	no_side perf_locked_no_side_files "$L"
else
	skip perf_locked_exit_4 "no python3 to hold the lock"
fi
