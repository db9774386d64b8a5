// The closed-form per-ray Jacobian of the fine colour w.r.t. the fine RGB head, and its
// backward through the whole fine network, against central finite differences in double.
#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "jnerf/core/backend.hpp"
#include "jnerf/model/hash_grid_field.hpp"
#include "jnerf/render/nerf_pipeline.hpp"
#include "jnerf/shape/jacobian.hpp"

namespace {

using B = jnerf::CpuBackend<double>;
using jnerf::JacobianChannels;

jnerf::SemanticNerfSpec tiny_spec() {
  jnerf::SemanticNerfSpec s;
  s.position_frequencies = 3;
  s.direction_frequencies = 2;
  s.trunk_depth = 3;
  s.trunk_width = 10;
  s.skips = {1};
  s.view_width = 5;
  s.position_scale = 0.5;
  return s;
}

jnerf::SamplerSettings tiny_sampler(bool background) {
  jnerf::SamplerSettings s;
  s.coarse_samples = 6;
  s.fine_samples = 4;
  s.near = 0.5f;
  s.far = 3.f;
  s.use_background = background;
  s.background = {0.3f, 0.6f, 0.1f};
  return s;
}

struct Rays {
  int R = 5;
  std::vector<double> origins, dirs, target;
};

Rays make_rays() {
  Rays b;
  std::mt19937_64 rng(17);
  std::uniform_real_distribution<double> u(-0.3, 0.3);
  for (int i = 0; i < 3 * b.R; ++i) b.origins.push_back(u(rng));
  for (int c = 0; c < 3; ++c)
    for (int r = 0; r < b.R; ++r) b.dirs.push_back(c == 2 ? 1.0 : u(rng));
  for (int i = 0; i < 3 * b.R; ++i) b.target.push_back(0.5 + u(rng));
  return b;
}

template <class P>
void forward(P& p, const Rays& b) {
  std::mt19937_64 rng(1);
  p.forward(b.origins.data(), b.dirs.data(), b.R, false, rng);
}

// sum_k coef_rk C_k(r) for every ray r.
template <class P>
std::vector<double> mixed_colour(P& p, const Rays& b, const std::vector<double>& coef) {
  forward(p, b);
  const auto rgb = p.rgb_fine();
  std::vector<double> out(b.R, 0.0);
  for (int r = 0; r < b.R; ++r)
    for (int k = 0; k < 3; ++k) out[r] += coef[3 * r + k] * rgb[k * b.R + r];
  return out;
}

template <class P>
void check_jacobian(P& p, JacobianChannels channels, bool bias) {
  const Rays b = make_rays();
  std::mt19937_64 rng(3);
  const auto coef = jnerf::channel_coefficients<double>(channels, b.R, rng);
  const jnerf::JacobianSpec spec{channels, bias, p.fine_head_width()};
  forward(p, b);
  const std::vector<double> g = p.fine_jacobians(spec, coef);
  const int V = spec.head_width, Dk = spec.row_length();
  ASSERT_EQ(g.size(), static_cast<std::size_t>(b.R) * spec.dims());
  const std::size_t weight = p.fine_head_offset(), bias_offset = weight + 3 * V;
  const double h = 1e-6;
  int nonzero = 0;
  for (int k = 0; k < 3; ++k)
    for (int j = 0; j < Dk; ++j) {
      const std::size_t i = j < V ? weight + k * V + j : bias_offset + k;
      const double saved = p.params()[i];
      p.params()[i] = saved + h;
      const auto up = mixed_colour(p, b, coef);
      p.params()[i] = saved - h;
      const auto down = mixed_colour(p, b, coef);
      p.params()[i] = saved;
      for (int r = 0; r < b.R; ++r) {
        const double fd = (up[r] - down[r]) / (2 * h);
        EXPECT_NEAR(g[r * spec.dims() + k * Dk + j], fd, 1e-9 + 1e-6 * std::abs(fd)) << "ray " << r << " k " << k
                                                                                       << " j " << j;
        nonzero += std::abs(fd) > 1e-8;
      }
    }
  // One channel per ray is non-zero in random mode, all three otherwise.
  EXPECT_GT(nonzero, b.R * 3 * Dk / (channels == JacobianChannels::Random ? 9 : 3));
}

// L(g) = sum a . g + 0.5 b |g|^2 per ray, a smooth test loss whose gradient is a + b g.
struct QuadraticJacobianLoss {
  std::vector<double> a;
  double b = 0.7;
  double value(const std::vector<double>& g) const {
    double v = 0;
    for (std::size_t i = 0; i < g.size(); ++i) v += a[i] * g[i] + 0.5 * b * g[i] * g[i];
    return v;
  }
  std::vector<double> gradient(const std::vector<double>& g) const {
    std::vector<double> d(g.size());
    for (std::size_t i = 0; i < g.size(); ++i) d[i] = a[i] + b * g[i];
    return d;
  }
};

// MSE(fine) + L(g(theta)): the fine parameters' share of the shaping objective.
template <class P>
double fine_objective(P& p, const Rays& b, const jnerf::JacobianSpec& spec, const std::vector<double>& coef,
                      const QuadraticJacobianLoss& loss) {
  forward(p, b);
  const auto rgb = p.rgb_fine();
  double mse = 0;
  for (std::size_t i = 0; i < rgb.size(); ++i) mse += (rgb[i] - b.target[i]) * (rgb[i] - b.target[i]);
  return mse / static_cast<double>(rgb.size()) + loss.value(p.fine_jacobians(spec, coef));
}

template <class P>
void check_shaping_backward(P& p, JacobianChannels channels, bool bias) {
  const Rays b = make_rays();
  std::mt19937_64 rng(5);
  const auto coef = jnerf::channel_coefficients<double>(channels, b.R, rng);
  const jnerf::JacobianSpec spec{channels, bias, p.fine_head_width()};
  QuadraticJacobianLoss loss;
  std::uniform_real_distribution<double> u(-2.0, 2.0);
  loss.a.resize(static_cast<std::size_t>(b.R) * spec.dims());
  for (double& v : loss.a) v = u(rng);

  forward(p, b);
  const auto g = p.fine_jacobians(spec, coef);
  const auto dL_dg = loss.gradient(g);
  p.backward_with_jacobian_grad(b.target.data(), dL_dg.data());
  const std::vector<double> analytic(p.grads(), p.grads() + p.num_params());

  // Coarse parameters only place the fine samples, which are detached (as in the
  // reference): the Jacobian term reaches the fine network only.
  const double h = 1e-6;
  int checked = 0, nonzero = 0;
  for (const auto& seg : p.layout().segments()) {
    if (seg.name.rfind("fine.", 0) != 0) continue;
    for (std::size_t k = 0; k < seg.size; k += std::max<std::size_t>(1, seg.size / 9)) {
      const std::size_t i = seg.offset + k;
      const double saved = p.params()[i];
      p.params()[i] = saved + h;
      const double up = fine_objective(p, b, spec, coef, loss);
      p.params()[i] = saved - h;
      const double down = fine_objective(p, b, spec, coef, loss);
      p.params()[i] = saved;
      const double fd = (up - down) / (2 * h);
      EXPECT_NEAR(analytic[i], fd, 1e-8 + 1e-6 * std::abs(fd)) << seg.name << "[" << k << "]";
      ++checked;
      nonzero += std::abs(fd) > 1e-8;
    }
  }
  EXPECT_GT(checked, 40);
  EXPECT_GT(nonzero, checked / 3);
}

jnerf::NerfPipeline<B> semantic_pipeline(bool background) {
  jnerf::NerfPipeline<B> p(tiny_spec(), tiny_sampler(background));
  p.init_params(21);
  // A positive density bias so that the random network is not empty (all-zero weights
  // would make every check vacuous).
  std::vector<float> host = p.params_host();
  for (const auto& seg : p.layout().segments())
    if (seg.name.find("alpha_linear.bias") != std::string::npos) host[seg.offset] = 0.6f;
  p.set_params(host);
  return p;
}

using HashPipeline = jnerf::NerfPipeline<B, jnerf::HashGridField<B>>;

HashPipeline hash_pipeline() {
  jnerf::HashGridSpec spec;
  spec.grid.levels = 2;
  spec.grid.features_per_level = 2;
  spec.grid.log2_table_size = 7;
  spec.grid.base_resolution = 2;
  spec.grid.max_resolution = 8;
  spec.density_width = 6;
  spec.geo_features = 3;
  spec.colour_width = 6;
  spec.colour_depth = 1;
  const std::array<double, 3> lo{-1.5, -1.5, 0.0}, hi{1.5, 1.5, 4.0};
  HashPipeline p(tiny_sampler(true), [&](jnerf::ParamLayout& l, const std::string& prefix) {
    return jnerf::HashGridField<B>(spec, l, prefix, lo, hi);
  });
  p.init_params(8);
  std::vector<float> host = p.params_host();
  std::mt19937_64 rng(2);
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  for (const auto& seg : p.layout().segments())
    if (seg.name.find("encoding") != std::string::npos)
      for (std::size_t k = 0; k < seg.size; ++k) host[seg.offset + k] = u(rng);
  p.set_params(host);
  return p;
}

}  // namespace

