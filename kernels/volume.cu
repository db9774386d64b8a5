// CUDA launchers for density activations, sampling and compositing. The per-element /
// per-ray math is activation.cuh, sampling.cuh and volume.cuh, shared with the CPU backend.
#include <cuda_runtime.h>

#include <stdexcept>

#include "jnerf/render/sampling.hpp"
#include "jnerf/render/volume.hpp"
#include "launch_check.cuh"

namespace jnerf {
namespace {

constexpr int kThreads = 256;    // element-wise kernels
constexpr int kRayThreads = 128; // one thread per ray

unsigned blocks_for(long long count, int threads) {
  return static_cast<unsigned>((count + threads - 1) / threads);
}

__global__ void density_forward_kernel(DensityActivation act, long long n, const float* __restrict__ raw,
                                       const float* __restrict__ noise, float* __restrict__ sigma) {
  const long long s = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (s >= n) return;
  sigma[s] = density_activation(act, raw[s], noise ? noise[s] : 0.f);
}

__global__ void density_backward_kernel(DensityActivation act, long long n, const float* __restrict__ raw,
                                        const float* __restrict__ noise, const float* grad_sigma,
                                        float* grad_raw) {  // may alias (in place)
  const long long s = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (s >= n) return;
  grad_raw[s] = grad_sigma[s] * density_activation_grad(act, raw[s], noise ? noise[s] : 0.f);
}

__global__ void stratified_kernel(long long R, int S, float near, float far, const float* __restrict__ ray_near,
                                  const float* __restrict__ ray_far, const float* __restrict__ u,
                                  float* __restrict__ t) {
  const long long r = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (r >= R) return;
  const long long o = r * S;
  stratified_sample_ray<float>(S, ray_near ? ray_near[r] : near, ray_far ? ray_far[r] : far, u ? u + o : nullptr,
                               t + o);
}

__global__ void importance_kernel(long long R, int S, int Nf, const float* __restrict__ z,
                                  const float* __restrict__ weights, const float* __restrict__ u,
                                  float* __restrict__ z_fine) {
  const long long r = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (r >= R) return;
  const long long F = static_cast<long long>(S) + Nf;
  importance_sample_ray<float>(S, Nf, z + r * S, weights + r * S, u ? u + r * Nf : nullptr, z_fine + r * F);
}

__global__ void composite_forward_kernel(long long R, int S, const float* __restrict__ sigma,
                                         const float* __restrict__ rgb, const float* __restrict__ t,
                                         const float* __restrict__ dir_norm, const float* __restrict__ background,
                                         float* __restrict__ out_rgb, float* __restrict__ out_depth,
                                         float* __restrict__ out_acc, float* __restrict__ weights) {
  const long long r = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (r >= R) return;
  const long long n = R * S;
  const long long o = r * S;
  composite_forward_ray<float>(S, n, R, sigma + o, rgb ? rgb + o : nullptr, t + o, dir_norm ? dir_norm[r] : 1.f,
                               background, out_rgb ? out_rgb + r : nullptr, out_depth ? out_depth + r : nullptr,
                               out_acc ? out_acc + r : nullptr, weights ? weights + o : nullptr);
}

__global__ void composite_backward_kernel(long long R, int S, const float* __restrict__ sigma,
                                          const float* __restrict__ rgb, const float* __restrict__ t,
                                          const float* __restrict__ dir_norm,
                                          const float* __restrict__ background, const float* __restrict__ out_rgb,
                                          const float* __restrict__ out_depth, const float* __restrict__ out_acc,
                                          const float* __restrict__ weights, const float* __restrict__ grad_rgb,
                                          const float* __restrict__ grad_depth, const float* __restrict__ grad_acc,
                                          const float* __restrict__ grad_weights, float* __restrict__ grad_sigma,
                                          float* __restrict__ grad_sample_rgb) {
  const long long r = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (r >= R) return;
  const long long n = R * S;
  const long long o = r * S;
  composite_backward_ray<float>(S, n, R, sigma + o, rgb + o, t + o, dir_norm ? dir_norm[r] : 1.f, background,
                                out_rgb + r, out_depth ? out_depth + r : nullptr, out_acc ? out_acc + r : nullptr,
                                weights + o, grad_rgb + r, grad_depth ? grad_depth[r] : 0.f,
                                grad_acc ? grad_acc[r] : 0.f, grad_weights ? grad_weights + o : nullptr,
                                grad_sigma + o, grad_sample_rgb + o);
}

cudaStream_t as_stream(void* stream) { return static_cast<cudaStream_t>(stream); }

}  // namespace

void density_activation_forward_cuda(DensityActivation act, long long n, const float* raw, const float* noise,
                                     float* sigma, void* stream) {
  if (n <= 0) return;
  density_forward_kernel<<<blocks_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(act, n, raw, noise, sigma);
  check_launch("density_activation_forward_cuda");
}

void density_activation_backward_cuda(DensityActivation act, long long n, const float* raw, const float* noise,
                                      const float* grad_sigma, float* grad_raw, void* stream) {
  if (n <= 0) return;
  density_backward_kernel<<<blocks_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(act, n, raw, noise,
                                                                                       grad_sigma, grad_raw);
  check_launch("density_activation_backward_cuda");
}

void stratified_samples_cuda(long long R, int S, float near, float far, const float* ray_near,
                             const float* ray_far, const float* u, float* t, void* stream) {
  if (R < 0 || S < 1) throw std::invalid_argument("stratified_samples_cuda: need R >= 0 and S >= 1");
  if (R == 0) return;
  stratified_kernel<<<blocks_for(R, kRayThreads), kRayThreads, 0, as_stream(stream)>>>(R, S, near, far, ray_near,
                                                                                       ray_far, u, t);
  check_launch("stratified_samples_cuda");
}

void importance_samples_cuda(long long R, int S, int Nf, const float* z, const float* weights, const float* u,
                             float* z_fine, void* stream) {
  if (R < 0 || S < 3 || Nf < 0)
    throw std::invalid_argument("importance_samples_cuda: need R >= 0, S >= 3 coarse samples and Nf >= 0");
  if (R == 0) return;
  importance_kernel<<<blocks_for(R, kRayThreads), kRayThreads, 0, as_stream(stream)>>>(R, S, Nf, z, weights, u,
                                                                                       z_fine);
  check_launch("importance_samples_cuda");
}

void composite_forward_cuda(long long R, int S, const float* sigma, const float* rgb, const float* t,
                            const float* dir_norm, const float* background, float* out_rgb, float* out_depth,
                            float* out_acc, float* weights, void* stream) {
  if (R < 0 || S < 1) throw std::invalid_argument("composite_forward_cuda: need R >= 0 and S >= 1");
  if (R == 0) return;
  composite_forward_kernel<<<blocks_for(R, kRayThreads), kRayThreads, 0, as_stream(stream)>>>(
      R, S, sigma, rgb, t, dir_norm, background, out_rgb, out_depth, out_acc, weights);
  check_launch("composite_forward_cuda");
}

void composite_backward_cuda(long long R, int S, const float* sigma, const float* rgb, const float* t,
                             const float* dir_norm, const float* background, const float* out_rgb,
                             const float* out_depth, const float* out_acc, const float* weights,
                             const float* grad_rgb, const float* grad_depth, const float* grad_acc,
                             const float* grad_weights, float* grad_sigma, float* grad_sample_rgb, void* stream) {
  if (R < 0 || S < 1) throw std::invalid_argument("composite_backward_cuda: need R >= 0 and S >= 1");
  if ((grad_depth && !out_depth) || (grad_acc && !out_acc))
    throw std::invalid_argument("composite_backward_cuda: grad_depth / grad_acc need out_depth / out_acc");
  if (R == 0) return;
  composite_backward_kernel<<<blocks_for(R, kRayThreads), kRayThreads, 0, as_stream(stream)>>>(
      R, S, sigma, rgb, t, dir_norm, background, out_rgb, out_depth, out_acc, weights, grad_rgb, grad_depth,
      grad_acc, grad_weights, grad_sigma, grad_sample_rgb);
  check_launch("composite_backward_cuda");
}

}  // namespace jnerf
