#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# rsync, unmodified: a local copy (a sender, a receiver and a generator process joined by
# socketpairs, multiplexed with select) of 200 files and a 20 MB one, then an incremental run
# after a change, a deletion and a new file, with checksums (-c). Prints what rsync reported
# and whether the copy is the same as the source.
set -euo pipefail
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
mkdir -p "$w/src/a/b"
awk 'BEGIN { for (i = 0; i < 700000; i++) printf "%d %x\n", i, (i * 2654435761) % 4294967296 }' \
  >"$w/src/a/b/big"
for i in $(seq 200); do head -c $((i * 997)) "$w/src/a/b/big" >"$w/src/a/f$i"; done
touch -d 2019-01-01 "$w/src/a" # the changes below give it another time, whatever the clock says
same() { diff -r "$w/src" "$w/dst" >/dev/null && echo "the same" || echo "NOT the same"; }
rsync -a "$w/src/" "$w/dst/"
echo "first copy: $(same)"
echo changed >"$w/src/a/f7"
rm "$w/src/a/f9"
echo new >"$w/src/a/new"
touch -d 2020-01-01 "$w/src/a" "$w/src/a/f7"
echo "second run: $(rsync -a -c --delete -i "$w/src/" "$w/dst/" | sort | tr '\n' ' ')"
echo "second copy: $(same)"
echo "third run: [$(rsync -a -c --delete -i "$w/src/" "$w/dst/")]"
