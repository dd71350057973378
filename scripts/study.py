#!/usr/bin/env python3
"""The small-scale reproduction study (docs/RESULTS.md), end to end on the CPU.

One corpus (Debian's fortunes, train/val/test), one tokenizer, one BERT
backbone (configs/study.json, 4.2M parameters) and one token budget for every
row; each row changes only what its paper changes (objective, schedule, time
injection, initialisation, block size). Then every row is evaluated the same
way (ELBO perplexity with its standard error, BLEU and self-BLEU with the
DiffusionBERT protocol, gen-perplexity under the study's own AR model,
entropy, 64 samples), the best diffusion model and BD3-LM are sampled at
8/32/128/512 steps, and float32 vs float64 categorical draws are compared.

Every step is a plain `unmask` command, printed before it runs and recorded in
OUT/provenance.json next to the file its numbers come from. A step whose
output exists is skipped, so an interrupted study continues where it stopped
(--fresh starts over). Rows train two at a time with one thread each, which
is 1.4x the throughput of one two-thread process on two cores.

  scripts/study.sh                     # everything, then docs/RESULTS.md
  scripts/study.sh --quick --out /tmp/s   # a 5-minute smoke run of every step
"""
import argparse
import json
import os
import shlex
import shutil
import struct
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# name, paper row, --set overrides on configs/study.json, row it is initialised from
ROWS = [
    ("ar", "AR (the scorer of gen-perplexity)", {"diffusion.objective": "ar"}, None),
    ("mdlm", "MDLM, continuous time", {"diffusion.objective": "mdlm"}, None),
    ("mdlm-t1000", "MDLM, T = 1000", {"diffusion.objective": "mdlm", "diffusion.T": 1000}, None),
    ("d3pm", "D3PM absorbing, T = 1000",
     {"diffusion.objective": "d3pm", "diffusion.schedule": "d3pm", "diffusion.T": 1000}, None),
    ("mlm", "MLM (BERT's 15 % masking) as a diffusion model", {"diffusion.objective": "mlm"}, None),
    ("dbert", "DiffusionBERT: spindle, no time injection, MLM init",
     {"diffusion.objective": "diffusionbert", "diffusion.schedule": "spindle", "diffusion.T": 1000}, "mlm"),
    ("dbert-scratch", "DiffusionBERT from scratch",
     {"diffusion.objective": "diffusionbert", "diffusion.schedule": "spindle", "diffusion.T": 1000}, None),
    ("dbert-d3pm-schedule", "DiffusionBERT with D3PM's schedule (no spindle), MLM init",
     {"diffusion.objective": "d3pm", "diffusion.schedule": "d3pm", "diffusion.T": 1000}, "mlm"),
    ("dbert-layerwise", "DiffusionBERT, layerwise time injection, MLM init",
     {"diffusion.objective": "diffusionbert", "diffusion.schedule": "spindle", "diffusion.T": 1000,
      "model.time_conditioning": "layerwise"}, "mlm"),
    ("dbert-prefix", "DiffusionBERT, prefix time token, MLM init",
     {"diffusion.objective": "diffusionbert", "diffusion.schedule": "spindle", "diffusion.T": 1000,
      "model.time_conditioning": "prefix"}, "mlm"),
    ("roberta-diffusion", "RoBERTa-diffusion (ratios 1.0 .. 0.1)", {"diffusion.objective": "roberta_diffusion"}, None),
    ("bd3lm-4", "BD3-LM, L' = 4",
     {"diffusion.objective": "bd3lm", "diffusion.block_size": 4, "diffusion.clip_search": "true",
      "train.eval_every": 200, "train.val_batches": 4}, None),
    ("bd3lm-16", "BD3-LM, L' = 16",
     {"diffusion.objective": "bd3lm", "diffusion.block_size": 16, "diffusion.clip_search": "true",
      "train.eval_every": 200, "train.val_batches": 4}, None),
]
DISCRETE = {n for n, _, s, _ in ROWS if int(s.get("diffusion.T", 0)) > 0}
SWEEP_STEPS = [8, 32, 128, 512]
PPL_SEEDS = [1, 2, 3]   # discrete-time bounds: one mask draw per step, so the SE comes from three seeds
PPL_DRAWS = 16          # continuous-time bounds (MDLM, BD3-LM): Monte-Carlo rounds over t
CONTINUOUS = {n for n, _, s, _ in ROWS if s["diffusion.objective"] in ("mdlm", "bd3lm") and n not in DISCRETE}
EVAL_ROWS = 384
DRAWS = ["gumbel32", "gumbel64", "exact"]
DRAW_STEPS = 512        # steps of the draw comparison (a reverse step's tokens get ~1/512 of their x0 mass)


