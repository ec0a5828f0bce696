# SPDX-License-Identifier: MIT
"""gevent's side of bench_memory: n greenlets park in a read on the read end of one empty
non-blocking pipe (gevent.os.nb_read: each waits on an io watcher of its own on the fd). After
-s seconds parked it reads VmRSS and reports (after - before) / n in KiB, then kills them all
and times until every one has ended. Prints RESULT lines for scripts/bench.

usage: /usr/bin/python3 memory_gevent.py [-n greenlets] [-s park_seconds] [-t max_seconds]
"""
import argparse
import gc
import os
import sys
import time

import gevent
import gevent.os


def status(field):
    """A field of /proc/self/status in its own unit (kB for VmRSS), or -1."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=100000, help="greenlets")
    ap.add_argument("-s", type=float, default=5, help="seconds parked before the RSS sample")
    ap.add_argument("-t", type=float, default=120, help="max seconds")
    a = ap.parse_args()
    deadline = time.monotonic() + a.t
    rd, wr = os.pipe()
    gevent.os.make_nonblocking(rd)
    started = 0

    def idle():
        nonlocal started
        started += 1
        gevent.os.nb_read(rd, 1)  # ends with GreenletExit when killed

    gevent.sleep(0)  # start the hub outside the measurement
    gc.collect()
    before = status("VmRSS")
    t0 = time.monotonic()
    gs = [gevent.spawn(idle) for _ in range(a.n)]
    while started < a.n and time.monotonic() < deadline:
        gevent.sleep(0.001)
    t1 = time.monotonic()
    gevent.sleep(max(0, min(a.s, deadline - time.monotonic())))
    after = status("VmRSS")
    per = (after - before) / a.n
    print(f"memory: {started} of {a.n} greenlets parked in a read on one pipe after "
          f"{t1 - t0:.2f} s (gevent {gevent.__version__}, Python {sys.version.split()[0]}, "
          f"{gevent.get_hub().loop.__class__.__module__})")
    print(f"  VmRSS before {before} KiB, {a.s:.1f} s later {after} KiB")
    print(f"RSS per idle greenlet: {per:.2f} KiB")
    t2 = time.monotonic()
    # libev keeps the watchers of an fd in a list, newest first, and unlinks a stopped one by
    # walking it: killing the newest first keeps that walk short.
    gevent.killall(gs[::-1], timeout=max(1, deadline - t2))
    wake = (time.monotonic() - t2) * 1e9 / a.n
    print(f"  woke each once (killall): {wake:.1f} ns per greenlet")
    print(f"RESULT memory_gevent_kib={per:.2f} KiB")
    print(f"RESULT memory_gevent_spawn_ns={(t1 - t0) * 1e9 / a.n:.1f} ns")
    print(f"RESULT memory_gevent_wake_ns={wake:.1f} ns")
    os.close(rd)
    os.close(wr)
    return 0 if started == a.n else 1


if __name__ == "__main__":
    sys.exit(main())
