// Dataset basics, format detection and the helpers every loader shares.
#include "jnerf/data/dataset.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cmath>
#include <exception>
#include <fstream>
#include <set>
#include <sstream>

#include <spdlog/spdlog.h>

#include "jnerf/core/error.hpp"
#include "jnerf/io/image_io.hpp"
#include "loader_util.hpp"

namespace jnerf {

Intrinsics Intrinsics::downscaled(int factor) const {
  loader::require_downscale(factor);
  Intrinsics k = *this;
  if (factor == 1) return k;
  const double f = factor;
  k.width = width / factor;
  k.height = height / factor;
  k.fx = fx / f;
  k.fy = fy / f;
  k.cx = (cx + 0.5) / f - 0.5;
  k.cy = (cy + 0.5) / f - 0.5;
  return k;  // distortion acts on normalised coordinates: unchanged
}

PinholeCamera Frame::pinhole() const {
  PinholeCamera cam{};
  cam.fx = static_cast<float>(intrinsics.fx);
  cam.fy = static_cast<float>(intrinsics.fy);
  cam.cx = static_cast<float>(intrinsics.cx);
  cam.cy = static_cast<float>(intrinsics.cy);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 4; ++c) cam.c2w[4 * r + c] = static_cast<float>(c2w(r, c));
  return cam;
}

int Dataset::num_classes() const {
  int n = static_cast<int>(class_names.size());
  for (const Frame& f : frames)
    for (std::uint16_t v : f.semantic.data) n = std::max(n, static_cast<int>(v) + 1);
  return n;
}

std::string detect_format(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  if (path.empty()) throw InputError("no dataset folder given");
  if (!fs::exists(path)) throw InputError("dataset folder not found: " + path.string());
  if (!fs::is_directory(path)) throw InputError("dataset path is not a folder: " + path.string());
  if (fs::is_regular_file(path / "transforms_train.json")) return "blender";
  if (fs::is_regular_file(path / "transforms.json")) return "ngp";
  if (fs::is_regular_file(path / "poses_bounds.npy")) return "llff";
  if (fs::is_regular_file(path / "traj_w_c.txt")) return "replica";
  if (fs::is_directory(path / "pose") && (fs::is_directory(path / "color") || fs::is_directory(path / "intrinsic")))
    return "scannet";
  throw InputError("cannot tell the dataset format of " + path.string() +
                   ": expected transforms_train.json (blender), transforms.json (ngp), poses_bounds.npy "
                   "(llff), traj_w_c.txt (replica) or pose/ + color/ folders (scannet); pass the format "
                   "explicitly if the layout differs");
}

Dataset load_dataset(const LoadOptions& options) {
  loader::require_downscale(options.downscale);
  std::string format = options.format.empty() ? "auto" : options.format;
  if (format == "auto") format = detect_format(options.path);
  if (format == "replica") return load_replica(options);
  if (format == "scannet") return load_scannet(options);
  if (format == "blender") return load_blender(options);
  if (format == "ngp") return load_ngp(options);
  if (format == "llff") return load_llff(options);
  throw InputError("unknown dataset format '" + options.format +
                   "' (expected auto, replica, scannet, blender, ngp or llff)");
}

