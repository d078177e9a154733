# Allocates reference cycles for a fixed time: the collector runs often, and a third or more of
# the CPU is in it. Used by fixtures/two-pythons (a 3.9 and a 3.12 process in one capture).
import sys, time
class Node:
    def __init__(self, other=None):
        self.other = other
        self.payload = [0] * 8
end = time.time() + float(sys.argv[1] if len(sys.argv) > 1 else 2)
while time.time() < end:
    for _ in range(2000):
        a = Node(); b = Node(a); a.other = b
