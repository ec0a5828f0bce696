#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs a command in a network and mount namespace of its own, where /etc/resolv.conf names
# 127.0.0.1 and slow_dns.py answers on port 53 there (glibc's resolver knows no other port),
# so a program's lookups go to the slow server natively and under the shim alike.
# Exits 77 (ctest: skipped) where namespaces are not allowed (not root).
#
# usage: with_slow_dns.sh PYTHON DELAY -- command args...
set -euo pipefail
if [ "${1:-}" != --inside ]; then
  unshare --net --mount true 2>/dev/null || { echo "with_slow_dns.sh: no namespaces here"; exit 77; }
  exec unshare --net --mount "$0" --inside "$@"
fi
shift
PYTHON=$1 DELAY=$2
shift 3
DIR=$(mktemp -d)
SPID=""
cleanup() { [ -z "$SPID" ] || kill "$SPID" 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT
ip link set lo up
echo "nameserver 127.0.0.1" >"$DIR/resolv.conf"
echo "options timeout:5 attempts:1" >>"$DIR/resolv.conf"
echo "hosts: files dns" >"$DIR/nsswitch.conf"
mount --bind "$DIR/resolv.conf" /etc/resolv.conf
mount --bind "$DIR/nsswitch.conf" /etc/nsswitch.conf
"$PYTHON" "$(dirname "$0")/slow_dns.py" 53 "$DELAY" >"$DIR/dns.out" 2>&1 &
SPID=$!
for _ in $(seq 100); do grep -q '^PORT' "$DIR/dns.out" && break; sleep 0.05; done
grep -q '^PORT' "$DIR/dns.out" || { echo "slow_dns.py did not start"; cat "$DIR/dns.out"; exit 1; }
"$@"
