#!/usr/bin/env bash
# One prepared check of unmask's GPU path. On a machine with an NVIDIA GPU it
# builds unmask against the LibTorch of a Python that holds PyTorch (Debian
# .debs from scripts/dev/gpu_bundle.sh unpacked into prefixes), then runs the
# checks and measurements of docs/GPU.md and writes a Markdown table.
# --dry-run runs the same steps on the CPU with tiny sizes, against an
# existing build (ctest scripts.gpu_check_dry_run), so the script cannot rot.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage() {
  cat <<EOF
usage: scripts/gpu_check.sh [--dry-run | --build-only] [--build-dir DIR] [--out FILE.md] [--python PY] [--debs DIR] [--work DIR]
  --dry-run        every step on the CPU with tiny sizes, using the build in --build-dir (default build/)
  --build-only     unpack the bundle, configure and build, then stop (no GPU needed: checks the bundle)
  --build-dir DIR  where to build (default build-gpu/; with --dry-run: an existing build, default build/)
  --out FILE.md    the Markdown report (default: stdout, and \$OUT/gpu_check.md when \$OUT is set)
  --python PY      a Python with PyTorch >= 2.7 (default python3; with --dry-run the build's UNMASK_PYTHON)
  --debs DIR       the .deb files of scripts/dev/gpu_bundle.sh (default .gpu-debs/)
  --work DIR       scratch folder for data and runs (default: a new temporary folder, removed at the end)
EOF
}
die() { echo "gpu_check: error: $*" >&2; exit 2; }

DRY=0 BUILD_ONLY=0 BUILD_DIR="" OUT_MD="" PY="" DEBS="$ROOT/.gpu-debs" WORK=""
while (($#)); do
  case "$1" in
    --dry-run) DRY=1 ;;
    --build-only) BUILD_ONLY=1 ;;
    --build-dir) BUILD_DIR="${2:?--build-dir needs a value}"; shift ;;
    --out) OUT_MD="${2:?--out needs a value}"; shift ;;
    --python) PY="${2:?--python needs a value}"; shift ;;
    --debs) DEBS="${2:?--debs needs a value}"; shift ;;
    --work) WORK="${2:?--work needs a value}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
  shift
done
[[ -n "$BUILD_DIR" ]] || BUILD_DIR="$ROOT/$( ((DRY)) && echo build || echo build-gpu)"
if ((DRY)); then
  [[ -f "$BUILD_DIR/CMakeCache.txt" ]] || die "no build in $BUILD_DIR for --dry-run (build first: scripts/setup.sh)"
else
  mkdir -p "$BUILD_DIR"
fi
BUILD_DIR="$(cd "$BUILD_DIR" && pwd)"
if [[ -z "$PY" ]]; then
  PY=python3
  if ((DRY)); then
    cached="$(grep -s '^UNMASK_PYTHON:' "$BUILD_DIR/CMakeCache.txt" | cut -d= -f2 || true)"
    [[ -n "$cached" ]] && PY="$cached"
  fi
fi
command -v "$PY" >/dev/null || die "no Python '$PY' (give one that holds PyTorch with --python)"
TORCH_INFO="$("$PY" -c 'import torch, sys; print(torch.__version__, int(torch.cuda.is_available()), torch.version.cuda, torch.utils.cmake_prefix_path, sys.version.split()[0])' 2>/dev/null)" ||
  die "'$PY' cannot import torch (give a Python that holds PyTorch >= 2.7 with --python)"
read -r TORCH_VERSION HAS_CUDA TORCH_CUDA TORCH_CMAKE PY_VERSION <<<"$TORCH_INFO"
"$PY" -c 'import sys, torch; v = tuple(int(x) for x in torch.__version__.split("+")[0].split(".")[:2]); sys.exit(v < (2, 7) or not torch._C._GLIBCXX_USE_CXX11_ABI)' ||
  die "torch $TORCH_VERSION in '$PY' is older than 2.7 or built with the old C++ ABI; Debian's libraries need the C++11 ABI"
((DRY && BUILD_ONLY)) && die "--dry-run and --build-only exclude each other"
if ((!DRY && !BUILD_ONLY)) && [[ "$HAS_CUDA" != 1 ]]; then
  die "no CUDA GPU visible to torch $TORCH_VERSION in '$PY'; use --dry-run to run the steps on the CPU"
fi

