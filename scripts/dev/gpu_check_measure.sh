# Sourced by scripts/gpu_check.sh: the measurements (the bf16 matmul peak,
# training tokens/s and MFU of the big DiT at two lengths, sampling s/sample)
# and the Markdown report. FLOPs and memory estimates: scripts/dev/gpu_budget.py.

big() { local kv; for kv in "${BIG[@]}"; do [[ "$kv" == "model.$1="* ]] && echo "${kv#*=}"; done; return 0; }
vocab_size() { "${HELP[@]}" field "$DATA/meta.json" tokenizer.vocab_size; }

step_peak() {
  with_libs timeout "$LIMIT" "$BUILD_DIR/unmask_bench_mm" "${MM[@]}" | tee "$WORK/peak.json"
  local gflops
  gflops=$("${HELP[@]}" field "$WORK/peak.json" gflops)
  "$PY" -c "import sys; sys.exit(not float(sys.argv[1]) > 0)" "$gflops"
  measure "matmul peak: ${MM[*]}" "$(awk -v g="$gflops" 'BEGIN{ if (g >= 1000) printf "%.1f TFLOP/s", g/1000; else printf "%.1f GFLOP/s", g }')" \
    "LibTorch mm, best of 5 timed runs; the MFU denominator below"
}

# Samples the GPU's used memory every 200 ms while a command runs; prints the peak in MiB.
with_memory_watch() {  # MEMFILE COMMAND...
  local memfile="$1" watcher="" rc=0
  shift
  : >"$memfile"
  if [[ "$DEV" == cuda ]] && command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 >"$memfile" 2>/dev/null &
    watcher=$!
  fi
  "$@" || rc=$?
  if [[ -n "$watcher" ]]; then
    kill "$watcher" 2>/dev/null || true
    wait "$watcher" 2>/dev/null || true
  fi
  return "$rc"
}

step_throughput() {
  local peak i L B run tps model fpt params est mem mfu
  peak=$("${HELP[@]}" field "$WORK/peak.json" gflops)
  for i in 0 1; do
    L=${LENGTHS[$i]} B=${BATCHES[$i]} run="$WORK/big-${LENGTHS[$i]}"
    with_memory_watch "$WORK/mem-$L.txt" train "$run" "${BIG[@]}" model.max_length="$L" data.length="$L" \
      train.batch_size="$B" train.max_steps="$BIG_STEPS" train.log_every="$BIG_LOG" \
      train.checkpoint_every="$BIG_STEPS" train.lr=3e-4 train.warmup_steps=5 train.ema=0.9999
    tps=$("${HELP[@]}" tokens-per-s "$run/metrics.jsonl")
    model=$("$PY" "$ROOT/scripts/dev/gpu_budget.py" model --hidden "$(big hidden)" --layers "$(big layers)" \
      --heads "$(big heads)" --cond-dim "$(big cond_dim)" --vocab "$(vocab_size)" --length "$L" --batch "$B")
    echo "$model" >"$WORK/model-$L.json"
    read -r fpt params est <<<"$("${HELP[@]}" field "$WORK/model-$L.json" flops_per_token params memory_bytes)"
    mfu=$("$PY" -c "import sys; t, f, p = map(float, sys.argv[1:]); print(f'{100 * t * f / (p * 1e9):.1f} %')" "$tps" "$fpt" "$peak")
    measure "train tokens/s, L = $L" "$(printf '%.0f' "$tps")" \
      "$BIG_NAME, $(awk -v p="$params" 'BEGIN{printf "%.1fM", p/1e6}') params, vocab $(vocab_size), batch $B × $L, $DEV $PREC, dropout 0.1, EMA; mean of steps $((BIG_LOG + 1))–$BIG_STEPS"
    measure "train MFU, L = $L" "$mfu" \
      "$(awk -v f="$fpt" 'BEGIN{printf "%.3f", f/1e9}') GFLOP/token (6·N_matmul + 12·layers·hidden·L) against the measured matmul peak"
    if [[ -s "$WORK/mem-$L.txt" ]]; then
      mem=$(sort -n "$WORK/mem-$L.txt" | tail -1)
      measure "peak GPU memory, L = $L, batch $B" "$(awk -v m="$mem" 'BEGIN{printf "%.1f GiB", m/1024}')" \
        "nvidia-smi (allocator cache included); memory model of docs/GPU.md: $(awk -v e="$est" 'BEGIN{printf "%.1f GiB", e/2^30}')"
    fi
  done
}

