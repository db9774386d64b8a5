// Label propagation's response modes on a small trained NeRF: linear3d equals perturb3d,
// linear2d is perturb2d's first-order term, class directions are the clicks' mean
// Jacobian, and perturbing leaves the model as it was. Also the shape stage end to end.
#include <cmath>
#include <unistd.h>

#include <gtest/gtest.h>

#include "jnerf/data/synth.hpp"
#include "jnerf/propagate/propagation.hpp"
#include "jnerf/shape/contrastive_loss.hpp"
#include "jnerf/train/checkpoint.hpp"
#include "jnerf/train/nerf_trainer.hpp"
#include "jnerf/train/shape_trainer.hpp"
#include "scene_support.hpp"
#include "test_support.hpp"

namespace {

const std::filesystem::path& tiny_room() {
  static const std::filesystem::path dir = jnerf::test::generated_room("prop_room");
  return dir;
}

jnerf::Json tiny_config(const std::string& model) {
  jnerf::Json c = jnerf::default_config();
  for (const char* s : {"model.semantic_nerf.trunk_depth=3", "model.semantic_nerf.trunk_width=32",
                        "model.semantic_nerf.skips=[1]", "model.semantic_nerf.view_width=16",
                        "model.semantic_nerf.position_frequencies=6", "model.hash_grid.levels=4",
                        "model.hash_grid.log2_table_size=12", "model.hash_grid.max_resolution=64",
                        "model.hash_grid.colour_width=16", "model.hash_grid.density_width=16",
                        "sampler.coarse_samples=16", "sampler.fine_samples=16", "sampler.far=8",
                        "sampler.density_noise_std=0", "train.rays_per_batch=256", "train.lr=3e-3",
                        "train.log_every=1000", "train.val_every=0", "train.checkpoint_every=0",
                        "shape.log_every=1000", "shape.checkpoint_every=0", "data.format=replica",
                        "output.render_chunk=512"})
    jnerf::apply_override(c, s);
  c["model"]["type"] = model;
  c["data"]["path"] = tiny_room().string();
  return c;
}

const jnerf::Dataset& data() {
  static const jnerf::Dataset d = jnerf::load_dataset({tiny_room(), "replica"});
  return d;
}

// A NeRF trained for a few steps (the responses need a scene, not noise).
std::unique_ptr<jnerf::NerfEngine> trained_engine(const std::string& model, const jnerf::RunDir& run, int iters = 80) {
  jnerf::Json config = tiny_config(model);
  config["train"]["iters"] = iters;
  if (model == "hash_grid") config["train"]["lr"] = 1e-2;
  auto engine = jnerf::make_nerf_engine(config, data(), "cpu");
  run.create(config);
  jnerf::train_nerf(config, data(), *engine, run, false);
  return engine;
}

struct Clicks {
  jnerf::Annotation annotation;
  jnerf::ClassDirections directions;
};

Clicks clicks_on(jnerf::NerfEngine& engine, int per_class = 2) {
  const jnerf::Frame& labelled = data().frames[data().train.front()];
  jnerf::AnnotationSettings a;
  a.clicks_per_class = per_class;
  Clicks c;
  c.annotation = jnerf::simulate_annotation(jnerf::frame_labels(labelled, "semantic"), labelled.intrinsics.width,
                                            labelled.intrinsics.height, labelled.id, a);
  const jnerf::JacobianSpec spec{jnerf::JacobianChannels::Mean, false, engine.head_width()};
  c.directions = jnerf::class_directions(engine, labelled, c.annotation, spec, 512);
  return c;
}

// What the response tests start from: a NeRF trained for a few steps, the directions of
// its first `classes` clicked classes and test view `test_index`.
struct ResponseCase {
  std::unique_ptr<jnerf::NerfEngine> engine;
  jnerf::ClassDirections directions;
  const jnerf::Frame* view = nullptr;
};

double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::max(m, double(std::abs(x)));
  return m;
}

// The first `count` classes only: the faithful modes cost a render per class.
void keep_classes(jnerf::ClassDirections& d, std::size_t count) {
  count = std::min(count, d.labels.size());
  d.labels.resize(count);
  d.values.resize(count * d.spec.dims());
}