namespace loader {

void warn(Dataset& ds, const std::string& message) {
  spdlog::warn("{}", message);
  ds.warnings.push_back(message);
}

int first_wanted(const std::vector<int>& ids, const LoadOptions& options) {
  for (int id : ids)
    if (options.frame_ids.empty() ||
        std::find(options.frame_ids.begin(), options.frame_ids.end(), id) != options.frame_ids.end())
      return id;
  return ids.empty() ? 0 : ids.front();
}

std::vector<int> evenly_spaced(int count, int n) {
  std::vector<int> out;
  if (n <= 0 || n >= count) {
    for (int i = 0; i < count; ++i) out.push_back(i);
    return out;
  }
  // First and last included, the rest rounded in between (distinct because n < count).
  if (n == 1) return {0};
  for (int k = 0; k < n; ++k)
    out.push_back(static_cast<int>((static_cast<long long>(k) * (count - 1) * 2 + (n - 1)) / (2LL * (n - 1))));
  return out;
}

void finish(Dataset& ds, std::vector<PendingFrame> pending, const LoadOptions& options) {
  // 1. Keep the requested source ids.
  if (!options.frame_ids.empty()) {
    const std::set<int> wanted(options.frame_ids.begin(), options.frame_ids.end());
    std::set<int> found;
    std::vector<PendingFrame> kept;
    for (auto& p : pending)
      if (wanted.count(p.frame.id)) {
        found.insert(p.frame.id);
        kept.push_back(std::move(p));
      }
    for (int id : wanted)
      if (!found.count(id))
        warn(ds, "frame id " + std::to_string(id) + " is not among the train/test views of " +
                     ds.root.string() + "; ignored");
    pending = std::move(kept);
  }

  // 2. At most max_frames train and max_frames test views, evenly spaced.
  std::vector<int> train_pos, test_pos;
  for (int i = 0; i < static_cast<int>(pending.size()); ++i) {
    if (pending[i].train) train_pos.push_back(i);
    if (pending[i].test) test_pos.push_back(i);
  }
  std::vector<char> keep_train(pending.size(), 0), keep_test(pending.size(), 0);
  for (int k : evenly_spaced(static_cast<int>(train_pos.size()), options.max_frames)) keep_train[train_pos[k]] = 1;
  for (int k : evenly_spaced(static_cast<int>(test_pos.size()), options.max_frames)) keep_test[test_pos[k]] = 1;
  std::vector<PendingFrame> selected;
  for (std::size_t i = 0; i < pending.size(); ++i) {
    if (!keep_train[i] && !keep_test[i]) continue;
    pending[i].train = keep_train[i];
    pending[i].test = keep_test[i];
    selected.push_back(std::move(pending[i]));
  }
  if (selected.empty())
    throw InputError("no views to load from " + ds.root.string() +
                     (options.frame_ids.empty() ? std::string() : " (check the requested frame ids)"));

  // 3. Pixels, in parallel; the first failure (in frame order) is reported.
  const int n = static_cast<int>(selected.size());
  std::vector<std::vector<std::string>> frame_warnings(n);
  if (options.load_images) {
    std::vector<std::exception_ptr> errors(n);
#pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < n; ++i) {
      try {
        if (selected[i].load) selected[i].load(selected[i].frame, frame_warnings[i]);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    }
    for (auto& e : errors)
      if (e) std::rethrow_exception(e);
  }
  for (auto& w : frame_warnings)
    for (auto& msg : w) warn(ds, msg);

  // 4. Frames and split lists.
  ds.frames.clear();
  ds.train.clear();
  ds.test.clear();
  for (int i = 0; i < n; ++i) {
    Frame& f = selected[i].frame;
    if (!f.rgb.empty() && (f.rgb.width != f.intrinsics.width || f.rgb.height != f.intrinsics.height))
      throw InputError("image " + (ds.root / f.name).string() + " is " + std::to_string(f.rgb.width) + "x" +
                       std::to_string(f.rgb.height) + " after loading, but its camera says " +
                       std::to_string(f.intrinsics.width) + "x" + std::to_string(f.intrinsics.height));
    if (selected[i].train) ds.train.push_back(i);
    if (selected[i].test) ds.test.push_back(i);
    ds.frames.push_back(std::move(f));
  }
  if (ds.train.empty()) warn(ds, "no training views selected from " + ds.root.string());
}

void require_dir(const fs::path& dir, const std::string& what) {
  if (!fs::exists(dir)) throw InputError(what + " not found: " + dir.string());
  if (!fs::is_directory(dir)) throw InputError(what + " is not a folder: " + dir.string());
}

void require_downscale(int factor) {
  if (factor < 1) throw InputError("downscale factor must be an integer >= 1, got " + std::to_string(factor));
}

void require_step_split(const LoadOptions& options) {
  if (options.train_step < 1)
    throw InputError("train_step must be >= 1, got " + std::to_string(options.train_step));
  if (options.test_offset < 0)
    throw InputError("test_offset must be >= 0, got " + std::to_string(options.test_offset));
}

std::string read_text(const fs::path& file) {
  if (!fs::is_regular_file(file)) throw InputError("file not found: " + file.string());
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError("cannot open " + file.string());
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) throw InputError("cannot read " + file.string());
  return s.str();
}

Json read_json(const fs::path& file) {
  const std::string text = read_text(file);
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    throw InputError("malformed JSON in " + file.string() + ": " + e.what());
  }
}

