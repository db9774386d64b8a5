#pragma once
// Diffuse surface textures: plain, checkers, stripes (optionally noise-warped: wood grain)
// and value noise. A texture is a pure function of the surface point, so every view of a
// point sees the same albedo (the scenes are Lambertian and multi-view consistent).
#include <cstdint>

#include "vec.hpp"

namespace jnerf::synth {

enum class Pattern : std::uint8_t { Plain, Checker, Stripes, Noise };

struct Material {
  Pattern pattern = Pattern::Plain;
  V3 a{0.5f, 0.5f, 0.5f};  // linear RGB albedo (first colour)
  V3 b{0.5f, 0.5f, 0.5f};  // second colour (checkers, stripes, noise)
  float scale = 0.1f;      // cell / stripe width / noise feature size, metres
  int axis = 0;            // stripes vary along surface coordinate u (0) or v (1)
  float warp = 0.f;        // stripes: noise warp in cells (wood grain); noise: unused
  float emission = 0.f;    // self-lit fraction (lamp shades, screens)
  std::uint64_t key = 0;   // noise lattice key (seeded)
};

inline Material plain(V3 c) {
  Material m;
  m.a = c;
  m.b = c;
  return m;
}
inline Material pattern(Pattern p, V3 a, V3 b, float scale, int axis = 0, float warp = 0.f) {
  Material m;
  m.pattern = p;
  m.a = a;
  m.b = b;
  m.scale = scale;
  m.axis = axis;
  m.warp = warp;
  return m;
}
inline Material emissive(Material m, float emission) {
  m.emission = emission;
  return m;
}

// Display colour 0..255 (gamma 2.2) to linear RGB.
V3 srgb(int r, int g, int b);

// 3D value noise in [0, 1] (smooth, lattice spacing 1), keyed.
float value_noise(std::uint64_t key, V3 p);
// Three octaves of value noise, in [0, 1].
float fractal_noise(std::uint64_t key, V3 p);

// Albedo at a surface point given in the primitive's local frame (q) with local normal nl.
// Surface coordinates (u, v) are the two local axes most orthogonal to the normal.
V3 albedo(const Material& m, V3 q, V3 nl);

}  // namespace jnerf::synth
