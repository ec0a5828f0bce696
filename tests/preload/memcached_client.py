# SPDX-License-Identifier: MIT
"""A client for memcached's text protocol, stdlib only: T threads, each with its own connection,
set, get and incr K keys of varied sizes (up to 50 KB), then read them all back in one multi-key
get. Prints how many answers were right and wrong, and the server's own counters.
    memcached_client.py PORT T K"""
import socket
import sys
import threading


def value(t, k):
    return (b"%d-%d:" % (t, k)) * ((k * 997 + t * 31) % 5000 + 1)


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("the server closed the connection")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n", 1)
        return head

    def exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("the server closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def cmd(self, text, data=None):
        self.sock.sendall(text + b"\r\n" + (data + b"\r\n" if data is not None else b""))
        return self.line()

    def get(self, *keys):
        self.sock.sendall(b"get " + b" ".join(keys) + b"\r\n")
        got = {}
        while True:
            head = self.line().split()
            if head[0] == b"END":
                return got
            got[head[1]] = self.exact(int(head[3]) + 2)[:-2]


def client(port, t, k, tally):
    right = wrong = 0
    conn = Conn(port)
    for i in range(k):
        key, val = b"k%d.%d" % (t, i), value(t, i)
        ok = conn.cmd(b"set %s %d 0 %d" % (key, i, len(val)), val) == b"STORED"
        ok = ok and conn.get(key) == {key: val}
        ok = ok and conn.cmd(b"set n%d.%d 0 0 1" % (t, i), b"5") == b"STORED"
        ok = ok and conn.cmd(b"incr n%d.%d %d" % (t, i, t + 1)) == b"%d" % (t + 6)
        right, wrong = right + ok, wrong + (not ok)
    keys = [b"k%d.%d" % (t, i) for i in range(k)]
    ok = conn.get(*keys) == {key: value(t, i) for i, key in enumerate(keys)}
    right, wrong = right + ok, wrong + (not ok)
    conn.sock.close()
    tally.append((right, wrong))


def main():
    port, threads, keys = map(int, sys.argv[1:4])
    tally = []
    workers = [threading.Thread(target=client, args=(port, t, keys, tally)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    print("clients finished: %d of %d" % (len(tally), threads))
    print("answers: %d right, %d wrong" % (sum(r for r, _ in tally), sum(w for _, w in tally)))
    conn = Conn(port)
    conn.sock.sendall(b"stats\r\n")
    stats = {}
    while True:
        head = conn.line().split()
        if head[0] == b"END":
            break
        stats[head[1].decode()] = head[2].decode()
    for name in ("cmd_get", "cmd_set", "get_hits", "get_misses", "incr_hits", "curr_items"):
        print("stats %s %s" % (name, stats[name]))


if __name__ == "__main__":
    main()
