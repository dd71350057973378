#!/usr/bin/env python3
"""Compares two outputs: safetensors files tensor by tensor (same names,
shapes and dtypes; values within --atol times max(1, the tensor's largest
magnitude)), JSON files value by value (numbers
within --atol, everything else equal), other files byte for byte; two
directories file by file (the same file names). Reads safetensors directly
with numpy, so it needs no safetensors package. Exit 0 when they agree.

    python3 tests/compare_outputs.py [--atol 1e-6] [--atol-for TENSOR=ATOL ...] A B
"""
import argparse
import json
import os
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


def compare_safetensors(a_path, b_path, atol, atol_for=None):
    a, b = load(a_path), load(b_path)
    if sorted(a) != sorted(b):
        return f"different tensor names: {sorted(set(a) ^ set(b))}"
    worst, where, bad = 0.0, "", None
    for name in sorted(a):
        if a[name].shape != b[name].shape or a[name].dtype != b[name].dtype:
            return f"{name}: {a[name].dtype}{a[name].shape} vs {b[name].dtype}{b[name].shape}"
        if not a[name].size:
            continue
        x, y = a[name].astype(np.float64), b[name].astype(np.float64)
        diff = float(np.max(np.abs(x - y)))
        # Scale-aware: atol (or this tensor's own, --atol-for) times its largest magnitude, at least 1.
        tol = (atol_for or {}).get(name, atol)
        allowed = tol * max(1.0, float(np.max(np.abs(y))))
        if diff > worst:
            worst, where = diff, name
        if diff > allowed and bad is None:
            bad = f"max |a - b| = {diff:.3g} in {name} exceeds {allowed:.3g} (atol {tol:g} x max(1, max |b|))"
    print(f"{a_path}: {len(a)} tensors, max |a - b| = {worst:.3g}" + (f" ({where})" if where else ""))
    return bad


def compare_json(a, b, atol, where="$"):
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return None if abs(a - b) <= atol else f"{where}: {a} vs {b}"
    if type(a) is not type(b):
        return f"{where}: {type(a).__name__} vs {type(b).__name__}"
    if isinstance(a, dict):
        if sorted(a) != sorted(b):
            return f"{where}: keys differ: {sorted(set(a) ^ set(b))}"
        for k in a:
            err = compare_json(a[k], b[k], atol, f"{where}.{k}")
            if err:
                return err
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{where}: {len(a)} vs {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b)):
            err = compare_json(x, y, atol, f"{where}[{i}]")
            if err:
                return err
        return None
    return None if a == b else f"{where}: {a!r} vs {b!r}"


def compare_file(a, b, atol, atol_for=None):
    if a.endswith(".safetensors"):
        return compare_safetensors(a, b, atol, atol_for)
    if a.endswith(".json"):
        return compare_json(json.load(open(a, encoding="utf-8")), json.load(open(b, encoding="utf-8")), atol)
    return None if open(a, "rb").read() == open(b, "rb").read() else "the bytes differ"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--atol", type=float, default=0.0)
    ap.add_argument("--atol-for", action="append", default=[], metavar="TENSOR=ATOL",
                    help="a looser (or tighter) atol for one tensor of safetensors files; repeatable")
    args = ap.parse_args()
    atol_for = {}
    for item in args.atol_for:
        name, _, value = item.partition("=")
        atol_for[name] = float(value)
    if os.path.isdir(args.a):
        names = sorted(f for f in os.listdir(args.a) if os.path.isfile(os.path.join(args.a, f)))
        missing = [f for f in names if not os.path.isfile(os.path.join(args.b, f))]
        if missing:
            print(f"missing in {args.b}: {missing}")
            return 1
        pairs = [(os.path.join(args.a, f), os.path.join(args.b, f)) for f in names]
    else:
        pairs = [(args.a, args.b)]
    failed = 0
    for a, b in pairs:
        err = compare_file(a, b, args.atol, atol_for)
        if err:
            print(f"DIFFERENT {a} vs {b}: {err}")
            failed += 1
    print(f"{len(pairs) - failed} of {len(pairs)} files agree (atol {args.atol:g})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
