#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The shim and the runtime out of memory: runs PROGRAM under greenrun with its 1st, 2nd, 3rd...
# allocation failing (GREEN_FAULT_ALLOC=n, src/alloc.h) until a run meets no failure. Each
# run must end as the program ends when it runs to completion (status 0), whatever it printed
# about calls that failed: no crash, no hang, no sanitizer report, no abort of libgreen's own.
# GREEN_NOMEM_SITES=file appends each site failed to file (tests/nomem_coverage.sh).
#
# usage: nomem.sh GREENRUN PROGRAM [MAX_RUNS]
set -uo pipefail
GREENRUN=$1 PROG=$2 MAX=${3:-2000}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
ulimit -c 0
fail() {
  echo "FAIL: $*"
  head -c 3000 "$W/out"
  head -c 6000 "$W/err"
  exit 1
}
sites=()
for ((n = 1; n <= MAX; n++)); do
  GREEN_FAULT_ALLOC=$n timeout -k 5 30 "$GREENRUN" -- "$PROG" >"$W/out" 2>"$W/err"
  status=$?
  site=$(sed -n 's/^libgreen: GREEN_FAULT_ALLOC: allocation [0-9]* failed at //p' "$W/err")
  [ "$status" = 0 ] || fail "allocation $n (${site:-none}): status $status"
  if grep -vq '^libgreen: GREEN_FAULT_ALLOC:' "$W/err"; then
    fail "allocation $n (${site:-none}): stderr is not empty"
  fi
  if [ -z "$site" ]; then
    echo "$((n - 1)) allocations failed in turn; every run completed"
    printf '%s\n' "${sites[@]}" | sed -E 's|^.*/(src\|preload)/|\1/|' | sort | uniq -c
    exit 0
  fi
  echo "$n: $site: $(grep -v '^threads' "$W/out" | tr '\n' ';')"
  if [ -n "${GREEN_NOMEM_SITES:-}" ]; then
    fn=${site##* (}
    echo "${site% (*}" "${fn%)}" failed-or-degraded >>"$GREEN_NOMEM_SITES"
  fi
  sites+=("$site")
done
fail "still failing allocations after $MAX runs"
