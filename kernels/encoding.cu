// CUDA launchers for the input encodings; the per-sample math is kernels/encoding.cuh
// (the same functions the CPU backend calls in src/model/encoding_cpu.cpp).
//
// Frequency / SH: one thread per sample. Hash grid: one thread per (sample, level)
// (grid.y = level) for the forward and the d_params scatter (atomicAdd), and one thread
// per sample looping over the levels for d_x01 (no atomics, deterministic).
#include <cuda_runtime.h>

#include <string>

#include "jnerf/model/encoding.hpp"
#include "launch_check.cuh"

namespace jnerf {
namespace {

constexpr int kThreads = 256;

void check_frequencies(int frequencies) {
  if (frequencies < 0 || frequencies > 30)
    throw InputError("frequency encoding: frequencies = " + std::to_string(frequencies) + " (want 0 .. 30)");
}

unsigned blocks_for(long long n) { return static_cast<unsigned>((n + kThreads - 1) / kThreads); }

__device__ __forceinline__ void load3(const float* __restrict__ x, long long n, long long s, float p[3]) {
  p[0] = x[s];
  p[1] = x[n + s];
  p[2] = x[2 * n + s];
}

__global__ void frequency_forward_kernel(const float* __restrict__ x, int n, int frequencies, float scale,
                                         float* __restrict__ out) {
  const long long s = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (s >= n) return;
  float p[3];
  load3(x, n, s, p);
  frequency_encode_one(p, frequencies, scale, out + s, n);
}

__global__ void frequency_backward_kernel(const float* __restrict__ x, const float* __restrict__ d_out, int n,
                                          int frequencies, float scale, float* __restrict__ d_x) {
  const long long s = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (s >= n) return;
  float p[3], d[3];
  load3(x, n, s, p);
  frequency_encode_backward_one(p, d_out + s, n, frequencies, scale, d);
  for (int c = 0; c < 3; ++c) d_x[c * static_cast<long long>(n) + s] = d[c];
}

__global__ void sh4_forward_kernel(const float* __restrict__ dir, int n, float* __restrict__ out) {
  const long long s = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (s >= n) return;
  float d[3];
  load3(dir, n, s, d);
  sh4_encode_one(d, out + s, n);
}

__global__ void sh4_backward_kernel(const float* __restrict__ dir, const float* __restrict__ d_out, int n,
                                    float* __restrict__ d_dir) {
  const long long s = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (s >= n) return;
  float d[3], g[3];
  load3(dir, n, s, d);
  sh4_encode_backward_one(d, d_out + s, n, g);
  for (int c = 0; c < 3; ++c) d_dir[c * static_cast<long long>(n) + s] = g[c];
}

template <int F>
__global__ void hash_forward_kernel(HashGridLevels g, const float* __restrict__ params,
                                    const float* __restrict__ x01, int n, float* __restrict__ out) {
  const long long s = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  const int l = blockIdx.y;
  if (s >= n) return;
  float p[3];
  load3(x01, n, s, p);
  hash_grid_level_forward<float, F>(g, l, params, p, out + static_cast<long long>(l) * F * n + s, n);
}

struct CudaAtomicAdd {
  float* p;
  __host__ __device__ void operator()(long long i, float v) const {
#ifdef __CUDA_ARCH__
    atomicAdd(p + i, v);
#else
    p[i] += v;  // never called on the host; keeps the functor host-compilable
#endif
  }
};

template <int F>
__global__ void hash_backward_params_kernel(HashGridLevels g, const float* __restrict__ x01,
                                            const float* __restrict__ d_out, int n, float* d_params) {
  const long long s = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  const int l = blockIdx.y;
  if (s >= n) return;
  float p[3];
  load3(x01, n, s, p);
  CudaAtomicAdd add{d_params};
  hash_grid_level_backward_params<float, F>(g, l, p, d_out + static_cast<long long>(l) * F * n + s, n, add);
}

template <int F>
__global__ void hash_backward_input_kernel(HashGridLevels g, const float* __restrict__ params,
                                           const float* __restrict__ x01, const float* __restrict__ d_out, int n,
                                           float* __restrict__ d_x01) {
  const long long s = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (s >= n) return;
  float p[3];
  load3(x01, n, s, p);
  float d[3] = {0.f, 0.f, 0.f};
  for (int l = 0; l < g.levels; ++l)
    hash_grid_level_backward_input<float, F>(g, l, params, p, d_out + static_cast<long long>(l) * F * n + s, n, d);
  for (int c = 0; c < 3; ++c) d_x01[c * static_cast<long long>(n) + s] = d[c];
}

template <int F>
void hash_forward_launch(const HashGridLevels& g, const float* params, const float* x01, int n, float* out,
                         cudaStream_t stream) {
  const dim3 grid(blocks_for(n), static_cast<unsigned>(g.levels));
  hash_forward_kernel<F><<<grid, kThreads, 0, stream>>>(g, params, x01, n, out);
  check_launch("hash_encode_cuda");
}

template <int F>
void hash_backward_launch(const HashGridLevels& g, const float* params, const float* x01, const float* d_out, int n,
                          float* d_params, float* d_x01, cudaStream_t stream) {
  const dim3 grid(blocks_for(n), static_cast<unsigned>(g.levels));
  hash_backward_params_kernel<F><<<grid, kThreads, 0, stream>>>(g, x01, d_out, n, d_params);
  if (d_x01 != nullptr)
    hash_backward_input_kernel<F><<<blocks_for(n), kThreads, 0, stream>>>(g, params, x01, d_out, n, d_x01);
  check_launch("hash_encode_backward_cuda");
}

}  // namespace

void frequency_encode_cuda(const float* x, int n, int frequencies, float scale, float* out, void* stream) {
  check_frequencies(frequencies);
  if (n <= 0) return;
  frequency_forward_kernel<<<blocks_for(n), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(x, n, frequencies,
                                                                                             scale, out);
  check_launch("frequency_encode_cuda");
}

void frequency_encode_backward_cuda(const float* x, const float* d_out, int n, int frequencies, float scale,
                                    float* d_x, void* stream) {
  check_frequencies(frequencies);
  if (n <= 0) return;
  frequency_backward_kernel<<<blocks_for(n), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      x, d_out, n, frequencies, scale, d_x);
  check_launch("frequency_encode_backward_cuda");
}

