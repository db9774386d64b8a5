#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "jnerf/core/error.hpp"
#include "jnerf/propagate/annotations.hpp"
#include "test_support.hpp"

using jnerf::Annotation;
using jnerf::AnnotationSettings;
using jnerf::Click;
using jnerf::test::contains;
using jnerf::test::input_error;

namespace {

// 8 x 6, void = 0; class 1: 6 px, class 2: 6 px, class 3: 6 px, class 5: 4 px; one -1.
const int kW = 8, kH = 6;
const std::vector<int> kMap = {
    0, 0, 1, 1, 1, 0, 2, 2,  //
    0, 1, 1, 1, 0, 0, 2, 2,  //
    3, 3, 0, 0, 0, 0, 2, 2,  //
    3, 3, 0, 5, 5, 0, 0, 0,  //
    3, 3, 0, 5, 5, 0, 0, 0,  //
    0, 0, 0, 0, 0, 0, 0, -1,
};

int label_at(const std::vector<int>& map, int w, const Click& c) { return map[static_cast<std::size_t>(c.y) * w + c.x]; }

AnnotationSettings sparse(std::uint64_t seed, int n = 1) {
  AnnotationSettings s;
  s.mode = "sparse";
  s.seed = seed;
  s.clicks_per_class = n;
  return s;
}

AnnotationSettings regions(double fraction, std::uint64_t seed = 3) {
  AnnotationSettings s;
  s.mode = "regions";
  s.fraction = fraction;
  s.seed = seed;
  return s;
}

std::map<int, std::vector<Click>> by_class(const Annotation& a) {
  std::map<int, std::vector<Click>> out;
  for (const Click& c : a.clicks) out[c.label].push_back(c);
  return out;
}

void expect_same(const Annotation& a, const Annotation& b) {
  EXPECT_EQ(a.frame_id, b.frame_id);
  EXPECT_EQ(a.width, b.width);
  EXPECT_EQ(a.height, b.height);
  EXPECT_EQ(a.labels_kind, b.labels_kind);
  EXPECT_EQ(a.mode, b.mode);
  EXPECT_EQ(a.fraction, b.fraction);
  EXPECT_EQ(a.seed, b.seed);
  EXPECT_EQ(a.clicks, b.clicks);
}

}  // namespace

TEST(Annotations, UniformBelowUsesTheRawEngineOutput) {
  // For a power of two nothing is rejected (2^64 mod 8 = 0), so the draw is the low bits.
  std::mt19937_64 a(7), b(7);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(jnerf::uniform_below(a, 8), b() % 8);
  // n = 1 is always 0 and consumes one value.
  EXPECT_EQ(jnerf::uniform_below(a, 1), 0u);
  b();
  EXPECT_EQ(a(), b());
  // n = 2^63 + 1 rejects every raw value below 2^64 mod n = 2^63 - 1: about half of them.
  const std::uint64_t n = (std::uint64_t{1} << 63) + 1;
  for (int i = 0; i < 100; ++i) {
    std::uint64_t r = b();
    while (r < (std::uint64_t{1} << 63) - 1) r = b();
    EXPECT_EQ(jnerf::uniform_below(a, n), r % n);
  }
}

TEST(Annotations, UniformBelowIsUniform) {
  // 60000 draws of a die: each face 10000 expected; the standard deviation of a count is
  // sqrt(60000 * 1/6 * 5/6) ~ 91, so +-500 is over 5 sigma.
  std::mt19937_64 rng(11);
  std::vector<int> count(6, 0);
  for (int i = 0; i < 60000; ++i) ++count[jnerf::uniform_below(rng, 6)];
  for (int c : count) EXPECT_NEAR(c, 10000, 500);
  EXPECT_THROW(jnerf::uniform_below(rng, 0), std::invalid_argument);
}

TEST(Annotations, SparseClicksAreDeterministicForASeed) {
  const auto a = jnerf::simulate_annotation(kMap, kW, kH, 4, sparse(42));
  const auto b = jnerf::simulate_annotation(kMap, kW, kH, 4, sparse(42));
  EXPECT_EQ(a.clicks, b.clicks);
  // Other seeds pick other pixels: among ten seeds not all choose the same clicks.
  std::set<std::vector<int>> seen;
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    std::vector<int> key;
    for (const Click& c : jnerf::simulate_annotation(kMap, kW, kH, 4, sparse(seed)).clicks)
      key.push_back(c.y * kW + c.x);
    seen.insert(key);
  }
  EXPECT_GT(seen.size(), 1u);
  EXPECT_EQ(a.frame_id, 4);
  EXPECT_EQ(a.mode, "sparse");
  EXPECT_EQ(a.seed, 42u);
}

