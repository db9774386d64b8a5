#include "jnerf/propagate/entity_edit.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <sstream>

#include <spdlog/spdlog.h>

#include "jnerf/core/error.hpp"
#include "jnerf/data/dataset_config.hpp"
#include "jnerf/train/nerf_trainer.hpp"

namespace jnerf {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

Json number_or_null(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

Json triple(const std::array<double, 3>& v) { return Json::array({v[0], v[1], v[2]}); }

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ',');) parts.push_back(trim(part));
  if (!text.empty() && text.back() == ',') parts.emplace_back();
  return parts;
}

// A whole string as a number; false for anything else (trailing text, empty, NaN/Inf).
bool read_number(const std::string& s, double& value) {
  if (s.empty()) return false;
  try {
    std::size_t used = 0;
    value = std::stod(s, &used);
    return used == s.size() && std::isfinite(value);
  } catch (const std::exception&) {
    return false;
  }
}

std::string describe(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

std::string describe(PixelPos p) { return std::to_string(p.x) + "," + std::to_string(p.y); }

std::string describe(const std::array<double, 3>& c) {
  std::ostringstream s;
  s << c[0] << "," << c[1] << "," << c[2];
  return s.str();
}

std::size_t pixel_index(const Frame& view, PixelPos p) {
  return static_cast<std::size_t>(p.y) * view.intrinsics.width + p.x;
}

double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

// One colour channel of the clicked ray as a function of the step t along its direction:
// C(t) = offset + sum_i w_i sigmoid(z_i + t a_i). The offset holds the background (and the
// small difference between the engine's float render and this double model).
struct ChannelModel {
  double offset = 0;
  std::vector<double> w, z, a;

  double colour(double t) const {
    double c = offset;
    for (std::size_t i = 0; i < w.size(); ++i) c += w[i] * sigmoid(z[i] + t * a[i]);
    return c;
  }
  double slope(double t) const {
    double d = 0;
    for (std::size_t i = 0; i < w.size(); ++i) {
      const double s = sigmoid(z[i] + t * a[i]);
      d += w[i] * s * (1 - s) * a[i];
    }
    return d;
  }
  // The largest |t| with |t a_i| <= max_logit over the samples that carry weight; 0 when
  // the colour does not depend on t.
  double max_step(double max_logit) const {
    double wmax = 0, amax = 0;
    for (double v : w) wmax = std::max(wmax, v);
    for (std::size_t i = 0; i < w.size(); ++i)
      if (w[i] > 1e-3 * wmax) amax = std::max(amax, std::abs(a[i]));
    return amax > 0 && wmax > 0 ? max_logit / amax : 0.0;
  }
};

struct ChannelSolve {
  double t = 0, bound = 0;
  bool clamped = false;
  double lo = 0, hi = 0;  // the colours reachable within the bound
};

// C(t) = goal for |t| <= bound: the root nearest t = 0 (a sign change on a grid, refined by
// bisection). Without one, the smallest step that comes within half the tolerance of the
// goal; failing that, the grid point whose colour is nearest the goal (clamped).
ChannelSolve solve_channel(const ChannelModel& m, double goal, double max_logit, double tolerance) {
  ChannelSolve s;
  const double c0 = m.colour(0);
  s.lo = s.hi = c0;
  s.bound = m.max_step(max_logit);
  if (s.bound <= 0) {
    s.clamped = std::abs(c0 - goal) > tolerance;
    return s;
  }
  constexpr int kHalf = 64;
  std::vector<double> ts, cs;
  for (int j = -kHalf; j <= kHalf; ++j) {
    ts.push_back(s.bound * j / kHalf);
    cs.push_back(m.colour(ts.back()));
    s.lo = std::min(s.lo, cs.back());
    s.hi = std::max(s.hi, cs.back());
  }
  // The root of C(t) = g nearest t = 0, visiting the cells [0, +1], [-1, 0], [+1, +2], ...
  auto root = [&](double g, double& t) {
    if (cs[kHalf] == g) return t = 0, true;
    for (int d = 0; d < kHalf; ++d)
      for (int side : {+1, -1}) {
        const int i0 = kHalf + side * d, i1 = kHalf + side * (d + 1);
        const double f0 = cs[i0] - g, f1 = cs[i1] - g;
        if ((f0 <= 0) == (f1 <= 0) && f1 != 0) continue;
        double a = ts[i0], b = ts[i1], fa = f0;
        for (int it = 0; it < 100 && std::abs(b - a) > 1e-14 * s.bound; ++it) {
          const double mid = 0.5 * (a + b);
          const double fm = m.colour(mid) - g;
          if ((fm <= 0) == (fa <= 0)) a = mid, fa = fm;
          else b = mid;
        }
        t = 0.5 * (a + b);
        return true;
      }
    return false;
  };
  if (root(goal, s.t)) return s;
  if (root(goal + (c0 > goal ? 0.5 : -0.5) * tolerance, s.t)) return s;
  std::size_t best = kHalf;
  for (std::size_t i = 0; i < cs.size(); ++i) {
    const double e = std::abs(cs[i] - goal), eb = std::abs(cs[best] - goal);
    if (e < eb - 1e-12 || (std::abs(e - eb) <= 1e-12 && std::abs(ts[i]) < std::abs(ts[best]))) best = i;
  }
  s.t = ts[best];
  s.clamped = true;
  return s;
}

// A 1 x 1 view through pixel (x, y) of `view`: the same ray, nothing else.
Frame pixel_view(const Frame& view, PixelPos p) {
  Frame f;
  f.name = view.name;
  f.id = view.id;
  f.intrinsics = view.intrinsics;
  f.intrinsics.width = 1;
  f.intrinsics.height = 1;
  f.intrinsics.cx = view.intrinsics.cx - p.x;
  f.intrinsics.cy = view.intrinsics.cy - p.y;
  f.c2w = view.c2w;
  f.near = view.near;
  f.far = view.far;
  return f;
}

}  // namespace

