// MAUVE: GPT-2 features, then mauve-text's compute_mauve (cluster_feats,
// get_divergence_curve_for_multinomials, get_fronter_integral) in float64.
// Departure: mauve-text clusters with faiss (float32, k random data points as
// starts); this k-means is Lloyd's in float64 from seeded k-means++ starts,
// five of them, the lowest objective kept. The histograms, and so MAUVE, can
// differ by the starts: the suite compares with mauve-text on the same feature
// arrays (tests/fixtures/make_mauve_fixtures.py).
#include "unmask/eval/mauve.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "unmask/model/gpt2.h"
#include "unmask/util/error.h"

namespace unmask {

at::Tensor mauve_features(RunModel& scorer, const std::vector<std::string>& texts, std::int64_t max_tokens,
                          std::int64_t batch_size) {
  auto* gpt2 = dynamic_cast<Gpt2Backbone*>(scorer.model.get());
  if (gpt2 == nullptr)
    throw Error("the MAUVE scorer " + scorer.dir.string() + " has model.backbone=" + scorer.config.model.backbone +
                "; MAUVE features come from a GPT-2 (import one with 'unmask import hf --from DIR' of a GPT-2)");
  if (max_tokens < 1 || batch_size < 1) throw Error("--max-text-length and --batch-size must be at least 1");
  const std::int64_t limit = std::min(max_tokens, scorer.config.model.max_length);
  std::vector<std::vector<std::int64_t>> ids;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const auto enc = scorer.tokenizer->encode(texts[i]);
    if (enc.empty()) throw Error("text " + std::to_string(i + 1) + " encodes to no token: MAUVE needs non-empty texts");
    ids.emplace_back(enc.begin(), enc.begin() + std::min<std::int64_t>(limit, static_cast<std::int64_t>(enc.size())));
  }
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> out;
  for (std::size_t start = 0; start < ids.size(); start += static_cast<std::size_t>(batch_size)) {
    const std::size_t end = std::min(ids.size(), start + static_cast<std::size_t>(batch_size));
    std::int64_t width = 0;
    for (std::size_t i = start; i < end; ++i) width = std::max<std::int64_t>(width, static_cast<std::int64_t>(ids[i].size()));
    const auto b = static_cast<std::int64_t>(end - start);
    at::Tensor x = torch::zeros({b, width}, torch::kLong);       // (B, W), right-padded
    at::Tensor real = torch::zeros({b, width}, torch::kBool);    // (B, W)
    at::Tensor last = torch::zeros({b}, torch::kLong);           // (B) index of each text's last token
    for (std::int64_t r = 0; r < b; ++r) {
      const auto& row = ids[start + static_cast<std::size_t>(r)];
      std::copy(row.begin(), row.end(), x.data_ptr<std::int64_t>() + r * width);
      real[r].narrow(0, 0, static_cast<std::int64_t>(row.size())).fill_(true);
      last[r] = static_cast<std::int64_t>(row.size()) - 1;
    }
    const at::Tensor h = gpt2->hidden_states(x.to(scorer.device), real.to(scorer.device));  // (B, W, H)
    const at::Tensor at_last = h.gather(1, last.to(scorer.device).view({b, 1, 1}).expand({b, 1, h.size(2)}));
    out.push_back(at_last.squeeze(1).to(torch::kFloat64).cpu());  // (B, H)
  }
  return torch::cat(out);
}

