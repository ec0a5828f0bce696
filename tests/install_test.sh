#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Issue 17: what a user installs. `cmake --install` to a scratch prefix, then:
# - each man page is there, renders with `man -l` and groff without a warning, carries the
#   project's version, and names every option its tool's --help lists; libgreen(3) names the
#   runtime's environment variables;
# - greenrun, green-fetch and green-httpd print the project's version;
# - green-fetch's --help names every option and the exit codes, green-httpd's every endpoint;
# - green-fetch exits 0 when every URL is fetched from the installed green-httpd, 1 when one
#   fails (a refused loopback port), 2 on a usage error;
# - the shared library's SONAME carries the major version;
# - tests/consumer, copied out of the tree, builds against the prefix with find_package and
#   with pkg-config and runs; find_package refuses a version the package does not offer;
# - libgreen(3)'s example builds against the prefix and runs;
# - the README's tour builds against the prefix with pkg-config, and with find_package as
#   libgreen::green and libgreen::green_static, and runs; it links statically from the build
#   tree as the README says; a program that resolves no name links without c-ares;
# - the installed greenrun preloads the installed shim and runs a program's threads on one OS
#   thread (SLEEPERS: tests/programs/sleepers).
#
# usage: install_test.sh BUILD_DIR SOURCE_DIR VERSION FETCH(ON|OFF) [SLEEPERS]
set -euo pipefail
BUILD=$1 SRC=$2 VERSION=$3 FETCH=$4 SLEEPERS=${5:-}
W=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$W"
}
trap cleanup EXIT
failures=0
check() { # check DESCRIPTION COMMAND...: the command must succeed
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; failures=$((failures + 1)); fi
}

cmake --install "$BUILD" --prefix "$W/prefix" >"$W/install.log" || { cat "$W/install.log"; exit 1; }
P=$W/prefix
MAJOR=${VERSION%%.*}

# ---- man pages ------------------------------------------------------------------------------
# man_renders PAGE: man -l and groff -ww say nothing on stderr, and the text has the sections.
man_renders() {
  local page=$1 out=$W/man.out err=$W/man.err
  MANWIDTH=80 man --warnings -l "$page" >"$out" 2>"$err" || { cat "$err"; return 1; }
  [ ! -s "$err" ] || { cat "$err"; return 1; }
  groff -ww -man -Tutf8 -z "$page" 2>"$err" || { cat "$err"; return 1; }
  [ ! -s "$err" ] || { cat "$err"; return 1; }
  grep -q '^NAME' "$out" && grep -q '^SYNOPSIS' "$out" && grep -q '^SEE ALSO' "$out"
}
# help_options TOOL: the options a --help lists, one a line (-x and --long, before any = or
# space), from the lines that start with spaces and a dash.
help_options() {
  "$1" --help | grep -E '^ +-' | grep -oE '(^|[ ,])--?[a-zA-Z][a-zA-Z-]*' | sed 's/^[ ,]*//' | sort -u
}
# man_lists_options TOOL PAGE: every option of TOOL --help appears in the rendered page.
man_lists_options() {
  local opt missing=0 text
  text=$(MANWIDTH=200 man -l "$2" 2>/dev/null)
  for opt in $(help_options "$1"); do
    grep -qF -- "$opt" <<<"$text" || { echo "  $2 lacks $opt"; missing=1; }
  done
  [ "$(help_options "$1" | wc -l)" -ge 3 ] && [ "$missing" -eq 0 ]
}
pages=(man1/greenrun.1 man3/libgreen.3)
[ "$FETCH" = ON ] && pages+=(man1/green-fetch.1 man1/green-httpd.1)
for p in "${pages[@]}"; do
  page=$P/share/man/$p
  check "$p is installed" test -s "$page"
  [ -s "$page" ] || continue
  check "$p renders without warnings (man -l, groff -ww)" man_renders "$page"
  check "$p has every placeholder filled" bash -c '! grep -n "@[A-Z_]*@" "$0"' "$page"
  check "$p carries version $VERSION" grep -qF "libgreen $VERSION" "$page"
done
check "man greenrun finds the page under the prefix's share/man" \
  test "$(MANPATH=$P/share/man man -w greenrun)" = "$P/share/man/man1/greenrun.1"
