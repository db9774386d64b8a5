// The hash_grid field (instant-ngp's NeRF network): parameter layout, forward structure,
// gradients of every parameter segment (hash table included) against central finite
// differences in double, the shaping loss's extra dL/d head_input, float vs double, config
// validation, and (when /usr/bin/python3 has torch) an independent PyTorch transcription in
// float64 (tests/oracle/hash_grid_oracle.py).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "cuda_test_support.hpp"

#include "jnerf/core/backend.hpp"
#include "jnerf/core/config.hpp"
#include "jnerf/model/hash_grid_field.hpp"
#include "test_support.hpp"

namespace {

using jnerf::CpuBackend;
using jnerf::HashGridField;
using jnerf::HashGridSpec;
using FieldD = HashGridField<CpuBackend<double>>;
using FieldF = HashGridField<CpuBackend<float>>;

const std::array<double, 3> kBoxMin{-1.0, -0.5, 0.25};
const std::array<double, 3> kBoxMax{1.0, 1.5, 2.0};

// Small but structurally complete: 4 levels (2 dense, 2 hashed with T = 256), 2 features.
HashGridSpec tiny_spec() {
  HashGridSpec s;
  s.grid.levels = 4;
  s.grid.features_per_level = 2;
  s.grid.log2_table_size = 8;
  s.grid.base_resolution = 2;
  s.grid.max_resolution = 24;
  s.density_width = 9;
  s.density_depth = 1;
  s.geo_features = 5;
  s.colour_width = 7;
  s.colour_depth = 2;
  return s;
}

// Other depths: two density hidden layers, one colour layer, 4 features per level.
HashGridSpec deep_density_spec() {
  HashGridSpec s = tiny_spec();
  s.grid.levels = 3;
  s.grid.features_per_level = 4;
  s.grid.log2_table_size = 7;
  s.grid.base_resolution = 3;
  s.grid.max_resolution = 11;
  s.density_depth = 2;
  s.density_width = 6;
  s.geo_features = 3;
  s.colour_depth = 1;
  s.colour_width = 5;
  return s;
}

// No density hidden layer and no geometry features (the colour MLP sees only the SH).
HashGridSpec shallow_spec() {
  HashGridSpec s = tiny_spec();
  s.density_depth = 0;
  s.geo_features = 0;
  s.colour_depth = 3;
  s.colour_width = 6;
  return s;
}

struct Case {
  int n = 0;
  std::vector<double> positions, dirs;  // 3 x n
  std::vector<double> r_rgb, r_density, r_head;  // the loss weights R1, R2, R3
};

Case make_case(int n, int head_width, unsigned seed) {
  Case c;
  c.n = n;
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0), r(-1.0, 1.0);
  std::normal_distribution<double> g(0.0, 1.0);
  c.positions.resize(3 * n);
  c.dirs.resize(3 * n);
  for (int s = 0; s < n; ++s) {
    // Positions fill the box plus 10% on each side: some are clamped by the encoding.
    for (int k = 0; k < 3; ++k) {
      const double ext = kBoxMax[k] - kBoxMin[k];
      c.positions[k * n + s] = kBoxMin[k] - 0.1 * ext + 1.2 * ext * u(rng);
    }
    double d[3], norm = 0;
    for (double& v : d) {
      v = g(rng);
      norm += v * v;
    }
    norm = std::sqrt(norm);
    for (int k = 0; k < 3; ++k) c.dirs[k * n + s] = d[k] / norm;
  }
  for (int i = 0; i < 3 * n; ++i) c.r_rgb.push_back(r(rng));
  for (int i = 0; i < n; ++i) c.r_density.push_back(r(rng));
  for (int i = 0; i < head_width * n; ++i) c.r_head.push_back(r(rng));
  return c;
}

// Parameters: the field's own init, then a hash table of larger magnitude (+-0.5) so that
// the encoding carries real signal through the MLPs.
template <class Field>
std::vector<float> host_params(const Field& field, const jnerf::ParamLayout& layout, std::uint64_t seed) {
  std::vector<float> host(layout.total());
  field.init_params(host, seed);
  jnerf::hash_grid_init<float>(field.spec().grid, host.data() + field.table_offset(), seed + 100, 0.5f);
  return host;
}

double loss(FieldD& f, const std::vector<double>& params, const Case& c) {
  f.forward(params.data(), c.positions.data(), c.dirs.data(), c.n);
  double L = 0;
  for (int i = 0; i < 3 * c.n; ++i) L += c.r_rgb[i] * f.raw_rgb()[i];
  for (int i = 0; i < c.n; ++i) L += c.r_density[i] * f.raw_density()[i];
  for (std::size_t i = 0; i < c.r_head.size(); ++i) L += c.r_head[i] * f.head_input()[i];
  return L;
}

