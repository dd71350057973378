#!/usr/bin/env python3
"""LM1B the way MDLM, DiffusionBERT and BD3-LM use it, as an unmask data directory.

1. Reads LM1B through HF `datasets`: `load_dataset("lm1b")` (train: the 100
   `news.en-*` shards, 30,301,028 sentences; test: the 50 heldout shards,
   306,688), or the release's own files (`--train-files`, `--test-files`, one
   tokenized sentence per line) through the same library.
2. Detokenizes every sentence with MDLM's `lm1b_detokenizer` and writes one
   sentence per line.
3. Runs `unmask data prepare` with the tokenizer (bert-base-uncased WordPiece
   for the papers) and LM1B's test split as both `val` and `test`: MDLM and
   BD3-LM validate on the test split, as unmask's trainer then does.

The rows are chosen at training time, not here:
  data.mode=pad,  data.length=128   MDLM Table 1, D3PM, DiffusionBERT (configs/lm1b-*.json)
  data.mode=wrap, data.length=128   MDLM's packed variant, which BD3-LM Table 3 reports

  huggingface-cli download bert-base-uncased --local-dir hf/bert-base-uncased
  python3 scripts/prepare_lm1b.py --out data/lm1b --tokenizer hf/bert-base-uncased
"""
from pathlib import Path

import prepare_common as pc


def main():
    ap = pc.new_parser(__doc__)
    pc.common_args(ap, "hf/bert-base-uncased")
    ap.add_argument("--dataset", default="lm1b", help="HF dataset name (default lm1b)")
    ap.add_argument("--train-files", nargs="+", help="local release files instead of the Hub: training shards")
    ap.add_argument("--test-files", nargs="+", help="local release files: heldout shards (the test split)")
    ap.add_argument("--no-detokenize", action="store_true", help="keep LM1B's tokenized text (not MDLM's setting)")
    args = ap.parse_args()
    if bool(args.train_files) != bool(args.test_files):
        pc.fail("give both --train-files and --test-files, or neither (to read the Hub's lm1b)")
    pc.check_common(args)
    if args.train_files:
        for f in args.train_files + args.test_files:
            if not Path(f).is_file():
                pc.fail(f"no such file: {f}")
        ds = pc.load("text", args.cache_dir, data_files={"train": args.train_files, "test": args.test_files})
    else:
        ds = pc.load(args.dataset, args.cache_dir, revision=args.revision)
    for split in ("train", "test"):
        if split not in ds:
            pc.fail(f"{args.dataset} has no '{split}' split (it has {', '.join(ds)})")

    work = pc.staging(args)
    detok = (lambda t: t) if args.no_detokenize else pc.lm1b_detokenize
    counts = {}
    for split in ("train", "test"):
        # One sentence per line: a stray newline inside a sentence would split it.
        counts[split] = pc.write_atomic(work / f"{split}.txt",
                                        (detok(t.strip()).replace("\n", " ") for t in pc.texts(ds[split])))
    pc.prepare_and_finish(args, work, "lines", counts,
                          f"LM1B ready in {args.out}: train with configs/lm1b-mdlm.json (pad rows of 128) or "
                          "--set data.mode=wrap (the packed rows of BD3-LM Table 3); evaluate with --split test.",
                          val=work / "test.txt", test=work / "test.txt")


if __name__ == "__main__":
    main()
