#pragma once
// Procedural benchmark scenes: a CPU ray tracer of analytic primitives that writes the
// Replica / Semantic-NeRF layout (see docs/SYNTH.md and README "Generated scenes").
//
//   out/rgb/rgb_{i}.png, out/depth/depth_{i}.png (uint16 mm), out/semantic_class/
//   semantic_class_{i}.png (uint8, 0 = void), out/semantic_instance/semantic_instance_{i}.png
//   (uint16, 0 = void), out/traj_w_c.txt (flattened 4x4 T_wc per line, OpenCV camera,
//   z-up world), out/jnerf_scene.json (metadata), out/preview.png (optional).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace jnerf {

struct SynthOptions {
  std::string preset;               // one of synth_preset_names()
  std::filesystem::path out;        // output folder (created)
  int width = 0, height = 0;        // 0 = the preset's default
  int frames = 0;                   // 0 = the preset's default
  std::uint64_t seed = 0;           // textures, camera path jitter
  bool preview = false;             // also write preview.png (contact sheet)
  int threads = 0;                  // 0 = OpenMP default
};

// Limits checked by generate_scene (InputError naming the value otherwise).
inline constexpr int kSynthMinSize = 8, kSynthMaxSize = 8192;
inline constexpr int kSynthMaxFrames = 100000;

struct SynthInstance {
  int id = 0;        // instance id in semantic_instance maps (1..)
  int class_id = 0;  // its class (index into class_names)
  std::string name;  // e.g. "chair_2"
};

struct SynthSummary {
  int width = 0, height = 0, frames = 0;
  int num_classes = 0;              // including void (class 0)
  int num_instances = 0;            // excluding the void instance 0
  std::vector<std::string> class_names;
  double seconds = 0.0;
  // Added detail (same content as jnerf_scene.json).
  std::string preset;
  std::uint64_t seed = 0;
  double fx = 0, fy = 0, cx = 0, cy = 0;
  std::vector<SynthInstance> instances;
  std::filesystem::path preview;    // preview.png when written, else empty
};

std::vector<std::string> synth_preset_names();
// One line per preset: name, default size and frame count, what is in it.
// InputError for an unknown name.
std::string synth_preset_description(const std::string& preset);
SynthSummary generate_scene(const SynthOptions& options);

}  // namespace jnerf
