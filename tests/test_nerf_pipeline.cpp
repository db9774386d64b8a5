// The whole semantic_nerf pipeline (encodings, MLPs, sampling, compositing, losses) in
// double: its analytic gradient against central finite differences.
#include <cmath>
#include <memory>
#include <random>
#include <stdexcept>

#include <gtest/gtest.h>

#include "jnerf/core/backend.hpp"
#include "jnerf/model/hash_grid_field.hpp"
#include "jnerf/render/nerf_pipeline.hpp"
#include "cuda_test_support.hpp"

namespace {

using Pipeline = jnerf::NerfPipeline<jnerf::CpuBackend<double>>;

jnerf::SemanticNerfSpec tiny_spec() {
  jnerf::SemanticNerfSpec s;
  s.position_frequencies = 3;
  s.direction_frequencies = 2;
  s.trunk_depth = 4;
  s.trunk_width = 12;
  s.skips = {1};
  s.view_width = 6;
  s.position_scale = 0.5;
  return s;
}

jnerf::SamplerSettings tiny_sampler(bool background) {
  jnerf::SamplerSettings s;
  s.coarse_samples = 6;
  s.fine_samples = 5;
  s.near = 0.5f;
  s.far = 3.f;
  s.use_background = background;
  s.background = {0.2f, 0.5f, 0.9f};
  return s;
}

struct Batch {
  std::vector<double> origins, dirs, target;
  int R = 4;
};

Batch make_batch() {
  Batch b;
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(-0.3, 0.3);
  for (int c = 0; c < 3; ++c)
    for (int r = 0; r < b.R; ++r) b.origins.push_back(u(rng));
  for (int c = 0; c < 3; ++c)
    for (int r = 0; r < b.R; ++r) b.dirs.push_back(c == 2 ? 1.0 : u(rng));  // z-depth directions
  for (int i = 0; i < 3 * b.R; ++i) b.target.push_back(0.5 + u(rng));
  return b;
}

// Loss of one stage, recomputed from scratch (deterministic forward).
template <class P>
double stage_mse(P& p, const Batch& b, bool fine) {
  std::mt19937_64 rng(1);
  p.forward(b.origins.data(), b.dirs.data(), b.R, false, rng);
  const auto rgb = fine ? p.rgb_fine() : p.rgb_coarse();
  double sum = 0;
  for (std::size_t i = 0; i < rgb.size(); ++i) sum += (rgb[i] - b.target[i]) * (rgb[i] - b.target[i]);
  return sum / static_cast<double>(rgb.size());
}

template <class P>
void check_gradients(P& p) {
  const Batch b = make_batch();
  std::mt19937_64 rng(1);
  p.forward(b.origins.data(), b.dirs.data(), b.R, false, rng);
  const jnerf::PhotometricLoss loss = p.backward_photometric(b.target.data());
  EXPECT_NEAR(loss.loss, stage_mse(p, b, false) + stage_mse(p, b, true), 1e-12);
  const std::vector<double> analytic(p.grads(), p.grads() + p.num_params());

  // Fine samples are placed from the coarse weights but detached (as in the reference), so
  // coarse parameters are checked against MSE(coarse) and fine ones against MSE(fine).
  const double h = 1e-6;
  int checked = 0, nonzero = 0;
  for (const auto& seg : p.layout().segments()) {
    const bool fine = seg.name.rfind("fine.", 0) == 0;
    for (std::size_t k = 0; k < seg.size; k += std::max<std::size_t>(1, seg.size / 7)) {
      const std::size_t i = seg.offset + k;
      const double saved = p.params()[i];
      p.params()[i] = saved + h;
      const double up = stage_mse(p, b, fine);
      p.params()[i] = saved - h;
      const double down = stage_mse(p, b, fine);
      p.params()[i] = saved;
      const double fd = (up - down) / (2 * h);
      EXPECT_NEAR(analytic[i], fd, 1e-8 + 1e-6 * std::abs(fd)) << seg.name << "[" << k << "]";
      ++checked;
      nonzero += std::abs(fd) > 1e-9;
    }
  }
  EXPECT_GT(checked, 100);
  EXPECT_GT(nonzero, checked / 3);  // the check is not vacuous (dead ReLUs give true zeros)
}

}  // namespace

TEST(NerfPipeline, GradientsMatchFiniteDifferences) {
  Pipeline p(tiny_spec(), tiny_sampler(false));
  p.init_params(3);
  check_gradients(p);
}

TEST(NerfPipeline, GradientsMatchFiniteDifferencesWithBackground) {
  Pipeline p(tiny_spec(), tiny_sampler(true));
  p.init_params(3);
  check_gradients(p);
}

