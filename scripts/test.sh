#!/usr/bin/env bash
# The test command: set-up (idempotent), build, the whole suite via ctest,
# then the fuzz corpora replayed and each harness fuzzed briefly
# (scripts/dev/fuzz.sh --ci; UNMASK_FUZZ_SECONDS per harness, default 10).
# Extra arguments go to ctest (e.g. scripts/test.sh -R Tokenizer) and skip
# the fuzzing; UNMASK_SKIP_FUZZ=1 skips it too.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${UNMASK_BUILD_DIR:-$ROOT/build}"
"$ROOT/scripts/setup.sh"
cd "$BUILD_DIR"
ctest --output-on-failure -j"$(nproc)" "$@"
if [[ $# -eq 0 && "${UNMASK_SKIP_FUZZ:-0}" != 1 ]]; then
  "$ROOT/scripts/dev/fuzz.sh" --ci "${UNMASK_FUZZ_SECONDS:-10}"
fi
