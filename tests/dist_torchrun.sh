#!/usr/bin/env bash
# Two ranks of `unmask train` started by torchrun itself, exactly as users
# start them (`torchrun --nproc-per-node=2 --no-python unmask train ...`), on
# Gloo over loopback: the job ends with exit 0, rank 0 states the world and
# writes every step's metrics.
#   tests/dist_torchrun.sh UNMASK TORCHRUN DATA_DIR
set -euo pipefail
UNMASK=$1 TORCHRUN=$2 DATA=$3
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cat >"$WORK/config.json" <<JSON
{"seed": 2, "model": {"backbone": "dit", "hidden": 32, "layers": 1, "heads": 2, "cond_dim": 16, "dropout": 0.0,
                      "max_length": 32},
 "diffusion": {"objective": "mdlm"}, "data": {"path": "$DATA", "mode": "wrap", "length": 24},
 "train": {"batch_size": 8, "max_steps": 6, "warmup_steps": 1, "log_every": 1, "eval_every": 3, "val_batches": 1,
           "checkpoint_every": 3, "sample_every": 0, "device": "cpu", "threads": 1},
 "dist": {"timeout_s": 60}}
JSON
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export GLOO_SOCKET_IFNAME=lo OMP_NUM_THREADS=1
"$TORCHRUN" --nnodes=1 --nproc-per-node=2 --master-addr=127.0.0.1 --master-port="$PORT" --no-python \
  "$UNMASK" train --config "$WORK/config.json" --out "$WORK/run" >"$WORK/log" 2>&1 || {
  cat "$WORK/log"
  echo "FAIL: torchrun exited non-zero"
  exit 1
}
cat "$WORK/log"
grep -q "data parallel: 2 ranks over gloo (torchrun" "$WORK/log" || { echo "FAIL: no data-parallel line"; exit 1; }
grep -q "step 6: parameters bit-identical on all 2 ranks" "$WORK/log" || { echo "FAIL: no agreement check"; exit 1; }
lines=$(grep -c '"split":"train"' "$WORK/run/metrics.jsonl")
[[ "$lines" == 6 ]] || { echo "FAIL: $lines train lines in metrics.jsonl, expected 6"; exit 1; }
echo "PASS: torchrun started 2 ranks; 6 steps logged by rank 0"