// ---- input ----------------------------------------------------------------------------

PixelPos parse_pixel(const std::string& text) {
  const std::vector<std::string> parts = split_commas(text);
  double x = 0, y = 0;
  if (parts.size() != 2 || !read_number(parts[0], x) || !read_number(parts[1], y) || x != std::floor(x) ||
      y != std::floor(y) || std::abs(x) > 1e9 || std::abs(y) > 1e9)
    throw InputError("click '" + text + "' is not a pixel X,Y (two integers)");
  return {static_cast<int>(x), static_cast<int>(y)};
}

std::array<double, 3> parse_colour(const std::string& text) {
  const std::vector<std::string> parts = split_commas(text);
  std::array<double, 3> c{};
  bool numbers = parts.size() == 3;
  for (std::size_t k = 0; numbers && k < 3; ++k) numbers = read_number(parts[k], c[k]);
  if (!numbers) throw InputError("colour '" + text + "' is not R,G,B (three numbers)");
  const bool unit = std::all_of(c.begin(), c.end(), [](double v) { return v >= 0 && v <= 1; });
  if (unit) return c;
  const bool bytes = std::all_of(c.begin(), c.end(), [](double v) { return v >= 0 && v <= 255 && v == std::floor(v); });
  if (!bytes)
    throw InputError("colour '" + text + "' is out of range: give three numbers in 0..1 or three integers in 0..255");
  for (double& v : c) v /= 255.0;
  return c;
}

void check_pixel(const Frame& frame, PixelPos p) {
  const int w = frame.intrinsics.width, h = frame.intrinsics.height;
  if (p.x < 0 || p.y < 0 || p.x >= w || p.y >= h)
    throw InputError("click " + describe(p) + " is outside view '" + frame.name + "' (" + std::to_string(w) + "x" +
                     std::to_string(h) + ", x in 0.." + std::to_string(w - 1) + ", y in 0.." + std::to_string(h - 1) +
                     ")");
}

void check_colour(const std::array<double, 3>& colour) {
  for (double v : colour)
    if (!(v >= 0 && v <= 1))
      throw InputError("colour " + describe(colour) + " is out of range (each channel must be in [0, 1])");
}

int frame_index_by_id(const Dataset& dataset, int id) {
  for (std::size_t i = 0; i < dataset.frames.size(); ++i)
    if (dataset.frames[i].id == id) return static_cast<int>(i);
  throw InputError("view " + std::to_string(id) + " is not a frame id of " + dataset.root.string());
}

