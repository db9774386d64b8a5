#include <cmath>

#include <gtest/gtest.h>

#include "jnerf/core/error.hpp"
#include "jnerf/eval/image_metrics.hpp"

namespace {

jnerf::ImageF constant(int w, int h, float v) { return jnerf::ImageF(w, h, 3, v); }

}  // namespace

TEST(ImageMetrics, PsnrOfKnownError) {
  const auto a = constant(4, 4, 0.5f), b = constant(4, 4, 0.6f);
  EXPECT_NEAR(jnerf::mse(a, b), 0.01, 1e-8);
  EXPECT_NEAR(jnerf::psnr(a, b), 20.0, 1e-5);
  EXPECT_TRUE(std::isinf(jnerf::psnr(a, a)));
  EXPECT_THROW(jnerf::psnr(a, constant(5, 4, 0.f)), jnerf::InputError);
}

TEST(ImageMetrics, SsimOfConstantImagesHasClosedForm) {
  // For constant images x = a, y = b: variances and covariance vanish, so
  // SSIM = (2ab + C1) / (a^2 + b^2 + C1).
  const double a = 0.3, b = 0.7, c1 = 1e-4;
  EXPECT_NEAR(jnerf::ssim(constant(16, 12, 0.3f), constant(16, 12, 0.7f)),
              (2 * a * b + c1) / (a * a + b * b + c1), 1e-6);
  EXPECT_NEAR(jnerf::ssim(constant(16, 12, 0.3f), constant(16, 12, 0.3f)), 1.0, 1e-9);
}

TEST(ImageMetrics, SsimPenalisesStructureAndIsSymmetric) {
  jnerf::ImageF a(20, 20, 1), b(20, 20, 1);
  for (int y = 0; y < 20; ++y)
    for (int x = 0; x < 20; ++x) {
      a.at(x, y) = ((x + y) % 2) ? 0.8f : 0.2f;  // checkerboard
      b.at(x, y) = 0.5f;                         // same mean, no structure
    }
  const double s = jnerf::ssim(a, b);
  EXPECT_LT(s, 0.05);
  EXPECT_NEAR(s, jnerf::ssim(b, a), 1e-12);
  // Inverting the checkerboard gives a strongly negative correlation.
  jnerf::ImageF inv = a;
  for (float& v : inv.data) v = 1.f - v;
  EXPECT_LT(jnerf::ssim(a, inv), -0.9);
}
