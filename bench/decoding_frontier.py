#!/usr/bin/env python3
"""The speed/quality frontier of unmask's decoders (docs/DECODING.md), end to end.

On the reproduction study's corpus and tokenizer (scripts/study.py: Debian's
fortunes) it trains, or reuses from --out:
  ar-gpt2    a GPT-2-backbone AR model: the gen-perplexity scorer and the MAUVE featuriser;
  mdlm       MDLM (BERT 4 x 256, pad rows of 64), the study's row;
  bd3lm-4    BD3-LM with blocks of 4, the study's row;
  confident  MDLM memorising 16 fortunes: its marginals are near 1, where Fast-dLLM's Theorem 1 applies;
  mdlm-long  MDLM with 1,024 positions on wrapped rows, briefly trained: the long-sequence speed row.
Then every decoder of the grid samples --num texts, and each run gets its network calls, wall time,
positions run through the network, tokens per call, gen-perplexity (mean per-sample log, with its standard
error), unigram entropy and MAUVE against the first 256 held-out test documents. Everything lands in OUT/frontier.json,
OUT/frontier.md and OUT/frontier.png (quality against calls and against seconds). Every command is printed
before it runs; a run whose output exists is skipped, so an interrupted study continues.

  python3 bench/decoding_frontier.py --out runs/frontier            # the documented run (CPU, about an hour)
  python3 bench/decoding_frontier.py --out /tmp/f --quick           # every step at toy size
"""
import argparse
import json
import math
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from study import Study  # noqa: E402  (data, references and command running are the study's)

# name -> (--set overrides on configs/study.json, training steps, data: "study" | "confident")
MODELS = {
    "ar-gpt2": ({"diffusion.objective": "ar", "model.backbone": "gpt2"}, 600, "study"),
    "mdlm": ({"diffusion.objective": "mdlm"}, 600, "study"),
    "mlm": ({"diffusion.objective": "mlm"}, 600, "study"),  # dbert starts from it, as in the study
    "dbert": ({"diffusion.objective": "diffusionbert", "diffusion.schedule": "spindle", "diffusion.T": 1000,
               "init.from": "mlm"}, 600, "study"),
    "bd3lm-4": ({"diffusion.objective": "bd3lm", "diffusion.block_size": 4, "diffusion.clip_search": "true",
                 "train.eval_every": 200, "train.val_batches": 4}, 300, "study"),
    "confident": ({"diffusion.objective": "mdlm", "train.eval_every": 1000, "train.val_batches": 1}, 400, "confident"),
    "mdlm-long": ({"diffusion.objective": "mdlm", "model.max_length": 1032, "data.mode": "wrap", "data.length": 1024,
                   "train.batch_size": 2, "train.eval_every": 1000, "train.val_batches": 1, "train.warmup_steps": 10},
                  80, "study"),
}
TAUS = [0.5, 0.7, 0.9, 0.95]
FACTORS = [0.5, 1, 2]
CACHES = ["none", "prefix", "dual"]


