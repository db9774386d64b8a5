// jnerf jacobian-stats: how similar the per-ray Jacobians of ground-truth related pixel
// pairs are, before and after shaping (shape/jacobian_stats.hpp).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <random>

#include "commands.hpp"
#include "jnerf/core/error.hpp"
#include "jnerf/data/dataset_config.hpp"
#include "jnerf/io/image_io.hpp"
#include "jnerf/shape/jacobian_stats.hpp"
#include "jnerf/train/checkpoint.hpp"
#include "jnerf/train/nerf_trainer.hpp"

namespace jnerf::cli {
namespace {

constexpr double kGapChangeTarget = 0.3;

struct StageCheckpoint {
  std::string name;  // "unshaped" or "shaped"
  std::filesystem::path file;
};

std::vector<StageCheckpoint> stage_checkpoints(const RunDir& run, const std::string& stage,
                                               const std::string& checkpoint) {
  if (!checkpoint.empty()) {
    const Checkpoint ck = load_checkpoint(checkpoint);  // InputError naming the file
    return {{ck.meta.value("stage", std::string("nerf")) == "shape" ? "shaped" : "unshaped", checkpoint}};
  }
  const auto nerf = run.latest_checkpoint("nerf");
  const auto shape = run.latest_checkpoint("shape");
  const std::string root = run.root().string();
  auto need = [&](const std::optional<std::filesystem::path>& file, const char* kind) {
    if (!file)
      throw InputError(root + " has no " + std::string(kind) + " checkpoint (checkpoints/" + kind +
                       "_<step>.ckpt) for --stage " + stage);
    return *file;
  };
  if (stage == "nerf") return {{"unshaped", need(nerf, "nerf")}};
  if (stage == "shape") return {{"shaped", need(shape, "shape")}};
  if (stage == "both") return {{"unshaped", need(nerf, "nerf")}, {"shaped", need(shape, "shape")}};
  std::vector<StageCheckpoint> out;
  if (nerf) out.push_back({"unshaped", *nerf});
  if (shape) out.push_back({"shaped", *shape});
  if (out.empty()) throw InputError(root + " holds no nerf or shape checkpoint to measure");
  return out;
}

// `count` of the training views, evenly spread, the first included (all when count is 0
// or at least their number).
std::vector<int> spread_views(const std::vector<int>& train, int count) {
  const int n = static_cast<int>(train.size());
  if (count <= 0 || count >= n) return train;
  std::vector<int> out;
  for (int k = 0; k < count; ++k) out.push_back(train[static_cast<std::size_t>(k) * n / count]);
  return out;
}

// Up to `count` distinct labelled pixels (class != 0) of a view, drawn from `rng`, sorted.
std::vector<std::int64_t> sample_labelled_pixels(const Frame& frame, int count, std::mt19937_64& rng) {
  std::vector<std::int64_t> labelled;
  for (std::size_t i = 0; i < frame.semantic.data.size(); ++i)
    if (frame.semantic.data[i] != 0) labelled.push_back(static_cast<std::int64_t>(i));
  const std::size_t take = std::min(labelled.size(), static_cast<std::size_t>(count));
  for (std::size_t k = 0; k < take; ++k) {
    const std::size_t pick = k + static_cast<std::size_t>(rng() % (labelled.size() - k));
    std::swap(labelled[k], labelled[pick]);
  }
  labelled.resize(take);
  std::sort(labelled.begin(), labelled.end());
  return labelled;
}

std::string fixed(double v, int digits = 4) {
  if (!std::isfinite(v)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

std::string cell(const CategoryStats& c) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%s (%lld)", fixed(c.mean()).c_str(), c.count);
  return buf;
}

}  // namespace

void add_jacobian_stats(CLI::App& app, const GlobalOptions& global, Action& action) {
  struct Args {
    std::string run, out, checkpoint, stage;
    long long pairs = 0;
    int pixels = 256, views = 6;
    std::uint64_t seed = 0;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "jacobian-stats", "mean |cos| of per-ray Jacobians of same-instance, same-class and different-class pixel pairs");
  cmd->add_option("--run", a->run, "run folder")->required();
  cmd->add_option("--out", a->out, "output folder")->required();
  auto* ckpt = cmd->add_option("--checkpoint", a->checkpoint, "measure this one checkpoint file");
  cmd->add_option("--stage", a->stage, "nerf, shape or both (default: both when the run has a shape checkpoint)")
      ->check(CLI::IsMember({"nerf", "shape", "both"}))
      ->excludes(ckpt);
  cmd->add_option("--pixels", a->pixels, "labelled pixels sampled per view (default 256)")->check(CLI::PositiveNumber);
  cmd->add_option("--pairs", a->pairs, "evaluate at most N random pairs (default 0: all pairs)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--views", a->views, "training views, evenly spread (default 6; 0 = all)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--seed", a->seed, "seed of the pixel (and pair) sampling (default 0)");
  cmd->callback([a, &global, &action] {
    action = [a, &global] {
      const RunDir run(a->run);
      const Json config = run.read_config();
      const std::vector<StageCheckpoint> stages = stage_checkpoints(run, a->stage, a->checkpoint);
      const std::string device = run_device(global, config);
      const Dataset dataset = load_dataset(load_options_from_config(config));
      const std::vector<int> views = spread_views(dataset.train, a->views);
      if (views.empty()) throw InputError("dataset " + dataset.root.string() + " has no training views");
      for (int index : views) {
        const Frame& f = dataset.frames[index];
        if (f.semantic.empty() || f.instance.empty())
          throw InputError("dataset " + dataset.root.string() + " has no semantic and instance maps for view '" +
                           f.name + "': jacobian-stats needs a labelled scene");
      }

      // The same pixels for every stage.
      std::vector<std::vector<std::int64_t>> pixels(views.size());
      std::vector<int> instance_ids, class_ids;
      Json view_ids = Json::array();
      for (std::size_t k = 0; k < views.size(); ++k) {
        const Frame& f = dataset.frames[views[k]];
        std::mt19937_64 rng(a->seed * 0x9E3779B97F4A7C15ULL + k + 1);
        pixels[k] = sample_labelled_pixels(f, a->pixels, rng);
        if (static_cast<int>(pixels[k].size()) < a->pixels)
          spdlog::warn("view '{}' has only {} labelled pixels", f.name, pixels[k].size());
        for (std::int64_t p : pixels[k]) {
          instance_ids.push_back(f.instance.data[p]);
          class_ids.push_back(f.semantic.data[p]);
        }
        view_ids.push_back(f.id);
      }
      if (class_ids.size() < 2)
        throw InputError("the sampled views of " + dataset.root.string() + " hold fewer than 2 labelled pixels");

      auto engine = make_nerf_engine(config, dataset, device);
      const JacobianSpec spec{parse_jacobian_channels(config_get<std::string>(config, "shape.jacobian_channels")),
                              config_get<bool>(config, "shape.jacobian_bias"), engine->head_width()};
      const int chunk = std::max(1, config_get<int>(config, "output.render_chunk"));
      PairStatsOptions options;
      options.max_pairs = a->pairs;
      options.seed = a->seed;

      Json report = Json::object();
      report["run"] = run.root().string();
      report["view_ids"] = view_ids;
      report["pixels_per_view"] = a->pixels;
      report["seed"] = a->seed;
      report["similarity"] = "abs_cosine";
      report["jacobian_channels"] = to_string(spec.channels);
      report["jacobian_bias"] = spec.bias;
      report["jacobian_dims"] = spec.dims();
      report["gap_change_target"] = kGapChangeTarget;
      Json stage_names = Json::array();
      std::vector<JacobianPairStats> results;
      for (const StageCheckpoint& s : stages) {
        const long long step = load_nerf_checkpoint(s.file, *engine, false);
        spdlog::info("{}: {} (step {}): Jacobians of {} pixels in {} views", s.name, s.file.string(), step,
                     class_ids.size(), views.size());
        std::vector<double> jacobians;
        jacobians.reserve(class_ids.size() * spec.dims());
        for (std::size_t k = 0; k < views.size(); ++k) {
          const std::vector<double> g =
              engine->pixel_jacobians(dataset.frames[views[k]], pixels[k], spec, chunk, a->seed + k);
          jacobians.insert(jacobians.end(), g.begin(), g.end());
        }
        results.push_back(jacobian_pair_stats(jacobians, spec.dims(), instance_ids, class_ids, options));
        add_pair_stats_json(report, s.name, results.back());
        report[s.name + ".checkpoint"] = s.file.string();
        report[s.name + ".step"] = step;
        stage_names.push_back(s.name);
      }
      report["stages"] = stage_names;
      const bool both = results.size() == 2;
      const double gap_change = both ? results[1].gap() - results[0].gap() : std::nan("");
      report["gap_change"] = std::isfinite(gap_change) ? Json(gap_change) : Json(nullptr);

      const CosHistogramImage hist = draw_cos_histograms(results);
      Json legend = Json::object();
      for (int c = 0; c < kPairCategories; ++c)
        legend[to_string(static_cast<PairCategory>(c))] = category_colour_name(static_cast<PairCategory>(c));
      report["histogram_legend"] = legend;
      report["histogram_panels"] = stage_names;
      report["histogram_bins"] = results.front().bins;
      report["histogram_y_max"] = hist.y_max;
      report["histogram_y_tick"] = hist.y_tick;
      report["histogram_layout"] =
          "legend row of colour boxes left to right: same_instance, same_class, different_class; one panel per "
          "stage top to bottom as in histogram_panels (panel k marked by k small grey squares at its left); x: "
          "|cos| from 0 to 1 in histogram_bins bins, three bars per bin in the legend's order, ticks every 0.1 "
          "(long at 0, 0.5, 1); y: fraction of the category's pairs in the bin, shared by all panels, from 0 to "
          "histogram_y_max with ticks every histogram_y_tick; dashed vertical lines: each category's mean";

      const std::filesystem::path out(a->out);
      std::filesystem::create_directories(out);
      write_json_file(out / "jacobian_stats.json", report);
      write_png(out / "jacobian_cos_hist.png", hist.image);

      char line[256];
      std::cout << "mean |cos| of per-ray Jacobians (pair counts in brackets), " << class_ids.size()
                << " labelled pixels in " << views.size() << " views";
      if (results.front().sampled)
        std::cout << ", " << a->pairs << " random pairs of " << results.front().total_pairs;
      std::cout << "\n";
      std::snprintf(line, sizeof(line), "%-10s %-22s %-22s %-22s %8s\n", "stage", "same_instance", "same_class",
                    "different_class", "gap");
      std::cout << line;
      for (std::size_t k = 0; k < results.size(); ++k) {
        const JacobianPairStats& r = results[k];
        std::snprintf(line, sizeof(line), "%-10s %-22s %-22s %-22s %8s\n", stage_names[k].get<std::string>().c_str(),
                      cell(r[PairCategory::SameInstance]).c_str(), cell(r[PairCategory::SameClass]).c_str(),
                      cell(r[PairCategory::DifferentClass]).c_str(), fixed(r.gap()).c_str());
        std::cout << line;
      }
      if (both)
        std::cout << "gap change: " << fixed(gap_change) << " (target >= " << fixed(kGapChangeTarget, 1) << ")\n";
      std::cout << "wrote " << (out / "jacobian_stats.json").string() << " and "
                << (out / "jacobian_cos_hist.png").string() << "\n";
    };
  });
}

}  // namespace jnerf::cli