TEST(Jacobian, ChannelCoefficients) {
  std::mt19937_64 rng(1);
  const auto mean = jnerf::channel_coefficients<double>(JacobianChannels::Mean, 4, rng);
  for (double c : mean) EXPECT_DOUBLE_EQ(c, 1.0 / 3.0);
  const auto blocks = jnerf::channel_coefficients<double>(JacobianChannels::Blocks, 4, rng);
  for (double c : blocks) EXPECT_DOUBLE_EQ(c, 1.0);
  const auto random = jnerf::channel_coefficients<double>(JacobianChannels::Random, 300, rng);
  int picked[3] = {0, 0, 0};
  for (int r = 0; r < 300; ++r) {
    double sum = 0;
    for (int k = 0; k < 3; ++k) {
      sum += random[3 * r + k];
      if (random[3 * r + k] == 1.0) ++picked[k];
    }
    EXPECT_EQ(sum, 1.0);
  }
  for (int k = 0; k < 3; ++k) EXPECT_GT(picked[k], 60);  // each channel drawn (expected 100)
  EXPECT_THROW(jnerf::parse_jacobian_channels("grey"), jnerf::InputError);
  EXPECT_EQ(jnerf::parse_jacobian_channels("blocks"), JacobianChannels::Blocks);
}

TEST(Jacobian, MeanChannelMatchesFiniteDifferences) {
  auto p = semantic_pipeline(false);
  check_jacobian(p, JacobianChannels::Mean, false);
}

