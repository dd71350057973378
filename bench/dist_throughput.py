#!/usr/bin/env python3
"""Data-parallel training on this machine: `unmask train` tokens/s with one
process against two processes started by torchrun (Gloo over loopback), the
same model, global batch and steps, in one run; then the gradient
synchronisation cost of the bucketed path against one all-reduce per
parameter (build/unmask_bench_allreduce).

    python3 bench/dist_throughput.py [--build build] [--steps 30] [--batch 16]

Run it with the Python that scripts/setup.sh prepared (torchrun sits beside
it). Prints Markdown tables.
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_throughput import ensure_data  # noqa: E402

SIZE = {"name": "20M", "hidden": 512, "layers": 6, "heads": 8}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def train(unmask, torchrun, data, work, name, procs, threads, args):
    cfg = {
        "seed": 1,
        "model": {"backbone": "dit", "hidden": SIZE["hidden"], "layers": SIZE["layers"], "heads": SIZE["heads"],
                  "cond_dim": 128, "dropout": 0.0, "max_length": args.length},
        "diffusion": {"objective": "mdlm"},
        "data": {"path": data, "mode": "wrap", "length": args.length},
        "train": {"batch_size": args.batch, "max_steps": args.steps, "warmup_steps": 1, "log_every": 1,
                  "eval_every": 10 ** 6, "val_batches": 0, "checkpoint_every": 10 ** 6, "sample_every": 0,
                  "device": "cpu", "precision": "fp32", "threads": threads, "ema": 0},
        "dist": {"timeout_s": 120},
    }
    path = os.path.join(work, name + ".json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    out = os.path.join(work, name)
    shutil.rmtree(out, ignore_errors=True)  # a fresh run each time
    cmd = [unmask, "--log-level", "warn", "train", "--config", path, "--out", out]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), GLOO_SOCKET_IFNAME="lo")
    if procs > 1:
        cmd = [torchrun, "--nnodes=1", f"--nproc-per-node={procs}", "--master-addr=127.0.0.1",
               f"--master-port={free_port()}", "--no-python"] + cmd
    subprocess.run(cmd, check=True, env=env)
    lines = [json.loads(l) for l in open(os.path.join(out, "metrics.jsonl"))]
    rates = [l["tokens_per_s"] for l in lines if l["split"] == "train" and l["step"] > 5]  # warm-up excluded
    return statistics.median(rates)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--length", type=int, default=128)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "unmask-bench-dist"))
    args = ap.parse_args()
    unmask = os.path.join(args.build, "unmask")
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    os.makedirs(args.work, exist_ok=True)
    data = ensure_data(unmask, args.work)

    runs = [("1 process, 1 thread", 1, 1), ("1 process, 2 threads", 1, 2), ("2 processes (torchrun), 1 thread each", 2, 1)]
    rows = []
    for i, (label, procs, threads) in enumerate(runs):
        rows.append((label, procs, train(unmask, torchrun, data, args.work, f"run{i}", procs, threads, args)))
    base = rows[0][2]
    print(f"\n### Training tokens/s, dit {SIZE['name']} (hidden {SIZE['hidden']}, {SIZE['layers']} layers), mdlm, "
          f"global batch {args.batch} x {args.length}, fp32, {args.steps} steps\n")
    print("| run | total tokens/s | per process | vs 1 process, 1 thread |")
    print("|---|---:|---:|---:|")
    for label, procs, rate in rows:
        print(f"| {label} | {rate:,.0f} | {rate / procs:,.0f} | {rate / base:.2f}x |")

    env = dict(os.environ, OMP_NUM_THREADS="1", GLOO_SOCKET_IFNAME="lo")
    out = subprocess.run([torchrun, "--nnodes=1", "--nproc-per-node=2", "--master-addr=127.0.0.1",
                          f"--master-port={free_port()}", "--no-python", os.path.join(args.build, "unmask_bench_allreduce"),
                          str(SIZE["hidden"]), str(SIZE["layers"]), str(SIZE["heads"]), "8000", "8",
                          str(args.length), str(args.reps), "25"], check=True, env=env, capture_output=True, text=True)
    r = json.loads([l for l in out.stdout.splitlines() if l.startswith("{")][-1])
    print(f"\n### Gradient synchronisation, 2 ranks, Gloo over loopback: {r['parameters']:,} parameters in "
          f"{r['tensors']} tensors ({r['gradient_mb']:.1f} MB of fp32 gradients)\n")
    print("| path | seconds (median) | vs per parameter |")
    print("|---|---:|---:|")
    print(f"| one blocking all-reduce per parameter tensor ({r['tensors']}) | {r['per_param_s']:.4f} | 1.00x |")
    print(f"| flattened {r['bucket_mb']:.0f} MB buckets ({r['buckets']}) | {r['bucketed_s']:.4f} | "
          f"{r['bucketed_s'] / r['per_param_s']:.2f}x |")
    print(f"| c10d::Reducer during backward: exposed time (backward {r['backward_s']:.3f} s alone, "
          f"{r['backward_with_reducer_s']:.3f} s with it) | {r['reducer_exposed_s']:.4f} | "
          f"{r['reducer_exposed_s'] / r['per_param_s']:.2f}x |")


if __name__ == "__main__":
    main()
