// The Semantic-NeRF baseline: rendered logits, the cross-entropy gradient against finite
// differences, training on a separable toy problem, and the plumbing through a real engine.
#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <unistd.h>

#include <gtest/gtest.h>

#include "jnerf/core/error.hpp"
#include "jnerf/data/synth.hpp"
#include "jnerf/propagate/propagation.hpp"
#include "jnerf/propagate/semantic_head.hpp"
#include "scene_support.hpp"
#include "test_support.hpp"

using jnerf::SampleBatch;
using jnerf::SemanticHead;
using jnerf::SemanticHeadSettings;
using jnerf::test::contains;
using jnerf::test::input_error;

namespace {

// R rays of S samples as visit_fine_samples gives them: weights R*S ray-major, features
// V x R*S feature-major.
struct Visited {
  int R = 0, S = 0, V = 0;
  std::vector<float> w, h;
};

Visited random_visited(int R, int S, int V, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::normal_distribution<double> g(0.0, 1.0);
  Visited v{R, S, V, {}, {}};
  for (int i = 0; i < R * S; ++i) v.w.push_back(static_cast<float>(0.05 + 0.5 * u(rng)));
  for (int i = 0; i < V * R * S; ++i) v.h.push_back(static_cast<float>(g(rng)));
  return v;
}

// sum_i w_i head(h_i), one sample at a time, straight from the definition.
std::vector<double> naive_logits(const SemanticHead& head, const Visited& v, double min_weight) {
  const int H = head.hidden, C = head.classes, V = head.inputs, N = v.R * v.S;
  const double* w1 = head.params.data();
  const double* b1 = w1 + H * V;
  const double* w2 = b1 + H;
  const double* b2 = w2 + C * H;
  std::vector<double> out(static_cast<std::size_t>(C) * v.R, 0.0);
  for (int r = 0; r < v.R; ++r)
    for (int i = 0; i < v.S; ++i) {
      const int n = r * v.S + i;
      if (!(v.w[n] > min_weight)) continue;
      std::vector<double> a(H);
      for (int j = 0; j < H; ++j) {
        double z = b1[j];
        for (int f = 0; f < V; ++f) z += w1[j * V + f] * double(v.h[f * N + n]);
        a[j] = std::max(z, 0.0);
      }
      for (int c = 0; c < C; ++c) {
        double s = b2[c];
        for (int j = 0; j < H; ++j) s += w2[c * H + j] * a[j];
        out[c * v.R + r] += double(v.w[n]) * s;
      }
    }
  return out;
}

// Rays [r0, r1) of a visited chunk, as the next chunk of a visit would give them.
Visited slice(const Visited& v, int r0, int r1) {
  Visited out{r1 - r0, v.S, v.V, {}, {}};
  const int N = v.R * v.S;
  out.w.assign(v.w.begin() + r0 * v.S, v.w.begin() + r1 * v.S);
  for (int f = 0; f < v.V; ++f)
    out.h.insert(out.h.end(), v.h.begin() + f * N + r0 * v.S, v.h.begin() + f * N + r1 * v.S);
  return out;
}

// A batch of the visited rays, appended in two chunks.
SampleBatch batch_of(const Visited& v, double min_weight) {
  SampleBatch batch;
  batch.dims = v.V;
  const int split = v.R / 2;
  const Visited a = slice(v, 0, split), b = slice(v, split, v.R);
  batch.append(a.R, a.S, a.w, a.h, min_weight);
  batch.append(b.R, b.S, b.w, b.h, min_weight);
  return batch;
}

}  // namespace

TEST(SemanticHead, InitIsPyTorchsUniformAndSeeded) {
  const SemanticHead a = SemanticHead::init(6, 40, 3, 7), b = SemanticHead::init(6, 40, 3, 7),
                     c = SemanticHead::init(6, 40, 3, 8);
  ASSERT_EQ(a.params.size(), SemanticHead::param_count(6, 40, 3));
  EXPECT_EQ(a.params.size(), 40u * 6 + 40 + 3 * 40 + 3);
  EXPECT_EQ(a.params, b.params);
  EXPECT_NE(a.params, c.params);
  // Blocks W1, b1 have fan-in 6; W2, b2 fan-in 40. Each block fills its bound.
  const std::size_t ends[] = {240, 280, 400, 403};
  const double bounds[] = {1 / std::sqrt(6.0), 1 / std::sqrt(6.0), 1 / std::sqrt(40.0), 1 / std::sqrt(40.0)};
  std::size_t begin = 0;
  for (int k = 0; k < 4; ++k) {
    double largest = 0;
    for (std::size_t i = begin; i < ends[k]; ++i) {
      EXPECT_LE(std::abs(a.params[i]), bounds[k]) << "block " << k << " index " << i;
      largest = std::max(largest, std::abs(a.params[i]));
    }
    if (ends[k] - begin >= 40) EXPECT_GT(largest, 0.8 * bounds[k]) << "block " << k;
    begin = ends[k];
  }
}

