// CUDA launchers for the per-ray Jacobians (kernels/jacobian.cuh holds the math, shared
// with the CPU backend). Forward: one thread per (ray, column); backward: one thread per
// sample; responses: one thread per (class, ray).
#include <cuda_runtime.h>

#include <stdexcept>

#include "jnerf/shape/jacobian.hpp"

namespace jnerf {
namespace {

constexpr int kThreads = 128;

unsigned blocks_for(long long count) { return static_cast<unsigned>((count + kThreads - 1) / kThreads); }

__global__ void jacobian_forward_kernel(long long R, int S, int V, int Dk, const float* __restrict__ coef,
                                        const float* __restrict__ w, const float* __restrict__ s,
                                        const float* __restrict__ h, float* __restrict__ g) {
  // Consecutive threads take consecutive rays of one column: their h reads are S apart.
  const long long t = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (t >= R * Dk) return;
  const long long r = t % R;
  const int j = static_cast<int>(t / R);
  jacobian_column(r, j, S, R * S, V, Dk, coef, w, s, h, g);
}

__global__ void jacobian_backward_kernel(long long R, int S, int V, int Dk, const float* __restrict__ coef,
                                         const float* __restrict__ G, const float* __restrict__ w,
                                         const float* __restrict__ s, const float* __restrict__ h,
                                         float* __restrict__ d_h, float* __restrict__ d_z, float* __restrict__ d_w) {
  const long long idx = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (idx >= R * S) return;
  jacobian_backward_sample(idx, S, R * S, V, Dk, coef, G, w, s, h, d_h, d_z, d_w);
}

__global__ void weighted_abs_sum_kernel(long long R, int S, int C, const float* __restrict__ w,
                                        const float* __restrict__ m, float* __restrict__ out) {
  const long long t = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (t >= R * C) return;
  const long long r = t % R, c = t / R;
  out[c * R + r] = weighted_abs_sum_ray(r, S, w, m + c * R * S);
}

void check_launch(const char* what) {
  const cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(err));
}

}  // namespace

void jacobian_forward_cuda(long long R, int S, int V, int Dk, const float* coef, const float* w, const float* s,
                           const float* h, float* g) {
  if (R <= 0) return;
  jacobian_forward_kernel<<<blocks_for(R * Dk), kThreads>>>(R, S, V, Dk, coef, w, s, h, g);
  check_launch("jacobian_forward_cuda");
}

void jacobian_backward_cuda(long long R, int S, int V, int Dk, const float* coef, const float* G, const float* w,
                            const float* s, const float* h, float* d_h, float* d_z, float* d_w) {
  if (R <= 0) return;
  jacobian_backward_kernel<<<blocks_for(R * S), kThreads>>>(R, S, V, Dk, coef, G, w, s, h, d_h, d_z, d_w);
  check_launch("jacobian_backward_cuda");
}

void weighted_abs_sum_cuda(long long R, int S, int C, const float* w, const float* m, float* out) {
  if (R <= 0 || C <= 0) return;
  weighted_abs_sum_kernel<<<blocks_for(R * C), kThreads>>>(R, S, C, w, m, out);
  check_launch("weighted_abs_sum_cuda");
}

}  // namespace jnerf
