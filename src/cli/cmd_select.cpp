// jnerf select: one or a few clicks on a view select their entity in every view of a
// shaped NeRF (propagate/entity_edit.hpp); masks, overlays and select.json.
#include <cmath>
#include <iostream>
#include <set>

#include "clicked_run.hpp"
#include "jnerf/core/error.hpp"
#include "jnerf/io/image_io.hpp"
#include "jnerf/propagate/entity_edit.hpp"

namespace jnerf::cli {
namespace {

ImageU8 mask_image(const EntityMask& m) {
  ImageU8 out(m.width, m.height, 1);
  for (std::size_t i = 0; i < m.mask.size(); ++i) out.data[i] = m.mask[i] ? 255 : 0;
  return out;
}

}  // namespace

void add_select(CLI::App& app, const GlobalOptions& global, Action& action) {
  struct Args {
    ClickedRunOptions target;
    std::string out, mode = "linear3d", scale = "view";
    std::vector<std::string> clicks;
    double threshold = 0.5, step = 0;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("select", "select the clicked entity in every view of a shaped NeRF");
  add_clicked_run_options(cmd, a->target, "select in");
  cmd->add_option("--click", a->clicks, "a clicked pixel X,Y of that view (repeatable)")->required();
  cmd->add_option("--out", a->out, "output folder")->required();
  cmd->add_option("--mode", a->mode, "response: linear3d (default), perturb3d, linear2d, perturb2d or cosine2d")
      ->check(CLI::IsMember({"linear3d", "perturb3d", "linear2d", "perturb2d", "cosine2d"}));
  cmd->add_option("--scale", a->scale, "response scale: view (per view, as propagate; default) or clicks")
      ->check(CLI::IsMember({"view", "clicks"}));
  cmd->add_option("--threshold", a->threshold, "mask where the post-processed response exceeds this (default 0.5)");
  cmd->add_option("--step", a->step, "perturbation step t (default: the run's propagate.step)");
  cmd->callback([a, &global, &action] {
    action = [a, &global] {
      std::vector<PixelPos> clicks;
      for (const std::string& c : a->clicks) clicks.push_back(parse_pixel(c));
      ClickedRun target = open_clicked_run(a->target, global);
      LoadedRun& model = target.model;
      SelectSettings settings = SelectSettings::from_config(model.config);
      settings.mode = parse_response_mode(a->mode);
      settings.scale = parse_select_scale(a->scale);
      settings.threshold = a->threshold;
      if (a->step != 0) settings.step = a->step;
      const Dataset& dataset = model.dataset;
      const int clicked = target.clicked;
      for (const PixelPos& p : clicks) check_pixel(dataset.frames[clicked], p);
      const std::vector<int>& views = target.views;

      const std::filesystem::path out(a->out);
      std::filesystem::create_directories(out);
      std::set<int> written;
      auto write_view = [&](const Frame& frame, const EntityMask& m, bool is_clicked) {
        if (!written.insert(frame.id).second) return;
        const std::string stem = view_stem(frame.id);
        write_png(out / ("mask_" + stem + ".png"), mask_image(m));
        const ImageF rgb = frame.rgb.empty() ? model.engine->render(frame, model.chunk).rgb : frame.rgb;
        write_png(out / ("overlay_" + stem + ".png"), mask_overlay(rgb, m.mask, is_clicked ? clicks : std::vector<PixelPos>{}));
      };
      spdlog::info("select: {} click(s) on view {} '{}', {} {} views, mode {}, t = {}, threshold {}", clicks.size(),
                   dataset.frames[clicked].id, dataset.frames[clicked].name, views.size(), a->target.views,
                   to_string(settings.mode), settings.step, settings.threshold);
      const Selection sel = select_entity(*model.engine, dataset, clicked, clicks, views, settings, write_view);
      Json report = selection_to_json(sel, dataset, clicks, settings);
      report["checkpoint"] = model.checkpoint.string();
      report["shaped"] = model.shaped;
      write_json_file(out / "select.json", report);

      std::cout << "selected the entity of " << clicks.size() << " click(s) on view " << dataset.frames[clicked].id
                << " in " << sel.views.size() << " " << a->target.views << " views: mean mask fraction "
                << sel.mean_fraction;
      if (std::isfinite(sel.mean_iou)) std::cout << ", mean IoU with the clicked instance " << sel.mean_iou;
      std::cout << " (" << (out / "select.json").string() << ")\n";
    };
  });
}

}  // namespace jnerf::cli
