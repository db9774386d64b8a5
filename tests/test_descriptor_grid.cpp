// Descriptor grids: .npy files written byte by byte here, loaded through DescriptorGrid,
// resized with the INTER_AREA rule documented in descriptor_grid.hpp.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "jnerf/core/error.hpp"
#include "jnerf/io/npy.hpp"
#include "jnerf/shape/descriptor_grid.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using jnerf::DescriptorGrid;
using jnerf::InputError;
using jnerf::test::contains;
using jnerf::test::input_error;

namespace {

// A version 1.0 .npy file: magic, version, header length, dict padded so the data starts
// at a multiple of 64 bytes, then the raw little-endian data.
void write_npy(const fs::path& file, const std::string& descr, const std::vector<std::size_t>& shape,
               const void* data, std::size_t bytes) {
  std::string dims;
  for (std::size_t i = 0; i < shape.size(); ++i) dims += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) dims += ",";
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + dims + "), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::ofstream out(file, std::ios::binary);
  const unsigned char magic[8] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  out.write(reinterpret_cast<const char*>(magic), 8);
  const unsigned char len[2] = {static_cast<unsigned char>(header.size() & 0xff),
                                static_cast<unsigned char>(header.size() >> 8)};
  out.write(reinterpret_cast<const char*>(len), 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));  // host is little-endian
}

void write_f32(const fs::path& file, const std::vector<std::size_t>& shape, const std::vector<float>& v) {
  write_npy(file, "<f4", shape, v.data(), v.size() * sizeof(float));
}

// value(r, c, d) of a test grid: bounded, sign-varying, not a linear function of r and c
std::vector<float> pattern(int rows, int cols, int dims) {
  std::vector<float> v;
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c)
      for (int d = 0; d < dims; ++d)
        v.push_back(static_cast<float>(std::sin(1.3 * r + 0.7 * c * c + 2.1 * d) + 0.25 * d - 0.5 * std::cos(0.37 * r * c)));
  return v;
}

DescriptorGrid make(int rows, int cols, int dims) { return DescriptorGrid(rows, cols, dims, pattern(rows, cols, dims)); }

// ---- an independent statement of the documented rule, in double -------------------------

struct W {
  int index;
  double weight;
};

// The enlarging ("linear") rule for target index x of one axis, src -> dst cells.
std::vector<W> linear_rule(int src, int dst, int x) {
  const double inv = static_cast<double>(dst) / src, scale = 1. / inv;
  int s = static_cast<int>(std::floor(x * scale));
  double f = (x + 1) - (s + 1) * inv;
  f = f <= 0 ? 0 : f - std::floor(f);
  if (s >= src - 1) s = src - 1, f = 0;
  return {{s, 1 - f}, {std::min(s + 1, src - 1), f}};
}

// The shrinking rule: overlap of [x * scale, (x + 1) * scale) with each cell, over its length.
std::vector<W> area_rule(int src, int dst, int x) {
  const double scale = static_cast<double>(src) / dst;
  const double lo = x * scale, hi = std::min((x + 1) * scale, static_cast<double>(src));
  std::vector<W> out;
  for (int s = 0; s < src; ++s) {
    const double overlap = std::min(hi, s + 1.0) - std::max(lo, static_cast<double>(s));
    if (overlap > 1e-3) out.push_back({s, overlap / (hi - lo)});
  }
  return out;
}

std::vector<double> expected_value(const DescriptorGrid& g, int width, int height, int x, int y) {
  const bool shrink = width <= g.grid_width() && height <= g.grid_height();
  const auto wx = shrink ? area_rule(g.grid_width(), width, x) : linear_rule(g.grid_width(), width, x);
  const auto wy = shrink ? area_rule(g.grid_height(), height, y) : linear_rule(g.grid_height(), height, y);
  std::vector<double> v(static_cast<std::size_t>(g.dims()), 0.0);
  for (const W& a : wy)
    for (const W& b : wx)
      for (int d = 0; d < g.dims(); ++d) v[d] += a.weight * b.weight * g.cell(a.index, b.index)[d];
  return v;
}

void expect_matches_rule(const DescriptorGrid& g, int width, int height, double tol) {
  std::vector<float> got(static_cast<std::size_t>(g.dims()));
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      g.resized_value(width, height, x, y, got.data());
      const auto want = expected_value(g, width, height, x, y);
      for (int d = 0; d < g.dims(); ++d)
        ASSERT_NEAR(got[d], want[d], tol) << width << "x" << height << " at (" << x << ", " << y << ") dim " << d;
    }
}

