#!/usr/bin/env python3
"""Agreement of two folded-stack files: the weighted overlap, i.e. the sum over stacks of the
smaller of the two sample fractions (1.0 = the same stacks in the same proportions).

usage: folded-agree.py OURS REFERENCE [--mask-kernel] [--min FRACTION] [--show N]

--mask-kernel  compare with every kernel frame of the reference replaced by [kernel], for
               captures whose kernel symbols are not available here (ours prints [kernel]).
               Reference kernel frames are recognised by the kernel frame names perf printed,
               passed with --kernel-names FILE (one name per line), or by ours' [kernel] depth.
--min F        exit 1 unless the overlap is at least F
--show N       print the N largest differences
"""
import sys
from collections import Counter


def load(path):
    c = Counter()
    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        if not line:
            continue
        stack, _, n = line.rpartition(" ")
        c[stack] += int(n)
    return c


def mask_kernel(ref, kernel_names):
    out = Counter()
    for stack, n in ref.items():
        fr = stack.split(";")
        out[";".join(fr[:1] + ["[kernel]" if f in kernel_names else f for f in fr[1:]])] += n
    return out


def overlap(a, b):
    ta, tb = sum(a.values()), sum(b.values())
    if not ta or not tb:
        return 0.0
    return sum(min(a[k] / ta, b[k] / tb) for k in a.keys() & b.keys())


def main():
    args = sys.argv[1:]
    ours, ref = load(args[0]), load(args[1])
    if "--kernel-names" in args:
        names = {l.strip() for l in open(args[args.index("--kernel-names") + 1]) if l.strip()}
        ref = mask_kernel(ref, names)
    ov = overlap(ours, ref)
    print(f"{ov:.4f} ours={sum(ours.values())} reference={sum(ref.values())}")
    if "--show" in args:
        ta, tb = sum(ours.values()), sum(ref.values())
        diff = Counter()
        for k in ours.keys() | ref.keys():
            diff[k] = ours[k] / ta - ref[k] / tb
        for k, d in sorted(diff.items(), key=lambda kv: -abs(kv[1]))[: int(args[args.index("--show") + 1])]:
            print(f"{d:+.4f} ours={ours[k]} ref={ref[k]} {k[:400]}")
    if "--min" in args and ov < float(args[args.index("--min") + 1]):
        sys.exit(1)


if __name__ == "__main__":
    main()
