#pragma once
// Backend policies. The numeric pipeline (fields, renderer, trainer) is written once as
// templates over a backend B that provides the scalar type, a buffer type and the
// operations; CpuBackend<float|double> forwards to the *_cpu functions, CudaBackend to the
// *_cuda launchers (device memory). See docs/ARCHITECTURE.md.
#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "jnerf/model/encoding.hpp"
#include "jnerf/model/linear.hpp"
#include "jnerf/render/pointwise.hpp"
#include "jnerf/render/sampling.hpp"
#include "jnerf/render/volume.hpp"
#include "jnerf/shape/contrastive_kernels.hpp"
#include "jnerf/shape/jacobian.hpp"
#include "jnerf/train/adam.hpp"

#ifdef JNERF_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

namespace jnerf {

// Host memory with the device buffer's interface.
template <class T>
class HostBuffer {
 public:
  void resize(std::size_t n) { values_.resize(n); }
  T* data() { return values_.data(); }
  const T* data() const { return values_.data(); }
  std::size_t size() const { return values_.size(); }

 private:
  std::vector<T> values_;
};

template <class T>
struct CpuBackend {
  using Scalar = T;
  using Buffer = HostBuffer<T>;
  using DoubleBuffer = HostBuffer<double>;
  static constexpr const char* kName = "cpu";
  // No fully fused MLP kernel: the fields chain linear layers (their GEMMs are the CPU's
  // fast path already).
  static constexpr bool kFusedMlp = false;

  static void upload(T* dst, const T* host, std::size_t n) { std::memcpy(dst, host, n * sizeof(T)); }
  static void download(T* host, const T* src, std::size_t n) { std::memcpy(host, src, n * sizeof(T)); }
  static void copy(T* dst, const T* src, std::size_t n) { std::memcpy(dst, src, n * sizeof(T)); }
  static void zero(T* dst, std::size_t n) { std::memset(dst, 0, n * sizeof(T)); }
  static void synchronize() {}

