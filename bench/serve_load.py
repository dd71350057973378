#!/usr/bin/env python3
"""`unmask serve` under load, side by side with the offline ways to get the
same samples, in one run on one machine:

  sequential  one `unmask sample` process per request, one after another
  batched     one `unmask sample --num R` process for all R requests at once
  serve@C     R requests against one `unmask serve`, C clients at a time
              (C = 1, 4, 16), through the official openai client

Every way generates the same number of tokens (R requests × max_tokens
positions, no prompt, steps fixed). Reported: tokens/s, p50 and p99 request
latency (serve), and the ratios the goal names: serve@16 against batched
(goal ≥ 0.9) and against sequential (goal ≥ 4).

With --mixed, the requests' max_tokens vary over four lengths (max_tokens,
−1/8, −2/8, −3/8), and only serve@16 runs, twice: as is (calls of one length
per forward) and with --pad-lengths (lengths padded into shared forwards).

  bench/serve_load.py [--checkpoint RUN] [--requests 16] [--max-tokens 48]
                      [--steps 48] [--out runs/serve-load] [--hidden 128 --layers 2]
                      [--mixed]

Without --checkpoint it trains a small MDLM on the fortunes (a few minutes on
two cores). Needs the openai package (scripts/setup.sh installs it).
"""
import argparse
import concurrent.futures
import json
import pathlib
import re
import statistics
import subprocess
import sys
import time

import openai

ROOT = pathlib.Path(__file__).resolve().parents[1]


def train(unmask, out, hidden, layers):
    run = out / "model"
    if (run / "checkpoints").exists():
        return run
    data = out / "data"
    fortunes = sorted(p for p in pathlib.Path("/usr/share/games/fortunes").iterdir() if p.is_file() and "." not in p.name)
    if not (data / "meta.json").exists():
        subprocess.run([unmask, "--log-level", "warn", "tokenizer", "train", "--input", *map(str, fortunes), "--format",
                        "docs", "--doc-separator", "percent", "--vocab-size", "2000", "--model-type", "unigram", "--out",
                        str(out / "tokenizer")], check=True)
        subprocess.run([unmask, "--log-level", "warn", "data", "prepare", "--input", *map(str, fortunes), "--format",
                        "docs", "--doc-separator", "percent", "--tokenizer", str(out / "tokenizer"), "--out", str(data),
                        "--val-fraction", "0.05"], check=True, stdout=subprocess.DEVNULL)
    config = out / "model.json"
    config.write_text(json.dumps({
        "seed": 1,
        "model": {"backbone": "dit", "hidden": hidden, "layers": layers, "heads": 4, "cond_dim": 64, "dropout": 0.0,
                  "max_length": 128},
        "diffusion": {"objective": "mdlm"},
        "data": {"path": str(data), "mode": "wrap", "length": 128},
        "train": {"batch_size": 16, "max_steps": 200, "lr": 0.002, "warmup_steps": 10, "log_every": 50,
                  "eval_every": 200, "val_batches": 1, "checkpoint_every": 200, "sample_every": 0, "device": "cpu"}}))
    subprocess.run([unmask, "--log-level", "warn", "train", "--config", str(config), "--out", str(run)], check=True)
    return run


def sample_cmd(unmask, run, num, seed, length, steps):
    return [unmask, "--log-level", "warn", "sample", "--checkpoint", str(run), "--num", str(num), "--seed", str(seed),
            "--length", str(length), "--steps", str(steps), "--device", "cpu", "--sampler", "ancestral"]


def offline(unmask, run, args):
    length = 1 + args.max_tokens
    t0 = time.monotonic()
    for i in range(args.requests):
        subprocess.run(sample_cmd(unmask, run, 1, i, length, args.steps), check=True, stdout=subprocess.DEVNULL)
    sequential = time.monotonic() - t0
    out = pathlib.Path(args.out) / "batched.jsonl"
    t0 = time.monotonic()
    subprocess.run(sample_cmd(unmask, run, args.requests, 0, length, args.steps) + ["--out", str(out)], check=True)
    batched = time.monotonic() - t0
    # The sampling alone, without the process start and the model load.
    sampling = json.loads(out.read_text().splitlines()[0])["seconds"]
    return sequential, batched, sampling


