#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# greenrun itself and the shim's exports: --help, its errors, --debug's log of parking calls,
# --threads=native, --check's variable, -j/--hubs (GREEN_HUBS, the hubs' OS threads, the
# own-fd range it reserves), and every name real.h lists being exported by libgreen-preload.so (a
# hook that is not exported would silently not be called).
#
# usage: greenrun_cli.sh GREENRUN SHIM REAL_H SLEEPERS
set -uo pipefail
GREENRUN=$1 SHIM=$2 REAL_H=$3 SLEEPERS=$4
failures=0
check() { # check DESCRIPTION COMMAND...: the command must succeed
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; failures=$((failures + 1)); fi
}
status() { "$@" >/dev/null 2>&1; echo $?; }

check "--help exits 0 and explains --threads" \
  bash -c '"$0" --help | grep -q -- "--threads=native"' "$GREENRUN"
check "an unknown option exits 2" test "$(status "$GREENRUN" --bogus true)" = 2
check "no command exits 2" test "$(status "$GREENRUN")" = 2
check "a missing command exits 127" test "$(status "$GREENRUN" /nonexistent/command)" = 127
check "the command's exit status comes back" test "$(status "$GREENRUN" -- sh -c 'exit 7')" = 7
check "LD_PRELOAD names the shim" \
  bash -c '"$0" -- sh -c "echo \$LD_PRELOAD" | grep -q libgreen-preload.so' "$GREENRUN"
check "--debug logs the sleeps that park" \
  bash -c 'test "$("$0" --debug "$1" 4 1 2>&1 >/dev/null | grep -c "sleep.* parks")" -ge 4' \
  "$GREENRUN" "$SLEEPERS"
check "without --debug nothing is logged" \
  bash -c 'test -z "$("$0" "$1" 4 1 2>&1 >/dev/null)"' "$GREENRUN" "$SLEEPERS"
check "--threads=native keeps OS threads" \
  bash -c '"$0" --threads=native "$1" 4 1 | grep -q "^THREADS 5$"' "$GREENRUN" "$SLEEPERS"
check "--timeslice and --watchdog set the shim's variables" \
  bash -c 'test "$("$0" --timeslice=5 --watchdog=250 -- sh -c "echo \$GREEN_TIMESLICE_MS \$GREEN_WATCHDOG_MS")" = "5 250"' \
  "$GREENRUN"
check "--check sets GREEN_CHECK=1, --check=FILE the file's absolute path" \
  bash -c 'test "$("$0" --check -- sh -c "echo \$GREEN_CHECK")" = 1 &&
           test "$(cd / && "$0" --check=tmp/x -- sh -c "echo \$GREEN_CHECK")" = /tmp/x' "$GREENRUN"
if static=$(mktemp) && printf 'int main(void) { return 3; }\n' | cc -static -x c - -o "$static" 2>/dev/null; then
  check "a static binary runs, with a word that the shim cannot reach it" \
    bash -c '"$0" "$1" 2>&1 | grep -q "statically linked"; test "${PIPESTATUS[0]}" = 3' "$GREENRUN" "$static"
  check "a dynamic binary gets no such word" bash -c 'test -z "$("$0" true 2>&1)"' "$GREENRUN"
fi
rm -f "$static"
check "green threads by default" \
  bash -c '"$0" "$1" 4 1 | grep -q "^THREADS 1$"' "$GREENRUN" "$SLEEPERS"
check "GREEN_HUBS is 1 by default, -j N, -jN, --hubs=N and --hubs=auto set it" \
  bash -c 'env() { "$0" "$@" -- sh -c "echo \$GREEN_HUBS" 2>/dev/null; }
           test "$(GREEN_HUBS=3 env)" = 1 && test "$(env -j 2)" = 2 && test "$(env -j3)" = 3 &&
           test "$(env --hubs=4)" = 4 && test "$(env --hubs=auto)" = "$(getconf _NPROCESSORS_ONLN)"' \
  "$GREENRUN"
check "-j 0, -j x, -j 65, --hubs= and a bare -j exit 2" \
  bash -c 'for a in "-j 0" "-j x" "-j 65" "--hubs=" "-j"; do
             "$0" $a true >/dev/null 2>&1; test $? = 2 || exit 1; done' "$GREENRUN"
check "-j 2 with --threads=native exits 2" test "$(status "$GREENRUN" --threads=native -j 2 true)" = 2
check "-j 2 runs 2 OS threads once the program makes a thread, and says nothing" \
  bash -c 'err=$("$0" -j 2 "$1" 4 1 2>&1 >/dev/null) && test -z "$err" &&
           "$0" -j 2 "$1" 4 1 2>/dev/null | grep -q "^THREADS 2$"' "$GREENRUN" "$SLEEPERS"
check "GREEN_HUBS=100 under a bare LD_PRELOAD runs 64 hubs and says so once" \
  bash -c 'err=$(GREEN_HUBS=100 LD_PRELOAD="$2" "$1" 4 1 2>&1 >/dev/null)
           test "$(grep -c "GREEN_HUBS=100: running 64 hubs" <<<"$err")" = 1' \
  "$GREENRUN" "$SLEEPERS" "$SHIM"
check "-j 1 and GREEN_HUBS=1 say nothing" \
  bash -c 'test -z "$("$0" -j 1 "$1" 2 1 2>&1 >/dev/null)"' "$GREENRUN" "$SLEEPERS"
# The runtime's lowest fd, seen from outside (the program's /proc/self/fd hides them), while
# a green thread sleeps. 56 with one hub (the last eighth of 64); -j 4 reserves 4 * 4 + 4 = 20.
lowest_own_fd() {
  local p i low=""
  "$GREENRUN" "$@" "$SLEEPERS" 2 1 >/dev/null 2>&1 &
  p=$!
  for i in $(seq 40); do
    low=$(ls /proc/$p/fd 2>/dev/null | awk '$1 >= 32 && $1 < 64' | sort -n | head -1)
    [ -n "$low" ] && break
    sleep 0.05
  done
  wait $p
  echo "$low"
}
check "the runtime's fds start at 56 by default, at 44 with -j 4" \
  test "$(lowest_own_fd) $(lowest_own_fd -j 4)" = "56 44"
missing=$(comm -23 <(grep -oE '^  [XE]\([A-Za-z_0-9]+,' "$REAL_H" | sed -E 's/^  [XE]\(//; s/,$//' | sort -u) \
                   <(nm -D --defined-only "$SHIM" | awk '{print $3}' | sort -u))
check "every hook in real.h is exported${missing:+ (missing: $missing)}" test -z "$missing"
extra=$(nm -D --defined-only "$SHIM" | awk '{print $3}' | grep -v -x -F -f \
  <(grep -oE '^  [XE]\([A-Za-z_0-9]+,' "$REAL_H" | sed -E 's/^  [XE]\(//; s/,$//'))
check "nothing else is exported${extra:+ (extra: $extra)}" test -z "$extra"
exit $((failures > 0))
