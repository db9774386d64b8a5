#pragma once
// What `jnerf propagate` does for one run folder: the clicks on the labelled frame, label
// propagation with the shaped NeRF and with each baseline on the evaluation views, the
// metrics over all evaluation views jointly, and the outputs:
//   OUT/clicks.json                     the annotation used (reload with propagate.clicks_file)
//   OUT/<method>/strip_<id>.png         RGB | ground truth | prediction per view
//   OUT/<method>/labels_<id>.png        predicted ids (uint16)
//   OUT/metrics.json                    flat keys for the main method (miou, miou_valid,
//                                       acc_total, acc_class), baselines.<name>.*, per view
//   OUT/results.md                      the table
// Methods: "shaped" (the newest shape checkpoint), baselines "unshaped" (the newest nerf
// checkpoint, same protocol), "nearest_click" (each pixel takes the label of the click
// nearest in the feature prior's descriptor space), "semantic_nerf" (a Semantic-NeRF
// semantic head trained on the same clicks over the frozen NeRF, propagate/semantic_head.hpp).
#include <filesystem>
#include <string>
#include <vector>

#include "jnerf/core/config.hpp"
#include "jnerf/data/dataset.hpp"
#include "jnerf/eval/segmentation_metrics.hpp"
#include "jnerf/train/run_dir.hpp"

namespace jnerf {

struct MethodOutcome {
  std::string name;
  SegmentationMetrics metrics;
  double seconds = 0;
  Json per_view = Json::array();
};

struct PropagationOutcome {
  std::vector<MethodOutcome> methods;  // the main method first
  Json metrics;                        // what metrics.json holds
  std::string table;                   // markdown
};

PropagationOutcome propagate_run(const Json& config, const RunDir& run, const Dataset& dataset,
                                 const std::string& device, const std::filesystem::path& out);

// The markdown table of several outcomes (one row per scene and method).
std::string propagation_table(const std::vector<std::pair<std::string, PropagationOutcome>>& scenes);

}  // namespace jnerf