// Table entries (flat parameter offsets within the table, first feature) touched by the
// samples: an independent transcription of the documented grid (vertices at x * N_l,
// dense index or the (1, 2654435761, 805459861) xor hash mod T).
std::set<long long> touched_entries(const jnerf::HashGridConfig& g, const Case& c) {
  std::set<long long> out;
  const long long T = g.table_size();
  for (int s = 0; s < c.n; ++s)
    for (int l = 0; l < g.levels; ++l) {
      const long long N = g.level_resolution(l);
      long long base[3];
      for (int k = 0; k < 3; ++k) {
        const double x01 = (c.positions[k * c.n + s] - kBoxMin[k]) / (kBoxMax[k] - kBoxMin[k]);
        const double pos = std::clamp(x01, 0.0, 1.0) * double(N);
        base[k] = std::min<long long>(static_cast<long long>(std::floor(pos)), N - 1);
      }
      for (int corner = 0; corner < 8; ++corner) {
        std::uint64_t v[3];
        for (int k = 0; k < 3; ++k) v[k] = static_cast<std::uint64_t>(base[k] + ((corner >> k) & 1));
        long long entry;
        if ((N + 1) * (N + 1) * (N + 1) <= T) {
          entry = static_cast<long long>(v[0] + (N + 1) * (v[1] + (N + 1) * v[2]));
        } else {
          const std::uint64_t m = 0xFFFFFFFFull;
          const std::uint64_t h = (v[0] & m) ^ ((v[1] * 2654435761ull) & m) ^ ((v[2] * 805459861ull) & m);
          entry = static_cast<long long>(h & static_cast<std::uint64_t>(T - 1));
        }
        out.insert((l * T + entry) * g.features_per_level);
      }
    }
  return out;
}

// Every parameter segment against central finite differences of
// L = sum(R1 .* raw_rgb) + sum(R2 .* raw_density) + sum(R3 .* head_input).
// L is exactly piecewise linear in any single parameter (each is read once, linearly, and
// everything above it is linear or ReLU), so a central difference is exact up to rounding
// unless the step crosses a ReLU kink, which shows as a nonzero second difference. The
// step therefore starts large (small rounding error) and shrinks until the second
// difference vanishes; parameters with a kink at every step are skipped and counted.
void check_gradients(const HashGridSpec& spec, int n, unsigned seed) {
  jnerf::ParamLayout layout;
  FieldD f(spec, layout, "fine.", kBoxMin, kBoxMax);
  const std::vector<float> host = host_params(f, layout, seed);
  std::vector<double> params(host.begin(), host.end());
  const Case c = make_case(n, f.head_width(), seed + 1);

  f.forward(params.data(), c.positions.data(), c.dirs.data(), n);
  std::vector<double> analytic(layout.total(), 0.0);
  f.backward(params.data(), c.r_density.data(), c.r_rgb.data(), c.r_head.data(), analytic.data());

  const double L0 = loss(f, params, c);
  int checked = 0, nonzero = 0, kinks = 0;
  double worst = 0;
  auto check = [&](std::size_t i, const std::string& what) {
    const double saved = params[i];
    for (double h : {1e-2, 1e-3, 1e-4, 1e-5}) {
      params[i] = saved + h;
      const double up = loss(f, params, c);
      params[i] = saved - h;
      const double down = loss(f, params, c);
      params[i] = saved;
      if (std::abs(up - 2 * L0 + down) > 1e-13 * (1 + std::abs(L0))) continue;  // crossed a kink
      const double fd = (up - down) / (2 * h);
      EXPECT_NEAR(analytic[i], fd, 1e-6 * std::abs(fd) + 1e-12) << what << " (h " << h << ")";
      if (std::abs(fd) > 1e-6) worst = std::max(worst, std::abs(analytic[i] - fd) / std::abs(fd));
      ++checked;
      nonzero += std::abs(fd) > 1e-9;
      return;
    }
    ++kinks;
  };

  const std::set<long long> touched = touched_entries(spec.grid, c);
  const int F = spec.grid.features_per_level;
  for (const auto& seg : layout.segments()) {
    if (seg.name == "fine.encoding.table") {
      ASSERT_EQ(seg.offset, f.table_offset());
      for (long long e : touched)
        for (int k = 0; k < F; ++k) check(seg.offset + e + k, seg.name + "[" + std::to_string(e + k) + "]");
      // Entries no sample touches: exactly zero gradient.
      int untouched = 0;
      for (std::size_t k = 0; k < seg.size; k += 7) {
        if (touched.count(static_cast<long long>(k / F * F))) continue;
        EXPECT_EQ(analytic[seg.offset + k], 0.0) << seg.name << "[" << k << "] is not touched";
        ++untouched;
      }
      EXPECT_GT(untouched, 10);
    } else {
      for (std::size_t k = 0; k < seg.size; k += std::max<std::size_t>(1, seg.size / 11))
        check(seg.offset + k, seg.name + "[" + std::to_string(k) + "]");
      check(seg.offset + seg.size - 1, seg.name + "[last]");
    }
  }
  EXPECT_GT(checked, 200);
  EXPECT_GT(nonzero, checked / 2);        // not vacuous
  EXPECT_LT(kinks, checked / 100 + 1);    // few parameters sit next to a ReLU kink
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", worst);
  ::testing::Test::RecordProperty("worst_relative_error", text);
  ::testing::Test::RecordProperty("kinks_skipped", kinks);
}

}  // namespace

