#!/usr/bin/env python3
"""BERT WordPiece encoding speed of `unmask data prepare` against HF
`tokenizers` (Rust, `encode_batch`, RAYON_NUM_THREADS threads) on the same
tokenizer and input, in one run.

The input is the fortunes corpus repeated to --mb MB, one example per line.
The tokenizer is an uncased WordPiece vocabulary of 8,000 trained by HF
`tokenizers` on the fortunes. HF's time covers reading the lines and
`encode_batch(lines, add_special_tokens=False)`; unmask's covers reading,
encoding and writing binary shards. Both must produce the same number of
tokens. Prints a Markdown table.

    python3 bench/wordpiece_speed.py [--mb 50] [--build build] [--work /tmp/unmask-bench-wp]
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tokenizer_speed import run  # noqa: E402


def train(files, path):
    from tokenizers import BertWordPieceTokenizer
    tok = BertWordPieceTokenizer(lowercase=True)
    tok.train(files, vocab_size=8000, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    tok.save(path)


if __name__ == "__main__":
    run("/tmp/unmask-bench-wp", "uncased WordPiece vocab 8,000", train)
