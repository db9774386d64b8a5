#pragma once
// Input encodings, one sample at a time (JN_HD: shared by the CPU loops in
// src/model/encoding_cpu.cpp and the CUDA kernels in kernels/encoding.cu).
//
// Every function reads one sample's input as a small array and writes / reads that
// sample's features through a pointer plus a stride, so the batch code can pass
// `out + s` and stride `n` for the feature-major layout out[f * n + s].
//
// 1. Frequency encoding (nerf-pytorch / Semantic-NeRF "Embedder", include_input, log
//    sampling): p' = scale * p, features
//      [p', sin(2^0 p'), cos(2^0 p'), sin(2^1 p'), cos(2^1 p'), ..., cos(2^(L-1) p')]
//    where each term is a 3-vector: 3 + 6L features (L = 10: 63, L = 4: 27).
//
// 2. Real spherical harmonics up to band 3 (16 coefficients), tiny-cuda-nn / instant-ngp
//    convention: same signs, same order, same constants (orthonormal SH,
//    integral over the unit sphere of Y_i Y_j dOmega = delta_ij, i.e. the mean over the
//    sphere of Y_i Y_j is delta_ij / (4 pi)). Difference from tcnn: tcnn's input is a
//    direction mapped to [0,1]^3 (it computes x = 2 u - 1); we take the unit direction
//    (x, y, z) itself. The polynomials are evaluated as written (no renormalisation), and
//    the backward is the gradient of those polynomials w.r.t. (x, y, z) (tcnn's gradient
//    w.r.t. u is twice ours).
//
// 3. Multiresolution hash grid (Mueller et al. 2022), 3D, inputs in [0,1]^3 (clamped).
//    Level l has resolution N_l (computed on the host, see HashGridConfig in
//    include/jnerf/model/encoding.hpp) and (N_l + 1)^3 vertices; the point's grid position
//    is x * N_l (vertices at integer positions 0..N_l, no half-cell offset: the paper's
//    formulation, not tcnn's `x * scale + 0.5`). Vertex (i, j, k) maps to table entry
//      dense level ((N_l + 1)^3 <= T): i + (N_l + 1) * (j + (N_l + 1) * k)
//      hashed level:                   (i * 1 ^ j * 2654435761 ^ k * 805459861) mod T
//    (uint32 wrap-around products, T a power of two). Parameters: one flat array
//    params[(l * T + entry) * F + f] (level-major, then entry, then feature).
//    Output feature (l, f) is the trilinear interpolation of the 8 corner vertices.
#include <math.h>
#include <stdint.h>

#include "jn_common.cuh"

