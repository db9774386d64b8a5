// CPU backend of the input encodings: OpenMP loops around the per-sample functions of
// kernels/encoding.cuh (the same arithmetic the CUDA kernels run).
#include "jnerf/model/encoding.hpp"

#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace jnerf {
namespace {

int max_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

void check_frequencies(int frequencies) {
  if (frequencies < 0 || frequencies > 30)
    throw InputError("frequency encoding: frequencies = " + std::to_string(frequencies) + " (want 0 .. 30)");
}

template <class T>
inline void load3(const T* x, long long n, long long s, T p[3]) {
  p[0] = x[s];
  p[1] = x[n + s];
  p[2] = x[2 * n + s];
}

// d_params accumulation without atomics: used when each table segment has one writer.
template <class T>
struct PlainAdd {
  T* p;
  inline void operator()(long long i, T v) const { p[i] += v; }
};

template <class T>
struct AtomicAdd {
  T* p;
  inline void operator()(long long i, T v) const {
#pragma omp atomic
    p[i] += v;
  }
};

// ---- hash grid, F fixed at compile time ------------------------------------------------

// Forward: level-major (each thread walks one level's table at a time). Measured on 2
// cores at n = 65536, T = 2^19: as fast as sample-major (~44 vs ~48 ms), kept for the
// symmetry with the backward.
template <class T, int F>
void hash_forward_impl(const HashGridLevels& g, const T* params, const T* x01, long long n, T* out) {
#pragma omp parallel for collapse(2) schedule(static)
  for (int l = 0; l < g.levels; ++l)
    for (long long s = 0; s < n; ++s) {
      T p[3];
      load3(x01, n, s, p);
      hash_grid_level_forward<T, F>(g, l, params, p, out + static_cast<long long>(l) * F * n + s, n);
    }
}

// Backward. Levels own disjoint table segments, so when there are at least as many levels
// as threads each thread takes whole levels and adds into d_params without atomics; d_x01
// contributions go to a thread-private 3 x n buffer (small, unlike the L * T * F table)
// summed at the end. Measured on 2 cores, n = 65536, L = 16, F = 2, T = 2^19 (float,
// d_params only): level-owned ~35-40 ms, OpenMP atomics ~170 ms (sample-split) to ~230 ms
// (sample-major), per-thread private copies of the table ~170 ms (zeroing and reducing
// 2 x 64 MB dominates). With more threads than levels the samples are split instead and
// the parameter adds are OpenMP atomics.
template <class T, int F>
void hash_backward_impl(const HashGridLevels& g, const T* params, const T* x01, const T* d_out, long long n,
                        T* d_params, T* d_x01) {
  const int threads = max_threads();
  if (threads <= g.levels) {
    const PlainAdd<T> add{d_params};
    std::vector<T> scratch(d_x01 != nullptr && threads > 1 ? static_cast<std::size_t>(3 * n) * (threads - 1) : 0);
#pragma omp parallel num_threads(threads)
    {
      int t = 0;
#ifdef _OPENMP
      t = omp_get_thread_num();
#endif
      // Thread 0 accumulates straight into d_x01, the others into scratch.
      T* dx = d_x01 == nullptr ? nullptr : (t == 0 ? d_x01 : scratch.data() + static_cast<std::size_t>(3 * n) * (t - 1));
      if (dx != nullptr)
        for (long long i = 0; i < 3 * n; ++i) dx[i] = T(0);
#pragma omp for schedule(dynamic, 1)
      for (int l = 0; l < g.levels; ++l) {
        const T* dl = d_out + static_cast<long long>(l) * F * n;
        for (long long s = 0; s < n; ++s) {
          T p[3];
          load3(x01, n, s, p);
          if (dx == nullptr) {
            hash_grid_level_backward_params<T, F>(g, l, p, dl + s, n, add);
          } else {
            T d[3] = {dx[s], dx[n + s], dx[2 * n + s]};
            hash_grid_level_backward<T, F>(g, l, params, p, dl + s, n, add, d);
            dx[s] = d[0];
            dx[n + s] = d[1];
            dx[2 * n + s] = d[2];
          }
        }
      }  // implicit barrier: every thread's contributions are complete
      if (d_x01 != nullptr && threads > 1) {
#pragma omp for schedule(static)
        for (long long i = 0; i < 3 * n; ++i) {
          T sum = d_x01[i];
          for (int k = 0; k < threads - 1; ++k) sum += scratch[static_cast<std::size_t>(3 * n) * k + i];
          d_x01[i] = sum;
        }
      }
    }
    return;
  }
  const AtomicAdd<T> add{d_params};
#pragma omp parallel for collapse(2) schedule(static)
  for (int l = 0; l < g.levels; ++l)
    for (long long s = 0; s < n; ++s) {
      T p[3];
      load3(x01, n, s, p);
      hash_grid_level_backward_params<T, F>(g, l, p, d_out + static_cast<long long>(l) * F * n + s, n, add);
    }
  if (d_x01 == nullptr) return;
  // d_x01, sample-split: each thread owns its samples across all levels.
#pragma omp parallel for schedule(static)
  for (long long s = 0; s < n; ++s) {
    T p[3];
    load3(x01, n, s, p);
    T d[3] = {T(0), T(0), T(0)};
    for (int l = 0; l < g.levels; ++l)
      hash_grid_level_backward_input<T, F>(g, l, params, p, d_out + static_cast<long long>(l) * F * n + s, n, d);
    d_x01[s] = d[0];
    d_x01[n + s] = d[1];
    d_x01[2 * n + s] = d[2];
  }
}

}  // namespace

