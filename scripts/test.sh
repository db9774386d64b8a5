#!/usr/bin/env bash
# The test command: install dependencies, configure, build (CUDA too when nvcc exists),
# run the whole suite with ctest. CUDA tests skip with a message where no GPU is found;
# tests that read ../shared/data skip where it is absent.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${JNERF_BUILD_DIR:-$root/build}

"$root/scripts/setup.sh"
"$root/scripts/build.sh" "$@"
cd "$build_dir"
ctest --output-on-failure -j "${JNERF_TEST_JOBS:-2}" --timeout 900
