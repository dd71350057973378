# Sourced by scripts/gpu_check.sh: the build step. On the GPU machine it
# unpacks the Debian bundle (scripts/dev/gpu_bundle.sh) into one prefix per group,
# so that include folders stay apart (Debian's fmt 9 never shadows LibTorch's),
# configures unmask with CMake + Ninja against the Python's LibTorch and builds
# only what the checks run. --dry-run checks the existing build instead.

DEPS="$BUILD_DIR/gpu-deps"
ARCH_LIB=lib/x86_64-linux-gnu
# What the checks run; tests/gpu_bundle_test.sh builds a smaller set that still
# includes every bundled library's headers (UNMASK_GPU_CHECK_TARGETS).
read -r -a TARGETS <<<"${UNMASK_GPU_CHECK_TARGETS:-unmask unmask_bench_mm unmask_device_tests}"
P() { echo "$DEPS/$1/usr"; }
if ((DRY)); then
  FORTUNES=/usr/share/games/fortunes
  RUNTIME_LD=""
else
  FORTUNES="$(P fortunes)/share/games/fortunes"
  # Debian's runtime libraries, for unmask processes only (never for the system's tools).
  RUNTIME_LD="$(P sentencepiece)/$ARCH_LIB:$(P pcre2)/$ARCH_LIB:$(P fmt)/$ARCH_LIB:$(P spdlog)/$ARCH_LIB:$(P openssl)/$ARCH_LIB:$(P httplib)/$ARCH_LIB"
fi
with_libs() { LD_LIBRARY_PATH="$RUNTIME_LD${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$@"; }
um() { with_libs timeout "$LIMIT" "$UNMASK" --log-level warn "$@"; }

