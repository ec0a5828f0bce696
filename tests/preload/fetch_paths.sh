#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The demo's two paths fetch the same bytes: green-fetch (libgreen's API) and
# examples/fetch_blocking (one pthread per URL, plain blocking calls) under greenrun, from
# green-httpd: 100 URLs that answer after 100 ms, plain and chunked bodies of up to 1 MB.
# fetch_blocking must run on one OS thread, concurrently: under 5 s, where one URL after
# another takes more than 10 s. (It takes about green-fetch's time, 0.14 s here; under
# AddressSanitizer with other tests beside it, 2.7 s was seen.)
#
# usage: fetch_paths.sh GREENRUN GREEN_FETCH GREEN_HTTPD FETCH_BLOCKING
set -euo pipefail
GREENRUN=$1 FETCH=$2 HTTPD=$3 BLOCKING=$4
W=$(mktemp -d)
HPID=""
cleanup() { [ -z "$HPID" ] || kill "$HPID" 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
"$HTTPD" >"$W/port" &
HPID=$!
for _ in $(seq 100); do grep -q '^PORT ' "$W/port" && break; sleep 0.05; done
PORT=$(awk '/^PORT /{print $2}' "$W/port")
[ -n "$PORT" ] || { echo "FAIL: green-httpd did not start"; exit 1; }
{
  for i in $(seq 100); do echo "http://localhost:$PORT/delay/100?n=$i"; done
  for n in 0 1 4096 65537 1000000; do echo "http://127.0.0.1:$PORT/bytes/$n"; echo "http://127.0.0.1:$PORT/chunked/$n"; done
} >"$W/urls"
"$FETCH" -q -i "$W/urls" -o "$W/green" >"$W/green.out"
"$GREENRUN" "$BLOCKING" -q -i "$W/urls" -o "$W/blocking" >"$W/blocking.out"
cat "$W/green.out" "$W/blocking.out"
diff -r "$W/green" "$W/blocking" || { echo "FAIL: the bodies differ"; exit 1; }
echo "same bytes: $(ls "$W/green" | wc -l) bodies, $(cat "$W"/green/* | wc -c) bytes"
grep -q "(one thread per URL, 1 OS thread)" "$W/blocking.out" ||
  { echo "FAIL: fetch_blocking did not run on one OS thread under greenrun"; exit 1; }
secs() { sed -n 's/.* bytes in \([0-9.]*\) s .*/\1/p' "$1"; }
awk -v g="$(secs "$W/green.out")" -v b="$(secs "$W/blocking.out")" 'BEGIN {
  printf "green-fetch %.3f s, fetch_blocking under greenrun %.3f s\n", g, b
  exit !(b < 5.0) }' || { echo "FAIL: fetch_blocking under greenrun took too long"; exit 1; }
