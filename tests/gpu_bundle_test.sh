#!/usr/bin/env bash
# The GPU check's Debian bundle alone suffices to build unmask: the machine it
# runs on has a compiler, the CUDA toolkit and a Python with PyTorch, but none
# of Debian's development packages. Here that machine is imitated in a mount
# namespace: /usr/include keeps only the compiler's and libc's headers
# (libc6-dev, linux-libc-dev, libstdc++, libcrypt), and the system's
# pkg-config and CMake package folders are emptied. Then
# `scripts/gpu_check.sh --build-only` unpacks the bundle (downloaded by
# scripts/dev/gpu_bundle.sh), configures (every find_package and pkg-config
# module resolved from the bundle), and compiles a translation unit that
# includes each bundled library (sentencepiece, PCRE2, spdlog/fmt, OpenSSL,
# utfcpp, nlohmann-json, CLI11, c10d with gloo, GoogleTest), so a package
# missing from the bundle fails here, not on the GPU. (Linking needs the LibTorch half too, which
# takes a quarter of an hour on two cores; the libraries' .so files come in
# the same bundle groups as their headers.)
#   tests/gpu_bundle_test.sh BUILD_DIR PYTHON   (ctest scripts.gpu_bundle)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$(cd "${1:?usage: gpu_bundle_test.sh BUILD_DIR PYTHON}" && pwd)"
PY="${2:?usage: gpu_bundle_test.sh BUILD_DIR PYTHON}"
WORK="$BUILD/gpu-bundle-test"
mkdir -p "$WORK"

# The bundle: downloaded again when gpu_bundle.sh changed since the last one.
if [[ ! -f "$WORK/debs/MANIFEST" || "$ROOT/scripts/dev/gpu_bundle.sh" -nt "$WORK/debs/MANIFEST" ]]; then
  "$ROOT/scripts/dev/gpu_bundle.sh" "$WORK/debs"
fi

# The headers a bare machine with a compiler has.
TOOLCHAIN=(libc6-dev linux-libc-dev libstdc++-12-dev libcrypt-dev)
stage="$WORK/toolchain-include"
rm -rf "$stage"
mkdir -p "$stage"
dpkg -L "${TOOLCHAIN[@]}" | grep '^/usr/include/.' | sort -u | while read -r f; do
  [[ -d "$f" && ! -L "$f" ]] || printf '%s\n' "${f#/usr/include/}"
done >"$WORK/toolchain-files.txt"
tar -C /usr/include -cf - -T "$WORK/toolchain-files.txt" | tar -C "$stage" -xf -

rm -rf "$WORK/build"
core=CMakeFiles/unmask_core.dir/src
TARGETS="$core/tokenizer/sentencepiece_tokenizer.cpp.o $core/tokenizer/train.cpp.o $core/tokenizer/regex_split.cpp.o"
TARGETS+=" $core/util/log.cpp.o $core/util/hash.cpp.o $core/util/corpus_reader.cpp.o $core/run/trainer_state.cpp.o"
TARGETS+=" CMakeFiles/unmask.dir/src/cli/main.cpp.o CMakeFiles/unmask.dir/src/cli/tokenizer_cmd.cpp.o"
TARGETS+=" CMakeFiles/unmask_torch.dir/src/distributed/process_group.cpp.o"
TARGETS+=" CMakeFiles/unmask_serve.dir/src/serve/http_server.cpp.o"
unshare -m --propagation private env STAGE="$stage" WORK="$WORK" ROOT="$ROOT" PY="$PY" TARGETS="$TARGETS" bash -euo pipefail -c '
  mount -t tmpfs tmpfs /usr/include
  tar -C "$STAGE" -cf - . | tar -C /usr/include -xf -
  for d in /usr/lib/x86_64-linux-gnu/pkgconfig /usr/share/pkgconfig /usr/lib/pkgconfig \
           /usr/lib/x86_64-linux-gnu/cmake /usr/lib/cmake /usr/share/cmake; do
    [[ -d "$d" ]] && mount -t tmpfs tmpfs "$d"
  done
  # Proof that the hiding works: a bundled header is gone from the system.
  [[ ! -e /usr/include/pcre2.h && ! -e /usr/include/sentencepiece_processor.h ]] || { echo "headers not hidden" >&2; exit 1; }
  UNMASK_GPU_CHECK_TARGETS="$TARGETS" "$ROOT/scripts/gpu_check.sh" --build-only --debs "$WORK/debs" \
    --build-dir "$WORK/build" --python "$PY" --work "$WORK/check" --out "$WORK/report.md"
  # A test translation unit (GoogleTest), compiled with its own command from
  # compile_commands.json: its ninja target would wait for the whole build.
  "$PY" - "$WORK/build/compile_commands.json" "$WORK/gtest-probe.o" <<EOF
import json, shlex, subprocess, sys
entry = next(e for e in json.load(open(sys.argv[1])) if e["file"].endswith("tests/unit/config_test.cpp"))
args = shlex.split(entry["command"])
args[args.index("-o") + 1] = sys.argv[2]
sys.exit(subprocess.run(args, cwd=entry["directory"]).returncode)
EOF
'
[[ -s "$WORK/gtest-probe.o" ]] || { echo "gpu_bundle_test: the GoogleTest translation unit did not compile" >&2; exit 1; }
grep -q '| build | \*\*PASS\*\* |' "$WORK/report.md" || { cat "$WORK/report.md"; echo "gpu_bundle_test: the build step did not pass" >&2; exit 1; }
echo "gpu_bundle_test: the bundle alone configures and compiles $TARGETS and a GoogleTest unit"