namespace jnerf {

// ---- scalar helpers (float / double overloads usable on host and device) --------------
JN_HD float enc_sin(float x) { return sinf(x); }
JN_HD double enc_sin(double x) { return sin(x); }
JN_HD float enc_cos(float x) { return cosf(x); }
JN_HD double enc_cos(double x) { return cos(x); }
JN_HD float enc_floor(float x) { return floorf(x); }
JN_HD double enc_floor(double x) { return floor(x); }

// =========================================================================================
// 1. Frequency encoding
// =========================================================================================

JN_HD int frequency_encoding_dims(int frequencies) { return 3 + 6 * frequencies; }

// out[f * stride] for f = 0 .. 3 + 6L - 1.
template <class T>
JN_HD void frequency_encode_one(const T p[3], int frequencies, T scale, T* out, long long stride) {
  T q[3];
  for (int c = 0; c < 3; ++c) {
    q[c] = p[c] * scale;
    out[c * stride] = q[c];
  }
  T freq = T(1);
  for (int k = 0; k < frequencies; ++k) {
    for (int c = 0; c < 3; ++c) {
      const T a = freq * q[c];
      out[(3 + 6 * k + c) * stride] = enc_sin(a);
      out[(6 + 6 * k + c) * stride] = enc_cos(a);
    }
    freq *= T(2);
  }
}

// d_p = d out / d p contracted with d_out (d_out[f * stride]); writes d_p (no accumulation).
template <class T>
JN_HD void frequency_encode_backward_one(const T p[3], const T* d_out, long long stride, int frequencies,
                                         T scale, T d_p[3]) {
  for (int c = 0; c < 3; ++c) {
    const T q = p[c] * scale;
    T g = d_out[c * stride];
    T freq = T(1);
    for (int k = 0; k < frequencies; ++k) {
      const T a = freq * q;
      g += freq * (enc_cos(a) * d_out[(3 + 6 * k + c) * stride] - enc_sin(a) * d_out[(6 + 6 * k + c) * stride]);
      freq *= T(2);
    }
    d_p[c] = scale * g;
  }
}

// =========================================================================================
// 2. Spherical harmonics, bands 0..3 (16 coefficients)
// =========================================================================================

constexpr int kSh4Dims = 16;

// Constants (tcnn's values; exact expressions in the comments).
namespace sh {
constexpr double C0 = 0.28209479177387814;   // 1 / (2 sqrt(pi))
constexpr double C1 = 0.48860251190291987;   // sqrt(3) / (2 sqrt(pi))
constexpr double C2a = 1.0925484305920792;   // sqrt(15) / (2 sqrt(pi))
constexpr double C2b = 0.94617469575755997;  // 3 sqrt(5) / (4 sqrt(pi))
constexpr double C2c = 0.31539156525251999;  // sqrt(5) / (4 sqrt(pi))
constexpr double C2d = 0.54627421529603959;  // sqrt(15) / (4 sqrt(pi))
constexpr double C3a = 0.59004358992664352;  // sqrt(70) / (8 sqrt(pi))
constexpr double C3b = 2.8906114426405538;   // sqrt(105) / (2 sqrt(pi))
constexpr double C3c = 0.45704579946446572;  // sqrt(42) / (8 sqrt(pi))
constexpr double C3d = 0.3731763325901154;   // sqrt(7) / (4 sqrt(pi))
constexpr double C3e = 1.4453057213202769;   // sqrt(105) / (4 sqrt(pi))
}  // namespace sh

template <class T>
JN_HD void sh4_encode_one(const T d[3], T* out, long long stride) {
  const T x = d[0], y = d[1], z = d[2];
  const T xy = x * y, xz = x * z, yz = y * z, x2 = x * x, y2 = y * y, z2 = z * z;
  out[0 * stride] = T(sh::C0);
  out[1 * stride] = -T(sh::C1) * y;
  out[2 * stride] = T(sh::C1) * z;
  out[3 * stride] = -T(sh::C1) * x;
  out[4 * stride] = T(sh::C2a) * xy;
  out[5 * stride] = -T(sh::C2a) * yz;
  out[6 * stride] = T(sh::C2b) * z2 - T(sh::C2c);
  out[7 * stride] = -T(sh::C2a) * xz;
  out[8 * stride] = T(sh::C2d) * (x2 - y2);
  out[9 * stride] = T(sh::C3a) * y * (T(3) * -x2 + y2);
  out[10 * stride] = T(sh::C3b) * xy * z;
  out[11 * stride] = T(sh::C3c) * y * (T(1) - T(5) * z2);
  out[12 * stride] = T(sh::C3d) * z * (T(5) * z2 - T(3));
  out[13 * stride] = T(sh::C3c) * x * (T(1) - T(5) * z2);
  out[14 * stride] = T(sh::C3e) * z * (x2 - y2);
  out[15 * stride] = T(sh::C3a) * x * (-x2 + T(3) * y2);
}

// d_d = sum_i d_out[i] * grad Y_i(d); writes d_d (no accumulation).
template <class T>
JN_HD void sh4_encode_backward_one(const T d[3], const T* d_out, long long stride, T d_d[3]) {
  const T x = d[0], y = d[1], z = d[2];
  const T xy = x * y, xz = x * z, yz = y * z, x2 = x * x, y2 = y * y, z2 = z * z;
  T g[kSh4Dims];
  for (int i = 0; i < kSh4Dims; ++i) g[i] = d_out[i * stride];
  // Partial derivatives of each Y_i, grouped by coordinate.
  T gx = -T(sh::C1) * g[3]                                     //
         + T(sh::C2a) * (y * g[4] - z * g[7])                  //
         + T(2 * sh::C2d) * x * g[8]                           //
         - T(6 * sh::C3a) * xy * g[9]                          //
         + T(sh::C3b) * yz * g[10]                             //
         + T(sh::C3c) * (T(1) - T(5) * z2) * g[13]             //
         + T(2 * sh::C3e) * xz * g[14]                         //
         + T(3 * sh::C3a) * (y2 - x2) * g[15];
  T gy = -T(sh::C1) * g[1]                                     //
         + T(sh::C2a) * (x * g[4] - z * g[5])                  //
         - T(2 * sh::C2d) * y * g[8]                           //
         + T(3 * sh::C3a) * (y2 - x2) * g[9]                   //
         + T(sh::C3b) * xz * g[10]                             //
         + T(sh::C3c) * (T(1) - T(5) * z2) * g[11]             //
         - T(2 * sh::C3e) * yz * g[14]                         //
         + T(6 * sh::C3a) * xy * g[15];
  T gz = T(sh::C1) * g[2]                                      //
         - T(sh::C2a) * (y * g[5] + x * g[7])                  //
         + T(2 * sh::C2b) * z * g[6]                           //
         + T(sh::C3b) * xy * g[10]                             //
         - T(10 * sh::C3c) * (yz * g[11] + xz * g[13])         //
         + T(sh::C3d) * (T(15) * z2 - T(3)) * g[12]            //
         + T(sh::C3e) * (x2 - y2) * g[14];
  d_d[0] = gx;
  d_d[1] = gy;
  d_d[2] = gz;
}

// =========================================================================================
// 3. Multiresolution hash grid
// =========================================================================================

constexpr int kHashGridMaxLevels = 32;
constexpr uint32_t kHashPrime1 = 2654435761u;
constexpr uint32_t kHashPrime2 = 805459861u;

// What the per-sample code needs, precomputed on the host (HashGridConfig::levels_desc());
// small enough to pass to a kernel by value.
struct HashGridLevels {
  int levels;
  int features;         // F
  int log2_table_size;  // T = 2^log2_table_size entries per level
  uint32_t resolution[kHashGridMaxLevels];  // N_l
  uint32_t dense[kHashGridMaxLevels];       // 1 when (N_l + 1)^3 <= T
};

// Table entry (within its level) of grid vertex (i, j, k).
JN_HD uint32_t hash_grid_entry(uint32_t i, uint32_t j, uint32_t k, uint32_t resolution, bool dense,
                               uint32_t table_mask) {
  if (dense) {
    const uint32_t side = resolution + 1;
    return i + side * (j + side * k);
  }
  return ((i * 1u) ^ (j * kHashPrime1) ^ (k * kHashPrime2)) & table_mask;
}

// One level's cell: base vertex, fractional position in the cell, and d(frac)/d(x01)
// (N_l inside [0,1], 0 where the input was clamped).
template <class T>
struct HashGridCell {
  uint32_t base[3];
  T frac[3];
  T dfrac_dx[3];
};

template <class T>
JN_HD HashGridCell<T> hash_grid_cell(const T x01[3], uint32_t resolution) {
  HashGridCell<T> cell;
  const T res = T(resolution);
  for (int c = 0; c < 3; ++c) {
    T x = x01[c];
    T slope = res;
    if (!(x >= T(0))) {  // also maps NaN to 0
      x = T(0);
      slope = T(0);
    } else if (x > T(1)) {
      x = T(1);
      slope = T(0);
    }
    const T pos = x * res;
    uint32_t b = static_cast<uint32_t>(enc_floor(pos));
    if (b >= resolution) b = resolution - 1;  // x == 1: last cell, frac = 1
    cell.base[c] = b;
    cell.frac[c] = pos - T(b);
    cell.dfrac_dx[c] = slope;
  }
  return cell;
}

// Corner `corner` (bit 0: +x, bit 1: +y, bit 2: +z) of a cell: its entry and trilinear weight.
template <class T>
JN_HD uint32_t hash_grid_corner(const HashGridLevels& g, int level, const HashGridCell<T>& cell, int corner,
                                T& weight) {
  T w = T(1);
  uint32_t v[3];
  for (int c = 0; c < 3; ++c) {
    const bool hi = (corner >> c) & 1;
    v[c] = cell.base[c] + (hi ? 1u : 0u);
    w *= hi ? cell.frac[c] : T(1) - cell.frac[c];
  }
  weight = w;
  const uint32_t mask = (1u << g.log2_table_size) - 1u;
  return hash_grid_entry(v[0], v[1], v[2], g.resolution[level], g.dense[level] != 0, mask);
}

// Offset of the first feature of table entry `entry` of `level` in the flat parameter array.
JN_HD long long hash_grid_param_offset(const HashGridLevels& g, int level, uint32_t entry) {
  return ((static_cast<long long>(level) << g.log2_table_size) + entry) * g.features;
}

// Forward, one sample and one level: out[f * stride] for f < F (F == g.features).
template <class T, int F>
JN_HD void hash_grid_level_forward(const HashGridLevels& g, int level, const T* params, const T x01[3], T* out,
                                   long long stride) {
  const HashGridCell<T> cell = hash_grid_cell(x01, g.resolution[level]);
  T acc[F];
  for (int f = 0; f < F; ++f) acc[f] = T(0);
  for (int corner = 0; corner < 8; ++corner) {
    T w;
    const uint32_t entry = hash_grid_corner(g, level, cell, corner, w);
    const T* e = params + hash_grid_param_offset(g, level, entry);
    for (int f = 0; f < F; ++f) acc[f] += w * e[f];
  }
  for (int f = 0; f < F; ++f) out[f * stride] = acc[f];
}

// Backward, one sample and one level. Parameters: for every corner and feature calls
// add(offset, weight * d_out[f * stride]) with the flat parameter offset; the caller
// supplies the accumulation (plain, OpenMP atomic, CUDA atomicAdd). Input (only when
// d_x01 != nullptr, which then needs `params`): d_x01[c] += d(sum_f d_out_f out_f)/dx_c.
template <class T, int F, class Add>
JN_HD void hash_grid_level_backward(const HashGridLevels& g, int level, const T* params, const T x01[3],
                                    const T* d_out, long long stride, Add& add, T* d_x01) {
  const HashGridCell<T> cell = hash_grid_cell(x01, g.resolution[level]);
  T go[F];
  for (int f = 0; f < F; ++f) go[f] = d_out[f * stride];
  T grad[3] = {T(0), T(0), T(0)};
  for (int corner = 0; corner < 8; ++corner) {
    T w;
    const uint32_t entry = hash_grid_corner(g, level, cell, corner, w);
    const long long base = hash_grid_param_offset(g, level, entry);
    for (int f = 0; f < F; ++f) add(base + f, w * go[f]);
    if (d_x01 != nullptr) {
      T v = T(0);  // d_out . features(corner)
      for (int f = 0; f < F; ++f) v += go[f] * params[base + f];
      // d w / d frac_c = (+-1) * product of the other two factors.
      T fac[3];
      for (int c = 0; c < 3; ++c) fac[c] = ((corner >> c) & 1) ? cell.frac[c] : T(1) - cell.frac[c];
      for (int c = 0; c < 3; ++c) {
        const T sign = ((corner >> c) & 1) ? T(1) : T(-1);
        grad[c] += v * sign * fac[(c + 1) % 3] * fac[(c + 2) % 3];
      }
    }
  }
  if (d_x01 != nullptr)
    for (int c = 0; c < 3; ++c) d_x01[c] += grad[c] * cell.dfrac_dx[c];
}

// Parameters only.
template <class T, int F, class Add>
JN_HD void hash_grid_level_backward_params(const HashGridLevels& g, int level, const T x01[3], const T* d_out,
                                           long long stride, Add& add) {
  hash_grid_level_backward<T, F, Add>(g, level, static_cast<const T*>(nullptr), x01, d_out, stride, add,
                                      static_cast<T*>(nullptr));
}

// Input only: d_x01[c] += d(sum_f d_out_f out_f)/dx_c.
template <class T>
struct HashGridNoAdd {
  JN_HD void operator()(long long, T) const {}
};

template <class T, int F>
JN_HD void hash_grid_level_backward_input(const HashGridLevels& g, int level, const T* params, const T x01[3],
                                          const T* d_out, long long stride, T d_x01[3]) {
  HashGridNoAdd<T> none;
  hash_grid_level_backward<T, F, HashGridNoAdd<T>>(g, level, params, x01, d_out, stride, none, d_x01);
}

}  // namespace jnerf