TEST(Jacobian, RandomChannelWithBiasMatchesFiniteDifferences) {
  auto p = semantic_pipeline(true);
  check_jacobian(p, JacobianChannels::Random, true);
}

TEST(Jacobian, BlocksMatchFiniteDifferencesOnHashGrid) {
  auto p = hash_pipeline();
  check_jacobian(p, JacobianChannels::Blocks, true);
}

TEST(Jacobian, BlocksAreThreeTimesMean) {
  auto p = semantic_pipeline(false);
  const Rays b = make_rays();
  std::mt19937_64 rng(1);
  forward(p, b);
  const int V = p.fine_head_width();
  const auto mean = p.fine_jacobians({JacobianChannels::Mean, false, V},
                                     jnerf::channel_coefficients<double>(JacobianChannels::Mean, b.R, rng));
  const auto blocks = p.fine_jacobians({JacobianChannels::Blocks, false, V},
                                       jnerf::channel_coefficients<double>(JacobianChannels::Blocks, b.R, rng));
  for (std::size_t i = 0; i < mean.size(); ++i) EXPECT_NEAR(blocks[i], 3 * mean[i], 1e-15);
}

TEST(Jacobian, ShapingBackwardMatchesFiniteDifferences) {
  auto p = semantic_pipeline(false);
  check_shaping_backward(p, JacobianChannels::Mean, false);
}

