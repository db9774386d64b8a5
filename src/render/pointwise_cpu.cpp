#include "jnerf/render/pointwise.hpp"

#include <stdexcept>

namespace jnerf {

template <class T>
void ray_sample_points_cpu(long long R, int S, const T* origins, const T* dirs, const T* t, T* points,
                           T* view_dirs, T* dir_norm) {
  if (R < 0 || S < 1) throw std::invalid_argument("ray_sample_points_cpu: need R >= 0 and S >= 1");
  const long long n = R * S;
#pragma omp parallel for schedule(static)
  for (long long s = 0; s < n; ++s) ray_sample_point(s, S, R, n, origins, dirs, t, points, view_dirs);
  if (dir_norm)
    for (long long r = 0; r < R; ++r) dir_norm[r] = ray_direction_norm(r, R, dirs);
}

template <class T>
void sigmoid_forward_cpu(long long n, const T* x, T* y) {
#pragma omp parallel for schedule(static)
  for (long long i = 0; i < n; ++i) y[i] = sigmoid(x[i]);
}

template <class T>
void sigmoid_backward_cpu(long long n, const T* y, const T* dy, T* dx) {
#pragma omp parallel for schedule(static)
  for (long long i = 0; i < n; ++i) dx[i] = dy[i] * sigmoid_grad_from_output(y[i]);
}

template <class T>
void axpy_cpu(long long n, T alpha, const T* x, T* y) {
#pragma omp parallel for schedule(static)
  for (long long i = 0; i < n; ++i) y[i] += alpha * x[i];
}

#define JNERF_INSTANTIATE(T)                                                                              \
  template void ray_sample_points_cpu(long long, int, const T*, const T*, const T*, T*, T*, T*);        \
  template void sigmoid_forward_cpu(long long, const T*, T*);                                           \
  template void sigmoid_backward_cpu(long long, const T*, const T*, T*);                               \
  template void axpy_cpu(long long, T, const T*, T*);
JNERF_INSTANTIATE(float)
JNERF_INSTANTIATE(double)
#undef JNERF_INSTANTIATE

}  // namespace jnerf
