// jnerf info: version, backends compiled in, GPUs found.
#include <iostream>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "commands.hpp"
#include "jnerf/core/config.hpp"
#include "jnerf/core/device.hpp"

namespace jnerf::cli {

void add_info(CLI::App& app, const GlobalOptions&, Action& action) {
  auto* cmd = app.add_subcommand("info", "version, backends and GPUs found");
  auto as_json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *as_json, "print one JSON object");
  cmd->callback([&action, as_json] {
    action = [as_json] {
      const CudaStatus cuda = query_cuda();
      Json info;
      info["version"] = JNERF_VERSION;
#ifdef _OPENMP
      info["cpu"] = {{"backend", "eigen+openmp"}, {"threads", omp_get_max_threads()}};
#else
      info["cpu"] = {{"backend", "eigen"}, {"threads", 1}};
#endif
      info["cuda"] = {{"compiled", cuda.compiled},
                      {"runtime_version", cuda.runtime_version},
                      {"driver_version", cuda.driver_version},
                      {"error", cuda.error}};
      info["gpus"] = Json::array();
      for (const GpuInfo& g : cuda.gpus)
        info["gpus"].push_back({{"index", g.index},
                                {"name", g.name},
                                {"compute_capability", std::to_string(g.major) + "." + std::to_string(g.minor)},
                                {"memory_mib", g.memory_bytes >> 20},
                                {"multiprocessors", g.multiprocessors}});
      if (*as_json) {
        std::cout << info.dump() << std::endl;
        return;
      }
      std::cout << "jnerf " << JNERF_VERSION << "\n"
                << "CPU backend: " << info["cpu"]["backend"].get<std::string>() << ", "
                << info["cpu"]["threads"].get<int>() << " threads\n"
                << "CUDA backend: " << (cuda.compiled ? "compiled" : "not compiled");
      if (cuda.compiled)
        std::cout << " (runtime " << cuda.runtime_version / 1000 << "." << (cuda.runtime_version % 1000) / 10
                  << ", driver " << (cuda.driver_version ? std::to_string(cuda.driver_version) : "none") << ")";
      std::cout << "\n";
      if (cuda.gpus.empty()) std::cout << "GPUs: none (" << cuda.error << ")\n";
      for (const GpuInfo& g : cuda.gpus)
        std::cout << "GPU " << g.index << ": " << g.name << ", sm_" << g.major << g.minor << ", "
                  << (g.memory_bytes >> 20) << " MiB, " << g.multiprocessors << " SMs\n";
    };
  });
}

}  // namespace jnerf::cli
