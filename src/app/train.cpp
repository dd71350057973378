// Config resolution for `unmask train` and the hand-off to the Trainer.
#include "unmask/app/train.h"

#include "unmask/config.h"
#include "unmask/train/trainer.h"

namespace unmask {

long long run_training(const TrainRequest& request) {
  std::vector<std::string> sets = request.sets;
  if (!request.device.empty()) sets.push_back("train.device=" + request.device);
  if (!request.out.empty()) sets.push_back("out_dir=" + request.out);
  Json resolved;
  TrainOptions options;
  options.config = load_config(request.configs, sets, &resolved);
  options.resolved = resolved;
  options.out_dir = options.config.out_dir;
  options.resume = request.resume;
  Trainer trainer(std::move(options));
  return trainer.run();
}

}  // namespace unmask
