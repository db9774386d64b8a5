#include "jnerf/propagate/propagate_run.hpp"

#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "jnerf/core/error.hpp"
#include "jnerf/io/image_io.hpp"
#include "jnerf/io/palette.hpp"
#include "jnerf/propagate/dense_selection.hpp"
#include "jnerf/propagate/entity_edit.hpp"
#include "jnerf/propagate/propagation.hpp"
#include "jnerf/propagate/semantic_head.hpp"
#include "jnerf/shape/feature_prior.hpp"
#include "jnerf/train/nerf_trainer.hpp"

namespace jnerf {
namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

// Scoring ids: dataset id k >= 1 -> k - 1, void (0) -> -1.
std::vector<int> to_metric_ids(const std::vector<int>& ids) {
  std::vector<int> out(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) out[i] = ids[i] - 1;
  return out;
}

// RGB | ground truth | prediction, side by side.
ImageU8 strip_image(const Frame& frame, const std::vector<int>& truth, const std::vector<int>& predicted) {
  const int w = frame.intrinsics.width, h = frame.intrinsics.height, gap = 2;
  ImageU8 out(3 * w + 2 * gap, h, 3, 255);
  const ImageU8 rgb = to_u8(frame.rgb);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const std::size_t p = static_cast<std::size_t>(y) * w + x;
      const auto t = label_colour(static_cast<std::uint32_t>(std::max(truth[p], 0)));
      const auto q = label_colour(static_cast<std::uint32_t>(std::max(predicted[p], 0)));
      for (int k = 0; k < 3; ++k) {
        out.at(x, y, k) = rgb.at(x, y, k);
        out.at(w + gap + x, y, k) = t[k];
        out.at(2 * (w + gap) + x, y, k) = q[k];
      }
    }
  return out;
}

ImageU16 label_image(int w, int h, const std::vector<int>& ids) {
  ImageU16 out(w, h, 1);
  for (std::size_t i = 0; i < ids.size(); ++i) out.data[i] = static_cast<std::uint16_t>(std::max(ids[i], 0));
  return out;
}

std::vector<int> evaluation_views(const Json& config, const Dataset& dataset) {
  const std::string which = config_get<std::string>(config, "propagate.views");
  if (which != "test" && which != "train" && which != "all")
    throw InputError("config key 'propagate.views' must be test, train or all, got '" + which + "'");
  const std::vector<int> views = split_view_indices(dataset, which, config_get<int>(config, "propagate.max_views"));
  if (views.empty()) throw InputError("no views to evaluate propagation on (propagate.views = " + which + ")");
  return views;
}

// Collects a method's predictions over the evaluation views and scores them jointly.
class MethodScorer {
 public:
  MethodScorer(std::string name, const std::filesystem::path& folder, bool save_images, int num_classes,
               const std::vector<int>& clicked)
      : folder_(folder), save_(save_images), num_classes_(num_classes) {
    outcome_.name = std::move(name);
    class_present_.assign(num_classes, false);
    for (int c : clicked)
      if (c >= 1 && c <= num_classes) class_present_[c - 1] = true;
    for (int c = 0; c < num_classes; ++c)
      if (!class_present_[c]) ignored_.push_back(c);
    if (save_) std::filesystem::create_directories(folder_);
  }

  void add(const Frame& frame, const std::vector<int>& truth_ids, const std::vector<int>& predicted_ids) {
    const std::vector<int> t = to_metric_ids(truth_ids), p = to_metric_ids(predicted_ids);
    truth_.insert(truth_.end(), t.begin(), t.end());
    predicted_.insert(predicted_.end(), p.begin(), p.end());
    const SegmentationMetrics view = segmentation_metrics(t, p, num_classes_, ignored_, class_present_);
    outcome_.per_view.push_back({{"view", frame.name}, {"id", frame.id}, {"miou", nan_to_null(view.miou)},
                                 {"acc_total", nan_to_null(view.acc_total)}});
    if (save_) {
      const std::string id = std::to_string(frame.id);
      write_png(folder_ / ("strip_" + id + ".png"), strip_image(frame, truth_ids, predicted_ids));
      write_png16(folder_ / ("labels_" + id + ".png"),
                  label_image(frame.intrinsics.width, frame.intrinsics.height, predicted_ids));
    }
  }

  MethodOutcome finish(double seconds) {
    outcome_.metrics = segmentation_metrics(truth_, predicted_, num_classes_, ignored_, class_present_);
    outcome_.seconds = seconds;
    return outcome_;
  }

