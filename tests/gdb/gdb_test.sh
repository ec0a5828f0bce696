#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The gdb extension (scripts/gdb/libgreen.py) on a live process, then on its core file.
# gdb runs PROGRAM up to its gdb_target_stop, where three greenlets are parked on a pipe, a
# mutex and a sleep ("fd-reader", "mutex-locker", "sleeper" in gdb_target_waits_on_fd, _mutex,
# _sleep); `info greenlets` must list them with what they wait on and where, and
# `greenlet bt` must show those functions, found by name (or by --expr EXPR for fd-reader);
# then `gcore` writes a core file, and the same must hold on it, the greenlets found by id.
# With --live-only there is no core file (under AddressSanitizer, gcore would write out the
# terabytes of shadow memory the process reserves). With --hibernated the three are hibernated
# (src/hibernate.c): the listing must say so where it gives the function, and `greenlet bt` too
# (live only). Exit 77 (ctest's skip) when gdb has no Python.
#
# usage: gdb_test.sh SCRIPT [--expr EXPR] [--live-only] [--hibernated] -- PROGRAM ARGS...
set -euo pipefail

SCRIPT=$1
shift
EXPR="" LIVE_ONLY=0 HIBERNATED=0
while [ "$1" != -- ]; do
  case $1 in
    --expr) EXPR=$2; shift 2 ;;
    --live-only) LIVE_ONLY=1; shift ;;
    --hibernated) HIBERNATED=1 LIVE_ONLY=1; shift ;;
    *) echo "gdb_test: unknown option $1" >&2; exit 2 ;;
  esac
done
shift

fail() {
  echo "gdb_test: $*" >&2
  exit 1
}

command -v gdb >/dev/null || fail "gdb is not installed (scripts/test installs it)"
gdb -batch -nx -ex 'python print("python works")' 2>/dev/null | grep -q "python works" || {
  echo "gdb_test: this gdb has no Python: skipped"
  exit 77
}

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
CORE=$WORK/core

# gdb_batch OUT ARGS...: gdb in batch mode with the extension loaded; its output in OUT.
gdb_batch() {
  local out=$1
  shift
  timeout 120 gdb -batch -nx -ex "source $SCRIPT" -ex 'set breakpoint pending on' \
    -ex 'handle SIGURG nostop noprint pass' "$@" >"$out" 2>&1 || {
    cat "$out"
    fail "gdb failed"
  }
  if grep -E "Python Exception|Error occurred|Traceback" "$out"; then
    cat "$out"
    fail "the extension raised an error"
  fi
}

# section OUT LABEL: the lines of `greenlet bt` about the greenlet LABEL ("name" or (main)).
section() {
  awk -v label="$2" '/^greenlet [0-9]+ / { on = ($3 == label) } /^==/ { on = 0 } on' "$1"
}

# check_listing OUT: `info greenlets` names the three, what each waits on, and where.
check_listing() {
  local out=$1
  grep -Eq '^\* +[0-9]+ +\(main\) +running +gdb_target_stop at ' "$out" ||
    { cat "$out"; fail "info greenlets: no running main greenlet in gdb_target_stop"; }
  grep -Eq '^ +[0-9]+ +fd-reader +blocked +fd [0-9]+ read.* gdb_target_waits_on_fd at ' "$out" ||
    { cat "$out"; fail "info greenlets: no fd-reader blocked on an fd"; }
  local mutex='mutex 0x[0-9a-f]+ <held>, held by greenlet [0-9]+'
  grep -Eq "^ +[0-9]+ +mutex-locker +blocked +$mutex.* gdb_target_waits_on_mutex at " "$out" ||
    { cat "$out"; fail "info greenlets: no mutex-locker blocked on the mutex"; }
  grep -Eq '^ +[0-9]+ +sleeper +blocked +sleep.* gdb_target_waits_on_sleep at ' "$out" ||
    { cat "$out"; fail "info greenlets: no sleeper blocked in a sleep"; }
}