namespace {

// Lloyd's k-means on `x` (n, d) float64 from k-means++ starts (Arthur and
// Vassilvitskii 2007: each next centre drawn with probability ∝ the squared
// distance to the nearest one so far) drawn with `seed`; returns the labels
// (n) and sets `objective` to the sum of squared distances.
at::Tensor kmeans(const at::Tensor& x, std::int64_t k, std::int64_t iterations, std::uint64_t seed, double& objective) {
  const std::int64_t n = x.size(0);
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::vector<std::int64_t> chosen = {static_cast<std::int64_t>(uniform(gen) * static_cast<double>(n)) % n};
  at::Tensor nearest = (x - x[chosen[0]]).pow(2).sum(1);  // (n) squared distance to the nearest centre
  while (static_cast<std::int64_t>(chosen.size()) < k) {
    const at::Tensor cum = nearest.cumsum(0);
    const double total = cum[n - 1].item<double>();
    std::int64_t next = total > 0 ? at::searchsorted(cum, torch::full({1}, uniform(gen) * total, cum.options()))
                                        .item<std::int64_t>()
                                  : static_cast<std::int64_t>(chosen.size());  // all points coincide
    next = std::min(next, n - 1);
    chosen.push_back(next);
    nearest = torch::minimum(nearest, (x - x[next]).pow(2).sum(1));
  }
  at::Tensor centroids = x.index_select(0, torch::tensor(chosen));
  at::Tensor labels = torch::full({n}, -1, torch::kLong);
  at::Tensor d2;  // (n, k) squared distances
  for (std::int64_t it = 0; it < iterations; ++it) {
    d2 = torch::cdist(x, centroids).pow(2);
    const at::Tensor next = d2.argmin(1);
    if (torch::equal(next, labels)) break;
    labels = next;
    const at::Tensor counts = torch::bincount(labels, {}, k).to(torch::kFloat64);  // (k)
    at::Tensor sums = torch::zeros({k, x.size(1)}, x.options()).index_add_(0, labels, x);
    centroids = torch::where(counts.unsqueeze(1) > 0, sums / counts.clamp_min(1).unsqueeze(1), centroids);
    // An empty cluster restarts at the point farthest from its own centroid.
    const at::Tensor empty = (counts == 0).nonzero().flatten();
    for (std::int64_t e = 0; e < empty.size(0); ++e) {
      const at::Tensor own = d2.gather(1, labels.unsqueeze(1)).squeeze(1);  // (n)
      const std::int64_t far = own.argmax().item<std::int64_t>();
      centroids[empty[e].item<std::int64_t>()].copy_(x[far]);
      d2.index_put_({far}, 0.0);
    }
  }
  d2 = torch::cdist(x, centroids).pow(2);
  labels = d2.argmin(1);
  objective = d2.gather(1, labels.unsqueeze(1)).sum().item<double>();
  return labels;
}

double kl(const std::vector<double>& p, const std::vector<double>& q) {
  double total = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] == 0) continue;
    if (q[i] == 0) return std::numeric_limits<double>::infinity();
    total += p[i] * std::log(p[i] / q[i]);
  }
  return total;
}

// Trapezoidal area under y(x) with x sorted ascending (sklearn.metrics.auc).
double area(std::vector<std::pair<double, double>> pts) {
  std::stable_sort(pts.begin(), pts.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  double total = 0;
  for (std::size_t i = 1; i < pts.size(); ++i) total += (pts[i].first - pts[i - 1].first) * (pts[i].second + pts[i - 1].second) / 2;
  return total;
}

// MAUVE: the divergence frontier {(exp(−c KL(Q‖R_w)), exp(−c KL(P‖R_w)))}, R_w = wP + (1−w)Q,
// with its two end points, and the mean of the areas under it read both ways.
double mauve_of(const std::vector<double>& p, const std::vector<double>& q, const MauveOptions& o) {
  std::vector<std::pair<double, double>> curve = {{1.0, 0.0}};  // exp(−c·[0, ∞])
  for (std::int64_t i = 0; i < o.curve_points; ++i) {
    const double w = 1e-6 + (1 - 2e-6) * static_cast<double>(i) / static_cast<double>(o.curve_points - 1);
    std::vector<double> r(p.size());
    for (std::size_t j = 0; j < p.size(); ++j) r[j] = w * p[j] + (1 - w) * q[j];
    curve.emplace_back(std::exp(-o.scaling * kl(q, r)), std::exp(-o.scaling * kl(p, r)));
  }
  curve.emplace_back(0.0, 1.0);  // exp(−c·[∞, 0])
  std::vector<std::pair<double, double>> flipped;
  for (const auto& [x, y] : curve) flipped.emplace_back(y, x);
  return 0.5 * (area(curve) + area(flipped));
}

// mauve-text's get_fronter_integral (scaling factor 2).
double frontier_integral(const std::vector<double>& p, const std::vector<double>& q) {
  double total = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const double a = p[i], b = q[i];
    if (a == 0 && b == 0) continue;
    if (a == 0) total += b / 4;
    else if (b == 0) total += a / 4;
    else if (std::abs(a - b) > 1e-8) total += 0.25 * (a + b) - 0.5 * a * b * (std::log(a) - std::log(b)) / (a - b);
  }
  return 2 * total;
}

