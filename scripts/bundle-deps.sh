#!/usr/bin/env bash
# Gathers the header-only dependencies (Eigen, nlohmann/json, CLI11, spdlog, fmt, stb)
# and the GoogleTest sources into one folder, for building on a machine that has CUDA,
# CMake and a compiler but no internet and none of these libraries (e.g. a GPU box).
# Usage: scripts/bundle-deps.sh [FOLDER]   (default: .deps in the project root, which
# CMake picks up by itself; elsewhere pass -DJNERF_DEPS_DIR=FOLDER).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dest=$(realpath -m "${1:-$root/.deps}")
packages=(libeigen3-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev libstb-dev googletest)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
if ! apt-get download "${packages[@]}" >/dev/null 2>&1; then
  echo "bundle-deps: apt-get download failed; refreshing the package lists" >&2
  if [[ $(id -u) -eq 0 ]]; then apt-get update -qq; else sudo apt-get update -qq; fi
  apt-get download "${packages[@]}"
fi
mkdir -p "$dest"
for deb in ./*.deb; do dpkg -x "$deb" "$dest"; done
# Only headers and sources are needed; drop docs and the compiled libraries.
rm -rf "$dest/usr/share/doc" "$dest/usr/lib"
echo "bundle-deps: $(ls "$work"/*.deb | wc -l) packages unpacked into $dest"
du -sh "$dest"
