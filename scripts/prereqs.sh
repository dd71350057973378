#!/usr/bin/env bash
# What unmask's build needs, checked without a package manager (for
# UNMASK_SKIP_APT=1: clusters without root or without Debian). Prints each
# missing piece with the Debian and conda-forge packages that provide it, and
# exits 1 when anything is missing. docs/INSTALL.md has the same table.
#   scripts/prereqs.sh
set -uo pipefail
CXX="${CXX:-c++}"
missing=0
need() {  # what, debian, conda-forge, test...
  local what="$1" deb="$2" conda="$3"
  shift 3
  if ! "$@" >/dev/null 2>&1; then
    echo "[prereqs] missing: $what (Debian: $deb; conda-forge: $conda)" >&2
    missing=1
  fi
}
header() { echo "#include <$1>" | "$CXX" -std=c++17 -E -x c++ - -o /dev/null; }
pc() { pkg-config --exists "$1"; }
need "a C++17 compiler ($CXX)" build-essential "cxx-compiler" command -v "$CXX"
need "cmake >= 3.24" cmake cmake command -v cmake
need "ninja" ninja-build ninja command -v ninja
need "pkg-config" pkg-config pkg-config command -v pkg-config
need "python3 with venv" "python3 python3-venv" python python3 -c "import venv, ensurepip"
need "sentencepiece (pkg-config sentencepiece)" libsentencepiece-dev "libsentencepiece" pc sentencepiece
need "PCRE2 (pkg-config libpcre2-8)" libpcre2-dev pcre2 pc libpcre2-8
need "cpp-httplib (pkg-config cpp-httplib; unmask serve)" "libcpp-httplib-dev libbrotli-dev zlib1g-dev" cpp-httplib pc cpp-httplib
need "OpenSSL crypto headers" libssl-dev openssl header openssl/sha.h
need "nlohmann/json.hpp" nlohmann-json3-dev nlohmann_json header nlohmann/json.hpp
need "CLI/CLI.hpp (CLI11)" libcli11-dev cli11 header CLI/CLI.hpp
need "spdlog headers" libspdlog-dev spdlog header spdlog/spdlog.h
need "fmt headers" libfmt-dev fmt header fmt/format.h
need "utf8.h (utfcpp)" libutfcpp-dev utfcpp header utf8.h
need "gtest/gtest.h" "libgtest-dev googletest" gtest header gtest/gtest.h
need "gloo headers (compile-time only)" libgloo-dev "none: unpack Debian's libgloo-dev (apt-get download; dpkg-deb -x) onto CPATH" header gloo/config.h
need "the fortunes corpus (tests only)" fortunes "none: any Debian mirror's fortunes .deb, unpacked" test -d /usr/share/games/fortunes
if ((missing)); then
  echo "[prereqs] install the missing pieces (or put them on PATH, CPATH, PKG_CONFIG_PATH), then run scripts/setup.sh again" >&2
  exit 1
fi
echo "[prereqs] everything unmask's build needs is present" >&2