TEST(Jacobian, ShapingBackwardWithBiasAndBackgroundMatchesFiniteDifferences) {
  auto p = semantic_pipeline(true);
  check_shaping_backward(p, JacobianChannels::Random, true);
}

TEST(Jacobian, ShapingBackwardMatchesFiniteDifferencesOnHashGrid) {
  auto p = hash_pipeline();
  check_shaping_backward(p, JacobianChannels::Mean, false);
}

// With dL/dg = 0 the shaping backward is exactly the photometric one.
TEST(Jacobian, ZeroJacobianGradientLeavesPhotometricGradient) {
  auto p = semantic_pipeline(false);
  const Rays b = make_rays();
  forward(p, b);
  p.backward_photometric(b.target.data());
  const std::vector<double> plain(p.grads(), p.grads() + p.num_params());
  std::mt19937_64 rng(1);
  const jnerf::JacobianSpec spec{JacobianChannels::Mean, false, p.fine_head_width()};
  const auto g = p.fine_jacobians(spec, jnerf::channel_coefficients<double>(JacobianChannels::Mean, b.R, rng));
  const std::vector<double> zero(g.size(), 0.0);
  p.backward_with_jacobian_grad(b.target.data(), zero.data());
  for (std::size_t i = 0; i < plain.size(); ++i) EXPECT_DOUBLE_EQ(p.grads()[i], plain[i]);
}

// ---- CUDA conformance: the Jacobian kernels against the CPU backend ---------------------
#include "cuda_test_support.hpp"

namespace {

struct JacobianInputs {
  int R = 37, S = 11, V = 9, Dk = 10;  // with the bias column
  std::vector<float> coef, w, s, h, G, d_z;
};

JacobianInputs random_jacobian_inputs() {
  JacobianInputs in;
  std::mt19937_64 rng(31);
  std::uniform_real_distribution<float> u(0.f, 1.f), g(-1.f, 1.f);
  const std::size_t n = static_cast<std::size_t>(in.R) * in.S;
  for (int r = 0; r < in.R; ++r) {
    const int pick = r % 3;
    for (int k = 0; k < 3; ++k) in.coef.push_back(r % 2 ? 1.f / 3 : (k == pick ? 1.f : 0.f));
  }
  for (std::size_t i = 0; i < n; ++i) in.w.push_back(u(rng) / in.S);
  for (std::size_t i = 0; i < 3 * n; ++i) in.s.push_back(u(rng));
  for (std::size_t i = 0; i < in.V * n; ++i) in.h.push_back(u(rng) > 0.3f ? u(rng) : 0.f);  // ReLU-like
  for (std::size_t i = 0; i < static_cast<std::size_t>(in.R) * 3 * in.Dk; ++i) in.G.push_back(g(rng));
  for (std::size_t i = 0; i < 3 * n; ++i) in.d_z.push_back(g(rng));
  return in;
}

void expect_close(const std::vector<float>& a, const std::vector<float>& b, float tol) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], tol * (1.f + std::abs(b[i]))) << i;
}

}  // namespace

// The per-ray propagation responses against their definitions written out directly.
TEST(PropagationResponses, HeadColourChangeIsTheExactSigmoidDifference) {
  const int R = 3, S = 4;
  const long long n = R * S;
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(-3.0, 3.0), p(0.0, 0.3);
  std::vector<double> w(n), z(3 * n), dz(3 * n);
  for (double& v : w) v = p(rng);
  for (double& v : z) v = u(rng);
  for (std::size_t i = 0; i < dz.size(); ++i) dz[i] = i % 5 == 0 ? 1e-7 * u(rng) : u(rng);  // tiny ones too
  std::vector<double> out(R);
  jnerf::head_colour_change_cpu<double>(R, S, w.data(), z.data(), dz.data(), out.data());
  auto sig = [](double x) { return 1 / (1 + std::exp(-x)); };
  for (int r = 0; r < R; ++r) {
    double expected = 0;
    for (int k = 0; k < 3; ++k) {
      double change = 0;
      for (int i = 0; i < S; ++i) {
        const long long idx = r * S + i;
        change += w[idx] * (sig(z[k * n + idx] + dz[k * n + idx]) - sig(z[k * n + idx]));
      }
      expected += std::abs(change);
    }
    EXPECT_NEAR(out[r], expected / 3, 1e-14) << r;
  }
  // Small steps keep their relative precision in float (no cancellation of two sigmoids).
  const std::vector<float> wf(w.begin(), w.end()), zf(z.begin(), z.end());
  std::vector<float> small(3 * n, 1e-6f), outf(R);
  jnerf::head_colour_change_cpu<float>(R, S, wf.data(), zf.data(), small.data(), outf.data());
  const std::vector<double> smalld(small.begin(), small.end());
  std::vector<double> ref(R);
  jnerf::head_colour_change_cpu<double>(R, S, std::vector<double>(wf.begin(), wf.end()).data(),
                                        std::vector<double>(zf.begin(), zf.end()).data(), smalld.data(), ref.data());
  for (int r = 0; r < R; ++r) EXPECT_NEAR(outf[r], ref[r], 1e-6 * ref[r]) << r;
}

