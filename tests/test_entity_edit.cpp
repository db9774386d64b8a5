// Selection and recolouring of a clicked entity (propagate/entity_edit.hpp) on a small
// trained NeRF: the edit reaches a reachable colour at the click, touches only the fine
// RGB head and is undone by restoring or reloading; unreachable colours are clamped and
// reported; the selection mask holds the click; bad clicks and colours are InputErrors.
#include <algorithm>
#include <cmath>
#include <map>
#include <unistd.h>

#include <gtest/gtest.h>

#include "jnerf/data/synth.hpp"
#include "jnerf/propagate/entity_edit.hpp"
#include "jnerf/train/nerf_trainer.hpp"
#include "jnerf/train/shape_trainer.hpp"
#include "scene_support.hpp"
#include "test_support.hpp"

namespace {

using jnerf::test::contains;
using jnerf::test::input_error;

const std::filesystem::path& tiny_room() {
  static const std::filesystem::path dir = jnerf::test::generated_room("edit_room");
  return dir;
}

jnerf::Json tiny_config() {
  jnerf::Json c = jnerf::default_config();
  for (const char* s : {"model.semantic_nerf.trunk_depth=3", "model.semantic_nerf.trunk_width=32",
                        "model.semantic_nerf.skips=[1]", "model.semantic_nerf.view_width=16",
                        "model.semantic_nerf.position_frequencies=6", "sampler.coarse_samples=16",
                        "sampler.fine_samples=16", "sampler.far=8", "sampler.density_noise_std=0",
                        "train.rays_per_batch=256", "train.lr=3e-3", "train.log_every=1000", "train.val_every=0",
                        "train.checkpoint_every=0", "train.iters=60", "shape.log_every=1000",
                        "shape.checkpoint_every=0", "data.format=replica",
                        "output.render_chunk=512"})
    jnerf::apply_override(c, s);
  c["model"]["type"] = "semantic_nerf";
  c["data"]["path"] = tiny_room().string();
  return c;
}

// One NeRF trained for 60 steps, shared by the tests (each restores the parameters).
struct Trained {
  jnerf::Json config = tiny_config();
  jnerf::Dataset dataset;
  std::filesystem::path run_dir;
  std::unique_ptr<jnerf::NerfEngine> engine;
  std::vector<float> params;
};

Trained& trained() {
  static Trained t = [] {
    Trained t;
    t.dataset = jnerf::load_dataset({tiny_room(), "replica"});
    t.run_dir = std::filesystem::temp_directory_path() / "jnerf_tests" / ("edit_run." + std::to_string(getpid()));
    std::filesystem::remove_all(t.run_dir);
    const jnerf::RunDir run(t.run_dir);
    t.engine = jnerf::make_nerf_engine(t.config, t.dataset, "cpu");
    run.create(t.config);
    jnerf::train_nerf(t.config, t.dataset, *t.engine, run, false);
    t.params = t.engine->params();
    return t;
  }();
  t.engine->set_params(t.params);
  return t;
}

const jnerf::Frame& clicked_view() { return trained().dataset.frames[trained().dataset.train.front()]; }

// The pixel deepest inside (farthest, in chessboard distance, from any other instance or
// the image border) the largest instance covering under 30% of the view.
jnerf::PixelPos object_click(const jnerf::Frame& f) {
  const int w = f.intrinsics.width, h = f.intrinsics.height;
  std::map<int, int> count;
  for (std::uint16_t id : f.instance.data) ++count[id];
  int best = -1, best_count = 0;
  for (const auto& [id, n] : count)
    if (id != 0 && n < 0.3 * w * h && n > best_count) best = id, best_count = n;
  EXPECT_GE(best, 1);
  jnerf::PixelPos click{w / 2, h / 2};
  int deepest = -1;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      if (f.instance.at(x, y) != best) continue;
      int depth = std::min({x + 1, y + 1, w - x, h - y});
      for (int v = 0; v < h; ++v)
        for (int u = 0; u < w; ++u)
          if (f.instance.at(u, v) != best) depth = std::min(depth, std::max(std::abs(u - x), std::abs(v - y)));
      if (depth > deepest) deepest = depth, click = {x, y};
    }
  EXPECT_GE(deepest, 2) << "instance " << best << " has no interior pixel";
  return click;
}