// =========================================================================================
// Layout, init, interface
// =========================================================================================

TEST(HashGridField, DefaultLayoutNamesAndShapes) {
  const HashGridSpec spec = HashGridSpec::from_config(jnerf::default_config());
  EXPECT_EQ(spec.grid.levels, 16);
  EXPECT_EQ(spec.grid.features_per_level, 2);
  EXPECT_EQ(spec.grid.log2_table_size, 19);
  EXPECT_EQ(spec.grid.base_resolution, 16);
  EXPECT_EQ(spec.grid.max_resolution, 2048);
  EXPECT_EQ(spec.colour_input_dims(), 31);
  jnerf::ParamLayout layout;
  FieldD f(spec, layout, "fine.", kBoxMin, kBoxMax);
  const std::vector<std::pair<std::string, std::vector<int>>> expected = {
      {"fine.encoding.table", {16, 1 << 19, 2}},
      {"fine.density_net.0.weight", {64, 32}},
      {"fine.density_net.0.bias", {64}},
      {"fine.density_net.1.weight", {16, 64}},
      {"fine.density_net.1.bias", {16}},
      {"fine.colour_net.0.weight", {64, 31}},
      {"fine.colour_net.0.bias", {64}},
      {"fine.colour_net.1.weight", {64, 64}},
      {"fine.colour_net.1.bias", {64}},
      {"fine.rgb_linear.weight", {3, 64}},
      {"fine.rgb_linear.bias", {3}},
  };
  ASSERT_EQ(layout.segments().size(), expected.size());
  std::size_t offset = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const auto& seg = layout.segments()[i];
    EXPECT_EQ(seg.name, expected[i].first);
    EXPECT_EQ(seg.shape, expected[i].second) << seg.name;
    EXPECT_EQ(seg.offset, offset) << seg.name;
    offset += seg.size;
  }
  EXPECT_EQ(layout.total(), 16ull * (1 << 19) * 2 + 64 * 33 + 16 * 65 + 64 * 32 + 64 * 65 + 3 * 65);
  EXPECT_EQ(f.rgb_weight_offset(), layout.find("fine.rgb_linear.weight").offset);
  EXPECT_EQ(f.table_offset(), layout.find("fine.encoding.table").offset);
  EXPECT_EQ(f.head_width(), 64);
  EXPECT_EQ(FieldD::kDensityActivation, jnerf::DensityActivation::TruncExp);
  EXPECT_EQ(f.density_activation(), jnerf::DensityActivation::TruncExp);
}

TEST(HashGridField, InitRanges) {
  const HashGridSpec spec = tiny_spec();
  jnerf::ParamLayout layout;
  layout.add("other", {5});  // the field's segments need not start at 0
  FieldD f(spec, layout, "coarse.", kBoxMin, kBoxMax);
  std::vector<float> host(layout.total(), 7.f);
  f.init_params(host, 3);
  EXPECT_EQ(host[0], 7.f);
  for (const auto& seg : layout.segments()) {
    if (seg.name == "other") continue;
    double bound = 1e-4;
    if (seg.name != "coarse.encoding.table") {
      const std::string w = seg.name.substr(0, seg.name.rfind('.')) + ".weight";
      bound = 1.0 / std::sqrt(double(layout.find(w).shape[1]));
    }
    float lo = 1e30f, hi = -1e30f;
    for (std::size_t k = 0; k < seg.size; ++k) {
      lo = std::min(lo, host[seg.offset + k]);
      hi = std::max(hi, host[seg.offset + k]);
    }
    EXPECT_GE(lo, -bound * (1 + 1e-6)) << seg.name;
    EXPECT_LE(hi, bound * (1 + 1e-6)) << seg.name;
    if (seg.size > 20) EXPECT_GT(hi - lo, bound) << seg.name;  // spread over the range
  }
  std::vector<float> again(layout.total(), 7.f);
  f.init_params(again, 3);
  EXPECT_EQ(host, again);  // deterministic in the seed
}

