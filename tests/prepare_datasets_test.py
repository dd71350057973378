#!/usr/bin/env python3
"""scripts/prepare_lm1b.py and scripts/prepare_owt.py on tiny local files in the
Hub's formats (no network): LM1B release shards (one tokenized sentence per
line) and OpenWebText parquet (a `text` field, documents with newlines).

Checks: MDLM's detokenization on hand-worked sentences; every split holds the
documents it should, in order (token counts per split equal HF tokenizers'
encoding of the expected text); the last --holdout documents are validation;
bad input ends in one line with nothing left at --out.

  python3 tests/prepare_datasets_test.py BUILD/unmask FIXTURES_DIR
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import prepare_common  # noqa: E402

# (LM1B's tokenized text, what MDLM's lm1b_detokenizer makes of it), worked by hand from its rules.
DETOK = [
    ('He said , " hello world " .', 'He said, "hello world" .'),
    ("It 's the end of the world .", "It's the end of the world."),
    ("Visit http : / / example.com / page now !", "Visit http://example.com/page now!"),
    ("Prices rose ( about 5 % ) , analysts say ; costs $ 3 .", "Prices rose (about 5 %), analysts say; costs $3."),
    ("Why ? Because .", "Why? Because."),
    ("It ends . Then more .", "It ends. Then more."),
]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print(f"FAIL: {what}")


def run(args, expect_ok=True):
    r = subprocess.run([sys.executable, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if expect_ok and r.returncode != 0:
        raise SystemExit(f"FAIL: {' '.join(map(str, args))}\n{r.stderr}")
    return r


def tokens_of(tokenizer_dir, texts):
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(str(Path(tokenizer_dir) / "tokenizer.json"))
    return sum(len(e.ids) for e in tok.encode_batch(list(texts), add_special_tokens=False))


def main():
    unmask, fixtures = Path(sys.argv[1]), Path(sys.argv[2])
    for raw, want in DETOK:
        got = prepare_common.lm1b_detokenize(raw)
        check(got == want, f"detokenize {raw!r}: {got!r} != {want!r}")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # ---- LM1B ----
        wordpiece = fixtures / "wordpiece" / "uncased"
        train_sents = [raw for raw, _ in DETOK] + ["A second shard 's sentence ."]
        test_sents = ["The heldout sentence , first .", "And the second one !"]
        (tmp / "news.en-00001-of-00100").write_text("\n".join(train_sents[:4]) + "\n")
        (tmp / "news.en-00002-of-00100").write_text("\n".join(train_sents[4:]) + "\n")
        (tmp / "news.en.heldout-00000-of-00050").write_text("\n".join(test_sents) + "\n")
        out = tmp / "lm1b"
        r = run([ROOT / "scripts" / "prepare_lm1b.py", "--out", out, "--tokenizer", wordpiece, "--unmask", unmask,
                 "--train-files", tmp / "news.en-00001-of-00100", tmp / "news.en-00002-of-00100",
                 "--test-files", tmp / "news.en.heldout-00000-of-00050", "--keep-text",
                 "--cache-dir", tmp / "cache"])
        meta = json.loads((out / "meta.json").read_text())
        splits = meta["splits"]
        check(splits["train"]["docs"] == len(train_sents), f"lm1b train docs {splits['train']['docs']}")
        check(splits["val"]["docs"] == 2 and splits["test"]["docs"] == 2, f"lm1b val/test docs {splits}")
        want_train = [prepare_common.lm1b_detokenize(s) for s in train_sents]
        want_test = [prepare_common.lm1b_detokenize(s) for s in test_sents]
        staged = (tmp / "lm1b.text" / "train.txt").read_text().splitlines()
        check(staged == want_train, f"lm1b staged train text {staged}")
        check(splits["train"]["tokens"] == tokens_of(wordpiece, want_train),
              f"lm1b train tokens {splits['train']['tokens']} != HF {tokens_of(wordpiece, want_train)}")
        check(splits["test"]["tokens"] == tokens_of(wordpiece, want_test) == splits["val"]["tokens"],
              "lm1b test tokens differ from HF tokenizers' encoding of the detokenized heldout text")
        check(json.loads(r.stdout)["staged_examples"] == {"train": 7, "test": 2}, f"lm1b summary {r.stdout}")

        # ---- OpenWebText ----
        import pyarrow as pa
        import pyarrow.parquet as pq
        bpe = fixtures / "bpe" / "gpt2"
        docs = [f"Document {i}.\n\nIt has two paragraphs, the second about {w}." for i, w in
                enumerate(["cats", "dogs", "the sea", "Zürich", "tea", "rain", "code", "maps", "salt", "ice"])]
        pq.write_table(pa.table({"text": docs}), tmp / "owt-00000.parquet")
        out = tmp / "owt"
        r = run([ROOT / "scripts" / "prepare_owt.py", "--out", out, "--tokenizer", bpe, "--unmask", unmask,
                 "--files", tmp / "owt-00000.parquet", "--holdout", 3, "--cache-dir", tmp / "cache"])
        meta = json.loads((out / "meta.json").read_text())
        splits = meta["splits"]
        check(splits["train"]["docs"] == 7 and splits["val"]["docs"] == 3, f"owt docs {splits}")
        check("test" not in splits, "owt has no test split")
        check(splits["val"]["tokens"] == tokens_of(bpe, docs[7:]), "owt val is not the last 3 documents")
        check(splits["train"]["tokens"] == tokens_of(bpe, docs[:7]), "owt train is not the first 7 documents")
        check(meta["tokenizer"]["special"]["mask"] == meta["tokenizer"]["vocab_size"] - 1,
              "GPT-2 gets [MASK] appended as the last id")
        check(not (tmp / "owt.text").exists(), "the staged text is removed without --keep-text")

        # ---- errors: one line, exit 2, nothing at --out ----
        bad = [
            ([ROOT / "scripts" / "prepare_owt.py", "--out", tmp / "e1", "--tokenizer", bpe, "--unmask", unmask,
              "--files", tmp / "owt-00000.parquet", "--holdout", 10], "leaves no training documents"),
            ([ROOT / "scripts" / "prepare_owt.py", "--out", tmp / "e2", "--tokenizer", tmp / "nope", "--unmask", unmask,
              "--files", tmp / "owt-00000.parquet"], "does not exist"),
            ([ROOT / "scripts" / "prepare_lm1b.py", "--out", tmp / "e3", "--tokenizer", wordpiece, "--unmask", unmask,
              "--train-files", tmp / "news.en-00001-of-00100"], "give both --train-files and --test-files"),
            ([ROOT / "scripts" / "prepare_lm1b.py", "--out", tmp / "lm1b", "--tokenizer", wordpiece, "--unmask", unmask,
              "--train-files", tmp / "x", "--test-files", tmp / "y"], "already exists"),
            ([ROOT / "scripts" / "prepare_owt.py", "--out", tmp / "e4", "--tokenizer", bpe, "--unmask", unmask,
              "--files", tmp / "news.en-00001-of-00100"], "must all be .parquet"),
        ]
        for args, message in bad:
            r = run(args, expect_ok=False)
            lines = r.stderr.strip().splitlines()
            check(r.returncode == 2 and len(lines) == 1 and message in lines[0],
                  f"error for {message!r}: rc {r.returncode}, stderr {r.stderr!r}")
        # unmask data prepare itself fails (a directory that holds no tokenizer): its exit status, its
        # error line, and neither --out nor the staged text left behind.
        (tmp / "not-a-tokenizer").mkdir()
        r = run([ROOT / "scripts" / "prepare_owt.py", "--out", tmp / "e5", "--tokenizer", tmp / "not-a-tokenizer",
                 "--unmask", unmask, "--files", tmp / "owt-00000.parquet", "--holdout", 3], expect_ok=False)
        check(r.returncode != 0 and "unmask: error:" in r.stderr, f"failed prepare: rc {r.returncode}, {r.stderr!r}")
        check(not (tmp / "e5.text").exists(), "a failed unmask data prepare left the staged text behind")
        check(not any((tmp / f"e{i}").exists() for i in range(1, 6)), "an error left an output behind")

    if failures:
        raise SystemExit(f"{len(failures)} check(s) failed")
    print("PASS: prepare_lm1b.py and prepare_owt.py")


if __name__ == "__main__":
    main()