// A colour 0.2 away from `c` in every channel, inside [0.1, 0.9].
std::array<double, 3> shifted(const std::array<double, 3>& c) {
  std::array<double, 3> t{};
  const double delta[3] = {0.2, -0.2, 0.2};
  for (int k = 0; k < 3; ++k) {
    t[k] = c[k] + delta[k];
    if (t[k] > 0.9 || t[k] < 0.1) t[k] = c[k] - delta[k];
    t[k] = std::clamp(t[k], 0.1, 0.9);
  }
  return t;
}

std::array<double, 3> rendered_at(const jnerf::ImageF& rgb, jnerf::PixelPos p) {
  return {rgb.at(p.x, p.y, 0), rgb.at(p.x, p.y, 1), rgb.at(p.x, p.y, 2)};
}

}  // namespace

TEST(EntityEdit, ParsesClicksAndColours) {
  EXPECT_EQ(jnerf::parse_pixel("12,7"), (jnerf::PixelPos{12, 7}));
  EXPECT_EQ(jnerf::parse_pixel(" 3 , 4 "), (jnerf::PixelPos{3, 4}));
  for (const char* bad : {"3;4", "3", "3,4,5", "3.5,4", "a,b", ""})
    EXPECT_TRUE(contains(input_error([&] { jnerf::parse_pixel(bad); }), "'" + std::string(bad) + "'")) << bad;
  const auto unit = jnerf::parse_colour("1,0.5,0");
  EXPECT_DOUBLE_EQ(unit[0], 1.0);
  EXPECT_DOUBLE_EQ(unit[1], 0.5);
  EXPECT_DOUBLE_EQ(unit[2], 0.0);
  const auto bytes = jnerf::parse_colour("255,128,0");
  EXPECT_DOUBLE_EQ(bytes[0], 1.0);
  EXPECT_DOUBLE_EQ(bytes[1], 128.0 / 255.0);
  EXPECT_DOUBLE_EQ(bytes[2], 0.0);
  for (const char* bad : {"300,0,0", "1.5,0,0", "-0.1,0,0", "0.5,128,0", "1,2", "1,2,3,4", "x,0,0", "nan,0,0"})
    EXPECT_TRUE(contains(input_error([&] { jnerf::parse_colour(bad); }), "'" + std::string(bad) + "'")) << bad;
}

TEST(EntityEdit, PixelRenderMatchesTheFullView) {
  Trained& t = trained();
  const jnerf::Frame& view = clicked_view();
  const jnerf::ImageF full = t.engine->render(view, 512).rgb;
  for (const jnerf::PixelPos p : {jnerf::PixelPos{0, 0}, jnerf::PixelPos{17, 11}, jnerf::PixelPos{39, 29}}) {
    const auto c = jnerf::render_pixel(*t.engine, view, p, 512);
    for (int k = 0; k < 3; ++k) EXPECT_NEAR(c[k], full.at(p.x, p.y, k), 1e-4) << p.x << "," << p.y;
  }
}

