# Agreement with perf on captures recorded here and now (issue 3), compared as collapse.sh
# compares the fixtures (perf stops at the first -X perf trampoline: strict on the part it
# unwinds, each perf stack the leaf end of perfsight's, issue 12). The shared fixtures come from
# another kernel build, so their kernel frames cannot be named on this machine. These captures
# can: the capture's hostname and os release are this machine's, so perfsight reads
# /proc/kallsyms, and perf script resolves the same way. Recorded: the threads workload with
# DWARF stacks (>= 97% strict agreement) and with frame pointers (>= 99%), and gunicorn under wrk
# load, where perf 6.1's libunwind stops after the leaf in ld.so/libc assembler functions
# (>= 75% strict: how often it stops varies from run to run; >= 97% once those stacks are
# counted). A few seconds each; every part that cannot run here (no perf, perf not allowed to
# record, no Python 3.12, no staged gunicorn) says so with SKIP. The JIT maps python -X perf writes to /tmp move into the capture's maps/
# once perf script has read them.
T_SUITE=fresh
. tests/e2e/lib.sh
AGREE="python3 tests/tools/folded-agree.py"
W=$(pwd)/tests/tools/record/workloads
PY=$(pyenv prefix 3.12.1 2>/dev/null)/bin/python3.12

# record NAME perf-record-args... -- command...: a capture in $OUT/NAME with its own JIT maps
record() {
	n=$1
	shift
	rm -rf "${OUT:?}/$n" && mkdir -p "$OUT/$n/maps"
	# perf record exits with the workload's status (gunicorn ends by timeout): the file counts
	perf record -q -o "$OUT/$n/perf.data" "$@" > "$OUT/$n/record.log" 2>&1
	[ -s "$OUT/$n/perf.data" ] || return 1
	perf script -i "$OUT/$n/perf.data" > "$OUT/$n/script.txt" 2> "$OUT/$n/script.err" ||
		return 1
	for pid in $(perf script -i "$OUT/$n/perf.data" -F pid 2>/dev/null | sort -u); do
		[ -f "/tmp/perf-$pid.map" ] && mv "/tmp/perf-$pid.map" "$OUT/$n/maps/"
	done
	return 0
}

# agree NAME MIN [folded-agree options]: strict agreement of collapse with perf script
agree() {
	n=$1 min=$2
	shift 2
	d=$OUT/$n
	if ! "$PERFSIGHT" collapse "$d/perf.data" --event cpu-clock --addrs > "$d/ours.folded" \
		2> "$d/collapse.err"; then
		nok "$n-agrees" "collapse failed: $(head -c 300 "$d/collapse.err")"
		return
	fi
	if r=$($AGREE "$d/ours.folded" --script "$d/script.txt" --event cpu-clock --min "$min" \
		--truncated --leaf-python --min-suffix "${SUFFIX:-1}" "$@"); then
		ok "$n-agrees-with-perf-$min ($r)"
	else
		nok "$n-agrees-with-perf-$min" "$r; $AGREE $d/ours.folded --script $d/script.txt \
--event cpu-clock --truncated --leaf-python --show 10"
	fi
	# kernel frames by name: perf named some, perfsight printed no [kernel] placeholder (with
	# --addrs an unnamed kernel frame is "[... <ffff...>]")
	if [ "$(awk 'NR == 1 {print $1}' /proc/kallsyms)" = 0000000000000000 ]; then
		skip "$n-kernel-frames-named" "/proc/kallsyms hides addresses (kptr_restrict)"
	elif ! grep -q '(\[kernel\.kallsyms\])' "$d/script.txt"; then
		skip "$n-kernel-frames-named" "no sample in the kernel this time"
	elif grep -Eq '\[kernel\]|<ffff[89a-f][0-9a-f]{12}>\]' "$d/ours.folded"; then
		nok "$n-kernel-frames-named" "[kernel] frames in $d/ours.folded"
	else
		ok "$n-kernel-frames-named"
	fi
}

why=$(perf_why)
if [ -n "$why" ]; then
	skip recording "$why"
	exit 0
fi
# a DWARF 4 binary: inline frames named, their file read from a version 4 line table header
if ! command -v gcc >/dev/null; then
	skip dwarf4 "gcc is not installed"
elif ! gcc -O2 -gdwarf-4 -o "$OUT/inline4" "$W/inline4.c" 2> "$OUT/inline4.cc.log"; then
	nok dwarf4-built "$(head -c 300 "$OUT/inline4.cc.log")"
