#!/usr/bin/env python3
"""Agreement of perfsight's folded stacks with perf's own view: the weighted overlap, i.e. the
sum over stacks of the smaller of the two sample fractions (1.0 = the same stacks in the same
proportions), as issue 3 defines it.

usage: folded-agree.py OURS (REFERENCE.folded | --script PERF_SCRIPT[.zst] --event EVENT)
                       [--mask-kernel] [--min FRACTION] [--show N]
                       [--explain] [--min-explained FRACTION]

--script      build the reference from perf script output exactly as
              perf-script-reference.py --folded does (same parser)
--mask-kernel with --script: every kernel frame (address in the kernel half) becomes
              [kernel], as perfsight prints kernel frames when the capture's kernel symbols
              are not on this machine
--min F       exit 1 unless the overlap is at least F
--show N      print the N largest differences
--explain     also print the share of the difference where perf stopped unwinding early:
              a reference stack with more samples than ours whose frames (without an outermost
              [unknown] or [truncated]) are the leaf end of a stack we have more samples of (perf 6.1's libunwind gives up after the leaf
              in ld.so and libc's assembler functions, where libdw reads the CFI on), as
              "explained E stopped-early S" (E = overlap + S)
--min-explained F  exit 1 unless that explained agreement is at least F
--leaf-python  on both sides, a stack with Python frames keeps only its innermost Python
              frame and what is leafward of it: the part perf 6.1 unwinds on a -X perf capture
              (it stops at the first trampoline), so perf's unwinding can be compared strictly
              there while perfsight's goes on to the thread entry
--truncated   with --script: perf's mark of a stack cut where its dump ended (an outermost
              frame at address ffffffffffffffff) becomes [truncated], perfsight's mark
--suffix      also print the share of perf's samples whose stack is the leaf end of one of
              ours, where what ours adds rootward has no [unknown] frame (perfsight may only
              add named outer frames; perf's [truncated]/[unknown] end marks are dropped
              first), as "suffix S". OURS made with collapse --addrs names an unresolved
              frame "[DSO <addr>]": a real mapped address without a name (a stripped
              library's), allowed there; "[unknown <addr>]" (mapped by nothing) is not. For
              the other measures such names read as perf's "[unknown]".
--min-suffix F  exit 1 unless that share is at least F
"""
import importlib.util
import os
import re
import sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("ref", os.path.join(HERE, "perf-script-reference.py"))
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)
ADDR = re.compile(r"^\s+([0-9a-f]+)\s")


def load(path):
    c = Counter()
    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        if not line:
            continue
        stack, _, n = line.rpartition(" ")
        c[stack] += int(n)
    return c


def from_script(path, event, mask, truncated=False):
    """The reference parser, plus the frame addresses to tell kernel frames apart."""
    c = Counter()
    cur = None
    cut = "ffffffffffffffff"
    for line in ref.read(path).split("\n") + [""]:
        if not line.strip():
            if cur and cur[0] == event:
                c[";".join([cur[1]] + list(reversed(cur[2])))] += 1
            cur = None
            continue
        if not line[0].isspace():
            if cur and cur[0] == event:
                c[";".join([cur[1]] + list(reversed(cur[2])))] += 1
            m = ref.HDR.match(line)
            cur = (m["event"], m["comm"].strip(), []) if m else None
            continue
        if cur is None:
            continue
        f = ref.FRAME.match(line)
        a = ADDR.match(line)
        name = f["sym"] if f else "[unknown]"
        if truncated and a and a.group(1) == cut:
            name = "[truncated]"
        # kernel frames: perf names their dso [kernel.kallsyms] (or prints none, -F ip,sym)
        if mask and a and int(a.group(1), 16) >= 0xFFFF800000000000 and (
                f is None and "(" not in line or f is not None and f["dso"].startswith("[kernel")):
            name = "[kernel]"
        cur[2].append(name)
    return c


ADDRS = re.compile(r"\[([^;]*?) <([0-9a-f]+)>\]")


def plain_names(s):
    """collapse --addrs names as collapse names them without: a kernel address [kernel], any
    other [unknown]."""
    return ADDRS.sub(lambda m: "[kernel]" if int(m.group(2), 16) >= 0xFFFF800000000000
                     else "[unknown]", s)


def plain(c):
    out = Counter()
    for k, v in c.items():
        out[plain_names(k)] += v
    return out


def invented(frame):
    """A frame perfsight may not add: unresolved and, with --addrs, mapped by nothing."""
    return frame == "[unknown]" or frame.startswith("[unknown <")


def leaf_python(c):
    """Each stack from its innermost "py::" frame on (stacks without one unchanged)."""
    out = Counter()
    for k, v in c.items():
        comm, _, frames = k.partition(";")
        fr = frames.split(";") if frames else []
        py = [i for i, f in enumerate(fr) if f.startswith("py::")]
        if py:
            fr = fr[py[-1]:]
        out[";".join([comm] + fr)] += v
    return out


