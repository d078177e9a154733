#!/usr/bin/env python3
"""Remakes the seed corpora of tests/fuzz/corpus/ from fixtures/ (run from the repository root
after `make all build/tests/pfs-synth`; tests/fuzz/README.md). Each seed is cut small: the
fuzzer mutates what it is given, and the repository carries it.

    python3 tests/fuzz/seeds.py [perf|jitmap|jitdump|tpevent|db|pyprof|folded]...

perf:    each fixture's perf.data with its data section cut to ~6 KB of whole records and its
         feature sections kept (pipe captures cut at ~24 KB of records), and pfs-synth captures
         (all record kinds, swapped + zstd, pipe, pipe + zstd, pipe + AUXTRACE, odd attr size)
jitmap:  the first 40 lines of a fixture map, and crafted lines
jitdump: the py313 fixture's jit dump cut to ~6 KB of whole records
tpevent: the tracing data of a probes capture and of the native pipe capture (with a
         sched_switch payload); the first 4 bytes give the blob's length (fuzz_tpevent.c)
db:      imports of a dump, a synthetic capture, a probes capture and a pstats profile, with
         512-byte pages, vacuumed
pyprof, folded: a session, renderer JSON, both HTML wrappings, speedscope sampled and evented,
         folded text; the first byte of a pyprof seed picks the file name's suffix
"""
import json, os, shutil, struct, subprocess, sys, tempfile

C = "tests/fuzz/corpus"
PS = "build/perfsight"
SYNTH = "build/tests/pfs-synth"


def out(kind, name, data):
    os.makedirs(os.path.join(C, kind), exist_ok=True)
    with open(os.path.join(C, kind, name), "wb") as f:
        f.write(data)


def cut_perf(src, maxdata=6000):
    b = open(src, "rb").read()
    if struct.unpack_from("<Q", b, 8)[0] == 16:  # pipe mode: whole records up to 4 x maxdata
        p = 16
        while p + 8 <= len(b):
            sz = struct.unpack_from("<IHH", b, p)[2]
            if sz == 0 or p + sz > maxdata * 4:
                break
            p += sz
        return b[:p]
    d_off, d_sz = struct.unpack_from("<QQ", b, 40)
    nfeat = bin(int.from_bytes(b[72:104], "little")).count("1")
    secs = [struct.unpack_from("<QQ", b, d_off + d_sz + 16 * i) for i in range(nfeat)]
    p = d_off
    while p < d_off + d_sz:
        sz = struct.unpack_from("<IHH", b, p)[2]
        if sz == 0 or p + sz - d_off > maxdata:
            break
        p += sz
    o = bytearray(b[:p])
    struct.pack_into("<Q", o, 48, p - d_off)
    table = len(o)
    o += b"\0" * (16 * nfeat)
    for i, (off, size) in enumerate(secs):
        struct.pack_into("<QQ", o, table + 16 * i, len(o), size)
        o += b[off:off + size]
    return bytes(o)


def perf():
    for d in sorted(os.listdir("fixtures")):
        f = os.path.join("fixtures", d, "perf.data")
        if os.path.isfile(f):
            out("perf", d + ".data", cut_perf(f))
    tmp = tempfile.mkdtemp()
    for name, args in [("synth-all", ["--kind", "all", "--samples", "8"]),
                       ("synth-swap-zstd", ["--swap", "--compressed", "--chunk", "200", "--kind",
                                            "all", "--samples", "8"]),
                       ("synth-pipe-zstd", ["--pipe", "--compressed", "--chunk", "300", "--kind",
                                            "all", "--samples", "8"]),
                       ("synth-pipe", ["--pipe", "--kind", "all", "--samples", "8"]),
                       ("synth-min", ["--kind", "minimal"]),
                       ("synth-attr", ["--kind", "samples", "--samples", "4", "--attr-size",
                                       "136"])]:
        p = os.path.join(tmp, name)
        subprocess.run([SYNTH, p] + args, check=True, stdout=subprocess.DEVNULL)
        out("perf", name + ".data", open(p, "rb").read())
    # an AUXTRACE record (payload 24 bytes) after the pipe capture's first record
    b = open(os.path.join(tmp, "synth-pipe"), "rb").read()
    first = 16 + struct.unpack_from("<IHH", b, 16)[2]
    aux = struct.pack("<IHH", 71, 0, 48) + struct.pack("<QQQIIII", 24, 0, 0, 0, 0, 0, 0) + b"A" * 24
    out("perf", "synth-pipe-auxtrace.data", b[:first] + aux + b[first:])
    shutil.rmtree(tmp)


def jitmap():
    m = open("fixtures/ciapp-base/maps/" + sorted(os.listdir("fixtures/ciapp-base/maps"))[0]).read()
    out("jitmap", "fixture-head.map", ("\n".join(m.split("\n")[:40]) + "\n").encode())
    out("jitmap", "crafted.map", b"7f0000001000 40 py::f:/a.py\n0x7f0000001020 0x10 inner "
        b"overlap\n7f0000002000 0 empty\nffffffffffffff00 200 wraps\nnot a line\n7f0000003000 10\n")


