#pragma once
// Per-ray Jacobians of the rendered colour w.r.t. the fine RGB head, their closed-form
// backward, and the head-perturbation responses of label propagation. Shared by the CUDA
// kernels (jacobian.cu) and the CPU backend (src/shape/jacobian_cpu.cpp).
//
// The RGB head is z_i = W h_i + b (3 x V weight), s_i = sigmoid(z_i), C = sum_i w_i s_i (+
// background). For a per-ray channel mix c (3 numbers: 1/3 each for the grey colour, a
// one-hot for one channel, ones for the three channel blocks) the Jacobian of sum_k c_k C_k
// w.r.t. W is, row k: g[k, j] = c_k sum_i w_i s'_ik h_ij, s' = s (1 - s); with the bias,
// column V of row k is c_k sum_i w_i s'_ik (h_iV = 1).
//
// Layouts (n = R * S samples, sample i of ray r at r * S + i):
//   w     n        compositing weights, ray-major
//   s     3 x n    sample colours after the sigmoid, feature-major
//   h     V x n    head input (after its ReLU), feature-major
//   coef  R x 3    channel mix per ray
//   g, G  R x 3Dk  per ray, row k = [dC/dW[k, 0..V-1], dC/db[k] if Dk = V + 1]
#include "jn_common.cuh"