check "man 3 libgreen finds its page too" \
  test "$(MANPATH=$P/share/man man -w 3 libgreen)" = "$P/share/man/man3/libgreen.3"
for t in greenrun green-fetch green-httpd; do
  [ "$t" = greenrun ] || [ "$FETCH" = ON ] || continue
  check "$t(1) names every option of $t --help" \
    man_lists_options "$P/bin/$t" "$P/share/man/man1/$t.1"
done
for v in GREEN_STACK_SIZE GREEN_STACK_POOL GREEN_STACK_GUARDS GREEN_GUARD_REGIONS \
  GREEN_HIBERNATE_MS GREEN_DUMP_SIGNAL GREEN_STATS_SIGNAL GREEN_DNS_SERVERS GREEN_DNS_CACHE \
  GREEN_THREADPOOL_SIZE GREEN_TIMESLICE_MS GREEN_WATCHDOG_MS GREEN_DEBUG; do
  check "libgreen(3) documents $v" grep -q "^\.B $v\$" "$P/share/man/man3/libgreen.3"
done
check "libgreen(3) names the SONAME libgreen.so.$MAJOR" \
  grep -qF "libgreen.so.$MAJOR" "$P/share/man/man3/libgreen.3"

# ---- versions and the SONAME ----------------------------------------------------------------
tools=(greenrun)
[ "$FETCH" = ON ] && tools+=(green-fetch green-httpd)
for t in "${tools[@]}"; do
  check "$t --version prints $t $VERSION" test "$("$P/bin/$t" --version)" = "$t $VERSION"
done
lib=$(find "$P" -name "libgreen.so.$VERSION" | head -n 1)
check "libgreen.so.$VERSION is installed" test -n "$lib"
check "its SONAME is libgreen.so.$MAJOR" \
  bash -c 'readelf -d "$0" | grep -q "(SONAME).*\[libgreen.so.$1\]"' "$lib" "$MAJOR"
check "libgreen.so.$MAJOR is installed beside it" test -e "$(dirname "$lib")/libgreen.so.$MAJOR"
libdir=$(dirname "$lib")

