#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A forking server from Debian, unmodified: socat accepts on 127.0.0.1 and forks a child per
# connection that echoes through a pipe (socat's PIPE address); 20 socat clients at once each
# send a different amount and get it back. Prints what each got: its size, and whether it is
# what was sent.
set -euo pipefail
. "$(dirname "$0")/listen.sh"
w=$(mktemp -d)
spid=""
trap '[ -z "$spid" ] || kill "$spid" 2>/dev/null; rm -rf "$w"' EXIT
head -c 400000 /dev/urandom >"$w/data"
for try in $(seq 20); do
  port=$((20000 + RANDOM % 40000))
  socat -T 10 "TCP4-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" PIPE 2>"$w/server.err" &
  spid=$!
  wait_listening "$port" "$spid" || true
  kill -0 "$spid" 2>/dev/null && break
  wait "$spid" || true
  spid=""
done
[ -n "$spid" ] || { echo "socat did not listen"; cat "$w/server.err"; exit 1; }
pids=()
for i in $(seq 20); do
  head -c $((i * 20000)) "$w/data" | socat -t 5 - "TCP4:127.0.0.1:$port" >"$w/got.$i" &
  pids+=($!)
done
wait "${pids[@]}"
for i in $(seq 20); do
  same=no
  head -c $((i * 20000)) "$w/data" | cmp -s - "$w/got.$i" && same=yes
  echo "client $i: $(wc -c <"$w/got.$i") bytes, same as sent: $same"
done
kill "$spid"
wait "$spid" 2>/dev/null || true
spid=""
