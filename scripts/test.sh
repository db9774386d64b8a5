#!/usr/bin/env bash
# The test command: install dependencies, configure, build (CUDA too when nvcc exists),
# run the whole suite with ctest. CUDA tests skip with a message where no GPU is found;
# tests that read ../shared/data skip where it is absent. Then the CUDA conformance tests
# run once more against the CPU emulation of CUDA, GPU or not (scripts/test_cuda_emulation.sh,
# its own build in build-emulation/; JNERF_TEST_EMULATION=0 leaves it out).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${JNERF_BUILD_DIR:-$root/build}

"$root/scripts/setup.sh"
"$root/scripts/build.sh" "$@"
cd "$build_dir"
ctest --output-on-failure -j "${JNERF_TEST_JOBS:-2}" --timeout 900

if [[ "${JNERF_TEST_EMULATION:-1}" != 0 ]]; then
  "$root/scripts/test_cuda_emulation.sh"
fi
