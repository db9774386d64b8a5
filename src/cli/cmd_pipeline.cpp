// train, render, propagate, bench: the pipeline commands of the command-line contract.
// Their options are parsed and their configs validated now; the numeric stages behind
// them are built in order (NeRF core, shaping, propagation) and until a stage exists the
// command says so and exits 2, never pretending to have run.
#include "commands.hpp"
#include "jnerf/core/config.hpp"
#include "jnerf/core/device.hpp"
#include "jnerf/core/error.hpp"

namespace jnerf::cli {
namespace {

[[noreturn]] void not_available(const std::string& what) {
  throw NotAvailableError(what + " is not available in this version of jnerf yet");
}

}  // namespace

void add_pipeline_commands(CLI::App& app, const GlobalOptions& global, Action& action) {
  struct Args {
    std::string config, out, run, data, format = "auto", split = "test", stage = "nerf";
    std::vector<std::string> sets;
    int iters = 20;
  };
  auto a = std::make_shared<Args>();

  auto* train = app.add_subcommand("train", "train a NeRF (stage nerf) or shape one (stage shape)");
  train->add_option("--config", a->config, "config file (JSON)");
  train->add_option("--set", a->sets, "override, key.path=value (repeatable)");
  train->add_option("--out", a->out, "run folder")->required();
  train->add_option("--stage", a->stage, "nerf or shape")->check(CLI::IsMember({"nerf", "shape"}));
  train->callback([a, &global, &action] {
    action = [a, &global] {
      const Json config = resolve_config(a->config, a->sets);
      resolve_device(global.device);
      (void)config;
      not_available("jnerf train --stage " + a->stage);
    };
  });

  auto* render = app.add_subcommand("render", "render views of a trained run and score them");
  render->add_option("--run", a->run, "run folder")->required();
  render->add_option("--data", a->data, "dataset folder (default: the run's)");
  render->add_option("--format", a->format, "dataset format (default: auto)");
  render->add_option("--split", a->split, "train, test or all")->check(CLI::IsMember({"train", "test", "all"}));
  render->add_option("--out", a->out, "output folder")->required();
  render->callback([a, &action] { action = [] { not_available("jnerf render"); }; });

  auto* propagate = app.add_subcommand("propagate", "propagate labels from clicks through a shaped NeRF");
  propagate->add_option("--run", a->run, "run folder")->required();
  propagate->add_option("--config", a->config, "config file (JSON)");
  propagate->add_option("--set", a->sets, "override, key.path=value (repeatable)");
  propagate->add_option("--out", a->out, "output folder")->required();
  propagate->callback([a, &action] {
    action = [a] {
      resolve_config(a->config, a->sets);
      not_available("jnerf propagate");
    };
  });

  auto* bench = app.add_subcommand("bench", "time one training or propagation step");
  bench->add_option("--config", a->config, "config file (JSON)");
  bench->add_option("--set", a->sets, "override, key.path=value (repeatable)");
  bench->add_option("--stage", a->stage, "nerf, shape or propagate")
      ->required()
      ->check(CLI::IsMember({"nerf", "shape", "propagate"}));
  bench->add_option("--iters", a->iters, "timed iterations")->check(CLI::PositiveNumber);
  bench->callback([a, &global, &action] {
    action = [a, &global] {
      resolve_config(a->config, a->sets);
      resolve_device(global.device);
      not_available("jnerf bench --stage " + a->stage);
    };
  });
}

}  // namespace jnerf::cli