void sh4_encode_cuda(const float* dir, int n, float* out, void* stream) {
  if (n <= 0) return;
  sh4_forward_kernel<<<blocks_for(n), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(dir, n, out);
  check_launch("sh4_encode_cuda");
}

void sh4_encode_backward_cuda(const float* dir, const float* d_out, int n, float* d_dir, void* stream) {
  if (n <= 0) return;
  sh4_backward_kernel<<<blocks_for(n), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(dir, d_out, n, d_dir);
  check_launch("sh4_encode_backward_cuda");
}

void hash_encode_cuda(const HashGridConfig& config, const float* params, const float* x01, int n, float* out,
                      void* stream) {
  const HashGridLevels g = config.levels_desc();
  if (n <= 0) return;
  const cudaStream_t st = static_cast<cudaStream_t>(stream);
  switch (g.features) {
    case 1: hash_forward_launch<1>(g, params, x01, n, out, st); break;
    case 2: hash_forward_launch<2>(g, params, x01, n, out, st); break;
    case 4: hash_forward_launch<4>(g, params, x01, n, out, st); break;
    default: hash_forward_launch<8>(g, params, x01, n, out, st); break;
  }
}

void hash_encode_backward_cuda(const HashGridConfig& config, const float* params, const float* x01,
                               const float* d_out, int n, float* d_params, float* d_x01, void* stream) {
  const HashGridLevels g = config.levels_desc();
  if (n <= 0) return;
  const cudaStream_t st = static_cast<cudaStream_t>(stream);
  switch (g.features) {
    case 1: hash_backward_launch<1>(g, params, x01, d_out, n, d_params, d_x01, st); break;
    case 2: hash_backward_launch<2>(g, params, x01, d_out, n, d_params, d_x01, st); break;
    case 4: hash_backward_launch<4>(g, params, x01, d_out, n, d_params, d_x01, st); break;
    default: hash_backward_launch<8>(g, params, x01, d_out, n, d_params, d_x01, st); break;
  }
}

}  // namespace jnerf
