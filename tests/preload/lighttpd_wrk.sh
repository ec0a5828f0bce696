#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# lighttpd (one process, an event loop on epoll) on a free loopback port, loaded by wrk (4
# threads, each an event loop of its own, 40 connections) for 2 s, then curl fetches a 16 MB
# file and a missing one; lighttpd is stopped by its PID. Prints whether every wrk answer was a
# 200 without a connect, read or write error, what curl got, and "THREADS n", the most OS
# threads wrk was seen running (from /proc/PID/status).
set -euo pipefail
. "$(dirname "$0")/listen.sh"
w=$(mktemp -d)
spid=""
trap '[ -z "$spid" ] || kill "$spid" 2>/dev/null; rm -rf "$w"' EXIT
mkdir "$w/www"
echo "hello from lighttpd" >"$w/www/index.html"
awk 'BEGIN { for (i = 0; i < 1200000; i++) printf "%d %x\n", i, (i * 40503) % 65536 }' >"$w/www/big"
for try in $(seq 20); do
  port=$((20000 + RANDOM % 40000))
  printf 'server.document-root = "%s"\nserver.bind = "127.0.0.1"\nserver.port = %d\n' \
    "$w/www" "$port" >"$w/lighttpd.conf"
  echo 'server.modules = ()' >>"$w/lighttpd.conf"
  echo "server.errorlog = \"$w/error.log\"" >>"$w/lighttpd.conf"
  lighttpd -D -f "$w/lighttpd.conf" >"$w/server.out" 2>&1 &
  spid=$!
  wait_listening "$port" "$spid" || true
  kill -0 "$spid" 2>/dev/null && break
  wait "$spid" || true
  spid=""
done
[ -n "$spid" ] || { echo "lighttpd did not listen"; cat "$w/server.out"; exit 1; }
wrk -t4 -c40 -d2s "http://127.0.0.1:$port/index.html" >"$w/wrk.out" &
wpid=$!
most=0
while n=$(awk '/^Threads:/{print $2}' "/proc/$wpid/status" 2>/dev/null) && [ -n "$n" ]; do
  [ "$n" -le "$most" ] || most=$n
  sleep 0.05
done
wait "$wpid"
echo "THREADS $most"
requests=$(awk '/requests in/{print $1}' "$w/wrk.out")
echo "wrk: answers: $([ "${requests:-0}" -gt 100 ] && echo "more than 100" || echo "${requests:-none}")"
echo "wrk: not 200: $(awk '/Non-2xx/{n = $NF} END {print n ? n : "none"}' "$w/wrk.out")"
# "Socket errors: connect a, read b, write c, timeout d": timeouts only say the machine is busy
echo "wrk: connect, read or write errors: $(awk -F'[ ,]+' '/Socket errors/ { n = $5 + $7 + $9 }
                                                          END { print n + 0 }' "$w/wrk.out")"
echo "curl big: $(curl -sS "http://127.0.0.1:$port/big" | cmp -s - "$w/www/big" && echo "the file" || echo "NOT the file")"
echo "curl missing: $(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/missing")"
kill "$spid"
status=0
wait "$spid" || status=$?
spid=""
# lighttpd 1.4.69 sometimes exits 1 after a clean SIGTERM shutdown, natively too: its log
# saying it stopped is the sign.
stopped=no
if [ "$status" -le 1 ] && grep -q "server stopped by" "$w/error.log"; then stopped=yes; fi
echo "lighttpd: ended by SIGTERM: $([ "$stopped" = yes ] && echo yes || echo "no ($status)")"
[ "$stopped" = yes ] || { cat "$w/error.log" "$w/server.out" >&2; }
