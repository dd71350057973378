#!/usr/bin/env python3
"""Byte-level BPE (GPT-2 style) encoding speed of `unmask data prepare`
against HF `tokenizers` (Rust, `encode_batch`, RAYON_NUM_THREADS threads) on
the same tokenizer.json and input, in one run.

The input is the fortunes corpus repeated to --mb MB, one example per line.
The tokenizer is a GPT-2 style byte-level BPE (ByteLevel pre-tokenizer,
<|endoftext|>) with a vocabulary of 8,000 trained by HF `tokenizers` on the
fortunes. HF's time covers reading the lines and
`encode_batch(lines, add_special_tokens=False)`; unmask's covers reading,
encoding and writing binary shards (unmask appends [MASK], which the corpus
never contains). Both must produce the same number of tokens. Prints a
Markdown table.

    python3 bench/bpe_speed.py [--mb 50] [--build build] [--work /tmp/unmask-bench-bpe]
"""
import argparse
import json
import os
import subprocess
import sys
import textwrap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data_prepare import make_corpus, run_timed  # noqa: E402

HF = textwrap.dedent("""
    import json, sys, time
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(sys.argv[1])
    start = time.perf_counter()
    with open(sys.argv[2], encoding="utf-8") as f:
        lines = f.read().split("\\n")
    if lines and lines[-1] == "":
        lines.pop()
    tokens = sum(len(e.ids) for e in tok.encode_batch(lines, add_special_tokens=False))
    print(json.dumps({"seconds": time.perf_counter() - start, "tokens": tokens}))
""")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=50)
    ap.add_argument("--build", default="build")
    ap.add_argument("--work", default="/tmp/unmask-bench-bpe")
    args = ap.parse_args()
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    os.makedirs(args.work, exist_ok=True)
    corpus = os.path.join(args.work, "corpus.txt")
    size = make_corpus(corpus, args.mb * 1_000_000)
    tok_dir = os.path.join(args.work, "tokenizer")
    os.makedirs(tok_dir, exist_ok=True)
    files = sorted(os.path.join("/usr/share/games/fortunes", f) for f in os.listdir("/usr/share/games/fortunes")
                   if "." not in f and os.path.isfile(os.path.join("/usr/share/games/fortunes", f)))
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train(files, trainers.BpeTrainer(vocab_size=8000, special_tokens=["<|endoftext|>"], show_progress=False,
                                         initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.save(os.path.join(tok_dir, "tokenizer.json"))
    unmask = os.path.abspath(os.path.join(args.build, "unmask"))
    rows = []
    for threads in (1, 2):
        env = dict(os.environ, RAYON_NUM_THREADS=str(threads), TOKENIZERS_PARALLELISM="true")
        out = subprocess.run([sys.executable, "-c", HF, os.path.join(tok_dir, "tokenizer.json"), corpus], env=env,
                             check=True, capture_output=True, text=True).stdout
        hf = json.loads(out)
        rows.append((f"HF tokenizers encode_batch, {threads} thread(s)", hf["seconds"], hf["tokens"]))
    for threads in (1, 2):
        wall, _, text = run_timed([unmask, "--log-level", "warn", "data", "prepare", "--input", corpus, "--tokenizer",
                                   tok_dir, "--out", os.path.join(args.work, f"data-{threads}"), "--threads",
                                   str(threads), "--overwrite", "--json"])
        tokens = sum(s["tokens"] for s in json.loads(text)["splits"].values())
        rows.append((f"unmask data prepare --threads {threads}", wall, tokens))
    print(f"{size / 1e6:.0f} MB of fortunes lines, GPT-2 style byte-level BPE vocab 8,000\n")
    print("| run | seconds | MB/s | tokens/s | vs HF, same threads |")
    print("|---|---:|---:|---:|---:|")
    for i, (name, wall, tokens) in enumerate(rows):
        peer = rows[i - 2][1] if i >= 2 else wall
        print(f"| {name} | {wall:.2f} | {size / 1e6 / wall:.1f} | {tokens / wall:,.0f} | {peer / wall:.2f}x |")
    counts = {r[2] for r in rows}
    print("\nSame token count on every run: " + (f"{rows[0][2]:,}." if len(counts) == 1 else f"NO: {sorted(counts)}"))


if __name__ == "__main__":
    main()