TEST(SemanticHead, RenderedLogitsAreTheWeightedSumOfPerSampleLogits) {
  std::mt19937_64 rng(1);
  Visited v = random_visited(5, 4, 6, rng);
  v.w[1] = 0.f;                                // a sample that never counts
  v.w[8] = 1e-5f;                              // one at or below min_weight
  for (int i = 12; i < 16; ++i) v.w[i] = 0.f;  // ray 3 keeps no sample
  const SemanticHead head = SemanticHead::init(6, 9, 3, 2);
  for (double min_weight : {0.0, 1e-4}) {
    const SampleBatch batch = batch_of(v, min_weight);
    ASSERT_EQ(batch.rays(), 5);
    EXPECT_EQ(batch.samples(), min_weight > 0 ? 14u : 15u);
    EXPECT_EQ(batch.ray_begin[3], batch.ray_begin[4]);
    const std::vector<double> got = jnerf::render_logits(head, batch), want = naive_logits(head, v, min_weight);
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t k = 0; k < got.size(); ++k) EXPECT_NEAR(got[k], want[k], 1e-12) << k;
    for (int c = 0; c < 3; ++c) EXPECT_EQ(got[c * 5 + 3], 0.0);  // no samples: zero logits
  }
  // The sample below min_weight (sample 8: ray 2) counts when nothing is skipped.
  EXPECT_NE(jnerf::render_logits(head, batch_of(v, 0.0))[2], jnerf::render_logits(head, batch_of(v, 1e-4))[2]);
}

TEST(SemanticHead, LossGradientMatchesFiniteDifferences) {
  std::mt19937_64 rng(3);
  Visited v = random_visited(5, 4, 6, rng);
  v.w[5] = 0.f;  // one ray with a sample skipped
  const SampleBatch batch = batch_of(v, 0.0);
  SemanticHead head = SemanticHead::init(6, 7, 3, 4);
  // Larger weights than the init so the loss is far from uniform and every block matters.
  for (double& p : head.params) p *= 3.0;
  const std::vector<int> targets = {0, 2, 1, 1, 0};
  std::vector<double> grad;
  const double loss = jnerf::head_loss(head, batch, targets, &grad);
  ASSERT_TRUE(std::isfinite(loss));
  EXPECT_NEAR(jnerf::head_loss(head, batch, targets, nullptr), loss, 0.0);
  ASSERT_EQ(grad.size(), head.params.size());
  const double eps = 1e-5;
  double largest = 0;
  for (std::size_t i = 0; i < head.params.size(); ++i) {
    SemanticHead plus = head, minus = head;
    plus.params[i] += eps;
    minus.params[i] -= eps;
    const double fd = (jnerf::head_loss(plus, batch, targets, nullptr) -
                       jnerf::head_loss(minus, batch, targets, nullptr)) / (2 * eps);
    EXPECT_NEAR(grad[i], fd, 1e-8 + 1e-6 * std::abs(fd)) << "parameter " << i;
    largest = std::max(largest, std::abs(grad[i]));
  }
  EXPECT_GT(largest, 1e-2);  // the check is not vacuous
}

