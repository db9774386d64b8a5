// Kernels that exercise the CUDA emulation itself (rewritten by transform_cu.py like
// kernels/*.cu): the launch checks, barriers, shuffles, atomics, shared memory, and faults.
#include <cuda_runtime.h>

#include "selftest_kernels.hpp"

namespace emu_selftest {
namespace {

__global__ void fill_kernel(float* out, int n, float value) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = value;
}

__global__ void __launch_bounds__(128) bounded_kernel(float* out) { out[threadIdx.x] = 1.f; }

__global__ void dynamic_smem_kernel(float* out, int count) {
  extern __shared__ __align__(16) float buf[];
  for (int i = threadIdx.x; i < count; i += blockDim.x) buf[i] = float(i);
  __syncthreads();
  if (threadIdx.x == 0) out[0] = buf[count - 1];
}

template <int MAX_THREADS>
__global__ void __launch_bounds__(MAX_THREADS) block_sum_kernel(const float* in, float* out) {
  __shared__ float warp_sums[MAX_THREADS / 32];
  float v = in[blockIdx.x * blockDim.x + threadIdx.x];
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane == 0) warp_sums[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < int(blockDim.x / 32) ? warp_sums[lane] : 0.f;
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
    if (lane == 0) out[blockIdx.x] = v;
  }
}

// Every round each thread hands its value on through shared memory and adds a value from
// its own stack array: a thread resumed on the wrong stack or a lost wake-up gives another
// result than the host's replay.
__global__ void rotate_kernel(int rounds, float* out) {
  __shared__ int ring[1024];
  int mine[8];
  const int t = threadIdx.x, n = blockDim.x;
  for (int k = 0; k < 8; ++k) mine[k] = (t * 8 + k) * (blockIdx.x + 1);
  int v = t;
  for (int r = 0; r < rounds; ++r) {
    ring[t] = v;
    __syncthreads();
    v = ring[(t + 1) % n] + mine[r % 8];
    __syncthreads();
  }
  out[blockIdx.x * n + t] = float(v);
}

__global__ void shuffle_kernel(float* out) {
  const int lane = threadIdx.x;
  const float v = float(lane);
  out[lane] = __shfl_down_sync(0xffffffffu, v, 5);
  out[32 + lane] = __shfl_xor_sync(0xffffffffu, v, 3, 8);
  out[64 + lane] = __shfl_sync(0xffffffffu, v, lane + 1, 16);
  const unsigned ballot = __ballot_sync(0xffffffffu, lane % 2 == 1);
  if (lane == 0) out[96] = float(ballot == 0xaaaaaaaau);
}

__global__ void atomics_kernel(float* f, double* d, int* i) {
  atomicAdd(f, 0.5f);
  atomicAdd(d, 0.25);
  atomicAdd(i, 1);
}

__global__ void unwritten_shared_kernel(float* out) {
  __shared__ float tile[64];
  __syncthreads();
  out[threadIdx.x] = tile[threadIdx.x];
}

__global__ void divergent_barrier_kernel() {
  if (threadIdx.x < 16) {
    __syncthreads();
  } else {
    __syncthreads();
  }
}

__global__ void exit_before_barrier_kernel() {
  if (threadIdx.x == 3) return;
  __syncthreads();
}

__global__ void static_smem_overrun_kernel(float* out) {
  __shared__ float tile[32];
  tile[threadIdx.x] = 1.f;  // launched with 33 threads
  __syncthreads();
  out[0] = tile[0];
}

__global__ void global_overrun_kernel(float* out, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i <= n) out[i] = 0.f;  // one past the end
}

__global__ void misaligned_kernel(const float* in, float* out) {
  const float4 v = *reinterpret_cast<const float4*>(in + 1);
  out[0] = v.x;
}

cudaError_t last() { return cudaGetLastError(); }

}  // namespace

cudaError_t launch_fill(unsigned blocks, unsigned threads, float* out, int n, float value) {
  fill_kernel<<<blocks, threads>>>(out, n, value);
  return last();
}

void launch_fill_unchecked(unsigned blocks, unsigned threads, float* out, int n, float value) {
  fill_kernel<<<blocks, threads>>>(out, n, value);
}

cudaError_t launch_bounded(unsigned threads, float* out) {
  bounded_kernel<<<1, threads>>>(out);
  return last();
}

cudaError_t launch_dynamic_smem(std::size_t bytes, float* out) {
  dynamic_smem_kernel<<<2, 64, bytes>>>(out, static_cast<int>(bytes / sizeof(float)));
  return last();
}

cudaError_t set_dynamic_smem_limit(int bytes) {
  return cudaFuncSetAttribute(dynamic_smem_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
}

cudaError_t launch_block_sum(unsigned blocks, unsigned threads, const float* in, float* out) {
  block_sum_kernel<256><<<blocks, threads>>>(in, out);
  return last();
}

cudaError_t launch_rotate(unsigned blocks, unsigned threads, int rounds, float* out) {
  rotate_kernel<<<blocks, threads>>>(rounds, out);
  return last();
}

cudaError_t launch_shuffles(float* out) {
  shuffle_kernel<<<1, 32>>>(out);
  return last();
}

cudaError_t launch_atomics(unsigned blocks, unsigned threads, float* f, double* d, int* i) {
  atomics_kernel<<<blocks, threads>>>(f, d, i);
  return last();
}

cudaError_t launch_read_unwritten_shared(float* out) {
  unwritten_shared_kernel<<<1, 64>>>(out);
  return last();
}

void divergent_barrier() { divergent_barrier_kernel<<<1, 32>>>(); }
void exit_before_barrier() { exit_before_barrier_kernel<<<1, 32>>>(); }

void dynamic_smem_overrun() {
  float* out = nullptr;
  cudaMalloc(&out, sizeof(float));
  // 64 floats requested, the kernel writes count = 65 of them.
  dynamic_smem_kernel<<<1, 64, 64 * sizeof(float)>>>(out, 65);
  cudaFree(out);
}

void static_smem_overrun() {
  float* out = nullptr;
  cudaMalloc(&out, sizeof(float));
  static_smem_overrun_kernel<<<1, 33>>>(out);
  cudaFree(out);
}

void global_overrun() {
  float* out = nullptr;
  cudaMalloc(&out, 100 * sizeof(float));
  global_overrun_kernel<<<1, 128>>>(out, 100);
  cudaFree(out);
}

void misaligned_float4() {
  float *in = nullptr, *out = nullptr;
  cudaMalloc(&in, 8 * sizeof(float));
  cudaMalloc(&out, sizeof(float));
  misaligned_kernel<<<1, 1>>>(in, out);
  cudaFree(in);
  cudaFree(out);
}

}  // namespace emu_selftest
