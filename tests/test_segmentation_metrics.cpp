#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "jnerf/core/error.hpp"
#include "jnerf/eval/segmentation_metrics.hpp"

using jnerf::segmentation_metrics;

TEST(SegmentationMetrics, PerfectPredictionScoresOne) {
  const std::vector<int> truth = {0, 1, 2, 0, 1};
  const auto m = segmentation_metrics(truth, truth, 3);
  EXPECT_DOUBLE_EQ(m.miou, 1.0);
  EXPECT_DOUBLE_EQ(m.miou_valid, 1.0);
  EXPECT_DOUBLE_EQ(m.acc_total, 1.0);
  EXPECT_DOUBLE_EQ(m.acc_class, 1.0);
  EXPECT_DOUBLE_EQ(m.acc_class_valid, 1.0);
  for (double v : m.iou) EXPECT_DOUBLE_EQ(v, 1.0);
  // Diagonal holds the class counts 2, 2, 1; nothing off it.
  EXPECT_EQ(m.confusion, (std::vector<long long>{2, 0, 0, 0, 2, 0, 0, 0, 1}));
}

TEST(SegmentationMetrics, TwoClassesByHand) {
  // truth 0 0 0 1 1, predicted 0 0 1 1 0:
  //   cm = [[2, 1],
  //         [1, 1]]      rows (truth) 3, 2; columns (predicted) 3, 2
  //   iou0 = 2 / (3 + 3 - 2) = 1/2,  iou1 = 1 / (2 + 2 - 1) = 1/3
  //   miou = (1/2 + 1/3) / 2 = 5/12;  acc_total = 3/5;  acc_class = (2/3 + 1/2) / 2 = 7/12
  const auto m = segmentation_metrics({0, 0, 0, 1, 1}, {0, 0, 1, 1, 0}, 2);
  EXPECT_EQ(m.count(0, 0), 2);
  EXPECT_EQ(m.count(0, 1), 1);
  EXPECT_EQ(m.count(1, 0), 1);
  EXPECT_EQ(m.count(1, 1), 1);
  EXPECT_NEAR(m.iou[0], 0.5, 1e-15);
  EXPECT_NEAR(m.iou[1], 1.0 / 3.0, 1e-15);
  EXPECT_NEAR(m.miou, 5.0 / 12.0, 1e-15);
  EXPECT_NEAR(m.miou_valid, 5.0 / 12.0, 1e-15);
  EXPECT_NEAR(m.acc_total, 0.6, 1e-15);
  EXPECT_NEAR(m.acc_class, 7.0 / 12.0, 1e-15);
  EXPECT_NEAR(m.acc_class_valid, 7.0 / 12.0, 1e-15);
}

TEST(SegmentationMetrics, ClassMaskRestrictsTheValidMeans) {
  // Same pixels as TwoClassesByHand, but class 1 is not present in the labelled frame:
  // the valid means see class 0 only (iou 1/2, recall 2/3); the plain ones are unchanged.
  const auto m = segmentation_metrics({0, 0, 0, 1, 1}, {0, 0, 1, 1, 0}, 2, {}, {true, false});
  EXPECT_NEAR(m.miou, 5.0 / 12.0, 1e-15);
  EXPECT_NEAR(m.miou_valid, 0.5, 1e-15);
  EXPECT_NEAR(m.acc_class, 7.0 / 12.0, 1e-15);
  EXPECT_NEAR(m.acc_class_valid, 2.0 / 3.0, 1e-15);
}

TEST(SegmentationMetrics, PredictedButAbsentClassCountsInMiouOnly) {
  // truth 0 0 1 1, predicted 0 2 1 1, C = 3:
  //   cm = [[1, 0, 1],
  //         [0, 2, 0],
  //         [0, 0, 0]]
  //   iou0 = 1 / (2 + 1 - 1) = 1/2,  iou1 = 2 / (2 + 2 - 2) = 1,  iou2 = 0 / (0 + 1 - 0) = 0
  //   miou = (1/2 + 1 + 0) / 3 = 1/2; class 2 has no true pixels, so it is not valid:
  //   miou_valid = (1/2 + 1) / 2 = 3/4. Recall of class 2 is 0/0 and is skipped:
  //   acc_class = (1/2 + 1) / 2 = 3/4; acc_total = 3/4.
  const auto m = segmentation_metrics({0, 0, 1, 1}, {0, 2, 1, 1}, 3);
  EXPECT_DOUBLE_EQ(m.iou[0], 0.5);
  EXPECT_DOUBLE_EQ(m.iou[1], 1.0);
  EXPECT_DOUBLE_EQ(m.iou[2], 0.0);
  EXPECT_DOUBLE_EQ(m.miou, 0.5);
  EXPECT_DOUBLE_EQ(m.miou_valid, 0.75);
  EXPECT_DOUBLE_EQ(m.acc_class, 0.75);
  EXPECT_DOUBLE_EQ(m.acc_class_valid, 0.75);
  EXPECT_DOUBLE_EQ(m.acc_total, 0.75);
}

