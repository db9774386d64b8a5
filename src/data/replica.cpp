// Replica in the Semantic-NeRF layout (also what `jnerf synth` writes):
//   traj_w_c.txt                  one flattened row-major 4x4 T_wc per line (OpenCV camera)
//   rgb/rgb_{i}.png               colour
//   depth/depth_{i}.png           uint16, depth_scale units per metre (optional folder)
//   semantic_class/semantic_class_{i}.png      class ids, 0 = void (optional folder)
//   semantic_instance/semantic_instance_{i}.png instance ids (optional folder)
//   jnerf_scene.json              optional metadata from our generator
#include <cmath>
#include <string>
#include <vector>

#include "jnerf/core/error.hpp"
#include "jnerf/data/dataset.hpp"
#include "jnerf/io/image_io.hpp"
#include "loader_util.hpp"

namespace jnerf {
namespace {

using namespace loader;

struct ReplicaMeta {
  bool present = false;
  int width = 0, height = 0;
  bool has_intrinsics = false;
  double fx = 0, fy = 0, cx = 0, cy = 0;
  double depth_scale = 1000.0;
  double near = 0.1, far = 10.0;
  std::vector<std::string> class_names;
  bool has_box = false;
  Eigen::Vector3d box_min = Eigen::Vector3d::Zero(), box_max = Eigen::Vector3d::Zero();
  int frames = -1;
};

Eigen::Vector3d vec3(const Json& j, const std::string& key, const fs::path& file) {
  const Json& v = j.at(key);
  if (!v.is_array() || v.size() != 3 || !v[0].is_number() || !v[1].is_number() || !v[2].is_number())
    throw InputError(file.string() + ": '" + key + "' must be an array of 3 numbers, got " + v.dump());
  return {v[0].get<double>(), v[1].get<double>(), v[2].get<double>()};
}

int positive_int(const Json& j, const std::string& key, const fs::path& file) {
  const Json& v = j.at(key);
  if (!v.is_number_integer() || v.get<long long>() <= 0)
    throw InputError(file.string() + ": '" + key + "' must be a positive integer, got " + v.dump());
  return v.get<int>();
}

ReplicaMeta read_meta(const fs::path& root) {
  ReplicaMeta m;
  const fs::path file = root / "jnerf_scene.json";
  if (!fs::exists(file)) return m;
  const Json j = read_json(file);
  if (!j.is_object()) throw InputError(file.string() + ": expected a JSON object");
  m.present = true;
  if (j.contains("width")) m.width = positive_int(j, "width", file);
  if (j.contains("height")) m.height = positive_int(j, "height", file);
  if (j.contains("intrinsics")) {
    const Json& k = j.at("intrinsics");
    const fs::path where = file.string() + " (intrinsics)";
    m.fx = json_number(k, "fx", where);
    m.fy = json_number(k, "fy", where);
    m.cx = json_number(k, "cx", where);
    m.cy = json_number(k, "cy", where);
    if (!(m.fx > 0 && m.fy > 0)) throw InputError(file.string() + ": intrinsics fx, fy must be positive");
    m.has_intrinsics = true;
  }
  if (j.contains("depth_scale")) {
    m.depth_scale = json_number(j, "depth_scale", file);
    if (!(m.depth_scale > 0)) throw InputError(file.string() + ": 'depth_scale' must be positive");
  }
  if (j.contains("near")) m.near = json_number(j, "near", file);
  if (j.contains("far")) m.far = json_number(j, "far", file);
  if (!(m.near >= 0 && m.far > m.near))
    throw InputError(file.string() + ": need 0 <= near < far, got near " + std::to_string(m.near) + ", far " +
                     std::to_string(m.far));
  if (j.contains("class_names")) {
    const Json& names = j.at("class_names");
    if (!names.is_array()) throw InputError(file.string() + ": 'class_names' must be an array of strings");
    for (const Json& n : names) {
      if (!n.is_string()) throw InputError(file.string() + ": 'class_names' must be an array of strings, got " + n.dump());
      m.class_names.push_back(n.get<std::string>());
    }
  }
  if (j.contains("scene_min") && j.contains("scene_max")) {
    m.box_min = vec3(j, "scene_min", file);
    m.box_max = vec3(j, "scene_max", file);
    if (!(m.box_min.array() < m.box_max.array()).all())
      throw InputError(file.string() + ": 'scene_min' must be below 'scene_max' on every axis");
    m.has_box = true;
  }
  if (j.contains("frames")) m.frames = positive_int(j, "frames", file);
  return m;
}

// One T_wc per non-empty line; trailing blank lines are ignored.
std::vector<Eigen::Matrix4d> read_trajectory(const fs::path& file) {
  const std::string text = read_text(file);
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
    start = end + 1;
  }
  auto blank = [](const std::string& s) { return s.find_first_not_of(" \t\r") == std::string::npos; };
  while (!lines.empty() && blank(lines.back())) lines.pop_back();
  if (lines.empty()) throw InputError(file.string() + ": no poses (the file is empty)");
  std::vector<Eigen::Matrix4d> poses;
  std::vector<double> v;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string bad;
    const std::string where = file.string() + " line " + std::to_string(i + 1);
    if (!parse_numbers(lines[i], &v, &bad)) throw InputError(where + ": '" + bad + "' is not a number");
    if (v.size() != 16)
      throw InputError(where + ": expected 16 numbers (a flattened 4x4 T_wc), found " + std::to_string(v.size()));
    Eigen::Matrix4d m;
    for (int r = 0; r < 4; ++r)
      for (int c = 0; c < 4; ++c) m(r, c) = v[4 * r + c];
    if (!m.allFinite()) throw InputError(where + ": the pose has inf or nan entries");
    poses.push_back(m);
  }
  return poses;
}

}  // namespace