TEST(Annotations, SparseGivesNClicksPerClassOnThatClass) {
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    const auto a = jnerf::simulate_annotation(kMap, kW, kH, 0, sparse(seed, 3));
    // Classes 1, 2, 3 have 6 pixels: 3 clicks each; class 5 has 4: 3 clicks. No void.
    ASSERT_EQ(a.clicks.size(), 12u);
    EXPECT_EQ(a.classes(), (std::vector<int>{1, 2, 3, 5}));
    // Grouped by class in increasing id, each group in row-major order.
    for (std::size_t i = 1; i < a.clicks.size(); ++i) {
      const Click &p = a.clicks[i - 1], &q = a.clicks[i];
      EXPECT_TRUE(p.label < q.label || (p.label == q.label && p.y * kW + p.x < q.y * kW + q.x));
    }
    std::set<int> pixels;
    for (const Click& c : a.clicks) {
      EXPECT_EQ(label_at(kMap, kW, c), c.label);
      pixels.insert(c.y * kW + c.x);
    }
    EXPECT_EQ(pixels.size(), a.clicks.size());  // without replacement
  }
  // More clicks than a class has pixels: class 5 gives its 4, the others their 6.
  const auto all = jnerf::simulate_annotation(kMap, kW, kH, 0, sparse(1, 5));
  const auto groups = by_class(all);
  EXPECT_EQ(groups.at(1).size(), 5u);
  EXPECT_EQ(groups.at(5).size(), 4u);
}

TEST(Annotations, SparseSingleClicksCoverEveryPixelOfAClassOverSeeds) {
  // One click among class 5's four pixels: over 200 seeds each pixel is picked (each has
  // probability 1/4 per seed; missing one in 200 tries has probability 4 * 0.75^200 ~ 1e-24).
  std::set<int> picked;
  for (std::uint64_t seed = 0; seed < 200; ++seed)
    for (const Click& c : jnerf::simulate_annotation(kMap, kW, kH, 0, sparse(seed)).clicks)
      if (c.label == 5) picked.insert(c.y * kW + c.x);
  EXPECT_EQ(picked, (std::set<int>{3 * kW + 3, 3 * kW + 4, 4 * kW + 3, 4 * kW + 4}));
}

TEST(Annotations, VoidIsNeverClicked) {
  AnnotationSettings s = sparse(5, 100);  // every clickable pixel
  const auto a = jnerf::simulate_annotation(kMap, kW, kH, 0, s);
  EXPECT_EQ(a.clicks.size(), 22u);  // 6 + 6 + 6 + 4
  for (const Click& c : a.clicks) EXPECT_GT(label_at(kMap, kW, c), 0);
  // Another void label: now class 0 is clickable and class 3 is void.
  s.void_label = 3;
  const auto b = jnerf::simulate_annotation(kMap, kW, kH, 0, s);
  EXPECT_EQ(b.classes(), (std::vector<int>{0, 1, 2, 5}));
  EXPECT_EQ(b.clicks.size(), static_cast<std::size_t>(kW * kH - 6 - 1));  // all but class 3 and the -1
}

TEST(Annotations, DenseAnnotatesEveryNonVoidPixelOnce) {
  AnnotationSettings s;
  s.mode = "dense";
  const auto a = jnerf::simulate_annotation(kMap, kW, kH, 2, s);
  ASSERT_EQ(a.clicks.size(), 22u);
  std::vector<int> rebuilt(kMap.size(), 0);
  for (const Click& c : a.clicks) rebuilt[static_cast<std::size_t>(c.y) * kW + c.x] = c.label;
  std::vector<int> expected = kMap;
  expected.back() = 0;  // the -1 pixel is void too
  EXPECT_EQ(rebuilt, expected);
}

