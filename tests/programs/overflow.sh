#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Stack overflow reports under greenrun (overflow_thread.c). Natively the overflow kills the
# process with SIGSEGV; under greenrun it dies of SIGABRT after one report that names the green
# thread, its stack's size (RLIMIT_STACK's, pthread's default) and the recursion. A NULL
# dereference reaches the program's own handler both ways.
#
# usage: overflow.sh GREENRUN PROGRAM MODE   (MODE: overflow, handler-overflow, handler-null)
set -uo pipefail
GREENRUN=$1 PROG=$2 MODE=$3
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
ulimit -c 0
fail() {
  echo "FAIL: $*"
  for f in "$W"/*; do echo "---- $(basename "$f")"; head -c 3000 "$f"; done
  exit 1
}
timeout -k 5 30 "$PROG" "$MODE" >"$W/native.out" 2>"$W/native.err"
native=$?
timeout -k 5 30 "$GREENRUN" -- "$PROG" "$MODE" >"$W/shim.out" 2>"$W/shim.err"
shim=$?

if [ "$MODE" = handler-null ]; then
  [ "$native" = 7 ] || fail "the native run ended with $native, not 7"
  [ "$shim" = 7 ] || fail "the greenrun run ended with $shim, not 7"
  grep -q "caught SIGSEGV" "$W/shim.out" || fail "the program's handler did not run"
  ! grep -q overflowed "$W/shim.err" || fail "a NULL dereference was reported as an overflow"
  echo "the program's handler caught the NULL dereference both ways"
  exit 0
fi

[ "$native" = $((128 + 11)) ] || fail "the native run ended with $native, not SIGSEGV"
[ "$shim" = $((128 + 6)) ] || fail "the greenrun run ended with $shim, not SIGABRT"
kib=$(ulimit -s)
if [ "$kib" = unlimited ]; then size='[0-9]+ [KM]iB'
elif [ $((kib % 1024)) = 0 ]; then size="$((kib / 1024)) MiB"
else size="$kib KiB"
fi
prog=$(basename "$PROG")
line="^greenrun: $prog\[[0-9]+\]: green thread [0-9]+ \"deep-worker\" overflowed its $size stack$"
grep -qE "$line" "$W/shim.err" || fail "no report matching: $line"
[ "$(grep -c overflowed "$W/shim.err")" = 1 ] || fail "more than one report"
grep -q ' recurse_deeply+' "$W/shim.err" || fail "the backtrace lacks the recursion"
grep -q ' deep_worker+' "$W/shim.err" || fail "the backtrace lacks the thread's function"
grep -q 'frames cut' "$W/shim.err" || fail "the backtrace is not cut"
diff "$W/native.out" "$W/shim.out" >/dev/null || fail "the transcripts differ"
grep -m1 overflowed "$W/shim.err"
