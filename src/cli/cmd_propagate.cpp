// jnerf propagate: label propagation through a shaped NeRF (lands with that module).
#include "commands.hpp"
#include "jnerf/core/config.hpp"
#include "jnerf/core/error.hpp"

namespace jnerf::cli {

void add_propagate(CLI::App& app, const GlobalOptions&, Action& action) {
  struct Args {
    std::string config, out, run;
    std::vector<std::string> sets;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("propagate", "propagate labels from clicks through a shaped NeRF");
  cmd->add_option("--run", a->run, "run folder")->required();
  cmd->add_option("--config", a->config, "config file (JSON)");
  cmd->add_option("--set", a->sets, "override, key.path=value (repeatable)");
  cmd->add_option("--out", a->out, "output folder")->required();
  cmd->callback([a, &action] {
    action = [a] {
      resolve_config(a->config, a->sets);
      throw NotAvailableError("jnerf propagate is not available in this version of jnerf yet");
    };
  });
}

}  // namespace jnerf::cli
