// Shaping diagnostics: pair statistics of Jacobians by ground-truth category, the |cos|
// histogram image, and `jnerf jacobian-stats` end to end.
#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include "jnerf/core/config.hpp"
#include "jnerf/io/image_io.hpp"
#include "jnerf/shape/jacobian_stats.hpp"
#include "cli_support.hpp"
#include "test_support.hpp"

namespace {

using jnerf::CategoryStats;
using jnerf::JacobianPairStats;
using jnerf::PairCategory;

constexpr double kPi = 3.14159265358979323846;
constexpr double kTol = 1e-6;  // the similarity's 1e-7 denominator guard

// 2-D Jacobians at known angles (degrees), with lengths that must not matter.
struct Pixels {
  std::vector<double> g;
  std::vector<int> instance, cls;
  std::vector<double> angle;
  void add(double degrees, double length, int instance_id, int class_id) {
    g.push_back(length * std::cos(degrees * kPi / 180));
    g.push_back(length * std::sin(degrees * kPi / 180));
    instance.push_back(instance_id);
    cls.push_back(class_id);
    angle.push_back(degrees);
  }
  double abs_cos(int a, int b) const { return std::abs(std::cos((angle[a] - angle[b]) * kPi / 180)); }
};

// Four labelled pixels and two void ones. Pairs among the labelled:
//   (0,1) same instance; (0,2), (1,2) same class; (0,3), (1,3), (2,3) different class.
Pixels known_pixels() {
  Pixels p;
  p.add(0, 1.0, 1, 1);
  p.add(50, 2.0, 1, 1);
  p.add(100, 0.5, 2, 1);
  p.add(0, 1.0, 0, 0);  // void: parallel to pixel 0, would be a |cos| = 1 pair
  p.add(200, 3.0, 3, 2);
  p.add(200, 1.0, 7, 0);  // void
  return p;
}

using Result = jnerf::test::CliResult;
using jnerf::test::run_cli;

using jnerf::test::contains;

std::array<std::uint8_t, 3> pixel(const jnerf::ImageU8& img, int x, int y) {
  return {img.at(x, y, 0), img.at(x, y, 1), img.at(x, y, 2)};
}

}  // namespace

TEST(JacobianStats, ClassifiesPairsByClassThenInstance) {
  EXPECT_EQ(jnerf::classify_pair(4, 2, 4, 2), PairCategory::SameInstance);
  EXPECT_EQ(jnerf::classify_pair(4, 2, 5, 2), PairCategory::SameClass);
  EXPECT_EQ(jnerf::classify_pair(4, 2, 5, 3), PairCategory::DifferentClass);
  // An instance id shared across classes does not make a same-instance pair.
  EXPECT_EQ(jnerf::classify_pair(4, 2, 4, 3), PairCategory::DifferentClass);
  EXPECT_STREQ(jnerf::to_string(PairCategory::SameInstance), "same_instance");
  EXPECT_STREQ(jnerf::to_string(PairCategory::SameClass), "same_class");
  EXPECT_STREQ(jnerf::to_string(PairCategory::DifferentClass), "different_class");
}

TEST(JacobianStats, CosBinsCoverTheUnitInterval) {
  EXPECT_EQ(jnerf::cos_bin(0.0, 50), 0);
  EXPECT_EQ(jnerf::cos_bin(0.0199, 50), 0);
  EXPECT_EQ(jnerf::cos_bin(0.0201, 50), 1);
  EXPECT_EQ(jnerf::cos_bin(0.5001, 50), 25);
  EXPECT_EQ(jnerf::cos_bin(0.9999, 50), 49);
  EXPECT_EQ(jnerf::cos_bin(1.0, 50), 49);
  EXPECT_EQ(jnerf::cos_bin(1.2, 50), 49);
  EXPECT_EQ(jnerf::cos_bin(-0.1, 50), 0);
  EXPECT_EQ(jnerf::cos_bin(std::nan(""), 50), 0);
}

