#!/usr/bin/env bash
# Every committed fixture must be what its committed generator writes today:
# regenerate into a temporary directory, then compare with the files in the
# repository (tensors and JSON numbers within 1e-6, text byte for byte).
#   tests/check_fixtures.sh PYTHON   (a Python with torch, transformers, safetensors, sacrebleu, nltk)
set -euo pipefail
PY=$1
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$PY" "$HERE/fixtures/make_fixtures.py" --out "$TMP/models"
"$PY" "$HERE/fixtures/make_bleu_fixtures.py" --out "$TMP/bleu"
status=0
"$PY" "$HERE/compare_outputs.py" --atol 1e-6 "$TMP/models" "$HERE/fixtures" || status=1
"$PY" "$HERE/compare_outputs.py" --atol 1e-6 "$TMP/bleu" "$HERE/fixtures/bleu" || status=1
if ((status)); then
  echo "FAIL: a committed fixture is not what its generator writes; rerun the generators (tests/fixtures/make_*.py)"
  exit 1
fi
echo "PASS: every fixture regenerated and matched"
