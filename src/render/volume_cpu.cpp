// CPU backend of density activations and compositing: OpenMP loops over the per-element /
// per-ray functions of kernels/activation.cuh and kernels/volume.cuh.
#include "jnerf/render/volume.hpp"

#include <stdexcept>

namespace jnerf {

template <class T>
void density_activation_forward_cpu(DensityActivation act, long long n, const T* raw, const T* noise, T* sigma) {
#pragma omp parallel for schedule(static)
  for (long long s = 0; s < n; ++s) sigma[s] = density_activation(act, raw[s], noise ? noise[s] : T(0));
}

template <class T>
void density_activation_backward_cpu(DensityActivation act, long long n, const T* raw, const T* noise,
                                     const T* grad_sigma, T* grad_raw) {
#pragma omp parallel for schedule(static)
  for (long long s = 0; s < n; ++s)
    grad_raw[s] = grad_sigma[s] * density_activation_grad(act, raw[s], noise ? noise[s] : T(0));
}

template <class T>
void composite_forward_cpu(long long R, int S, const T* sigma, const T* rgb, const T* t, const T* dir_norm,
                           const T* background, T* out_rgb, T* out_depth, T* out_acc, T* weights) {
  if (R < 0 || S < 1) throw std::invalid_argument("composite_forward_cpu: need R >= 0 and S >= 1");
  const long long n = R * S;
#pragma omp parallel for schedule(static)
  for (long long r = 0; r < R; ++r) {
    const long long o = r * S;
    composite_forward_ray<T>(S, n, R, sigma + o, rgb ? rgb + o : nullptr, t + o, dir_norm ? dir_norm[r] : T(1),
                             background, out_rgb ? out_rgb + r : nullptr, out_depth ? out_depth + r : nullptr,
                             out_acc ? out_acc + r : nullptr, weights ? weights + o : nullptr);
  }
}

template <class T>
void composite_backward_cpu(long long R, int S, const T* sigma, const T* rgb, const T* t, const T* dir_norm,
                            const T* background, const T* out_rgb, const T* out_depth, const T* out_acc,
                            const T* weights, const T* grad_rgb, const T* grad_depth, const T* grad_acc,
                            const T* grad_weights, T* grad_sigma, T* grad_sample_rgb) {
  if (R < 0 || S < 1) throw std::invalid_argument("composite_backward_cpu: need R >= 0 and S >= 1");
  if ((grad_depth && !out_depth) || (grad_acc && !out_acc))
    throw std::invalid_argument("composite_backward_cpu: grad_depth / grad_acc need out_depth / out_acc");
  const long long n = R * S;
#pragma omp parallel for schedule(static)
  for (long long r = 0; r < R; ++r) {
    const long long o = r * S;
    composite_backward_ray<T>(S, n, R, sigma + o, rgb + o, t + o, dir_norm ? dir_norm[r] : T(1), background,
                              out_rgb + r, out_depth ? out_depth + r : nullptr, out_acc ? out_acc + r : nullptr,
                              weights + o, grad_rgb + r, grad_depth ? grad_depth[r] : T(0),
                              grad_acc ? grad_acc[r] : T(0), grad_weights ? grad_weights + o : nullptr,
                              grad_sigma + o, grad_sample_rgb + o);
  }
}

#define JN_INSTANTIATE(T)                                                                                    \
  template void density_activation_forward_cpu<T>(DensityActivation, long long, const T*, const T*, T*);     \
  template void density_activation_backward_cpu<T>(DensityActivation, long long, const T*, const T*,         \
                                                   const T*, T*);                                            \
  template void composite_forward_cpu<T>(long long, int, const T*, const T*, const T*, const T*, const T*, T*, \
                                         T*, T*, T*);                                                        \
  template void composite_backward_cpu<T>(long long, int, const T*, const T*, const T*, const T*, const T*,   \
                                          const T*, const T*, const T*, const T*, const T*, const T*,        \
                                          const T*, const T*, T*, T*);
JN_INSTANTIATE(float)
JN_INSTANTIATE(double)
#undef JN_INSTANTIATE

}  // namespace jnerf
