#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# CPython's own tests of threads (test_threading whole), sockets, select and asyncio (Debian's
# libpython3.11-testsuite), unmodified: each module in turn, in a temp dir. Prints for each the
# number of tests run and the result (what the tests themselves print varies with timing).
#   cpython_tests.sh PYTHON
set -euo pipefail
python=$1
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
cd "$w"
for m in test_thread test_threading test_threading_local test_select test_sched test_epoll test_socketserver \
  test_asyncio.test_sock_lowlevel test_asyncio.test_streams test_asyncio.test_locks \
  test_asyncio.test_queues; do
  status=0
  "$python" -m test -u network -v "$m" >"$m.log" 2>&1 || status=$?
  echo "$m: $(grep -E '^Ran [0-9]+ tests' "$m.log" | cut -d' ' -f1-3), $(grep -E '^(OK|FAILED)' "$m.log" | tail -1), status $status"
done
