// jnerf bench: time training steps; prints one JSON object as the last line of stdout.
#include <algorithm>
#include <chrono>
#include <iostream>

#include "commands.hpp"
#include "jnerf/core/error.hpp"
#include "jnerf/train/nerf_engine.hpp"

namespace jnerf::cli {
namespace {

// Random rays through the sampler's range, so a benchmark needs no dataset.
RayBatch random_batch(int rays, std::mt19937_64& rng) {
  RayBatch b;
  b.size = rays;
  std::uniform_real_distribution<float> u(-0.5f, 0.5f), c(0.f, 1.f);
  for (int k = 0; k < 3; ++k)
    for (int r = 0; r < rays; ++r) {
      b.origins.push_back(u(rng));
      b.dirs.push_back(k == 2 ? 1.f : u(rng));
      b.target.push_back(c(rng));
    }
  return b;
}

}  // namespace

void add_bench(CLI::App& app, const GlobalOptions& global, Action& action) {
  struct Args {
    std::string config, stage;
    std::vector<std::string> sets;
    int iters = 10, warmup = 2;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("bench", "time one training or propagation step");
  cmd->add_option("--config", a->config, "config file (JSON)");
  cmd->add_option("--set", a->sets, "override, key.path=value (repeatable)");
  cmd->add_option("--stage", a->stage, "nerf, shape or propagate")
      ->required()
      ->check(CLI::IsMember({"nerf", "shape", "propagate"}));
  cmd->add_option("--iters", a->iters, "timed iterations")->check(CLI::PositiveNumber);
  cmd->add_option("--warmup", a->warmup, "untimed iterations first")->check(CLI::NonNegativeNumber);
  cmd->callback([a, &global, &action] {
    action = [a, &global] {
      const Json config = resolve_config(a->config, a->sets);
      const std::string device = run_device(global, config);
      if (a->stage != "nerf")
        throw NotAvailableError("jnerf bench --stage " + a->stage + " is not available in this version of jnerf yet");
      Dataset box_only;  // random rays need no data; a hash grid needs a box around them
      box_only.format = "random rays";
      box_only.has_scene_box = true;
      box_only.scene_min = Eigen::Vector3d::Constant(-2.0);
      box_only.scene_max = Eigen::Vector3d::Constant(2.0);
      box_only.near = 0.1f;
      box_only.far = 6.f;
      auto engine = make_nerf_engine(config, box_only, device);
      engine->init_params(config_get<std::uint64_t>(config, "run.seed"));
      const int rays = config_get<int>(config, "train.rays_per_batch");
      AdamConfig adam;
      std::mt19937_64 rng(1);
      const RayBatch batch = random_batch(rays, rng);
      std::vector<double> times;
      for (int i = 0; i < a->warmup + a->iters; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        engine->train_step(batch, adam, i + 1, rng);
        const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (i >= a->warmup) times.push_back(dt);
        spdlog::info("iteration {}: {:.4f} s{}", i + 1, dt, i < a->warmup ? " (warm-up)" : "");
      }
      std::sort(times.begin(), times.end());
      const double median = times[times.size() / 2];
      const int samples_per_ray =
          config_get<int>(config, "sampler.coarse_samples") * 2 + config_get<int>(config, "sampler.fine_samples");
      const Json result = {{"stage", a->stage},
                           {"device", device},
                           {"model", config_get<std::string>(config, "model.type")},
                           {"params", engine->layout().total()},
                           {"rays_per_iter", rays},
                           {"samples_per_ray", samples_per_ray},
                           {"iters", a->iters},
                           {"sec_per_iter_median", median},
                           {"sec_per_iter_min", times.front()},
                           {"rays_per_sec", rays / median},
                           {"samples_per_sec", rays * double(samples_per_ray) / median}};
      std::cout << result.dump() << std::endl;
    };
  });
}

}  // namespace jnerf::cli
