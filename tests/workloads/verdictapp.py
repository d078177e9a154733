"""A Flask app for perfsight's verdict tests (docs/verdicts.md): one endpoint per kind of work a
worker configuration is judged by, so that each recorded scenario (tests/tools/record/verdicts.sh)
knows which verdicts it must trigger and which it must not.

  /cpu     pure-Python arithmetic (~15 ms): CPU-bound, all in the eval loop
  /native  hashlib and zlib over a buffer: CPU in C libraries, not the interpreter
  /io      a round trip to a local backend (VERDICT_BACKEND=host:port) that answers after 20 ms:
           the worker waits on a socket read
  /gc      builds reference cycles that only the cyclic collector frees: GC-heavy
  /json    json.dumps(..., indent=2): the pure-Python encoder (json.encoder._make_iterencode),
           not the C accelerator, which serves only compact one-shot dumps
"""
import hashlib
import json
import os
import socket
import zlib

from flask import Flask

app = Flask(__name__)
BACKEND = os.environ.get("VERDICT_BACKEND", "")


def spin(n):
    h = 0
    for i in range(n):
        h = (h * 31 + i) & 0xFFFFFFFF
    return h


@app.route("/cpu")
def r_cpu():
    return str(spin(60000))


def digest(buf, rounds):
    d = b""
    for i in range(rounds):
        d = hashlib.sha256(buf + d).digest()
        d += zlib.compress(buf, 6 + i % 3)[:16]
    return d.hex()


DATA = bytes(range(256)) * 1024


@app.route("/native")
def r_native():
    return digest(DATA, 4)


def backend_call():
    host, port = BACKEND.rsplit(":", 1)
    with socket.create_connection((host, int(port))) as s:
        s.sendall(b"q\n")
        return s.recv(64)


@app.route("/io")
def r_io():
    return backend_call()


class Node:
    def __init__(self, other):
        self.other = other
        self.payload = [other]


def make_cycles(n):
    keep = []
    for _ in range(n):
        a = Node(None)
        a.other = Node(a)
        keep.append(a)
    return len(keep)


@app.route("/gc")
def r_gc():
    return str(make_cycles(4000))


ROWS = [{"id": i, "name": "user%d" % i, "tags": ["a", "b"], "score": i * 1.5} for i in range(1200)]


def render_pretty(rows):
    return json.dumps(rows, indent=2)


@app.route("/json")
def r_json():
    return app.response_class(render_pretty(ROWS), mimetype="application/json")
