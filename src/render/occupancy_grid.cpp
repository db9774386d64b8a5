#include "jnerf/render/occupancy_grid.hpp"

#include <algorithm>
#include <cmath>

#include "jnerf/core/error.hpp"

namespace jnerf {

OccupancyGrid::OccupancyGrid(const std::array<double, 3>& box_min, const std::array<double, 3>& box_max,
                             int resolution, float threshold, float decay)
    : min_(box_min), max_(box_max), res_(resolution), threshold_(threshold), decay_(decay) {
  if (resolution < 1 || resolution > 512)
    throw InputError("occupancy grid resolution must be in 1..512, got " + std::to_string(resolution));
  for (int c = 0; c < 3; ++c) {
    if (!(max_[c] > min_[c])) throw InputError("occupancy grid: the scene box is empty");
    cell_[c] = (max_[c] - min_[c]) / res_;
  }
  // Everything starts occupied: cells are only emptied by evidence.
  density_.assign(static_cast<std::size_t>(res_) * res_ * res_, 1e6f);
  occupied_.assign(density_.size(), 1);
}

std::vector<float> OccupancyGrid::sample_points(std::mt19937_64& rng) const {
  const std::size_t n = cells();
  std::vector<float> points(3 * n);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (int z = 0; z < res_; ++z)
    for (int y = 0; y < res_; ++y)
      for (int x = 0; x < res_; ++x) {
        const std::size_t i = index(x, y, z);
        const int xyz[3] = {x, y, z};
        for (int c = 0; c < 3; ++c) points[c * n + i] = static_cast<float>(min_[c] + (xyz[c] + u(rng)) * cell_[c]);
      }
  return points;
}

void OccupancyGrid::update(const std::vector<float>& sigma) {
  if (sigma.size() != cells()) throw std::invalid_argument("occupancy grid update: one density per cell expected");
  for (std::size_t i = 0; i < cells(); ++i) {
    density_[i] = std::max(decay_ * density_[i], std::isfinite(sigma[i]) ? sigma[i] : 0.f);
    occupied_[i] = density_[i] > threshold_;
  }
}

void OccupancyGrid::set_density(const std::vector<float>& density) {
  if (density.size() != cells()) throw std::invalid_argument("occupancy grid: one density per cell expected");
  density_ = density;
  for (std::size_t i = 0; i < cells(); ++i) occupied_[i] = density_[i] > threshold_;
}

float OccupancyGrid::occupied_fraction() const {
  std::size_t n = 0;
  for (auto o : occupied_) n += o;
  return static_cast<float>(n) / static_cast<float>(cells());
}

bool OccupancyGrid::occupied_at(const double p[3]) const {
  int ijk[3];
  for (int c = 0; c < 3; ++c) {
    const double f = (p[c] - min_[c]) / cell_[c];
    if (f < 0 || f >= res_) return false;  // outside the box: nothing is modelled there
    ijk[c] = static_cast<int>(f);
  }
  return occupied(ijk[0], ijk[1], ijk[2]);
}

void OccupancyGrid::ray_bounds(const float* origins, const float* dirs, int R, float near, float far,
                               float* ray_near, float* ray_far) const {
  const double step_len = 0.5 * std::min({cell_[0], cell_[1], cell_[2]});
#pragma omp parallel for schedule(dynamic, 64)
  for (int r = 0; r < R; ++r) {
    const double o[3] = {origins[r], origins[R + r], origins[2 * R + r]};
    const double d[3] = {dirs[r], dirs[R + r], dirs[2 * R + r]};
    const double norm = std::sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
    const double dt = step_len / norm;  // t is z-depth: a step of dt moves dt * |d|
    double first = -1, last = -1;
    for (double t = near; t <= far; t += dt) {
      const double p[3] = {o[0] + t * d[0], o[1] + t * d[1], o[2] + t * d[2]};
      if (occupied_at(p)) {
        if (first < 0) first = t;
        last = t;
      }
    }
    if (first < 0) {
      ray_near[r] = far - static_cast<float>(dt);
      ray_far[r] = far;
    } else {
      ray_near[r] = static_cast<float>(std::max<double>(near, first - dt));
      ray_far[r] = static_cast<float>(std::min<double>(far, last + dt));
      if (!(ray_far[r] > ray_near[r])) ray_far[r] = ray_near[r] + static_cast<float>(dt);
    }
  }
}

}  // namespace jnerf
