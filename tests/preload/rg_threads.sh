#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ripgrep (Rust), unmodified: 4 searching threads over 8 directories of 50 files and a FIFO.
# Rust's std keeps each thread's handle in a thread_local, so rg aborts if green threads share
# one. The FIFO holds one thread in a read while the OS threads are counted ("THREADS n"),
# then gets its lines. Prints the sorted matches per file and their total.
set -euo pipefail
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
for d in 0 1 2 3 4 5 6 7; do
  mkdir "$w/d$d"
  awk -v d="$d" -v dir="$w/d$d" 'BEGIN { for (f = 0; f < 50; f++) {
      out = sprintf("%s/f%02d.txt", dir, f)
      for (i = 0; i < 2000; i++)
        printf "%d line %d of file %d: %s\n", d, i, f, (i * 7 + f + d) % 13 ? "hay" : "needle" > out
      close(out) } }'
done
mkfifo "$w/fifo"
rg -j 4 -c needle "$w"/d? "$w/fifo" >"$w/found" &
pid=$!
sleep 0.5 # the directories are searched; a thread waits on the FIFO
echo "THREADS $(awk '/^Threads:/{print $2}' "/proc/$pid/status")"
# (an rg that died has no reader: the write gives up)
timeout 20 bash -c 'printf "needle from the fifo\nhay\nneedle again\n" >"$1"' - "$w/fifo" || true
wait "$pid"
sed "s|^$w/||" "$w/found" | sort >"$w/counts"
echo "files with matches: $(wc -l <"$w/counts"), matches: $(awk -F: '{s += $2} END {print s}' "$w/counts")"
echo "fifo: $(grep '^fifo:' "$w/counts")"
echo "counts: $(sha256sum <"$w/counts" | cut -c1-16)"
