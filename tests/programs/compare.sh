#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs a preload test program twice — natively, then under greenrun — and checks that
#  - both runs succeed and print the same transcript (every line but THREADS and PORT),
#  - the native run reports at least --native-min OS threads on some THREADS line (the
#    program really uses threads: without the shim the check below would fail),
#  - every THREADS line of the shim run reports exactly --green OS threads (default 1:
#    the hub; more when the program has threads the shim does not manage).
#    With --hubs N (and --threads green): --green until the hubs start (the first
#    pthread_create), N more but one from then on (the other hubs' threads); some line
#    must show the hubs started (the native run's busiest line comes after a thread).
#    COMPARE_HUBS=N in the environment runs every green-mode test without --hubs as if it
#    had --hubs N: a sweep of the whole suite on N hubs (`COMPARE_HUBS=2 ctest -L preload`).
# With --server, the server command starts first (under the same mode), prints "PORT n",
# and {PORT} in the program's arguments is replaced by n; its transcript is compared too.
# With --native-min 0 no thread counts are looked at (programs that print none).
# With --client-native the program (a load client) runs natively both times: only the server
# runs under the shim. With --took-max S, the shim run's "TOOK s" line must say s < S (TOOK
# lines are not compared). With --preload LIB (an allocator, say), LIB is in LD_PRELOAD in both
# runs: alone natively, after the shim under greenrun. With --hibernated N the shim runs with
# GREEN_HIBERNATE_MS=1 (a thread parked 1 ms hibernates: src/hibernate.c) and --stats: at
# least N hibernations must show in the program's or the server's counters.
#
# usage: compare.sh --greenrun PATH [--threads green|native] [--native-min N] [--green N]
#                   [--timeout S] [--server "CMD ARGS"] [--client-native] [--took-max S]
#                   [--status N] [--preload LIB] [--hubs N] [--hibernated N] -- PROGRAM ARGS...
# (--status: the exit status both runs must end with; 0 by default; --hubs: greenrun's -j)
# A shim run that does not end within --timeout gets SIGSTKFLT, greenrun's dump signal here,
# before it is killed: shim.err then shows every green thread and what it waits on.
set -euo pipefail

GREENRUN="" THREADS=green NATIVE_MIN=2 GREEN="" LIMIT=120 SERVER=() CLIENT_NATIVE=0 TOOK_MAX=""
STATUS=0 PRELOAD="" HUBS="" HIBERNATED=""
while [ $# -gt 0 ]; do
  case $1 in
    --greenrun) GREENRUN=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --native-min) NATIVE_MIN=$2; shift 2 ;;
    --green) GREEN=$2; shift 2 ;;
    --timeout) LIMIT=$2; shift 2 ;;
    --server) read -r -a SERVER <<<"$2"; shift 2 ;;
    --client-native) CLIENT_NATIVE=1; shift ;;
    --took-max) TOOK_MAX=$2; shift 2 ;;
    --status) STATUS=$2; shift 2 ;;
    --preload) PRELOAD=$2; shift 2 ;;
    --hubs) HUBS=$2; shift 2 ;;
    --hibernated) HIBERNATED=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
