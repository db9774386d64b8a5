#pragma once
// Writes the Replica / Semantic-NeRF layout:
//   rgb/rgb_{i}.png                          8-bit RGB
//   depth/depth_{i}.png                      uint16 z-depth, millimetres (0 = none)
//   semantic_class/semantic_class_{i}.png    uint8 class ids (0 = void)
//   semantic_instance/semantic_instance_{i}.png  uint16 instance ids (0 = void)
//   traj_w_c.txt                             one flattened row-major 4x4 T_wc per line
//   jnerf_scene.json                         metadata (see docs/SYNTH.md)
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "camera_path.hpp"
#include "renderer.hpp"
#include "scene.hpp"

namespace jnerf::synth {

// Creates the folders. Files of ours (the names above) that a previous run with more
// frames left behind are removed; nothing else in the folder is touched.
void prepare_output(const std::filesystem::path& out, int frames);

void write_frame(const std::filesystem::path& out, int index, const FrameImages& images);
void write_trajectory(const std::filesystem::path& out, const std::vector<Pose>& poses);

struct SceneMetadata {
  std::string preset;
  std::uint64_t seed = 0;
  int frames = 0;
  RenderSettings settings;  // size and intrinsics
  double depth_scale = 1000.0, near = 0.1, far = 10.0;  // written as given (exact decimals)
};
void write_metadata(const std::filesystem::path& out, const Scene& scene, const SceneMetadata& meta);

}  // namespace jnerf::synth
