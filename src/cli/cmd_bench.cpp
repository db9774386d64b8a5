// jnerf bench: time training, shaping or propagation steps on synthetic input (no dataset
// needed); prints one JSON object as the last line of stdout.
//   nerf       photometric training steps on random rays (train.rays_per_batch);
//   shape      shaping steps (shape.rays_per_batch random rays, the configured Jacobians,
//              a random grouped affinity, the contrastive loss), with the photometric step
//              on the same batch for comparison;
//   propagate  head_responses of one synthetic pinhole view for C random class
//              directions, per response mode (all that this build knows by default).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "commands.hpp"
#include "jnerf/core/error.hpp"
#include "jnerf/propagate/propagation.hpp"
#include "jnerf/shape/contrastive_loss.hpp"
#include "jnerf/train/nerf_engine.hpp"

namespace jnerf::cli {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kAllModes = "perturb2d,render2d,perturb3d,linear2d,first_order2d,linear3d,cosine2d";

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double median_of(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double min_of(const std::vector<double>& v) { return v.empty() ? 0.0 : *std::min_element(v.begin(), v.end()); }

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

// A feature-prior-like affinity for B rays in `groups` groups of (nearly) equal size:
// within a group in [0.92, 1] (1 on the diagonal), across groups in [-0.3, 0.45], so every
// ray has about B / groups positives at any tau in [0.5, 0.9]. Symmetric.
std::vector<double> grouped_affinity(int B, int groups, std::mt19937_64& rng) {
  std::vector<int> group(B);
  for (int r = 0; r < B; ++r) group[r] = r % groups;
  std::shuffle(group.begin(), group.end(), rng);
  std::uniform_real_distribution<double> same(0.92, 1.0), other(-0.3, 0.45);
  std::vector<double> a(static_cast<std::size_t>(B) * B);
  for (int p = 0; p < B; ++p) {
    a[p * B + p] = 1.0;
    for (int q = p + 1; q < B; ++q) a[p * B + q] = a[q * B + p] = group[p] == group[q] ? same(rng) : other(rng);
  }
  return a;
}

// The shaping stage's optimiser settings (as jnerf train --stage shape).
AdamConfig shaping_adam(const Json& c) {
  AdamConfig a;
  const float lr = config_get<float>(c, "shape.lr");
  a.lr = lr > 0.f ? lr : config_get<float>(c, "train.lr");
  a.decay_rate = config_get<float>(c, "train.lr_decay_rate");
  a.decay_steps = config_get<float>(c, "train.lr_decay_steps");
  a.grad_clip = config_get<float>(c, "train.grad_clip");
  return a;
}

// One view looking down +z from the origin: a pinhole camera of w x h pixels with a 90
// degree horizontal field of view (as Replica), the sampler's ray range.
Frame synthetic_view(int w, int h) {
  Frame f;
  f.name = "synthetic";
  f.intrinsics.width = w;
  f.intrinsics.height = h;
  f.intrinsics.fx = f.intrinsics.fy = 0.5 * w;
  f.intrinsics.cx = 0.5 * (w - 1);
  f.intrinsics.cy = 0.5 * (h - 1);
  f.c2w = Eigen::Matrix4d::Identity();
  return f;
}

// The response modes a comma-separated list names; with `known_only`, names this build
// does not know are skipped (the default list names every mode there may be).
std::vector<ResponseMode> parse_modes(const std::string& list, bool known_only) {
  std::vector<ResponseMode> modes;
  std::stringstream ss(list);
  std::string name;
  while (std::getline(ss, name, ',')) {
    if (name.empty()) continue;
    try {
      modes.push_back(parse_response_mode(name));
    } catch (const InputError& e) {
      if (!known_only) throw InputError(std::string("--modes: ") + e.what());
    }
  }
  if (modes.empty()) throw InputError("--modes names no response mode");
  return modes;
}

// Runs fn warmup + iters times; returns the timed iterations' seconds.
template <class Fn>
std::vector<double> timed(int warmup, int iters, const char* what, Fn&& fn) {
  std::vector<double> times;
  for (int i = 0; i < warmup + iters; ++i) {
    const auto t0 = Clock::now();
    fn(i);
    const double dt = seconds_since(t0);
    if (i >= warmup) times.push_back(dt);
    spdlog::info("{} iteration {}: {:.4f} s{}", what, i + 1, dt, i < warmup ? " (warm-up)" : "");
  }
  return times;
}

}  // namespace

void add_bench(CLI::App& app, const GlobalOptions& global, Action& action) {
  struct Args {
    std::string config, stage;
    std::string modes = kAllModes;
    std::vector<std::string> sets;
    int iters = 10, warmup = 2;
    int groups = 8, classes = 10, width = 160, height = 120;
    bool no_photometric = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("bench", "time one training, shaping or propagation step");
  cmd->add_option("--config", a->config, "config file (JSON)");
  cmd->add_option("--set", a->sets, "override, key.path=value (repeatable)");
  cmd->add_option("--stage", a->stage, "nerf, shape or propagate")
      ->required()
      ->check(CLI::IsMember({"nerf", "shape", "propagate"}));
  cmd->add_option("--iters", a->iters, "timed iterations (per mode for propagate)")->check(CLI::PositiveNumber);
  cmd->add_option("--warmup", a->warmup, "untimed iterations first")->check(CLI::NonNegativeNumber);
  cmd->add_option("--groups", a->groups, "shape: groups of the random affinity (positives ~ rays / groups)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--no-photometric", a->no_photometric, "shape: skip the photometric-only comparison step");
  cmd->add_option("--classes", a->classes, "propagate: random class directions")->check(CLI::PositiveNumber);
  cmd->add_option("--width", a->width, "propagate: view width")->check(CLI::PositiveNumber);
  cmd->add_option("--height", a->height, "propagate: view height")->check(CLI::PositiveNumber);
  cmd->add_option("--modes", a->modes, "propagate: response modes, comma-separated (default: all)");
  cmd->callback([a, &global, &action] {
    action = [a, &global] {
      const Json config = resolve_config(a->config, a->sets);
      const std::string device = run_device(global, config);
      Dataset box_only;  // random rays need no data; a hash grid needs a box around them
      box_only.format = "random rays";
      box_only.has_scene_box = true;
      box_only.scene_min = Eigen::Vector3d::Constant(-2.0);
      box_only.scene_max = Eigen::Vector3d::Constant(2.0);
      box_only.near = 0.1f;
      box_only.far = 6.f;
      auto engine = make_nerf_engine(config, box_only, device);
      engine->init_params(config_get<std::uint64_t>(config, "run.seed"));
      const int coarse = config_get<int>(config, "sampler.coarse_samples");
      const int fine = config_get<int>(config, "sampler.fine_samples");
      const int samples_per_ray = 2 * coarse + fine;  // coarse net on coarse, fine net on both
      Json result = {{"stage", a->stage},
                     {"device", device},
                     {"model", config_get<std::string>(config, "model.type")},
                     {"params", engine->layout().total()},
                     {"samples_per_ray", samples_per_ray}};
      std::mt19937_64 rng(1);

      if (a->stage == "nerf") {
        const int rays = config_get<int>(config, "train.rays_per_batch");
        const AdamConfig adam;
        const RayBatch batch = random_batch(rays, rng);
        const std::vector<double> times = timed(a->warmup, a->iters, "nerf", [&](int i) {
          engine->train_step(batch, adam, i + 1, rng);
        });
        const double median = median_of(times);
        result.update({{"rays_per_iter", rays},
                       {"iters", a->iters},
                       {"sec_per_iter_median", median},
                       {"sec_per_iter_min", min_of(times)},
                       {"rays_per_sec", rays / median},
                       {"samples_per_sec", rays * double(samples_per_ray) / median}});

      } else if (a->stage == "shape") {
        const int rays = shaping_rays_per_batch(config, engine->backend());
        const JacobianSpec spec{parse_jacobian_channels(config_get<std::string>(config, "shape.jacobian_channels")),
                                config_get<bool>(config, "shape.jacobian_bias"), engine->head_width()};
        const ContrastiveSettings settings = ContrastiveSettings::from_config(config);
        const AdamConfig adam = shaping_adam(config);
        const RayBatch batch = random_batch(rays, rng);
        const int groups = std::min(a->groups, rays);
        const std::vector<double> affinity = grouped_affinity(rays, groups, rng);
        double tau = settings.tau_init;
        std::vector<double> loss_times, positives, counted;
        ContrastiveResult last;
        // Shaping and photometric steps alternate, so both see the same machine load.
        std::vector<double> shape_times, photo_times;
        for (int i = 0; i < a->warmup + a->iters; ++i) {
          const bool keep = i >= a->warmup;
          auto t0 = Clock::now();
          ShapingBatch shaping{affinity, settings.params(rays, true), tau, {}};
          const StepResult r = engine->shape_step(batch, spec, shaping, adam, 2 * i + 1, rng);
          tau = shaping.tau;
          last = shaping.result;
          if (keep) loss_times.push_back(last.seconds);
          const double dt = seconds_since(t0);
          if (!r.finite) throw std::runtime_error("bench: the shaping step stopped being finite at iteration " +
                                                std::to_string(i + 1));
          if (keep) {
            shape_times.push_back(dt);
            positives.push_back(last.mean_positives);
            counted.push_back(static_cast<double>(last.counted) / last.anchors);
          }
          spdlog::info("shape iteration {}: {:.4f} s (loss {:.4f} s, L_MI {:.4f}, positives {:.1f}, tau {:.3f}){}",
                       i + 1, dt, loss_times.empty() || !keep ? 0.0 : loss_times.back(), last.mi,
                       last.mean_positives, tau, keep ? "" : " (warm-up)");
          if (a->no_photometric) continue;
          t0 = Clock::now();
          engine->train_step(batch, adam, 2 * i + 2, rng);
          const double dp = seconds_since(t0);
          if (keep) photo_times.push_back(dp);
          spdlog::info("photometric iteration {}: {:.4f} s{}", i + 1, dp, keep ? "" : " (warm-up)");
        }
        const double median = median_of(shape_times);
        result.update({{"rays_per_iter", rays},
                       {"iters", a->iters},
                       {"jacobian_channels", to_string(spec.channels)},
                       {"jacobian_bias", spec.bias},
                       {"jacobian_dims", spec.dims()},
                       {"affinity_groups", groups},
                       {"mean_positives", median_of(positives)},
                       {"counted_fraction", median_of(counted)},
                       {"sec_per_iter_median", median},
                       {"sec_per_iter_min", min_of(shape_times)},
                       {"rays_per_sec", rays / median},
                       {"samples_per_sec", rays * double(samples_per_ray) / median},
                       {"loss_sec_median", median_of(loss_times)}});
        if (!photo_times.empty()) {
          const double photo = median_of(photo_times);
          result.update({{"photometric_sec_median", photo},
                         {"photometric_sec_min", min_of(photo_times)},
                         {"shaping_overhead", median / photo}});
        }

      } else {  // propagate
        const Frame view = synthetic_view(a->width, a->height);
        const JacobianSpec spec{parse_jacobian_channels(config_get<std::string>(config, "shape.jacobian_channels")),
                                config_get<bool>(config, "shape.jacobian_bias"), engine->head_width()};
        const int C = a->classes, D = spec.dims();
        // Random unit directions (class means of click Jacobians in a real run).
        std::normal_distribution<double> normal;
        std::vector<double> directions(static_cast<std::size_t>(C) * D);
        for (double& x : directions) x = normal(rng);
        for (int c = 0; c < C; ++c) {
          double n2 = 0;
          for (int d = 0; d < D; ++d) n2 += directions[c * D + d] * directions[c * D + d];
          for (int d = 0; d < D; ++d) directions[c * D + d] /= std::sqrt(n2);
        }
        const double step = config_get<double>(config, "propagate.step");
        const int chunk = std::max(1, config_get<int>(config, "output.render_chunk"));
        const std::size_t pixels = static_cast<std::size_t>(a->width) * a->height;
        Json per_mode = Json::object();
        for (const ResponseMode mode : parse_modes(a->modes, a->modes == kAllModes)) {
          const std::vector<double> times = timed(a->warmup, a->iters, to_string(mode), [&](int) {
            const std::vector<float> out = engine->head_responses(view, directions, spec, step, mode, chunk);
            if (out.size() != static_cast<std::size_t>(C) * pixels)
              throw std::runtime_error("head_responses returned the wrong size");
          });
          per_mode[to_string(mode)] = {{"sec_per_view_median", median_of(times)},
                                       {"sec_per_view_min", min_of(times)}};
        }
        result.update({{"width", a->width},
                       {"height", a->height},
                       {"classes", C},
                       {"jacobian_dims", D},
                       {"render_chunk", chunk},
                       {"iters", a->iters},
                       {"rays_per_iter", pixels},
                       {"modes", per_mode}});
        // The headline: the fastest exact 3-D mode, and its speed-up over re-evaluation.
        const std::string head = per_mode.contains("linear3d") ? std::string("linear3d") : per_mode.begin().key();
        const double median = per_mode[head]["sec_per_view_median"].get<double>();
        result.update({{"headline_mode", head},
                       {"sec_per_iter_median", median},
                       {"rays_per_sec", pixels / median},
                       {"samples_per_sec", pixels * double(samples_per_ray) / median}});
        if (per_mode.contains("linear3d") && per_mode.contains("perturb3d"))
          result["linear3d_speedup"] = per_mode["perturb3d"]["sec_per_view_median"].get<double>() / median;
        if (per_mode.contains("render2d") && per_mode.contains("perturb2d"))
          result["perturb2d_speedup"] = per_mode["render2d"]["sec_per_view_median"].get<double>() /
                                        per_mode["perturb2d"]["sec_per_view_median"].get<double>();
        if (per_mode.contains("linear2d") && per_mode.contains("perturb2d"))
          result["linear2d_speedup"] = per_mode["perturb2d"]["sec_per_view_median"].get<double>() /
                                       per_mode["linear2d"]["sec_per_view_median"].get<double>();
      }
      std::cout << result.dump() << std::endl;
    };
  });
}

}  // namespace jnerf::cli
