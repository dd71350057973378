#!/usr/bin/env python3
"""`unmask eval bleu` against the Python tools it reproduces, side by side in
one run, on text made deterministically from the fortunes corpus:

- sacrebleu protocol: 1,000 hypotheses, one reference stream of 1,000 lines,
  against sacrebleu.corpus_bleu (13a, exp smoothing);
- diffusionbert protocol: 1,000 hypotheses against a pool of 10,000
  references, against DiffusionBERT's NLTK loop (corpus_bleu([pool], [hyp]),
  averaged);
- self-BLEU of the 1,000 hypotheses, against DiffusionBERT's NLTK self-BLEU loop.

The NLTK loops are slow; unless --full, they run on the first --nltk-subset
hypotheses, the time is extrapolated linearly to all of them (the cost per
hypothesis is the same), and unmask is run on the same subset to compare the
score. unmask's time is given twice: the whole process (LibTorch start-up
included; `unmask --version` alone is printed too) and its own `seconds`
(files read and scored). Python times are in-process (imports and file reading
excluded). Prints a Markdown table.

    python bench/eval_bleu.py [--build build] [--work /tmp/unmask-bench-bleu] [--full]
"""
import argparse
import glob
import json
import os
import random
import subprocess
import sys
import time

import sacrebleu
from nltk.translate.bleu_score import corpus_bleu as nltk_corpus_bleu


def fortune_sentences():
    files = sorted(f for f in glob.glob("/usr/share/games/fortunes/*") if os.path.isfile(f) and "." not in os.path.basename(f))
    if not files:
        sys.exit("the fortunes corpus is missing (Debian package 'fortunes'; scripts/setup.sh installs it)")
    lines = []
    for f in files:
        with open(f, encoding="utf-8", errors="replace") as fh:
            lines += [" ".join(l.split()) for l in fh.read().split("\n") if len(l.split()) >= 5 and l != "%"]
    return sorted(set(lines))


def perturb(rng, text, words):
    """A hypothesis near a reference: words dropped, replaced, two swapped."""
    out = []
    for w in text.split(" "):
        r = rng.random()
        if r < 0.1:
            continue
        out.append(rng.choice(words) if r < 0.3 else w)
    if len(out) > 3:
        i = rng.randrange(len(out) - 1)
        out[i], out[i + 1] = out[i + 1], out[i]
    return " ".join(out)


def write(path, lines):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(l + "\n" for l in lines))


def run_unmask(unmask, args):
    """(process wall seconds, JSON); the JSON's `seconds` is unmask's own time (files read + scoring)."""
    t0 = time.perf_counter()
    proc = subprocess.run([unmask, "eval", "bleu", "--json"] + args, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"unmask failed: {proc.stderr}")
    return wall, json.loads(proc.stdout)


def best_of(n, f):
    """Fastest of n runs (and its result): the least disturbed by the shared machine."""
    runs = [f() for _ in range(n)]
    return min(runs, key=lambda r: r[0])