TEST(SemanticHead, LargeBatchesSplitAcrossThreadsAgreeWithTheDefinition) {
  // Big enough to be split across threads (and to use Eigen's GEMM) where threads exist.
  std::mt19937_64 rng(8);
  const Visited v = random_visited(300, 16, 32, rng);
  const SampleBatch batch = batch_of(v, 0.0);
  const SemanticHead head = SemanticHead::init(32, 64, 4, 9);
  const std::vector<double> got = jnerf::render_logits(head, batch), want = naive_logits(head, v, 0.0);
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t k = 0; k < got.size(); ++k) ASSERT_NEAR(got[k], want[k], 1e-10) << k;
  std::vector<int> targets(300);
  for (int r = 0; r < 300; ++r) targets[r] = (r * 7) % 4;
  std::vector<double> grad, again;
  const double loss = jnerf::head_loss(head, batch, targets, &grad);
  EXPECT_EQ(jnerf::head_loss(head, batch, targets, &again), loss);
  EXPECT_EQ(again, grad);  // the same sums in the same order
  // The same gradient from 60 batches of 5 rays, each small enough for one thread:
  // the mean loss is the mean of theirs.
  std::vector<double> pieced(grad.size(), 0.0), part;
  double pieced_loss = 0;
  for (int r0 = 0; r0 < 300; r0 += 5) {
    const Visited piece = slice(v, r0, r0 + 5);
    SampleBatch b;
    b.dims = 32;
    b.append(piece.R, piece.S, piece.w, piece.h, 0.0);
    pieced_loss += jnerf::head_loss(head, b, {targets.begin() + r0, targets.begin() + r0 + 5}, &part) / 60;
    for (std::size_t i = 0; i < part.size(); ++i) pieced[i] += part[i] / 60;
  }
  EXPECT_NEAR(loss, pieced_loss, 1e-12);
  double largest = 0;
  for (std::size_t i = 0; i < grad.size(); ++i) {
    ASSERT_NEAR(grad[i], pieced[i], 1e-12) << "parameter " << i;
    largest = std::max(largest, std::abs(grad[i]));
  }
  EXPECT_GT(largest, 1e-3);
}

TEST(SemanticHead, LossIsMeanCrossEntropyOfTheRenderedLogits) {
  std::mt19937_64 rng(5);
  const Visited v = random_visited(4, 3, 5, rng);
  const SampleBatch batch = batch_of(v, 0.0);
  const SemanticHead head = SemanticHead::init(5, 8, 4, 6);
  const std::vector<int> targets = {3, 0, 1, 3};
  const std::vector<double> logits = jnerf::render_logits(head, batch);
  double want = 0;
  for (int r = 0; r < 4; ++r) {
    double z = 0;
    for (int c = 0; c < 4; ++c) z += std::exp(logits[c * 4 + r]);
    want += -std::log(std::exp(logits[targets[r] * 4 + r]) / z);
  }
  EXPECT_NEAR(jnerf::head_loss(head, batch, targets, nullptr), want / 4, 1e-12);
  EXPECT_EQ(jnerf::argmax_classes({1, 5, 3, 2, 0, 9}, 3, 2), (std::vector<int>{1, 2}));
}

TEST(SemanticHead, TrainingSeparatesClassesOfDistinctFeatureCentres) {
  const int C = 3, V = 6, S = 8;
  std::mt19937_64 rng(11);
  std::normal_distribution<double> g(0.0, 1.0);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<std::vector<double>> centres(C, std::vector<double>(V));
  for (auto& c : centres)
    for (double& x : c) x = 1.5 * g(rng);
  // Each ray: 3 "surface" samples near its class centre carrying most of the weight, the
  // others free-space samples from a distribution shared by all classes.
  auto make_rays = [&](int per_class, std::vector<int>& targets) {
    Visited v{per_class * C, S, V, {}, {}};
    const int N = v.R * S;
    v.w.resize(N);
    v.h.resize(static_cast<std::size_t>(V) * N);
    targets.clear();
    for (int r = 0; r < v.R; ++r) {
      const int k = r % C;
      targets.push_back(k);
      const int surface = static_cast<int>(u(rng) * (S - 2));
      for (int i = 0; i < S; ++i) {
        const int n = r * S + i;
        const bool on = i >= surface && i < surface + 3;
        v.w[n] = static_cast<float>(on ? 0.2 + 0.1 * u(rng) : 0.02 * u(rng));
        for (int f = 0; f < V; ++f) v.h[f * N + n] = static_cast<float>(on ? centres[k][f] + 0.4 * g(rng) : g(rng));
      }
    }
    return v;
  };
  std::vector<int> train_targets, test_targets;
  const Visited train = make_rays(3, train_targets), test = make_rays(100, test_targets);
  SemanticHeadSettings s;
  s.hidden = 32;
  s.seed = 1;
  const jnerf::HeadTraining t = jnerf::train_semantic_head(batch_of(train, 0.0), train_targets, C, s);
  EXPECT_LT(t.final_loss, 0.1 * t.initial_loss) << "initial " << t.initial_loss;
  auto predicted = [&](const Visited& v) {
    return jnerf::argmax_classes(jnerf::render_logits(t.head, batch_of(v, 0.0)), C, v.R);
  };
  EXPECT_EQ(predicted(train), train_targets);
  const std::vector<int> p = predicted(test);
  int correct = 0;
  for (std::size_t r = 0; r < p.size(); ++r) correct += p[r] == test_targets[r];
  EXPECT_GE(correct, 270) << correct << " of 300 held-out rays";
  // The same settings give the same head.
  EXPECT_EQ(jnerf::train_semantic_head(batch_of(train, 0.0), train_targets, C, s).head.params, t.head.params);
}

