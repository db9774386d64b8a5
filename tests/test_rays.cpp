#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "jnerf/data/rays.hpp"

#include "cuda_test_support.hpp"

namespace {

// A camera at (1, 2, 3) rotated 90 degrees about the world z axis.
jnerf::PinholeCamera test_camera() {
  jnerf::PinholeCamera cam{100.f, 80.f, 9.5f, 4.5f, {0, -1, 0, 1, 1, 0, 0, 2, 0, 0, 1, 3}};
  return cam;
}

}  // namespace

TEST(CameraRay, PrincipalPointLooksDownTheOpticalAxis) {
  const jnerf::PinholeCamera cam = test_camera();
  const jnerf::Ray ray = jnerf::camera_ray(cam, cam.cx, cam.cy);
  EXPECT_FLOAT_EQ(ray.origin[0], 1.f);
  EXPECT_FLOAT_EQ(ray.origin[1], 2.f);
  EXPECT_FLOAT_EQ(ray.origin[2], 3.f);
  // Camera z maps to world z (third column of R).
  EXPECT_FLOAT_EQ(ray.direction[0], 0.f);
  EXPECT_FLOAT_EQ(ray.direction[1], 0.f);
  EXPECT_FLOAT_EQ(ray.direction[2], 1.f);
}

TEST(CameraRay, DirectionsHaveUnitDepthAndProjectBack) {
  const jnerf::PinholeCamera cam = test_camera();
  for (float u : {0.f, 3.f, 19.f})
    for (float v : {0.f, 7.f}) {
      const jnerf::Ray ray = jnerf::camera_ray(cam, u, v);
      // Back to camera coordinates: d_cam = R^T d. Its z must be 1 and it must project to (u, v).
      float d_cam[3] = {0, 0, 0};
      for (int c = 0; c < 3; ++c)
        for (int r = 0; r < 3; ++r) d_cam[c] += cam.c2w[4 * r + c] * ray.direction[r];
      EXPECT_NEAR(d_cam[2], 1.f, 1e-6f);
      EXPECT_NEAR(cam.fx * d_cam[0] / d_cam[2] + cam.cx, u, 1e-4f);
      EXPECT_NEAR(cam.fy * d_cam[1] / d_cam[2] + cam.cy, v, 1e-4f);
    }
}

TEST(CameraRay, BatchMatchesPerPixelRowMajor) {
  const jnerf::PinholeCamera cam = test_camera();
  const int width = 20;
  std::vector<float> o(3 * 30), d(3 * 30);
  jnerf::generate_rays_cpu(cam, width, 15, 30, o.data(), d.data());
  for (int k = 0; k < 30; ++k) {
    const int index = 15 + k;
    const jnerf::Ray ray = jnerf::camera_ray(cam, float(index % width), float(index / width));
    for (int c = 0; c < 3; ++c) {
      EXPECT_FLOAT_EQ(o[3 * k + c], ray.origin[c]);
      EXPECT_FLOAT_EQ(d[3 * k + c], ray.direction[c]);
    }
  }
}

// CPU/CUDA conformance: runs where a GPU is present, skips cleanly elsewhere.
TEST(CudaConformance, RayGenerationMatchesCpu) {
  JN_REQUIRE_CUDA();
#ifdef JNERF_HAVE_CUDA
  const jnerf::PinholeCamera cam = test_camera();
  const int width = 37;
  const long long count = 37 * 23;
  std::vector<float> o(3 * count), d(3 * count);
  jnerf::generate_rays_cpu(cam, width, 0, count, o.data(), d.data());
  jnerf::test::DeviceBuffer dev_o(std::vector<float>(3 * count)), dev_d(std::vector<float>(3 * count));
  jnerf::generate_rays_cuda(cam, width, 0, count, dev_o.ptr, dev_d.ptr);
  const std::vector<float> go = dev_o.download(), gd = dev_d.download();
  for (long long i = 0; i < 3 * count; ++i) {
    ASSERT_FLOAT_EQ(go[i], o[i]) << i;
    ASSERT_NEAR(gd[i], d[i], 1e-6f) << i;  // FMA contraction may differ in the last bit
  }
#endif
}
