// init.from (docs/PRETRAINED.md): the weights of step 0 from an HF model directory
// or an unmask checkpoint (its EMA weights when it has them). The config's
// model section must describe the same architecture, and the data must be
// prepared with the source's tokenizer (same fingerprint): both are checked
// with errors that say what to set. Tensors the source lacks (DiffusionBERT's
// time embedding on a pretrained BERT) keep the backbone's initialisation;
// tensors the model lacks are skipped; both are listed in the log.
#pragma once

#include <string>
#include <vector>

#include "unmask/config.h"
#include "unmask/model/backbone.h"
#include "unmask/tokenizer/tokenizer.h"

namespace unmask {

struct InitReport {
  std::string source;                        // what was read
  std::vector<std::string> missing;          // model tensors left at their initialisation
  std::vector<std::string> unexpected;       // source tensors with no place in the model
  std::vector<std::string> ignored;          // HF tensors without a counterpart by design
};

InitReport initialise_from(BackboneImpl& model, const RunConfig& config, const Tokenizer& data_tokenizer);

}  // namespace unmask