int clicked_view_index(const Dataset& dataset, int view_id, int train_index) {
  if ((view_id >= 0) == (train_index >= 0))
    throw InputError("give the clicked view as exactly one of --view ID (a frame id) and --train-index N");
  if (view_id >= 0) return frame_index_by_id(dataset, view_id);
  if (train_index >= static_cast<int>(dataset.train.size()))
    throw InputError("--train-index " + std::to_string(train_index) + " is not a training view index (0.." +
                     std::to_string(static_cast<int>(dataset.train.size()) - 1) + ")");
  return dataset.train[train_index];
}

std::vector<int> split_view_indices(const Dataset& dataset, const std::string& which, int max_views) {
  std::vector<int> views;
  if (which == "test") views = dataset.test;
  else if (which == "train") views = dataset.train;
  else if (which == "all") {
    views = dataset.train;
    views.insert(views.end(), dataset.test.begin(), dataset.test.end());
  } else {
    throw InputError("views '" + which + "' must be test, train or all");
  }
  if (max_views > 0 && static_cast<int>(views.size()) > max_views) {
    std::vector<int> picked;
    for (int i = 0; i < max_views; ++i) picked.push_back(views[static_cast<std::size_t>(i) * views.size() / max_views]);
    views = picked;
  }
  if (views.empty()) throw InputError("the '" + which + "' views of " + dataset.root.string() + " are empty");
  return views;
}

LoadedRun load_run_model(const RunDir& run, const Json& config, const std::string& device,
                         const std::filesystem::path& checkpoint) {
  LoadedRun out;
  out.config = config;
  out.dataset = load_dataset(load_options_from_config(config));
  out.engine = make_nerf_engine(config, out.dataset, device);
  out.chunk = std::max(1, config_get<int>(config, "output.render_chunk"));
  if (!checkpoint.empty()) {
    out.checkpoint = checkpoint;
  } else if (const auto shape = run.latest_checkpoint("shape")) {
    out.checkpoint = *shape;
  } else if (const auto nerf = run.latest_checkpoint("nerf")) {
    out.checkpoint = *nerf;
    spdlog::warn("{} has no shape checkpoint: using the unshaped NeRF {}", run.root().string(), nerf->string());
  } else {
    throw InputError(run.root().string() + " holds no shape or nerf checkpoint");
  }
  out.shaped = out.checkpoint.filename().string().rfind("shape_", 0) == 0;
  out.step = load_nerf_checkpoint(out.checkpoint, *out.engine, false);
  return out;
}

// ---- helpers --------------------------------------------------------------------------

ClassDirections entity_direction(NerfEngine& engine, const Frame& view, const std::vector<PixelPos>& clicks,
                                 const JacobianSpec& spec, int chunk) {
  if (clicks.empty()) throw InputError("no clicks given (need at least one --click X,Y)");
  Annotation a;
  a.frame_id = view.id;
  a.width = view.intrinsics.width;
  a.height = view.intrinsics.height;
  a.labels_kind = "instance";
  for (const PixelPos& p : clicks) {
    check_pixel(view, p);
    a.clicks.push_back({p.x, p.y, 1});
  }
  return class_directions(engine, view, a, spec, chunk);
}

