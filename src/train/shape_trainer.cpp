#include "jnerf/train/shape_trainer.hpp"

#include <chrono>
#include <cmath>
#include <fstream>
#include <optional>

#include <spdlog/spdlog.h>

#include "jnerf/core/error.hpp"
#include "jnerf/shape/contrastive_loss.hpp"
#include "jnerf/shape/feature_prior.hpp"
#include "jnerf/train/checkpoint.hpp"

namespace jnerf {
namespace {

AdamConfig shape_adam(const Json& c) {
  AdamConfig a;
  const float lr = config_get<float>(c, "shape.lr");
  a.lr = lr > 0.f ? lr : config_get<float>(c, "train.lr");  // <= 0: the nerf stage's rate
  a.decay_rate = config_get<float>(c, "train.lr_decay_rate");
  a.decay_steps = config_get<float>(c, "train.lr_decay_steps");
  a.grad_clip = config_get<float>(c, "train.grad_clip");
  return a;
}

double to_psnr(double mse) { return mse > 0 ? -10.0 * std::log10(mse) : 99.0; }

}  // namespace

ShapeSummary train_shape(const Json& config, const Dataset& dataset, NerfEngine& engine, const RunDir& run,
                         bool resume) {
  const long long iters = config_get<long long>(config, "shape.iters");
  const int rays = shaping_rays_per_batch(config, engine.backend());
  const int every = config_get<int>(config, "shape.every");
  const int log_every = std::max(1, config_get<int>(config, "shape.log_every"));
  const int ckpt_every = config_get<int>(config, "shape.checkpoint_every");
  const int keep = std::max(1, config_get<int>(config, "output.checkpoint_keep"));
  const std::uint64_t seed = config_get<std::uint64_t>(config, "run.seed");
  const ContrastiveSettings loss_settings = ContrastiveSettings::from_config(config);
  const JacobianSpec spec{parse_jacobian_channels(config_get<std::string>(config, "shape.jacobian_channels")),
                          config_get<bool>(config, "shape.jacobian_bias"), engine.head_width()};
  const AdamConfig adam = shape_adam(config);
  if (iters < 1) throw InputError("config key 'shape.iters' must be >= 1");
  if (every < 1) throw InputError("config key 'shape.every' must be >= 1");

  ShapeSummary summary;
  double tau = loss_settings.tau_init;
  // The prior always comes from the unshaped NeRF (also when resuming), so a resumed run
  // sees the same affinities as an uninterrupted one.
  const auto nerf = run.latest_checkpoint("nerf");
  if (!nerf)
    throw InputError(run.root().string() + " has no nerf checkpoint to shape: train it first (jnerf train --stage nerf)");
  load_nerf_checkpoint(*nerf, engine, false);  // fresh optimiser, step counter reset
  std::string last_good = summary.start_checkpoint = nerf->string();
  std::optional<std::filesystem::path> resume_from;
  if (resume) {
    resume_from = run.latest_checkpoint("shape");
    if (!resume_from) throw InputError("nothing to resume: " + run.root().string() + " has no shape checkpoint");
    summary.first_step = load_checkpoint(*resume_from).meta.value("step", 0LL);
  }
  summary.last_step = summary.first_step;
  if (summary.first_step >= iters) {
    spdlog::info("nothing to do: shaping is at step {} of {}", summary.first_step, iters);
    return summary;
  }
  const std::unique_ptr<FeaturePrior> prior = make_feature_prior(config, dataset, engine);
  summary.prior = prior->describe();
  if (resume_from) {
    load_nerf_checkpoint(*resume_from, engine, true);
    tau = load_checkpoint(*resume_from).meta.value("tau", tau);
    last_good = summary.start_checkpoint = resume_from->string();
    spdlog::info("resuming shaping from {} (step {}, tau {:.3f})", resume_from->string(), summary.first_step, tau);
  } else {
    spdlog::info("shaping the NeRF of {}", nerf->string());
  }
  const bool adapt = prior->adaptive_threshold();
  const RayPool pool(dataset, dataset.train);
  spdlog::info("stage shape on {}: prior {}, {} rays per step, Jacobians '{}'{} ({} numbers), steps {}..{}",
               engine.backend(), summary.prior, rays, to_string(spec.channels), spec.bias ? " + bias" : "",
               spec.dims(), summary.first_step + 1, iters);
  if (prior->is_oracle()) spdlog::warn("the oracle prior reads ground-truth labels: results are an upper bound only");

  const std::filesystem::path csv_path = run.root() / "shape_progress.csv";
  const bool new_csv = !std::filesystem::exists(csv_path);
  std::ofstream csv(csv_path, std::ios::app);
  if (new_csv) csv << "step,loss,mse_fine,psnr,l_mi,l_norm,tau,counted_fraction,mean_positives,jacobian_norm,seconds\n";

  auto save = [&](long long step) {
    const Json meta = {{"tau", tau}, {"prior", summary.prior}, {"shape", config["shape"]}};
    last_good = summary.checkpoint =
        save_training_checkpoint(run, "shape", step, meta, config, engine, keep, last_good).string();
  };

  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  struct Window {
    double loss = 0, mse = 0, mi = 0, norm = 0, counted = 0, positives = 0, gnorm = 0;
    int steps = 0, shaped = 0;
  } win;
  RayBatch batch;
  for (long long step = summary.first_step + 1; step <= iters; ++step) {
    // Randomness from (seed, step) alone, salted apart from the nerf stage's.
    std::mt19937_64 rng((seed ^ 0x5348415045ull) * 0x9E3779B97F4A7C15ull + static_cast<std::uint64_t>(step));
    pool.sample(rays, rng, batch);
    StepResult r;
    if (step % every == 0) {
      ShapingBatch shaping{prior->affinity(pool, batch.pixel), loss_settings.params(batch.size, adapt), tau, {}};
      r = engine.shape_step(batch, spec, shaping, adam, step, rng);
      tau = shaping.tau;
      const ContrastiveResult& c = shaping.result;
      win.mi += c.mi;
      win.norm += c.norm;
      win.counted += static_cast<double>(c.counted) / c.anchors;
      win.positives += c.mean_positives;
      win.gnorm += c.mean_jacobian_norm;
      win.loss += c.loss;
      ++win.shaped;
    } else {
      r = engine.train_step(batch, adam, step, rng);
    }
    if (!r.finite)
      throw TrainingDiverged("shaping diverged at step " + std::to_string(step) + " (loss " +
                             std::to_string(r.loss.loss) + ", gradient norm " + std::to_string(r.grad_norm) +
                             "); the last good checkpoint is kept: " + last_good);
    win.loss += r.loss.loss;
    win.mse += r.loss.mse_fine;
    ++win.steps;
    summary.last_step = step;

    if (step % log_every == 0 || step == iters) {
      const double elapsed = std::chrono::duration<double>(clock::now() - start).count();
      const double per_step = elapsed / static_cast<double>(step - summary.first_step);
      const double shaped = std::max(1, win.shaped);
      summary.loss = win.loss / win.steps;
      summary.train_psnr = to_psnr(win.mse / win.steps);
      summary.mi = win.mi / shaped;
      summary.norm = win.norm / shaped;
      summary.counted_fraction = win.counted / shaped;
      summary.tau = tau;
      const long long eta = static_cast<long long>(per_step * (iters - step));
      spdlog::info("shape {}/{} ({:.1f}%) | {:.2f} it/s | L_MI {:.4f} | L_norm {:.4f} | |g| {:.3f} | tau {:.3f} | "
                   "anchors {:.0f}% | positives {:.1f} | psnr {:.2f} | eta {}m{:02}s",
                   step, iters, 100.0 * step / iters, 1.0 / per_step, summary.mi, summary.norm, win.gnorm / shaped,
                   tau, 100 * summary.counted_fraction, win.positives / shaped, summary.train_psnr, eta / 60, eta % 60);
      csv << step << "," << summary.loss << "," << win.mse / win.steps << "," << summary.train_psnr << ","
          << summary.mi << "," << summary.norm << "," << tau << "," << summary.counted_fraction << ","
          << win.positives / shaped << "," << win.gnorm / shaped << "," << elapsed << "\n";
      csv.flush();
      win = Window{};
    }
    if ((ckpt_every > 0 && step % ckpt_every == 0) || step == iters) save(step);
  }
  summary.seconds = std::chrono::duration<double>(clock::now() - start).count();
  summary.tau = tau;
  return summary;
}

}  // namespace jnerf
