#include "jnerf/shape/jacobian_stats.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>

#include "jnerf/shape/contrastive_loss.hpp"

namespace jnerf {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void init_categories(JacobianPairStats& stats, int bins) {
  stats.bins = bins;
  for (CategoryStats& c : stats.categories) c.histogram.assign(bins, 0);
}

// The fraction of a category's pairs in each bin (zeros when it has none).
std::vector<double> bin_fractions(const CategoryStats& c) {
  std::vector<double> f(c.histogram.size(), 0.0);
  if (c.count > 0)
    for (std::size_t b = 0; b < f.size(); ++b) f[b] = static_cast<double>(c.histogram[b]) / c.count;
  return f;
}

// k * 10^e, correctly rounded (10^e is exact in double for the exponents used here).
double scaled(double k, int e) { return e >= 0 ? k * std::pow(10.0, e) : k / std::pow(10.0, -e); }

// The y scale: a tick of 1, 2 or 5 times a power of ten, the smallest giving at most 5 ticks
// up to `top`, and the top rounded up to whole ticks.
void y_scale(double top, double& y_tick, double& y_max) {
  const double raw = top / 5.0;
  int e = static_cast<int>(std::floor(std::log10(raw)));
  int m = 1;
  while (scaled(m, e) < raw * (1 - 1e-12)) {
    if (m == 1) m = 2;
    else if (m == 2) m = 5;
    else { m = 1; ++e; }
  }
  const long ticks = std::max(1L, static_cast<long>(std::ceil(top / scaled(m, e) - 1e-9)));
  y_tick = scaled(m, e);
  y_max = scaled(static_cast<double>(ticks * m), e);
}

using Rgb = std::array<std::uint8_t, 3>;

void put(ImageU8& img, int x, int y, const Rgb& c) {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  for (int k = 0; k < 3; ++k) img.at(x, y, k) = c[k];
}

void fill_rect(ImageU8& img, int x0, int y0, int w, int h, const Rgb& c) {
  for (int y = y0; y < y0 + h; ++y)
    for (int x = x0; x < x0 + w; ++x) put(img, x, y, c);
}

}  // namespace

const char* to_string(PairCategory category) {
  switch (category) {
    case PairCategory::SameInstance: return "same_instance";
    case PairCategory::SameClass: return "same_class";
    case PairCategory::DifferentClass: return "different_class";
  }
  return "?";
}

PairCategory classify_pair(int instance_a, int class_a, int instance_b, int class_b) {
  if (class_a != class_b) return PairCategory::DifferentClass;
  return instance_a == instance_b ? PairCategory::SameInstance : PairCategory::SameClass;
}

int cos_bin(double value, int bins) {
  if (!(value > 0)) return 0;  // NaN too
  return std::min(bins - 1, static_cast<int>(value * bins));
}

double CategoryStats::mean() const { return count > 0 ? sum / count : kNaN; }

double JacobianPairStats::gap() const {
  return (*this)[PairCategory::SameInstance].mean() - (*this)[PairCategory::DifferentClass].mean();
}

