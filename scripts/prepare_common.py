"""Shared pieces of scripts/prepare_lm1b.py and scripts/prepare_owt.py.

Both read a corpus through HF `datasets` (the Hub, or local files in the same
format), write its text to a staging directory, and hand it to
`unmask data prepare` with the corpus's own validation/test split
(`--val-input`, `--test-input`). Nothing is left at --out unless every step
succeeded: `unmask data prepare` writes its directory atomically, and the
staging text is removed afterwards unless --keep-text.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# MDLM's `lm1b_detokenizer` (kuleshov-group/mdlm, dataloader.py): LM1B ships
# tokenized ("word , word ."); MDLM trains and evaluates on this detokenized
# text. The same substitutions, applied in the same order.
LM1B_RULES = [
    ("http : / / ", "http://", False),
    ("https : / / ", "https://", False),
    (r" '(\w+)", r"'\1", True),
    (r" (\w+) \. ", r" \1. ", True),
    (r" (\w+) \.$", r" \1.", True),
    (" ? ", "? ", False),
    (r" \?$", "?", True),
    (" ! ", "! ", False),
    (r" \!$", "!", True),
    (" , ", ", ", False),
    (" : ", ": ", False),
    (" ; ", "; ", False),
    (" / ", "/", False),
    (r'" ([^"]+) "', r'"\1"', True),
    (r"' ([^']+) '", r"'\1'", True),
    (r"\( ([^\(\)]+) \)", r"(\1)", True),
    (r"\[ ([^\[\]]+) \]", r"[\1]", True),
    ("$ ", "$", False),
    ("£ ", "£", False),
]
_COMPILED = [(re.compile(p) if is_re else p, r, is_re) for p, r, is_re in LM1B_RULES]


def lm1b_detokenize(text):
    for pattern, repl, is_re in _COMPILED:
        text = pattern.sub(repl, text) if is_re else text.replace(pattern, repl)
    return text


def fail(msg):
    print(f"{Path(sys.argv[0]).name}: error: {msg}", file=sys.stderr)
    sys.exit(2)


def common_args(ap, default_tokenizer):
    ap.add_argument("--out", required=True, help="data directory to create (unmask data prepare --out)")
    ap.add_argument("--tokenizer", default=default_tokenizer,
                    help=f"tokenizer directory, e.g. from `huggingface-cli download` (default {default_tokenizer})")
    ap.add_argument("--unmask", default=str(Path(os.environ.get("UNMASK_BUILD_DIR", ROOT / "build")) / "unmask"),
                    help="the unmask binary (default: build/unmask)")
    ap.add_argument("--work", help="staging directory for the text (default: OUT.text)")
    ap.add_argument("--keep-text", action="store_true", help="keep the staged text after preparing")
    ap.add_argument("--threads", type=int, default=0, help="tokenizer threads of unmask data prepare (0 = all)")
    ap.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    ap.add_argument("--cache-dir", help="HF datasets cache (default: HF_DATASETS_CACHE or ~/.cache/huggingface)")
    ap.add_argument("--revision", help="Hub revision of the dataset, e.g. refs/convert/parquet (the Hub's parquet "
                                       "export of a dataset that only has a loading script, which datasets >= 4 "
                                       "no longer runs)")


def check_common(args):
    if not Path(args.unmask).is_file():
        fail(f"no unmask binary at {args.unmask} (build with scripts/setup.sh, or pass --unmask)")
    if not Path(args.tokenizer).is_dir():
        fail(f"tokenizer directory {args.tokenizer} does not exist "
             "(download it, e.g. `huggingface-cli download bert-base-uncased --local-dir hf/bert-base-uncased`)")
    if Path(args.out).exists() and not args.overwrite:
        fail(f"{args.out} already exists (pass --overwrite to replace it)")
    try:
        import datasets  # noqa: F401
    except ImportError:
        fail("HF datasets is not installed in this Python (pip install datasets)")


def load(name_or_builder, cache_dir, **kwargs):
    import datasets
    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    try:
        return datasets.load_dataset(name_or_builder, cache_dir=cache_dir, **kwargs)
    except Exception as e:  # datasets raises many types; one line says which input failed
        if "scripts are no longer supported" in str(e):
            fail(f"{name_or_builder} on the Hub is a loading script, which this datasets version does not run: "
                 "pass --revision refs/convert/parquet (the Hub's parquet export) or the local files")
        fail(f"cannot load {name_or_builder} {kwargs.get('data_files', '')}: {type(e).__name__}: "
             f"{str(e).splitlines()[0] if str(e) else ''}")


def write_atomic(path, lines):
    """Writes an iterable of lines (without newlines) to path through a temporary name; returns the count."""
    tmp = path.with_name(path.name + ".tmp")
    n = 0
    with open(tmp, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(line)
            f.write("\n")
            n += 1
    tmp.rename(path)
    return n


def texts(ds, field="text", batch=10000):
    """The `field` of every example of a datasets.Dataset, in order, read in batches."""
    if field not in ds.column_names:
        fail(f"the dataset has no '{field}' field (it has {', '.join(ds.column_names)})")
    for start in range(0, len(ds), batch):
        yield from ds[start:start + batch][field]


def unmask_prepare(args, fmt, train, val=None, test=None):
    cmd = [args.unmask, "--log-level", "warn", "data", "prepare", "--format", fmt, "--input", str(train),
           "--tokenizer", args.tokenizer, "--out", args.out, "--threads", str(args.threads), "--json"]
    if val:
        cmd += ["--val-input", str(val), "--val-fraction", "0"]
    if test:
        cmd += ["--test-input", str(test), "--test-fraction", "0"]
    if args.overwrite:
        cmd.append("--overwrite")
    print("$ " + " ".join(cmd), file=sys.stderr)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    return json.loads(r.stdout) if r.returncode == 0 else r.returncode


def staging(args):
    work = Path(args.work) if args.work else Path(str(Path(args.out)) + ".text")
    work.mkdir(parents=True, exist_ok=True)
    return work


def prepare_and_finish(args, work, fmt, counts, next_steps, val=None, test=None):
    """`unmask data prepare` of work/train.<fmt> (+ val/test files); prints its summary with the staged
    example counts, then what to run next; removes the staged text unless --keep-text."""
    train = work / ("train.txt" if fmt == "lines" else "train.jsonl")
    summary = unmask_prepare(args, fmt, train, val=val, test=test)
    if not args.keep_text:  # failed or not: unmask wrote --out atomically, or nothing
        shutil.rmtree(work, ignore_errors=True)
    if isinstance(summary, int):
        sys.exit(summary)  # unmask printed its one-line error
    summary["staged_examples"] = counts
    print(json.dumps(summary))
    print(next_steps, file=sys.stderr)


def new_parser(doc):
    return argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