TEST(EntityEdit, MovesTheClickedPixelToAReachableColour) {
  Trained& t = trained();
  const jnerf::Frame& view = clicked_view();
  const jnerf::PixelPos click = object_click(view);
  const jnerf::ImageF original = t.engine->render(view, 512).rgb;
  const std::array<double, 3> target = shifted(rendered_at(original, click));
  jnerf::EditSettings s;
  s.chunk = 512;
  const jnerf::EditResult r = jnerf::edit_entity(*t.engine, view, click, target, s);
  for (int k = 0; k < 3; ++k) {
    EXPECT_FALSE(r.clamped[k]) << k;
    EXPECT_NEAR(r.before[k], original.at(click.x, click.y, k), 1e-4);
    EXPECT_DOUBLE_EQ(r.goal[k], target[k]);
    EXPECT_NE(r.steps[k], 0.0);
  }
  EXPECT_TRUE(r.reached);
  EXPECT_EQ(t.engine->params(), r.edited_params);  // the engine holds the edit
  const jnerf::ImageF edited = t.engine->render(view, 512).rgb;
  for (int k = 0; k < 3; ++k) {
    EXPECT_NEAR(edited.at(click.x, click.y, k), target[k], 0.05) << k;
    EXPECT_NEAR(r.after[k], edited.at(click.x, click.y, k), 1e-4) << k;
  }
  // Inside the clicked instance the colour moves; report how much against the rest.
  const std::vector<std::uint8_t> region = jnerf::instance_region(view, jnerf::clicked_instances(view, {click}));
  const jnerf::ColourChange change = jnerf::colour_change(original, edited, region);
  EXPECT_GT(change.inside, 0.0);
  std::printf("mean colour change: inside %.4f (%zu px), outside %.4f (%zu px), %d correction(s)\n", change.inside,
              change.inside_pixels, change.outside, change.outside_pixels, r.corrections);

  // An extreme colour (a sigmoid never reaches 0 or 1 exactly) is met within tolerance
  // or reported as clamped.
  t.engine->set_params(r.original_params);
  const jnerf::EditResult extreme = jnerf::edit_entity(*t.engine, view, click, {1.0, 0.0, 1.0}, s);
  for (int k = 0; k < 3; ++k)
    if (!extreme.clamped[k]) EXPECT_NEAR(extreme.after[k], extreme.goal[k], 0.01) << k;

  // Half strength goes half way.
  t.engine->set_params(r.original_params);
  s.strength = 0.5;
  const jnerf::EditResult half = jnerf::edit_entity(*t.engine, view, click, target, s);
  for (int k = 0; k < 3; ++k) {
    EXPECT_NEAR(half.goal[k], 0.5 * (r.before[k] + target[k]), 1e-9);
    EXPECT_NEAR(half.after[k], half.goal[k], 0.01);
  }
}

TEST(EntityEdit, ChangesOnlyTheFineRgbHeadAndIsUndone) {
  Trained& t = trained();
  const jnerf::Frame& view = clicked_view();
  const jnerf::PixelPos click = object_click(view);
  const jnerf::ImageF original = t.engine->render(view, 512).rgb;
  const jnerf::ParamLayout& layout = t.engine->layout();
  const jnerf::ParamSegment& W = layout.find("fine.rgb_linear.weight");
  const jnerf::ParamSegment& b = layout.find("fine.rgb_linear.bias");
  for (bool bias : {false, true}) {
    jnerf::EditSettings s;
    s.chunk = 512;
    s.bias = bias;
    const jnerf::EditResult r = jnerf::edit_entity(*t.engine, view, click, shifted(rendered_at(original, click)), s);
    EXPECT_EQ(r.original_params, t.params);
    EXPECT_EQ(r.direction.size(), static_cast<std::size_t>(3 * (t.engine->head_width() + (bias ? 1 : 0))));
    ASSERT_EQ(r.edited_params.size(), r.original_params.size());
    std::size_t changed_w = 0, changed_b = 0;
    for (std::size_t i = 0; i < r.edited_params.size(); ++i) {
      const bool in_w = i >= W.offset && i < W.offset + W.size, in_b = i >= b.offset && i < b.offset + b.size;
      if (r.edited_params[i] == r.original_params[i]) continue;
      if (in_w) ++changed_w;
      else if (in_b) ++changed_b;
      else ADD_FAILURE() << "parameter " << i << " outside the fine RGB head changed (bias " << bias << ")";
    }
    EXPECT_GT(changed_w, W.size / 2);
    if (bias) EXPECT_GT(changed_b, 0u);
    else EXPECT_EQ(changed_b, 0u);

    // Restoring the parameters gives the original render back, bit for bit.
    t.engine->set_params(r.original_params);
    EXPECT_EQ(t.engine->render(view, 512).rgb.data, original.data);
  }

  // Reloading the run's checkpoint gives the original model too.
  const jnerf::RunDir run(t.run_dir);
  jnerf::EditSettings s;
  s.chunk = 512;
  jnerf::edit_entity(*t.engine, view, click, {0.9, 0.1, 0.1}, s);
  ASSERT_NE(t.engine->params(), t.params);
  const auto ckpt = run.latest_checkpoint("nerf");
  ASSERT_TRUE(ckpt.has_value());
  jnerf::load_nerf_checkpoint(*ckpt, *t.engine, false);
  EXPECT_EQ(t.engine->params(), t.params);
  EXPECT_EQ(t.engine->render(view, 512).rgb.data, original.data);

  // The same through load_run_model (no shape checkpoint: the nerf one).
  jnerf::LoadedRun loaded = jnerf::load_run_model(run, t.config, "cpu");
  EXPECT_FALSE(loaded.shaped);
  EXPECT_EQ(loaded.checkpoint, *ckpt);
  EXPECT_EQ(loaded.engine->params(), t.params);
}