elif record dwarf4 -F 999 -e cpu-clock --call-graph dwarf,4096 -- "$OUT/inline4"; then
	agree dwarf4 0.97
	check dwarf4-inline-frame grep -q ';outer;inner ' "$OUT/dwarf4/ours.folded"
	rm -f "$OUT/dwarf4.db"
	"$PERFSIGHT" import "$OUT/dwarf4/perf.data" -o "$OUT/dwarf4.db" > /dev/null 2>&1
	# function|file|line|inlined of the inline frame: the file joined to the compilation directory
	got=$(sqlite3 "$OUT/dwarf4.db" \
		"SELECT function, file, line, inlined FROM frames_text WHERE function = 'inner'" 2>&1)
	check dwarf4-inline-file [ "$got" = "inner|$W/inline4.c|11|1" ]
else
	nok dwarf4-recorded "$(head -c 300 "$OUT/dwarf4/record.log")"
fi

if [ ! -x "$PY" ]; then
	skip recording "no Python 3.12 (pyenv prefix 3.12.1)"
	exit 0
fi

if record threads-dwarf -F 999 -e cpu-clock --call-graph dwarf,4096 -- \
	"$PY" -X perf "$W/threads.py"; then
	# perfsight does not name vDSO frames yet ([unknown] where perf says __vdso_clock_gettime):
	# a sample in clock_gettime, one in some hundreds, is no leaf end of perfsight's
	SUFFIX=0.99 agree threads-dwarf 0.97
	check threads-dwarf-python-frames grep -q ';py::crunch:.*threads\.py;' \
		"$OUT/threads-dwarf/ours.folded"
else
	nok threads-dwarf-recorded "$(head -c 300 "$OUT/threads-dwarf/record.log")"
fi

if record threads-fp -F 999 -e cpu-clock -g -- "$PY" -X perf "$W/threads.py"; then
	SUFFIX=0.99 agree threads-fp 0.99 # the vDSO as above
else
	nok threads-fp-recorded "$(head -c 300 "$OUT/threads-fp/record.log")"
fi

# gunicorn: 2 gthread workers serving the Flask app under wrk for 3 s
site=/srv/app/site
if ! command -v wrk >/dev/null || [ ! -d "$site/flask" ] || [ ! -d "$site/gunicorn" ]; then
	skip gunicorn "needs wrk and Flask + gunicorn in $site (tests/tools/record/stage-workloads.sh)"
	exit 0
fi
port=$((20000 + $$ % 20000))
gunicorn_load() {
	# once the server answers (its boot takes seconds on a loaded machine); then its master
	# is stopped, which ends the capture
	for _ in $(seq 1 100); do
		"$PY" -c 'import sys, urllib.request; urllib.request.urlopen("http://127.0.0.1:%s/cpu" % sys.argv[1], timeout=1)' "$port" 2> /dev/null && break
		sleep 0.1
	done
	wrk -t2 -c8 -d3s -s "$W/mix.lua" "http://127.0.0.1:$port/" > "$OUT/gunicorn.load" 2>&1
	pkill -TERM -f "gunicorn -w 2 -k gthread --threads 4 -b 127.0.0.1:$port" 2> /dev/null
}
gunicorn_load &
load=$!
if record gunicorn -F 149 -e cpu-clock --call-graph dwarf,2048 -- \
	timeout -s TERM 25 env PYTHONPATH="$site:$W" "$PY" -X perf -m gunicorn -w 2 -k gthread \
	--threads 4 -b "127.0.0.1:$port" --chdir "$W" app:app; then
	wait $load
	if grep -q 'Requests/sec' "$OUT/gunicorn.load"; then
		# perf's libunwind now and then also drops a middle frame (ld.so's
		# _dl_map_object_from_fd under an mmap, one sample in 462): such a stack is no leaf
		# end of perfsight's
		SUFFIX=0.99 agree gunicorn 0.75 --min-explained 0.97
		# every process that ran Python: master and forked workers
		"$PERFSIGHT" collapse "$OUT/gunicorn/perf.data" --pid > "$OUT/gunicorn/pid.folded" \
			2>/dev/null
		n_py=$(grep ';py::' "$OUT/gunicorn/pid.folded" | cut -d';' -f1 | sort -u | wc -l)
		check gunicorn-python-frames-in-three-processes [ "$n_py" -ge 3 ]
	else
		skip gunicorn "wrk got no answer: $(head -c 200 "$OUT/gunicorn.load")"
	fi
else
	wait $load
	nok gunicorn-recorded "$(head -c 300 "$OUT/gunicorn/record.log")"
fi
