#!/usr/bin/env python3
"""Start-up of the commands that need no tensors, side by side in one run:
`unmask` as built (LibTorch is in a module opened only by train, sample and
eval ppl/gen-ppl/all) against the same binary with the module preloaded
(LD_PRELOAD=libunmask_torch_cmds.so: LibTorch loaded at start, as every
command did before the module existed), and optionally an older binary
(--before). Each command runs --repeat times under /usr/bin/time -f %M (peak
RSS, KiB); the wall time is measured around it with perf_counter (the time
binary's own exec, about a millisecond, is included for every row alike).
Medians are reported.

`eval bleu` on 1,000 hypotheses (one reference stream of 1,000 lines, made
from the fortunes corpus as bench/eval_bleu.py makes them) is also compared
end to end with sacrebleu's own command line (`sacrebleu REF -i HYP -m bleu
-b -w 4`), and the two scores are printed.

    python bench/startup.py [--build build] [--before OLD_UNMASK] [--repeat 7]
"""
import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from eval_bleu import fortune_sentences, perturb  # noqa: E402


def measure(cmd, env, repeat):
    walls, rss = [], []
    for _ in range(repeat):
        with tempfile.NamedTemporaryFile("r") as t:
            start = time.perf_counter()
            p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", t.name] + cmd, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
            walls.append(time.perf_counter() - start)
            if p.returncode != 0:
                sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr.decode()[-2000:]}")
            rss.append(int(t.read().split()[-1]) / 1024)
    return statistics.median(walls), statistics.median(rss), p.stdout.decode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--before", help="an older unmask binary to add as a column")
    ap.add_argument("--repeat", type=int, default=7)
    a = ap.parse_args()
    unmask = os.path.abspath(os.path.join(a.build, "unmask"))
    module = os.path.abspath(os.path.join(a.build, "libunmask_torch_cmds.so"))
    tok = os.path.abspath(os.path.join(a.build, "tests", "fixtures", "tokenizer"))
    data = os.path.abspath(os.path.join(a.build, "tests", "fixtures", "data"))
    for p in (unmask, module, tok, data):
        if not os.path.exists(p):
            sys.exit(f"{p} is missing: build first (scripts/test.sh builds the fixtures)")
    work = tempfile.mkdtemp(prefix="unmask-startup-")
    sentences = fortune_sentences()
    rng = random.Random(0)
    refs = rng.sample(sentences, 1000)
    words = " ".join(sentences).split(" ")
    hyps = [perturb(rng, r, words) for r in refs]
    for name, lines in (("refs.txt", refs), ("hyps.txt", hyps)):
        with open(os.path.join(work, name), "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
    h, r = os.path.join(work, "hyps.txt"), os.path.join(work, "refs.txt")
    commands = [
        ("--help", ["--help"]),
        ("tokenizer encode (one line)", ["tokenizer", "encode", "--tokenizer", tok, "--text", "The cat sat on the mat."]),
        ("data inspect", ["data", "inspect", "--data", data]),
        ("eval bleu, 1,000 hypotheses", ["eval", "bleu", "--hyps", h, "--refs", r, "--json"]),
    ]
    env = dict(os.environ)
    # LD_PRELOAD is set by `env` inside /usr/bin/time, so that only unmask preloads the module.
    variants = [("unmask", [unmask], env), ("LibTorch preloaded", ["env", f"LD_PRELOAD={module}", unmask], env)]
    if a.before:
        variants.append(("--before", [os.path.abspath(a.before)], env))
    print("| command | " + " | ".join(f"{v[0]} wall | {v[0]} RSS" for v in variants) + " |")
    print("|---|" + "---:|---:|" * len(variants))
    outs = {}
    for label, args in commands:
        cells = []
        for name, prefix, e in variants:
            wall, rss, out = measure(prefix + args, e, a.repeat)
            outs[(label, name)] = out
            cells.append(f"{wall * 1000:.0f} ms | {rss:.0f} MiB")
        print(f"| {label} | " + " | ".join(cells) + " |")
    sacre = os.path.join(os.path.dirname(sys.executable), "sacrebleu")
    wall, rss, out = measure([sacre, r, "-i", h, "-m", "bleu", "-b", "-w", "4"], env, a.repeat)
    print(f"\nsacrebleu CLI, same 1,000 hypotheses: {wall * 1000:.0f} ms, {rss:.0f} MiB (BLEU {out.strip()})")
    import json
    print("unmask eval bleu: BLEU %.4f" % json.loads(outs[("eval bleu, 1,000 hypotheses", "unmask")])["bleu"])


if __name__ == "__main__":
    main()
