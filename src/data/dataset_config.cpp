#include "jnerf/data/dataset_config.hpp"

#include <algorithm>
#include <map>
#include <sstream>

#include "jnerf/core/error.hpp"

namespace jnerf {
namespace {

int positive_int(const Json& config, const std::string& key, int minimum) {
  const int v = config_get<int>(config, key);
  if (v < minimum)
    throw InputError("config key '" + key + "' must be >= " + std::to_string(minimum) + ", got " + std::to_string(v));
  return v;
}

}  // namespace

LoadOptions load_options_from_config(const Json& config) {
  LoadOptions o;
  o.path = config_get<std::string>(config, "data.path");
  o.format = config_get<std::string>(config, "data.format");
  static const std::vector<std::string> kFormats = {"auto", "replica", "scannet", "blender", "ngp", "llff"};
  if (std::find(kFormats.begin(), kFormats.end(), o.format) == kFormats.end())
    throw InputError("config key 'data.format': unknown format '" + o.format +
                     "' (expected auto, replica, scannet, blender, ngp or llff)");
  o.downscale = positive_int(config, "data.downscale", 1);
  const auto bg = config_get<std::vector<float>>(config, "data.background");
  if (bg.size() != 3) throw InputError("config key 'data.background' must have 3 numbers (RGB in [0, 1])");
  for (float v : bg)
    if (!(v >= 0.f && v <= 1.f)) throw InputError("config key 'data.background' values must be in [0, 1]");
  std::copy(bg.begin(), bg.end(), o.background.begin());
  o.train_step = positive_int(config, "data.train_step", 1);
  o.test_offset = positive_int(config, "data.test_offset", 0);
  o.holdout_every = positive_int(config, "data.holdout_every", 0);
  o.test_split = config_get<std::string>(config, "data.test_split");
  if (o.test_split != "val" && o.test_split != "test")
    throw InputError("config key 'data.test_split' must be 'val' or 'test', got '" + o.test_split + "'");
  o.frame_ids = config_get<std::vector<int>>(config, "data.frames");
  o.max_frames = positive_int(config, "data.max_frames", 0);
  return o;
}

std::string describe_dataset(const Dataset& d) {
  std::ostringstream s;
  s << "format " << d.format << ", root " << d.root.string() << "\n";
  s << "views: " << d.frames.size() << " (train " << d.train.size() << ", test " << d.test.size() << ")\n";
  std::map<std::pair<int, int>, int> sizes;
  bool depth = false, semantic = false, instance = false, alpha = false;
  for (const Frame& f : d.frames) {
    ++sizes[{f.intrinsics.width, f.intrinsics.height}];
    depth |= !f.depth.empty();
    semantic |= !f.semantic.empty();
    instance |= !f.instance.empty();
    alpha |= !f.alpha.empty();
  }
  s << "image sizes:";
  for (const auto& [wh, n] : sizes) s << " " << wh.first << "x" << wh.second << " (" << n << ")";
  s << "\n";
  if (!d.frames.empty()) {
    const Intrinsics& k = d.frames.front().intrinsics;
    s << "first view intrinsics: fx " << k.fx << ", fy " << k.fy << ", cx " << k.cx << ", cy " << k.cy << "\n";
  }
  s << "maps: rgb" << (alpha ? " alpha" : "") << (depth ? " depth" : "") << (semantic ? " semantic" : "")
    << (instance ? " instance" : "") << "\n";
  s << "ray range: near " << d.near << ", far " << d.far << "\n";
  if (d.has_scene_box)
    s << "scene box: [" << d.scene_min.transpose() << "] .. [" << d.scene_max.transpose() << "]\n";
  if (!d.class_names.empty()) {
    s << "classes (" << d.class_names.size() << "):";
    for (std::size_t i = 0; i < d.class_names.size(); ++i) s << " " << i << ":" << d.class_names[i];
    s << "\n";
  }
  if (!d.warnings.empty()) s << "warnings: " << d.warnings.size() << "\n";
  return s.str();
}

}  // namespace jnerf
