#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "cuda_test_support.hpp"
#include "jnerf/train/adam.hpp"

TEST(Adam, LearningRateDecaysByTheSchedule) {
  jnerf::AdamConfig c;
  EXPECT_FLOAT_EQ(jnerf::scheduled_lr(c, 0), 5e-4f);
  EXPECT_NEAR(jnerf::scheduled_lr(c, 250000), 5e-5f, 1e-10f);
  EXPECT_NEAR(jnerf::scheduled_lr(c, 125000), 5e-4f * std::sqrt(0.1f), 1e-9f);
}

// Three steps against an independent transcription of torch.optim.Adam's update.
TEST(Adam, StepsMatchTheReferenceUpdate) {
  jnerf::AdamConfig c;
  c.lr = 0.01f;
  std::vector<double> p = {0.5, -1.0, 2.0}, m(3, 0.0), v(3, 0.0);
  std::vector<double> ref_p = p, ref_m(3, 0.0), ref_v(3, 0.0);
  const std::vector<std::vector<double>> grads = {{0.1, -0.2, 3.0}, {0.05, 0.4, -1.0}, {-0.3, 0.0, 0.5}};
  for (int t = 1; t <= 3; ++t) {
    const auto& g = grads[t - 1];
    jnerf::adam_step_cpu(jnerf::make_adam_step(c, t, 0.0), p.data(), m.data(), v.data(), g.data(), 3);
    const double lr = 0.01 * std::pow(0.1, (t - 1) / 250000.0);
    for (int i = 0; i < 3; ++i) {
      ref_m[i] = 0.9 * ref_m[i] + 0.1 * g[i];
      ref_v[i] = 0.999 * ref_v[i] + 0.001 * g[i] * g[i];
      const double mh = ref_m[i] / (1 - std::pow(0.9, t)), vh = ref_v[i] / (1 - std::pow(0.999, t));
      ref_p[i] -= lr * mh / (std::sqrt(vh) + 1e-8);
    }
  }
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(p[i], ref_p[i], 1e-7) << i;
}

TEST(Adam, GlobalNormClippingScalesGradients) {
  jnerf::AdamConfig c;
  c.grad_clip = 1.0f;
  const std::vector<float> g = {3.f, 4.f};
  const double norm = jnerf::gradient_norm_cpu(g.data(), g.size());
  EXPECT_DOUBLE_EQ(norm, 5.0);
  EXPECT_NEAR(jnerf::make_adam_step(c, 1, norm).grad_scale, 1.0 / (5.0 + 1e-6), 1e-7);
  EXPECT_FLOAT_EQ(jnerf::make_adam_step(c, 1, 0.5).grad_scale, 1.f);  // under the limit
  c.grad_clip = 0.f;
  EXPECT_FLOAT_EQ(jnerf::make_adam_step(c, 1, 100.0).grad_scale, 1.f);  // disabled
}

// Three steps over a parameter array that is not a multiple of the block size, with a
// clipping scale and the decayed rate: the CUDA kernel against the CPU step.
TEST(CudaConformanceAdam, StepsMatchCpu) {
  JN_REQUIRE_CUDA();
#ifdef JNERF_HAVE_CUDA
  const std::size_t n = 100003;
  std::mt19937_64 rng(2);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> p(n), m(n, 0.f), v(n, 0.f);
  for (float& x : p) x = u(rng);
  jnerf::test::DeviceBuffer dp(p), dm(m), dv(v);
  jnerf::AdamConfig c;
  c.lr = 0.01f;
  c.grad_clip = 1.f;
  for (int t = 1; t <= 3; ++t) {
    std::vector<float> g(n);
    for (float& x : g) x = u(rng) * (t == 2 ? 1e-3f : 1.f);
    const jnerf::AdamStep step = jnerf::make_adam_step(c, t, jnerf::gradient_norm_cpu(g.data(), n));
    jnerf::adam_step_cpu(step, p.data(), m.data(), v.data(), g.data(), n);
    jnerf::test::DeviceBuffer dg(g);
    jnerf::adam_step_cuda(step, dp.ptr, dm.ptr, dv.ptr, dg.ptr, n);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  }
  const std::vector<float> gp = dp.download(), gm = dm.download(), gv = dv.download();
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_NEAR(gp[i], p[i], 1e-6f * (1 + std::abs(p[i]))) << i;
    ASSERT_NEAR(gm[i], m[i], 1e-6f * std::abs(m[i]) + 1e-12f) << i;
    ASSERT_NEAR(gv[i], v[i], 1e-6f * std::abs(v[i]) + 1e-15f) << i;
  }
#endif
}
