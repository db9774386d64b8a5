#include "jnerf/eval/response_maps.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>

#include "jnerf/core/error.hpp"

namespace jnerf {
namespace {

void require_shape(const std::vector<float>& map, int width, int height, const char* what) {
  if (width < 1 || height < 1)
    throw InputError(std::string(what) + ": image size must be positive, got " + std::to_string(width) + "x" +
                     std::to_string(height));
  if (map.size() != static_cast<std::size_t>(width) * static_cast<std::size_t>(height))
    throw InputError(std::string(what) + ": map has " + std::to_string(map.size()) + " values, expected " +
                     std::to_string(width) + "x" + std::to_string(height));
}

// Reflect-101 index into 0..n-1 for i in -1..n (enough for a 3-tap kernel).
inline int reflect101(int i, int n) {
  if (n == 1) return 0;
  if (i < 0) return -i;
  if (i >= n) return 2 * n - 2 - i;
  return i;
}

constexpr float kCentre = 0.5f, kSide = 0.25f;

}  // namespace

void gaussian_blur3(std::vector<float>& map, int width, int height) {
  require_shape(map, width, height, "gaussian blur");
  const std::size_t W = static_cast<std::size_t>(width);
  std::vector<float> rows(map.size());
  for (int y = 0; y < height; ++y) {
    const float* src = map.data() + y * W;
    float* dst = rows.data() + y * W;
    for (int x = 0; x < width; ++x)
      dst[x] = src[x] * kCentre + (src[reflect101(x - 1, width)] + src[reflect101(x + 1, width)]) * kSide;
  }
  for (int y = 0; y < height; ++y) {
    const float* up = rows.data() + reflect101(y - 1, height) * W;
    const float* mid = rows.data() + y * W;
    const float* down = rows.data() + reflect101(y + 1, height) * W;
    float* dst = map.data() + y * W;
    for (int x = 0; x < width; ++x) dst[x] = mid[x] * kCentre + (up[x] + down[x]) * kSide;
  }
}

void normalise_by_max(std::vector<float>& map) {
  if (map.empty()) return;
  // As numpy's max: a NaN anywhere makes the maximum NaN. The sum max + 1e-7 is formed in
  // double and the division done in float, as numpy 1.x does for a float32 map.
  float top = -INFINITY;
  for (float v : map) {
    if (std::isnan(v)) {
      top = v;
      break;
    }
    if (v > top) top = v;
  }
  const float divisor = static_cast<float>(static_cast<double>(top) + 1e-7);
  for (float& v : map) v /= divisor;
}

bool postprocess_response(std::vector<float>& map, int width, int height, const ResponseSettings& settings) {
  require_shape(map, width, height, "response post-processing");
  for (float& v : map)
    if (v > settings.clip) v = settings.clip;
  if (settings.blur) gaussian_blur3(map, width, height);
  normalise_by_max(map);

  const double n = static_cast<double>(map.size());
  double sum = 0;
  for (float v : map) sum += v;
  const double mean = sum / n;
  double sq = 0;
  for (float v : map) sq += (v - mean) * (v - mean);
  const double stddev = std::sqrt(sq / n);
  if (stddev < settings.absent_std && mean < settings.absent_mean) {
    std::fill(map.begin(), map.end(), 0.0f);
    return false;
  }
  return true;
}

std::vector<int> argmax_labels(const std::vector<std::vector<float>>& maps, const std::vector<int>& ids, int pixels) {
  if (maps.empty()) throw InputError("argmax labels: no response maps");
  if (ids.size() != maps.size())
    throw InputError("argmax labels: " + std::to_string(maps.size()) + " response maps but " +
                     std::to_string(ids.size()) + " class ids");
  if (pixels < 0) throw InputError("argmax labels: negative pixel count " + std::to_string(pixels));
  for (std::size_t k = 0; k < maps.size(); ++k)
    if (maps[k].size() != static_cast<std::size_t>(pixels))
      throw InputError("argmax labels: response map " + std::to_string(k) + " has " +
                       std::to_string(maps[k].size()) + " values, expected " + std::to_string(pixels));

  std::vector<int> labels(static_cast<std::size_t>(pixels));
  for (std::size_t i = 0; i < labels.size(); ++i) {
    std::size_t best = 0;
    float top = maps[0][i];
    for (std::size_t k = 1; k < maps.size() && !std::isnan(top); ++k) {
      const float v = maps[k][i];
      if (v > top || std::isnan(v)) best = k, top = v;
    }
    labels[i] = ids[best];
  }
  return labels;
}

}  // namespace jnerf