  static void linear_forward(const T* W, const T* b, const T* X, T* Y, int in, int out, int n, Activation act) {
    linear_forward_cpu(W, b, X, Y, in, out, n, act);
  }
  static void linear_backward(const T* W, const T* X, const T* Y, const T* dY, T* dW, T* db, T* dX, int in,
                              int out, int n, Activation act, T* scratch, bool accumulate_dX) {
    linear_backward_cpu(W, X, Y, dY, dW, db, dX, in, out, n, act, scratch, accumulate_dX);
  }
  static void frequency_encode(const T* x, int n, int frequencies, T scale, T* out) {
    frequency_encode_cpu(x, n, frequencies, scale, out);
  }
  static void frequency_encode_backward(const T* x, const T* d_out, int n, int frequencies, T scale, T* d_x) {
    frequency_encode_backward_cpu(x, d_out, n, frequencies, scale, d_x);
  }
  static void sh4_encode(const T* dir, int n, T* out) { sh4_encode_cpu(dir, n, out); }
  static void sh4_encode_backward(const T* dir, const T* d_out, int n, T* d_dir) {
    sh4_encode_backward_cpu(dir, d_out, n, d_dir);
  }
  // d_params accumulated (+=); d_x01 written unless nullptr (model/encoding.hpp).
  static void hash_encode(const HashGridConfig& config, const T* params, const T* x01, int n, T* out) {
    hash_encode_cpu(config, params, x01, n, out);
  }
  static void hash_encode_backward(const HashGridConfig& config, const T* params, const T* x01, const T* d_out,
                                   int n, T* d_params, T* d_x01) {
    hash_encode_backward_cpu(config, params, x01, d_out, n, d_params, d_x01);
  }
  static void stratified_samples(long long R, int S, T near, T far, const T* ray_near, const T* ray_far, const T* u,
                                 T* t) {
    stratified_samples_cpu<T>(R, S, near, far, ray_near, ray_far, u, t);
  }
  static void importance_samples(long long R, int S, int Nf, const T* z, const T* w, const T* u, T* z_fine) {
    importance_samples_cpu(R, S, Nf, z, w, u, z_fine);
  }
  static void ray_sample_points(long long R, int S, const T* o, const T* d, const T* t, T* p, T* v, T* norm) {
    ray_sample_points_cpu(R, S, o, d, t, p, v, norm);
  }
  static void sigmoid_forward(long long n, const T* x, T* y) { sigmoid_forward_cpu(n, x, y); }
  static void sigmoid_backward(long long n, const T* y, const T* dy, T* dx) { sigmoid_backward_cpu(n, y, dy, dx); }
  static void axpy(long long n, T alpha, const T* x, T* y) { axpy_cpu(n, alpha, x, y); }
  static void jacobian_forward(long long R, int S, int V, int Dk, const T* coef, const T* w, const T* s, const T* h,
                               T* g) {
    jacobian_forward_cpu(R, S, V, Dk, coef, w, s, h, g);
  }
  static void jacobian_backward(long long R, int S, int V, int Dk, const T* coef, const T* G, const T* w,
                                const T* s, const T* h, T* d_h, T* d_z, T* d_w) {
    jacobian_backward_cpu(R, S, V, Dk, coef, G, w, s, h, d_h, d_z, d_w);
  }
  static void weighted_abs_sum(long long R, int S, int C, const T* w, const T* m, T* out) {
    weighted_abs_sum_cpu(R, S, C, w, m, out);
  }
  static void head_colour_change(long long R, int S, const T* w, const T* z, const T* dz, T* out) {
    head_colour_change_cpu(R, S, w, z, dz, out);
  }
  static void raw_colour_change(long long R, int S, const T* w, const T* raw0, const T* raw, T* out) {
    raw_colour_change_cpu(R, S, w, raw0, raw, out);
  }
  static void linear_colour_change(long long R, int C, int Dk, const T* J, const T* dirs, double step, T* out) {
    linear_colour_change_cpu(R, C, Dk, J, dirs, step, out);
  }
  static void surface_colour_change(long long R, int S, int C, int V, int Dk, const T* w, const T* z, const T* h,
                                    const T* J, const T* dirs, double step, T* out) {
    surface_colour_change_cpu(R, S, C, V, Dk, w, z, h, J, dirs, step, out);
  }
  static void jacobian_cosine(long long R, int C, int D, const T* J, const T* dirs, T* out) {
    jacobian_cosine_cpu(R, C, D, J, dirs, out);
  }
  // The shaping loss on B Jacobians (shape/contrastive_kernels.hpp); no scratch needed.
  static ContrastiveStats contrastive_loss(const T* g, int B, int D, const double* affinity,
                                           const ContrastiveParams& p, double tau, T* grad, DoubleBuffer&) {
    return contrastive_loss_cpu(g, B, D, affinity, p, tau, grad);
  }
  static void density_forward(DensityActivation a, long long n, const T* raw, const T* noise, T* sigma) {
    density_activation_forward_cpu(a, n, raw, noise, sigma);
  }
  static void density_backward(DensityActivation a, long long n, const T* raw, const T* noise, const T* g, T* out) {
    density_activation_backward_cpu(a, n, raw, noise, g, out);
  }
  static void composite_forward(long long R, int S, const T* sigma, const T* rgb, const T* t, const T* norm,
                                const T* bg, T* out_rgb, T* depth, T* acc, T* w) {
    composite_forward_cpu(R, S, sigma, rgb, t, norm, bg, out_rgb, depth, acc, w);
  }
  static void composite_backward(long long R, int S, const T* sigma, const T* rgb, const T* t, const T* norm,
                                 const T* bg, const T* out_rgb, const T* w, const T* grad_rgb,
                                 const T* grad_w, T* grad_sigma, T* grad_sample_rgb) {
    composite_backward_cpu(R, S, sigma, rgb, t, norm, bg, out_rgb, static_cast<const T*>(nullptr),
                           static_cast<const T*>(nullptr), w, grad_rgb, static_cast<const T*>(nullptr),
                           static_cast<const T*>(nullptr), grad_w, grad_sigma, grad_sample_rgb);
  }
  static double gradient_norm(const T* g, std::size_t n) { return gradient_norm_cpu(g, n); }
  static void adam_step(const AdamStep& s, T* p, T* m, T* v, const T* g, std::size_t n) {
    adam_step_cpu(s, p, m, v, g, n);
  }
};

#ifdef JNERF_HAVE_CUDA
inline void cuda_check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) throw std::runtime_error(std::string("CUDA error in ") + what + ": " + cudaGetErrorString(err));
}

// Device memory; grows on resize (contents are not preserved).
template <class T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(o.ptr_), size_(o.size_), capacity_(o.capacity_) {
    o.ptr_ = nullptr;
    o.size_ = o.capacity_ = 0;
  }
  ~DeviceBuffer() {
    if (ptr_) cudaFree(ptr_);
  }
  void resize(std::size_t n) {
    if (n > capacity_) {
      if (ptr_) cudaFree(ptr_);
      ptr_ = nullptr;
      size_ = capacity_ = 0;  // a failed allocation below must not leave a stale capacity
      cuda_check(cudaMalloc(reinterpret_cast<void**>(&ptr_), n * sizeof(T)), "cudaMalloc");
      capacity_ = n;
    }
    size_ = n;
  }
  T* data() { return ptr_; }
  const T* data() const { return ptr_; }
  std::size_t size() const { return size_; }

 private:
  T* ptr_ = nullptr;
  std::size_t size_ = 0, capacity_ = 0;
};