TEST(HashGridField, HeadInputIsTheRgbHeadInput) {
  const HashGridSpec spec = tiny_spec();
  jnerf::ParamLayout layout;
  FieldD f(spec, layout, "fine.", kBoxMin, kBoxMax);
  const std::vector<float> host = host_params(f, layout, 4);
  const std::vector<double> params(host.begin(), host.end());
  const Case c = make_case(30, f.head_width(), 5);
  f.forward(params.data(), c.positions.data(), c.dirs.data(), c.n);
  ASSERT_EQ(f.samples(), c.n);
  const int C = f.head_width();
  const double* W = params.data() + f.rgb_weight_offset();
  const double* b = params.data() + layout.find("fine.rgb_linear.bias").offset;
  int positive = 0;
  for (int s = 0; s < c.n; ++s) {
    for (int j = 0; j < C; ++j) {
      EXPECT_GE(f.head_input()[j * c.n + s], 0.0);  // after the ReLU
      positive += f.head_input()[j * c.n + s] > 0;
    }
    for (int k = 0; k < 3; ++k) {
      double z = b[k];
      for (int j = 0; j < C; ++j) z += W[k * C + j] * f.head_input()[j * c.n + s];
      EXPECT_NEAR(f.raw_rgb()[k * c.n + s], z, 1e-13) << "sample " << s << " channel " << k;
    }
  }
  EXPECT_GT(positive, C * c.n / 4);
}

// The box maps onto [0,1]^3: the same field over another box gives the same outputs for
// the correspondingly mapped points, and points outside the box read its boundary.
TEST(HashGridField, SceneBoxMappingAndClamping) {
  const HashGridSpec spec = tiny_spec();
  jnerf::ParamLayout la, lb;
  FieldD fa(spec, la, "fine.", kBoxMin, kBoxMax);
  FieldD fb(spec, lb, "fine.", {0.0, 0.0, 0.0}, {1.0, 1.0, 1.0});
  const std::vector<float> host = host_params(fa, la, 6);
  const std::vector<double> params(host.begin(), host.end());
  const Case c = make_case(25, fa.head_width(), 8);
  std::vector<double> unit(3 * c.n), clamped(3 * c.n);
  int outside = 0;
  for (int k = 0; k < 3; ++k)
    for (int s = 0; s < c.n; ++s) {
      const double x = c.positions[k * c.n + s];
      unit[k * c.n + s] = (x - kBoxMin[k]) / (kBoxMax[k] - kBoxMin[k]);
      clamped[k * c.n + s] = std::clamp(x, kBoxMin[k], kBoxMax[k]);
      outside += clamped[k * c.n + s] != x;
    }
  EXPECT_GT(outside, 0);
  fa.forward(params.data(), c.positions.data(), c.dirs.data(), c.n);
  const std::vector<double> rgb_a(fa.raw_rgb(), fa.raw_rgb() + 3 * c.n);
  const std::vector<double> den_a(fa.raw_density(), fa.raw_density() + c.n);
  fb.forward(params.data(), unit.data(), c.dirs.data(), c.n);
  fa.forward(params.data(), clamped.data(), c.dirs.data(), c.n);
  for (int i = 0; i < 3 * c.n; ++i) {
    EXPECT_NEAR(fb.raw_rgb()[i], rgb_a[i], 1e-12);
    EXPECT_NEAR(fa.raw_rgb()[i], rgb_a[i], 1e-12);
  }
  for (int i = 0; i < c.n; ++i) {
    EXPECT_NEAR(fb.raw_density()[i], den_a[i], 1e-12);
    EXPECT_NEAR(fa.raw_density()[i], den_a[i], 1e-12);
  }
}

TEST(HashGridField, ViewDirectionOnlyAffectsColour) {
  const HashGridSpec spec = tiny_spec();
  jnerf::ParamLayout layout;
  FieldD f(spec, layout, "fine.", kBoxMin, kBoxMax);
  const std::vector<float> host = host_params(f, layout, 9);
  const std::vector<double> params(host.begin(), host.end());
  const Case c = make_case(20, f.head_width(), 10);
  const Case d = make_case(20, f.head_width(), 11);  // other directions
  f.forward(params.data(), c.positions.data(), c.dirs.data(), c.n);
  const std::vector<double> den(f.raw_density(), f.raw_density() + c.n);
  const std::vector<double> rgb(f.raw_rgb(), f.raw_rgb() + 3 * c.n);
  f.forward(params.data(), c.positions.data(), d.dirs.data(), c.n);
  double diff = 0;
  for (int i = 0; i < c.n; ++i) EXPECT_EQ(f.raw_density()[i], den[i]);
  for (int i = 0; i < 3 * c.n; ++i) diff += std::abs(f.raw_rgb()[i] - rgb[i]);
  EXPECT_GT(diff, 1e-6);
}

// =========================================================================================
// Gradients
// =========================================================================================

TEST(HashGridField, GradientsMatchFiniteDifferences) { check_gradients(tiny_spec(), 40, 21); }

TEST(HashGridField, GradientsMatchFiniteDifferencesDeepDensity) { check_gradients(deep_density_spec(), 35, 31); }

