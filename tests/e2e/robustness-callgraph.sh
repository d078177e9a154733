#!/bin/sh
# Robustness of the call-graph readers through the command line: each pstats fixture kind
# (cProfile, profile.py with code objects, pyinstrument's shape) and each callgrind one
# (valgrind's line and instr positions, pprofile's) cut at 80 offsets and with 40 bytes flipped
# at random (fixed seed), each read by `perfsight summary` (content detection, the reader, the
# reconstruction) under a timeout. Every run must end by itself with status 0, 1 or 3, without
# a signal or a sanitizer report; a status 3 must name the file and a byte offset. A cut pstats
# dump is never whole: every cut must be refused. A cut valgrind file must be refused or warned
# about (valgrind ends its files with a totals: line). t_pstats and t_callgrind sweep the
# readers themselves more densely; this adds the loader and the CLI around them.
T_SUITE=robustness-callgraph
. tests/e2e/lib.sh
FIX=fixtures/callgraph
python3 - "$PERFSIGHT" "$OUT" "$FIX/cprofile-py312.prof" "$FIX/profile-py39.prof" \
	"$FIX/pyinstrument-shape.pstats" "$FIX/valgrind-cg_prog.callgrind" \
	"$FIX/valgrind-cg_prog-instr.callgrind" "$FIX/pprofile.callgrind" <<'PY'
import os, random, re, subprocess, sys, threading
from concurrent.futures import ThreadPoolExecutor

perfsight, out, files = sys.argv[1], sys.argv[2], sys.argv[3:]
SAN = re.compile(r"ERROR: AddressSanitizer|runtime error:|LeakSanitizer|"
                 r"ERROR: UndefinedBehaviorSanitizer")
WHERE = re.compile(r"offset \d+")
TIMEOUT, CUTS, FLIPS = 30, 80, 40
n_test = 0
local = threading.local()


def tap(ok, name, why=""):
    global n_test
    n_test += 1
    if ok:
        print("ok %d - robustness-callgraph::%s" % (n_test, name))
    else:
        print("not ok %d - robustness-callgraph::%s: %s" % (n_test, name, why))
    sys.stdout.flush()


def run(data, what, must_refuse, warned_ok):
    if not hasattr(local, "path"):
        local.path = os.path.join(out, "mutant-%d" % threading.get_ident())
    with open(local.path, "wb") as f:
        f.write(data)
    try:
        p = subprocess.run([perfsight, "summary", local.path], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return "%s: hang (no exit within %ds)" % (what, TIMEOUT)
    finally:
        os.unlink(local.path)
    err = p.stderr.decode("utf-8", "replace")
    if p.returncode < 0:
        return "%s: killed by signal %d" % (what, -p.returncode)
    if SAN.search(err):
        return "%s: sanitizer: %s" % (what, SAN.search(err).group(0))
    if p.returncode not in (0, 1, 3):
        return "%s: exit %d: %s" % (what, p.returncode, err.strip()[:200])
    if p.returncode == 3 and (local.path not in err or not WHERE.search(err)):
        return "%s: exit 3 without the file and an offset: %s" % (what, err.strip()[:200])
    if must_refuse and p.returncode != 3:
        return "%s: read as whole (exit %d)" % (what, p.returncode)
    if warned_ok and p.returncode != 3 and "totals" not in err:
        return "%s: read without a word (exit %d)" % (what, p.returncode)
    return None


with ThreadPoolExecutor(max_workers=2) as pool:
    for idx, src in enumerate(files):
        buf = open(src, "rb").read()
        label = os.path.basename(src)
        pstats = not src.endswith(".callgrind")
        valgrind = "valgrind" in label
        rng = random.Random(20261207 + idx)
        offs = sorted(set(list(range(0, min(len(buf), 512), 29)) +
                          [rng.randrange(len(buf)) for _ in range(CUTS)]))[:CUTS]
        fails = [r for r in pool.map(
            lambda o: run(buf[:o], "%s cut at %d" % (label, o), pstats, valgrind and o > 300),
            offs) if r]
        tap(not fails, "%s-truncated-%d-offsets" % (label, len(offs)), "; ".join(fails[:3]))
        flips = [(rng.randrange(len(buf)), rng.randrange(1, 256)) for _ in range(FLIPS)]

        def flipped(fl):
            b = bytearray(buf)
            b[fl[0]] ^= fl[1]
            return run(bytes(b), "%s byte %d xor 0x%02x" % (label, fl[0], fl[1]), False, False)
        fails = [r for r in pool.map(flipped, flips) if r]
        tap(not fails, "%s-flipped-%d-bytes" % (label, len(flips)), "; ".join(fails[:3]))
PY
