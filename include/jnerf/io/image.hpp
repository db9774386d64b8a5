#pragma once
// A dense row-major image with interleaved channels: value(x, y, c) = data[(y*W + x)*C + c].
#include <cstddef>
#include <cstdint>
#include <vector>

namespace jnerf {

template <class T>
struct Image {
  int width = 0, height = 0, channels = 0;
  std::vector<T> data;

  Image() = default;
  Image(int w, int h, int c, T fill = T{}) : width(w), height(h), channels(c),
      data(static_cast<std::size_t>(w) * h * c, fill) {}

  bool empty() const { return data.empty(); }
  std::size_t pixels() const { return static_cast<std::size_t>(width) * height; }
  T& at(int x, int y, int c = 0) { return data[(static_cast<std::size_t>(y) * width + x) * channels + c]; }
  const T& at(int x, int y, int c = 0) const {
    return data[(static_cast<std::size_t>(y) * width + x) * channels + c];
  }
};

using ImageF = Image<float>;
using ImageU8 = Image<std::uint8_t>;
using ImageU16 = Image<std::uint16_t>;

}  // namespace jnerf