namespace {

template <class B>
using HashPipelineOn = jnerf::NerfPipeline<B, jnerf::HashGridField<B>>;
using HashPipeline = HashPipelineOn<jnerf::CpuBackend<double>>;

// A small hash-grid pipeline whose tables hold visible values (they start near zero,
// 1e-4), so that density varies.
template <class B = jnerf::CpuBackend<double>>
std::unique_ptr<HashPipelineOn<B>> tiny_hash_pipeline() {
  jnerf::HashGridSpec spec;
  spec.grid.levels = 3;
  spec.grid.features_per_level = 2;
  spec.grid.log2_table_size = 8;
  spec.grid.base_resolution = 2;
  spec.grid.max_resolution = 12;
  spec.density_width = 8;
  spec.geo_features = 3;
  spec.colour_width = 8;
  spec.colour_depth = 1;
  const std::array<double, 3> lo{-1.5, -1.5, 0.0}, hi{1.5, 1.5, 4.0};
  auto p = std::make_unique<HashPipelineOn<B>>(tiny_sampler(true), [&](jnerf::ParamLayout& l, const std::string& prefix) {
    return jnerf::HashGridField<B>(spec, l, prefix, lo, hi);
  });
  p->init_params(4);
  std::vector<float> host = p->params_host();
  std::mt19937_64 rng(9);
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  for (const auto& seg : p->layout().segments())
    if (seg.name.find("encoding") != std::string::npos)
      for (std::size_t k = 0; k < seg.size; ++k) host[seg.offset + k] = u(rng);
  p->set_params(host);
  return p;
}

// With the coarse colour off, every fine output is the same to the bit (the coarse
// weights, hence the fine samples, do not depend on the colour), and what needs the
// coarse colour refuses.
template <class P>
void check_coarse_colour_is_optional(P& p) {
  const Batch b = make_batch();
  std::mt19937_64 rng(1);
  p.forward(b.origins.data(), b.dirs.data(), b.R, false, rng);
  const std::size_t n = static_cast<std::size_t>(b.R) * p.fine_samples_per_ray();
  const auto copy = [](const double* v, std::size_t m) { return std::vector<double>(v, v + m); };
  const auto rgb = p.rgb_fine(), depth = p.depth_fine();
  const auto w = copy(p.fine_weights(), n), raw = copy(p.fine_raw_rgb(), 3 * n);
  const auto h = copy(p.fine_head_input(), static_cast<std::size_t>(p.fine_head_width()) * n);
  p.set_coarse_colour(false);
  p.forward(b.origins.data(), b.dirs.data(), b.R, false, rng);
  EXPECT_EQ(p.rgb_fine(), rgb);
  EXPECT_EQ(p.depth_fine(), depth);
  EXPECT_EQ(copy(p.fine_weights(), n), w);
  EXPECT_EQ(copy(p.fine_raw_rgb(), 3 * n), raw);
  EXPECT_EQ(copy(p.fine_head_input(), h.size()), h);
  EXPECT_THROW(p.rgb_coarse(), std::logic_error);
  EXPECT_THROW(p.backward_photometric(b.target.data()), std::logic_error);
  p.set_coarse_colour(true);
  p.forward(b.origins.data(), b.dirs.data(), b.R, false, rng);
  EXPECT_NO_THROW(p.backward_photometric(b.target.data()));
}

}  // namespace

// The same pipeline over the hash-grid field (truncated-exp density, hash table parameters).
TEST(NerfPipeline, HashGridGradientsMatchFiniteDifferences) {
  check_gradients(*tiny_hash_pipeline());
}

TEST(NerfPipeline, CoarseColourIsOptionalForInference) {
  Pipeline p(tiny_spec(), tiny_sampler(true));
  p.init_params(6);
  check_coarse_colour_is_optional(p);
  check_coarse_colour_is_optional(*tiny_hash_pipeline());
}

TEST(NerfPipeline, TrainingModeIsRandomAndEvalModeIsDeterministic) {
  Pipeline p(tiny_spec(), tiny_sampler(false));
  p.init_params(2);
  const Batch b = make_batch();
  std::mt19937_64 r1(1), r2(2);
  p.forward(b.origins.data(), b.dirs.data(), b.R, false, r1);
  const auto e1 = p.rgb_fine();
  p.forward(b.origins.data(), b.dirs.data(), b.R, false, r2);
  EXPECT_EQ(e1, p.rgb_fine());
  p.forward(b.origins.data(), b.dirs.data(), b.R, true, r1);
  EXPECT_NE(e1, p.rgb_fine());
}

