// Input encodings: frequency, spherical harmonics, multiresolution hash grid.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "cuda_test_support.hpp"
#ifdef JNERF_HAVE_CUDA
using jnerf::test::DeviceBuffer;
#endif

#include "jnerf/model/encoding.hpp"

#ifdef JNERF_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

namespace {

const double kPi = 3.14159265358979323846;

std::vector<double> random_vector(std::size_t size, double lo, double hi, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<double> v(size);
  for (double& x : v) x = u(rng);
  return v;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Central finite differences of loss(x) = dot(w, forward(x)) w.r.t. every entry of `x`.
std::vector<double> finite_difference(std::vector<double> x, const std::vector<double>& w,
                                      const std::function<void(const std::vector<double>&, std::vector<double>&)>& fwd,
                                      double h) {
  std::vector<double> out(w.size()), grad(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double keep = x[i];
    x[i] = keep + h;
    fwd(x, out);
    const double plus = dot(w, out);
    x[i] = keep - h;
    fwd(x, out);
    const double minus = dot(w, out);
    x[i] = keep;
    grad[i] = (plus - minus) / (2 * h);
  }
  return grad;
}

// Relative error per entry, against max(|a|, |b|, 1e-3 * max |b|) so that entries that are
// (nearly) zero are compared on the scale of the whole gradient.
void expect_gradient_close(const std::vector<double>& analytic, const std::vector<double>& fd, double tol) {
  ASSERT_EQ(analytic.size(), fd.size());
  double scale = 0;
  for (double v : fd) scale = std::max(scale, std::abs(v));
  ASSERT_GT(scale, 0.0) << "degenerate test: zero gradient";
  for (std::size_t i = 0; i < fd.size(); ++i) {
    const double denom = std::max({std::abs(analytic[i]), std::abs(fd[i]), 1e-3 * scale});
    EXPECT_LT(std::abs(analytic[i] - fd[i]) / denom, tol) << "entry " << i << ": " << analytic[i] << " vs " << fd[i];
  }
}

}  // namespace

// =========================================================================================
// Frequency encoding
// =========================================================================================

TEST(FrequencyEncoding, Dimensions) {
  EXPECT_EQ(jnerf::frequency_encoding_dims(10), 63);
  EXPECT_EQ(jnerf::frequency_encoding_dims(4), 27);
  EXPECT_EQ(jnerf::frequency_encoding_dims(0), 3);
}

TEST(FrequencyEncoding, HandValuesAndFeatureOrder) {
  // Sample 0: p = (0, 5 pi, 1), scale 0.1 -> p' = (0, pi/2, 0.1). Sample 1 checks the
  // feature-major layout (out[f * n + s]).
  const int n = 2, L = 10;
  const std::vector<double> x = {0.0, -3.0, 5 * kPi, 0.5, 1.0, 2.0};  // x[c * n + s]
  std::vector<double> out(63 * n, -99.0);
  jnerf::frequency_encode_cpu(x.data(), n, L, 0.1, out.data());
  auto f0 = [&](int f) { return out[f * n + 0]; };
  auto f1 = [&](int f) { return out[f * n + 1]; };
  // The input itself, scaled.
  EXPECT_DOUBLE_EQ(f0(0), 0.0);
  EXPECT_NEAR(f0(1), kPi / 2, 1e-15);
  EXPECT_NEAR(f0(2), 0.1, 1e-16);
  // sin(p'), then cos(p'): each a 3-vector.
  EXPECT_DOUBLE_EQ(f0(3), 0.0);
  EXPECT_NEAR(f0(4), 1.0, 1e-15);
  EXPECT_NEAR(f0(5), std::sin(0.1), 1e-15);
  EXPECT_DOUBLE_EQ(f0(6), 1.0);
  EXPECT_NEAR(f0(7), 0.0, 1e-15);
  EXPECT_NEAR(f0(8), std::cos(0.1), 1e-15);
  // Frequency 2: sin(2 p') = (0, 0, sin 0.2), cos(2 p') = (1, -1, cos 0.2).
  EXPECT_DOUBLE_EQ(f0(9), 0.0);
  EXPECT_NEAR(f0(10), 0.0, 1e-15);
  EXPECT_NEAR(f0(11), std::sin(0.2), 1e-15);
  EXPECT_DOUBLE_EQ(f0(12), 1.0);
  EXPECT_NEAR(f0(13), -1.0, 1e-15);
  EXPECT_NEAR(f0(14), std::cos(0.2), 1e-15);
  // Frequency 4: sin(4 p') = (0, 0, sin 0.4), cos = (1, 1, cos 0.4).
  EXPECT_NEAR(f0(16), 0.0, 1e-14);
  EXPECT_NEAR(f0(19), 1.0, 1e-14);
  // Every feature against the definition, both samples.
  const double p1[3] = {-0.3, 0.05, 0.2};
  const double p0[3] = {0.0, kPi / 2, 0.1};
  for (int k = 0; k < L; ++k)
    for (int c = 0; c < 3; ++c) {
      const double a0 = std::ldexp(p0[c], k), a1 = std::ldexp(p1[c], k);
      EXPECT_NEAR(f0(3 + 6 * k + c), std::sin(a0), 1e-12) << k << " " << c;
      EXPECT_NEAR(f0(6 + 6 * k + c), std::cos(a0), 1e-12) << k << " " << c;
      EXPECT_NEAR(f1(3 + 6 * k + c), std::sin(a1), 1e-12) << k << " " << c;
      EXPECT_NEAR(f1(6 + 6 * k + c), std::cos(a1), 1e-12) << k << " " << c;
    }
  EXPECT_NEAR(f1(0), -0.3, 1e-16);
  EXPECT_NEAR(f1(1), 0.05, 1e-16);
  EXPECT_NEAR(f1(2), 0.2, 1e-16);
}

TEST(FrequencyEncoding, ViewDirectionPresetHas27Features) {
  const std::vector<double> d = {0.6, 0.0, 0.8};  // n = 1
  std::vector<double> out(28, -99.0);
  jnerf::frequency_encode_cpu(d.data(), 1, 4, 1.0, out.data());
  EXPECT_DOUBLE_EQ(out[0], 0.6);
  EXPECT_DOUBLE_EQ(out[2], 0.8);
  EXPECT_DOUBLE_EQ(out[26], std::cos(8 * 0.8));  // last: cos(2^3 * z)
  EXPECT_DOUBLE_EQ(out[27], -99.0);              // nothing written past 27
}

TEST(FrequencyEncoding, BackwardMatchesFiniteDifferences) {
  const int n = 4, L = 10;
  const double scale = 0.1;
  const auto x = random_vector(3 * n, -2.0, 2.0, 1);
  const auto w = random_vector(63 * n, -1.0, 1.0, 2);
  std::vector<double> d_x(3 * n, -99.0);
  jnerf::frequency_encode_backward_cpu(x.data(), w.data(), n, L, scale, d_x.data());
  const auto fd = finite_difference(
      x, w, [&](const std::vector<double>& in, std::vector<double>& out) {
        jnerf::frequency_encode_cpu(in.data(), n, L, scale, out.data());
      },
      1e-6);
  expect_gradient_close(d_x, fd, 1e-6);
}

TEST(FrequencyEncoding, FloatMatchesDouble) {
  const int n = 33, L = 10;
  const auto xd = random_vector(3 * n, -5.0, 5.0, 3);
  std::vector<float> xf(xd.begin(), xd.end());
  std::vector<double> od(63 * n);
  std::vector<float> of(63 * n);
  std::vector<double> xd_rounded(xf.begin(), xf.end());
  jnerf::frequency_encode_cpu(xd_rounded.data(), n, L, 0.1, od.data());
  jnerf::frequency_encode_cpu(xf.data(), n, L, 0.1f, of.data());
  // float p' = 0.1f * x differs from the double one by ~1 ulp, amplified by 2^9.
  for (int i = 0; i < 63 * n; ++i) EXPECT_NEAR(of[i], od[i], 2e-4) << i;
}

TEST(FrequencyEncoding, RejectsNegativeFrequencies) {
  const double x[3] = {0, 0, 0};
  double out[3];
  EXPECT_THROW(jnerf::frequency_encode_cpu(x, 1, -1, 1.0, out), jnerf::InputError);
}

// =========================================================================================
// Spherical harmonics
// =========================================================================================

namespace {
std::vector<double> sh_of(double x, double y, double z) {
  const std::vector<double> d = {x, y, z};
  std::vector<double> out(16);
  jnerf::sh4_encode_cpu(d.data(), 1, out.data());
  return out;
}

// Gauss-Legendre nodes / weights on [-1, 1] (Newton on P_m).
void gauss_legendre(int m, std::vector<double>& nodes, std::vector<double>& weights) {
  nodes.resize(m);
  weights.resize(m);
  for (int i = 0; i < m; ++i) {
    double z = std::cos(kPi * (i + 0.75) / (m + 0.5));
    double dp = 0;
    for (int it = 0; it < 100; ++it) {
      double p0 = 1, p1 = z;
      for (int k = 2; k <= m; ++k) {
        const double p2 = ((2 * k - 1) * z * p1 - (k - 1) * p0) / k;
        p0 = p1;
        p1 = p2;
      }
      dp = m * (z * p1 - p0) / (z * z - 1);
      const double dz = p1 / dp;
      z -= dz;
      if (std::abs(dz) < 1e-16) break;
    }
    nodes[i] = z;
    weights[i] = 2 / ((1 - z * z) * dp * dp);
  }
}
}  // namespace

TEST(SphericalHarmonics, HandValuesOnTheAxes) {
  const double s = std::sqrt(kPi);
  // +z: only the m = 0 functions survive.
  const std::vector<double> ez = {1 / (2 * s), 0, std::sqrt(3.0) / (2 * s), 0, 0, 0, std::sqrt(5.0) / (2 * s), 0,
                                  0,           0, 0,                        0, std::sqrt(7.0) / (2 * s), 0, 0, 0};
  // +x.
  const std::vector<double> ex = {1 / (2 * s), 0, 0, -std::sqrt(3.0) / (2 * s), 0, 0, -std::sqrt(5.0) / (4 * s), 0,
                                  std::sqrt(15.0) / (4 * s), 0, 0, 0, 0, std::sqrt(42.0) / (8 * s), 0,
                                  -std::sqrt(70.0) / (8 * s)};
  // +y.
  const std::vector<double> ey = {1 / (2 * s), -std::sqrt(3.0) / (2 * s), 0, 0, 0, 0, -std::sqrt(5.0) / (4 * s), 0,
                                  -std::sqrt(15.0) / (4 * s), std::sqrt(70.0) / (8 * s), 0, std::sqrt(42.0) / (8 * s),
                                  0, 0, 0, 0};
  const auto gz = sh_of(0, 0, 1), gx = sh_of(1, 0, 0), gy = sh_of(0, 1, 0);
  for (int i = 0; i < 16; ++i) {
    EXPECT_NEAR(gz[i], ez[i], 1e-15) << "+z, coefficient " << i;
    EXPECT_NEAR(gx[i], ex[i], 1e-15) << "+x, coefficient " << i;
    EXPECT_NEAR(gy[i], ey[i], 1e-15) << "+y, coefficient " << i;
  }
}

TEST(SphericalHarmonics, HandValuesOffAxis) {
  // d = (1, 2, 3) / sqrt(14): the mixed terms, against the closed forms.
  const double r = std::sqrt(14.0), x = 1 / r, y = 2 / r, z = 3 / r, s = std::sqrt(kPi);
  const auto g = sh_of(x, y, z);
  EXPECT_NEAR(g[4], std::sqrt(15.0) * x * y / (2 * s), 1e-15);
  EXPECT_NEAR(g[5], -std::sqrt(15.0) * y * z / (2 * s), 1e-15);
  EXPECT_NEAR(g[7], -std::sqrt(15.0) * x * z / (2 * s), 1e-15);
  EXPECT_NEAR(g[9], std::sqrt(70.0) * y * (y * y - 3 * x * x) / (8 * s), 1e-15);
  EXPECT_NEAR(g[10], std::sqrt(105.0) * x * y * z / (2 * s), 1e-15);
  EXPECT_NEAR(g[14], std::sqrt(105.0) * z * (x * x - y * y) / (4 * s), 1e-15);
  EXPECT_NEAR(g[15], std::sqrt(70.0) * x * (3 * y * y - x * x) / (8 * s), 1e-15);
}

TEST(SphericalHarmonics, OrthonormalOverTheSphere) {
  // Convention: integral over S^2 of Y_i Y_j dOmega = delta_ij (orthonormal real SH; the
  // mean over the sphere is delta_ij / (4 pi)). Product quadrature: Gauss-Legendre in
  // z = cos(theta) (8 nodes, exact to degree 15) x 16 equispaced phi, exact for the
  // degree <= 6 integrands.
  std::vector<double> zs, wz;
  gauss_legendre(8, zs, wz);
  const int nphi = 16, n = 8 * nphi;
  std::vector<double> dirs(3 * n), wts(n);
  for (int a = 0; a < 8; ++a)
    for (int b = 0; b < nphi; ++b) {
      const int s = a * nphi + b;
      const double phi = 2 * kPi * (b + 0.3) / nphi, rho = std::sqrt(1 - zs[a] * zs[a]);
      dirs[s] = rho * std::cos(phi);
      dirs[n + s] = rho * std::sin(phi);
      dirs[2 * n + s] = zs[a];
      wts[s] = wz[a] * 2 * kPi / nphi;
    }
  std::vector<double> Y(16 * n);
  jnerf::sh4_encode_cpu(dirs.data(), n, Y.data());
  for (int i = 0; i < 16; ++i)
    for (int j = 0; j < 16; ++j) {
      double integral = 0;
      for (int s = 0; s < n; ++s) integral += wts[s] * Y[i * n + s] * Y[j * n + s];
      EXPECT_NEAR(integral, i == j ? 1.0 : 0.0, 1e-13) << i << "," << j;
    }
}

TEST(SphericalHarmonics, BackwardMatchesFiniteDifferences) {
  const int n = 5;
  auto d = random_vector(3 * n, -1.0, 1.0, 4);
  for (int s = 0; s < n; ++s) {  // unit directions (the gradient is that of the polynomials)
    const double r = std::sqrt(d[s] * d[s] + d[n + s] * d[n + s] + d[2 * n + s] * d[2 * n + s]);
    for (int c = 0; c < 3; ++c) d[c * n + s] /= r;
  }
  const auto w = random_vector(16 * n, -1.0, 1.0, 5);
  std::vector<double> g(3 * n, -99.0);
  jnerf::sh4_encode_backward_cpu(d.data(), w.data(), n, g.data());
  const auto fd = finite_difference(
      d, w, [&](const std::vector<double>& in, std::vector<double>& out) {
        jnerf::sh4_encode_cpu(in.data(), n, out.data());
      },
      1e-6);
  expect_gradient_close(g, fd, 1e-6);
}

TEST(SphericalHarmonics, EachCoefficientsGradientMatchesFiniteDifferences) {
  // One-hot d_out: every coefficient's gradient separately (a sum could hide a sign error
  // that cancels between coefficients).
  const double d0[3] = {0.3, -0.5, 0.8};
  for (int i = 0; i < 16; ++i) {
    std::vector<double> w(16, 0.0);
    w[i] = 1.0;
    std::vector<double> g(3);
    jnerf::sh4_encode_backward_cpu(d0, w.data(), 1, g.data());
    const auto fd = finite_difference(
        {d0[0], d0[1], d0[2]}, w,
        [&](const std::vector<double>& in, std::vector<double>& out) { jnerf::sh4_encode_cpu(in.data(), 1, out.data()); },
        1e-6);
    for (int c = 0; c < 3; ++c) EXPECT_NEAR(g[c], fd[c], 1e-8) << "coefficient " << i << " axis " << c;
  }
}

// =========================================================================================
// Hash grid
// =========================================================================================

TEST(HashGridConfig, LevelResolutionsAndSizes) {
  jnerf::HashGridConfig c;  // 16 levels, F 2, T 2^19, 16 .. 2048
  EXPECT_NEAR(c.growth_factor(), std::pow(2.0, 7.0 / 15.0), 1e-12);
  EXPECT_EQ(c.level_resolution(0), 16);
  EXPECT_EQ(c.level_resolution(1), 22);  // 16 * 1.3819 = 22.11
  EXPECT_EQ(c.level_resolution(2), 30);  // 30.55
  EXPECT_EQ(c.level_resolution(15), 2048);
  for (int l = 0; l < 16; ++l)
    EXPECT_EQ(c.level_resolution(l), int(std::floor(16 * std::pow(2.0, 7.0 * l / 15.0) + 1e-9))) << l;
  EXPECT_EQ(c.params_size(), 16LL * (1 << 19) * 2);
  EXPECT_EQ(c.output_dims(), 32);
  // (N + 1)^3 <= 2^19 up to N = 79: level 4 (N = 58) is dense, level 5 (N = 80) hashed.
  EXPECT_EQ(c.level_resolution(4), 58);
  EXPECT_EQ(c.level_resolution(5), 80);
  EXPECT_TRUE(c.level_is_dense(0));
  EXPECT_TRUE(c.level_is_dense(4));
  EXPECT_FALSE(c.level_is_dense(5));
  EXPECT_FALSE(c.level_is_dense(15));
  jnerf::HashGridConfig edge{1, 1, 6, 3, 3};  // 4^3 = 64 = T: dense (<=)
  EXPECT_TRUE(edge.level_is_dense(0));
  edge.log2_table_size = 5;
  EXPECT_FALSE(edge.level_is_dense(0));
  // b = 2 exactly: integral resolutions must not be rounded down.
  jnerf::HashGridConfig p2{8, 2, 19, 16, 2048};
  for (int l = 0; l < 8; ++l) EXPECT_EQ(p2.level_resolution(l), 16 << l) << l;
  jnerf::HashGridConfig one{1, 2, 10, 7, 7};
  EXPECT_EQ(one.level_resolution(0), 7);
}

TEST(HashGridConfig, ValidationNamesTheField) {
  auto expect_bad = [](jnerf::HashGridConfig c, const char* field) {
    try {
      c.validate();
      ADD_FAILURE() << "accepted bad " << field;
    } catch (const jnerf::InputError& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    }
  };
  expect_bad({0, 2, 19, 16, 2048}, "levels");
  expect_bad({33, 2, 19, 16, 2048}, "levels");
  expect_bad({16, 3, 19, 16, 2048}, "features_per_level");
  expect_bad({16, 2, 0, 16, 2048}, "log2_table_size");
  expect_bad({16, 2, 19, 0, 2048}, "base_resolution");
  expect_bad({16, 2, 19, 64, 32}, "max_resolution");
  EXPECT_NO_THROW(jnerf::HashGridConfig{}.validate());
}

TEST(HashGrid, InitIsDeterministicUniformAndSeeded) {
  jnerf::HashGridConfig c{4, 2, 12, 4, 32};
  std::vector<float> a(c.params_size()), b(c.params_size()), other(c.params_size());
  jnerf::hash_grid_init(c, a.data(), 42);
  jnerf::hash_grid_init(c, b.data(), 42);
  jnerf::hash_grid_init(c, other.data(), 43);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, other);
  double mean = 0, lo = 1, hi = -1;
  for (float v : a) {
    ASSERT_GE(v, -1e-4f);
    ASSERT_LE(v, 1e-4f);
    mean += v;
    lo = std::min(lo, double(v));
    hi = std::max(hi, double(v));
  }
  mean /= a.size();
  EXPECT_LT(std::abs(mean), 2e-6);  // std of the mean: 5.8e-5 / sqrt(32768) = 3.2e-7
  EXPECT_LT(lo, -0.99e-4);
  EXPECT_GT(hi, 0.99e-4);
  std::vector<double> d(c.params_size());
  jnerf::hash_grid_init(c, d.data(), 42);
  for (std::size_t i = 0; i < d.size(); ++i) ASSERT_NEAR(d[i], a[i], 1e-11);
}

