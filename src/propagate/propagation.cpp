#include "jnerf/propagate/propagation.hpp"

#include "jnerf/core/error.hpp"

namespace jnerf {

ResponseMode parse_response_mode(const std::string& name) {
  if (name == "perturb2d") return ResponseMode::Perturb2D;
  if (name == "render2d") return ResponseMode::Render2D;
  if (name == "perturb3d") return ResponseMode::Perturb3D;
  if (name == "linear2d") return ResponseMode::Linear2D;
  if (name == "linear3d") return ResponseMode::Linear3D;
  if (name == "cosine2d") return ResponseMode::Cosine2D;
  if (name == "first_order2d") return ResponseMode::FirstOrder2D;
  throw InputError("config key 'propagate.mode': unknown mode '" + name +
                   "' (expected perturb2d, perturb3d, linear2d, linear3d, render2d, cosine2d or first_order2d)");
}

const char* to_string(ResponseMode mode) {
  switch (mode) {
    case ResponseMode::Perturb2D: return "perturb2d";
    case ResponseMode::Render2D: return "render2d";
    case ResponseMode::Perturb3D: return "perturb3d";
    case ResponseMode::Linear2D: return "linear2d";
    case ResponseMode::Linear3D: return "linear3d";
    case ResponseMode::Cosine2D: return "cosine2d";
    case ResponseMode::FirstOrder2D: return "first_order2d";
  }
  return "?";
}

bool is_3d(ResponseMode mode) { return mode == ResponseMode::Perturb3D || mode == ResponseMode::Linear3D; }

bool uses_2d_postprocess(ResponseMode mode) { return !is_3d(mode) && mode != ResponseMode::Cosine2D; }

void finish_response_map(std::vector<float>& map, int width, int height, ResponseMode mode,
                         const ResponseSettings& response) {
  if (is_3d(mode)) normalise_by_max(map);
  else if (uses_2d_postprocess(mode)) postprocess_response(map, width, height, response);
}

PropagationSettings PropagationSettings::from_config(const Json& config) {
  PropagationSettings s;
  s.labelled_frame = config_get<int>(config, "propagate.labelled_frame");
  s.labels = config_get<std::string>(config, "propagate.labels");
  if (s.labels != "semantic" && s.labels != "instance")
    throw InputError("config key 'propagate.labels' must be semantic or instance, got '" + s.labels + "'");
  s.annotation.mode = config_get<std::string>(config, "propagate.annotation");
  if (s.annotation.mode != "sparse" && s.annotation.mode != "regions" && s.annotation.mode != "dense")
    throw InputError("config key 'propagate.annotation' must be sparse, regions or dense, got '" +
                     s.annotation.mode + "'");
  s.annotation.clicks_per_class = config_get<int>(config, "propagate.clicks_per_class");
  s.annotation.fraction = config_get<double>(config, "propagate.region_fraction");
  s.annotation.labels_kind = s.labels;
  s.annotation.seed = config_get<std::uint64_t>(config, "propagate.seed");
  if (s.annotation.mode == "regions" && !(s.annotation.fraction > 0 && s.annotation.fraction <= 1))
    throw InputError("config key 'propagate.region_fraction' must be in (0, 1] for regions annotations");
  if (s.annotation.clicks_per_class < 1) throw InputError("config key 'propagate.clicks_per_class' must be >= 1");
  s.clicks_file = config_get<std::string>(config, "propagate.clicks_file");
  s.mode = parse_response_mode(config_get<std::string>(config, "propagate.mode"));
  s.step = config_get<double>(config, "propagate.step");
  s.response.clip = config_get<float>(config, "propagate.response_clip");
  s.response.absent_std = config_get<double>(config, "propagate.absent_std");
  s.response.absent_mean = config_get<double>(config, "propagate.absent_mean");
  s.response.blur = config_get<bool>(config, "propagate.blur");
  s.channels = parse_jacobian_channels(config_get<std::string>(config, "shape.jacobian_channels"));
  s.bias = config_get<bool>(config, "shape.jacobian_bias");
  if (!(s.step > 0)) throw InputError("config key 'propagate.step' must be > 0");
  return s;
}

std::vector<int> frame_labels(const Frame& frame, const std::string& labels) {
  const ImageU16& ids = labels == "instance" ? frame.instance : frame.semantic;
  if (ids.empty())
    throw InputError("view '" + frame.name + "' has no ground-truth " + labels + " labels (needed to " +
                     "simulate clicks and to score)");
  return std::vector<int>(ids.data.begin(), ids.data.end());
}

ClassDirections class_directions(NerfEngine& engine, const Frame& labelled, const Annotation& annotation,
                                 const JacobianSpec& spec, int chunk) {
  const int w = labelled.intrinsics.width, h = labelled.intrinsics.height;
  if (annotation.width != w || annotation.height != h)
    throw InputError("the annotation is for a " + std::to_string(annotation.width) + "x" +
                     std::to_string(annotation.height) + " image, but view '" + labelled.name + "' is " +
                     std::to_string(w) + "x" + std::to_string(h));
  ClassDirections out;
  out.spec = spec;
  out.labels = annotation.classes();
  const int D = spec.dims();
  out.values.assign(out.labels.size() * D, 0.0);
  std::vector<std::int64_t> pixels;
  for (const Click& c : annotation.clicks) pixels.push_back(static_cast<std::int64_t>(c.y) * w + c.x);
  const std::vector<double> g = engine.pixel_jacobians(labelled, pixels, spec, chunk, annotation.seed);
  std::vector<int> count(out.labels.size(), 0);
  for (std::size_t i = 0; i < annotation.clicks.size(); ++i) {
    const auto it = std::lower_bound(out.labels.begin(), out.labels.end(), annotation.clicks[i].label);
    const std::size_t c = static_cast<std::size_t>(it - out.labels.begin());
    for (int d = 0; d < D; ++d) out.values[c * D + d] += g[i * D + d];
    ++count[c];
  }
  for (std::size_t c = 0; c < out.labels.size(); ++c)
    for (int d = 0; d < D; ++d) out.values[c * D + d] /= count[c];
  return out;
}

ViewPrediction predict_view(NerfEngine& engine, const Frame& frame, const ClassDirections& directions,
                            const PropagationSettings& settings, int chunk) {
  const int w = frame.intrinsics.width, h = frame.intrinsics.height;
  const std::size_t n = static_cast<std::size_t>(w) * h;
  const std::vector<float> all =
      engine.head_responses(frame, directions.values, directions.spec, settings.step, settings.mode, chunk);
  ViewPrediction out;
  for (std::size_t c = 0; c < directions.labels.size(); ++c) {
    std::vector<float> map(all.begin() + c * n, all.begin() + (c + 1) * n);
    finish_response_map(map, w, h, settings.mode, settings.response);
    out.responses.push_back(std::move(map));
  }
  out.labels = argmax_labels(out.responses, directions.labels, static_cast<int>(n));
  return out;
}

}  // namespace jnerf