# ---- green-fetch and green-httpd as tools ---------------------------------------------------
# start_httpd FILE: starts the installed green-httpd on a free loopback port, its stdout in
# FILE; sets HTTPD_PID, and HTTPD_PORT once it listens (empty if it does not within 10 s).
start_httpd() {
  "$P/bin/green-httpd" -a 127.0.0.1 -p 0 >"$1" &
  HTTPD_PID=$!
  pids+=("$HTTPD_PID")
  for _ in $(seq 100); do
    grep -q '^PORT ' "$1" && break
    sleep 0.1
  done
  HTTPD_PORT=$(sed -n 's/^PORT //p' "$1")
}
# defaults_given HELP: each option entry of a --help (its line and the indented lines under
# it), but -h/--help and --version, says "default".
defaults_given() {
  awk '/^  +-/ { if (entry != "" && entry !~ /default/ && entry !~ /--help|--version/) bad = 1
                 entry = $0; next }
       entry != "" && /^   +[^ -]/ { entry = entry $0; next }
       { if (entry != "" && entry !~ /default/ && entry !~ /--help|--version/) bad = 1; entry = "" }
       END { if (entry != "" && entry !~ /default/ && entry !~ /--help|--version/) bad = 1
             exit bad }' <<<"$1"
}
if [ "$FETCH" = ON ]; then
  FETCH_BIN=$P/bin/green-fetch
  help=$("$FETCH_BIN" --help)
  for opt in -c --sequential -t -o --max-size -k --insecure --cacert -i -q --help --version; do
    check "green-fetch --help lists $opt" grep -qE -- "^ +(-[a-z], )?$opt( |,|$)" <<<"$help"
  done
  check "green-fetch --help gives each option's default" defaults_given "$help"
  check "green-fetch --help documents exit codes 0, 1 and 2" \
    bash -c 'grep -q "Exit status: 0 when every URL" <<<"$0" && grep -q "; 1 when" <<<"$0" &&
             grep -q "; 2 on a usage" <<<"$0"' "$help"
  help=$("$P/bin/green-httpd" --help)
  for e in /delay/MS /bytes/N /chunked/N /redirect/N /loop /status/CODE; do
    check "green-httpd --help documents $e" grep -qE "^ +$e " <<<"$help"
  done

  start_httpd "$W/httpd.out"
  port=$HTTPD_PORT
  check "the installed green-httpd listens" test -n "$port"
  rc=0
  "$FETCH_BIN" -q -t 10 "http://127.0.0.1:$port/bytes/1000" "http://127.0.0.1:$port/delay/50" \
    >"$W/ok.out" 2>&1 || rc=$?
  check "green-fetch exits 0 when every URL is fetched" test $rc -eq 0
  check "... and says 2 ok" grep -q '^2 URLs: 2 ok, 0 failed' "$W/ok.out"
  # A refused port: one a second green-httpd listened on, closed again when it is killed.
  start_httpd "$W/httpd2.out"
  refused=$HTTPD_PORT
  kill "$HTTPD_PID"
  wait "$HTTPD_PID" 2>/dev/null || true
  check "a second green-httpd gave a port and is gone" test -n "$refused"
  rc=0
  "$FETCH_BIN" -q -t 10 "http://127.0.0.1:$port/bytes/10" "http://127.0.0.1:$refused/" \
    >"$W/fail.out" 2>&1 || rc=$?
  check "green-fetch exits 1 when a URL fails (refused port $refused)" test $rc -eq 1
  check "... and says 1 ok, 1 failed, connection refused" \
    bash -c 'grep -q "^2 URLs: 1 ok, 1 failed" "$0" && grep -q "connection refused" "$0"' \
    "$W/fail.out"
  for args in "--no-such-option http://127.0.0.1:$port/" "-c 0 http://127.0.0.1:$port/" ""; do
    rc=0
    # shellcheck disable=SC2086
    "$FETCH_BIN" $args >/dev/null 2>&1 || rc=$?
    check "green-fetch exits 2 on a usage error (${args:-no URL})" test $rc -eq 2
  done
  rc=0
  "$P/bin/green-httpd" -p 99999 >/dev/null 2>&1 || rc=$?
  check "green-httpd exits 2 on a bad port" test $rc -eq 2
fi

# ---- a project outside the tree: find_package and pkg-config ---------------------------------
cp -r "$SRC/tests/consumer" "$W/consumer"
want="received 15, producer sent 15
libgreen $VERSION"
logged() { "$@" >>"$W/consumer.log" 2>&1 || { cat "$W/consumer.log"; return 1; }; }
# consumer NAME [cmake options...]: configures and builds tests/consumer in $W/NAME.
consumer() {
  local dir=$W/$1
  shift
  logged cmake -S "$W/consumer" -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" &&
    logged cmake --build "$dir"
}
check "the consumer builds with find_package(libgreen)" \
  consumer find -DCMAKE_PREFIX_PATH="$P"
check "... runs: spawn, queue, join, and the package's version" \
  test "$("$W/find/consumer" 2>&1)" = "$want"
check "... against the installed libgreen.so.$MAJOR" \
  bash -c 'ldd "$0" | grep -q "=> $1/libgreen.so.$2 "' "$W/find/consumer" "$libdir" "$MAJOR"
export PKG_CONFIG_PATH=$libdir/pkgconfig
check "the consumer builds with pkg-config (libgreen.pc)" \
  consumer pkgconfig -DCONSUMER_PKGCONFIG=ON
check "... and runs" test "$("$W/pkgconfig/consumer" 2>&1)" = "$want"
check "pkg-config --modversion libgreen is $VERSION" \
  test "$(pkg-config --modversion libgreen)" = "$VERSION"
unset PKG_CONFIG_PATH
check "find_package(libgreen $((MAJOR + 1)).0) is refused" \
  bash -c '! cmake -S "$0" -B "$1" -DCMAKE_PREFIX_PATH="$2" -DCONSUMER_WANT_VERSION="$3" \
             >"$1.log" 2>&1 && grep -q "compatible with requested version" "$1.log"' \
  "$W/consumer" "$W/refused" "$P" "$((MAJOR + 1)).0"

