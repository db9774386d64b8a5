#include "jnerf/train/nerf_trainer.hpp"

#include <chrono>
#include <cmath>
#include <fstream>

#include <spdlog/spdlog.h>

#include "jnerf/core/error.hpp"
#include "jnerf/eval/image_metrics.hpp"
#include "jnerf/train/checkpoint.hpp"

namespace jnerf {
namespace {

AdamConfig adam_from_config(const Json& c) {
  AdamConfig a;
  a.lr = config_get<float>(c, "train.lr");
  a.decay_rate = config_get<float>(c, "train.lr_decay_rate");
  a.decay_steps = config_get<float>(c, "train.lr_decay_steps");
  a.grad_clip = config_get<float>(c, "train.grad_clip");
  if (!(a.lr > 0.f)) throw InputError("config key 'train.lr' must be > 0");
  if (!(a.decay_steps > 0.f)) throw InputError("config key 'train.lr_decay_steps' must be > 0");
  return a;
}

std::string format_duration(double seconds) {
  const long long s = static_cast<long long>(seconds);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof(buf), "%lldh%02lldm", s / 3600, (s / 60) % 60);
  else
    std::snprintf(buf, sizeof(buf), "%lldm%02llds", s / 60, s % 60);
  return buf;
}

double to_psnr(double mse) { return mse > 0 ? -10.0 * std::log10(mse) : 99.0; }

}  // namespace

std::filesystem::path save_training_checkpoint(const RunDir& run, const std::string& stage, long long step,
                                               Json meta, const Json& config, const NerfEngine& engine, int keep,
                                               const std::string& last_good) {
  Checkpoint ck;
  meta["stage"] = stage;
  meta["step"] = step;
  meta["model"] = config["model"];
  meta["sampler"] = config["sampler"];
  meta["layout"] = engine.layout().to_json();
  meta["backend"] = engine.backend();
  meta["jnerf_version"] = JNERF_VERSION;
  ck.meta = std::move(meta);
  std::vector<float> params = engine.params();
  for (float v : params)
    if (!std::isfinite(v))
      throw TrainingDiverged("stage " + stage + " diverged at step " + std::to_string(step) +
                             " (the parameters stopped being finite); the last good checkpoint is kept: " + last_good);
  ck.arrays.emplace_back("params", std::move(params));
  ck.arrays.emplace_back("adam_m", engine.adam_m());
  ck.arrays.emplace_back("adam_v", engine.adam_v());
  if (auto grid = engine.occupancy_state(); !grid.empty()) ck.arrays.emplace_back("occupancy", std::move(grid));
  const auto path = run.checkpoint_path(stage, step);
  save_checkpoint(path, ck);
  run.prune_checkpoints(stage, keep);
  return path;
}

long long load_nerf_checkpoint(const std::filesystem::path& file, NerfEngine& engine, bool with_optimizer) {
  const Checkpoint ck = load_checkpoint(file);
  if (ck.meta.value("layout", Json()) != engine.layout().to_json())
    throw InputError("checkpoint " + file.string() + " holds a different model than the config describes");
  engine.set_params(ck.array("params"));
  if (with_optimizer) engine.set_adam_state(ck.array("adam_m"), ck.array("adam_v"));
  // The grid belongs to the trained model: restoring it makes a resumed run exact and
  // renders sample where training sampled.
  if (ck.has_array("occupancy") && !engine.occupancy_state().empty())
    engine.set_occupancy_state(ck.array("occupancy"));
  return ck.meta.value("step", 0LL);
}

