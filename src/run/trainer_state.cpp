// Reading and writing trainer.json (see trainer_state.h). Older checkpoints
// lack nonfinite_in_a_row, elapsed and world_size: they default to 0, 0, 1.
#include "unmask/run/trainer_state.h"

#include <cmath>

#include "unmask/run/layout.h"
#include "unmask/util/error.h"
#include "unmask/util/fs.h"
#include "unmask/util/json_number.h"

namespace unmask {
namespace {

using Json = nlohmann::json;

const Json* field(const Json& j, const char* key, bool required, const std::string& file) {
  const auto it = j.find(key);
  if (it != j.end()) return &*it;
  if (required) throw Error(file + " is damaged: the field '" + key + "' is missing");
  return nullptr;
}

std::int64_t integer(const Json& j, const char* key, std::int64_t fallback, std::int64_t min, const std::string& file,
                     bool required = false) {
  const Json* v = field(j, key, required, file);
  if (!v) return fallback;
  const auto n = exact_integer<std::int64_t>(*v);
  if (!n || *n < min) throw Error(file + " is damaged: '" + key + "' must be an integer >= " + std::to_string(min));
  return *n;
}

std::string text(const Json& j, const char* key, const std::string& file) {
  const Json* v = field(j, key, true, file);
  if (!v->is_string()) throw Error(file + " is damaged: '" + key + "' must be a string");
  return v->get<std::string>();
}

}  // namespace

nlohmann::ordered_json trainer_state_json(const TrainerState& s) {
  nlohmann::ordered_json j = {{"step", s.step},
          {"loader", s.loader},
          {"nonfinite_in_a_row", s.nonfinite_in_a_row},
          {"fingerprint", s.fingerprint},
          {"vocab_size", s.vocab_size},
          {"objective", s.objective},
          {"ema", s.ema},
          {"elapsed", s.elapsed},
          {"world_size", s.world_size}};
  if (!s.clip.empty()) j["clip"] = s.clip;
  return j;
}

TrainerState parse_trainer_state(const std::string& content, const std::string& file) {
  Json j;
  try {
    j = Json::parse(content);
  } catch (const Json::exception& e) {
    throw Error(file + " is damaged: not valid JSON (" + e.what() + ")");
  }
  if (!j.is_object()) throw Error(file + " is damaged: not a JSON object");
  TrainerState s;
  s.step = integer(j, "step", 0, 0, file, true);
  s.nonfinite_in_a_row = integer(j, "nonfinite_in_a_row", 0, 0, file);
  s.world_size = integer(j, "world_size", 1, 1, file);
  s.vocab_size = integer(j, "vocab_size", 0, 0, file);
  s.fingerprint = text(j, "fingerprint", file);
  if (s.fingerprint.size() != 64 || s.fingerprint.find_first_not_of("0123456789abcdef") != std::string::npos)
    throw Error(file + " is damaged: 'fingerprint' must be 64 lower-case hex digits (a SHA-256)");
  if (const Json* v = field(j, "objective", false, file)) {
    if (!v->is_string()) throw Error(file + " is damaged: 'objective' must be a string");
    s.objective = v->get<std::string>();
  }
  if (const Json* v = field(j, "ema", false, file)) {
    if (!v->is_boolean()) throw Error(file + " is damaged: 'ema' must be true or false");
    s.ema = v->get<bool>();
  }
  if (const Json* v = field(j, "elapsed", false, file)) {
    if (!v->is_number() || !std::isfinite(v->get<double>()) || v->get<double>() < 0)
      throw Error(file + " is damaged: 'elapsed' must be a number of seconds >= 0");
    s.elapsed = v->get<double>();
  }
  if (const Json* v = field(j, "clip", false, file)) {
    if (!v->is_array() || v->size() != 2 || !(*v)[0].is_number() || !(*v)[1].is_number() ||
        !((*v)[0].get<double>() >= 0 && (*v)[0].get<double>() < (*v)[1].get<double>() && (*v)[1].get<double>() <= 1))
      throw Error(file + " is damaged: 'clip' must be [lo, hi] with 0 <= lo < hi <= 1");
    s.clip = {(*v)[0].get<double>(), (*v)[1].get<double>()};
  }
  s.loader = *field(j, "loader", true, file);
  if (!s.loader.is_object()) throw Error(file + " is damaged: 'loader' must be a JSON object");
  text(s.loader, "mode", file);
  text(s.loader, "fingerprint", file);
  integer(s.loader, "length", 0, 1, file, true);
  return s;
}

TrainerState read_trainer_state(const std::filesystem::path& checkpoint_dir) {
  const auto path = checkpoint_dir / run_files::kTrainerState;
  return parse_trainer_state(read_file(path), path.string());
}

}  // namespace unmask
