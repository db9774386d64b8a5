#pragma once
// Host-side error checks for the .cu launchers. A bad launch configuration (too many
// threads, too much shared memory, a zero-block grid) is reported only by
// cudaGetLastError, not by the next copy, so every launcher calls check_launch after its
// kernels; otherwise the outputs would silently stay unwritten.
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace jnerf {

inline void check_cuda(cudaError_t err, const char* what) {
  if (err != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(err));
}

inline void check_launch(const char* what) { check_cuda(cudaGetLastError(), what); }

}  // namespace jnerf
