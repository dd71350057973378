#!/usr/bin/env bash
# The small-scale reproduction study, end to end on the CPU (87 minutes
# on 2 cores): set-up and build, every row trained and evaluated
# (scripts/study.py), then docs/RESULTS.md's tables, orderings and plots
# (scripts/study_report.py). An interrupted study continues where it stopped;
# --fresh starts over. Other flags go to scripts/study.py (--steps, --lanes,
# --quick, --out).
#   scripts/study.sh [--fresh] [--out runs/study]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${UNMASK_BUILD_DIR:-$ROOT/build}"
"$ROOT/scripts/setup.sh"
PY="$(grep -s '^UNMASK_PYTHON:' "$BUILD_DIR/CMakeCache.txt" | cut -d= -f2)"
[[ -x "$PY" ]] || PY=python3
OUT="$ROOT/runs/study"
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do [[ "${args[i]}" == --out ]] && OUT="${args[i + 1]}"; done
"$PY" "$ROOT/scripts/study.py" --build-dir "$BUILD_DIR" "$@"
"$PY" "$ROOT/scripts/study_report.py" "$OUT" --results "$ROOT/docs/RESULTS.md"
echo "== where each number came from: $OUT/provenance.json (and the table at the end of docs/RESULTS.md)"
"$PY" - "$OUT/provenance.json" <<'PYEOF'
import json, sys
for key, p in sorted(json.load(open(sys.argv[1])).items()):
    print(f"{key:32s} {p['file']:40s} {p['command']}")
PYEOF
