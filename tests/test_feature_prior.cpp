// Feature priors: CIE Lab values, the geometric descriptor of a known plane, the affinity
// kernels, and the oracle and file priors' affinities on a hand-made dataset.
#include <cmath>
#include <cstring>
#include <fstream>

#include <gtest/gtest.h>

#include "jnerf/core/error.hpp"
#include "jnerf/shape/feature_prior.hpp"
#include "jnerf/train/nerf_engine.hpp"
#include "test_support.hpp"

namespace {

using jnerf::AffinityKernel;

jnerf::Frame flat_frame(int w, int h, const std::string& name) {
  jnerf::Frame f;
  f.name = name;
  f.intrinsics.width = w;
  f.intrinsics.height = h;
  f.intrinsics.fx = f.intrinsics.fy = 10;
  f.intrinsics.cx = (w - 1) / 2.0;
  f.intrinsics.cy = (h - 1) / 2.0;
  f.rgb = jnerf::ImageF(w, h, 3, 0.5f);
  f.near = 0.1f;
  f.far = 5.f;
  return f;
}

// Two training views of 4 x 3 pixels whose instance ids are the column index.
jnerf::Dataset tiny_dataset() {
  jnerf::Dataset d;
  d.format = "replica";
  d.near = 0.1f;
  d.far = 5.f;
  for (int v = 0; v < 2; ++v) {
    jnerf::Frame f = flat_frame(4, 3, "rgb/rgb_" + std::to_string(v) + ".png");
    f.instance = jnerf::ImageU16(4, 3, 1);
    f.semantic = jnerf::ImageU16(4, 3, 1);
    for (int y = 0; y < 3; ++y)
      for (int x = 0; x < 4; ++x) {
        f.instance.at(x, y) = static_cast<std::uint16_t>(x + 1);
        f.semantic.at(x, y) = static_cast<std::uint16_t>(x / 2 + 1);
      }
    d.frames.push_back(f);
    d.train.push_back(v);
  }
  return d;
}

std::unique_ptr<jnerf::NerfEngine> tiny_engine(const jnerf::Json& config, const jnerf::Dataset& d) {
  return jnerf::make_nerf_engine(config, d, "cpu");
}

jnerf::Json tiny_config() {
  jnerf::Json c = jnerf::default_config();
  for (const char* s : {"model.semantic_nerf.trunk_depth=2", "model.semantic_nerf.trunk_width=8",
                        "model.semantic_nerf.skips=[]", "model.semantic_nerf.view_width=4",
                        "sampler.coarse_samples=4", "sampler.fine_samples=2"})
    jnerf::apply_override(c, s);
  return c;
}

// A float32 .npy of shape (h, w, d).
void write_npy(const std::filesystem::path& file, int h, int w, int d, const std::vector<float>& values) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(h) + ", " +
                       std::to_string(w) + ", " + std::to_string(d) + "), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::ofstream out(file, std::ios::binary);
  out.write("\x93NUMPY\x01\x00", 8);
  const std::uint16_t len = static_cast<std::uint16_t>(header.size());
  out.write(reinterpret_cast<const char*>(&len), 2);
  out << header;
  out.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * 4));
}

}  // namespace

TEST(FeaturePrior, SrgbToLabKnownValues) {
  double lab[3];
  const float white[3] = {1, 1, 1}, red[3] = {1, 0, 0}, black[3] = {0, 0, 0};
  jnerf::srgb_to_lab(white, lab);
  EXPECT_NEAR(lab[0], 100.0, 1e-3);
  EXPECT_NEAR(lab[1], 0.0, 1e-2);
  EXPECT_NEAR(lab[2], 0.0, 1e-2);
  jnerf::srgb_to_lab(red, lab);  // standard values for sRGB red under D65
  EXPECT_NEAR(lab[0], 53.24, 0.01);
  EXPECT_NEAR(lab[1], 80.09, 0.02);
  EXPECT_NEAR(lab[2], 67.20, 0.02);
  jnerf::srgb_to_lab(black, lab);
  EXPECT_NEAR(lab[0], 0.0, 1e-9);
}

