#!/bin/sh
# SPDX-License-Identifier: MIT
# Which allocation sites of src/ and preload/ the out-of-memory tests reach: runs them
# (nomem.*, overflow.canary_nomem, preload.nomem*) with GREEN_NOMEM_SITES, where each appends
# the sites it failed, and compares those with every call of malloc, calloc, realloc, strdup
# and mmap in src/ and preload/ (src/alloc.h routes them all).
#   tests/nomem_coverage.sh BUILD-DIR
set -u
build=$1
top=$(cd "$(dirname "$0")/.." && pwd)
reached=$(mktemp)
trap 'rm -f "$reached" "$reached.all"' EXIT
GREEN_NOMEM_SITES=$reached ctest --test-dir "$build" -j2 \
  -R '^(nomem\.|overflow\.canary_nomem$|preload\.nomem)' >/dev/null 2>&1 ||
  echo "some tests FAILED: ctest --test-dir $build -R '^(nomem\.|overflow\.canary_nomem\$|preload\.nomem)'"
for dir in src preload; do
  grep -nE '(^|[^_a-zA-Z.>])(malloc|calloc|realloc|strdup|mmap)\(' "$top/$dir"/*.c |
    grep -vE '/(alloc|greenrun)\.c:' | grep -vE ':[0-9]+:\s*(\*|//|/\*)' |
    sed -E 's|^.*/([a-z_0-9]+\.c):([0-9]+):.*|\1:\2|' | sort -u >"$reached.all"
  total=$(wc -l <"$reached.all")
  hit=0
  while read -r site; do
    if grep -q "/$dir/$site " "$reached"; then
      hit=$((hit + 1))
    else
      echo "not reached: $dir/$site"
    fi
  done <"$reached.all"
  echo "allocation sites of $dir/ reached: $hit / $total"
done
echo "c-ares allocations failed: $(grep -c '^c-ares' "$reached")"