namespace {
// Two dense levels, N = 2 and N = 4 (b = 2), T = 256 >= 5^3, F = 2.
jnerf::HashGridConfig dense_config() { return {2, 2, 8, 2, 4}; }

// Hand-set table: level l, vertex (i, j, k): f0 = i + 10 j + 100 k + 1000 l (linear),
// f1 = i * j * k (trilinear), stored at the dense entry i + (N+1) (j + (N+1) k).
std::vector<double> dense_table(const jnerf::HashGridConfig& c) {
  std::vector<double> p(c.params_size(), 0.0);
  for (int l = 0; l < c.levels; ++l) {
    const int side = c.level_resolution(l) + 1;
    for (int k = 0; k < side; ++k)
      for (int j = 0; j < side; ++j)
        for (int i = 0; i < side; ++i) {
          const long long e = i + side * (j + side * k);
          p[(l * c.table_size() + e) * 2 + 0] = i + 10 * j + 100 * k + 1000 * l;
          p[(l * c.table_size() + e) * 2 + 1] = double(i) * j * k;
        }
  }
  return p;
}
}  // namespace

TEST(HashGrid, DenseLevelsInterpolateTrilinearly) {
  const auto c = dense_config();
  ASSERT_TRUE(c.level_is_dense(0));
  ASSERT_TRUE(c.level_is_dense(1));
  ASSERT_EQ(c.level_resolution(0), 2);
  ASSERT_EQ(c.level_resolution(1), 4);
  const auto params = dense_table(c);
  const int n = 6;
  const auto x = random_vector(3 * n, 0.0, 1.0, 6);
  std::vector<double> out(4 * n);
  jnerf::hash_encode_cpu(c, params.data(), x.data(), n, out.data());
  for (int s = 0; s < n; ++s) {
    const double px = x[s], py = x[n + s], pz = x[2 * n + s];
    for (int l = 0; l < 2; ++l) {
      const double N = c.level_resolution(l);
      // Interpolating a linear / trilinear vertex function reproduces it exactly.
      EXPECT_NEAR(out[(2 * l + 0) * n + s], N * px + 10 * N * py + 100 * N * pz + 1000 * l, 1e-10);
      EXPECT_NEAR(out[(2 * l + 1) * n + s], N * px * N * py * N * pz, 1e-10);
    }
  }
}

