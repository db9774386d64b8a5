#include "clicked_run.hpp"

#include <cstdio>

#include "jnerf/train/run_dir.hpp"

namespace jnerf::cli {

void add_clicked_run_options(CLI::App* cmd, ClickedRunOptions& o, const std::string& views_use) {
  cmd->add_option("--run", o.run, "run folder")->required();
  auto* view = cmd->add_option("--view", o.view, "the clicked view: a frame id of the dataset");
  cmd->add_option("--train-index", o.train_index, "the clicked view: an index into the training views")
      ->excludes(view);
  cmd->add_option("--views", o.views, "views to " + views_use + ": test, train or all (default test)")
      ->check(CLI::IsMember({"test", "train", "all"}));
  cmd->add_option("--max-views", o.max_views, "at most N of them, evenly spread (0 = all)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--checkpoint", o.checkpoint, "checkpoint file (default: the newest shape, else nerf, checkpoint)");
}

ClickedRun open_clicked_run(const ClickedRunOptions& o, const GlobalOptions& global) {
  const RunDir run(o.run);
  const Json config = run.read_config();
  ClickedRun out;
  out.model = load_run_model(run, config, run_device(global, config), o.checkpoint);
  out.clicked = clicked_view_index(out.model.dataset, o.view, o.train_index);
  out.views = split_view_indices(out.model.dataset, o.views, o.max_views);
  return out;
}

std::string view_stem(int id) {
  char stem[32];
  std::snprintf(stem, sizeof(stem), "%05d", id);
  return stem;
}

}  // namespace jnerf::cli
