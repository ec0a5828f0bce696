#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""spawn + join: gevent's reference for bench_spawn. gevent.spawn of an empty function in
batches of 1,000, then gevent.joinall on the batch: ns per greenlet, the median of the
rounds. Prints RESULT spawn_gevent_ns=... ns for scripts/bench.

usage: spawn_gevent.py [-n greenlets_per_round] [-r rounds]"""
import argparse
import statistics
import time

import gevent


def nothing():
    pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument("-n", type=int, default=200000)
    p.add_argument("-r", type=int, default=3)
    a = p.parse_args()
    per = []
    for _ in range(a.r):
        t0 = time.perf_counter()
        for _ in range(a.n // 1000):
            gevent.joinall([gevent.spawn(nothing) for _ in range(1000)])
        per.append((time.perf_counter() - t0) * 1e9 / (a.n // 1000 * 1000))
    m = statistics.median(per)
    print(f"gevent spawn + joinall, batches of 1000: {m:.1f} ns per greenlet")
    print(f"RESULT spawn_gevent_ns={m:.1f} ns")


if __name__ == "__main__":
    main()
