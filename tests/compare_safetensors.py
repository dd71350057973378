#!/usr/bin/env python3
"""Compares two safetensors files tensor by tensor (same names, shapes and
dtypes; values within --atol). Reads the format directly with numpy, so it
needs no safetensors package. Exit 0 when they agree, 1 otherwise.

    python3 tests/compare_safetensors.py [--atol 1e-4] A.safetensors B.safetensors
"""
import argparse
import json
import struct
import sys

import numpy as np

DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64, "I32": np.int32,
          "U8": np.uint8, "BOOL": np.bool_}


def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    data = raw[8 + n:]
    out = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        if info["dtype"] == "BF16":  # widen bf16 to f32 through its upper 16 bits
            bits = np.frombuffer(data[begin:end], dtype=np.uint16).astype(np.uint32) << 16
            out[name] = bits.view(np.float32).reshape(info["shape"])
        else:
            out[name] = np.frombuffer(data[begin:end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--atol", type=float, default=0.0)
    args = ap.parse_args()
    a, b = load(args.a), load(args.b)
    if sorted(a) != sorted(b):
        print(f"different tensor names: {sorted(set(a) ^ set(b))}")
        return 1
    worst, where = 0.0, ""
    for name in sorted(a):
        if a[name].shape != b[name].shape or a[name].dtype != b[name].dtype:
            print(f"{name}: {a[name].dtype}{a[name].shape} vs {b[name].dtype}{b[name].shape}")
            return 1
        diff = float(np.max(np.abs(a[name].astype(np.float64) - b[name].astype(np.float64)))) if a[name].size else 0.0
        if diff > worst:
            worst, where = diff, name
    print(f"{len(a)} tensors, max |a - b| = {worst:.3g}" + (f" ({where})" if where else ""))
    return 0 if worst <= args.atol else 1


if __name__ == "__main__":
    sys.exit(main())