# ---- the README's tour ----------------------------------------------------------------------
tour_says="worker 0 done result 0 worker 1 done result 1 worker 2 done result 4 "
awk '/^## A tour/ { t = 1 } t && /^```c/ { p = 1; next } p && /^```/ { exit } p' \
  "$SRC/README.md" >"$W/tour.c"
check "the README's tour is there" test -s "$W/tour.c"
# shellcheck disable=SC2046
check "the tour builds with pkg-config against the prefix" \
  cc -Wall -Wextra -Werror -o "$W/tour" "$W/tour.c" \
  $(PKG_CONFIG_PATH=$libdir/pkgconfig pkg-config --cflags --libs libgreen) -Wl,-rpath,"$libdir"
check "... and runs (each worker after its sleep, joined in turn)" \
  test "$("$W/tour" | tr '\n' ' ')" = "$tour_says"
cp "$W/tour.c" "$W/consumer/"
check "the consumer builds the tour with find_package, shared and static" \
  consumer tour-cmake -DCMAKE_PREFIX_PATH="$P"
for t in tour_shared tour_static; do
  check "... $t runs" test "$("$W/tour-cmake/$t" | tr '\n' ' ')" = "$tour_says"
done
check "... tour_shared uses the installed libgreen.so" \
  bash -c 'ldd "$0" | grep -q "$1/libgreen.so"' "$W/tour-cmake/tour_shared" "$libdir"
check "... tour_static has no libgreen.so" \
  bash -c '! ldd "$0" | grep -q libgreen' "$W/tour-cmake/tour_static"
# The README's static link, from the source tree: its build/ is this build directory.
static_cmd=$(grep -o 'from the source tree: `cc tour.c [^`]*`' "$SRC/README.md" |
  sed 's/.*`cc tour.c //; s/`$//')
check "the README gives a static link line" test -n "$static_cmd"
check "the tour links statically as the README says" \
  bash -c 'cd "$0" && cc -o "$1/tour-static" "$1/tour.c" ${2//build\//$3/}' \
  "$SRC" "$W" "$static_cmd" "$(realpath "$BUILD")"
check "... and runs" test "$("$W/tour-static" | tr '\n' ' ')" = "$tour_says"
# A program that resolves no name links without c-ares: the hub does not call the resolver.
check "a program that resolves no name links statically without -lcares" \
  cc -Wall -Wextra -Werror -o "$W/no-resolver" "$SRC/tests/no_resolver.c" \
  -I"$SRC/include" -I"$BUILD/include" "$BUILD/src/libgreen.a" -lev -lm -lpthread
check "... and none of the resolver's objects is in it" \
  bash -c '! nm "$0" | grep -Eq "green__dns_|green_getaddrinfo|green_gethostbyname"' \
  "$W/no-resolver"
check "... and it runs" test "$("$W/no-resolver")" = "read x, writer returned 7"

# libgreen(3)'s example, from the installed page's roff: \- is a minus, \e a backslash.
awk '/^\.SH EXAMPLE/ { s = 1 } s && /^\.EX/ { p = 1; next } p && /^\.EE/ { exit } p' \
  "$P/share/man/man3/libgreen.3" | sed 's/\\-/-/g; s/\\e/\\/g' >"$W/man3.c"
check "libgreen(3) has an example" grep -q green_spawn "$W/man3.c"
# shellcheck disable=SC2046
check "... which builds with pkg-config against the prefix" \
  cc -Wall -Wextra -Werror -o "$W/man3" "$W/man3.c" \
  $(PKG_CONFIG_PATH=$libdir/pkgconfig pkg-config --cflags --libs libgreen) -Wl,-rpath,"$libdir"
check "... and prints each result" test "$("$W/man3" | tr '\n' ' ')" = "result 0 result 1 result 4 "

# ---- the installed greenrun -----------------------------------------------------------------
if [ -n "$SLEEPERS" ]; then
  check "the installed greenrun preloads the installed shim" \
    bash -c '"$0" -- sh -c "echo \$LD_PRELOAD" | grep -qx "$1/libgreen-preload.so"' \
    "$P/bin/greenrun" "$libdir"
  check "the installed greenrun runs 4 threads on one OS thread" \
    bash -c '"$0" "$1" 4 1 | grep -qx "THREADS 1"' "$P/bin/greenrun" "$SLEEPERS"
fi
exit $((failures > 0))
