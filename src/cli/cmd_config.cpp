// jnerf config: resolve a config (defaults <- file <- --set) and print or save it.
#include <iostream>

#include "commands.hpp"
#include "jnerf/core/config.hpp"

namespace jnerf::cli {

void add_config(CLI::App& app, const GlobalOptions&, Action& action) {
  auto* cmd = app.add_subcommand("config", "check a config and print it resolved over the defaults");
  struct Args {
    std::string file, out;
    std::vector<std::string> sets;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--config", a->file, "config file (JSON); omit to print the defaults");
  cmd->add_option("--set", a->sets, "override, key.path=value (repeatable)");
  cmd->add_option("--out", a->out, "write the resolved config here instead of stdout");
  cmd->callback([a, &action] {
    action = [a] {
      const Json resolved = resolve_config(a->file, a->sets);
      if (a->out.empty())
        std::cout << resolved.dump(2) << std::endl;
      else
        write_json_file(a->out, resolved);
    };
  });
}

}  // namespace jnerf::cli
