#include "jnerf/io/palette.hpp"

namespace jnerf {

std::array<std::uint8_t, 3> label_colour(std::uint32_t id) {
  if (id == 0) return {0, 0, 0};
  // The first ids get hand-picked, well-separated colours; later ones a hashed colour
  // kept away from black so they never read as void.
  static constexpr std::uint8_t kFixed[][3] = {
      {230, 25, 75},  {60, 180, 75},   {255, 225, 25}, {0, 130, 200},  {245, 130, 48},
      {145, 30, 180}, {70, 240, 240},  {240, 50, 230}, {210, 245, 60}, {250, 190, 212},
      {0, 128, 128},  {220, 190, 255}, {170, 110, 40}, {255, 250, 200}, {128, 0, 0},
      {170, 255, 195}, {128, 128, 0},  {255, 215, 180}, {0, 0, 128},   {128, 128, 128}};
  constexpr std::uint32_t kCount = sizeof(kFixed) / sizeof(kFixed[0]);
  if (id <= kCount) return {kFixed[id - 1][0], kFixed[id - 1][1], kFixed[id - 1][2]};
  std::uint32_t h = id * 0x9E3779B1u;
  h ^= h >> 15;
  h *= 0x85EBCA77u;
  h ^= h >> 13;
  return {static_cast<std::uint8_t>(64 + (h & 0xbf)), static_cast<std::uint8_t>(64 + ((h >> 8) & 0xbf)),
          static_cast<std::uint8_t>(64 + ((h >> 16) & 0xbf))};
}

ImageU8 colourise_labels(const ImageU16& labels) {
  ImageU8 out(labels.width, labels.height, 3);
  for (std::size_t i = 0; i < labels.pixels(); ++i) {
    const auto c = label_colour(labels.data[i * labels.channels]);
    for (int k = 0; k < 3; ++k) out.data[i * 3 + k] = c[k];
  }
  return out;
}

}  // namespace jnerf
