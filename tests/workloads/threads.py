"""Three CPU-bound threads that fight over the GIL, and a main thread that makes cyclic garbage
(so the GC runs on it): the GIL waits must land on the crunch threads, the GC on the main one.
A shorter run of the shared fixtures' workload, for perfsight record's end-to-end test.

With GC_TRUTH_LOG=FILE set, every collection is also timed from inside the interpreter
(gc.callbacks) and written to FILE as "thread_id generation start_ns stop_ns" lines: the
interpreter's own figures, to compare the recorded GC pauses with."""
import gc
import os
import threading
import time

_log = os.environ.get("GC_TRUTH_LOG")
if _log:
    _rows, _open = [], {}

    def _gc_timer(phase, info):
        tid = threading.get_native_id()
        if phase == "start":
            _open[tid] = time.perf_counter_ns()
        elif tid in _open:
            _rows.append(f"{tid} {info['generation']} {_open.pop(tid)} {time.perf_counter_ns()}\n")

    gc.callbacks.append(_gc_timer)


def crunch(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


class Node:
    def __init__(self, parent):
        self.parent = parent
        self.kids = []


def churn(rounds):
    for _ in range(rounds):
        root = Node(None)
        for i in range(3000):
            child = Node(root)
            root.kids.append(child)
            child.kids.append(root)  # reference cycles: only the cyclic GC frees these


workers = [threading.Thread(target=crunch, args=(6_000_000,), name=f"crunch-{i}") for i in range(3)]
for t in workers:
    t.start()
churn(200)
for t in workers:
    t.join()
if _log:
    gc.collect()  # timed here: the collections at exit run no callbacks, so leave them nothing
    with open(_log, "w") as f:
        f.writelines(_rows)
