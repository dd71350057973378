#!/usr/bin/env python3
"""FLOP and memory budget of unmask's MDLM DiT (src/model/dit.cpp) on one GPU:
parameters, training FLOPs per token, tokens/s at a stated MFU, and the largest
batch that fits, from an explicit memory model. Standard library only.

    python3 scripts/dev/gpu_budget.py                  # the table of docs/GPU.md
    python3 scripts/dev/gpu_budget.py sample           # the largest N × L for sampling
    python3 scripts/dev/gpu_budget.py model --hidden 768 --layers 12 --heads 12 \
        --cond-dim 128 --vocab 50258 --length 1024 [--batch 16]   # one JSON line

The formulas and constants are stated in docs/GPU.md; scripts/gpu_check.sh
uses `model` for the MFU and the memory estimate of what it measures.
"""
import argparse
import json

GiB = 1024 ** 3

# Bytes per parameter that live through training: fp32 weights 4, gradients 4,
# AdamW first and second moments 8, EMA copy 4.
STATE_BYTES_PER_PARAM = 20
# Activation bytes saved for the backward pass, per token: per DiT block
# ACT_PER_LAYER × hidden (fp32 residual and LayerNorms as MDLM computes them,
# bf16 matmul inputs, rotary copies of q and k, SDPA's q/k/v/output, the GELU
# input and output, dropout masks), and at the output head HEAD_PER_VOCAB ×
# vocab (bf16 logits, the fp32 log-softmax of the masked rows and the gradient
# buffers alive at the start of the backward pass).
ACT_PER_LAYER = 68
HEAD_PER_VOCAB = 12
OVERHEAD = 3 * GiB    # CUDA context, cuBLAS workspaces, allocator slack
USABLE = 0.90         # of the device memory, for fragmentation

SIZES = {  # MDLM/SEDD small and medium DiTs, GPT-2 vocabulary (+ [MASK]) as in MDLM OWT
    "small": dict(hidden=768, layers=12, heads=12, cond_dim=128, vocab=50258),
    "medium": dict(hidden=1024, layers=24, heads=16, cond_dim=128, vocab=50258),
}
GPUS = {  # name: (dense bf16 peak FLOP/s, memory in bytes, where the numbers come from)
    "H100 SXM": (989e12, 79.1 * GiB, "nominal dense bf16; 79.1 GiB usable of 80 GB"),
    "H200": (790e12, 139 * GiB, "790 TFLOP/s measured (8192^3 bf16 mm); 139 GiB usable"),
}


def dit_params(hidden, layers, cond_dim, vocab, mlp_ratio=4, freq_dim=256, **_):
    """Exact parameter count of unmask's DiT (untied embedding and output)."""
    h, c, m = hidden, cond_dim, mlp_ratio * hidden
    block = (2 * h              # two bias-free LayerNorm weights
             + 3 * h * h + h * h  # attn_qkv, attn_out (no bias)
             + h * m + m + m * h + h  # MLP
             + c * 6 * h + 6 * h)  # adaLN modulation
    final = h + h * vocab + vocab + c * 2 * h + 2 * h
    sigma_map = freq_dim * c + c + c * c + c
    return vocab * h + sigma_map + layers * block + final


def matmul_params(hidden, layers, vocab, mlp_ratio=4, **_):
    """Weights applied to every token: the blocks' projections and the output layer.
    (The embedding is a lookup; adaLN and the time MLP run once per sequence.)"""
    return layers * (4 + 2 * mlp_ratio) * hidden * hidden + hidden * vocab


def flops_per_token(hidden, layers, vocab, length, mlp_ratio=4, **_):
    """Training FLOPs per token: 6·N_matmul (forward 2, backward 4) plus
    attention scores and values over the full (bidirectional) length:
    3 × (2·2·length·hidden) per layer = 12·layers·hidden·length."""
    return 6 * matmul_params(hidden, layers, vocab, mlp_ratio) + 12 * layers * hidden * length


def activation_bytes_per_token(hidden, layers, vocab, **_):
    return ACT_PER_LAYER * hidden * layers + HEAD_PER_VOCAB * vocab


def memory_bytes(size, batch, length):
    return (STATE_BYTES_PER_PARAM * dit_params(**size) + OVERHEAD
            + batch * length * activation_bytes_per_token(**size))