TrainSummary train_nerf(const Json& config, const Dataset& dataset, NerfEngine& engine, const RunDir& run,
                        bool resume) {
  const long long iters = config_get<long long>(config, "train.iters");
  const int rays = config_get<int>(config, "train.rays_per_batch");
  const int log_every = std::max(1, config_get<int>(config, "train.log_every"));
  const int val_every = config_get<int>(config, "train.val_every");
  const int ckpt_every = config_get<int>(config, "train.checkpoint_every");
  const int keep = std::max(1, config_get<int>(config, "output.checkpoint_keep"));
  const int chunk = std::max(1, config_get<int>(config, "output.render_chunk"));
  const std::uint64_t seed = config_get<std::uint64_t>(config, "run.seed");
  const AdamConfig adam = adam_from_config(config);
  if (iters < 1) throw InputError("config key 'train.iters' must be >= 1");
  if (rays < 1) throw InputError("config key 'train.rays_per_batch' must be >= 1");

  TrainSummary summary;
  std::string last_good = "none yet";
  if (resume) {
    const auto latest = run.latest_checkpoint("nerf");
    if (!latest) throw InputError("nothing to resume: " + run.root().string() + " has no nerf checkpoint");
    summary.first_step = load_nerf_checkpoint(*latest, engine, true);
    last_good = latest->string();
    spdlog::info("resuming from {} (step {})", latest->string(), summary.first_step);
  } else {
    engine.init_params(seed);
  }
  if (summary.first_step >= iters) {
    spdlog::info("nothing to do: the run is at step {} of {}", summary.first_step, iters);
    summary.last_step = summary.first_step;
    return summary;
  }

  const RayPool pool(dataset, dataset.train);
  const int val_frame = dataset.test.empty() ? -1 : dataset.test.front();
  spdlog::info("stage nerf on {}: {} parameters, {} training views ({} pixels), {} rays per step, steps {}..{}",
               engine.backend(), engine.layout().total(), dataset.train.size(), pool.total_pixels(), rays,
               summary.first_step + 1, iters);

  const std::filesystem::path csv_path = run.root() / "progress.csv";
  const bool new_csv = !std::filesystem::exists(csv_path);
  std::ofstream csv(csv_path, std::ios::app);
  if (new_csv) csv << "stage,step,loss,psnr,lr,seconds,val_psnr\n";

  auto save = [&](long long step) {
    last_good = summary.checkpoint =
        save_training_checkpoint(run, "nerf", step, Json::object(), config, engine, keep, last_good).string();
  };

  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  double window_loss = 0, window_mse = 0;
  int window = 0;
  RayBatch batch;
  for (long long step = summary.first_step + 1; step <= iters; ++step) {
    // Each step's randomness depends only on (seed, step), so a resumed run continues
    // exactly as an uninterrupted one would.
    std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + static_cast<std::uint64_t>(step));
    pool.sample(rays, rng, batch);
    const StepResult r = engine.train_step(batch, adam, step, rng);
    if (!r.finite)
      throw TrainingDiverged("training diverged at step " + std::to_string(step) + " (loss " +
                             std::to_string(r.loss.loss) + ", gradient norm " + std::to_string(r.grad_norm) +
                             "); the last good checkpoint is kept: " + last_good);
    window_loss += r.loss.loss;
    window_mse += r.loss.mse_fine;
    ++window;
    summary.last_step = step;

    const double elapsed = std::chrono::duration<double>(clock::now() - start).count();
    double val_psnr = -1;
    if (val_every > 0 && val_frame >= 0 && (step % val_every == 0 || step == iters)) {
      const Frame& frame = dataset.frames[val_frame];
      val_psnr = psnr(engine.render(frame, chunk).rgb, frame.rgb);
      summary.val_psnr = val_psnr;
      spdlog::info("step {}: validation PSNR {:.2f} dB on view '{}'", step, val_psnr, frame.name);
    }
    if (step % log_every == 0 || step == iters) {
      const double done = static_cast<double>(step - summary.first_step);
      const double per_step = elapsed / done;
      summary.loss = window_loss / window;
      summary.train_psnr = to_psnr(window_mse / window);
      spdlog::info("step {}/{} ({:.1f}%) | {:.2f} it/s | {:.0f} rays/s | loss {:.5f} | psnr {:.2f} | lr {:.2e} | eta {}",
                   step, iters, 100.0 * step / iters, 1.0 / per_step, rays / per_step, summary.loss,
                   summary.train_psnr, scheduled_lr(adam, step - 1), format_duration(per_step * (iters - step)));
      csv << "nerf," << step << "," << summary.loss << "," << summary.train_psnr << "," << scheduled_lr(adam, step - 1)
          << "," << elapsed << "," << (val_psnr >= 0 ? std::to_string(val_psnr) : "") << "\n";
      csv.flush();
      window_loss = window_mse = 0;
      window = 0;
    }
    if ((ckpt_every > 0 && step % ckpt_every == 0) || step == iters) save(step);
  }
  summary.seconds = std::chrono::duration<double>(clock::now() - start).count();
  return summary;
}

}  // namespace jnerf
