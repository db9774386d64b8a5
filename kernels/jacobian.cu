// CUDA launchers for the per-ray Jacobians (kernels/jacobian.cuh holds the math, shared
// with the CPU backend). Forward: one thread per (ray, column); backward: one thread per
// sample; propagation responses: one thread per ray (per class and ray for the
// multi-class ones).
#include <cuda_runtime.h>

#include <stdexcept>

#include "jnerf/shape/jacobian.hpp"
#include "launch_check.cuh"

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

__global__ void head_colour_change_kernel(long long R, int S, const float* __restrict__ w, const float* __restrict__ z,
                                          const float* __restrict__ dz, float* __restrict__ out) {
  const long long r = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (r < R) out[r] = static_cast<float>(head_colour_change_ray(r, S, R * S, w, z, dz));
}

__global__ void raw_colour_change_kernel(long long R, int S, const float* __restrict__ w,
                                         const float* __restrict__ raw0, const float* __restrict__ raw,
                                         float* __restrict__ out) {
  const long long r = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (r < R) out[r] = static_cast<float>(raw_colour_change_ray(r, S, R * S, w, raw0, raw));
}

__global__ void linear_colour_change_kernel(long long R, int C, int Dk, const float* __restrict__ J,
                                            const float* __restrict__ dirs, double step, float* __restrict__ out) {
  const long long t = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (t >= R * C) return;
  const long long r = t % R, c = t / R;
  out[c * R + r] = static_cast<float>(linear_colour_change_ray(r, Dk, J, dirs + c * 3 * Dk, step));
}

__global__ void surface_colour_change_kernel(long long R, int S, int C, int V, int Dk, const float* __restrict__ w,
                                            const float* __restrict__ z, const float* __restrict__ h,
                                            const float* __restrict__ J, const float* __restrict__ dirs, double step,
                                            float* __restrict__ out) {
  const long long t = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (t >= R * C) return;
  const long long r = t % R, c = t / R;
  // One thread per (ray, class): the ray's summary is recomputed per class rather than
  // staged through memory.
  const SurfaceSummary sum = surface_summary_ray(r, S, R * S, w, z);
  out[c * R + r] =
      static_cast<float>(surface_colour_change_ray(r, sum, R * S, V, Dk, w, z, h, J, dirs + c * 3 * Dk, step));
}

__global__ void jacobian_cosine_kernel(long long R, int C, int D, const float* __restrict__ J,
                                       const float* __restrict__ dirs, float* __restrict__ out) {
  const long long t = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (t >= R * C) return;
  const long long r = t % R, c = t / R;
  out[c * R + r] = static_cast<float>(jacobian_cosine_ray(r, D, J, dirs + c * D));
}

}  // namespace

void jacobian_forward_cuda(long long R, int S, int V, int Dk, const float* coef, const float* w, const float* s,
                           const float* h, float* g) {
  if (R <= 0 || Dk <= 0) return;  // nothing to write (and a grid of 0 blocks is a launch error)
  jacobian_forward_kernel<<<blocks_for(R * Dk), kThreads>>>(R, S, V, Dk, coef, w, s, h, g);
  check_launch("jacobian_forward_cuda");
}

void jacobian_backward_cuda(long long R, int S, int V, int Dk, const float* coef, const float* G, const float* w,
                            const float* s, const float* h, float* d_h, float* d_z, float* d_w) {
  if (R <= 0 || S <= 0) return;
  jacobian_backward_kernel<<<blocks_for(R * S), kThreads>>>(R, S, V, Dk, coef, G, w, s, h, d_h, d_z, d_w);
  check_launch("jacobian_backward_cuda");
}

void weighted_abs_sum_cuda(long long R, int S, int C, const float* w, const float* m, float* out) {
  if (R <= 0 || C <= 0) return;
  weighted_abs_sum_kernel<<<blocks_for(R * C), kThreads>>>(R, S, C, w, m, out);
  check_launch("weighted_abs_sum_cuda");
}

void head_colour_change_cuda(long long R, int S, const float* w, const float* z, const float* dz, float* out) {
  if (R <= 0) return;
  head_colour_change_kernel<<<blocks_for(R), kThreads>>>(R, S, w, z, dz, out);
  check_launch("head_colour_change_cuda");
}

void raw_colour_change_cuda(long long R, int S, const float* w, const float* raw0, const float* raw, float* out) {
  if (R <= 0) return;
  raw_colour_change_kernel<<<blocks_for(R), kThreads>>>(R, S, w, raw0, raw, out);
  check_launch("raw_colour_change_cuda");
}

void linear_colour_change_cuda(long long R, int C, int Dk, const float* J, const float* dirs, double step, float* out) {
  if (R <= 0 || C <= 0) return;
  linear_colour_change_kernel<<<blocks_for(R * C), kThreads>>>(R, C, Dk, J, dirs, step, out);
  check_launch("linear_colour_change_cuda");
}

void surface_colour_change_cuda(long long R, int S, int C, int V, int Dk, const float* w, const float* z,
                                const float* h, const float* J, const float* dirs, double step, float* out) {
  if (R <= 0 || C <= 0) return;
  surface_colour_change_kernel<<<blocks_for(R * C), kThreads>>>(R, S, C, V, Dk, w, z, h, J, dirs, step, out);
  check_launch("surface_colour_change_cuda");
}

void jacobian_cosine_cuda(long long R, int C, int D, const float* J, const float* dirs, float* out) {
  if (R <= 0 || C <= 0) return;
  jacobian_cosine_kernel<<<blocks_for(R * C), kThreads>>>(R, C, D, J, dirs, out);
  check_launch("jacobian_cosine_cuda");
}

}  // namespace jnerf