TEST(EntityEdit, ApplyHeadEditTouchesOnlyTheHead) {
  Trained& t = trained();
  const jnerf::ParamLayout& layout = t.engine->layout();
  const int V = t.engine->head_width();
  const jnerf::JacobianSpec spec{jnerf::JacobianChannels::Blocks, true, V};
  std::vector<double> dir(spec.dims());
  for (std::size_t i = 0; i < dir.size(); ++i) dir[i] = 0.01 * static_cast<double>(i + 1);
  std::vector<float> p = t.params;
  jnerf::apply_head_edit(p, layout, spec, dir, {1.0, -2.0, 0.5});
  const jnerf::ParamSegment& W = layout.find("fine.rgb_linear.weight");
  const jnerf::ParamSegment& b = layout.find("fine.rgb_linear.bias");
  const double steps[3] = {1.0, -2.0, 0.5};
  for (int k = 0; k < 3; ++k) {
    for (int j = 0; j < V; ++j) {
      const std::size_t i = W.offset + static_cast<std::size_t>(k) * V + j;
      EXPECT_NEAR(p[i], t.params[i] + steps[k] * dir[k * (V + 1) + j], 1e-5);
    }
    EXPECT_NEAR(p[b.offset + k], t.params[b.offset + k] + steps[k] * dir[k * (V + 1) + V], 1e-5);
  }
  for (std::size_t i = 0; i < p.size(); ++i)
    if (i < W.offset || i >= b.offset + b.size) EXPECT_EQ(p[i], t.params[i]) << i;
  std::vector<float> short_params(10);
  EXPECT_TRUE(contains(input_error([&] { jnerf::apply_head_edit(short_params, layout, spec, dir, {1, 1, 1}); }),
                       "10 parameters"));
}

