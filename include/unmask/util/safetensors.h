// Reading and writing the safetensors format (8-byte little-endian header
// length N, N bytes of JSON {name: {dtype, shape, data_offsets}, "__metadata__"},
// then the raw little-endian C-order data). Used for test fixtures made in
// Python and for exchanging weights with HF checkpoints. Written by hand: no
// C++ safetensors library is packaged for Debian.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace unmask {

struct SafetensorsFile {
  std::map<std::string, at::Tensor> tensors;     // CPU tensors, owning their memory
  std::map<std::string, std::string> metadata;   // "__metadata__"
  std::vector<std::string> order;                // names in the order of their data
};

// Validates the header (JSON, dtypes, shapes vs byte ranges, bounds, overlaps).
SafetensorsFile load_safetensors(const std::filesystem::path& path);

// The same, with the data memory-mapped instead of read: the tensors are
// read-only views into the mapping (which they keep alive), for model files of
// gigabytes that are converted (e.g. to float32) rather than used as they are.
// Do not write to them.
SafetensorsFile map_safetensors(const std::filesystem::path& path);

// Writes atomically; tensors are copied to CPU and made contiguous.
void save_safetensors(const std::filesystem::path& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace unmask