def max_batch(size, length, memory):
    free = USABLE * memory - STATE_BYTES_PER_PARAM * dit_params(**size) - OVERHEAD
    return max(0, int(free // (length * activation_bytes_per_token(**size))))


# Sampling (docs/GPU.md, "Sampling memory"): the weights in fp32 and their
# bf16 autocast copies (6 bytes per parameter), and per canvas position at most
# three bf16 logits rows (3 · 2 · V bytes: the logits becoming float32
# log-probabilities, then the log-probabilities plus the chunked draws;
# tests/unit/step_memory_test.cpp). The network's body needs far less per
# position (about 40 · hidden bytes, one layer at a time) and is not alive
# with the logits.
SAMPLE_WEIGHT_BYTES = 6
SAMPLE_LOGITS_UNITS = 3


def sample_positions(size, memory):
    free = USABLE * memory - SAMPLE_WEIGHT_BYTES * dit_params(**size) - OVERHEAD
    per_position = max(SAMPLE_LOGITS_UNITS * 2 * size["vocab"], 40 * size["hidden"])
    return max(0, int(free // per_position))


def sample_table():
    print(f"Sampling memory = {SAMPLE_WEIGHT_BYTES}·P + {OVERHEAD // GiB} GiB + N·L·{SAMPLE_LOGITS_UNITS}·2·V bytes "
          f"within {USABLE:.0%} of the device.\n")
    print("| model | GPU | positions N·L | largest N at L = 128 | at L = 1024 |")
    print("|---|---|---:|---:|---:|")
    for name, size in SIZES.items():
        for gpu, (_, memory, _) in GPUS.items():
            n = sample_positions(size, memory)
            print(f"| {name} ({size['hidden']}×{size['layers']}) | {gpu} | {n:,} | {n // 128:,} | {n // 1024:,} |")


def table(mfu):
    print(f"Model FLOPs per token = 6·N_matmul + 12·layers·hidden·L; tokens/s at {mfu:.0%} MFU; "
          f"memory = {STATE_BYTES_PER_PARAM}·P + {OVERHEAD // GiB} GiB + B·L·({ACT_PER_LAYER}·hidden·layers + "
          f"{HEAD_PER_VOCAB}·V) bytes within {USABLE:.0%} of the device.\n")
    print("| model | params P | N_matmul | L | GFLOP/token | GPU | tokens/s | largest batch | tokens/batch | "
          "weights+optimizer+EMA |")
    print("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|")
    for name, size in SIZES.items():
        p, n = dit_params(**size), matmul_params(**size)
        for length in (128, 1024):
            f = flops_per_token(length=length, **size)
            for gpu, (peak, memory, _) in GPUS.items():
                b = max_batch(size, length, memory)
                print(f"| {name} ({size['hidden']}×{size['layers']}) | {p / 1e6:.1f}M | {n / 1e6:.1f}M | {length} | "
                      f"{f / 1e9:.3f} | {gpu} | {mfu * peak / f:,.0f} | {b} | {b * length:,} | "
                      f"{STATE_BYTES_PER_PARAM * p / GiB:.1f} GiB |")
    print()
    for gpu, (_, _, note) in GPUS.items():
        print(f"- {gpu}: {note}.")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command")
    t = sub.add_parser("table", help="the budget table of docs/GPU.md")
    t.add_argument("--mfu", type=float, default=0.40)
    sub.add_parser("sample", help="the sampling memory table of docs/GPU.md")
    m = sub.add_parser("model", help="one model's numbers as JSON")
    for key in ("hidden", "layers", "heads", "cond-dim", "vocab", "length"):
        m.add_argument(f"--{key}", type=int, required=True)
    m.add_argument("--mlp-ratio", type=int, default=4)
    m.add_argument("--batch", type=int, default=0)
    args = ap.parse_args()
    if args.command == "model":
        size = dict(hidden=args.hidden, layers=args.layers, heads=args.heads, cond_dim=args.cond_dim,
                    vocab=args.vocab, mlp_ratio=args.mlp_ratio)
        print(json.dumps({"params": dit_params(**size), "matmul_params": matmul_params(**size),
                          "flops_per_token": flops_per_token(length=args.length, **size),
                          "memory_bytes": memory_bytes(size, args.batch, args.length)}))
    elif args.command == "sample":
        sample_table()
    else:
        table(getattr(args, "mfu", 0.40))


if __name__ == "__main__":
    main()