TEST(HashGrid, DenseLevelAgainstExplicitTrilinearOfRandomCorners) {
  // Random table: the output must be the trilinear blend of the 8 surrounding entries.
  jnerf::HashGridConfig c{1, 2, 8, 4, 4};
  std::vector<double> params(c.params_size());
  jnerf::hash_grid_init(c, params.data(), 7, 1.0);
  const double x[3] = {0.6, 0.1, 0.85};  // cell (2, 0, 3), frac (0.4, 0.4, 0.4)
  double out[2];
  jnerf::hash_encode_cpu(c, params.data(), x, 1, out);
  const int base[3] = {2, 0, 3};
  const double frac[3] = {0.4, 0.4, 0.4};
  for (int f = 0; f < 2; ++f) {
    double expect = 0;
    for (int corner = 0; corner < 8; ++corner) {
      double w = 1;
      int v[3];
      for (int a = 0; a < 3; ++a) {
        const int hi = (corner >> a) & 1;
        v[a] = base[a] + hi;
        w *= hi ? frac[a] : 1 - frac[a];
      }
      expect += w * params[(v[0] + 5 * v[1] + 25 * v[2]) * 2 + f];
    }
    EXPECT_NEAR(out[f], expect, 1e-14);
  }
}

TEST(HashGrid, VertexReturnsItsFeaturesAndInputsAreClamped) {
  const auto c = dense_config();
  const auto params = dense_table(c);
  // Sample 0: level 1 (N = 4): (1/4, 2/4, 3/4) is vertex (1, 2, 3) = entry 1 + 5*2 + 25*3 = 86.
  // Sample 1: (1, 1, 1) is the last vertex (4, 4, 4) = entry 124 / level 0 vertex (2,2,2).
  // Sample 2: (-0.5, 1.5, 0.25) is clamped to (0, 1, 0.25).
  const int n = 3;
  const std::vector<double> x = {0.25, 1.0, -0.5, 0.5, 1.0, 1.5, 0.75, 1.0, 0.25};
  std::vector<double> out(4 * n);
  jnerf::hash_encode_cpu(c, params.data(), x.data(), n, out.data());
  const long long T = c.table_size();
  EXPECT_EQ(out[2 * n + 0], params[(T + 86) * 2 + 0]);
  EXPECT_EQ(out[3 * n + 0], params[(T + 86) * 2 + 1]);
  EXPECT_EQ(out[2 * n + 0], 1 + 20 + 300 + 1000);
  EXPECT_EQ(out[3 * n + 0], 6);
  EXPECT_EQ(out[2 * n + 1], params[(T + 124) * 2 + 0]);
  EXPECT_EQ(out[3 * n + 1], 64);
  EXPECT_EQ(out[0 * n + 1], 2 + 20 + 200);  // level 0 vertex (2, 2, 2) = entry 26
  EXPECT_EQ(out[1 * n + 1], 8);
  // Clamped: (0, 1, 0.25) at level 1 -> vertex (0, 4, 1) exactly.
  EXPECT_NEAR(out[2 * n + 2], 0 + 40 + 100 + 1000, 1e-12);
  EXPECT_NEAR(out[3 * n + 2], 0, 1e-12);
}

