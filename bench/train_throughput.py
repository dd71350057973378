#!/usr/bin/env python3
"""Training throughput and model-FLOPs utilisation (MFU) of `unmask train`
against the same model and loss in Python PyTorch with HF transformers'
BertForMaskedLM (the stack of DiffusionBERT and RoBERTa diffusion), on the
CPU, same batch, same sequence length, same thread count, in one run.

    python3 bench/train_throughput.py [--build build] [--threads 2] [--steps 40]

unmask runs twice per size: as configured by default (fused AdamW, the
output head at the masked rows only) and with the full output head
(train.masked_head=false), to show what the masked-only head buys; with
--unfused also with LibTorch's per-parameter AdamW (optim.fused=false).

Run it with the Python that scripts/setup.sh prepared (it has torch); it
installs transformers there if missing. Model FLOPs per token are counted
analytically (3 × forward matmul FLOPs); the peak is LibTorch's own mm rate
measured in the same run by build/unmask_bench_mm.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def flops_per_token(hidden, layers, mlp_ratio, length, vocab):
    d, L = hidden, length
    forward = layers * (2 * 4 * d * d + 2 * 2 * d * mlp_ratio * d + 2 * 2 * L * d) + 2 * d * d + 2 * d * vocab
    return 3 * forward


def ensure_data(unmask, work):
    data = os.path.join(work, "data")
    if os.path.isdir(data):
        return data
    files = sorted(os.path.join("/usr/share/games/fortunes", f) for f in os.listdir("/usr/share/games/fortunes")
                   if "." not in f and os.path.isfile(os.path.join("/usr/share/games/fortunes", f)))
    tok = os.path.join(work, "tokenizer")
    subprocess.run([unmask, "--log-level", "warn", "tokenizer", "train", "--input", *files, "--format", "docs",
                    "--doc-separator", "percent", "--vocab-size", "8000", "--out", tok, "--overwrite"], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([unmask, "--log-level", "warn", "data", "prepare", "--input", *files, "--format", "docs",
                    "--doc-separator", "percent", "--tokenizer", tok, "--out", data, "--overwrite"], check=True,
                   stdout=subprocess.DEVNULL)
    return data


def unmask_tokens_per_s(unmask, data, size, args, work, backbone="bert", objective="mlm", fused=True,
                        masked_head=True):
    run = os.path.join(work, f"run-{size['name']}-{backbone}-{'fused' if fused else 'unfused'}-"
                             f"{'rows' if masked_head else 'full'}")
    cfg = {
        "seed": 1,
        "model": {"backbone": backbone, "hidden": size["hidden"], "layers": size["layers"], "heads": size["heads"],
                  "mlp_ratio": 4, "dropout": 0.1, "max_length": args.length, "cond_dim": 64},
        "diffusion": {"objective": objective},
        "optim": {"fused": fused},
        "data": {"path": data, "mode": "wrap", "length": args.length},
        "train": {"masked_head": masked_head, "batch_size": args.batch, "max_steps": args.steps, "lr": 1e-4, "warmup_steps": 0, "ema": 0.0,
                  "log_every": 10, "eval_every": 100000, "val_batches": 0, "checkpoint_every": 100000,
                  "sample_every": 0,
                  "device": "cpu", "threads": args.threads, "precision": "fp32"},
    }
    path = os.path.join(work, f"{size['name']}-{backbone}.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    subprocess.run(["rm", "-rf", run])
    subprocess.run([unmask, "--log-level", "warn", "train", "--config", path, "--out", run], check=True)
    rows = [json.loads(l) for l in open(os.path.join(run, "metrics.jsonl"))]
    rates = [r["tokens_per_s"] for r in rows if r["split"] == "train"][1:]  # drop the first interval (warm-up)
    return sum(rates) / len(rates)


def python_tokens_per_s(size, args, vocab):
    import torch
    from transformers import BertConfig, BertForMaskedLM
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=vocab, hidden_size=size["hidden"], num_hidden_layers=size["layers"],
                     num_attention_heads=size["heads"], intermediate_size=4 * size["hidden"],
                     max_position_embeddings=args.length, hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
    model = BertForMaskedLM(cfg).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    ids = torch.randint(5, vocab, (args.batch, args.length))

    def step():
        masked = torch.rand(ids.shape) < 0.15
        inputs = ids.masked_fill(masked, 4)
        labels = ids.masked_fill(~masked, -100)
        loss = model(input_ids=inputs, attention_mask=torch.ones_like(ids), labels=labels).loss
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    for _ in range(10):
        step()
    start = time.perf_counter()
    for _ in range(args.steps - 10):
        step()
    return args.batch * args.length * (args.steps - 10) / (time.perf_counter() - start)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--length", type=int, default=128)
    ap.add_argument("--sizes", default="tiny,20M", help="comma-separated subset of tiny,20M")
    ap.add_argument("--unfused", action="store_true", help="also run unmask with optim.fused=false")
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "unmask-bench-train"))
    args = ap.parse_args()
    try:
        import transformers  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "transformers"], check=True)
    unmask = os.path.abspath(os.path.join(args.build, "unmask"))
    os.makedirs(args.work, exist_ok=True)
    data = ensure_data(unmask, args.work)
    vocab = json.load(open(os.path.join(data, "meta.json")))["tokenizer"]["vocab_size"]
    peak = json.loads(subprocess.run([os.path.join(args.build, "unmask_bench_mm"), "1024", str(args.threads)],
                                     check=True, capture_output=True, text=True).stdout)["gflops"]
    sizes = [s for s in [{"name": "tiny", "hidden": 128, "layers": 4, "heads": 4},
                         {"name": "20M", "hidden": 512, "layers": 6, "heads": 8}] if s["name"] in args.sizes.split(",")]
    print(f"CPU, {args.threads} threads, batch {args.batch} x {args.length} tokens, vocab {vocab}, fp32; "
          f"peak (LibTorch mm 1024^3): {peak:.1f} GFLOP/s\n")
    print("| model | params | unmask tok/s | Python HF tok/s | unmask / Python | unmask MFU | Python MFU | "
          "unmask, full head, tok/s | masked / full head |" + (" unmask, unfused AdamW, tok/s | fused / unfused |"
                                                                if args.unfused else ""))
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|---:|" if args.unfused else ""))
    for size in sizes:
        d, n = size["hidden"], size["layers"]
        params = n * 12 * d * d + vocab * d + args.length * d
        f = flops_per_token(d, n, 4, args.length, vocab)
        ours = unmask_tokens_per_s(unmask, data, size, args, args.work)
        theirs = python_tokens_per_s(size, args, vocab)
        full = unmask_tokens_per_s(unmask, data, size, args, args.work, masked_head=False)
        line = (f"| bert {size['name']} (MLM) | {params / 1e6:.1f}M | {ours:,.0f} | {theirs:,.0f} | {ours / theirs:.2f} | "
                f"{100 * ours * f / (peak * 1e9):.1f}% | {100 * theirs * f / (peak * 1e9):.1f}% | {full:,.0f} | "
                f"{ours / full:.2f} |")
        if args.unfused:
            unfused = unmask_tokens_per_s(unmask, data, size, args, args.work, fused=False)
            line += f" {unfused:,.0f} | {ours / unfused:.2f} |"
        print(line, flush=True)
    dit = unmask_tokens_per_s(unmask, data, sizes[0], args, args.work, backbone="dit", objective="mdlm")
    dit_full = unmask_tokens_per_s(unmask, data, sizes[0], args, args.work, backbone="dit", objective="mdlm",
                                   masked_head=False)
    print(f"\nFor reference, the tiny DiT with the MDLM objective (no Python peer here): {dit:,.0f} tok/s, "
          f"{dit_full:,.0f} with the full head ({dit / dit_full:.2f}).")


if __name__ == "__main__":
    main()
