#include "camera_path.hpp"

#include <cmath>

#include "rng.hpp"

namespace jnerf::synth {

namespace {
constexpr double kTwoPi = 6.283185307179586;
}

Pose look_at(V3 eye, V3 target, float roll) {
  // Build in double, store as float (the stored floats are what is rendered and written).
  const double fx = target.x - eye.x, fy = target.y - eye.y, fz = target.z - eye.z;
  const double fn = std::sqrt(fx * fx + fy * fy + fz * fz);
  const double f[3] = {fx / fn, fy / fn, fz / fn};
  // right = f x up (up = +z), down = f x right.
  double r[3] = {f[1], -f[0], 0.0};
  const double rn = std::sqrt(r[0] * r[0] + r[1] * r[1]);
  r[0] /= rn;
  r[1] /= rn;
  double d[3] = {f[1] * r[2] - f[2] * r[1], f[2] * r[0] - f[0] * r[2], f[0] * r[1] - f[1] * r[0]};
  // Roll: rotate right/down about the forward axis.
  const double c = std::cos(roll), s = std::sin(roll);
  double rr[3], dd[3];
  for (int i = 0; i < 3; ++i) {
    rr[i] = c * r[i] + s * d[i];
    dd[i] = -s * r[i] + c * d[i];
  }
  Pose p{};
  const double t[3] = {eye.x, eye.y, eye.z};
  for (int i = 0; i < 3; ++i) {
    p[4 * i + 0] = static_cast<float>(rr[i]);
    p[4 * i + 1] = static_cast<float>(dd[i]);
    p[4 * i + 2] = static_cast<float>(f[i]);
    p[4 * i + 3] = static_cast<float>(t[i]);
  }
  return p;
}

std::vector<Pose> camera_path(const CameraRegion& g, int frames, std::uint64_t seed) {
  Stream rng(seed, hash_name("synth/camera"));
  double ph[8];
  for (double& v : ph) v = kTwoPi * rng.uniform();
  const double dir = rng.uniform() < 0.5f ? 1.0 : -1.0;  // clockwise or not
  const double swing = 0.85 + 0.15 * rng.uniform();     // look left/right amplitude, rad

  std::vector<Pose> poses;
  poses.reserve(static_cast<std::size_t>(frames));
  for (int i = 0; i < frames; ++i) {
    const double th = ph[0] + dir * kTwoPi * static_cast<double>(i) / frames;
    // Position: an ellipse perturbed by harmonics, never outside the semi-axes.
    const double ex = 0.85 * std::cos(th) + 0.15 * std::sin(3 * th + ph[1]);
    const double ey = 0.85 * std::sin(th) + 0.15 * std::sin(2 * th + ph[2]);
    const double ez = 0.5 + 0.5 * std::sin(2 * th + ph[3]);
    const V3 eye{static_cast<float>(g.centre.x + g.ax * ex), static_cast<float>(g.centre.y + g.ay * ey),
                 static_cast<float>(g.z_lo + (g.z_hi - g.z_lo) * ez)};
    // Look across the room: the opposite side, swinging left and right, up and down.
    const double psi = th + 3.141592653589793 + swing * std::sin(3 * th + ph[4]);
    const double tz = 0.5 + 0.5 * std::sin(5 * th + ph[5]);
    const V3 target{static_cast<float>(g.tx * std::cos(psi)), static_cast<float>(g.ty * std::sin(psi)),
                    static_cast<float>(g.tz_lo + (g.tz_hi - g.tz_lo) * tz)};
    const float roll = static_cast<float>(0.03 * std::sin(4 * th + ph[6]));
    poses.push_back(look_at(eye, target, roll));
  }
  return poses;
}

}  // namespace jnerf::synth
