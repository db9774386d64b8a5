// Stratified and hierarchical (importance) sampling on the CPU, and CPU/CUDA conformance.
#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "cuda_test_support.hpp"
#ifdef JNERF_HAVE_CUDA
using jnerf::test::DeviceBuffer;
#endif

#include "jnerf/render/sampling.hpp"

#ifdef JNERF_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

namespace {

// ---- stratified ----------------------------------------------------------------------------

TEST(Stratified, DeterministicIsLinspaceWithBothEnds) {
  const long long R = 2;
  const int S = 7;
  std::vector<double> t(R * S);
  const std::vector<double> near = {0.1, 2.0}, far = {10.0, 3.5};
  jnerf::stratified_samples_cpu<double>(R, S, 0.0, 0.0, near.data(), far.data(), nullptr, t.data());
  for (long long r = 0; r < R; ++r) {
    EXPECT_EQ(t[r * S], near[r]);
    EXPECT_EQ(t[r * S + S - 1], far[r]);
    for (int i = 0; i < S; ++i) EXPECT_NEAR(t[r * S + i], near[r] + (far[r] - near[r]) * i / (S - 1), 1e-14);
  }
  // Shared bounds (no per-ray arrays), float: the paper's 64 samples on [0.1, 10].
  std::vector<float> tf(64);
  jnerf::stratified_samples_cpu<float>(1, 64, 0.1f, 10.f, nullptr, nullptr, nullptr, tf.data());
  EXPECT_EQ(tf.front(), 0.1f);
  EXPECT_EQ(tf.back(), 10.f);
  for (int i = 0; i < 64; ++i) EXPECT_NEAR(tf[i], 0.1 + 9.9 * i / 63.0, 2e-6);
  std::vector<float> one(1);
  jnerf::stratified_samples_cpu<float>(1, 1, 2.f, 6.f, nullptr, nullptr, nullptr, one.data());
  EXPECT_EQ(one[0], 2.f);  // torch.linspace(0, 1, 1) = [0]
}

TEST(Stratified, PerturbedStaysInItsStratumAndIsMonotone) {
  const long long R = 50;
  const int S = 16;
  std::mt19937 rng(17u);
  std::uniform_real_distribution<double> U(0.0, 1.0);
  std::vector<double> u(R * S), t(R * S), grid(R * S);
  for (double& x : u) x = U(rng);
  u[0] = 0.0;             // lower end of the first stratum
  u[S - 1] = 0.99999999;  // upper end of the last
  jnerf::stratified_samples_cpu<double>(R, S, 0.5, 4.0, nullptr, nullptr, u.data(), t.data());
  jnerf::stratified_samples_cpu<double>(R, S, 0.5, 4.0, nullptr, nullptr, nullptr, grid.data());
  for (long long r = 0; r < R; ++r)
    for (int i = 0; i < S; ++i) {
      const double* z = grid.data() + r * S;
      const double lower = i == 0 ? z[0] : 0.5 * (z[i - 1] + z[i]);
      const double upper = i == S - 1 ? z[S - 1] : 0.5 * (z[i] + z[i + 1]);
      const double v = t[r * S + i];
      EXPECT_GE(v, lower);
      EXPECT_LE(v, upper);
      EXPECT_NEAR(v, lower + (upper - lower) * u[r * S + i], 1e-14);
      if (i > 0) {
        EXPECT_GE(v, t[r * S + i - 1]);
      }
    }
  EXPECT_EQ(t[0], 0.5);
  EXPECT_NEAR(t[S - 1], 4.0, 1e-7);
  // In float too, with extreme uniforms, monotone within [near, far].
  std::vector<float> uf(R * S), tf(R * S);
  for (size_t i = 0; i < uf.size(); ++i) uf[i] = (i % 3 == 0) ? 0.f : (i % 3 == 1 ? 0.99999994f : float(U(rng)));
  jnerf::stratified_samples_cpu<float>(R, S, 0.1f, 10.f, nullptr, nullptr, uf.data(), tf.data());
  for (long long r = 0; r < R; ++r)
    for (int i = 0; i < S; ++i) {
      EXPECT_GE(tf[r * S + i], 0.1f);
      EXPECT_LE(tf[r * S + i], 10.f);
      if (i > 0) {
        EXPECT_GE(tf[r * S + i], tf[r * S + i - 1]);
      }
    }
}

// ---- importance ------------------------------------------------------------------------------

// The new samples of one ray: z_fine minus the coarse z (multiset difference).
std::vector<double> new_samples(const std::vector<double>& fine, const std::vector<double>& coarse) {
  std::vector<double> rest;
  std::vector<double> c = coarse;
  std::sort(c.begin(), c.end());
  std::set_difference(fine.begin(), fine.end(), c.begin(), c.end(), std::back_inserter(rest));
  return rest;
}

TEST(Importance, UniformWeightsSpreadDeterministicSamplesEvenly) {
  const int S = 9, Nf = 15;
  std::vector<double> z(S), w(S, 0.3), fine(S + Nf);
  for (int i = 0; i < S; ++i) z[i] = i;  // bins 0.5 .. 7.5, 7 intervals
  jnerf::importance_samples_cpu<double>(1, S, Nf, z.data(), w.data(), nullptr, fine.data());
  EXPECT_TRUE(std::is_sorted(fine.begin(), fine.end()));
  const std::vector<double> s = new_samples(fine, z);
  ASSERT_EQ(s.size(), size_t(Nf));
  for (int k = 0; k < Nf; ++k) EXPECT_NEAR(s[k], 0.5 + 7.0 * k / (Nf - 1), 1e-12) << k;
}

TEST(Importance, AllWeightInOneBinPutsTheSamplesThere) {
  const int S = 9, Nf = 128;
  const long long R = 4;
  std::vector<double> z(R * S), w(R * S, 0.0), u(R * Nf), fine(R * (S + Nf));
  std::mt19937 rng(5u);
  std::uniform_real_distribution<double> U(0.0, 1.0);
  for (long long r = 0; r < R; ++r) {
    for (int i = 0; i < S; ++i) z[r * S + i] = 1.0 + i + r;
    w[r * S + 4] = 0.9;  // pdf entry 3: the interval [bins[3], bins[4]] = [mid(z3,z4), mid(z4,z5)]
  }
  for (double& x : u) x = U(rng);
  for (bool det : {true, false}) {
    jnerf::importance_samples_cpu<double>(R, S, Nf, z.data(), w.data(), det ? nullptr : u.data(), fine.data());
    for (long long r = 0; r < R; ++r) {
      const std::vector<double> f(fine.begin() + r * (S + Nf), fine.begin() + (r + 1) * (S + Nf));
      const std::vector<double> c(z.begin() + r * S, z.begin() + (r + 1) * S);
      EXPECT_TRUE(std::is_sorted(f.begin(), f.end()));
      const std::vector<double> s = new_samples(f, c);
      ASSERT_EQ(s.size(), size_t(Nf));
      const double lo = 0.5 * (c[3] + c[4]), hi = 0.5 * (c[4] + c[5]);
      int inside = 0;
      for (double v : s) inside += (v >= lo && v <= hi);
      // det: u = 0 and u = 1 land on the outer bin ends; random: ~Nf * 6e-5 outside.
      EXPECT_GE(inside, Nf - 2) << "ray " << r << (det ? " det" : " random");
    }
  }
}

TEST(Importance, OutputIsTheSortedUnionOfCoarseAndNewSamples) {
  const long long R = 8;
  const int S = 64, Nf = 128;
  std::mt19937 rng(8u);
  std::uniform_real_distribution<float> U(0.f, 1.f);
  std::vector<float> t(R * S), w(R * S), su(R * S), u(R * Nf), fine(R * (S + Nf));
  for (float& x : su) x = U(rng);
  for (float& x : w) x = U(rng) * U(rng);
  for (float& x : u) x = U(rng);
  jnerf::stratified_samples_cpu<float>(R, S, 0.1f, 10.f, nullptr, nullptr, su.data(), t.data());
  jnerf::importance_samples_cpu<float>(R, S, Nf, t.data(), w.data(), u.data(), fine.data());
  for (long long r = 0; r < R; ++r) {
    const float* f = fine.data() + r * (S + Nf);
    EXPECT_TRUE(std::is_sorted(f, f + S + Nf));
    // Every coarse depth is present (multiset inclusion), and every sample lies within the bins.
    std::vector<float> c(t.begin() + r * S, t.begin() + (r + 1) * S);
    EXPECT_TRUE(std::includes(f, f + S + Nf, c.begin(), c.end()));
    const float lo = 0.5f * (c[0] + c[1]), hi = 0.5f * (c[S - 2] + c[S - 1]);
    std::vector<float> all(f, f + S + Nf), rest;
    std::set_difference(all.begin(), all.end(), c.begin(), c.end(), std::back_inserter(rest));
    ASSERT_EQ(rest.size(), size_t(Nf));
    for (float v : rest) {
      EXPECT_GE(v, lo);
      EXPECT_LE(v, hi);
    }
  }
}

TEST(Importance, TranscriptionOfSamplePdfOnAFixedCase) {
  // z = 0..4: bins = [0.5, 1.5, 2.5, 3.5]. weights[1..3] + 1e-5 = [0.25, 0.25, 0.5]:
  // pdf = the same, cdf = [0, 0.25, 0.5, 1]. weights[0] and weights[4] are ignored.
  const int S = 5;
  const std::vector<double> z = {0, 1, 2, 3, 4};
  const std::vector<double> w = {7.0, 0.25 - 1e-5, 0.25 - 1e-5, 0.5 - 1e-5, 9.0};
  //   u = 0.1 : idx 1, below 0, above 1, t = 0.1/0.25 = 0.4  -> 0.5 + 0.4 * 1 = 0.9
  //   u = 0.5 : idx 3, below 2, above 3, t = 0              -> 2.5
  //   u = 0.75: idx 3, t = 0.25/0.5 = 0.5                   -> 3.0
  //   u = 0.99: idx 3, t = 0.49/0.5 = 0.98                  -> 3.48
  //   u = 0.0 : idx 1, t = 0                                -> 0.5
  const std::vector<double> u = {0.1, 0.5, 0.75, 0.99, 0.0};
  std::vector<double> fine(S + 5);
  jnerf::importance_samples_cpu<double>(1, S, 5, z.data(), w.data(), u.data(), fine.data());
  const std::vector<double> expect = {0, 0.5, 0.9, 1, 2, 2.5, 3, 3, 3.48, 4};
  for (int i = 0; i < S + 5; ++i) EXPECT_NEAR(fine[i], expect[i], 1e-12) << i;

  // Deterministic, Nf = 3: u = 0, 0.5, 1. u = 1 is past the cdf's end (idx = 4): below =
  // above = 3, denom 0 -> 1, t = 1 - cdf[3] ~ 0 -> bins[3] = 3.5.
  std::vector<double> det(S + 3);
  jnerf::importance_samples_cpu<double>(1, S, 3, z.data(), w.data(), nullptr, det.data());
  const std::vector<double> expect_det = {0, 0.5, 1, 2, 2.5, 3, 3.5, 4};
  for (int i = 0; i < S + 3; ++i) EXPECT_NEAR(det[i], expect_det[i], 1e-12) << i;

  // A (near-)empty interval: weights[1..3] = [0, 1, 1] + 1e-5 gives pdf[0] ~ 5e-6, so
  // cdf[1] - cdf[0] < 1e-5 and the denominator becomes 1: u = 2e-6 -> 0.5 + 2e-6 (not 0.9).
  const std::vector<double> w2 = {0, 0, 1, 1, 0};
  const std::vector<double> u2 = {2e-6};
  std::vector<double> fine2(S + 1);
  jnerf::importance_samples_cpu<double>(1, S, 1, z.data(), w2.data(), u2.data(), fine2.data());
  EXPECT_NEAR(fine2[1], 0.5 + 2e-6, 1e-15);
  EXPECT_EQ(fine2[0], 0.0);
  EXPECT_EQ(fine2[2], 1.0);

  // searchsorted(..., right=True): u exactly on cdf[1] ~ 5e-6 counts that entry, so below =
  // 1, above = 2, t = 0 -> bins[1] = 1.5. (right=False would take the empty interval with its
  // denominator replaced by 1 and give 0.5 + 5e-6.) cdf[1] computed as the sampler does.
  double total = 0;
  for (int k = 1; k <= 3; ++k) total += w2[k] + 1e-5;
  const std::vector<double> u3 = {(w2[1] + 1e-5) / total};
  std::vector<double> fine3(S + 1);
  jnerf::importance_samples_cpu<double>(1, S, 1, z.data(), w2.data(), u3.data(), fine3.data());
  EXPECT_EQ(fine3[2], 1.5);
  EXPECT_EQ(fine3[3], 2.0);
}

TEST(Importance, RejectsTooFewCoarseSamples) {
  std::vector<double> z(2), w(2), out(4);
  EXPECT_THROW(jnerf::importance_samples_cpu<double>(1, 2, 2, z.data(), w.data(), nullptr, out.data()),
               std::invalid_argument);
}

// ---- CUDA conformance ------------------------------------------------------------------------

TEST(CudaConformanceSampling, StratifiedAndImportanceMatchCpu) {
  JN_REQUIRE_CUDA();
#ifdef JNERF_HAVE_CUDA
  const long long R = 777;
  const int S = 64, Nf = 128;
  std::mt19937 rng(21u);
  std::uniform_real_distribution<float> U(0.f, 1.f);
  std::vector<float> su(R * S), u(R * Nf), w(R * S), near(R), far(R);
  for (float& x : su) x = U(rng);
  for (float& x : u) x = U(rng);
  for (float& x : w) x = U(rng) < 0.2f ? U(rng) : 0.f;
  for (long long r = 0; r < R; ++r) near[r] = 0.1f + U(rng), far[r] = near[r] + 1.f + 8.f * U(rng);
  DeviceBuffer dsu(su), du(u), dw(w), dnear(near), dfar(far);
  for (bool perturb : {false, true}) {
    std::vector<float> t(R * S), fine(R * (S + Nf));
    jnerf::stratified_samples_cpu<float>(R, S, 0.f, 0.f, near.data(), far.data(), perturb ? su.data() : nullptr,
                                         t.data());
    DeviceBuffer dt(t), dfine(fine);
    jnerf::stratified_samples_cuda(R, S, 0.f, 0.f, dnear.ptr, dfar.ptr, perturb ? dsu.ptr : nullptr, dt.ptr);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    const std::vector<float> gt = dt.download();
    for (long long i = 0; i < R * S; ++i) ASSERT_NEAR(gt[i], t[i], 1e-5f * std::max(1.f, t[i])) << i;
    // Importance from the CPU's coarse samples, so both see identical inputs.
    DeviceBuffer ct(t);
    jnerf::importance_samples_cpu<float>(R, S, Nf, t.data(), w.data(), perturb ? u.data() : nullptr, fine.data());
    jnerf::importance_samples_cuda(R, S, Nf, ct.ptr, dw.ptr, perturb ? du.ptr : nullptr, dfine.ptr);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    const std::vector<float> gf = dfine.download();
    for (long long i = 0; i < R * (S + Nf); ++i) ASSERT_NEAR(gf[i], fine[i], 1e-4f * std::max(1.f, fine[i])) << i;
  }
  // Shared bounds, no per-ray arrays.
  std::vector<float> t(R * S);
  DeviceBuffer dt(t);
  jnerf::stratified_samples_cpu<float>(R, S, 0.1f, 10.f, nullptr, nullptr, su.data(), t.data());
  jnerf::stratified_samples_cuda(R, S, 0.1f, 10.f, nullptr, nullptr, dsu.ptr, dt.ptr);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  const std::vector<float> gt = dt.download();
  for (long long i = 0; i < R * S; ++i) ASSERT_NEAR(gt[i], t[i], 1e-5f * std::max(1.f, t[i])) << i;
#endif
}

}  // namespace
