#!/usr/bin/env bash
# The measured effect of two MDLM sampling details that unmask offers as
# options: BOS masked on the initial canvas (--mask-bos) and MDLM's semi-AR
# windowing (--semi-ar-style mdlm). Trains a tiny mdlm and a tiny ar scorer
# on the test corpus (wrap rows of 64), then reports gen-ppl (under the ar
# scorer) and how often position 0 comes out as BOS, for several seeds.
#   bench/studies/mdlm_sampling_details.sh [BUILD_DIR] [WORK_DIR]
set -euo pipefail
BUILD=${1:-build}
WORK=${2:-$(mktemp -d)}
U="$BUILD/unmask --log-level warn"
DATA="$BUILD/tests/fixtures/data"
[ -f "$DATA/meta.json" ] || { echo "no prepared test corpus at $DATA (build and run the tests first)" >&2; exit 1; }
train() {  # name objective
  [ -d "$WORK/$1/checkpoints" ] && return
  $U train --config configs/tiny.json --out "$WORK/$1" --set data.path="$DATA" --set diffusion.objective="$2" \
    --set train.max_steps=600 --set train.eval_every=100000 --set train.checkpoint_every=600 \
    --set train.sample_every=0 --set train.device=cpu --set train.ema=0.0
}
train mdlm mdlm
train ar ar
gen_ppl() {  # label seed sample-args...
  local label=$1 seed=$2; shift 2
  $U sample --checkpoint "$WORK/mdlm" --num 64 --seed "$seed" --out "$WORK/s.jsonl" "$@"
  local ppl bos
  ppl=$($U eval gen-ppl --samples "$WORK/s.jsonl" --scorer "$WORK/ar" --json | python3 -c 'import json,sys; print("%.2f" % json.load(sys.stdin)["gen_ppl"])')
  bos=$(python3 -c 'import json,sys; rows=[json.loads(l) for l in open(sys.argv[1])]; print("%.3f" % (sum(r["ids"][0] == 2 for r in rows) / len(rows)))' "$WORK/s.jsonl")
  echo "| $label | $seed | $ppl | $bos |"
}
echo "| variant | seed | gen-ppl | position 0 is BOS |"
echo "|---|---|---|---|"
for seed in 1 2 3; do
  gen_ppl "ancestral, 64 steps, BOS fixed" $seed --steps 64 --length 64
  gen_ppl "ancestral, 64 steps, --mask-bos" $seed --steps 64 --length 64 --mask-bos
  gen_ppl "semi_ar llada, L 192, blocks 32, 192 steps" $seed --sampler semi_ar --length 192 --block-size 32 --steps 192
  gen_ppl "semi_ar mdlm, L 192, blocks 32, 32 steps each" $seed --sampler semi_ar --semi-ar-style mdlm --length 192 --block-size 32 --steps 32
done
