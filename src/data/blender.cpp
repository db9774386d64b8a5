// NeRF synthetic ("blender") scenes: transforms_train.json + transforms_<test_split>.json,
// camera_angle_x, frames[].file_path (no extension = .png) and OpenGL c2w transform_matrix.
#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "jnerf/core/error.hpp"
#include "jnerf/data/dataset.hpp"
#include "jnerf/io/image_io.hpp"
#include "loader_util.hpp"

namespace jnerf {
namespace {

using namespace loader;

fs::path image_path(const fs::path& root, const std::string& file_path) {
  fs::path p = root / file_path;
  if (!p.has_extension()) p += ".png";
  return p.lexically_normal();
}

// Appends the frames of one transforms file.
void add_split(const fs::path& root, const fs::path& file, bool is_train, bool is_test, const LoadOptions& options,
               std::vector<PendingFrame>& pending) {
  const Json j = read_json(file);
  if (!j.is_object()) throw InputError(file.string() + ": expected a JSON object");
  const double angle = json_number(j, "camera_angle_x", file);
  if (!(angle > 0 && angle < M_PI)) throw InputError(file.string() + ": 'camera_angle_x' must be in (0, pi), got " + std::to_string(angle));
  if (!j.contains("frames") || !j.at("frames").is_array())
    throw InputError(file.string() + ": missing array 'frames'");
  const Json& frames = j.at("frames");
  if (frames.empty()) return;

  // Image size: declared (w, h) or that of the first image.
  int W = 0, H = 0;
  std::string declared_by;
  if (j.contains("w") && j.contains("h")) {
    W = static_cast<int>(json_number(j, "w", file));
    H = static_cast<int>(json_number(j, "h", file));
    declared_by = file.string();
  }
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const Json& fj = frames[i];
    const std::string where = "frames[" + std::to_string(i) + "]";
    if (!fj.is_object() || !fj.contains("file_path") || !fj.at("file_path").is_string())
      throw InputError(file.string() + ": " + where + " has no string 'file_path'");
    if (!fj.contains("transform_matrix")) throw InputError(file.string() + ": " + where + " has no 'transform_matrix'");
    const fs::path img = image_path(root, fj.at("file_path").get<std::string>());
    if (W <= 0 || H <= 0) {
      std::tie(W, H) = image_size(img);
      declared_by = "the first image " + img.string();
    }
    Intrinsics K;
    K.width = W;
    K.height = H;
    K.fx = K.fy = 0.5 * W / std::tan(0.5 * angle);
    K.cx = 0.5 * (W - 1);
    K.cy = 0.5 * (H - 1);

    PendingFrame p;
    p.train = is_train;
    p.test = is_test;
    p.frame.id = static_cast<int>(i);
    p.frame.name = relative_name(img, root);
    p.frame.intrinsics = K.downscaled(options.downscale);
    p.frame.c2w = opengl_to_opencv(json_matrix(fj.at("transform_matrix"), file, where + ".transform_matrix"));
    p.frame.near = 2.f;
    p.frame.far = 6.f;
    const int factor = options.downscale;
    p.load = [=](Frame& frame, std::vector<std::string>&) {
      ImageF alpha;
      ImageF rgb = read_colour(img, options.background, &alpha);
      require_size(img, rgb.width, rgb.height, W, H, declared_by);
      frame.rgb = downscale_area(rgb, factor);
      if (!alpha.empty()) frame.alpha = downscale_area(alpha, factor);
    };
    pending.push_back(std::move(p));
  }
}

}  // namespace

Dataset load_blender(const LoadOptions& options) {
  require_downscale(options.downscale);
  const fs::path root = options.path;
  require_dir(root, "Blender dataset folder");
  Dataset ds;
  ds.format = "blender";
  ds.root = root;

  std::vector<PendingFrame> pending;
  const bool test_is_train = options.test_split == "train";
  add_split(root, root / "transforms_train.json", true, test_is_train, options, pending);
  const fs::path test_file = root / ("transforms_" + options.test_split + ".json");
  if (test_is_train) {
    // the training views double as test views
  } else if (fs::exists(test_file))
    add_split(root, test_file, false, true, options, pending);
  else
    warn(ds, "no " + test_file.filename().string() + " in " + root.string() + ": the dataset has no test views");

  ds.near = 2.f;
  ds.far = 6.f;
  ds.has_scene_box = true;
  ds.scene_min = Eigen::Vector3d::Constant(-1.5);
  ds.scene_max = Eigen::Vector3d::Constant(1.5);
  finish(ds, std::move(pending), options);
  return ds;
}

}  // namespace jnerf
