// Batch assembly from rows into (B, L) tensors.
#include "unmask/data/loader.h"

#include <torch/types.h>

#include <algorithm>

#include "unmask/util/error.h"

namespace unmask {

DataLoader::DataLoader(std::shared_ptr<const ShardedSplit> split, LoaderOptions options)
    : split_(std::move(split)), options_(options), rows_(*split_, options.mode, options.length, options.pad_loss),
      sampler_(rows_.num_rows(), options.seed, options.shuffle, options.rank, options.world_size) {
  if (options.batch_size < 1) throw Error("batch size must be at least 1, got " + std::to_string(options.batch_size));
}

Batch DataLoader::next() {
  const std::int64_t B = options_.batch_size, L = options_.length;
  Batch batch;
  batch.tokens = torch::empty({B, L}, torch::kInt64);      // (B, L)
  batch.pad_mask = torch::empty({B, L}, torch::kBool);     // (B, L)
  auto* tokens = batch.tokens.data_ptr<std::int64_t>();
  auto* mask = batch.pad_mask.data_ptr<bool>();
  for (std::int64_t b = 0; b < B; ++b) rows_.row(sampler_.next(), tokens + b * L, mask + b * L);
  batch.has_padding = !std::all_of(mask, mask + B * L, [](bool m) { return m; });
  return batch;
}

nlohmann::json DataLoader::state() const {
  nlohmann::json s = sampler_.state();
  s["mode"] = row_mode_name(options_.mode);
  s["length"] = options_.length;
  s["fingerprint"] = split_->fingerprint();
  return s;
}

void DataLoader::restore(const nlohmann::json& state) {
  if (state.value("mode", "") != row_mode_name(options_.mode) || state.value("length", -1) != options_.length)
    throw Error("cannot restore the loader position: it was saved for data.mode/data.length " +
                state.value("mode", std::string("?")) + "/" + std::to_string(state.value("length", -1)) +
                ", this run uses " + row_mode_name(options_.mode) + "/" + std::to_string(options_.length));
  if (state.value("fingerprint", "") != split_->fingerprint())
    throw Error("cannot restore the loader position: it was saved for data made with another tokenizer");
  sampler_.restore(state);
}

}  // namespace unmask
