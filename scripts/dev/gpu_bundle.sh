#!/usr/bin/env bash
# Downloads, on this Debian 12 machine, the .deb files a bare GPU machine needs
# to build and check unmask (headers, CMake configs, their runtime libraries,
# pkgconf and the fortunes corpus) into an ignored folder, for
# scripts/gpu_check.sh to unpack there. Usage: scripts/dev/gpu_bundle.sh [DIR]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIR="${1:-$ROOT/.gpu-debs}"
mkdir -p "$DIR" && DIR="$(cd "$DIR" && pwd)"

# Each group is unpacked into its own prefix on the GPU machine, so that the
# include folders stay apart (Debian's fmt 9 must never shadow LibTorch's fmt):
# GROUP:package,package,...  The -dev package and its runtime library share a
# group because the .so link of the one points into the other.
GROUPS_SPEC=(
  "sentencepiece:libsentencepiece-dev,libsentencepiece0"
  "pcre2:libpcre2-dev,libpcre2-8-0,libpcre2-16-0,libpcre2-32-0,libpcre2-posix3"
  "nlohmann-json:nlohmann-json3-dev"
  "cli11:libcli11-dev"
  "fmt:libfmt-dev,libfmt9"
  "spdlog:libspdlog-dev,libspdlog1.10"
  "gtest:libgtest-dev"
  "openssl:libssl-dev,libssl3"
  "httplib:libcpp-httplib-dev,libcpp-httplib0.11,libbrotli-dev,libbrotli1,zlib1g-dev,zlib1g"
  "utfcpp:libutfcpp-dev"
  "gloo:libgloo-dev"
  "pkgconf:pkgconf-bin,libpkgconf3"
  "fortunes:fortunes,fortunes-min"
)

command -v apt-get >/dev/null || { echo "gpu_bundle: error: apt-get not found (run this on the Debian dev machine)" >&2; exit 1; }
mkdir -p "$DIR"
tmp="$(mktemp -d "$DIR/.download.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
manifest="$tmp/MANIFEST"
: >"$manifest"
for spec in "${GROUPS_SPEC[@]}"; do
  group="${spec%%:*}"
  IFS=, read -r -a pkgs <<<"${spec#*:}"
  for pkg in "${pkgs[@]}"; do
    version="$(dpkg-query -W -f='${Status} ${Version}' "$pkg" 2>/dev/null | awk '/install ok installed/ {print $4}')"
    # The installed version when the archive still has it, else the candidate.
    if ! { [[ -n "$version" ]] && (cd "$tmp" && apt-get download -qq "$pkg=$version" >/dev/null 2>&1); } &&
       ! (cd "$tmp" && apt-get download -qq "$pkg" >/dev/null 2>"$tmp/apt.err"); then
      echo "gpu_bundle: error: apt-get download $pkg failed: $(tail -1 "$tmp/apt.err") (try apt-get update)" >&2
      exit 1
    fi
    file="$(cd "$tmp" && ls -t "${pkg}"_*.deb | head -1)"
    echo "$group $file $(sha256sum "$tmp/$file" | cut -d' ' -f1)" >>"$manifest"
  done
done
rm -f "$tmp/apt.err"
# Replace the previous bundle only once the new one is complete.
find "$DIR" -maxdepth 1 -name '*.deb' -delete
rm -f "$DIR/MANIFEST"
mv "$tmp"/*.deb "$tmp/MANIFEST" "$DIR/"
echo "gpu_bundle: $(wc -l <"$DIR/MANIFEST") packages, $(du -sh "$DIR" | cut -f1) in $DIR"