double norm(const float* v, int n) {
  double s = 0;
  for (int i = 0; i < n; ++i) s += static_cast<double>(v[i]) * v[i];
  return std::sqrt(s);
}

}  // namespace

TEST(DescriptorGrid, LoadsFloat32AndKeepsLayout) {
  const auto dir = jnerf::test::scratch_dir("grid");
  const auto values = pattern(3, 4, 5);
  write_f32(dir / "f.npy", {3, 4, 5}, values);
  const DescriptorGrid g = DescriptorGrid::load(dir / "f.npy");
  EXPECT_EQ(g.grid_height(), 3);
  EXPECT_EQ(g.grid_width(), 4);
  EXPECT_EQ(g.dims(), 5);
  EXPECT_EQ(g.values(), values);
  EXPECT_EQ(g.cell(2, 1)[3], values[(2 * 4 + 1) * 5 + 3]);
  EXPECT_EQ(g.source(), dir / "f.npy");
  EXPECT_EQ(jnerf::read_npy(dir / "f.npy").dtype, "<f4");
}

TEST(DescriptorGrid, DecodesFloat16) {
  const auto dir = jnerf::test::scratch_dir("grid");
  // 1, -2, 0.5, 65504 (largest half), 2^-24 (smallest subnormal), -0, 0.1 (rounded), 1/3 (rounded)
  const std::vector<std::uint16_t> half = {0x3C00, 0xC000, 0x3800, 0x7BFF, 0x0001, 0x8000, 0x2E66, 0x3555};
  write_npy(dir / "h.npy", "<f2", {1, 2, 4}, half.data(), half.size() * 2);
  const DescriptorGrid g = DescriptorGrid::load(dir / "h.npy");
  ASSERT_EQ(g.dims(), 4);
  ASSERT_EQ(g.grid_width(), 2);
  ASSERT_EQ(g.grid_height(), 1);
  const std::vector<float> want = {1.f, -2.f, 0.5f, 65504.f, std::ldexp(1.f, -24), -0.f,
                                   0.0999755859375f, 0.333251953125f};
  EXPECT_EQ(g.values(), want);
  EXPECT_TRUE(std::signbit(g.values()[5]));
  EXPECT_EQ(jnerf::read_npy(dir / "h.npy").dtype, "<f2");
}

TEST(DescriptorGrid, IdentitySizeCopiesCells) {
  const DescriptorGrid g = make(3, 4, 6);
  std::vector<float> v(6), n(6);
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 4; ++x) {
      g.resized_value(4, 3, x, y, v.data());
      for (int d = 0; d < 6; ++d) EXPECT_EQ(v[d], g.cell(y, x)[d]);
      g.pixel_descriptor(4, 3, x, y, n.data());
      const double len = norm(g.cell(y, x), 6);
      for (int d = 0; d < 6; ++d) EXPECT_FLOAT_EQ(n[d], static_cast<float>(g.cell(y, x)[d] / (len + 1e-7)));
    }
}

TEST(DescriptorGrid, IntegerDownscaleAveragesBlocks) {
  // 4 x 6 grid of small integers, 2 dims: a 2x2 -> 1 reduction is exact in float
  std::vector<float> v;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 6; ++c) v.insert(v.end(), {static_cast<float>(r * 6 + c), static_cast<float>(-(r + c))});
  const DescriptorGrid g(4, 6, 2, v);
  float out[2];
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 3; ++x) {
      g.resized_value(3, 2, x, y, out);
      double want0 = 0, want1 = 0;
      for (int r = 2 * y; r < 2 * y + 2; ++r)
        for (int c = 2 * x; c < 2 * x + 2; ++c) want0 += (r * 6 + c) / 4.0, want1 += -(r + c) / 4.0;
      EXPECT_EQ(out[0], static_cast<float>(want0)) << x << "," << y;
      EXPECT_EQ(out[1], static_cast<float>(want1)) << x << "," << y;
    }
  // e.g. the top-left block {0, 1, 6, 7} -> 3.5 and {0, -1, -1, -2} -> -1
  g.resized_value(3, 2, 0, 0, out);
  EXPECT_EQ(out[0], 3.5f);
  EXPECT_EQ(out[1], -1.f);
  // 3x reduction in one axis, identity in the other
  g.resized_value(2, 4, 1, 3, out);
  EXPECT_FLOAT_EQ(out[0], (21.f + 22.f + 23.f) / 3.f);
}

