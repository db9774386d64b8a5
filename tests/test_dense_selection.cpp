// The dense-label setting: the response aggregator's gradient against finite differences
// and its training, adaptive selection on hand-made response maps (the best combination is
// kept, later rounds score conditional responses), the mean response, the config keys,
// and selection + prediction end to end on a small trained NeRF.
#include <cmath>
#include <set>
#include <sstream>
#include <unistd.h>

#include <gtest/gtest.h>

#include "jnerf/data/synth.hpp"
#include "jnerf/propagate/dense_selection.hpp"
#include "jnerf/train/nerf_trainer.hpp"
#include "test_support.hpp"

namespace {

std::vector<double> uniform(std::size_t count, double lo, double hi, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<double> v(count);
  for (double& x : v) x = u(rng);
  return v;
}

// Values parsed at run time from "a b c ...". (GCC 12.2 at -O2 -march=native on AVX-512
// miscompiles some constant braced lists of eight floats or ints with trailing zeros, so
// the hand-made maps below are not written as such lists.)
std::vector<float> floats(const std::string& text) {
  std::istringstream in(text);
  std::vector<float> out;
  for (float v; in >> v;) out.push_back(v);
  return out;
}
std::vector<int> ints(const std::string& text) {
  std::istringstream in(text);
  std::vector<int> out;
  for (int v; in >> v;) out.push_back(v);
  return out;
}

// ---- the aggregator ----------------------------------------------------------------

TEST(ResponseAggregator, InitFollowsPyTorchBounds) {
  const auto a = jnerf::ResponseAggregator::init(3, 5, 4, 7);
  ASSERT_EQ(a.params.size(), jnerf::ResponseAggregator::param_count(3, 5, 4));
  EXPECT_EQ(a.params.size(), 5u * 3 + 5 + 4 * 5 + 4 + 3 * 4 + 3);
  // W1, b1 within 1/sqrt(3); W2, b2 within 1/sqrt(5); W3, b3 within 1/sqrt(4).
  const std::size_t ends[] = {20, 44, 59};
  const double bounds[] = {1 / std::sqrt(3.0), 1 / std::sqrt(5.0), 0.5};
  std::size_t begin = 0;
  for (int b = 0; b < 3; ++b) {
    for (std::size_t i = begin; i < ends[b]; ++i) EXPECT_LE(std::abs(a.params[i]), bounds[b]) << i;
    begin = ends[b];
  }
  EXPECT_EQ(jnerf::ResponseAggregator::init(3, 5, 4, 7).params, a.params);
  EXPECT_NE(jnerf::ResponseAggregator::init(3, 5, 4, 8).params, a.params);
}

TEST(ResponseAggregator, GradientMatchesCentralDifferences) {
  const int C = 3, n = 7;
  auto agg = jnerf::ResponseAggregator::init(C, 5, 4, 11);
  const std::vector<double> x = uniform(static_cast<std::size_t>(C) * n, -1.0, 1.0, 3);
  const std::vector<int> targets = {0, 2, -1, 1, 1, -1, 0};
  std::vector<double> grad;
  aggregator_loss(agg, x, targets, &grad);
  ASSERT_EQ(grad.size(), agg.params.size());
  const double eps = 1e-6;
  for (std::size_t i = 0; i < agg.params.size(); ++i) {
    const double saved = agg.params[i];
    agg.params[i] = saved + eps;
    const double up = aggregator_loss(agg, x, targets, nullptr);
    agg.params[i] = saved - eps;
    const double down = aggregator_loss(agg, x, targets, nullptr);
    agg.params[i] = saved;
    const double fd = (up - down) / (2 * eps);
    EXPECT_NEAR(grad[i], fd, 1e-7 + 1e-6 * std::abs(fd)) << "parameter " << i;
  }

  // The backward alone, for L = <d, logits> with a random d.
  const std::vector<double> d = uniform(static_cast<std::size_t>(C) * n, -1.0, 1.0, 5);
  const std::vector<double> g = aggregator_backward(agg, x, n, d);
  auto linear = [&] {
    const std::vector<double> l = aggregator_forward(agg, x, n);
    double s = 0;
    for (std::size_t k = 0; k < l.size(); ++k) s += d[k] * l[k];
    return s;
  };
  for (std::size_t i = 0; i < agg.params.size(); ++i) {
    const double saved = agg.params[i];
    agg.params[i] = saved + eps;
    const double up = linear();
    agg.params[i] = saved - eps;
    const double down = linear();
    agg.params[i] = saved;
    const double fd = (up - down) / (2 * eps);
    EXPECT_NEAR(g[i], fd, 1e-7 + 1e-6 * std::abs(fd)) << "parameter " << i;
  }
}

TEST(ResponseAggregator, IgnoredPixelsDoNotCount) {
  const int C = 2;
  const auto agg = jnerf::ResponseAggregator::init(C, 6, 3, 1);
  const std::vector<double> x = uniform(C * 4, 0.0, 1.0, 9);
  std::vector<double> g_all, g_part;
  const double all = aggregator_loss(agg, x, {1, -1, 0, -1}, &g_all);
  // The same two pixels on their own.
  const std::vector<double> two = {x[0], x[2], x[4], x[6]};
  const double part = aggregator_loss(agg, two, {1, 0}, &g_part);
  EXPECT_NEAR(all, part, 1e-12);
  for (std::size_t i = 0; i < g_all.size(); ++i) EXPECT_NEAR(g_all[i], g_part[i], 1e-12) << i;
  EXPECT_EQ(aggregator_loss(agg, x, {-1, -1, -1, -1}, nullptr), 0.0);
}

TEST(ResponseAggregator, TrainingSeparatesAToyProblem) {
  // Two "responses" per pixel; the class is 1 where both are on the same side of 0.5 (an
  // XOR, which no linear map of the responses separates), 2 classes, plus void pixels
  // labelled against the rule that must not matter.
  const int n = 400, C = 2;
  const std::vector<double> u = uniform(static_cast<std::size_t>(C) * n, 0.0, 1.0, 21);
  std::vector<int> targets(n);
  for (int p = 0; p < n; ++p) targets[p] = (u[p] > 0.5) == (u[n + p] > 0.5) ? 1 : 0;
  std::vector<int> with_void = targets;
  for (int p = 0; p < n; p += 10) with_void[p] = -1;
  jnerf::AggregatorSettings s;
  s.hidden1 = 32, s.hidden2 = 16, s.steps = 600, s.lr = 1e-2, s.batch = 128, s.seed = 4;
  const jnerf::AggregatorTraining t = jnerf::train_aggregator(u, with_void, C, s);
  EXPECT_EQ(t.pixels, n - n / 10);
  EXPECT_LT(t.final_loss, 0.5 * t.initial_loss);
  const std::vector<int> cls = jnerf::aggregator_classes(jnerf::aggregator_forward(t.aggregator, u, n), C, n);
  int right = 0;
  for (int p = 0; p < n; ++p) right += cls[p] == targets[p];
  EXPECT_GE(right, 0.93 * n);
  // Deterministic for a seed.
  EXPECT_EQ(jnerf::train_aggregator(u, with_void, C, s).aggregator.params, t.aggregator.params);
  // Every pixel per step gives a valid run too.
  s.batch = 0, s.steps = 50;
  EXPECT_LT(jnerf::train_aggregator(u, with_void, C, s).final_loss, t.initial_loss);
}

// ---- selection on hand-made responses -------------------------------------------------

// An 8 x 1 view, classes 1 (pixels 0-3) and 2 (pixels 4-7). Candidate (round r, class k,
// combination j) gets the one-hot gradient e_i, i = (r * 2 + k) * 3 + j, and the response
// to a direction g is sum_i g_i maps[i]: the maps of the candidates are set by the test.
struct HandMade {
  static constexpr int W = 8, C = 2, K = 3, R = 2, D = R * C * K;
  std::vector<std::vector<float>> maps = std::vector<std::vector<float>>(D, std::vector<float>(W, 0.f));
  int calls = 0;
  std::vector<std::int64_t> requested;

