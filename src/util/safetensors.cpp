// safetensors reader/writer with full header validation.
#include "unmask/util/safetensors.h"

#include <torch/types.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "unmask/util/error.h"
#include "unmask/util/fs.h"

namespace unmask {
namespace {

const std::vector<std::pair<std::string, at::ScalarType>>& dtype_table() {
  static const std::vector<std::pair<std::string, at::ScalarType>> table = {
      {"F64", at::kDouble}, {"F32", at::kFloat}, {"F16", at::kHalf}, {"BF16", at::kBFloat16},
      {"I64", at::kLong},   {"I32", at::kInt},   {"I16", at::kShort}, {"I8", at::kChar},
      {"U8", at::kByte},    {"BOOL", at::kBool}};
  return table;
}

at::ScalarType dtype_of(const std::string& name, const std::string& file, const std::string& tensor) {
  for (const auto& [n, t] : dtype_table())
    if (n == name) return t;
  throw Error(file + ": tensor '" + tensor + "' has unsupported dtype '" + name +
              "' (supported: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL)");
}

std::string name_of(at::ScalarType type) {
  for (const auto& [n, t] : dtype_table())
    if (t == type) return n;
  throw Error(std::string("cannot store dtype ") + c10::toString(type) + " in safetensors");
}

}  // namespace

SafetensorsFile load_safetensors(const std::filesystem::path& path) {
  const std::string file = path.string();
  const std::string bytes = read_file(path);
  if (bytes.size() < 8) throw Error(file + ": not a safetensors file (shorter than its 8-byte header length)");
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  if (n > bytes.size() - 8) throw Error(file + ": truncated safetensors file (header length beyond the end)");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(n));
  } catch (const nlohmann::json::exception& e) {
    throw Error(file + ": corrupt safetensors header (" + e.what() + ")");
  }
  if (!header.is_object()) throw Error(file + ": safetensors header is not a JSON object");
  const std::uint64_t data_size = bytes.size() - 8 - n;
  const char* data = bytes.data() + 8 + n;
  SafetensorsFile out;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
  std::vector<std::pair<std::uint64_t, std::string>> named_ranges;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") {
      for (const auto& [k, v] : info.items())
        if (v.is_string()) out.metadata[k] = v.get<std::string>();
      continue;
    }
    at::ScalarType type;
    std::vector<std::int64_t> shape;
    std::uint64_t begin = 0, end = 0;
    try {
      type = dtype_of(info.at("dtype").get<std::string>(), file, name);
      shape = info.at("shape").get<std::vector<std::int64_t>>();
      const auto offsets = info.at("data_offsets").get<std::vector<std::uint64_t>>();
      if (offsets.size() != 2) throw Error(file + ": tensor '" + name + "' needs two data_offsets");
      begin = offsets[0];
      end = offsets[1];
    } catch (const nlohmann::json::exception& e) {
      throw Error(file + ": malformed entry for tensor '" + name + "' (" + e.what() + ")");
    }
    std::uint64_t numel = 1;
    for (auto d : shape) {
      if (d < 0) throw Error(file + ": tensor '" + name + "' has a negative dimension");
      numel *= static_cast<std::uint64_t>(d);
    }
    if (begin > end || end > data_size || end - begin != numel * c10::elementSize(type))
      throw Error(file + ": tensor '" + name + "' byte range does not match its shape/dtype or the file size");
    ranges.emplace_back(begin, end);
    at::Tensor t = torch::empty(shape, torch::TensorOptions().dtype(type));
    if (numel) std::memcpy(t.data_ptr(), data + begin, end - begin);
    out.tensors[name] = t;
    named_ranges.emplace_back(begin, name);
  }
  std::sort(named_ranges.begin(), named_ranges.end());
  for (const auto& [begin, name] : named_ranges) out.order.push_back(name);
  std::sort(ranges.begin(), ranges.end());
  for (std::size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].first < ranges[i - 1].second) throw Error(file + ": tensors overlap in the data section");
  return out;
}

void save_safetensors(const std::filesystem::path& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<at::Tensor> contiguous;
  std::uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    at::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
    const std::uint64_t size = static_cast<std::uint64_t>(t.numel()) * t.element_size();
    header[name] = {{"dtype", name_of(t.scalar_type())}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + size}}};
    offset += size;
    contiguous.push_back(t);
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // align the data section
  std::string bytes(8, '\0');
  const std::uint64_t n = text.size();
  std::memcpy(bytes.data(), &n, 8);
  bytes += text;
  bytes.reserve(bytes.size() + offset);
  for (const auto& t : contiguous) bytes.append(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
  write_file_atomic(path, bytes);
}

}  // namespace unmask
