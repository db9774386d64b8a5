#pragma once
// Volume rendering (compositing) of one ray, forward and backward (JN_HD: one CUDA thread,
// or one CPU loop iteration, per ray).
//
// Model, for the S samples of a ray at depths t_0 <= ... <= t_{S-1}:
//   delta_i = (t_{i+1} - t_i) * |d|, delta_{S-1} = 1e10 * |d|   (nerf-pytorch; |d| is the
//             norm of the z-depth ray direction, so delta is a metric length)
//   alpha_i = 1 - exp(-sigma_i delta_i)
//   T_i     = exp(-sum_{j<i} sigma_j delta_j)     EXACT transmittance. nerf-pytorch uses
//             cumprod(1 - alpha + 1e-10), whose 1e-10 leaks light through opaque samples
//             and makes w depend on an arbitrary constant; exp of the summed optical depth
//             is the quantity that product approximates, stays exact for huge
//             sigma * delta (T -> 0, alpha -> 1, no NaN) and has the clean gradient below.
//   w_i     = T_i alpha_i
//   C       = sum_i w_i c_i + (1 - sum_i w_i) bg   (bg = 0 when no background is given)
//   depth   = sum_i w_i t_i   (z-depth, as nerf-pytorch),   acc = sum_i w_i.
//
// Backward, with G_i = dL/dw_i = dC.(c_i - bg) + ddepth t_i + dacc + extra_i:
//   dL/dc_i     = w_i dC
//   dL/dsigma_j = delta_j ( T_{j+1} G_j - sum_{i>j} w_i G_i ),  T_{j+1} = T_j (1 - alpha_j)
// computed in one forward pass: the suffix sum is total - prefix, where total =
// sum_i w_i G_i = dC.(C - bg) + ddepth depth + dacc acc + sum_i w_i extra_i comes from the
// forward outputs (nerfacc / instant-ngp style, no reverse scan). The last sample's suffix
// is exactly 0 and is set so (its delta is 1e10: cancellation noise must not be scaled).
#include "activation.cuh"

namespace jnerf {

// The length delta_i of sample i (already multiplied by |d|).
template <class T>
JN_HD T composite_delta(const T* t, int i, int S, T dir_norm) {
  return (i + 1 < S ? (t[i + 1] - t[i]) : T(1e10)) * dir_norm;
}

// One ray. Pointers are already offset to the ray:
//   sigma[i], t[i], w[i]   i < S (the ray's slice of the ray-major arrays);
//   rgb[k * n + i]         colour channel k of sample i (n = total samples in the batch);
//   bg                     3 values or nullptr;
//   C[k * R]               channel k of the ray's colour (R = rays in the batch);
//   depth, acc, w          may be nullptr (not written).
// rgb and C may both be nullptr: only the weights, depth and opacity are composited (a
// coarse pass whose colour nothing reads).
template <class T>
JN_HD void composite_forward_ray(int S, long long n, long long R, const T* sigma, const T* rgb, const T* t,
                                 T dir_norm, const T* bg, T* C, T* depth, T* acc, T* w) {
  T c0 = T(0), c1 = T(0), c2 = T(0), d = T(0), a = T(0);
  T tau = T(0);   // optical depth before sample i
  T trans = T(1); // T_i = exp(-tau)
  for (int i = 0; i < S; ++i) {
    const T sd = sigma[i] * composite_delta(t, i, S, dir_norm);
    const T alpha = -volmath::expm1_(-sd);
    const T wi = trans * alpha;
    if (rgb) {
      c0 += wi * rgb[i];
      c1 += wi * rgb[n + i];
      c2 += wi * rgb[2 * n + i];
    }
    d += wi * t[i];
    a += wi;
    if (w) w[i] = wi;
    tau += sd;
    trans = volmath::exp_(-tau);
  }
  if (C) {
    if (bg) {
      const T rest = T(1) - a;
      c0 += rest * bg[0];
      c1 += rest * bg[1];
      c2 += rest * bg[2];
    }
    C[0] = c0;
    C[R] = c1;
    C[2 * R] = c2;
  }
  if (depth) *depth = d;
  if (acc) *acc = a;
}

// One ray's backward. Same layouts as the forward; in addition
//   C[k * R], depth, acc, w[i]   the forward's outputs for this ray (depth / acc are read
//                                only when gdepth / gacc are nonzero);
//   gC[k * R]                    dL/dC;  gdepth, gacc: scalars (0 when absent);
//   gw[i]                        extra dL/dw_i, or nullptr;
//   gsigma[i], grgb[k * n + i]   outputs (overwritten).
template <class T>
JN_HD void composite_backward_ray(int S, long long n, long long R, const T* sigma, const T* rgb, const T* t,
                                  T dir_norm, const T* bg, const T* C, const T* depth, const T* acc,
                                  const T* w, const T* gC, T gdepth, T gacc, const T* gw, T* gsigma,
                                  T* grgb) {
  const T g0 = gC[0], g1 = gC[R], g2 = gC[2 * R];
  const T b0 = bg ? bg[0] : T(0), b1 = bg ? bg[1] : T(0), b2 = bg ? bg[2] : T(0);
  // total = sum_i w_i G_i from the forward outputs.
  T total = g0 * (C[0] - b0) + g1 * (C[R] - b1) + g2 * (C[2 * R] - b2);
  if (gdepth != T(0)) total += gdepth * *depth;
  if (gacc != T(0)) total += gacc * *acc;
  const T gbg = g0 * b0 + g1 * b1 + g2 * b2;  // dC.bg, shared by every G_i
  if (gw)
    for (int i = 0; i < S; ++i) total += w[i] * gw[i];
  T prefix = T(0);
  T tau = T(0);
  for (int j = 0; j < S; ++j) {
    const T delta = composite_delta(t, j, S, dir_norm);
    tau += sigma[j] * delta;
    const T trans_next = volmath::exp_(-tau);  // T_{j+1}
    const T r0 = rgb[j], r1 = rgb[n + j], r2 = rgb[2 * n + j];
    T G = g0 * r0 + g1 * r1 + g2 * r2 - gbg + gdepth * t[j] + gacc;
    if (gw) G += gw[j];
    const T wj = w[j];
    prefix += wj * G;
    const T suffix = (j + 1 < S) ? total - prefix : T(0);
    gsigma[j] = delta * (trans_next * G - suffix);
    grgb[j] = wj * g0;
    grgb[n + j] = wj * g1;
    grgb[2 * n + j] = wj * g2;
  }
}

}  // namespace jnerf
