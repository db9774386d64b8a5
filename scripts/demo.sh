#!/usr/bin/env bash
# The main job, end to end, on the built-in default: a generated benchmark room.
# Today it generates the scene, reads it back through the dataset loader and writes a
# contact sheet; training, shaping and propagation join as they land.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${JNERF_BUILD_DIR:-$root/build}
preset=${JNERF_DEMO_PRESET:-room0_small}
out=${JNERF_DEMO_OUT:-$root/runs/demo}

"$root/scripts/setup.sh"
if [[ ! -x "$build_dir/jnerf" ]]; then
  "$root/scripts/build.sh"
fi
jnerf="$build_dir/jnerf"

echo "== 1. generate the benchmark scene ($preset)"
"$jnerf" synth --preset "$preset" --out "$out/scene" --preview
echo
echo "== 2. read it back through the Replica loader"
"$jnerf" dataset --data "$out/scene" --format replica
echo
echo "contact sheet: $out/scene/preview.png"
