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

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tokenizer_speed import run  # noqa: E402


def train(files, path):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train(files, trainers.BpeTrainer(vocab_size=8000, special_tokens=["<|endoftext|>"], show_progress=False,
                                         initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.save(path)


if __name__ == "__main__":
    run("/tmp/unmask-bench-bpe", "GPT-2 style byte-level BPE vocab 8,000", train)
