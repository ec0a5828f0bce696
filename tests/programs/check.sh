#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# greenrun --check: runs a program natively and under greenrun --check and checks that
#  - both runs succeed with the same transcript (THREADS lines aside), the native one with
#    nothing on stderr;
#  - under --check, stderr has exactly one report ("...: check: ... bypassed the shim at ...")
#    per --expect REGEX, each matching its own, each followed by a backtrace; none without
#    --expect.
#
# usage: check.sh GREENRUN [--threads green|native] [--expect REGEX]... -- PROGRAM ARGS...
set -euo pipefail
GREENRUN=$1
shift
EXPECT=()
THREADS=green
while [ $# -gt 0 ]; do
  case $1 in
    --threads) THREADS=$2; shift 2 ;;
    --expect) EXPECT+=("$2"); shift 2 ;;
    --) shift; break ;;
    *) echo "check.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
fail() {
  echo "FAIL: $*"
  for f in "$W"/*; do echo "---- $(basename "$f")"; tail -30 "$f"; done
  exit 1
}
timeout -k 5 60 "$@" >"$W/native.out" 2>"$W/native.err" || fail "the native run failed"
timeout -k 5 60 "$GREENRUN" --check "--threads=$THREADS" -- "$@" >"$W/check.out" 2>"$W/check.err" ||
  fail "the greenrun --check run failed"
[ ! -s "$W/native.err" ] || fail "the native run wrote to stderr"
diff <(grep -v '^THREADS ' "$W/native.out") <(grep -v '^THREADS ' "$W/check.out") >"$W/diff" ||
  fail "the transcripts differ"
grep -v ': check: .* bypassed the shim at ' "$W/check.err" | grep -qv ':   #[0-9]' &&
  fail "stderr has more than reports"
reports=$(grep -c ': check: .* bypassed the shim at ' "$W/check.err" || true)
[ "$reports" = "${#EXPECT[@]}" ] || fail "$reports reports, expected ${#EXPECT[@]}"
for re in "${EXPECT[@]}"; do
  [ "$(grep -cE ": check: $re" "$W/check.err")" = 1 ] || fail "no single report matches: $re"
  grep -A1 -E ": check: $re" "$W/check.err" | grep -q ':   #0 ' || fail "no backtrace after: $re"
done
echo "same transcript; $reports report(s), as expected"
[ "$reports" = 0 ] || grep ': check: ' "$W/check.err" | sed 's/^[^:]*: [^:]*: /  /'
