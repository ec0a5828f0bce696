#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# py_ftp_tls.py with a throw-away self-signed certificate.
set -euo pipefail
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/key.pem" -out "$d/cert.pem" -days 1 \
  -subj /CN=localhost 2>/dev/null
/usr/bin/python3 "$(dirname "$0")/py_ftp_tls.py" "$d/cert.pem" "$d/key.pem"
