#include "jnerf/shape/feature_prior.hpp"

#include <cmath>

#include <Eigen/Geometry>
#include <spdlog/spdlog.h>

#include "jnerf/core/error.hpp"
#include "jnerf/train/nerf_engine.hpp"

namespace jnerf {
namespace {

double srgb_to_linear(double c) { return c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4); }

double lab_f(double t) {
  constexpr double d = 6.0 / 29.0;
  return t > d * d * d ? std::cbrt(t) : t / (3 * d * d) + 4.0 / 29.0;
}

// World-space point of pixel (x, y) at z-depth z.
Eigen::Vector3d back_project(const Frame& f, double x, double y, double z) {
  const Intrinsics& k = f.intrinsics;
  const Eigen::Vector4d cam((x - k.cx) / k.fx * z, (y - k.cy) / k.fy * z, z, 1.0);
  return (f.c2w * cam).head<3>();
}

class GeometricPrior final : public FeaturePrior {
 public:
  GeometricPrior(const Dataset& dataset, NerfEngine& engine, const GeometricPriorScales& scales, int chunk,
                 bool training_views)
      : scales_(scales) {
    if (!training_views) return;
    spdlog::info("geometric prior: rendering depth of {} training views", dataset.train.size());
    for (int index : dataset.train) views_.push_back(view_descriptors(dataset.frames[index], engine, chunk));
  }
  std::string name() const override { return "geometric"; }
  AffinityKernel kernel() const override { return AffinityKernel::Gaussian; }
  int dims() const override { return 9; }
  void training_descriptor(int view, std::int64_t pixel, float* out) const override {
    const float* d = views_[view].at(pixel);
    std::copy(d, d + 9, out);
  }
  ViewDescriptors view_descriptors(const Frame& frame, NerfEngine& engine, int chunk) const override {
    return geometric_descriptors(frame, engine.render(frame, chunk).depth, scales_);
  }

 private:
  GeometricPriorScales scales_;
  std::vector<ViewDescriptors> views_;
};

class OraclePrior final : public FeaturePrior {
 public:
  OraclePrior(const Dataset& dataset, bool instances) : instances_(instances) {
    for (int index : dataset.train) {
      const Frame& f = dataset.frames[index];
      if ((instances ? f.instance : f.semantic).empty())
        throw InputError("the oracle prior needs ground-truth " + std::string(instances ? "instance" : "semantic") +
                         " maps; view '" + f.name + "' has none");
      views_.push_back(&f);
    }
  }
  std::string name() const override { return instances_ ? "oracle (instances)" : "oracle (classes)"; }
  bool is_oracle() const override { return true; }
  bool adaptive_threshold() const override { return false; }
  AffinityKernel kernel() const override { return AffinityKernel::SameId; }
  int dims() const override { return 1; }
  void training_descriptor(int view, std::int64_t pixel, float* out) const override {
    const Frame& f = *views_[view];
    out[0] = static_cast<float>((instances_ ? f.instance : f.semantic).data[pixel]);
  }
  ViewDescriptors view_descriptors(const Frame& frame, NerfEngine&, int) const override {
    const ImageU16& ids = instances_ ? frame.instance : frame.semantic;
    if (ids.empty()) throw InputError("view '" + frame.name + "' has no ground-truth labels for the oracle prior");
    ViewDescriptors d{ids.width, ids.height, 1, std::vector<float>(ids.data.begin(), ids.data.end())};
    return d;
  }