// linear2d's surface form: exact for a ray whose weight sits on up to kSurfaceSamples + 1
// samples, and the first-order term for small steps whatever the weights.
TEST(PropagationResponses, SurfaceColourChangeIsExactOnASurfaceAndFirstOrderForSmallSteps) {
  const int R = 4, S = jnerf::kSurfaceSamples + 3, V = 4, C = 2;
  const long long n = R * S;
  std::mt19937_64 rng(9);
  std::uniform_real_distribution<double> u(-2.0, 2.0), p(0.05, 0.5);
  std::vector<double> w(n), z(3 * n), h(V * n), dirs(C * 3 * V);
  for (double& v : w) v = p(rng);
  // Ray r < 3 has weight on 1, 2 and kSurfaceSamples + 1 samples; ray 3 on all S.
  const int on[3] = {1, 2, jnerf::kSurfaceSamples + 1};
  for (int r = 0; r < 3; ++r)
    for (int i = on[r]; i < S; ++i) w[r * S + i] = 0;
  for (double& v : z) v = u(rng);
  for (double& v : h) v = std::abs(u(rng));
  for (double& v : dirs) v = u(rng);
  auto sig = [](double x) { return 1 / (1 + std::exp(-x)); };
  // Channel-block Jacobians J_r[k, j] = sum_i w_i s'_ik h_ij (h: V x n, feature-major).
  std::vector<double> J(R * 3 * V, 0.0);
  for (int r = 0; r < R; ++r)
    for (int k = 0; k < 3; ++k)
      for (int j = 0; j < V; ++j)
        for (int i = 0; i < S; ++i) {
          const long long idx = r * S + i;
          const double s = sig(z[k * n + idx]);
          J[(r * 3 + k) * V + j] += w[idx] * s * (1 - s) * h[j * n + idx];
        }
  const double step = 0.7;  // far from linear
  std::vector<double> surf(C * R), lin(C * R);
  jnerf::surface_colour_change_cpu<double>(R, S, C, V, V, w.data(), z.data(), h.data(), J.data(), dirs.data(), step,
                                           surf.data());
  jnerf::linear_colour_change_cpu<double>(R, C, V, J.data(), dirs.data(), step, lin.data());
  for (int c = 0; c < C; ++c) {
    std::vector<double> dz(3 * n);
    for (int k = 0; k < 3; ++k)
      for (long long idx = 0; idx < n; ++idx) {
        double d = 0;
        for (int j = 0; j < V; ++j) d += dirs[(c * 3 + k) * V + j] * h[j * n + idx];
        dz[k * n + idx] = step * d;
      }
    std::vector<double> exact(R);
    jnerf::head_colour_change_cpu<double>(R, S, w.data(), z.data(), dz.data(), exact.data());
    for (int r = 0; r < 3; ++r) {
      EXPECT_NEAR(surf[c * R + r], exact[r], 1e-12) << c << " " << r;
      EXPECT_GT(std::abs(lin[c * R + r] - exact[r]), 1e-3) << c << " " << r;  // the first-order term is not
    }
  }
  const double tiny = 1e-5;
  jnerf::surface_colour_change_cpu<double>(R, S, C, V, V, w.data(), z.data(), h.data(), J.data(), dirs.data(), tiny,
                                           surf.data());
  jnerf::linear_colour_change_cpu<double>(R, C, V, J.data(), dirs.data(), tiny, lin.data());
  for (int i = 0; i < C * R; ++i) EXPECT_NEAR(surf[i], lin[i], 1e-4 * lin[i]) << i;
}