double json_number(const Json& object, const std::string& key, const fs::path& file) {
  if (!object.is_object() || !object.contains(key))
    throw InputError(file.string() + ": missing key '" + key + "'");
  const Json& v = object.at(key);
  if (!v.is_number()) throw InputError(file.string() + ": key '" + key + "' must be a number, got " + v.dump());
  return v.get<double>();
}

Eigen::Matrix4d json_matrix(const Json& value, const fs::path& file, const std::string& key) {
  const auto bad = [&]() {
    return InputError(file.string() + ": '" + key + "' must be a 3x4 or 4x4 matrix of numbers, got " +
                      value.dump().substr(0, 200));
  };
  if (!value.is_array() || (value.size() != 3 && value.size() != 4)) throw bad();
  Eigen::Matrix4d m = Eigen::Matrix4d::Identity();
  for (std::size_t r = 0; r < value.size(); ++r) {
    const Json& row = value[r];
    if (!row.is_array() || row.size() != 4) throw bad();
    for (int c = 0; c < 4; ++c) {
      if (!row[c].is_number()) throw bad();
      m(static_cast<int>(r), c) = row[c].get<double>();
    }
  }
  return m;
}

std::pair<int, int> image_size(const fs::path& file) {
  if (!fs::is_regular_file(file)) throw InputError("image file not found: " + file.string());
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError("cannot open image " + file.string());
  unsigned char head[24] = {};
  in.read(reinterpret_cast<char*>(head), sizeof head);
  const auto got = in.gcount();
  const auto be16 = [](const unsigned char* p) { return (p[0] << 8) | p[1]; };
  const auto be32 = [](const unsigned char* p) {
    return static_cast<long long>(p[0]) << 24 | p[1] << 16 | p[2] << 8 | p[3];
  };
  static const unsigned char kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (got >= 24 && std::equal(kPng, kPng + 8, head) && std::equal(head + 12, head + 16, "IHDR")) {
    const long long w = be32(head + 16), h = be32(head + 20);
    if (w > 0 && h > 0 && w < (1 << 30) && h < (1 << 30)) return {static_cast<int>(w), static_cast<int>(h)};
  } else if (got >= 4 && head[0] == 0xFF && head[1] == 0xD8) {
    in.clear();
    in.seekg(2);
    for (;;) {
      int c = in.get();
      if (c != 0xFF) break;
      while (c == 0xFF) c = in.get();
      if (c == EOF) break;
      const int marker = c;
      if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;
      if (marker == 0xD9 || marker == 0xDA) break;  // end / start of scan: no frame header seen
      unsigned char len[2];
      if (!in.read(reinterpret_cast<char*>(len), 2)) break;
      const int length = be16(len);
      if (length < 2) break;
      const bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
      if (sof) {
        unsigned char sofh[5];
        if (!in.read(reinterpret_cast<char*>(sofh), 5)) break;
        const int h = be16(sofh + 1), w = be16(sofh + 3);
        if (w > 0 && h > 0) return {w, h};
        break;
      }
      in.seekg(length - 2, std::ios::cur);
    }
  }
  // Anything else stb can read: decode it (slow, but rare).
  const ImageU8 img = read_image_u8(file);
  return {img.width, img.height};
}

Eigen::Matrix4d opengl_to_opencv(const Eigen::Matrix4d& c2w_gl) {
  Eigen::Matrix4d m = c2w_gl;
  m.col(1) = -m.col(1);
  m.col(2) = -m.col(2);
  return m;
}

Intrinsics rescaled(const Intrinsics& k, int new_w, int new_h) {
  Intrinsics out = k;
  if (k.width <= 0 || k.height <= 0) return out;
  const double sx = static_cast<double>(new_w) / k.width, sy = static_cast<double>(new_h) / k.height;
  out.width = new_w;
  out.height = new_h;
  out.fx = k.fx * sx;
  out.fy = k.fy * sy;
  out.cx = (k.cx + 0.5) * sx - 0.5;
  out.cy = (k.cy + 0.5) * sy - 0.5;
  return out;
}

namespace {
// For each output cell, the input cells it covers and their weights (sum 1).
struct Taps {
  std::vector<int> start, count;
  std::vector<float> weights;  // flattened, count[o] entries from offset[o]
  std::vector<int> offset;
};

Taps area_taps(int in, int out) {
  Taps t;
  const double scale = static_cast<double>(in) / out;
  for (int o = 0; o < out; ++o) {
    const double a = o * scale, b = (o + 1) * scale;
    const int i0 = static_cast<int>(std::floor(a));
    const int i1 = std::min(in, static_cast<int>(std::ceil(b)));
    t.start.push_back(i0);
    t.count.push_back(i1 - i0);
    t.offset.push_back(static_cast<int>(t.weights.size()));
    for (int i = i0; i < i1; ++i) {
      const double w = std::min(b, i + 1.0) - std::max(a, static_cast<double>(i));
      t.weights.push_back(static_cast<float>(w / scale));
    }
  }
  return t;
}
}  // namespace

