#!/usr/bin/env bash
# From nothing to a trained masked-diffusion model on the embedded default
# corpus (Debian's fortunes, installed by setup): tokenizer, shards, then a few
# minutes of MDLM training of configs/tiny.json on the CPU, then samples. Everything lands in
# runs/quickstart/ (override with UNMASK_RUN_DIR).
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

echo "== 4. train configs/tiny.json (MDLM, DiT 4 x 128) for a few minutes"
rm -rf "$RUN_DIR/tiny"
"$unmask" train --config "$ROOT/configs/tiny.json" --set "data.path=$RUN_DIR/data" --out "$RUN_DIR/tiny"

echo "== 5. the validation NELBO per token falls (ELBO perplexity in brackets)"
grep '"split":"val"' "$RUN_DIR/tiny/metrics.jsonl" | sed -E 's/.*"step":([0-9]+).*"loss":([0-9.]+).*"ppl":([0-9.]+).*/  step \1: \2 (ppl <= \3)/'
PY="$(grep -s '^UNMASK_PYTHON:' "$BUILD_DIR/CMakeCache.txt" | cut -d= -f2)"
[[ -x "$PY" ]] || PY=python3
"$PY" "$ROOT/scripts/plot_metrics.py" "$RUN_DIR/tiny" --out "$RUN_DIR/tiny/metrics.png" >/dev/null &&
  echo "  curves: $RUN_DIR/tiny/metrics.png"

echo "== 6. samples from the trained model, with two samplers"
echo "-- ancestral (MDLM ddpm), 64 steps:"
"$unmask" --log-level warn sample --checkpoint "$RUN_DIR/tiny" --num 3 --steps 64 --sampler ancestral
echo "-- first_hitting (one token per network call):"
"$unmask" --log-level warn sample --checkpoint "$RUN_DIR/tiny" --num 3 --sampler first_hitting

echo "== 7. a small autoregressive scorer on the same data, for gen-perplexity"
rm -rf "$RUN_DIR/scorer"
"$unmask" --log-level warn train --config "$ROOT/configs/tiny.json" --set "data.path=$RUN_DIR/data" \
  --set diffusion.objective=ar --set train.max_steps=400 --set train.eval_every=400 --set train.checkpoint_every=400 \
  --set train.sample_every=0 --out "$RUN_DIR/scorer"

echo "== 8. one evaluation report: ELBO perplexity, BLEU, self-BLEU, gen-perplexity, entropy"
"$unmask" --log-level warn eval all --checkpoint "$RUN_DIR/tiny" --scorer "$RUN_DIR/scorer"
echo "  (written to $RUN_DIR/tiny/eval.json and eval.md)"

echo "== done: tokenizer $RUN_DIR/tokenizer, shards $RUN_DIR/data, model $RUN_DIR/tiny/checkpoints/latest"
