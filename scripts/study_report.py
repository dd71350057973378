#!/usr/bin/env python3
"""Turns a study directory (scripts/study.py) into docs/RESULTS.md's tables and plots.

Reads every row's eval-all.json (ELBO perplexity, BLEU, self-BLEU, gen-perplexity,
entropy), ppl-seed*.json (discrete-time bounds), metrics.jsonl (loss curves),
the step sweeps and the draw comparison, checks the papers' orderings with the
standard errors, and rewrites the part of RESULTS.md between the markers
`<!-- study:begin -->` and `<!-- study:end -->`; the text around them is kept.
Plots go to docs/results/*.png (matplotlib, Agg).

  python3 scripts/study_report.py runs/study [--results docs/RESULTS.md]
"""
import argparse
import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from study import ROWS, DISCRETE, SWEEP_STEPS, DRAWS, DRAW_STEPS, EVAL_ROWS, PPL_SEEDS, PPL_DRAWS  # noqa: E402

BEGIN, END = "<!-- study:begin -->", "<!-- study:end -->"


def load(path):
    return json.loads(Path(path).read_text())


def nelbo(study, name, report):
    """(nats/token, standard error or None, how) of a row's test bound; None when it has none."""
    ppl = report.get("ppl") or {}
    if "nelbo_per_token" not in ppl:
        return None
    if ppl.get("method") == "exact":
        return ppl["nelbo_per_token"], 0.0, "exact"
    if name in DISCRETE:
        values = [ppl["nelbo_per_token"]] + [load(f)["nelbo_per_token"]
                                             for f in sorted((study / name).glob("ppl-seed*.json"))]
        return (*mean_se(values), f"{len(values)} seeds") if len(values) > 1 else (values[0], None, "1 seed")
    more = study / name / f"ppl-draws{PPL_DRAWS}.json"
    if more.exists():
        ppl = load(more)
    return ppl["nelbo_per_token"], ppl.get("std_error"), f"{ppl.get('draws')} draws"


def fmt(x, digits=1):
    return "—" if x is None else f"{x:,.{digits}f}"


def verdict(a, b):
    """a < b: holds / reversed / within 2 SE, for (mean, SE) pairs."""
    se = math.sqrt(a[1] ** 2 + b[1] ** 2)
    z = (b[0] - a[0]) / se if se > 0 else math.inf
    return "**holds**" if z > 2 else ("**reversed**" if z < -2 else "**within 2 SE**")


def mean_se(values):
    m = sum(values) / len(values)
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))
    return m, sd / math.sqrt(len(values))


def mean_log_ppl(report):
    """(mean, SE) of the per-sample log gen-perplexity of an `eval gen-ppl` report."""
    return mean_se([math.log(s["ppl"]) for s in report["per_sample"]])


def paired(a, b, f):
    """(mean, SE) of f(b_i) − f(a_i) over the samples of two reports of the same seeds."""
    return mean_se([f(y) - f(x) for x, y in zip(a["per_sample"], b["per_sample"])])


def compare(a, b, label_a, label_b):
    """Says whether bound a < bound b holds, with z = (b − a) / √(se_a² + se_b²)."""
    if a is None or b is None:
        return f"{label_a} < {label_b}: not measured"
    a, b = (a[0], a[1] or 0.0), (b[0], b[1] or 0.0)
    return (f"{label_a} < {label_b}: {verdict(a, b)} ({a[0]:.3f} vs {b[0]:.3f} nats/token, "
            f"difference {b[0] - a[0]:+.3f} ± {math.hypot(a[1], b[1]):.3f})")


def metrics(study, name):
    return [json.loads(l) for l in (study / name / "metrics.jsonl").read_text().splitlines() if l.strip()]


def curves(study, name):
    """(step, validation loss) of a row's training run."""
    return [(m["step"], m["loss"]) for m in metrics(study, name) if m.get("split") == "val"]


def train_seconds(study, name):
    return max((m["elapsed"] for m in metrics(study, name) if "elapsed" in m), default=None)


