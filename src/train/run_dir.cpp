#include "jnerf/train/run_dir.hpp"

#include <algorithm>
#include <cstdio>
#include <vector>

#include <spdlog/sinks/basic_file_sink.h>

#include "jnerf/core/error.hpp"
#include "jnerf/core/log.hpp"

namespace jnerf {
namespace fs = std::filesystem;

void log_to_file(const fs::path& file) {
  init_logging();
  auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(file.string(), false);
  sink->set_pattern("[%Y-%m-%d %H:%M:%S] %l %v");
  spdlog::default_logger()->sinks().push_back(sink);
}

void RunDir::create(const Json& resolved_config) const {
  std::error_code ec;
  fs::create_directories(root_ / "checkpoints", ec);
  if (ec) throw InputError("cannot create run folder " + root_.string() + ": " + ec.message());
  write_json_file(root_ / "config.json", resolved_config);
  log_to_file(root_ / "log.txt");
}

Json RunDir::read_config() const {
  const fs::path file = root_ / "config.json";
  if (!fs::exists(file)) throw InputError(root_.string() + " is not a jnerf run folder (no config.json)");
  Json config = default_config();
  merge_config(config, read_json_file(file), file.string());
  return config;
}

fs::path RunDir::checkpoint_path(const std::string& stage, long long step) const {
  char name[64];
  std::snprintf(name, sizeof(name), "%s_%09lld.ckpt", stage.c_str(), step);
  return root_ / "checkpoints" / name;
}

namespace {

std::vector<fs::path> stage_checkpoints(const fs::path& folder, const std::string& stage) {
  std::vector<fs::path> found;
  if (!fs::is_directory(folder)) return found;
  for (const auto& entry : fs::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() == ".ckpt" && name.rfind(stage + "_", 0) == 0) found.push_back(entry.path());
  }
  std::sort(found.begin(), found.end());  // zero-padded steps sort by name
  return found;
}

}  // namespace

std::optional<fs::path> RunDir::latest_checkpoint(const std::string& stage) const {
  const auto found = stage_checkpoints(root_ / "checkpoints", stage);
  if (found.empty()) return std::nullopt;
  return found.back();
}

void RunDir::prune_checkpoints(const std::string& stage, int keep) const {
  const auto found = stage_checkpoints(root_ / "checkpoints", stage);
  for (std::size_t i = 0; i + keep < found.size(); ++i) fs::remove(found[i]);
}

}  // namespace jnerf
