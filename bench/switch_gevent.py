#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""switch: gevent's reference for bench_switch's green_yield. Two greenlets call gevent.sleep(0)
in turn (each yield goes through gevent's hub, as green_yield goes through libgreen's
scheduler), and two raw greenlets ping-pong with greenlet.switch. ns per one-way hand-off,
the median of the rounds. Prints RESULT lines for scripts/bench.

usage: switch_gevent.py [-n switches_per_round] [-r rounds]"""
import argparse
import statistics
import time

import gevent
import greenlet


def yields(n):
    def loop():
        for _ in range(n // 2):
            gevent.sleep(0)

    t0 = time.perf_counter()
    gevent.joinall([gevent.spawn(loop), gevent.spawn(loop)])
    return (time.perf_counter() - t0) * 1e9 / (n // 2 * 2)


def raw(n):
    state = {"left": n}

    def body(other_name):
        while state["left"] > 0:
            state["left"] -= 1
            state[other_name].switch()

    a = greenlet.greenlet(lambda: body("b"))
    b = greenlet.greenlet(lambda: body("a"))
    state["a"], state["b"] = a, b
    t0 = time.perf_counter()
    while state["left"] > 0:  # a and b return here when the count runs out
        a.switch()
    return (time.perf_counter() - t0) * 1e9 / n


def main():
    p = argparse.ArgumentParser()
    p.add_argument("-n", type=int, default=1000000)
    p.add_argument("-r", type=int, default=3)
    a = p.parse_args()
    ys, rs = [], []
    for _ in range(a.r):
        ys.append(yields(a.n))
        rs.append(raw(a.n))
    y, r = statistics.median(ys), statistics.median(rs)
    print(f"gevent.sleep(0) ping-pong: {y:.1f} ns one-way; greenlet.switch: {r:.1f} ns")
    print(f"RESULT switch_gevent_ns={y:.2f} ns")
    print(f"RESULT switch_greenlet_ns={r:.2f} ns")


if __name__ == "__main__":
    main()
