# SPDX-License-Identifier: MIT
"""The gevent reference for green-fetch's benchmark (run with /usr/bin/python3, python3-gevent).

    fetch_gevent.py CONCURRENCY URLFILE

The same work as `green-fetch -q -c CONCURRENCY -i URLFILE`: a gevent Pool of CONCURRENCY
greenlets, one per URL, http.client over monkey-patched sockets, and like green-fetch the
connections are kept alive and reused per server (a stale one is replaced once). Bodies are
read and counted, not kept. Prints the wall time from the first request to the last response,
and a RESULT line for scripts/bench.
"""
from gevent import monkey

monkey.patch_all()

import http.client  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402

import gevent.pool  # noqa: E402


def main():
    concurrency = int(sys.argv[1])
    with open(sys.argv[2]) as f:
        urls = [line.strip() for line in f if line.strip()]
    idle = {}  # (host, port) -> kept-alive HTTPConnections
    done = {"ok": 0, "bytes": 0}

    def fetch(url):
        u = urllib.parse.urlsplit(url)
        key = (u.hostname, u.port or 80)
        target = (u.path or "/") + ("?" + u.query if u.query else "")
        conns = idle.setdefault(key, [])
        for _ in range(2):
            reused = bool(conns)
            conn = conns.pop() if reused else http.client.HTTPConnection(*key, timeout=30)
            try:
                conn.request("GET", target)
                resp = conn.getresponse()
                body = resp.read()
            except (http.client.HTTPException, OSError):
                conn.close()
                if reused:
                    continue
                return
            if resp.will_close:
                conn.close()
            else:
                conns.append(conn)
            if 200 <= resp.status < 300:
                done["ok"] += 1
                done["bytes"] += len(body)
            return

    pool = gevent.pool.Pool(concurrency)
    start = time.monotonic()
    for url in urls:
        pool.spawn(fetch, url)
    pool.join()
    wall = time.monotonic() - start
    print("gevent: %d URLs, %d ok, %d bytes in %.3f s (%.0f requests/s)"
          % (len(urls), done["ok"], done["bytes"], wall, len(urls) / wall))
    print("RESULT fetch_gevent_rps=%.0f" % (len(urls) / wall))
    return 0 if done["ok"] == len(urls) else 1


if __name__ == "__main__":
    sys.exit(main())