TEST(JacobianStats, KnownAnglesGiveExactCountsAndMeans) {
  const Pixels p = known_pixels();
  const JacobianPairStats s = jnerf::jacobian_pair_stats(p.g, 2, p.instance, p.cls);
  EXPECT_EQ(s.pixels, 4);
  EXPECT_EQ(s.void_pixels, 2);
  EXPECT_EQ(s.total_pairs, 6);
  EXPECT_FALSE(s.sampled);
  EXPECT_EQ(s.bins, 50);
  // Indices into p (pixel 3 is void, 4 is the class-2 one).
  const double si = p.abs_cos(0, 1);
  const double sc = (p.abs_cos(0, 2) + p.abs_cos(1, 2)) / 2;
  const double dc = (p.abs_cos(0, 4) + p.abs_cos(1, 4) + p.abs_cos(2, 4)) / 3;
  EXPECT_EQ(s[PairCategory::SameInstance].count, 1);
  EXPECT_EQ(s[PairCategory::SameClass].count, 2);
  EXPECT_EQ(s[PairCategory::DifferentClass].count, 3);
  EXPECT_NEAR(s[PairCategory::SameInstance].mean(), si, kTol);  // cos 50 = 0.6428
  EXPECT_NEAR(s[PairCategory::SameClass].mean(), sc, kTol);     // (|cos 100| + cos 50) / 2
  EXPECT_NEAR(s[PairCategory::DifferentClass].mean(), dc, kTol);
  EXPECT_NEAR(s.gap(), si - dc, kTol);

  // Histograms: each pair in the bin of its |cos|.
  for (int c = 0; c < jnerf::kPairCategories; ++c) {
    const CategoryStats& cat = s.categories[c];
    ASSERT_EQ(cat.histogram.size(), 50u);
    long long total = 0;
    for (long long n : cat.histogram) total += n;
    EXPECT_EQ(total, cat.count);
  }
  EXPECT_EQ(s[PairCategory::SameInstance].histogram[jnerf::cos_bin(si, 50)], 1);
  EXPECT_EQ(s[PairCategory::SameClass].histogram[jnerf::cos_bin(p.abs_cos(0, 2), 50)], 1);  // 0.1736 -> bin 8
  EXPECT_EQ(s[PairCategory::SameClass].histogram[jnerf::cos_bin(p.abs_cos(1, 2), 50)], 1);  // 0.6428 -> bin 32
  EXPECT_EQ(s[PairCategory::DifferentClass].histogram[jnerf::cos_bin(p.abs_cos(0, 4), 50)], 1);  // 0.9397 -> 46
  EXPECT_EQ(s[PairCategory::DifferentClass].histogram[jnerf::cos_bin(p.abs_cos(1, 4), 50)], 1);  // 0.8660 -> 43
  EXPECT_EQ(s[PairCategory::DifferentClass].histogram[jnerf::cos_bin(p.abs_cos(2, 4), 50)], 1);  // 0.1736 -> 8
  EXPECT_EQ(jnerf::cos_bin(p.abs_cos(0, 2), 50), 8);
  EXPECT_EQ(jnerf::cos_bin(p.abs_cos(1, 2), 50), 32);
  EXPECT_EQ(jnerf::cos_bin(p.abs_cos(0, 4), 50), 46);
  EXPECT_EQ(jnerf::cos_bin(p.abs_cos(1, 4), 50), 43);
}

TEST(JacobianStats, SignDoesNotMatterAndOrderDoesNotMatter) {
  Pixels p;
  p.add(30, 1.0, 1, 1);
  p.add(210, 1.0, 1, 1);  // antiparallel: |cos| = 1
  Pixels q;
  q.add(210, 1.0, 1, 1);
  q.add(30, 1.0, 1, 1);
  const JacobianPairStats a = jnerf::jacobian_pair_stats(p.g, 2, p.instance, p.cls);
  const JacobianPairStats b = jnerf::jacobian_pair_stats(q.g, 2, q.instance, q.cls);
  EXPECT_NEAR(a[PairCategory::SameInstance].mean(), 1.0, kTol);
  EXPECT_EQ(a[PairCategory::SameInstance].histogram[49], 1);
  EXPECT_DOUBLE_EQ(a[PairCategory::SameInstance].mean(), b[PairCategory::SameInstance].mean());
}

