#pragma once
// Each subcommand registers its options on the app and returns the action to run after
// parsing. Actions throw InputError for bad input (exit 2) and other exceptions for
// failures (exit 1); main() maps them to exit codes.
#include <functional>
#include <string>

#include <CLI/CLI.hpp>

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
// train, render, propagate, bench: the command-line contract of DESIGN.md section 5.
void add_pipeline_commands(CLI::App& app, const GlobalOptions& global, Action& action);

}  // namespace jnerf::cli
