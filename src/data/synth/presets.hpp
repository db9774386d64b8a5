#pragma once
// The preset table (names, default sizes, descriptions) and the room builders.
#include <cstdint>
#include <string>
#include <vector>

#include "scene.hpp"

namespace jnerf::synth {

struct PresetInfo {
  std::string name;     // what --preset takes
  std::string room;     // which room builder (room0, room1, room2)
  int width, height, frames;
  std::string summary;  // one line for --list
};

const std::vector<PresetInfo>& preset_table();
// nullptr when unknown.
const PresetInfo* find_preset(const std::string& name);

// Builds the room a preset uses; the seed varies textures and small placement jitter only
// (the class and instance set is the same for every seed).
Scene build_room(const std::string& room, std::uint64_t seed);

Scene build_living_room(std::uint64_t seed);  // room0
Scene build_office(std::uint64_t seed);       // room1
Scene build_bedroom(std::uint64_t seed);      // room2

}  // namespace jnerf::synth