void expect_linear3d_equals_perturb3d(jnerf::NerfEngine& engine) {
  Clicks c = clicks_on(engine);
  keep_classes(c.directions, 4);
  const jnerf::Frame& view = data().frames[data().test[1]];
  const auto& d = c.directions;
  const auto params_before = engine.params();
  const auto lin = engine.head_responses(view, d.values, d.spec, 0.1, jnerf::ResponseMode::Linear3D, 512);
  const auto per = engine.head_responses(view, d.values, d.spec, 0.1, jnerf::ResponseMode::Perturb3D, 512);
  EXPECT_EQ(engine.params(), params_before);  // the head is restored bit for bit
  ASSERT_EQ(lin.size(), per.size());
  const double scale = max_abs(per);
  ASSERT_GT(scale, 1e-6);
  for (std::size_t i = 0; i < lin.size(); ++i) EXPECT_NEAR(lin[i], per[i], 2e-4 * scale) << i;
}

ResponseCase response_case(const std::string& model, std::size_t classes, int test_index) {
  const jnerf::RunDir run(jnerf::test::scratch_dir("run"));
  ResponseCase rc;
  rc.engine = trained_engine(model, run);
  Clicks c = clicks_on(*rc.engine);
  keep_classes(c.directions, classes);
  rc.directions = std::move(c.directions);
  rc.view = &data().frames[data().test[test_index]];
  return rc;
}

}  // namespace

TEST(Propagation, ClassDirectionsAreTheMeanOfTheClicksJacobians) {
  const jnerf::RunDir run(jnerf::test::scratch_dir("run"));
  auto engine = trained_engine("semantic_nerf", run, 20);
  const Clicks c = clicks_on(*engine, 3);
  const jnerf::Frame& labelled = data().frames[data().train.front()];
  const int D = c.directions.spec.dims(), w = labelled.intrinsics.width;
  ASSERT_EQ(c.directions.labels, c.annotation.classes());
  for (std::size_t k = 0; k < c.directions.labels.size(); ++k) {
    std::vector<std::int64_t> pixels;
    for (const auto& click : c.annotation.clicks)
      if (click.label == c.directions.labels[k]) pixels.push_back(static_cast<std::int64_t>(click.y) * w + click.x);
    ASSERT_GE(pixels.size(), 1u);  // 3 clicks, or every pixel of a smaller class
    ASSERT_LE(pixels.size(), 3u);
    const auto g = engine->pixel_jacobians(labelled, pixels, c.directions.spec, 512);
    for (int j = 0; j < D; ++j) {
      double mean = 0;
      for (std::size_t i = 0; i < pixels.size(); ++i) mean += g[i * D + j] / static_cast<double>(pixels.size());
      // The engine renders in float, in batches of different sizes here and there.
      EXPECT_NEAR(c.directions.values[k * D + j], mean, 1e-9 + 1e-5 * std::abs(mean));
    }
  }
}

TEST(Propagation, Linear3DEqualsPerturb3D) {
  const jnerf::RunDir run(jnerf::test::scratch_dir("run"));
  auto engine = trained_engine("semantic_nerf", run);
  expect_linear3d_equals_perturb3d(*engine);
}

TEST(Propagation, Linear3DEqualsPerturb3DOnHashGrid) {
  const jnerf::RunDir run(jnerf::test::scratch_dir("run"));
  auto engine = trained_engine("hash_grid", run);
  expect_linear3d_equals_perturb3d(*engine);
}

