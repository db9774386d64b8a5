#pragma once
// Per-frame descriptor grids for the `file` feature prior of shaping.
//
// A descriptor file holds one frame's self-supervised features (e.g. DINO ViT keys) on a
// coarse grid: a NumPy .npy array of shape H' x W' x D (rows, columns, descriptor dims),
// float16 or float32, little-endian, C order. It is kept as float32 at grid resolution;
// descriptors at image resolution are computed on demand, never stored for a whole view.
//
// Resizing (`resized_value`, `pixel_descriptor`, `descriptor_map`) reproduces
// cv2.resize(grid, (width, height), interpolation=cv2.INTER_AREA) at each target pixel, as
// OpenCV's resize.cpp computes it (same branches, same float32 weights). With
// inv_x = width / W', scale_x = 1 / inv_x (both double) and likewise for y:
//
//   * same size in both axes: a copy.
//   * shrinking (or equal) in BOTH axes, scale_x >= 1 and scale_y >= 1: true area
//     averaging. Target pixel x covers source [x * scale_x, (x + 1) * scale_x); each source
//     cell is weighted by the length of its overlap divided by the covered length (the last
//     window is clipped to the grid). Overlaps of at most 1e-3 cells are dropped, as
//     OpenCV's computeResizeAreaTab does. When both scales are integers this is the plain
//     mean of the scale_x x scale_y block (OpenCV's "fast area" path).
//   * any other case, i.e. enlarging in at least one axis (the usual 119 x 89 -> 320 x 240):
//     OpenCV emulates area resampling with a two-tap linear rule applied to BOTH axes,
//     including an axis that shrinks. Per axis, for target index x:
//         s = floor(x * scale_x)
//         f = float((x + 1) - (s + 1) * inv_x);   f = f <= 0 ? 0 : f - floor(f)
//         if s >= W' - 1: s = W' - 1, f = 0
//         value = (1 - f) * src[s] + f * src[min(s + 1, W' - 1)]
//     For an enlargement by k this copies each source cell to about k targets and blends
//     only across the single target pixel that straddles a cell border (2 -> 5 gives
//     a, a, (a + b) / 2, b, b). The two axes combine separably (rows first, then columns).
//
// Results agree with OpenCV's to float32 rounding (the summation order follows OpenCV's;
// compiler contraction or OpenCV's SIMD may differ in the last bit).
//
// Normalisation (`pixel_descriptor`, `descriptor_map`): the resized vector v is divided by
// (||v||_2 + 1e-7), as the JacobiNeRF reference does, so descriptors are unit length (a zero
// vector stays zero).
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace jnerf {

class DescriptorGrid {
 public:
  DescriptorGrid() = default;
  // A grid from values laid out row-major as (row, col, dim). Throws std::invalid_argument
  // when a size is not positive or `values` has the wrong length.
  DescriptorGrid(int grid_height, int grid_width, int dims, std::vector<float> values);

  // Reads a descriptor file. InputError naming the file when it is missing or unreadable,
  // not 3-D, has a zero-length axis, is not float16/float32, or holds a NaN or infinity.
  static DescriptorGrid load(const std::filesystem::path& file);

  int dims() const { return dims_; }
  int grid_width() const { return width_; }    // W' (columns)
  int grid_height() const { return height_; }  // H' (rows)
  bool empty() const { return values_.empty(); }
  const std::vector<float>& values() const { return values_; }
  const float* cell(int row, int col) const {
    return values_.data() + (static_cast<std::size_t>(row) * width_ + col) * dims_;
  }
  const std::filesystem::path& source() const { return source_; }  // empty unless loaded

  // The grid resized to width x height with the INTER_AREA rule above, at pixel (x, y),
  // not normalised: dims() floats to `out`. std::invalid_argument for a non-positive size,
  // std::out_of_range for a pixel outside the image, std::logic_error on an empty grid.
  void resized_value(int width, int height, int x, int y, float* out) const;
  // resized_value, then L2-normalised (divided by norm + 1e-7).
  void pixel_descriptor(int width, int height, int x, int y, float* out) const;
  // Every pixel's normalised descriptor: width * height * dims() floats, pixel-major
  // (out[(y * width + x) * dims() + d]), identical to pixel_descriptor at each pixel.
  void descriptor_map(int width, int height, std::vector<float>& out) const;

 private:
  int height_ = 0, width_ = 0, dims_ = 0;
  std::vector<float> values_;
  std::filesystem::path source_;
};

// The descriptor file of a dataset frame: <folder>/<stem of the frame's image file>.npy.
// `frame_name` is the frame's image path as the dataset names it (relative to the dataset
// root); only its file stem counts, so "rgb/rgb_15.png" -> <folder>/rgb_15.npy. InputError
// when the name has no file stem.
std::filesystem::path descriptor_path(const std::filesystem::path& folder, const std::string& frame_name);

}  // namespace jnerf