TEST(EntityEdit, ClampsAndReportsAnUnreachableColour) {
  Trained& t = trained();
  const jnerf::Frame& view = clicked_view();
  const jnerf::PixelPos click = object_click(view);
  jnerf::EditSettings s;
  s.chunk = 512;
  s.max_logit_change = 0.25;  // the click's samples may barely move
  const auto before = jnerf::render_pixel(*t.engine, view, click, 512);
  std::array<double, 3> target{};
  for (int k = 0; k < 3; ++k) target[k] = before[k] < 0.5 ? 1.0 : 0.0;
  const jnerf::EditResult r = jnerf::edit_entity(*t.engine, view, click, target, s);
  EXPECT_FALSE(r.reached);
  for (int k = 0; k < 3; ++k) {
    EXPECT_TRUE(r.clamped[k]) << k;
    EXPECT_LE(r.reachable_lo[k], before[k] + 1e-9);
    EXPECT_GE(r.reachable_hi[k], before[k] - 1e-9);
    // As close to the target as the bound allows: at the end of the reachable range.
    const double edge = target[k] > 0.5 ? r.reachable_hi[k] : r.reachable_lo[k];
    EXPECT_NEAR(r.after[k], edge, 2e-3) << k;
    EXPECT_GT(std::abs(r.after[k] - before[k]), 1e-4) << k;
  }
  const jnerf::Json j = jnerf::edit_to_json(r);
  EXPECT_EQ(j["clamped"], jnerf::Json::array({true, true, true}));
  EXPECT_FALSE(j["reached"].get<bool>());
}

TEST(EntityEdit, SelectionMaskHoldsTheClick) {
  Trained& t = trained();
  const int clicked = t.dataset.train.front();
  const jnerf::Frame& view = t.dataset.frames[clicked];
  const jnerf::PixelPos click = object_click(view);
  const std::vector<int> views = jnerf::split_view_indices(t.dataset, "test", 3);
  ASSERT_EQ(views.size(), 3u);
  for (jnerf::ResponseMode mode :
       {jnerf::ResponseMode::Linear3D, jnerf::ResponseMode::Linear2D, jnerf::ResponseMode::Cosine2D}) {
    jnerf::SelectSettings s = jnerf::SelectSettings::from_config(t.config);
    s.mode = mode;
    int visits = 0;
    const jnerf::Selection sel = jnerf::select_entity(
        *t.engine, t.dataset, clicked, {click}, views, s,
        [&](const jnerf::Frame& f, const jnerf::EntityMask& m, bool is_clicked) {
          EXPECT_EQ(is_clicked, visits == 0);
          EXPECT_EQ(m.mask.size(), static_cast<std::size_t>(f.intrinsics.width * f.intrinsics.height));
          ++visits;
        });
    EXPECT_EQ(visits, 4);
    EXPECT_EQ(sel.clicked.clicks_inside, 1) << jnerf::to_string(mode);
    EXPECT_GT(sel.clicked.fraction, 0.0);
    EXPECT_EQ(sel.instances, jnerf::clicked_instances(view, {click}));
    EXPECT_TRUE(std::isfinite(sel.clicked.iou));
    ASSERT_EQ(sel.views.size(), 3u);
    const jnerf::Json j = jnerf::selection_to_json(sel, t.dataset, {click}, s);
    EXPECT_EQ(j["views"].get<int>(), 3);
    EXPECT_EQ(j["clicked_view"]["clicks_inside"].get<int>(), 1);
    std::printf("%s: clicked view %.1f%% selected, IoU %.3f; mean IoU over 3 test views %.3f\n",
                jnerf::to_string(mode), 100 * sel.clicked.fraction, sel.clicked.iou, sel.mean_iou);
  }
  EXPECT_EQ(t.engine->params(), t.params);  // selecting leaves the model as it was
}

