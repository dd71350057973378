#!/usr/bin/env python3
"""How much unmask's choice to leave [MASK] out of the x0 softmax changes the
D3PM/DiffusionBERT KL terms, against the reference codes' softmax over the
whole vocabulary ([MASK] included), on the loss fixture's inputs
(tests/fixtures/make_fixtures.py: random logits, V = 61, T = 8, spindle
lambda 0.3 and the linear D3PM schedule). Prints one line per schedule.

    $PY bench/studies/mask_softmax_effect.py      # $PY: the venv of scripts/setup.sh
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures"))
import make_fixtures as mf  # noqa: E402


def main():
    MASK, T = mf.MASK, mf.LOSS_T
    logits, x0, pad, masked, k, token_weights = mf.loss_inputs()
    B, L = x0.shape

    def spindle(kk):
        return mf.spindle_alpha(kk, x0, pad, token_weights)

    def linear(kk):
        return (1 - kk / T)[:, None].expand(B, L)

    idx = masked.nonzero(as_tuple=True)
    without = logits.clone()
    without[:, :, MASK] = -float("inf")
    mass = torch.softmax(logits, -1)[..., MASK][idx].mean().item()
    for name, alpha in (("d3pm linear", linear), ("diffusionbert spindle", spindle)):
        def kl(logp):
            return mf.explicit_absorbing_kl(logp[idx], x0[idx], alpha(k - 1)[idx], alpha(k)[idx]).sum().item()
        ours, ref = kl(torch.log_softmax(without, -1)), kl(torch.log_softmax(logits, -1))
        print(f"{name}: KL sum {ours:.5f} with [MASK] out of the softmax (unmask), {ref:.5f} with it "
              f"(reference); difference {100 * (ref - ours) / ref:.3f} % (model mass on [MASK]: {100 * mass:.2f} %)")


if __name__ == "__main__":
    main()