def nltk_loop(hyps, refs_for):
    """DiffusionBERT compute_metric.py: tokens = line.strip().split(' '); mean of corpus_bleu([refs], [hyp])."""
    res = 0.
    for i, h in enumerate(hyps):
        res += nltk_corpus_bleu([refs_for(i)], [h])
    return res / len(hyps)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--work", default="/tmp/unmask-bench-bleu")
    ap.add_argument("--hyps", type=int, default=1000)
    ap.add_argument("--refs", type=int, default=10000)
    ap.add_argument("--nltk-subset", type=int, default=50, help="hypotheses the NLTK loops score unless --full")
    ap.add_argument("--full", action="store_true", help="run the NLTK loops on every hypothesis (slow)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each fast side; the fastest counts")
    args = ap.parse_args()
    unmask = os.path.abspath(os.path.join(args.build, "unmask"))
    os.makedirs(args.work, exist_ok=True)

    sentences = fortune_sentences()
    rng = random.Random(1234)
    rng.shuffle(sentences)
    if len(sentences) < args.refs + args.hyps:
        sys.exit(f"only {len(sentences)} fortune sentences; ask for fewer --refs")
    pool = sentences[:args.refs]
    aligned = sentences[args.refs:args.refs + args.hyps]  # the sacrebleu protocol's reference stream
    words = [w for s in pool for w in s.split(" ")]
    # Half the hypotheses are near one of 250 pool sentences (so they also resemble each other, as samples of
    # one model do: self-BLEU), half near their aligned reference.
    hyps = [perturb(rng, pool[rng.randrange(250)] if i % 2 else aligned[i], words) for i in range(args.hyps)]
    n_sub = len(hyps) if args.full else min(args.nltk_subset, len(hyps))
    paths = {name: os.path.join(args.work, name + ".txt") for name in ("hyps", "aligned", "pool", "hyps_sub")}
    write(paths["hyps"], hyps)
    write(paths["aligned"], aligned)
    write(paths["pool"], pool)
    write(paths["hyps_sub"], hyps[:n_sub])

    def version():
        t0 = time.perf_counter()
        subprocess.run([unmask, "--version"], capture_output=True, check=True)
        return time.perf_counter() - t0, None
    startup = best_of(args.repeat, version)[0]
    rows = []  # task, peer, peer seconds, extrapolated, threads, unmask seconds, peer score, unmask score

    # 1. sacrebleu protocol, one aligned stream.
    def sacre():
        t0 = time.perf_counter()
        s = sacrebleu.corpus_bleu(hyps, [aligned])
        return time.perf_counter() - t0, s.score
    py_t, py_score = best_of(args.repeat, sacre)

    def sacre_cli():  # sacrebleu's own command line, a process like unmask's
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "sacrebleu", paths["aligned"], "-i", paths["hyps"], "-m", "bleu",
                               "-b", "-w", "4"], capture_output=True, text=True, check=True)
        return time.perf_counter() - t0, float(proc.stdout)
    cli_t, cli_score = best_of(args.repeat, sacre_cli)
    for threads in (1, 0):
        t, j = best_of(args.repeat, lambda: run_unmask(unmask, ["--hyps", paths["hyps"], "--refs", paths["aligned"],
                                                                "--threads", str(threads)]))
        rows.append((f"corpus BLEU, {len(hyps):,} hyps, 1 ref stream", "sacrebleu.corpus_bleu", py_t, False,
                     threads, t, j["seconds"], py_score, j["bleu"]))

    # 2. DiffusionBERT protocol against the whole pool; 3. self-BLEU. The NLTK
    # means over the first n_sub hypotheses are compared with unmask's
    # per-hypothesis scores of the same rows (from its full run).
    pool_tok = [p.strip().split(" ") for p in pool]
    hyp_tok = [h.strip().split(" ") for h in hyps]
    tasks = [(f"DiffusionBERT BLEU, {len(hyps):,} hyps vs {len(pool):,} refs", ["--refs", paths["pool"],
              "--protocol", "diffusionbert"], lambda i: pool_tok, "bleu"),
             (f"self-BLEU (DiffusionBERT), {len(hyps):,} hyps", ["--self"],
              lambda i: hyp_tok[:i] + hyp_tok[i + 1:], "self_bleu")]
    full_scores = {}
    for task, extra, refs_for, key in tasks:
        t0 = time.perf_counter()
        nltk_mean = nltk_loop(hyp_tok[:n_sub], refs_for)
        nltk_t = (time.perf_counter() - t0) * len(hyps) / n_sub
        for threads in (1, 0):
            t, j = best_of(args.repeat, lambda: run_unmask(unmask, ["--hyps", paths["hyps"], "--per-hypothesis",
                                                                    "--threads", str(threads)] + extra))
            ours = 0.
            for v in j["per_hypothesis"][:n_sub]:  # the same float sum as the NLTK loop
                ours += v
            rows.append((task, "NLTK corpus_bleu loop", nltk_t, n_sub < len(hyps), threads, t, j["seconds"],
                         100 * nltk_mean, 100 * (ours / n_sub)))
            full_scores[task] = j[key]

    print(f"Text: fortunes lines of at least 5 words, shuffled with seed 1234: {len(pool):,} pool references, "
          f"{len(aligned):,} aligned references and {len(hyps):,} hypotheses (each a reference with ~10 % of its "
          f"words dropped, ~20 % replaced and one swap). `nproc` = {os.cpu_count()}. unmask start-up alone "
          f"(`unmask --version`, loads LibTorch): {startup:.2f} s.\n")
    print("| task | peer | peer s | unmask threads | unmask s (process) | unmask s (work) | speed-up (process) "
          "| speed-up (work) | peer score | unmask score | same to 4 dp |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for task, peer, peer_t, extrap, threads, t, work, peer_score, ours in rows:
        same = "yes" if f"{peer_score:.4f}" == f"{ours:.4f}" else "NO"
        note = f" (extrapolated from {n_sub})" if extrap else ""
        print(f"| {task} | {peer}{note} | {peer_t:.2f} | {threads if threads else os.cpu_count()} | {t:.2f} | "
              f"{work:.3f} | {peer_t / t:,.1f}x | {peer_t / work:,.0f}x | {peer_score:.4f} | {ours:.4f} | {same} |")
    print(f"\nsacrebleu's own command line (`python -m sacrebleu REF -i HYP -m bleu -b`) on the same files: "
          f"{cli_t:.2f} s as a process, score {cli_score:.4f}.")
    if n_sub < len(hyps):
        print(f"\nThe NLTK rows score the first {n_sub} hypotheses and extrapolate the time linearly; their "
              f"scores are compared with unmask's per-hypothesis scores of the same {n_sub} rows. unmask's scores "
              f"over all {len(hyps):,}: " + ", ".join(f"{k}: {v:.4f}" for k, v in full_scores.items()) + ".")


if __name__ == "__main__":
    main()