TEST(EntityEdit, BadInputNamesTheValue) {
  Trained& t = trained();
  const jnerf::Frame& view = clicked_view();
  jnerf::EditSettings s;
  s.chunk = 512;
  EXPECT_TRUE(contains(input_error([&] { jnerf::edit_entity(*t.engine, view, {40, 3}, {0.5, 0.5, 0.5}, s); }),
                       "click 40,3 is outside view"));
  EXPECT_TRUE(contains(input_error([&] { jnerf::edit_entity(*t.engine, view, {-1, 3}, {0.5, 0.5, 0.5}, s); }),
                       "click -1,3"));
  EXPECT_TRUE(contains(input_error([&] { jnerf::edit_entity(*t.engine, view, {3, 3}, {1.5, 0.5, 0.5}, s); }),
                       "colour 1.5,0.5,0.5"));
  s.strength = 0;
  EXPECT_TRUE(contains(input_error([&] { jnerf::edit_entity(*t.engine, view, {3, 3}, {0.5, 0.5, 0.5}, s); }),
                       "strength"));
  EXPECT_EQ(t.engine->params(), t.params);

  const int clicked = t.dataset.train.front();
  jnerf::SelectSettings sel;
  sel.chunk = 512;
  EXPECT_TRUE(contains(input_error([&] { jnerf::select_entity(*t.engine, t.dataset, clicked, {{3, 30}}, {}, sel); }),
                       "click 3,30 is outside view"));
  EXPECT_TRUE(contains(input_error([&] { jnerf::select_entity(*t.engine, t.dataset, clicked, {}, {}, sel); }),
                       "no clicks"));
  sel.threshold = 1.5;
  EXPECT_TRUE(contains(input_error([&] { jnerf::select_entity(*t.engine, t.dataset, clicked, {{3, 3}}, {}, sel); }),
                       "threshold 1.5"));

  EXPECT_TRUE(contains(input_error([&] { jnerf::clicked_view_index(t.dataset, 12345, -1); }), "view 12345"));
  EXPECT_TRUE(contains(input_error([&] { jnerf::clicked_view_index(t.dataset, -1, 999); }), "--train-index 999"));
  EXPECT_TRUE(contains(input_error([&] { jnerf::clicked_view_index(t.dataset, -1, -1); }), "exactly one"));
  EXPECT_EQ(jnerf::clicked_view_index(t.dataset, -1, 1), t.dataset.train[1]);
  EXPECT_EQ(jnerf::clicked_view_index(t.dataset, t.dataset.frames[3].id, -1), 3);
  EXPECT_TRUE(contains(input_error([&] { jnerf::split_view_indices(t.dataset, "val"); }), "'val'"));
}

TEST(EntityEdit, MasksAndChanges) {
  EXPECT_DOUBLE_EQ(jnerf::mask_iou({1, 1, 0, 0}, {1, 0, 1, 0}), 1.0 / 3.0);
  EXPECT_TRUE(std::isnan(jnerf::mask_iou({0, 0}, {0, 0})));
  EXPECT_FALSE(input_error([] { jnerf::mask_iou({1}, {1, 0}); }).empty());
  jnerf::ImageF a(6, 1, 3, 0.5f), b = a;
  b.at(0, 0, 0) = 0.8f;
  const jnerf::ColourChange c = jnerf::colour_change(a, b, {1, 0, 0, 0, 0, 0});
  EXPECT_NEAR(c.inside, 0.1, 1e-6);
  EXPECT_DOUBLE_EQ(c.outside, 0.0);
  EXPECT_EQ(c.inside_pixels, 1u);
  EXPECT_EQ(c.outside_pixels, 5u);
  const jnerf::ImageU8 o = jnerf::mask_overlay(a, {1, 0, 0, 0, 0, 0}, {{5, 0}});
  EXPECT_GT(o.at(0, 0, 0), o.at(0, 0, 1));  // tinted red
  EXPECT_EQ(o.at(1, 0, 0), 128);            // untouched
  EXPECT_EQ(o.at(5, 0, 1), 255);            // the click mark (arms of 2 pixels)
  EXPECT_EQ(o.at(3, 0, 1), 255);
  EXPECT_EQ(o.at(2, 0, 1), 128);
}

