#pragma once
// Procedural benchmark scenes: a CPU ray tracer of analytic primitives that writes the
// Replica / Semantic-NeRF layout (see README "Generated scenes").
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

struct SynthSummary {
  int width = 0, height = 0, frames = 0;
  int num_classes = 0;              // including void (class 0)
  int num_instances = 0;            // excluding the void instance 0
  std::vector<std::string> class_names;
  double seconds = 0.0;
};

std::vector<std::string> synth_preset_names();
// One line per preset: name, default size and frame count, what is in it.
std::string synth_preset_description(const std::string& preset);
SynthSummary generate_scene(const SynthOptions& options);

}  // namespace jnerf
