#!/usr/bin/env python3
"""Sampler speed of `unmask sample` on the CPU: per sampler, network calls,
seconds per sample and the overhead ratio wall ÷ (calls × one forward pass)
(build/unmask_bench_sample, forward measured in the same process); and, side
by side on the same weights, steps and batch, MDLM's `ddpm_cache` sampling
loop written in Python PyTorch (diffusion.py `_sample` with
`_ddpm_caching_update`), loading the unmask checkpoint's safetensors into a
transcription of MDLM's DiT (tests/fixtures/mdlm_dit.py). The overhead is
given two ways: wall ÷ the time the run spent inside its own network calls,
and wall ÷ (calls × a forward pass timed alone before and after, the faster).

    python3 bench/sample_speed.py [--build build] [--threads 2] [--sizes tiny,20M]
    python3 bench/sample_speed.py --grid [--nums 1,16,64] [--lengths 128,1024] [--steps 16]

--grid: the batched step's scaling instead: the tiny model at every
(length, batch) pair, s/sample and both overhead ratios per sampler, no
Python peer (first_hitting, one call per token, only at lengths <= 128).

Run it with the Python that scripts/setup.sh prepared (it has torch). The
models are initialised by one training step on the fortunes corpus: speed does
not depend on what the weights have learnt.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_throughput import ensure_data  # noqa: E402

SIZES = {"tiny": {"hidden": 128, "layers": 4, "heads": 4, "cond_dim": 64},
         "20M": {"hidden": 512, "layers": 6, "heads": 8, "cond_dim": 128}}


def make_checkpoint(unmask, data, name, size, length, work):
    run = os.path.join(work, f"sample-{name}")
    cfg = {"seed": 1,
           "model": {"backbone": "dit", "mlp_ratio": 4, "dropout": 0.0, "max_length": length,
                     "time_conditioning": "none", **size},
           "diffusion": {"objective": "mdlm", "schedule": "loglinear"},
           "data": {"path": data, "mode": "wrap", "length": length},
           "train": {"batch_size": 4, "max_steps": 1, "lr": 1e-4, "warmup_steps": 0, "ema": 0.0, "log_every": 1,
                     "eval_every": 100000, "val_batches": 0, "checkpoint_every": 1, "sample_every": 0,
                     "device": "cpu", "precision": "fp32"}}
    path = os.path.join(work, f"sample-{name}.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    subprocess.run(["rm", "-rf", run])
    subprocess.run([unmask, "--log-level", "warn", "train", "--config", path, "--out", run], check=True)
    return os.path.join(run, "checkpoints", "step-0000001")


def python_ddpm_cache(ckpt, size, num, length, steps, threads, vocab):
    """MDLM diffusion.py `_sample` with sampler ddpm_cache, time-independent
    model (sigma = 0), float64 Gumbel draws like unmask; returns (seconds, calls)."""
    import torch
    from mdlm_dit import Dit
    from safetensors.torch import load_file
    torch.set_num_threads(threads)
    model = Dit(vocab, dim=size["hidden"], heads=size["heads"], cond_dim=size["cond_dim"], layers=size["layers"])
    model.load_state_dict(load_file(os.path.join(ckpt, "model.safetensors")))
    model.eval()
    mask_id, bos, eps = 4, 2, 1e-3
    full = torch.ones(num, length, dtype=torch.bool)

    def forward(x):  # log p(x0 | x_t), [MASK] excluded (MDLM SUBS parameterisation)
        logits = model(x, torch.zeros(num), full).float()
        logits[:, :, mask_id] = float("-inf")
        return logits.log_softmax(-1)

    def sample():
        calls = 0
        x = torch.full((num, length), mask_id, dtype=torch.long)
        x[:, 0] = bos
        timesteps = torch.linspace(1, eps, steps + 1, dtype=torch.float64)
        dt = (1 - eps) / steps
        p_x0 = None
        for i in range(steps):
            t = timesteps[i]
            if p_x0 is None:
                p_x0 = forward(x).exp().double()
                calls += 1
            q_xs = p_x0 * dt  # move_chance_t − move_chance_s
            q_xs[:, :, mask_id] = t - dt
            gumbel = 1e-10 - (torch.rand_like(q_xs) + 1e-10).log()
            drawn = (q_xs / gumbel).argmax(-1)
            x_next = torch.where(x != mask_id, x, drawn)
            if not torch.equal(x_next, x):
                p_x0 = None
            x = x_next
        if (x == mask_id).any():  # noise removal: a final greedy denoise
            x = torch.where(x == mask_id, forward(x).argmax(-1), x)
            calls += 1
        return calls

    with torch.no_grad():
        sample()  # warm-up
        best, calls = 1e300, 0
        for _ in range(3):
            start = time.perf_counter()
            calls = sample()
            best = min(best, time.perf_counter() - start)
    return best, calls


def grid(args, unmask, bench, data):
    print(f"CPU, {args.threads} threads, dit tiny, {args.steps} steps, fp32; best of 2 runs up to 2,048 tokens "
          "per batch, else 1\n")
    print("| L | N | sampler | network calls | s / sample | wall ÷ time in its calls | wall ÷ (calls × isolated forward) |")
    print("|---:|---:|---|---:|---:|---:|---:|")
    for length in map(int, args.lengths.split(",")):
        ckpt = make_checkpoint(unmask, data, f"tiny-L{length}", SIZES["tiny"], length, args.work)
        for num in map(int, args.nums.split(",")):
            samplers = [s for s in args.samplers.split(",") if s != "first_hitting" or length <= 128]
            reps = 2 if num * length <= 2048 else 1
            ours = json.loads(subprocess.run([bench, ckpt, str(num), str(length), str(args.steps), str(args.threads),
                                              ",".join(samplers), str(reps)], check=True, capture_output=True,
                                             text=True).stdout)
            forward = min(ours["forward_s"], ours["forward_after_s"])
            for s in ours["samplers"]:
                print(f"| {length} | {num} | {s['sampler']} | {s['calls']} | {s['seconds_per_sample']:.4f} | "
                      f"{s['overhead_in_run']:.3f} | {s['seconds'] / (s['calls'] * forward):.3f} |", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--num", type=int, default=8)
    ap.add_argument("--length", type=int, default=128)
    ap.add_argument("--steps", type=int, default=128)
    ap.add_argument("--sizes", default="tiny,20M")
    ap.add_argument("--samplers", default="ancestral,cached,first_hitting,confidence,semi_ar")
    ap.add_argument("--grid", action="store_true")
    ap.add_argument("--nums", default="1,16,64")
    ap.add_argument("--lengths", default="128,1024")
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "unmask-bench-train"))
    args = ap.parse_args()
    unmask = os.path.abspath(os.path.join(args.build, "unmask"))
    bench = os.path.abspath(os.path.join(args.build, "unmask_bench_sample"))
    os.makedirs(args.work, exist_ok=True)
    data = ensure_data(unmask, args.work)
    vocab = json.load(open(os.path.join(data, "meta.json")))["tokenizer"]["vocab_size"]
    if args.grid:
        return grid(args, unmask, bench, data)
    print(f"CPU, {args.threads} threads, batch {args.num} x {args.length} tokens, {args.steps} steps, "
          f"vocab {vocab}, fp32, MDLM DiT without time conditioning\n")
    rows = []
    for name in args.sizes.split(","):
        size = SIZES[name]
        ckpt = make_checkpoint(unmask, data, name, size, args.length, args.work)
        ours = json.loads(subprocess.run([bench, ckpt, str(args.num), str(args.length), str(args.steps),
                                          str(args.threads), args.samplers], check=True, capture_output=True,
                                         text=True).stdout)
        py_s, py_calls = python_ddpm_cache(ckpt, size, args.num, args.length, args.steps, args.threads, vocab)
        rows.append((name, ours, py_s, py_calls))
    print("| model | sampler | network calls | s / sample | overhead: wall ÷ time in its calls | "
          "wall ÷ (calls × isolated forward) |")
    print("|---|---|---:|---:|---:|---:|")
    for name, ours, _, _ in rows:
        forward = min(ours["forward_s"], ours["forward_after_s"])
        for s in ours["samplers"]:
            print(f"| dit {name} | {s['sampler']} | {s['calls']} | {s['seconds_per_sample']:.4f} | "
                  f"{s['overhead_in_run']:.3f} | {s['seconds'] / (s['calls'] * forward):.3f} |")
    print("\n| model | one forward (s) | unmask `cached` (s) | calls | Python `ddpm_cache` (s) | calls | unmask / Python |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, ours, py_s, py_calls in rows:
        cached = next(s for s in ours["samplers"] if s["sampler"] == "cached")
        print(f"| dit {name} | {min(ours['forward_s'], ours['forward_after_s']):.4f} | {cached['seconds']:.3f} | {cached['calls']} | {py_s:.3f} | "
              f"{py_calls} | {cached['seconds'] / py_s:.2f} |")


if __name__ == "__main__":
    main()
