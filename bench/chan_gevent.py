# SPDX-License-Identifier: MIT
"""gevent's side of bench_chan: gevent.queue.Queue put/get between two greenlets (maxsize 1
and 128, ns per item), ping-pong over two gevent.queue.Channel (ns per round trip), and a
plain Python generator's send+yield (ns). Prints RESULT lines for scripts/bench.

usage: /usr/bin/python3 chan_gevent.py [-n items] [-r rounds]
"""
import argparse
import statistics
import time

import gevent
from gevent.queue import Channel, Queue


def queue(n, maxsize):
    q = Queue(maxsize)

    def producer():
        for i in range(n):
            q.put(i)
        q.put(None)

    def consumer():
        while q.get() is not None:
            pass

    t0 = time.perf_counter()
    gevent.joinall([gevent.spawn(consumer), gevent.spawn(producer)])
    return (time.perf_counter() - t0) * 1e9 / n


def ping_pong(n):
    a, b = Channel(), Channel()

    def pong():
        while True:
            v = a.get()
            if v is None:
                return
            b.put(v)

    def ping():
        for i in range(1, n + 1):
            a.put(i)
            b.get()
        a.put(None)

    t0 = time.perf_counter()
    gevent.joinall([gevent.spawn(pong), gevent.spawn(ping)])
    return (time.perf_counter() - t0) * 1e9 / n


def generator(n):
    def echo():
        v = None
        while True:
            v = yield v

    g = echo()
    next(g)
    send = g.send
    t0 = time.perf_counter()
    for i in range(n):
        send(i)
    return (time.perf_counter() - t0) * 1e9 / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=100000)
    ap.add_argument("-r", type=int, default=3)
    a = ap.parse_args()
    queue(a.n // 10, 1)  # warm up
    runs = {"queue1_gevent_ns": [], "queue128_gevent_ns": [], "chan_gevent_ns": [],
            "gen_python_ns": []}
    for _ in range(a.r):
        runs["queue1_gevent_ns"].append(queue(a.n, 1))
        runs["queue128_gevent_ns"].append(queue(a.n, 128))
        runs["chan_gevent_ns"].append(ping_pong(a.n))
        runs["gen_python_ns"].append(generator(a.n * 10))
    print("gevent %s, Python %s" % (gevent.__version__, ".".join(map(str, __import__("sys").version_info[:3]))))
    for name, v in runs.items():
        print("%-20s %10.1f ns (median of %d)" % (name, statistics.median(v), a.r))
        print("RESULT %s=%.2f ns" % (name, statistics.median(v)))


if __name__ == "__main__":
    main()
