// safetensors reader/writer; the header is validated by safetensors_header.cpp.
#include "unmask/util/safetensors.h"

#include <torch/types.h>

#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "unmask/util/error.h"
#include "unmask/util/fs.h"
#include "unmask/util/mmap.h"
#include "unmask/util/safetensors_header.h"

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
  const SafetensorsHeader header = parse_safetensors_header(bytes.data(), bytes.size(), bytes.size(), file);
  const char* data = bytes.data() + header.data_start;
  SafetensorsFile out;
  out.metadata = header.metadata;
  for (const auto& e : header.entries) {
    at::Tensor t = torch::empty(e.shape, torch::TensorOptions().dtype(dtype_of(e.dtype, file, e.name)));
    if (e.end > e.begin) std::memcpy(t.data_ptr(), data + e.begin, e.end - e.begin);
    out.tensors[e.name] = t;
    out.order.push_back(e.name);
  }
  return out;
}

SafetensorsFile map_safetensors(const std::filesystem::path& path) {
  const std::string file = path.string();
  auto mapped = std::make_shared<MappedFile>(path);
  const auto* bytes = reinterpret_cast<const char*>(mapped->data());
  const SafetensorsHeader header = parse_safetensors_header(bytes, mapped->size(), mapped->size(), file);
  SafetensorsFile out;
  out.metadata = header.metadata;
  for (const auto& e : header.entries) {
    const auto options = torch::TensorOptions().dtype(dtype_of(e.dtype, file, e.name));
    at::Tensor t;
    if (e.end == e.begin) {
      t = torch::empty(e.shape, options);
    } else {
      void* data = const_cast<char*>(bytes + header.data_start + e.begin);  // read-only view
      t = torch::from_blob(data, e.shape, [mapped](void*) {}, options);
    }
    out.tensors[e.name] = t;
    out.order.push_back(e.name);
  }
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
