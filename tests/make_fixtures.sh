#!/usr/bin/env bash
# Builds the fortunes tokenizer and prepared data that the test suites share,
# once per ctest run, with the same settings as tests/test_util.cpp uses when
# a test binary runs on its own; with PYTHON, also the HF WordPiece and
# byte-level BPE fixtures and the tiny HF models.
# Usage: make_fixtures.sh UNMASK_BINARY OUT_DIR [PYTHON]
set -euo pipefail
unmask="$1"
out="$2"
mapfile -t files < <(find /usr/share/games/fortunes -maxdepth 1 -type f ! -name '*.*' | sort)
if ((${#files[@]} == 0)); then
  echo "make_fixtures: no fortunes in /usr/share/games/fortunes (scripts/setup.sh installs them)" >&2
  exit 1
fi
rm -rf "$out"
mkdir -p "$out"
"$unmask" --log-level warn tokenizer train --input "${files[@]}" --format docs --doc-separator percent \
  --vocab-size 2000 --model-type unigram --out "$out/tokenizer"
"$unmask" --log-level warn data prepare --input "${files[@]}" --format docs --doc-separator percent \
  --tokenizer "$out/tokenizer" --out "$out/data" --val-fraction 0.05 --shard-tokens 200000 >/dev/null
if (($# > 2)); then
  "$3" "$(dirname "$0")/fixtures/make_wordpiece_fixtures.py" "$out/wordpiece"
  "$3" "$(dirname "$0")/fixtures/make_bpe_fixtures.py" "$out/bpe"
  "$3" "$(dirname "$0")/fixtures/make_hf_fixtures.py" "$out/hf"
  "$3" "$(dirname "$0")/fixtures/make_mauve_fixtures.py" "$out/mauve"  # uses $out/hf/gpt2
fi
