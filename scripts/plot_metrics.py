#!/usr/bin/env python3
"""Draw the train/val loss and learning-rate curves of one or several unmask
runs (their metrics.jsonl) into one PNG, for comparing runs at a glance.

    python3 scripts/plot_metrics.py runs/a runs/b --out compare.png

Needs matplotlib (scripts/setup.sh installs it into unmask's Python venv).
"""
import argparse
import json
import os
import sys


def read_metrics(run_dir):
    path = os.path.join(run_dir, "metrics.jsonl")
    if not os.path.isfile(path):
        sys.exit(f"plot_metrics: {path} not found (is {run_dir} an unmask run directory?)")
    train, val = [], []
    with open(path) as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                sys.exit(f"plot_metrics: {path}:{n}: not a JSON line")
            (val if row.get("split") == "val" else train).append(row)
    if not train and not val:
        sys.exit(f"plot_metrics: {path} has no metrics yet")
    return train, val


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", help="run directories")
    ap.add_argument("--out", default="metrics.png", help="PNG to write (default: metrics.png)")
    args = ap.parse_args()
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_lr) = plt.subplots(2, 1, figsize=(9, 7), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    for run in args.runs:
        train, val = read_metrics(run)
        name = os.path.normpath(run)
        if train:
            line, = ax_loss.plot([r["step"] for r in train], [r["loss"] for r in train], lw=0.8, alpha=0.6,
                                 label=f"{name} train")
            ax_lr.plot([r["step"] for r in train], [r.get("lr", float("nan")) for r in train], color=line.get_color(),
                       label=name)
            color = line.get_color()
        else:
            color = None
        if val:
            ax_loss.plot([r["step"] for r in val], [r["loss"] for r in val], "o-", color=color, label=f"{name} val")
    ax_loss.set_ylabel("loss (NELBO per token where defined)")
    ax_loss.grid(alpha=0.3)
    ax_loss.legend(fontsize=8)
    ax_lr.set_ylabel("learning rate")
    ax_lr.set_xlabel("step")
    ax_lr.grid(alpha=0.3)
    fig.tight_layout()
    tmp = args.out + ".tmp.png"
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, args.out)
    print(args.out)


if __name__ == "__main__":
    main()
