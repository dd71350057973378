#!/usr/bin/env python3
"""Throughput and peak memory of `unmask data prepare` against SentencePiece's
own `spm_encode`, on the same model and input, in one run.

The input is the fortunes corpus repeated to ~200 MB, one example per line
(spm_encode's unit). Reports MB/s, tokens/s and peak RSS for spm_encode
(single-threaded), unmask with 1 and 2 threads, and unmask on a quarter of the
input (memory must not grow with the corpus). Prints a Markdown table.

    python3 bench/data_prepare.py [--mb 200] [--build build] [--work /tmp/unmask-bench]
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys
import time


def run_timed(cmd, stdin=None, stdout=None):
    """Runs cmd under /usr/bin/time -v; returns (wall seconds, peak RSS MB, stdout text)."""
    t0 = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v"] + cmd, stdin=stdin, stdout=stdout or subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr}")
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1))
    return wall, rss_kb / 1024.0, proc.stdout if stdout is None else ""


def make_corpus(path, target_bytes):
    files = sorted(f for f in glob.glob("/usr/share/games/fortunes/*") if os.path.isfile(f) and "." not in os.path.basename(f))
    lines = []
    for f in files:
        with open(f, encoding="utf-8", errors="replace") as fh:
            lines += [l for l in fh.read().split("\n") if l.strip() and l != "%"]
    block = ("\n".join(lines) + "\n").encode()
    with open(path, "wb") as out:
        written = 0
        while written < target_bytes:
            out.write(block)
            written += len(block)
    return os.path.getsize(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=200)
    ap.add_argument("--build", default="build")
    ap.add_argument("--work", default="/tmp/unmask-bench")
    args = ap.parse_args()
    unmask = os.path.abspath(os.path.join(args.build, "unmask"))
    os.makedirs(args.work, exist_ok=True)
    corpus = os.path.join(args.work, "corpus.txt")
    small = os.path.join(args.work, "corpus-quarter.txt")
    size = make_corpus(corpus, args.mb * 1_000_000)
    small_size = make_corpus(small, args.mb * 250_000)
    tok = os.path.join(args.work, "tokenizer")
    subprocess.run([unmask, "--log-level", "warn", "tokenizer", "train", "--input", corpus, "--vocab-size", "8000",
                    "--max-sentences", "300000", "--out", tok, "--overwrite"], check=True, stdout=subprocess.DEVNULL)
    model = os.path.join(tok, "tokenizer.model")

    rows = []
    ids_path = os.path.join(args.work, "spm_ids.txt")
    with open(corpus) as fin, open(ids_path, "w") as fout:
        wall, rss, _ = run_timed(["spm_encode", f"--model={model}", "--output_format=id"], stdin=fin, stdout=fout)
    spm_tokens = 0
    with open(ids_path) as fh:
        for line in fh:
            spm_tokens += len(line.split())
    rows.append(("spm_encode (1 thread)", size, wall, rss, spm_tokens))

    def unmask_prepare(inp, threads, nbytes):
        out = os.path.join(args.work, f"data-{threads}")
        wall, rss, text = run_timed([unmask, "--log-level", "warn", "data", "prepare", "--input", inp, "--tokenizer", tok,
                                     "--out", out, "--threads", str(threads), "--overwrite", "--json"])
        summary = json.loads(text)
        tokens = sum(s["tokens"] for s in summary["splits"].values())
        return wall, rss, tokens

    for threads in (1, 2):
        wall, rss, tokens = unmask_prepare(corpus, threads, size)
        rows.append((f"unmask data prepare --threads {threads}", size, wall, rss, tokens))
    wall, rss, tokens = unmask_prepare(small, 2, small_size)
    rows.append(("unmask data prepare --threads 2, 1/4 input", small_size, wall, rss, tokens))

    _, idle_rss, _ = run_timed([unmask, "--version"])
    base = rows[0][2]
    print(f"Input: fortunes repeated to {size / 1e6:.0f} MB ({args.mb} MB asked), one example per line; "
          f"unigram tokenizer, 8000 pieces. `nproc` = {os.cpu_count()}.\n")
    print("| run | input MB | seconds | MB/s | tokens/s | peak RSS MB | speed vs spm_encode |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, nbytes, wall, rss, tokens in rows:
        ratio = f"{base / wall * nbytes / size:.2f}x"
        print(f"| {name} | {nbytes / 1e6:.0f} | {wall:.1f} | {nbytes / 1e6 / wall:.1f} | {tokens / wall:,.0f} | "
              f"{rss:.0f} | {ratio} |")
    print(f"\nPeak RSS of `unmask --version` (LibTorch and its CUDA libraries loaded, no work): {idle_rss:.0f} MB; "
          f"the preparation itself adds {rows[2][3] - idle_rss:.0f} MB at full size and "
          f"{rows[3][3] - idle_rss:.0f} MB on a quarter of the input.")
    if rows[1][4] != spm_tokens:
        print(f"\nWARNING: token counts differ: spm_encode {spm_tokens}, unmask {rows[1][4]}")
    else:
        print(f"\nBoth produced the same {spm_tokens:,} tokens.")


if __name__ == "__main__":
    main()