def plots(study, out_dir, sweeps):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    out_dir.mkdir(parents=True, exist_ok=True)
    made = []
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for name, *_ in ROWS:
        c = curves(study, name)
        if not c:
            continue
        ax = axes[1] if name.startswith(("dbert", "mlm")) else axes[0]
        ax.plot([s for s, _ in c], [l for _, l in c], marker="o", ms=3, label=name)
    axes[0].set_title("validation loss: AR, MDLM, D3PM, RoBERTa-diffusion, BD3-LM")
    axes[1].set_title("validation loss: MLM and the DiffusionBERT variants")
    for ax in axes:
        ax.set_xlabel("step (batch 32 x 64 tokens)")
        ax.set_ylabel("loss (each objective's own; bounds in nats/token)")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_dir / "loss_curves.png", dpi=110)
    made.append("loss_curves.png")
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for name, points in sweeps.items():
        steps = [s for s, _ in points]
        axes[0].plot(steps, [r["gen_ppl"] for _, r in points], marker="o", label=name)
        axes[1].plot(steps, [r["entropy"] for _, r in points], marker="o", label=name)
    for ax, title in zip(axes, ["gen-perplexity under the study's AR model", "entropy of the samples (nats)"]):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("sampling steps (BD3-LM: per block)")
        ax.set_title(title)
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_dir / "steps_vs_quality.png", dpi=110)
    made.append("steps_vs_quality.png")
    plt.close(fig)
    return made


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("study")
    ap.add_argument("--results", default=str(Path(__file__).resolve().parent.parent / "docs" / "RESULTS.md"))
    args = ap.parse_args()
    study = Path(args.study)
    results = Path(args.results)
    reports = {name: load(study / name / "eval-all.json") for name, *_ in ROWS}
    bounds = {name: nelbo(study, name, reports[name]) for name in reports}
    data = load(study / "data.json")
    cfg = load(Path(__file__).resolve().parent.parent / "configs" / "study.json")
    prov = load(study / "provenance.json") if (study / "provenance.json").exists() else {}
    best = (study / "best.txt").read_text().strip()
    steps = None
    first_train = prov.get("ar/train", {}).get("command", "")
    if "train.max_steps=" in first_train:
        steps = int(first_train.split("train.max_steps=")[1].split()[0])
    tokens = steps * cfg["train"]["batch_size"] * cfg["data"]["length"] if steps else None

    lines = [BEGIN, ""]
    lines.append(f"Corpus: fortunes, {data['splits']['train']['docs']:,} train / {data['splits']['val']['docs']:,} val / "
                 f"{data['splits']['test']['docs']:,} test documents ({data['splits']['train']['tokens']:,} train tokens, "
                 f"unigram vocabulary of 4,000). Every row: `configs/study.json` (BERT 4 × 256, "
                 f"`pad` rows of {cfg['data']['length']}), {steps} steps of batch {cfg['train']['batch_size']} "
                 f"= {tokens:,} token slots, the same seed. Bounds on the first {EVAL_ROWS} test documents; "
                 f"BLEU (DiffusionBERT protocol: each sample against all test documents, 0–100), self-BLEU (each "
                 "sample against the other samples); BLEU-2 and self-BLEU-2 the same with bigrams, on text with "
                 "whitespace collapsed (`test-refs.txt`, `eval-hyps.txt`); gen-perplexity (under the "
                 f"`ar` row) and entropy of {reports['mdlm']['sampling']['num']} samples of "
                 f"{reports['mdlm']['sampling']['length']} tokens, ancestral with {reports['mdlm']['sampling']['steps']} "
                 "steps (BD3-LM: ancestral with that many steps in every block, block by block with the KV cache; AR: "
                 "left to right).")
    lines += ["", "| row | what it is | test ELBO ppl (± SE) | nats/token | BLEU-4 | self-BLEU-4 | BLEU-2 | "
              "self-BLEU-2 | gen-ppl | entropy | train s |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, what, _, init in ROWS:
        r = reports[name]
        b = bounds[name]
        if b is None:
            ppl_cell, nats = "no bound", "—"
        else:
            se = b[1]
            ppl_cell = f"{math.exp(b[0]):,.1f}" + (" (exact)" if b[2] == "exact" else
                                                 f" ± {math.exp(b[0]) * se:,.1f}" if se is not None else "")
            nats = f"{b[0]:.3f}"
        b2 = load(study / name / "bleu2.json")["bleu"] if (study / name / "bleu2.json").exists() else None
        sb2 = load(study / name / "self-bleu2.json")["self_bleu"] if (study / name / "self-bleu2.json").exists() else None
        lines.append(f"| `{name}` | {what} | {ppl_cell} | {nats} | {fmt(r['bleu']['bleu'], 2)} | "
                     f"{fmt(r['self_bleu']['self_bleu'], 2)} | {fmt(b2, 2)} | {fmt(sb2, 2)} | "
                     f"{fmt((r.get('gen_ppl') or {}).get('gen_ppl'))} | "
                     f"{fmt(r['diversity']['entropy'], 3)} | {fmt(train_seconds(study, name), 0)} |")
    lines.append("")
    lines.append(f"SE: continuous-time rows (MDLM, BD3-LM) from {PPL_DRAWS} Monte-Carlo rounds over t; discrete-time rows "
                 f"(T = 1000, the chain of every {cfg['eval']['stride']}th step, `eval.stride`) from {len(PPL_SEEDS)} seeds of the mask "
                 "draws; the ppl column's ± is exp(nats) × SE. MLM and RoBERTa-diffusion have no likelihood bound.")

    # -- orderings ---------------------------------------------------------------------------
    checks = []
    chain = ["ar", "bd3lm-4", "bd3lm-16", "mdlm", "d3pm"]
    for a, b in zip(chain, chain[1:]):
        checks.append(compare(bounds[a], bounds[b], f"`{a}`", f"`{b}`"))
    checks.append(compare(bounds["mdlm"], bounds["mdlm-t1000"], "continuous `mdlm`", "`mdlm-t1000`"))
    checks.append(compare(bounds["dbert"], bounds["dbert-d3pm-schedule"], "spindle `dbert`",
                          "`dbert-d3pm-schedule`"))
    checks.append(f"spindle vs D3PM schedule, BLEU-4: {reports['dbert']['bleu']['bleu']:.2f} vs "
                  f"{reports['dbert-d3pm-schedule']['bleu']['bleu']:.2f}; gen-ppl "
                  f"{reports['dbert']['gen_ppl']['gen_ppl']:,.1f} vs {reports['dbert-d3pm-schedule']['gen_ppl']['gen_ppl']:,.1f}")
    checks.append(compare(bounds["dbert"], bounds["dbert-scratch"], "MLM-initialised `dbert`", "`dbert-scratch`"))
    init_curve, scratch_curve = dict(curves(study, "dbert")), dict(curves(study, "dbert-scratch"))
    common = sorted(set(init_curve) & set(scratch_curve))
    ahead = sum(init_curve[s] < scratch_curve[s] for s in common)
    checks.append("pretrained init converges faster: validation loss lower at "
                  f"{ahead} of {len(common)} evaluations (" +
                  ", ".join(f"step {s}: {init_curve[s]:.3f} vs {scratch_curve[s]:.3f}" for s in common) + ")")
    for a in ["dbert-layerwise", "dbert-prefix"]:
        checks.append(compare(bounds["dbert"], bounds[a], "time-agnostic `dbert`", f"`{a}`"))

    sweeps = {}
    for name in [best, "bd3lm-4"]:
        pts = []
        for s in SWEEP_STEPS:
            f = study / name / f"steps{s}.genppl.json"
            if f.exists():
                pts.append((s, load(f)))
        sweeps[name] = pts
        if len(pts) >= 2:
            # Samples i of two step counts share their seed but not their draws: an unpaired comparison
            # of the mean per-sample log perplexity, fewest vs most steps.
            (s0, r0), (s1, r1) = pts[0], pts[-1]
            a = (mean_log_ppl(r1)[0], mean_log_ppl(r1)[1])
            b = (mean_log_ppl(r0)[0], mean_log_ppl(r0)[1])
            checks.append(f"more steps lower gen-perplexity (`{name}`, {s1} vs {s0} steps, mean per-sample log "
                          f"gen-ppl): " + verdict(a, b) + " (gen-ppl " +
                          ", ".join(f"{s}: {r['gen_ppl']:,.1f}" for s, r in pts) + ")")
    draws, draw_steps = {}, DRAW_STEPS
    for d in DRAWS:
        found = sorted((study / "mdlm").glob(f"draw-{d}-*.genppl.json"))
        if found:
            draws[d] = load(found[0])
            draw_steps = int(found[0].name.split("-")[-1].split(".")[0])
    if "gumbel32" in draws and "gumbel64" in draws:
        # Sample i uses the same uniforms under both precisions: a paired comparison.
        d_h = paired(draws["gumbel32"], draws["gumbel64"], lambda x: x["entropy"])
        d_l = paired(draws["gumbel32"], draws["gumbel64"], lambda x: math.log(x["ppl"]))
        checks.append("float64 instead of float32 Gumbel noise raises entropy (paired per sample): " +
                      verdict((0.0, 0.0), d_h) + f" (entropy {draws['gumbel32']['entropy']:.3f} → "
                      f"{draws['gumbel64']['entropy']:.3f} nats, +{d_h[0]:.4f} ± {d_h[1]:.4f} per sample; gen-ppl "
                      f"{draws['gumbel32']['gen_ppl']:,.1f} → {draws['gumbel64']['gen_ppl']:,.1f}, log "
                      f"{d_l[0]:+.3f} ± {d_l[1]:.3f}: float32 flatters gen-perplexity; the exact inverse CDF: entropy "
                      f"{draws.get('exact', {}).get('entropy', float('nan')):.3f}, gen-ppl "
                      f"{draws.get('exact', {}).get('gen_ppl', float('nan')):,.1f})")
    lines += ["", "### The papers' orderings", ""] + [f"- {c}" for c in checks]

    lines += ["", f"### Steps vs quality (`{best}`, the best diffusion row by the bound, and `bd3lm-4`)", "",
              "| model | steps | gen-ppl | entropy | BLEU-free: distinct-4 |", "|---|---|---|---|---|"]
    for name, pts in sweeps.items():
        for s, r in pts:
            lines.append(f"| `{name}` | {s} | {r['gen_ppl']:,.1f} | {r['entropy']:.3f} | "
                         f"{r['diversity']['corpus']['distinct_4']:.3f} |")
    lines += ["", "Samples at each step count (the first of 64, cut at 160 characters):", ""]
    for name, pts in sweeps.items():
        for s, _ in pts:
            first = json.loads((study / name / f"steps{s}.jsonl").read_text().splitlines()[0])["text"]
            first = " ".join(first.split())
            lines.append(f"- `{name}`, {s} steps: {first[:160]}{'…' if len(first) > 160 else ''}")
    if draws:
        lines += ["", f"### Categorical draws (`mdlm`, `cached` sampler, {draw_steps} steps, `--filter reverse`)", "",
                  "| `--draw` | gen-ppl | entropy |", "|---|---|---|"]
        for d, r in draws.items():
            lines.append(f"| `{d}` | {r['gen_ppl']:,.1f} | {r['entropy']:.3f} |")

    made = plots(study, results.parent / "results", sweeps)
    lines += ["", "### Plots", ""] + [f"![{m}](results/{m})" for m in made]

    lines += ["", "### Samples (the first three of each row's evaluation, cut at 160 characters)", ""]
    for name, *_ in ROWS:
        samples = [json.loads(l)["text"] for l in (study / name / "eval" / "eval-samples.jsonl").read_text().splitlines()
                   if l.strip()][:3]
        lines.append(f"**`{name}`**")
        lines.append("")
        for s in samples:
            s = " ".join(s.split())
            lines.append(f"- {s[:160]}{'…' if len(s) > 160 else ''}")
        lines.append("")

    lines += ["### Where each number comes from", "", "| number | file in the study directory | command |", "|---|---|---|"]
    for key in sorted(prov):
        lines.append(f"| {key} | `{prov[key]['file']}` | `{prov[key]['command'].replace(str(study.resolve()), '$STUDY')}` |")
    lines += ["", END]

    text = results.read_text() if results.exists() else f"# Results\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{results}: no {BEGIN} ... {END} section to replace")
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    tmp = results.with_suffix(".tmp")
    tmp.write_text(head + "\n".join(lines) + tail)
    tmp.rename(results)
    print("\n".join(checks))
    print(f"wrote {results} and {', '.join(made)}")


if __name__ == "__main__":
    main()