TEST(HashGridField, GradientsMatchFiniteDifferencesShallow) { check_gradients(shallow_spec(), 35, 41); }

// The shaping loss's dL/dh joins at the RGB head: the gradients are linear in the three
// inputs, d_head_input alone reaches every layer below the head but not the head itself,
// and backward accumulates into d_params.
TEST(HashGridField, ExtraHeadInputGradientPath) {
  const HashGridSpec spec = tiny_spec();
  jnerf::ParamLayout layout;
  FieldD f(spec, layout, "fine.", kBoxMin, kBoxMax);
  const std::vector<float> host = host_params(f, layout, 12);
  const std::vector<double> params(host.begin(), host.end());
  const Case c = make_case(30, f.head_width(), 13);
  f.forward(params.data(), c.positions.data(), c.dirs.data(), c.n);
  const std::size_t P = layout.total();
  std::vector<double> all(P, 0.0), photometric(P, 0.0), extra(P, 0.0), twice(P, 0.0);
  const std::vector<double> zero_rgb(3 * c.n, 0.0), zero_density(c.n, 0.0);
  f.backward(params.data(), c.r_density.data(), c.r_rgb.data(), c.r_head.data(), all.data());
  f.backward(params.data(), c.r_density.data(), c.r_rgb.data(), nullptr, photometric.data());
  f.backward(params.data(), zero_density.data(), zero_rgb.data(), c.r_head.data(), extra.data());
  f.backward(params.data(), c.r_density.data(), c.r_rgb.data(), c.r_head.data(), twice.data());
  f.backward(params.data(), c.r_density.data(), c.r_rgb.data(), c.r_head.data(), twice.data());
  double scale = 0;
  for (double v : all) scale = std::max(scale, std::abs(v));
  for (std::size_t i = 0; i < P; ++i) {
    EXPECT_NEAR(all[i], photometric[i] + extra[i], 1e-12 * scale) << i;
    EXPECT_NEAR(twice[i], 2 * all[i], 1e-12 * scale) << i;
  }
  for (const auto& seg : layout.segments()) {
    double norm = 0;
    for (std::size_t k = 0; k < seg.size; ++k) norm += extra[seg.offset + k] * extra[seg.offset + k];
    if (seg.name.rfind("fine.rgb_linear", 0) == 0)
      EXPECT_EQ(norm, 0.0) << seg.name;
    else
      EXPECT_GT(norm, 0.0) << seg.name;
  }
}

// =========================================================================================
// Float vs double
// =========================================================================================

TEST(HashGridField, FloatAgreesWithDouble) {
  const HashGridSpec spec = tiny_spec();
  jnerf::ParamLayout lf, ld;
  FieldF ff(spec, lf, "fine.", kBoxMin, kBoxMax);
  FieldD fd(spec, ld, "fine.", kBoxMin, kBoxMax);
  const std::vector<float> host = host_params(ff, lf, 14);
  const std::vector<double> pd(host.begin(), host.end());
  const Case c = make_case(50, ff.head_width(), 15);
  auto to_float = [](const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); };
  const auto pos_f = to_float(c.positions), dir_f = to_float(c.dirs);
  const auto r1 = to_float(c.r_rgb), r2 = to_float(c.r_density), r3 = to_float(c.r_head);
  ff.forward(host.data(), pos_f.data(), dir_f.data(), c.n);
  fd.forward(pd.data(), c.positions.data(), c.dirs.data(), c.n);
  for (int i = 0; i < 3 * c.n; ++i) EXPECT_NEAR(ff.raw_rgb()[i], fd.raw_rgb()[i], 1e-5);
  for (int i = 0; i < c.n; ++i) EXPECT_NEAR(ff.raw_density()[i], fd.raw_density()[i], 1e-5);
  for (int i = 0; i < ff.head_width() * c.n; ++i) EXPECT_NEAR(ff.head_input()[i], fd.head_input()[i], 1e-5);
  std::vector<float> gf(lf.total(), 0.f);
  std::vector<double> gd(ld.total(), 0.0);
  ff.backward(host.data(), r2.data(), r1.data(), r3.data(), gf.data());
  fd.backward(pd.data(), c.r_density.data(), c.r_rgb.data(), c.r_head.data(), gd.data());
  for (const auto& seg : ld.segments()) {
    double num = 0, den = 0;
    for (std::size_t k = 0; k < seg.size; ++k) {
      num += std::pow(double(gf[seg.offset + k]) - gd[seg.offset + k], 2);
      den += gd[seg.offset + k] * gd[seg.offset + k];
    }
    ASSERT_GT(den, 0.0) << seg.name;
    EXPECT_LT(std::sqrt(num / den), 1e-5) << seg.name;
  }
}

// =========================================================================================
// Config
// =========================================================================================