TEST(HashGrid, HashedLevelUsesThePaperHash) {
  // N = 64, T = 1024: 65^3 > T, hashed. Entry e holds (e, -e) so a vertex lookup returns
  // the entry number it hashed to.
  jnerf::HashGridConfig c{1, 2, 10, 64, 64};
  ASSERT_FALSE(c.level_is_dense(0));
  std::vector<double> params(c.params_size());
  for (long long e = 0; e < c.table_size(); ++e) {
    params[2 * e] = double(e);
    params[2 * e + 1] = -double(e);
  }
  // Direct transcription of (x * 1 xor y * 2654435761 xor z * 805459861) mod T, in 64-bit.
  auto reference = [](std::uint64_t i, std::uint64_t j, std::uint64_t k, std::uint64_t T) {
    return ((i * 1ull) ^ (j * 2654435761ull) ^ (k * 805459861ull)) % T;
  };
  std::mt19937 rng(8);
  std::vector<int> verts = {0, 0, 0, 64, 64, 64, 1, 0, 0, 0, 1, 0, 0, 0, 1, 63, 17, 5};
  for (int r = 0; r < 30; ++r) verts.insert(verts.end(), {int(rng() % 65), int(rng() % 65), int(rng() % 65)});
  const int n = int(verts.size()) / 3;
  std::vector<double> x(3 * n), out(2 * n);
  for (int s = 0; s < n; ++s)
    for (int a = 0; a < 3; ++a) x[a * n + s] = verts[3 * s + a] / 64.0;
  jnerf::hash_encode_cpu(c, params.data(), x.data(), n, out.data());
  for (int s = 0; s < n; ++s) {
    const auto e = reference(verts[3 * s], verts[3 * s + 1], verts[3 * s + 2], 1024);
    EXPECT_EQ(out[s], double(e)) << verts[3 * s] << "," << verts[3 * s + 1] << "," << verts[3 * s + 2];
    EXPECT_EQ(out[n + s], -double(e));
    // The index function itself, also for coordinates beyond this grid.
    EXPECT_EQ(jnerf::hash_grid_entry(verts[3 * s], verts[3 * s + 1], verts[3 * s + 2], 64, false, 1023), e);
  }
  for (std::uint32_t v : {100000u, 1048576u, 4000000000u})
    EXPECT_EQ(jnerf::hash_grid_entry(v, v + 7, v / 3, 1 << 20, false, (1u << 19) - 1),
              reference(v, v + 7, v / 3, 1 << 19));
  // A point inside a hashed cell blends its 8 hashed corners.
  const double p[3] = {10.25 / 64, 20.5 / 64, 30.75 / 64};
  double o[2];
  jnerf::hash_encode_cpu(c, params.data(), p, 1, o);
  double expect = 0;
  for (int corner = 0; corner < 8; ++corner) {
    const int hi[3] = {corner & 1, (corner >> 1) & 1, (corner >> 2) & 1};
    const double w = (hi[0] ? 0.25 : 0.75) * (hi[1] ? 0.5 : 0.5) * (hi[2] ? 0.75 : 0.25);
    expect += w * double(reference(10 + hi[0], 20 + hi[1], 30 + hi[2], 1024));
  }
  EXPECT_NEAR(o[0], expect, 1e-9);
}

