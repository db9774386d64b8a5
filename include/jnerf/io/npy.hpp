#pragma once
// Minimal reader for NumPy .npy arrays (little-endian float16/32/64, int/uint 8-64,
// C or Fortran order), enough for LLFF poses_bounds.npy and feature grids.
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace jnerf {

struct NpyArray {
  std::vector<std::size_t> shape;
  std::vector<double> values;  // row-major (C order), converted to double
  std::string dtype;           // the header's 'descr' as written, e.g. "<f4", "<f2", "|u1"
  std::size_t size() const { return values.size(); }
};

// Throws InputError naming the file on anything it cannot read.
NpyArray read_npy(const std::filesystem::path& file);

}  // namespace jnerf
