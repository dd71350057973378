// Checkpoints of a training run: what they hold, the config check before a
// resume, and every rank's random state (see run/layout.h for the
// directory layout and run/checkpoint.h for atomic publication).
#include <torch/torch.h>

#include <chrono>
#include <cstdlib>
#include <sstream>
#include <thread>

#include "trainer_impl.h"
#include "unmask/diffusion/clip_search.h"
#include "unmask/model/weights.h"
#include "unmask/run/checkpoint.h"
#include "unmask/run/layout.h"
#include "unmask/run/trainer_state.h"
#include "unmask/util/error.h"
#include "unmask/util/fs.h"
#include "unmask/util/log.h"
#include "unmask/util/safetensors.h"

namespace unmask {
namespace {

// Flattens a config tree to "a.b" → value for comparisons.
void flatten(const Json& j, const std::string& prefix, std::map<std::string, Json>& out) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) flatten(v, prefix.empty() ? k : prefix + "." + k, out);
  } else {
    out[prefix] = j;
  }
}

bool breaks_model(const std::string& key) {
  return key.rfind("model.", 0) == 0 || key == "diffusion.objective" || key == "diffusion.schedule" ||
         key == "diffusion.T" || key == "data.mode" || key == "data.length" ||
         key == "data.pad_loss";
}

}  // namespace

void Trainer::Impl::check_compatible(const fs::path& ckpt) const {
  std::map<std::string, Json> before, now;
  flatten(Json::parse(read_file(ckpt / run_files::kConfig)), "", before);
  flatten(options.resolved, "", now);
  std::vector<std::string> breaking, harmless;
  for (const auto& [key, value] : now) {
    const auto it = before.find(key);
    if (it != before.end() && it->second == value) continue;
    const std::string change = key + ": " + (it == before.end() ? "(unset)" : it->second.dump()) + " -> " + value.dump();
    (breaks_model(key) ? breaking : harmless).push_back(change);
  }
  if (!breaking.empty()) {
    std::string list;
    for (const auto& b : breaking) list += (list.empty() ? "" : "; ") + b;
    throw Error("cannot resume from " + ckpt.string() + ": the config changes the model or its data (" + list +
                "); start a new run with another --out");
  }
  for (const auto& h : harmless) log::info("config changed since the checkpoint: " + h);
  const TrainerState trainer = read_trainer_state(ckpt);
  if (trainer.fingerprint != tokenizer->fingerprint())
    throw Error("cannot resume from " + ckpt.string() + ": it was trained with tokenizer " +
                trainer.fingerprint.substr(0, 12) + " but data.path uses " + tokenizer->fingerprint().substr(0, 12));
}

void Trainer::Impl::load_checkpoint(const fs::path& ckpt) {
  verify_checkpoint(ckpt);
  try {
    load_checkpoint_files(ckpt);
  } catch (const nlohmann::json::exception& e) {  // config.json or trainer.json not as unmask writes them
    throw Error("cannot resume from " + ckpt.string() + ": its config.json or trainer.json is damaged (" + e.what() +
                ")");
  }
}

void Trainer::Impl::load_checkpoint_files(const fs::path& ckpt) {
  if (!fs::exists(ckpt / run_files::kOptimizer))
    throw Error("cannot resume from " + ckpt.string() + ": it has no optimizer state (written by 'unmask import "
                "hf'?); start a new run from its weights with --set init.from=" + ckpt.string());
  check_compatible(ckpt);
  load_named_tensors(*model, load_safetensors(ckpt / run_files::kModel).tensors, (ckpt / run_files::kModel).string());
  if (ema) {
    if (!fs::exists(ckpt / run_files::kEma)) throw Error(ckpt.string() + " has no EMA weights but train.ema > 0");
    ema->load_state(load_safetensors(ckpt / run_files::kEma).tensors);
  }
  try {
    torch::load(*optimizer, (ckpt / run_files::kOptimizer).string());
  } catch (const c10::Error& e) {
    throw Error("cannot read the optimizer state in " + ckpt.string() + " (corrupt or from another model)");
  }
  const TrainerState trainer = read_trainer_state(ckpt);
  const auto rng = load_safetensors(ckpt / run_files::kRng).tensors;
  restore_random_states({rng.begin(), rng.end()}, trainer.world_size);
  step = trainer.step;
  nonfinite_in_a_row = trainer.nonfinite_in_a_row;
  if (auto* clipped = dynamic_cast<ClippedObjective*>(objective.get()); clipped && trainer.clip.size() == 2)
    clipped->set_clip({trainer.clip[0], trainer.clip[1]});  // the clip search's last choice
  elapsed_before = trainer.elapsed;
  loader->restore(trainer.loader);
  log::info("resumed from " + ckpt.string() + " at step " + std::to_string(step));
}