std::vector<int> clicked_instances(const Frame& view, const std::vector<PixelPos>& clicks) {
  if (view.instance.empty()) return {};
  std::vector<int> ids;
  for (const PixelPos& p : clicks) {
    check_pixel(view, p);
    ids.push_back(view.instance.data[pixel_index(view, p)]);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

std::vector<std::uint8_t> instance_region(const Frame& view, const std::vector<int>& ids) {
  if (view.instance.empty() || ids.empty()) return {};
  std::vector<std::uint8_t> region(view.instance.data.size(), 0);
  for (std::size_t i = 0; i < region.size(); ++i)
    region[i] = std::binary_search(ids.begin(), ids.end(), static_cast<int>(view.instance.data[i])) ? 1 : 0;
  return region;
}

double mask_iou(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b) {
  if (a.size() != b.size())
    throw InputError("mask_iou: masks of " + std::to_string(a.size()) + " and " + std::to_string(b.size()) + " pixels");
  std::size_t both = 0, either = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    both += (a[i] && b[i]) ? 1 : 0;
    either += (a[i] || b[i]) ? 1 : 0;
  }
  return either == 0 ? kNaN : static_cast<double>(both) / static_cast<double>(either);
}

ImageU8 mask_overlay(const ImageF& rgb, const std::vector<std::uint8_t>& mask, const std::vector<PixelPos>& marks) {
  if (rgb.channels != 3 || mask.size() != rgb.pixels())
    throw InputError("mask_overlay: a " + std::to_string(mask.size()) + "-pixel mask on a " +
                     std::to_string(rgb.width) + "x" + std::to_string(rgb.height) + "x" + std::to_string(rgb.channels) +
                     " image");
  constexpr float tint[3] = {1.f, 0.1f, 0.1f};
  ImageU8 out(rgb.width, rgb.height, 3);
  for (std::size_t p = 0; p < mask.size(); ++p)
    for (int k = 0; k < 3; ++k) {
      float v = std::clamp(rgb.data[p * 3 + k], 0.f, 1.f);
      if (mask[p]) v = 0.45f * v + 0.55f * tint[k];
      out.data[p * 3 + k] = static_cast<std::uint8_t>(std::lround(v * 255.f));
    }
  for (const PixelPos& m : marks)
    for (int d = -2; d <= 2; ++d)
      for (const PixelPos q : {PixelPos{m.x + d, m.y}, PixelPos{m.x, m.y + d}}) {
        if (q.x < 0 || q.y < 0 || q.x >= rgb.width || q.y >= rgb.height) continue;
        out.at(q.x, q.y, 0) = 0;
        out.at(q.x, q.y, 1) = 255;
        out.at(q.x, q.y, 2) = 0;
      }
  return out;
}

std::array<double, 3> render_pixel(NerfEngine& engine, const Frame& view, PixelPos pixel, int chunk) {
  check_pixel(view, pixel);
  const RenderedView r = engine.render(pixel_view(view, pixel), std::max(1, chunk));
  return {r.rgb.data[0], r.rgb.data[1], r.rgb.data[2]};
}

// ---- selection ------------------------------------------------------------------------

SelectSettings SelectSettings::from_config(const Json& config) {
  const PropagationSettings p = PropagationSettings::from_config(config);
  SelectSettings s;
  s.step = p.step;
  s.response = p.response;
  s.channels = p.channels;
  s.bias = p.bias;
  s.chunk = std::max(1, config_get<int>(config, "output.render_chunk"));
  return s;
}

SelectScale parse_select_scale(const std::string& name) {
  if (name == "view") return SelectScale::View;
  if (name == "clicks") return SelectScale::Clicks;
  throw InputError("scale '" + name + "' must be view or clicks");
}

const char* to_string(SelectScale scale) { return scale == SelectScale::Clicks ? "clicks" : "view"; }

namespace {

// The view's response to the direction, before any scaling (2D modes blurred when asked).
std::vector<float> raw_response(NerfEngine& engine, const Frame& view, const ClassDirections& direction,
                                const SelectSettings& settings) {
  if (direction.labels.size() != 1) throw InputError("entity selection needs exactly one direction");
  const int w = view.intrinsics.width, h = view.intrinsics.height;
  std::vector<float> map = engine.head_responses(view, direction.values, direction.spec, settings.step,
                                                 settings.mode, std::max(1, settings.chunk));
  map.resize(static_cast<std::size_t>(w) * h);
  if (uses_2d_postprocess(settings.mode) && settings.response.blur) gaussian_blur3(map, w, h);
  return map;
}

}  // namespace

double click_reference(NerfEngine& engine, const Frame& view, const std::vector<PixelPos>& clicks,
                       const ClassDirections& direction, const SelectSettings& settings) {
  if (clicks.empty()) throw InputError("no clicks given (need at least one --click X,Y)");
  const std::vector<float> map = raw_response(engine, view, direction, settings);
  double sum = 0;
  for (const PixelPos& p : clicks) {
    check_pixel(view, p);
    sum += map[pixel_index(view, p)];
  }
  const double ref = sum / static_cast<double>(clicks.size());
  if (!(ref > 0) || !std::isfinite(ref))
    throw InputError("the clicked pixels do not respond to their own direction (response " + describe(ref) +
                     "): nothing to scale by; use --scale view");
  return ref;
}

EntityMask entity_mask(NerfEngine& engine, const Frame& view, const ClassDirections& direction,
                       const SelectSettings& settings, double reference) {
  EntityMask m;
  m.width = view.intrinsics.width;
  m.height = view.intrinsics.height;
  const std::size_t n = static_cast<std::size_t>(m.width) * m.height;
  if (reference > 0) {
    m.response = raw_response(engine, view, direction, settings);
    for (float& v : m.response) v = static_cast<float>(v / reference);
  } else {
    if (direction.labels.size() != 1) throw InputError("entity selection needs exactly one direction");
    m.response = engine.head_responses(view, direction.values, direction.spec, settings.step, settings.mode,
                                       std::max(1, settings.chunk));
    m.response.resize(n);
    finish_response_map(m.response, m.width, m.height, settings.mode, settings.response);
  }
  m.mask.assign(n, 0);
  std::size_t count = 0;
  for (std::size_t i = 0; i < n; ++i)
    if (m.response[i] > settings.threshold) m.mask[i] = 1, ++count;  // NaN: not selected
  m.fraction = n ? static_cast<double>(count) / static_cast<double>(n) : 0.0;
  return m;
}

Selection select_entity(NerfEngine& engine, const Dataset& dataset, int clicked_index,
                        const std::vector<PixelPos>& clicks, const std::vector<int>& views,
                        const SelectSettings& settings, const SelectionVisitor& visit) {
  if (!(settings.threshold >= 0 && settings.threshold < 1))
    throw InputError("threshold " + describe(settings.threshold) + " must be in [0, 1)");
  if (!(settings.step > 0) || !std::isfinite(settings.step))
    throw InputError("step " + describe(settings.step) + " must be > 0");
  if (clicked_index < 0 || clicked_index >= static_cast<int>(dataset.frames.size()))
    throw InputError("clicked view index " + std::to_string(clicked_index) + " is not a frame of the dataset");
  for (int v : views)
    if (v < 0 || v >= static_cast<int>(dataset.frames.size()))
      throw InputError("view index " + std::to_string(v) + " is not a frame of the dataset");
  const Frame& clicked = dataset.frames[clicked_index];
  const JacobianSpec spec{settings.channels, settings.bias, engine.head_width()};

  Selection sel;
  sel.direction = entity_direction(engine, clicked, clicks, spec, settings.chunk);
  sel.instances = clicked_instances(clicked, clicks);
  if (settings.scale == SelectScale::Clicks)
    sel.reference = click_reference(engine, clicked, clicks, sel.direction, settings);

  auto score = [&](int index, const EntityMask& m) {
    const Frame& f = dataset.frames[index];
    SelectedView v;
    v.index = index;
    v.id = f.id;
    v.name = f.name;
    v.fraction = m.fraction;
    const std::vector<std::uint8_t> truth = instance_region(f, sel.instances);
    v.iou = truth.empty() ? kNaN : mask_iou(m.mask, truth);
    return v;
  };

  const EntityMask clicked_mask = entity_mask(engine, clicked, sel.direction, settings, sel.reference);
  sel.clicked = score(clicked_index, clicked_mask);
  for (const PixelPos& p : clicks) sel.clicked.clicks_inside += clicked_mask.mask[pixel_index(clicked, p)] ? 1 : 0;
  if (visit) visit(clicked, clicked_mask, true);

  double fraction_sum = 0, iou_sum = 0;
  int iou_count = 0;
  for (int index : views) {
    const Frame& f = dataset.frames[index];
    const EntityMask m = index == clicked_index ? clicked_mask : entity_mask(engine, f, sel.direction, settings, sel.reference);
    SelectedView v = score(index, m);
    if (index == clicked_index) v.clicks_inside = sel.clicked.clicks_inside;
    fraction_sum += v.fraction;
    if (std::isfinite(v.iou)) iou_sum += v.iou, ++iou_count;
    sel.views.push_back(v);
    if (visit) visit(f, m, false);
    spdlog::debug("select: view {} '{}': {:.2f}% of the pixels", f.id, f.name, 100 * v.fraction);
  }
  sel.mean_fraction = views.empty() ? 0.0 : fraction_sum / static_cast<double>(views.size());
  sel.mean_iou = iou_count ? iou_sum / iou_count : kNaN;
  return sel;
}

Json selection_to_json(const Selection& selection, const Dataset& dataset, const std::vector<PixelPos>& clicks,
                       const SelectSettings& settings) {
  auto view_json = [](const SelectedView& v) {
    return Json{{"id", v.id}, {"name", v.name}, {"fraction", v.fraction}, {"iou", number_or_null(v.iou)}};
  };
  Json clicks_json = Json::array();
  for (const PixelPos& p : clicks) clicks_json.push_back({p.x, p.y});
  Json clicked = view_json(selection.clicked);
  clicked["clicks_inside"] = selection.clicked.clicks_inside;
  Json per_view = Json::array();
  for (const SelectedView& v : selection.views) per_view.push_back(view_json(v));
  return Json{{"dataset", dataset.root.string()},
              {"clicks", clicks_json},
              {"mode", to_string(settings.mode)},
              {"scale", to_string(settings.scale)},
              {"reference", selection.reference},
              {"threshold", settings.threshold},
              {"step", settings.step},
              {"channels", to_string(settings.channels)},
              {"bias", settings.bias},
              {"instances", selection.instances.empty() ? Json(nullptr) : Json(selection.instances)},
              {"clicked_view", clicked},
              {"views", selection.views.size()},
              {"mean_fraction", selection.mean_fraction},
              {"mean_iou", number_or_null(selection.mean_iou)},
              {"per_view", per_view}};
}

// ---- editing --------------------------------------------------------------------------

void apply_head_edit(std::vector<float>& params, const ParamLayout& layout, const JacobianSpec& spec,
                     const std::vector<double>& direction, const std::array<double, 3>& steps) {
  const ParamSegment& w = layout.find("fine.rgb_linear.weight");
  const ParamSegment& b = layout.find("fine.rgb_linear.bias");
  const int V = spec.head_width, Dk = spec.row_length();
  if (params.size() != layout.total())
    throw InputError("apply_head_edit: " + std::to_string(params.size()) + " parameters, the model has " +
                     std::to_string(layout.total()));
  if (w.size != 3 * static_cast<std::size_t>(V) || b.size != 3)
    throw InputError("apply_head_edit: the RGB head is " + std::to_string(w.size) + " weights, the Jacobian is for 3 x " +
                     std::to_string(V));
  if (direction.size() != static_cast<std::size_t>(spec.dims()))
    throw InputError("apply_head_edit: a direction of " + std::to_string(direction.size()) + " values, expected " +
                     std::to_string(spec.dims()));
  for (int k = 0; k < 3; ++k) {
    for (int j = 0; j < V; ++j)
      params[w.offset + static_cast<std::size_t>(k) * V + j] += static_cast<float>(steps[k] * direction[k * Dk + j]);
    if (spec.bias) params[b.offset + k] += static_cast<float>(steps[k] * direction[k * Dk + V]);
  }
}

EditResult edit_entity(NerfEngine& engine, const Frame& view, PixelPos click, const std::array<double, 3>& colour,
                       const EditSettings& settings) {
  check_pixel(view, click);
  check_colour(colour);
  if (!(settings.strength > 0) || !std::isfinite(settings.strength))
    throw InputError("strength " + describe(settings.strength) + " must be > 0");
  if (settings.iterations < 0)
    throw InputError("iterations " + std::to_string(settings.iterations) + " must be >= 0");
  if (!(settings.tolerance > 0)) throw InputError("tolerance " + describe(settings.tolerance) + " must be > 0");
  if (!(settings.max_logit_change > 0))
    throw InputError("max_logit_change " + describe(settings.max_logit_change) + " must be > 0");
  const int chunk = std::max(1, settings.chunk);
  const int V = engine.head_width();

  EditResult r;
  r.click = click;
  r.target = colour;
  r.spec = {JacobianChannels::Blocks, settings.bias, V};
  const int Dk = r.spec.row_length();
  r.original_params = engine.params();
  r.before = render_pixel(engine, view, click, chunk);
  r.direction = entity_direction(engine, view, {click}, r.spec, chunk).values;
  for (int k = 0; k < 3; ++k)
    r.goal[k] = std::clamp(r.before[k] + settings.strength * (colour[k] - r.before[k]), 0.0, 1.0);

  // The click's fine samples and the head's pre-sigmoid colours at them.
  std::vector<float> w, h;
  int S = 0;
  engine.visit_fine_samples(view, {static_cast<std::int64_t>(pixel_index(view, click))}, chunk,
                            [&](std::size_t, int R, int samples, const std::vector<float>& weights,
                                const std::vector<float>& head_input) {
                              if (R != 1) throw std::logic_error("edit_entity: one ray expected");
                              S = samples;
                              w = weights;
                              h = head_input;
                            });
  const ParamSegment& wseg = engine.layout().find("fine.rgb_linear.weight");
  const ParamSegment& bseg = engine.layout().find("fine.rgb_linear.bias");
  std::array<ChannelModel, 3> models;
  std::array<ChannelSolve, 3> solves;
  for (int k = 0; k < 3; ++k) {
    ChannelModel& m = models[k];
    m.w.assign(w.begin(), w.end());
    m.z.assign(S, 0.0);
    m.a.assign(S, 0.0);
    double sum = 0;
    for (int i = 0; i < S; ++i) {
      double z = r.original_params[bseg.offset + k];
      double a = settings.bias ? r.direction[k * Dk + V] : 0.0;
      for (int j = 0; j < V; ++j) {
        const double hij = h[static_cast<std::size_t>(j) * S + i];
        z += double(r.original_params[wseg.offset + static_cast<std::size_t>(k) * V + j]) * hij;
        a += r.direction[k * Dk + j] * hij;
      }
      m.z[i] = z;
      m.a[i] = a;
      sum += m.w[i] * sigmoid(z);
    }
    m.offset = r.before[k] - sum;
    solves[k] = solve_channel(m, r.goal[k], settings.max_logit_change, settings.tolerance);
    r.steps[k] = solves[k].t;
    r.clamped[k] = solves[k].clamped;
    r.reachable_lo[k] = solves[k].lo;
    r.reachable_hi[k] = solves[k].hi;
  }

  // Apply, re-render the click, correct.
  for (int iter = 0;; ++iter) {
    r.edited_params = r.original_params;
    apply_head_edit(r.edited_params, engine.layout(), r.spec, r.direction, r.steps);
    engine.set_params(r.edited_params);
    r.after = render_pixel(engine, view, click, chunk);
    bool done = true;
    for (int k = 0; k < 3; ++k) done = done && (r.clamped[k] || std::abs(r.after[k] - r.goal[k]) <= settings.tolerance);
    if (done || iter >= settings.iterations) break;
    for (int k = 0; k < 3; ++k) {
      if (r.clamped[k] || std::abs(r.after[k] - r.goal[k]) <= settings.tolerance) continue;
      const double d = models[k].slope(r.steps[k]);
      if (std::abs(d) < 1e-12) continue;
      r.steps[k] = std::clamp(r.steps[k] + (r.goal[k] - r.after[k]) / d, -solves[k].bound, solves[k].bound);
    }
    ++r.corrections;
  }
  r.reached = true;
  for (int k = 0; k < 3; ++k) r.reached = r.reached && std::abs(r.after[k] - r.goal[k]) <= settings.tolerance;
  return r;
}

ColourChange colour_change(const ImageF& before, const ImageF& after, const std::vector<std::uint8_t>& region) {
  if (before.width != after.width || before.height != after.height || before.channels != after.channels ||
      region.size() != before.pixels())
    throw InputError("colour_change: images and region differ in size");
  const int C = std::max(1, before.channels);
  double in = 0, out = 0;
  ColourChange c;
  for (std::size_t p = 0; p < region.size(); ++p) {
    double d = 0;
    for (int k = 0; k < C; ++k) d += std::abs(double(after.data[p * C + k]) - double(before.data[p * C + k]));
    d /= C;
    if (region[p]) in += d, ++c.inside_pixels;
    else out += d, ++c.outside_pixels;
  }
  c.inside = c.inside_pixels ? in / static_cast<double>(c.inside_pixels) : kNaN;
  c.outside = c.outside_pixels ? out / static_cast<double>(c.outside_pixels) : kNaN;
  return c;
}

Json edit_to_json(const EditResult& r) {
  return Json{{"click", {r.click.x, r.click.y}},
              {"channels", to_string(r.spec.channels)},
              {"bias", r.spec.bias},
              {"target", triple(r.target)},
              {"goal", triple(r.goal)},
              {"before", triple(r.before)},
              {"after", triple(r.after)},
              {"steps", triple(r.steps)},
              {"clamped", {r.clamped[0], r.clamped[1], r.clamped[2]}},
              {"reachable_min", triple(r.reachable_lo)},
              {"reachable_max", triple(r.reachable_hi)},
              {"reached", r.reached},
              {"corrections", r.corrections}};
}

}  // namespace jnerf