WORK_GIVEN="$WORK"
WORK="${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/unmask-gpu-check.XXXXXX")}"
mkdir -p "$WORK/logs"
[[ -n "$WORK_GIVEN" ]] || trap 'rm -rf "$WORK"' EXIT
CHECKS="$WORK/checks.tsv" MEASURES="$WORK/measures.tsv" STEPS="$WORK/steps.tsv"
: >"$CHECKS"; : >"$MEASURES"; : >"$STEPS"
HELP=("$PY" "$ROOT/scripts/dev/gpu_check_helpers.py")
exec 3>&2  # PASS/FAIL lines reach the console from inside logged steps
cell() { printf '%s' "$*" | tr '|\t\n' '/  '; }  # one Markdown table cell
record() { printf '%s\t%s\t%s\n' "$(cell "$1")" "$2" "$(cell "$3")" >>"$CHECKS"; echo "$2 $1: $3" >&3; }
measure() { printf '%s\t%s\t%s\n' "$(cell "$1")" "$(cell "$2")" "$(cell "$3")" >>"$MEASURES"; echo "MEASURED $1: $2 ($3)" >&3; }
# Runs a step function with errexit in a subshell, stopped after its own time
# limit (seconds; the dry run gives every step $LIMIT); an unexpected failure
# or the limit is a FAIL row. The report is rewritten after every step, so a
# check stopped from outside still returns what ran.
step() {
  local name="$1" fn="$2" limit="${3:-$LIMIT}" log="$WORK/logs/$2.log" t0 rc pid watchdog
  ((DRY)) && limit=$LIMIT
  t0=$(date +%s)
  echo "[gpu_check] $name (limit ${limit} s)" >&3
  set +e
  ( set -e; "$fn" ) >"$log" 2>&1 &
  pid=$!
  ( sleep "$limit" && echo "step time limit of ${limit} s passed" >>"$log" && pkill -TERM -P "$pid"; kill -TERM "$pid" ) \
    >/dev/null 2>&1 &
  watchdog=$!
  wait "$pid"
  rc=$?
  pkill -TERM -P "$watchdog" 2>/dev/null  # its sleep
  kill "$watchdog" 2>/dev/null
  wait "$watchdog" 2>/dev/null
  set -e
  printf '%s\t%s\n' "$name" "$(($(date +%s) - t0))" >>"$STEPS"
  if ((rc != 0)) && grep -q '^step time limit of' "$log"; then
    record "$name" FAIL "stopped at its time limit of ${limit} s"
    tail -20 "$log" | sed 's/^/    /' >&3
  elif ((rc != 0)); then
    record "$name" FAIL "a command failed (exit $rc): $(grep -v '^\s*$' "$log" | tail -1 | cut -c1-200)"
    tail -20 "$log" | sed 's/^/    /' >&3
  fi
  write_report "$(($(date +%s) - T0))" quiet
  return 0
}

# ---- sizes: the real check, or tiny ones for --dry-run -------------------------
JOBS="$(nproc)"
if ((DRY)); then
  DEV=cpu PREC=bf16 VOCAB=1000 LIMIT="${UNMASK_GPU_CHECK_DRY_LIMIT:-180}"  # per command and per step
  TINY=(model.hidden=64 model.layers=2 model.heads=4 model.cond_dim=32 train.batch_size=16)
  TINY_STEPS=60 RESUME_STEPS=10
  BIG=(model.hidden=64 model.layers=2 model.heads=4 model.cond_dim=32) BIG_NAME="tiny DiT (64 × 2)"
  LENGTHS=(32 128) BATCHES=(8 4) BIG_STEPS=10 BIG_LOG=2
  SAMPLE_NUM=2 SAMPLE_STEPS=16 SAMPLE_BATCHES=(1 4) MM=(--device cpu --dtype fp32 --size 512)
else
  DEV=cuda PREC=bf16 VOCAB=50258 LIMIT=240
  TINY=(model.hidden=128 model.layers=4 model.heads=4 model.cond_dim=64 train.batch_size=32)
  TINY_STEPS=300 RESUME_STEPS=40
  BIG=(model.hidden=768 model.layers=12 model.heads=12 model.cond_dim=128) BIG_NAME="MDLM small DiT (768 × 12, 12 heads)"
  LENGTHS=(128 1024) BATCHES=(128 16) BIG_STEPS=30 BIG_LOG=5
  SAMPLE_NUM=8 SAMPLE_STEPS=128 SAMPLE_BATCHES=(1 16 64) MM=(--device cuda --dtype bf16 --size 8192)
