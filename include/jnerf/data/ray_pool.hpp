#pragma once
// Ray batches drawn from every pixel of a set of views (the training views): uniform over
// all pixels of all views, with replacement, reproducible from the generator state.
#include <cstdint>
#include <random>
#include <vector>

#include "jnerf/data/dataset.hpp"

namespace jnerf {

struct RayBatch {
  int size = 0;
  std::vector<float> origins, dirs, target;  // 3 x size each, feature-major
  std::vector<std::int64_t> pixel;           // global pixel index of each ray
};

class RayPool {
 public:
  // Keeps pointers into `dataset`, which must outlive the pool.
  RayPool(const Dataset& dataset, const std::vector<int>& frame_indices);

  std::int64_t total_pixels() const { return offsets_.back(); }
  void sample(int count, std::mt19937_64& rng, RayBatch& batch) const;
  // The ray and colour of one global pixel index.
  void ray_at(std::int64_t pixel, float origin[3], float dir[3], float rgb[3]) const;
  // Which view (index into frame_indices) and pixel within it a global index is.
  std::pair<int, std::int64_t> locate(std::int64_t pixel) const;

 private:
  const Dataset& dataset_;
  std::vector<int> frames_;
  std::vector<PinholeCamera> cameras_;
  std::vector<std::int64_t> offsets_;  // prefix sums of pixel counts, size frames + 1
};

// All rays of one view, row-major pixel order, feature-major (3 x W*H).
void view_rays(const Frame& frame, std::vector<float>& origins, std::vector<float>& dirs);

}  // namespace jnerf
