"""The slow backend of verdictapp.py's /io: a TCP server that answers every line after a delay
(argv[2] ms), one thread per connection. Prints its port on the first line of standard output.
    python3 verdict_backend.py PORT DELAY_MS"""
import socket
import sys
import threading
import time


def serve(conn, delay):
    with conn:
        while conn.recv(64):
            time.sleep(delay)
            conn.sendall(b"ok\n")
            return


def main():
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", int(sys.argv[1])))
    srv.listen(256)
    print(srv.getsockname()[1], flush=True)
    delay = float(sys.argv[2]) / 1000
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn, delay), daemon=True).start()


main()