namespace {
// Mixed config: N = 3 (4^3 = 64 <= T = 64, dense), 6 and 12 (hashed), F = 2.
jnerf::HashGridConfig mixed_config() { return {3, 2, 6, 3, 12}; }

// Random points in [0,1]^3 whose fractional cell position is at least `margin` from every
// cell face at every level (the encoding is only piecewise smooth).
std::vector<double> interior_points(const jnerf::HashGridConfig& c, int n, double margin, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> x(3 * n);
  for (int s = 0; s < n; ++s)
    for (int a = 0; a < 3; ++a) {
      double v;
      bool ok;
      do {
        v = u(rng);
        ok = true;
        for (int l = 0; l < c.levels; ++l) {
          const double pos = v * c.level_resolution(l), frac = pos - std::floor(pos);
          ok = ok && frac > margin && frac < 1 - margin;
        }
      } while (!ok);
      x[a * n + s] = v;
    }
  return x;
}
}  // namespace

TEST(HashGrid, GradientsMatchFiniteDifferences) {
  const auto c = mixed_config();
  ASSERT_TRUE(c.level_is_dense(0));
  ASSERT_FALSE(c.level_is_dense(1));
  const int n = 8;
  std::vector<double> params(c.params_size());
  jnerf::hash_grid_init(c, params.data(), 11, 1.0);
  auto x = interior_points(c, n, 0.05, 12);
  x[0 * n + 7] = 1.3;  // a clamped coordinate: zero gradient there
  const auto w = random_vector(std::size_t(c.output_dims()) * n, -1.0, 1.0, 13);
  std::vector<double> d_params(c.params_size(), 0.0), d_x(3 * n, -99.0);
  jnerf::hash_encode_backward_cpu(c, params.data(), x.data(), w.data(), n, d_params.data(), d_x.data());
  const auto fd_x = finite_difference(
      x, w, [&](const std::vector<double>& in, std::vector<double>& out) {
        jnerf::hash_encode_cpu(c, params.data(), in.data(), n, out.data());
      },
      1e-7);
  expect_gradient_close(d_x, fd_x, 1e-6);
  EXPECT_EQ(d_x[0 * n + 7], 0.0);
  const auto fd_p = finite_difference(
      params, w, [&](const std::vector<double>& in, std::vector<double>& out) {
        jnerf::hash_encode_cpu(c, in.data(), x.data(), n, out.data());
      },
      1e-3);
  expect_gradient_close(d_params, fd_p, 1e-6);
  int touched = 0;
  for (double v : d_params) touched += v != 0.0;
  EXPECT_GT(touched, 100);  // the test exercises many entries, not a handful
}