# check_backtraces OUT: each greenlet's backtrace goes through its own function, and the
# thread's own `bt` afterwards is the thread's again.
check_backtraces() {
  local out=$1 name fn
  for name in fd-reader mutex-locker sleeper; do
    case $name in
      fd-reader) fn=gdb_target_waits_on_fd ;;
      mutex-locker) fn=gdb_target_waits_on_mutex ;;
      sleeper) fn=gdb_target_waits_on_sleep ;;
    esac
    section "$out" "\"$name\"" | grep -Eq "^#[0-9]+ +0x[0-9a-f]+ in $fn \(" ||
      { cat "$out"; fail "greenlet bt: $name's backtrace does not go through $fn"; }
    section "$out" "\"$name\"" | grep -q gdb_target_stop &&
      { cat "$out"; fail "greenlet bt: $name's backtrace shows the running thread's frames"; }
  done
  sed -n '/^==bt$/,$p' "$out" | grep -Eq '^#0 +gdb_target_stop \(' ||
    { cat "$out"; fail "bt after greenlet bt: not the thread's own backtrace"; }
}

# check_hibernated OUT: the three are listed with what they wait on, as hibernated.
check_hibernated() {
  local out=$1 name
  grep -Eq '^ +[0-9]+ +fd-reader +blocked +fd [0-9]+ read.* \(hibernated\)$' "$out" &&
    grep -Eq '^ +[0-9]+ +mutex-locker +blocked +mutex .* \(hibernated\)$' "$out" &&
    grep -Eq '^ +[0-9]+ +sleeper +blocked +sleep.* \(hibernated\)$' "$out" ||
    { cat "$out"; fail "info greenlets: the three are not listed as hibernated"; }
  for name in fd-reader mutex-locker sleeper; do
    section "$out" "\"$name\"" | grep -q '^(hibernated: ' ||
      { cat "$out"; fail "greenlet bt: $name is not said to be hibernated"; }
  done
}

# The live process.
LIVE=$WORK/live.out
FD_READER=fd-reader
[ -z "$EXPR" ] || FD_READER=$EXPR
GCORE=(-ex "gcore $CORE")
[ $LIVE_ONLY = 0 ] || GCORE=()
gdb_batch "$LIVE" -ex 'break gdb_target_stop' -ex run -ex 'echo ==info\n' -ex 'info greenlets' \
  -ex "greenlet bt $FD_READER" -ex 'greenlet bt mutex-locker' -ex 'greenlet bt sleeper' \
  -ex 'greenlet bt (main)' -ex 'echo ==bt\n' -ex bt "${GCORE[@]}" -ex kill --args "$@"
if [ $HIBERNATED = 1 ]; then
  check_hibernated "$LIVE"
  echo "gdb_test: info greenlets and greenlet bt show the hibernated greenlets as such"
  exit 0
fi
check_listing "$LIVE"
check_backtraces "$LIVE"
section "$LIVE" "(main)" | grep -Eq '^#0 +gdb_target_stop \(' ||
  { cat "$LIVE"; fail "greenlet bt (main): not the thread's backtrace"; }
if [ $LIVE_ONLY = 1 ]; then
  echo "gdb_test: info greenlets and greenlet bt work on the live process (no core file)"
  sed -n '/^==info$/,/^greenlet /p' "$LIVE" | sed '1d;$d'
  exit 0
fi
[ -s "$CORE" ] || { cat "$LIVE"; fail "gcore wrote no core file"; }

# The core file: the greenlets by id, as the live listing numbered them.
id_of() { sed -n "s/^ *\([0-9][0-9]*\)  *$1  .*/\1/p" "$LIVE" | head -1; }
FD_ID=$(id_of fd-reader) MUTEX_ID=$(id_of mutex-locker) SLEEP_ID=$(id_of sleeper)
if [ -z "$FD_ID" ] || [ -z "$MUTEX_ID" ] || [ -z "$SLEEP_ID" ]; then
  fail "no ids in the live listing"
fi
# The program the core is of: under greenrun, the one greenrun executed.
PROGRAM=$(awk '/is executing new program: / { p = $NF } END { print p }' "$LIVE")
[ -n "$PROGRAM" ] || PROGRAM=$1
POST=$WORK/core.out
gdb_batch "$POST" -ex 'info greenlets' -ex "greenlet bt $FD_ID" -ex "greenlet bt $MUTEX_ID" \
  -ex "greenlet bt $SLEEP_ID" -ex 'echo ==bt\n' -ex bt "$PROGRAM" "$CORE"
check_listing "$POST"
check_backtraces "$POST"
echo "gdb_test: info greenlets and greenlet bt work on the live process and on its core"
sed -n '/^==info$/,/^greenlet /p' "$LIVE" | sed '1d;$d'
