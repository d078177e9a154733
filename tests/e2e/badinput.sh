# Bad input for symbols and unwinding (issue 3), made from real fixtures and read by
# `perfsight collapse`: the native capture's program missing, not ELF, a directory, cut short at
# several offsets, its symbol table or DWARF overwritten, bytes flipped at random (fixed seed);
# a JIT map with every kind of malformed line. Each run must end by itself (status 0 or 1, no
# signal, no sanitizer report) with every sample still counted; where frames lose their names
# they become [unknown] (never a name the good binary does not have) and a counted diagnostic
# names the file. The capture's copy records the program as /srv/app/cyclez, a path no machine
# has, so only the file given with --app-dir can be found. (Stacks without registers or with
# an empty stack dump are in t_ingest: no fixture has them.)
T_SUITE=badinput
. tests/e2e/lib.sh
F=fixtures/native-pipe-tracepoints
T=$OUT/native
rm -rf "$T" && mkdir -p "$T"
SAN='ERROR: AddressSanitizer|runtime error:|LeakSanitizer|ERROR: UndefinedBehaviorSanitizer'

python3 - "$F/perf.data" "$T/perf.data" <<'EOF'
import sys
d = open(sys.argv[1], "rb").read()
assert d.count(b"/srv/app/cycles") > 0
open(sys.argv[2], "wb").write(d.replace(b"/srv/app/cycles", b"/srv/app/cyclez"))
EOF
# the program's own function names: none may appear once its file is unusable
nm --defined-only "$F/cycles" | awk '$2 ~ /^[tTwW]$/ {print $3}' | sort -u > "$T/own.names"

# run NAME: collapse with --app-dir $T/NAME; sets rc, leaves $T/NAME.folded and .err
run() {
	"$PERFSIGHT" collapse "$T/perf.data" --app-dir "$T/$1" > "$T/$1.folded" 2> "$T/$1.err"
	rc=$?
}
samples() { awk '{s += $NF} END {print s + 0}' "$1"; }
names() { sed 's/ [0-9]*$//' "$1" | tr ';' '\n' | sort -u; }

mkdir -p "$T/good"
cp "$F/cycles" "$T/good/cyclez"
run good
total=$(samples "$T/good.folded")
check good-run-names-the-program sh -c "[ $rc -eq 0 ] && grep -q ';leaf_hash' '$T/good.folded'"
names "$T/good.folded" > "$T/good.names"

# ends_cleanly NAME: status 0/1, no sanitizer report, every sample still there
ends_cleanly() {
	if [ "$rc" -gt 1 ] || grep -Eq "$SAN" "$T/$1.err"; then
		nok "$1-ends-cleanly" "status $rc: $(head -c 300 "$T/$1.err")"
	elif [ "$(samples "$T/$1.folded")" -ne "$total" ]; then
		nok "$1-ends-cleanly" "$(samples "$T/$1.folded") samples, not $total"
	else
		ok "$1-ends-cleanly"
	fi
}
# unusable NAME CODE: the program's frames are all [unknown], CODE is counted naming the file
unusable() {
	run "$1"
	ends_cleanly "$1"
	if names "$T/$1.folded" | grep -qxF -f "$T/own.names"; then
		nok "$1-no-program-names" "$(names "$T/$1.folded" | grep -xF -f "$T/own.names" | head -3)"
	elif ! grep -q ';\[unknown\]' "$T/$1.folded"; then
		nok "$1-no-program-names" "no [unknown] frames"
	else
		ok "$1-no-program-names"
	fi
	check "$1-diagnostic" grep -Eq "warning $2 \(x1\): [^ ]*cyclez" "$T/$1.err"
}

mkdir -p "$T/missing"
unusable missing dso-not-found
mkdir -p "$T/notelf"
echo "this is not an ELF file" > "$T/notelf/cyclez"
unusable notelf dso-not-elf
mkdir -p "$T/empty"
: > "$T/empty/cyclez"
unusable empty dso-not-elf
mkdir -p "$T/isdir/cyclez"
unusable isdir 'dso-not-elf|dso-unreadable'

# cut short: inside the ELF header, the program headers, the code, the DWARF, the symbol
# table, the section headers
size=$(wc -c < "$F/cycles")
for n in 40 64 1000 8192 $((size / 2)) $((size * 3 / 4)) $((size - 100)); do
	mkdir -p "$T/cut$n"
	head -c "$n" "$F/cycles" > "$T/cut$n/cyclez"
	if [ "$n" -lt 64 ]; then
		unusable "cut$n" 'dso-not-elf'
	else
		unusable "cut$n" 'dso-truncated'
	fi
done

