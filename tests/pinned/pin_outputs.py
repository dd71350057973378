#!/usr/bin/env python3
"""Pins what unmask computes for fixed seeds, so that a refactor can prove it
changed nothing: the weights, EMA, optimizer and RNG files of short training
runs (their SHA-256 in the checkpoint manifest), the logged losses, the
sampled ids of every sampler and option family, and the ELBO perplexity.

    pin_outputs.py UNMASK OUT_DIR            compare with pinned.json
    pin_outputs.py UNMASK OUT_DIR --write    (re)write pinned.json

The data is the fortunes corpus (Debian's `fortunes`) prepared with the
committed tokenizer beside this script (a trained SentencePiece model is not
the same from one training to the next, so it is kept, not retrained). The
values are bitwise on the CPU of one machine kind: another CPU (another BLAS
kernel) may round differently.
"""
import argparse
import hashlib
import json
import pathlib
import shutil
import subprocess
import sys
import zipfile

HERE = pathlib.Path(__file__).resolve().parent
PINNED = HERE / "pinned.json"

# objective -> (backbone, time conditioning, extra diffusion keys)
RUNS = {
    "mdlm": ("dit", "none", {}),
    "ar": ("dit", "none", {}),
    "bd3lm": ("dit", "none", {"block_size": 4}),
    "d3pm": ("bert", "none", {"T": 16}),
}

# (run, name, extra `unmask sample` arguments)
SAMPLES = [
    ("mdlm", "ancestral", ["--sampler", "ancestral"]),
    ("mdlm", "cached", ["--sampler", "cached"]),
    ("mdlm", "first_hitting", ["--sampler", "first_hitting"]),
    ("mdlm", "confidence", ["--sampler", "confidence"]),
    ("mdlm", "confidence_margin_cosine_remask",
     ["--sampler", "confidence", "--confidence", "margin", "--k-schedule", "cosine", "--remask"]),
    ("mdlm", "confidence_entropy", ["--sampler", "confidence", "--confidence", "entropy"]),
    ("mdlm", "semi_ar_ancestral", ["--sampler", "semi_ar", "--block-size", "6"]),
    ("mdlm", "semi_ar_confidence", ["--sampler", "semi_ar", "--inner", "confidence", "--block-size", "6"]),
    ("mdlm", "semi_ar_mdlm_sliding",
     ["--sampler", "semi_ar", "--semi-ar-style", "mdlm", "--block-size", "8", "--length", "48"]),
    ("mdlm", "reverse_filter_top_k", ["--sampler", "ancestral", "--filter", "reverse", "--top-k", "20"]),
    ("mdlm", "temperature_top_p", ["--sampler", "ancestral", "--temperature", "0.8", "--top-p", "0.9"]),
    ("mdlm", "mask_bos_gumbel", ["--sampler", "ancestral", "--mask-bos", "--draw", "gumbel64"]),
    ("mdlm", "infill_template", ["--sampler", "confidence", "--prompt", "The [MASK:4] is [MASK:3] today."]),
    ("mdlm", "no_ema_prompt", ["--sampler", "ancestral", "--no-ema", "--prompt", "You will"]),
    ("ar", "ar", []),
    ("ar", "ar_prompt_no_cache", ["--prompt", "You will", "--no-kv-cache"]),
    ("bd3lm", "bd3lm_ancestral", ["--sampler", "ancestral"]),
    ("bd3lm", "bd3lm_first_hitting", ["--sampler", "first_hitting"]),
    ("bd3lm", "bd3lm_confidence_no_cache", ["--sampler", "confidence", "--no-kv-cache"]),
    ("d3pm", "d3pm_ancestral", ["--sampler", "ancestral"]),
    ("d3pm", "d3pm_semi_ar", ["--sampler", "semi_ar", "--block-size", "8"]),
]

TENSOR_FILES = ["model.safetensors", "ema.safetensors", "rng.safetensors", "optimizer.pt"]