TEST(JacobianStats, VoidPixelsAreLeftOut) {
  Pixels p;
  p.add(0, 1.0, 1, 0);
  p.add(10, 1.0, 1, 0);
  p.add(20, 1.0, 2, 1);
  const JacobianPairStats s = jnerf::jacobian_pair_stats(p.g, 2, p.instance, p.cls);
  EXPECT_EQ(s.pixels, 1);
  EXPECT_EQ(s.void_pixels, 2);
  EXPECT_EQ(s.total_pairs, 0);
  for (const CategoryStats& c : s.categories) {
    EXPECT_EQ(c.count, 0);
    EXPECT_TRUE(std::isnan(c.mean()));
  }
  EXPECT_TRUE(std::isnan(s.gap()));

  jnerf::Json j = jnerf::Json::object();
  jnerf::add_pair_stats_json(j, "unshaped", s);
  EXPECT_TRUE(j["unshaped.same_instance"].is_null());
  EXPECT_TRUE(j["unshaped.gap"].is_null());
  EXPECT_EQ(j["unshaped.pairs"].get<long long>(), 0);
  EXPECT_EQ(j["unshaped.void_pixels"].get<long long>(), 2);
}

TEST(JacobianStats, MismatchedSizesAreRejected) {
  const std::vector<double> g(6, 1.0);
  EXPECT_THROW(jnerf::jacobian_pair_stats(g, 2, {1, 1}, {1, 1, 1}), std::invalid_argument);
  EXPECT_THROW(jnerf::jacobian_pair_stats(g, 2, {1, 1}, {1, 1}), std::invalid_argument);
  EXPECT_THROW(jnerf::jacobian_pair_stats(g, 0, {}, {}), std::invalid_argument);
  jnerf::PairStatsOptions o;
  o.bins = 0;
  EXPECT_THROW(jnerf::jacobian_pair_stats(g, 2, {1, 1, 1}, {1, 1, 1}, o), std::invalid_argument);
}

TEST(JacobianStats, JsonKeysAreFlat) {
  const Pixels p = known_pixels();
  const JacobianPairStats s = jnerf::jacobian_pair_stats(p.g, 2, p.instance, p.cls);
  jnerf::Json j = jnerf::Json::object();
  jnerf::add_pair_stats_json(j, "shaped", s);
  EXPECT_NEAR(j["shaped.same_instance"].get<double>(), p.abs_cos(0, 1), kTol);
  EXPECT_EQ(j["shaped.same_class_count"].get<long long>(), 2);
  EXPECT_EQ(j["shaped.different_class_count"].get<long long>(), 3);
  EXPECT_EQ(j["shaped.different_class_histogram"].size(), 50u);
  EXPECT_NEAR(j["shaped.gap"].get<double>(), s.gap(), 1e-12);
  EXPECT_EQ(j["shaped.pixels"].get<long long>(), 4);
  EXPECT_EQ(j["shaped.pairs"].get<long long>(), 6);
  EXPECT_EQ(j["shaped.total_pairs"].get<long long>(), 6);
  EXPECT_FALSE(j["shaped.pairs_sampled"].get<bool>());
}

