// jnerf render: render a trained run's views, write PNGs and PSNR/SSIM to metrics.json.
#include <cmath>
#include <cstdio>
#include <iostream>

#include "commands.hpp"
#include "jnerf/core/error.hpp"
#include "jnerf/data/dataset_config.hpp"
#include "jnerf/eval/image_metrics.hpp"
#include "jnerf/io/image_io.hpp"
#include "jnerf/train/nerf_trainer.hpp"

namespace jnerf::cli {
namespace {

std::vector<int> split_views(const Dataset& d, const std::string& split) {
  if (split == "train") return d.train;
  if (split == "test") return d.test;
  std::vector<int> all(d.frames.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int>(i);
  return all;
}

ImageU16 depth_to_mm(const ImageF& depth) {
  ImageU16 out(depth.width, depth.height, 1);
  for (std::size_t i = 0; i < depth.data.size(); ++i)
    out.data[i] = static_cast<std::uint16_t>(std::clamp(std::lround(depth.data[i] * 1000.f), 0L, 65535L));
  return out;
}

}  // namespace

void add_render(CLI::App& app, const GlobalOptions& global, Action& action) {
  struct Args {
    std::string run, data, format = "auto", split = "test", out, checkpoint, stage = "latest";
    int max_views = 0;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("render", "render views of a trained run and score them");
  cmd->add_option("--run", a->run, "run folder")->required();
  cmd->add_option("--data", a->data, "dataset folder (default: the run's)");
  cmd->add_option("--format", a->format, "dataset format with --data (default: auto)");
  cmd->add_option("--split", a->split, "train, test or all")->check(CLI::IsMember({"train", "test", "all"}));
  cmd->add_option("--out", a->out, "output folder")->required();
  cmd->add_option("--checkpoint", a->checkpoint, "checkpoint file (default: the newest of --stage)");
  cmd->add_option("--stage", a->stage, "latest (shape if shaped, else nerf), nerf or shape")
      ->check(CLI::IsMember({"latest", "nerf", "shape"}));
  cmd->add_option("--max-views", a->max_views, "render at most N views (0 = all)")->check(CLI::NonNegativeNumber);
  cmd->callback([a, &global, &action] {
    action = [a, &global] {
      const RunDir run(a->run);
      Json config = run.read_config();
      if (!a->data.empty()) {
        config["data"]["path"] = a->data;
        config["data"]["format"] = a->format;
      }
      const std::string device = run_device(global, config);
      const Dataset dataset = load_dataset(load_options_from_config(config));
      auto engine = make_nerf_engine(config, dataset, device);
      std::filesystem::path ckpt = a->checkpoint;
      if (ckpt.empty()) {
        std::string stage = a->stage;
        if (stage == "latest") stage = run.latest_checkpoint("shape") ? "shape" : "nerf";
        const auto latest = run.latest_checkpoint(stage);
        if (!latest) throw InputError(a->run + " has no " + stage + " checkpoint to render");
        ckpt = *latest;
      }
      const long long step = load_nerf_checkpoint(ckpt, *engine, false);
      std::vector<int> views = split_views(dataset, a->split);
      if (a->max_views > 0 && static_cast<int>(views.size()) > a->max_views) views.resize(a->max_views);
      if (views.empty()) throw InputError("the '" + a->split + "' split of " + dataset.root.string() + " has no views");

      const std::filesystem::path out(a->out);
      std::filesystem::create_directories(out);
      const int chunk = std::max(1, config_get<int>(config, "output.render_chunk"));
      Json per_view = Json::array();
      double psnr_sum = 0, ssim_sum = 0;
      for (std::size_t k = 0; k < views.size(); ++k) {
        const Frame& frame = dataset.frames[views[k]];
        const RenderedView view = engine->render(frame, chunk);
        char stem[32];
        std::snprintf(stem, sizeof(stem), "%05d", frame.id);
        write_png(out / ("rgb_" + std::string(stem) + ".png"), view.rgb);
        write_png16(out / ("depth_" + std::string(stem) + ".png"), depth_to_mm(view.depth));
        const double p = psnr(view.rgb, frame.rgb), s = ssim(view.rgb, frame.rgb);
        psnr_sum += p;
        ssim_sum += s;
        per_view.push_back({{"id", frame.id}, {"name", frame.name}, {"psnr", p}, {"ssim", s}});
        spdlog::info("view {}/{} '{}': PSNR {:.2f} dB, SSIM {:.4f}", k + 1, views.size(), frame.name, p, s);
      }
      const Json metrics = {{"psnr_mean", psnr_sum / views.size()}, {"ssim_mean", ssim_sum / views.size()},
                            {"split", a->split}, {"views", per_view.size()}, {"checkpoint", ckpt.string()},
                            {"step", step}, {"per_view", per_view}};
      write_json_file(out / "metrics.json", metrics);
      std::cout << "rendered " << views.size() << " " << a->split << " views to " << out.string()
                << ": PSNR " << metrics["psnr_mean"].get<double>() << " dB, SSIM "
                << metrics["ssim_mean"].get<double>() << "\n";
    };
  });
}

}  // namespace jnerf::cli
