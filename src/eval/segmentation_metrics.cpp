#include "jnerf/eval/segmentation_metrics.hpp"

#include <cmath>
#include <limits>
#include <string>

#include "jnerf/core/error.hpp"

namespace jnerf {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Mean of the non-NaN values of `values` at the indices where `use` holds; NaN if none.
double nan_mean(const std::vector<double>& values, const std::vector<bool>& use) {
  double sum = 0;
  long long n = 0;
  for (std::size_t i = 0; i < values.size(); ++i)
    if (use[i] && !std::isnan(values[i])) sum += values[i], ++n;
  return n ? sum / static_cast<double>(n) : kNaN;
}

Json number_or_null(double v) { return std::isnan(v) ? Json(nullptr) : Json(v); }

}  // namespace

Json SegmentationMetrics::to_json() const {
  Json out = Json::object();
  out["miou"] = number_or_null(miou);
  out["miou_valid"] = number_or_null(miou_valid);
  out["acc_total"] = number_or_null(acc_total);
  out["acc_class"] = number_or_null(acc_class);
  out["acc_class_valid"] = number_or_null(acc_class_valid);
  Json ious = Json::array();
  for (double v : iou) ious.push_back(number_or_null(v));
  out["iou"] = ious;
  Json rows = Json::array();
  for (int t = 0; t < num_classes; ++t) {
    Json row = Json::array();
    for (int p = 0; p < num_classes; ++p) row.push_back(count(t, p));
    rows.push_back(row);
  }
  out["confusion"] = rows;
  return out;
}

SegmentationMetrics segmentation_metrics(const std::vector<int>& truth, const std::vector<int>& predicted,
                                         int num_classes, const std::vector<int>& ignored_classes,
                                         const std::vector<bool>& class_present) {
  if (truth.size() != predicted.size())
    throw InputError("segmentation metrics: " + std::to_string(truth.size()) + " ground-truth labels but " +
                     std::to_string(predicted.size()) + " predicted labels");
  if (num_classes < 1)
    throw InputError("segmentation metrics: number of classes must be at least 1, got " +
                     std::to_string(num_classes));
  if (!class_present.empty() && class_present.size() != static_cast<std::size_t>(num_classes))
    throw InputError("segmentation metrics: class mask has " + std::to_string(class_present.size()) +
                     " entries for " + std::to_string(num_classes) + " classes");

  const int C = num_classes;
  // Which true labels in 0..C-1 are ignored; ignored ids outside that range change nothing,
  // since such pixels are dropped anyway.
  std::vector<bool> ignored(C, false);
  for (int c : ignored_classes)
    if (c >= 0 && c < C) ignored[c] = true;

  SegmentationMetrics m;
  m.num_classes = C;
  m.confusion.assign(static_cast<std::size_t>(C) * C, 0);
  for (std::size_t i = 0; i < truth.size(); ++i) {
    const int t = truth[i], p = predicted[i];
    if (t < 0 || t >= C || ignored[t] || p < 0 || p >= C) continue;
    ++m.confusion[static_cast<std::size_t>(t) * C + p];
  }

  std::vector<long long> row(C, 0), col(C, 0);
  long long total = 0, trace = 0;
  for (int t = 0; t < C; ++t)
    for (int p = 0; p < C; ++p) {
      const long long n = m.count(t, p);
      row[t] += n, col[p] += n, total += n;
      if (t == p) trace += n;
    }

  m.iou.assign(C, kNaN);
  std::vector<double> recall(C, kNaN);
  std::vector<bool> all(C, true), valid(C, false);
  for (int c = 0; c < C; ++c) {
    const long long tp = m.count(c, c), uni = row[c] + col[c] - tp;
    if (uni > 0) m.iou[c] = static_cast<double>(tp) / static_cast<double>(uni);
    if (row[c] > 0) recall[c] = static_cast<double>(tp) / static_cast<double>(row[c]);
    valid[c] = row[c] > 0 && (class_present.empty() || class_present[c]);
  }

  m.miou = nan_mean(m.iou, all);
  m.miou_valid = nan_mean(m.iou, valid);  // valid classes have row > 0, so no NaN among them
  m.acc_total = total > 0 ? static_cast<double>(trace) / static_cast<double>(total) : kNaN;
  m.acc_class = nan_mean(recall, all);
  m.acc_class_valid = nan_mean(recall, valid);
  return m;
}

}  // namespace jnerf
