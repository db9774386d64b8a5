#!/usr/bin/env bash
# The CUDA conformance tests without a GPU: configures and builds tests/emulation (the
# kernels rewritten into host C++ against an emulated CUDA runtime, under AddressSanitizer +
# UBSan), then runs every test program's *Cuda* tests. Fails if a test fails, crashes or is
# SKIPPED (a skip would mean the emulated device is not in effect). docs/CUDA_EMULATION.md.
#
#   JNERF_EMU_BUILD_DIR   build folder (default: build-emulation/ in the repository)
#   JNERF_EMU_JOBS        parallel compile jobs (default 2)
#   JNERF_EMU_TSAN=1      ThreadSanitizer instead of ASan + UBSan (use its own build folder)
#   JNERF_EMU_TIMEOUT     seconds one test program may run (default 1800)
#   JNERF_EMU_FILTER      gtest filter (default '*Cuda*')
# Arguments name test programs to run (default: all, e.g. `test_linear test_adam`).
# Needs what scripts/setup.sh installs (and python3); works offline. No CUDA toolkit needed.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tsan=${JNERF_EMU_TSAN:-0}
default_dir=$root/build-emulation
[[ "$tsan" == 1 ]] && default_dir=$root/build-emulation-tsan
build_dir=${JNERF_EMU_BUILD_DIR:-$default_dir}
jobs=${JNERF_EMU_JOBS:-2}
limit=${JNERF_EMU_TIMEOUT:-1800}
filter=${JNERF_EMU_FILTER:-*Cuda*}

command -v python3 >/dev/null || { echo "test_cuda_emulation: python3 is required" >&2; exit 1; }

t0=$(date +%s)
echo "== configure ($build_dir)"
mkdir -p "$build_dir"
cmake -S "$root/tests/emulation" -B "$build_dir" -DJNERF_EMU_TSAN="$([[ "$tsan" == 1 ]] && echo ON || echo OFF)" \
  >"$build_dir/configure.log" 2>&1 || { cat "$build_dir/configure.log" >&2; exit 1; }
echo "== build (-j $jobs)"
cmake --build "$build_dir" -j "$jobs"
t1=$(date +%s)

mapfile -t programs <"$build_dir/cuda_emulation_tests.txt"
if [[ $# -gt 0 ]]; then programs=("$@"); fi
results=$build_dir/results
rm -rf "$results"
mkdir -p "$results"

# Sanitizers: stop at the first error with a stack, keep the leak check.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:check_initialization_order=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}

echo "== run (filter '$filter')"
status=0
summary=()
total_run=0
# run_program NAME LABEL [VAR=VALUE...]: one test program under the given environment.
run_program() {
  local p=$1 label=$2
  shift 2
  local exe=$build_dir/$p
  [[ -x "$exe" ]] || { echo "test_cuda_emulation: no test program $p" >&2; exit 1; }
  local s e rc=0 run failed skipped verdict
  s=$(date +%s)
  env "$@" timeout -k 10 "$limit" "$exe" --gtest_filter="$filter" --gtest_output="json:$results/$label.json" \
    >"$results/$label.log" 2>&1 || rc=$?
  e=$(date +%s)
  # Counts from the JSON report: run, failed, skipped.
  read -r run failed skipped < <(python3 - "$results/$label.json" <<'EOF2'
import json, sys
try:
    report = json.load(open(sys.argv[1]))
except Exception:
    print(0, 0, 0)
    sys.exit(0)
run = failed = skipped = 0
for suite in report.get("testsuites", []):
    for t in suite.get("testsuite", []):
        if t.get("status") != "RUN":
            continue
        run += 1
        if t.get("result") == "SKIPPED":
            skipped += 1
        elif t.get("failures"):
            failed += 1
print(run, failed, skipped)
EOF2
)
  verdict=ok
  if [[ $rc -ne 0 ]]; then verdict="FAILED (exit $rc)"; fi
  [[ $rc -eq 124 || $rc -eq 137 ]] && verdict="TIMED OUT after ${limit}s"
  [[ "$skipped" -gt 0 ]] && verdict="FAILED ($skipped skipped: the emulation is not in effect)"
  [[ "$run" -eq 0 && $rc -eq 0 ]] && verdict="FAILED (no test matched '$filter')"
  if [[ "$verdict" != ok ]]; then
    status=1
    echo "---- $label: $verdict; the end of $results/$label.log:"
    grep -E "^\[  (FAILED|SKIPPED) |Failure|CUDA emulation: fatal|ERROR: AddressSanitizer|runtime error|ThreadSanitizer" \
      "$results/$label.log" | head -40 || true
    tail -n 30 "$results/$label.log"
  fi
  total_run=$((total_run + run))
  summary+=("$(printf '%-32s %4s run %4s failed %4s skipped %6ss  %s' "$label" "$run" "$failed" "$skipped" "$((e - s))" "$verdict")")
}

for p in "${programs[@]}"; do
  run_program "$p" "$p"
done
# The emulation's own tests once more with OS threads for the CUDA threads (the other scheduler).
if [[ " ${programs[*]} " == *" test_cuda_emulation "* && "$tsan" != 1 && "$filter" == '*Cuda*' ]]; then
  run_program test_cuda_emulation test_cuda_emulation_os_threads JNERF_CUDA_EMU_SCHEDULER=threads
fi
t2=$(date +%s)

echo "== summary"
printf '%s\n' "${summary[@]}"
echo "$total_run tests run; build $((t1 - t0))s, tests $((t2 - t1))s, total $((t2 - t0))s"
[[ $status -eq 0 ]] && echo "CUDA emulation: all passed" || echo "CUDA emulation: FAILED (logs in $results)"
exit $status
