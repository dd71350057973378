#!/usr/bin/env bash
# The whole CPU test suite on a build whose own code is instrumented with
# AddressSanitizer and UndefinedBehaviorSanitizer (LibTorch as shipped).
# Any finding fails the test that hit it: UBSan aborts on the first report,
# ASan on the first memory error, LeakSanitizer at exit (leaks inside the
# LibTorch and CUDA libraries, which are not ours, are suppressed by
# tests/lsan.supp). Separate from scripts/test.sh because the instrumented
# build takes about 40 minutes on 2 cores: CI runs it as .ci/sanitize.
#   scripts/dev/test_sanitized.sh [ctest args...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export UNMASK_BUILD_DIR="${UNMASK_SANITIZE_BUILD_DIR:-$ROOT/build-asan}"
UNMASK_SANITIZE=ON "$ROOT/scripts/setup.sh"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1"
export LSAN_OPTIONS="suppressions=$ROOT/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
cd "$UNMASK_BUILD_DIR"
ctest --output-on-failure -j"$(nproc)" --timeout 1800 "$@"
