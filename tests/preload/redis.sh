#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Debian's redis-server, unmodified, with its own clients. It is linked with jemalloc, whose
# locks every thread takes, and jemalloc's background threads stay OS threads the shim does
# not manage (jemalloc finds pthread_create past the shim). Their number follows the arenas
# in use: 1 natively here, 2 under greenrun -j 2 (one per hub that allocates). So
# "THREADS n" counts the server's other OS threads (under greenrun: its hubs), and the
# transcript says whether jemalloc's run. Under compare.sh the server, redis-cli and
# redis-benchmark all run under greenrun (they inherit LD_PRELOAD).
#
# Starts its own server on a free loopback port with its files in a temporary directory and
# stops it by PID: a system redis on 6379 is never touched. Prints the commands' answers,
# what the benchmark left in the database, the outcome of a BGSAVE (redis forks a child to
# write the database) and "THREADS n" for the server; the benchmark's requests per second
# go to stderr (compared by nobody).
set -euo pipefail
w=$(mktemp -d)
spid=""
trap '[ -z "$spid" ] || kill "$spid" 2>/dev/null; rm -rf "$w"' EXIT

cli() { timeout 20 redis-cli -h 127.0.0.1 -p "$port" "$@"; }

for try in $(seq 20); do
  port=$((20000 + RANDOM % 40000))
  redis-server --port "$port" --bind 127.0.0.1 --dir "$w" --save "" --appendonly no \
    --daemonize no --logfile "$w/redis.log" >/dev/null 2>&1 &
  spid=$!
  for i in $(seq 200); do
    [ "$(cli PING 2>/dev/null)" = PONG ] && break
    kill -0 "$spid" 2>/dev/null || break
    sleep 0.05
  done
  kill -0 "$spid" 2>/dev/null && break
  wait "$spid" || true
  spid=""
done
[ -n "$spid" ] || { echo "redis-server did not start"; cat "$w/redis.log"; exit 1; }

echo "SET: $(cli SET greeting hello)"
echo "GET: $(cli GET greeting)"
echo "INCR: $(cli INCR visits) $(cli INCR visits) $(cli INCRBY visits 40)"
echo "RPUSH: $(cli RPUSH letters a b c), LRANGE: $(cli LRANGE letters 0 -1 | tr '\n' ' ')"
echo "DEL: $(cli DEL greeting), EXISTS: $(cli EXISTS greeting)"

timeout 120 redis-benchmark -h 127.0.0.1 -p "$port" -q -n 20000 -c 50 \
  -t set,get,incr,lpush,lpop </dev/null >"$w/bench" 2>&1 ||
  { echo "redis-benchmark failed: $?"; tr '\r' '\n' <"$w/bench" | tail -5; }
tr '\r' '\n' <"$w/bench" | grep 'requests per second' >"$w/rps" || true
for t in SET GET INCR LPUSH LPOP; do
  if line=$(grep "^$t: " "$w/rps"); then
    echo "redis-benchmark $t: done"
    echo "redis rps $line" >&2
  else
    echo "redis-benchmark $t: missing"
  fi
done
echo "the benchmark's INCR counter: $(cli GET counter:__rand_int__)"
echo "its list after as many LPOP as LPUSH: $(cli LLEN mylist) items"
echo "BGSAVE (a forked child writes the database): $(cli BGSAVE)"
for i in $(seq 200); do
  cli INFO persistence | grep -q '^rdb_bgsave_in_progress:0' && break
  sleep 0.05
done
echo "$(cli INFO persistence | tr -d '\r' | grep '^rdb_last_bgsave_status:'), dump.rdb: \
$([ -s "$w/dump.rdb" ] && echo written || echo missing)"
names=$(cat /proc/"$spid"/task/*/comm 2>/dev/null || true)
echo "jemalloc's background threads: $(grep -qx jemalloc_bg_thd <<<"$names" && echo running || echo none)"
echo "THREADS $(grep -cvx jemalloc_bg_thd <<<"$names")"

kill "$spid"
status=0
wait "$spid" || status=$?
spid=""
echo "redis-server stopped: status $status"
