#!/usr/bin/env bash
# Builds the libFuzzer harnesses (fuzz/, clang + ASan + UBSan) and runs each
# for SECONDS (default 60) on its corpus in fuzz/corpus/<name>, adding the
# inputs that reach new coverage. Crashes are written to fuzz/crashes/.
#   scripts/fuzz.sh [SECONDS] [HARNESS...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${UNMASK_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
SECONDS_EACH="${1:-60}"; shift || true
command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found (apt-get install clang)" >&2; exit 1; }
if [[ ! -f "$BUILD/build.ninja" ]]; then
  CXX=clang++ cmake -S "$ROOT/fuzz" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$BUILD" -j"$(nproc)"
HARNESSES=("$@")
[[ ${#HARNESSES[@]} -eq 0 ]] && HARNESSES=(config shard meta safetensors tokenizer_dir trainer_state manifest samples prompt_template corpus_jsonl bleu)
mkdir -p "$ROOT/fuzz/crashes"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
for h in "${HARNESSES[@]}"; do
  mkdir -p "$ROOT/fuzz/corpus/$h"
  echo "[fuzz] $h for ${SECONDS_EACH}s" >&2
  "$BUILD/fuzz_$h" "$ROOT/fuzz/corpus/$h" -max_total_time="$SECONDS_EACH" -max_len=65536 -timeout=10 \
    -rss_limit_mb=4096 -artifact_prefix="$ROOT/fuzz/crashes/$h-" -print_final_stats=1 2>&1 |
    grep -E "^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::new_units_added|==[0-9]+==ERROR|SUMMARY)" >&2 || true
done
ls "$ROOT/fuzz/crashes" | grep -q . && { echo "[fuzz] crashes in fuzz/crashes/" >&2; exit 1; }
echo "[fuzz] no crashes" >&2