struct CudaBackend {
  using Scalar = float;
  using Buffer = DeviceBuffer<float>;
  using DoubleBuffer = DeviceBuffer<double>;
  using T = float;
  static constexpr const char* kName = "cuda";
  // The fully fused MLP kernels (model/linear.hpp) for widths 64 and 128.
  static constexpr bool kFusedMlp = true;
  static bool mlp_fused_supported(int in, int width, int hidden_layers, int out) {
    return jnerf::mlp_fused_supported(in, width, hidden_layers, out);
  }
  // hidden: hidden_layers x width x n, saved for the backward.
  static void mlp_fused_forward(const T* params, const T* X, T* Y, T* hidden, int in, int width, int hidden_layers,
                                int out, int n, Activation output_act) {
    mlp_fused_forward_cuda(params, X, Y, in, width, hidden_layers, out, n, output_act, nullptr, hidden);
  }
  // d_params accumulated, dX written (unless nullptr); dZ: (hidden_layers + 1) x width x n.
  static void mlp_fused_backward(const T* params, const T* X, const T* hidden, const T* Y, const T* dY, T* d_params,
                                 T* dX, T* dZ, int in, int width, int hidden_layers, int out, int n,
                                 Activation output_act) {
    mlp_fused_backward_cuda(params, X, hidden, Y, dY, d_params, dX, dZ, in, width, hidden_layers, out, n, output_act);
  }

  static void upload(T* dst, const T* host, std::size_t n) {
    cuda_check(cudaMemcpy(dst, host, n * sizeof(T), cudaMemcpyHostToDevice), "upload");
  }
  static void download(T* host, const T* src, std::size_t n) {
    cuda_check(cudaMemcpy(host, src, n * sizeof(T), cudaMemcpyDeviceToHost), "download");
  }
  static void copy(T* dst, const T* src, std::size_t n) {
    cuda_check(cudaMemcpyAsync(dst, src, n * sizeof(T), cudaMemcpyDeviceToDevice), "copy");
  }
  static void zero(T* dst, std::size_t n) { cuda_check(cudaMemsetAsync(dst, 0, n * sizeof(T)), "memset"); }
  static void synchronize() { cuda_check(cudaDeviceSynchronize(), "kernel"); }