// Shaping (with the oracle prior, briefly) is what makes the click's entity respond alone:
// the shaped model's selection matches the clicked instance better, and its edit moves the
// instance more, relative to the rest of the view, than the unshaped model's.
TEST(EntityEdit, ShapingMakesSelectionAndEditSelective) {
  Trained& t = trained();
  const auto dir = jnerf::test::scratch_dir("shaped");
  std::filesystem::copy(t.run_dir, dir, std::filesystem::copy_options::recursive);
  const jnerf::RunDir run(dir);
  jnerf::Json config = t.config;
  config["shape"]["iters"] = 150;
  config["shape"]["weight_mi"] = 1.0;
  config["shape"]["prior"]["type"] = "oracle";
  auto shaped = jnerf::make_nerf_engine(config, t.dataset, "cpu");
  jnerf::load_nerf_checkpoint(*run.latest_checkpoint("nerf"), *shaped, false);
  jnerf::train_shape(config, t.dataset, *shaped, run, false);
  const jnerf::LoadedRun loaded = jnerf::load_run_model(run, config, "cpu");
  EXPECT_TRUE(loaded.shaped);
  EXPECT_EQ(loaded.engine->params(), shaped->params());

  const int clicked = t.dataset.train.front();
  const jnerf::Frame& view = t.dataset.frames[clicked];
  const jnerf::PixelPos click = object_click(view);
  const std::vector<int> views = jnerf::split_view_indices(t.dataset, "test", 4);
  const std::vector<std::uint8_t> region = jnerf::instance_region(view, jnerf::clicked_instances(view, {click}));
  struct Scores {
    double contrast, iou, test_iou, ratio;
  };
  auto scores = [&](jnerf::NerfEngine& engine) {
    jnerf::SelectSettings s = jnerf::SelectSettings::from_config(config);
    // How much more the clicked instance responds than the rest of the clicked view.
    double contrast = 0;
    const jnerf::Selection sel = jnerf::select_entity(
        engine, t.dataset, clicked, {click}, views, s,
        [&](const jnerf::Frame&, const jnerf::EntityMask& m, bool is_clicked) {
          if (!is_clicked) return;
          double in = 0, out = 0;
          int n_in = 0, n_out = 0;
          for (std::size_t i = 0; i < m.mask.size(); ++i)
            if (region[i]) in += m.response[i], ++n_in;
            else out += m.response[i], ++n_out;
          contrast = (in / n_in) / (out / n_out);
        });
    s.scale = jnerf::SelectScale::Clicks;
    const jnerf::Selection by_clicks = jnerf::select_entity(engine, t.dataset, clicked, {click}, views, s);
    EXPECT_EQ(by_clicks.clicked.clicks_inside, 1);  // the clicks score 1 on this scale
    EXPECT_GT(by_clicks.reference, 0.0);
    std::printf("  view scale: IoU %.3f (test views %.3f); clicks scale: IoU %.3f (test views %.3f)\n",
                sel.clicked.iou, sel.mean_iou, by_clicks.clicked.iou, by_clicks.mean_iou);
    const jnerf::ImageF before = engine.render(view, 512).rgb;
    jnerf::EditSettings e;
    e.chunk = 512;
    const jnerf::EditResult r = jnerf::edit_entity(engine, view, click, shifted(jnerf::render_pixel(engine, view, click, 512)), e);
    EXPECT_TRUE(r.reached);
    const jnerf::ColourChange c = jnerf::colour_change(before, engine.render(view, 512).rgb, region);
    engine.set_params(r.original_params);
    return Scores{contrast, sel.clicked.iou, sel.mean_iou, c.inside / c.outside};
  };
  const Scores u = scores(*t.engine), s = scores(*shaped);
  std::printf("unshaped: response inside/outside %.2f, IoU %.3f (test views %.3f), edit inside/outside %.2f\n",
              u.contrast, u.iou, u.test_iou, u.ratio);
  std::printf("shaped:   response inside/outside %.2f, IoU %.3f (test views %.3f), edit inside/outside %.2f\n",
              s.contrast, s.iou, s.test_iou, s.ratio);
  EXPECT_GT(s.contrast, u.contrast);
  EXPECT_GT(s.ratio, 1.5 * u.ratio);
}
