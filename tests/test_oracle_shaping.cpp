// JacobiNeRF shaping against a PyTorch transcription of the reference training step
// (tests/oracle/shaping_oracle.py, Debian's /usr/bin/python3 with python3-torch), in double:
//   * the gradient of MSE(coarse) + MSE(fine) + weight_mi L_MI + weight_norm L_norm for every
//     parameter segment against torch's double backward (create_graph=True) on identical
//     weights, rays and affinities, with the Jacobians, losses and adaptive tau on the way;
//   * the adaptive-tau trajectory over a sequence of batches against the reference's loop.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iomanip>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "jnerf/core/backend.hpp"
#include "jnerf/core/config.hpp"
#include "jnerf/render/nerf_pipeline.hpp"
#include "jnerf/shape/contrastive_loss.hpp"
#include "jnerf/shape/jacobian.hpp"
#include "test_support.hpp"

namespace {

using jnerf::ContrastiveSettings;
using jnerf::JacobianSimilarity;
using jnerf::Json;

constexpr const char* kPython = "/usr/bin/python3";

bool torch_available() {
  static const bool ok = std::system((std::string(kPython) + " -c 'import torch' >/dev/null 2>&1").c_str()) == 0;
  return ok;
}

#define REQUIRE_TORCH() \
  if (!torch_available()) GTEST_SKIP() << kPython << " cannot import torch (apt-get install python3-torch)"

// Writes `in` as the case, runs the oracle, returns its result.
Json run_oracle(const Json& in, const std::string& tag) {
  const auto dir = jnerf::test::scratch_dir(tag);
  jnerf::write_json_file(dir / "case.json", in);
  const std::string cmd = std::string(kPython) + " '" + JNERF_SOURCE_DIR + "/tests/oracle/shaping_oracle.py' '" +
                          (dir / "case.json").string() + "' '" + (dir / "result.json").string() + "'";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("oracle failed: " + cmd);
  return jnerf::read_json_file(dir / "result.json");
}

Json shape_json(const ContrastiveSettings& s, double tau) {
  if (s.temperature != 1.0) throw std::invalid_argument("the reference has no temperature");
  return {{"similarity", s.similarity == JacobianSimilarity::AbsCosine ? "abs_cosine" : "cosine"},
          {"weight_mi", s.weight_mi}, {"weight_norm", s.weight_norm}, {"tau", tau},
          {"tau_adaptive", s.tau_adaptive}, {"tau_min", s.tau_min}, {"tau_max", s.tau_max},
          {"tau_step", s.tau_step}, {"positive_low_fraction", s.positive_low_fraction},
          {"positive_high_fraction", s.positive_high_fraction}};
}

std::string sci(double v) {
  std::ostringstream os;
  os << std::scientific << std::setprecision(3) << v;
  return os.str();
}

// ||a - b|| / ||b|| over n values (||a - b|| when b is zero).
double relative_error(const double* a, const std::vector<double>& b, std::size_t n) {
  double num = 0, den = 0;
  for (std::size_t k = 0; k < n; ++k) {
    num += (a[k] - b[k]) * (a[k] - b[k]);
    den += b[k] * b[k];
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

// ---- shaping gradient ------------------------------------------------------------------

// Three groups {0..5}, {6..9}, {10, 11} (0.95 inside, 0.1 outside, 1 on the diagonal),
// anchor 9 with every ray positive (no negatives: not counted), and a few values just
// around the level tau has when their anchor comes. With B = 12, low = int(0.25 B) = 3 and
// high = int(0.45 B) = 5, the first group raises tau by one step per anchor (0.8 before
// anchor 0, 0.806 before anchor 6), anchor 9 raises it once more and the last group lowers
// it twice; without the adaptation the marked entries 1-6, 6-10, 10-4 and 11-8 would count
// as positives.
std::vector<double> shaping_affinity(int B) {
  auto group = [](int r) { return r < 6 ? 0 : (r < 10 ? 1 : 2); };
  std::vector<double> a(static_cast<std::size_t>(B) * B);
  for (int i = 0; i < B; ++i)
    for (int j = 0; j < B; ++j) a[i * B + j] = i == j ? 1.0 : (group(i) == group(j) ? 0.95 : 0.1);
  a[1 * B + 6] = 0.8005;   // tau 0.801 at anchor 1: negative
  a[3 * B + 11] = 0.8035;  // tau 0.803: positive
  a[5 * B + 7] = 0.8065;   // tau 0.805: positive
  a[6 * B + 10] = 0.8055;  // tau 0.806: negative
  a[7 * B + 0] = 0.8062;   // tau 0.806: positive (count 5, not above high)
  for (int j = 0; j < B; ++j) a[9 * B + j] = 0.95;  // count 12
  a[10 * B + 4] = 0.8045;  // tau 0.807: negative, count 2 < low
  a[11 * B + 8] = 0.8055;  // tau 0.806: negative, count 2 < low
  return a;
}

Json spec_json(const jnerf::SemanticNerfSpec& s) {
  return {{"position_scale", s.position_scale}, {"position_frequencies", s.position_frequencies},
          {"direction_frequencies", s.direction_frequencies}, {"trunk_depth", s.trunk_depth},
          {"trunk_width", s.trunk_width}, {"skips", s.skips}, {"view_width", s.view_width}};
}

void compare_shaping(double weight_mi, double weight_norm, bool expect_visible) {
  REQUIRE_TORCH();
  jnerf::SemanticNerfSpec spec;
  spec.trunk_depth = 4;
  spec.trunk_width = 16;
  spec.skips = {1};
  spec.view_width = 8;
  spec.position_frequencies = 3;
  spec.direction_frequencies = 2;
  jnerf::SamplerSettings sampler;
  sampler.coarse_samples = 8;
  sampler.fine_samples = 6;
  sampler.near = 0.5f;
  sampler.far = 3.f;
  const int R = 12;

  jnerf::NerfPipeline<jnerf::CpuBackend<double>> p(spec, sampler);
  p.init_params(23);
  for (const char* name : {"coarse.alpha_linear.bias", "fine.alpha_linear.bias"})
    p.params()[p.layout().find(name).offset] = 0.6;  // some density everywhere: a non-empty scene
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(-0.4, 0.4);
  std::vector<double> origins(3 * R), dirs(3 * R), target(3 * R);
  for (int i = 0; i < 3 * R; ++i) {
    origins[i] = u(rng);
    dirs[i] = i >= 2 * R ? 1.0 : u(rng);
    target[i] = 0.5 + u(rng);
  }
  p.forward(origins.data(), dirs.data(), R, false, rng);

  const jnerf::JacobianSpec jspec{jnerf::JacobianChannels::Mean, false, p.fine_head_width()};
  const int D = jspec.dims();
  const auto coef = jnerf::channel_coefficients<double>(jspec.channels, R, rng);
  const auto g = p.fine_jacobians(jspec, coef);
  ASSERT_EQ(g.size(), static_cast<std::size_t>(R) * D);
  // Every entry is sum_i w_i s_i (1 - s_i) h_i / 3 with a post-ReLU h: never negative, so
  // the absolute cosine is the signed one on these batches.
  EXPECT_GE(*std::min_element(g.begin(), g.end()), 0.0);

  ContrastiveSettings s;
  s.weight_mi = weight_mi;
  s.weight_norm = weight_norm;
  s.positive_low_fraction = 0.25;   // int(3.0) = 3
  s.positive_high_fraction = 0.45;  // int(5.4) = 5
  const double tau_before = 0.8;
  const auto affinity = shaping_affinity(R);
  double tau = tau_before;
  const auto shaped = jnerf::contrastive_loss(g, R, D, affinity, s, tau, true);
  {  // the adaptive rule changes which rays are positive, so the comparison covers it
    double fixed_tau = tau_before;
    const auto fixed = jnerf::contrastive_loss(g, R, D, affinity, s, fixed_tau, false);
    EXPECT_GT(std::abs(fixed.mi - shaped.mi), 1e-6 * std::abs(shaped.mi));
    EXPECT_NE(fixed.mean_positives, shaped.mean_positives);
  }

  const std::size_t P = p.num_params();
  p.backward_photometric(target.data());
  const std::vector<double> photometric_grads(p.grads(), p.grads() + P);
  const auto photometric = p.backward_with_jacobian_grad(target.data(), shaped.grad.data());
  const std::vector<double> grads(p.grads(), p.grads() + P);

  Json layout = Json::array();
  for (const auto& seg : p.layout().segments()) layout.push_back({{"name", seg.name}, {"offset", seg.offset}});
  const Json in = {
      {"mode", "shaping"},
      {"spec", spec_json(spec)},
      {"sampler", {{"coarse_samples", sampler.coarse_samples}, {"fine_samples", sampler.fine_samples},
                   {"near", sampler.near}, {"far", sampler.far}, {"use_background", sampler.use_background},
                   {"background", sampler.background}}},
      {"layout", layout},
      {"params", std::vector<double>(p.params(), p.params() + P)},
      {"rays", R}, {"origins", origins}, {"dirs", dirs}, {"target", target},
      {"shape", [&] {
         Json j = shape_json(s, tau_before);
         j["affinity"] = affinity;
         return j;
       }()}};
  const Json out = run_oracle(in, "shaping");

  // Losses and the threshold: same arithmetic up to rounding.
  const double total = photometric.loss + shaped.loss;
  EXPECT_NEAR(total, out["total"].get<double>(), 1e-12 * std::max(1.0, std::abs(total)));
  EXPECT_NEAR(photometric.loss, out["photometric"].get<double>(), 1e-12);
  EXPECT_NEAR(shaped.mi, out["mi"].get<double>(), 1e-12 * std::max(1.0, std::abs(shaped.mi)));
  EXPECT_NEAR(shaped.norm, out["norm"].get<double>(), 1e-12 * std::max(1.0, std::abs(shaped.norm)));
  EXPECT_NEAR(shaped.mean_jacobian_norm, out["mean_jacobian_norm"].get<double>(), 1e-12);
  EXPECT_EQ(shaped.counted, out["counted"].get<int>());
  EXPECT_EQ(shaped.counted, R - 1);  // anchor 9 has no negatives
  EXPECT_NEAR(shaped.tau_after, out["tau_after"].get<double>(), 1e-12);
  EXPECT_EQ(tau, shaped.tau_after);
  const auto counts = out["counts"].get<std::vector<int>>();
  const auto taus = out["taus"].get<std::vector<double>>();
  ASSERT_EQ(counts.size(), static_cast<std::size_t>(R));
  double count_sum = 0;
  for (int c : counts) count_sum += c;
  EXPECT_NEAR(shaped.mean_positives * R, count_sum, 1e-9);
  {  // tau went both up and down within the batch
    int ups = 0, downs = 0;
    double previous = tau_before;
    for (double t : taus) {
      ups += t > previous + 1e-12;
      downs += t < previous - 1e-12;
      previous = t;
    }
    EXPECT_GT(ups, 0);
    EXPECT_GT(downs, 0);
  }

  // The Jacobians (rows = flattened d mean(C_r) / d fine.rgb_linear.weight).
  const auto ref_g = out["jacobians"].get<std::vector<double>>();
  ASSERT_EQ(ref_g.size(), g.size());
  double worst_jacobian = 0;
  for (std::size_t i = 0; i < g.size(); ++i) {
    worst_jacobian = std::max(worst_jacobian, std::abs(g[i] - ref_g[i]));
    EXPECT_NEAR(g[i], ref_g[i], 1e-12) << i;
  }
  const auto rgb = p.rgb_fine();
  const auto ref_rgb = out["rgb_fine"].get<std::vector<double>>();
  for (std::size_t i = 0; i < rgb.size(); ++i) EXPECT_NEAR(rgb[i], ref_rgb[i], 1e-12) << i;

  // Every segment: the full gradient, and the shaping term's own part (total minus the
  // photometric gradient) where it is not zero, i.e. on the fine network.
  double worst = 0, worst_shaping = 0, least_visible = 1e300;
  for (const auto& seg : p.layout().segments()) {
    const auto ref = out["grads"][seg.name].get<std::vector<double>>();
    const auto ref_shaping = out["shaping_grads"][seg.name].get<std::vector<double>>();
    ASSERT_EQ(ref.size(), seg.size) << seg.name;
    ASSERT_EQ(ref_shaping.size(), seg.size) << seg.name;
    const double rel = relative_error(&grads[seg.offset], ref, seg.size);
    worst = std::max(worst, rel);
    EXPECT_LT(rel, 1e-6) << seg.name;

    std::vector<double> own(seg.size);
    for (std::size_t k = 0; k < seg.size; ++k) own[k] = grads[seg.offset + k] - photometric_grads[seg.offset + k];
    const bool fine = seg.name.rfind("fine.", 0) == 0;
    if (fine) {
      const double rel_shaping = relative_error(own.data(), ref_shaping, seg.size);
      worst_shaping = std::max(worst_shaping, rel_shaping);
      EXPECT_LT(rel_shaping, 1e-6) << seg.name;
      double own_sq = 0, photometric_sq = 0;
      for (std::size_t k = 0; k < seg.size; ++k) {
        own_sq += own[k] * own[k];
        photometric_sq += photometric_grads[seg.offset + k] * photometric_grads[seg.offset + k];
      }
      const double visible = std::sqrt(own_sq / std::max(photometric_sq, 1e-300));  // ||shaping|| / ||photometric||
      least_visible = std::min(least_visible, visible);
      if (expect_visible) EXPECT_GT(visible, 1e-3) << seg.name << ": the shaping term barely changes the gradient";
    } else {
      for (std::size_t k = 0; k < seg.size; ++k) {
        EXPECT_EQ(own[k], 0.0) << seg.name << " " << k;
        EXPECT_EQ(ref_shaping[k], 0.0) << seg.name << " " << k;
      }
    }
  }
  ::testing::Test::RecordProperty("worst_relative_gradient_error", sci(worst));
  ::testing::Test::RecordProperty("worst_relative_shaping_gradient_error", sci(worst_shaping));
  ::testing::Test::RecordProperty("worst_jacobian_abs_error", sci(worst_jacobian));
  ::testing::Test::RecordProperty("least_shaping_share_fine", sci(least_visible));
}

// ---- adaptive tau trajectory -----------------------------------------------------------

struct Batch {
  int B = 0, D = 0;
  std::vector<double> g, affinity;
};

// Random Jacobians and the affinity of random `feature_dims`-dimensional unit features
// (normalised as the reference does, f / (|f| + 1e-7), affinity = F F^T). With clusters >
// 0 a ray's feature is, with probability 1 - isolated, one of that many random centres
// plus `spread` times Gaussian noise, and otherwise a random direction of its own, so some
// rays have many close neighbours and others hardly any.
Batch random_batch(int B, int D, int feature_dims, std::mt19937_64& rng, int clusters = 0, double spread = 0,
                   double isolated = 0) {
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  std::normal_distribution<double> n(0.0, 1.0);
  Batch b;
  b.B = B;
  b.D = D;
  b.g.resize(static_cast<std::size_t>(B) * D);
  for (double& v : b.g) v = 0.3 * n(rng);
  std::vector<double> centres(static_cast<std::size_t>(std::max(clusters, 1)) * feature_dims);
  for (double& v : centres) v = n(rng);
  std::vector<double> f(static_cast<std::size_t>(B) * feature_dims);
  for (int r = 0; r < B; ++r) {
    const bool own = clusters == 0 || coin(rng) < isolated;
    const int c = own ? 0 : static_cast<int>(rng() % clusters);
    for (int k = 0; k < feature_dims; ++k)
      f[r * feature_dims + k] = own ? n(rng) : centres[c * feature_dims + k] + spread * n(rng);
  }
  for (int r = 0; r < B; ++r) {
    double s = 0;
    for (int k = 0; k < feature_dims; ++k) s += f[r * feature_dims + k] * f[r * feature_dims + k];
    const double norm = std::sqrt(s) + 1e-7;
    for (int k = 0; k < feature_dims; ++k) f[r * feature_dims + k] /= norm;
  }
  b.affinity.resize(static_cast<std::size_t>(B) * B);
  for (int a = 0; a < B; ++a)
    for (int q = 0; q < B; ++q) {
      double s = 0;
      for (int k = 0; k < feature_dims; ++k) s += f[q * feature_dims + k] * f[a * feature_dims + k];
      b.affinity[a * B + q] = s;
    }
  return b;
}

// Runs contrastive_loss batch after batch from tau_start and compares each batch with
// the transcription; returns the oracle's batches.
Json compare_trajectory(const std::vector<Batch>& batches, const ContrastiveSettings& s, double tau_start) {
  Json in = {{"mode", "tau_trajectory"}, {"shape", shape_json(s, tau_start)}, {"batches", Json::array()}};
  for (const auto& b : batches)
    in["batches"].push_back({{"B", b.B}, {"D", b.D}, {"jacobians", b.g}, {"affinity", b.affinity}});
  const Json out = run_oracle(in, "trajectory");
  const Json& ref = out["batches"];
  EXPECT_EQ(ref.size(), batches.size());
  double tau = tau_start, worst_mi = 0, worst_tau = 0;
  for (std::size_t i = 0; i < batches.size() && i < ref.size(); ++i) {
    const Batch& b = batches[i];
    const auto r = jnerf::contrastive_loss(b.g, b.B, b.D, b.affinity, s, tau, true);
    const double ref_tau = ref[i]["tau_after"].get<double>(), ref_mi = ref[i]["mi"].get<double>();
    EXPECT_NEAR(r.tau_before, ref[i]["tau_before"].get<double>(), 1e-12) << "batch " << i;
    EXPECT_NEAR(r.tau_after, ref_tau, 1e-12) << "batch " << i;
    EXPECT_NEAR(r.mi, ref_mi, 1e-10 * std::abs(ref_mi)) << "batch " << i;
    EXPECT_EQ(r.counted, ref[i]["counted"].get<int>()) << "batch " << i;
    const auto counts = ref[i]["counts"].get<std::vector<int>>();
    const auto taus = ref[i]["taus"].get<std::vector<double>>();
    EXPECT_EQ(counts.size(), static_cast<std::size_t>(b.B));
    EXPECT_EQ(taus.size(), static_cast<std::size_t>(b.B));
    double count_sum = 0;
    for (int c : counts) count_sum += c;
    EXPECT_NEAR(r.mean_positives * b.B, count_sum, 1e-9) << "batch " << i;
    if (!taus.empty()) EXPECT_EQ(taus.back(), ref_tau);
    worst_tau = std::max(worst_tau, std::abs(r.tau_after - ref_tau));
    worst_mi = std::max(worst_mi, std::abs(r.mi - ref_mi) / std::max(std::abs(ref_mi), 1e-300));
  }
  ::testing::Test::RecordProperty("worst_tau_error", sci(worst_tau));
  ::testing::Test::RecordProperty("worst_relative_mi_error", sci(worst_mi));
  return ref;
}

}  // namespace

TEST(ShapingOracle, GradientAgainstDoubleBackwardShapingDominant) {
  compare_shaping(0.5, 0.5, true);
}

TEST(ShapingOracle, GradientAgainstDoubleBackwardPaperWeights) {
  compare_shaping(1e-2, 1e-2, false);
}

// Rendered grey-colour Jacobians are non-negative (see compare_shaping), where the signed
// and the absolute cosine agree; the signed form is compared on mixed-sign Jacobians.
TEST(ShapingOracle, SignedCosineLossOnMixedSignJacobians) {
  REQUIRE_TORCH();
  std::mt19937_64 rng(17);
  std::vector<Batch> batches;
  for (int i = 0; i < 2; ++i) batches.push_back(random_batch(64, 24, 6, rng, 4, 0.4, 0.3));
  ContrastiveSettings s;
  s.similarity = JacobianSimilarity::Cosine;
  compare_trajectory(batches, s, 0.8);
  double tau_abs = 0.8, tau_signed = 0.8;
  ContrastiveSettings abs_settings;
  const auto a = jnerf::contrastive_loss(batches[0].g, 64, 24, batches[0].affinity, abs_settings, tau_abs, true);
  const auto b = jnerf::contrastive_loss(batches[0].g, 64, 24, batches[0].affinity, s, tau_signed, true);
  EXPECT_GT(std::abs(a.mi - b.mi), 1e-3);  // the two similarities really differ here
}

// Five batches of 64 rays whose affinities are cosines of 6-d features, 70% of them around
// one of four random centres and the rest scattered: the positive counts straddle
// int(0.05 B) = 3 and int(0.15 B) = 9, so tau moves both ways, anchor by anchor.
TEST(ShapingOracle, TauTrajectoryOverBatches) {
  REQUIRE_TORCH();
  std::mt19937_64 rng(2024);
  std::vector<Batch> batches;
  for (int i = 0; i < 5; ++i) batches.push_back(random_batch(64, 24, 6, rng, 4, 0.4, 0.3));
  const ContrastiveSettings s;  // the paper's tau settings: 0.8 in [0.5, 0.9], step 1e-3, 5% / 15%
  const Json ref = compare_trajectory(batches, s, 0.8);
  int ups = 0, downs = 0, low = 0, high = 0;
  double previous = 0.8;
  for (const auto& b : ref) {
    for (double t : b["taus"].get<std::vector<double>>()) {
      ups += t > previous + 1e-12;
      downs += t < previous - 1e-12;
      previous = t;
    }
    for (int c : b["counts"].get<std::vector<int>>()) {
      low += c < 3;
      high += c > 9;
    }
  }
  EXPECT_GT(ups, 10);
  EXPECT_GT(downs, 10);
  EXPECT_GT(low, 0);
  EXPECT_GT(high, 0);
  ::testing::Test::RecordProperty("tau_moves_up", ups);
  ::testing::Test::RecordProperty("tau_moves_down", downs);
}

// Features random in 256 dimensions: every ray is only its own positive (count 1 <
// int(0.05 B)), so from 0.8 tau steps down at every anchor, 300 steps over five batches of
// 64, until it reaches its 0.5 floor, and then stays there.
TEST(ShapingOracle, TauWalksDownToItsFloor) {
  REQUIRE_TORCH();
  std::mt19937_64 rng(99);
  const ContrastiveSettings s;
  std::vector<Batch> batches;
  for (int i = 0; i < 5; ++i) batches.push_back(random_batch(64, 24, 256, rng));
  const Json ref = compare_trajectory(batches, s, s.tau_init);
  ASSERT_EQ(ref.size(), batches.size());
  std::vector<double> taus;
  for (const auto& b : ref) {
    for (int c : b["counts"].get<std::vector<int>>()) EXPECT_EQ(c, 1);
    EXPECT_EQ(b["counted"].get<int>(), 64);
    for (double t : b["taus"].get<std::vector<double>>()) taus.push_back(t);
  }
  const double floor_tau = taus.back();
  EXPECT_LE(floor_tau, s.tau_min + 1e-9);
  EXPECT_GT(floor_tau, s.tau_min - s.tau_step - 1e-9);
  double previous = s.tau_init;
  int steps = 0;
  for (double t : taus) {
    if (previous > s.tau_min) {
      EXPECT_NEAR(t, previous - s.tau_step, 1e-12);  // one step down per anchor
      ++steps;
    } else {
      EXPECT_EQ(t, previous);  // held at the floor
    }
    previous = t;
  }
  EXPECT_NEAR(steps, 300, 1);
  ::testing::Test::RecordProperty("steps_down", steps);
  double tau = s.tau_init;
  for (const auto& b : batches) {
    const auto r = jnerf::contrastive_loss(b.g, b.B, b.D, b.affinity, s, tau, true);
    EXPECT_EQ(r.counted, 64);
    EXPECT_EQ(r.mean_positives, 1.0);
  }
  EXPECT_EQ(tau, floor_tau);
}
