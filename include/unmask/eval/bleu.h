// BLEU (Papineni et al. 2002) in two protocols. `sacrebleu`: corpus BLEU with
// sacrebleu 2.x's algorithm and defaults (Post 2018, sacrebleu/metrics/bleu.py).
// `diffusionbert`: DiffusionBERT's compute_metric.py, the mean over hypotheses
// of NLTK corpus_bleu([all references], [hypothesis]). Self-BLEU in both.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "unmask/eval/bleu_tokenize.h"

namespace unmask {

enum class BleuProtocol { kSacrebleu, kDiffusionBert };
// Chen & Cherry (2014) smoothing, as sacrebleu names them.
enum class BleuSmooth {
  kExp,    // method 3, NIST mteval-v13a: the k-th zero precision becomes 1 / (2^k · total)
  kFloor,  // method 1: a zero precision becomes smooth_value / total (default 0.1)
  kAddK,   // method 2: add smooth_value to matches and totals of orders ≥ 2 (default 1)
  kNone    // a zero precision makes BLEU 0
};

BleuProtocol parse_bleu_protocol(const std::string& name);  // sacrebleu | diffusionbert
const char* bleu_protocol_name(BleuProtocol protocol);
BleuSmooth parse_bleu_smooth(const std::string& name);      // exp | floor | add-k | none
const char* bleu_smooth_name(BleuSmooth smooth);
double default_smooth_value(BleuSmooth smooth);             // floor 0.1, add-k 1, else 0

struct BleuOptions {
  BleuTokenizer tokenizer = BleuTokenizer::k13a;
  BleuSmooth smooth = BleuSmooth::kExp;  // sacrebleu protocol only
  double smooth_value = -1;              // < 0: the method's default
  bool effective_order = false;          // sacrebleu: skip orders with no hypothesis n-grams
  int max_order = 4;                     // BLEU-4
  int threads = 0;                       // 0 = all cores; results do not depend on it
};

struct BleuScore {
  double score = 0;                  // 0–100 (diffusionbert: 100 × the mean of the sentence scores)
  std::vector<double> precisions;    // per order, 0–100 (diffusionbert: mean over hypotheses)
  double bp = 0;                     // brevity penalty (diffusionbert: mean over hypotheses)
  std::int64_t sys_len = 0;          // hypothesis tokens
  std::int64_t ref_len = 0;          // closest reference lengths, summed
  std::vector<std::int64_t> counts;  // clipped n-gram matches per order (before add-k)
  std::vector<std::int64_t> totals;  // hypothesis n-grams per order (before add-k)
  std::vector<double> sentence_scores;  // diffusionbert: each hypothesis's NLTK BLEU, 0–1
};

// sacrebleu's BLEU.compute_bleu: the score from summed statistics.
BleuScore compute_bleu(const std::vector<std::int64_t>& counts, const std::vector<std::int64_t>& totals,
                       std::int64_t sys_len, std::int64_t ref_len, const BleuOptions& options);

// sacrebleu corpus_bleu: ref_streams[k][i] is the k-th reference of hypothesis
// i; every stream has one line per hypothesis.
BleuScore corpus_bleu(const std::vector<std::string>& hypotheses,
                      const std::vector<std::vector<std::string>>& ref_streams, const BleuOptions& options);

// sacrebleu sentence_bleu: one hypothesis against its references. The
// two-argument form uses sacrebleu's sentence defaults (exp smoothing,
// effective order on).
BleuScore sentence_bleu(const std::string& hypothesis, const std::vector<std::string>& references,
                        const BleuOptions& options);
BleuScore sentence_bleu(const std::string& hypothesis, const std::vector<std::string>& references);

// Self-BLEU, sacrebleu protocol: corpus BLEU where the references of each
// hypothesis are all the other hypotheses. Needs at least two hypotheses.
BleuScore sacrebleu_self_bleu(const std::vector<std::string>& hypotheses, const BleuOptions& options);

// DiffusionBERT protocol: for each hypothesis NLTK corpus_bleu([references],
// [hypothesis]) with uniform weights and no smoothing (a zero match count at
// any order gives ~0: NLTK's sys.float_info.min precision), then the mean.
// Uses options.tokenizer, max_order and threads.
BleuScore diffusionbert_bleu(const std::vector<std::string>& hypotheses, const std::vector<std::string>& references,
                             const BleuOptions& options);
// DiffusionBERT's self-BLEU: each hypothesis against all the others.
BleuScore diffusionbert_self_bleu(const std::vector<std::string>& hypotheses, const BleuOptions& options);

}  // namespace unmask
