"""One thread that makes cyclic garbage beside a large live heap, so that every collection is a
large one (milliseconds, not microseconds): the interpreter's own timing of each collection
(gc.callbacks) then measures the collector, not the callbacks' own overhead, and a capture's GC
pauses can be checked against it within a few percent.

With GC_TRUTH_LOG=FILE set, every collection is timed from inside the interpreter and written
to FILE as "thread_id generation start_ns stop_ns" lines (as the shared threads.py does). One
thread only: in a multi-threaded process a callback can wait for the GIL, and its timing then
holds that wait too.

ROUNDS (argv[1], default 200) sets the length of the run. With GO=FILE set, it builds its heap,
then writes FILE.ready and waits for FILE to exist before it starts (so that a profiler attached meanwhile sees every
collection the log has, and none of start-up's), and it ends with os._exit (no collections at
shutdown either): the capture's collections and the log's are then the same ones.
"""
import gc
import os
import sys
import threading
import time

_log = os.environ.get("GC_TRUTH_LOG")
_rows, _open = [], {}


def _gc_timer(phase, info):
    if phase == "start":
        _open[0] = time.perf_counter_ns()
    elif 0 in _open:
        stop = time.perf_counter_ns()
        _rows.append(f"{threading.get_native_id()} {info['generation']} {_open.pop(0)} {stop}\n")



class Node:
    def __init__(self, parent):
        self.parent = parent
        self.kids = []


def live_heap(n):
    """Containers that live to the end: the older generations the full collections walk."""
    return [[i, {"k": i}] for i in range(n)]


def churn(rounds):
    for _ in range(rounds):
        root = Node(None)
        for _ in range(20000):
            child = Node(root)
            root.kids.append(child)
            child.kids.append(root)  # reference cycles: only the cyclic GC frees these


# young collections of 50,000 objects, and older ones often: each collection takes milliseconds
gc.set_threshold(50000, 3, 3)
keep = live_heap(60000)
go = os.environ.get("GO")
if go:
    open(go + ".ready", "w").close()
    while not os.path.exists(go):
        time.sleep(0.01)
if _log:
    gc.callbacks.append(_gc_timer)
churn(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
if _log:
    gc.callbacks.remove(_gc_timer)
    with open(_log, "w") as f:
        f.writelines(_rows)
if go:
    sys.stdout.flush()
    os._exit(0)
