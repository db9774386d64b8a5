#include "presets.hpp"

#include <stdexcept>

namespace jnerf::synth {

const std::vector<PresetInfo>& preset_table() {
  static const std::vector<PresetInfo> table = {
      {"room0", "room0", 320, 240, 900,
       "living room 6 x 5 x 2.7 m: sofa, cushions, coffee/dining/side tables, 4 chairs, rug, "
       "tv cabinet, tv, shelf with books, 2 lamps, 2 plants, 2 pictures"},
      {"room1", "room1", 320, 240, 900,
       "office 7 x 5 x 3 m: 4 desks, 4 monitors, 4 office chairs, 2 desk lamps, 2 filing "
       "cabinets, bookshelf, whiteboard, door, 2 bins, 2 plants"},
      {"room2", "room2", 320, 240, 900,
       "bedroom 5 x 4.5 x 2.6 m: bed, blanket, 2 pillows, 2 nightstands, 2 lamps, wardrobe, "
       "rug, 2 pictures, desk, chair, door"},
      {"room0_small", "room0", 160, 120, 120, "room0 at 160x120, 120 frames (quick CPU runs)"},
      {"room1_small", "room1", 160, 120, 120, "room1 at 160x120, 120 frames (quick CPU runs)"},
      {"room2_small", "room2", 160, 120, 120, "room2 at 160x120, 120 frames (quick CPU runs)"},
  };
  return table;
}

const PresetInfo* find_preset(const std::string& name) {
  for (const auto& p : preset_table())
    if (p.name == name) return &p;
  return nullptr;
}

Scene build_room(const std::string& room, std::uint64_t seed) {
  if (room == "room0") return build_living_room(seed);
  if (room == "room1") return build_office(seed);
  if (room == "room2") return build_bedroom(seed);
  throw std::logic_error("synth: no builder for room '" + room + "'");
}

}  // namespace jnerf::synth