// A plane at z = 2 in front of a camera at the origin looking down +z.
TEST(FeaturePrior, GeometricDescriptorOfAPlane) {
  jnerf::Frame f = flat_frame(5, 4, "plane");
  const float orange[3] = {0.8f, 0.5f, 0.2f};
  for (int p = 0; p < 20; ++p)
    for (int k = 0; k < 3; ++k) f.rgb.data[p * 3 + k] = orange[k];
  const jnerf::ImageF depth(5, 4, 1, 2.f);
  jnerf::GeometricPriorScales scales;
  scales.colour = 10.0;  // a*, b*
  scales.lightness = 25.0;  // L*
  scales.position = 2.0;
  scales.normal = 0.5;
  const jnerf::ViewDescriptors d = jnerf::geometric_descriptors(f, depth, scales);
  ASSERT_EQ(d.dims, 9);
  double lab[3];
  jnerf::srgb_to_lab(orange, lab);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 5; ++x) {
      const float* v = d.at(static_cast<std::size_t>(y) * 5 + x);
      EXPECT_NEAR(v[0], lab[0] / 25.0, 1e-5);
      EXPECT_NEAR(v[1], lab[1] / 10.0, 1e-5);
      EXPECT_NEAR(v[2], lab[2] / 10.0, 1e-5);
      EXPECT_NEAR(v[3], (x - 2.0) / 10.0 * 2.0 / 2.0, 1e-6);  // X = (x - cx) / fx * z, over the scale
      EXPECT_NEAR(v[4], (y - 1.5) / 10.0 * 2.0 / 2.0, 1e-6);
      EXPECT_NEAR(v[5], 2.0 / 2.0, 1e-6);
      EXPECT_NEAR(v[6], 0.0, 1e-6);  // the normal faces the camera: (0, 0, -1)
      EXPECT_NEAR(v[7], 0.0, 1e-6);
      EXPECT_NEAR(v[8], -1.0 / 0.5, 1e-6);
    }
}

// Vertical stripes (red, blue, red, ...) on a wall at depth 2 and a green box at depth 1 in
// the right two columns: a 3 x 3 window averages the stripes' Lab and never mixes in the box.
TEST(FeaturePrior, ColourWindowAveragesTheSurfaceOnly) {
  const int w = 6, h = 3;
  jnerf::Frame f = flat_frame(w, h, "stripes");
  jnerf::ImageF depth(w, h, 1, 2.f);
  const float red[3] = {0.9f, 0.1f, 0.1f}, blue[3] = {0.1f, 0.1f, 0.9f}, green[3] = {0.1f, 0.8f, 0.2f};
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const float* c = x >= 4 ? green : (x % 2 == 0 ? red : blue);
      for (int k = 0; k < 3; ++k) f.rgb.data[(y * w + x) * 3 + k] = c[k];
      if (x >= 4) depth.data[y * w + x] = 1.f;
    }
  double r[3], b[3], g[3];
  jnerf::srgb_to_lab(red, r);
  jnerf::srgb_to_lab(blue, b);
  jnerf::srgb_to_lab(green, g);
  const auto same = jnerf::surface_mean_lab(f, depth, 1);
  for (int k = 0; k < 3; ++k) EXPECT_NEAR(same[1][k], b[k], 1e-9);
  const auto mean = jnerf::surface_mean_lab(f, depth, 3);
  for (int k = 0; k < 3; ++k) {
    // Row 1, column 1: columns 0-2 of rows 0-2 are red, blue, red.
    EXPECT_NEAR(mean[1 * w + 1][k], (2 * r[k] + b[k]) / 3, 1e-9);
    // Column 3 (blue) sees columns 2-3 of the wall; column 4 of the box is 2x nearer.
    EXPECT_NEAR(mean[1 * w + 3][k], (r[k] + b[k]) / 2, 1e-9);
    // The box averages only itself: green.
    EXPECT_NEAR(mean[0 * w + 4][k], g[k], 1e-9);
    // Row 0, column 0 (corner): columns 0-1 of rows 0-1.
    EXPECT_NEAR(mean[0][k], (r[k] + b[k]) / 2, 1e-9);
  }
  // The descriptor carries the averaged colour.
  jnerf::GeometricPriorScales scales;
  scales.colour_window = 3;
  const jnerf::ViewDescriptors d = jnerf::geometric_descriptors(f, depth, scales);
  EXPECT_NEAR(d.at(1 * w + 1)[1], (2 * r[1] + b[1]) / 3 / scales.colour, 1e-5);
  EXPECT_NEAR(d.at(1 * w + 1)[0], (2 * r[0] + b[0]) / 3 / scales.lightness, 1e-5);
}

TEST(FeaturePrior, EvenColourWindowIsAnInputError) {
  const jnerf::Dataset d = tiny_dataset();
  jnerf::Json config = tiny_config();
  config["shape"]["prior"]["colour_window"] = 4;
  auto engine = tiny_engine(config, d);
  EXPECT_TRUE(jnerf::test::contains(
      jnerf::test::input_error([&] { jnerf::make_feature_prior(config, d, *engine); }), "colour_window"));
}