TEST(Annotations, RegionsOfOneBlockAreTheSmallestSquareThatReachesTheTarget) {
  // A 30 x 20 block of class 1 (600 px) in a 40 x 30 image. Dilating a seed k times gives
  // the square of radius 2k around it, so the clicks must be that square cut by the block
  // (a rectangle) for the first k whose cut holds floor(600 f) pixels. The seed is not
  // known here, so every (seed, k) that explains the rectangle is tried; one must also
  // show that k - 1 dilations were too few.
  const int w = 40, h = 30, bx0 = 4, bx1 = 33, by0 = 5, by1 = 24;
  std::vector<int> map(w * h, 0);
  for (int y = by0; y <= by1; ++y)
    for (int x = bx0; x <= bx1; ++x) map[y * w + x] = 1;
  const auto cut = [&](int c, int r, int lo, int hi) { return std::make_pair(std::max(lo, c - r), std::min(hi, c + r)); };
  for (double f : {0.01, 0.05, 0.3}) {
    const int target = static_cast<int>(f * 600);  // 6, 30, 180
    for (std::uint64_t seed = 0; seed < 5; ++seed) {
      const auto a = jnerf::simulate_annotation(map, w, h, 0, regions(f, seed));
      int x0 = w, x1 = -1, y0 = h, y1 = -1;
      for (const Click& c : a.clicks) {
        EXPECT_EQ(label_at(map, w, c), 1);
        x0 = std::min(x0, c.x), x1 = std::max(x1, c.x), y0 = std::min(y0, c.y), y1 = std::max(y1, c.y);
      }
      EXPECT_GE(static_cast<int>(a.clicks.size()), target);
      EXPECT_EQ(a.clicks.size(), static_cast<std::size_t>((x1 - x0 + 1) * (y1 - y0 + 1)));  // a full rectangle
      bool explained = false;
      for (int sy = by0; sy <= by1 && !explained; ++sy)
        for (int sx = bx0; sx <= bx1 && !explained; ++sx)
          for (int k = 0; k <= 20 && !explained; ++k) {
            if (cut(sx, 2 * k, bx0, bx1) != std::make_pair(x0, x1) || cut(sy, 2 * k, by0, by1) != std::make_pair(y0, y1))
              continue;
            if (k == 0) {
              explained = true;
              break;
            }
            const auto px = cut(sx, 2 * k - 2, bx0, bx1), py = cut(sy, 2 * k - 2, by0, by1);
            explained = (px.second - px.first + 1) * (py.second - py.first + 1) < target;
          }
      EXPECT_TRUE(explained) << "f " << f << " seed " << seed << ": [" << x0 << ", " << x1 << "] x [" << y0 << ", " << y1 << "]";
    }
  }
}

TEST(Annotations, RegionsWithExtremeFractions) {
  // 10 x 10, class 4 everywhere. f = 1% of 100 is 1 pixel: only the seed, no growth.
  std::vector<int> map(100, 4);
  const auto one = jnerf::simulate_annotation(map, 10, 10, 0, regions(0.01));
  EXPECT_EQ(one.clicks.size(), 1u);
  EXPECT_EQ(one.fraction, 0.01);
  // f = 1: every pixel.
  const auto all = jnerf::simulate_annotation(map, 10, 10, 0, regions(1.0));
  EXPECT_EQ(all.clicks.size(), 100u);
  // A class too small for the fraction (2 pixels, 5% -> floor(0.1) = 0) still gets its seed.
  std::vector<int> tiny(100, 0);
  tiny[0] = 7, tiny[99] = 7;
  const auto t = jnerf::simulate_annotation(tiny, 10, 10, 0, regions(0.05));
  ASSERT_EQ(t.clicks.size(), 1u);
  EXPECT_EQ(t.clicks[0].label, 7);
}

TEST(Annotations, RegionsReseedWhenGrowthFindsNothingNew) {
  // Class 2 is 25 isolated pixels 6 apart (x, y in 1, 7, 13, 19, 25), so a 5x5 dilation
  // of one of them reaches no other: the growth must reseed. Half of them (12) are wanted.
  const int w = 27, h = 27;
  std::vector<int> map(w * h, 0);
  for (int y = 1; y < h; y += 6)
    for (int x = 1; x < w; x += 6) map[y * w + x] = 2;
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    const auto a = jnerf::simulate_annotation(map, w, h, 0, regions(0.5, seed));
    EXPECT_GE(a.clicks.size(), 12u);
    EXPECT_LE(a.clicks.size(), 25u);
    for (const Click& c : a.clicks) EXPECT_EQ(label_at(map, w, c), 2);
    const auto again = jnerf::simulate_annotation(map, w, h, 0, regions(0.5, seed));
    EXPECT_EQ(a.clicks, again.clicks);
  }
}

TEST(Annotations, RegionsCoverEachClassOfTheFixture) {
  // 50% of each class of the small map: floor(3) = 3 of 6, 2 of 4, all inside the class.
  const auto a = jnerf::simulate_annotation(kMap, kW, kH, 0, regions(0.5));
  const auto groups = by_class(a);
  ASSERT_EQ(groups.size(), 4u);
  for (const auto& [label, clicks] : groups) {
    EXPECT_GE(clicks.size(), label == 5 ? 2u : 3u) << label;
    for (const Click& c : clicks) EXPECT_EQ(label_at(kMap, kW, c), label);
  }
}

