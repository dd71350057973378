# The sources of unmask_core (everything that does not touch torch), shared by
# the main build and the fuzzing build (fuzz/CMakeLists.txt). Paths are
# relative to the repository root.
set(UNMASK_CORE_SOURCES
  src/config.cpp
  src/config_schema.cpp
  src/config_rules.cpp
  src/util/error.cpp
  src/util/fs.cpp
  src/util/hash.cpp
  src/util/log.cpp
  src/util/mmap.cpp
  src/util/progress.cpp
  src/util/text.cpp
  src/util/run_lock.cpp
  src/util/safetensors_header.cpp
  src/train/checkpoint.cpp
  src/train/checkpoint_manifest.cpp
  src/train/trainer_state.cpp
  src/tokenizer/tokenizer.cpp
  src/tokenizer/sentencepiece_tokenizer.cpp
  src/tokenizer/train.cpp
  src/data/corpus_reader.cpp
  src/data/shard.cpp
  src/data/prepare.cpp
  src/data/dataset.cpp
  src/data/permutation.cpp
  src/data/row_sampler.cpp
  src/dist/launch.cpp
  src/eval/inputs.cpp
  src/eval/bleu_tokenize.cpp
  src/eval/ngram_index.cpp
  src/eval/bleu.cpp
  src/eval/bleu_diffusionbert.cpp
  src/eval/bleu_run.cpp
  src/eval/text_stats.cpp
  src/sampling/prompt_template.cpp
)
