#pragma once
// Sample placement for a batch of R rays: stratified (coarse) and hierarchical importance
// (fine) sampling with nerf-pytorch semantics. The caller draws the uniforms, so runs are
// reproducible and CPU and CUDA agree; samples are detached (no gradient). The per-ray math
// is kernels/sampling.cuh, shared by both backends (OpenMP over rays on the CPU, one CUDA
// thread per ray).
//
// All arrays are ray-major: sample i of ray r is at [r * S + i] (S samples per ray).
#include "sampling.cuh"

namespace jnerf {

// Stratified samples on [near, far] per ray.
//   near, far            the bounds shared by all rays;
//   ray_near, ray_far    R per-ray bounds overriding them, or nullptr;
//   u                    R*S uniforms in [0, 1) (perturbed mode), or nullptr (deterministic:
//                        t = linspace(near, far, S), both ends included);
//   t                    R*S output depths, non-decreasing along each ray.
// Perturbed: mids = (z_i + z_{i+1}) / 2, lower = [z_0, mids], upper = [mids, z_{S-1}],
// t_i = lower_i + (upper_i - lower_i) u_i (clamped to [lower_i, upper_i] against rounding).
template <class T>
void stratified_samples_cpu(long long R, int S, T near, T far, const T* ray_near, const T* ray_far, const T* u,
                            T* t);

// Hierarchical importance samples (nerf-pytorch sample_pdf) merged with the coarse ones.
//   z        R*S        coarse depths, ascending per ray (S >= 3)
//   weights  R*S        coarse compositing weights (only weights[1..S-2] of each ray are used)
//   u        R*Nf       uniforms in [0, 1), or nullptr (deterministic: linspace(0, 1, Nf))
//   z_fine   R*(S+Nf)   output: per ray, sort(concat(z, new samples)), ray-major with
//                       S+Nf samples per ray. Must not alias z or weights.
// Throws std::invalid_argument when S < 3 or Nf < 0.
template <class T>
void importance_samples_cpu(long long R, int S, int Nf, const T* z, const T* weights, const T* u, T* z_fine);

#ifdef JNERF_HAVE_CUDA
// The same on the GPU, float only: device pointers, asynchronous on `stream` (cudaStream_t,
// nullptr = default stream). The host-side scalars (near, far) are passed by value.
void stratified_samples_cuda(long long R, int S, float near, float far, const float* ray_near,
                             const float* ray_far, const float* u, float* t, void* stream = nullptr);
void importance_samples_cuda(long long R, int S, int Nf, const float* z, const float* weights, const float* u,
                             float* z_fine, void* stream = nullptr);
#endif

}  // namespace jnerf