TEST(DescriptorGrid, NonIntegerDownscaleWeightsByOverlap) {
  // 5 -> 2 columns: windows [0, 2.5) and [2.5, 5): weights 0.4, 0.4, 0.2 | 0.2, 0.4, 0.4
  std::vector<float> v = {1, 10, 100, 1000, 10000};
  const DescriptorGrid g(1, 5, 1, v);
  float out;
  g.resized_value(2, 1, 0, 0, &out);
  EXPECT_NEAR(out, 0.4 * 1 + 0.4 * 10 + 0.2 * 100, 1e-4);
  g.resized_value(2, 1, 1, 0, &out);
  EXPECT_NEAR(out, 0.2 * 100 + 0.4 * 1000 + 0.4 * 10000, 1e-2);
  const DescriptorGrid h = make(7, 9, 3);
  for (auto [w, hgt] : {std::pair{4, 3}, {2, 2}, {9, 5}, {5, 7}, {1, 1}, {3, 6}}) expect_matches_rule(h, w, hgt, 2e-5);
}

TEST(DescriptorGrid, UpscaleTwoByTwoToFiveByThree) {
  // 2x2 cells, 2 dims: rows 2 -> 3, columns 2 -> 5
  const std::vector<float> v = {1, -1, 3, 2,    // row 0: a = (1, -1), b = (3, 2)
                                5, 0, -7, 4};   // row 1: c = (5, 0), d = (-7, 4)
  const DescriptorGrid g(2, 2, 2, v);
  // The documented rule by hand: columns a, a, (a+b)/2, b, b; rows r0, (r0+r1)/2, r1.
  const double col_w[5][2] = {{1, 0}, {1, 0}, {0.5, 0.5}, {0, 1}, {0, 1}};
  const double row_w[3][2] = {{1, 0}, {0.5, 0.5}, {0, 1}};
  for (int x = 0; x < 5; ++x) {
    const auto rule = linear_rule(2, 5, x);
    double w1 = 0;
    for (const W& t : rule) w1 += t.index == 1 ? t.weight : 0;
    EXPECT_DOUBLE_EQ(w1, col_w[x][1]) << "column " << x;
  }
  for (int y = 0; y < 3; ++y) {
    const auto rule = linear_rule(2, 3, y);
    double w1 = 0;
    for (const W& t : rule) w1 += t.index == 1 ? t.weight : 0;
    EXPECT_DOUBLE_EQ(w1, row_w[y][1]) << "row " << y;
  }
  float out[2];
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 5; ++x) {
      g.resized_value(5, 3, x, y, out);
      for (int d = 0; d < 2; ++d) {
        double want = 0;
        for (int r = 0; r < 2; ++r)
          for (int c = 0; c < 2; ++c) want += row_w[y][r] * col_w[x][c] * v[(r * 2 + c) * 2 + d];
        EXPECT_NEAR(out[d], want, 1e-6) << "(" << x << ", " << y << ") dim " << d;
      }
    }
  g.resized_value(5, 3, 2, 1, out);  // the centre: mean of all four cells
  EXPECT_NEAR(out[0], (1 + 3 + 5 - 7) / 4.0, 1e-6);
  EXPECT_NEAR(out[1], (-1 + 2 + 0 + 4) / 4.0, 1e-6);
  // the reference's own case, 119 x 89 -> 320 x 240, on a smaller stand-in with the same ratio
  expect_matches_rule(make(5, 7, 3), 19, 13, 1e-5);
  expect_matches_rule(make(89, 119, 2), 320, 240, 1e-5);
}

TEST(DescriptorGrid, MixedShrinkAndGrowUsesTheLinearRuleOnBothAxes) {
  // columns 6 -> 2 (shrink by 3), rows 2 -> 3 (grow): OpenCV's linear emulation on both axes,
  // so column 0 blends cells 0 and 1 with weights 1/3, 2/3 (not the 1/3-each area mean).
  std::vector<float> v = {0, 3, 6, 9, 12, 15,
                          0, 3, 6, 9, 12, 15};
  const DescriptorGrid g(2, 6, 1, v);
  float out;
  g.resized_value(2, 3, 0, 0, &out);
  EXPECT_NEAR(out, (1.0 / 3) * 0 + (2.0 / 3) * 3, 1e-5);
  g.resized_value(2, 3, 1, 2, &out);
  EXPECT_NEAR(out, (1.0 / 3) * 9 + (2.0 / 3) * 12, 1e-5);
  expect_matches_rule(make(4, 9, 2), 4, 7, 2e-5);
  expect_matches_rule(make(8, 3, 2), 7, 5, 2e-5);
}