TEST(SemanticHead, SettingsComeFromThePropagateSectionAndAreChecked) {
  jnerf::Json config = jnerf::default_config();
  config["propagate"]["semantic_head_hidden"] = 64;
  config["propagate"]["semantic_head_steps"] = 50;
  config["propagate"]["semantic_head_lr"] = 3e-3;
  config["propagate"]["semantic_head_min_weight"] = 0.0;
  config["propagate"]["semantic_head_max_rays"] = 256;
  config["propagate"]["seed"] = 9;
  const SemanticHeadSettings s = SemanticHeadSettings::from_config(config);
  EXPECT_EQ(s.hidden, 64);
  EXPECT_EQ(s.steps, 50);
  EXPECT_DOUBLE_EQ(s.lr, 3e-3);
  EXPECT_EQ(s.min_weight, 0.0);
  EXPECT_EQ(s.max_rays, 256);
  EXPECT_EQ(s.seed, 9u);
  config["propagate"]["semantic_head_hidden"] = 0;
  EXPECT_TRUE(contains(input_error([&] { SemanticHeadSettings::from_config(config); }),
                       "propagate.semantic_head_hidden"));
  SemanticHeadSettings bad;
  bad.lr = 0;
  EXPECT_TRUE(contains(input_error([&] { bad.validate(); }), "propagate.semantic_head_lr"));
  bad = {};
  bad.min_weight = -1;
  EXPECT_TRUE(contains(input_error([&] { bad.validate(); }), "propagate.semantic_head_min_weight"));
  bad = {};
  bad.max_rays = 0;
  EXPECT_TRUE(contains(input_error([&] { bad.validate(); }), "propagate.semantic_head_max_rays"));
  bad = {};
  bad.steps = -1;
  EXPECT_TRUE(contains(input_error([&] { bad.validate(); }), "propagate.semantic_head_steps"));
}

// ---- through a real engine ------------------------------------------------------------

namespace {

const std::filesystem::path& tiny_room() {
  static const std::filesystem::path dir = jnerf::test::generated_room("semantic_head_room", 32, 24, 6);
  return dir;
}

struct EngineScene {
  jnerf::Dataset data;
  std::unique_ptr<jnerf::NerfEngine> engine;
};

// An untrained small hash-grid NeRF: the features are arbitrary but deterministic.
EngineScene& scene() {
  static EngineScene s = [] {
    EngineScene e;
    e.data = jnerf::load_dataset({tiny_room(), "replica"});
    jnerf::Json c = jnerf::default_config();
    for (const char* o : {"model.type=hash_grid", "model.hash_grid.levels=4", "model.hash_grid.log2_table_size=10",
                          "model.hash_grid.max_resolution=64", "model.hash_grid.density_width=16",
                          "model.hash_grid.colour_width=16", "sampler.coarse_samples=8", "sampler.fine_samples=8",
                          "sampler.density_noise_std=0", "sampler.far=8", "data.format=replica"})
      jnerf::apply_override(c, o);
    c["data"]["path"] = tiny_room().string();
    e.engine = jnerf::make_nerf_engine(c, e.data, "cpu");
    e.engine->init_params(0);
    return e;
  }();
  return s;
}

}  // namespace

