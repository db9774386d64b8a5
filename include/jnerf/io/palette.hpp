#pragma once
// A fixed colour palette for label maps (class and instance ids), the same in every
// output so that pictures from different runs compare at a glance. Id 0 (void) is black.
#include <array>
#include <cstdint>

#include "jnerf/io/image.hpp"

namespace jnerf {

std::array<std::uint8_t, 3> label_colour(std::uint32_t id);
// Colour-codes a 1-channel label map into an RGB image.
ImageU8 colourise_labels(const ImageU16& labels);

}  // namespace jnerf
