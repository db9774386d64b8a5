// jnerf edit: recolour the clicked entity of a shaped NeRF by moving the fine RGB head
// along the click's Jacobian (propagate/entity_edit.hpp); original and edited renders and
// edit.json.
#include <algorithm>
#include <cmath>
#include <iostream>

#include "clicked_run.hpp"
#include "jnerf/core/error.hpp"
#include "jnerf/io/image_io.hpp"
#include "jnerf/propagate/entity_edit.hpp"

namespace jnerf::cli {
namespace {

Json number_or_null(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

}  // namespace

void add_edit(CLI::App& app, const GlobalOptions& global, Action& action) {
  struct Args {
    ClickedRunOptions target;
    std::string out, click, colour;
    int iterations = 5;
    double strength = 1.0, tolerance = 2e-3, max_logit = 12;
    bool bias = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("edit", "recolour the clicked entity of a shaped NeRF");
  add_clicked_run_options(cmd, a->target, "render");
  cmd->add_option("--click", a->click, "the clicked pixel X,Y of that view")->required();
  cmd->add_option("--colour,--color", a->colour, "target colour R,G,B (0..1, or integers 0..255)")->required();
  cmd->add_option("--out", a->out, "output folder")->required();
  cmd->add_option("--strength", a->strength, "fraction of the way to the target colour (default 1)");
  cmd->add_option("--iterations", a->iterations, "re-render corrections at most (default 5)");
  cmd->add_option("--tolerance", a->tolerance, "per-channel tolerance on the clicked pixel (default 0.002)");
  cmd->add_option("--max-logit-change", a->max_logit, "bound on the click's pre-sigmoid colour change (default 12)");
  cmd->add_flag("--bias", a->bias, "also move the RGB head's bias along its Jacobian");
  cmd->callback([a, &global, &action] {
    action = [a, &global] {
      const PixelPos click = parse_pixel(a->click);
      const std::array<double, 3> colour = parse_colour(a->colour);
      ClickedRun target = open_clicked_run(a->target, global);
      LoadedRun& model = target.model;
      NerfEngine& engine = *model.engine;
      const Dataset& dataset = model.dataset;
      const int clicked = target.clicked;
      const Frame& clicked_view = dataset.frames[clicked];
      check_pixel(clicked_view, click);
      std::vector<int>& views = target.views;
      if (std::find(views.begin(), views.end(), clicked) == views.end()) views.insert(views.begin(), clicked);

      EditSettings settings;
      settings.strength = a->strength;
      settings.iterations = a->iterations;
      settings.tolerance = a->tolerance;
      settings.max_logit_change = a->max_logit;
      settings.bias = a->bias;
      settings.chunk = model.chunk;
      const EditResult r = edit_entity(engine, clicked_view, click, colour, settings);
      spdlog::info("edit: pixel {},{} of view {} from ({:.3f}, {:.3f}, {:.3f}) to ({:.3f}, {:.3f}, {:.3f}), goal "
                   "({:.3f}, {:.3f}, {:.3f}), steps ({:.4g}, {:.4g}, {:.4g}), {} correction(s)",
                   click.x, click.y, clicked_view.id, r.before[0], r.before[1], r.before[2], r.after[0], r.after[1],
                   r.after[2], r.goal[0], r.goal[1], r.goal[2], r.steps[0], r.steps[1], r.steps[2], r.corrections);
      for (int k = 0; k < 3; ++k)
        if (r.clamped[k])
          spdlog::warn("edit: channel {} cannot reach {:.3f} (reachable {:.3f}..{:.3f}); clamped", "RGB"[k],
                       r.goal[k], r.reachable_lo[k], r.reachable_hi[k]);

      const std::vector<int> instances = clicked_instances(clicked_view, {click});
      const std::filesystem::path out(a->out);
      std::filesystem::create_directories(out);
      Json per_view = Json::array();
      double in_sum = 0, out_sum = 0;
      std::size_t in_count = 0, out_count = 0;
      for (std::size_t v = 0; v < views.size(); ++v) {
        const Frame& frame = dataset.frames[views[v]];
        engine.set_params(r.original_params);
        const ImageF original = engine.render(frame, model.chunk).rgb;
        engine.set_params(r.edited_params);
        const ImageF edited = engine.render(frame, model.chunk).rgb;
        const std::string stem = view_stem(frame.id);
        write_png(out / ("original_" + stem + ".png"), original);
        write_png(out / ("edited_" + stem + ".png"), edited);
        Json entry{{"id", frame.id}, {"name", frame.name}};
        const std::vector<std::uint8_t> region = instance_region(frame, instances);
        if (!region.empty()) {
          const ColourChange c = colour_change(original, edited, region);
          entry["change_inside"] = number_or_null(c.inside);
          entry["change_outside"] = number_or_null(c.outside);
          entry["inside_pixels"] = c.inside_pixels;
          in_sum += c.inside * static_cast<double>(c.inside_pixels);
          in_count += c.inside_pixels;
          out_sum += c.outside * static_cast<double>(c.outside_pixels);
          out_count += c.outside_pixels;
        } else {
          const ColourChange c = colour_change(original, edited, std::vector<std::uint8_t>(original.pixels(), 0));
          entry["change_all"] = number_or_null(c.outside);
        }
        per_view.push_back(entry);
        spdlog::info("edit: rendered view {}/{} '{}'", v + 1, views.size(), frame.name);
      }

      Json report = edit_to_json(r);
      report["view"] = {{"id", clicked_view.id}, {"name", clicked_view.name}};
      report["strength"] = settings.strength;
      report["checkpoint"] = model.checkpoint.string();
      report["shaped"] = model.shaped;
      report["instances"] = instances.empty() ? Json(nullptr) : Json(instances);
      report["views"] = per_view.size();
      report["per_view"] = per_view;
      const double inside = in_count ? in_sum / static_cast<double>(in_count) : std::nan("");
      const double outside = out_count ? out_sum / static_cast<double>(out_count) : std::nan("");
      report["mean_change_inside"] = number_or_null(inside);
      report["mean_change_outside"] = number_or_null(outside);
      report["change_ratio"] = number_or_null(outside > 0 ? inside / outside : std::nan(""));
      write_json_file(out / "edit.json", report);

      std::cout << "edited the entity at " << a->click << " of view " << clicked_view.id << ": pixel colour "
                << r.before[0] << "," << r.before[1] << "," << r.before[2] << " -> " << r.after[0] << ","
                << r.after[1] << "," << r.after[2] << " (goal " << r.goal[0] << "," << r.goal[1] << "," << r.goal[2]
                << (r.reached ? ", reached" : ", not reached") << ")";
      if (in_count && out_count)
        std::cout << "; mean change inside the instance " << inside << ", outside " << outside;
      std::cout << " (" << (out / "edit.json").string() << ")\n";
    };
  });
}

}  // namespace jnerf::cli
