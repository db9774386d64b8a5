#pragma once
// Shaping diagnostics: how similar the per-ray Jacobians of pixel pairs are, split by what
// the ground truth says about the pair. For labelled pixels (class 0 = void is left out),
// every pair falls in one category:
//   same_instance    same class id and same instance id;
//   same_class       same class id, different instance ids;
//   different_class  different class ids.
// The similarity is the shaping loss's sim (shape/contrastive_loss.hpp) with AbsCosine, so
// every value lies in [0, 1]. Shaping should raise same_instance and lower different_class:
// the "gap" (mean same_instance minus mean different_class) is the figure to watch.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "jnerf/core/config.hpp"
#include "jnerf/io/image.hpp"

namespace jnerf {

enum class PairCategory : int { SameInstance = 0, SameClass = 1, DifferentClass = 2 };
constexpr int kPairCategories = 3;
const char* to_string(PairCategory category);  // same_instance, same_class, different_class

// The category of a pair of labelled pixels (neither class id is 0).
PairCategory classify_pair(int instance_a, int class_a, int instance_b, int class_b);

// The bin of a value in [0, 1] among `bins` equal bins (values outside are clamped; 1 falls
// in the last bin).
int cos_bin(double value, int bins);

struct CategoryStats {
  long long count = 0;                // pairs
  double sum = 0;                     // of |cos|
  std::vector<long long> histogram;   // pairs per bin of |cos| over [0, 1]

  double mean() const;  // NaN when there are no pairs
};

struct JacobianPairStats {
  std::array<CategoryStats, kPairCategories> categories;
  long long pixels = 0;       // labelled pixels used
  long long void_pixels = 0;  // class-0 pixels left out
  long long total_pairs = 0;  // all pairs among the labelled pixels
  bool sampled = false;       // true: the counts are a random sample of the pairs
  int bins = 0;

  const CategoryStats& operator[](PairCategory c) const { return categories[static_cast<int>(c)]; }
  // Mean same_instance |cos| minus mean different_class |cos| (NaN when either is empty).
  double gap() const;
};

struct PairStatsOptions {
  int bins = 50;
  // 0: every pair among the labelled pixels. Otherwise, when there are more pairs than
  // this, exactly this many pairs (i != j) drawn uniformly with replacement from `seed`.
  long long max_pairs = 0;
  std::uint64_t seed = 0;
};

// jacobians: N x dims row-major (one row per pixel); instance_ids, class_ids: N each.
// Deterministic for a given input whatever the thread count. std::invalid_argument on
// mismatched sizes or bins < 1.
JacobianPairStats jacobian_pair_stats(const std::vector<double>& jacobians, int dims,
                                      const std::vector<int>& instance_ids, const std::vector<int>& class_ids,
                                      const PairStatsOptions& options = {});

// Flat keys under `prefix`: PREFIX.same_instance (the mean), PREFIX.same_instance_count,
// PREFIX.same_instance_histogram, ... for each category, PREFIX.gap, PREFIX.pixels,
// PREFIX.void_pixels, PREFIX.pairs (counted), PREFIX.total_pairs, PREFIX.pairs_sampled.
// Undefined means (no pairs) are null.
void add_pair_stats_json(Json& out, const std::string& prefix, const JacobianPairStats& stats);

// ---- the histogram image ----------------------------------------------------------------
// One panel per stats object, top to bottom, under a legend row of three colour boxes
// (same_instance, same_class, different_class, left to right). Each panel shows, for every
// bin of |cos| in [0, 1], three bars side by side in the category colours: the fraction of
// that category's pairs in the bin, on one vertical scale shared by all panels. Each
// category's mean is a dashed vertical line in its colour. Axes are grey lines; x ticks
// every 0.1 (long at 0, 0.5 and 1), y ticks every `y_tick` of pair fraction.
struct CosHistogramLayout {
  int bins = 50;
  int bar_px = 3;          // each bar's width; a bin is 3 bars plus a bar's width of gap
  int margin_left = 24, margin_right = 16;
  int legend_height = 26;  // legend row above the first panel
  int panel_height = 160;  // plot height of a panel
  int panel_gap = 30;      // below each plot: ticks and space

  int bin_px() const { return (kPairCategories + 1) * bar_px; }
  int plot_left() const { return margin_left; }
  int plot_width() const { return bins * bin_px(); }
  int width() const { return margin_left + plot_width() + margin_right; }
  int height(int panels) const { return legend_height + panels * (panel_height + panel_gap); }
  int plot_top(int panel) const { return legend_height + panel * (panel_height + panel_gap); }
  int baseline(int panel) const { return plot_top(panel) + panel_height; }  // the x axis row
  // First column of a bin's bar of one category.
  int bar_left(int bin, PairCategory c) const {
    return plot_left() + bin * bin_px() + bar_px / 2 + static_cast<int>(c) * bar_px;
  }
  // Pixel height of a bar holding `fraction` of its category's pairs, for scale `y_max`.
  int bar_height(double fraction, double y_max) const;
};

struct CosHistogramImage {
  ImageU8 image;      // RGB
  double y_max = 0;   // pair fraction at the top of every panel
  double y_tick = 0;  // pair fraction between y ticks
};

std::array<std::uint8_t, 3> category_colour(PairCategory category);
// "green (44, 160, 44)" and so on, for describing the image in text.
std::string category_colour_name(PairCategory category);

// std::invalid_argument when the stats' bin counts differ from the layout's.
CosHistogramImage draw_cos_histograms(const std::vector<JacobianPairStats>& panels,
                                      const CosHistogramLayout& layout = {});

}  // namespace jnerf
