#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# One allocation site of the shim out of memory: runs COMMAND (greenrun and its program) once
# as it is, then with the first allocation made in function FN failing (GREEN_FAULT_ALLOC=FN,
# src/alloc.h). The failing run must reach FN, end with status 0 and nothing on stderr but
# the line naming the failure, and print EXPECTED (its lines separated by '|'): the errno or
# the degradation preload/README.md documents. GREEN_NOMEM_SITES=file appends the site to
# file (tests/nomem_coverage.sh).
#
# usage: nomem_site.sh FN EXPECTED COMMAND...
set -uo pipefail
FN=$1 EXPECTED=$2
shift 2
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
ulimit -c 0
fail() {
  echo "FAIL: $*"
  head -c 3000 "$W/out"
  head -c 6000 "$W/err"
  exit 1
}
timeout -k 5 30 "$@" >"$W/out" 2>"$W/err" || fail "without a failure: status $?"
[ -s "$W/err" ] && fail "without a failure: stderr is not empty"
echo "as it is: $(tr '\n' '|' <"$W/out")"
GREEN_FAULT_ALLOC=$FN timeout -k 5 30 "$@" >"$W/out" 2>"$W/err"
status=$?
site=$(sed -n 's/^libgreen: GREEN_FAULT_ALLOC: allocation [0-9]* failed at //p' "$W/err")
[ -n "$site" ] || fail "no allocation in $FN failed"
[ "$status" = 0 ] || fail "$site: status $status"
grep -vq '^libgreen: GREEN_FAULT_ALLOC:' "$W/err" && fail "$site: stderr is not empty"
got=$(tr '\n' '|' <"$W/out")
echo "$site: $got"
[ "$got" = "$EXPECTED|" ] || fail "$site: expected $EXPECTED|"
if [ -n "${GREEN_NOMEM_SITES:-}" ]; then
  echo "${site% (*}" "$FN" degraded >>"$GREEN_NOMEM_SITES"
fi
echo "PASS"
