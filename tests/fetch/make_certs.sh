#!/bin/sh
# SPDX-License-Identifier: MIT
# Throw-away TLS material for the green-fetch tests, in DIR:
#   ca.pem            a test CA (nobody else trusts it)
#   server.pem/.key   signed by it for localhost, 127.0.0.1 and ::1
#   wrong.pem/.key    signed by it for wrong.example only
#   self.pem/.key     self-signed for localhost: trusted by no CA
# usage: make_certs.sh DIR
set -eu
cd "$1"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ext() { printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$1"; }
# sign NAME SAN: NAME.key and NAME.pem, signed by the CA
sign() {
  key "$1.key"
  openssl req -new -key "$1.key" -subj "/CN=$1" -out "$1.csr"
  ext "$2" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -set_serial "0x$(openssl rand -hex 8)" \
    -days 2 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
}
key ca.key
openssl req -x509 -new -key ca.key -subj "/CN=green-fetch test CA" -days 2 \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" -out ca.pem
sign server "DNS:localhost,IP:127.0.0.1,IP:::1"
sign wrong "DNS:wrong.example"
key self.key
openssl req -x509 -new -key self.key -subj "/CN=localhost" -days 2 \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -out self.pem
