#!/usr/bin/env bash
# Configures and builds jnerf in ${JNERF_BUILD_DIR:-build}. The CUDA backend is built when
# nvcc is found (set JNERF_CUDA=OFF to skip it). Extra CMake arguments pass through.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${JNERF_BUILD_DIR:-$root/build}
jobs=${JNERF_JOBS:-$(nproc)}

cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DJNERF_CUDA="${JNERF_CUDA:-ON}" "$@"
cmake --build "$build_dir" -j "$jobs"
