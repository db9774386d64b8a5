// The semantic_nerf pipeline against PyTorch autograd (tests/oracle/semantic_nerf_oracle.py,
// Debian's /usr/bin/python3 with python3-torch) on identical weights and rays, in double.
#include <cstdlib>
#include <fstream>
#include <random>

#include <gtest/gtest.h>

#include "jnerf/core/backend.hpp"
#include "jnerf/core/config.hpp"
#include "jnerf/render/nerf_pipeline.hpp"
#include "test_support.hpp"

namespace {

constexpr const char* kPython = "/usr/bin/python3";

bool torch_available() {
  static const bool ok = std::system((std::string(kPython) + " -c 'import torch' >/dev/null 2>&1").c_str()) == 0;
  return ok;
}

jnerf::Json spec_json(const jnerf::SemanticNerfSpec& s) {
  return {{"position_scale", s.position_scale}, {"position_frequencies", s.position_frequencies},
          {"direction_frequencies", s.direction_frequencies}, {"trunk_depth", s.trunk_depth},
          {"trunk_width", s.trunk_width}, {"skips", s.skips}, {"view_width", s.view_width}};
}

void compare_with_torch(const jnerf::SemanticNerfSpec& spec, jnerf::SamplerSettings sampler, int R) {
  if (!torch_available()) GTEST_SKIP() << kPython << " cannot import torch (apt-get install python3-torch)";
  jnerf::NerfPipeline<jnerf::CpuBackend<double>> p(spec, sampler);
  p.init_params(11);
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(-0.4, 0.4);
  std::vector<double> origins(3 * R), dirs(3 * R), target(3 * R);
  for (int i = 0; i < 3 * R; ++i) {
    origins[i] = u(rng);
    dirs[i] = i >= 2 * R ? 1.0 : u(rng);
    target[i] = 0.5 + u(rng);
  }
  p.forward(origins.data(), dirs.data(), R, false, rng);
  const jnerf::PhotometricLoss loss = p.backward_photometric(target.data());

  const auto dir = jnerf::test::scratch_dir("oracle");
  jnerf::Json layout = jnerf::Json::array();
  for (const auto& s : p.layout().segments()) layout.push_back({{"name", s.name}, {"offset", s.offset}});
  const jnerf::Json in = {
      {"spec", spec_json(spec)},
      {"sampler", {{"coarse_samples", sampler.coarse_samples}, {"fine_samples", sampler.fine_samples},
                   {"near", sampler.near}, {"far", sampler.far}, {"use_background", sampler.use_background},
                   {"background", sampler.background}}},
      {"layout", layout},
      {"params", std::vector<double>(p.params(), p.params() + p.num_params())},
      {"rays", R}, {"origins", origins}, {"dirs", dirs}, {"target", target}};
  jnerf::write_json_file(dir / "case.json", in);
  const std::string cmd = std::string(kPython) + " '" + JNERF_SOURCE_DIR + "/tests/oracle/semantic_nerf_oracle.py' '" +
                          (dir / "case.json").string() + "' '" + (dir / "result.json").string() + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const jnerf::Json out = jnerf::read_json_file(dir / "result.json");

  EXPECT_NEAR(loss.loss, out["loss"].get<double>(), 1e-12 * std::max(1.0, loss.loss));
  const auto rgb = p.rgb_fine();
  const auto ref_rgb = out["rgb_fine"].get<std::vector<double>>();
  for (std::size_t i = 0; i < rgb.size(); ++i) EXPECT_NEAR(rgb[i], ref_rgb[i], 1e-12) << i;
  double worst = 0;
  for (const auto& s : p.layout().segments()) {
    const auto ref = out["grads"][s.name].get<std::vector<double>>();
    ASSERT_EQ(ref.size(), s.size) << s.name;
    double num = 0, den = 0;
    for (std::size_t k = 0; k < s.size; ++k) {
      num += std::pow(p.grads()[s.offset + k] - ref[k], 2);
      den += ref[k] * ref[k];
    }
    const double rel = std::sqrt(num / std::max(den, 1e-300));
    worst = std::max(worst, rel);
    EXPECT_LT(rel, 1e-9) << s.name;
  }
  ::testing::Test::RecordProperty("worst_relative_gradient_error", std::to_string(worst));
}

}  // namespace

TEST(TorchOracle, SemanticNerfLayoutSmallWidth) {
  jnerf::SemanticNerfSpec spec;  // the paper's structure (8 layers, skip after 4, 10/4 frequencies)
  spec.trunk_width = 24;
  spec.view_width = 12;
  jnerf::SamplerSettings sampler;
  sampler.coarse_samples = 16;
  sampler.fine_samples = 16;
  sampler.near = 0.2f;
  sampler.far = 3.f;
  compare_with_torch(spec, sampler, 5);
}

TEST(TorchOracle, WithBackgroundAndOtherSkips) {
  jnerf::SemanticNerfSpec spec;
  spec.trunk_depth = 5;
  spec.skips = {1, 2};
  spec.trunk_width = 16;
  spec.view_width = 8;
  spec.position_frequencies = 6;
  jnerf::SamplerSettings sampler;
  sampler.coarse_samples = 8;
  sampler.fine_samples = 12;
  sampler.near = 0.5f;
  sampler.far = 2.5f;
  sampler.use_background = true;
  sampler.background = {1.f, 0.25f, 0.f};
  compare_with_torch(spec, sampler, 4);
}
