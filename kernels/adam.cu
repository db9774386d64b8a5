// CUDA launcher for the Adam step; the per-element update is adam.cuh's adam_update.
#include <cuda_runtime.h>

#include "jnerf/train/adam.hpp"
#include "launch_check.cuh"

namespace jnerf {
namespace {

__global__ void adam_kernel(AdamStep step, float* __restrict__ params, float* __restrict__ m,
                            float* __restrict__ v, const float* __restrict__ grad, size_t n) {
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i < n) adam_update(step, params[i], m[i], v[i], grad[i]);
}

}  // namespace

void adam_step_cuda(const AdamStep& step, float* params, float* m, float* v, const float* grad, size_t n,
                    void* stream) {
  if (n == 0) return;
  constexpr int kThreads = 256;
  const unsigned blocks = static_cast<unsigned>((n + kThreads - 1) / kThreads);
  adam_kernel<<<blocks, kThreads, 0, static_cast<cudaStream_t>(stream)>>>(step, params, m, v, grad, n);
  check_launch("adam_step_cuda");
}

}  // namespace jnerf
