# Robustness: every fixtures/*/perf.data cut at 200+ offsets (each header field, attr field,
# id array, feature table entry and feature section boundary, the first and last records, plus
# offsets spread over the file) and with bytes flipped at random (fixed seed), each read by
# `perfsight info` under a timeout. Every run must end by itself with status 0, 1 or 3, without
# a signal or a sanitizer report, and a status 3 must name the file and a byte offset.
# Two synthetic files (big-endian + zstd, pipe + zstd) get the same treatment, since no fixture
# is big-endian or compressed. Work runs on 2 cores; ROBUST_FLIPS sets the flips per file.
T_SUITE=robustness
. tests/e2e/lib.sh
B=${B:-build}
SYNTH=$B/tests/pfs-synth
files=""
for f in fixtures/*/perf.data; do
	[ -f "$f" ] && files="$files $f"
done
if [ -x "$SYNTH" ]; then
	"$SYNTH" "$OUT/synth-be-zstd.data" --swap --compressed --chunk 200 --kind all --samples 60 >/dev/null &&
		files="$files $OUT/synth-be-zstd.data"
	"$SYNTH" "$OUT/synth-pipe-zstd.data" --pipe --compressed --chunk 300 --kind all --samples 60 >/dev/null &&
		files="$files $OUT/synth-pipe-zstd.data"
else
	skip synth-files "$SYNTH not built"
fi
if [ -z "$files" ]; then
	skip fixtures "no fixtures/*/perf.data"
	exit 0
fi
python3 - "$PERFSIGHT" "$OUT" "${ROBUST_FLIPS:-100}" $files <<'EOF'
import os, random, re, struct, subprocess, sys, threading
from concurrent.futures import ThreadPoolExecutor

perfsight, out, nflips, files = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
SAN = re.compile(r"ERROR: AddressSanitizer|runtime error:|LeakSanitizer|ERROR: UndefinedBehaviorSanitizer")
OFFSET = re.compile(r"offset (0x[0-9a-fA-F]+|\d+)|at 0x[0-9a-fA-F]+|byte \d+")
ATTR_FIELDS = [0, 4, 8, 16, 24, 32, 40, 48, 52, 56, 64, 72, 80, 88, 92, 96, 104, 108, 110,
               112, 116, 120, 128, 136]
TIMEOUT = 20
n_test = 0

def tap(ok, name, why=""):
    global n_test
    n_test += 1
    if ok:
        print("ok %d - robustness::%s" % (n_test, name))
    else:
        print("not ok %d - robustness::%s: %s" % (n_test, name, why))
    sys.stdout.flush()

def records(buf, start, end, swap):
    """(offset, size) of the records between start and end, framed as a reader would."""
    e = ">" if swap else "<"
    pos, out = start, []
    while pos + 8 <= end:
        typ, _misc, size = struct.unpack_from(e + "IHH", buf, pos)
        if size < 8 or pos + size > end:
            break
        out.append((pos, size))
        extra = 0
        if typ == 66 and size >= 12:
            extra = struct.unpack_from(e + "I", buf, pos + 8)[0]
        elif typ == 71 and size >= 16:
            extra = struct.unpack_from(e + "Q", buf, pos + 8)[0]
        pos += size + extra
    return out

