#!/usr/bin/env bash
# Builds the libFuzzer harnesses (fuzz/, clang + ASan + UBSan) and runs them.
#
# A harness's corpus is fuzz/corpus/<name>.tar.xz (the inputs fuzzing found,
# one compressed archive) plus the files of fuzz/corpus/<name>/ (seeds and
# regression-* inputs, kept as files to be read).
#   scripts/dev/fuzz.sh [SECONDS] [HARNESS...]
#       fuzz each harness for SECONDS (default 60) on its corpus, adding the
#       inputs that reach new coverage to its archive (shrink it with
#       scripts/dev/fuzz_merge.sh before committing).
#   scripts/dev/fuzz.sh --ci [SECONDS] [HARNESS...]
#       what CI runs (scripts/test.sh): replay every committed input of each
#       corpus, then fuzz each harness for SECONDS (default 10) with new
#       inputs kept in a scratch directory (the committed corpus is not
#       touched).
# A crash, a leak, a sanitizer report or an input slower than 10 s is written
# to fuzz/crashes/<name>-* and makes the script exit 1.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="${UNMASK_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
ALL=(config shard meta safetensors tokenizer_dir trainer_state manifest samples prompt_template completion_request
     corpus_jsonl bleu)
CI_MODE=0
if [[ "${1:-}" == "--ci" ]]; then CI_MODE=1; shift; fi
SECONDS_EACH="${1:-$([[ $CI_MODE == 1 ]] && echo 10 || echo 60)}"; shift || true
[[ "$SECONDS_EACH" =~ ^[0-9]+$ ]] || { echo "fuzz.sh: SECONDS must be a whole number, got '$SECONDS_EACH'" >&2; exit 2; }
HARNESSES=("$@")
[[ ${#HARNESSES[@]} -eq 0 ]] && HARNESSES=("${ALL[@]}")
for h in "${HARNESSES[@]}"; do
  [[ " ${ALL[*]} " == *" $h "* ]] || { echo "fuzz.sh: unknown harness '$h' (valid: ${ALL[*]})" >&2; exit 2; }
done
command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }

if [[ ! -f "$BUILD/build.ninja" ]]; then
  LAUNCHER=()
  command -v ccache >/dev/null && LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  CXX=clang++ cmake -S "$ROOT/fuzz" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${LAUNCHER[@]}" >/dev/null
fi
cmake --build "$BUILD" -j"$(nproc)"

mkdir -p "$ROOT/fuzz/crashes"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
FLAGS=(-max_len=65536 -timeout=10 -rss_limit_mb=4096 -print_final_stats=1)
SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT
failed=()
summary() { grep -E "^(#[0-9]+.*(INITED|DONE)|stat::number_of_executed_units|stat::new_units_added|==[0-9]+==ERROR|SUMMARY|.*runtime error)" >&2 || true; }
# The whole corpus of harness $1 unpacked into a scratch directory (printed).
unpack_corpus() {
  local dir="$SCRATCH/corpus-$1"
  mkdir -p "$dir"
  [[ -f "$ROOT/fuzz/corpus/$1.tar.xz" ]] && tar -xJf "$ROOT/fuzz/corpus/$1.tar.xz" -C "$dir"
  [[ -d "$ROOT/fuzz/corpus/$1" ]] && { cp "$ROOT/fuzz/corpus/$1"/* "$dir"/ 2>/dev/null || true; }
  echo "$dir"
}
# Writes the archive of harness $1 from a corpus directory (regression-* inputs stay files).
pack_corpus() {
  (cd "$2" && find . -maxdepth 1 -type f ! -name 'regression-*' -printf '%f\n' | sort |
     tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cJf "$ROOT/fuzz/corpus/$1.tar.xz.tmp" -T -)
  mv "$ROOT/fuzz/corpus/$1.tar.xz.tmp" "$ROOT/fuzz/corpus/$1.tar.xz"
}
for h in "${HARNESSES[@]}"; do
  corpus="$(unpack_corpus "$h")"
  if [[ $CI_MODE == 1 ]]; then
    echo "[fuzz] $h: replaying $(ls "$corpus" | wc -l) committed inputs, then ${SECONDS_EACH}s of new ones" >&2
    "$BUILD/fuzz_$h" "$corpus" -runs=0 "${FLAGS[@]}" -artifact_prefix="$ROOT/fuzz/crashes/$h-" 2>&1 | summary
    status=${PIPESTATUS[0]}
    if [[ $status == 0 ]]; then
      mkdir -p "$SCRATCH/$h"
      "$BUILD/fuzz_$h" "$SCRATCH/$h" "$corpus" -max_total_time="$SECONDS_EACH" "${FLAGS[@]}" \
        -artifact_prefix="$ROOT/fuzz/crashes/$h-" 2>&1 | summary
      status=${PIPESTATUS[0]}
    fi
  else
    echo "[fuzz] $h for ${SECONDS_EACH}s" >&2
    "$BUILD/fuzz_$h" "$corpus" -max_total_time="$SECONDS_EACH" "${FLAGS[@]}" \
      -artifact_prefix="$ROOT/fuzz/crashes/$h-" 2>&1 | summary
    status=${PIPESTATUS[0]}
    pack_corpus "$h" "$corpus"
  fi
  [[ $status == 0 ]] || failed+=("$h")
done
if ((${#failed[@]})); then
  echo "[fuzz] findings in: ${failed[*]} (inputs in fuzz/crashes/)" >&2
  exit 1
fi
echo "[fuzz] ${#HARNESSES[@]} harnesses, no crashes, leaks or timeouts" >&2