// For a small step the re-rendered change is its first-order term, which both Jacobian
// modes reproduce. At the reference step linear2d (heaviest samples moved exactly, the
// sigmoid kept) stays closer to perturb2d than the plain first-order term.
TEST(Propagation, Linear2DFollowsPerturb2D) {
  ResponseCase rc = response_case("semantic_nerf", 5, 2);
  auto& engine = rc.engine;
  const auto& d = rc.directions;
  const jnerf::Frame& view = *rc.view;
  const auto params_before = engine->params();
  auto responses = [&](double t, jnerf::ResponseMode mode) {
    return engine->head_responses(view, d.values, d.spec, t, mode, 512);
  };
  const double small = 1e-3;
  const auto per = responses(small, jnerf::ResponseMode::Perturb2D);
  EXPECT_EQ(engine->params(), params_before);
  for (jnerf::ResponseMode mode : {jnerf::ResponseMode::FirstOrder2D, jnerf::ResponseMode::Linear2D}) {
    const auto lin = responses(small, mode);
    const double scale = max_abs(lin);
    ASSERT_GT(scale, 1e-9);
    // Float renders: the difference of two colours carries ~1e-7 rounding each.
    for (std::size_t i = 0; i < lin.size(); ++i) EXPECT_NEAR(per[i], lin[i], 0.02 * scale + 2e-7) << i;
  }

  const double t = 0.1;
  const auto exact = responses(t, jnerf::ResponseMode::Perturb2D);
  const auto surface = responses(t, jnerf::ResponseMode::Linear2D);
  const auto first = responses(t, jnerf::ResponseMode::FirstOrder2D);
  double err_surface = 0, err_first = 0;
  for (std::size_t i = 0; i < exact.size(); ++i) {
    err_surface += std::abs(surface[i] - exact[i]);
    err_first += std::abs(first[i] - exact[i]);
  }
  EXPECT_LT(err_surface, 0.5 * err_first);
  ::testing::Test::RecordProperty("linear2d_error_vs_first_order", std::to_string(err_surface / err_first));

  jnerf::PropagationSettings s;
  auto agreement = [&](jnerf::ResponseMode mode) {
    s.mode = jnerf::ResponseMode::Perturb2D;
    const auto p2d = jnerf::predict_view(*engine, view, d, s, 512);
    s.mode = mode;
    const auto other = jnerf::predict_view(*engine, view, d, s, 512);
    std::size_t same = 0;
    for (std::size_t i = 0; i < p2d.labels.size(); ++i) same += p2d.labels[i] == other.labels[i];
    return static_cast<double>(same) / p2d.labels.size();
  };
  const double a_surface = agreement(jnerf::ResponseMode::Linear2D);
  const double a_first = agreement(jnerf::ResponseMode::FirstOrder2D);
  EXPECT_GT(a_surface, 0.9);
  EXPECT_GE(a_surface, a_first);
  ::testing::Test::RecordProperty("linear2d_perturb2d_agreement", std::to_string(a_surface));
}

// first_order2d is linear in t, and the post-processing divides each map by its maximum,
// so while the responses stay under the 0.8 clip its labels are the same for every step.
TEST(Propagation, FirstOrder2DLabelsDoNotDependOnTheStep) {
  ResponseCase rc = response_case("semantic_nerf", 5, 2);
  const auto& d = rc.directions;
  auto responses = [&](double t) {
    return rc.engine->head_responses(*rc.view, d.values, d.spec, t, jnerf::ResponseMode::FirstOrder2D, 512);
  };
  const auto small = responses(0.01), big = responses(0.1);
  ASSERT_EQ(small.size(), big.size());
  const double scale = max_abs(big);
  ASSERT_GT(scale, 1e-6);
  ASSERT_LT(scale, 0.8);  // the clip would make labels depend on t
  for (std::size_t i = 0; i < big.size(); ++i) EXPECT_NEAR(big[i], 10 * small[i], 1e-4 * scale) << i;

  jnerf::PropagationSettings s;
  s.mode = jnerf::ResponseMode::FirstOrder2D;
  s.step = 0.01;
  const auto labels_small = jnerf::predict_view(*rc.engine, *rc.view, d, s, 512).labels;
  s.step = 0.1;
  const auto labels_big = jnerf::predict_view(*rc.engine, *rc.view, d, s, 512).labels;
  EXPECT_EQ(labels_small, labels_big);
}

// perturb2d evaluates the perturbed head on the unperturbed samples; re-rendering the whole
// pipeline with the perturbed head (render2d) must give the same responses.
TEST(Propagation, Perturb2DEqualsAFullRerender) {
  ResponseCase rc = response_case("semantic_nerf", 4, 3);
  auto& engine = rc.engine;
  const auto& d = rc.directions;
  const jnerf::Frame& view = *rc.view;
  const auto params_before = engine->params();
  const auto fast = engine->head_responses(view, d.values, d.spec, 0.1, jnerf::ResponseMode::Perturb2D, 512);
  const auto full = engine->head_responses(view, d.values, d.spec, 0.1, jnerf::ResponseMode::Render2D, 512);
  EXPECT_EQ(engine->params(), params_before);
  const double scale = max_abs(full);
  ASSERT_GT(scale, 1e-6);
  for (std::size_t i = 0; i < fast.size(); ++i) EXPECT_NEAR(fast[i], full[i], 1e-3 * scale + 1e-6) << i;
}

