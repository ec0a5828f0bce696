#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What `cmake --install` puts down works from where it lands, even a prefix other than the
# configured one: the README's tour builds against the installed headers and libraries alone,
# with pkg-config and from a CMake project's find_package(libgreen) (shared and static), and
# runs; the installed greenrun finds the installed shim and runs a program's threads as
# greenlets of one OS thread. The static library links without c-ares when the program
# resolves no name.
#
# usage: install.sh BUILD_DIR README SLEEPERS
set -uo pipefail
BUILD=$1 README=$2 SLEEPERS=$3
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
failures=0
check() { # check DESCRIPTION COMMAND...: the command must succeed
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; failures=$((failures + 1)); fi
}
cmake --install "$BUILD" --prefix "$W/prefix" >"$W/install.log" || { cat "$W/install.log"; exit 1; }
P=$W/prefix
pc=$(dirname "$(find "$P" -name libgreen.pc)")
awk '/^## A tour/ { t = 1 } t && /^```c/ { p = 1; next } p && /^```/ { exit } p' "$README" >"$W/tour.c"
check "the README's tour is there" test -s "$W/tour.c"
libdir=$(realpath "$(PKG_CONFIG_PATH=$pc pkg-config --variable=libdir libgreen)")
check "pkg-config finds libgreen under the new prefix" test -f "$libdir/libgreen.a"
# shellcheck disable=SC2046
check "the tour builds against the installed libgreen" \
  cc -Wall -Wextra -Werror -o "$W/tour" "$W/tour.c" $(PKG_CONFIG_PATH=$pc pkg-config --cflags --libs libgreen) \
  -Wl,-rpath,"$libdir"
check "the tour runs (each worker after its sleep, joined in turn)" \
  test "$("$W/tour" | tr '\n' ' ')" = "worker 0 done result 0 worker 1 done result 1 worker 2 done result 4 "
# A CMake project elsewhere: find_package(libgreen) gives libgreen::green (shared) and
# libgreen::green_static, with the include directory and what the static library needs.
mkdir "$W/consumer"
cp "$W/tour.c" "$W/consumer/"
cat >"$W/consumer/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.20)
project(consumer C)
find_package(libgreen 0.1 REQUIRED)
add_compile_options(-Wall -Wextra -Werror)
add_executable(tour_shared tour.c)
target_link_libraries(tour_shared PRIVATE libgreen::green)
add_executable(tour_static tour.c)
target_link_libraries(tour_static PRIVATE libgreen::green_static)
CMAKE
logged() { "$@" >>"$W/consumer.log" 2>&1 || { cat "$W/consumer.log"; return 1; }; }
check "a CMake project finds the installed libgreen" \
  logged cmake -S "$W/consumer" -B "$W/consumer/build" -DCMAKE_PREFIX_PATH="$P" -DCMAKE_BUILD_TYPE=Release
check "it builds the tour against libgreen::green and libgreen::green_static" \
  logged cmake --build "$W/consumer/build"
for t in tour_shared tour_static; do
  check "the CMake-built $t runs" \
    test "$("$W/consumer/build/$t" | tr '\n' ' ')" = "worker 0 done result 0 worker 1 done result 1 worker 2 done result 4 "
done
check "the CMake-built tour_shared uses the installed libgreen.so" \
  bash -c 'ldd "$0" | grep -q "$1/libgreen.so"' "$W/consumer/build/tour_shared" "$libdir"
check "the CMake-built tour_static has no libgreen.so" \
  bash -c '! ldd "$0" | grep -q libgreen' "$W/consumer/build/tour_static"
# The README's static link, from the source tree: its build/ is this build directory.
static_cmd=$(grep -o 'from the source tree: `cc tour.c [^`]*`' "$README" | sed 's/.*`cc tour.c //; s/`$//')
check "the README gives a static link line" test -n "$static_cmd"
# shellcheck disable=SC2086
check "the tour links statically as the README says" \
  bash -c 'cd "$0" && cc -o "$1/tour-static" "$1/tour.c" ${2//build\//$3/}' \
  "$(dirname "$README")" "$W" "$static_cmd" "$(realpath "$BUILD")"
check "the statically linked tour runs" \
  test "$("$W/tour-static" | tr '\n' ' ')" = "worker 0 done result 0 worker 1 done result 1 worker 2 done result 4 "
# A program that resolves no name links without c-ares: the hub does not call the resolver.
check "a program that resolves no name links statically without -lcares" \
  cc -Wall -Wextra -Werror -o "$W/no-resolver" "$(dirname "$0")/no_resolver.c" \
  -I"$(dirname "$README")/include" -I"$BUILD/include" "$BUILD/src/libgreen.a" -lev -lm -lpthread
check "... and none of the resolver's objects is in it" \
  bash -c '! nm "$0" | grep -Eq "green__dns_|green_getaddrinfo|green_gethostbyname"' "$W/no-resolver"
check "... and it runs" test "$("$W/no-resolver")" = "read x, writer returned 7"
check "the installed greenrun preloads the installed shim" \
  bash -c '"$0" -- sh -c "echo \$LD_PRELOAD" | grep -qx "$1/libgreen-preload.so"' "$P/bin/greenrun" "$libdir"
check "the installed greenrun runs 4 threads on one OS thread" \
  bash -c '"$0" "$1" 4 1 | grep -qx "THREADS 1"' "$P/bin/greenrun" "$SLEEPERS"
exit $((failures > 0))
