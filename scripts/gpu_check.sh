#!/usr/bin/env bash
# The checks that need a CUDA GPU, in one run sized to about ten minutes on a 16-core
# machine with one GPU and no internet:
#   1. build (Release, sm_90 only unless JNERF_CUDA_ARCHS says otherwise) with the header
#      dependencies from .deps/ (scripts/bundle-deps.sh makes it on a networked machine);
#   2. every CUDA conformance test (gtest filter *Cuda*), then the same binaries under
#      compute-sanitizer memcheck;
#   3. `jnerf bench` on CUDA for the nerf, shape and propagate stages;
#   4. a short generate -> train -> shape -> propagate run on CUDA.
# Usage: scripts/gpu_check.sh [OUT]   (default: $OUT, else gpu_check_out/). Writes
# device.txt, build.log, tests.txt, sanitizer.txt, bench_<stage>.json, e2e.log and
# summary.md there; append what it reports to docs/GPU_LOG.md. Each step's failure is
# recorded and the later steps still run; the exit status is 1 if any step failed.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$(realpath -m "${1:-${OUT:-$root/gpu_check_out}}")
build=${JNERF_GPU_BUILD_DIR:-/tmp/jnerf-gpu-build}
archs=${JNERF_CUDA_ARCHS:-90}
jobs=$(nproc)
mkdir -p "$out"
summary="$out/summary.md"
status=0
step() {  # step NAME COMMAND...: run, time and record one step
  local name=$1
  shift
  local start=$SECONDS
  if "$@"; then
    echo "| $name | ok | $((SECONDS - start)) s |" >>"$summary"
  else
    echo "| $name | FAILED (exit $?) | $((SECONDS - start)) s |" >>"$summary"
    status=1
  fi
}

{
  echo "# GPU check, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo
  echo "| step | result | time |"
  echo "| --- | --- | --- |"
} >"$summary"
nvidia-smi -L >"$out/device.txt" 2>&1 || echo "nvidia-smi failed" >>"$out/device.txt"

configure_and_build() {
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DJNERF_CUDA=ON -DJNERF_NATIVE=OFF \
    -DJNERF_BUILD_BENCHMARKS=OFF -DCMAKE_CUDA_ARCHITECTURES="$archs" -DJNERF_DEPS_DIR="$root/.deps" &&
    cmake --build "$build" -j "$jobs"
}
# JNERF_GPU_SKIP_BUILD=1 reuses an existing build in $JNERF_GPU_BUILD_DIR.
if [[ ${JNERF_GPU_SKIP_BUILD:-0} != 1 ]]; then step build configure_and_build >"$out/build.log" 2>&1; fi

cuda_tests() {  # every test binary's CUDA tests; skips count as failures on a GPU machine
  local ok=0
  for t in "$build"/tests/test_*; do
    [[ -x $t ]] || continue
    local listed
    listed=$("$t" --gtest_list_tests --gtest_filter='*Cuda*' | grep -c '^  ')
    [[ $listed -gt 0 ]] || continue
    echo "== $(basename "$t") ($listed tests)"
    "$t" --gtest_filter='*Cuda*' --gtest_brief=1 || ok=1
    if "$t" --gtest_filter='*Cuda*' 2>&1 | grep -q '\[  SKIPPED \]'; then
      echo "   (skipped tests: the GPU was not usable)"
      ok=1
    fi
  done
  return $ok
}
step "CUDA conformance tests" cuda_tests >"$out/tests.txt" 2>&1

sanitized_tests() {
  local ok=0
  for t in "$build"/tests/test_*; do
    [[ -x $t ]] || continue
    [[ $("$t" --gtest_list_tests --gtest_filter='*Cuda*' | grep -c '^  ') -gt 0 ]] || continue
    echo "== $(basename "$t")"
    compute-sanitizer --tool memcheck --error-exitcode 3 "$t" --gtest_filter='*Cuda*' --gtest_brief=1 || ok=1
  done
  return $ok
}
step "compute-sanitizer memcheck" sanitized_tests >"$out/sanitizer.txt" 2>&1

jnerf="$build/jnerf"
for stage in nerf shape propagate; do
  step "bench --stage $stage (cuda)" "$jnerf" --device cuda bench --stage "$stage" \
    --config "$root/configs/room0_small_cpu.json" --iters 5 --warmup 2 \
    >"$out/bench_$stage.json" 2>"$out/bench_$stage.log"
done

e2e() {
  local work=/tmp/jnerf-gpu-e2e
  rm -rf "$work"
  "$jnerf" synth --preset room0_small --out "$work/scene" &&
    "$jnerf" --device cuda train --config "$root/configs/room0_small_cpu.json" --set "data.path=$work/scene" \
      --set train.iters=1000 --set shape.iters=1000 --out "$work/run" &&
    "$jnerf" --device cuda train --stage shape --out "$work/run" &&
    "$jnerf" --device cuda render --run "$work/run" --split test --out "$work/test" &&
    "$jnerf" --device cuda propagate --run "$work/run" --out "$work/propagate" &&
    cp "$work/propagate/results.md" "$out/e2e_results.md"
}
step "train + shape + propagate on cuda" e2e >"$out/e2e.log" 2>&1

cat "$summary"
exit $status
