#!/usr/bin/env python3
"""OpenWebText the way MDLM and BD3-LM use it, as an unmask data directory.

1. Reads OpenWebText through HF `datasets` (`Skylion007/openwebtext`, one
   `train` split of 8,013,769 documents with a `text` field), or local
   parquet/JSONL files with a `text` field (`--files`) through the same
   library.
2. Holds out the last 100,000 documents as validation, as MDLM does
   (`train[:-100000]` / `train[-100000:]`), and writes both as JSONL in order.
3. Runs `unmask data prepare` with the GPT-2 tokenizer; unmask appends
   [MASK] (id 50257) because GPT-2 has none, so the vocabulary is 50,258 as
   in MDLM.

Rows are `wrap` rows of 1024 at training time (configs/owt-mdlm.json):
`[BOS] doc₀ [EOS] doc₁ [EOS] …` cut every 1022 tokens, as MDLM's
`_group_texts`. OWT has no test split; the papers report the validation
split (`unmask eval ppl --split val`).

  huggingface-cli download gpt2 --local-dir hf/gpt2
  python3 scripts/prepare_owt.py --out data/owt --tokenizer hf/gpt2
"""
import json
from pathlib import Path

import prepare_common as pc


def main():
    ap = pc.new_parser(__doc__)
    pc.common_args(ap, "hf/gpt2")
    ap.add_argument("--dataset", default="Skylion007/openwebtext", help="HF dataset name")
    ap.add_argument("--files", nargs="+", help="local parquet or JSONL files (a `text` field) instead of the Hub")
    ap.add_argument("--holdout", type=int, default=100000, help="last documents held out as validation (100,000)")
    args = ap.parse_args()
    pc.check_common(args)
    if args.holdout < 1:
        pc.fail("--holdout must be at least 1")
    if args.files:
        for f in args.files:
            if not Path(f).is_file():
                pc.fail(f"no such file: {f}")
        kinds = {("parquet" if f.endswith(".parquet") else "json" if f.endswith((".jsonl", ".json")) else None)
                 for f in args.files}
        if None in kinds or len(kinds) != 1:
            pc.fail("--files must all be .parquet or all .jsonl/.json")
        ds = pc.load(kinds.pop(), args.cache_dir, data_files=args.files, split="train")
    else:
        ds = pc.load(args.dataset, args.cache_dir, split="train", revision=args.revision)
    n = len(ds)
    if args.holdout >= n:
        pc.fail(f"--holdout {args.holdout} leaves no training documents (the corpus has {n})")

    work = pc.staging(args)
    train, val = ds.select(range(n - args.holdout)), ds.select(range(n - args.holdout, n))
    counts = {
        "train": pc.write_atomic(work / "train.jsonl", (json.dumps({"text": t}) for t in pc.texts(train))),
        "val": pc.write_atomic(work / "val.jsonl", (json.dumps({"text": t}) for t in pc.texts(val))),
    }
    pc.prepare_and_finish(args, work, "jsonl", counts,
                          f"OpenWebText ready in {args.out}: train with configs/owt-mdlm.json (wrap rows of 1024); "
                          "evaluate with --split val.", val=work / "val.jsonl")


if __name__ == "__main__":
    main()