namespace {
void set_generator_state(at::Generator g, const at::Tensor& state) {  // a handle: shares the generator
  std::lock_guard<std::mutex> lock(g.mutex());
  g.set_state(state);
}
std::string rank_key(const char* what, std::int64_t rank) {
  return rank == 0 && std::string(what) == "cpu" ? "cpu" : std::string(what) + ".rank" + std::to_string(rank);
}
}  // namespace

// Every rank's generators (a collective): the corruption stream is the same
// on every rank; the default CPU and CUDA generators (dropout) are per rank.
std::vector<std::pair<std::string, at::Tensor>> Trainer::Impl::random_states() {
  std::vector<std::pair<std::string, at::Tensor>> rng = {{"corruption", generator.get_state()}};
  const auto cpu = dp->gather(at::detail::getDefaultCPUGenerator().get_state());
  for (std::size_t r = 0; r < cpu.size(); ++r) rng.emplace_back(rank_key("cpu", static_cast<std::int64_t>(r)), cpu[r]);
  if (device.is_cuda()) {
    const auto cuda = dp->gather(at::globalContext().defaultGenerator(device).get_state());
    for (std::size_t r = 0; r < cuda.size(); ++r)
      rng.emplace_back(rank_key("cuda", static_cast<std::int64_t>(r)), cuda[r]);
  }
  return rng;
}

// The data order and the corruption do not depend on the world size; the
// per-rank dropout streams do, so another world size resumes exactly only
// without dropout.
void Trainer::Impl::restore_random_states(const std::map<std::string, at::Tensor>& rng, std::int64_t saved_world) {
  if (saved_world != dp->world_size() && config().model.dropout > 0)
    throw Error("cannot resume with " + std::to_string(dp->world_size()) + " process(es): the checkpoint was written by " +
                std::to_string(saved_world) + " and model.dropout > 0 draws per-rank dropout streams; resume with " +
                std::to_string(saved_world) + " process(es) (with model.dropout=0 any world size resumes exactly)");
  set_generator_state(generator, rng.at("corruption"));
  const auto cpu = rng.find(rank_key("cpu", dp->rank()));
  if (cpu != rng.end()) set_generator_state(at::detail::getDefaultCPUGenerator(), cpu->second);
  const auto cuda = rng.find(rank_key("cuda", dp->rank()));
  if (device.is_cuda() && cuda != rng.end()) set_generator_state(at::globalContext().defaultGenerator(device), cuda->second);
}

void Trainer::Impl::save_checkpoint(double elapsed) {
  dp->check_parameters_agree(*model, step);
  const auto rng = random_states();
  if (!dp->is_main()) return;  // rank 0 alone writes
  if (dp->active())
    log::info("step " + std::to_string(step) + ": parameters bit-identical on all " + std::to_string(dp->world_size()) +
              " ranks; checkpointing");
  CheckpointWriter w(run_dir, step);
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& p : model->named_parameters()) tensors.emplace_back(p.key(), p.value());
  for (const auto& b : model->named_buffers()) tensors.emplace_back(b.key(), b.value());
  save_safetensors(w.file(run_files::kModel), tensors, {{"format", "unmask-model"}});
  if (ema) save_safetensors(w.file(run_files::kEma), ema->state());
  {
    // Serialised in memory, then written by our checked writer: LibTorch's
    // file writer aborts the process when the disk fills (it throws from a destructor).
    std::ostringstream bytes;
    torch::save(*optimizer, bytes);
    write_file_atomic(w.file(run_files::kOptimizer), bytes.str());
  }
  save_safetensors(w.file(run_files::kRng), rng);
  if (!token_counts.empty())
    save_safetensors(w.file(run_files::kTokenCounts), {{"counts", torch::tensor(token_counts, torch::kLong)}});
  write_file_atomic(w.file(run_files::kConfig), options.resolved.dump(2) + "\n");
  save_tokenizer(*tokenizer, w.file("tokenizer"));
  TrainerState trainer;
  trainer.step = step;
  trainer.loader = loader->state();
  trainer.nonfinite_in_a_row = nonfinite_in_a_row;
  trainer.fingerprint = tokenizer->fingerprint();
  trainer.vocab_size = tokenizer->vocab_size();
  trainer.objective = objective->name();
  trainer.ema = ema != nullptr;
  trainer.elapsed = elapsed;
  trainer.world_size = dp->world_size();
  if (const auto* clipped = dynamic_cast<const ClippedObjective*>(objective.get()))
    trainer.clip = {clipped->clip().lo, clipped->clip().hi};
  // Test hook: widen the window in which a checkpoint is half written.
  if (const char* pause = std::getenv("UNMASK_TEST_CHECKPOINT_PAUSE_MS"))
    std::this_thread::sleep_for(std::chrono::milliseconds(std::atoll(pause)));
  write_file_atomic(w.file(run_files::kTrainerState), trainer_state_json(trainer).dump(2) + "\n");
  w.commit(config().checkpoint);
}

}  // namespace unmask