  void set(int r, int k, int j, const std::string& m) { maps[(r * C + k) * K + j] = floats(m); }

  jnerf::SelectionProblem problem() {
    jnerf::SelectionProblem p;
    p.width = W, p.height = 1, p.dims = D;
    p.truth_ids = ints("1 1 1 1 2 2 2 2");
    p.gradients = [this](const std::vector<std::int64_t>& pixels) {
      EXPECT_EQ(pixels.size(), std::size_t(C * K));
      requested.insert(requested.end(), pixels.begin(), pixels.end());
      std::vector<double> g(pixels.size() * D, 0.0);
      for (std::size_t i = 0; i < pixels.size(); ++i) g[i * D + calls * C * K + i] = 1.0;
      ++calls;
      return g;
    };
    p.responses = [this](const std::vector<double>& dirs) {
      const std::size_t rows = dirs.size() / D;
      std::vector<float> out(rows * W, 0.f);
      for (std::size_t r = 0; r < rows; ++r)
        for (int i = 0; i < D; ++i)
          for (int x = 0; x < W; ++x) out[r * W + x] += static_cast<float>(dirs[r * D + i]) * maps[i][x];
      return out;
    };
    p.mode = jnerf::ResponseMode::Linear2D;
    p.response.clip = 100.f;      // no clipping
    p.response.blur = false;      // post-processing = / max
    p.response.absent_std = -1;   // never absent
    p.response.absent_mean = -1;
    return p;
  }
};

jnerf::DenseSettings hand_settings(int rounds) {
  jnerf::DenseSettings s;
  s.rounds = rounds;
  s.combinations = HandMade::K;
  s.use_aggregator = false;
  s.seed = 3;
  return s;
}

void set_round0(HandMade& h) {
  // j = 0: class 1 responds nowhere, ties go to class 1 everywhere: mIoU 0.25.
  h.set(0, 0, 0, "0 0 0 0 0 0 0 0");
  h.set(0, 1, 0, "0 0 0 0 0 0 0 0");
  // j = 1: pixels 4, 5 go to class 1: IoUs 4/6 and 2/4.
  h.set(0, 0, 1, "1 1 1 1 1 1 0 0");
  h.set(0, 1, 1, "0 0 0 0 0 0 1 1");
  // j = 2: class 1 everywhere: mIoU 0.25.
  h.set(0, 0, 2, "1 1 1 1 1 1 1 1");
  h.set(0, 1, 2, "0 0 0 0 0 0 0 0");
}

TEST(DenseSelection, KeepsTheCombinationWithTheBestMiou) {
  HandMade h;
  set_round0(h);
  const jnerf::SelectionProblem p = h.problem();
  const jnerf::DenseSelection s = jnerf::select_gradients(p, hand_settings(1));
  EXPECT_EQ(s.labels, (std::vector<int>{1, 2}));
  ASSERT_EQ(s.choice, std::vector<int>{1});
  EXPECT_NEAR(s.miou[0], (4.0 / 6 + 2.0 / 4) / 2, 1e-12);
  EXPECT_EQ(s.draws, std::vector<int>{1});
  // Candidates are pixels of their class, class-major.
  ASSERT_EQ(h.requested.size(), std::size_t(HandMade::C * HandMade::K));
  for (int k = 0; k < HandMade::C; ++k)
    for (int j = 0; j < HandMade::K; ++j)
      EXPECT_EQ(p.truth_ids[h.requested[k * HandMade::K + j]], k + 1);
  // Each class keeps its combination-1 gradient, pixel and raw map.
  ASSERT_EQ(s.gradients.size(), std::size_t(HandMade::C * HandMade::D));
  for (int k = 0; k < HandMade::C; ++k) {
    for (int i = 0; i < HandMade::D; ++i)
      EXPECT_EQ(s.gradients[k * HandMade::D + i], i == k * HandMade::K + 1 ? 1.0 : 0.0) << k << " " << i;
    EXPECT_EQ(s.pixels[k], h.requested[k * HandMade::K + 1]);
    const std::vector<float> kept(s.kept.begin() + k * HandMade::W, s.kept.begin() + (k + 1) * HandMade::W);
    EXPECT_EQ(kept, h.maps[k * HandMade::K + 1]);
  }
  // The same seed draws the same pixels.
  HandMade again;
  set_round0(again);
  jnerf::select_gradients(again.problem(), hand_settings(1));
  EXPECT_EQ(again.requested, h.requested);
}

TEST(DenseSelection, LaterRoundsScoreConditionalResponses) {
  HandMade h;
  set_round0(h);  // keeps j = 1: S1 = 1 on pixels 0-5, S2 = 1 on pixels 6-7
  // j = 0 is perfect alone, but averaged with S ties on pixels 4, 5 (class 1): 0.583.
  h.set(1, 0, 0, "1 1 1 1 0 0 0 0");
  h.set(1, 1, 0, "0 0 0 0 1 1 1 1");
  // j = 1 alone leaves pixels 6, 7 to class 1 (0.583); averaged with S it is perfect.
  h.set(1, 0, 1, "2 2 2 2 0 0 0 0");
  h.set(1, 1, 1, "0 0 0 0 3 3 0 0");
  // j = 2: 0.25 alone, 0.583 averaged.
  h.set(1, 0, 2, "1 1 1 1 1 1 1 1");
  h.set(1, 1, 2, "0 0 0 0 0 0 0 0");
  const jnerf::DenseSelection s = jnerf::select_gradients(h.problem(), hand_settings(2));
  ASSERT_EQ(s.choice, (std::vector<int>{1, 1}));
  EXPECT_NEAR(s.miou[0], (4.0 / 6 + 2.0 / 4) / 2, 1e-12);
  EXPECT_NEAR(s.miou[1], 1.0, 1e-12);
  const int D = HandMade::D, W = HandMade::W, R = 2;
  for (int k = 0; k < HandMade::C; ++k)
    for (int r = 0; r < R; ++r) {
      const int hot = (r * HandMade::C + k) * HandMade::K + 1;
      for (int i = 0; i < D; ++i) EXPECT_EQ(s.gradients[(k * R + r) * D + i], i == hot ? 1.0 : 0.0);
    }
  // Round 2 keeps the conditional maps: the mean of the round-1 map and the candidate's.
  const std::vector<float> kept1(s.kept.begin() + (0 * R + 1) * W, s.kept.begin() + (0 * R + 2) * W);
  EXPECT_EQ(kept1, floats("1.5 1.5 1.5 1.5 0.5 0.5 0 0"));
  const std::vector<float> kept2(s.kept.begin() + (1 * R + 1) * W, s.kept.begin() + (1 * R + 2) * W);
  EXPECT_EQ(kept2, floats("0 0 0 0 1.5 1.5 0.5 0.5"));
}

TEST(DenseSelection, RedrawsARoundWithoutAnyOverlap) {
  // Class 1 (pixels 2, 3) responds on pixels 0, 1 and class 2 (pixels 0, 1) on pixels 2, 3:
  // every combination labels every pixel wrongly (mIoU 0), so the round is drawn
  // kMaxSelectionDraws times and the last draw is kept.
  jnerf::SelectionProblem p;
  p.width = 4, p.height = 1, p.dims = 1;
  p.truth_ids = {2, 2, 1, 1};
  int calls = 0;
  p.gradients = [&](const std::vector<std::int64_t>& pixels) {
    ++calls;
    std::vector<double> g;
    for (auto px : pixels) g.push_back(p.truth_ids[px] == 1 ? 0.0 : 1.0);
    return g;
  };
  p.responses = [](const std::vector<double>& dirs) {
    std::vector<float> out;
    for (double d : dirs)
      for (int x = 0; x < 4; ++x) out.push_back((x < 2) == (d == 0.0) ? 1.f : 0.f);
    return out;
  };
  p.response.blur = false;
  jnerf::DenseSettings s = hand_settings(1);
  s.combinations = 2;
  const jnerf::DenseSelection sel = jnerf::select_gradients(p, s);
  EXPECT_EQ(sel.draws, std::vector<int>{jnerf::kMaxSelectionDraws});
  EXPECT_EQ(calls, jnerf::kMaxSelectionDraws);
  EXPECT_EQ(sel.miou[0], 0.0);
  EXPECT_EQ(sel.choice[0], 0);
}

TEST(DenseSelection, MeanResponseAveragesRawMapsPerClass) {
  // Two classes, two directions each; the response of direction d is d[0] * ramp.
  const int W = 5, H = 2;
  const std::vector<double> dirs = {1.0, 3.0, 0.5, 0.5};  // dims 1: class 0 {1, 3}, class 1 {0.5, 0.5}
  const jnerf::ResponseFn respond = [&](const std::vector<double>& d) {
    std::vector<float> out;
    for (double v : d)
      for (int p = 0; p < W * H; ++p) out.push_back(static_cast<float>(v * 0.1 * p));
    return out;
  };
  jnerf::ResponseSettings rs;
  const auto maps = jnerf::mean_class_responses(respond, dirs, 2, 2, 1, W, H, jnerf::ResponseMode::Perturb2D, rs);
  ASSERT_EQ(maps.size(), 2u);
  for (int c = 0; c < 2; ++c) {
    const double mean = c == 0 ? 2.0 : 0.5;
    std::vector<float> expect(W * H);
    for (int p = 0; p < W * H; ++p) expect[p] = static_cast<float>(mean * 0.1 * p);
    jnerf::postprocess_response(expect, W, H, rs);
    EXPECT_EQ(maps[c], expect) << c;
  }
  const auto maps3 = jnerf::mean_class_responses(respond, dirs, 2, 2, 1, W, H, jnerf::ResponseMode::Linear3D, rs);
  std::vector<float> expect(W * H);
  for (int p = 0; p < W * H; ++p) expect[p] = static_cast<float>(2.0 * 0.1 * p);
  jnerf::normalise_by_max(expect);
  EXPECT_EQ(maps3[0], expect);
}

TEST(DenseSelection, BadInputIsAnInputError) {
  HandMade h;
  jnerf::SelectionProblem p = h.problem();
  p.truth_ids.pop_back();
  EXPECT_TRUE(jnerf::test::contains(jnerf::test::input_error([&] { jnerf::select_gradients(p, hand_settings(1)); }),
                                    "label map"));
  p = h.problem();
  p.truth_ids.assign(p.truth_ids.size(), 0);
  EXPECT_TRUE(jnerf::test::contains(jnerf::test::input_error([&] { jnerf::select_gradients(p, hand_settings(1)); }),
                                    "no labelled pixel"));
}

TEST(DenseSettings, FromConfigReadsAndChecksTheKeys) {
  jnerf::Json c = jnerf::default_config();
  const jnerf::DenseSettings s = jnerf::DenseSettings::from_config(c);
  EXPECT_EQ(s.rounds, 5);
  EXPECT_EQ(s.combinations, 20);
  EXPECT_TRUE(s.use_aggregator);
  EXPECT_DOUBLE_EQ(s.aggregator.lr, 1e-3);
  EXPECT_EQ(s.aggregator.hidden1, 128);
  EXPECT_EQ(s.aggregator.hidden2, 64);
  auto error_for = [](const std::string& assignment) {
    jnerf::Json bad = jnerf::default_config();
    jnerf::apply_override(bad, assignment);
    return jnerf::test::input_error([&] { jnerf::DenseSettings::from_config(bad); });
  };
  EXPECT_TRUE(jnerf::test::contains(error_for("propagate.selection_rounds=0"), "propagate.selection_rounds"));
  EXPECT_TRUE(jnerf::test::contains(error_for("propagate.selection_combinations=0"), "propagate.selection_combinations"));
  EXPECT_TRUE(jnerf::test::contains(error_for("propagate.gradients_per_class=3"), "propagate.gradients_per_class"));
  EXPECT_TRUE(jnerf::test::contains(error_for("propagate.aggregator_lr=0"), "propagate.aggregator_lr"));
  EXPECT_TRUE(jnerf::test::contains(error_for("propagate.aggregator_steps=-1"), "propagate.aggregator_steps"));
  EXPECT_TRUE(jnerf::test::contains(error_for("propagate.aggregator_batch=-2"), "propagate.aggregator_batch"));
}

TEST(DenseSettings, AnnotationLabelMap) {
  jnerf::Annotation a;
  a.width = 3, a.height = 2;
  a.clicks = {{0, 0, 4}, {2, 1, 7}};
  EXPECT_EQ(jnerf::annotation_label_map(a), (std::vector<int>{4, 0, 0, 0, 0, 7}));
}

// ---- end to end on a small NeRF ------------------------------------------------------

TEST(DenseSelection, EndToEndOnATinyRoom) {
  const auto dir = std::filesystem::temp_directory_path() / "jnerf_tests" / ("dense_room." + std::to_string(getpid()));
  jnerf::SynthOptions o;
  o.preset = "room0";
  o.out = dir;
  o.width = 40;
  o.height = 30;
  o.frames = 30;
  jnerf::generate_scene(o);
  const jnerf::Dataset data = jnerf::load_dataset({dir, "replica"});

  jnerf::Json config = jnerf::default_config();
  for (const char* s : {"model.semantic_nerf.trunk_depth=3", "model.semantic_nerf.trunk_width=32",
                        "model.semantic_nerf.skips=[1]", "model.semantic_nerf.view_width=16",
                        "model.semantic_nerf.position_frequencies=6", "sampler.coarse_samples=16",
                        "sampler.fine_samples=16", "sampler.far=8", "sampler.density_noise_std=0",
                        "train.rays_per_batch=256", "train.lr=3e-3", "train.iters=60", "train.log_every=1000",
                        "train.val_every=0", "train.checkpoint_every=0", "data.format=replica",
                        "propagate.mode=linear2d", "propagate.annotation=dense", "propagate.selection_rounds=2",
                        "propagate.gradients_per_class=2", "propagate.selection_combinations=3",
                        "propagate.aggregator_steps=40", "propagate.aggregator_batch=256"})
    jnerf::apply_override(config, s);
  config["model"]["type"] = "semantic_nerf";
  config["data"]["path"] = dir.string();
  auto engine = jnerf::make_nerf_engine(config, data, "cpu");
  const jnerf::RunDir run(jnerf::test::scratch_dir("run"));
  run.create(config);
  jnerf::train_nerf(config, data, *engine, run, false);

  const jnerf::PropagationSettings settings = jnerf::PropagationSettings::from_config(config);
  const jnerf::DenseSettings dense = jnerf::DenseSettings::from_config(config);
  const jnerf::Frame& labelled = data.frames[data.train.front()];
  const std::vector<int> truth = jnerf::frame_labels(labelled, "semantic");
  std::set<int> present;
  for (int id : truth)
    if (id > 0) present.insert(id);
  ASSERT_GE(present.size(), 2u);

  const auto params_before = engine->params();
  const jnerf::DenseModel model = jnerf::select_dense(*engine, labelled, truth, settings, dense, 512);
  EXPECT_EQ(engine->params(), params_before);
  const jnerf::DenseSelection& s = model.selection;
  EXPECT_EQ(s.labels, std::vector<int>(present.begin(), present.end()));
  const int D = model.spec.dims(), C = static_cast<int>(s.labels.size());
  EXPECT_EQ(s.rounds, 2);
  EXPECT_EQ(s.gradients.size(), static_cast<std::size_t>(C) * 2 * D);
  ASSERT_EQ(s.pixels.size(), static_cast<std::size_t>(C) * 2);
  for (int k = 0; k < C; ++k)
    for (int r = 0; r < 2; ++r) {
      EXPECT_EQ(truth[s.pixels[k * 2 + r]], s.labels[k]);  // a gradient of its own class
      // ... and it is that pixel's Jacobian.
      const auto g = engine->pixel_jacobians(labelled, {s.pixels[k * 2 + r]}, model.spec, 512);
      for (int i = 0; i < D; ++i)
        EXPECT_NEAR(s.gradients[(k * 2 + r) * D + i], g[i], 1e-9 + 1e-5 * std::abs(g[i]));
    }
  ASSERT_EQ(s.miou.size(), 2u);
  for (double m : s.miou) {
    EXPECT_GT(m, 0.0);
    EXPECT_LE(m, 1.0);
  }
  EXPECT_TRUE(model.use_aggregator);
  EXPECT_LT(model.aggregator.final_loss, model.aggregator.initial_loss);

  const jnerf::Frame& view = data.frames[data.test[1]];
  const jnerf::ViewPrediction p = jnerf::predict_dense(*engine, view, model, settings, 512);
  ASSERT_EQ(p.labels.size(), static_cast<std::size_t>(view.intrinsics.width * view.intrinsics.height));
  ASSERT_EQ(p.responses.size(), static_cast<std::size_t>(C));
  for (int id : p.labels) EXPECT_TRUE(present.count(id)) << id;
  // Without the aggregator: the argmax of the mean responses.
  jnerf::DenseModel plain = model;
  plain.use_aggregator = false;
  const jnerf::ViewPrediction q = jnerf::predict_dense(*engine, view, plain, settings, 512);
  EXPECT_EQ(q.responses, p.responses);
  EXPECT_EQ(q.labels, jnerf::argmax_labels(q.responses, s.labels, static_cast<int>(q.labels.size())));
  std::filesystem::remove_all(dir);
}

}  // namespace
