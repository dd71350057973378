// Variants (tokenizer formats, objectives, schedules, backbones) are
// registered by name in one place and chosen by config. An unknown name is an
// error that lists the known ones. The samplers have their own X-macro list
// (samplers.def), readable without LibTorch.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "unmask/util/error.h"

namespace unmask {

template <class Factory>
class Registry {
 public:
  explicit Registry(std::string what) : what_(std::move(what)) {}

  Registry& add(const std::string& name, Factory factory) {
    entries_[name] = std::move(factory);
    return *this;
  }
  const Factory& get(const std::string& name) const {
    const auto it = entries_.find(name);
    if (it == entries_.end()) {
      std::string known;
      for (const auto& [k, v] : entries_) known += (known.empty() ? "" : ", ") + k;
      throw Error("unknown " + what_ + " '" + name + "' (known: " + known + ")");
    }
    return it->second;
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [k, v] : entries_) out.push_back(k);
    return out;
  }

 private:
  std::string what_;
  std::map<std::string, Factory> entries_;
};

}  // namespace unmask
