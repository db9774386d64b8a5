// CUDA launchers for the element-wise pipeline stages (math: pointwise.cuh).
#include <cuda_runtime.h>

#include <stdexcept>

#include "jnerf/render/pointwise.hpp"
#include "launch_check.cuh"

namespace jnerf {
namespace {

constexpr int kThreads = 256;

unsigned blocks_for(long long n) { return static_cast<unsigned>((n + kThreads - 1) / kThreads); }

__global__ void sample_points_kernel(long long R, int S, const float* origins, const float* dirs, const float* t,
                                     float* points, float* view_dirs, float* dir_norm) {
  const long long s = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  const long long n = R * S;
  if (s >= n) return;
  ray_sample_point(s, S, R, n, origins, dirs, t, points, view_dirs);
  if (dir_norm && s % S == 0) dir_norm[s / S] = ray_direction_norm(s / S, R, dirs);
}

__global__ void sigmoid_forward_kernel(long long n, const float* x, float* y) {
  const long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (i < n) y[i] = sigmoid(x[i]);
}

__global__ void sigmoid_backward_kernel(long long n, const float* y, const float* dy, float* dx) {
  const long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (i < n) dx[i] = dy[i] * sigmoid_grad_from_output(y[i]);
}

__global__ void axpy_kernel(long long n, float alpha, const float* x, float* y) {
  const long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (i < n) y[i] += alpha * x[i];
}

}  // namespace

void ray_sample_points_cuda(long long R, int S, const float* origins, const float* dirs, const float* t,
                            float* points, float* view_dirs, float* dir_norm, void* stream) {
  if (R < 0 || S < 1) throw std::invalid_argument("ray_sample_points_cuda: need R >= 0 and S >= 1");
  if (R == 0) return;
  sample_points_kernel<<<blocks_for(R * S), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      R, S, origins, dirs, t, points, view_dirs, dir_norm);
  check_launch("ray_sample_points_cuda");
}

void sigmoid_forward_cuda(long long n, const float* x, float* y, void* stream) {
  if (n <= 0) return;
  sigmoid_forward_kernel<<<blocks_for(n), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(n, x, y);
  check_launch("sigmoid_forward_cuda");
}

void sigmoid_backward_cuda(long long n, const float* y, const float* dy, float* dx, void* stream) {
  if (n <= 0) return;
  sigmoid_backward_kernel<<<blocks_for(n), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(n, y, dy, dx);
  check_launch("sigmoid_backward_cuda");
}

void axpy_cuda(long long n, float alpha, const float* x, float* y, void* stream) {
  if (n <= 0) return;
  axpy_kernel<<<blocks_for(n), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(n, alpha, x, y);
  check_launch("axpy_cuda");
}

}  // namespace jnerf
