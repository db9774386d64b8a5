// The shaping loss: values on hand-made batches, the adaptive tau rule, its gradient w.r.t.
// the Jacobians against central finite differences, the float entry point against the
// double one, and the CUDA kernels against the CPU.
#include <algorithm>
#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "cuda_test_support.hpp"
#include "jnerf/shape/contrastive_loss.hpp"

namespace {

using jnerf::ContrastiveSettings;
using jnerf::JacobianSimilarity;

std::vector<double> random_vectors(int B, int D, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> n(0.0, 0.3);
  std::vector<double> g(static_cast<std::size_t>(B) * D);
  for (double& v : g) v = n(rng);
  return g;
}

// Two groups: rays < split belong together, the others together.
std::vector<double> group_affinity(int B, int split) {
  std::vector<double> a(static_cast<std::size_t>(B) * B);
  for (int i = 0; i < B; ++i)
    for (int j = 0; j < B; ++j) a[i * B + j] = ((i < split) == (j < split)) ? 0.95 : 0.1;
  return a;
}

void check_gradient(const ContrastiveSettings& s, int B, int D, const std::vector<double>& affinity) {
  const auto g = random_vectors(B, D, 4);
  double tau = s.tau_init;
  const auto base = jnerf::contrastive_loss(g, B, D, affinity, s, tau, false);
  const double h = 1e-6;
  for (std::size_t i = 0; i < g.size(); ++i) {
    auto up = g, down = g;
    up[i] += h;
    down[i] -= h;
    double t1 = s.tau_init, t2 = s.tau_init;
    const double fd = (jnerf::contrastive_loss(up, B, D, affinity, s, t1, false).loss -
                       jnerf::contrastive_loss(down, B, D, affinity, s, t2, false).loss) /
                      (2 * h);
    EXPECT_NEAR(base.grad[i], fd, 1e-9 + 1e-6 * std::abs(fd)) << i;
  }
}

}  // namespace

TEST(ContrastiveLoss, GradientMatchesFiniteDifferencesAbsCosine) {
  ContrastiveSettings s;
  s.weight_mi = 0.7;
  s.weight_norm = 0.3;
  check_gradient(s, 7, 5, group_affinity(7, 3));
}

TEST(ContrastiveLoss, GradientMatchesFiniteDifferencesSignedCosineWithTemperature) {
  ContrastiveSettings s;
  s.similarity = JacobianSimilarity::Cosine;
  s.temperature = 0.3;
  s.weight_mi = 1.0;
  s.weight_norm = 0.5;
  check_gradient(s, 6, 4, group_affinity(6, 2));
}

// Two rays, one anchor-positive pair and nothing negative: no anchor counts, L_MI = 0.
TEST(ContrastiveLoss, AnchorsWithoutNegativesDoNotCount) {
  ContrastiveSettings s;
  const std::vector<double> g = {1, 0, 0, 1};
  const std::vector<double> all_positive(4, 0.99);
  double tau = 0.8;
  const auto r = jnerf::contrastive_loss(g, 2, 2, all_positive, s, tau, false);
  EXPECT_EQ(r.counted, 0);
  EXPECT_EQ(r.mi, 0.0);
  EXPECT_NEAR(r.norm, 0.0, 1e-15);  // unit Jacobians
}

// Hand-computed: g_0 = (1, 0), g_1 = (0, 2), g_2 = (1, 1); positives of 0 are {0, 2}.
TEST(ContrastiveLoss, ValuesOnAHandMadeBatch) {
  ContrastiveSettings s;
  s.weight_mi = 1;
  s.weight_norm = 1;
  const std::vector<double> g = {1, 0, 0, 2, 1, 1};
  const std::vector<double> aff = {1, 0, 1,  //
                                   0, 1, 0,  //
                                   1, 0, 1};
  double tau = 0.5;
  const auto r = jnerf::contrastive_loss(g, 3, 2, aff, s, tau, false);
  const double c = 1 / std::sqrt(2.0);  // cos(g_0, g_2) = cos(g_1, g_2)
  // anchor 0: P = {0, 2}, N = {1}; anchor 1: P = {1}, N = {0, 2}; anchor 2: P = {0, 2}, N = {1}.
  const double e1 = std::exp(1.0), ec = std::exp(c), e0 = 1.0;
  const double l0 = -std::log((e1 + ec) / (e1 + ec + e0) + 1e-7);
  const double l1 = -std::log(e1 / (e1 + e0 + ec) + 1e-7);
  const double l2 = -std::log((ec + e1) / (ec + e1 + ec) + 1e-7);
  EXPECT_EQ(r.counted, 3);
  EXPECT_NEAR(r.mi, (l0 + l1 + l2) / 3, 1e-6);  // 1e-7 in the cosine denominators
  const double n2 = std::sqrt(2.0);
  EXPECT_NEAR(r.norm, (0.0 + 1.0 + (n2 - 1) * (n2 - 1)) / 3, 1e-12);
  EXPECT_NEAR(r.loss, r.mi + r.norm, 1e-15);
  EXPECT_DOUBLE_EQ(r.mean_positives, 5.0 / 3.0);
}

