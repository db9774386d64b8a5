#pragma once
// Batch ray generation for a contiguous range of pixels of one view: the first stage of
// the ray-batch pipeline. CPU and CUDA run the same per-pixel function (camera.cuh).
#include "camera.cuh"

namespace jnerf {

// Writes `count` rays for pixels first .. first+count-1 (row-major, `width` wide) as
// origins[3*k..] and directions[3*k..] (z-depth directions).
void generate_rays_cpu(const PinholeCamera& camera, int width, long long first, long long count,
                       float* origins, float* directions);

#ifdef JNERF_HAVE_CUDA
// Same on the GPU; pointers are device memory; asynchronous on `stream` (0 = default).
void generate_rays_cuda(const PinholeCamera& camera, int width, long long first, long long count,
                        float* origins, float* directions, void* stream = nullptr);
#endif

}  // namespace jnerf