// A ray whose weight sits on three samples plus a faint rest (1e-11, behind a surface): in
// float, what remains of the first-order change after the exact samples is a rounding error,
// which divided by the rest's tiny slope is a logit change of -1000. linear2d must still
// give perturb2d's value, not exp overflow's NaN; and the exact sigmoid difference must stay
// finite for steps that large.
TEST(PropagationResponses, FaintRestAndHugeStepsStayFinite) {
  const int S = 4, V = 1, Dk = 1;
  const long long n = S;
  const std::vector<float> w = {0.5f, 0.3f, 0.19f, 1e-11f}, h = {0.9f, 0.8f, 0.7f, 0.6f}, dir = {-3.f, 0.f, 0.f};
  std::vector<float> z(3 * n, 0.f);
  const float z0[S] = {0.3f, -0.7f, 1.1f, 0.2f};
  for (int i = 0; i < S; ++i) z[i] = z0[i];
  std::vector<float> J(3 * Dk, 0.f);  // as the float pipeline forms it, from float sigmoids
  for (int k = 0; k < 3; ++k)
    for (int i = 0; i < S; ++i) {
      const float s = 1.f / (1.f + std::exp(-z[k * n + i]));
      J[k] += w[i] * s * (1.f - s) * h[i];
    }
  const double step = 0.1;
  float surf = 0;
  jnerf::surface_colour_change_cpu<float>(1, S, 1, V, Dk, w.data(), z.data(), h.data(), J.data(), dir.data(), step,
                                          &surf);
  std::vector<double> dz(3 * n, 0.0);
  for (int i = 0; i < S; ++i) dz[i] = step * dir[0] * h[i];
  const std::vector<double> wd(w.begin(), w.end()), zd(z.begin(), z.end());
  double exact = 0;
  jnerf::head_colour_change_cpu<double>(1, S, wd.data(), zd.data(), dz.data(), &exact);
  ASSERT_TRUE(std::isfinite(surf));
  EXPECT_NEAR(surf, exact, 1e-5 * exact);

  // Steps of +-1000 in the logit: the colour goes to 1 or 0.
  const std::vector<double> huge = {1000.0, -1000.0, 1000.0, -1000.0, 0, 0, 0, 0, 0, 0, 0, 0};
  double moved = 0;
  jnerf::head_colour_change_cpu<double>(1, S, wd.data(), zd.data(), huge.data(), &moved);
  auto sig = [](double x) { return 1 / (1 + std::exp(-x)); };
  double expected = 0;
  for (int i = 0; i < S; ++i) expected += wd[i] * ((huge[i] > 0 ? 1.0 : 0.0) - sig(zd[i]));
  EXPECT_NEAR(moved, std::abs(expected) / 3, 1e-15);
}

