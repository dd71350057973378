#!/usr/bin/env python3
"""Training throughput of block diffusion (diffusion.objective=bd3lm) against
MDLM at the same row length, model, batch and threads, in one run, with
`unmask train` on the prepared fortunes (DiT backbone, CPU).

bd3lm runs its vectorised 2L input (x_t ⊕ x_0 with the block attention mask
through SDPA with a boolean mask), so a step costs about twice MDLM's
forward and backward; the table gives the measured ratio for several block
sizes. Tokens per second count the L tokens of each row (as for MDLM).

    python3 bench/bd3lm_train_speed.py [--build build] [--threads 2] [--steps 30] [--length 256]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_throughput import ensure_data  # noqa: E402


def tokens_per_s(unmask, data, args, work, diffusion, name):
    run = os.path.join(work, "run-" + name)
    cfg = {
        "seed": 1,
        "model": {"backbone": "dit", "hidden": args.hidden, "layers": args.layers, "heads": args.heads,
                  "mlp_ratio": 4, "dropout": 0.1, "max_length": args.length, "cond_dim": 64},
        "diffusion": diffusion,
        "data": {"path": data, "mode": "wrap", "length": args.length},
        "train": {"batch_size": args.batch, "max_steps": args.steps, "lr": 1e-4, "warmup_steps": 0, "ema": 0.0,
                  "log_every": 5, "eval_every": 100000, "val_batches": 0, "checkpoint_every": 100000,
                  "sample_every": 0, "device": "cpu", "threads": args.threads, "precision": "fp32"},
    }
    path = os.path.join(work, name + ".json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    subprocess.run(["rm", "-rf", run])
    subprocess.run([unmask, "--log-level", "warn", "train", "--config", path, "--out", run], check=True)
    rows = [json.loads(l) for l in open(os.path.join(run, "metrics.jsonl"))]
    rates = [r["tokens_per_s"] for r in rows if r["split"] == "train"][1:]  # drop the warm-up interval
    return sum(rates) / len(rates)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--length", type=int, default=256)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    args = ap.parse_args()
    unmask = os.path.abspath(os.path.join(args.build, "unmask"))
    work = os.path.join(tempfile.gettempdir(), "unmask-bench-bd3lm")
    os.makedirs(work, exist_ok=True)
    data = ensure_data(unmask, work)
    runs = [("mdlm", {"objective": "mdlm"})]
    for block in (4, 16, args.length):
        runs.append((f"bd3lm L'={block}", {"objective": "bd3lm", "block_size": block}))
    results = [(name, tokens_per_s(unmask, data, args, work, d, name.replace("'", "").replace("=", ""))) for name, d in runs]
    print(f"DiT {args.hidden}x{args.layers}, L = {args.length}, batch {args.batch}, {args.threads} threads, "
          f"{args.steps} steps\n")
    print("| objective | tokens/s | ÷ mdlm |")
    print("|---|---:|---:|")
    for name, rate in results:
        print(f"| {name} | {rate:,.0f} | {rate / results[0][1]:.2f} |")


if __name__ == "__main__":
    main()
