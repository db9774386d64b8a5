#pragma once
// A run folder: the resolved config, checkpoints, metrics and a log.
//   RUN/config.json            resolved config (defaults <- file <- --set)
//   RUN/log.txt                everything the run logged
//   RUN/checkpoints/<stage>_<step>.ckpt   (the newest `output.checkpoint_keep` are kept)
//   RUN/progress.csv           step, loss, psnr, lr, seconds (and validation PSNR)
//   RUN/metrics.json           summary of the last completed stage
#include <filesystem>
#include <optional>
#include <string>

#include "jnerf/core/config.hpp"

namespace jnerf {

class RunDir {
 public:
  explicit RunDir(std::filesystem::path root) : root_(std::move(root)) {}
  const std::filesystem::path& root() const { return root_; }

  // Creates the folder, writes config.json and starts mirroring the log into log.txt.
  void create(const Json& resolved_config) const;
  Json read_config() const;  // InputError when RUN/config.json is missing or malformed

  std::filesystem::path checkpoint_path(const std::string& stage, long long step) const;
  // The newest checkpoint of a stage (highest step), if any.
  std::optional<std::filesystem::path> latest_checkpoint(const std::string& stage) const;
  // Deletes all but the newest `keep` checkpoints of a stage.
  void prune_checkpoints(const std::string& stage, int keep) const;

 private:
  std::filesystem::path root_;
};

// Adds a sink that copies every log line into `file` (appending).
void log_to_file(const std::filesystem::path& file);

}  // namespace jnerf