// cosine2d is |cos| between each pixel's Jacobian (the engine's own pixel_jacobians) and
// each class direction, and its maps reach the argmax unscaled.
TEST(Propagation, Cosine2DIsTheAbsoluteCosineOfThePixelJacobians) {
  ResponseCase rc = response_case("hash_grid", 3, 1);
  auto& engine = rc.engine;
  const auto& d = rc.directions;
  const jnerf::Frame& view = *rc.view;
  const auto cos = engine->head_responses(view, d.values, d.spec, 0.1, jnerf::ResponseMode::Cosine2D, 512);
  const std::size_t n = static_cast<std::size_t>(view.intrinsics.width) * view.intrinsics.height;
  ASSERT_EQ(cos.size(), d.labels.size() * n);
  std::vector<std::int64_t> pixels;
  for (std::size_t p = 0; p < n; p += 7) pixels.push_back(static_cast<std::int64_t>(p));
  const auto g = engine->pixel_jacobians(view, pixels, d.spec, 512);
  const int D = d.spec.dims();
  for (std::size_t c = 0; c < d.labels.size(); ++c)
    for (std::size_t i = 0; i < pixels.size(); ++i) {
      double dot = 0, gg = 0, dd = 0;
      for (int j = 0; j < D; ++j) {
        dot += g[i * D + j] * d.values[c * D + j];
        gg += g[i * D + j] * g[i * D + j];
        dd += d.values[c * D + j] * d.values[c * D + j];
      }
      const double expected = std::abs(dot) / (std::sqrt(gg) * std::sqrt(dd) + 1e-7);
      EXPECT_NEAR(cos[c * n + pixels[i]], expected, 1e-4) << "class " << c << " pixel " << pixels[i];
    }
  jnerf::PropagationSettings s;
  s.mode = jnerf::ResponseMode::Cosine2D;
  const auto p = jnerf::predict_view(*engine, view, d, s, 512);
  for (std::size_t i = 0; i < pixels.size(); ++i) {
    std::size_t best = 0;
    for (std::size_t c = 1; c < d.labels.size(); ++c)
      if (cos[c * n + pixels[i]] > cos[best * n + pixels[i]]) best = c;
    EXPECT_FLOAT_EQ(p.responses[best][pixels[i]], cos[best * n + pixels[i]]);  // not rescaled
  }
}

TEST(Propagation, PredictionsUseOnlyClickedLabels) {
  const jnerf::RunDir run(jnerf::test::scratch_dir("run"));
  auto engine = trained_engine("semantic_nerf", run, 20);
  const Clicks c = clicks_on(*engine, 1);
  jnerf::PropagationSettings s;
  s.mode = jnerf::ResponseMode::Linear3D;
  const auto p = jnerf::predict_view(*engine, data().frames[data().test[0]], c.directions, s, 512);
  const auto clicked = c.annotation.classes();
  for (int label : p.labels) EXPECT_TRUE(std::binary_search(clicked.begin(), clicked.end(), label)) << label;
}

TEST(Propagation, UnknownModeIsAnInputError) {
  EXPECT_TRUE(jnerf::test::contains(jnerf::test::input_error([] { jnerf::parse_response_mode("perturb4d"); }),
                                    "perturb4d"));
}

// Every shipped config's propagate section (mode, labels, step, post-processing) is one
// that propagate accepts; the same reader rejects an unknown mode.
TEST(Propagation, ShippedConfigsHaveValidSettings) {
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(JNERF_SOURCE_DIR) / "configs")) {
    if (entry.path().extension() != ".json") continue;
    EXPECT_NO_THROW(jnerf::PropagationSettings::from_config(jnerf::resolve_config(entry.path(), {}))) << entry.path();
    ++n;
  }
  EXPECT_GT(n, 0);
  jnerf::Json bad = jnerf::default_config();
  bad["propagate"]["mode"] = "linear4d";
  EXPECT_THROW(jnerf::PropagationSettings::from_config(bad), jnerf::InputError);
}

