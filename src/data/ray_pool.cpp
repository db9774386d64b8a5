#include "jnerf/data/ray_pool.hpp"

#include <algorithm>

#include "jnerf/core/error.hpp"

namespace jnerf {

RayPool::RayPool(const Dataset& dataset, const std::vector<int>& frame_indices)
    : dataset_(dataset), frames_(frame_indices) {
  offsets_.push_back(0);
  for (int f : frames_) {
    const Frame& frame = dataset.frames.at(f);
    if (frame.rgb.empty()) throw InputError("view '" + frame.name + "' has no colour image loaded");
    cameras_.push_back(frame.pinhole());
    offsets_.push_back(offsets_.back() + static_cast<std::int64_t>(frame.rgb.pixels()));
  }
  if (total_pixels() == 0) throw InputError("no training pixels: the dataset has no training views");
}

std::pair<int, std::int64_t> RayPool::locate(std::int64_t pixel) const {
  const auto it = std::upper_bound(offsets_.begin(), offsets_.end(), pixel);
  const int view = static_cast<int>(it - offsets_.begin()) - 1;
  return {view, pixel - offsets_[view]};
}

void RayPool::ray_at(std::int64_t pixel, float origin[3], float dir[3], float rgb[3]) const {
  const auto [view, local] = locate(pixel);
  const Frame& frame = dataset_.frames[frames_[view]];
  const Ray ray = pixel_ray(cameras_[view], frame.rgb.width, local);
  for (int c = 0; c < 3; ++c) {
    origin[c] = ray.origin[c];
    dir[c] = ray.direction[c];
    rgb[c] = frame.rgb.data[static_cast<std::size_t>(local) * frame.rgb.channels + c];
  }
}

void RayPool::sample(int count, std::mt19937_64& rng, RayBatch& b) const {
  b.size = count;
  b.origins.resize(3 * count);
  b.dirs.resize(3 * count);
  b.target.resize(3 * count);
  b.pixel.resize(count);
  std::uniform_int_distribution<std::int64_t> pick(0, total_pixels() - 1);
  for (int r = 0; r < count; ++r) {
    b.pixel[r] = pick(rng);
    float o[3], d[3], c[3];
    ray_at(b.pixel[r], o, d, c);
    for (int k = 0; k < 3; ++k) {
      b.origins[k * count + r] = o[k];
      b.dirs[k * count + r] = d[k];
      b.target[k * count + r] = c[k];
    }
  }
}

void view_rays(const Frame& frame, std::vector<float>& origins, std::vector<float>& dirs) {
  const int w = frame.intrinsics.width, h = frame.intrinsics.height;
  const std::size_t n = static_cast<std::size_t>(w) * h;
  origins.resize(3 * n);
  dirs.resize(3 * n);
  const PinholeCamera cam = frame.pinhole();
#pragma omp parallel for schedule(static)
  for (long long p = 0; p < static_cast<long long>(n); ++p) {
    const Ray ray = pixel_ray(cam, w, p);
    for (int k = 0; k < 3; ++k) {
      origins[k * n + p] = ray.origin[k];
      dirs[k * n + p] = ray.direction[k];
    }
  }
}

}  // namespace jnerf