TEST(HashGrid, ParamGradientAccumulatesAndInputGradientIsOptional) {
  const auto c = mixed_config();
  const int n = 16;
  std::vector<double> params(c.params_size());
  jnerf::hash_grid_init(c, params.data(), 21, 1.0);
  const auto x = interior_points(c, n, 0.0, 22);
  const auto w = random_vector(std::size_t(c.output_dims()) * n, -1.0, 1.0, 23);
  std::vector<double> once(c.params_size(), 0.0), acc(c.params_size(), 0.5);
  jnerf::hash_encode_backward_cpu(c, params.data(), x.data(), w.data(), n, once.data(), (double*)nullptr);
  jnerf::hash_encode_backward_cpu(c, params.data(), x.data(), w.data(), n, acc.data(), (double*)nullptr);
  jnerf::hash_encode_backward_cpu(c, params.data(), x.data(), w.data(), n, acc.data(), (double*)nullptr);
  double norm = 0;
  for (std::size_t i = 0; i < once.size(); ++i) {
    EXPECT_NEAR(acc[i], 0.5 + 2 * once[i], 1e-12) << i;
    norm += std::abs(once[i]);
  }
  EXPECT_GT(norm, 0.1);
}

TEST(HashGrid, ParallelScatterMatchesSerialReference) {
  // Many samples hitting the same entries: the threaded scatter (level-owned when
  // threads <= levels, atomics otherwise -- the 1-level config takes that path on any
  // multi-core machine) must equal a serial sum of the same per-sample contributions.
  for (const jnerf::HashGridConfig c : {jnerf::HashGridConfig{3, 2, 6, 3, 12}, jnerf::HashGridConfig{1, 4, 5, 8, 8}}) {
    const int n = 4000;
    const auto xd = random_vector(3 * n, -0.1, 1.1, 31);
    const auto wd = random_vector(std::size_t(c.output_dims()) * n, -1.0, 1.0, 32);
    const std::vector<float> x(xd.begin(), xd.end()), w(wd.begin(), wd.end());
    std::vector<float> params(c.params_size());
    jnerf::hash_grid_init(c, params.data(), 33, 1.0f);
    std::vector<float> got(c.params_size(), 0.f);
    std::vector<float> d_x(3 * n);
    jnerf::hash_encode_backward_cpu(c, params.data(), x.data(), w.data(), n, got.data(), d_x.data());
    std::vector<double> ref(c.params_size(), 0.0), ref_dx(3 * n, 0.0);
    const jnerf::HashGridLevels g = c.levels_desc();
    struct Add {
      double* p;
      void operator()(long long i, double v) const { p[i] += v; }
    } add{ref.data()};
    const std::vector<double> pd(params.begin(), params.end());
    const std::vector<double> xr(x.begin(), x.end()), wr(w.begin(), w.end());
    for (int s = 0; s < n; ++s) {
      const double p[3] = {xr[s], xr[n + s], xr[2 * n + s]};
      double d[3] = {0, 0, 0};
      for (int l = 0; l < g.levels; ++l) {
        const double* dl = wr.data() + std::size_t(l) * g.features * n + s;
        if (g.features == 2) {
          jnerf::hash_grid_level_backward_params<double, 2>(g, l, p, dl, n, add);
          jnerf::hash_grid_level_backward_input<double, 2>(g, l, pd.data(), p, dl, n, d);
        } else {
          jnerf::hash_grid_level_backward_params<double, 4>(g, l, p, dl, n, add);
          jnerf::hash_grid_level_backward_input<double, 4>(g, l, pd.data(), p, dl, n, d);
        }
      }
      for (int a = 0; a < 3; ++a) ref_dx[a * n + s] = d[a];
    }
    for (std::size_t i = 0; i < ref.size(); ++i) ASSERT_NEAR(got[i], ref[i], 1e-4 * (1 + std::abs(ref[i]))) << i;
    for (int i = 0; i < 3 * n; ++i) ASSERT_NEAR(d_x[i], ref_dx[i], 1e-4 * (1 + std::abs(ref_dx[i]))) << i;
  }
}