JacobianPairStats jacobian_pair_stats(const std::vector<double>& jacobians, int dims,
                                      const std::vector<int>& instance_ids, const std::vector<int>& class_ids,
                                      const PairStatsOptions& options) {
  const std::size_t n = class_ids.size();
  if (dims < 1) throw std::invalid_argument("jacobian_pair_stats: dims must be >= 1");
  if (options.bins < 1) throw std::invalid_argument("jacobian_pair_stats: bins must be >= 1");
  if (instance_ids.size() != n || jacobians.size() != n * static_cast<std::size_t>(dims))
    throw std::invalid_argument("jacobian_pair_stats: Jacobians, instance ids and class ids differ in length");

  JacobianPairStats stats;
  init_categories(stats, options.bins);
  std::vector<long long> keep;  // labelled rows
  keep.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (class_ids[i] == 0)
      ++stats.void_pixels;
    else
      keep.push_back(static_cast<long long>(i));
  }
  const long long m = static_cast<long long>(keep.size());
  stats.pixels = m;
  stats.total_pairs = m * (m - 1) / 2;
  const int bins = options.bins;
  const double* g = jacobians.data();
  auto category_of = [&](long long a, long long b) {
    const long long i = keep[a], j = keep[b];
    return static_cast<int>(classify_pair(instance_ids[i], class_ids[i], instance_ids[j], class_ids[j]));
  };
  auto sim = [&](long long a, long long b) {
    return jacobian_similarity(g + keep[a] * dims, g + keep[b] * dims, dims, JacobianSimilarity::AbsCosine);
  };

  if (options.max_pairs > 0 && stats.total_pairs > options.max_pairs) {
    // A uniform sample of ordered pairs (i != j), evaluated in blocks; sums are taken in
    // draw order so the result does not depend on the thread count.
    stats.sampled = true;
    std::mt19937_64 rng(options.seed);
    constexpr long long kBlock = 1 << 16;
    std::vector<long long> first(kBlock), second(kBlock);
    std::vector<double> value(kBlock);
    for (long long done = 0; done < options.max_pairs; done += kBlock) {
      const long long count = std::min(kBlock, options.max_pairs - done);
      for (long long k = 0; k < count; ++k) {
        const long long a = static_cast<long long>(rng() % static_cast<std::uint64_t>(m));
        long long b = static_cast<long long>(rng() % static_cast<std::uint64_t>(m - 1));
        if (b >= a) ++b;
        first[k] = a;
        second[k] = b;
      }
#pragma omp parallel for schedule(static)
      for (long long k = 0; k < count; ++k) value[k] = sim(first[k], second[k]);
      for (long long k = 0; k < count; ++k) {
        CategoryStats& c = stats.categories[category_of(first[k], second[k])];
        ++c.count;
        c.sum += value[k];
        ++c.histogram[cos_bin(value[k], bins)];
      }
    }
    return stats;
  }

  // Every pair (a < b): each row's sums are kept apart and added in row order afterwards.
  std::vector<std::array<double, kPairCategories>> row_sum(m);
  std::vector<std::array<long long, kPairCategories>> row_count(m);
#pragma omp parallel
  {
    std::vector<long long> hist(static_cast<std::size_t>(kPairCategories) * bins, 0);
#pragma omp for schedule(dynamic, 8)
    for (long long a = 0; a < m; ++a) {
      std::array<double, kPairCategories> s{};
      std::array<long long, kPairCategories> c{};
      for (long long b = a + 1; b < m; ++b) {
        const int cat = category_of(a, b);
        const double v = sim(a, b);
        s[cat] += v;
        ++c[cat];
        ++hist[static_cast<std::size_t>(cat) * bins + cos_bin(v, bins)];
      }
      row_sum[a] = s;
      row_count[a] = c;
    }
#pragma omp critical
    for (int cat = 0; cat < kPairCategories; ++cat)
      for (int b = 0; b < bins; ++b) stats.categories[cat].histogram[b] += hist[static_cast<std::size_t>(cat) * bins + b];
  }
  for (long long a = 0; a < m; ++a)
    for (int cat = 0; cat < kPairCategories; ++cat) {
      stats.categories[cat].sum += row_sum[a][cat];
      stats.categories[cat].count += row_count[a][cat];
    }
  return stats;
}

void add_pair_stats_json(Json& out, const std::string& prefix, const JacobianPairStats& stats) {
  auto number = [](double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); };
  long long pairs = 0;
  for (int cat = 0; cat < kPairCategories; ++cat) {
    const CategoryStats& c = stats.categories[cat];
    const std::string key = prefix + "." + to_string(static_cast<PairCategory>(cat));
    out[key] = number(c.mean());
    out[key + "_count"] = c.count;
    out[key + "_histogram"] = c.histogram;
    pairs += c.count;
  }
  out[prefix + ".gap"] = number(stats.gap());
  out[prefix + ".pixels"] = stats.pixels;
  out[prefix + ".void_pixels"] = stats.void_pixels;
  out[prefix + ".pairs"] = pairs;
  out[prefix + ".total_pairs"] = stats.total_pairs;
  out[prefix + ".pairs_sampled"] = stats.sampled;
}

// ---- the histogram image ----------------------------------------------------------------

int CosHistogramLayout::bar_height(double fraction, double y_max) const {
  if (!(fraction > 0) || !(y_max > 0)) return 0;
  const long h = std::lround(fraction / y_max * panel_height);
  return static_cast<int>(std::clamp(h, 1L, static_cast<long>(panel_height)));
}

std::array<std::uint8_t, 3> category_colour(PairCategory category) {
  switch (category) {
    case PairCategory::SameInstance: return {44, 160, 44};
    case PairCategory::SameClass: return {31, 119, 180};
    case PairCategory::DifferentClass: return {214, 39, 40};
  }
  return {0, 0, 0};
}