 private:
  bool instances_;
  std::vector<const Frame*> views_;
};

class FilePrior final : public FeaturePrior {
 public:
  FilePrior(const Dataset& dataset, std::filesystem::path folder, bool training_views) : folder_(std::move(folder)) {
    if (!std::filesystem::is_directory(folder_))
      throw InputError("config key 'shape.prior.path': feature folder '" + folder_.string() + "' does not exist");
    if (!training_views) return;
    for (int index : dataset.train) {
      const Frame& f = dataset.frames[index];
      grids_.push_back(DescriptorGrid::load(descriptor_path(folder_, f.name)));
      sizes_.emplace_back(f.intrinsics.width, f.intrinsics.height);
      if (grids_.back().dims() != grids_.front().dims())
        throw InputError("descriptor files in '" + folder_.string() + "' have different dimensions (" +
                         std::to_string(grids_.front().dims()) + " and " + std::to_string(grids_.back().dims()) + ")");
    }
    if (grids_.empty()) throw InputError("the file prior needs training views");
  }
  std::string name() const override { return "file (" + folder_.string() + ")"; }
  AffinityKernel kernel() const override { return AffinityKernel::Dot; }
  int dims() const override { return grids_.empty() ? 0 : grids_.front().dims(); }
  void training_descriptor(int view, std::int64_t pixel, float* out) const override {
    const auto [w, h] = sizes_[view];
    grids_[view].pixel_descriptor(w, h, static_cast<int>(pixel % w), static_cast<int>(pixel / w), out);
  }
  ViewDescriptors view_descriptors(const Frame& frame, NerfEngine&, int) const override {
    const DescriptorGrid grid = DescriptorGrid::load(descriptor_path(folder_, frame.name));
    ViewDescriptors d{frame.intrinsics.width, frame.intrinsics.height, grid.dims(), {}};
    grid.descriptor_map(d.width, d.height, d.values);
    return d;
  }

 private:
  std::filesystem::path folder_;
  std::vector<DescriptorGrid> grids_;
  std::vector<std::pair<int, int>> sizes_;
};

}  // namespace

double descriptor_affinity(AffinityKernel kernel, const float* a, const float* b, int dims) {
  switch (kernel) {
    case AffinityKernel::SameId: return a[0] == b[0] ? 1.0 : 0.0;
    case AffinityKernel::Dot: {
      double s = 0;
      for (int i = 0; i < dims; ++i) s += double(a[i]) * b[i];
      return s;
    }
    case AffinityKernel::Gaussian: {
      double s = 0;
      for (int i = 0; i < dims; ++i) s += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
      return std::exp(-0.5 * s);
    }
  }
  return 0;
}

void srgb_to_lab(const float rgb[3], double lab[3]) {
  const double r = srgb_to_linear(rgb[0]), g = srgb_to_linear(rgb[1]), b = srgb_to_linear(rgb[2]);
  // sRGB (D65) to XYZ, normalised by the D65 white point.
  const double x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047;
  const double y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b;
  const double z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883;
  const double fx = lab_f(x), fy = lab_f(y), fz = lab_f(z);
  lab[0] = 116 * fy - 16;
  lab[1] = 500 * (fx - fy);
  lab[2] = 200 * (fy - fz);
}

std::vector<Eigen::Vector3d> surface_mean_lab(const Frame& frame, const ImageF& depth, int window) {
  const int w = frame.intrinsics.width, h = frame.intrinsics.height, r = window / 2;
  std::vector<Eigen::Vector3d> lab(static_cast<std::size_t>(w) * h), mean(lab.size());
  for (std::size_t i = 0; i < lab.size(); ++i) srgb_to_lab(&frame.rgb.data[i * 3], lab[i].data());
  if (r == 0) return lab;
#pragma omp parallel for schedule(static)
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const double z = depth.at(x, y), tolerance = kSameSurfaceDepth * std::abs(z);
      Eigen::Vector3d sum = Eigen::Vector3d::Zero();
      int count = 0;
      for (int v = std::max(0, y - r); v <= std::min(h - 1, y + r); ++v)
        for (int u = std::max(0, x - r); u <= std::min(w - 1, x + r); ++u)
          if ((u == x && v == y) || std::abs(depth.at(u, v) - z) <= tolerance) {
            sum += lab[static_cast<std::size_t>(v) * w + u];
            ++count;
          }
      mean[static_cast<std::size_t>(y) * w + x] = sum / count;  // count >= 1: the centre always counts
    }
  return mean;
}

