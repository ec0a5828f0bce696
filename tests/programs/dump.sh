#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# greenrun's reports on a plain program (tests/programs/dump_threads.c): a dump on
# --dump-signal, the deadlock report, and --stats at exit. Each greps what the report must say.
#
# usage: dump.sh GREENRUN PROGRAM signal|deadlock|stats
set -euo pipefail
GREENRUN=$1 PROGRAM=$2 MODE=$3
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
fail() {
  echo "FAIL: $*"
  for f in "$W"/*; do echo "---- $(basename "$f")"; cat "$f"; done
  exit 1
}
expect() { grep -qE -- "$1" "$W/err" || fail "stderr lacks: $1"; }
# The section of the green thread named $1: from its line to the next blank line.
section() { awk -v name="\"$1\")" 'index($0, name) { on = 1 } on && /^$/ { exit } on' "$W/err"; }

case $MODE in
signal)
  timeout -k 5 30 "$GREENRUN" --dump-signal=SIGUSR2 -- "$PROGRAM" signal >"$W/out" 2>"$W/err" ||
    fail "the run failed"
  grep -qx joined "$W/out" || fail "the program did not go on after the dump"
  expect '^greenrun: dump_threads\[[0-9]+\]: dump of process [0-9]+'
  expect '^greenrun: dump_threads\[[0-9]+\]: end of dump$'
  expect '\(the main thread\) \[running\]:$'
  section reader | grep -qE '\[waiting on fd [0-9]+ \(a pipe\) for reading' || fail "reader's wait"
  section reader | grep -q 'dump_reader_thread' || fail "reader's backtrace"
  section locker | grep -q '\[waiting on mutex 0x[0-9a-f]*, held by the main thread' ||
    fail "locker's wait"
  section locker | grep -q 'dump_locker_thread' || fail "locker's backtrace"
  section sleeper | grep -qE '\[sleeping in usleep, for 0\.[0-9]+ s, 0\.[0-9]+ s left' ||
    fail "sleeper's wait"
  section sleeper | grep -q 'dump_sleeper_thread' || fail "sleeper's backtrace"
  ;;
deadlock)
  timeout -k 5 30 "$GREENRUN" -- "$PROGRAM" deadlock >"$W/out" 2>"$W/err" || fail "the run failed"
  grep -qx 'pthread_join: Resource deadlock avoided' "$W/out" || fail "the join did not fail"
  expect '^greenrun: dump_threads\[[0-9]+\]: deadlock: every greenlet of thread [0-9]+ is parked'
  expect '\(the main thread\) \[waiting on join'
  section lock-a-then-b | grep -q 'waiting on mutex 0x[0-9a-f]*, held by .*"lock-b-then-a"' ||
    fail "lock-a-then-b's wait"
  section lock-b-then-a | grep -q 'waiting on mutex 0x[0-9a-f]*, held by .*"lock-a-then-b"' ||
    fail "lock-b-then-a's wait"
  section lock-a-then-b | grep -q dump_deadlock_ab || fail "lock-a-then-b's backtrace"
  section lock-b-then-a | grep -q dump_deadlock_ba || fail "lock-b-then-a's backtrace"
  [ "$(grep -c 'deadlock: every greenlet' "$W/err")" = 1 ] || fail "not exactly one report"
  ;;
stats)
  timeout -k 5 30 "$GREENRUN" --stats -- "$PROGRAM" stats >"$W/out" 2>"$W/err" || fail "the run failed"
  grep -qx joined "$W/out" || fail "the program did not finish"
  expect '^greenrun: dump_threads\[[0-9]+\]: stats: greenlets 0 alive, 5 at most, 5 spawned$'
  expect 'stats: [0-9]+ switches, [0-9]+ preemptions, [0-9]+ polls, at most [0-9.]+ s away from the loop$'
  expect 'stats: parks: .*sleep [1-9]'
  expect 'stats: stacks [0-9]+ in use, [0-9]+ pooled, [0-9]+ guarded, [0-9]+ unguarded; [0-9.]+ [KM]iB reserved, [0-9.]+ [KM]iB committed$'
  ;;
*) fail "unknown mode $MODE" ;;
esac
echo "ok: $MODE"
