#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# greenrun -j "$GREENRUN_J", with the options given: a greenrun command for harnesses that
# pass no -j of their own (check.sh). GREENRUN_BIN is greenrun's path.
# usage: GREENRUN_BIN=PATH GREENRUN_J=N greenrun_j.sh [greenrun's options] -- PROGRAM ARGS...
set -euo pipefail
exec "$GREENRUN_BIN" -j "${GREENRUN_J:-1}" "$@"