// =========================================================================================
// CUDA conformance: each encoding's forward and backward against the CPU.
// =========================================================================================

#ifdef JNERF_HAVE_CUDA
namespace {



std::vector<float> random_floats(std::size_t size, float lo, float hi, unsigned seed) {
  const auto d = random_vector(size, lo, hi, seed);
  return std::vector<float>(d.begin(), d.end());
}

void expect_all_near(const std::vector<float>& gpu, const std::vector<float>& cpu, float rel, float abs_tol,
                     const char* what) {
  ASSERT_EQ(gpu.size(), cpu.size());
  int bad = 0;
  for (std::size_t i = 0; i < cpu.size() && bad < 10; ++i)
    if (!(std::abs(gpu[i] - cpu[i]) <= abs_tol + rel * std::abs(cpu[i]))) {
      ADD_FAILURE() << what << "[" << i << "]: gpu " << gpu[i] << " cpu " << cpu[i];
      ++bad;
    }
}

}  // namespace
#endif

TEST(CudaConformance, FrequencyEncodingMatchesCpu) {
#ifndef JNERF_HAVE_CUDA
  GTEST_SKIP() << "built without the CUDA backend";
#else
  JN_REQUIRE_CUDA();
  const int n = 1000, L = 10, dims = 63;
  const auto x = random_floats(3 * n, -10.f, 10.f, 41);
  const auto w = random_floats(std::size_t(dims) * n, -1.f, 1.f, 42);
  std::vector<float> out(std::size_t(dims) * n), d_x(3 * n);
  jnerf::frequency_encode_cpu(x.data(), n, L, 0.1f, out.data());
  jnerf::frequency_encode_backward_cpu(x.data(), w.data(), n, L, 0.1f, d_x.data());
  DeviceBuffer gx(x), gw(w), gout(std::vector<float>(out.size(), -99.f)), gdx(std::vector<float>(3 * n, -99.f));
  jnerf::frequency_encode_cuda(gx.ptr, n, L, 0.1f, gout.ptr);
  jnerf::frequency_encode_backward_cuda(gx.ptr, gw.ptr, n, L, 0.1f, gdx.ptr);
  // sinf / cosf differ by an ulp or two between glibc and CUDA; the backward sums 60 terms
  // with factors up to 2^9.
  expect_all_near(gout.download(), out, 1e-5f, 1e-6f, "forward");
  expect_all_near(gdx.download(), d_x, 1e-4f, 1e-3f, "backward");
#endif
}