TEST(FeaturePrior, AffinityKernels) {
  const float a[3] = {1, 2, 3}, b[3] = {1, 0, 3}, c[1] = {7}, e[1] = {7}, f[1] = {8};
  EXPECT_NEAR(jnerf::descriptor_affinity(AffinityKernel::Gaussian, a, b, 3), std::exp(-2.0), 1e-12);
  EXPECT_NEAR(jnerf::descriptor_affinity(AffinityKernel::Gaussian, a, a, 3), 1.0, 1e-15);
  EXPECT_NEAR(jnerf::descriptor_affinity(AffinityKernel::Dot, a, b, 3), 10.0, 1e-12);
  EXPECT_EQ(jnerf::descriptor_affinity(AffinityKernel::SameId, c, e, 1), 1.0);
  EXPECT_EQ(jnerf::descriptor_affinity(AffinityKernel::SameId, c, f, 1), 0.0);
}

TEST(FeaturePrior, OracleAffinityIsSameInstance) {
  const jnerf::Dataset d = tiny_dataset();
  jnerf::Json config = tiny_config();
  config["shape"]["prior"]["type"] = "oracle";
  auto engine = tiny_engine(config, d);
  const auto prior = jnerf::make_feature_prior(config, d, *engine);
  EXPECT_TRUE(prior->is_oracle());
  EXPECT_FALSE(prior->adaptive_threshold());
  EXPECT_TRUE(jnerf::test::contains(prior->describe(), "ORACLE"));
  const jnerf::RayPool pool(d, d.train);
  // Global pixels: view 0 pixel (x=1, y=0), view 1 pixel (x=1, y=2), view 1 pixel (x=3, y=1).
  const std::vector<std::int64_t> pixels = {1, 12 + 9, 12 + 7};
  const auto a = prior->affinity(pool, pixels);
  const std::vector<double> expected = {1, 1, 0, 1, 1, 0, 0, 0, 1};
  EXPECT_EQ(a, expected);
  config["shape"]["prior"]["labels"] = "semantic";  // columns 0-1 and 2-3 share a class
  const auto by_class = jnerf::make_feature_prior(config, d, *engine)->affinity(pool, {0, 1, 2});
  EXPECT_EQ(by_class, (std::vector<double>{1, 1, 0, 1, 1, 0, 0, 0, 1}));
}

TEST(FeaturePrior, FilePriorAffinityIsTheDotOfNormalisedDescriptors) {
  const jnerf::Dataset d = tiny_dataset();
  const auto folder = jnerf::test::scratch_dir("features");
  // Same-size grids (no resizing): descriptor of pixel p in view v is (v + 1, p, 1).
  for (int v = 0; v < 2; ++v) {
    std::vector<float> values;
    for (int p = 0; p < 12; ++p) values.insert(values.end(), {float(v + 1), float(p), 1.f});
    write_npy(folder / ("rgb_" + std::to_string(v) + ".npy"), 3, 4, 3, values);
  }
  jnerf::Json config = tiny_config();
  config["shape"]["prior"]["type"] = "file";
  config["shape"]["prior"]["path"] = folder.string();
  auto engine = tiny_engine(config, d);
  const auto prior = jnerf::make_feature_prior(config, d, *engine);
  EXPECT_EQ(prior->dims(), 3);
  const jnerf::RayPool pool(d, d.train);
  const auto a = prior->affinity(pool, {5, 12 + 2});
  auto unit = [](double x, double y, double z) {
    const double n = std::sqrt(x * x + y * y + z * z) + 1e-7;
    return std::array<double, 3>{x / n, y / n, z / n};
  };
  const auto u = unit(1, 5, 1), v = unit(2, 2, 1);
  EXPECT_NEAR(a[1], u[0] * v[0] + u[1] * v[1] + u[2] * v[2], 1e-6);
  EXPECT_NEAR(a[0], 1.0, 1e-6);

  config["shape"]["prior"]["path"] = (folder / "missing").string();
  EXPECT_TRUE(jnerf::test::contains(
      jnerf::test::input_error([&] { jnerf::make_feature_prior(config, d, *engine); }), "missing"));
  std::filesystem::remove(folder / "rgb_1.npy");
  config["shape"]["prior"]["path"] = folder.string();
  EXPECT_TRUE(jnerf::test::contains(
      jnerf::test::input_error([&] { jnerf::make_feature_prior(config, d, *engine); }), "rgb_1.npy"));
}

TEST(FeaturePrior, UnknownPriorIsAnInputError) {
  const jnerf::Dataset d = tiny_dataset();
  jnerf::Json config = tiny_config();
  config["shape"]["prior"]["type"] = "dino";
  auto engine = tiny_engine(config, d);
  EXPECT_TRUE(jnerf::test::contains(
      jnerf::test::input_error([&] { jnerf::make_feature_prior(config, d, *engine); }), "dino"));
}
