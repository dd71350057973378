"""The shared half of bench/wordpiece_speed.py and bench/bpe_speed.py: one
HF `tokenizer.json` encoded by HF `tokenizers` (Rust, `encode_batch`,
RAYON_NUM_THREADS threads) and by `unmask data prepare` (--threads) on the
same corpus, at 1 and 2 threads, printed as one Markdown table.

HF's time covers reading the lines and `encode_batch(lines,
add_special_tokens=False)`; unmask's covers reading, encoding and writing the
binary shards. Both must produce the same number of tokens."""
import argparse
import json
import os
import subprocess
import sys
import textwrap

from data_prepare import make_corpus, run_timed

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


def fortune_files():
    root = "/usr/share/games/fortunes"
    return sorted(os.path.join(root, f) for f in os.listdir(root)
                  if "." not in f and os.path.isfile(os.path.join(root, f)))


def run(work_default, title, train):
    """Parses --mb/--build/--work, calls train(files, tokenizer_json_path),
    then times both sides and prints the table."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=50)
    ap.add_argument("--build", default="build")
    ap.add_argument("--work", default=work_default)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    corpus = os.path.join(args.work, "corpus.txt")
    size = make_corpus(corpus, args.mb * 1_000_000)
    tok_dir = os.path.join(args.work, "tokenizer")
    os.makedirs(tok_dir, exist_ok=True)
    train(fortune_files(), os.path.join(tok_dir, "tokenizer.json"))
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
    print(f"{size / 1e6:.0f} MB of fortunes lines, {title}\n")
    print("| run | seconds | MB/s | tokens/s | vs HF, same threads |")
    print("|---|---:|---:|---:|---:|")
    for i, (name, wall, tokens) in enumerate(rows):
        peer = rows[i - 2][1] if i >= 2 else wall
        print(f"| {name} | {wall:.2f} | {size / 1e6 / wall:.1f} | {tokens / wall:,.0f} | {peer / wall:.2f}x |")
    counts = {r[2] for r in rows}
    print("\nSame token count on every run: " + (f"{rows[0][2]:,}." if len(counts) == 1 else f"NO: {sorted(counts)}"))
