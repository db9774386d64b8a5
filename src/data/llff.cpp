// LLFF forward-facing captures: poses_bounds.npy (N x 17: row-major 3x5 [R | t | (H, W, f)]
// in LLFF axes (down, right, back), then near and far) and images/ or images_{k}/.
#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "jnerf/core/error.hpp"
#include "jnerf/data/dataset.hpp"
#include "jnerf/io/image_io.hpp"
#include "jnerf/io/npy.hpp"
#include "loader_util.hpp"

namespace jnerf {
namespace {

using namespace loader;

// images -> 1, images_{k} -> k, for every such folder under root.
std::map<int, fs::path> image_folders(const fs::path& root) {
  std::map<int, fs::path> out;
  for (const auto& entry : fs::directory_iterator(root)) {
    if (!entry.is_directory()) continue;
    const std::string name = entry.path().filename().string();
    if (name == "images") {
      out[1] = entry.path();
    } else if (name.rfind("images_", 0) == 0) {
      const std::string k = name.substr(7);
      if (!k.empty() && k.size() < 6 && k.find_first_not_of("0123456789") == std::string::npos && std::stoi(k) > 0)
        out[std::stoi(k)] = entry.path();
    }
  }
  return out;
}

std::vector<fs::path> sorted_images(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file() && has_image_extension(entry.path())) files.push_back(entry.path());
  std::sort(files.begin(), files.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename().string() < b.filename().string(); });
  return files;
}

}  // namespace

Dataset load_llff(const LoadOptions& options) {
  require_downscale(options.downscale);
  const fs::path root = options.path;
  require_dir(root, "LLFF dataset folder");
  Dataset ds;
  ds.format = "llff";
  ds.root = root;

  const fs::path npy_file = root / "poses_bounds.npy";
  const NpyArray pb = read_npy(npy_file);
  if (pb.shape.size() != 2 || pb.shape[1] != 17 || pb.shape[0] == 0) {
    std::string shape;
    for (std::size_t d : pb.shape) shape += (shape.empty() ? "" : ", ") + std::to_string(d);
    throw InputError(npy_file.string() + ": expected an N x 17 array, got shape (" + shape + ")");
  }
  const int n = static_cast<int>(pb.shape[0]);

  // Folder: images_{downscale} when present; else the coarsest folder whose factor divides
  // the request (then downsampled by the rest); else the finest folder there is, as it is.
  const std::map<int, fs::path> folders = image_folders(root);
  if (folders.empty()) throw InputError("no images/ or images_{k}/ folder in " + root.string());
  const int want = options.downscale;
  int folder_k = 0;
  for (const auto& [k, dir] : folders)
    if (want % k == 0) folder_k = k;  // ascending: the last match is the coarsest
  int residual = 1;
  if (folder_k > 0) {
    residual = want / folder_k;
  } else {
    folder_k = folders.begin()->first;
    warn(ds, "no image folder for downscale " + std::to_string(want) + " in " + root.string() + ": using " +
                 folders.at(folder_k).filename().string() + " as it is");
  }
  const fs::path dir = folders.at(folder_k);
  const std::vector<fs::path> files = sorted_images(dir);
  if (static_cast<int>(files.size()) != n)
    throw InputError(dir.string() + " holds " + std::to_string(files.size()) + " images but " + npy_file.string() +
                     " has " + std::to_string(n) + " poses");
  int fw = 0, fh = 0;
  std::tie(fw, fh) = image_size(files.front());
  const std::string declared_by = "the first image " + files.front().string();

  std::vector<PendingFrame> pending;
  float near_min = 0.f, far_max = 0.f;
  for (int i = 0; i < n; ++i) {
    const double* v = pb.values.data() + static_cast<std::size_t>(i) * 17;
    const std::string where = npy_file.string() + " row " + std::to_string(i);
    Eigen::Matrix<double, 3, 5> m;
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 5; ++c) m(r, c) = v[5 * r + c];
    if (!m.allFinite()) throw InputError(where + ": the pose has inf or nan entries");
    const double H = m(0, 4), W = m(1, 4), focal = m(2, 4);
    if (!(H > 0 && W > 0 && focal > 0)) throw InputError(where + ": H, W and focal must be positive");
    if (std::abs(static_cast<double>(fw) / fh - W / H) > 0.01 * W / H)
      throw InputError(files[i].string() + " is " + std::to_string(fw) + "x" + std::to_string(fh) +
                       ", not the aspect ratio of the " + std::to_string(static_cast<int>(W)) + "x" +
                       std::to_string(static_cast<int>(H)) + " camera in " + npy_file.string());
    const double near = v[15], far = v[16];
    if (!(near > 0 && far > near && std::isfinite(far)))
      throw InputError(where + ": bounds must satisfy 0 < near < far, got " + std::to_string(near) + ", " +
                       std::to_string(far));

    Intrinsics K;
    K.width = fw;
    K.height = fh;
    K.fx = K.fy = focal * fw / W;
    K.cx = 0.5 * (fw - 1);
    K.cy = 0.5 * (fh - 1);

    // LLFF columns are (down, right, back): OpenCV x = right, y = down, z = forward = -back.
    Eigen::Matrix4d c2w = Eigen::Matrix4d::Identity();
    c2w.block<3, 1>(0, 0) = m.col(1);
    c2w.block<3, 1>(0, 1) = m.col(0);
    c2w.block<3, 1>(0, 2) = -m.col(2);
    c2w.block<3, 1>(0, 3) = m.col(3);

    PendingFrame p;
    p.test = options.holdout_every > 0 && i % options.holdout_every == 0;
    p.train = !p.test;
    p.frame.id = i;
    p.frame.name = relative_name(files[i], root);
    p.frame.intrinsics = K.downscaled(residual);
    p.frame.c2w = c2w;
    p.frame.near = static_cast<float>(near);
    p.frame.far = static_cast<float>(far);
    near_min = i == 0 ? p.frame.near : std::min(near_min, p.frame.near);
    far_max = std::max(far_max, p.frame.far);
    const fs::path img = files[i];
    p.load = [=](Frame& frame, std::vector<std::string>&) {
      ImageF alpha;
      ImageF rgb = read_colour(img, options.background, &alpha);
      require_size(img, rgb.width, rgb.height, fw, fh, declared_by);
      frame.rgb = downscale_area(rgb, residual);
      if (!alpha.empty()) frame.alpha = downscale_area(alpha, residual);
    };
    pending.push_back(std::move(p));
  }
  ds.near = near_min;
  ds.far = far_max;
  finish(ds, std::move(pending), options);
  return ds;
}

}  // namespace jnerf
