#!/usr/bin/env python3
"""Writes N small captures for make bench's trend case: folded-stack files (FlameGraph's
format, which perfsight imports as profiler dumps) of a web app's Python functions, each of
a different mix, so that each import keeps its full set of trend rows (the figures and about
200 functions) as a real small capture's would.

usage: trend-captures.py DIR N"""
import os, random, sys

out, n = sys.argv[1], int(sys.argv[2])
os.makedirs(out, exist_ok=True)
funcs = ["py::handler_%d:/srv/app/views.py" % i for i in range(120)] + \
        ["py::helper_%d:/srv/app/lib.py" % i for i in range(120)]
roots = ["py::<module>:/srv/app/wsgi.py", "py::handle:/srv/app/server.py",
         "py::dispatch:/srv/app/app.py"]
for k in range(1, n + 1):
    path = os.path.join(out, "cap-%04d.folded" % k)
    if os.path.exists(path):
        continue
    rnd = random.Random(k)
    with open(path, "w") as f:
        for _ in range(400):
            depth = rnd.randint(1, 5)
            stack = roots + rnd.sample(funcs, depth)
            f.write("%s %d\n" % (";".join(stack), rnd.randint(1, 50)))
