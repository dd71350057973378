#!/usr/bin/env python3
"""The FLOP saving of the masked-only output head (train.masked_head), from the
architectures' shapes: per token, multiply-adds of the trunk (projections,
MLP, attention scores and mixing) against those of the output head, and the
share of a training step saved when the head runs on a fraction m of the
positions (forward and backward scale alike, so the share holds for both).

    python3 bench/studies/head_flops.py
"""


def macs_per_token(hidden, layers, length, vocab, mlp_ratio=4, transform=False):
    trunk = layers * (4 * hidden * hidden + 2 * mlp_ratio * hidden * hidden + 2 * length * hidden)
    head = hidden * vocab + (hidden * hidden if transform else 0)  # BERT: MLM transform before the decoder
    return trunk, head


MODELS = [
    ("BERT-base (DiffusionBERT, RoBERTa-style), L = 128", dict(hidden=768, layers=12, length=128, vocab=30522, transform=True)),
    ("MDLM DiT small, LM1B (bert-base-uncased vocab), L = 128", dict(hidden=768, layers=12, length=128, vocab=30522)),
    ("MDLM DiT small, OWT (GPT-2 vocab + [MASK]), L = 1024", dict(hidden=768, layers=12, length=1024, vocab=50258)),
]
MASKED = [("mdlm / d3pm (E[masked] = 0.5)", 0.5), ("mlm, 15 % masked", 0.15)]


def main():
    print("| model | trunk MMAC/token | head MMAC/token | head share | " +
          " | ".join(f"saved, {name}" for name, _ in MASKED) + " |")
    print("|---|---:|---:|---:|" + "---:|" * len(MASKED))
    for name, shape in MODELS:
        trunk, head = macs_per_token(**shape)
        share = head / (trunk + head)
        saved = [f"{(1 - m) * share:.1%}" for _, m in MASKED]
        print(f"| {name} | {trunk / 1e6:.1f} | {head / 1e6:.1f} | {share:.1%} | " + " | ".join(saved) + " |")


if __name__ == "__main__":
    main()
