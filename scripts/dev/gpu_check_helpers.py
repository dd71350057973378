#!/usr/bin/env python3
"""Small readers for scripts/gpu_check.sh: metrics.jsonl, sample JSONL and
JSON outputs of unmask, and a .deb unpacker for machines without dpkg.
Each subcommand prints one line; checks exit 1 when they fail.

    gpu_check_helpers.py loss-falls METRICS            # median train loss falls by >= 10 %
    gpu_check_helpers.py resume-diff STRAIGHT RESUMED RESUME_STEP [STRAIGHT2]
    gpu_check_helpers.py losses-close A B REL          # same logged steps, losses within REL (relative)
    gpu_check_helpers.py same-ids A.jsonl B.jsonl
    gpu_check_helpers.py agreement A.jsonl B.jsonl     # share of positions with the same token (a measurement)
    gpu_check_helpers.py tokens-per-s METRICS          # mean over the logged intervals but the first
    gpu_check_helpers.py seconds-per-sample F.jsonl
    gpu_check_helpers.py field FILE KEY [KEY...]       # values of keys of a JSON object (or the last JSON line)
    gpu_check_helpers.py unpack-deb DEB DIR            # what `dpkg-deb -x DEB DIR` does
"""
import io
import json
import math
import os
import sys
import tarfile


