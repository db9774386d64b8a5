// jnerf train: stage nerf (photometric training from scratch) and stage shape (JacobiNeRF
// shaping of the run's trained NeRF).
#include <iostream>

#include "commands.hpp"
#include "jnerf/core/error.hpp"
#include "jnerf/data/dataset_config.hpp"
#include "jnerf/train/nerf_trainer.hpp"
#include "jnerf/train/shape_trainer.hpp"

namespace jnerf::cli {
namespace {

// Writes the dataset-derived ray range and scene box into the run's config, so that
// rendering the run later (also on another dataset, with --data) uses the same geometry.
void pin_dataset_geometry(Json& config, const Dataset& dataset) {
  if (config["sampler"]["near"].get<double>() < 0) config["sampler"]["near"] = dataset.near;
  if (config["sampler"]["far"].get<double>() < 0) config["sampler"]["far"] = dataset.far;
  Json& box = config["model"]["hash_grid"]["scene_box"];
  if (config_get<std::string>(config, "model.type") == "hash_grid" && box.empty() && dataset.has_scene_box)
    box = {dataset.scene_min.x(), dataset.scene_min.y(), dataset.scene_min.z(),
           dataset.scene_max.x(), dataset.scene_max.y(), dataset.scene_max.z()};
}

}  // namespace

void add_train(CLI::App& app, const GlobalOptions& global, Action& action) {
  struct Args {
    std::string config, out, stage = "nerf";
    std::vector<std::string> sets;
    bool resume = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("train", "train a NeRF (stage nerf) or shape one (stage shape)");
  cmd->add_option("--config", a->config, "config file (JSON)");
  cmd->add_option("--set", a->sets, "override, key.path=value (repeatable)");
  cmd->add_option("--out", a->out, "run folder")->required();
  cmd->add_option("--stage", a->stage, "nerf or shape")->check(CLI::IsMember({"nerf", "shape"}));
  cmd->add_flag("--resume", a->resume, "continue from the run folder's newest checkpoint");
  cmd->callback([a, &global, &action] {
    action = [a, &global] {
      const RunDir run(a->out);
      const bool shape = a->stage == "shape";
      Json config;
      if (a->resume) {
        if (!a->config.empty())
          throw InputError("--resume continues " + a->out + " with its own config.json; change it with --set");
        config = run.read_config();
        for (const auto& s : a->sets) apply_override(config, s);
      } else if (shape && a->config.empty()) {
        // Shaping continues the run folder's NeRF with the run's own config.
        config = run.read_config();
        for (const auto& s : a->sets) apply_override(config, s);
        if (run.latest_checkpoint("shape"))
          throw InputError(a->out + " already holds a 'shape' run: pass --resume or start from a copy");
      } else {
        config = resolve_config(a->config, a->sets);
        if (run.latest_checkpoint(a->stage))
          throw InputError(a->out + " already holds a '" + a->stage + "' run: pass --resume or another --out");
      }
      const std::string device = run_device(global, config);
      const Dataset dataset = load_dataset(load_options_from_config(config));
      spdlog::info("dataset: {} views ({} train, {} test) from {}", dataset.frames.size(), dataset.train.size(),
                   dataset.test.size(), dataset.root.string());
      pin_dataset_geometry(config, dataset);
      auto engine = make_nerf_engine(config, dataset, device);
      run.create(config);
      if (shape) {
        const ShapeSummary s = train_shape(config, dataset, *engine, run, a->resume);
        const Json metrics = {{"stage", "shape"},       {"first_step", s.first_step}, {"last_step", s.last_step},
                              {"seconds", s.seconds},   {"loss", s.loss},             {"l_mi", s.mi},
                              {"l_norm", s.norm},       {"tau", s.tau},               {"counted_fraction", s.counted_fraction},
                              {"train_psnr", s.train_psnr}, {"prior", s.prior},      {"checkpoint", s.checkpoint},
                              {"start_checkpoint", s.start_checkpoint}, {"device", device}};
        write_json_file(run.root() / "metrics.json", metrics);
        std::cout << "shaped steps " << s.first_step + 1 << ".." << s.last_step << " in " << s.seconds
                  << " s; L_MI " << s.mi << ", tau " << s.tau << ", train PSNR " << s.train_psnr << " dB\n"
                  << "prior: " << s.prior << "\ncheckpoint: " << s.checkpoint << "\n";
        return;
      }
      const TrainSummary s = train_nerf(config, dataset, *engine, run, a->resume);
      Json metrics = {{"stage", "nerf"},          {"first_step", s.first_step}, {"last_step", s.last_step},
                      {"seconds", s.seconds},     {"loss", s.loss},             {"train_psnr", s.train_psnr},
                      {"checkpoint", s.checkpoint}, {"device", device}};
      if (s.val_psnr >= 0) metrics["val_psnr"] = s.val_psnr;
      write_json_file(run.root() / "metrics.json", metrics);
      std::cout << "trained steps " << s.first_step + 1 << ".." << s.last_step << " in " << s.seconds
                << " s; train PSNR " << s.train_psnr << " dB";
      if (s.val_psnr >= 0) std::cout << ", validation PSNR " << s.val_psnr << " dB";
      std::cout << "\ncheckpoint: " << s.checkpoint << "\n";
    };
  });
}

}  // namespace jnerf::cli
