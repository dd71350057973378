#!/usr/bin/env bash
# Shrinks each harness's archived corpus (fuzz/corpus/<name>.tar.xz) to the
# inputs that reach distinct coverage (libFuzzer -merge=1); the files of
# fuzz/corpus/<name>/ (seeds, regression-* inputs) stay as they are.
#   scripts/dev/fuzz_merge.sh [HARNESS...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="${UNMASK_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
[[ -x "$BUILD/fuzz_config" ]] || { echo "fuzz_merge.sh: build the harnesses first (scripts/dev/fuzz.sh 0)" >&2; exit 1; }
HARNESSES=("$@")
[[ ${#HARNESSES[@]} -eq 0 ]] && HARNESSES=(config shard meta safetensors tokenizer_dir trainer_state manifest samples
                                           prompt_template completion_request corpus_jsonl bleu)
export ASAN_OPTIONS="detect_leaks=0"
for h in "${HARNESSES[@]}"; do
  all="$(mktemp -d)" merged="$(mktemp -d)"
  [[ -f "$ROOT/fuzz/corpus/$h.tar.xz" ]] && tar -xJf "$ROOT/fuzz/corpus/$h.tar.xz" -C "$all"
  "$BUILD/fuzz_$h" -merge=1 -max_len=65536 -timeout=10 "$merged" "$all" >/dev/null 2>&1
  (cd "$merged" && find . -maxdepth 1 -type f -printf '%f\n' | sort |
     tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cJf "$ROOT/fuzz/corpus/$h.tar.xz" -T -)
  echo "[merge] $h: $(ls "$merged" | wc -l) inputs archived" >&2
  rm -rf "$all" "$merged"
done