def overlap(a, b):
    ta, tb = sum(a.values()), sum(b.values())
    if not ta or not tb:
        return 0.0
    return sum(min(a[k] / ta, b[k] / tb) for k in a.keys() & b.keys())


def stopped_early(a, b):
    """The mass of b's excess stacks that are leaf-side suffixes of a's excess stacks."""
    ta, tb = sum(a.values()), sum(b.values())
    if not ta or not tb:
        return 0.0
    ours = {k: a[k] / ta - b[k] / tb for k in a if a[k] / ta > b[k] / tb}
    moved = 0.0
    # the shortest of perf's stacks first: a bare leaf matches the most of ours
    for k in sorted((k for k in b if b[k] / tb > a[k] / ta), key=lambda k: k.count(";")):
        want = b[k] / tb - a[k] / ta
        comm, _, frames = k.partition(";")
        # perf's outermost [unknown] (a cut mark, a uretprobe trampoline) may be what it
        # stopped at
        while frames.startswith("[unknown];") or frames.startswith("[truncated];"):
            frames = frames.partition(";")[2]
        if not frames:
            continue
        for o in ours:
            if want <= 0:
                break
            if ours[o] > 0 and o.startswith(comm + ";") and o.endswith(";" + frames) and \
                    len(o) > len(comm) + 1 + len(frames):
                m = min(want, ours[o])
                ours[o] -= m
                want -= m
                moved += m
    return moved


def suffix_share(a, b):
    """The share of b's samples whose stack is the leaf end of one of a's, what a's adds
    rootward being free of [unknown] (perf's end marks dropped from b's stacks first)."""
    tb = sum(b.values())
    if not tb:
        return 0.0
    left = dict(a)
    by_comm = {}
    for k in a:
        by_comm.setdefault(k.partition(";")[0], []).append(k)
    matched = 0
    marks = ("[truncated]", "[unknown]")
    for k in sorted(b, key=lambda k: -k.count(";")):
        comm, _, frames = k.partition(";")
        parts = frames.split(";") if frames else []
        tails = [";".join(parts)]
        while parts and parts[0] in marks:
            parts.pop(0)
            tails.append(";".join(parts))
        want = b[k]
        for tail in tails:
            for o in by_comm.get(comm, []):
                if want <= 0:
                    break
                if left[o] <= 0:
                    continue
                raw = o.partition(";")[2].split(";")
                of = plain_names(";".join(raw))
                if tail and not (of == tail or of.endswith(";" + tail)):
                    continue
                extra = raw[: len(raw) - (tail.count(";") + 1 if tail else 0)]
                if any(invented(e) for e in extra):
                    continue
                m = min(want, left[o])
                left[o] -= m
                want -= m
                matched += m
    return matched / tb


def opt(args, name, default=None):
    return args[args.index(name) + 1] if name in args else default


def main():
    args = sys.argv[1:]
    ours = load(args[0])
    if "--script" in args:
        theirs = from_script(opt(args, "--script"), opt(args, "--event"), "--mask-kernel" in args,
                             "--truncated" in args)
    else:
        theirs = load(args[1])
    whole = ours, theirs
    ours = plain(ours)
    if "--leaf-python" in args:
        ours, theirs = leaf_python(ours), leaf_python(theirs)
    ov = overlap(ours, theirs)
    line = f"{ov:.4f} ours={sum(ours.values())} reference={sum(theirs.values())}"
    early = stopped_early(ours, theirs) if "--explain" in args or "--min-explained" in args else 0
    if "--explain" in args or "--min-explained" in args:
        line += f" explained {ov + early:.4f} stopped-early {early:.4f}"
    suffix = None
    if "--suffix" in args or "--min-suffix" in args:
        suffix = suffix_share(*whole)
        line += f" suffix {suffix:.4f}"
    print(line)
    if "--show" in args:
        ta, tb = sum(ours.values()) or 1, sum(theirs.values()) or 1
        diff = {k: ours[k] / ta - theirs[k] / tb for k in ours.keys() | theirs.keys()}
        for k, d in sorted(diff.items(), key=lambda kv: -abs(kv[1]))[: int(opt(args, "--show"))]:
            print(f"{d:+.4f} ours={ours[k]} ref={theirs[k]} {k[:400]}")
    if "--min" in args and ov < float(opt(args, "--min")):
        sys.exit(1)
    if "--min-explained" in args and ov + early < float(opt(args, "--min-explained")):
        sys.exit(1)
    if "--min-suffix" in args and suffix < float(opt(args, "--min-suffix")):
        sys.exit(1)


if __name__ == "__main__":
    main()
