#!/usr/bin/env bash
# The reproduction study end to end at toy size (scripts/study.py --quick: every
# row, evaluation, step sweep and draw comparison, 20 training steps each), then
# its report with the plots, all inside the build tree. Keeps scripts/study.sh's
# pieces runnable; the numbers mean nothing at this size.
#   tests/study_quick.sh PYTHON BUILD_DIR OUT_DIR
set -euo pipefail
PY="$1" BUILD="$2" OUT="$3"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mkdir -p "$OUT"
printf '# Results\n\n<!-- study:begin -->\n<!-- study:end -->\n' > "$OUT/RESULTS-quick.md"
"$PY" "$ROOT/scripts/study.py" --quick --fresh --out "$OUT/study-quick" --build-dir "$BUILD"
"$PY" "$ROOT/scripts/study_report.py" "$OUT/study-quick" --results "$OUT/RESULTS-quick.md"
grep -q '^| `bd3lm-16` |' "$OUT/RESULTS-quick.md"
test -s "$OUT/results/loss_curves.png" && test -s "$OUT/results/steps_vs_quality.png"
echo "PASS: study --quick and its report"