step_dry_build() {
  local t missing=()
  for t in unmask unmask_bench_mm tests/unmask_device_tests; do
    [[ -x "$BUILD_DIR/$t" ]] || missing+=("$BUILD_DIR/$t")
  done
  if ((${#missing[@]})); then
    record "existing build" FAIL "missing ${missing[*]} (build first: scripts/setup.sh)"
  elif [[ ! -d "$FORTUNES" ]]; then
    record "existing build" FAIL "no fortunes corpus in $FORTUNES (scripts/setup.sh installs Debian's fortunes)"
  else
    record "existing build" PASS "$BUILD_DIR (dry run: no bundle, no configure)"
  fi
}

unpack_bundle() {
  [[ -f "$DEBS/MANIFEST" ]] || { echo "no $DEBS/MANIFEST: run scripts/dev/gpu_bundle.sh on the dev machine and carry .gpu-debs" >&2; return 1; }
  if cmp -s "$DEBS/MANIFEST" "$DEPS/MANIFEST" 2>/dev/null; then return 0; fi  # unpacked by an earlier run
  rm -rf "$DEPS"
  local group file sha
  while read -r group file sha; do
    [[ "$(sha256sum "$DEBS/$file" | cut -d' ' -f1)" == "$sha" ]] || { echo "$DEBS/$file: checksum mismatch" >&2; return 1; }
    mkdir -p "$DEPS/$group"
    if command -v dpkg-deb >/dev/null; then
      dpkg-deb -x "$DEBS/$file" "$DEPS/$group"
    else
      "${HELP[@]}" unpack-deb "$DEBS/$file" "$DEPS/$group"
    fi
  done <"$DEBS/MANIFEST"
  # sentencepiece and PCRE2 are found through pkg-config: point their .pc files at their prefixes.
  sed -i "s|^prefix=.*|prefix=$(P sentencepiece)|" "$(P sentencepiece)/$ARCH_LIB/pkgconfig/sentencepiece.pc"
  sed -i "s|^prefix=.*|prefix=$(P pcre2)|" "$(P pcre2)/$ARCH_LIB/pkgconfig/libpcre2-8.pc"
  # cpp-httplib's .pc requires openssl, zlib and brotli's (for their flags): all point at their prefixes.
  local pc
  for pc in "$(P httplib)/$ARCH_LIB/pkgconfig/"*.pc "$(P openssl)/$ARCH_LIB/pkgconfig/"*.pc; do
    sed -i -E "s#^(prefix|exec_prefix|libdir|includedir)=/usr#\1=${pc%/$ARCH_LIB/pkgconfig/*}#" "$pc"
  done
  mkdir -p "$DEPS/bin"
  if command -v pkg-config >/dev/null; then
    ln -sf "$(command -v pkg-config)" "$DEPS/bin/pkg-config"
  else
    cat >"$DEPS/bin/pkg-config" <<EOF
#!/bin/sh
LD_LIBRARY_PATH="$(P pkgconf)/$ARCH_LIB\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "$(P pkgconf)/bin/pkgconf" "\$@"
EOF
    chmod +x "$DEPS/bin/pkg-config"
  fi
  cp "$DEBS/MANIFEST" "$DEPS/MANIFEST"
}

step_build() {
  local tool nvcc cuda_root t0 configure_s build_s missing log="$WORK/logs/build"
  for tool in cmake ninja c++; do
    command -v "$tool" >/dev/null || { record "build" FAIL "no $tool on PATH"; return 0; }
  done
  nvcc="${CUDACXX:-$(command -v nvcc || echo "${CUDA_HOME:-/usr/local/cuda}/bin/nvcc")}"
  [[ -x "$nvcc" ]] || { record "build" FAIL "no nvcc (PATH, CUDACXX or CUDA_HOME); LibTorch's CMake config needs the CUDA toolkit"; return 0; }
  cuda_root="$(dirname "$(dirname "$(readlink -f "$nvcc")")")"
  unpack_bundle
  # Multiarch OpenSSL headers and gloo's headers (included by c10d's ProcessGroupGloo.hpp)
  # sit in /usr/include on Debian; here they come after every -I and -isystem.
  CPLUS_INCLUDE_PATH="$(P openssl)/include/x86_64-linux-gnu:$(P gloo)/include${CPLUS_INCLUDE_PATH:+:$CPLUS_INCLUDE_PATH}"
  PKG_CONFIG_LIBDIR="$(P sentencepiece)/$ARCH_LIB/pkgconfig:$(P pcre2)/$ARCH_LIB/pkgconfig:$(P httplib)/$ARCH_LIB/pkgconfig:$(P openssl)/$ARCH_LIB/pkgconfig"
  export CPLUS_INCLUDE_PATH PKG_CONFIG_LIBDIR PKG_CONFIG_PATH=""
  t0=$(date +%s)
  if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
    local args=(-S "$ROOT" -B "$BUILD_DIR" -G Ninja -Wno-dev -DCMAKE_BUILD_TYPE=Release
      "-DCMAKE_PREFIX_PATH=$TORCH_CMAKE"
      "-Dnlohmann_json_DIR=$(P nlohmann-json)/share/cmake/nlohmann_json"
      "-DCLI11_DIR=$(P cli11)/share/cmake/CLI11"
      "-Dfmt_DIR=$(P fmt)/$ARCH_LIB/cmake/fmt"
      "-Dspdlog_DIR=$(P spdlog)/$ARCH_LIB/cmake/spdlog"
      "-DGTest_DIR=$(P gtest)/$ARCH_LIB/cmake/GTest"
      "-Dutf8cpp_DIR=$(P utfcpp)/$ARCH_LIB/cmake/utf8cpp"
      "-DOPENSSL_ROOT_DIR=$(P openssl)" "-DOPENSSL_INCLUDE_DIR=$(P openssl)/include"
      "-DOPENSSL_CRYPTO_LIBRARY=$(P openssl)/$ARCH_LIB/libcrypto.so"
      "-DOPENSSL_SSL_LIBRARY=$(P openssl)/$ARCH_LIB/libssl.so"
      "-DSENTENCEPIECE_TRAIN_LIB=$(P sentencepiece)/$ARCH_LIB/libsentencepiece_train.so"
      "-DPKG_CONFIG_EXECUTABLE=$DEPS/bin/pkg-config"
      "-DCUDAToolkit_ROOT=$cuda_root" "-DCMAKE_CUDA_COMPILER=$nvcc"
      "-DUNMASK_PYTHON=$PY")
    if ! cmake "${args[@]}" >"$log.configure.log" 2>&1; then
      record "build" FAIL "configure failed: $(grep -m1 -A2 'Error' "$log.configure.log" | tr '\n' ' ' | cut -c1-250)"
      return 0
    fi
  fi
  configure_s=$(($(date +%s) - t0))
  t0=$(date +%s)
  if ! with_libs cmake --build "$BUILD_DIR" -j"$JOBS" --target "${TARGETS[@]}" >"$log.ninja.log" 2>&1; then
    record "build" FAIL "build failed: $(grep -m1 -E 'error|undefined reference' "$log.ninja.log" | cut -c1-250)"
    return 0
  fi
  build_s=$(($(date +%s) - t0))
  missing=""
  [[ -x "$UNMASK" ]] && missing="$(with_libs ldd "$UNMASK" | grep 'not found' | awk '{print $1}' | tr '\n' ' ' || true)"
  if [[ -n "$missing" ]]; then
    record "build" FAIL "unmask links, but the loader cannot find: $missing"
    return 0
  fi
  record "build" PASS "configure ${configure_s} s, build ${build_s} s with $JOBS jobs (${TARGETS[*]}); torch $TORCH_VERSION, nvcc $("$nvcc" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p')"
}