step_sampling_speed() {
  local L=${LENGTHS[1]} s out sps nfe n extra
  for s in ancestral semi_ar ancestral+graph; do
    [[ "$s" == *graph && "$DEV" != cuda ]] && continue
    extra=()
    [[ "$s" == *graph ]] && extra=(--cuda-graph)
    out="$WORK/speed-$s.jsonl"
    um sample --checkpoint "$WORK/big-$L" --num "$SAMPLE_NUM" --length "$L" --steps "$SAMPLE_STEPS" \
      --sampler "${s%+graph}" --block-size $((L / 4)) --seed 1 --device "$DEV" --out "$out" "${extra[@]}"
    read -r sps nfe n <<<"$("${HELP[@]}" seconds-per-sample "$out")"
    measure "sampling s/sample, ${s/+graph/ --cuda-graph}, L = $L" "$sps" \
      "$n samples in one batch, $SAMPLE_STEPS steps, $nfe network calls$([[ $s == semi_ar* ]] && echo ", blocks of $((L / 4))"), $DEV; the big DiT of the L = $L run; first-call warm-up included"
  done
}

# Fast-dLLM on the device: semi_ar blocks of 32 with --cache none/prefix/dual,
# --steps L/4 (8 per block) and --unmask threshold 0.9; refreshed at every
# call (--cache-refresh 1) the dual cache must give the uncached tokens.
step_fast_decoding() {
  local L=${LENGTHS[1]} cache mode out sps nfe n verdict
  local common=(--checkpoint "$WORK/big-$L" --num "$SAMPLE_NUM" --length "$L" --sampler semi_ar --inner confidence
                --block-size 32 --seed 1 --device "$DEV")
  for mode in schedule threshold; do
    for cache in none prefix dual; do
      out="$WORK/fast-$mode-$cache.jsonl"
      if [[ $mode == schedule ]]; then
        um sample "${common[@]}" --steps $((L / 4)) --cache "$cache" --out "$out"
      else
        um sample "${common[@]}" --unmask threshold --threshold 0.9 --cache "$cache" --out "$out"
      fi
      read -r sps nfe n <<<"$("${HELP[@]}" seconds-per-sample "$out")"
      measure "fast decoding s/sample, blocks of 32, $mode, --cache $cache, L = $L" "$sps" \
        "$n samples, $nfe network calls, $DEV; the big DiT of the L = $L run; first-call warm-up included"
    done
  done
  um sample "${common[@]}" --steps $((L / 4)) --cache dual --cache-refresh 1 --out "$WORK/fast-refresh.jsonl"
  if verdict=$("${HELP[@]}" same-ids "$WORK/fast-schedule-none.jsonl" "$WORK/fast-refresh.jsonl"); then
    record "semi_ar --cache dual --cache-refresh 1 gives the uncached tokens ($DEV)" PASS "$verdict"
  else
    record "semi_ar --cache dual --cache-refresh 1 gives the uncached tokens ($DEV)" FAIL "$verdict"
  fi
}