def grid(quick):
    """(model, run name, length, num, sample flags) of every decoder measured."""
    runs = []
    L = 64
    steps = [16, 64] if quick else [16, 64, 256, 512]
    for m in ["mdlm", "bd3lm-4", "dbert"]:
        for s in steps:
            runs.append((m, f"ancestral-{s}", L, None, ["--sampler", "ancestral", "--steps", s]))
        runs.append((m, "first_hitting", L, None, ["--sampler", "first_hitting", "--steps", L]))
        runs.append((m, "confidence", L, None, ["--sampler", "confidence", "--steps", L]))
        for tau in TAUS:
            runs.append((m, f"threshold-{tau}", L, None, ["--sampler", "confidence", "--unmask", "threshold",
                                                          "--threshold", tau]))
        for f in FACTORS:
            runs.append((m, f"factor-{f}", L, None, ["--sampler", "confidence", "--unmask", "factor", "--factor", f]))
    runs.append(("mdlm", "cached-512", L, None, ["--sampler", "cached", "--steps", 64 if quick else 512]))
    for T in ([32, 64] if quick else [32, 64, 128, 256]):  # ReMDM: T = L/2 … 4L
        runs.append(("mdlm", f"remdm-{T}", L, None, ["--sampler", "remdm", "--remdm", "cap", "--steps", T]))
    # Fast-dLLM: blocks of 16 (semi_ar) with the cache none / prefix / dual.
    for cache in CACHES:
        blocks = ["--sampler", "semi_ar", "--inner", "confidence", "--block-size", 16, "--cache", cache]
        runs.append(("mdlm", f"blocks-{cache}-confidence", L, None, blocks + ["--steps", L]))
        for tau in TAUS:
            runs.append(("mdlm", f"blocks-{cache}-threshold-{tau}", L, None,
                         blocks + ["--unmask", "threshold", "--threshold", tau]))
        for f in FACTORS:
            runs.append(("mdlm", f"blocks-{cache}-factor-{f}", L, None, blocks + ["--unmask", "factor", "--factor", f]))
    # Theorem 1: greedy one-token-per-step confidence decoding against threshold / factor on the confident model.
    greedy = ["--temperature", 0, "--sampler", "confidence"]
    runs.append(("confident", "greedy-one-per-step", L, None, greedy + ["--steps", L - 1]))
    for tau in TAUS:
        runs.append(("confident", f"greedy-threshold-{tau}", L, None, greedy + ["--unmask", "threshold",
                                                                              "--threshold", tau]))
    for f in FACTORS:
        runs.append(("confident", f"greedy-factor-{f}", L, None, greedy + ["--unmask", "factor", "--factor", f]))
    # Long sequences: 8 steps per block of 32 at L = 256 and 1024, and threshold decoding at L = 256 (at
    # L = 1024 the weak long model reveals about one token per call: 1,000 uncached calls of 1,024 positions
    # are more than this CPU study affords), each with cache none / prefix / dual.
    for length, num in ([(256, 2)] if quick else [(256, 4), (1024, 2)]):
        for cache in CACHES:
            runs.append(("mdlm-long", f"L{length}-blocks32-{cache}", length, num,
                         ["--sampler", "semi_ar", "--inner", "confidence", "--block-size", 32, "--cache", cache,
                          "--steps", length // 4]))
            if length > 256:
                continue
            for rule, values in [("threshold", TAUS), ("factor", FACTORS)]:
                for v in values:
                    runs.append(("mdlm-long", f"L{length}-blocks32-{cache}-{rule}-{v}", length, num,
                                 ["--sampler", "semi_ar", "--inner", "confidence", "--block-size", 32, "--cache", cache,
                                  "--unmask", rule, f"--{rule}", v]))
    return runs


class Frontier(Study):
    def confident_data(self):
        """16 fortunes, memorised: the data of the `confident` row."""
        data = self.out / "confident-data"
        if not (data / "meta.json").exists():
            docs = [l for l in (self.out / "test-refs.txt").read_text().splitlines() if 20 < len(l) < 120][:16]
            text = self.out / "confident.txt"
            text.write_text("".join(d + "\n" for d in docs))
            self.run([self.unmask, "--log-level", "warn", "data", "prepare", "--input", text, "--format", "lines",
                      "--tokenizer", self.out / "tokenizer", "--out", data, "--val-fraction", "0",
                      "--test-fraction", "0", "--overwrite"])
        return data

    def mauve_refs(self):
        """The first 256 test documents: MAUVE's reference texts (each run featurises them again)."""
        refs = self.out / "mauve-refs.txt"
        if not refs.exists():
            lines = (self.out / "test-refs.txt").read_text().splitlines()[:256]
            refs.write_text("".join(l + "\n" for l in lines))
        return refs

    def train_model(self, name):
        sets, steps, data = MODELS[name]
        run_dir = self.out / name
        done = run_dir / "trainer.done"
        if not done.exists():
            overrides = dict(sets)
            overrides["data.path"] = str(self.out / "data" if data == "study" else self.confident_data())
            overrides["train.max_steps"] = max(10, steps // 20) if self.args.quick else steps
            overrides["train.checkpoint_every"] = overrides["train.max_steps"]
            if "init.from" in overrides:  # a row of MODELS, trained first
                overrides["init.from"] = str(self.out / overrides["init.from"])
            cmd = [self.unmask, "train", "--config", ROOT / "configs" / "study.json", "--out", run_dir]
            for k, v in overrides.items():
                cmd += ["--set", f"{k}={v}"]
            _, line = self.run(cmd, log=self.out / f"{name}.train.log", threads=1)
            done.write_text(line + "\n")

    def measure(self, run):
        model, name, length, num, flags = run
        d = self.out / "runs" / model
        d.mkdir(parents=True, exist_ok=True)
        samples = d / f"{name}.jsonl"
        num = num or self.args.num
        if not samples.exists():
            tmp = samples.with_suffix(".tmp")
            self.run([self.unmask, "--log-level", "warn", "sample", "--checkpoint", self.out / model, "--num", num,
                      "--length", length, "--seed", 1, "--out", tmp, *flags], threads=1)
            tmp.rename(samples)
        rows = [json.loads(l) for l in samples.read_text().splitlines() if l.strip()]
        g = self.json_step(d / f"{name}.genppl.json", [self.unmask, "--log-level", "warn", "eval", "gen-ppl",
                                                       "--samples", samples, "--scorer", self.out / "ar-gpt2",
                                                       "--json"], f"{model}/{name}/gen-ppl", threads=1)
        mauve = None
        if length == 64 and model != "confident":
            # MAUVE featurises texts: a sample that is only EOS has none (eval mauve refuses it).
            texts = d / f"{name}.mauve-samples.jsonl"
            if not texts.exists():
                texts.write_text("".join(json.dumps({"text": r["text"]}) + "\n" for r in rows if r["text"].strip()))
            mv = self.json_step(d / f"{name}.mauve.json", [self.unmask, "--log-level", "warn", "eval", "mauve",
                                                            "--samples", texts, "--refs", self.mauve_refs(),
                                                            "--scorer", self.out / "ar-gpt2", "--json"],
                                f"{model}/{name}/mauve", threads=1)
            mauve = mv["mauve"]
        logs = [math.log(s["ppl"]) for s in g["per_sample"] if s["ppl"] > 0]
        se = statistics.stdev(logs) / math.sqrt(len(logs)) if len(logs) > 1 else float("nan")
        r0 = rows[0]
        generated = sum(1 for r in rows for s in r["reveal_step"] if s > 0) / len(rows)
        return {"model": model, "run": name, "length": length, "num": len(rows), "flags": " ".join(map(str, flags)),
                "nfe": r0["nfe"], "seconds": r0["seconds"], "positions": r0.get("positions_computed"),
                "tokens_per_call": generated / max(1, r0["nfe"]),
                "gen_ppl": math.exp(statistics.mean(logs)) if logs else None, "log_gen_ppl_se": se,
                "entropy": g["entropy"], "mauve": mauve, "ids": [r["ids"] for r in rows]}

    def frontier(self):
        self.out.mkdir(parents=True, exist_ok=True)
        self.data()
        self.references()
        futures = {}

        def train_after_init(name):
            init = MODELS[name][0].get("init.from")
            if init:
                futures[init].result()
            self.train_model(name)
        with ThreadPoolExecutor(self.args.lanes) as ex:  # two rows at a time, one thread each
            for n in MODELS:
                futures[n] = ex.submit(train_after_init, n)
            for n in MODELS:
                futures[n].result()
        runs = grid(self.args.quick)
        with ThreadPoolExecutor(self.args.lanes) as ex:
            results = list(ex.map(self.measure, runs))
        self.report(results)

    def report(self, results):
        by = {(r["model"], r["run"]): r for r in results}
        checks = {}
        one = by[("confident", "greedy-one-per-step")]
        for tau in TAUS:
            t = by[("confident", f"greedy-threshold-{tau}")]
            checks[f"confident threshold {tau}"] = {"identical_text": t["ids"] == one["ids"],
                                                    "call_ratio": one["nfe"] / t["nfe"]}
        for f in FACTORS:
            t = by[("confident", f"greedy-factor-{f}")]
            checks[f"confident factor {f}"] = {"identical_text": t["ids"] == one["ids"],
                                               "call_ratio": one["nfe"] / t["nfe"]}
        for length in sorted({r["length"] for r in results if r["model"] == "mdlm-long"}):
            for tail in [""] + [f"-threshold-{t}" for t in TAUS] + [f"-factor-{x}" for x in FACTORS]:
                if ("mdlm-long", f"L{length}-blocks32-none{tail}") not in by:
                    continue
                base = by[("mdlm-long", f"L{length}-blocks32-none{tail}")]
                for cache in ["prefix", "dual"]:
                    c = by[("mdlm-long", f"L{length}-blocks32-{cache}{tail}")]
                    checks[f"L{length} {cache}{tail}"] = {"speedup": base["seconds"] / c["seconds"],
                                                          "gen_ppl_change": c["gen_ppl"] / base["gen_ppl"] - 1}
        for r in results:
            del r["ids"]
        out = {"results": results, "checks": checks}
        (self.out / "frontier.json").write_text(json.dumps(out, indent=1) + "\n")
        md = ["| model | decoder | L | N | calls | seconds | positions | tokens/call | gen-ppl (± SE of log) | "
              "entropy | MAUVE |", "|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in results:
            mv = "—" if r["mauve"] is None else f"{r['mauve']:.3f}"
            md.append(f"| {r['model']} | {r['run']} | {r['length']} | {r['num']} | {r['nfe']} | {r['seconds']:.2f} | "
                      f"{r['positions']} | {r['tokens_per_call']:.2f} | {r['gen_ppl']:.1f} (± {r['log_gen_ppl_se']:.3f})"
                      f" | {r['entropy']:.3f} | {mv} |")
        md += ["", "| check | result |", "|---|---|"]
        md += [f"| {k} | " + ", ".join(f"{a}: {b:.3f}" if isinstance(b, float) else f"{a}: {b}" for a, b in v.items())
               + " |" for k, v in checks.items()]
        (self.out / "frontier.md").write_text("\n".join(md) + "\n")
        self.plot(results)
        print(f"frontier: {self.out / 'frontier.md'}, {self.out / 'frontier.png'}")

    def plot(self, results):
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
        for model, marker in [("mdlm", "o"), ("bd3lm-4", "s"), ("dbert", "^")]:
            rows = [r for r in results if r["model"] == model and r["length"] == 64]
            for ax, key in zip(axes, ["nfe", "seconds"]):
                xs = [r[key] for r in rows]
                ys = [r["gen_ppl"] for r in rows]
                err = [[y - y * math.exp(-r["log_gen_ppl_se"]) for y, r in zip(ys, rows)],
                       [y * math.exp(r["log_gen_ppl_se"]) - y for y, r in zip(ys, rows)]]
                ax.errorbar(xs, ys, yerr=err, fmt=marker, label=model, alpha=0.8)
                for x, y, r in zip(xs, ys, rows):
                    ax.annotate(r["run"], (x, y), fontsize=5)
        for ax, label in zip(axes, ["network calls", f"seconds ({self.args.num} samples, 1 thread)"]):
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel(label)
            ax.set_ylabel("gen-perplexity (AR scorer), ± 1 SE")
            ax.legend()
        fig.suptitle("unmask decoders on the fortunes study models, L = 64")
        fig.tight_layout()
        fig.savefig(self.out / "frontier.png", dpi=130)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "runs" / "frontier"))
    ap.add_argument("--build-dir", default=os.environ.get("UNMASK_BUILD_DIR", str(ROOT / "build")))
    ap.add_argument("--num", type=int, default=32, help="samples per run at L = 64")
    ap.add_argument("--lanes", type=int, default=2, help="runs at once (one thread each)")
    ap.add_argument("--quick", action="store_true", help="tiny training and grid: checks that every step runs")
    args = ap.parse_args()
    if args.quick:
        args.num = 8
    t0 = time.time()
    Frontier(args).frontier()
    print(f"frontier: done in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