// The reference's rule with B = 64: int(0.05 B) = 3, int(0.15 B) = 9; each anchor moves tau
// by one step and the next anchor sees the moved value.
TEST(ContrastiveLoss, AdaptiveTauFollowsTheReferenceRule) {
  ContrastiveSettings s;
  const int B = 64, D = 3;
  const auto g = random_vectors(B, D, 1);
  // Only self-affinity: |P| = 1 < 3 for every anchor, so tau falls 64 steps.
  std::vector<double> self(static_cast<std::size_t>(B) * B, 0.0);
  for (int i = 0; i < B; ++i) self[i * B + i] = 1.0;
  double tau = 0.8;
  jnerf::contrastive_loss(g, B, D, self, s, tau, true);
  EXPECT_NEAR(tau, 0.8 - 64 * 1e-3, 1e-12);
  // Everything similar: |P| = 64 > 9, tau rises until it passes 0.9 and then stays.
  const std::vector<double> all(static_cast<std::size_t>(B) * B, 0.95);
  tau = 0.85;
  jnerf::contrastive_loss(g, B, D, all, s, tau, true);
  EXPECT_NEAR(tau, 0.9, 1e-9);  // 0.85 + 50 steps reaches 0.9 (floating steps: may end 1 above)
  // Falls to the floor and stops there.
  tau = 0.52;
  jnerf::contrastive_loss(g, B, D, self, s, tau, true);
  EXPECT_LT(tau, 0.5 + 1e-12);
  EXPECT_GT(tau, 0.5 - 1e-3 - 1e-12);
  // Not adapting: unchanged.
  tau = 0.7;
  jnerf::contrastive_loss(g, B, D, self, s, tau, false);
  EXPECT_EQ(tau, 0.7);
}

// Positives are taken with the tau in force when the anchor is reached.
TEST(ContrastiveLoss, LaterAnchorsSeeTheUpdatedTau) {
  ContrastiveSettings s;
  s.positive_low_fraction = 0.5;  // int(0.5 * 4) = 2: a single positive lowers tau
  s.positive_high_fraction = 1.0;
  s.tau_step = 0.2;
  s.tau_min = 0.0;
  const int B = 4;
  // Anchor 0 has only itself (tau 0.8 -> 0.6); anchor 1's neighbour has affinity 0.7,
  // above the new tau, so anchor 1 sees 2 positives and tau stays.
  std::vector<double> aff(16, 0.0);
  for (int i = 0; i < B; ++i) aff[i * B + i] = 1.0;
  aff[1 * B + 2] = 0.7;
  const auto g = random_vectors(B, 2, 3);
  double tau = 0.8;
  const auto r = jnerf::contrastive_loss(g, B, 2, aff, s, tau, true);
  // anchor 0: 1 positive -> 0.6; anchor 1: 2 -> stays; anchor 2: 1 -> 0.4; anchor 3: 1 -> 0.2.
  EXPECT_NEAR(tau, 0.2, 1e-12);
  EXPECT_DOUBLE_EQ(r.mean_positives, 5.0 / 4.0);
}

namespace {

// A 64-ray batch like a shaping step's: Jacobian-like rows (non-negative, |g| near 1) and
// affinities from random unit features, so tau walks and some anchors have few positives.
struct ShapingLikeBatch {
  int B, D;
  std::vector<double> g, affinity;
  explicit ShapingLikeBatch(int rays = 64, int dims = 384) : B(rays), D(dims) {
    std::mt19937_64 rng(11);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    g.resize(static_cast<std::size_t>(B) * D);
    for (double& v : g) v = u(rng) * u(rng) / 6;
    const int F = 6;
    std::vector<double> f(static_cast<std::size_t>(B) * F);
    std::normal_distribution<double> n(0.0, 1.0);
    for (int r = 0; r < B; ++r) {
      double len = 0;
      for (int k = 0; k < F; ++k) len += (f[r * F + k] = n(rng) + (r % 4 == 0 ? 2.0 : 0.0)) * f[r * F + k];
      for (int k = 0; k < F; ++k) f[r * F + k] /= std::sqrt(len);
    }
    affinity.resize(static_cast<std::size_t>(B) * B);
    for (int a = 0; a < B; ++a)
      for (int q = 0; q < B; ++q) {
        double d = 0;
        for (int k = 0; k < F; ++k) d += f[a * F + k] * f[q * F + k];
        affinity[a * B + q] = d;
      }
  }
};

}  // namespace

