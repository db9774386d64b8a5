#pragma once
// Segmentation scores of propagated labels against ground truth, computed the way the
// JacobiNeRF evaluation does (a confusion matrix over classes 0..C-1, then IoU and
// accuracies with NaN-aware means).
//
// Which pixels count:
//   * a pixel whose TRUE label is negative (void) or listed in `ignored_classes` is dropped;
//   * of the rest, a pixel whose true or predicted label lies outside 0..C-1 is dropped
//     too: it enters no cell and no row or column total. This is what a confusion matrix
//     restricted to the labels 0..C-1 does (scikit-learn's `labels=range(C)`), so a
//     prediction of "no class" (e.g. -1) is not counted as an error.
//
// The scores, with cm[t][p] the pixel count of true class t predicted as p:
//   iou[c]          = cm[c][c] / (row_c + col_c - cm[c][c]); NaN when that is 0/0
//   miou            = mean of iou over the classes whose iou is not NaN. A class absent
//                     from the ground truth but predicted somewhere has iou 0 and counts.
//   miou_valid      = mean of iou over the *valid* classes: class_present[c] and row_c > 0
//   acc_total       = trace / total
//   acc_class       = mean of cm[c][c] / row_c over the classes with row_c > 0
//   acc_class_valid = the same mean over the valid classes
// Every mean over an empty set, and acc_total of an empty matrix, is NaN.
#include <vector>

#include "jnerf/core/config.hpp"

namespace jnerf {

struct SegmentationMetrics {
  int num_classes = 0;
  double miou = 0, miou_valid = 0, acc_total = 0, acc_class = 0, acc_class_valid = 0;
  std::vector<double> iou;           // num_classes entries, NaN where undefined
  std::vector<long long> confusion;  // num_classes x num_classes, row-major, rows = truth

  long long count(int truth, int predicted) const {
    return confusion[static_cast<std::size_t>(truth) * num_classes + predicted];
  }
  // {"miou", "miou_valid", "acc_total", "acc_class", "acc_class_valid", "iou": [...],
  //  "confusion": [[...], ...]}; NaN is written as null.
  Json to_json() const;
};

// `truth` and `predicted` hold the same pixels in the same order (any number of views
// concatenated). `class_present` has num_classes entries (true for the classes present
// in the labelled frame); empty means every class. InputError for mismatched lengths,
// num_classes < 1, or a class_present of the wrong size.
SegmentationMetrics segmentation_metrics(const std::vector<int>& truth, const std::vector<int>& predicted,
                                         int num_classes, const std::vector<int>& ignored_classes = {},
                                         const std::vector<bool>& class_present = {});

}  // namespace jnerf
