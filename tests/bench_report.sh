#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# docs/benchmarks.md's report blocks and README.md's captions are what scripts/bench-report makes
# from the samples kept in docs/data/: no block edited by hand, none left from an older run.
# Each plot the pages show is made again, and must be a PNG of 800 x 500 pixels.
# usage: tests/bench_report.sh SOURCE_DIR
set -euo pipefail
SRC=$1
PY=/usr/bin/python3
if ! "$PY" -c 'import matplotlib' 2>/dev/null; then
  echo "SKIP: /usr/bin/python3 has no matplotlib (scripts/test installs python3-matplotlib)"
  exit 77
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cp "$SRC/docs/benchmarks.md" "$WORK/benchmarks.md"
cp "$SRC/README.md" "$WORK/README.md"
"$PY" "$SRC/scripts/bench-report" --results "$SRC/docs/data/results.tsv" \
  --machine "$SRC/docs/data/machine.tsv" --doc "$WORK/benchmarks.md" --img "$WORK/img" \
  --readme "$WORK/README.md" 2>"$WORK/err"
if grep -v '^bench-report: no figures for' "$WORK/err" | grep .; then
  echo "FAIL: bench-report complained (above)"; exit 1
fi
fail=0
for f in benchmarks.md:docs/benchmarks.md README.md:README.md; do
  if ! diff -u "$SRC/${f#*:}" "$WORK/${f%%:*}" >"$WORK/diff"; then
    echo "FAIL: ${f#*:} differs from what docs/data/ gives (scripts/bench-report remakes it):"
    head -40 "$WORK/diff"; fail=1
  fi
done
# Every block of the page has figures: an empty one means its section never ran.
for name in $(grep -o 'report:begin [a-z-]*' "$SRC/docs/benchmarks.md" | cut -d' ' -f2); do
  body=$(sed -n "/report:begin $name -->/,/report:end $name -->/p" "$SRC/docs/benchmarks.md")
  if [ "$(printf '%s\n' "$body" | wc -l)" -lt 4 ]; then
    echo "FAIL: block $name is empty"; fail=1
  fi
done
for img in $(grep -oh 'img/[a-z-]*\.png' "$SRC/docs/benchmarks.md" "$SRC/README.md" | sort -u); do
  made=$WORK/img/${img#img/}
  if [ ! -f "$made" ]; then
    echo "FAIL: the pages show $img, and bench-report made no such plot"; fail=1; continue
  fi
  size=$("$PY" -c 'import struct, sys
d = open(sys.argv[1], "rb").read(24)
assert d[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
print("%dx%d" % struct.unpack(">II", d[16:24]))' "$made")
  [ "$size" = 800x500 ] || { echo "FAIL: $img is $size, not 800x500"; fail=1; }
  [ -f "$SRC/docs/$img" ] || { echo "FAIL: docs/$img is not in the tree"; fail=1; }
done
[ "$fail" = 0 ] && echo "ok: the report blocks, the captions and the plots come from docs/data/"
exit "$fail"
