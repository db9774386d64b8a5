// Density activations and compositing (forward, backward) on the CPU, and CPU/CUDA
// conformance of the same stages.
#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "cuda_test_support.hpp"
#ifdef JNERF_HAVE_CUDA
using jnerf::test::DeviceBuffer;
#endif

#include "jnerf/render/volume.hpp"

#ifdef JNERF_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

namespace {

using jnerf::DensityActivation;

// ---- density activations -----------------------------------------------------------------

TEST(DensityActivation, ReLUAddsTheCallersNoise) {
  EXPECT_DOUBLE_EQ(jnerf::density_activation(DensityActivation::ReLU, 0.5, 0.0), 0.5);
  EXPECT_DOUBLE_EQ(jnerf::density_activation(DensityActivation::ReLU, -0.5, 1.25), 0.75);
  EXPECT_DOUBLE_EQ(jnerf::density_activation(DensityActivation::ReLU, 0.5, -1.0), 0.0);
  EXPECT_DOUBLE_EQ(jnerf::density_activation_grad(DensityActivation::ReLU, -0.5, 1.25), 1.0);
  EXPECT_DOUBLE_EQ(jnerf::density_activation_grad(DensityActivation::ReLU, 0.5, -1.0), 0.0);
  EXPECT_DOUBLE_EQ(jnerf::density_activation_grad(DensityActivation::ReLU, 1.0, -1.0), 0.0);  // x = 0
}

TEST(DensityActivation, SoftplusIsStableAndTruncExpClampsItsGradient) {
  EXPECT_NEAR(jnerf::density_activation(DensityActivation::Softplus, 0.0, 0.0), std::log(2.0), 1e-15);
  EXPECT_DOUBLE_EQ(jnerf::density_activation(DensityActivation::Softplus, 800.0, 0.0), 800.0);
  EXPECT_NEAR(jnerf::density_activation(DensityActivation::Softplus, -800.0, 0.0), 0.0, 1e-300);
  EXPECT_FLOAT_EQ(jnerf::density_activation(DensityActivation::Softplus, 100.f, 0.f), 100.f);
  EXPECT_FLOAT_EQ(jnerf::density_activation(DensityActivation::Softplus, -30.f, 0.f), std::exp(-30.f));
  EXPECT_FLOAT_EQ(jnerf::density_activation_grad(DensityActivation::Softplus, -100.f, 0.f), std::exp(-100.f));
  EXPECT_FLOAT_EQ(jnerf::density_activation_grad(DensityActivation::Softplus, 100.f, 0.f), 1.f);
  EXPECT_DOUBLE_EQ(jnerf::density_activation(DensityActivation::TruncExp, 20.0, 0.0), std::exp(20.0));
  EXPECT_DOUBLE_EQ(jnerf::density_activation_grad(DensityActivation::TruncExp, 20.0, 0.0), std::exp(15.0));
  EXPECT_DOUBLE_EQ(jnerf::density_activation_grad(DensityActivation::TruncExp, 1.0, 2.0), std::exp(3.0));
}

TEST(DensityActivation, DerivativesMatchFiniteDifferences) {
  const double h = 1e-6;
  for (DensityActivation act : {DensityActivation::ReLU, DensityActivation::Softplus, DensityActivation::TruncExp})
    for (double raw : {-3.0, -0.7, 0.3, 1.9, 6.0})
      for (double noise : {0.0, 0.45, -0.2}) {
        const double fd = (jnerf::density_activation(act, raw + h, noise) -
                           jnerf::density_activation(act, raw - h, noise)) / (2 * h);
        const double an = jnerf::density_activation_grad(act, raw, noise);
        EXPECT_NEAR(an, fd, 1e-7 * std::max(1.0, std::abs(an))) << int(act) << " " << raw << " " << noise;
      }
}

TEST(DensityActivation, BatchFunctionsApplyNoiseAndChainTheGradient) {
  const std::vector<double> raw = {-1.0, 0.5, 2.0, -0.25};
  const std::vector<double> noise = {1.5, -1.0, 0.25, 0.0};
  const std::vector<double> gs = {2.0, 3.0, -1.0, 0.5};
  for (DensityActivation act : {DensityActivation::ReLU, DensityActivation::Softplus, DensityActivation::TruncExp}) {
    std::vector<double> sigma(4), graw(4), sigma0(4);
    jnerf::density_activation_forward_cpu(act, 4, raw.data(), noise.data(), sigma.data());
    jnerf::density_activation_forward_cpu<double>(act, 4, raw.data(), nullptr, sigma0.data());
    jnerf::density_activation_backward_cpu(act, 4, raw.data(), noise.data(), gs.data(), graw.data());
    for (int s = 0; s < 4; ++s) {
      EXPECT_DOUBLE_EQ(sigma[s], jnerf::density_activation(act, raw[s], noise[s]));
      EXPECT_DOUBLE_EQ(sigma0[s], jnerf::density_activation(act, raw[s], 0.0));
      EXPECT_DOUBLE_EQ(graw[s], gs[s] * jnerf::density_activation_grad(act, raw[s], noise[s]));
    }
  }
  // ReLU with noise: the pattern is known by hand.
  std::vector<double> sigma(4), graw(4);
  jnerf::density_activation_forward_cpu(DensityActivation::ReLU, 4, raw.data(), noise.data(), sigma.data());
  jnerf::density_activation_backward_cpu(DensityActivation::ReLU, 4, raw.data(), noise.data(), gs.data(),
                                         graw.data());
  EXPECT_EQ(sigma, (std::vector<double>{0.5, 0.0, 2.25, 0.0}));
  EXPECT_EQ(graw, (std::vector<double>{2.0, 0.0, -1.0, 0.0}));
}

// ---- compositing: hand cases ------------------------------------------------------------------

// A small batch in the library's layouts.
struct Batch {
  long long R;
  int S;
  std::vector<double> sigma, rgb, t, dnorm, bg;
  Batch(long long r, int s) : R(r), S(s), sigma(r * s), rgb(3 * r * s), t(r * s), dnorm(r, 1.0) {}
  long long n() const { return R * S; }
  double& colour(long long r, int i, int k) { return rgb[k * n() + r * S + i]; }
};

struct Outputs {
  std::vector<double> C, depth, acc, w;
};

Outputs forward(const Batch& b, bool with_bg) {
  Outputs o{std::vector<double>(3 * b.R), std::vector<double>(b.R), std::vector<double>(b.R),
            std::vector<double>(b.n())};
  jnerf::composite_forward_cpu<double>(b.R, b.S, b.sigma.data(), b.rgb.data(), b.t.data(), b.dnorm.data(),
                                       with_bg ? b.bg.data() : nullptr, o.C.data(), o.depth.data(), o.acc.data(),
                                       o.w.data());
  return o;
}

TEST(Composite, OneOpaqueSampleGivesItsColourAndDepth) {
  // Two rays, so the feature-major layouts (rgb: 3 x n, C: 3 x R) are pinned too.
  Batch b(2, 4);
  b.bg = {0.3, 0.3, 0.3};
  for (int r = 0; r < 2; ++r)
    for (int i = 0; i < 4; ++i) {
      b.t[r * 4 + i] = 1.0 + 0.5 * i;
      for (int k = 0; k < 3; ++k) b.colour(r, i, k) = 0.1 * (k + 1) + 0.2 * i + 0.05 * r;
    }
  b.sigma = {0, 0, 1e6, 0, /* ray 1 */ 1e6, 0, 0, 5};
  b.dnorm = {1.2, 1.0};
  const Outputs o = forward(b, true);
  for (int k = 0; k < 3; ++k) {
    EXPECT_DOUBLE_EQ(o.C[k * 2 + 0], b.colour(0, 2, k));
    EXPECT_DOUBLE_EQ(o.C[k * 2 + 1], b.colour(1, 0, k));
  }
  EXPECT_DOUBLE_EQ(o.depth[0], 2.0);
  EXPECT_DOUBLE_EQ(o.depth[1], 1.0);
  EXPECT_DOUBLE_EQ(o.acc[0], 1.0);
  EXPECT_DOUBLE_EQ(o.acc[1], 1.0);
  EXPECT_EQ(o.w, (std::vector<double>{0, 0, 1, 0, 1, 0, 0, 0}));
}

TEST(Composite, ZeroDensityShowsTheBackground) {
  Batch b(1, 5);
  b.bg = {0.2, 0.5, 0.9};
  for (int i = 0; i < 5; ++i) {
    b.t[i] = 0.5 + i;
    for (int k = 0; k < 3; ++k) b.colour(0, i, k) = 0.7;
  }
  const Outputs o = forward(b, true);
  for (int k = 0; k < 3; ++k) EXPECT_DOUBLE_EQ(o.C[k], b.bg[k]);
  EXPECT_DOUBLE_EQ(o.acc[0], 0.0);
  EXPECT_DOUBLE_EQ(o.depth[0], 0.0);
  const Outputs black = forward(b, false);
  for (int k = 0; k < 3; ++k) EXPECT_DOUBLE_EQ(black.C[k], 0.0);
}

TEST(Composite, TwoSamplesWithKnownAlphasGiveExactWeights) {
  // alpha_0 = 1/2, alpha_1 = 1/4 (delta = dt * |d|), then the last sample with its 1e10
  // delta and a density that makes sigma * delta = 1: alpha_2 = 1 - e^-1.
  Batch b(1, 3);
  b.bg = {1.0, 0.0, 0.5};
  b.dnorm = {2.0};
  b.t = {1.0, 1.5, 3.0};
  b.sigma = {std::log(2.0) / (0.5 * 2.0), std::log(4.0 / 3.0) / (1.5 * 2.0), 1.0 / (1e10 * 2.0)};
  const double c[3][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
  for (int i = 0; i < 3; ++i)
    for (int k = 0; k < 3; ++k) b.colour(0, i, k) = c[i][k];
  const Outputs o = forward(b, true);
  const double a2 = 1.0 - std::exp(-1.0);
  const double w[3] = {0.5, 0.5 * 0.25, 0.5 * 0.75 * a2};
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(o.w[i], w[i], 1e-15) << i;
  const double acc = w[0] + w[1] + w[2];
  EXPECT_NEAR(o.acc[0], acc, 1e-15);
  EXPECT_NEAR(o.depth[0], w[0] * 1.0 + w[1] * 1.5 + w[2] * 3.0, 1e-15);
  for (int k = 0; k < 3; ++k) EXPECT_NEAR(o.C[k], w[k] + (1 - acc) * b.bg[k], 1e-15);
}

// Without colour (rgb and C nullptr) the weights, depth and opacity are the same numbers.
TEST(Composite, WithoutColourGivesTheSameWeightsDepthAndOpacity) {
  Batch b(2, 5);
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u(0.0, 2.0);
  for (int r = 0; r < 2; ++r)
    for (int i = 0; i < 5; ++i) {
      b.t[r * 5 + i] = 1.0 + 0.4 * i + 0.1 * r;
      b.sigma[r * 5 + i] = u(rng);
      for (int k = 0; k < 3; ++k) b.colour(r, i, k) = 0.5 * u(rng);
    }
  b.dnorm = {1.1, 0.9};
  b.bg = {0.2, 0.5, 0.9};
  const Outputs full = forward(b, true);
  std::vector<double> depth(2), acc(2), w(b.n());
  jnerf::composite_forward_cpu<double>(b.R, b.S, b.sigma.data(), nullptr, b.t.data(), b.dnorm.data(), b.bg.data(),
                                       nullptr, depth.data(), acc.data(), w.data());
  EXPECT_EQ(w, full.w);
  EXPECT_EQ(depth, full.depth);
  EXPECT_EQ(acc, full.acc);
  EXPECT_GT(full.acc[0], 0.5);  // the case has visible weight
}

TEST(Composite, TransmittanceIsExactForHugeOpticalDepth) {
  // sigma * delta = 50 per sample: the exact T_1 = e^-50 (nerf-pytorch's cumprod(1 - alpha +
  // 1e-10) would give ~1e-10 instead), then a last sample with a 1e10 delta and a large
  // density, and a sample with inf optical depth in float.
  Batch b(1, 4);
  b.t = {0.0, 1.0, 2.0, 3.0};
  b.sigma = {50.0, 50.0, 50.0, 1e20};
  for (int i = 0; i < 4; ++i)
    for (int k = 0; k < 3; ++k) b.colour(0, i, k) = 0.25 * (i + 1);
  const Outputs o = forward(b, false);
  const double a = -std::expm1(-50.0);
  EXPECT_NEAR(o.w[0], a, 1e-16);
  EXPECT_NEAR(o.w[1] / (std::exp(-50.0) * a), 1.0, 1e-12);
  EXPECT_NEAR(o.w[2] / (std::exp(-100.0) * a), 1.0, 1e-12);
  EXPECT_NEAR(o.w[3] / std::exp(-150.0), 1.0, 1e-12);
  for (double v : o.w) EXPECT_TRUE(std::isfinite(v));

  // float, with sigma * delta overflowing to inf on the last sample and 1e30 densities.
  const long long R = 1;
  const int S = 4;
  std::vector<float> sigma = {1e30f, 2.f, 1e30f, 1e35f}, t = {0.f, 1.f, 2.f, 3.f}, rgb(3 * S, 0.5f);
  std::vector<float> C(3), depth(1), acc(1), w(S), gC = {1.f, -2.f, 0.5f}, gd = {0.3f}, ga = {-0.7f},
                     gw = {0.1f, 0.2f, 0.3f, 0.4f}, gsigma(S), grgb(3 * S);
  jnerf::composite_forward_cpu<float>(R, S, sigma.data(), rgb.data(), t.data(), nullptr, nullptr, C.data(),
                                      depth.data(), acc.data(), w.data());
  EXPECT_EQ(w, (std::vector<float>{1.f, 0.f, 0.f, 0.f}));
  EXPECT_FLOAT_EQ(C[0], 0.5f);
  EXPECT_FLOAT_EQ(depth[0], 0.f);
  jnerf::composite_backward_cpu<float>(R, S, sigma.data(), rgb.data(), t.data(), nullptr, nullptr, C.data(),
                                       depth.data(), acc.data(), w.data(), gC.data(), gd.data(), ga.data(),
                                       gw.data(), gsigma.data(), grgb.data());
  for (float v : gsigma) EXPECT_TRUE(std::isfinite(v));
  for (float v : grgb) EXPECT_TRUE(std::isfinite(v));
  EXPECT_FLOAT_EQ(grgb[0], gC[0]);
}

// ---- compositing backward vs central finite differences ---------------------------------------

struct Upstream {
  std::vector<double> gC, gdepth, gacc, gw;  // empty = absent
};

double loss(const Batch& b, bool with_bg, const Upstream& u) {
  const Outputs o = forward(b, with_bg);
  double L = 0;
  for (size_t i = 0; i < u.gC.size(); ++i) L += u.gC[i] * o.C[i];
  for (size_t i = 0; i < u.gdepth.size(); ++i) L += u.gdepth[i] * o.depth[i];
  for (size_t i = 0; i < u.gacc.size(); ++i) L += u.gacc[i] * o.acc[i];
  for (size_t i = 0; i < u.gw.size(); ++i) L += u.gw[i] * o.w[i];
  return L;
}

Batch random_batch(long long R, int S, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> U(0.0, 1.0);
  Batch b(R, S);
  b.bg = {U(rng), U(rng), U(rng)};
  for (long long r = 0; r < R; ++r) {
    double z = 0.5 + U(rng);
    for (int i = 0; i < S; ++i) {
      b.t[r * S + i] = z;
      z += 0.05 + 0.4 * U(rng);
      b.sigma[r * S + i] = 0.05 + 2.0 * U(rng);
      for (int k = 0; k < 3; ++k) b.colour(r, i, k) = U(rng);
    }
    b.dnorm[r] = 1.0 + 0.5 * U(rng);
  }
  // Ray 0's last sample: sigma * 1e10 |d| ~ 0.1, so its (huge-delta) gradient is exercised.
  b.sigma[S - 1] = 1e-11;
  b.sigma[1] = 0.0;  // zero density inside a ray
  return b;
}

void check_backward_against_fd(bool with_bg, bool use_gC, bool use_depth, bool use_acc, bool use_w) {
  const long long R = 3;
  const int S = 6;
  Batch b = random_batch(R, S, 1234u);
  std::mt19937 rng(99u);
  std::uniform_real_distribution<double> U(-1.0, 1.0);
  Upstream u;
  auto fill = [&](std::vector<double>& v, size_t count) {
    v.resize(count);
    for (double& x : v) x = U(rng);
  };
  if (use_gC) fill(u.gC, 3 * R);
  if (use_depth) fill(u.gdepth, R);
  if (use_acc) fill(u.gacc, R);
  if (use_w) fill(u.gw, R * S);
  const Outputs o = forward(b, with_bg);
  std::vector<double> gC = u.gC;
  if (gC.empty()) gC.assign(3 * R, 0.0);
  std::vector<double> gsigma(R * S), grgb(3 * R * S);
  jnerf::composite_backward_cpu<double>(R, S, b.sigma.data(), b.rgb.data(), b.t.data(), b.dnorm.data(),
                                        with_bg ? b.bg.data() : nullptr, o.C.data(), o.depth.data(),
                                        o.acc.data(), o.w.data(), gC.data(),
                                        use_depth ? u.gdepth.data() : nullptr, use_acc ? u.gacc.data() : nullptr,
                                        use_w ? u.gw.data() : nullptr, gsigma.data(), grgb.data());
  auto rel = [](double an, double fd) {
    return std::abs(an - fd) / std::max({std::abs(an), std::abs(fd), 1e-2});
  };
  double max_grad = 0;
  for (long long r = 0; r < R; ++r)
    for (int i = 0; i < S; ++i) {
      const long long s = r * S + i;
      // Step such that sigma * delta moves by ~1e-6 (the last sample has delta = 1e10 |d|).
      const double delta = (i + 1 < S ? b.t[s + 1] - b.t[s] : 1e10) * b.dnorm[r];
      const double h = 1e-6 / std::max(delta, 1.0);
      Batch p = b, m = b;
      p.sigma[s] += h;
      m.sigma[s] -= h;
      const double fd = (loss(p, with_bg, u) - loss(m, with_bg, u)) / (2 * h);
      EXPECT_LT(rel(gsigma[s], fd), 1e-6) << "dsigma ray " << r << " sample " << i << ": " << gsigma[s]
                                          << " vs " << fd;
      max_grad = std::max(max_grad, std::abs(gsigma[s]));
      for (int k = 0; k < 3; ++k) {
        const long long e = k * b.n() + s;
        Batch pc = b, mc = b;
        pc.rgb[e] += 1e-6;
        mc.rgb[e] -= 1e-6;
        const double fdc = (loss(pc, with_bg, u) - loss(mc, with_bg, u)) / 2e-6;
        EXPECT_LT(rel(grgb[e], fdc), 1e-6) << "drgb ray " << r << " sample " << i << " channel " << k;
      }
    }
  EXPECT_GT(max_grad, 1e-2);  // the check was not vacuous
}

TEST(CompositeBackward, ColourWithBackgroundMatchesFiniteDifferences) {
  check_backward_against_fd(true, true, false, false, false);
}
TEST(CompositeBackward, ColourWithoutBackgroundMatchesFiniteDifferences) {
  check_backward_against_fd(false, true, false, false, false);
}
TEST(CompositeBackward, DepthMatchesFiniteDifferences) { check_backward_against_fd(true, false, true, false, false); }
TEST(CompositeBackward, AccMatchesFiniteDifferences) { check_backward_against_fd(true, false, false, true, false); }
TEST(CompositeBackward, ExtraWeightGradientMatchesFiniteDifferences) {
  check_backward_against_fd(true, false, false, false, true);
}
TEST(CompositeBackward, AllTermsTogetherMatchFiniteDifferences) {
  check_backward_against_fd(true, true, true, true, true);
}

TEST(CompositeBackward, FloatAgreesWithDoubleOnLongRays) {
  // 192 samples per ray (the paper's fine set): the total-minus-prefix suffix stays accurate.
  const long long R = 16;
  const int S = 192;
  Batch b = random_batch(R, S, 7u);
  for (double& s : b.sigma) s *= 0.2;
  std::mt19937 rng(5u);
  std::uniform_real_distribution<double> U(-1.0, 1.0);
  std::vector<double> gC(3 * R), gd(R), ga(R), gw(R * S);
  for (auto* v : {&gC, &gd, &ga, &gw})
    for (double& x : *v) x = U(rng);
  const Outputs o = forward(b, true);
  std::vector<double> gsigma(R * S), grgb(3 * R * S);
  jnerf::composite_backward_cpu<double>(R, S, b.sigma.data(), b.rgb.data(), b.t.data(), b.dnorm.data(),
                                        b.bg.data(), o.C.data(), o.depth.data(), o.acc.data(), o.w.data(),
                                        gC.data(), gd.data(), ga.data(), gw.data(), gsigma.data(), grgb.data());
  auto f = [](const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); };
  const auto sigma = f(b.sigma), rgb = f(b.rgb), t = f(b.t), dn = f(b.dnorm), bg = f(b.bg), fgC = f(gC),
             fgd = f(gd), fga = f(ga), fgw = f(gw);
  std::vector<float> C(3 * R), depth(R), acc(R), w(R * S), fgs(R * S), fgr(3 * R * S);
  jnerf::composite_forward_cpu<float>(R, S, sigma.data(), rgb.data(), t.data(), dn.data(), bg.data(), C.data(),
                                      depth.data(), acc.data(), w.data());
  jnerf::composite_backward_cpu<float>(R, S, sigma.data(), rgb.data(), t.data(), dn.data(), bg.data(), C.data(),
                                       depth.data(), acc.data(), w.data(), fgC.data(), fgd.data(), fga.data(),
                                       fgw.data(), fgs.data(), fgr.data());
  for (long long i = 0; i < 3 * R; ++i) EXPECT_NEAR(C[i], o.C[i], 1e-5);
  for (long long i = 0; i < R * S; ++i) {
    EXPECT_NEAR(w[i], o.w[i], 1e-5);
    EXPECT_NEAR(fgs[i], gsigma[i], 1e-4 * std::max(1.0, std::abs(gsigma[i]))) << i;
  }
  for (long long i = 0; i < 3 * R * S; ++i) EXPECT_NEAR(fgr[i], grgb[i], 1e-5);
}

// ---- CUDA conformance ------------------------------------------------------------------------

#ifdef JNERF_HAVE_CUDA

void expect_close(const std::vector<float>& gpu, const std::vector<float>& cpu, float rtol, const char* what) {
  ASSERT_EQ(gpu.size(), cpu.size()) << what;
  for (size_t i = 0; i < cpu.size(); ++i)
    ASSERT_NEAR(gpu[i], cpu[i], rtol * std::max(1.f, std::abs(cpu[i]))) << what << " [" << i << "]";
}
#endif

TEST(CudaConformanceVolume, DensityActivationsMatchCpu) {
  JN_REQUIRE_CUDA();
#ifdef JNERF_HAVE_CUDA
  const long long n = 10007;
  std::mt19937 rng(3u);
  std::normal_distribution<float> N(0.f, 3.f);
  std::vector<float> raw(n), noise(n), gs(n), sigma(n), graw(n);
  for (long long i = 0; i < n; ++i) raw[i] = N(rng), noise[i] = N(rng) / 3, gs[i] = N(rng);
  DeviceBuffer draw(raw), dnoise(noise), dgs(gs), dsigma(sigma), dgraw(graw);
  for (DensityActivation act : {DensityActivation::ReLU, DensityActivation::Softplus, DensityActivation::TruncExp}) {
    jnerf::density_activation_forward_cpu(act, n, raw.data(), noise.data(), sigma.data());
    jnerf::density_activation_backward_cpu(act, n, raw.data(), noise.data(), gs.data(), graw.data());
    jnerf::density_activation_forward_cuda(act, n, draw.ptr, dnoise.ptr, dsigma.ptr);
    jnerf::density_activation_backward_cuda(act, n, draw.ptr, dnoise.ptr, dgs.ptr, dgraw.ptr);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    expect_close(dsigma.download(), sigma, 1e-5f, "sigma");
    expect_close(dgraw.download(), graw, 1e-5f, "grad_raw");
  }
#endif
}

TEST(CudaConformanceVolume, CompositeForwardAndBackwardMatchCpu) {
  JN_REQUIRE_CUDA();
#ifdef JNERF_HAVE_CUDA
  const long long R = 1000;
  const int S = 64;
  const long long n = R * S;
  Batch b = random_batch(R, S, 11u);
  auto f = [](const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); };
  std::mt19937 rng(12u);
  std::uniform_real_distribution<float> U(-1.f, 1.f);
  const auto sigma = f(b.sigma), rgb = f(b.rgb), t = f(b.t), dn = f(b.dnorm), bg = f(b.bg);
  std::vector<float> gC(3 * R), gd(R), ga(R), gw(n);
  for (auto* v : {&gC, &gd, &ga, &gw})
    for (float& x : *v) x = U(rng);
  for (bool with_bg : {false, true}) {
    std::vector<float> C(3 * R), depth(R), acc(R), w(n), gs(n), gr(3 * n);
    const float* bgp = with_bg ? bg.data() : nullptr;
    jnerf::composite_forward_cpu<float>(R, S, sigma.data(), rgb.data(), t.data(), dn.data(), bgp, C.data(),
                                        depth.data(), acc.data(), w.data());
    jnerf::composite_backward_cpu<float>(R, S, sigma.data(), rgb.data(), t.data(), dn.data(), bgp, C.data(),
                                         depth.data(), acc.data(), w.data(), gC.data(), gd.data(), ga.data(),
                                         gw.data(), gs.data(), gr.data());
    DeviceBuffer dsigma(sigma), drgb(rgb), dt(t), ddn(dn), dbg(bg), dC(C), ddepth(depth), dacc(acc), dw(w),
        dgC(gC), dgd(gd), dga(ga), dgw(gw), dgs(gs), dgr(gr);
    const float* dbgp = with_bg ? dbg.ptr : nullptr;
    jnerf::composite_forward_cuda(R, S, dsigma.ptr, drgb.ptr, dt.ptr, ddn.ptr, dbgp, dC.ptr, ddepth.ptr, dacc.ptr,
                                  dw.ptr);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    expect_close(dC.download(), C, 1e-5f, "C");
    expect_close(ddepth.download(), depth, 1e-5f, "depth");
    expect_close(dacc.download(), acc, 1e-5f, "acc");
    expect_close(dw.download(), w, 1e-5f, "weights");
    // Without colour (a coarse pass nothing reads the colour of): the same weights.
    DeviceBuffer dw2(std::vector<float>(n, 0.f)), ddepth2(std::vector<float>(R, 0.f));
    jnerf::composite_forward_cuda(R, S, dsigma.ptr, nullptr, dt.ptr, ddn.ptr, dbgp, nullptr, ddepth2.ptr, nullptr,
                                  dw2.ptr);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    expect_close(dw2.download(), w, 1e-5f, "weights without colour");
    expect_close(ddepth2.download(), depth, 1e-5f, "depth without colour");
    // The backward from the CPU forward's outputs, so both see identical inputs.
    DeviceBuffer cC(C), cdepth(depth), cacc(acc), cw(w);
    jnerf::composite_backward_cuda(R, S, dsigma.ptr, drgb.ptr, dt.ptr, ddn.ptr, dbgp, cC.ptr, cdepth.ptr, cacc.ptr,
                                   cw.ptr, dgC.ptr, dgd.ptr, dga.ptr, dgw.ptr, dgs.ptr, dgr.ptr);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    expect_close(dgs.download(), gs, 1e-4f, "grad_sigma");
    expect_close(dgr.download(), gr, 1e-5f, "grad_rgb");
    // Optional upstream gradients absent.
    jnerf::composite_backward_cpu<float>(R, S, sigma.data(), rgb.data(), t.data(), dn.data(), bgp, C.data(), nullptr,
                                         nullptr, w.data(), gC.data(), nullptr, nullptr, nullptr, gs.data(),
                                         gr.data());
    jnerf::composite_backward_cuda(R, S, dsigma.ptr, drgb.ptr, dt.ptr, ddn.ptr, dbgp, cC.ptr, nullptr, nullptr,
                                   cw.ptr, dgC.ptr, nullptr, nullptr, nullptr, dgs.ptr, dgr.ptr);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    expect_close(dgs.download(), gs, 1e-4f, "grad_sigma (colour only)");
  }
#endif
}

}  // namespace
