// instant-ngp transforms.json: global camera keys (fl_x, fl_y, cx, cy, w, h, k1, k2, p1, p2,
// camera_angle_x/y) that frames may override, aabb_scale (+ optional scale/offset), and
// frames[].file_path + OpenGL c2w transform_matrix.
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

// A camera key from the frame when present, else from the file's top level.
bool lookup(const Json& frame, const Json& top, const std::string& key, const fs::path& file, double* out) {
  for (const Json* j : {&frame, &top}) {
    if (j->is_object() && j->contains(key)) {
      *out = json_number(*j, key, file);
      return true;
    }
  }
  return false;
}

}  // namespace

Dataset load_ngp(const LoadOptions& options) {
  require_downscale(options.downscale);
  fs::path root = options.path, file = root / "transforms.json";
  if (fs::is_regular_file(options.path)) {  // the transforms file itself
    file = options.path;
    root = options.path.parent_path();
  } else {
    require_dir(root, "instant-ngp dataset folder");
  }
  Dataset ds;
  ds.format = "ngp";
  ds.root = root;

  const Json j = read_json(file);
  if (!j.is_object()) throw InputError(file.string() + ": expected a JSON object");
  if (!j.contains("frames") || !j.at("frames").is_array()) throw InputError(file.string() + ": missing array 'frames'");
  const Json& frames = j.at("frames");

  // instant-ngp maps a world point p to scale * p + offset and bounds the scene by a cube of
  // side aabb_scale centred on (0.5, 0.5, 0.5) in that space: take the same cube in world units.
  double aabb_scale = 1.0, scale = 0.33;
  Eigen::Vector3d offset = Eigen::Vector3d::Constant(0.5);
  if (j.contains("aabb_scale")) aabb_scale = json_number(j, "aabb_scale", file);
  if (j.contains("scale")) scale = json_number(j, "scale", file);
  if (j.contains("offset")) {
    const Json& o = j.at("offset");
    if (o.is_number()) {
      offset.setConstant(o.get<double>());
    } else if (o.is_array() && o.size() == 3 && o[0].is_number() && o[1].is_number() && o[2].is_number()) {
      offset = {o[0].get<double>(), o[1].get<double>(), o[2].get<double>()};
    } else {
      throw InputError(file.string() + ": 'offset' must be a number or 3 numbers, got " + o.dump());
    }
  }
  if (!(aabb_scale > 0)) throw InputError(file.string() + ": 'aabb_scale' must be positive");
  if (!(scale > 0)) throw InputError(file.string() + ": 'scale' must be positive");
  ds.has_scene_box = true;
  ds.scene_min = (Eigen::Vector3d::Constant(0.5 - 0.5 * aabb_scale) - offset) / scale;
  ds.scene_max = (Eigen::Vector3d::Constant(0.5 + 0.5 * aabb_scale) - offset) / scale;

  const float near = 0.05f;
  std::vector<PendingFrame> pending;
  int position = 0;  // among the frames whose image exists
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const Json& fj = frames[i];
    const std::string where = "frames[" + std::to_string(i) + "]";
    if (!fj.is_object() || !fj.contains("file_path") || !fj.at("file_path").is_string())
      throw InputError(file.string() + ": " + where + " has no string 'file_path'");
    if (!fj.contains("transform_matrix")) throw InputError(file.string() + ": " + where + " has no 'transform_matrix'");
    fs::path img = (root / fj.at("file_path").get<std::string>()).lexically_normal();
    if (!img.has_extension()) img += ".png";
    const Eigen::Matrix4d c2w = opengl_to_opencv(json_matrix(fj.at("transform_matrix"), file, where + ".transform_matrix"));
    if (!c2w.allFinite()) throw InputError(file.string() + ": " + where + ".transform_matrix has inf or nan entries");
    if (!fs::is_regular_file(img)) {
      warn(ds, "image listed in " + file.string() + " not found, frame skipped: " + img.string());
      continue;
    }

    Intrinsics K;
    double w = 0, h = 0;
    const bool has_w = lookup(fj, j, "w", file, &w), has_h = lookup(fj, j, "h", file, &h);
    std::string declared_by = file.string() + " (" + where + ")";
    if (!has_w || !has_h) {
      std::tie(K.width, K.height) = image_size(img);
      declared_by = img.string();
    } else {
      K.width = static_cast<int>(std::lround(w));
      K.height = static_cast<int>(std::lround(h));
      if (K.width <= 0 || K.height <= 0) throw InputError(file.string() + ": 'w' and 'h' must be positive");
    }
    double v = 0;
    if (lookup(fj, j, "fl_x", file, &v)) {
      K.fx = v;
    } else if (lookup(fj, j, "camera_angle_x", file, &v)) {
      K.fx = 0.5 * K.width / std::tan(0.5 * v);
    } else {
      throw InputError(file.string() + ": " + where + " has no focal length ('fl_x' or 'camera_angle_x')");
    }
    if (lookup(fj, j, "fl_y", file, &v))
      K.fy = v;
    else if (lookup(fj, j, "camera_angle_y", file, &v))
      K.fy = 0.5 * K.height / std::tan(0.5 * v);
    else
      K.fy = K.fx;
    if (!(K.fx > 0 && K.fy > 0)) throw InputError(file.string() + ": " + where + ": focal lengths must be positive");
    // instant-ngp's principal point counts from the image corner: OpenCV's is half a pixel less.
    K.cx = (lookup(fj, j, "cx", file, &v) ? v : 0.5 * K.width) - 0.5;
    K.cy = (lookup(fj, j, "cy", file, &v) ? v : 0.5 * K.height) - 0.5;
    const char* dist_keys[4] = {"k1", "k2", "p1", "p2"};
    for (int k = 0; k < 4; ++k)
      if (lookup(fj, j, dist_keys[k], file, &v)) K.distortion[k] = v;

    PendingFrame p;
    p.test = options.holdout_every > 0 && position % options.holdout_every == 0;
    p.train = !p.test;
    ++position;
    p.frame.id = static_cast<int>(i);
    p.frame.name = relative_name(img, root);
    p.frame.intrinsics = K.downscaled(options.downscale);
    p.frame.c2w = c2w;
    // near: fixed; far: the farthest box corner seen from this camera.
    const Eigen::Vector3d centre = c2w.block<3, 1>(0, 3);
    double far = 0;
    for (int corner = 0; corner < 8; ++corner) {
      const Eigen::Vector3d q((corner & 1) ? ds.scene_max.x() : ds.scene_min.x(),
                              (corner & 2) ? ds.scene_max.y() : ds.scene_min.y(),
                              (corner & 4) ? ds.scene_max.z() : ds.scene_min.z());
      far = std::max(far, (q - centre).norm());
    }
    p.frame.near = near;
    p.frame.far = static_cast<float>(std::max(far, 2.0 * near));
    const int W = K.width, H = K.height, factor = options.downscale;
    p.load = [=](Frame& frame, std::vector<std::string>&) {
      ImageF alpha;
      ImageF rgb = read_colour(img, options.background, &alpha);
      require_size(img, rgb.width, rgb.height, W, H, declared_by);
      frame.rgb = downscale_area(rgb, factor);
      if (!alpha.empty()) frame.alpha = downscale_area(alpha, factor);
    };
    pending.push_back(std::move(p));
  }
  if (pending.empty()) throw InputError(file.string() + ": none of the listed images exist");

  ds.near = near;
  ds.far = 0.f;
  for (const auto& p : pending) ds.far = std::max(ds.far, p.frame.far);
  finish(ds, std::move(pending), options);
  // The default range covers the kept views only.
  ds.far = 0.f;
  for (const auto& f : ds.frames) ds.far = std::max(ds.far, f.far);
  return ds;
}

}  // namespace jnerf
