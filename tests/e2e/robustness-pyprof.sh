# Robustness of the profiler-dump readers through the command line (issue 6): each
# pyinstrument fixture kind (session, JSON rendering, speedscope, HTML renderer data, a
# per-request session) cut at 60 offsets spread over the file and with 40 bytes flipped at
# random (fixed seed), each read by `perfsight collapse` (content detection, then the reader)
# under a timeout. Every run must end by itself with status 0, 1 or 3, without a signal or a
# sanitizer report, and a status 3 must name the file and a byte offset or a key. t_pyprof
# sweeps the readers themselves more densely; this adds the loader and the CLI around them.
T_SUITE=robustness-pyprof
. tests/e2e/lib.sh
FIX=fixtures/pyinstrument
python3 - "$PERFSIGHT" "$OUT" "$FIX/flask-testclient.pyisession" "$FIX/flask-testclient.json" \
	"$FIX/flask-testclient.speedscope.json" \
	"$FIX/html-renderer-data/wikipedia_article_word_count.json" \
	"$FIX/per-request/0002-alloc.pyisession" <<'EOF'
import os, random, re, subprocess, sys, threading
from concurrent.futures import ThreadPoolExecutor

perfsight, out, files = sys.argv[1], sys.argv[2], sys.argv[3:]
SAN = re.compile(r"ERROR: AddressSanitizer|runtime error:|LeakSanitizer|"
                 r"ERROR: UndefinedBehaviorSanitizer")
WHERE = re.compile(r"offset \d+|'[A-Za-z_$]+'")
TIMEOUT, CUTS, FLIPS = 20, 60, 40
n_test = 0
refused = [0]
refused_lock = threading.Lock()
local = threading.local()


def tap(ok, name, why=""):
    global n_test
    n_test += 1
    if ok:
        print("ok %d - robustness-pyprof::%s" % (n_test, name))
    else:
        print("not ok %d - robustness-pyprof::%s: %s" % (n_test, name, why))
    sys.stdout.flush()


def run(ext, data, what):
    """perfsight collapse on data written to a file of the fixture's extension."""
    if not hasattr(local, "path"):
        local.path = os.path.join(out, "mutant-%d%s" % (threading.get_ident(), ext))
    path = local.path if local.path.endswith(ext) else local.path + ext
    with open(path, "wb") as f:
        f.write(data)
    try:
        p = subprocess.run([perfsight, "collapse", path], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return "%s: hang (no exit within %ds)" % (what, TIMEOUT)
    finally:
        os.unlink(path)
    err = p.stderr.decode("utf-8", "replace")
    if p.returncode < 0:
        return "%s: killed by signal %d" % (what, -p.returncode)
    if SAN.search(err):
        return "%s: sanitizer: %s" % (what, SAN.search(err).group(0))
    if p.returncode not in (0, 1, 3):
        return "%s: exit %d: %s" % (what, p.returncode, err.strip()[:200])
    if p.returncode == 3 and (path not in err or not WHERE.search(err)):
        return "%s: exit 3 without the file and an offset or key: %s" % (what, err.strip()[:200])
    if p.returncode == 3:
        with refused_lock:
            refused[0] += 1
    return None


with ThreadPoolExecutor(max_workers=2) as pool:
    for idx, src in enumerate(files):
        buf = open(src, "rb").read()
        ext = "." + src.rsplit(".", 1)[1]
        label = os.path.basename(src)
        rng = random.Random(20261127 + idx)
        # the first KiB densely (detection and the top-level keys), then spread
        offs = sorted(set(list(range(0, min(len(buf), 1024), 37)) +
                          [rng.randrange(len(buf)) for _ in range(CUTS)]))[:CUTS + 28]
        refused[0] = 0
        fails = [r for r in pool.map(lambda o: run(ext, buf[:o], "%s cut at %d" % (label, o)),
                                     offs) if r]
        # a cut JSON document is never whole: (nearly) every cut must be refused
        if not fails and refused[0] < len(offs) * 9 // 10:
            fails = ["only %d of %d cuts refused" % (refused[0], len(offs))]
        tap(not fails, "%s-truncated-%d-offsets" % (label, len(offs)), "; ".join(fails[:3]))
        flips = [(rng.randrange(min(len(buf), 4096) if k % 2 else len(buf)),
                  rng.randrange(1, 256)) for k in range(FLIPS)]

        def flipped(fl):
            b = bytearray(buf)
            b[fl[0]] ^= fl[1]
            return run(ext, bytes(b), "%s byte %d xor 0x%02x" % (label, fl[0], fl[1]))
        fails = [r for r in pool.map(flipped, flips) if r]
        tap(not fails, "%s-flipped-%d-bytes" % (label, len(flips)), "; ".join(fails[:3]))
EOF
