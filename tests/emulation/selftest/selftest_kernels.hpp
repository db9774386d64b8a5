#pragma once
// Launchers of the emulation's own test kernels (selftest_kernels.cu).
#include <cuda_runtime_api.h>

namespace emu_selftest {

cudaError_t launch_fill(unsigned blocks, unsigned threads, float* out, int n, float value);
void launch_fill_unchecked(unsigned blocks, unsigned threads, float* out, int n, float value);
cudaError_t launch_bounded(unsigned threads, float* out);
cudaError_t launch_dynamic_smem(std::size_t bytes, float* out);
cudaError_t set_dynamic_smem_limit(int bytes);
// out[b] = sum of in[b * threads .. (b + 1) * threads) by shared memory + shuffles.
cudaError_t launch_block_sum(unsigned blocks, unsigned threads, const float* in, float* out);
// rotate_kernel: `rounds` of handing values around the block through shared memory.
cudaError_t launch_rotate(unsigned blocks, unsigned threads, int rounds, float* out);
// One warp: out[0..32) __shfl_down_sync(v, 5), [32..64) __shfl_xor_sync(v, 3, width 8),
// [64..96) __shfl_sync(v, lane + 1, width 16), [96] the ballot of odd lanes.
cudaError_t launch_shuffles(float* out);
cudaError_t launch_atomics(unsigned blocks, unsigned threads, float* f, double* d, int* i);
// Reads the block's static shared array before any thread writes it.
cudaError_t launch_read_unwritten_shared(float* out);

// Faults the emulation (or a sanitizer) must report.
void divergent_barrier();
void exit_before_barrier();
void dynamic_smem_overrun();
void static_smem_overrun();
void global_overrun();
void misaligned_float4();

}  // namespace emu_selftest