TEST(DescriptorGrid, DescriptorsAreUnitLengthAndMapMatchesPixels) {
  const DescriptorGrid g = make(5, 7, 8);
  for (auto [w, h] : {std::pair{19, 13}, {7, 5}, {3, 2}, {4, 9}}) {
    std::vector<float> map;
    g.descriptor_map(w, h, map);
    ASSERT_EQ(map.size(), static_cast<std::size_t>(w) * h * 8);
    std::vector<float> px(8), raw(8);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        g.pixel_descriptor(w, h, x, y, px.data());
        g.resized_value(w, h, x, y, raw.data());
        const float* m = map.data() + (static_cast<std::size_t>(y) * w + x) * 8;
        for (int d = 0; d < 8; ++d) ASSERT_EQ(px[d], m[d]);
        EXPECT_NEAR(norm(px.data(), 8), 1.0, 1e-5);
        const double len = norm(raw.data(), 8);
        for (int d = 0; d < 8; ++d) EXPECT_NEAR(px[d], raw[d] / (len + 1e-7), 1e-6);
      }
  }
  // a zero descriptor stays zero (norm + 1e-7 in the denominator)
  const DescriptorGrid zero(1, 1, 3, {0.f, 0.f, 0.f});
  float z[3];
  zero.pixel_descriptor(2, 2, 1, 1, z);
  EXPECT_EQ(z[0], 0.f);
  EXPECT_EQ(z[2], 0.f);
}

TEST(DescriptorGrid, RejectsBadCallsAndBadConstruction) {
  const DescriptorGrid g = make(2, 2, 2);
  float out[2];
  EXPECT_THROW(g.pixel_descriptor(0, 3, 0, 0, out), std::invalid_argument);
  EXPECT_THROW(g.pixel_descriptor(5, 3, 5, 0, out), std::out_of_range);
  EXPECT_THROW(g.pixel_descriptor(5, 3, 0, -1, out), std::out_of_range);
  EXPECT_THROW(DescriptorGrid().pixel_descriptor(5, 3, 0, 0, out), std::logic_error);
  EXPECT_THROW(DescriptorGrid(2, 2, 2, std::vector<float>(7)), std::invalid_argument);
  EXPECT_THROW(DescriptorGrid(0, 2, 2, {}), std::invalid_argument);
}

TEST(DescriptorGrid, BadFilesAreInputErrorsNamingTheFile) {
  const auto dir = jnerf::test::scratch_dir("grid");
  auto load = [](const fs::path& f) { return [f] { DescriptorGrid::load(f); }; };

  std::string msg = input_error(load(dir / "missing_7.npy"));
  EXPECT_TRUE(contains(msg, "missing_7.npy")) << msg;

  const std::vector<float> flat = {1, 2, 3, 4, 5, 6};
  write_f32(dir / "two_d.npy", {2, 3}, flat);
  msg = input_error(load(dir / "two_d.npy"));
  EXPECT_TRUE(contains(msg, "two_d.npy") && contains(msg, "3-D")) << msg;

  const std::vector<std::int32_t> ints = {1, 2, 3, 4};
  write_npy(dir / "ints.npy", "<i4", {1, 2, 2}, ints.data(), ints.size() * 4);
  msg = input_error(load(dir / "ints.npy"));
  EXPECT_TRUE(contains(msg, "ints.npy") && contains(msg, "<i4")) << msg;

  const std::vector<double> f64 = {1, 2, 3, 4};
  write_npy(dir / "doubles.npy", "<f8", {1, 2, 2}, f64.data(), f64.size() * 8);
  msg = input_error(load(dir / "doubles.npy"));
  EXPECT_TRUE(contains(msg, "doubles.npy") && contains(msg, "float16 or float32")) << msg;

  std::vector<float> with_nan = {1, 2, std::numeric_limits<float>::quiet_NaN(), 4};
  write_f32(dir / "nan.npy", {1, 2, 2}, with_nan);
  msg = input_error(load(dir / "nan.npy"));
  EXPECT_TRUE(contains(msg, "nan.npy") && contains(msg, "non-finite") && contains(msg, "(0, 1, 0)")) << msg;

  std::vector<float> with_inf = {1, std::numeric_limits<float>::infinity()};
  write_f32(dir / "inf.npy", {1, 1, 2}, with_inf);
  msg = input_error(load(dir / "inf.npy"));
  EXPECT_TRUE(contains(msg, "inf.npy") && contains(msg, "non-finite")) << msg;

  write_f32(dir / "empty.npy", {0, 4, 3}, {});
  msg = input_error(load(dir / "empty.npy"));
  EXPECT_TRUE(contains(msg, "empty.npy") && contains(msg, "empty")) << msg;

  std::ofstream(dir / "garbage.npy") << "not numpy";
  msg = input_error(load(dir / "garbage.npy"));
  EXPECT_TRUE(contains(msg, "garbage.npy")) << msg;
}