  static Json nan_to_null(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

 private:
  std::filesystem::path folder_;
  bool save_;
  int num_classes_;
  std::vector<bool> class_present_;
  std::vector<int> ignored_, truth_, predicted_;
  MethodOutcome outcome_;
};

Json method_json(const MethodOutcome& m) {
  Json j = m.metrics.to_json();
  j["seconds"] = m.seconds;
  return j;
}

// Each pixel takes the label of the click whose prior descriptor is most similar.
std::vector<int> nearest_click_labels(const ViewDescriptors& view, const ViewDescriptors& labelled,
                                      const Annotation& annotation, AffinityKernel kernel) {
  std::vector<const float*> click_desc;
  for (const Click& c : annotation.clicks)
    click_desc.push_back(labelled.at(static_cast<std::size_t>(c.y) * labelled.width + c.x));
  const std::size_t n = static_cast<std::size_t>(view.width) * view.height;
  std::vector<int> out(n);
#pragma omp parallel for schedule(static)
  for (long long p = 0; p < static_cast<long long>(n); ++p) {
    double best = -1e300;
    int label = annotation.clicks.front().label;
    for (std::size_t c = 0; c < click_desc.size(); ++c) {
      const double a = descriptor_affinity(kernel, view.at(p), click_desc[c], view.dims);
      if (a > best) best = a, label = annotation.clicks[c].label;
    }
    out[p] = label;
  }
  return out;
}

}  // namespace