def boundaries(buf):
    """Offsets where a cut splits something the reader must notice."""
    size = len(buf)
    offs = set()
    swap = buf[:8] == b"2ELIFREP"
    e = ">" if swap else "<"
    hsize = struct.unpack_from(e + "Q", buf, 8)[0] if size >= 16 else 0
    for b in range(0, 105, 8):
        offs.update((b - 1, b, b + 1, b + 4))
    if hsize == 16:
        recs = records(buf, 16, size, swap)
    else:
        attr_size, a_off, a_size, d_off, d_size = struct.unpack_from(e + "5Q", buf, 16)
        bitmap = struct.unpack_from(e + "4Q", buf, 72)
        nattr = a_size // attr_size if attr_size else 0
        for i in range(min(nattr, 8)):
            base = a_off + i * attr_size
            for f in ATTR_FIELDS + [attr_size - 16, attr_size - 8, attr_size]:
                if f <= attr_size:
                    offs.update((base + f, base + f + 1))
            ids_off, ids_size = struct.unpack_from(e + "2Q", buf, base + attr_size - 16)
            offs.update((ids_off, ids_off + 4, ids_off + ids_size))
        table = d_off + d_size
        nfeat = sum(bin(w).count("1") for w in bitmap)
        for k in range(nfeat):
            ent = table + 16 * k
            offs.update((ent, ent + 8))
            if ent + 16 <= size:
                f_off, f_size = struct.unpack_from(e + "2Q", buf, ent)
                offs.update((f_off, f_off + 1, f_off + 4, f_off + f_size // 2,
                             f_off + f_size - 1))
        recs = records(buf, d_off, min(size, table if d_size else size), swap)
    for pos, rsize in recs[:40] + recs[-5:]:
        offs.update((pos, pos + 1, pos + 8, pos + rsize // 2, pos + rsize - 1))
    offs = {o for o in offs if 0 <= o < size}
    step = 1
    while len(offs) < 230:
        spread = max(size // (60 * step), 1)
        offs.update(range(0, size, spread))
        step += 1
    return sorted(offs)

local = threading.local()

def run(path, data, what):
    """Runs perfsight info on data; returns None or why it is wrong."""
    if not hasattr(local, "path"):
        local.path = os.path.join(out, "mutant-%d.data" % threading.get_ident())
    with open(local.path, "wb") as f:
        f.write(data)
    try:
        p = subprocess.run([perfsight, "info", local.path], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return keep(data, what, "hang (no exit within %ds)" % TIMEOUT)
    err = p.stderr.decode("utf-8", "replace")
    if p.returncode < 0:
        return keep(data, what, "killed by signal %d" % -p.returncode)
    if SAN.search(err):
        return keep(data, what, "sanitizer: " + SAN.search(err).group(0))
    if p.returncode not in (0, 1, 3):
        return keep(data, what, "exit %d: %s" % (p.returncode, err.strip()[:200]))
    if p.returncode == 3 and (local.path not in err or not OFFSET.search(err)):
        return keep(data, what, "exit 3 without the file and an offset: %s" % err.strip()[:200])
    return None

kept = [0]
keep_lock = threading.Lock()

def keep(data, what, why):
    """Keeps the first few failing inputs for a rerun; fixtures are megabytes each."""
    with keep_lock:
        kept[0] += 1
        if kept[0] > 10:
            return "%s: %s" % (what, why)
    name = os.path.join(out, "fail-" + re.sub(r"[^A-Za-z0-9]+", "-", what) + ".data")
    with open(name, "wb") as f:
        f.write(data)
    return "%s: %s (kept as %s)" % (what, why, name)

for p in os.listdir(out):
    if p.startswith("fail-"):
        os.unlink(os.path.join(out, p))
total_flips = 0
with ThreadPoolExecutor(max_workers=2) as pool:
    for idx, path in enumerate(files):
        label = os.path.basename(os.path.dirname(path)) if path.startswith("fixtures/") \
            else os.path.basename(path)
        buf = open(path, "rb").read()
        offs = boundaries(buf)
        fails = [r for r in pool.map(lambda o: run(path, buf[:o], "%s cut at %d" % (label, o)),
                                      offs) if r]
        tap(not fails and len(offs) >= 200, "%s-truncated-%d-offsets" % (label, len(offs)),
            "; ".join(fails[:3]) if fails else "only %d offsets" % len(offs))
        rng = random.Random(20261126 + idx)
        flips = []
        for k in range(nflips):
            lim = min(len(buf), 8192) if k % 2 == 0 else len(buf)
            flips.append((rng.randrange(lim), rng.randrange(1, 256)))
        def flipped(fl):
            pos, x = fl
            b = bytearray(buf)
            b[pos] ^= x
            return run(path, bytes(b), "%s byte %d xor 0x%02x" % (label, pos, x))
        fails = [r for r in pool.map(flipped, flips) if r]
        total_flips += len(flips)
        tap(not fails, "%s-flipped-%d-bytes" % (label, len(flips)), "; ".join(fails[:3]))
for p in os.listdir(out):
    if p.startswith("mutant-"):
        os.unlink(os.path.join(out, p))
tap(total_flips >= 200, "flips-in-total-%d" % total_flips, "fewer than 200 bytes flipped")
EOF
