#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The watchdog's report: a program blocked in a call the shim cannot see, while another thread
# waits to run, must print natively nothing on stderr and under greenrun one report within
# 2 s that names the call; stdout must be the same both ways.
#
# usage: watchdog.sh GREENRUN PATTERN -- PROGRAM ARGS...   (PATTERN: an extended regex the
#        report's first line must match after "the hub has been blocked for N s "; "none":
#        there must be no report)
set -euo pipefail
GREENRUN=$1 PATTERN=$2
shift 3
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
fail() {
  echo "FAIL: $*"
  for f in "$W"/*; do echo "---- $(basename "$f")"; tail -20 "$f"; done
  exit 1
}
timeout -k 5 30 "$@" >"$W/native.out" 2>"$W/native.err" || fail "the native run failed"
timeout -k 5 30 "$GREENRUN" -- "$@" >"$W/shim.out" 2>"$W/shim.err" || fail "the greenrun run failed"
[ ! -s "$W/native.err" ] || fail "the native run wrote to stderr"
diff <(grep -v '^THREADS ' "$W/native.out") <(grep -v '^THREADS ' "$W/shim.out") >/dev/null ||
  fail "the transcripts differ"
if [ "$PATTERN" = none ]; then
  [ ! -s "$W/shim.err" ] || fail "the greenrun run wrote to stderr"
  echo "no report, as expected"
  exit 0
fi
line=$(grep -m1 'the hub has been blocked for' "$W/shim.err") || fail "no report"
[ "$(grep -c 'the hub has been blocked for' "$W/shim.err")" = 1 ] || fail "more than one report"
secs=$(sed -E 's/.*blocked for ([0-9.]+) s.*/\1/' <<<"$line")
awk -v s="$secs" 'BEGIN { exit !(s >= 0.9 && s < 2.0) }' || fail "reported after $secs s"
grep -qE "blocked for [0-9.]+ s $PATTERN" <<<"$line" || fail "the report does not match: $line"
grep -q '#1 ' "$W/shim.err" || fail "the report has no backtrace"
echo "report after $secs s: ${line#*: }"
