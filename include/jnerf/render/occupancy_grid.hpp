#pragma once
// Occupancy grid for the fast model (instant-ngp style): a coarse grid over the scene box
// holding an exponential moving average of the density at jittered cell centres. Cells
// whose average drops below a threshold are empty. Each ray's sample range is then
// clipped to the span between the first and last occupied cell it crosses, so the
// stratified and importance samples concentrate where there is matter.
// Host-side (ray bounds are computed where the rays are made, before upload).
#include <array>
#include <cstdint>
#include <random>
#include <vector>

namespace jnerf {

class OccupancyGrid {
 public:
  OccupancyGrid(const std::array<double, 3>& box_min, const std::array<double, 3>& box_max, int resolution,
                float threshold = 0.01f, float decay = 0.95f);

  int resolution() const { return res_; }
  std::size_t cells() const { return density_.size(); }

  // One jittered point per cell (3 x cells, feature-major), to be fed to the field.
  std::vector<float> sample_points(std::mt19937_64& rng) const;
  // Folds in the densities (sigma, after the activation) at those points:
  // avg = max(decay * avg, sigma), occupied = avg > threshold.
  void update(const std::vector<float>& sigma);
  float occupied_fraction() const;
  // The density averages (checkpoints) and restoring them (occupancy follows).
  const std::vector<float>& density() const { return density_; }
  void set_density(const std::vector<float>& density);
  bool occupied(int x, int y, int z) const { return occupied_[index(x, y, z)] != 0; }

  // Per-ray [near, far] inside the given range, clipped to the occupied cells each ray
  // crosses (marched at half-cell steps, widened by one step on both sides). Rays that
  // cross no occupied cell get an empty-space range at `far` (they see only background).
  // origins, dirs: 3 x R feature-major (z-depth directions).
  void ray_bounds(const float* origins, const float* dirs, int R, float near, float far, float* ray_near,
                  float* ray_far) const;

 private:
  std::size_t index(int x, int y, int z) const {
    return (static_cast<std::size_t>(z) * res_ + y) * res_ + x;
  }
  bool occupied_at(const double p[3]) const;

  std::array<double, 3> min_, max_, cell_;
  int res_;
  float threshold_, decay_;
  std::vector<float> density_;
  std::vector<std::uint8_t> occupied_;
};

}  // namespace jnerf