fi
UNMASK="$BUILD_DIR/unmask"
DATA="$WORK/data"

# ---- build (GPU machine: Debian prefixes + the Python's LibTorch) --------------
source "$ROOT/scripts/dev/gpu_check_build.sh"

# ---- checks ---------------------------------------------------------------------
step_cuda_tests() {
  if ((DRY)); then
    # Not a nested ctest (this runs inside ctest): list the label, run the binary.
    local n
    n=$(ctest --test-dir "$BUILD_DIR" -N -L cuda | sed -n 's/^Total Tests: //p')
    if UNMASK_TEST_DEVICE=cpu with_libs timeout "$LIMIT" "$BUILD_DIR/tests/unmask_device_tests"; then
      record "tests labelled cuda (on cpu)" PASS "$n tests carry the label; unmask_device_tests passed with UNMASK_TEST_DEVICE=cpu"
    else
      record "tests labelled cuda (on cpu)" FAIL "unmask_device_tests failed with UNMASK_TEST_DEVICE=cpu (log: logs/step_cuda_tests.log)"
    fi
  elif UNMASK_TEST_DEVICE=cuda with_libs ctest --test-dir "$BUILD_DIR" -L cuda --output-on-failure --timeout "$LIMIT"; then
    record "ctest -L cuda (UNMASK_TEST_DEVICE=cuda)" PASS "$(grep -o '[0-9]*% tests passed.*' "$WORK/logs/step_cuda_tests.log" | tail -1)"
  else
    record "ctest -L cuda (UNMASK_TEST_DEVICE=cuda)" FAIL "$(grep -o '[0-9]*% tests passed.*' "$WORK/logs/step_cuda_tests.log" | tail -1)"
  fi
}