def jitdump():
    b = open("fixtures/py313-chain-perfjit/maps/jit-6645.dump", "rb").read()
    p = struct.unpack_from("<I", b, 8)[0]
    while p + 16 <= len(b):
        tot = struct.unpack_from("<II", b, p)[1]
        if tot == 0 or p + tot > 6000:
            break
        p += tot
    out("jitdump", "py313-head.dump", b[:p])


def tpevent():
    b = open("fixtures/py312-sampled-probes/perf.data", "rb").read()
    d_off, d_sz = struct.unpack_from("<QQ", b, 40)
    bits = int.from_bytes(b[72:104], "little")
    idx = bin(bits & 1).count("1")  # HEADER_TRACING_DATA is bit 1
    off, size = struct.unpack_from("<QQ", b, d_off + d_sz + 16 * idx)
    out("tpevent", "py312-sampled-probes.bin",
        struct.pack("<I", size) + b[off:off + size] + bytes(range(64)))
    b = open("fixtures/native-pipe-tracepoints/perf.data", "rb").read()
    p = 16
    while p + 8 <= len(b):
        t, _, s = struct.unpack_from("<IHH", b, p)
        if t == 66:
            blob = b[p + s:p + s + struct.unpack_from("<I", b, p + 8)[0]]
            raw = (struct.pack("<HBBi", 372, 0, 0, 42) + b"python3".ljust(16, b"\0") +
                   struct.pack("<iiq", 42, 120, 1) + b"swapper".ljust(16, b"\0") +
                   struct.pack("<ii", 0, 120))
            out("tpevent", "native-sched-switch.bin", struct.pack("<I", len(blob)) + blob + raw)
            break
        if s == 0:
            break
        p += s


def db():
    tmp = tempfile.mkdtemp()
    synth = os.path.join(tmp, "synth.data")
    subprocess.run([SYNTH, synth, "--kind", "all", "--samples", "8"], check=True,
                   stdout=subprocess.DEVNULL)
    probes = os.path.join(tmp, "probes.data")
    open(probes, "wb").write(cut_perf("fixtures/py312-threads-probes/perf.data"))
    for name, src in [("pyprof", "fixtures/pyinstrument/per-request/0005-io.pyisession"),
                      ("perf", synth), ("cg", "fixtures/callgraph/pyinstrument-shape.pstats"),
                      ("probes", probes)]:
        d = os.path.join(tmp, name + ".db")
        subprocess.run([PS, "import", src, "-o", d], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        subprocess.run(["sqlite3", d, "PRAGMA journal_mode=DELETE; PRAGMA page_size=512; "
                        "VACUUM;"], check=True, stdout=subprocess.DEVNULL)
        out("db", name + ".db", open(d, "rb").read())
    shutil.rmtree(tmp)


def pyprof():
    pr = "fixtures/pyinstrument/per-request/"
    sess = open(pr + "0005-io.pyisession", "rb").read()
    rend = open(pr + "0005-io.json", "rb").read()
    out("pyprof", "session.pyisession-0", b"\0" + sess)
    out("pyprof", "renderer.json-1", b"\1" + rend)
    out("pyprof", "session5.html-2",
        b"\2<html><script>const sessionData = " + sess + b";</script></html>")
    out("pyprof", "session3.html-2",
        b"\2<html><script>window.profileSession = " + rend + b"</script></html>")
    tmp = tempfile.mkdtemp()
    s = os.path.join(tmp, "s.json")
    subprocess.run([PS, "export", pr + "0005-io.pyisession", "--format", "speedscope", "-o", s],
                   check=True)
    out("pyprof", "speedscope.json-1", b"\1" + open(s, "rb").read())
    f = os.path.join(tmp, "f.folded")
    subprocess.run([PS, "export", pr + "0003-render.pyisession", "--format", "folded", "-o", f],
                   check=True)
    out("pyprof", "stacks.folded-3", b"\3" + open(f, "rb").read())
    out("folded", "render.folded", open(f, "rb").read())
    shutil.rmtree(tmp)
    ev = {"$schema": "https://www.speedscope.app/file-format-schema.json", "name": "p",
          "activeProfileIndex": 0, "exporter": "pyinstrument",
          "shared": {"frames": [{"name": "main", "file": "/srv/app/a.py", "line": 1},
                                {"name": "work", "file": "/srv/app/a.py", "line": 5},
                                {"name": "collect", "file": "<gc>"}]},
          "profiles": [{"type": "evented", "name": "t", "unit": "seconds", "startValue": 0,
                        "endValue": 3,
                        "events": [{"type": "O", "frame": 0, "at": 0},
                                   {"type": "O", "frame": 1, "at": 0.5},
                                   {"type": "O", "frame": 2, "at": 1},
                                   {"type": "C", "frame": 2, "at": 1.5},
                                   {"type": "C", "frame": 1, "at": 2},
                                   {"type": "C", "frame": 0, "at": 3}]}]}
    out("pyprof", "evented.json-1", b"\1" + json.dumps(ev).encode())


def folded():
    out("folded", "mixed.folded", b"main;a;b 3\nmain;c 1\nroot;[gc] 2\n"
        b"py::f:/a.py;_PyEval_EvalFrameDefault;take_gil_[k] 5\n")


KINDS = {"perf": perf, "jitmap": jitmap, "jitdump": jitdump, "tpevent": tpevent, "db": db,
         "pyprof": pyprof, "folded": folded}
for k in sys.argv[1:] or list(KINDS):
    KINDS[k]()