// All pairs against a plain double loop; a capped run draws exactly the cap, repeatably,
// and estimates the same means.
TEST(JacobianStats, AllPairsMatchABruteForceLoopAndSamplingEstimatesThem) {
  const int n = 300, dims = 7;
  std::mt19937_64 rng(5);
  std::normal_distribution<double> normal;
  std::vector<double> g(n * dims);
  std::vector<int> inst(n), cls(n);
  for (int i = 0; i < n; ++i) {
    cls[i] = static_cast<int>(rng() % 4);        // 0 = void
    inst[i] = cls[i] * 10 + static_cast<int>(rng() % 3);
    for (int d = 0; d < dims; ++d) g[i * dims + d] = normal(rng) + (d == cls[i] ? 2.0 : 0.0);
  }
  const JacobianPairStats s = jnerf::jacobian_pair_stats(g, dims, inst, cls);
  std::array<double, 3> sum{};
  std::array<long long, 3> count{};
  long long labelled = 0;
  for (int i = 0; i < n; ++i) {
    if (cls[i] == 0) continue;
    ++labelled;
    for (int j = i + 1; j < n; ++j) {
      if (cls[j] == 0) continue;
      const int c = static_cast<int>(jnerf::classify_pair(inst[i], cls[i], inst[j], cls[j]));
      double ab = 0, aa = 0, bb = 0;
      for (int d = 0; d < dims; ++d) {
        ab += g[i * dims + d] * g[j * dims + d];
        aa += g[i * dims + d] * g[i * dims + d];
        bb += g[j * dims + d] * g[j * dims + d];
      }
      sum[c] += std::abs(ab) / (std::sqrt(aa) * std::sqrt(bb) + 1e-7);
      ++count[c];
    }
  }
  EXPECT_EQ(s.pixels, labelled);
  EXPECT_EQ(s.total_pairs, labelled * (labelled - 1) / 2);
  for (int c = 0; c < 3; ++c) {
    EXPECT_EQ(s.categories[c].count, count[c]) << c;
    EXPECT_NEAR(s.categories[c].mean(), sum[c] / count[c], 1e-12) << c;
  }
  EXPECT_GT(s.gap(), 0.1);  // the class direction makes same-class rows closer

  jnerf::PairStatsOptions o;
  o.max_pairs = 20000;
  o.seed = 3;
  const JacobianPairStats a = jnerf::jacobian_pair_stats(g, dims, inst, cls, o);
  const JacobianPairStats b = jnerf::jacobian_pair_stats(g, dims, inst, cls, o);
  EXPECT_TRUE(a.sampled);
  EXPECT_EQ(a.total_pairs, s.total_pairs);
  long long drawn = 0;
  for (int c = 0; c < 3; ++c) {
    drawn += a.categories[c].count;
    EXPECT_EQ(a.categories[c].count, b.categories[c].count);
    EXPECT_DOUBLE_EQ(a.categories[c].mean(), b.categories[c].mean());
    EXPECT_NEAR(a.categories[c].mean(), s.categories[c].mean(), 0.03) << c;
  }
  EXPECT_EQ(drawn, 20000);
  // A cap above the number of pairs evaluates them all.
  o.max_pairs = s.total_pairs;
  EXPECT_FALSE(jnerf::jacobian_pair_stats(g, dims, inst, cls, o).sampled);
}

// A hand-made histogram: bars of the right colour and height at the right place.
TEST(JacobianStats, HistogramImageDrawsBarsLegendAndPanels) {
  JacobianPairStats s;
  s.bins = 50;
  for (CategoryStats& c : s.categories) c.histogram.assign(50, 0);
  CategoryStats& si = s.categories[0];
  CategoryStats& sc = s.categories[1];
  CategoryStats& dc = s.categories[2];
  si.count = 10, si.sum = 9.1, si.histogram[45] = 10;                       // fraction 1 in bin 45
  sc.count = 10, sc.sum = 3.0, sc.histogram[10] = 5, sc.histogram[20] = 5;  // 0.5 and 0.5
  dc.count = 4, dc.sum = 0.2, dc.histogram[2] = 4;                          // 1 in bin 2
  JacobianPairStats empty;
  empty.bins = 50;
  for (CategoryStats& c : empty.categories) c.histogram.assign(50, 0);

  const jnerf::CosHistogramLayout L;
  const jnerf::CosHistogramImage h = jnerf::draw_cos_histograms({s, empty}, L);
  ASSERT_EQ(h.image.width, L.width());
  ASSERT_EQ(h.image.height, L.height(2));
  ASSERT_EQ(h.image.channels, 3);
  EXPECT_DOUBLE_EQ(h.y_max, 1.0);
  EXPECT_DOUBLE_EQ(h.y_tick, 0.2);

  const auto green = jnerf::category_colour(PairCategory::SameInstance);
  const auto blue = jnerf::category_colour(PairCategory::SameClass);
  const auto red = jnerf::category_colour(PairCategory::DifferentClass);
  const std::array<std::uint8_t, 3> white{255, 255, 255};
  // Legend boxes, left to right.
  EXPECT_EQ(pixel(h.image, L.plot_left() + 5, 12), green);
  EXPECT_EQ(pixel(h.image, L.plot_left() + 45, 12), blue);
  EXPECT_EQ(pixel(h.image, L.plot_left() + 85, 12), red);

  const int base = L.baseline(0);
  // Full-height same_instance bar in bin 45.
  const int xs = L.bar_left(45, PairCategory::SameInstance) + 1;
  EXPECT_EQ(pixel(h.image, xs, base - 1), green);
  EXPECT_EQ(pixel(h.image, xs, L.plot_top(0)), green);
  // Half-height same_class bars in bins 10 and 20, nothing in bin 15.
  const int half = L.bar_height(0.5, 1.0);
  EXPECT_EQ(half, L.panel_height / 2);
  for (int bin : {10, 20}) {
    const int x = L.bar_left(bin, PairCategory::SameClass) + 1;
    EXPECT_EQ(pixel(h.image, x, base - half), blue) << bin;
    EXPECT_NE(pixel(h.image, x, base - half - 1), blue) << bin;
  }
  EXPECT_NE(pixel(h.image, L.bar_left(15, PairCategory::SameClass) + 1, base - 1), blue);
  // The different_class bar sits in the third slot of its bin.
  EXPECT_EQ(pixel(h.image, L.bar_left(2, PairCategory::DifferentClass) + 1, base - 1), red);
  EXPECT_EQ(pixel(h.image, L.bar_left(2, PairCategory::SameInstance) + 1, base - 1), white);
  // Dashed mean line of same_instance at 0.91.
  const int xm = L.plot_left() + static_cast<int>(std::lround(0.91 * L.plot_width()));
  EXPECT_EQ(pixel(h.image, xm, L.plot_top(0)), green);
  // The empty second panel has no bars; the first panel's bar column is blank there.
  EXPECT_EQ(pixel(h.image, xs, L.baseline(1) - 1), white);
  // Panels are marked by 1 and 2 grey squares in the margin.
  EXPECT_NE(pixel(h.image, 5, L.plot_top(1) + 12), white);
  EXPECT_EQ(pixel(h.image, 5, L.plot_top(0) + 12), white);

  // The image survives a PNG round trip.
  const auto dir = jnerf::test::scratch_dir("hist");
  jnerf::write_png(dir / "h.png", h.image);
  const jnerf::ImageU8 back = jnerf::read_image_u8(dir / "h.png", 3);
  EXPECT_EQ(back.data, h.image.data);

  // Bins must agree with the layout.
  jnerf::CosHistogramLayout other;
  other.bins = 20;
  EXPECT_THROW(jnerf::draw_cos_histograms({s}, other), std::invalid_argument);
  EXPECT_FALSE(jnerf::category_colour_name(PairCategory::SameClass).empty());
}