def unmask(binary, *args):
    r = subprocess.run([binary, "--log-level", "warn", *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"pin_outputs: unmask {' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")
    return r.stdout


def config(objective, data):
    backbone, time_cond, extra = RUNS[objective]
    diffusion = {"objective": objective, **extra}
    model = {"backbone": backbone, "hidden": 32, "layers": 2, "heads": 2, "dropout": 0.0, "max_length": 32,
             "time_conditioning": time_cond}
    if backbone == "dit":
        model["cond_dim"] = 16
    return {
        "seed": 5, "model": model, "diffusion": diffusion,
        "data": {"path": str(data), "mode": "pad", "length": 24},
        "train": {"batch_size": 8, "max_steps": 12, "lr": 0.003, "warmup_steps": 2, "ema": 0.9, "log_every": 4,
                  "eval_every": 12, "val_batches": 1, "checkpoint_every": 12, "sample_every": 0, "device": "cpu"},
        "sample": {"num": 3, "length": 24, "steps": 12},
        "eval": {"batch_size": 8, "draws": 2, "max_rows": 16},
    }


def prepare(binary, out):
    files = sorted(str(p) for p in pathlib.Path("/usr/share/games/fortunes").iterdir()
                   if p.is_file() and "." not in p.name)
    if not files:
        sys.exit("pin_outputs: no fortunes in /usr/share/games/fortunes (scripts/setup.sh installs them)")
    unmask(binary, "data", "prepare", "--input", *files, "--format", "docs", "--doc-separator", "percent",
           "--tokenizer", str(HERE / "tokenizer"), "--out", str(out / "data"), "--val-fraction", "0.05",
           "--shard-tokens", "200000")
    return out / "data"


def measure(binary, out):
    data = prepare(binary, out)
    result = {"tokenizer": json.loads((HERE / "tokenizer" / "tokenizer.json").read_text())["fingerprint"],
              "data": sorted([p.name, hashlib.sha256(p.read_bytes()).hexdigest()] for p in data.rglob("*.bin")),
              "runs": {}, "samples": {}}
    runs = {}
    for objective in RUNS:
        cfg = out / f"{objective}.json"
        cfg.write_text(json.dumps(config(objective, data)))
        run = out / objective
        unmask(binary, "train", "--config", str(cfg), "--out", str(run))
        ckpt = run / "checkpoints" / (run / "checkpoints" / "latest").read_text().strip()
        manifest = json.loads((ckpt / "manifest.json").read_text())
        files = manifest["files"]
        hashes = {name: files[name]["sha256"] for name in TENSOR_FILES if name in files}
        # torch::save writes the optimizer's tensors in an order that varies from
        # run to run: pin the multiset of their contents.
        with zipfile.ZipFile(ckpt / "optimizer.pt") as z:
            blobs = sorted(hashlib.sha256(z.read(n)).hexdigest() for n in z.namelist() if "/data/" in n)
        hashes["optimizer.pt"] = hashlib.sha256("".join(blobs).encode()).hexdigest()
        losses = []
        for line in (run / "metrics.jsonl").read_text().splitlines():
            m = json.loads(line)
            losses.append({k: v for k, v in m.items() if k in ("step", "split", "loss", "nelbo", "grad_norm", "lr")})
        ppl = json.loads(unmask(binary, "eval", "ppl", "--checkpoint", str(run), "--json"))
        result["runs"][objective] = {"sha256": hashes, "metrics": losses,
                                     "eval_ppl": {k: ppl.get(k) for k in ("ppl", "nelbo_per_token", "tokens")}}
        runs[objective] = run
    for run, name, extra in SAMPLES:
        jsonl = out / f"{name}.jsonl"
        unmask(binary, "sample", "--checkpoint", str(runs[run]), "--seed", "9", "--out", str(jsonl), *extra)
        rows = [json.loads(line) for line in jsonl.read_text().splitlines()]
        result["samples"][name] = [{"ids": r["ids"], "nfe": r["nfe"], "reveal_step": r["reveal_step"]} for r in rows]
    return result


def differences(want, got, path=""):
    if isinstance(want, dict) and isinstance(got, dict):
        for k in sorted(set(want) | set(got)):
            if k not in got or k not in want:
                yield f"{path}/{k}: {'missing now' if k not in got else 'new'}"
            else:
                yield from differences(want[k], got[k], f"{path}/{k}")
    elif isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        for i, (a, b) in enumerate(zip(want, got)):
            yield from differences(a, b, f"{path}[{i}]")
    elif want != got:
        yield f"{path}: pinned {json.dumps(want)[:120]}, now {json.dumps(got)[:120]}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("unmask")
    ap.add_argument("out", type=pathlib.Path)
    ap.add_argument("--write", action="store_true", help="write pinned.json instead of comparing with it")
    a = ap.parse_args()
    shutil.rmtree(a.out, ignore_errors=True)
    a.out.mkdir(parents=True)
    got = measure(a.unmask, a.out)
    if a.write:
        PINNED.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
        print(f"wrote {PINNED}: {len(got['runs'])} runs, {len(got['samples'])} sample sets")
        return
    want = json.loads(PINNED.read_text())
    if want["data"] != got["data"]:
        sys.exit("pin_outputs: the prepared fortunes data differ from when the values were pinned "
                 "(another fortunes package?); nothing else can match")
    diff = list(differences(want, got))
    for d in diff[:40]:
        print("DIFF", d)
    if diff:
        sys.exit(f"pin_outputs: {len(diff)} values differ from tests/pinned/pinned.json")
    print(f"PASS: {len(got['runs'])} runs and {len(got['samples'])} sample sets as pinned")


if __name__ == "__main__":
    main()