TEST(HashGridSpec, ConfigValidationNamesTheKey) {
  const std::vector<std::pair<std::string, jnerf::Json>> bad = {
      {"levels", 0},           {"levels", 33},           {"features_per_level", 3},
      {"log2_table_size", 0},  {"log2_table_size", 31},  {"base_resolution", 0},
      {"max_resolution", 8},   {"density_width", 0},     {"density_depth", -1},
      {"geo_features", -2},    {"colour_width", 0},      {"colour_depth", 0},
      {"sh_degree", 3},        {"levels", "many"},       {"colour_width", 2.5},
      {"density_width", 1e12},
  };
  for (const auto& [key, value] : bad) {
    jnerf::Json config = jnerf::default_config();
    config["model"]["hash_grid"][key] = value;
    try {
      HashGridSpec::from_config(config);
      ADD_FAILURE() << key << " = " << value.dump() << " was accepted";
    } catch (const jnerf::InputError& e) {
      EXPECT_NE(std::string(e.what()).find("model.hash_grid." + key), std::string::npos) << e.what();
    }
  }
  jnerf::Json ok = jnerf::default_config();
  ok["model"]["hash_grid"]["density_depth"] = 0;
  ok["model"]["hash_grid"]["geo_features"] = 0;
  ok["model"]["hash_grid"]["levels"] = 8.0;  // integral numbers are integers, as in config merging
  EXPECT_EQ(HashGridSpec::from_config(ok).grid.levels, 8);
}

TEST(HashGridSpec, BadSceneBoxIsAnInputError) {
  jnerf::ParamLayout layout;
  EXPECT_THROW(FieldD(tiny_spec(), layout, "fine.", {0, 0, 0}, {1, 0, 1}), jnerf::InputError);
  EXPECT_THROW(FieldD(tiny_spec(), layout, "fine.", {0, 0, 0}, {1, 1, NAN}), jnerf::InputError);
}

// =========================================================================================
// PyTorch oracle
// =========================================================================================

