// CPU backend of ray sampling: OpenMP loops over the per-ray functions of
// kernels/sampling.cuh.
#include "jnerf/render/sampling.hpp"

#include <stdexcept>

namespace jnerf {

template <class T>
void stratified_samples_cpu(long long R, int S, T near, T far, const T* ray_near, const T* ray_far, const T* u,
                            T* t) {
  if (R < 0 || S < 1) throw std::invalid_argument("stratified_samples_cpu: need R >= 0 and S >= 1");
#pragma omp parallel for schedule(static)
  for (long long r = 0; r < R; ++r) {
    const long long o = r * S;
    stratified_sample_ray<T>(S, ray_near ? ray_near[r] : near, ray_far ? ray_far[r] : far, u ? u + o : nullptr,
                             t + o);
  }
}

template <class T>
void importance_samples_cpu(long long R, int S, int Nf, const T* z, const T* weights, const T* u, T* z_fine) {
  if (R < 0 || S < 3 || Nf < 0)
    throw std::invalid_argument("importance_samples_cpu: need R >= 0, S >= 3 coarse samples and Nf >= 0");
  const long long F = static_cast<long long>(S) + Nf;
#pragma omp parallel for schedule(static)
  for (long long r = 0; r < R; ++r)
    importance_sample_ray<T>(S, Nf, z + r * S, weights + r * S, u ? u + r * Nf : nullptr, z_fine + r * F);
}

template void stratified_samples_cpu<float>(long long, int, float, float, const float*, const float*,
                                            const float*, float*);
template void stratified_samples_cpu<double>(long long, int, double, double, const double*, const double*,
                                             const double*, double*);
template void importance_samples_cpu<float>(long long, int, int, const float*, const float*, const float*,
                                            float*);
template void importance_samples_cpu<double>(long long, int, int, const double*, const double*, const double*,
                                             double*);

}  // namespace jnerf