# a section's bytes overwritten with 0xff: SECTION DIR
smash() {
	mkdir -p "$T/$2"
	python3 - "$F/cycles" "$T/$2/cyclez" "$1" <<'EOF'
import subprocess, sys
src, dst, name = sys.argv[1:]
d = bytearray(open(src, "rb").read())
sections = subprocess.run(["readelf", "-SW", src], capture_output=True, text=True).stdout
for line in sections.split("\n"):
    f = line.replace("[ ", "[").split()
    if len(f) > 5 and f[1] == name:
        off, size = int(f[4], 16), int(f[5], 16)
        d[off:off + size] = b"\xff" * size
        break
else:
    sys.exit("no section " + name)
open(dst, "wb").write(d)
EOF
}
# DWARF unreadable: names from the symbol table, no inline frames, a diagnostic
smash .debug_info dwarf
run dwarf
ends_cleanly dwarf
check dwarf-diagnostic grep -Eq 'warning dwarf-unreadable \(x1\): [^ ]*cyclez' "$T/dwarf.err"
check dwarf-functions-still-named grep -q ';leaf_hash' "$T/dwarf.folded"
check dwarf-no-inline-frames sh -c "! grep -q ';mix' '$T/dwarf.folded'"
# symbol table unreadable: whatever names remain come from DWARF, none is invented
for sec in .symtab .strtab; do
	smash $sec "sym$sec"
	run "sym$sec"
	ends_cleanly "sym$sec"
	echo '[unknown]' >> "$T/good.names"
	if names "$T/sym$sec.folded" | grep -vxF -f "$T/good.names" | grep -q .; then
		nok "sym$sec-no-invented-names" \
			"$(names "$T/sym$sec.folded" | grep -vxF -f "$T/good.names" | head -3)"
	else
		ok "sym$sec-no-invented-names"
	fi
done

# random byte flips (fixed seed): whatever the names, the run ends cleanly
python3 - "$F/cycles" "$T" <<'EOF'
import os, random, sys
src, out = sys.argv[1:]
d = open(src, "rb").read()
rng = random.Random(3)
for k in range(24):
    b = bytearray(d)
    for _ in range(1 + k % 8):
        i = rng.randrange(len(b))
        b[i] ^= 1 << rng.randrange(8)
    os.makedirs(f"{out}/flip{k}", exist_ok=True)
    open(f"{out}/flip{k}/cyclez", "wb").write(b)
EOF
bad=""
for k in $(seq 0 23); do
	run "flip$k"
	if [ "$rc" -gt 1 ] || grep -Eq "$SAN" "$T/flip$k.err" ||
		[ "$(samples "$T/flip$k.folded")" -ne "$total" ]; then
		bad="$bad flip$k(status $rc)"
	fi
done
if [ -z "$bad" ]; then ok flips-end-cleanly; else nok flips-end-cleanly "$bad: see $T/flip*.err"; fi

# a JIT map with malformed lines, beside a copy of the threads capture: each is counted with
# the file name, the good lines still name the Python frames
J=$OUT/jit
rm -rf "$J" && mkdir -p "$J/maps"
cp fixtures/py312-threads-dwarf/perf.data "$J/threads.data"
m=$(ls fixtures/py312-threads-dwarf/maps/)
python3 - "fixtures/py312-threads-dwarf/maps/$m" "$J/maps/$m" <<'EOF'
import sys
good = open(sys.argv[1], "rb").read().split(b"\n")
bad = [b"not a map line", b"zz 10 py::x:/a.py", b"7f0000001000 zz py::x:/a.py",
       b"7f0000001000 10", b"7f0000001000 10 ", b"7f0000001000 0 py::zero:/a.py",
       b"ffffffffffffff00 1000 py::wraps:/a.py", b"12345678901234567 10 py::long:/a.py",
       b"7f0000001000 10 py::nul\0:/a.py", b"7f0000001000\t10\tpy::tabs:/a.py",
       b"0x 10 py::x:/a.py", b"-7f00 10 py::neg:/a.py", b"7f00" + b"0" * 100000 + b" 10 x"]
out = good[:5] + bad + good[5:]
open(sys.argv[2], "wb").write(b"\n".join(out))
EOF
"$PERFSIGHT" collapse "$J/threads.data" > "$J/out.folded" 2> "$J/out.err"
rc=$?
check jit-map-ends-cleanly sh -c "[ $rc -le 1 ] && ! grep -Eq '$SAN' '$J/out.err'"
check jit-map-malformed-counted grep -q "jit-map-malformed (x13).*$m" "$J/out.err"
check jit-map-good-lines-used grep -q ';py::crunch:/srv/app/threads.py;' "$J/out.folded"
check jit-map-no-bad-names \
	sh -c "! grep -Eq 'py::(x|zero|wraps|long|nul|tabs|neg):' '$J/out.folded'"
