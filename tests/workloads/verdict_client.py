"""A light, steady load for verdictapp.py: THREADS threads, each sending one GET of PATH and
reading the whole response every 1/RATE_PER_THREAD s, on a new connection that carries the
request at once (wrk's delay() connects first and sends later, so a sync worker would sit in
recv waiting for the request: I/O wait that no real client makes). Prints requests and errors.
    python3 verdict_client.py HOST:PORT PATH THREADS RATE_PER_THREAD SECONDS"""
import socket
import sys
import threading
import time

host, port = sys.argv[1].rsplit(":", 1)
path, threads, rate, secs = sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
req = ("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (path, host)).encode()
done = [0, 0]


def run():
    end = time.monotonic() + secs
    nxt = time.monotonic()
    while time.monotonic() < end:
        try:
            with socket.create_connection((host, int(port))) as s:
                s.sendall(req)
                while s.recv(65536):
                    pass
            done[0] += 1
        except OSError:
            done[1] += 1
        nxt += 1.0 / rate
        time.sleep(max(0.0, nxt - time.monotonic()))


ts = [threading.Thread(target=run) for _ in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print("requests %d errors %d in %.1f s" % (done[0], done[1], secs))
