// ScanNet scene folder as Semantic-NeRF reads it (an exported .sens):
//   color/{i}.jpg                 colour (1296x968 in ScanNet)
//   depth/{i}.png                 uint16 millimetres (640x480), optional folder
//   pose/{i}.txt                  4x4 camera-to-world, OpenCV camera; -inf rows = invalid
//   intrinsic/intrinsic_color.txt 4x4 (fx, fy, cx, cy of the colour camera)
//   label-filt/{i}.png            raw ScanNet label ids, optional folder
//   instance-filt/{i}.png         instance ids, optional folder
//   scannetv2-labels.combined.tsv (in the scene folder or its parent) raw id -> NYU40 id
// Every image is brought to the label (else depth) resolution: colour by area resampling
// with the colour intrinsics rescaled to match.
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <sstream>
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

const std::vector<std::string>& nyu40_names() {
  static const std::vector<std::string> names = {
      "void",          "wall",         "floor",          "cabinet",     "bed",        "chair",
      "sofa",          "table",        "door",           "window",      "bookshelf",  "picture",
      "counter",       "blinds",       "desk",           "shelves",     "curtain",    "dresser",
      "pillow",        "mirror",       "floor mat",      "clothes",     "ceiling",    "books",
      "refrigerator",  "television",   "paper",          "towel",       "shower curtain", "box",
      "whiteboard",    "person",       "night stand",    "toilet",      "sink",       "lamp",
      "bathtub",       "bag",          "otherstructure", "otherfurniture", "otherprop"};
  return names;
}

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = line.find('\t', start);
    out.push_back(line.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  for (auto& s : out)
    if (!s.empty() && s.back() == '\r') s.pop_back();
  return out;
}

// raw label id -> NYU40 id, from the columns 'id' and 'nyu40id'.
std::map<int, int> read_label_map(const fs::path& file) {
  std::istringstream in(read_text(file));
  std::string line;
  if (!std::getline(in, line)) throw InputError(file.string() + ": empty label mapping file");
  const auto header = split_tabs(line);
  const auto col = [&](const std::string& name) {
    const auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end()) throw InputError(file.string() + ": no column '" + name + "' in the header");
    return static_cast<std::size_t>(it - header.begin());
  };
  const std::size_t c_id = col("id"), c_nyu = col("nyu40id");
  std::map<int, int> map;
  int line_no = 1;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto cells = split_tabs(line);
    const auto cell_int = [&](std::size_t c, const std::string& name) -> int {
      if (c >= cells.size() || cells[c].empty()) return -1;
      char* end = nullptr;
      const long v = std::strtol(cells[c].c_str(), &end, 10);
      if (*end != '\0' || v < 0 || v > 65535)
        throw InputError(file.string() + " line " + std::to_string(line_no) + ": column '" + name +
                         "' is not an id: '" + cells[c] + "'");
      return static_cast<int>(v);
    };
    const int id = cell_int(c_id, "id");
    const int nyu = cell_int(c_nyu, "nyu40id");
    if (id < 0) continue;
    map[id] = nyu < 0 ? 0 : nyu;
  }
  return map;
}

Eigen::Matrix4d read_matrix_file(const fs::path& file, bool allow_3x3) {
  std::vector<double> v;
  std::string bad;
  if (!parse_numbers(read_text(file), &v, &bad)) throw InputError(file.string() + ": '" + bad + "' is not a number");
  Eigen::Matrix4d m = Eigen::Matrix4d::Identity();
  if (v.size() == 16) {
    for (int r = 0; r < 4; ++r)
      for (int c = 0; c < 4; ++c) m(r, c) = v[4 * r + c];
  } else if (allow_3x3 && v.size() == 9) {
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 3; ++c) m(r, c) = v[3 * r + c];
  } else {
    throw InputError(file.string() + ": expected a 4x4 matrix (16 numbers), found " + std::to_string(v.size()) +
                     " numbers");
  }
  return m;
}