TEST(JacobianStats, YScaleIsRoundedToNiceTicks) {
  JacobianPairStats s;
  s.bins = 50;
  for (CategoryStats& c : s.categories) c.histogram.assign(50, 0);
  s.categories[0].count = 10;
  s.categories[0].histogram[3] = 3, s.categories[0].histogram[4] = 2, s.categories[0].histogram[5] = 5;  // top 0.5
  const jnerf::CosHistogramImage h = jnerf::draw_cos_histograms({s});
  EXPECT_DOUBLE_EQ(h.y_tick, 0.1);
  EXPECT_DOUBLE_EQ(h.y_max, 0.5);
  s.categories[0].histogram = std::vector<long long>(50, 0);
  s.categories[0].count = 100;
  s.categories[0].histogram[0] = 13, s.categories[0].histogram[1] = 87;  // top 0.87
  const jnerf::CosHistogramImage g = jnerf::draw_cos_histograms({s});
  EXPECT_DOUBLE_EQ(g.y_tick, 0.2);
  EXPECT_DOUBLE_EQ(g.y_max, 1.0);
}

// ---- the command --------------------------------------------------------------------

TEST(JacobianStatsCli, RunWithoutCheckpointsIsBadInputNamingIt) {
  const auto dir = jnerf::test::scratch_dir("cli");
  const std::string run = (dir / "empty_run").string();
  std::filesystem::create_directories(dir / "empty_run");
  ASSERT_EQ(run_cli("config --out '" + run + "/config.json'").code, 0);
  Result r = run_cli("jacobian-stats --run '" + run + "' --out '" + (dir / "out").string() + "'");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, run)) << r.output;
  EXPECT_TRUE(contains(r.output, "checkpoint")) << r.output;

  // No config.json at all: named too.
  const std::string missing = (dir / "missing_run").string();
  r = run_cli("jacobian-stats --run '" + missing + "' --out '" + (dir / "out").string() + "'");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, missing)) << r.output;

  // --checkpoint and --stage exclude each other.
  r = run_cli("jacobian-stats --run '" + run + "' --out x --checkpoint y --stage nerf");
  EXPECT_EQ(r.code, 2) << r.output;
}

