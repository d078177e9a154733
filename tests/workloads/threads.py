"""Three CPU-bound threads that fight over the GIL, and a main thread that makes cyclic garbage
(so the GC runs on it): the GIL waits must land on the crunch threads, the GC on the main one.
A shorter run of the shared fixtures' workload, for perfsight record's end-to-end test."""
import threading


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


workers = [threading.Thread(target=crunch, args=(1_500_000,), name=f"crunch-{i}") for i in range(3)]
for t in workers:
    t.start()
churn(60)
for t in workers:
    t.join()
