"""How DiffusionBERT's reverse step departs from its own spindle marginal.

The reference sampler (diffusion_word_freq.py: sample_and_compute_posterior_q
with the word-frequency noise_fn) reveals a masked position at step k with
    r_ref = α_{k−1}ⁱ β_k / (α_{k−1}ⁱ β_k + 1 − α_{k−1}ⁱ),  β_k = 1/(T − k + 1),
the spindle marginal times the plain one-step transition of the mean
schedule. unmask uses r = (α_{k−1}ⁱ − α_kⁱ)/(1 − α_kⁱ), whose product over
the steps gives back the marginal 1 − α_kⁱ exactly. This prints the share of
positions still masked at several k under both, for a frequent (w̃ = +0.5),
a rare (w̃ = −0.5) and a mean (w̃ = 0) token, at T = 2048 and λ = 0.3
(DiffusionBERT's settings).

    python3 bench/studies/spindle_posterior_effect.py [--T 2048] [--lam 0.3]
"""
import argparse
import math


def alpha(k, w, T, lam):
    if k == 0:
        return 1.0
    if k == T:
        return 0.0
    return min(max(1 - k / T + lam * math.sin(math.pi * k / T) * w, 0.0), 0.999)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--T", type=int, default=2048)
    ap.add_argument("--lam", type=float, default=0.3)
    a = ap.parse_args()
    T = a.T
    marks = [3 * T // 4, T // 2, T // 4, T // 16]
    print("| w̃ | " + " | ".join(f"k = {k}: reference / unmask (= marginal)" for k in marks) + " |")
    print("|---|" + "---|" * len(marks))
    for w in (0.5, -0.5, 0.0):
        still, seen = 1.0, {}
        for k in range(T, 0, -1):  # the step k → k − 1
            prev = alpha(k - 1, w, T, a.lam)
            beta = 1.0 / (T - k + 1)
            r = prev * beta / (prev * beta + 1 - prev) if prev < 1 else 1.0
            still *= 1 - r
            seen[k - 1] = still
        cells = [f"{seen[k]:.3f} / {1 - alpha(k, w, T, a.lam):.3f}" for k in marks]
        print(f"| {w:+.1f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