  static void linear_forward(const T* W, const T* b, const T* X, T* Y, int in, int out, int n, Activation act) {
    linear_forward_cuda(W, b, X, Y, in, out, n, act);
  }
  static void linear_backward(const T* W, const T* X, const T* Y, const T* dY, T* dW, T* db, T* dX, int in,
                              int out, int n, Activation act, T* scratch, bool accumulate_dX) {
    linear_backward_cuda(W, X, Y, dY, dW, db, dX, in, out, n, act, scratch, accumulate_dX);
  }
  static void frequency_encode(const T* x, int n, int frequencies, T scale, T* out) {
    frequency_encode_cuda(x, n, frequencies, scale, out);
  }
  static void frequency_encode_backward(const T* x, const T* d_out, int n, int frequencies, T scale, T* d_x) {
    frequency_encode_backward_cuda(x, d_out, n, frequencies, scale, d_x);
  }
  static void sh4_encode(const T* dir, int n, T* out) { sh4_encode_cuda(dir, n, out); }
  static void sh4_encode_backward(const T* dir, const T* d_out, int n, T* d_dir) {
    sh4_encode_backward_cuda(dir, d_out, n, d_dir);
  }
  // d_params accumulated (+=, atomicAdd); d_x01 written unless nullptr (model/encoding.hpp).
  static void hash_encode(const HashGridConfig& config, const T* params, const T* x01, int n, T* out) {
    hash_encode_cuda(config, params, x01, n, out);
  }
  static void hash_encode_backward(const HashGridConfig& config, const T* params, const T* x01, const T* d_out,
                                   int n, T* d_params, T* d_x01) {
    hash_encode_backward_cuda(config, params, x01, d_out, n, d_params, d_x01);
  }
  static void stratified_samples(long long R, int S, T near, T far, const T* ray_near, const T* ray_far, const T* u,
                                 T* t) {
    stratified_samples_cuda(R, S, near, far, ray_near, ray_far, u, t);
  }
  static void importance_samples(long long R, int S, int Nf, const T* z, const T* w, const T* u, T* z_fine) {
    importance_samples_cuda(R, S, Nf, z, w, u, z_fine);
  }
  static void ray_sample_points(long long R, int S, const T* o, const T* d, const T* t, T* p, T* v, T* norm) {
    ray_sample_points_cuda(R, S, o, d, t, p, v, norm);
  }
  static void sigmoid_forward(long long n, const T* x, T* y) { sigmoid_forward_cuda(n, x, y); }
  static void sigmoid_backward(long long n, const T* y, const T* dy, T* dx) { sigmoid_backward_cuda(n, y, dy, dx); }
  static void axpy(long long n, T alpha, const T* x, T* y) { axpy_cuda(n, alpha, x, y); }
  static void jacobian_forward(long long R, int S, int V, int Dk, const T* coef, const T* w, const T* s, const T* h,
                               T* g) {
    jacobian_forward_cuda(R, S, V, Dk, coef, w, s, h, g);
  }
  static void jacobian_backward(long long R, int S, int V, int Dk, const T* coef, const T* G, const T* w,
                                const T* s, const T* h, T* d_h, T* d_z, T* d_w) {
    jacobian_backward_cuda(R, S, V, Dk, coef, G, w, s, h, d_h, d_z, d_w);
  }
  static void weighted_abs_sum(long long R, int S, int C, const T* w, const T* m, T* out) {
    weighted_abs_sum_cuda(R, S, C, w, m, out);
  }
  static void head_colour_change(long long R, int S, const T* w, const T* z, const T* dz, T* out) {
    head_colour_change_cuda(R, S, w, z, dz, out);
  }
  static void raw_colour_change(long long R, int S, const T* w, const T* raw0, const T* raw, T* out) {
    raw_colour_change_cuda(R, S, w, raw0, raw, out);
  }
  static void linear_colour_change(long long R, int C, int Dk, const T* J, const T* dirs, double step, T* out) {
    linear_colour_change_cuda(R, C, Dk, J, dirs, step, out);
  }
  static void surface_colour_change(long long R, int S, int C, int V, int Dk, const T* w, const T* z, const T* h,
                                    const T* J, const T* dirs, double step, T* out) {
    surface_colour_change_cuda(R, S, C, V, Dk, w, z, h, J, dirs, step, out);
  }
  static void jacobian_cosine(long long R, int C, int D, const T* J, const T* dirs, T* out) {
    jacobian_cosine_cuda(R, C, D, J, dirs, out);
  }
  static ContrastiveStats contrastive_loss(const T* g, int B, int D, const double* affinity,
                                           const ContrastiveParams& p, double tau, T* grad, DoubleBuffer& scratch) {
    scratch.resize(contrastive_workspace_doubles(B));
    return contrastive_loss_cuda(g, B, D, affinity, p, tau, grad, scratch.data());
  }
  static void density_forward(DensityActivation a, long long n, const T* raw, const T* noise, T* sigma) {
    density_activation_forward_cuda(a, n, raw, noise, sigma);
  }
  static void density_backward(DensityActivation a, long long n, const T* raw, const T* noise, const T* g, T* out) {
    density_activation_backward_cuda(a, n, raw, noise, g, out);
  }
  static void composite_forward(long long R, int S, const T* sigma, const T* rgb, const T* t, const T* norm,
                                const T* bg, T* out_rgb, T* depth, T* acc, T* w) {
    composite_forward_cuda(R, S, sigma, rgb, t, norm, bg, out_rgb, depth, acc, w);
  }
  static void composite_backward(long long R, int S, const T* sigma, const T* rgb, const T* t, const T* norm,
                                 const T* bg, const T* out_rgb, const T* w, const T* grad_rgb,
                                 const T* grad_w, T* grad_sigma, T* grad_sample_rgb) {
    composite_backward_cuda(R, S, sigma, rgb, t, norm, bg, out_rgb, nullptr, nullptr, w, grad_rgb, nullptr,
                            nullptr, grad_w, grad_sigma, grad_sample_rgb);
  }
  static double gradient_norm(const T* g, std::size_t n) {
    std::vector<float> host(n);
    download(host.data(), g, n);
    return gradient_norm_cpu(host.data(), n);
  }
  static void adam_step(const AdamStep& s, T* p, T* m, T* v, const T* g, std::size_t n) {
    adam_step_cuda(s, p, m, v, g, n);
  }
};
#endif

}  // namespace jnerf
