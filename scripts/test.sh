#!/usr/bin/env bash
# The test command: set-up (idempotent), build, then the whole suite via ctest.
# Extra arguments go to ctest (e.g. scripts/test.sh -R Tokenizer).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${UNMASK_BUILD_DIR:-$ROOT/build}"
"$ROOT/scripts/setup.sh"
cd "$BUILD_DIR"
ctest --output-on-failure -j"$(nproc)" "$@"
