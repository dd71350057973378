// Every list of names agrees with its registry: the config schema's choices
// (sample.sampler, diffusion.objective, diffusion.schedule, model.backbone),
// `unmask sample --help`, and docs/SAMPLING.md's sampler table; each sampler
// in the registry has a strategy, and a name no registry knows is an error
// that lists the known ones.
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <set>

#include "../../src/sampling/strategies.h"
#include "test_util.h"
#include "unmask/config.h"
#include "unmask/diffusion/objective.h"
#include "unmask/diffusion/schedule.h"
#include "unmask/model/backbone.h"
#include "unmask/samplers.h"
#include "unmask/tokenizer/tokenizer.h"
#include "unmask/util/error.h"

namespace unmask {
namespace {

namespace fs = std::filesystem;

std::set<std::string> as_set(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

std::set<std::string> schema_choices(const std::string& key) {
  for (const auto& k : config_keys())
    if (k.path == key) return as_set(k.choices);
  ADD_FAILURE() << "no config key " << key;
  return {};
}

TEST(Registry, TheConfigSchemaOffersExactlyTheRegisteredNames) {
  EXPECT_EQ(schema_choices("sample.sampler"), as_set(sampler_names()));
  EXPECT_EQ(schema_choices("diffusion.objective"), as_set(objective_names()));
  EXPECT_EQ(schema_choices("diffusion.schedule"), as_set(schedule_names()));
  EXPECT_EQ(schema_choices("model.backbone"), as_set(backbone_names()));
}

TEST(Registry, EverySamplerHasAStrategyAndItsNameParses) {
  for (const auto& spec : sampler_specs()) {
    EXPECT_EQ(parse_sampler(spec.name), spec.id);
    EXPECT_EQ(sampler_name(spec.id), std::string(spec.name));
    EXPECT_NO_THROW(sampling::strategy(spec.id)) << spec.name;
    EXPECT_GT(std::string(spec.summary).size(), 20u) << spec.name;
  }
  const std::string err = test::error_of([] { parse_sampler("beam"); });
  EXPECT_NE(err.find("unknown sampler 'beam' (known: " + sampler_list() + ")"), std::string::npos) << err;
}

TEST(Registry, WhatSamplersSupportIsConsistent) {
  // An inner sampler denoises a span; one that runs an inner sampler is not one itself.
  for (const auto& spec : sampler_specs()) {
    if (spec.has(kRunsInner)) {
      EXPECT_FALSE(spec.has(kInsideSemiAr)) << spec.name;
      EXPECT_FALSE(spec.has(kInBlocks)) << spec.name;
    }
  }
  EXPECT_FALSE(sampler_names(kInsideSemiAr).empty());
  EXPECT_FALSE(sampler_names(kInBlocks).empty());
  EXPECT_EQ(sampler_names(kRunsInner | kSlidesWindow), sampler_names(kRunsInner));
}

TEST(Registry, ObjectiveTraitsAreWhatTheObjectivesDo) {
  for (const auto& name : objective_names()) {
    const ObjectiveTraits t = objective_traits(name);
    EXPECT_EQ(t.causal, name == "ar") << name;  // the one causal objective today
    EXPECT_EQ(t.bound, name != "mlm" && name != "roberta_diffusion") << name;
    EXPECT_EQ(t.blocks, name == "bd3lm") << name;
  }
  EXPECT_THROW(objective_traits("sedd"), Error);
}

TEST(Registry, SampleHelpListsEverySamplerWithItsSummary) {
  const auto r = test::run_unmask({"sample", "--help"});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const auto& spec : sampler_specs()) {
    EXPECT_NE(r.out.find(std::string(spec.name) + ": "), std::string::npos) << spec.name;
  }
  EXPECT_NE(r.out.find("the sampler inside each block, " + sampler_list(kInsideSemiAr, " | ")), std::string::npos)
      << r.out;
}

TEST(Registry, DocsSamplingTableListsExactlyTheRegisteredSamplers) {
  const std::string docs = test::read_text(fs::path(UNMASK_SOURCE_DIR) / "docs" / "SAMPLING.md");
  const std::regex row(R"(\n\| `([a-z_]+)` \|)");
  std::set<std::string> documented;
  for (std::sregex_iterator it(docs.begin(), docs.end(), row), end; it != end; ++it) documented.insert((*it)[1]);
  EXPECT_EQ(documented, as_set(sampler_names()));
}

TEST(Registry, NoSamplerNameIsComparedAsAStringOutsideTheRegistry) {
  std::string names;
  for (const auto& n : sampler_names()) names += (names.empty() ? "" : "|") + n;
  const std::regex compare("[=!]=\\s*\"(" + names + ")\"|\"(" + names + ")\"\\s*[=!]=");
  std::vector<std::string> found;
  for (const char* dir : {"src", "include", "bench"})
    for (const auto& e : fs::recursive_directory_iterator(fs::path(UNMASK_SOURCE_DIR) / dir)) {
      const auto ext = e.path().extension();
      if (ext != ".cpp" && ext != ".h") continue;
      const std::string text = test::read_text(e.path());
      if (std::regex_search(text, compare)) found.push_back(e.path().string());
    }
  EXPECT_TRUE(found.empty()) << "sampler names compared as strings in " << found.front();
}

TEST(Registry, TokenizerTypesAreDocumented) {
  const std::string docs = test::read_text(fs::path(UNMASK_SOURCE_DIR) / "docs" / "EXTENDING.md");
  for (const auto& type : tokenizer_types()) EXPECT_NE(docs.find("`" + type + "`"), std::string::npos) << type;
}

}  // namespace
}  // namespace unmask