TEST(PropagationResponses, RawAndLinearColourChanges) {
  const int R = 2, S = 3, Dk = 2, C = 2;
  const long long n = R * S;
  const std::vector<double> w = {0.5, 0.25, 0.0, 1.0, 0.1, 0.2};
  std::vector<double> raw0(3 * n), raw(3 * n);
  for (long long i = 0; i < 3 * n; ++i) {
    raw0[i] = 0.1 * double(i);
    raw[i] = raw0[i] + (i % 2 ? 0.3 : -0.6);
  }
  std::vector<double> out(R);
  jnerf::raw_colour_change_cpu<double>(R, S, w.data(), raw0.data(), raw.data(), out.data());
  for (int r = 0; r < R; ++r) {
    double expected = 0;
    for (int i = 0; i < S; ++i) {
      const long long idx = r * S + i;
      double mean = 0;
      for (int k = 0; k < 3; ++k) mean += raw[k * n + idx] - raw0[k * n + idx];
      expected += w[idx] * std::abs(mean / 3);
    }
    EXPECT_NEAR(out[r], expected, 1e-15) << r;
  }
  // J: R x 3 x Dk; dirs: C x 3 x Dk. Ray 0, class 1 by hand below.
  const std::vector<double> J = {1, 2, 3, 4, 5, 6, -1, 0, 0, 2, 1, 1};
  const std::vector<double> dirs = {1, 0, 0, 1, 1, 1, 0.5, -1, 2, 0, -1, 0};
  std::vector<double> lin(C * R);
  jnerf::linear_colour_change_cpu<double>(R, C, Dk, J.data(), dirs.data(), 0.1, lin.data());
  // class 1, ray 0: rows (0.5,-1).(1,2) = -1.5, (2,0).(3,4) = 6, (-1,0).(5,6) = -5 -> 0.1 * 12.5 / 3
  EXPECT_NEAR(lin[1 * R + 0], 0.1 * 12.5 / 3, 1e-15);
  // class 0, ray 1: (1,0).(-1,0) = -1, (0,1).(0,2) = 2, (1,1).(1,1) = 2 -> 0.1 * 5 / 3
  EXPECT_NEAR(lin[0 * R + 1], 0.1 * 5.0 / 3, 1e-15);

  // |cos| over all 3 Dk numbers. Class 1, ray 0: dot -1.5 + 6 - 5 = -0.5, |J| = sqrt(91),
  // |dir| = sqrt(6.25); class 0, ray 1: dot 3, |J| = sqrt(7), |dir| = 2.
  std::vector<double> cos(C * R);
  jnerf::jacobian_cosine_cpu<double>(R, C, 3 * Dk, J.data(), dirs.data(), cos.data());
  EXPECT_NEAR(cos[1 * R + 0], 0.5 / (std::sqrt(91.0) * 2.5 + 1e-7), 1e-15);
  EXPECT_NEAR(cos[0 * R + 1], 3.0 / (std::sqrt(7.0) * 2.0 + 1e-7), 1e-15);
  const std::vector<double> parallel = {-2, -4, -6, -8, -10, -12};  // ray 0's Jacobian times -2
  double one = 0;
  jnerf::jacobian_cosine_cpu<double>(1, 1, 3 * Dk, J.data(), parallel.data(), &one);
  EXPECT_NEAR(one, 1.0, 1e-9);
}