PROG=("$@")
[ -n "$HUBS" ] || { [ "$THREADS" = green ] && HUBS=${COMPARE_HUBS:-1}; } || HUBS=1
[ -n "$GREENRUN" ] && [ ${#PROG[@]} -gt 0 ] || { echo "compare.sh: usage error" >&2; exit 2; }

W=$(mktemp -d)
SPID=""
cleanup() {
  [ -z "$SPID" ] || kill "$SPID" 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*"
  local f n
  for f in "$W"/*; do
    [ -s "$f" ] || continue
    n=40
    ! grep -q ': dump of process' "$f" || n=2000 # a dump is read whole
    echo "---- $(basename "$f") (last $n lines)"
    tail -"$n" "$f"
  done
  exit 1
}

# run SIDE: native or shim; leaves SIDE.out/.err and, with a server, SIDE.srv/.srv.err.
run() {
  local side=$1 wrap=() port="" i stop=TERM
  if [ "$side" = shim ]; then
    wrap=("$GREENRUN" "--threads=$THREADS" "--hubs=$HUBS" "--dump-signal=$(kill -l STKFLT)" --)
    [ -z "$HIBERNATED" ] || wrap=(env GREEN_HIBERNATE_MS=1 "${wrap[0]}" --stats "${wrap[@]:1}")
    stop=STKFLT
  fi
  if [ -n "$PRELOAD" ]; then # greenrun appends the shim again: the loader takes it once
    local lib=$PRELOAD
    [ "$side" = native ] || lib="$(dirname "$GREENRUN")/libgreen-preload.so:$PRELOAD"
    wrap=(env "LD_PRELOAD=${LD_PRELOAD:+$LD_PRELOAD:}$lib" "${wrap[@]}")
  fi
  if [ ${#SERVER[@]} -gt 0 ]; then
    "${wrap[@]}" "${SERVER[@]}" >"$W/$side.srv" 2>"$W/$side.srv.err" &
    SPID=$!
    for i in $(seq 400); do
      grep -q '^PORT ' "$W/$side.srv" && break
      kill -0 "$SPID" 2>/dev/null || break
      sleep 0.05
    done
    port=$(awk '/^PORT /{print $2; exit}' "$W/$side.srv")
    [ -n "$port" ] || fail "$side: the server printed no port"
  fi
  [ "$CLIENT_NATIVE" = 0 ] || wrap=()
  local status=0
  timeout -s "$stop" -k 5 "$LIMIT" "${wrap[@]}" "${PROG[@]//\{PORT\}/$port}" \
    >"$W/$side.out" 2>"$W/$side.err" || status=$?
  case $status in # 137: the dump did not end it, timeout's KILL did
    124 | 137) fail "$side: ${PROG[0]##*/} did not end within $LIMIT s" ;;
  esac
  [ "$status" = "$STATUS" ] || fail "$side: ${PROG[0]##*/} exited with status $status, expected $STATUS"
  if [ -n "$SPID" ]; then
    for i in $(seq 400); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.05; done
    kill -0 "$SPID" 2>/dev/null && fail "$side: the server did not exit within 20 s"
    wait "$SPID" || fail "$side: the server failed (status $?)"
    SPID=""
  fi
  unset LD_PRELOAD
}

transcript() { grep -hv -e '^THREADS ' -e '^PORT ' -e '^TOOK ' "$@" || true; }
thread_counts() { awk '/^THREADS /{print $2}' "$@"; }

run native
run shim
for kind in out srv; do
  [ -f "$W/native.$kind" ] || continue
  if ! diff <(transcript "$W/native.$kind") <(transcript "$W/shim.$kind") >"$W/diff.$kind"; then
    fail "the transcripts differ (< native, > shim)"
  fi
done
files() { ls "$W/$1".out "$W/$1".srv 2>/dev/null; }
hibernated=""
if [ -n "$HIBERNATED" ]; then
  hibernated=$(cat "$W"/shim*.err |
    awk '{ for (i = 1; i < NF; i++) if ($(i + 1) == "hibernations,") n += $i } END { print n + 0 }')
  [ "$hibernated" -ge "$HIBERNATED" ] ||
    fail "under the shim $hibernated threads hibernated, expected at least $HIBERNATED"
  hibernated=", $hibernated hibernations"
fi
if [ "$NATIVE_MIN" = 0 ]; then
  echo "same transcript ($(transcript "$W/native.out" | wc -l) lines)"
  exit 0
fi
max=$(thread_counts $(files native) | sort -n | tail -1)
[ -n "$max" ] && [ "$max" -ge "$NATIVE_MIN" ] ||
  fail "natively the program ran ${max:-no} OS threads at its busiest, expected at least $NATIVE_MIN"
before=${GREEN:-1} after=$((${GREEN:-1} + HUBS - 1))
[ "$THREADS" = green ] || after=$before
started=0 # with --hubs N: once the count with every hub was seen, the hubs have started
for n in $(thread_counts $(files shim)); do
  if [ "$before" = "$after" ]; then
    [ "$n" -eq "$before" ] || fail "under the shim the program ran $n OS threads, expected $before"
  elif [ "$n" -eq "$after" ]; then
    started=1
  else
    [ "$n" -eq "$before" ] && [ "$started" = 0 ] ||
      fail "under the shim -j $HUBS the program ran $n OS threads, expected $before before its first thread, $after after"
  fi
done
[ -n "$(thread_counts $(files shim))" ] || fail "the shim run reported no thread count"
[ "$before" = "$after" ] || [ "$started" = 1 ] ||
  fail "under the shim -j $HUBS no THREADS line says $after: the hubs never started"
took=""
if [ -n "$TOOK_MAX" ]; then
  took=$(awk '/^TOOK /{print $2}' "$W/shim.out")
  awk -v t="${took:-x}" -v m="$TOOK_MAX" 'BEGIN { exit !(t != "x" && t + 0 < m + 0) }' ||
    fail "under the shim it took ${took:-?} s, expected less than $TOOK_MAX s"
  took=", took $took s under the shim (native $(awk '/^TOOK /{print $2}' "$W/native.out") s)"
fi
echo "same transcript ($(transcript "$W/native.out" | wc -l) lines); OS threads: native $max, shim $(thread_counts $(files shim) | sort -n | tail -1)$took$hibernated"