TEST(JacobianStatsCli, MeasuresUnshapedAndShapedRunsOfALabelledScene) {
  const auto dir = jnerf::test::scratch_dir("cli");
  const std::string scene = (dir / "scene").string(), run = (dir / "run").string();
  ASSERT_EQ(jnerf::test::synth_tiny_room(scene).code, 0);
  const std::string sets = jnerf::test::kTinyHashGridRun;
  Result r = run_cli("--device cpu train --out '" + run + "' --set 'data.path=" + scene + "'" + sets);
  ASSERT_EQ(r.code, 0) << r.output;

  // Only a nerf checkpoint: --stage both is refused, the default measures the NeRF alone.
  const std::string out1 = (dir / "stats_nerf").string();
  r = run_cli("--device cpu jacobian-stats --run '" + run + "' --out '" + out1 + "' --stage both");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "shape")) << r.output;
  r = run_cli("--device cpu jacobian-stats --run '" + run + "' --out '" + out1 + "' --pixels 24 --views 2");
  ASSERT_EQ(r.code, 0) << r.output;
  jnerf::Json j = jnerf::read_json_file(dir / "stats_nerf" / "jacobian_stats.json");
  EXPECT_EQ(j["stages"], jnerf::Json::array({"unshaped"}));
  EXPECT_TRUE(j["gap_change"].is_null());
  EXPECT_EQ(j["unshaped.pixels"].get<long long>(), 48);
  EXPECT_EQ(j["unshaped.total_pairs"].get<long long>(), 48 * 47 / 2);
  EXPECT_TRUE(contains(r.output, "unshaped")) << r.output;

  r = run_cli("--device cpu train --out '" + run + "' --stage shape --set shape.iters=2 --set shape.rays_per_batch=16");
  ASSERT_EQ(r.code, 0) << r.output;
  const std::string out2 = (dir / "stats").string();
  r = run_cli("--device cpu jacobian-stats --run '" + run + "' --out '" + out2 + "' --pixels 24 --views 2 --seed 4");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "gap change")) << r.output;
  j = jnerf::read_json_file(dir / "stats" / "jacobian_stats.json");
  EXPECT_EQ(j["stages"], jnerf::Json::array({"unshaped", "shaped"}));
  for (const char* stage : {"unshaped", "shaped"})
    for (const char* key : {"same_instance", "same_class", "different_class", "gap"}) {
      const std::string k = std::string(stage) + "." + key;
      ASSERT_TRUE(j.contains(k)) << k;
      ASSERT_TRUE(j[k].is_number()) << k;
      if (std::string(key) != "gap") {
        EXPECT_GE(j[k].get<double>(), 0.0) << k;
        EXPECT_LE(j[k].get<double>(), 1.0) << k;
      }
    }
  EXPECT_NEAR(j["gap_change"].get<double>(), j["shaped.gap"].get<double>() - j["unshaped.gap"].get<double>(), 1e-12);
  long long pairs = 0;
  for (const char* key : {"same_instance_count", "same_class_count", "different_class_count"})
    pairs += j[std::string("shaped.") + key].get<long long>();
  EXPECT_EQ(pairs, j["shaped.total_pairs"].get<long long>());
  EXPECT_EQ(j["shaped.pixels"], j["unshaped.pixels"]);  // the same pixels for both stages
  EXPECT_TRUE(j["histogram_legend"].contains("same_instance"));
  EXPECT_EQ(j["view_ids"].size(), 2u);
  const jnerf::ImageU8 png = jnerf::read_image_u8(dir / "stats" / "jacobian_cos_hist.png");
  const jnerf::CosHistogramLayout L;
  EXPECT_EQ(png.width, L.width());
  EXPECT_EQ(png.height, L.height(2));

  // One checkpoint file: its stage comes from the file.
  const std::string out3 = (dir / "stats_one").string();
  r = run_cli("--device cpu jacobian-stats --run '" + run + "' --out '" + out3 + "' --pixels 16 --views 1 --checkpoint '" +
              (dir / "run" / "checkpoints" / "shape_000000002.ckpt").string() + "'");
  ASSERT_EQ(r.code, 0) << r.output;
  j = jnerf::read_json_file(dir / "stats_one" / "jacobian_stats.json");
  EXPECT_EQ(j["stages"], jnerf::Json::array({"shaped"}));
}
