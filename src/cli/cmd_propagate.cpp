// jnerf propagate: label propagation from clicks through a shaped NeRF, with baselines and
// metrics, for one run folder or a list of them (one combined table).
#include <fstream>
#include <iostream>

#include "commands.hpp"
#include "jnerf/core/config.hpp"
#include "jnerf/core/error.hpp"
#include "jnerf/data/dataset_config.hpp"
#include "jnerf/propagate/propagate_run.hpp"

namespace jnerf::cli {
namespace {

// Run folders from --run and from --list files (one folder per line, # comments).
std::vector<std::string> run_folders(const std::vector<std::string>& runs, const std::vector<std::string>& lists) {
  std::vector<std::string> out = runs;
  for (const std::string& list : lists) {
    std::ifstream in(list);
    if (!in) throw InputError("cannot read run list " + list);
    for (std::string line; std::getline(in, line);) {
      const auto hash = line.find('#');
      if (hash != std::string::npos) line.erase(hash);
      while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
      while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front()))) line.erase(line.begin());
      if (!line.empty()) out.push_back(line);
    }
  }
  if (out.empty()) throw InputError("jnerf propagate needs --run RUN (repeatable) or --list FILE");
  return out;
}

}  // namespace

void add_propagate(CLI::App& app, const GlobalOptions& global, Action& action) {
  struct Args {
    std::string config, out;
    std::vector<std::string> runs, lists, sets;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("propagate", "propagate labels from clicks through a shaped NeRF");
  cmd->add_option("--run", a->runs, "run folder (repeatable)");
  cmd->add_option("--list", a->lists, "file listing run folders, one per line");
  cmd->add_option("--config", a->config, "config overlay (JSON), e.g. a propagate section");
  cmd->add_option("--set", a->sets, "override, key.path=value (repeatable)");
  cmd->add_option("--out", a->out, "output folder")->required();
  cmd->callback([a, &global, &action] {
    action = [a, &global] {
      const std::vector<std::string> runs = run_folders(a->runs, a->lists);
      std::vector<std::pair<std::string, PropagationOutcome>> scenes;
      Json combined = Json::object();
      for (const std::string& folder : runs) {
        const RunDir run(folder);
        Json config = run.read_config();
        if (!a->config.empty()) merge_config(config, read_json_file(a->config), a->config);
        for (const auto& s : a->sets) apply_override(config, s);
        const std::string device = run_device(global, config);
        const Dataset dataset = load_dataset(load_options_from_config(config));
        std::string name = std::filesystem::path(folder).lexically_normal().filename().string();
        if (name.empty()) name = std::filesystem::path(folder).lexically_normal().parent_path().filename().string();
        const std::filesystem::path out = runs.size() == 1 ? std::filesystem::path(a->out) : a->out / std::filesystem::path(name);
        spdlog::info("propagating labels in {} -> {}", folder, out.string());
        PropagationOutcome outcome = propagate_run(config, run, dataset, device, out);
        combined[name] = outcome.metrics;
        scenes.emplace_back(name, std::move(outcome));
      }
      const std::string table = propagation_table(scenes);
      if (runs.size() > 1) {
        std::filesystem::create_directories(a->out);
        write_json_file(std::filesystem::path(a->out) / "metrics.json", combined);
        std::ofstream(std::filesystem::path(a->out) / "results.md") << table;
      }
      std::cout << table;
    };
  });
}

}  // namespace jnerf::cli
