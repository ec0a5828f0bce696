#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Node.js, unmodified: node_http_server.js on a free loopback port, driven by
# node_http_client.js (N requests, C at a time, each answer checked). Both run in the mode this
# script runs in (under greenrun, the shim is in both). Prints the client's transcript and the
# server's, then waits for the server to stop by itself (GET /quit).
#   node_http.sh [N] [C]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
n=${1:-2000} c=${2:-20}
w=$(mktemp -d)
spid=""
trap '[ -z "$spid" ] || kill "$spid" 2>/dev/null; rm -rf "$w"' EXIT
mkdir "$w/files"
for i in 1 2 3 4 5; do
  awk -v k="$i" 'BEGIN { for (j = 0; j < 2000 * k; j++) printf "%d line %d of file %d\n", j * k, j, k }' >"$w/files/f$i.txt"
done
node "$here/node_http_server.js" "$w/files" >"$w/server.out" 2>"$w/server.err" &
spid=$!
for i in $(seq 200); do
  grep -q '^PORT ' "$w/server.out" && break
  kill -0 "$spid" 2>/dev/null || break
  sleep 0.05
done
port=$(awk '/^PORT /{print $2; exit}' "$w/server.out")
[ -n "$port" ] || { echo "the server printed no port"; cat "$w/server.err"; exit 1; }
node "$here/node_http_client.js" "$port" "$w/files" "$n" "$c"
for i in $(seq 200); do kill -0 "$spid" 2>/dev/null || break; sleep 0.05; done
status=0
wait "$spid" || status=$?
spid=""
echo "server: $(grep -v '^PORT ' "$w/server.out" | tr '\n' ' ')status $status"
cat "$w/server.err"
