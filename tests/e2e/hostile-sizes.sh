# Hostile sizes: no input makes perfsight allocate more than a bounded multiple of its own size
# plus a fixed cap (issue 16). Each case is made here, run through the command line under
# tests/tools/peakrss, and its peak RSS (the child's ru_maxrss) asserted: at most CAP_MB plus
# K times the input's size, and it must end by itself with the status the README documents.
#  - a perf.data header whose data section, or a feature section, claims 1 TB;
#  - JSON nested 100,000 deep (a pyinstrument frame tree, speedscope arrays);
#  - a 10 MB folded line;
#  - a perf map of 1,000,000 lines beside a capture.
T_SUITE=hostile-sizes
. tests/e2e/lib.sh
B=${B:-build}
PERFSIGHT=${PERFSIGHT:-$PWD/$B/perfsight}
PEAK=$B/tests/peakrss
CAP_MB=64
[ "${SAN:-0}" = 1 ] && CAP_MB=400
if [ ! -x "$PEAK" ]; then
	skip all "$PEAK not built"
	exit 0
fi
# sized NAME WANT_RC K INPUT -- CMD...: peak RSS <= CAP_MB + K x size of INPUT
sized() {
	name=$1 want=$2 k=$3 input=$4
	shift 5
	size=$(wc -c <"$input")
	"$PEAK" -t 120 -- "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" </dev/null
	line=$(grep '^peakrss: ' "$OUT/$name.err" | tail -1)
	rc=$(echo "$line" | sed -n 's/.*rc=\([0-9]*\).*/\1/p')
	kb=$(echo "$line" | sed -n 's/.*rss_kb=\([0-9]*\).*/\1/p')
	max=$((CAP_MB * 1024 + k * size / 1024))
	if ! echo "$rc" | grep -q -x -E "$want"; then
		nok "$name" "exit $rc, want $want ($line; $(grep -v '^peakrss' "$OUT/$name.err" | head -2 | tr '\n' ' '))"
	elif [ "$kb" -gt "$max" ]; then
		nok "$name" "peak RSS $kb KB > $max KB (${CAP_MB} MB + ${k} x $size bytes; $line)"
	else
		ok "$name (input $size bytes, limit $max KB; $line)"
	fi
}
# 1. 1 TB sections: the data section, every feature section, a pipe's tracing data and AUX
python3 - "$OUT" tests/fuzz/corpus/perf/synth-all.data tests/fuzz/corpus/perf/synth-pipe.data <<'PY'
import struct, sys
out, fmode, pmode = sys.argv[1:4]
b = bytearray(open(fmode, "rb").read())
TB = 1 << 40
d = bytearray(b); struct.pack_into("<Q", d, 48, TB)             # data size
open(out + "/data-1tb.data", "wb").write(d)
f = bytearray(b)
d_off, d_sz = struct.unpack_from("<QQ", f, 40)
nfeat = bin(int.from_bytes(f[72:104], "little")).count("1")
for i in range(nfeat):                                           # every feature section
    struct.pack_into("<QQ", f, d_off + d_sz + 16 * i, 0, TB)
open(out + "/features-1tb.data", "wb").write(f)
a = bytearray(b); struct.pack_into("<Q", a, 32, TB)              # attrs section
open(out + "/attrs-1tb.data", "wb").write(a)
p = open(pmode, "rb").read()
# a pipe: its header, then TRACING_DATA (66) claiming 4 GiB and AUXTRACE (71) claiming 1 TB
t = struct.pack("<IHHI", 66, 0, 16, 0xffffffff) + b"\0" * 4
x = struct.pack("<IHH", 71, 0, 48) + struct.pack("<QQQIIII", TB, 0, 0, 0, 0, 0, 0)
open(out + "/pipe-tracing-4g.data", "wb").write(p[:16] + t + b"\0" * 64)
open(out + "/pipe-aux-1tb.data", "wb").write(p[:16] + x + b"\0" * 64)
PY
for f in data-1tb features-1tb attrs-1tb; do
	sized "$f-info" '[013]' 8 "$OUT/$f.data" -- "$PERFSIGHT" info "$OUT/$f.data"
	sized "$f-report" '[013]' 8 "$OUT/$f.data" -- "$PERFSIGHT" report "$OUT/$f.data" \
		-o "$OUT/$f.html"
