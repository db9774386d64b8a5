#!/usr/bin/env bash
# The main job, end to end, on the built-in default: a generated benchmark room.
#   1. generate the room (Replica layout, semantic and instance ground truth);
#   2. train a NeRF on it (CPU preset, hash-grid model);
#   3. shape it (JacobiNeRF, geometric feature prior);
#   4. render the test views (PSNR / SSIM of the shaped NeRF);
#   5. propagate one click per class from training view 0 to every test view with the
#      first-order response (the reference's perturb2d as t -> 0), with the unshaped NeRF,
#      nearest-click and Semantic-NeRF-head baselines, and print the table;
#   6. the same clicks with linear2d (the reference's response at its step t = 0.1) on the
#      shaped NeRF, and with cosine2d (|cos| of Jacobians, not the reference's protocol) on
#      the shaped and the unshaped NeRF.
# Environment: JNERF_DEMO_ITERS (NeRF steps), JNERF_DEMO_SHAPE_ITERS (shaping steps),
# JNERF_DEMO_MODE (propagation mode), JNERF_DEMO_OUT, JNERF_DEMO_PRESET, JNERF_BUILD_DIR.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${JNERF_BUILD_DIR:-$root/build}
preset=${JNERF_DEMO_PRESET:-room0_small}
out=${JNERF_DEMO_OUT:-$root/runs/demo}
iters=${JNERF_DEMO_ITERS:-1000}
shape_iters=${JNERF_DEMO_SHAPE_ITERS:-3000}
mode=${JNERF_DEMO_MODE:-first_order2d}

"$root/scripts/setup.sh"
if [[ ! -x "$build_dir/jnerf" ]]; then
  "$root/scripts/build.sh"
fi
jnerf="$build_dir/jnerf"
rm -rf "$out"
start=$(date +%s)

echo "== 1. generate the benchmark scene ($preset)"
"$jnerf" synth --preset "$preset" --out "$out/scene" --preview
"$jnerf" dataset --data "$out/scene" --format replica --cameras-only

echo
echo "== 2. train a NeRF on it (stage nerf, $iters steps)"
"$jnerf" train --config "$root/configs/room0_small_cpu.json" --set "data.path=$out/scene" \
  --set "train.iters=$iters" --set "shape.iters=$shape_iters" --out "$out/run"

echo
echo "== 3. shape it (stage shape, $shape_iters steps)"
"$jnerf" train --stage shape --out "$out/run"

echo
echo "== 4. render the test views with the shaped NeRF"
"$jnerf" render --run "$out/run" --split test --out "$out/test"

echo
echo "== 5. propagate one click per class ($mode) and score every test view"
"$jnerf" propagate --run "$out/run" --set "propagate.mode=$mode" --out "$out/propagate" | tee "$out/table.md"

echo
echo "== 6. the same clicks with linear2d (the reference's step t = 0.1) and cosine2d (not the reference's)"
# linear2d on the shaped NeRF only (docs/BENCHMARKS.md has its unshaped numbers), cosine2d on both.
for other in linear2d cosine2d; do
  [[ $other == "$mode" ]] && continue
  baselines='[]'
  [[ $other == cosine2d ]] && baselines='["unshaped"]'
  "$jnerf" propagate --run "$out/run" --set "propagate.mode=$other" --set "propagate.baselines=$baselines" \
    --set "propagate.clicks_file=$out/propagate/clicks.json" --out "$out/propagate_$other" | tee "$out/table_$other.md"
done

echo
echo "scene preview:   $out/scene/preview.png"
echo "test renders:    $out/test/ (metrics.json)"
echo "propagation:     $out/propagate/ and $out/propagate_{linear2d,cosine2d}/ (metrics.json, results.md, strips per method)"
echo "total time:      $(( $(date +%s) - start )) s"