def max_tokens_of(args, i):
    return args.max_tokens - (i % 4) * (args.max_tokens // 8) if args.mixed else args.max_tokens


def serve(unmask, run, args, clients, extra=()):
    proc = subprocess.Popen([unmask, "--log-level", "warn", "serve", "--checkpoint", str(run), "--port", "0",
                             "--device", "cpu", "--max-batch", str(max(16, args.requests)), *extra],
                            stdout=subprocess.PIPE, text=True)
    try:
        m = re.search(r"http://([\d.]+):(\d+) \(model (.+)\)", proc.stdout.readline())
        url, model = f"http://{m.group(1)}:{m.group(2)}/v1", m.group(3)
        client = openai.OpenAI(base_url=url, api_key="none", max_retries=0, timeout=600)
        client.completions.create(model=model, prompt="", max_tokens=4, extra_body={"steps": 2})  # warm-up

        def one(i):
            t = time.monotonic()
            r = client.completions.create(model=model, prompt="", max_tokens=max_tokens_of(args, i), seed=i,
                                          extra_body={"steps": args.steps, "sampler": "ancestral"})
            return time.monotonic() - t, r.usage.completion_tokens

        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(clients) as pool:
            results = list(pool.map(one, range(args.requests)))
        wall = time.monotonic() - t0
        metrics = {}
        import urllib.request
        for line in urllib.request.urlopen(url.replace("/v1", "/metrics"), timeout=30).read().decode().splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                metrics[name] = float(value)
        return wall, [r[0] for r in results], sum(r[1] for r in results), metrics
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def percentile(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def mixed(args, out, run):
    lengths = sorted({max_tokens_of(args, i) for i in range(args.requests)})
    lines = [f"R = {args.requests} requests × max_tokens {lengths}, {args.steps} steps, ancestral, CPU, 16 clients; "
             f"`{' '.join(sys.argv)}`", "",
             "| server | wall s | tokens/s | p50 s | p99 s | largest batch | forwards / requests' calls | "
             "padding positions |", "|---|---|---|---|---|---|---|---|"]
    rate = {}
    for name, extra in (("unmask serve", ()), ("unmask serve --pad-lengths", ("--pad-lengths",))):
        wall, latencies, tokens, m = serve(args.unmask, run, args, 16, extra)
        rate[name] = tokens / wall
        lines.append(f"| {name} | {wall:.2f} | {tokens / wall:.1f} | {percentile(latencies, 0.5):.2f} | "
                     f"{percentile(latencies, 0.99):.2f} | {m['unmask_batch_rows_max']:.0f} | "
                     f"{m['unmask_network_calls_total']:.0f} / {m['unmask_request_network_calls_total']:.0f} | "
                     f"{m['unmask_padding_positions_total']:.0f} |")
    lines += ["", f"--pad-lengths / as is, tokens/s: **{rate['unmask serve --pad-lengths'] / rate['unmask serve']:.2f}**"]
    report = "\n".join(lines) + "\n"
    (out / "serve_load_mixed.md").write_text(report)
    print(report)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--unmask", default=str(ROOT / "build" / "unmask"))
    ap.add_argument("--checkpoint")
    ap.add_argument("--requests", type=int, default=16)
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--steps", type=int, default=48)
    ap.add_argument("--out", default=str(ROOT / "runs" / "serve-load"))
    ap.add_argument("--hidden", type=int, default=128, help="the trained model's width (without --checkpoint)")
    ap.add_argument("--layers", type=int, default=2, help="and its depth")
    ap.add_argument("--mixed", action="store_true", help="four max_tokens lengths; serve@16 with and without "
                                                         "--pad-lengths only")
    args = ap.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    run = pathlib.Path(args.checkpoint) if args.checkpoint else train(args.unmask, out, args.hidden, args.layers)
    if args.mixed:
        return mixed(args, out, run)
    tokens = args.requests * args.max_tokens
    sequential, batched, sampling = offline(args.unmask, run, args)
    rows = [("sequential `unmask sample` processes", sequential, None, None, None),
            ("one batched `unmask sample --num R`", batched, None, None, None),
            ("the same, its sampling alone (no start-up)", sampling, None, None, None)]
    serve_rate = {}
    for clients in (1, 4, 16):
        wall, latencies, served_tokens, metrics = serve(args.unmask, run, args, clients)
        serve_rate[clients] = served_tokens / wall
        rows.append((f"unmask serve, {clients} clients", wall, percentile(latencies, 0.5), percentile(latencies, 0.99),
                     metrics))
    lines = [f"R = {args.requests} requests × {args.max_tokens} tokens, {args.steps} steps, ancestral, CPU; "
             f"`{' '.join(sys.argv)}`", "",
             "| way | wall s | tokens/s | p50 s | p99 s | largest batch | forwards / requests' calls |",
             "|---|---|---|---|---|---|---|"]
    for name, wall, p50, p99, metrics in rows:
        extra = (f"{metrics['unmask_batch_rows_max']:.0f} | {metrics['unmask_network_calls_total']:.0f} / "
                 f"{metrics['unmask_request_network_calls_total']:.0f}") if metrics else "– | –"
        lines.append(f"| {name} | {wall:.2f} | {tokens / wall:.1f} | {'–' if p50 is None else f'{p50:.2f}'} | "
                     f"{'–' if p99 is None else f'{p99:.2f}'} | {extra} |")
    ratio_batched = serve_rate[16] / (tokens / batched)
    ratio_sampling = serve_rate[16] / (tokens / sampling)
    ratio_sequential = serve_rate[16] / (tokens / sequential)
    lines += ["", f"serve@16 / batched offline process: **{ratio_batched:.2f}** (goal ≥ 0.9); against its sampling "
                  f"alone: **{ratio_sampling:.2f}**; serve@16 / sequential processes: **{ratio_sequential:.1f}×** "
                  "(goal ≥ 4×)"]
    report = "\n".join(lines) + "\n"
    (out / "serve_load.md").write_text(report)
    print(report)


if __name__ == "__main__":
    main()