TEST(SemanticHeadBaseline, ReproducesTheClicksOnTheLabelledView) {
  EngineScene& s = scene();
  const jnerf::Frame& labelled = s.data.frames[s.data.train.front()];
  const int w = labelled.intrinsics.width, h = labelled.intrinsics.height;
  jnerf::AnnotationSettings a;
  a.clicks_per_class = 2;
  const jnerf::Annotation annotation =
      jnerf::simulate_annotation(jnerf::frame_labels(labelled, "semantic"), w, h, labelled.id, a);
  ASSERT_GE(annotation.classes().size(), 3u);
  ASSERT_GT(annotation.clicks.size(), annotation.classes().size());
  SemanticHeadSettings settings;
  const jnerf::SemanticHeadBaseline baseline(*s.engine, labelled, annotation, settings, 16);
  EXPECT_EQ(baseline.labels(), annotation.classes());
  EXPECT_EQ(baseline.rays_trained(), static_cast<int>(annotation.clicks.size()));
  EXPECT_LT(baseline.final_loss(), 0.1) << "initial " << baseline.initial_loss();
  EXPECT_LT(baseline.final_loss(), baseline.initial_loss());

  const std::vector<int> predicted = baseline.predict(*s.engine, labelled, 4096);
  ASSERT_EQ(predicted.size(), static_cast<std::size_t>(w) * h);
  for (const jnerf::Click& c : annotation.clicks)
    EXPECT_EQ(predicted[static_cast<std::size_t>(c.y) * w + c.x], c.label) << "click (" << c.x << ", " << c.y << ")";
  const std::vector<int> classes = annotation.classes();
  const std::set<int> clicked(classes.begin(), classes.end());
  std::set<int> seen;
  for (int id : predicted) {
    EXPECT_TRUE(clicked.count(id)) << id;
    seen.insert(id);
  }
  EXPECT_GE(seen.size(), clicked.size());  // every clicked class is predicted somewhere
  // Neither the chunks nor the head's groups of rays change the labels; another view is
  // labelled too.
  EXPECT_EQ(baseline.predict(*s.engine, labelled, 300), predicted);
  EXPECT_EQ(baseline.predict(*s.engine, labelled, 4096, 50), predicted);
  const jnerf::Frame& other = s.data.frames[s.data.test.front()];
  for (int id : baseline.predict(*s.engine, other, 4096)) EXPECT_TRUE(clicked.count(id)) << id;
}

TEST(SemanticHeadBaseline, DenseClicksAreSubsampledToMaxRays) {
  EngineScene& s = scene();
  const jnerf::Frame& labelled = s.data.frames[s.data.train.front()];
  jnerf::AnnotationSettings a;
  a.mode = "dense";
  const jnerf::Annotation annotation = jnerf::simulate_annotation(
      jnerf::frame_labels(labelled, "semantic"), labelled.intrinsics.width, labelled.intrinsics.height, labelled.id, a);
  ASSERT_GT(annotation.clicks.size(), 60u);
  SemanticHeadSettings settings;
  settings.max_rays = 60;
  settings.steps = 5;
  const jnerf::SemanticHeadBaseline baseline(*s.engine, labelled, annotation, settings, 256);
  EXPECT_EQ(baseline.rays_trained(), 60);
  EXPECT_EQ(baseline.labels(), annotation.classes());
}

TEST(SemanticHeadBaseline, AnnotationsThatDoNotFitAreBadInput) {
  EngineScene& s = scene();
  const jnerf::Frame& labelled = s.data.frames[s.data.train.front()];
  jnerf::Annotation annotation;
  annotation.width = labelled.intrinsics.width + 1;
  annotation.height = labelled.intrinsics.height;
  annotation.clicks = {{1, 1, 2}};
  EXPECT_TRUE(contains(input_error([&] { jnerf::SemanticHeadBaseline(*s.engine, labelled, annotation, {}, 64); }),
                       "annotation is for a"));
  annotation.width = labelled.intrinsics.width;
  annotation.clicks.clear();
  EXPECT_TRUE(contains(input_error([&] { jnerf::SemanticHeadBaseline(*s.engine, labelled, annotation, {}, 64); }),
                       "no clicks"));
  annotation.clicks = {{1, 1, 2}};
  SemanticHeadSettings bad;
  bad.hidden = 0;
  EXPECT_TRUE(contains(input_error([&] { jnerf::SemanticHeadBaseline(*s.engine, labelled, annotation, bad, 64); }),
                       "semantic_head_hidden"));
}