std::string category_colour_name(PairCategory category) {
  static const char* names[kPairCategories] = {"green", "blue", "red"};
  const Rgb c = category_colour(category);
  return std::string(names[static_cast<int>(category)]) + " (" + std::to_string(c[0]) + ", " +
         std::to_string(c[1]) + ", " + std::to_string(c[2]) + ")";
}

CosHistogramImage draw_cos_histograms(const std::vector<JacobianPairStats>& panels, const CosHistogramLayout& L) {
  for (const JacobianPairStats& s : panels)
    if (s.bins != L.bins) throw std::invalid_argument("draw_cos_histograms: the stats' bins differ from the layout's");

  // One vertical scale for every panel, rounded up to whole ticks.
  double top = 0;
  for (const JacobianPairStats& s : panels)
    for (const CategoryStats& c : s.categories)
      for (double f : bin_fractions(c)) top = std::max(top, f);
  CosHistogramImage out;
  if (top > 0) {
    y_scale(top, out.y_tick, out.y_max);
  } else {
    out.y_tick = 0.2;
    out.y_max = 1.0;
  }

  const Rgb axis{90, 90, 90}, grid{232, 232, 232}, border{40, 40, 40};
  const int panel_count = static_cast<int>(panels.size());
  out.image = ImageU8(L.width(), L.height(panel_count), 3, 255);
  ImageU8& img = out.image;

  // Legend: a colour box per category, left to right in category order.
  for (int cat = 0; cat < kPairCategories; ++cat) {
    const int x = L.plot_left() + cat * 40, y = 7;
    fill_rect(img, x - 1, y - 1, 14, 14, border);
    fill_rect(img, x, y, 12, 12, category_colour(static_cast<PairCategory>(cat)));
  }

  const int x_right = L.plot_left() + L.plot_width();
  for (int p = 0; p < panel_count; ++p) {
    const JacobianPairStats& s = panels[p];
    const int top_row = L.plot_top(p), base = L.baseline(p);
    // Panel number as p + 1 small squares in the left margin.
    for (int k = 0; k <= p; ++k) fill_rect(img, 3, top_row + 2 + 8 * k, 6, 6, axis);
    // Horizontal grid lines and y ticks.
    const int ticks = static_cast<int>(std::lround(out.y_max / out.y_tick));
    for (int t = 1; t <= ticks; ++t) {
      const int y = base - L.bar_height(t * out.y_tick, out.y_max);
      for (int x = L.plot_left(); x < x_right; ++x) put(img, x, y, grid);
      for (int x = L.plot_left() - 5; x < L.plot_left(); ++x) put(img, x, y, axis);
    }
    // Bars.
    for (int cat = 0; cat < kPairCategories; ++cat) {
      const PairCategory c = static_cast<PairCategory>(cat);
      const std::vector<double> f = bin_fractions(s[c]);
      for (int b = 0; b < L.bins; ++b) {
        const int h = L.bar_height(f[b], out.y_max);
        fill_rect(img, L.bar_left(b, c), base - h, L.bar_px, h, category_colour(c));
      }
    }
    // Means: dashed vertical lines.
    for (int cat = 0; cat < kPairCategories; ++cat) {
      const PairCategory c = static_cast<PairCategory>(cat);
      const double mean = s[c].mean();
      if (!std::isfinite(mean)) continue;
      const int x = L.plot_left() + static_cast<int>(std::lround(std::clamp(mean, 0.0, 1.0) * L.plot_width()));
      for (int y = top_row; y < base; ++y)
        if ((y - top_row) % 7 < 4) put(img, x, y, category_colour(c));
    }
    // Axes and x ticks (every 0.1; long at 0, 0.5 and 1).
    for (int x = L.plot_left() - 1; x <= x_right; ++x) put(img, x, base, axis);
    for (int y = top_row; y <= base; ++y) put(img, L.plot_left() - 1, y, axis);
    for (int t = 0; t <= 10; ++t) {
      const int x = L.plot_left() + static_cast<int>(std::lround(t * 0.1 * L.plot_width()));
      const int len = (t % 5 == 0) ? 8 : 4;
      for (int y = base + 1; y <= base + len; ++y) put(img, x, y, axis);
    }
  }
  return out;
}

}  // namespace jnerf
