#!/usr/bin/env bash
# Shrinks fuzz/corpus/<name> to the inputs that reach distinct coverage
# (libFuzzer -merge=1), keeping every input named regression-* as it is.
#   scripts/fuzz_merge.sh [HARNESS...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${UNMASK_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
[[ -x "$BUILD/fuzz_config" ]] || { echo "fuzz_merge.sh: build the harnesses first (scripts/fuzz.sh 0)" >&2; exit 1; }
HARNESSES=("$@")
[[ ${#HARNESSES[@]} -eq 0 ]] && HARNESSES=(config shard meta safetensors tokenizer_dir trainer_state manifest samples
                                           prompt_template corpus_jsonl bleu)
export ASAN_OPTIONS="detect_leaks=0"
for h in "${HARNESSES[@]}"; do
  corpus="$ROOT/fuzz/corpus/$h"
  tmp="$(mktemp -d)"
  "$BUILD/fuzz_$h" -merge=1 -max_len=65536 -timeout=10 "$tmp" "$corpus" >/dev/null 2>&1
  find "$corpus" -maxdepth 1 -type f ! -name 'regression-*' -delete
  cp "$tmp"/* "$corpus"/ 2>/dev/null || true
  rm -rf "$tmp"
  echo "[merge] $h: $(ls "$corpus" | wc -l) inputs" >&2
done
