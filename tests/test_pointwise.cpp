// The element-wise stages between the pipeline's big ones: sample points and view
// directions, the colour sigmoid and axpy. CPU against values written out by hand, CUDA
// against the CPU.
#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

#include "cuda_test_support.hpp"
#include "jnerf/render/pointwise.hpp"

namespace {

// Two rays (feature-major 3 x R), three depths each (ray-major).
struct TwoRays {
  const int R = 2, S = 3;
  std::vector<double> origins = {0.0, 1.0, 0.0, 2.0, 0.0, -1.0};  // o0 = (0,0,0), o1 = (1,2,-1)
  std::vector<double> dirs = {3.0, 0.0, 0.0, 0.0, 4.0, 2.0};      // d0 = (3,0,4), d1 = (0,0,2)
  std::vector<double> t = {0.5, 1.0, 2.0, 0.25, 1.5, 3.0};
};

}  // namespace

TEST(Pointwise, SamplePointsAreOriginPlusDepthTimesDirection) {
  const TwoRays in;
  const int n = in.R * in.S;
  std::vector<double> points(3 * n), view(3 * n), norm(in.R);
  jnerf::ray_sample_points_cpu<double>(in.R, in.S, in.origins.data(), in.dirs.data(), in.t.data(), points.data(),
                                       view.data(), norm.data());
  EXPECT_EQ(norm, (std::vector<double>{5.0, 2.0}));
  // Ray 0, depth 2: (6, 0, 8); ray 1, depth 1.5: (1, 2, 2).
  EXPECT_DOUBLE_EQ(points[2], 6.0);
  EXPECT_DOUBLE_EQ(points[n + 2], 0.0);
  EXPECT_DOUBLE_EQ(points[2 * n + 2], 8.0);
  EXPECT_DOUBLE_EQ(points[4], 1.0);
  EXPECT_DOUBLE_EQ(points[n + 4], 2.0);
  EXPECT_DOUBLE_EQ(points[2 * n + 4], 2.0);
  for (int s = 0; s < n; ++s) {  // unit directions, the same for every sample of a ray
    const bool first = s < in.S;
    EXPECT_DOUBLE_EQ(view[s], first ? 0.6 : 0.0);
    EXPECT_DOUBLE_EQ(view[n + s], 0.0);
    EXPECT_DOUBLE_EQ(view[2 * n + s], first ? 0.8 : 1.0);
  }
  EXPECT_THROW(jnerf::ray_sample_points_cpu<double>(in.R, 0, in.origins.data(), in.dirs.data(), in.t.data(),
                                                    points.data(), view.data(), norm.data()),
               std::invalid_argument);
}

TEST(Pointwise, SigmoidBackwardMatchesFiniteDifferencesInPlace) {
  const std::vector<double> x = {-30.0, -2.0, -0.1, 0.0, 0.7, 5.0};
  std::vector<double> y(x.size()), g = {1.0, -2.0, 0.5, 3.0, -1.0, 2.0};
  const std::vector<double> dy = g;
  jnerf::sigmoid_forward_cpu<double>(static_cast<long long>(x.size()), x.data(), y.data());
  EXPECT_DOUBLE_EQ(y[3], 0.5);
  jnerf::sigmoid_backward_cpu<double>(static_cast<long long>(x.size()), y.data(), g.data(), g.data());  // dx = dy
  const double h = 1e-6;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double fd = (1 / (1 + std::exp(-(x[i] + h))) - 1 / (1 + std::exp(-(x[i] - h)))) / (2 * h);
    EXPECT_NEAR(g[i], dy[i] * fd, 1e-9) << i;
  }
}

TEST(Pointwise, AxpyAddsAScaledVector) {
  const std::vector<double> x = {1.0, -2.0, 4.0};
  std::vector<double> y = {0.5, 0.5, 0.5};
  jnerf::axpy_cpu<double>(3, -0.5, x.data(), y.data());
  EXPECT_EQ(y, (std::vector<double>{0.0, 1.5, -1.5}));
}

TEST(CudaConformancePointwise, MatchesCpu) {
  JN_REQUIRE_CUDA();
#ifdef JNERF_HAVE_CUDA
  const int R = 1000, S = 37;  // neither a multiple of the block size
  const long long n = static_cast<long long>(R) * S;
  std::mt19937_64 rng(4);
  std::uniform_real_distribution<float> u(-2.f, 2.f);
  std::vector<float> origins(3 * R), dirs(3 * R), t(n), x(n), dy(n);
  for (float& v : origins) v = u(rng);
  for (float& v : dirs) v = u(rng);
  for (float& v : t) v = u(rng) + 3.f;
  for (float& v : x) v = 4.f * u(rng);
  for (float& v : dy) v = u(rng);
  using jnerf::test::DeviceBuffer;
  const auto close = [](const std::vector<float>& gpu, const std::vector<float>& cpu, float tol, const char* what) {
    ASSERT_EQ(gpu.size(), cpu.size());
    for (std::size_t i = 0; i < gpu.size(); ++i)
      ASSERT_NEAR(gpu[i], cpu[i], tol * (1 + std::abs(cpu[i]))) << what << " " << i;
  };

  std::vector<float> points(3 * n), view(3 * n), norm(R);
  jnerf::ray_sample_points_cpu<float>(R, S, origins.data(), dirs.data(), t.data(), points.data(), view.data(),
                                      norm.data());
  DeviceBuffer d_o(origins), d_d(dirs), d_t(t), d_p(points), d_v(view), d_n(norm);
  jnerf::ray_sample_points_cuda(R, S, d_o.ptr, d_d.ptr, d_t.ptr, d_p.ptr, d_v.ptr, d_n.ptr);
  close(d_p.download(), points, 1e-6f, "points");
  close(d_v.download(), view, 1e-6f, "view directions");
  close(d_n.download(), norm, 1e-6f, "norms");

  std::vector<float> y(n), dx(n), axpy = dy;
  jnerf::sigmoid_forward_cpu<float>(n, x.data(), y.data());
  jnerf::sigmoid_backward_cpu<float>(n, y.data(), dy.data(), dx.data());
  jnerf::axpy_cpu<float>(n, 0.25f, x.data(), axpy.data());
  DeviceBuffer d_x(x), d_y(y), d_dy(dy), d_axpy(dy);
  jnerf::sigmoid_forward_cuda(n, d_x.ptr, d_y.ptr);
  close(d_y.download(), y, 1e-6f, "sigmoid");
  jnerf::sigmoid_backward_cuda(n, d_y.ptr, d_dy.ptr, d_dy.ptr);  // in place, as the pipeline calls it
  close(d_dy.download(), dx, 1e-6f, "sigmoid backward");
  jnerf::axpy_cuda(n, 0.25f, d_x.ptr, d_axpy.ptr);
  close(d_axpy.download(), axpy, 1e-6f, "axpy");
#endif
}