namespace {

constexpr const char* kPython = "/usr/bin/python3";

bool torch_available() {
  static const bool ok = std::system((std::string(kPython) + " -c 'import torch' >/dev/null 2>&1").c_str()) == 0;
  return ok;
}

void compare_with_torch(const HashGridSpec& spec, int n, unsigned seed) {
  if (!torch_available()) GTEST_SKIP() << kPython << " cannot import torch (apt-get install python3-torch)";
  jnerf::ParamLayout layout;
  FieldD f(spec, layout, "fine.", kBoxMin, kBoxMax);
  const std::vector<float> host = host_params(f, layout, seed);
  const std::vector<double> params(host.begin(), host.end());
  const Case c = make_case(n, f.head_width(), seed + 1);
  f.forward(params.data(), c.positions.data(), c.dirs.data(), n);
  std::vector<double> grads(layout.total(), 0.0);
  f.backward(params.data(), c.r_density.data(), c.r_rgb.data(), c.r_head.data(), grads.data());

  const auto dir = jnerf::test::scratch_dir("oracle");
  const jnerf::Json spec_json = {
      {"levels", spec.grid.levels},           {"features_per_level", spec.grid.features_per_level},
      {"log2_table_size", spec.grid.log2_table_size}, {"base_resolution", spec.grid.base_resolution},
      {"max_resolution", spec.grid.max_resolution},   {"density_width", spec.density_width},
      {"density_depth", spec.density_depth},  {"geo_features", spec.geo_features},
      {"colour_width", spec.colour_width},    {"colour_depth", spec.colour_depth}};
  jnerf::Json segments = jnerf::Json::array();
  for (const auto& s : layout.segments()) segments.push_back({{"name", s.name}, {"offset", s.offset}, {"shape", s.shape}});
  const jnerf::Json in = {{"spec", spec_json},           {"prefix", "fine."},
                          {"box_min", kBoxMin},          {"box_max", kBoxMax},
                          {"layout", segments},          {"params", params},
                          {"n", n},                      {"positions", c.positions},
                          {"dirs", c.dirs},              {"r_rgb", c.r_rgb},
                          {"r_density", c.r_density},    {"r_head", c.r_head}};
  jnerf::write_json_file(dir / "case.json", in);
  const std::string cmd = std::string(kPython) + " '" + JNERF_SOURCE_DIR + "/tests/oracle/hash_grid_oracle.py' '" +
                          (dir / "case.json").string() + "' '" + (dir / "result.json").string() + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const jnerf::Json out = jnerf::read_json_file(dir / "result.json");

  auto expect_all_near = [](const double* got, const std::vector<double>& ref, std::size_t size, const char* what) {
    ASSERT_EQ(ref.size(), size) << what;
    for (std::size_t i = 0; i < size; ++i) EXPECT_NEAR(got[i], ref[i], 1e-12 * std::max(1.0, std::abs(ref[i])))
        << what << "[" << i << "]";
  };
  expect_all_near(f.raw_density(), out["raw_density"].get<std::vector<double>>(), n, "raw_density");
  expect_all_near(f.raw_rgb(), out["raw_rgb"].get<std::vector<double>>(), 3 * n, "raw_rgb");
  expect_all_near(f.head_input(), out["head_input"].get<std::vector<double>>(), f.head_width() * std::size_t(n),
                  "head_input");
  double worst = 0;
  for (const auto& s : layout.segments()) {
    const auto ref = out["grads"][s.name].get<std::vector<double>>();
    ASSERT_EQ(ref.size(), s.size) << s.name;
    double num = 0, den = 0;
    for (std::size_t k = 0; k < s.size; ++k) {
      num += std::pow(grads[s.offset + k] - ref[k], 2);
      den += ref[k] * ref[k];
    }
    ASSERT_GT(den, 0.0) << s.name;
    const double rel = std::sqrt(num / den);
    worst = std::max(worst, rel);
    EXPECT_LT(rel, 1e-10) << s.name;
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", worst);
  ::testing::Test::RecordProperty("worst_relative_gradient_error", text);
}

}  // namespace

TEST(HashGridTorchOracle, TinyDefaultStructure) { compare_with_torch(tiny_spec(), 40, 51); }

TEST(HashGridTorchOracle, DeepDensity) { compare_with_torch(deep_density_spec(), 30, 61); }

TEST(HashGridTorchOracle, ShallowNoGeometryFeatures) { compare_with_torch(shallow_spec(), 30, 71); }

// =========================================================================================
// CUDA backend against the CPU (double); skipped without a GPU
// =========================================================================================

// The samples with a ReLU unit so close to its kink that float and double rounding may put
// it on opposite sides of zero, which changes that sample's gradient by a finite amount.
// Found in double, one sample at a time: a relative parameter step of +-1e-5 (far above
// float rounding) that crosses a kink gives a nonzero second difference of the sample's
// gradient; elsewhere it is O(1e-10) of the gradient.
std::vector<char> samples_next_to_a_kink(FieldD& f, std::size_t P, const std::vector<double>& params, const Case& c) {
  std::mt19937_64 rng(2024);
  std::array<std::vector<double>, 3> p;  // params * (1 - step), params, params * (1 + step)
  for (auto& v : p) v.resize(P);
  for (std::size_t i = 0; i < P; ++i) {
    const double step = 1e-5 * ((rng() & 1) ? 1.0 : -1.0);  // a random sign per parameter
    for (int k = 0; k < 3; ++k) p[k][i] = params[i] * (1 + (k - 1) * step);
  }
  const int n = c.n, C = f.head_width();
  std::vector<char> near(n, 0);
  std::vector<double> pos(3), dir(3), r_rgb(3), r_density(1), r_head(C);
  std::array<std::vector<double>, 3> g;
  for (int s = 0; s < n; ++s) {
    for (int k = 0; k < 3; ++k) {
      pos[k] = c.positions[k * n + s];
      dir[k] = c.dirs[k * n + s];
      r_rgb[k] = c.r_rgb[k * n + s];
    }
    r_density[0] = c.r_density[s];
    for (int j = 0; j < C; ++j) r_head[j] = c.r_head[j * n + s];
    for (int k = 0; k < 3; ++k) {
      g[k].assign(P, 0.0);
      f.forward(p[k].data(), pos.data(), dir.data(), 1);
      f.backward(p[k].data(), r_density.data(), r_rgb.data(), r_head.data(), g[k].data());
    }
    double d2 = 0, g2 = 0;
    for (std::size_t i = 0; i < P; ++i) {
      d2 += std::pow(g[2][i] - 2 * g[1][i] + g[0][i], 2);
      g2 += g[1][i] * g[1][i];
    }
    near[s] = std::sqrt(d2) > 1e-8 * std::sqrt(g2);
  }
  return near;
}

// A float field (CPU or CUDA backend CB) against the CPU field in double, on identical
// parameters and inputs; `fused`: whether the float field must (or must not) run its MLPs
// as fused kernels (CUDA only). The gradients leave out the samples next to a ReLU kink.
template <class CB>
void check_float_against_double(HashGridSpec spec, bool fused) {
  spec.fused_mlp = fused;
  jnerf::ParamLayout lg, ld;
  HashGridField<CB> fg(spec, lg, "fine.", kBoxMin, kBoxMax);
  FieldD fd(spec, ld, "fine.", kBoxMin, kBoxMax);
  ASSERT_EQ(fg.fused_density_mlp(), fused);
  ASSERT_EQ(fg.fused_colour_mlp(), fused);
  const std::vector<float> host = host_params(fd, ld, 16);
  const std::vector<double> pd(host.begin(), host.end());
  const int n = 3000;  // several blocks, and a partial last one
  Case c = make_case(n, fd.head_width(), 17);
  const std::vector<char> near_kink = samples_next_to_a_kink(fd, ld.total(), pd, c);
  int left_out = 0;
  for (int s = 0; s < n; ++s) {
    if (!near_kink[s]) continue;
    ++left_out;
    for (int k = 0; k < 3; ++k) c.r_rgb[k * n + s] = 0;
    c.r_density[s] = 0;
    for (int j = 0; j < fd.head_width(); ++j) c.r_head[j * n + s] = 0;
  }
  EXPECT_LE(left_out, n / 100);  // a handful: the comparison still covers the batch
  ::testing::Test::RecordProperty("samples_next_to_a_kink", left_out);
  auto upload = [](const std::vector<double>& v) {
    typename CB::Buffer b;
    b.resize(v.size());
    const std::vector<float> f(v.begin(), v.end());
    CB::upload(b.data(), f.data(), f.size());
    return b;
  };
  auto download = [](const float* p, std::size_t size) {
    std::vector<float> out(size);
    CB::download(out.data(), p, size);
    return out;
  };
  typename CB::Buffer params = upload(pd), pos = upload(c.positions), dirs = upload(c.dirs);
  typename CB::Buffer r1 = upload(c.r_rgb), r2 = upload(c.r_density), r3 = upload(c.r_head);
  typename CB::Buffer grads;
  grads.resize(lg.total());
  CB::zero(grads.data(), lg.total());
  fg.forward(params.data(), pos.data(), dirs.data(), n);
  fg.backward(params.data(), r2.data(), r1.data(), r3.data(), grads.data());
  CB::synchronize();
  fd.forward(pd.data(), c.positions.data(), c.dirs.data(), n);
  std::vector<double> gd(ld.total(), 0.0);
  fd.backward(pd.data(), c.r_density.data(), c.r_rgb.data(), c.r_head.data(), gd.data());

  const auto rgb = download(fg.raw_rgb(), 3 * std::size_t(n));
  const auto den = download(fg.raw_density(), n);
  const auto head = download(fg.head_input(), fg.head_width() * std::size_t(n));
  for (int i = 0; i < 3 * n; ++i) ASSERT_NEAR(rgb[i], fd.raw_rgb()[i], 1e-4) << "raw_rgb " << i;
  for (int i = 0; i < n; ++i) ASSERT_NEAR(den[i], fd.raw_density()[i], 1e-4) << "raw_density " << i;
  for (std::size_t i = 0; i < head.size(); ++i) ASSERT_NEAR(head[i], fd.head_input()[i], 1e-4) << "head " << i;
  const auto gg = download(grads.data(), lg.total());
  for (const auto& seg : ld.segments()) {
    double num = 0, den2 = 0;
    for (std::size_t k = 0; k < seg.size; ++k) {
      num += std::pow(double(gg[seg.offset + k]) - gd[seg.offset + k], 2);
      den2 += gd[seg.offset + k] * gd[seg.offset + k];
    }
    EXPECT_LT(std::sqrt(num / std::max(den2, 1e-300)), 1e-4) << seg.name;
  }
}

// Widths the fused kernels take (64), a small table: the default structure in miniature.
HashGridSpec fusable_spec() {
  HashGridSpec s = tiny_spec();
  s.density_width = 64;
  s.colour_width = 64;
  s.colour_depth = 2;
  s.density_depth = 1;
  return s;
}

// The tolerances the CUDA checks below use hold for the CPU's float field too.
TEST(HashGridField, FloatMatchesDouble) {
  check_float_against_double<jnerf::CpuBackend<float>>(tiny_spec(), false);
  check_float_against_double<jnerf::CpuBackend<float>>(fusable_spec(), false);
}

TEST(HashGridFieldCuda, MatchesCpuDouble) {
  JN_REQUIRE_CUDA();
#ifdef JNERF_HAVE_CUDA
  check_float_against_double<jnerf::CudaBackend>(tiny_spec(), false);  // widths 9 / 7: chained layers
#endif
}

TEST(HashGridFieldCuda, FusedMlpsMatchCpuDouble) {
  JN_REQUIRE_CUDA();
#ifdef JNERF_HAVE_CUDA
  check_float_against_double<jnerf::CudaBackend>(fusable_spec(), true);
  HashGridSpec deep = fusable_spec();
  deep.density_depth = 2;
  deep.colour_depth = 3;
  check_float_against_double<jnerf::CudaBackend>(deep, true);
#endif
}

TEST(HashGridFieldCuda, ChainedLayersWhenFusionIsOff) {
  JN_REQUIRE_CUDA();
#ifdef JNERF_HAVE_CUDA
  check_float_against_double<jnerf::CudaBackend>(fusable_spec(), false);
#endif
}
