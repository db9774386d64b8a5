#include "jnerf/data/rays.hpp"

namespace jnerf {

void generate_rays_cpu(const PinholeCamera& camera, int width, long long first, long long count,
                       float* origins, float* directions) {
#pragma omp parallel for schedule(static)
  for (long long k = 0; k < count; ++k) {
    const Ray ray = pixel_ray(camera, width, first + k);
    for (int c = 0; c < 3; ++c) {
      origins[3 * k + c] = ray.origin[c];
      directions[3 * k + c] = ray.direction[c];
    }
  }
}

}  // namespace jnerf
