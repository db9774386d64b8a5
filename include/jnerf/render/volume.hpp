#pragma once
// Density activations and volume rendering (compositing), forward and backward, for a
// batch of R rays with S samples each. CPU (OpenMP over rays; float and double) and CUDA
// (float, one thread per ray) run the same per-element functions: kernels/activation.cuh,
// kernels/volume.cuh (see there for the model and the gradient derivation).
//
// Layouts (docs/ARCHITECTURE.md), n = R * S samples in the batch:
//   per-sample scalars (sigma, t, weights, dL/dsigma, extra dL/dw)  ray-major: [r * S + i]
//   per-sample colours (rgb, dL/drgb)                     feature-major 3 x n: [k * n + r * S + i]
//   per-ray colours (C, dL/dC)                            feature-major 3 x R: [k * R + r]
//   per-ray scalars (depth, acc, |d|, dL/ddepth, dL/dacc)  [r]
//   background                                             3 values, shared by all rays
//
// Choices: exact transmittance T_i = exp(-sum_{j<i} sigma_j delta_j) (not nerf-pytorch's
// cumprod(1 - alpha + 1e-10)); last delta 1e10 (nerf-pytorch); every delta times |d| (the
// rays' directions are z-depth, non-unit); depth = sum w_i t_i is z-depth; C = sum w_i c_i
// + (1 - acc) bg when a background is given, else sum w_i c_i.
#include "activation.cuh"
#include "volume.cuh"

namespace jnerf {

// ---- density activations ----------------------------------------------------------------
// sigma[s] = act(raw[s] + noise[s]) for s < n. `noise` (n values) may be nullptr (= 0).
template <class T>
void density_activation_forward_cpu(DensityActivation act, long long n, const T* raw, const T* noise, T* sigma);

// grad_raw[s] = grad_sigma[s] * act'(raw[s] + noise[s]) (overwritten). `noise` may be nullptr;
// grad_raw may be grad_sigma (in place, as the pipeline calls it).
template <class T>
void density_activation_backward_cpu(DensityActivation act, long long n, const T* raw, const T* noise,
                                     const T* grad_sigma, T* grad_raw);

// ---- compositing forward ----------------------------------------------------------------
//   sigma      R*S   densities after the activation, ray-major
//   rgb        3*n   sample colours, feature-major, or nullptr (with out_rgb nullptr: only
//                    the weights, depth and opacity are composited)
//   t          R*S   sample depths (ascending per ray), ray-major
//   dir_norm   R     |d| of each ray's direction, or nullptr (= 1)
//   background 3     background colour, or nullptr (no background: C = sum w c)
// Outputs (overwritten):
//   out_rgb    3*R   composited colour, feature-major (nullptr when rgb is)
//   out_depth  R     sum w t (nullptr: not written)
//   out_acc    R     sum w   (nullptr: not written)
//   weights    R*S   w_i, ray-major (nullptr: not written; the backward needs them)
template <class T>
void composite_forward_cpu(long long R, int S, const T* sigma, const T* rgb, const T* t, const T* dir_norm,
                           const T* background, T* out_rgb, T* out_depth, T* out_acc, T* weights);

// ---- compositing backward ---------------------------------------------------------------
// Inputs as the forward (sigma, rgb, t, dir_norm, background), its outputs (out_rgb,
// weights; out_depth / out_acc only when grad_depth / grad_acc are given), and
//   grad_rgb      3*R   dL/dC, feature-major
//   grad_depth    R     dL/ddepth, or nullptr
//   grad_acc      R     dL/dacc, or nullptr
//   grad_weights  R*S   extra dL/dw_i (e.g. the JacobiNeRF shaping loss), ray-major, or nullptr
// Outputs (overwritten, not accumulated):
//   grad_sigma        R*S   dL/dsigma, ray-major
//   grad_sample_rgb   3*n   dL/drgb, feature-major
template <class T>
void composite_backward_cpu(long long R, int S, const T* sigma, const T* rgb, const T* t, const T* dir_norm,
                            const T* background, const T* out_rgb, const T* out_depth, const T* out_acc,
                            const T* weights, const T* grad_rgb, const T* grad_depth, const T* grad_acc,
                            const T* grad_weights, T* grad_sigma, T* grad_sample_rgb);

#ifdef JNERF_HAVE_CUDA
// The same on the GPU, float only: every pointer is device memory (background too), the
// semantics and layouts are those of the _cpu functions, asynchronous on `stream`
// (cudaStream_t, nullptr = default stream). One thread per ray (per element for the
// activations).
void density_activation_forward_cuda(DensityActivation act, long long n, const float* raw, const float* noise,
                                     float* sigma, void* stream = nullptr);
void density_activation_backward_cuda(DensityActivation act, long long n, const float* raw, const float* noise,
                                      const float* grad_sigma, float* grad_raw, void* stream = nullptr);
void composite_forward_cuda(long long R, int S, const float* sigma, const float* rgb, const float* t,
                            const float* dir_norm, const float* background, float* out_rgb, float* out_depth,
                            float* out_acc, float* weights, void* stream = nullptr);
void composite_backward_cuda(long long R, int S, const float* sigma, const float* rgb, const float* t,
                             const float* dir_norm, const float* background, const float* out_rgb,
                             const float* out_depth, const float* out_acc, const float* weights,
                             const float* grad_rgb, const float* grad_depth, const float* grad_acc,
                             const float* grad_weights, float* grad_sigma, float* grad_sample_rgb,
                             void* stream = nullptr);
#endif

}  // namespace jnerf
