#!/usr/bin/env python3
"""Builds the table of docs/ERRORS.md from the test suite: every error
message a test pins (an `err.find("...")`, `what()).find("...")` or
`error_of(...)` check inside a test about bad input or faults), the test
that pins it, and the exit status of the command. The prose around the table
is kept; only the block between the markers is regenerated.

    python3 scripts/dev/errors_catalogue.py          # rewrite docs/ERRORS.md
    python3 scripts/dev/errors_catalogue.py --check  # exit 1 if it is out of date
"""
import argparse
import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOC = os.path.join(ROOT, "docs", "ERRORS.md")
BEGIN, END = "<!-- catalogue: begin (scripts/dev/errors_catalogue.py) -->", "<!-- catalogue: end -->"

# Tests about bad input and faults, by name.
ERROR_TEST = re.compile(r"Error|Bad|Refus|Corrupt|Fault|Missing|Wrong|Invalid|Mismatch|Unknown|Tamper|Truncat|"
                        r"Reject|Lock|Damaged|Dangling|Nowhere|Flipped|Killed|Must|NeedsAn|Existing|Choices|"
                        r"Incompatible|NonFinite|TooLarge|DtypeFollows|Named|FilesAre|OutOfVocabulary|AlreadyHas")
# Lines that pin something other than an error message.
NOT_AN_ERROR = re.compile(r"step skipped|rank 0 cpu|data parallel: 2 ranks|bit-identical|^tokenizer/tokenizer.json$|"
                          r"^\\x")

AREA = {
    "Config": "config", "ConfigRules": "config", "Cli": "command line",
    "CorpusReader": "corpus input", "Prepare": "data prepare", "Shard": "shards", "Dataset": "shards",
    "Tokenizer": "tokenizer", "Safetensors": "safetensors", "CheckpointManifest": "checkpoints",
    "RunLock": "run directory", "Faults": "checkpoints and run directory", "Train": "training",
    "DataParallel": "distributed launch", "Launch": "distributed launch", "Sample": "sampling",
    "Sampler": "sampling", "SpindleSampling": "sampling", "EvalPpl": "evaluation", "EvalGenPpl": "evaluation",
    "EvalAll": "evaluation", "EvalBleu": "evaluation", "BleuErrors": "BLEU", "Schedule": "diffusion config",
    "TrainerState": "checkpoints", "RowSampler": "checkpoints", "PromptTemplate": "sampling",
    "CompletionRequest": "serve (HTTP)",
}
# Suites whose errors are HTTP answers of `unmask serve`, not exit statuses.
HTTP_STATUS = {"CompletionRequest": "HTTP 400 (`ApiError`)"}


def pinned(path):
    text = open(path, encoding="utf-8").read()
    tests = [(m.start(), m.group(1), m.group(2)) for m in re.finditer(r"TEST(?:_F)?\((\w+), (\w+)\)", text)]
    for m in re.finditer(r'find\("((?:[^"\\]|\\.)*)"', text):
        # Only messages a test requires to appear: the assertion around the
        # find is EXPECT_NE/ASSERT_NE (..., npos), not EXPECT_EQ (absent).
        last = max(text.rfind("EXPECT_", 0, m.start()), text.rfind("ASSERT_", 0, m.start()))
        if last < 0 or text[last + 7:last + 10] != "NE(":
            continue
        before = [t for t in tests if t[0] < m.start()]
        if not before:
            continue
        _, suite, name = before[-1]
        message = m.group(1).replace('\\"', '"').replace("\\\\", "\\")
        bare_key = " " not in message and "'" not in message  # a key name the test also looks for
        if len(message) < 8 or bare_key or NOT_AN_ERROR.search(message) or not ERROR_TEST.search(name):
            continue
        yield suite, name, message, os.path.relpath(path, ROOT)
    # Whole messages compared exactly: EXPECT_EQ(error_of(...) or damaged(...), "message").
    for m in re.finditer(r'EXPECT_EQ\((?:test::)?(?:error_of|damaged)\((?:[^;]*?)\),\s*"((?:[^"\\]|\\.)*)"\);', text):
        before = [t for t in tests if t[0] < m.start()]
        if before and ERROR_TEST.search(before[-1][2]):
            yield before[-1][1], before[-1][2], m.group(1).replace('\\"', '"'), os.path.relpath(path, ROOT)


def table():
    rows, seen = [], set()
    files = sorted(glob.glob(os.path.join(ROOT, "tests", "unit", "*.cpp")) +
                   glob.glob(os.path.join(ROOT, "tests", "integration", "*.cpp")))
    for path in files:
        for suite, name, message, rel in pinned(path):
            if (suite, message) in seen:
                continue
            seen.add((suite, message))
            # Integration tests run the binary: errors in the work exit 1. Unit tests
            # throw unmask::Error, which the CLI turns into exit 1 as well.
            status = HTTP_STATUS.get(suite, "1" if "integration" in rel else "1 (as `unmask::Error`)")
            rows.append((AREA.get(suite, suite), message, status, f"`{suite}.{name}`"))
    rows.sort(key=lambda r: r[0])
    out = [f"{len(rows)} cases, each pinned by a test.", "",
           "| area | message (the part the test pins) | exit | test |", "|---|---|---|---|"]
    for area, message, status, test in rows:
        cell = message.replace("|", "\\|")
        out.append(f"| {area} | `{cell}` | {status} | {test} |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    doc = open(DOC, encoding="utf-8").read()
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = head + BEGIN + "\n" + table() + "\n" + END + tail
    if a.check:
        if new != doc:
            print("docs/ERRORS.md is out of date: run python3 scripts/dev/errors_catalogue.py", file=sys.stderr)
            return 1
        print("docs/ERRORS.md is up to date")
        return 0
    open(DOC, "w", encoding="utf-8").write(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
