#pragma once
// Each subcommand registers its options on the app and returns the action to run after
// parsing. Actions throw InputError for bad input (exit 2) and other exceptions for
// failures (exit 1); main() maps them to exit codes.
#include <functional>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace jnerf::cli {

struct GlobalOptions {
  std::string log_level = "info";
  std::string device = "auto";
  int threads = 0;  // 0 = OpenMP default
};

using Action = std::function<void()>;

void add_info(CLI::App& app, const GlobalOptions& global, Action& action);
void add_synth(CLI::App& app, const GlobalOptions& global, Action& action);
void add_dataset(CLI::App& app, const GlobalOptions& global, Action& action);
void add_config(CLI::App& app, const GlobalOptions& global, Action& action);
void add_train(CLI::App& app, const GlobalOptions& global, Action& action);
void add_render(CLI::App& app, const GlobalOptions& global, Action& action);
void add_propagate(CLI::App& app, const GlobalOptions& global, Action& action);
void add_select(CLI::App& app, const GlobalOptions& global, Action& action);
void add_edit(CLI::App& app, const GlobalOptions& global, Action& action);
void add_bench(CLI::App& app, const GlobalOptions& global, Action& action);
void add_jacobian_stats(CLI::App& app, const GlobalOptions& global, Action& action);

// The device a run uses: --device when given explicitly, else the config's run.device;
// also applies run.threads unless --threads was given.
std::string run_device(const GlobalOptions& global, const nlohmann::json& config);

}  // namespace jnerf::cli