// ---- frequency encoding ----------------------------------------------------------------

template <class T>
void frequency_encode_cpu(const T* x, int n, int frequencies, T scale, T* out) {
  check_frequencies(frequencies);
#pragma omp parallel for schedule(static)
  for (int s = 0; s < n; ++s) {
    T p[3];
    load3<T>(x, n, s, p);
    frequency_encode_one(p, frequencies, scale, out + s, n);
  }
}

template <class T>
void frequency_encode_backward_cpu(const T* x, const T* d_out, int n, int frequencies, T scale, T* d_x) {
  check_frequencies(frequencies);
#pragma omp parallel for schedule(static)
  for (int s = 0; s < n; ++s) {
    T p[3], d[3];
    load3<T>(x, n, s, p);
    frequency_encode_backward_one(p, d_out + s, n, frequencies, scale, d);
    for (int c = 0; c < 3; ++c) d_x[static_cast<long long>(c) * n + s] = d[c];
  }
}

// ---- spherical harmonics ---------------------------------------------------------------

template <class T>
void sh4_encode_cpu(const T* dir, int n, T* out) {
#pragma omp parallel for schedule(static)
  for (int s = 0; s < n; ++s) {
    T d[3];
    load3<T>(dir, n, s, d);
    sh4_encode_one(d, out + s, n);
  }
}

template <class T>
void sh4_encode_backward_cpu(const T* dir, const T* d_out, int n, T* d_dir) {
#pragma omp parallel for schedule(static)
  for (int s = 0; s < n; ++s) {
    T d[3], g[3];
    load3<T>(dir, n, s, d);
    sh4_encode_backward_one(d, d_out + s, n, g);
    for (int c = 0; c < 3; ++c) d_dir[static_cast<long long>(c) * n + s] = g[c];
  }
}

// ---- hash grid -------------------------------------------------------------------------

namespace {
inline std::uint64_t splitmix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
}  // namespace

template <class T>
void hash_grid_init(const HashGridConfig& config, T* params, std::uint64_t seed, T range) {
  config.validate();
  const long long size = config.params_size();
#pragma omp parallel for schedule(static)
  for (long long i = 0; i < size; ++i) {
    const std::uint64_t bits = splitmix64(seed + static_cast<std::uint64_t>(i + 1) * 0x9E3779B97F4A7C15ull);
    const double u = static_cast<double>(bits >> 11) * 0x1.0p-53;  // [0, 1)
    params[i] = static_cast<T>((2.0 * u - 1.0) * static_cast<double>(range));
  }
}

template <class T>
void hash_encode_cpu(const HashGridConfig& config, const T* params, const T* x01, int n, T* out) {
  const HashGridLevels g = config.levels_desc();
  if (n <= 0) return;
  switch (g.features) {
    case 1: hash_forward_impl<T, 1>(g, params, x01, n, out); break;
    case 2: hash_forward_impl<T, 2>(g, params, x01, n, out); break;
    case 4: hash_forward_impl<T, 4>(g, params, x01, n, out); break;
    default: hash_forward_impl<T, 8>(g, params, x01, n, out); break;
  }
}

template <class T>
void hash_encode_backward_cpu(const HashGridConfig& config, const T* params, const T* x01, const T* d_out, int n,
                              T* d_params, T* d_x01) {
  const HashGridLevels g = config.levels_desc();
  if (n <= 0) return;
  switch (g.features) {
    case 1: hash_backward_impl<T, 1>(g, params, x01, d_out, n, d_params, d_x01); break;
    case 2: hash_backward_impl<T, 2>(g, params, x01, d_out, n, d_params, d_x01); break;
    case 4: hash_backward_impl<T, 4>(g, params, x01, d_out, n, d_params, d_x01); break;
    default: hash_backward_impl<T, 8>(g, params, x01, d_out, n, d_params, d_x01); break;
  }
}

// ---- instantiations --------------------------------------------------------------------
#define JN_INSTANTIATE_ENCODING(T)                                                                          \
  template void frequency_encode_cpu<T>(const T*, int, int, T, T*);                                        \
  template void frequency_encode_backward_cpu<T>(const T*, const T*, int, int, T, T*);                      \
  template void sh4_encode_cpu<T>(const T*, int, T*);                                                      \
  template void sh4_encode_backward_cpu<T>(const T*, const T*, int, T*);                                   \
  template void hash_grid_init<T>(const HashGridConfig&, T*, std::uint64_t, T);                            \
  template void hash_encode_cpu<T>(const HashGridConfig&, const T*, const T*, int, T*);                    \
  template void hash_encode_backward_cpu<T>(const HashGridConfig&, const T*, const T*, const T*, int, T*, T*);
JN_INSTANTIATE_ENCODING(float)
JN_INSTANTIATE_ENCODING(double)
#undef JN_INSTANTIATE_ENCODING

}  // namespace jnerf
