// The header of a safetensors file, parsed and validated without tensors:
// 8-byte little-endian length N, N bytes of JSON {name: {dtype, shape,
// data_offsets}, "__metadata__": {str: str}}, then the data section. Torch-free
// so that the checks can be fuzzed (fuzz/safetensors.cpp) and reused by
// readers that map the data instead of copying it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace unmask {

struct SafetensorsEntry {
  std::string name;
  std::string dtype;                // one of F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL
  std::vector<std::int64_t> shape;  // every dimension >= 0
  std::uint64_t begin = 0, end = 0; // byte range within the data section
};

struct SafetensorsHeader {
  std::vector<SafetensorsEntry> entries;        // in the order of their data
  std::map<std::string, std::string> metadata;  // "__metadata__" (string values only)
  std::uint64_t data_start = 0;                 // 8 + N: where the data section begins in the file
  std::uint64_t data_size = 0;                  // bytes of the data section
};

// Bytes per element of a safetensors dtype name; 0 when unsupported.
std::size_t safetensors_dtype_size(const std::string& dtype);

// Validates everything the data section is later read by: JSON object, known
// dtypes, non-negative shapes whose byte size fits (no overflow) and equals the
// byte range, ranges inside the data section and not overlapping. `file_size`
// is the whole file's size and `bytes` its first `available` bytes (at least
// 8 + N for a valid file). Errors name `file`.
SafetensorsHeader parse_safetensors_header(const char* bytes, std::uint64_t available, std::uint64_t file_size,
                                           const std::string& file);

}  // namespace unmask
