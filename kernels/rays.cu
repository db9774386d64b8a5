// CUDA launcher for batch ray generation; the per-pixel math is camera.cuh's pixel_ray.
#include <cuda_runtime.h>

#include "jnerf/data/rays.hpp"
#include "launch_check.cuh"

namespace jnerf {
namespace {

__global__ void generate_rays_kernel(PinholeCamera camera, int width, long long first, long long count,
                                     float* __restrict__ origins, float* __restrict__ directions) {
  const long long k = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (k >= count) return;
  const Ray ray = pixel_ray(camera, width, first + k);
  for (int c = 0; c < 3; ++c) {
    origins[3 * k + c] = ray.origin[c];
    directions[3 * k + c] = ray.direction[c];
  }
}

}  // namespace

void generate_rays_cuda(const PinholeCamera& camera, int width, long long first, long long count,
                        float* origins, float* directions, void* stream) {
  if (count <= 0) return;
  constexpr int kThreads = 256;
  const unsigned blocks = static_cast<unsigned>((count + kThreads - 1) / kThreads);
  generate_rays_kernel<<<blocks, kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      camera, width, first, count, origins, directions);
  check_launch("generate_rays_cuda");
}

}  // namespace jnerf
