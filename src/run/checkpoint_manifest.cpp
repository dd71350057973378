// Checkpoint manifests: every file's size and SHA-256, written when a
// checkpoint is published and checked when it is loaded, so a checkpoint
// truncated, bit-flipped or missing a file on disk is an error naming that
// file instead of a crash or silent garbage.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <vector>

#include "unmask/run/checkpoint.h"
#include "unmask/run/layout.h"
#include "unmask/util/error.h"
#include "unmask/util/hash.h"

namespace unmask {

namespace {


// Files under `dir` (recursively), relative, sorted; the manifest itself left out.
std::vector<fs::path> listed_files(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && e.path().filename() != run_files::kManifest) out.push_back(fs::relative(e.path(), dir));
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

void write_checkpoint_manifest(const fs::path& dir) {
  nlohmann::ordered_json files = nlohmann::ordered_json::object();
  for (const fs::path& rel : listed_files(dir))
    files[rel.generic_string()] = {{"bytes", fs::file_size(dir / rel)}, {"sha256", to_hex(sha256_file(dir / rel))}};
  write_file_atomic(dir / run_files::kManifest, nlohmann::ordered_json{{"format", "unmask-checkpoint-manifest"}, {"files", files}}
                                         .dump(2) + "\n");
}

void verify_checkpoint(const fs::path& dir) {
  const fs::path path = dir / run_files::kManifest;
  std::error_code ec;
  if (!fs::exists(path, ec)) return;
  nlohmann::json manifest;
  try {
    manifest = nlohmann::json::parse(read_file(path));
    if (!manifest.at("files").is_object()) throw Error("'files' is not an object");
  } catch (const std::exception& e) {
    throw Error(path.string() + " is corrupt (" + e.what() + "); the checkpoint cannot be checked");
  }
  for (const auto& [name, entry] : manifest["files"].items()) {
    // Found by fuzz_manifest: an entry that is not {bytes, sha256} escaped as a JSON type error.
    if (!entry.is_object() || !entry.contains("bytes") || !entry["bytes"].is_number_unsigned() ||
        !entry.contains("sha256") || !entry["sha256"].is_string())
      throw Error(path.string() + " is corrupt (the entry for '" + name +
                  "' is not {\"bytes\": N, \"sha256\": HEX}); the checkpoint cannot be checked");
    const fs::path relative(name);
    if (name.empty() || relative.is_absolute() ||
        std::any_of(relative.begin(), relative.end(), [](const fs::path& part) { return part == ".."; }))
      throw Error(path.string() + " is corrupt (the entry '" + name + "' is not a file inside the checkpoint)");
    const fs::path file = dir / name;
    const auto want = entry["bytes"].get<std::uint64_t>();
    if (!fs::is_regular_file(file, ec))
      throw Error("checkpoint " + dir.string() + " is missing " + name + " (listed in its manifest)");
    const std::uint64_t have = fs::file_size(file, ec);
    if (have != want)
      throw Error("checkpoint file " + file.string() + " has " + std::to_string(have) + " bytes, " +
                  std::to_string(want) + " when it was written (" + (have < want ? "truncated" : "grown") + ")");
    if (to_hex(sha256_file(file)) != entry["sha256"].get<std::string>())
      throw Error("checkpoint file " + file.string() + " changed after it was written (SHA-256 mismatch): it is corrupt");
  }
}

}  // namespace unmask
