#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# memcached, unmodified (worker threads on libevent): started on a free loopback port with 4
# worker threads, driven by memcached_client.py (20 threads, a connection each, sets, gets and
# incrs checked), then stopped by its PID. Prints the client's transcript and "THREADS n", the
# OS thread count of the server while it works (from /proc/PID/status).
set -euo pipefail
. "$(dirname "$0")/listen.sh"
here=$(cd "$(dirname "$0")" && pwd)
w=$(mktemp -d)
spid=""
trap '[ -z "$spid" ] || kill "$spid" 2>/dev/null; rm -rf "$w"' EXIT
for try in $(seq 20); do
  port=$((20000 + RANDOM % 40000))
  memcached -u "$(id -un)" -l 127.0.0.1 -p "$port" -U 0 -t 4 -m 64 >"$w/server.out" 2>&1 &
  spid=$!
  wait_listening "$port" "$spid" || true
  kill -0 "$spid" 2>/dev/null && break
  wait "$spid" || true
  spid=""
done
[ -n "$spid" ] || { echo "memcached did not listen"; cat "$w/server.out"; exit 1; }
/usr/bin/python3 "$here/memcached_client.py" "$port" 20 50
echo "THREADS $(awk '/^Threads:/{print $2}' "/proc/$spid/status")"
kill "$spid"
status=0
wait "$spid" || status=$?
spid=""
echo "memcached: ended by SIGTERM: $([ "$status" = 143 ] || [ "$status" = 0 ] && echo yes || echo "no ($status)")"
cat "$w/server.out"
