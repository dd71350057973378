// Parsing and validation of safetensors headers (see safetensors_header.h).
// Every size computation is checked for overflow: a header is outside input.
#include "unmask/util/safetensors_header.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include <nlohmann/json.hpp>

#include "unmask/util/error.h"
#include "unmask/util/json_number.h"

namespace unmask {
namespace {

constexpr std::uint64_t kMaxHeader = 100u << 20;  // as the reference implementation: 100 MB of JSON at most

SafetensorsEntry parse_entry(const std::string& name, const nlohmann::json& info, const std::string& file) {
  SafetensorsEntry e;
  e.name = name;
  try {
    if (!info.is_object()) throw Error(file + ": the entry for tensor '" + name + "' is not a JSON object");
    e.dtype = info.at("dtype").get<std::string>();
    const auto& shape = info.at("shape");
    if (!shape.is_array()) throw Error(file + ": tensor '" + name + "' has a shape that is not a list of integers");
    for (const auto& d : shape) {
      if (!d.is_number_integer())
        throw Error(file + ": tensor '" + name + "' has a shape that is not a list of integers");
      const auto n = exact_integer<std::int64_t>(d);
      if (!n || *n < 0) throw Error(file + ": tensor '" + name + "' has a negative or oversized dimension");
      e.shape.push_back(*n);
    }
    const auto& offsets = info.at("data_offsets");
    const auto begin = offsets.is_array() && offsets.size() == 2 ? exact_integer<std::uint64_t>(offsets[0]) : std::nullopt;
    const auto end = offsets.is_array() && offsets.size() == 2 ? exact_integer<std::uint64_t>(offsets[1]) : std::nullopt;
    if (!begin || !end) throw Error(file + ": tensor '" + name + "' needs two non-negative integer data_offsets");
    e.begin = *begin;
    e.end = *end;
  } catch (const nlohmann::json::exception& ex) {
    throw Error(file + ": malformed entry for tensor '" + name + "' (" + ex.what() + ")");
  }
  const std::size_t element = safetensors_dtype_size(e.dtype);
  if (element == 0)
    throw Error(file + ": tensor '" + name + "' has unsupported dtype '" + e.dtype +
                "' (supported: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL)");
  // bytes = numel × element, refusing overflow (a huge shape must not wrap to the range's size).
  std::uint64_t bytes = element;
  if (std::find(e.shape.begin(), e.shape.end(), 0) != e.shape.end()) {
    bytes = 0;
  } else {
    for (const auto d : e.shape) {
      if (bytes > std::numeric_limits<std::uint64_t>::max() / static_cast<std::uint64_t>(d))
        throw Error(file + ": tensor '" + name + "' has a shape too large for any file");
      bytes *= static_cast<std::uint64_t>(d);
    }
  }
  if (e.begin > e.end || e.end - e.begin != bytes)
    throw Error(file + ": tensor '" + name + "' byte range does not match its shape/dtype or the file size");
  return e;
}

}  // namespace

std::size_t safetensors_dtype_size(const std::string& dtype) {
  static const std::map<std::string, std::size_t> sizes = {{"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2},
                                                           {"I64", 8}, {"I32", 4}, {"I16", 2}, {"I8", 1},
                                                           {"U8", 1},  {"BOOL", 1}};
  const auto it = sizes.find(dtype);
  return it == sizes.end() ? 0 : it->second;
}

SafetensorsHeader parse_safetensors_header(const char* bytes, std::uint64_t available, std::uint64_t file_size,
                                           const std::string& file) {
  if (file_size < 8 || available < 8)
    throw Error(file + ": not a safetensors file (shorter than its 8-byte header length)");
  std::uint64_t n = 0;
  std::memcpy(&n, bytes, 8);  // little-endian on every platform LibTorch supports
  if (n > file_size - 8) throw Error(file + ": truncated safetensors file (header length beyond the end)");
  if (n > kMaxHeader) throw Error(file + ": safetensors header of " + std::to_string(n) + " bytes (at most 100 MB)");
  if (n > available - 8) throw Error(file + ": safetensors header not fully read");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes + 8, bytes + 8 + n);
  } catch (const nlohmann::json::exception& e) {
    throw Error(file + ": corrupt safetensors header (" + e.what() + ")");
  }
  if (!header.is_object()) throw Error(file + ": safetensors header is not a JSON object");
  SafetensorsHeader out;
  out.data_start = 8 + n;
  out.data_size = file_size - out.data_start;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") {
      if (!info.is_object()) throw Error(file + ": __metadata__ is not a JSON object of strings");
      for (const auto& [k, v] : info.items())
        if (v.is_string()) out.metadata[k] = v.get<std::string>();
      continue;
    }
    out.entries.push_back(parse_entry(name, info, file));
    if (out.entries.back().end > out.data_size)
      throw Error(file + ": tensor '" + name + "' byte range does not match its shape/dtype or the file size");
  }
  std::sort(out.entries.begin(), out.entries.end(), [](const SafetensorsEntry& a, const SafetensorsEntry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  for (std::size_t i = 1; i < out.entries.size(); ++i)
    if (out.entries[i].begin < out.entries[i - 1].end) throw Error(file + ": tensors overlap in the data section");
  return out;
}

}  // namespace unmask