Dataset load_replica(const LoadOptions& options) {
  require_downscale(options.downscale);
  require_step_split(options);
  const fs::path root = options.path;
  require_dir(root, "Replica dataset folder");
  Dataset ds;
  ds.format = "replica";
  ds.root = root;

  const ReplicaMeta meta = read_meta(root);
  const std::vector<Eigen::Matrix4d> poses = read_trajectory(root / "traj_w_c.txt");
  const int count = static_cast<int>(poses.size());
  if (meta.frames > 0 && meta.frames != count)
    warn(ds, (root / "jnerf_scene.json").string() + " says " + std::to_string(meta.frames) +
                 " frames but traj_w_c.txt has " + std::to_string(count) + " poses; using the poses");

  const int step = options.train_step, offset = options.test_offset;
  std::vector<int> ids;
  for (int i = 0; i < count; ++i) {
    const bool train = i % step == 0;
    const bool test = i - offset >= 0 && (i - offset) % step == 0;
    if (train || test) ids.push_back(i);
  }

  auto rgb_path = [&](int i) { return root / "rgb" / ("rgb_" + std::to_string(i) + ".png"); };
  require_dir(root / "rgb", "Replica colour folder");
  const fs::path depth_dir = root / "depth", sem_dir = root / "semantic_class", inst_dir = root / "semantic_instance";
  const bool has_depth = fs::is_directory(depth_dir);
  const bool has_sem = fs::is_directory(sem_dir);
  const bool has_inst = fs::is_directory(inst_dir);

  // Full-resolution size: declared by the metadata or read from the first colour image.
  int W = meta.width, H = meta.height;
  std::string declared_by = (root / "jnerf_scene.json").string();
  if (W <= 0 || H <= 0) {
    const fs::path first = rgb_path(first_wanted(ids, options));
    const auto [w, h] = image_size(first);
    W = w;
    H = h;
    declared_by = "the first frame " + first.string();
  }
  Intrinsics K;
  K.width = W;
  K.height = H;
  if (meta.has_intrinsics) {
    K.fx = meta.fx;
    K.fy = meta.fy;
    K.cx = meta.cx;
    K.cy = meta.cy;
  } else {  // Semantic-NeRF's Replica renders: hfov 90 degrees, centred principal point
    K.fx = K.fy = 0.5 * W / std::tan(0.25 * M_PI);
    K.cx = 0.5 * (W - 1);
    K.cy = 0.5 * (H - 1);
  }
  const Intrinsics Kd = K.downscaled(options.downscale);
  const int f = options.downscale;
  const double depth_scale = meta.depth_scale;

  std::vector<PendingFrame> pending;
  for (int i : ids) {
    PendingFrame p;
    p.train = i % step == 0;
    p.test = i - offset >= 0 && (i - offset) % step == 0;
    Frame& fr = p.frame;
    fr.id = i;
    fr.name = relative_name(rgb_path(i), root);
    fr.intrinsics = Kd;
    fr.c2w = poses[i];
    fr.near = static_cast<float>(meta.near);
    fr.far = static_cast<float>(meta.far);
    const std::string n = std::to_string(i);
    p.load = [=](Frame& frame, std::vector<std::string>&) {
      const fs::path rgb_file = rgb_path(i);
      ImageF rgb = read_colour(rgb_file, options.background, nullptr);
      require_size(rgb_file, rgb.width, rgb.height, W, H, declared_by);
      frame.rgb = downscale_area(rgb, f);
      auto read_u16 = [&](const fs::path& file) {
        if (!fs::exists(file)) throw InputError("image file not found: " + file.string());
        ImageU16 img = read_image_u16(file);
        require_size(file, img.width, img.height, W, H, declared_by);
        return downscale_nearest(img, f);
      };
      if (has_depth) frame.depth = depth_to_metres(read_u16(depth_dir / ("depth_" + n + ".png")), depth_scale);
      if (has_sem) frame.semantic = read_u16(sem_dir / ("semantic_class_" + n + ".png"));
      if (has_inst) frame.instance = read_u16(inst_dir / ("semantic_instance_" + n + ".png"));
    };
    pending.push_back(std::move(p));
  }

  ds.class_names = meta.class_names;
  ds.near = static_cast<float>(meta.near);
  ds.far = static_cast<float>(meta.far);
  ds.has_scene_box = meta.has_box;
  ds.scene_min = meta.box_min;
  ds.scene_max = meta.box_max;
  finish(ds, std::move(pending), options);
  return ds;
}

}  // namespace jnerf
