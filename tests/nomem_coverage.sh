#!/bin/sh
# Which allocation sites of src/ the nomem cases reach: runs each case of test_nomem with
# GREEN_NOMEM_SITES and compares the sites it failed with every call of malloc, calloc,
# realloc, strdup and mmap in src/ (src/alloc.h routes them all).
#   tests/nomem_coverage.sh build/tests/test_nomem [src-dir]
set -u
exe=$1
src=${2:-$(dirname "$0")/../src}
reached=$(mktemp)
trap 'rm -f "$reached" "$reached.all"' EXIT
for c in $("$exe" --list); do
  GREEN_NOMEM_SITES=$reached "$exe" "$c" >/dev/null 2>&1 || echo "case $c FAILED"
done
grep -nE '(^|[^_a-zA-Z.>])(malloc|calloc|realloc|strdup|mmap)\(' "$src"/*.c |
  grep -v '/alloc\.c:' | grep -vE ':[0-9]+:\s*(\*|//|/\*)' |
  sed -E 's|^.*/([a-z_0-9]+\.c):([0-9]+):.*|\1:\2|' | sort -u >"$reached.all"
total=$(wc -l <"$reached.all")
hit=0
while read -r site; do
  if grep -q "/src/$site " "$reached"; then
    hit=$((hit + 1))
  else
    echo "not reached: $site"
  fi
done <"$reached.all"
echo "allocation sites of src/ reached: $hit / $total"
echo "c-ares allocations failed: $(grep -c '^c-ares' "$reached")"
