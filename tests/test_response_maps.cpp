#include <cmath>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "jnerf/core/error.hpp"
#include "jnerf/eval/response_maps.hpp"

using jnerf::ResponseSettings;

namespace {

std::vector<float> delta(int w, int h, int x, int y, float value = 1.f) {
  std::vector<float> m(static_cast<std::size_t>(w) * h, 0.f);
  m[static_cast<std::size_t>(y) * w + x] = value;
  return m;
}

void expect_map(const std::vector<float>& got, const std::vector<float>& want, float tol = 0.f) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "at " << i;
}

}  // namespace

TEST(ResponseMaps, BlurOfInteriorDeltaIsTheOuterProductKernel) {
  // [1/4 1/2 1/4] (x) [1/4 1/2 1/4]: centre 1/4, edge neighbours 1/8, corners 1/16.
  auto m = delta(5, 5, 2, 2);
  jnerf::gaussian_blur3(m, 5, 5);
  const float c = 0.25f, e = 0.125f, d = 0.0625f;
  expect_map(m, {0, 0, 0, 0, 0,  //
                 0, d, e, d, 0,  //
                 0, e, c, e, 0,  //
                 0, d, e, d, 0,  //
                 0, 0, 0, 0, 0});
}

TEST(ResponseMaps, BlurAtACornerReflectsWithoutRepeatingTheEdge) {
  // Delta at (0, 0) of a 3x3 image. Along row 0, [1 0 0] with index -1 reading index 1:
  //   x=0: 1/2*1 + 1/4*(x[1] + x[1]) = 1/2;  x=1: 1/4*(x[0] + x[2]) = 1/4;  x=2: 1/4*(x[1] + x[1]) = 0.
  // The same along the columns of that result: row 0 gets 1/2 of itself, row 1 gets 1/4
  // of row 0, row 2 nothing:
  //   [1/4  1/8   0]
  //   [1/8  1/16  0]
  //   [0    0     0]
  auto m = delta(3, 3, 0, 0);
  jnerf::gaussian_blur3(m, 3, 3);
  expect_map(m, {0.25f, 0.125f, 0, 0.125f, 0.0625f, 0, 0, 0, 0});
  // A delta at the far corner (2, 2) mirrors it.
  auto n = delta(3, 3, 2, 2);
  jnerf::gaussian_blur3(n, 3, 3);
  expect_map(n, {0, 0, 0, 0, 0.0625f, 0.125f, 0, 0.125f, 0.25f});
}

TEST(ResponseMaps, BlurOfOnePixelWideImages) {
  // Width 1: every horizontal neighbour is the pixel itself, so the row pass is the
  // identity (1/2 v + 1/4 (v + v) = v). The column [0 1 0] then gives
  //   y=0: 1/2*0 + 1/4*(m[1] + m[1]) = 1/2;  y=1: 1/2*1 = 1/2;  y=2: 1/4*(m[1] + m[1]) = 1/2.
  std::vector<float> col = {0, 1, 0};
  jnerf::gaussian_blur3(col, 1, 3);
  expect_map(col, {0.5f, 0.5f, 0.5f});
  std::vector<float> one = {0.7f};
  jnerf::gaussian_blur3(one, 1, 1);
  EXPECT_FLOAT_EQ(one[0], 0.7f);
}

TEST(ResponseMaps, BlurKeepsConstantsIncludingTheBorder) {
  std::vector<float> m(4 * 3, 0.375f);
  jnerf::gaussian_blur3(m, 4, 3);
  for (float v : m) EXPECT_FLOAT_EQ(v, 0.375f);
}

TEST(ResponseMaps, ClipsThenNormalisesByTheMaximum) {
  // No blur: [0.9, 0.4, 2.0] -> clip 0.8 -> [0.8, 0.4, 0.8] -> / (0.8 + 1e-7), where
  // 0.8 / (0.8 + 1e-7) = 1 - 1.25e-7 and 0.4 / (0.8 + 1e-7) = 0.5 - 0.625e-7.
  ResponseSettings s;
  s.blur = false;
  std::vector<float> m = {0.9f, 0.4f, 2.0f};
  EXPECT_TRUE(jnerf::postprocess_response(m, 3, 1, s));
  expect_map(m, {0.999999875f, 0.4999999375f, 0.999999875f}, 1e-7f);
  // A lower clip: [0.1, 0.3] -> [0.1, 0.2] -> / (0.2 + 1e-7): 0.2 / 0.2000001 = 1 - 5e-7.
  s.clip = 0.2f;
  std::vector<float> k = {0.1f, 0.3f};
  EXPECT_TRUE(jnerf::postprocess_response(k, 2, 1, s));
  expect_map(k, {0.49999975f, 0.9999995f}, 1e-7f);
}