PropagationOutcome propagate_run(const Json& config, const RunDir& run, const Dataset& dataset,
                                 const std::string& device, const std::filesystem::path& out) {
  const PropagationSettings settings = PropagationSettings::from_config(config);
  const int chunk = std::max(1, config_get<int>(config, "output.render_chunk"));
  const bool save_images = config_get<bool>(config, "output.save_images");
  const auto baselines = config_get<std::vector<std::string>>(config, "propagate.baselines");
  for (const std::string& b : baselines)
    if (b != "unshaped" && b != "nearest_click" && b != "semantic_nerf")
      throw InputError("config key 'propagate.baselines': unknown baseline '" + b +
                       "' (expected unshaped, nearest_click or semantic_nerf)");
  if (settings.labelled_frame < 0 || settings.labelled_frame >= static_cast<int>(dataset.train.size()))
    throw InputError("config key 'propagate.labelled_frame' = " + std::to_string(settings.labelled_frame) +
                     " is not a training view index (0.." + std::to_string(dataset.train.size() - 1) + ")");
  const bool want_semantic_nerf =
      std::find(baselines.begin(), baselines.end(), "semantic_nerf") != baselines.end();
  SemanticHeadSettings head_settings;
  if (want_semantic_nerf) head_settings = SemanticHeadSettings::from_config(config);
  const bool dense = settings.annotation.mode == "dense";
  DenseSettings dense_settings;
  if (dense) dense_settings = DenseSettings::from_config(config);
  const Frame& labelled = dataset.frames[dataset.train[settings.labelled_frame]];
  const std::vector<int> views = evaluation_views(config, dataset);
  std::filesystem::create_directories(out);

  // The clicks: from a file, or simulated from the labelled frame's ground truth.
  Annotation annotation;
  if (!settings.clicks_file.empty()) {
    annotation = load_annotation(settings.clicks_file);
    if (annotation.labels_kind != settings.labels)
      throw InputError("clicks file " + settings.clicks_file + " holds " + annotation.labels_kind +
                       " labels, but propagate.labels is " + settings.labels);
  } else {
    annotation = simulate_annotation(frame_labels(labelled, settings.labels), labelled.intrinsics.width,
                                     labelled.intrinsics.height, labelled.id, settings.annotation);
  }
  save_annotation(out / "clicks.json", annotation);
  const std::vector<int> clicked = annotation.classes();
  int num_classes = 0;
  for (int index : views)
    for (int id : frame_labels(dataset.frames[index], settings.labels)) num_classes = std::max(num_classes, id);
  for (int c : clicked) num_classes = std::max(num_classes, c);
  spdlog::info("propagate {} labels: {} clicks on {} classes of view '{}' ({}), mode {}, t = {}, {} views",
               settings.labels, annotation.clicks.size(), clicked.size(), labelled.name, annotation.mode,
               to_string(settings.mode), settings.step, views.size());

  auto engine = make_nerf_engine(config, dataset, device);
  const JacobianSpec spec{settings.channels, settings.bias, engine->head_width()};

  // Runs the perturbation protocol with the engine's current weights: the clicks' mean
  // directions, or for dense labels adaptive selection and the aggregator.
  auto propagate_with = [&](const std::string& name) {
    const auto t0 = clock_type::now();
    ClassDirections directions;
    DenseModel dense_model;
    if (dense)
      dense_model = select_dense(*engine, labelled, annotation_label_map(annotation), settings, dense_settings, chunk);
    else
      directions = class_directions(*engine, labelled, annotation, spec, chunk);
    MethodScorer scorer(name, out / name, save_images, num_classes, clicked);
    for (std::size_t v = 0; v < views.size(); ++v) {
      const Frame& frame = dataset.frames[views[v]];
      const ViewPrediction p = dense ? predict_dense(*engine, frame, dense_model, settings, chunk)
                                     : predict_view(*engine, frame, directions, settings, chunk);
      scorer.add(frame, frame_labels(frame, settings.labels), p.labels);
      spdlog::debug("{}: view {}/{} done", name, v + 1, views.size());
    }
    MethodOutcome m = scorer.finish(seconds_since(t0));
    spdlog::info("{}: mIoU {:.4f} (valid classes {:.4f}), accuracy {:.4f}, {:.1f} s", name, m.metrics.miou,
                 m.metrics.miou_valid, m.metrics.acc_total, m.seconds);
    return m;
  };

  PropagationOutcome outcome;
  const auto shaped = run.latest_checkpoint("shape");
  const auto nerf = run.latest_checkpoint("nerf");
  if (!shaped && !nerf) throw InputError(run.root().string() + " holds no checkpoint to propagate with");
  if (shaped) {
    load_nerf_checkpoint(*shaped, *engine, false);
    outcome.methods.push_back(propagate_with("shaped"));
  } else {
    spdlog::warn("{} has no shape checkpoint: propagating with the unshaped NeRF only", run.root().string());
  }
  const bool want_unshaped =
      !shaped || std::find(baselines.begin(), baselines.end(), "unshaped") != baselines.end();
  if (want_unshaped && nerf) {
    load_nerf_checkpoint(*nerf, *engine, false);
    outcome.methods.push_back(propagate_with("unshaped"));
  }
  if (std::find(baselines.begin(), baselines.end(), "nearest_click") != baselines.end()) {
    const auto t0 = clock_type::now();
    if (nerf) load_nerf_checkpoint(*nerf, *engine, false);
    const auto prior = make_feature_prior(config, dataset, *engine, false);
    const ViewDescriptors labelled_desc = prior->view_descriptors(labelled, *engine, chunk);
    MethodScorer scorer("nearest_click", out / "nearest_click", save_images, num_classes, clicked);
    for (int index : views) {
      const Frame& frame = dataset.frames[index];
      scorer.add(frame, frame_labels(frame, settings.labels),
                 nearest_click_labels(prior->view_descriptors(frame, *engine, chunk), labelled_desc, annotation,
                                      prior->kernel()));
    }
    outcome.methods.push_back(scorer.finish(seconds_since(t0)));
    spdlog::info("nearest_click ({}): mIoU {:.4f}", prior->describe(), outcome.methods.back().metrics.miou);
  }
  if (want_semantic_nerf) {
    // A semantic head on the frozen (unshaped) NeRF's fine head input, trained on the clicks.
    const auto t0 = clock_type::now();
    if (nerf) load_nerf_checkpoint(*nerf, *engine, false);
    const SemanticHeadBaseline head(*engine, labelled, annotation, head_settings, chunk);
    MethodScorer scorer("semantic_nerf", out / "semantic_nerf", save_images, num_classes, clicked);
    for (int index : views) {
      const Frame& frame = dataset.frames[index];
      scorer.add(frame, frame_labels(frame, settings.labels), head.predict(*engine, frame, chunk));
    }
    outcome.methods.push_back(scorer.finish(seconds_since(t0)));
    spdlog::info("semantic_nerf (head {} -> {} -> {}, {} steps on {} clicks, loss {:.3g} -> {:.3g}): mIoU {:.4f}",
                 engine->head_width(), head_settings.hidden, head.labels().size(), head_settings.steps,
                 head.rays_trained(), head.initial_loss(), head.final_loss(), outcome.methods.back().metrics.miou);
  }

  const MethodOutcome& main = outcome.methods.front();
  Json& m = outcome.metrics;
  m = method_json(main);
  m["method"] = main.name;
  m["per_view"] = main.per_view;
  m["labels"] = settings.labels;
  m["mode"] = to_string(settings.mode);
  m["step"] = settings.step;
  m["annotation"] = annotation.mode;
  m["clicks"] = annotation.clicks.size();
  m["classes_clicked"] = clicked;
  m["labelled_view"] = labelled.name;
  m["views"] = views.size();
  m["baselines"] = Json::object();
  for (std::size_t i = 1; i < outcome.methods.size(); ++i) m["baselines"][outcome.methods[i].name] = method_json(outcome.methods[i]);
  write_json_file(out / "metrics.json", m);
  outcome.table = propagation_table({{run.root().filename().string(), outcome}});
  std::ofstream(out / "results.md") << outcome.table;
  return outcome;
}

std::string propagation_table(const std::vector<std::pair<std::string, PropagationOutcome>>& scenes) {
  std::ostringstream s;
  auto num = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), std::isfinite(v) ? "%.2f" : "n/a", 100 * v);
    return std::string(buf);
  };
  s << "| scene | method | mIoU | mIoU (valid) | total acc. | class acc. | seconds |\n"
    << "| --- | --- | ---: | ---: | ---: | ---: | ---: |\n";
  for (const auto& [scene, outcome] : scenes)
    for (const MethodOutcome& m : outcome.methods) {
      char secs[32];
      std::snprintf(secs, sizeof(secs), "%.1f", m.seconds);
      s << "| " << scene << " | " << m.name << " | " << num(m.metrics.miou) << " | " << num(m.metrics.miou_valid)
        << " | " << num(m.metrics.acc_total) << " | " << num(m.metrics.acc_class) << " | " << secs << " |\n";
    }
  return s.str();
}

}  // namespace jnerf
