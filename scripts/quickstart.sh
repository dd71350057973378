#!/usr/bin/env bash
# From nothing to a tokenizer and prepared training shards on the embedded
# default corpus (Debian's fortunes, installed by setup), in a few minutes on a
# laptop. Everything lands in runs/quickstart/ (override with UNMASK_RUN_DIR).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${UNMASK_BUILD_DIR:-$ROOT/build}"
RUN_DIR="${UNMASK_RUN_DIR:-$ROOT/runs/quickstart}"
"$ROOT/scripts/setup.sh"
unmask="$BUILD_DIR/unmask"

mapfile -t corpus < <(find /usr/share/games/fortunes -maxdepth 1 -type f ! -name '*.*' | sort)
echo "== corpus: ${#corpus[@]} fortune files, $(cat "${corpus[@]}" | wc -c) bytes"
mkdir -p "$RUN_DIR"

echo "== 1. train a tokenizer (unigram, 4000 pieces, lossless byte fallback)"
"$unmask" tokenizer train --input "${corpus[@]}" --format docs --doc-separator percent \
  --vocab-size 4000 --out "$RUN_DIR/tokenizer" --overwrite

echo "== 2. tokenize on all cores into train/val shards"
"$unmask" data prepare --input "${corpus[@]}" --format docs --doc-separator percent \
  --tokenizer "$RUN_DIR/tokenizer" --out "$RUN_DIR/data" --val-fraction 0.02 --overwrite

echo "== 3. look at rows the way the trainer will see them (OWT-style packing, length 64)"
"$unmask" data inspect --data "$RUN_DIR/data" --mode wrap --length 64 --rows 2 --verify

echo "== done: tokenizer in $RUN_DIR/tokenizer, shards in $RUN_DIR/data"