TEST(ResponseMaps, NormaliseByMax) {
  // 4 + 1e-7 rounds to 4 in float, so the division is exact here.
  std::vector<float> m = {0.f, 2.f, 4.f, 1.f};
  jnerf::normalise_by_max(m);
  expect_map(m, {0.f, 0.5f, 1.f, 0.25f});
  // A zero map stays zero (0 / 1e-7).
  std::vector<float> z(5, 0.f);
  jnerf::normalise_by_max(z);
  for (float v : z) EXPECT_EQ(v, 0.f);
}

TEST(ResponseMaps, AbsentClassesAreZeroed) {
  // A single spike in a 100x100 map: clipped to 0.8, blurred to 0.2 / 0.1 / 0.05, then
  // normalised to 1 (centre), 1/2 (4 edge neighbours), 1/4 (4 corners).
  //   mean = (1 + 4/2 + 4/4) / 10^4 = 4e-4 < 0.01
  //   E[x^2] = (1 + 4/4 + 4/16) / 10^4 = 2.25e-4, std = sqrt(2.25e-4 - 1.6e-7) ~ 0.015 < 0.05
  // -> the class is taken as absent and the map zeroed.
  auto spike = delta(100, 100, 50, 50);
  EXPECT_FALSE(jnerf::postprocess_response(spike, 100, 100));
  for (float v : spike) EXPECT_EQ(v, 0.f);

  // An all-zero map is absent too.
  std::vector<float> zero(36, 0.f);
  EXPECT_FALSE(jnerf::postprocess_response(zero, 6, 6));
}

TEST(ResponseMaps, TheAbsentRuleNeedsBothSmallMeanAndSmallSpread) {
  ResponseSettings s;
  s.blur = false;  // exact fractions of ones
  const auto sparse = [](int ones) {
    std::vector<float> m(10000, 0.f);
    for (int i = 0; i < ones; ++i) m[static_cast<std::size_t>(i) * 197] = 1.f;
    return m;
  };
  // 10 ones in 10^4 pixels (values ~1 after normalising): p = 1e-3,
  //   mean = 1e-3 < 0.01, std = sqrt(p (1 - p)) = 0.0316 < 0.05 -> zeroed.
  auto few = sparse(10);
  EXPECT_FALSE(jnerf::postprocess_response(few, 100, 100, s));
  // 50 ones: p = 5e-3, mean 5e-3 < 0.01 but std = sqrt(0.004975) = 0.0705 >= 0.05 -> kept.
  auto more = sparse(50);
  EXPECT_TRUE(jnerf::postprocess_response(more, 100, 100, s));
  EXPECT_NEAR(more[0], 1.f, 2e-7f);
  // A 20x20 block of ones (with blur): mean ~ 400 / 10^4 = 0.04 >= 0.01 -> kept.
  std::vector<float> blob(10000, 0.f);
  for (int y = 40; y < 60; ++y)
    for (int x = 40; x < 60; ++x) blob[static_cast<std::size_t>(y) * 100 + x] = 1.f;
  EXPECT_TRUE(jnerf::postprocess_response(blob, 100, 100));
  EXPECT_NEAR(blob[50 * 100 + 50], 1.f, 2e-7f);  // interior: 0.8 everywhere around, max 0.8
  EXPECT_NEAR(blob[40 * 100 + 40], 0.5625f, 1e-6f);  // block corner: (3/4)^2 of the interior
}

TEST(ResponseMaps, ArgmaxPicksTheFirstMaximumAndMapsIds) {
  // pixel 0: maps 0 and 1 tie at 1 -> map 0 -> id 7
  // pixel 1: maps 1 and 2 tie at 5 -> map 1 -> id 3
  // pixel 2: map 2 is largest -> id 9
  // pixel 3: all zero -> map 0 -> id 7
  // pixel 4: map 1 is NaN -> taken as the maximum, as numpy does -> id 3
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<std::vector<float>> maps = {{1, 2, 3, 0, 9}, {1, 5, 3, 0, nan}, {0, 5, 4, 0, 1}};
  EXPECT_EQ(jnerf::argmax_labels(maps, {7, 3, 9}, 5), (std::vector<int>{7, 3, 9, 7, 3}));
}

TEST(ResponseMaps, BadShapesAreRejected) {
  std::vector<float> m(5, 0.f);
  EXPECT_THROW(jnerf::postprocess_response(m, 2, 2), jnerf::InputError);
  EXPECT_THROW(jnerf::gaussian_blur3(m, 0, 5), jnerf::InputError);
  const std::vector<std::vector<float>> maps = {{0, 1}, {1, 0}};
  EXPECT_THROW(jnerf::argmax_labels(maps, {1}, 2), jnerf::InputError);
  EXPECT_THROW(jnerf::argmax_labels(maps, {1, 2}, 3), jnerf::InputError);
  EXPECT_THROW(jnerf::argmax_labels({}, {}, 0), jnerf::InputError);
}
