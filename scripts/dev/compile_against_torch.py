#!/usr/bin/env python3
"""Compiles unmask's translation units that touch version-sensitive LibTorch
APIs (c10d's Reducer and process groups, NCCL, CUDA graphs) against another
PyTorch's headers, syntax only: the GPU machine's own PyTorch may be older
than the pinned one (docs/GPU.md, "PyTorch versions").

  pip download torch==2.11.0 --no-deps -d /tmp/t && unzip -q /tmp/t/torch-*.whl 'torch/include/*' -d /tmp/t/x
  scripts/dev/compile_against_torch.py build /tmp/t/x/torch/include

Uses the build's compile_commands.json with the pinned wheel's include
folders swapped for the given ones and the precompiled header dropped.
"""
import json
import shlex
import subprocess
import sys
from pathlib import Path

FILES = ["src/distributed/process_group.cpp", "src/distributed/nccl_backend.cpp", "src/distributed/grad_sync.cpp",
         "src/distributed/data_parallel.cpp", "src/sampling/cuda_graph.cpp"]


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    build, include = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    if not (include / "torch" / "csrc").is_dir():
        raise SystemExit(f"compile_against_torch: {include} is not a torch/include folder")
    entries = json.loads((build / "compile_commands.json").read_text())
    failed = 0
    for rel in FILES:
        entry = next((e for e in entries if e["file"].endswith(rel)), None)
        if entry is None:
            print(f"SKIP {rel}: not in this build")
            continue
        args, out = shlex.split(entry["command"]), []
        i = 0
        while i < len(args):
            a = args[i]
            if a in ("-include", "-o"):  # the precompiled header (built for the pinned torch), the object
                i += 2
                continue
            if a == "-Winvalid-pch":
                i += 1
                continue
            key = "site-packages/torch/include"
            if key in a:  # the pinned wheel's include folders → the given ones
                a = str(include) + a[a.index(key) + len(key):]
            out.append(a)
            i += 1
        r = subprocess.run(out + ["-fsyntax-only"], cwd=entry["directory"], capture_output=True, text=True)
        print(("OK  " if r.returncode == 0 else "FAIL") + f" {rel}")
        if r.returncode != 0:
            failed += 1
            print("\n".join(l for l in r.stderr.splitlines() if "error" in l)[:2000])
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