step_data() {
  mapfile -t files < <(find "$FORTUNES" -maxdepth 1 -type f ! -name '*.*' | sort)
  ((${#files[@]})) || { echo "no fortunes in $FORTUNES" >&2; return 1; }
  um tokenizer train --input "${files[@]}" --format docs --doc-separator percent --vocab-size "$VOCAB" \
    --model-type bpe --out "$WORK/tokenizer" --threads "$JOBS"
  um data prepare --input "${files[@]}" --format docs --doc-separator percent --tokenizer "$WORK/tokenizer" \
    --out "$DATA" --val-fraction 0.05 --threads "$JOBS" >/dev/null
  cat >"$WORK/base.json" <<EOF
{"seed": 1,
 "model": {"backbone": "dit", "hidden": 128, "layers": 4, "heads": 4, "mlp_ratio": 4, "dropout": 0.1,
           "max_length": 64, "cond_dim": 64, "time_conditioning": "none"},
 "diffusion": {"objective": "mdlm", "schedule": "loglinear"},
 "data": {"path": "$DATA", "mode": "wrap", "length": 64},
 "train": {"batch_size": 32, "max_steps": 100, "lr": 0.001, "warmup_steps": 10, "ema": 0.999,
           "precision": "$PREC", "device": "$DEV", "log_every": 5, "eval_every": 1000000, "val_batches": 0,
           "checkpoint_every": 1000000, "sample_every": 0}}
EOF
  local tokens
  tokens=$("${HELP[@]}" field "$DATA/meta.json" splits.train.tokens splits.val.tokens)
  record "tokenizer + data from fortunes" PASS "BPE vocab $VOCAB; train ${tokens% *} tokens, val ${tokens#* } tokens"
}

train() {  # OUT_DIR [--set k=v]...
  local out="$1"; shift
  local sets=() kv
  for kv in "$@"; do sets+=(--set "$kv"); done
  um train --config "$WORK/base.json" --out "$out" "${sets[@]}"
}

step_train() {
  train "$WORK/tiny" "${TINY[@]}" train.max_steps="$TINY_STEPS" train.checkpoint_every="$TINY_STEPS" \
    train.log_every=$((TINY_STEPS / 30))
  local verdict
  if verdict=$("${HELP[@]}" loss-falls "$WORK/tiny/metrics.jsonl"); then
    record "train tiny DiT, $DEV, $PREC: loss falls" PASS "$TINY_STEPS steps; $verdict"
  else
    record "train tiny DiT, $DEV, $PREC: loss falls" FAIL "$TINY_STEPS steps; $verdict"
  fi
}

step_resume() {
  local n=$RESUME_STEPS half=$((RESUME_STEPS / 2)) common verdict
  common=("${TINY[@]}" train.log_every=1 train.warmup_steps=5)
  train "$WORK/straight" "${common[@]}" train.max_steps=$n train.checkpoint_every=$n
  train "$WORK/resumed" "${common[@]}" train.max_steps=$half train.checkpoint_every=$half
  local sets=() kv
  for kv in "${common[@]}" train.max_steps=$n train.checkpoint_every=$n; do sets+=(--set "$kv"); done
  um train --config "$WORK/base.json" --out "$WORK/resumed" "${sets[@]}" --resume
  local noise=()
  if [[ "$DEV" == cuda ]]; then
    # The noise floor: a second straight run (CUDA kernels with atomics need not repeat bitwise).
    train "$WORK/straight2" "${common[@]}" train.max_steps=$n train.checkpoint_every=$n
    noise=("$WORK/straight2/metrics.jsonl")
  fi
  local name="resume is exact on $DEV ($half + $half steps vs $n)"
  if verdict=$("${HELP[@]}" resume-diff "$WORK/straight/metrics.jsonl" "$WORK/resumed/metrics.jsonl" "$half" "${noise[@]}"); then
    record "$name" PASS "$verdict"
  else
    record "$name" FAIL "$verdict"
  fi
}

# Two ranks started by torchrun against one process, same global batch. On a
# one-GPU machine both ranks share the GPU over Gloo (NCCL refuses two ranks
# on one GPU); NCCL itself needs a machine with two GPUs.
step_data_parallel() {
  # fp32 (TF32 matmuls on CUDA): another per-rank batch shape may pick other
  # kernels, so CUDA gets a looser tolerance than the CPU's summation order.
  local common=("${TINY[@]}" model.dropout=0 train.precision=fp32 train.log_every=1 train.max_steps="$RESUME_STEPS"
                train.checkpoint_every="$RESUME_STEPS" dist.backend=gloo dist.timeout_s=120)
  local tol=1e-4
  [[ "$DEV" == cuda ]] && tol=1e-2
  train "$WORK/dp1" "${common[@]}"
  local sets=() kv port verdict
  for kv in "${common[@]}"; do sets+=(--set "$kv"); done
  port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  GLOO_SOCKET_IFNAME=lo with_libs timeout "$LIMIT" "$PY" -m torch.distributed.run --nnodes=1 --nproc-per-node=2 \
    --master-addr=127.0.0.1 --master-port="$port" --no-python \
    "$UNMASK" train --config "$WORK/base.json" --out "$WORK/dp2" "${sets[@]}"
  local name="data parallel: 2 ranks (torchrun, gloo, $DEV) follow 1 process"
  if verdict=$("${HELP[@]}" losses-close "$WORK/dp1/metrics.jsonl" "$WORK/dp2/metrics.jsonl" "$tol"); then
    record "$name" PASS "$verdict"
  else
    record "$name" FAIL "$verdict"
  fi
}

sample() {  # OUT.jsonl [args]...
  local out="$1"; shift
  um sample --checkpoint "$WORK/tiny" --num 4 --length 64 --steps 32 --seed 3 --device "$DEV" --out "$out" "$@"
}

# Same seed, same tokens: with and without --cuda-graph on CUDA (whole steps
# replayed for ancestral, confidence, first_hitting; the denoiser call for
# semi_ar), in fp32, where the comparison is exact; the bf16 agreement rate is
# a measurement. On the CPU (where the CLI refuses --cuda-graph) two plain runs instead.
step_sample() {
  local verdict s name
  for s in ancestral semi_ar confidence first_hitting; do
    sample "$WORK/$s-a.jsonl" --sampler "$s" --block-size 16 --precision fp32
    if [[ "$DEV" == cuda ]]; then
      name="sample $s with and without --cuda-graph (fp32): same tokens"
      sample "$WORK/$s-b.jsonl" --sampler "$s" --block-size 16 --cuda-graph --precision fp32
      sample "$WORK/$s-c.jsonl" --sampler "$s" --block-size 16 --precision bf16
      sample "$WORK/$s-d.jsonl" --sampler "$s" --block-size 16 --cuda-graph --precision bf16
      measure "sample $s, bf16: tokens equal with and without --cuda-graph" "$("${HELP[@]}" agreement "$WORK/$s-c.jsonl" "$WORK/$s-d.jsonl")" \
        "share of the 4 x 64 positions"
    else
      name="sample $s twice, same seed: same tokens"
      sample "$WORK/$s-b.jsonl" --sampler "$s" --block-size 16 --precision fp32
    fi
    if verdict=$("${HELP[@]}" same-ids "$WORK/$s-a.jsonl" "$WORK/$s-b.jsonl"); then
      record "$name" PASS "$verdict"
    else
      record "$name" FAIL "$verdict"
    fi
    [[ "$DEV" == cuda ]] && continue
    if sample "$WORK/$s-graph.jsonl" --sampler "$s" --block-size 16 --cuda-graph 2>"$WORK/graph.err"; then
      record "sample $s --cuda-graph on the CPU is refused" FAIL "it ran; the CLI should refuse it"
    else
      record "sample $s with and without --cuda-graph: same tokens" SKIP \
        "needs CUDA (dry run); on the CPU it is refused: $(tail -1 "$WORK/graph.err" | cut -c1-120)"
    fi
  done
}

# --deterministic: the same request twice gives the same tokens (fp32,
# deterministic kernels); sample 0 alone against sample 0 of a batch of 4 is
# measured, since kernels chosen by shape may still differ (batch invariance
# holds bitwise on the CPU only).
step_deterministic() {
  local verdict
  sample "$WORK/det-a.jsonl" --sampler ancestral --deterministic
  sample "$WORK/det-b.jsonl" --sampler ancestral --deterministic
  if verdict=$("${HELP[@]}" same-ids "$WORK/det-a.jsonl" "$WORK/det-b.jsonl"); then
    record "sample --deterministic twice ($DEV): same tokens" PASS "$verdict"
  else
    record "sample --deterministic twice ($DEV): same tokens" FAIL "$verdict"
  fi
  um sample --checkpoint "$WORK/tiny" --num 1 --length 64 --steps 32 --seed 3 --device "$DEV" --sampler ancestral \
    --deterministic --out "$WORK/det-1.jsonl"
  measure "sample 0 alone vs in a batch of 4, --deterministic: tokens equal" \
    "$("${HELP[@]}" agreement "$WORK/det-1.jsonl" "$WORK/det-a.jsonl")" "share of its 64 positions, $DEV"
}

# BD3-LM on the device: train with blocks of 16 (the x_t + x_0 input), then
# sample 4 x 64 tokens with the KV cache and recomputing the prefix: same
# tokens, and the time of each.
step_block_diffusion() {
  local t0 t1 t2 verdict
  train "$WORK/bd3lm" "${TINY[@]}" diffusion.objective=bd3lm diffusion.block_size=16 \
    train.max_steps="$TINY_STEPS" train.checkpoint_every="$TINY_STEPS" train.log_every=$((TINY_STEPS / 30))
  if verdict=$("${HELP[@]}" loss-falls "$WORK/bd3lm/metrics.jsonl"); then
    record "train bd3lm (blocks of 16), $DEV: loss falls" PASS "$verdict"
  else
    record "train bd3lm (blocks of 16), $DEV: loss falls" FAIL "$verdict"
  fi
  # fp32 for the exact comparison (bf16 rounds the cached and recomputed
  # keys differently); the bf16 agreement rate is a measurement.
  local bd=(--checkpoint "$WORK/bd3lm" --num 4 --length 64 --steps 8 --seed 3 --device "$DEV")
  t0=$(date +%s.%N)
  um sample "${bd[@]}" --precision fp32 --out "$WORK/bd-a.jsonl"
  t1=$(date +%s.%N)
  um sample "${bd[@]}" --precision fp32 --out "$WORK/bd-b.jsonl" --no-kv-cache
  t2=$(date +%s.%N)
  if verdict=$("${HELP[@]}" same-ids "$WORK/bd-a.jsonl" "$WORK/bd-b.jsonl"); then
    record "bd3lm sampling with and without the KV cache (fp32): same tokens" PASS "$verdict"
  else
    record "bd3lm sampling with and without the KV cache (fp32): same tokens" FAIL "$verdict"
  fi
  um sample "${bd[@]}" --precision bf16 --out "$WORK/bd-c.jsonl"
  um sample "${bd[@]}" --precision bf16 --out "$WORK/bd-d.jsonl" --no-kv-cache
  measure "bd3lm, bf16: tokens equal with and without the KV cache" \
    "$("${HELP[@]}" agreement "$WORK/bd-c.jsonl" "$WORK/bd-d.jsonl")" "share of the 4 x 64 positions, $DEV"
  measure "bd3lm sample 4 x 64, blocks of 16, 8 steps/block, $DEV: KV cache vs recomputing (s, process included)" \
    "$("$PY" -c 'import sys; a, b, c = map(float, sys.argv[1:]); print("%.2f vs %.2f" % (b - a, c - b))' "$t0" "$t1" "$t2")" \
    "unmask sample [--no-kv-cache]"
}

step_eval() {
  local out v ppl se
  out=$(um eval ppl --checkpoint "$WORK/tiny" --data "$DATA" --split val --max-rows 64 --draws 2 --device "$DEV" --json)
  echo "$out" >"$WORK/ppl.json"
  read -r ppl se <<<"$("${HELP[@]}" field "$WORK/ppl.json" ppl std_error)"
  v=$(vocab_size)
  if "$PY" -c "import math,sys; p=float(sys.argv[1]); sys.exit(not (math.isfinite(p) and 1 < p < float(sys.argv[2]) - 1))" "$ppl" "$v"; then
    record "eval ppl of the trained tiny DiT" PASS "ppl <= $(printf '%.2f' "$ppl") (NELBO/token std error $(printf '%.3f' "$se"), 2 draws, 64 val rows), below the untrained model's (V-1)^(1-eps) ≈ $((v - 1))"
  else
    record "eval ppl of the trained tiny DiT" FAIL "ppl $ppl is not finite or not below the untrained bound V-1 = $((v - 1))"
  fi
}

# unmask serve on the device: concurrent requests batch, answer 200, and the
# server drains on SIGTERM; how many texts equal their one-at-a-time texts.
step_serve() {
  local verdict
  if verdict=$(with_libs timeout "$LIMIT" "${HELP[@]}" serve-probe "$UNMASK" "$WORK/tiny" "$DEV" 16 2>&1); then
    record "serve: 16 concurrent completions batch, SIGTERM exits 0" PASS "$(echo "$verdict" | tail -1)"
  else
    record "serve: 16 concurrent completions batch, SIGTERM exits 0" FAIL "$(echo "$verdict" | tail -1 | cut -c1-250)"
  fi
}

# serve --pad-lengths on the device: four canvas lengths, 16 concurrent
# requests, on a server as is and one that pads them into shared forwards.
step_serve_pad() {
  local verdict
  if verdict=$(with_libs timeout "$LIMIT" "${HELP[@]}" serve-probe "$UNMASK" "$WORK/tiny" "$DEV" 16 mixed 2>&1); then
    record "serve --pad-lengths: mixed lengths share forwards" PASS "$(echo "$verdict" | tail -1)"
  else
    record "serve --pad-lengths: mixed lengths share forwards" FAIL "$(echo "$verdict" | tail -1 | cut -c1-250)"
  fi
}

source "$ROOT/scripts/dev/gpu_check_measure.sh"

# ---- run everything -------------------------------------------------------------
T0=$(date +%s)
# Step limits (seconds) on the GPU machine: 8 minutes in all, the build first.
if ((DRY)); then
  step "existing build" step_dry_build
else
  step "build" step_build 330
fi
if grep -q $'\tFAIL\t' "$CHECKS"; then
  echo "[gpu_check] the build failed; the other steps need it" >&2
elif ((!BUILD_ONLY)); then
  step "tests labelled cuda" step_cuda_tests 60
  step "data" step_data 30
  step "train" step_train 40
  step "resume" step_resume 40
  step "data parallel" step_data_parallel 40
  step "sample" step_sample 60
  step "deterministic" step_deterministic 20
  step "eval ppl" step_eval 20
  step "block diffusion" step_block_diffusion 50
  step "matmul peak" step_peak 20
  step "training throughput" step_throughput 90
  step "sampling speed" step_sampling_speed 60
  step "fast decoding" step_fast_decoding 60
  step "sampling batch scaling" step_sampling_batch 40
  step "serve" step_serve 40
  step "serve --pad-lengths" step_serve_pad 30
fi
write_report "$(($(date +%s) - T0))"
! grep -q $'\tFAIL\t' "$CHECKS"
