// CPU backend of the per-ray Jacobians: OpenMP loops over kernels/jacobian.cuh.
#include "jnerf/shape/jacobian.hpp"

#include "jnerf/core/error.hpp"

namespace jnerf {

JacobianChannels parse_jacobian_channels(const std::string& name) {
  if (name == "mean") return JacobianChannels::Mean;
  if (name == "random") return JacobianChannels::Random;
  if (name == "blocks") return JacobianChannels::Blocks;
  throw InputError("config key 'shape.jacobian_channels': unknown value '" + name +
                   "' (expected mean, random or blocks)");
}

const char* to_string(JacobianChannels channels) {
  switch (channels) {
    case JacobianChannels::Mean: return "mean";
    case JacobianChannels::Random: return "random";
    case JacobianChannels::Blocks: return "blocks";
  }
  return "?";
}

template <class T>
std::vector<T> channel_coefficients(JacobianChannels channels, int R, std::mt19937_64& rng) {
  std::vector<T> coef(3 * static_cast<std::size_t>(R), channels == JacobianChannels::Mean ? T(1) / T(3) : T(1));
  if (channels == JacobianChannels::Random)
    for (int r = 0; r < R; ++r) {
      const int pick = static_cast<int>(rng() % 3);  // modulo bias is 2^-63: irrelevant here
      for (int k = 0; k < 3; ++k) coef[3 * r + k] = k == pick ? T(1) : T(0);
    }
  return coef;
}

template <class T>
void jacobian_forward_cpu(long long R, int S, int V, int Dk, const T* coef, const T* w, const T* s, const T* h,
                          T* g) {
  const long long n = R * S;
#pragma omp parallel for schedule(static)
  for (long long r = 0; r < R; ++r)
    for (int j = 0; j < Dk; ++j) jacobian_column(r, j, S, n, V, Dk, coef, w, s, h, g);
}

template <class T>
void jacobian_backward_cpu(long long R, int S, int V, int Dk, const T* coef, const T* G, const T* w, const T* s,
                           const T* h, T* d_h, T* d_z, T* d_w) {
  const long long n = R * S;
#pragma omp parallel for schedule(static)
  for (long long idx = 0; idx < n; ++idx) jacobian_backward_sample(idx, S, n, V, Dk, coef, G, w, s, h, d_h, d_z, d_w);
}

template <class T>
void weighted_abs_sum_cpu(long long R, int S, int C, const T* w, const T* m, T* out) {
  const long long n = R * S;
#pragma omp parallel for schedule(static)
  for (long long r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) out[c * R + r] = weighted_abs_sum_ray(r, S, w, m + c * n);
}

template <class T>
void head_colour_change_cpu(long long R, int S, const T* w, const T* z, const T* dz, T* out) {
  const long long n = R * S;
#pragma omp parallel for schedule(static)
  for (long long r = 0; r < R; ++r) out[r] = static_cast<T>(head_colour_change_ray(r, S, n, w, z, dz));
}

template <class T>
void raw_colour_change_cpu(long long R, int S, const T* w, const T* raw0, const T* raw, T* out) {
  const long long n = R * S;
#pragma omp parallel for schedule(static)
  for (long long r = 0; r < R; ++r) out[r] = static_cast<T>(raw_colour_change_ray(r, S, n, w, raw0, raw));
}

template <class T>
void linear_colour_change_cpu(long long R, int C, int Dk, const T* J, const T* dirs, double step, T* out) {
#pragma omp parallel for schedule(static)
  for (long long r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c)
      out[c * R + r] = static_cast<T>(linear_colour_change_ray(r, Dk, J, dirs + static_cast<long long>(c) * 3 * Dk, step));
}

template <class T>
void surface_colour_change_cpu(long long R, int S, int C, int V, int Dk, const T* w, const T* z, const T* h,
                               const T* J, const T* dirs, double step, T* out) {
  const long long n = R * S;
#pragma omp parallel for schedule(static)
  for (long long r = 0; r < R; ++r) {
    const SurfaceSummary sum = surface_summary_ray(r, S, n, w, z);  // once per ray, not per class
    for (int c = 0; c < C; ++c)
      out[c * R + r] = static_cast<T>(surface_colour_change_ray(r, sum, n, V, Dk, w, z, h, J,
                                                                dirs + static_cast<long long>(c) * 3 * Dk, step));
  }
}

template <class T>
void jacobian_cosine_cpu(long long R, int C, int D, const T* J, const T* dirs, T* out) {
#pragma omp parallel for schedule(static)
  for (long long r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c)
      out[c * R + r] = static_cast<T>(jacobian_cosine_ray(r, D, J, dirs + static_cast<long long>(c) * D));
}

#define JNERF_INSTANTIATE(T)                                                                                      \
  template std::vector<T> channel_coefficients<T>(JacobianChannels, int, std::mt19937_64&);                     \
  template void jacobian_forward_cpu<T>(long long, int, int, int, const T*, const T*, const T*, const T*, T*);   \
  template void jacobian_backward_cpu<T>(long long, int, int, int, const T*, const T*, const T*, const T*,       \
                                         const T*, T*, T*, T*);                                                 \
  template void weighted_abs_sum_cpu<T>(long long, int, int, const T*, const T*, T*);                             \
  template void head_colour_change_cpu<T>(long long, int, const T*, const T*, const T*, T*);                     \
  template void raw_colour_change_cpu<T>(long long, int, const T*, const T*, const T*, T*);                      \
  template void linear_colour_change_cpu<T>(long long, int, int, const T*, const T*, double, T*);          \
  template void surface_colour_change_cpu<T>(long long, int, int, int, int, const T*, const T*, const T*,      \
                                             const T*, const T*, double, T*);                                  \
  template void jacobian_cosine_cpu<T>(long long, int, int, const T*, const T*, T*);
JNERF_INSTANTIATE(float)
JNERF_INSTANTIATE(double)
#undef JNERF_INSTANTIATE

}  // namespace jnerf
