// jnerf: the command-line program. Exit codes: 0 success, 2 bad input, 1 other failure.
#include <cstdio>
#include <exception>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "commands.hpp"
#include "jnerf/core/error.hpp"
#include "jnerf/core/log.hpp"

int main(int argc, char** argv) {
  using namespace jnerf::cli;
  jnerf::init_logging();

  CLI::App app{"jnerf: JacobiNeRF (NeRF shaping with mutual information gradients) in C++/CUDA", "jnerf"};
  app.set_version_flag("--version", std::string("jnerf ") + JNERF_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // global options may also follow the subcommand

  GlobalOptions global;
  app.add_option("--log-level", global.log_level, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app.add_option("--device", global.device, "compute backend: auto, cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  app.add_option("--threads", global.threads, "CPU threads (0 = all cores)")->check(CLI::NonNegativeNumber);

  Action action;
  add_info(app, global, action);
  add_synth(app, global, action);
  add_dataset(app, global, action);
  add_config(app, global, action);
  add_train(app, global, action);
  add_render(app, global, action);
  add_propagate(app, global, action);
  add_select(app, global, action);
  add_edit(app, global, action);
  add_bench(app, global, action);
  add_jacobian_stats(app, global, action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help, version or the parse error
    return code == 0 ? jnerf::kExitOk : jnerf::kExitBadInput;
  }

  try {
    jnerf::set_log_level(global.log_level);
#ifdef _OPENMP
    if (global.threads > 0) omp_set_num_threads(global.threads);
#endif
    if (action) action();
    return jnerf::kExitOk;
  } catch (const jnerf::InputError& e) {
    spdlog::error("{}", e.what());
    return jnerf::kExitBadInput;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return jnerf::kExitFailure;
  }
}
