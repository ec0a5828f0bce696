#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# pigz, unmodified: a reader, a writer and 4 compressing threads that hand 128 KiB blocks to
# each other through pthread condition variables. Prints the digest of what it wrote (the same
# in green mode: the threads take turns on one OS thread), whether it decompresses to the
# input (with gzip, and with pigz's own threaded check), and "THREADS n", the most OS threads
# pigz was seen running (from /proc/PID/status as it works).
set -euo pipefail
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
awk 'BEGIN { x = 7; for (i = 0; i < 400000; i++) { x = (x * 1103515245 + 12345) % 2147483648
                                                  printf "%d %x %o\n", i, x, x % 4096 } }' >"$w/in"
pigz -n -p 4 -b 128 -c "$w/in" >"$w/out.gz" &
pid=$!
most=0
while n=$(awk '/^Threads:/{print $2}' "/proc/$pid/status" 2>/dev/null) && [ -n "$n" ]; do
  [ "$n" -le "$most" ] || most=$n
  sleep 0.01
done
wait "$pid"
echo "THREADS $most"
echo "pigz -p 4 output: $(sha256sum <"$w/out.gz" | cut -c1-16), $(wc -c <"$w/out.gz") bytes"
echo "gzip -dc: $(gzip -dc "$w/out.gz" | cmp -s - "$w/in" && echo "the input" || echo "NOT the input")"
echo "pigz -t: $(pigz -p 4 -t "$w/out.gz" && echo intact)"
pigz -p 4 -c "$w/in" | pigz -dc | cmp -s - "$w/in" && echo "pigz | pigz -d: the input"