// A float pipeline (CPU or CUDA backend B) against the CPU in double, with the same
// parameters and rays: colours, depths, the photometric loss and gradient, the fine
// Jacobians and the shaping backward, in evaluation and in training mode (the jitter and
// density noise are drawn on the host from the same generator state).
namespace {

template <class B, class G, class C>
void expect_float_pipeline_matches_double(G& gpu, C& cpu) {
  cpu.set_params(gpu.params_host());
  const Batch b = make_batch();
  const std::vector<float> of(b.origins.begin(), b.origins.end()), df(b.dirs.begin(), b.dirs.end()),
      tf(b.target.begin(), b.target.end());
  const auto expect_near = [](const std::vector<float>& g, const std::vector<double>& c, double tol, const char* what) {
    ASSERT_EQ(g.size(), c.size()) << what;
    for (std::size_t i = 0; i < g.size(); ++i) EXPECT_NEAR(g[i], c[i], tol * (1 + std::abs(c[i]))) << what << " " << i;
  };
  const auto expect_same_gradient = [&](const char* what) {
    std::vector<float> g(gpu.num_params());
    B::download(g.data(), gpu.grads(), g.size());
    for (const auto& seg : cpu.layout().segments()) {
      double num = 0, den = 0;
      for (std::size_t k = 0; k < seg.size; ++k) {
        const double c = cpu.grads()[seg.offset + k];
        num += (g[seg.offset + k] - c) * (g[seg.offset + k] - c);
        den += c * c;
      }
      EXPECT_LT(std::sqrt(num / std::max(den, 1e-300)), 5e-4) << what << " " << seg.name;
    }
  };
  for (const bool train : {false, true}) {
    SCOPED_TRACE(train ? "training mode" : "evaluation mode");
    std::mt19937_64 rg(3), rc(3);
    gpu.forward(of.data(), df.data(), b.R, train, rg);
    cpu.forward(b.origins.data(), b.dirs.data(), b.R, train, rc);
    expect_near(gpu.rgb_fine(), cpu.rgb_fine(), 3e-5, "rgb_fine");
    expect_near(gpu.rgb_coarse(), cpu.rgb_coarse(), 3e-5, "rgb_coarse");
    expect_near(gpu.depth_fine(), cpu.depth_fine(), 1e-4, "depth_fine");
    const double lg = gpu.backward_photometric(tf.data()).loss, lc = cpu.backward_photometric(b.target.data()).loss;
    EXPECT_NEAR(lg, lc, 1e-5 * lc);
    expect_same_gradient("photometric");

    jnerf::JacobianSpec spec;
    spec.bias = true;
    spec.head_width = cpu.fine_head_width();
    std::mt19937_64 coef_rng(5);
    const auto coef_d = jnerf::channel_coefficients<double>(jnerf::JacobianChannels::Random, b.R, coef_rng);
    const std::vector<float> coef_f(coef_d.begin(), coef_d.end());
    const auto jc = cpu.fine_jacobians(spec, coef_d);
    expect_near(gpu.fine_jacobians(spec, coef_f), jc, 1e-5, "fine_jacobians");
    std::mt19937_64 grad_rng(6);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    std::vector<double> dg_d(jc.size());
    for (double& v : dg_d) v = u(grad_rng);
    const std::vector<float> dg_f(dg_d.begin(), dg_d.end());
    gpu.backward_with_jacobian_grad(tf.data(), dg_f.data());
    cpu.backward_with_jacobian_grad(b.target.data(), dg_d.data());
    expect_same_gradient("shaping");
  }
}

}  // namespace

TEST(NerfPipeline, FloatMatchesDouble) {
  using F = jnerf::CpuBackend<float>;
  for (const bool background : {false, true}) {
    jnerf::NerfPipeline<F> pf(tiny_spec(), tiny_sampler(background));
    Pipeline pd(tiny_spec(), tiny_sampler(background));
    pf.init_params(8);
    expect_float_pipeline_matches_double<F>(pf, pd);
  }
  auto hf = tiny_hash_pipeline<F>();
  auto hd = tiny_hash_pipeline();
  expect_float_pipeline_matches_double<F>(*hf, *hd);
}

TEST(NerfPipelineCuda, SemanticNerfMatchesCpuDouble) {
  JN_REQUIRE_CUDA();
#ifdef JNERF_HAVE_CUDA
  for (const bool background : {false, true}) {
    jnerf::NerfPipeline<jnerf::CudaBackend> gpu(tiny_spec(), tiny_sampler(background));
    Pipeline cpu(tiny_spec(), tiny_sampler(background));
    gpu.init_params(8);
    expect_float_pipeline_matches_double<jnerf::CudaBackend>(gpu, cpu);
  }
#endif
}

TEST(NerfPipelineCuda, HashGridMatchesCpuDouble) {
  JN_REQUIRE_CUDA();
#ifdef JNERF_HAVE_CUDA
  auto gpu = tiny_hash_pipeline<jnerf::CudaBackend>();
  auto cpu = tiny_hash_pipeline();
  expect_float_pipeline_matches_double<jnerf::CudaBackend>(*gpu, *cpu);
#endif
}
