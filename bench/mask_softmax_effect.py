#!/usr/bin/env python3
"""How much unmask's choice to leave [MASK] out of the x0 softmax changes the
D3PM/DiffusionBERT KL terms, against the reference codes' softmax over the
whole vocabulary ([MASK] included), on the loss fixture's inputs
(tests/fixtures/make_fixtures.py: random logits, V = 61, T = 8, spindle
lambda 0.3 and the linear D3PM schedule). Prints one line per schedule.

    $PY bench/mask_softmax_effect.py      # $PY: the venv of scripts/setup.sh
"""
import math
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
import make_fixtures as mf  # noqa: E402


def main():
    V, MASK, PAD = mf.V, mf.MASK, mf.PAD
    g = torch.Generator().manual_seed(3)  # the draws of make_fixtures.loss_fixture, in its order
    B, L, T, lam = 3, 10, 8, 0.3
    logits = torch.randn(B, L, V, generator=g) * 2
    x0 = torch.randint(5, V, (B, L), generator=g)
    pad = torch.ones(B, L, dtype=torch.bool)
    pad[2, -3:] = False
    x0[2, -3:] = PAD
    masked = (torch.rand(B, L, generator=g) < 0.5) & pad
    masked[:, 1] = True
    k = torch.tensor([1.0, 5.0, 8.0], dtype=torch.float64)
    token_weights = torch.rand(V, generator=g)
    token_weights[PAD] = 0

    def spindle(kk):
        w = token_weights[x0].double()
        wt = (w - (w * pad).sum(1, keepdim=True) / pad.sum(1, keepdim=True)) * pad
        a = torch.clip((1 - kk / T)[:, None] + lam * torch.sin(math.pi * kk / T)[:, None] * wt, 0.0, 0.999)
        a = torch.where((kk == 0)[:, None], torch.ones_like(a), a)
        return torch.where((kk == T)[:, None], torch.zeros_like(a), a)

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