TEST(JacobianCuda, ForwardAndBackwardMatchTheCpu) {
  JN_REQUIRE_CUDA();
#ifdef JNERF_HAVE_CUDA
  using jnerf::test::DeviceBuffer;
  const JacobianInputs in = random_jacobian_inputs();
  const std::size_t n = static_cast<std::size_t>(in.R) * in.S, D = static_cast<std::size_t>(in.R) * 3 * in.Dk;
  std::vector<float> g_cpu(D), dh_cpu(in.V * n), dz_cpu = in.d_z, dw_cpu(n);
  jnerf::jacobian_forward_cpu<float>(in.R, in.S, in.V, in.Dk, in.coef.data(), in.w.data(), in.s.data(), in.h.data(),
                                     g_cpu.data());
  jnerf::jacobian_backward_cpu<float>(in.R, in.S, in.V, in.Dk, in.coef.data(), in.G.data(), in.w.data(), in.s.data(),
                                      in.h.data(), dh_cpu.data(), dz_cpu.data(), dw_cpu.data());
  DeviceBuffer coef{in.coef}, w{in.w}, s{in.s}, h{in.h}, G{in.G}, g{std::vector<float>(D)},
      dh{std::vector<float>(in.V * n)}, dz{in.d_z}, dw{std::vector<float>(n)};
  jnerf::jacobian_forward_cuda(in.R, in.S, in.V, in.Dk, coef.ptr, w.ptr, s.ptr, h.ptr, g.ptr);
  jnerf::jacobian_backward_cuda(in.R, in.S, in.V, in.Dk, coef.ptr, G.ptr, w.ptr, s.ptr, h.ptr, dh.ptr, dz.ptr, dw.ptr);
  expect_close(g.download(), g_cpu, 1e-5f);
  expect_close(dh.download(), dh_cpu, 1e-5f);
  expect_close(dz.download(), dz_cpu, 1e-5f);  // accumulated onto the same start values
  expect_close(dw.download(), dw_cpu, 1e-5f);

  // The 3D propagation response.
  const int C = 4;
  std::vector<float> m(C * n), out_cpu(C * in.R);
  std::mt19937_64 rng(2);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (float& v : m) v = u(rng);
  jnerf::weighted_abs_sum_cpu<float>(in.R, in.S, C, in.w.data(), m.data(), out_cpu.data());
  DeviceBuffer md{m}, out{std::vector<float>(C * in.R)};
  jnerf::weighted_abs_sum_cuda(in.R, in.S, C, w.ptr, md.ptr, out.ptr);
  expect_close(out.download(), out_cpu, 1e-5f);

  // The 2D responses: exact (head logit change m / 4 on raw colours s) and first order.
  std::vector<float> dzh(3 * n), raw1(3 * n), head_cpu(in.R), raw_cpu(in.R), lin_cpu(C * in.R);
  for (std::size_t i = 0; i < 3 * n; ++i) {
    dzh[i] = m[i] / 4;
    raw1[i] = in.s[i] + m[i];
  }
  const std::vector<float> dirs(m.begin(), m.begin() + C * 3 * in.Dk);
  jnerf::head_colour_change_cpu<float>(in.R, in.S, in.w.data(), in.s.data(), dzh.data(), head_cpu.data());
  jnerf::raw_colour_change_cpu<float>(in.R, in.S, in.w.data(), in.s.data(), raw1.data(), raw_cpu.data());
  jnerf::linear_colour_change_cpu<float>(in.R, C, in.Dk, g_cpu.data(), dirs.data(), 0.1, lin_cpu.data());
  DeviceBuffer dzd{dzh}, rawd{raw1}, dirsd{dirs}, gd{g_cpu}, head_out{std::vector<float>(in.R)},
      raw_out{std::vector<float>(in.R)}, lin_out{std::vector<float>(C * in.R)};
  jnerf::head_colour_change_cuda(in.R, in.S, w.ptr, s.ptr, dzd.ptr, head_out.ptr);
  jnerf::raw_colour_change_cuda(in.R, in.S, w.ptr, s.ptr, rawd.ptr, raw_out.ptr);
  jnerf::linear_colour_change_cuda(in.R, C, in.Dk, gd.ptr, dirsd.ptr, 0.1, lin_out.ptr);
  expect_close(head_out.download(), head_cpu, 1e-5f);
  expect_close(raw_out.download(), raw_cpu, 1e-5f);
  expect_close(lin_out.download(), lin_cpu, 1e-5f);
  std::vector<float> surf_cpu(C * in.R);
  jnerf::surface_colour_change_cpu<float>(in.R, in.S, C, in.V, in.Dk, in.w.data(), in.s.data(), in.h.data(),
                                          g_cpu.data(), dirs.data(), 0.1, surf_cpu.data());
  DeviceBuffer surf_out{std::vector<float>(C * in.R)};
  jnerf::surface_colour_change_cuda(in.R, in.S, C, in.V, in.Dk, w.ptr, s.ptr, h.ptr, gd.ptr, dirsd.ptr, 0.1,
                                    surf_out.ptr);
  expect_close(surf_out.download(), surf_cpu, 1e-5f);
  std::vector<float> cos_cpu(C * in.R);
  jnerf::jacobian_cosine_cpu<float>(in.R, C, 3 * in.Dk, g_cpu.data(), dirs.data(), cos_cpu.data());
  DeviceBuffer cos_out{std::vector<float>(C * in.R)};
  jnerf::jacobian_cosine_cuda(in.R, C, 3 * in.Dk, gd.ptr, dirsd.ptr, cos_out.ptr);
  expect_close(cos_out.download(), cos_cpu, 1e-5f);
#endif
}