namespace jnerf {

template <class T>
JN_HD T head_input_at(const T* h, int j, int V, long long n, long long sample) {
  return j < V ? h[j * n + sample] : T(1);  // column V is the bias
}

// Column j (all three rows) of ray r's Jacobian.
template <class T>
JN_HD void jacobian_column(long long r, int j, int S, long long n, int V, int Dk, const T* coef, const T* w,
                           const T* s, const T* h, T* g) {
  T acc0 = T(0), acc1 = T(0), acc2 = T(0);
  for (int i = 0; i < S; ++i) {
    const long long idx = r * S + i;
    const T wh = w[idx] * head_input_at(h, j, V, n, idx);
    const T s0 = s[idx], s1 = s[n + idx], s2 = s[2 * n + idx];
    acc0 += wh * s0 * (T(1) - s0);
    acc1 += wh * s1 * (T(1) - s1);
    acc2 += wh * s2 * (T(1) - s2);
  }
  T* row = g + r * 3 * Dk;
  row[j] = coef[3 * r] * acc0;
  row[Dk + j] = coef[3 * r + 1] * acc1;
  row[2 * Dk + j] = coef[3 * r + 2] * acc2;
}

// Backward of the Jacobian at one sample, given G = dL/dg of its ray:
//   u_k      = sum_j G[k, j] h_ij
//   dL/dw_i  = sum_k c_k s'_ik u_k                       (written to d_w)
//   dL/dz_ik = c_k w_i s'_ik (1 - 2 s_ik) u_k            (added to d_z)
//   dL/dh_ij = w_i sum_k c_k s'_ik G[k, j],  j < V        (written to d_h unless nullptr)
template <class T>
JN_HD void jacobian_backward_sample(long long idx, int S, long long n, int V, int Dk, const T* coef, const T* G,
                                    const T* w, const T* s, const T* h, T* d_h, T* d_z, T* d_w) {
  const long long r = idx / S;
  const T* Gr = G + r * 3 * Dk;
  T sp[3], a[3], u[3];
  for (int k = 0; k < 3; ++k) {
    const T sk = s[k * n + idx];
    sp[k] = sk * (T(1) - sk);
    a[k] = coef[3 * r + k] * sp[k];
    u[k] = Dk > V ? Gr[k * Dk + V] : T(0);
  }
  for (int j = 0; j < V; ++j) {
    const T hij = h[j * n + idx];
    u[0] += Gr[j] * hij;
    u[1] += Gr[Dk + j] * hij;
    u[2] += Gr[2 * Dk + j] * hij;
  }
  const T wi = w[idx];
  d_w[idx] = a[0] * u[0] + a[1] * u[1] + a[2] * u[2];
  for (int k = 0; k < 3; ++k) d_z[k * n + idx] += wi * a[k] * (T(1) - T(2) * s[k * n + idx]) * u[k];
  if (d_h)
    for (int j = 0; j < V; ++j) d_h[j * n + idx] = wi * (a[0] * Gr[j] + a[1] * Gr[Dk + j] + a[2] * Gr[2 * Dk + j]);
}

// 3D propagation response of ray r for one class: R = sum_i w_i |m_i|, where m (n values,
// one per sample) is the per-sample mean raw-colour change (see propagate/).
template <class T>
JN_HD T weighted_abs_sum_ray(long long r, int S, const T* w, const T* m) {
  T acc = T(0);
  for (int i = 0; i < S; ++i) {
    const T v = m[r * S + i];
    acc += w[r * S + i] * (v < T(0) ? -v : v);
  }
  return acc;
}

// sigmoid(z + d) - sigmoid(z), formed as sigmoid(z + d) (1 - sigmoid(z)) (1 - e^-d), which
// keeps its relative precision for small d. A large |d| (here no cancellation to avoid)
// takes the plain difference: the product would be inf * 0 once exp(-d) overflows.
JN_HD double sigmoid_change(double z, double d) {
  if (d > 40 || d < -40) return 1.0 / (1.0 + exp(-(z + d))) - 1.0 / (1.0 + exp(-z));
  return 1.0 / (1.0 + exp(-(z + d))) / (1.0 + exp(z)) * -expm1(-d);
}

// 2D response of ray r to a head perturbation, exactly (perturb2d): the head moves only
// the sample colours, s_ik = sigmoid(z_ik) -> sigmoid(z_ik + dz_ik), so
//   R = (1/3) sum_k | sum_i w_i (sigmoid(z_ik + dz_ik) - sigmoid(z_ik)) |.
// Each difference is sigmoid_change, summed in double. z, dz: 3 x n; w: n.
template <class T>
JN_HD double head_colour_change_ray(long long r, int S, long long n, const T* w, const T* z, const T* dz) {
  double total = 0;
  for (int k = 0; k < 3; ++k) {
    double change = 0;
    for (int i = 0; i < S; ++i) {
      const long long idx = r * S + i;
      change += double(w[idx]) * sigmoid_change(double(z[k * n + idx]), double(dz[k * n + idx]));
    }
    total += change < 0 ? -change : change;
  }
  return total / 3;
}

// 3D response of ray r from two raw-colour evaluations (perturb3d):
//   R = sum_i w_i | mean_k (raw_ik - raw0_ik) |,   raw, raw0: 3 x n.
template <class T>
JN_HD double raw_colour_change_ray(long long r, int S, long long n, const T* w, const T* raw0, const T* raw) {
  double acc = 0;
  for (int i = 0; i < S; ++i) {
    const long long idx = r * S + i;
    double mean = 0;
    for (int k = 0; k < 3; ++k) mean += double(raw[k * n + idx]) - double(raw0[k * n + idx]);
    mean /= 3;
    acc += double(w[idx]) * (mean < 0 ? -mean : mean);
  }
  return acc;
}

// First-order change of colour channel k of a ray under W += step * dir, from its
// channel-block Jacobian row (3 x Dk, dC_k / dW[k, :]): step dir[k, :] . J_r[k, :].
template <class T, class U>
JN_HD double first_order_channel_change(const T* row, const U* dir, int k, int Dk, double step) {
  double dc = 0;
  for (int j = 0; j < Dk; ++j) dc += double(dir[k * Dk + j]) * double(row[k * Dk + j]);
  return step * dc;
}

// First-order 2D response of ray r to W += step * dir (first_order2d), from its
// channel-block Jacobian J_r: R = (1/3) sum_k | first_order_channel_change |.
template <class T, class U>
JN_HD double linear_colour_change_ray(long long r, int Dk, const T* J, const U* dir, double step) {
  const T* row = J + r * 3 * Dk;
  double total = 0;
  for (int k = 0; k < 3; ++k) {
    const double dc = first_order_channel_change(row, dir, k, Dk, step);
    total += dc < 0 ? -dc : dc;
  }
  return total / 3;
}

// The colour change of `opacity` worth of samples of mean colour s whose colour moves by
// `linear` to first order, taken as one sample: its logit a = logit(s) moves by d = linear /
// (opacity s (1 - s)). Degenerate (empty or saturated) groups keep the first-order change.
// A faint group (opacity ~1e-11 behind a surface) can turn a float rounding error of
// `linear` into a huge d; its change then saturates, bounded by its opacity.
JN_HD double one_sample_colour_change(double opacity, double s, double linear) {
  s = s < 1e-6 ? 1e-6 : (s > 1 - 1e-6 ? 1 - 1e-6 : s);
  const double slope = opacity * s * (1 - s);
  if (!(slope > 1e-12)) return linear;
  return opacity * sigmoid_change(log(s / (1 - s)), linear / slope);
}

// Samples per ray that linear2d moves exactly (surface_colour_change_ray).
constexpr int kSurfaceSamples = 3;

// What linear2d needs of ray r whatever the class: its opacity sum_i w_i, foreground colour
// F_k = sum_i w_i sigmoid(z_ik) and its kSurfaceSamples heaviest samples (indices into n).
struct SurfaceSummary {
  double opacity = 0, fg[3] = {0, 0, 0};
  long long top[kSurfaceSamples] = {};
  int tops = 0;
};

template <class T>
JN_HD SurfaceSummary surface_summary_ray(long long r, int S, long long n, const T* w, const T* z) {
  SurfaceSummary sum;
  const long long first = r * S;
  // The heaviest samples, by repeated selection (S is small).
  for (; sum.tops < kSurfaceSamples && sum.tops < S; ++sum.tops) {
    long long best = -1;
    for (int i = 0; i < S; ++i) {
      bool taken = false;
      for (int t = 0; t < sum.tops; ++t) taken = taken || sum.top[t] == first + i;
      if (!taken && (best < 0 || w[first + i] > w[best])) best = first + i;
    }
    sum.top[sum.tops] = best;
  }
  for (int i = 0; i < S; ++i) sum.opacity += double(w[first + i]);
  for (int k = 0; k < 3; ++k)
    for (int i = 0; i < S; ++i) sum.fg[k] += double(w[first + i]) / (1.0 + exp(-double(z[k * n + first + i])));
  return sum;
}

// 2D response of ray r to W += step * dir from its channel-block Jacobian J_r (3 x Dk),
// with the sigmoid kept (linear2d). The ray's kSurfaceSamples heaviest samples are moved
// exactly (logit change step (dir[k, :V] . h_i + dir[k, V] when Dk > V)); the others, whose
// first-order change is what remains of step dir . J_r, are taken as one sample with their
// opacity and mean colour (one_sample_colour_change). Exact for a ray whose weight sits on
// up to kSurfaceSamples + 1 samples (a surface), the first-order term for small steps, and
// saturating as the colour does, where the first-order term keeps growing.
//   R = (1/3) sum_k |dC_k|;  w: n, z: raw colours 3 x n, h: head input V x n; `sum` is
//   surface_summary_ray of the same ray.
template <class T, class U>
JN_HD double surface_colour_change_ray(long long r, const SurfaceSummary& sum, long long n, int V, int Dk, const T* w,
                                       const T* z, const T* h, const T* J, const U* dir, double step) {
  const T* row = J + r * 3 * Dk;
  double total = 0;
  for (int k = 0; k < 3; ++k) {
    const double linear = first_order_channel_change(row, dir, k, Dk, step);
    double change = 0, rest_opacity = sum.opacity, rest_fg = sum.fg[k], rest_linear = linear;
    for (int t = 0; t < sum.tops; ++t) {
      const long long i = sum.top[t];
      double d = Dk > V ? double(dir[k * Dk + V]) : 0.0;
      for (int j = 0; j < V; ++j) d += double(dir[k * Dk + j]) * double(h[j * n + i]);
      d *= step;
      const double wi = double(w[i]), zi = double(z[k * n + i]), si = 1.0 / (1.0 + exp(-zi));
      change += wi * sigmoid_change(zi, d);
      rest_opacity -= wi;
      rest_fg -= wi * si;
      rest_linear -= wi * si * (1 - si) * d;
    }
    change += rest_opacity > 0 ? one_sample_colour_change(rest_opacity, rest_fg / rest_opacity, rest_linear)
                               : rest_linear;
    total += change < 0 ? -change : change;
  }
  return total / 3;
}

// Absolute cosine between ray r's Jacobian J_r (D numbers, the shaping layout) and a
// class direction (cosine2d): |J_r . dir| / (|J_r| |dir| + 1e-7), the similarity the
// shaping loss aligns, so maps of different classes compare without normalisation.
template <class T, class U>
JN_HD double jacobian_cosine_ray(long long r, int D, const T* J, const U* dir) {
  const T* row = J + r * D;
  double dot = 0, jj = 0, dd = 0;
  for (int j = 0; j < D; ++j) {
    const double a = double(row[j]), b = double(dir[j]);
    dot += a * b;
    jj += a * a;
    dd += b * b;
  }
  return (dot < 0 ? -dot : dot) / (sqrt(jj) * sqrt(dd) + 1e-7);
}

}  // namespace jnerf
