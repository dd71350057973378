#!/usr/bin/env bash
# Two builds of unmask_bench_sample side by side: each configuration runs on
# the old and the new binary alternately, ROUNDS times, and the faster run of
# each sampler is kept; prints a Markdown table of s/sample and of wall ÷ time
# in the network calls. The checkpoints are those `bench/sample_speed.py
# --grid` makes (tiny DiT at L = 128 and 1024).
#   bench/sample_ab.sh OLD/unmask_bench_sample NEW/unmask_bench_sample [ROUNDS]
set -euo pipefail
OLD="${1:?usage: bench/sample_ab.sh OLD_BENCH NEW_BENCH [ROUNDS]}" NEW="${2:?usage: bench/sample_ab.sh OLD_BENCH NEW_BENCH [ROUNDS]}"
ROUNDS="${3:-2}"
CK="${UNMASK_BENCH_DIR:-/tmp/unmask-bench-train}"
B128="$CK/sample-tiny-L128/checkpoints/step-0000001" B1024="$CK/sample-tiny-L1024/checkpoints/step-0000001"
for b in "$B128" "$B1024"; do
  [[ -d "$b" ]] || { echo "sample_ab: no checkpoint $b (run bench/sample_speed.py --grid first)" >&2; exit 2; }
done
CONFIGS=("$B128 1 128 16 2 ancestral,cached,first_hitting,confidence,semi_ar 2"
         "$B128 8 128 16 2 ancestral,cached,first_hitting,confidence,semi_ar 2"
         "$B1024 16 1024 16 2 ancestral,cached,confidence,semi_ar 1")
OUT="$(mktemp)"
trap 'rm -f "$OUT"' EXIT
for ((round = 1; round <= ROUNDS; ++round)); do
  for cfg in "${CONFIGS[@]}"; do
    # shellcheck disable=SC2086
    echo "old $("$OLD" $cfg)" >>"$OUT"
    # shellcheck disable=SC2086
    echo "new $("$NEW" $cfg)" >>"$OUT"
  done
done
python3 - "$OUT" <<'PY'
import collections, json, sys
best = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    which, text = line.split(" ", 1)
    d = json.loads(text)
    for s in d["samplers"]:
        key = (d["length"], d["num"], s["sampler"])
        if which not in best[key] or s["seconds"] < best[key][which]["seconds"]:
            best[key][which] = s
print("| L | N | sampler | s/sample, before | s/sample, after | wall ÷ time in its calls, before | after |")
print("|---:|---:|---|---:|---:|---:|---:|")
for (L, N, name), v in best.items():
    o, n = v["old"], v["new"]
    print(f"| {L} | {N} | {name} | {o['seconds_per_sample']:.4f} | {n['seconds_per_sample']:.4f} "
          f"| {o['overhead_in_run']:.3f} | {n['overhead_in_run']:.3f} |")
PY