done
for f in pipe-tracing-4g pipe-aux-1tb; do
	sized "$f-file" '[01]' 8 "$OUT/$f.data" -- "$PERFSIGHT" info "$OUT/$f.data"
	sized "$f-stdin" '[01]' 8 "$OUT/$f.data" -- sh -c "cat '$OUT/$f.data' | '$PERFSIGHT' info -"
done
# 2. JSON nested 100,000 deep: refused by the nesting limit, at no cost
python3 - "$OUT" <<'PY'
import sys
out, n = sys.argv[1], 100000
open(out + "/nest-arrays.json", "w").write('{"profiles":' + "[" * n + "]" * n + "}")
fr = '{"function":"f","file_path":"/a.py","line_no":1,"time":1,"children":['
open(out + "/nest-frames.json", "w").write(
    '{"start_time":1,"duration":1,"sample_count":1,"root_frame":' + fr * n + "]}" * n + "}")
PY
for f in nest-arrays nest-frames; do
	for c in summary report flamegraph; do
		a=
		[ $c = summary ] || a="-o $OUT/$f.$c.out"
		# shellcheck disable=SC2086
		sized "$f-$c" 3 4 "$OUT/$f.json" -- "$PERFSIGHT" $c "$OUT/$f.json" $a
	done
done
# 3. one folded line of 10 MB (5M frames): a bad line, through a path and standard input
python3 -c "import sys; open(sys.argv[1], 'w').write('main 1\n' + 'a;' * (5 << 20) + 'a 1\n')" \
	"$OUT/folded-10mb.folded"
sized folded-10mb-flamegraph '[13]' 4 "$OUT/folded-10mb.folded" -- "$PERFSIGHT" flamegraph \
	"$OUT/folded-10mb.folded" -o "$OUT/folded-10mb.svg"
sized folded-10mb-stdin '[13]' 4 "$OUT/folded-10mb.folded" -- sh -c \
	"'$PERFSIGHT' flamegraph - -o '$OUT/folded-10mb-stdin.svg' < '$OUT/folded-10mb.folded'"
sized folded-10mb-summary '[13]' 4 "$OUT/folded-10mb.folded" -- "$PERFSIGHT" summary \
	"$OUT/folded-10mb.folded"
# 4. a perf map of 1,000,000 lines (overlapping, wrapping, absurd) beside a real capture
mkdir -p "$OUT/map1m/maps"
cp fixtures/py312-threads-fp/perf.data "$OUT/map1m/"
map=$(basename fixtures/py312-threads-fp/maps/perf-*.map)
python3 - "$OUT/map1m/maps/$map" <<'PY'
import sys, random
r = random.Random(16)
with open(sys.argv[1], "w") as f:
    for i in range(1000000):
        k = i % 4
        if k == 0:
            f.write("%x %x py::f%d:/srv/app/m%d.py\n" % (0x7f0000000000 + 16 * i, 64, i, i % 97))
        elif k == 1:
            f.write("%x %x overlap%d\n" % (0x7f0000000000 + r.randrange(1 << 30), r.randrange(1 << 20), i))
        elif k == 2:
            f.write("ffffffffffffff%02x ff wraps%d\n" % (i % 256, i))
        else:
            f.write("0 ffffffffffffffff all%d\n" % i)
PY
sized perf-map-1m-collapse '[01]' 3 "$OUT/map1m/maps/$map" -- "$PERFSIGHT" collapse \
	"$OUT/map1m/perf.data" -o "$OUT/map1m.folded"