// The float entry point (the CPU float backend's) computes in double from the float
// Jacobians: the same statistics, tau walk and gradient as the double one, up to the inputs'
// and outputs' rounding.
TEST(ContrastiveLoss, FloatBackendEntryMatchesDouble) {
  const ShapingLikeBatch b;
  const ContrastiveSettings s;
  double tau = 0.8;
  const auto ref = jnerf::contrastive_loss(b.g, b.B, b.D, b.affinity, s, tau, true);
  const std::vector<float> gf(b.g.begin(), b.g.end());
  std::vector<float> grad(gf.size());
  const auto stats = jnerf::contrastive_loss_cpu(gf.data(), b.B, b.D, b.affinity.data(), s.params(b.B, true), 0.8,
                                                 grad.data());
  EXPECT_EQ(stats.counted, ref.counted);
  EXPECT_DOUBLE_EQ(stats.tau_after, ref.tau_after);
  EXPECT_DOUBLE_EQ(stats.mean_positives, ref.mean_positives);
  EXPECT_NEAR(stats.loss, ref.loss, 1e-6 * std::abs(ref.loss));
  double scale = 0;
  for (double v : ref.grad) scale = std::max(scale, std::abs(v));
  ASSERT_GT(scale, 0);
  for (std::size_t i = 0; i < grad.size(); ++i) ASSERT_NEAR(grad[i], ref.grad[i], 1e-5 * scale) << i;
}

// The CUDA kernels against the CPU implementation on the same float Jacobians.
#ifdef JNERF_HAVE_CUDA
namespace {

void expect_cuda_matches_cpu(const ShapingLikeBatch& b) {
  const ContrastiveSettings s;
  const std::vector<float> gf(b.g.begin(), b.g.end());
  std::vector<float> cpu_grad(gf.size());
  const auto cpu = jnerf::contrastive_loss_cpu(gf.data(), b.B, b.D, b.affinity.data(), s.params(b.B, true), 0.8,
                                               cpu_grad.data());
  jnerf::test::DeviceBuffer g(gf), grad(std::vector<float>(gf.size(), 0.f));
  double* scratch = nullptr;
  ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&scratch), sizeof(double) * jnerf::contrastive_workspace_doubles(b.B)),
            cudaSuccess);
  const auto gpu = jnerf::contrastive_loss_cuda(g.ptr, b.B, b.D, b.affinity.data(), s.params(b.B, true), 0.8,
                                                grad.ptr, scratch);
  const std::vector<float> gpu_grad = grad.download();
  cudaFree(scratch);
  EXPECT_EQ(gpu.counted, cpu.counted);
  EXPECT_DOUBLE_EQ(gpu.tau_after, cpu.tau_after);
  EXPECT_DOUBLE_EQ(gpu.mean_positives, cpu.mean_positives);
  EXPECT_NEAR(gpu.loss, cpu.loss, 1e-12 * std::abs(cpu.loss));
  EXPECT_NEAR(gpu.mean_jacobian_norm, cpu.mean_jacobian_norm, 1e-12);
  double scale = 0;
  for (float v : cpu_grad) scale = std::max(scale, double(std::abs(v)));
  for (std::size_t i = 0; i < gpu_grad.size(); ++i) ASSERT_NEAR(gpu_grad[i], cpu_grad[i], 1e-6 * scale) << i;
}

}  // namespace
#endif

TEST(CudaConformanceContrastiveLoss, MatchesCpu) {
  JN_REQUIRE_CUDA();
#ifdef JNERF_HAVE_CUDA
  expect_cuda_matches_cpu(ShapingLikeBatch());
#endif
}

// The largest batch the CUDA loss takes: its row kernel needs 64 KB of shared memory, past
// the 48 KB a launch gets without opting in.
TEST(CudaConformanceContrastiveLoss, MatchesCpuAtTheLargestBatch) {
  JN_REQUIRE_CUDA();
#ifdef JNERF_HAVE_CUDA
  expect_cuda_matches_cpu(ShapingLikeBatch(jnerf::kCudaContrastiveMaxBatch, 6));
#endif
}

// The batch size is checked against the backend that runs the loss, before any step: the
// CUDA loss stops at kCudaContrastiveMaxBatch, the CPU one does not.
TEST(ContrastiveLoss, BatchSizeIsCheckedForTheBackend) {
  jnerf::Json c = jnerf::default_config();
  c["shape"]["rays_per_batch"] = jnerf::kCudaContrastiveMaxBatch + 1;
  EXPECT_EQ(jnerf::shaping_rays_per_batch(c, "cpu"), jnerf::kCudaContrastiveMaxBatch + 1);
  EXPECT_THROW(jnerf::shaping_rays_per_batch(c, "cuda"), jnerf::InputError);
  c["shape"]["rays_per_batch"] = jnerf::kCudaContrastiveMaxBatch;
  EXPECT_EQ(jnerf::shaping_rays_per_batch(c, "cuda"), jnerf::kCudaContrastiveMaxBatch);
  c["shape"]["rays_per_batch"] = 1;
  EXPECT_THROW(jnerf::shaping_rays_per_batch(c, "cpu"), jnerf::InputError);
}