TEST(Annotations, ClassesAreSortedAndUnique) {
  Annotation a;
  a.clicks = {{0, 0, 5}, {1, 0, 2}, {2, 0, 5}, {3, 0, 0}, {4, 0, 2}};
  EXPECT_EQ(a.classes(), (std::vector<int>{0, 2, 5}));
  EXPECT_TRUE(Annotation{}.classes().empty());
}

TEST(Annotations, BadSimulationRequestsAreRejected) {
  EXPECT_TRUE(contains(input_error([] { jnerf::simulate_annotation(kMap, kW, kH + 1, 0, sparse(0)); }),
                       "label map has 48 pixels, expected 8x7"));
  AnnotationSettings s = sparse(0);
  s.mode = "scribbles";
  EXPECT_TRUE(contains(input_error([&] { jnerf::simulate_annotation(kMap, kW, kH, 0, s); }), "unknown mode 'scribbles'"));
  EXPECT_TRUE(contains(input_error([] { jnerf::simulate_annotation(kMap, kW, kH, 0, regions(0.0)); }),
                       "region fraction must be in (0, 1]"));
  EXPECT_TRUE(contains(input_error([] { jnerf::simulate_annotation(kMap, kW, kH, 0, sparse(0, 0)); }),
                       "clicks per class must be >= 1"));
  EXPECT_TRUE(contains(input_error([] { jnerf::simulate_annotation(std::vector<int>(4, 0), 2, 2, 0, sparse(0)); }),
                       "no non-void pixel"));
}

TEST(Annotations, SaveAndLoadRoundTrip) {
  const auto dir = jnerf::test::scratch_dir("rt");
  AnnotationSettings dense;
  dense.mode = "dense";
  dense.labels_kind = "instance";
  dense.seed = 18446744073709551615ull;  // the largest seed survives the file
  for (const auto& s : {sparse(9, 2), regions(0.05, 77), dense}) {
    const auto a = jnerf::simulate_annotation(kMap, kW, kH, 3, s);
    const auto file = dir / (s.mode + ".json");
    jnerf::save_annotation(file, a);
    expect_same(jnerf::load_annotation(file), a);
    // The file is the documented JSON.
    const auto j = jnerf::read_json_file(file);
    EXPECT_EQ(j["format"], "jnerf-annotations");
    EXPECT_EQ(j["version"], 1);
    EXPECT_EQ(j["frame_id"], 3);
    EXPECT_EQ(j["width"], kW);
    EXPECT_EQ(j["height"], kH);
    EXPECT_EQ(j["labels"], s.labels_kind);
    EXPECT_EQ(j["mode"], s.mode);
    EXPECT_EQ(j.contains("fraction"), s.mode == "regions");
    EXPECT_EQ(j["clicks"][0], jnerf::Json::array({a.clicks[0].x, a.clicks[0].y, a.clicks[0].label}));
  }
}