TEST(CudaConformance, ShEncodingMatchesCpu) {
#ifndef JNERF_HAVE_CUDA
  GTEST_SKIP() << "built without the CUDA backend";
#else
  JN_REQUIRE_CUDA();
  const int n = 1000;
  auto d = random_floats(3 * n, -1.f, 1.f, 43);
  for (int s = 0; s < n; ++s) {
    const float r = std::sqrt(d[s] * d[s] + d[n + s] * d[n + s] + d[2 * n + s] * d[2 * n + s]);
    for (int c = 0; c < 3; ++c) d[c * n + s] /= r;
  }
  const auto w = random_floats(16 * n, -1.f, 1.f, 44);
  std::vector<float> out(16 * n), g(3 * n);
  jnerf::sh4_encode_cpu(d.data(), n, out.data());
  jnerf::sh4_encode_backward_cpu(d.data(), w.data(), n, g.data());
  DeviceBuffer gd(d), gw(w), gout(std::vector<float>(out.size(), -99.f)), gg(std::vector<float>(3 * n, -99.f));
  jnerf::sh4_encode_cuda(gd.ptr, n, gout.ptr);
  jnerf::sh4_encode_backward_cuda(gd.ptr, gw.ptr, n, gg.ptr);
  expect_all_near(gout.download(), out, 1e-5f, 1e-6f, "forward");
  expect_all_near(gg.download(), g, 1e-5f, 1e-5f, "backward");
#endif
}

TEST(CudaConformance, HashEncodingMatchesCpu) {
#ifndef JNERF_HAVE_CUDA
  GTEST_SKIP() << "built without the CUDA backend";
#else
  JN_REQUIRE_CUDA();
  // Dense and hashed levels, every supported F.
  for (int F : {1, 2, 4, 8}) {
    const jnerf::HashGridConfig c{8, F, 14, 4, 256};
    const int n = 5000;
    const auto x = random_floats(3 * n, -0.05f, 1.05f, 45 + F);
    const auto w = random_floats(std::size_t(c.output_dims()) * n, -1.f, 1.f, 46 + F);
    std::vector<float> params(c.params_size());
    jnerf::hash_grid_init(c, params.data(), 47, 1.0f);
    std::vector<float> out(std::size_t(c.output_dims()) * n), d_x(3 * n);
    std::vector<float> d_params(c.params_size(), 0.25f);
    jnerf::hash_encode_cpu(c, params.data(), x.data(), n, out.data());
    jnerf::hash_encode_backward_cpu(c, params.data(), x.data(), w.data(), n, d_params.data(), d_x.data());
    DeviceBuffer gp(params), gx(x), gw(w), gout(std::vector<float>(out.size(), -99.f));
    DeviceBuffer gdp(std::vector<float>(c.params_size(), 0.25f)), gdx(std::vector<float>(3 * n, -99.f));
    jnerf::hash_encode_cuda(c, gp.ptr, gx.ptr, n, gout.ptr);
    jnerf::hash_encode_backward_cuda(c, gp.ptr, gx.ptr, gw.ptr, n, gdp.ptr, gdx.ptr);
    SCOPED_TRACE("F = " + std::to_string(F));
    expect_all_near(gout.download(), out, 1e-5f, 1e-6f, "forward");
    expect_all_near(gdp.download(), d_params, 1e-4f, 1e-4f, "d_params (accumulated onto 0.25)");
    expect_all_near(gdx.download(), d_x, 1e-4f, 1e-3f, "d_x01");
    // d_x01 optional on the GPU too.
    jnerf::hash_encode_backward_cuda(c, gp.ptr, gx.ptr, gw.ptr, n, gdp.ptr, nullptr);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  }
#endif
}
