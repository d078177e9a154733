# perfsight import in bad places (issue 4), beyond what import.sh checks: an existing database
# in a read-only place, a disk that fills up and is freed again, files that look like SQLite
# but are not whole, a database locked by another writer (refused within a bound, usable once
# released), and SIGKILL at several moments of an import (each leaves the database passing
# PRAGMA integrity_check with the earlier capture intact and the new one whole or absent).
# Every refusal must exit non-zero with the file's name in the message and leave an existing
# database as it was. Mounts (read-only bind, small tmpfs) need root: without it those parts
# say SKIP.
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

# refused NAME FILE CMD...: the command fails (1..127, not a signal) and names FILE
refused() {
	n=$1 f=$2
	shift 2
	"$@" >/dev/null 2>"$err"
	rc=$?
	if [ $rc -eq 0 ] || [ $rc -ge 128 ]; then
		nok "$n" "exit $rc"
	elif ! grep -qF "$f" "$err"; then
		nok "$n" "the message does not name $f: $(head -c 200 "$err")"
	else
		ok "$n"
	fi
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
