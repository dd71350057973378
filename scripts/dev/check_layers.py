#!/usr/bin/env python3
"""Checks that every include goes down unmask's layers (docs/ARCHITECTURE.md):

    cli > serve > app > eval, train > sampling, interop > distributed > run > model
        > diffusion > data > tokenizer > config > util

A file in src/ROOM/ or include/unmask/ROOM/ may include a room of a lower
layer, or its own room; two rooms of one layer never include each other.
The top-level headers (config.h, registry.h, the precompiled headers) are
the config layer. Exit 1 listing every include that goes up or sideways.
"""
import pathlib
import re
import sys

LAYERS = [["util"], ["config"], ["tokenizer"], ["data"], ["diffusion"], ["model"], ["run"], ["distributed"],
          ["sampling", "interop"], ["eval", "train"], ["app"], ["serve"], ["cli"]]
RANK = {room: i for i, layer in enumerate(LAYERS) for room in layer}
INCLUDE = re.compile(r'^\s*#\s*include\s+"unmask/([A-Za-z0-9_]+)(/|\.h)', re.M)


def room_of(path, root):
    rel = path.relative_to(root).parts
    if rel[0] == "src":
        return rel[1] if len(rel) > 2 else "config"
    if rel[:2] == ("include", "unmask"):
        return rel[2] if len(rel) > 3 else "config"
    return None


def target_room(match):
    name, sep = match.group(1), match.group(2)
    return name if sep == "/" else "config"  # unmask/config.h, unmask/registry.h, ...


def violations(root):
    for path in sorted(list((root / "src").rglob("*")) + list((root / "include").rglob("*"))):
        if path.suffix not in (".h", ".cpp") or not path.is_file():
            continue
        room = room_of(path, root)
        if room not in RANK:
            yield f"{path.relative_to(root)}: room '{room}' has no layer (add it to LAYERS and docs/ARCHITECTURE.md)"
            continue
        for m in INCLUDE.finditer(path.read_text(encoding="utf-8")):
            to = target_room(m)
            if to not in RANK:
                yield f"{path.relative_to(root)}: includes unknown room '{to}'"
            elif to != room and RANK[to] >= RANK[room]:
                yield f"{path.relative_to(root)}: {room} includes {to} ({m.group(0).strip()}), which is not below it"


def self_test():
    """The checker itself: an include up, one sideways and one allowed, in a scratch tree."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        files = {"src/util/a.cpp": '#include "unmask/train/trainer.h"\n',
                 "src/train/b.cpp": '#include "unmask/eval/elbo.h"\n#include "unmask/run/layout.h"\n',
                 "include/unmask/model/c.h": '#include "unmask/config.h"\n#include "unmask/diffusion/objective.h"\n'}
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        found = list(violations(root))
        assert len(found) == 2 and "util includes train" in found[1] and "train includes eval" in found[0], found


def main():
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        print("PASS: the checker finds includes that go up or sideways")
        return
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2])
    found = list(violations(root))
    for v in found:
        print(v)
    if found:
        sys.exit(f"check_layers: {len(found)} includes go up or sideways")
    print(f"PASS: every include goes down the {len(LAYERS)} layers")


if __name__ == "__main__":
    main()