TEST(DescriptorGrid, DescriptorPathUsesTheImageStem) {
  EXPECT_EQ(jnerf::descriptor_path("feat", "rgb/rgb_15.png"), fs::path("feat") / "rgb_15.npy");
  EXPECT_EQ(jnerf::descriptor_path("/d/dino", "images/frame.0001.jpg"), fs::path("/d/dino") / "frame.0001.npy");
  EXPECT_EQ(jnerf::descriptor_path("f", "r_3.png"), fs::path("f") / "r_3.npy");
  const std::string msg = input_error([] { jnerf::descriptor_path("f", ""); });
  EXPECT_FALSE(msg.empty());
}

// Cross-check against OpenCV itself where a Python with cv2 exists ($JNERF_OPENCV_PYTHON or
// /usr/bin/python3); skipped elsewhere. OpenCV refuses a non-integer shrink of more than 4
// channels, so those cases keep to 4; the 384-channel case needs OpenCV 4.
TEST(DescriptorGrid, MatchesOpenCvWhenAvailable) {
  const char* env = std::getenv("JNERF_OPENCV_PYTHON");
  const std::string py = env && *env ? env : "/usr/bin/python3";
  if (std::system((py + " -c 'import cv2, numpy' >/dev/null 2>&1").c_str()) != 0)
    GTEST_SKIP() << py << " cannot import cv2 and numpy; OpenCV cross-check skipped";
  const auto dir = jnerf::test::scratch_dir("cv");
  struct Case {
    int rows, cols, dims, width, height;
  };
  const std::vector<Case> cases = {{2, 2, 3, 5, 3},    {89, 119, 6, 320, 240}, {4, 6, 5, 3, 2},  {7, 9, 3, 4, 3},
                                   {9, 7, 2, 5, 7},    {6, 2, 4, 2, 3},        {4, 9, 2, 4, 7},  {5, 5, 384, 13, 11},
                                   {12, 8, 4, 3, 4},   {3, 4, 2, 3, 4},        {10, 10, 3, 1, 1}, {5, 3, 2, 5, 8}};
  int major = 0;
  if (FILE* pipe = popen((py + " -c 'import cv2; print(cv2.__version__)'").c_str(), "r")) {
    if (std::fscanf(pipe, "%d", &major) != 1) major = 0;
    pclose(pipe);
  }
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    if (c.dims > 4 * 32 && major >= 5) continue;  // OpenCV 5 rejects arrays with that many channels
    const DescriptorGrid g = make(c.rows, c.cols, c.dims);
    const fs::path in = dir / ("in" + std::to_string(i) + ".npy"), out = dir / ("out" + std::to_string(i) + ".npy");
    write_f32(in, {static_cast<std::size_t>(c.rows), static_cast<std::size_t>(c.cols),
                   static_cast<std::size_t>(c.dims)}, g.values());
    const std::string cmd = py + " -c \"import cv2, numpy as np; a = np.load('" + in.string() +
                            "'); r = cv2.resize(a, (" + std::to_string(c.width) + ", " + std::to_string(c.height) +
                            "), interpolation=cv2.INTER_AREA); np.save('" + out.string() +
                            "', r.reshape(" + std::to_string(c.height) + ", " + std::to_string(c.width) +
                            ", -1).astype(np.float32))\"";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    const jnerf::NpyArray ref = jnerf::read_npy(out);
    ASSERT_EQ(ref.size(), static_cast<std::size_t>(c.width) * c.height * c.dims);
    std::vector<float> v(static_cast<std::size_t>(c.dims));
    double worst = 0;
    for (int y = 0; y < c.height; ++y)
      for (int x = 0; x < c.width; ++x) {
        g.resized_value(c.width, c.height, x, y, v.data());
        for (int d = 0; d < c.dims; ++d) {
          const double r = ref.values[(static_cast<std::size_t>(y) * c.width + x) * c.dims + d];
          worst = std::max(worst, std::abs(v[d] - r) / std::max(1.0, std::abs(r)));
        }
      }
    EXPECT_LT(worst, 1e-6) << c.rows << "x" << c.cols << "x" << c.dims << " -> " << c.width << "x" << c.height;
  }
}
