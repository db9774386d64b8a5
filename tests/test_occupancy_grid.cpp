#include <random>

#include <gtest/gtest.h>

#include "jnerf/core/error.hpp"
#include "jnerf/render/occupancy_grid.hpp"

namespace {

// A 4^3 grid over [0, 4]^3 (unit cells) with only cell (2, 1, 1) dense.
jnerf::OccupancyGrid one_cell_grid() {
  jnerf::OccupancyGrid grid({0, 0, 0}, {4, 4, 4}, 4, 0.5f, 0.0f);
  std::vector<float> sigma(grid.cells(), 0.f);
  sigma[(1 * 4 + 1) * 4 + 2] = 10.f;
  grid.update(sigma);
  return grid;
}

}  // namespace

TEST(OccupancyGrid, StartsOccupiedAndEmptiesByEvidence) {
  jnerf::OccupancyGrid grid({0, 0, 0}, {1, 1, 1}, 8);
  EXPECT_FLOAT_EQ(grid.occupied_fraction(), 1.f);
  std::mt19937_64 rng(1);
  const std::vector<float> p = grid.sample_points(rng);
  ASSERT_EQ(p.size(), 3 * grid.cells());
  for (float v : p) EXPECT_TRUE(v >= 0.f && v <= 1.f);
  const jnerf::OccupancyGrid g = one_cell_grid();
  EXPECT_FLOAT_EQ(g.occupied_fraction(), 1.f / 64.f);
  EXPECT_TRUE(g.occupied(2, 1, 1));
  EXPECT_FALSE(g.occupied(1, 2, 1));
}

TEST(OccupancyGrid, AverageDecaysBeforeACellEmpties) {
  jnerf::OccupancyGrid grid({0, 0, 0}, {1, 1, 1}, 1, 0.01f, 0.5f);
  grid.update({0.04f});  // max(0.5 * 1e6, 0.04): still occupied from the initial state
  for (int i = 0; i < 40; ++i) grid.update({0.f});
  EXPECT_FALSE(grid.occupied(0, 0, 0));
  grid.update({0.02f});
  EXPECT_TRUE(grid.occupied(0, 0, 0));
}

TEST(OccupancyGrid, RayBoundsHugTheOccupiedCell) {
  const jnerf::OccupancyGrid grid = one_cell_grid();
  // Ray 0 along +x through y = z = 1.5 crosses cell (2, 1, 1) for x in [2, 3]; directions
  // are z-depth style but here |d| = 1 so t is the distance. Ray 1 at y = 3.5 misses it.
  const int R = 2;
  const float o[3 * R] = {-1.f, -1.f, 1.5f, 3.5f, 1.5f, 1.5f};
  const float d[3 * R] = {1.f, 1.f, 0.f, 0.f, 0.f, 0.f};
  float lo[R], hi[R];
  grid.ray_bounds(o, d, R, 0.5f, 8.f, lo, hi);
  const float step = 0.5f;  // half a cell
  EXPECT_GE(lo[0], 3.f - 2 * step - 1e-5f);  // enters the cell at t = 3 (x = 2)
  EXPECT_LE(lo[0], 3.f);
  EXPECT_GE(hi[0], 4.f - 1e-5f);  // leaves at t = 4 (x = 3)
  EXPECT_LE(hi[0], 4.f + 2 * step);
  // The miss gets a sliver at the far end: only background is seen.
  EXPECT_GT(lo[1], 7.f);
  EXPECT_FLOAT_EQ(hi[1], 8.f);
}

TEST(OccupancyGrid, RejectsBadGrids) {
  EXPECT_THROW(jnerf::OccupancyGrid({0, 0, 0}, {1, 1, 1}, 0), jnerf::InputError);
  EXPECT_THROW(jnerf::OccupancyGrid({0, 0, 0}, {1, 0, 1}, 8), jnerf::InputError);
}
