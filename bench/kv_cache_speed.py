#!/usr/bin/env python3
"""Sampling time with and without the KV cache (`unmask sample` against
`unmask sample --no-kv-cache`, same checkpoint, seed and tokens), in one run:

  * bd3lm: a DiT trained for a few steps with blocks of --block tokens at
    L = --length; blocks left to right, --steps denoising calls per block.
    Without the cache every call runs the clean prefix and the block through
    the x_t ⊕ x_0 input; with it, the block attends to the cached keys and
    values and one store pass per block extends them.
  * ar: the same DiT size trained causally; decoding --ar-length tokens.
    Without the cache every token re-runs its whole prefix.

The weights are nearly untrained (the point is time, not text); both runs
must give the same tokens, which the script checks.

    python3 bench/kv_cache_speed.py [--build build] [--threads 2] [--length 1024] [--block 16] [--steps 4]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_throughput import ensure_data  # noqa: E402


def train(unmask, data, work, name, diffusion, length, args):
    run = os.path.join(work, "run-" + name)
    cfg = {
        "seed": 1,
        "model": {"backbone": "dit", "hidden": args.hidden, "layers": args.layers, "heads": args.heads,
                  "mlp_ratio": 4, "dropout": 0.0, "max_length": length, "cond_dim": 64},
        "diffusion": diffusion,
        "data": {"path": data, "mode": "wrap", "length": length},
        "train": {"batch_size": 2, "max_steps": 3, "lr": 1e-3, "warmup_steps": 0, "ema": 0.0, "log_every": 1,
                  "eval_every": 100000, "val_batches": 0, "checkpoint_every": 3, "sample_every": 0,
                  "device": "cpu", "threads": args.threads, "precision": "fp32"},
    }
    path = os.path.join(work, name + ".json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    subprocess.run(["rm", "-rf", run])
    subprocess.run([unmask, "--log-level", "warn", "train", "--config", path, "--out", run], check=True)
    return run


def timed_sample(unmask, run, length, steps, cached, out, threads):
    cmd = [unmask, "--log-level", "warn", "sample", "--checkpoint", run, "--num", "1", "--length", str(length),
           "--steps", str(steps), "--seed", "3", "--out", out]
    if not cached:
        cmd.append("--no-kv-cache")
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env=env)
    wall = time.perf_counter() - start
    row = json.loads(open(out).readline())
    return wall, row["ids"], row["nfe"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--length", type=int, default=1024)
    ap.add_argument("--ar-length", type=int, default=256)
    ap.add_argument("--block", type=int, default=16)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    args = ap.parse_args()
    unmask = os.path.abspath(os.path.join(args.build, "unmask"))
    work = os.path.join(tempfile.gettempdir(), "unmask-bench-kv")
    os.makedirs(work, exist_ok=True)
    data = ensure_data(unmask, work)
    rows = []
    bd = train(unmask, data, work, "bd3lm", {"objective": "bd3lm", "block_size": args.block}, args.length, args)
    ar = train(unmask, data, work, "ar", {"objective": "ar"}, args.ar_length, args)
    for label, run, length, steps in [(f"bd3lm L'={args.block}, L={args.length}, {args.steps} steps/block", bd,
                                       args.length, args.steps),
                                      (f"ar, L={args.ar_length}", ar, args.ar_length, 1)]:
        got = {}
        for cached in (True, False):
            got[cached] = timed_sample(unmask, run, length, steps, cached, os.path.join(work, "s.jsonl"), args.threads)
        same = got[True][1] == got[False][1]
        rows.append((label, got[True][0], got[False][0], got[True][2], got[False][2], same))
    print(f"DiT {args.hidden}x{args.layers}, 1 sample, {args.threads} threads (wall time of `unmask sample`)\n")
    print("| model | with KV cache (s) | recomputing the prefix (s) | speed-up | calls (cache / none) | same tokens |")
    print("|---|---:|---:|---:|---:|---|")
    for label, c, n, nc, nn, same in rows:
        print(f"| {label} | {c:.2f} | {n:.2f} | {n / c:.1f}x | {nc} / {nn} | {'yes' if same else 'NO'} |")


if __name__ == "__main__":
    main()