std::vector<double> histogram(const at::Tensor& labels, std::int64_t k, double smoothing) {
  const at::Tensor counts = torch::bincount(labels, {}, k).to(torch::kFloat64) + smoothing;
  const at::Tensor h = counts / counts.sum();
  return std::vector<double>(h.data_ptr<double>(), h.data_ptr<double>() + k);
}

}  // namespace

MauveResult compute_mauve(const at::Tensor& p, const at::Tensor& q, const MauveOptions& o) {
  const std::int64_t n_p = p.size(0), n_q = q.size(0);
  if (n_p == 0 || n_q == 0) throw Error("MAUVE needs generated and reference texts (got " + std::to_string(n_p) +
                                        " and " + std::to_string(n_q) + ")");
  if (!(o.explained_variance > 0 && o.explained_variance < 1)) throw Error("the explained variance must lie in (0, 1)");
  MauveResult r;
  r.buckets = o.buckets > 0 ? o.buckets
                            : std::max<std::int64_t>(2, std::llround(static_cast<double>(std::min(n_p, n_q)) / 10));
  if (n_p + n_q < 2 * r.buckets || std::min(n_p, n_q) < 2)
    throw Error("MAUVE with " + std::to_string(r.buckets) + " clusters needs at least " +
                std::to_string(2 * r.buckets) + " texts and 2 of each kind (got " + std::to_string(n_p) +
                " generated, " + std::to_string(n_q) + " references)");
  torch::NoGradGuard no_grad;
  // Q first, as mauve-text stacks them; rows L2-normalised.
  at::Tensor data = torch::cat({q, p}).to(torch::kFloat64);                           // (n, H)
  data = data / data.norm(2, 1, true).clamp_min(1e-12);
  // PCA (sklearn, no whitening): centre, SVD, the fewest components whose
  // explained-variance ratios sum to the target.
  const at::Tensor centred = data - data.mean(0, true);
  const auto [u, s, vh] = torch::linalg_svd(centred, /*full_matrices=*/false);
  const at::Tensor ratio = s.pow(2) / s.pow(2).sum();                                  // (r)
  const at::Tensor reached = ratio.cumsum(0) >= o.explained_variance;
  r.pca_dims = reached.any().item<bool>() ? reached.to(torch::kLong).argmax().item<std::int64_t>() + 1 : ratio.size(0);
  const at::Tensor reduced = centred.matmul(vh.narrow(0, 0, r.pca_dims).t());          // (n, k)
  at::Tensor best;
  double best_objective = std::numeric_limits<double>::infinity();
  for (std::int64_t redo = 0; redo < o.kmeans_redo; ++redo) {
    double objective = 0;
    const at::Tensor labels = kmeans(reduced, r.buckets, o.kmeans_iterations, o.seed + 2 + static_cast<std::uint64_t>(redo), objective);
    if (objective < best_objective) {
      best_objective = objective;
      best = labels;
    }
  }
  const at::Tensor q_labels = best.narrow(0, 0, n_q), p_labels = best.narrow(0, n_q, n_p);
  r.p_hist = histogram(p_labels, r.buckets, 0);
  r.q_hist = histogram(q_labels, r.buckets, 0);
  r.mauve = mauve_of(r.p_hist, r.q_hist, o);
  r.frontier_integral = frontier_integral(r.p_hist, r.q_hist);
  const auto p_star = histogram(p_labels, r.buckets, 0.5), q_star = histogram(q_labels, r.buckets, 0.5);
  r.mauve_star = mauve_of(p_star, q_star, o);
  r.frontier_integral_star = frontier_integral(p_star, q_star);
  return r;
}

nlohmann::ordered_json mauve_report(const MauveResult& m, std::int64_t samples, std::int64_t references) {
  return nlohmann::ordered_json{{"mauve", m.mauve}, {"frontier_integral", m.frontier_integral},
                                {"mauve_star", m.mauve_star}, {"frontier_integral_star", m.frontier_integral_star},
                                {"buckets", m.buckets}, {"pca_dims", m.pca_dims}, {"samples", samples},
                                {"references", references}, {"p_hist", m.p_hist}, {"q_hist", m.q_hist}};
}

}  // namespace unmask
