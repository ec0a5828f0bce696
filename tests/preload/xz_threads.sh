#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A compressor's worker threads, from Debian, unmodified: xz -T3 compresses 5 MB of text in
# 512 KiB blocks, a block per worker thread at a time. Prints the digest of what it wrote
# (the same in green mode: the workers take turns instead of running side by side) and
# "THREADS n", the most OS threads xz was seen running (from /proc/PID/status as it works).
set -euo pipefail
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
awk 'BEGIN { x = 1; for (i = 0; i < 300000; i++) { x = (x * 1103515245 + 12345) % 2147483648
                                                  printf "%d %x\n", i, x } }' >"$w/in"
xz -T3 --block-size=512KiB -c "$w/in" >"$w/out.xz" &
pid=$!
most=0
while n=$(awk '/^Threads:/{print $2}' "/proc/$pid/status" 2>/dev/null) && [ -n "$n" ]; do
  [ "$n" -le "$most" ] || most=$n
  sleep 0.01
done
wait "$pid"
echo "THREADS $most"
echo "xz -T3 output: $(sha256sum <"$w/out.xz" | cut -c1-16), $(wc -c <"$w/out.xz") bytes"
echo "decompressed: $(xz -dc "$w/out.xz" | cmp -s - "$w/in" && echo "the input" || echo "NOT the input")"
echo "xz -T3 block count: $(xz --robot -l "$w/out.xz" | awk '/^totals/{print $3}')"