TEST(Annotations, BadFilesAreRejectedWithTheProblemNamed) {
  const auto dir = jnerf::test::scratch_dir("bad");
  const std::string good_head =
      R"("format": "jnerf-annotations", "version": 1, "frame_id": 0, "width": 4, "height": 3, )"
      R"("labels": "semantic", "mode": "sparse", "seed": 1)";
  const auto problem = [&](const std::string& name, const std::string& text) {
    const auto file = dir / (name + ".json");
    std::ofstream(file) << text;
    const std::string message = input_error([&] { jnerf::load_annotation(file); });
    EXPECT_TRUE(contains(message, file.string())) << message;
    return message;
  };
  // A good file loads.
  const auto ok = dir / "ok.json";
  std::ofstream(ok) << "{" << good_head << R"(, "clicks": [[0, 0, 1], [3, 2, 2]]})";
  EXPECT_EQ(jnerf::load_annotation(ok).clicks, (std::vector<Click>{{0, 0, 1}, {3, 2, 2}}));

  EXPECT_TRUE(contains(problem("missing", R"({"format": "jnerf-annotations", "version": 1, "frame_id": 0,
      "height": 3, "labels": "semantic", "mode": "sparse", "seed": 1, "clicks": [[0, 0, 1]]})"),
                       "missing key 'width'"));
  EXPECT_TRUE(contains(problem("outside", "{" + good_head + R"(, "clicks": [[4, 0, 1]]})"),
                       "click 0 at (4, 0) lies outside the 4x3 image"));
  EXPECT_TRUE(contains(problem("outside_y", "{" + good_head + R"(, "clicks": [[0, 0, 1], [1, -1, 1]]})"),
                       "click 1 at (1, -1) lies outside"));
  EXPECT_TRUE(contains(problem("type", R"({"format": "jnerf-annotations", "version": 1, "frame_id": 0,
      "width": "four", "height": 3, "labels": "semantic", "mode": "sparse", "seed": 1, "clicks": [[0, 0, 1]]})"),
                       "'width' must be an integer >= 1, got \"four\""));
  EXPECT_TRUE(contains(problem("click_type", "{" + good_head + R"(, "clicks": [[0, 0.5, 1]]})"),
                       "click 0 must be [x, y, label] with three integers, got [0,0.5,1]"));
  EXPECT_TRUE(contains(problem("click_len", "{" + good_head + R"(, "clicks": [[0, 0]]})"),
                       "click 0 must be [x, y, label]"));
  EXPECT_TRUE(contains(problem("clicks_type", "{" + good_head + R"(, "clicks": {}})"), "'clicks' must be an array"));
  EXPECT_TRUE(contains(problem("no_clicks", "{" + good_head + R"(, "clicks": []})"), "'clicks' is empty"));
  EXPECT_TRUE(contains(problem("negative", "{" + good_head + R"(, "clicks": [[0, 0, -2]]})"),
                       "click 0 has label -2, expected >= 0"));
  EXPECT_TRUE(contains(problem("duplicate", "{" + good_head + R"(, "clicks": [[1, 1, 1], [0, 0, 1], [1, 1, 2]]})"),
                       "clicks 0 and 2 both annotate pixel (1, 1)"));
  EXPECT_TRUE(contains(problem("format", R"({"format": "labels", "version": 1})"),
                       "'format' must be \"jnerf-annotations\", got \"labels\""));
  EXPECT_TRUE(contains(problem("version", R"({"format": "jnerf-annotations", "version": 2})"),
                       "unsupported 'version' 2"));
  EXPECT_TRUE(contains(problem("unknown", "{" + good_head + R"(, "clicks": [[0, 0, 1]], "colour": 3})"),
                       "unknown key 'colour'"));
  EXPECT_TRUE(contains(problem("mode", R"({"format": "jnerf-annotations", "version": 1, "frame_id": 0,
      "width": 4, "height": 3, "labels": "semantic", "mode": "scribble", "seed": 1, "clicks": [[0, 0, 1]]})"),
                       "'mode' must be \"sparse\", \"regions\" or \"dense\", got \"scribble\""));
  EXPECT_TRUE(contains(problem("kind", R"({"format": "jnerf-annotations", "version": 1, "frame_id": 0,
      "width": 4, "height": 3, "labels": "panoptic", "mode": "sparse", "seed": 1, "clicks": [[0, 0, 1]]})"),
                       "'labels' must be \"semantic\" or \"instance\""));
  EXPECT_TRUE(contains(problem("no_fraction", R"({"format": "jnerf-annotations", "version": 1, "frame_id": 0,
      "width": 4, "height": 3, "labels": "semantic", "mode": "regions", "seed": 1, "clicks": [[0, 0, 1]]})"),
                       "missing key 'fraction'"));
  EXPECT_TRUE(contains(problem("bad_fraction", R"({"format": "jnerf-annotations", "version": 1, "frame_id": 0,
      "width": 4, "height": 3, "labels": "semantic", "mode": "regions", "fraction": 1.5, "seed": 1,
      "clicks": [[0, 0, 1]]})"),
                       "'fraction' must be a number in (0, 1], got 1.5"));
  EXPECT_TRUE(contains(problem("stray_fraction", "{" + good_head + R"(, "fraction": 0.1, "clicks": [[0, 0, 1]]})"),
                       "'fraction' is only allowed with mode \"regions\""));
  EXPECT_TRUE(contains(problem("seed", R"({"format": "jnerf-annotations", "version": 1, "frame_id": 0,
      "width": 4, "height": 3, "labels": "semantic", "mode": "sparse", "seed": -1, "clicks": [[0, 0, 1]]})"),
                       "'seed' must be a non-negative integer, got -1"));
  EXPECT_TRUE(contains(problem("array", "[1, 2]"), "expected a JSON object, got array"));
  EXPECT_TRUE(contains(problem("malformed", "{\"format\": "), "malformed JSON"));
  EXPECT_TRUE(contains(input_error([&] { jnerf::load_annotation(dir / "absent.json"); }), "no such file"));
}