ViewDescriptors geometric_descriptors(const Frame& frame, const ImageF& depth, const GeometricPriorScales& scales) {
  const int w = frame.intrinsics.width, h = frame.intrinsics.height;
  if (frame.rgb.width != w || frame.rgb.height != h || depth.width != w || depth.height != h)
    throw std::invalid_argument("geometric_descriptors: image sizes do not match the camera");
  ViewDescriptors d{w, h, 9, std::vector<float>(static_cast<std::size_t>(w) * h * 9)};
  std::vector<Eigen::Vector3d> points(static_cast<std::size_t>(w) * h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) points[y * w + x] = back_project(frame, x, y, depth.at(x, y));
  const Eigen::Vector3d eye = frame.c2w.block<3, 1>(0, 3);
  const std::vector<Eigen::Vector3d> lab = surface_mean_lab(frame, depth, scales.colour_window);
#pragma omp parallel for schedule(static)
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      float* out = d.values.data() + (static_cast<std::size_t>(y) * w + x) * 9;
      const Eigen::Vector3d& p = points[y * w + x];
      // Normal from the neighbours' points (central differences, one-sided at the border),
      // facing the camera.
      const Eigen::Vector3d dx = points[y * w + std::min(x + 1, w - 1)] - points[y * w + std::max(x - 1, 0)];
      const Eigen::Vector3d dy = points[std::min(y + 1, h - 1) * w + x] - points[std::max(y - 1, 0) * w + x];
      Eigen::Vector3d n = dx.cross(dy);
      if (n.norm() > 0) n.normalize();
      if (n.dot(eye - p) < 0) n = -n;
      for (int k = 0; k < 3; ++k) {
        out[k] = static_cast<float>(lab[y * w + x][k] / (k == 0 ? scales.lightness : scales.colour));
        out[3 + k] = static_cast<float>(p[k] / scales.position);
        out[6 + k] = static_cast<float>(n[k] / scales.normal);
      }
    }
  return d;
}

std::vector<double> FeaturePrior::affinity(const RayPool& pool, const std::vector<std::int64_t>& pixels) const {
  const int B = static_cast<int>(pixels.size()), D = dims();
  std::vector<float> desc(static_cast<std::size_t>(B) * D);
  for (int i = 0; i < B; ++i) {
    const auto [view, pixel] = pool.locate(pixels[i]);
    training_descriptor(view, pixel, &desc[static_cast<std::size_t>(i) * D]);
  }
  std::vector<double> a(static_cast<std::size_t>(B) * B);
  for (int i = 0; i < B; ++i)
    for (int j = i; j < B; ++j)
      a[i * B + j] = a[j * B + i] = descriptor_affinity(kernel(), &desc[i * D], &desc[j * D], D);
  return a;
}

std::string FeaturePrior::describe() const {
  return is_oracle() ? name() + " [ORACLE: ground-truth labels, an upper bound only]" : name();
}

std::unique_ptr<FeaturePrior> make_feature_prior(const Json& config, const Dataset& dataset, NerfEngine& engine,
                                                 bool training_views) {
  const std::string type = config_get<std::string>(config, "shape.prior.type");
  const int chunk = std::max(1, config_get<int>(config, "output.render_chunk"));
  if (type == "geometric") {
    GeometricPriorScales s;
    s.colour = config_get<double>(config, "shape.prior.colour_scale");
    s.lightness = config_get<double>(config, "shape.prior.lightness_scale");
    s.position = config_get<double>(config, "shape.prior.position_scale");
    s.normal = config_get<double>(config, "shape.prior.normal_scale");
    s.colour_window = config_get<int>(config, "shape.prior.colour_window");
    if (!(s.colour > 0 && s.lightness > 0 && s.position > 0 && s.normal > 0))
      throw InputError(
          "config keys 'shape.prior.colour_scale', 'lightness_scale', 'position_scale', 'normal_scale' must be > 0");
    if (s.colour_window < 1 || s.colour_window % 2 == 0)
      throw InputError("config key 'shape.prior.colour_window' must be an odd number >= 1, got " +
                       std::to_string(s.colour_window));
    return std::make_unique<GeometricPrior>(dataset, engine, s, chunk, training_views);
  }
  if (type == "file") {
    const std::string path = config_get<std::string>(config, "shape.prior.path");
    if (path.empty()) throw InputError("config key 'shape.prior.path' must name the descriptor folder for the file prior");
    return std::make_unique<FilePrior>(dataset, path, training_views);
  }
  if (type == "oracle") {
    const std::string labels = config_get<std::string>(config, "shape.prior.labels");
    if (labels != "instance" && labels != "semantic")
      throw InputError("config key 'shape.prior.labels' must be instance or semantic, got '" + labels + "'");
    return std::make_unique<OraclePrior>(dataset, labels == "instance");
  }
  throw InputError("config key 'shape.prior.type': unknown prior '" + type + "' (expected geometric, file or oracle)");
}

}  // namespace jnerf
