// Descriptor grids: .npy loading and OpenCV-compatible INTER_AREA resizing on demand.
#include "jnerf/shape/descriptor_grid.hpp"

#include <algorithm>
#include <cfloat>
#include <climits>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>

#include "jnerf/core/error.hpp"
#include "jnerf/io/npy.hpp"

namespace jnerf {
namespace {

namespace fs = std::filesystem;

struct Tap {
  int index;
  float weight;
};

// Which of OpenCV's code paths cv::resize(..., INTER_AREA) takes for a pair of sizes.
enum class Mode { kCopy, kAreaFast, kArea, kLinear };

struct Plan {
  Mode mode = Mode::kCopy;
  int src_w = 0, src_h = 0;
  double inv_x = 1, inv_y = 1;      // target / source
  double scale_x = 1, scale_y = 1;  // source / target
  int iscale_x = 1, iscale_y = 1;
};

// saturate_cast<int>(double): round half to even, clamped.
int saturate_round(double v) {
  if (!(v < static_cast<double>(INT_MAX))) return INT_MAX;
  if (!(v > static_cast<double>(INT_MIN))) return INT_MIN;
  return static_cast<int>(std::nearbyint(v));
}

Plan make_plan(int src_w, int src_h, int dst_w, int dst_h) {
  Plan p;
  p.src_w = src_w;
  p.src_h = src_h;
  if (src_w == dst_w && src_h == dst_h) return p;  // cv::resize copies
  p.inv_x = static_cast<double>(dst_w) / src_w;
  p.inv_y = static_cast<double>(dst_h) / src_h;
  p.scale_x = 1. / p.inv_x;
  p.scale_y = 1. / p.inv_y;
  p.iscale_x = saturate_round(p.scale_x);
  p.iscale_y = saturate_round(p.scale_y);
  const bool integer_scales = std::abs(p.scale_x - p.iscale_x) < DBL_EPSILON &&
                              std::abs(p.scale_y - p.iscale_y) < DBL_EPSILON;
  if (p.scale_x >= 1 && p.scale_y >= 1)
    p.mode = integer_scales ? Mode::kAreaFast : Mode::kArea;
  else
    p.mode = Mode::kLinear;
  return p;
}

// The source taps of target index d along one axis (`src` source cells, `scale` =
// source / target, `inv` = target / source). `vertical` selects OpenCV's row handling of
// the last cell (rows are clipped; columns switch to a single tap).
void axis_taps(const Plan& p, int src, double scale, int iscale, double inv, bool vertical, int d,
               std::vector<Tap>& taps) {
  taps.clear();
  switch (p.mode) {
    case Mode::kCopy:
      taps.push_back({d, 1.f});
      return;
    case Mode::kAreaFast:
      for (int k = 0; k < iscale; ++k) taps.push_back({d * iscale + k, 1.f});
      return;
    case Mode::kArea: {
      // computeResizeAreaTab for one target index
      const double fs1 = d * scale, fs2 = fs1 + scale;
      const double cell_width = std::min(scale, src - fs1);
      int s1 = static_cast<int>(std::ceil(fs1)), s2 = static_cast<int>(std::floor(fs2));
      s2 = std::min(s2, src - 1);
      s1 = std::min(s1, s2);
      if (s1 - fs1 > 1e-3) taps.push_back({s1 - 1, static_cast<float>((s1 - fs1) / cell_width)});
      for (int s = s1; s < s2; ++s) taps.push_back({s, static_cast<float>(1.0 / cell_width)});
      if (fs2 - s2 > 1e-3)
        taps.push_back({s2, static_cast<float>(std::min(std::min(fs2 - s2, 1.), cell_width) / cell_width)});
      return;
    }
    case Mode::kLinear: {
      int s = static_cast<int>(std::floor(d * scale));
      float f = static_cast<float>((d + 1) - (s + 1) * inv);
      f = f <= 0 ? 0.f : f - std::floor(f);
      if (vertical) {
        s = std::min(s, src - 1);
        taps.push_back({s, 1.f - f});
        taps.push_back({std::min(s + 1, src - 1), f});
      } else if (s >= src - 1) {
        taps.push_back({src - 1, 1.f});
      } else {
        taps.push_back({s, 1.f - f});
        taps.push_back({s + 1, f});
      }
      return;
    }
  }
}

void check_target(const DescriptorGrid& g, int width, int height) {
  if (g.empty()) throw std::logic_error("DescriptorGrid: the grid is empty");
  if (width <= 0 || height <= 0)
    throw std::invalid_argument("DescriptorGrid: target size " + std::to_string(width) + "x" +
                                std::to_string(height) + " is not positive");
}

// One target pixel from its taps, summing in OpenCV's order (float32 throughout).
void evaluate(const DescriptorGrid& g, Mode mode, const std::vector<Tap>& xt, const std::vector<Tap>& yt,
              float* row, float* out) {
  const int dims = g.dims();
  std::fill(out, out + dims, 0.f);
  if (mode == Mode::kAreaFast) {
    // resizeAreaFast: plain sum over the block in row-major order (4 at a time), then one scale
    const int nx = static_cast<int>(xt.size());
    const int area = nx * static_cast<int>(yt.size());
    auto at = [&](int k) { return g.cell(yt[k / nx].index, xt[k % nx].index); };
    int k = 0;
    for (; k <= area - 4; k += 4) {
      const float *a = at(k), *b = at(k + 1), *c = at(k + 2), *e = at(k + 3);
      for (int d = 0; d < dims; ++d) out[d] += a[d] + b[d] + c[d] + e[d];
    }
    for (; k < area; ++k) {
      const float* a = at(k);
      for (int d = 0; d < dims; ++d) out[d] += a[d];
    }
    const float scale = 1.f / static_cast<float>(area);
    for (int d = 0; d < dims; ++d) out[d] *= scale;
    return;
  }
  for (const Tap& ty : yt) {
    std::fill(row, row + dims, 0.f);
    for (const Tap& tx : xt) {
      const float* s = g.cell(ty.index, tx.index);
      const float w = tx.weight;
      for (int d = 0; d < dims; ++d) row[d] += s[d] * w;
    }
    const float w = ty.weight;
    for (int d = 0; d < dims; ++d) out[d] += w * row[d];
  }
}

void normalise(float* v, int dims) {
  double sum = 0;
  for (int d = 0; d < dims; ++d) sum += static_cast<double>(v[d]) * v[d];
  const double denom = std::sqrt(sum) + 1e-7;
  for (int d = 0; d < dims; ++d) v[d] = static_cast<float>(v[d] / denom);
}

std::string shape_text(const std::vector<std::size_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

}  // namespace

DescriptorGrid::DescriptorGrid(int grid_height, int grid_width, int dims, std::vector<float> values)
    : height_(grid_height), width_(grid_width), dims_(dims), values_(std::move(values)) {
  if (grid_height <= 0 || grid_width <= 0 || dims <= 0)
    throw std::invalid_argument("DescriptorGrid: sizes must be positive");
  if (values_.size() != static_cast<std::size_t>(grid_height) * grid_width * dims)
    throw std::invalid_argument("DescriptorGrid: expected " + std::to_string(grid_height) + " x " +
                                std::to_string(grid_width) + " x " + std::to_string(dims) + " values, got " +
                                std::to_string(values_.size()));
}

DescriptorGrid DescriptorGrid::load(const fs::path& file) {
  const std::string name = file.string();
  if (!fs::is_regular_file(file)) throw InputError("descriptor file not found: " + name);
  NpyArray a = read_npy(file);  // InputError naming the file on anything unreadable
  const std::string& t = a.dtype;
  const bool is_float16_or_32 = t.size() == 3 && t[0] != '>' && t[1] == 'f' && (t[2] == '2' || t[2] == '4');
  if (!is_float16_or_32)
    throw InputError("descriptor file " + name + ": dtype '" + t + "' is not float16 or float32");
  if (a.shape.size() != 3)
    throw InputError("descriptor file " + name + ": expected a 3-D array (rows, cols, dims), got shape " +
                     shape_text(a.shape));
  for (std::size_t n : a.shape) {
    if (n == 0) throw InputError("descriptor file " + name + ": the array is empty, shape " + shape_text(a.shape));
    if (n > static_cast<std::size_t>(INT_MAX))
      throw InputError("descriptor file " + name + ": shape " + shape_text(a.shape) + " is too large");
  }
  const int rows = static_cast<int>(a.shape[0]), cols = static_cast<int>(a.shape[1]),
            dims = static_cast<int>(a.shape[2]);
  std::vector<float> values(a.values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double v = a.values[i];
    if (!std::isfinite(v)) {
      const std::size_t d = i % dims, c = (i / dims) % cols, r = i / dims / cols;
      throw InputError("descriptor file " + name + ": non-finite value at (" + std::to_string(r) + ", " +
                       std::to_string(c) + ", " + std::to_string(d) + ")");
    }
    values[i] = static_cast<float>(v);  // exact: the file holds float16 or float32
  }
  DescriptorGrid g(rows, cols, dims, std::move(values));
  g.source_ = file;
  return g;
}

void DescriptorGrid::resized_value(int width, int height, int x, int y, float* out) const {
  check_target(*this, width, height);
  if (x < 0 || x >= width || y < 0 || y >= height)
    throw std::out_of_range("DescriptorGrid: pixel (" + std::to_string(x) + ", " + std::to_string(y) +
                            ") is outside a " + std::to_string(width) + "x" + std::to_string(height) + " image");
  const Plan p = make_plan(width_, height_, width, height);
  thread_local std::vector<Tap> xt, yt;
  thread_local std::vector<float> row;
  axis_taps(p, width_, p.scale_x, p.iscale_x, p.inv_x, false, x, xt);
  axis_taps(p, height_, p.scale_y, p.iscale_y, p.inv_y, true, y, yt);
  row.resize(static_cast<std::size_t>(dims_));
  evaluate(*this, p.mode, xt, yt, row.data(), out);
}

void DescriptorGrid::pixel_descriptor(int width, int height, int x, int y, float* out) const {
  resized_value(width, height, x, y, out);
  normalise(out, dims_);
}

void DescriptorGrid::descriptor_map(int width, int height, std::vector<float>& out) const {
  check_target(*this, width, height);
  const Plan p = make_plan(width_, height_, width, height);
  std::vector<std::vector<Tap>> xt(static_cast<std::size_t>(width)), yt(static_cast<std::size_t>(height));
  for (int x = 0; x < width; ++x) axis_taps(p, width_, p.scale_x, p.iscale_x, p.inv_x, false, x, xt[x]);
  for (int y = 0; y < height; ++y) axis_taps(p, height_, p.scale_y, p.iscale_y, p.inv_y, true, y, yt[y]);
  out.assign(static_cast<std::size_t>(width) * height * dims_, 0.f);
#pragma omp parallel
  {
    std::vector<float> row(static_cast<std::size_t>(dims_));
#pragma omp for schedule(static)
    for (int y = 0; y < height; ++y) {
      for (int x = 0; x < width; ++x) {
        float* o = out.data() + (static_cast<std::size_t>(y) * width + x) * dims_;
        evaluate(*this, p.mode, xt[x], yt[y], row.data(), o);
        normalise(o, dims_);
      }
    }
  }
}

fs::path descriptor_path(const fs::path& folder, const std::string& frame_name) {
  const fs::path stem = fs::path(frame_name).stem();
  if (stem.empty())
    throw InputError("frame name '" + frame_name + "' has no file stem to name its descriptor file");
  return folder / (stem.string() + ".npy");
}

}  // namespace jnerf