# The batched sampling step: s/sample of the tiny DiT as the batch grows
# (one launch sequence per step whatever N is, so s/sample should fall with N).
# On CUDA also with --cuda-graph (the whole step replayed) at the smallest and
# largest N.
step_sampling_batch() {
  local s n out sps nfe count graph extra
  for s in ancestral confidence first_hitting; do
    for n in "${SAMPLE_BATCHES[@]}"; do
      for graph in 0 1; do
        ((graph)) && { [[ "$DEV" == cuda ]] || continue; [[ $n == "${SAMPLE_BATCHES[0]}" || $n == "${SAMPLE_BATCHES[-1]}" ]] || continue; }
        extra=()
        ((graph)) && extra=(--cuda-graph)
        out="$WORK/batch-$s-$n-$graph.jsonl"
        um sample --checkpoint "$WORK/tiny" --num "$n" --length 64 --steps 32 --sampler "$s" --seed 1 --device "$DEV" \
          --out "$out" "${extra[@]}"
        read -r sps nfe count <<<"$("${HELP[@]}" seconds-per-sample "$out")"
        measure "sampling s/sample, $s$( ((graph)) && echo " --cuda-graph"), tiny DiT, N = $count" "$sps" \
          "L = 64, 32 steps, $nfe network calls, $DEV; first-call warm-up (and graph capture) included"
      done
    done
  done
}

write_report() {  # TOTAL_SECONDS [quiet]: quiet (after each step) prints nothing
  local report="$WORK/report.md" device steps
  if [[ "$DEV" == cuda ]] && command -v nvidia-smi >/dev/null; then
    device="$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)"
  else
    device="CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores"
  fi
  steps="$(awk -F'\t' '{printf "%s%s %s s", (NR > 1 ? ", " : ""), $1, $2}' "$STEPS")"
  {
    echo "# unmask GPU check"
    echo
    echo "- mode: $( ((DRY)) && echo "dry run on the CPU, tiny sizes (scripts/gpu_check.sh --dry-run)" || { ((BUILD_ONLY)) && echo "build only (scripts/gpu_check.sh --build-only)"; } || echo "GPU (scripts/gpu_check.sh)")"
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $device"
    echo "- PyTorch $TORCH_VERSION (CUDA $TORCH_CUDA), Python $PY_VERSION; unmask $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '(no git)')"
    echo "- tokenizer: SentencePiece BPE, vocab $VOCAB, trained on Debian's fortunes (MDLM OWT uses GPT-2's 50258)"
    echo "- wall time: $1 s ($steps)"
    echo
    echo "| check | result | detail |"
    echo "|---|---|---|"
    while IFS=$'\t' read -r name result detail; do echo "| $name | **$result** | $detail |"; done <"$CHECKS"
    echo
    echo "| measurement | value | detail |"
    echo "|---|---:|---|"
    while IFS=$'\t' read -r name value detail; do echo "| $name | $value | $detail |"; done <"$MEASURES"
  } >"$report"
  if [[ -n "$OUT_MD" ]]; then
    mkdir -p "$(dirname "$OUT_MD")"
    cp "$report" "$OUT_MD.tmp"
    mv "$OUT_MD.tmp" "$OUT_MD"
    [[ "${2:-}" == quiet ]] || echo "[gpu_check] report: $OUT_MD" >&2
  elif [[ "${2:-}" != quiet ]]; then
    cat "$report"
  fi
  if [[ -n "${OUT:-}" && -d "${OUT:-}" ]]; then
    # Two files come back: the report and one archive of the step logs and
    # every run's metrics.jsonl (the device tool returns few files).
    cp "$report" "$OUT/gpu_check.md.tmp" && mv "$OUT/gpu_check.md.tmp" "$OUT/gpu_check.md"
    local f list=()
    for f in "$WORK"/logs/* "$WORK"/*/metrics.jsonl; do [[ -f "$f" ]] && list+=("${f#"$WORK"/}"); done
    ((${#list[@]})) && tar -czf "$OUT/gpu_check_logs.tar.gz.tmp" -C "$WORK" "${list[@]}" 2>/dev/null &&
      mv "$OUT/gpu_check_logs.tar.gz.tmp" "$OUT/gpu_check_logs.tar.gz"
  fi
  return 0
}
