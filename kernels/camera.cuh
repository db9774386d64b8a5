#pragma once
// Pinhole camera rays, one pixel at a time (JN_HD: shared by CPU and CUDA).
//
// Conventions (used by every loader, see README "Data formats"):
//   * camera frame is OpenCV: x right, y down, z forward (looking direction);
//   * camera-to-world is a row-major 3x4 matrix [R | t];
//   * intrinsics follow OpenCV: the centre of pixel (i, j) is at image coordinate (i, j),
//     so a W-pixel-wide image centred on the axis has cx = (W - 1) / 2;
//   * ray directions are z-depth directions (camera-frame z component = 1, not unit
//     length): a point at depth z along the ray is origin + z * direction.
#include "jn_common.cuh"

namespace jnerf {

struct PinholeCamera {
  float fx, fy, cx, cy;
  float c2w[12];  // row-major 3x4 [R | t], OpenCV camera axes
};

struct Ray {
  float origin[3];
  float direction[3];  // z-depth direction, |direction| >= 1
};

// Ray through image coordinate (u, v); u = i, v = j hits the centre of pixel (i, j).
JN_HD Ray camera_ray(const PinholeCamera& cam, float u, float v) {
  const float x = (u - cam.cx) / cam.fx;
  const float y = (v - cam.cy) / cam.fy;
  Ray ray;
  for (int r = 0; r < 3; ++r) {
    const float* row = cam.c2w + 4 * r;
    ray.direction[r] = row[0] * x + row[1] * y + row[2];
    ray.origin[r] = row[3];
  }
  return ray;
}

// The ray of pixel number `index` in a row-major W-wide image.
JN_HD Ray pixel_ray(const PinholeCamera& cam, int width, long long index) {
  const int i = static_cast<int>(index % width);
  const int j = static_cast<int>(index / width);
  return camera_ray(cam, static_cast<float>(i), static_cast<float>(j));
}

}  // namespace jnerf
