#pragma once
// What `jnerf select` and `jnerf edit` share: the options that name a run, its clicked
// view, the views to work on and the checkpoint, and the loaded model they resolve to.
#include <string>
#include <vector>

#include "commands.hpp"
#include "jnerf/propagate/entity_edit.hpp"

namespace jnerf::cli {

struct ClickedRunOptions {
  std::string run, views = "test", checkpoint;
  int view = -1, train_index = -1, max_views = 0;
};

// Registers --run, --view / --train-index, --views, --max-views and --checkpoint;
// `views_use` completes --views' help ("views to <views_use>").
void add_clicked_run_options(CLI::App* cmd, ClickedRunOptions& options, const std::string& views_use);

// The run's model (load_run_model on the run's device), the clicked view's index into its
// dataset and the indices of the views named by --views / --max-views.
struct ClickedRun {
  LoadedRun model;
  int clicked = -1;
  std::vector<int> views;
};
ClickedRun open_clicked_run(const ClickedRunOptions& options, const GlobalOptions& global);

// A view's file stem: its id in five digits (00042).
std::string view_stem(int id);

}  // namespace jnerf::cli
