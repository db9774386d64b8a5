#pragma once
// Small float 3-vector for the synthetic-scene ray tracer (header-only, no dependencies).
#include <cmath>

namespace jnerf::synth {

struct V3 {
  float x = 0.f, y = 0.f, z = 0.f;
  constexpr V3() = default;
  constexpr V3(float x_, float y_, float z_) : x(x_), y(y_), z(z_) {}
  constexpr float operator[](int i) const { return i == 0 ? x : (i == 1 ? y : z); }
};

constexpr V3 operator+(V3 a, V3 b) { return {a.x + b.x, a.y + b.y, a.z + b.z}; }
constexpr V3 operator-(V3 a, V3 b) { return {a.x - b.x, a.y - b.y, a.z - b.z}; }
constexpr V3 operator-(V3 a) { return {-a.x, -a.y, -a.z}; }
constexpr V3 operator*(V3 a, float s) { return {a.x * s, a.y * s, a.z * s}; }
constexpr V3 operator*(float s, V3 a) { return {a.x * s, a.y * s, a.z * s}; }
constexpr V3 operator*(V3 a, V3 b) { return {a.x * b.x, a.y * b.y, a.z * b.z}; }
constexpr V3 operator/(V3 a, float s) { return {a.x / s, a.y / s, a.z / s}; }
inline V3& operator+=(V3& a, V3 b) { a = a + b; return a; }
inline V3& operator*=(V3& a, float s) { a = a * s; return a; }

constexpr float dot(V3 a, V3 b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
constexpr V3 cross(V3 a, V3 b) {
  return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
}
inline float length(V3 a) { return std::sqrt(dot(a, a)); }
inline V3 normalize(V3 a) {
  const float n = length(a);
  return n > 0.f ? a / n : a;
}
inline V3 vmin(V3 a, V3 b) { return {std::fmin(a.x, b.x), std::fmin(a.y, b.y), std::fmin(a.z, b.z)}; }
inline V3 vmax(V3 a, V3 b) { return {std::fmax(a.x, b.x), std::fmax(a.y, b.y), std::fmax(a.z, b.z)}; }
inline V3 lerp(V3 a, V3 b, float t) { return a + (b - a) * t; }

// Rotation about the world z axis by the angle whose cosine and sine are (c, s).
constexpr V3 rot_z(V3 a, float c, float s) { return {c * a.x - s * a.y, s * a.x + c * a.y, a.z}; }

}  // namespace jnerf::synth
