// Config tree: defaults, merging of files in order, --set overrides, and the
// errors for unknown keys, wrong types, invalid choices and malformed input.
#include <gtest/gtest.h>

#include "test_util.h"
#include "unmask/config.h"
#include "unmask/util/error.h"

namespace unmask {
namespace {

using test::error_of;
using test::TempDir;
using test::write_text;

TEST(Config, DefaultsRoundTripThroughJson) {
  const RunConfig defaults;
  const RunConfig back = config_from_json(config_to_json(defaults));
  EXPECT_EQ(config_to_json(back), config_to_json(defaults));
  EXPECT_EQ(back.model.backbone, "dit");
  EXPECT_EQ(back.diffusion.objective, "mdlm");
  EXPECT_DOUBLE_EQ(back.diffusion.eps, 1e-3);
}

TEST(Config, EveryKeyOfTheDesignIsPresent) {
  std::set<std::string> paths;
  for (const auto& k : config_keys()) paths.insert(k.path);
  for (const char* want : {"seed", "out_dir", "model.backbone", "model.hidden", "model.layers", "model.heads",
                           "model.time_conditioning", "diffusion.objective", "diffusion.schedule", "diffusion.T",
                           "data.path", "data.mode", "data.length", "train.batch_size", "train.max_steps", "train.lr",
                           "train.warmup_steps", "train.checkpoint_every", "train.device"})
    EXPECT_TRUE(paths.count(want)) << want;
}

TEST(Config, FilesMergeInOrderThenOverrides) {
  TempDir dir;
  write_text(dir / "a.json", R"({"model": {"hidden": 256, "layers": 4}, "train": {"lr": 0.001}})");
  write_text(dir / "b.json", R"({"model": {"hidden": 128}, "seed": 7})");
  Json resolved;
  const RunConfig c = load_config({(dir / "a.json").string(), (dir / "b.json").string()},
                                  {"train.lr=2e-4", "data.mode=wrap", "data.shuffle=false"}, &resolved);
  EXPECT_EQ(c.model.hidden, 128);  // b overrides a
  EXPECT_EQ(c.model.layers, 4);    // a kept where b is silent
  EXPECT_EQ(c.seed, 7);
  EXPECT_DOUBLE_EQ(c.train.lr, 2e-4);  // --set beats files
  EXPECT_EQ(c.data.mode, "wrap");
  EXPECT_FALSE(c.data.shuffle);
  EXPECT_EQ(c.model.heads, 12);  // default untouched
  EXPECT_EQ(resolved["model"]["hidden"], 128);
}

TEST(Config, IntegerIsAcceptedForAFloatKey) {
  ConfigBuilder b;
  b.merge_json(Json::parse(R"({"train": {"lr": 1}})"), "test");
  EXPECT_DOUBLE_EQ(b.build().train.lr, 1.0);
  EXPECT_TRUE(b.json()["train"]["lr"].is_number_float());
}

TEST(Config, UnknownKeyNamesFullPathAndNearestKey) {
  ConfigBuilder b;
  const std::string e = error_of([&] { b.merge_json(Json::parse(R"({"model": {"hiden": 3}})"), "x.json"); });
  EXPECT_NE(e.find("x.json"), std::string::npos) << e;
  EXPECT_NE(e.find("'model.hiden'"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'model.hidden'"), std::string::npos) << e;
  const std::string e2 = error_of([&] { b.set("trian.lr=1"); });
  EXPECT_NE(e2.find("did you mean 'train.lr'"), std::string::npos) << e2;
  const std::string e3 = error_of([&] { b.set("zzzzzzzzzzzz=1"); });
  EXPECT_NE(e3.find("valid here:"), std::string::npos) << e3;
}

TEST(Config, WrongTypesAreRejected) {
  ConfigBuilder b;
  EXPECT_NE(error_of([&] { b.merge_json(Json::parse(R"({"model": {"hidden": "big"}})"), "f"); })
                .find("model.hidden must be an integer"),
            std::string::npos);
  EXPECT_NE(error_of([&] { b.merge_json(Json::parse(R"({"model": {"hidden": 1.5}})"), "f"); }).find("model.hidden"),
            std::string::npos);
  EXPECT_NE(error_of([&] { b.merge_json(Json::parse(R"({"model": 3})"), "f"); }).find("'model' must be a JSON object"),
            std::string::npos);
  EXPECT_NE(error_of([&] { b.set("model.hidden=abc"); }).find("must be an integer, got 'abc'"), std::string::npos);
  EXPECT_NE(error_of([&] { b.set("train.lr=fast"); }).find("train.lr"), std::string::npos);
  EXPECT_NE(error_of([&] { b.set("data.shuffle=maybe"); }).find("data.shuffle"), std::string::npos);
  EXPECT_NE(error_of([&] { b.set("no_equals_sign"); }).find("key=value"), std::string::npos);
  // A failed merge leaves the builder as it was.
  EXPECT_EQ(b.build().model.hidden, 768);
}

TEST(Config, ChoicesAreValidated) {
  ConfigBuilder b;
  const std::string e = error_of([&] { b.set("model.backbone=bart"); });
  EXPECT_NE(e.find("'bart' is not valid (valid: bert, dit, gpt2)"), std::string::npos) << e;
  b.set("model.backbone=bert");
  EXPECT_EQ(b.build().model.backbone, "bert");
}

TEST(Config, FileErrorsNameTheFile) {
  TempDir dir;
  write_text(dir / "bad.json", "{\"model\": {\"hidden\": 3,,}}");
  EXPECT_NE(error_of([&] { load_config({(dir / "bad.json").string()}, {}); }).find("bad.json: invalid JSON"),
            std::string::npos);
  EXPECT_NE(error_of([&] { load_config({(dir / "missing.json").string()}, {}); }).find("file not found"),
            std::string::npos);
  write_text(dir / "list.json", "[1, 2]");
  EXPECT_NE(error_of([&] { load_config({(dir / "list.json").string()}, {}); }).find("the top level must be a JSON object"),
            std::string::npos);
}

// Found by fuzz_config: a number beyond a double's range made nlohmann throw
// out_of_range, which escaped as an internal error.
TEST(Config, ANumberBeyondADoubleInAConfigFileIsInvalidJson) {
  TempDir dir;
  write_text(dir / "huge.json", "{\"train\": {\"lr\": 22e22222}}");
  const std::string e = error_of([&] { load_config({(dir / "huge.json").string()}, {}); });
  EXPECT_NE(e.find("huge.json: invalid JSON: number overflow"), std::string::npos) << e;
}

TEST(Config, SectionCanBeSetAsJsonObject) {
  ConfigBuilder b;
  b.set(R"(model={"hidden": 64, "heads": 4})");
  EXPECT_EQ(b.build().model.hidden, 64);
  EXPECT_EQ(b.build().model.heads, 4);
}

}  // namespace
}  // namespace unmask
