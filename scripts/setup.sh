#!/usr/bin/env bash
# Idempotent set-up of everything unmask needs on Debian 12, then a Release
# build with Ninja, ccache and precompiled headers.
#
#   UNMASK_HOME       cache for the LibTorch virtual environment (default ~/.cache/unmask)
#   UNMASK_BUILD_DIR  build directory (default ./build)
#   Torch_DIR / CMAKE_PREFIX_PATH
#                     use your own LibTorch (e.g. a CPU build) instead of the PyPI wheel
#   UNMASK_SKIP_APT=1 do not touch Debian packages: check that what they provide is
#                     present instead (scripts/prereqs.sh; docs/INSTALL.md, with conda-forge names)
#   UNMASK_SKIP_BUILD=1  stop after installing
#   UNMASK_SANITIZE=ON   instrument unmask with ASan + UBSan (use a separate UNMASK_BUILD_DIR)
set -euo pipefail

TORCH_VERSION=2.12.1   # the PyPI wheel is built against CUDA 13.0, like the system toolkit
FIXTURE_PACKAGES=(transformers==5.24.0 safetensors==0.8.0 sacrebleu==2.6.0 nltk==3.10.4 datasets==5.2.0
                  mauve-text==0.4.0 faiss-cpu==1.15.1 scikit-learn==1.9.1 openai==3.63.0)
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
UNMASK_HOME="${UNMASK_HOME:-$HOME/.cache/unmask}"
VENV="$UNMASK_HOME/venv-torch-$TORCH_VERSION"
BUILD_DIR="${UNMASK_BUILD_DIR:-$ROOT/build}"

say() { echo "[setup] $*" >&2; }

# ---- Debian packages ---------------------------------------------------------
APT_PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  python3 python3-venv python3-pip
  libsentencepiece-dev sentencepiece
  nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
  libgtest-dev googletest libssl-dev libutfcpp-dev libgloo-dev libpcre2-dev
  libcpp-httplib-dev libbrotli-dev zlib1g-dev   # unmask serve's HTTP server (and the headers its flags need)
  curl   # the server tests' raw SSE client
  fortunes time
  clang libclang-rt-14-dev   # the libFuzzer harnesses (scripts/dev/fuzz.sh)
)
if [[ "${UNMASK_SKIP_APT:-0}" != 1 ]]; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    SUDO=""
    [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    say "installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
else
  # No package manager: check that what it would install is there (docs/INSTALL.md).
  "$ROOT/scripts/prereqs.sh"
fi

# ---- LibTorch ----------------------------------------------------------------
TORCH_PREFIX=""
if [[ -n "${Torch_DIR:-}" || -n "${CMAKE_PREFIX_PATH:-}" ]]; then
  say "using the LibTorch given by Torch_DIR/CMAKE_PREFIX_PATH"
else
  # Prefer Debian's Python (python3-venv), fall back to the python3 on PATH.
  PY=/usr/bin/python3
  [[ -x "$PY" ]] && "$PY" -c "import venv, ensurepip" 2>/dev/null || PY=python3
  if [[ ! -f "$VENV/.complete" ]] || ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
    say "installing torch==$TORCH_VERSION from PyPI into $VENV (several GB, once)"
    mkdir -p "$UNMASK_HOME"
    rm -rf "$VENV"
    "$PY" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q "torch==$TORCH_VERSION"
    touch "$VENV/.complete"   # an interrupted install is redone, not reused
  fi
  # matplotlib draws metrics (scripts/plot_metrics.py, scripts/study_report.py);
  # the fixture generators that the suite reruns (tests/check_fixtures.sh) need
  # HF transformers, safetensors, sacrebleu and NLTK; the LM1B/OWT recipes
  # (scripts/prepare_*.py, tested on local files) need HF datasets; the server
  # tests (tests/serve_test.py) talk to `unmask serve` with the official openai client.
  "$VENV/bin/python" -c "import matplotlib" 2>/dev/null || "$VENV/bin/python" -m pip install -q matplotlib
  "$VENV/bin/python" -c "import transformers, safetensors, sacrebleu, nltk, datasets, mauve, faiss, sklearn, openai" 2>/dev/null ||
    "$VENV/bin/python" -m pip install -q "${FIXTURE_PACKAGES[@]}"
  UNMASK_PYTHON="$VENV/bin/python"
  TORCH_PREFIX="$("$VENV/bin/python" -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null)"
fi

[[ "${UNMASK_SKIP_BUILD:-0}" == 1 ]] && exit 0

# ---- configure and build -----------------------------------------------------
CMAKE_ARGS=(-S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-Release}"
            -DUNMASK_SANITIZE="${UNMASK_SANITIZE:-OFF}")
[[ -n "$TORCH_PREFIX" ]] && CMAKE_ARGS+=("-DCMAKE_PREFIX_PATH=$TORCH_PREFIX")
[[ -n "${UNMASK_PYTHON:-}" ]] && CMAKE_ARGS+=("-DUNMASK_PYTHON=$UNMASK_PYTHON")
# The CUDA-enabled wheel's CMake config needs a CUDA toolkit at configure time.
CUDA_HOME="${CUDA_HOME:-/usr/local/cuda}"
if [[ -x "$CUDA_HOME/bin/nvcc" ]]; then
  CMAKE_ARGS+=("-DCUDAToolkit_ROOT=$CUDA_HOME" "-DCMAKE_CUDA_COMPILER=$CUDA_HOME/bin/nvcc")
fi
if [[ ! -f "$BUILD_DIR/build.ninja" ]] || [[ -n "${UNMASK_PYTHON:-}" && "$(grep -s '^UNMASK_PYTHON:' "$BUILD_DIR/CMakeCache.txt" | cut -d= -f2)" != "$UNMASK_PYTHON" ]]; then
  say "configuring in $BUILD_DIR"
  mkdir -p "$BUILD_DIR"
  cmake "${CMAKE_ARGS[@]}" -Wno-dev >"$BUILD_DIR/configure.log" 2>&1 || {
    cat "$BUILD_DIR/configure.log" >&2
    exit 1
  }
fi
say "building ($(nproc) jobs)"
cmake --build "$BUILD_DIR" -j"$(nproc)"
say "done: $BUILD_DIR/unmask"
