"""A Flask app for perfsight's CI gate tests (diff, check): four endpoints whose call structure is
written here, and two deliberate changes chosen by CIAPP_CHANGE, so a test knows what must change:

  slow  checksum() does its loop twice: a hot function made twice as slow (its own time)
  gc    /orders also builds reference cycles in make_cycles(): an endpoint made GC-heavy

Without CIAPP_CHANGE the app is the baseline; repeated runs of it are the noise a gate must
ignore. Served by gunicorn under wrk (tests/tools/record/ciapp.sh)."""
import json
import os

from flask import Flask, jsonify

CHANGE = os.environ.get("CIAPP_CHANGE", "")
app = Flask(__name__)


def checksum(data, rounds):
    h = 0
    for _ in range(rounds):
        for b in data:
            h = (h * 31 + b) & 0xFFFFFFFF
    return h


def price(items):
    return sum(i["qty"] * i["unit"] for i in items)


class Node:
    def __init__(self, other):
        self.other = other


def make_cycles(n):
    # pairs that point at each other: only the cyclic GC frees them
    for _ in range(n):
        a = Node(None)
        a.other = Node(a)


def render_rows(n):
    rows = [{"id": i, "name": "user%d" % i, "tags": ["a", "b"], "score": i * 1.5} for i in range(n)]
    return json.dumps(rows, sort_keys=True)


@app.route("/checksum")
def r_checksum():
    return jsonify(h=checksum(b"perfsight-ci" * 700, 2 if CHANGE == "slow" else 1))


@app.route("/orders")
def r_orders():
    orders = [{"id": i, "items": [{"qty": j, "unit": 1.5} for j in range(6)]} for i in range(150)]
    if CHANGE == "gc":
        make_cycles(3000)
    return jsonify(total=sum(price(o["items"]) for o in orders))


@app.route("/render")
def r_render():
    return app.response_class(render_rows(300), mimetype="application/json")


@app.route("/ping")
def r_ping():
    return "ok"