TEST(SegmentationMetrics, ClassAbsentEverywhereIsNaNAndSkipped) {
  // Class 2 is in neither map: its iou is 0/0 = NaN and leaves every mean alone.
  // Class 1: truth 1 1, predicted 1 0 -> cm row 1 = [1, 1]; class 0: truth 0, predicted 0.
  //   iou0 = 1 / (1 + 2 - 1) = 1/2, iou1 = 1 / (2 + 1 - 1) = 1/2, miou = 1/2.
  const auto m = segmentation_metrics({0, 1, 1}, {0, 1, 0}, 3);
  EXPECT_TRUE(std::isnan(m.iou[2]));
  EXPECT_DOUBLE_EQ(m.iou[0], 0.5);
  EXPECT_DOUBLE_EQ(m.iou[1], 0.5);
  EXPECT_DOUBLE_EQ(m.miou, 0.5);
  EXPECT_DOUBLE_EQ(m.miou_valid, 0.5);
  // Recalls 1 and 1/2, class 2 skipped.
  EXPECT_DOUBLE_EQ(m.acc_class, 0.75);
  const auto j = m.to_json();
  EXPECT_TRUE(j["iou"][2].is_null());
  EXPECT_DOUBLE_EQ(j["iou"][0].get<double>(), 0.5);
}

TEST(SegmentationMetrics, VoidAndIgnoredTruthPixelsAreDropped) {
  // Pixels 0, 1 have void truth (-1, -5); pixels 4, 5 have truth 2, which is ignored.
  // What is left is (0 -> 0), (1 -> 1): a perfect score on two pixels, however wrong the
  // dropped predictions were.
  const std::vector<int> truth = {-1, -5, 0, 1, 2, 2};
  const std::vector<int> pred = {1, 2, 0, 1, 0, 1};
  const auto m = segmentation_metrics(truth, pred, 3, {2}, {true, true, false});
  EXPECT_EQ(m.confusion, (std::vector<long long>{1, 0, 0, 0, 1, 0, 0, 0, 0}));
  EXPECT_DOUBLE_EQ(m.acc_total, 1.0);
  EXPECT_DOUBLE_EQ(m.miou, 1.0);
  EXPECT_TRUE(std::isnan(m.iou[2]));
  EXPECT_DOUBLE_EQ(m.miou_valid, 1.0);
  // Without the ignore list the two class-2 pixels count: cm row 2 = [1, 1, 0],
  // iou0 = 1 / (1 + 2 - 1) = 1/2, iou1 = 1/2, iou2 = 0 / 2 = 0, acc_total = 2/4.
  const auto k = segmentation_metrics(truth, pred, 3);
  EXPECT_DOUBLE_EQ(k.miou, 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(k.acc_total, 0.5);
}

TEST(SegmentationMetrics, PredictionsOutsideTheClassesAreDroppedLikeTheReference) {
  // truth 0 0 1, predicted 0 -1 1 with C = 2: the (0, -1) pair lies outside the labels
  // 0..1 and is dropped from the matrix (not counted as a miss), so the score is perfect
  // on the two remaining pixels. Likewise a prediction of 7.
  const auto m = segmentation_metrics({0, 0, 1, 1}, {0, -1, 1, 7}, 2);
  EXPECT_EQ(m.confusion, (std::vector<long long>{1, 0, 0, 1}));
  EXPECT_DOUBLE_EQ(m.acc_total, 1.0);
  EXPECT_DOUBLE_EQ(m.miou, 1.0);
}

TEST(SegmentationMetrics, NothingLeftGivesNaN) {
  // Every pixel void or ignored: empty matrix, every score NaN, JSON nulls.
  const auto m = segmentation_metrics({-1, 1, 1}, {0, 0, 1}, 2, {1});
  EXPECT_TRUE(std::isnan(m.miou));
  EXPECT_TRUE(std::isnan(m.miou_valid));
  EXPECT_TRUE(std::isnan(m.acc_total));
  EXPECT_TRUE(std::isnan(m.acc_class));
  EXPECT_TRUE(std::isnan(m.acc_class_valid));
  const auto j = m.to_json();
  EXPECT_TRUE(j["miou"].is_null());
  EXPECT_TRUE(j["acc_total"].is_null());
}

TEST(SegmentationMetrics, JsonHasTheFlatKeys) {
  const auto j = segmentation_metrics({0, 0, 0, 1, 1}, {0, 0, 1, 1, 0}, 2).to_json();
  for (const char* key : {"miou", "miou_valid", "acc_total", "acc_class", "acc_class_valid", "iou", "confusion"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_NEAR(j["miou"].get<double>(), 5.0 / 12.0, 1e-15);
  EXPECT_NEAR(j["acc_total"].get<double>(), 0.6, 1e-15);
  ASSERT_EQ(j["confusion"].size(), 2u);
  EXPECT_EQ(j["confusion"][0], jnerf::Json::array({2, 1}));
  EXPECT_EQ(j["confusion"][1], jnerf::Json::array({1, 1}));
}

TEST(SegmentationMetrics, BadInputIsRejected) {
  EXPECT_THROW(segmentation_metrics({0, 1}, {0}, 2), jnerf::InputError);
  EXPECT_THROW(segmentation_metrics({0}, {0}, 0), jnerf::InputError);
  EXPECT_THROW(segmentation_metrics({0}, {0}, 2, {}, {true}), jnerf::InputError);
  try {
    segmentation_metrics({0, 1, 1}, {0}, 2);
    FAIL() << "no error";
  } catch (const jnerf::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("3 ground-truth labels but 1 predicted"), std::string::npos) << e.what();
  }
}