class Study:
    def __init__(self, args):
        self.args = args
        self.out = Path(args.out).resolve()
        self.unmask = str(Path(args.build_dir).resolve() / "unmask")
        self.prov = {}
        self.lock = threading.Lock()
        self.t0 = time.time()

    # -- running commands -------------------------------------------------------------------
    def run(self, cmd, log=None, threads=None, capture=False, quiet=False):
        env = dict(os.environ)
        if threads:
            env["OMP_NUM_THREADS"] = str(threads)
        line = " ".join(shlex.quote(str(c)) for c in cmd)
        if not quiet:
            with self.lock:
                print(f"[{time.time() - self.t0:7.0f}s] $ {line}", flush=True)
        if log:
            with open(log, "w") as f:
                r = subprocess.run([str(c) for c in cmd], env=env, stdout=subprocess.PIPE if capture else f,
                                   stderr=f, text=True)
        else:
            r = subprocess.run([str(c) for c in cmd], env=env, stdout=subprocess.PIPE if capture else None,
                               text=True)
        if r.returncode != 0:
            raise SystemExit(f"study: command failed ({r.returncode}): {line}" + (f" (log: {log})" if log else ""))
        return (r.stdout if capture else None), line

    def json_step(self, out_file, cmd, key, threads=None):
        """Runs cmd (printing one JSON object) unless out_file exists; records provenance under key."""
        out_file = Path(out_file)
        line = " ".join(shlex.quote(str(c)) for c in cmd)
        if not out_file.exists():
            stdout, line = self.run(cmd, threads=threads, capture=True)
            tmp = out_file.with_suffix(".tmp")
            tmp.write_text(stdout)
            json.loads(stdout)  # a command that printed no JSON fails here, before the rename
            tmp.rename(out_file)
        with self.lock:
            self.prov[key] = {"command": line, "file": str(out_file.relative_to(self.out))}
        return json.loads(out_file.read_text())

    # -- the steps --------------------------------------------------------------------------
    def data(self):
        corpus = sorted(p for p in Path("/usr/share/games/fortunes").iterdir()
                        if p.is_file() and "." not in p.name)
        if not corpus:
            raise SystemExit("study: no fortunes corpus in /usr/share/games/fortunes (apt-get install fortunes)")
        fmt = ["--format", "docs", "--doc-separator", "percent"]
        if not (self.out / "tokenizer").exists():  # unmask writes it atomically
            self.run([self.unmask, "--log-level", "warn", "tokenizer", "train", "--input", *corpus, *fmt,
                      "--vocab-size", "4000", "--out", self.out / "tokenizer"])
        self.prov["tokenizer"] = {"command": "unmask tokenizer train --vocab-size 4000 (unigram) on the fortunes",
                                  "file": "tokenizer"}
        self.json_step(self.out / "data.json",
                       [self.unmask, "--log-level", "warn", "data", "prepare", "--input", *corpus, *fmt,
                        "--tokenizer", self.out / "tokenizer", "--out", self.out / "data",
                        "--val-fraction", "0.05", "--test-fraction", "0.05", "--seed", "0", "--json"], "data")

    def train(self, name):
        _, _, sets, init = dict((r[0], r) for r in ROWS)[name]
        run_dir = self.out / name
        done = run_dir / "trainer.done"
        if not done.exists():
            shutil.rmtree(run_dir, ignore_errors=True)
            overrides = dict(sets)
            overrides["data.path"] = str(self.out / "data")
            overrides["train.max_steps"] = self.args.steps
            overrides["train.checkpoint_every"] = self.args.steps
            if self.args.quick:
                overrides["train.eval_every"] = max(1, self.args.steps // 2)
                overrides["sample.num"] = self.args.num
                overrides["sample.steps"] = 8
                overrides["train.val_batches"] = 1
            if init:
                overrides["init.from"] = str(self.out / init)
            cmd = [self.unmask, "train", "--config", ROOT / "configs" / "study.json", "--out", run_dir]
            for k, v in overrides.items():
                cmd += ["--set", f"{k}={v}"]
            run_dir.parent.mkdir(parents=True, exist_ok=True)
            log = self.out / f"{name}.train.log"
            _, line = self.run(cmd, log=log, threads=1)
            done.write_text(line + "\n")
        with self.lock:
            self.prov[f"{name}/train"] = {"command": done.read_text().strip(), "file": f"{name}/metrics.jsonl"}

    def evaluate(self, name):
        run_dir = self.out / name
        # The first EVAL_ROWS test documents for every row: a discrete-time bound costs T/stride network
        # calls per batch and three seeds, which the whole split (771) would make the longest step.
        common = ["--checkpoint", run_dir, "--split", "test", "--max-rows", 64 if self.args.quick else EVAL_ROWS]
        report = self.json_step(run_dir / "eval-all.json",
                                [self.unmask, "--log-level", "warn", "eval", "all", *common,
                                 "--scorer", self.out / "ar", "--out", run_dir / "eval", "--json"],
                                f"{name}/eval", threads=1)
        if name in CONTINUOUS:
            # eval all's 4 rounds over t leave MDLM's bound with an SE of ~0.06 nats here; 16 rounds halve it.
            self.json_step(run_dir / f"ppl-draws{PPL_DRAWS}.json",
                           [self.unmask, "--log-level", "warn", "eval", "ppl", *common, "--draws", PPL_DRAWS, "--json"],
                           f"{name}/ppl-draws{PPL_DRAWS}", threads=1)
        if name in DISCRETE:
            for seed in PPL_SEEDS[1:]:
                self.json_step(run_dir / f"ppl-seed{seed}.json",
                               [self.unmask, "--log-level", "warn", "eval", "ppl", *common, "--seed", seed, "--json"],
                               f"{name}/ppl-seed{seed}", threads=1)
        return report

    def references(self):
        """The test documents as BLEU references, one per line, whitespace collapsed (test-refs.txt)."""
        refs = self.out / "test-refs.txt"
        if not refs.exists():
            meta = json.loads((self.out / "data" / "meta.json").read_text())
            lines = []
            for shard in meta["splits"]["test"]["shards"]:
                raw = (self.out / "data" / shard).read_bytes()
                width = struct.unpack_from("<I", raw, 12)[0]
                n_tokens, n_docs = struct.unpack_from("<QQ", raw, 24)
                ids = struct.unpack_from(f"<{n_tokens}{'H' if width == 2 else 'I'}", raw, 256)
                index_at = 256 + (n_tokens * width + 7) // 8 * 8
                offsets = struct.unpack_from(f"<{n_docs + 1}Q", raw, index_at)
                for d in range(n_docs):
                    doc = " ".join(str(i) for i in ids[offsets[d]:offsets[d + 1]])
                    text, _ = self.run([self.unmask, "tokenizer", "decode", "--tokenizer", self.out / "tokenizer",
                                        "--text", doc], capture=True, quiet=True)
                    lines.append(" ".join(text.split()))
            tmp = refs.with_suffix(".tmp")
            tmp.write_text("\n".join(lines) + "\n")
            tmp.rename(refs)
        self.prov["test-refs"] = {"command": "unmask tokenizer decode of every test document, whitespace collapsed",
                                  "file": "test-refs.txt"}
        return refs

    def bleu2(self, name):
        """BLEU-2 and self-BLEU-2 (DiffusionBERT protocol) of a row's evaluation samples, whitespace collapsed."""
        run_dir = self.out / name
        hyps = run_dir / "eval-hyps.txt"
        if not hyps.exists():
            texts = [json.loads(l)["text"] for l in (run_dir / "eval" / "eval-samples.jsonl").read_text().splitlines()
                     if l.strip()]
            hyps.write_text("".join(" ".join(t.split()) + "\n" for t in texts))
        common = [self.unmask, "--log-level", "warn", "eval", "bleu", "--hyps", hyps, "--protocol", "diffusionbert",
                  "--max-order", "2", "--json"]
        self.json_step(run_dir / "bleu2.json", common + ["--refs", self.out / "test-refs.txt"], f"{name}/bleu2")
        self.json_step(run_dir / "self-bleu2.json", common + ["--self"], f"{name}/self-bleu2")

    def sweep(self, name, steps_list, tag="steps", extra=()):
        run_dir = self.out / name
        for steps in steps_list:
            key = f"{name}/{tag}{steps}"
            samples = run_dir / f"{tag}{steps}.jsonl"
            if not samples.exists():
                tmp = samples.with_suffix(".tmp")
                self.run([self.unmask, "--log-level", "warn", "sample", "--checkpoint", run_dir, "--steps", steps,
                          "--num", self.args.num, "--out", tmp, *extra], threads=1)
                tmp.rename(samples)
            self.json_step(run_dir / f"{tag}{steps}.genppl.json",
                           [self.unmask, "--log-level", "warn", "eval", "gen-ppl", "--samples", samples,
                            "--scorer", self.out / "ar", "--json"], key, threads=1)

    # -- orchestration ----------------------------------------------------------------------
    def pool(self, fn, names):
        with ThreadPoolExecutor(self.args.lanes) as ex:
            for f in [ex.submit(fn, n) for n in names]:
                f.result()

    def main(self):
        self.out.mkdir(parents=True, exist_ok=True)
        self.data()
        # Two at a time, longest first: the MLM row (others start from it), BD3-LM (twice the work per
        # step), the rows initialised from MLM (they wait for it), then the rest.
        order = ["mlm", "bd3lm-4", "bd3lm-16"] + [n for n, _, _, init in ROWS if init] + \
                [n for n, _, _, init in ROWS if not init and n not in ("mlm", "bd3lm-4", "bd3lm-16")]
        futures = {}
        inits = {n: init for n, _, _, init in ROWS}

        def train_after_init(n):
            if inits[n]:
                futures[inits[n]].result()
            self.train(n)
        with ThreadPoolExecutor(self.args.lanes) as ex:
            for n in order:
                futures[n] = ex.submit(train_after_init, n)
            for n in order:
                futures[n].result()
        evals = {}

        def ev(n):
            evals[n] = self.evaluate(n)
        self.pool(ev, [r[0] for r in ROWS])
        # BLEU-4 of models this small is ~0 for every row (no 4-gram of 64 samples is in 771 short
        # documents); BLEU-2 on the same samples and references still ranks them.
        self.references()
        self.pool(self.bleu2, [r[0] for r in ROWS])
        # The best diffusion model by ELBO perplexity among the rows that have a bound (BD3-LM and AR aside).
        bound = {n: e["ppl"]["ppl"] for n, e in evals.items()
                 if isinstance(e.get("ppl"), dict) and "ppl" in e["ppl"] and not n.startswith(("ar", "bd3lm"))}
        best = min(bound, key=bound.get)
        (self.out / "best.txt").write_text(best + "\n")
        self.prov["best"] = {"command": f"lowest test ELBO perplexity among {sorted(bound)}", "file": "best.txt"}
        self.pool(lambda n: self.sweep(n, SWEEP_STEPS), [best, "bd3lm-4"])
        # Zheng et al.: MDLM's reverse step with [MASK] as an outcome (--filter reverse), many steps, and the
        # categorical draw by Gumbel-max in float32 vs float64 (and unmask's exact inverse CDF).
        draw_steps = 64 if self.args.quick else DRAW_STEPS
        self.pool(lambda d: self.sweep("mdlm", [draw_steps], tag=f"draw-{d}-",
                                       extra=["--sampler", "cached", "--filter", "reverse", "--draw", d]),
                  DRAWS)
        (self.out / "provenance.json").write_text(json.dumps(self.prov, indent=1, sort_keys=True) + "\n")
        print(f"study: done in {time.time() - self.t0:.0f} s; numbers and the commands behind them: "
              f"{self.out / 'provenance.json'}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "runs" / "study"))
    ap.add_argument("--build-dir", default=os.environ.get("UNMASK_BUILD_DIR", str(ROOT / "build")))
    ap.add_argument("--steps", type=int, default=600, help="training steps of every row (batch 32 x 64 tokens)")
    ap.add_argument("--num", type=int, default=64, help="samples per evaluation")
    ap.add_argument("--lanes", type=int, default=2, help="rows trained and evaluated at once (one thread each)")
    ap.add_argument("--quick", action="store_true",
                    help="20 steps, 8 samples, 64 test rows, 64-step draw comparison: checks that every step runs")
    ap.add_argument("--fresh", action="store_true", help="delete --out first")
    args = ap.parse_args()
    if args.quick:
        args.steps, args.num = 20, 8
    if args.fresh:
        shutil.rmtree(args.out, ignore_errors=True)
    Study(args).main()


if __name__ == "__main__":
    main()
