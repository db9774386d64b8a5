#pragma once
// What the two small double-precision networks of propagation share (the Semantic-NeRF
// head, semantic_head.cpp, and the dense setting's response aggregator,
// dense_selection.cpp): Eigen views of row-major arrays, torch.nn.Linear's default
// initialisation, and the per-column argmax of a classes x n logit array.
#include <cmath>
#include <cstddef>
#include <random>
#include <vector>

#include <Eigen/Dense>

namespace jnerf {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowMap = Eigen::Map<RowMatrix>;
using ConstRowMap = Eigen::Map<const RowMatrix>;
// A column range [c0, c0 + m) of a row-major array: leading dimension = all its columns.
using ColumnBlock = Eigen::Map<const RowMatrix, Eigen::Unaligned, Eigen::OuterStride<>>;

// params[begin, end) ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (torch.nn.Linear's default for
// weights and biases). The uniform is built from the raw 53 high bits, so a seed gives the
// same network with every standard library.
inline void linear_default_init(std::vector<double>& params, std::size_t begin, std::size_t end, int fan_in,
                                std::mt19937_64& rng) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  for (std::size_t i = begin; i < end; ++i) {
    const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
    params[i] = bound * (2.0 * u - 1.0);
  }
}

// Column j's row of the largest value (the first on ties) of a classes x n array.
inline std::vector<int> column_argmax(const std::vector<double>& logits, int classes, int n) {
  std::vector<int> out(n, 0);
  for (int j = 0; j < n; ++j)
    for (int c = 1; c < classes; ++c)
      if (logits[static_cast<std::size_t>(c) * n + j] > logits[static_cast<std::size_t>(out[j]) * n + j]) out[j] = c;
  return out;
}

}  // namespace jnerf
