#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""mutex: the loops of bench_mutex.c in gevent, with gevent.lock.Semaphore (gevent's
mutex) and gevent.lock.RLock: ns per acquire + release uncontended, and ns per acquire +
release of two greenlets that each acquire, gevent.sleep(0) inside the critical section,
and release, with the share of those acquisitions that changed the owner. Prints RESULT
lines for scripts/bench.

usage: /usr/bin/python3 mutex_gevent.py [-n pairs] [-c contended_locks] [-r rounds] [-t max_seconds]
"""
import argparse
import statistics
import time

import gevent
import gevent.lock


def uncontended(lock, n, limit):
    acquire, release = lock.acquire, lock.release
    done = 0
    t0 = time.perf_counter()
    while done < n and time.perf_counter() - t0 < limit:
        for _ in range(10000):
            acquire()
            release()
        done += 10000
    return (time.perf_counter() - t0) * 1e9 / done


def contended(lock, n, limit):
    st = {"left": n, "locks": 0, "handoffs": 0, "last": 0}
    deadline = time.perf_counter() + limit

    def worker(me):
        while st["left"] > 0:
            lock.acquire()
            st["left"] -= 1
            st["locks"] += 1
            st["handoffs"] += st["last"] != me
            st["last"] = me
            if st["locks"] & 1023 == 0 and time.perf_counter() > deadline:
                st["left"] = 0
            gevent.sleep(0)
            lock.release()

    t0 = time.perf_counter()
    gevent.joinall([gevent.spawn(worker, 0), gevent.spawn(worker, 1)])
    took = time.perf_counter() - t0
    return took * 1e9 / st["locks"], st["handoffs"] / st["locks"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=2000000, help="uncontended pairs per round")
    ap.add_argument("-c", type=int, default=200000, help="contended locks per round")
    ap.add_argument("-r", type=int, default=5, help="rounds")
    ap.add_argument("-t", type=float, default=10, help="max seconds per run")
    a = ap.parse_args()
    kinds = {"sem": gevent.lock.Semaphore, "rlock": gevent.lock.RLock}
    res = {k: ([], []) for k in kinds}
    share = {}
    for k, make in kinds.items():  # warm up
        uncontended(make(), a.n // 10, a.t)
        contended(make(), a.c // 10, a.t)
    for r in range(a.r):
        for k, make in kinds.items():
            u = uncontended(make(), a.n, a.t)
            c, share[k] = contended(make(), a.c, a.t)
            res[k][0].append(u)
            res[k][1].append(c)
            print(f"  round {r + 1}: gevent {k} acquire+release {u:.1f} ns  contended {c:.1f} ns "
                  f"({share[k] * 100:.2f}% hand-offs)")
    print(f"gevent {gevent.__version__}, medians:")
    for k in kinds:
        u, c = statistics.median(res[k][0]), statistics.median(res[k][1])
        print(f"  {k}: {u:.1f} ns uncontended, {c:.1f} ns contended")
        print(f"RESULT mutex_gevent_{k}_ns={u:.1f} ns")
        print(f"RESULT mutex_gevent_{k}_contended_ns={c:.1f} ns")
        print(f"RESULT mutex_gevent_{k}_handoff_share={share[k]:.3f}")


if __name__ == "__main__":
    main()
