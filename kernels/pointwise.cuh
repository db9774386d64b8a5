#pragma once
// Per-element math of the NeRF pipeline between the stages (JN_HD: CPU and CUDA).
#include "jn_common.cuh"

namespace jnerf {

// Sample s = r * S + i of ray r: the point o + t d and the unit view direction d / |d|.
// Rays are feature-major (origins[c * R + r]); outputs feature-major over n = R * S.
template <class T>
JN_HD void ray_sample_point(long long s, int S, long long R, long long n, const T* origins, const T* dirs,
                            const T* t, T* points, T* view_dirs) {
  const long long r = s / S;
  const T dx = dirs[r], dy = dirs[R + r], dz = dirs[2 * R + r];
  const T inv = T(1) / jn_sqrt(dx * dx + dy * dy + dz * dz);
  const T ts = t[s];
  points[s] = origins[r] + ts * dx;
  points[n + s] = origins[R + r] + ts * dy;
  points[2 * n + s] = origins[2 * R + r] + ts * dz;
  view_dirs[s] = dx * inv;
  view_dirs[n + s] = dy * inv;
  view_dirs[2 * n + s] = dz * inv;
}

template <class T>
JN_HD T ray_direction_norm(long long r, long long R, const T* dirs) {
  const T dx = dirs[r], dy = dirs[R + r], dz = dirs[2 * R + r];
  return jn_sqrt(dx * dx + dy * dy + dz * dz);
}

template <class T>
JN_HD T sigmoid(T x) {
  return T(1) / (T(1) + jn_exp(-x));
}

// d sigmoid(x) / dx from the output s = sigmoid(x).
template <class T>
JN_HD T sigmoid_grad_from_output(T s) {
  return s * (T(1) - s);
}

}  // namespace jnerf
