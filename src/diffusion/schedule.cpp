// log-linear, D3PM, linear and cosine schedules and the schedule registry.
#include "unmask/diffusion/schedule.h"

#include <torch/torch.h>

#include <cmath>
#include <functional>

#include "unmask/diffusion/spindle.h"
#include "unmask/registry.h"
#include "unmask/util/error.h"

namespace unmask {

at::Tensor NoiseSchedule::sigma(const at::Tensor& t) const { return -torch::log(alpha(t)); }

at::Tensor NoiseSchedule::token_alpha(const at::Tensor& t, const at::Tensor& x0, const at::Tensor&) const {
  return alpha(t).view({-1, 1}).expand({x0.size(0), x0.size(1)});
}

at::Tensor discrete_step_weight(const at::Tensor& alpha_prev, const at::Tensor& alpha_t) {
  return (alpha_prev - alpha_t) / (1 - alpha_t);
}

namespace {

// MDLM noise_schedule.py LogLinearNoise: σ(t) = −log(1 − (1−ε)t), so the mask
// probability is (1−ε)t and the weight dσ/dt / expm1(σ) is exactly 1/t.
class LogLinear : public NoiseSchedule {
 public:
  explicit LogLinear(double eps) : eps_(eps) {}
  std::string name() const override { return "loglinear"; }
  at::Tensor alpha(const at::Tensor& t) const override { return 1 - (1 - eps_) * t; }
  at::Tensor time_at(const at::Tensor& a) const override { return (1 - a) / (1 - eps_); }
  at::Tensor loss_weight(const at::Tensor& t) const override { return 1 / t; }

 private:
  double eps_;
};

// α(t) = 1 − t. Discretised with t = k/T this is D3PM's absorbing schedule
// β_k = 1/(T − k + 1) (D3PM §3.2; the mutual-information schedule), since
// ∏_{j≤k}(1 − 1/(T − j + 1)) = 1 − k/T. Weight −α'/(1 − α) = 1/t.
class Linear : public NoiseSchedule {
 public:
  explicit Linear(std::string name) : name_(std::move(name)) {}
  std::string name() const override { return name_; }
  at::Tensor alpha(const at::Tensor& t) const override { return 1 - t; }
  at::Tensor time_at(const at::Tensor& a) const override { return 1 - a; }
  at::Tensor loss_weight(const at::Tensor& t) const override { return 1 / t; }

 private:
  std::string name_;
};

// Cosine (Shi et al. 2024, MD4, Table 1): α(t) = 1 − cos(π/2·(1 − t)),
// weight −α'/(1 − α) = (π/2)·tan(π/2·(1 − t)).
class Cosine : public NoiseSchedule {
 public:
  std::string name() const override { return "cosine"; }
  at::Tensor alpha(const at::Tensor& t) const override { return 1 - torch::cos(M_PI / 2 * (1 - t)); }
  at::Tensor time_at(const at::Tensor& a) const override { return 1 - 2 / M_PI * torch::acos((1 - a).clamp(-1, 1)); }
  at::Tensor loss_weight(const at::Tensor& t) const override { return M_PI / 2 * torch::tan(M_PI / 2 * (1 - t)); }
};

using ScheduleFactory = std::function<std::unique_ptr<NoiseSchedule>(const DiffusionConfig&, const at::Tensor&)>;

const Registry<ScheduleFactory>& registry() {
  static const Registry<ScheduleFactory> r = [] {
    Registry<ScheduleFactory> reg("noise schedule");
    reg.add("loglinear", [](const DiffusionConfig& c, const at::Tensor&) { return std::make_unique<LogLinear>(c.eps); });
    reg.add("d3pm", [](const DiffusionConfig&, const at::Tensor&) { return std::make_unique<Linear>("d3pm"); });
    reg.add("linear", [](const DiffusionConfig&, const at::Tensor&) { return std::make_unique<Linear>("linear"); });
    reg.add("cosine", [](const DiffusionConfig&, const at::Tensor&) { return std::make_unique<Cosine>(); });
    reg.add("spindle", [](const DiffusionConfig& c, const at::Tensor& w) {
      if (!w.defined())
        throw Error("diffusion.schedule=spindle needs token frequencies of the training data");
      return std::make_unique<SpindleSchedule>(c.spindle_lambda, w);
    });
    return reg;
  }();
  return r;
}

}  // namespace

std::unique_ptr<NoiseSchedule> make_schedule(const DiffusionConfig& config, const at::Tensor& token_weights) {
  auto schedule = registry().get(config.schedule)(config, token_weights);
  if (schedule->discrete_only() && config.T < 1)
    throw Error("diffusion.schedule=" + config.schedule + " is discrete-time: set diffusion.T >= 1");
  return schedule;
}

std::vector<std::string> schedule_names() { return registry().names(); }

}  // namespace unmask
