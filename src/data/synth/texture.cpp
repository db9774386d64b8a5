#include "texture.hpp"

#include <cmath>

#include "rng.hpp"

namespace jnerf::synth {

namespace {

float srgb_to_linear(int c) {
  // A pure power law (gamma 2.2), so shading by a grey factor keeps the chromaticity of
  // the encoded colour exactly (see renderer.cpp, which encodes with the inverse power).
  return std::pow(static_cast<float>(c) / 255.f, 2.2f);
}

// Lattice values: one 64-bit mix of the packed coordinates (cheaper than hash_keys; noise
// is evaluated ~100 times per pixel).
float lattice(std::uint64_t key, int x, int y, int z) {
  const std::uint64_t packed = (static_cast<std::uint64_t>(static_cast<std::uint32_t>(x)) * 0x9e3779b97f4a7c15ull) ^
                               (static_cast<std::uint64_t>(static_cast<std::uint32_t>(y)) * 0xc2b2ae3d27d4eb4full) ^
                               (static_cast<std::uint64_t>(static_cast<std::uint32_t>(z)) * 0x165667b19e3779f9ull);
  return unit_float(mix64(key ^ packed));
}

float smooth(float t) { return t * t * (3.f - 2.f * t); }

}  // namespace

V3 srgb(int r, int g, int b) { return {srgb_to_linear(r), srgb_to_linear(g), srgb_to_linear(b)}; }

float value_noise(std::uint64_t key, V3 p) {
  const float fx = std::floor(p.x), fy = std::floor(p.y), fz = std::floor(p.z);
  const int ix = static_cast<int>(fx), iy = static_cast<int>(fy), iz = static_cast<int>(fz);
  const float tx = smooth(p.x - fx), ty = smooth(p.y - fy), tz = smooth(p.z - fz);
  float c[2][2][2];
  for (int dz = 0; dz < 2; ++dz)
    for (int dy = 0; dy < 2; ++dy)
      for (int dx = 0; dx < 2; ++dx) c[dz][dy][dx] = lattice(key, ix + dx, iy + dy, iz + dz);
  auto lx = [&](int dz, int dy) { return c[dz][dy][0] + (c[dz][dy][1] - c[dz][dy][0]) * tx; };
  const float y0 = lx(0, 0) + (lx(0, 1) - lx(0, 0)) * ty;
  const float y1 = lx(1, 0) + (lx(1, 1) - lx(1, 0)) * ty;
  return y0 + (y1 - y0) * tz;
}

float fractal_noise(std::uint64_t key, V3 p) {
  float sum = 0.f, amp = 0.5f, norm = 0.f;
  for (int o = 0; o < 3; ++o) {
    sum += amp * value_noise(key + static_cast<std::uint64_t>(o) * 0x9e37u, p);
    norm += amp;
    amp *= 0.5f;
    p = p * 2.03f;
  }
  return sum / norm;
}

V3 albedo(const Material& m, V3 q, V3 nl) {
  if (m.pattern == Pattern::Plain) return m.a;
  const float ax = std::fabs(nl.x), ay = std::fabs(nl.y), az = std::fabs(nl.z);
  float u, v;
  if (az >= ax && az >= ay) { u = q.x; v = q.y; }
  else if (ax >= ay) { u = q.y; v = q.z; }
  else { u = q.x; v = q.z; }
  const float inv = 1.f / m.scale;
  switch (m.pattern) {
    case Pattern::Checker: {
      // Half-cell offset keeps faces that sit on a lattice line away from it.
      const int cu = static_cast<int>(std::floor(u * inv + 0.5f));
      const int cv = static_cast<int>(std::floor(v * inv + 0.5f));
      return ((cu + cv) & 1) ? m.b : m.a;
    }
    case Pattern::Stripes: {
      float w = (m.axis == 0 ? u : v) * inv + 0.5f;
      if (m.warp > 0.f) w += m.warp * (fractal_noise(m.key, q * (inv * 0.5f)) - 0.5f);
      const int cell = static_cast<int>(std::floor(w));
      // Wood-like: a little noise inside each stripe so planks differ.
      const float n = m.warp > 0.f ? 0.85f + 0.3f * unit_float(hash_keys(m.key, static_cast<std::uint64_t>(cell), 7))
                                   : 1.f;
      return ((cell & 1) ? m.b : m.a) * n;
    }
    case Pattern::Noise: {
      const float n = fractal_noise(m.key, q * inv);
      const float t = std::fmin(1.f, std::fmax(0.f, (n - 0.5f) * 1.8f + 0.5f));
      return lerp(m.a, m.b, t);
    }
    default: return m.a;
  }
}

}  // namespace jnerf::synth
