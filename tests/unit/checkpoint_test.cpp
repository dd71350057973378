// Checkpoint files on disk: the manifest written at commit catches a missing,
// truncated, grown or bit-flipped file with a message naming it; `latest`
// pointing nowhere is an error; the run lock lets one trainer in at a time
// and is free again once its holder is gone.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "test_util.h"
#include "unmask/run/checkpoint.h"
#include "unmask/run/trainer_state.h"
#include "unmask/util/error.h"
#include "unmask/util/run_lock.h"

namespace unmask {
namespace {

using namespace unmask::test;

// A published checkpoint with a few files, one in a subdirectory.
fs::path make_checkpoint(const TempDir& run) {
  CheckpointWriter w(run.path(), 7);
  write_text(w.file("model.safetensors"), std::string(4096, 'w'));
  write_text(w.file("trainer.json"), "{\"step\": 7}\n");
  fs::create_directory(w.file("tokenizer"));
  write_text(w.file("tokenizer") / "tokenizer.json", "{}");
  w.commit(CheckpointConfig{});
  return find_checkpoint(run.path());
}

std::string error_of(const fs::path& ckpt) {
  try {
    verify_checkpoint(ckpt);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(CheckpointManifest, AnIntactCheckpointPasses) {
  TempDir run;
  const fs::path ckpt = make_checkpoint(run);
  EXPECT_TRUE(fs::exists(ckpt / "manifest.json"));
  EXPECT_EQ(error_of(ckpt), "");
  EXPECT_NE(read_text(ckpt / "manifest.json").find("tokenizer/tokenizer.json"), std::string::npos);
}

TEST(CheckpointManifest, AFlippedByteIsNamed) {
  TempDir run;
  const fs::path ckpt = make_checkpoint(run);
  {
    std::fstream f(ckpt / "model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(2000);
    f.put('x');
  }
  const std::string e = error_of(ckpt);
  EXPECT_NE(e.find("model.safetensors changed after it was written (SHA-256 mismatch)"), std::string::npos) << e;
}

TEST(CheckpointManifest, TruncatedGrownAndMissingFilesAreNamed) {
  TempDir run;
  const fs::path ckpt = make_checkpoint(run);
  fs::resize_file(ckpt / "model.safetensors", 100);
  std::string e = error_of(ckpt);
  EXPECT_NE(e.find("model.safetensors has 100 bytes, 4096 when it was written (truncated)"), std::string::npos) << e;
  write_text(ckpt / "model.safetensors", std::string(5000, 'w'));
  e = error_of(ckpt);
  EXPECT_NE(e.find("(grown)"), std::string::npos) << e;
  fs::remove(ckpt / "model.safetensors");
  e = error_of(ckpt);
  EXPECT_NE(e.find("is missing model.safetensors"), std::string::npos) << e;
  write_text(ckpt / "manifest.json", "{\"files\": ");
  e = error_of(ckpt);
  EXPECT_NE(e.find("manifest.json is corrupt"), std::string::npos) << e;
}

// Found by fuzz_manifest: entries that are not {bytes, sha256} objects.
TEST(CheckpointManifest, AnEntryThatIsNotBytesAndShaIsCorrupt) {
  TempDir run;
  const fs::path ckpt = make_checkpoint(run);
  for (const char* files : {R"({"model.safetensors": 1242})", R"({"model.safetensors": {"bytes": -1, "sha256": "x"}})",
                            R"({"model.safetensors": {"bytes": 4096}})"}) {
    write_text(ckpt / "manifest.json", std::string(R"({"format": "unmask-checkpoint-manifest", "files": )") + files + "}");
    const std::string e = error_of(ckpt);
    EXPECT_NE(e.find("is corrupt (the entry for 'model.safetensors' is not"), std::string::npos) << files << ": " << e;
  }
}

// A manifest may only vouch for files inside its checkpoint.
TEST(CheckpointManifest, AnEntryOutsideTheCheckpointIsCorrupt) {
  TempDir run;
  const fs::path ckpt = make_checkpoint(run);
  for (const char* name : {"../../lock", "/etc/hostname", "tokenizer/../../x"}) {
    write_text(ckpt / "manifest.json", std::string(R"({"format": "unmask-checkpoint-manifest", "files": {")") + name +
                                           R"(": {"bytes": 1, "sha256": "00"}}})");
    EXPECT_NE(error_of(ckpt).find(std::string("the entry '") + name + "' is not a file inside the checkpoint"),
              std::string::npos)
        << name;
  }
}

TEST(CheckpointManifest, LatestPointingNowhereIsAnError) {
  TempDir run;
  make_checkpoint(run);
  write_text(run / "checkpoints" / "latest", "step-0000099\n");
  try {
    find_checkpoint(run.path());
    ADD_FAILURE() << "a dangling latest must be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("names step-0000099, which is not a complete checkpoint"), std::string::npos)
        << e.what();
  }
}

TEST(RunLock, OneHolderAtATime) {
  TempDir run;
  {
    const RunLock first(run.path());
    try {
      const RunLock second(run.path());
      ADD_FAILURE() << "a second lock on the same run must be refused";
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("is in use by another unmask train (pid " + std::to_string(::getpid())), std::string::npos)
          << msg;
      EXPECT_NE(msg.find("choose another --out"), std::string::npos) << msg;
    }
  }
  const RunLock again(run.path());  // released with its holder
}

// A holder killed with SIGKILL leaves the file but not the lock.
TEST(RunLock, AKilledHolderLeavesNoLock) {
  TempDir run;
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const RunLock held(run.path());
    const char c = 'x';
    if (::write(ready[1], &c, 1) != 1) ::_exit(2);
    ::pause();
    ::_exit(0);
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  EXPECT_THROW(RunLock(run.path()), Error);
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(fs::exists(run / "lock"));
  EXPECT_NO_THROW(RunLock(run.path()));
  ::close(ready[0]);
  ::close(ready[1]);
}

TEST(TrainerState, RoundTripsAndNamesDamagedFields) {
  TrainerState s;
  s.step = 42;
  s.loader = {{"mode", "pad"}, {"length", 64}, {"fingerprint", std::string(64, 'b')}, {"epoch", 1}, {"cursor", 3}};
  s.fingerprint = std::string(64, 'c');
  s.vocab_size = 1000;
  s.objective = "mdlm";
  s.ema = true;
  s.elapsed = 12.5;
  s.world_size = 2;
  const auto back = parse_trainer_state(trainer_state_json(s).dump(), "t.json");
  EXPECT_EQ(back.step, 42);
  EXPECT_EQ(back.loader, s.loader);
  EXPECT_EQ(back.fingerprint, s.fingerprint);
  EXPECT_EQ(back.objective, "mdlm");
  EXPECT_TRUE(back.ema);
  EXPECT_EQ(back.elapsed, 12.5);
  EXPECT_EQ(back.world_size, 2);
  // An older trainer.json without the later fields gets their defaults.
  const auto old = parse_trainer_state(
      R"({"step": 3, "fingerprint": ")" + std::string(64, 'c') + R"(", "loader": {"mode": "wrap", "length": 8, "fingerprint": "x"}})",
      "t.json");
  EXPECT_EQ(old.world_size, 1);
  EXPECT_EQ(old.elapsed, 0);
  auto damaged = [&](const std::string& key, const nlohmann::json& value) {
    auto j = nlohmann::json(trainer_state_json(s));
    if (value.is_null()) j.erase(key); else j[key] = value;
    return test::error_of([&] { parse_trainer_state(j.dump(), "t.json"); });
  };
  EXPECT_EQ(damaged("step", nullptr), "t.json is damaged: the field 'step' is missing");
  EXPECT_EQ(damaged("step", -1), "t.json is damaged: 'step' must be an integer >= 0");
  EXPECT_EQ(damaged("step", 2.5), "t.json is damaged: 'step' must be an integer >= 0");
  EXPECT_EQ(damaged("world_size", 0), "t.json is damaged: 'world_size' must be an integer >= 1");
  EXPECT_EQ(damaged("fingerprint", "abc"), "t.json is damaged: 'fingerprint' must be 64 lower-case hex digits (a SHA-256)");
  EXPECT_EQ(damaged("elapsed", "soon"), "t.json is damaged: 'elapsed' must be a number of seconds >= 0");
  EXPECT_EQ(damaged("ema", 1), "t.json is damaged: 'ema' must be true or false");
  EXPECT_EQ(damaged("loader", nlohmann::json::array()), "t.json is damaged: 'loader' must be a JSON object");
  EXPECT_EQ(damaged("loader", nlohmann::json{{"mode", 3}}), "t.json is damaged: 'mode' must be a string");
  EXPECT_EQ(test::error_of([] { parse_trainer_state("[1]", "t.json"); }), "t.json is damaged: not a JSON object");
  EXPECT_NE(test::error_of([] { parse_trainer_state("{\"step\": ", "t.json"); }).find("t.json is damaged: not valid JSON"),
            std::string::npos);
}

}  // namespace
}  // namespace unmask