// Shaping with the oracle prior (exact instance ids) pulls same-instance Jacobians together
// and pushes different-class ones apart; tau is stored and a resumed run is identical.
TEST(ShapeStage, OracleShapingWidensTheJacobianGap) {
  const jnerf::RunDir run(jnerf::test::scratch_dir("run"));
  auto engine = trained_engine("semantic_nerf", run, 60);
  jnerf::Json config = tiny_config("semantic_nerf");
  config["train"]["iters"] = 60;
  config["shape"]["iters"] = 150;
  config["shape"]["weight_mi"] = 1.0;
  config["shape"]["prior"]["type"] = "oracle";

  // Mean |cos| of same-instance and different-class pixel pairs on a training view.
  const jnerf::Frame& view = data().frames[data().train[3]];
  std::vector<std::int64_t> pixels;
  for (std::int64_t p = 0; p < static_cast<std::int64_t>(view.rgb.pixels()); p += 7)
    if (view.semantic.data[p] != 0) pixels.push_back(p);
  auto gap = [&] {
    const jnerf::JacobianSpec spec{jnerf::JacobianChannels::Mean, false, engine->head_width()};
    const auto g = engine->pixel_jacobians(view, pixels, spec, 512);
    double same = 0, diff = 0;
    int ns = 0, nd = 0;
    for (std::size_t a = 0; a < pixels.size(); ++a)
      for (std::size_t b = a + 1; b < pixels.size(); ++b) {
        const double s = jnerf::jacobian_similarity(&g[a * spec.dims()], &g[b * spec.dims()], spec.dims(),
                                                    jnerf::JacobianSimilarity::AbsCosine);
        if (view.instance.data[pixels[a]] == view.instance.data[pixels[b]]) same += s, ++ns;
        else if (view.semantic.data[pixels[a]] != view.semantic.data[pixels[b]]) diff += s, ++nd;
      }
    return same / ns - diff / nd;
  };
  const double before = gap();
  const jnerf::ShapeSummary s = jnerf::train_shape(config, data(), *engine, run, false);
  const double after = gap();
  EXPECT_EQ(s.last_step, 150);
  EXPECT_GT(after, before + 0.05) << "before " << before << ", after " << after;
  ::testing::Test::RecordProperty("gap_before", std::to_string(before));
  ::testing::Test::RecordProperty("gap_after", std::to_string(after));
  const auto ck = jnerf::load_checkpoint(*run.latest_checkpoint("shape"));
  EXPECT_EQ(ck.meta["stage"], "shape");
  EXPECT_TRUE(jnerf::test::contains(ck.meta["prior"].get<std::string>(), "ORACLE"));
}

TEST(ShapeStage, ResumeContinuesExactly) {
  const jnerf::RunDir straight(jnerf::test::scratch_dir("straight")), split(jnerf::test::scratch_dir("split"));
  jnerf::Json config = tiny_config("semantic_nerf");
  config["train"]["iters"] = 10;
  config["shape"]["iters"] = 8;
  config["shape"]["jacobian_channels"] = "random";
  auto a = trained_engine("semantic_nerf", straight, 10);
  auto b = trained_engine("semantic_nerf", split, 10);
  jnerf::train_shape(config, data(), *a, straight, false);
  jnerf::Json first = config;
  first["shape"]["iters"] = 4;
  jnerf::train_shape(first, data(), *b, split, false);
  auto c = jnerf::make_nerf_engine(config, data(), "cpu");
  jnerf::train_shape(config, data(), *c, split, true);
  EXPECT_EQ(a->params(), c->params());
  EXPECT_EQ(jnerf::load_checkpoint(*straight.latest_checkpoint("shape")).meta["tau"],
            jnerf::load_checkpoint(*split.latest_checkpoint("shape")).meta["tau"]);
}

TEST(ShapeStage, NeedsATrainedNerf) {
  const jnerf::RunDir run(jnerf::test::scratch_dir("run"));
  const jnerf::Json config = tiny_config("semantic_nerf");
  run.create(config);
  auto engine = jnerf::make_nerf_engine(config, data(), "cpu");
  EXPECT_TRUE(jnerf::test::contains(
      jnerf::test::input_error([&] { jnerf::train_shape(config, data(), *engine, run, false); }), "no nerf checkpoint"));
}
