#ifdef _OPENMP
#include <omp.h>
#endif

#include "commands.hpp"
#include "jnerf/core/config.hpp"
#include "jnerf/core/device.hpp"

namespace jnerf::cli {

std::string run_device(const GlobalOptions& global, const Json& config) {
#ifdef _OPENMP
  const int threads = config_get<int>(config, "run.threads");
  if (global.threads == 0 && threads > 0) omp_set_num_threads(threads);
#endif
  const std::string requested = global.device != "auto" ? global.device : config_get<std::string>(config, "run.device");
  const std::string device = resolve_device(requested);
  spdlog::info("device: {}", device);
  return device;
}

}  // namespace jnerf::cli
