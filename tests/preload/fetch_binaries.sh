#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fetches from the local test server (slow_http_server.py on port $1) with the unmodified
# Debian curl and wget, by name (curl resolves it on a thread of its own) and by address,
# and prints what came: status and sha256 of each body. Then stops the server.
set -euo pipefail
port=$1
sum() { sha256sum | cut -c1-16; }
echo "curl big by name:    $(curl -sf "http://localhost:$port/big" | sum)"
echo "curl small:          $(curl -sf "http://127.0.0.1:$port/hello")"
echo "curl status:         $(curl -s -o /dev/null -w '%{http_code} %{size_download}' "http://127.0.0.1:$port/big")"
echo "wget big:            $(wget -q -O - "http://127.0.0.1:$port/big" | sum)"
echo "wget small by name:  $(wget -q -O - "http://localhost:$port/hello")"
curl -s "http://127.0.0.1:$port/quit" >/dev/null
