"""A call chain whose structure is known, for checking whole Python stacks (issue 12).

Each of three threads (the main thread and two started with threading) runs
    run -> level_01 -> level_02 -> ... -> level_24 -> descend (recursing DESCEND times) -> work
and work alternates a CPU leaf (spin) and an allocating leaf (churn, which makes reference
cycles, so the cyclic GC runs under the whole chain). The checks (tests/e2e/chain.sh) expect
exactly these frames, in this order, from <module> or Thread._bootstrap down to the leaf.

usage: chain.py [SECONDS]   (default 3)
"""
import sys
import threading
import time

DESCEND = 3
SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0


def spin(n):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


class Cell:
    def __init__(self):
        self.peer = None


def churn(n):
    for _ in range(n):
        a, b = Cell(), Cell()
        a.peer, b.peer = b, a   # a cycle: only the cyclic GC frees it


def work(deadline):
    while time.monotonic() < deadline:
        spin(20000)
        churn(2000)


def descend(k, deadline):
    if k:
        return descend(k - 1, deadline)
    return work(deadline)


def level_24(d): return descend(DESCEND, d)
def level_23(d): return level_24(d)
def level_22(d): return level_23(d)
def level_21(d): return level_22(d)
def level_20(d): return level_21(d)
def level_19(d): return level_20(d)
def level_18(d): return level_19(d)
def level_17(d): return level_18(d)
def level_16(d): return level_17(d)
def level_15(d): return level_16(d)
def level_14(d): return level_15(d)
def level_13(d): return level_14(d)
def level_12(d): return level_13(d)
def level_11(d): return level_12(d)
def level_10(d): return level_11(d)
def level_09(d): return level_10(d)
def level_08(d): return level_09(d)
def level_07(d): return level_08(d)
def level_06(d): return level_07(d)
def level_05(d): return level_06(d)
def level_04(d): return level_05(d)
def level_03(d): return level_04(d)
def level_02(d): return level_03(d)
def level_01(d): return level_02(d)


def run(deadline):
    level_01(deadline)


if __name__ == "__main__":
    end = time.monotonic() + SECONDS
    others = [threading.Thread(target=run, args=(end,), name=f"chain-{i}") for i in range(2)]
    for t in others:
        t.start()
    run(end)
    for t in others:
        t.join()
