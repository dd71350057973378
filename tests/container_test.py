#!/usr/bin/env python3
"""What can be checked here of the cluster packaging (docs/INSTALL.md says
what was not run: no image is built in CI, which has no registry for the
Debian base image and no GPU):

- container/Dockerfile: Debian 12, everything installed through
  scripts/setup.sh (no downloads of its own), `unmask` on PATH, the build
  directory the Apptainer definition runs;
- container/unmask.def: built from that image, runs that binary, has a %test;
- scripts/slurm/*.sbatch: valid bash; the Apptainer one runs
  `srun ... apptainer exec --nv IMAGE unmask train`;
- scripts/prereqs.sh (UNMASK_SKIP_APT=1): passes here, and names the
  conda-forge package of what it cannot find.
"""
import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)


def instructions(dockerfile):
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def main():
    docker = instructions(ROOT / "container" / "Dockerfile")
    check(docker and docker[0] == ("FROM", "debian:12"), "Dockerfile: the first instruction is FROM debian:12")
    runs = [rest for word, rest in docker if word == "RUN"]
    check(any("scripts/setup.sh" in r for r in runs), "Dockerfile: a RUN step calls scripts/setup.sh")
    check(not any(re.search(r"\b(curl|wget|git clone|pip install)\b", r) for r in runs),
          "Dockerfile: nothing is downloaded outside scripts/setup.sh")
    check(all("--no-install-recommends" in r for r in runs if "apt-get install" in r),
          "Dockerfile: apt-get install with --no-install-recommends")
    check(not any(word == "ADD" and "://" in rest for word, rest in docker), "Dockerfile: no ADD of a URL")
    env = " ".join(rest for word, rest in docker if word == "ENV")
    build = re.search(r"UNMASK_BUILD_DIR=(\S+)", env)
    check(build is not None, "Dockerfile: UNMASK_BUILD_DIR is set")
    binary = f"{build.group(1)}/unmask" if build else "?"
    check(any(f"ln -s {binary} /usr/local/bin/unmask" in r for r in runs), "Dockerfile: unmask on PATH")
    check(("ENTRYPOINT", '["unmask"]') in docker, "Dockerfile: ENTRYPOINT unmask")
    for word, rest in docker:
        check(word in {"FROM", "ENV", "RUN", "COPY", "WORKDIR", "ENTRYPOINT", "CMD", "LABEL", "ARG"},
              f"Dockerfile: unexpected instruction {word}")

    definition = (ROOT / "container" / "unmask.def").read_text()
    check(re.search(r"^Bootstrap: docker-daemon$", definition, re.M) is not None, "unmask.def: Bootstrap: docker-daemon")
    check(re.search(r"^From: unmask:latest$", definition, re.M) is not None, "unmask.def: From: unmask:latest")
    check("-t unmask ." in (ROOT / "container" / "Dockerfile").read_text(), "Dockerfile: built as the image 'unmask'")
    for section in ("%runscript", "%test", "%environment"):
        check(section in definition, f"unmask.def: has {section}")
    check(f"exec {binary} " in definition, f"unmask.def: %runscript runs {binary}")

    for sbatch in sorted((ROOT / "scripts" / "slurm").glob("*.sbatch")):
        r = subprocess.run(["bash", "-n", str(sbatch)], capture_output=True, text=True)
        check(r.returncode == 0, f"{sbatch.name}: bash -n: {r.stderr.strip()}")
    apptainer = (ROOT / "scripts" / "slurm" / "train-apptainer.sbatch").read_text()
    check(re.search(r"srun .*apptainer exec --nv .*\"\$IMAGE\" *\\?\n? *unmask train", apptainer) is not None,
          "train-apptainer.sbatch: srun ... apptainer exec --nv IMAGE unmask train")

    prereqs = ROOT / "scripts" / "prereqs.sh"
    r = subprocess.run([str(prereqs)], capture_output=True, text=True)
    check(r.returncode == 0, f"prereqs.sh fails on this machine: {r.stderr.strip()}")
    env = dict(os.environ, PKG_CONFIG_LIBDIR="/nonexistent", PKG_CONFIG_PATH="")
    r = subprocess.run([str(prereqs)], capture_output=True, text=True, env=env)
    check(r.returncode == 1 and "conda-forge: libsentencepiece" in r.stderr,
          f"prereqs.sh without sentencepiece: exit 1 naming conda-forge's libsentencepiece (got {r.returncode}: {r.stderr})")

    for f in failures:
        print("FAIL", f)
    if failures:
        sys.exit(1)
    print("PASS: container, Apptainer, Slurm and no-root checks")


if __name__ == "__main__":
    main()