def train_losses(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    return {r["step"]: r["loss"] for r in rows if r.get("split") == "train"}


def median(values):
    v = sorted(values)
    return (v[(len(v) - 1) // 2] + v[len(v) // 2]) / 2


def loss_falls(path):
    """The median of the last fifth of the logged losses is at least 10 % below
    the first fifth's (medians: MDLM's 1/t weight makes single steps spiky)."""
    losses = [v for _, v in sorted(train_losses(path).items())]
    if len(losses) < 10:
        print(f"only {len(losses)} logged train losses")
        return 1
    k = len(losses) // 5
    first, last = median(losses[:k]), median(losses[-k:])
    ok = all(math.isfinite(v) for v in losses) and last <= 0.9 * first
    print(f"median loss of the first {k} logs {first:.4f} -> last {k} {last:.4f} ({100 * (1 - last / first):.1f} % lower)")
    return 0 if ok else 1


def max_diff(a, b):
    return max(abs(a[s] - b[s]) for s in a)


def resume_diff(straight, resumed, resume_step, straight2=None):
    """Exact equality, or with a second straight run (CUDA), within
    max(1e-5, 4 × the largest difference between the two straight runs)."""
    a, b = train_losses(straight), train_losses(resumed)
    if sorted(a) != sorted(b) or not a:
        print(f"logged steps differ: straight {len(a)} steps, resumed {len(b)} steps")
        return 1
    diffs = {s: abs(a[s] - b[s]) for s in a}
    worst, step = max(diffs.values()), int(resume_step)
    tol, noise = 0.0, ""
    if straight2:
        c = train_losses(straight2)
        floor = max_diff(a, c) if sorted(c) == sorted(a) else float("inf")
        tol = max(1e-5, 4 * floor)
        noise = f"; two straight runs differ by up to {floor:.3g}"
    equal = sum(1 for d in diffs.values() if d == 0)
    print(f"{len(diffs)} steps, {equal} bitwise equal; max |dloss| {worst:.3g} (first resumed step "
          f"{diffs.get(step + 1, float('nan')):.3g}); tolerance {tol:.3g}{noise}")
    return 0 if worst <= tol else 1


def sample_ids(path):
    return [json.loads(line)["ids"] for line in open(path) if line.strip()]


def same_ids(a, b):
    x, y = sample_ids(a), sample_ids(b)
    same = sum(1 for i, j in zip(x, y) if i == j)
    print(f"{same} of {len(x)} samples identical ({sum(len(i) for i in x)} tokens)")
    return 0 if x and len(x) == len(y) and same == len(x) else 1


def agreement(a, b):
    x, y = sample_ids(a), sample_ids(b)
    pairs = [(i, j) for r, s in zip(x, y) for i, j in zip(r, s)]
    same = sum(1 for i, j in pairs if i == j)
    print(f"{same / max(1, len(pairs)):.4f}")
    return 0


def tokens_per_s(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    rates = [r["tokens_per_s"] for r in rows if r.get("split") == "train"][1:]  # the first interval warms up
    if not rates:
        print("nan")
        return 1
    print(f"{sum(rates) / len(rates):.1f}")
    return 0


def seconds_per_sample(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    print(f"{rows[0]['seconds'] / len(rows):.5f} {rows[0]['nfe']} {len(rows)}")
    return 0


def field(path, *keys):
    """Values of dotted keys (a.b) of a JSON file, or of its last JSON line."""
    text = open(path).read().strip()
    try:
        obj = json.loads(text)
    except json.JSONDecodeError:
        obj = json.loads([line for line in text.splitlines() if line.startswith("{")][-1])

    def get(key):
        value = obj
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return json.dumps(value) if isinstance(value, (dict, list)) else str(value)
    print(" ".join(get(k) for k in keys))
    return 0


def losses_close(a_path, b_path, rel):
    """Data parallel against one process: the same steps, losses within a
    relative tolerance (float summation order differs)."""
    a, b = train_losses(a_path), train_losses(b_path)
    if sorted(a) != sorted(b) or not a:
        print(f"logged steps differ: {len(a)} against {len(b)}")
        return 1
    worst = max(abs(a[s] - b[s]) / max(abs(a[s]), 1e-12) for s in a)
    print(f"{len(a)} steps; max relative |dloss| {worst:.3g} (tolerance {float(rel):.3g})")
    return 0 if worst <= float(rel) else 1


def unpack_deb(deb, dest):
    """A .deb is an ar archive holding data.tar.{xz,gz,zst}; extract that tar."""
    with open(deb, "rb") as f:
        if f.read(8) != b"!<arch>\n":
            raise SystemExit(f"{deb}: not a .deb (ar) file")
        while True:
            header = f.read(60)
            if len(header) < 60:
                raise SystemExit(f"{deb}: no data.tar member")
            name, size = header[:16].decode().strip().rstrip("/"), int(header[48:58])
            if name.startswith("data.tar"):
                if name.endswith(".zst"):
                    raise SystemExit(f"{deb}: zstd-compressed data; install dpkg-deb or zstd")
                with tarfile.open(fileobj=io.BytesIO(f.read(size))) as tar:
                    os.makedirs(dest, exist_ok=True)
                    safe = {"filter": "tar"} if hasattr(tarfile, "tar_filter") else {}
                    tar.extractall(dest, **safe)
                return 0
            f.seek(size + (size & 1), 1)


def _serve_run(unmask, checkpoint, device, n, extra=(), mixed=False, alone=True):
    """One `unmask serve`: n concurrent completions (staggered), optionally the
    same n one at a time, /metrics, then SIGTERM. Returns (together, alone,
    wall, tokens, metrics, exit code), or None when the server did not start.
    `mixed`: max_tokens 48, 42, 36, 30 in turn (four canvas lengths)."""
    import concurrent.futures
    import re
    import signal
    import subprocess
    import time
    import urllib.request
    proc = subprocess.Popen([unmask, "--log-level", "warn", "serve", "--checkpoint", checkpoint, "--port", "0",
                             "--device", device, "--max-batch", str(max(16, n)), *extra],
                            stdout=subprocess.PIPE, text=True)
    try:
        m = re.search(r"http://([\d.]+):(\d+) \(model (.+)\)", proc.stdout.readline() or "")
        if not m:
            return None
        url, model = f"http://{m.group(1)}:{m.group(2)}", m.group(3)
        tokens = [48 - 6 * (i % 4) if mixed else 48 for i in range(n)]

        def one(i):
            body = json.dumps({"model": model, "prompt": "", "max_tokens": tokens[i], "seed": i, "steps": 48}).encode()
            req = urllib.request.Request(url + "/v1/completions", body, {"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=120) as r:
                return json.loads(r.read())["choices"][0]["text"]

        one(0)  # warm-up: the first forwards on a device pay for their kernels
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(n) as pool:
            futures = []
            for i in range(n):
                futures.append(pool.submit(one, i))
                time.sleep(0.005)
            together = [f.result() for f in futures]
        wall = time.monotonic() - t0
        one_by_one = [one(i) for i in range(n)] if alone else []
        metrics = {}
        for line in urllib.request.urlopen(url + "/metrics", timeout=30).read().decode().splitlines():
            if line and not line.startswith("#"):
                k, v = line.rsplit(" ", 1)
                metrics[k] = float(v)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    return together, one_by_one, wall, sum(tokens), metrics, code


def serve_probe(unmask, checkpoint, device, n, mode="plain"):
    """`unmask serve` on the device. plain: N concurrent completions against
    the same N one at a time; passes when every answer is 200, the batches grew
    past one row and the server exits 0, and prints how many concurrent texts
    equal their one-at-a-time texts (bitwise on the CPU; on CUDA kernels chosen
    by shape may change a draw near a tie). mixed: N concurrent completions of
    four lengths on a server as is and one with --pad-lengths; prints both
    speeds, their forwards and how many texts agree."""
    n = int(n)
    if mode == "mixed":
        plain = _serve_run(unmask, checkpoint, device, n, mixed=True, alone=False)
        padded = _serve_run(unmask, checkpoint, device, n, ("--pad-lengths",), mixed=True, alone=False)
        if plain is None or padded is None:
            print("the server did not start")
            return 1
        same = sum(a == b for a, b in zip(plain[0], padded[0]))
        rate = [r[3] / r[2] for r in (plain, padded)]
        print(f"mixed lengths, {n} concurrent: as is {rate[0]:.0f} tokens/s in {plain[4].get('unmask_network_calls_total', 0):.0f} "
              f"forwards; --pad-lengths {rate[1]:.0f} tokens/s in {padded[4].get('unmask_network_calls_total', 0):.0f} "
              f"forwards ({padded[4].get('unmask_padding_positions_total', 0):.0f} padding positions); "
              f"ratio {rate[1] / rate[0]:.2f}; {same}/{n} texts equal; exit {plain[5]}, {padded[5]}")
        return 0 if plain[5] == 0 and padded[5] == 0 and padded[4].get("unmask_padding_positions_total", 0) > 0 else 1
    run = _serve_run(unmask, checkpoint, device, n)
    if run is None:
        print("the server did not start")
        return 1
    together, alone, wall, tokens, metrics, code = run
    same = sum(a == b for a, b in zip(together, alone))
    rows = metrics.get("unmask_batch_rows_max", 0)
    print(f"{n} concurrent requests in {wall:.2f} s ({tokens / wall:.0f} tokens/s), largest batch {rows:.0f} rows, "
          f"{metrics.get('unmask_network_calls_total', 0):.0f} forwards for "
          f"{metrics.get('unmask_request_network_calls_total', 0):.0f} requests' calls; {same}/{n} texts equal "
          f"one at a time; exit {code}")
    return 0 if rows > 1 and code == 0 else 1


COMMANDS = {"loss-falls": loss_falls, "resume-diff": resume_diff, "losses-close": losses_close, "same-ids": same_ids, "agreement": agreement,
            "tokens-per-s": tokens_per_s, "seconds-per-sample": seconds_per_sample, "field": field,
            "unpack-deb": unpack_deb, "serve-probe": serve_probe}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        raise SystemExit(__doc__)
    sys.exit(COMMANDS[sys.argv[1]](*sys.argv[2:]))