ImageF resize_area(const ImageF& image, int width, int height) {
  if (image.width == width && image.height == height) return image;
  if (width <= 0 || height <= 0) throw std::invalid_argument("resize_area: empty target size");
  const int c = image.channels;
  const Taps tx = area_taps(image.width, width), ty = area_taps(image.height, height);
  ImageF horizontal(width, image.height, c);
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < width; ++x)
      for (int ch = 0; ch < c; ++ch) {
        float s = 0.f;
        for (int k = 0; k < tx.count[x]; ++k) s += tx.weights[tx.offset[x] + k] * image.at(tx.start[x] + k, y, ch);
        horizontal.at(x, y, ch) = s;
      }
  ImageF out(width, height, c);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int ch = 0; ch < c; ++ch) {
        float s = 0.f;
        for (int k = 0; k < ty.count[y]; ++k) s += ty.weights[ty.offset[y] + k] * horizontal.at(x, ty.start[y] + k, ch);
        out.at(x, y, ch) = s;
      }
  return out;
}

std::string relative_name(const fs::path& file, const fs::path& root) {
  fs::path rel = file.lexically_relative(root);
  if (rel.empty() || *rel.begin() == "..") rel = file;
  return rel.lexically_normal().generic_string();
}

ImageF depth_to_metres(const ImageU16& raw, double scale) {
  ImageF d(raw.width, raw.height, 1);
  const float inv = static_cast<float>(1.0 / scale);
  for (std::size_t i = 0; i < raw.data.size(); ++i) d.data[i] = raw.data[i] * inv;
  return d;
}

void require_size(const fs::path& file, int got_w, int got_h, int want_w, int want_h,
                  const std::string& declared_by) {
  if (got_w == want_w && got_h == want_h) return;
  throw InputError("image " + file.string() + " is " + std::to_string(got_w) + "x" + std::to_string(got_h) +
                   " but " + declared_by + " declares " + std::to_string(want_w) + "x" + std::to_string(want_h));
}

bool has_image_extension(const fs::path& file) {
  std::string ext = file.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp" || ext == ".tga";
}

}  // namespace loader
}  // namespace jnerf

namespace jnerf::loader {

ImageF read_colour(const fs::path& file, const std::array<float, 3>& background, ImageF* alpha) {
  const ImageU8 raw = read_image_u8(file);
  const int c = raw.channels;
  if (c < 1 || c > 4) throw InputError("image " + file.string() + " has an unsupported channel count " + std::to_string(c));
  const bool has_alpha = c == 2 || c == 4;
  const bool grey = c <= 2;
  ImageF rgb(raw.width, raw.height, 3);
  if (alpha) *alpha = has_alpha ? ImageF(raw.width, raw.height, 1) : ImageF();
  const std::size_t n = raw.pixels();
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t* px = raw.data.data() + i * c;
    const float a = has_alpha ? px[c - 1] / 255.f : 1.f;
    for (int k = 0; k < 3; ++k) {
      const float v = (grey ? px[0] : px[k]) / 255.f;
      rgb.data[i * 3 + k] = has_alpha ? a * v + (1.f - a) * background[k] : v;
    }
    if (has_alpha && alpha) alpha->data[i] = a;
  }
  return rgb;
}

bool parse_numbers(const std::string& text, std::vector<double>* out, std::string* bad) {
  out->clear();
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    while (i < n && (std::isspace(static_cast<unsigned char>(text[i])) || text[i] == ',')) ++i;
    if (i >= n) break;
    std::size_t j = i;
    while (j < n && !std::isspace(static_cast<unsigned char>(text[j])) && text[j] != ',') ++j;
    const std::string token = text.substr(i, j - i);
    char* end = nullptr;
    const double v = std::strtod(token.c_str(), &end);
    if (end != token.c_str() + token.size()) {
      if (bad) *bad = token;
      return false;
    }
    out->push_back(v);
    i = j;
  }
  return true;
}

}  // namespace jnerf::loader