// Integer file stems in a folder with the given extension.
std::vector<int> numbered_files(const fs::path& dir, const std::string& ext) {
  std::vector<int> ids;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (!entry.is_regular_file() || entry.path().extension() != ext) continue;
    const std::string stem = entry.path().stem().string();
    if (stem.empty() || stem.find_first_not_of("0123456789") != std::string::npos) continue;
    ids.push_back(std::stoi(stem));
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace

Dataset load_scannet(const LoadOptions& options) {
  require_downscale(options.downscale);
  require_step_split(options);
  const fs::path root = options.path;
  require_dir(root, "ScanNet scene folder");
  Dataset ds;
  ds.format = "scannet";
  ds.root = root;

  const fs::path pose_dir = root / "pose", color_dir = root / "color", depth_dir = root / "depth";
  const fs::path label_dir = root / "label-filt", inst_dir = root / "instance-filt";
  require_dir(pose_dir, "ScanNet pose folder");
  require_dir(color_dir, "ScanNet colour folder");
  const bool has_depth = fs::is_directory(depth_dir);
  const bool has_label = fs::is_directory(label_dir);
  const bool has_inst = fs::is_directory(inst_dir);

  // Split over the frame numbers present in pose/.
  const std::vector<int> all_ids = numbered_files(pose_dir, ".txt");
  if (all_ids.empty()) throw InputError("no pose files ({i}.txt) in " + pose_dir.string());
  const std::set<int> present(all_ids.begin(), all_ids.end());
  const int step = options.train_step, offset = options.test_offset;
  auto is_train = [&](int i) { return i % step == 0; };
  auto is_test = [&](int i) { return i - offset >= 0 && (i - offset) % step == 0 && present.count(i - offset); };

  std::vector<int> ids;
  std::vector<Eigen::Matrix4d> poses;
  for (int i : all_ids) {
    if (!is_train(i) && !is_test(i)) continue;
    if (!options.frame_ids.empty() &&
        std::find(options.frame_ids.begin(), options.frame_ids.end(), i) == options.frame_ids.end())
      continue;
    const fs::path pose_file = pose_dir / (std::to_string(i) + ".txt");
    const Eigen::Matrix4d pose = read_matrix_file(pose_file, false);
    if (!pose.allFinite()) {
      warn(ds, "ScanNet frame " + std::to_string(i) + " skipped: invalid (inf/nan) pose in " + pose_file.string());
      continue;
    }
    ids.push_back(i);
    poses.push_back(pose);
  }
  if (ids.empty()) throw InputError("no ScanNet frames with a valid pose selected in " + root.string());

  auto color_path = [&](int i) {
    fs::path p = color_dir / (std::to_string(i) + ".jpg");
    if (!fs::exists(p) && fs::exists(color_dir / (std::to_string(i) + ".png"))) p = color_dir / (std::to_string(i) + ".png");
    return p;
  };
  const auto png = [](const fs::path& dir, int i) { return dir / (std::to_string(i) + ".png"); };

  // Colour intrinsics, colour size, common (label / depth) size.
  const fs::path kfile = root / "intrinsic" / "intrinsic_color.txt";
  const Eigen::Matrix4d km = read_matrix_file(kfile, true);
  const int first = ids.front();
  const fs::path first_color = color_path(first);
  int cw = 0, ch = 0;
  std::tie(cw, ch) = image_size(first_color);
  Intrinsics Kc;
  Kc.width = cw;
  Kc.height = ch;
  Kc.fx = km(0, 0);
  Kc.fy = km(1, 1);
  Kc.cx = km(0, 2);
  Kc.cy = km(1, 2);
  if (!(Kc.fx > 0 && Kc.fy > 0)) throw InputError(kfile.string() + ": fx and fy must be positive");
  int tw = cw, th = ch;
  std::string target_by = first_color.string();
  if (has_label || has_depth) {
    const fs::path f = png(has_label ? label_dir : depth_dir, first);
    std::tie(tw, th) = image_size(f);
    target_by = f.string();
  }
  const Intrinsics Kd = rescaled(Kc, tw, th).downscaled(options.downscale);
  const int factor = options.downscale;

  // Label mapping.
  auto lut = std::make_shared<std::vector<int>>();
  if (has_label) {
    fs::path tsv;
    fs::path abs = fs::absolute(root).lexically_normal();
    if (!abs.has_filename()) abs = abs.parent_path();  // trailing separator
    for (const fs::path& dir : {abs, abs.parent_path()}) {
      const fs::path c = dir / "scannetv2-labels.combined.tsv";
      if (!dir.empty() && fs::is_regular_file(c)) {
        tsv = c;
        break;
      }
    }
    if (tsv.empty()) {
      warn(ds, "no scannetv2-labels.combined.tsv in " + root.string() +
                   " or its parent: label-filt values are taken as NYU40 ids");
    } else {
      lut->assign(65536, -1);
      for (const auto& [raw, nyu] : read_label_map(tsv)) (*lut)[raw] = nyu;
      (*lut)[0] = 0;
    }
    ds.class_names = nyu40_names();
  }

  std::vector<PendingFrame> pending;
  for (std::size_t k = 0; k < ids.size(); ++k) {
    const int i = ids[k];
    PendingFrame p;
    p.train = is_train(i);
    p.test = is_test(i);
    p.frame.id = i;
    p.frame.name = relative_name(color_path(i), root);
    p.frame.intrinsics = Kd;
    p.frame.c2w = poses[k];
    p.frame.near = 0.1f;
    p.frame.far = 10.f;
    p.load = [=](Frame& frame, std::vector<std::string>& warnings) {
      const fs::path cfile = color_path(i);
      ImageF rgb = read_colour(cfile, options.background, nullptr);
      require_size(cfile, rgb.width, rgb.height, cw, ch, "the first colour image " + first_color.string());
      frame.rgb = downscale_area(resize_area(rgb, tw, th), factor);
      auto read_u16 = [&](const fs::path& file) {
        if (!fs::exists(file)) throw InputError("image file not found: " + file.string());
        ImageU16 img = read_image_u16(file);
        require_size(file, img.width, img.height, tw, th, target_by);
        return img;
      };
      if (has_depth) frame.depth = depth_to_metres(downscale_nearest(read_u16(png(depth_dir, i)), factor), 1000.0);
      if (has_label) {
        const fs::path lfile = png(label_dir, i);
        ImageU16 labels = downscale_nearest(read_u16(lfile), factor);
        if (!lut->empty()) {
          std::set<int> unknown;
          for (auto& v : labels.data) {
            const int m = (*lut)[v];
            if (m < 0) unknown.insert(v);
            v = static_cast<std::uint16_t>(m < 0 ? 0 : m);
          }
          if (!unknown.empty()) {
            std::string list;
            for (int u : unknown) list += (list.empty() ? "" : ", ") + std::to_string(u);
            warnings.push_back(lfile.string() + ": raw label ids not in the mapping file set to void: " + list);
          }
        }
        frame.semantic = std::move(labels);
      }
      if (has_inst) frame.instance = downscale_nearest(read_u16(png(inst_dir, i)), factor);
    };
    pending.push_back(std::move(p));
  }

  ds.near = 0.1f;
  ds.far = 10.f;
  finish(ds, std::move(pending), options);
  return ds;
}

}  // namespace jnerf
