#!/usr/bin/env bash
# The main job, end to end, on the built-in default: a generated benchmark room.
#   1. generate the room (Replica layout) and a contact sheet;
#   2. train a NeRF on it (CPU preset, a few minutes on 2 cores);
#   3. render the held-out test views and print PSNR / SSIM.
# Shaping and label propagation join this script as those stages land; until then the
# script says so at the end.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${JNERF_BUILD_DIR:-$root/build}
preset=${JNERF_DEMO_PRESET:-room0_small}
out=${JNERF_DEMO_OUT:-$root/runs/demo}
iters=${JNERF_DEMO_ITERS:-1000}

"$root/scripts/setup.sh"
if [[ ! -x "$build_dir/jnerf" ]]; then
  "$root/scripts/build.sh"
fi
jnerf="$build_dir/jnerf"
rm -rf "$out"

echo "== 1. generate the benchmark scene ($preset)"
"$jnerf" synth --preset "$preset" --out "$out/scene" --preview
"$jnerf" dataset --data "$out/scene" --format replica --cameras-only

echo
echo "== 2. train a NeRF on it (stage nerf, $iters steps)"
"$jnerf" train --config "$root/configs/room0_small_cpu.json" --set "data.path=$out/scene" \
  --set "train.iters=$iters" --out "$out/run"

echo
echo "== 3. render the test views"
"$jnerf" render --run "$out/run" --split test --out "$out/test"

echo
echo "scene preview: $out/scene/preview.png"
echo "test renders:  $out/test/ (metrics.json)"
echo "next stages (shaping, label propagation, the metrics table) are not built yet."
