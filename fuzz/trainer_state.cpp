// trainer.json of a checkpoint, read as `train --resume` reads it; its loader
// block then restores a row sampler (100 rows, seed 7, shuffled, rank 0 of 1).
#include <string>

#include "harness.h"
#include "unmask/data/row_sampler.h"
#include "unmask/run/trainer_state.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return unmask::fuzz::expect_clear_errors([&] {
    const auto state =
        unmask::parse_trainer_state(std::string(reinterpret_cast<const char*>(data), size), "trainer.json");
    unmask::RowSampler sampler(100, 7, true, 0, 1);
    sampler.restore(state.loader);
    for (int i = 0; i < 3; ++i) sampler.next();
  });
}
