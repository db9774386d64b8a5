#pragma once
// Sample placement along one ray (JN_HD: one CUDA thread, or one CPU loop iteration, per
// ray). nerf-pytorch semantics (the JacobiNeRF reference uses it), random numbers supplied
// by the caller so CPU and CUDA produce identical samples. Samples carry no gradient.
#include "jn_common.cuh"

namespace jnerf {

// torch.linspace(0, 1, n)[i]: symmetric evaluation so both ends are exact.
template <class T>
JN_HD T linspace01(int i, int n) {
  if (n <= 1) return T(0);
  const T step = T(1) / T(n - 1);
  return (2 * i < n) ? T(i) * step : T(1) - T(n - 1 - i) * step;
}

// Stratified samples of one ray on [near, far], S values written to t[0..S).
//   u == nullptr: z_i = near * (1 - l_i) + far * l_i, l = linspace(0, 1, S) (both ends
//                 included, nerf-pytorch `lindisp=False`);
//   u != nullptr: S uniforms in [0, 1); mids_i = (z_i + z_{i+1}) / 2,
//                 lower = [z_0, mids], upper = [mids, z_{S-1}], t_i = lower_i +
//                 (upper_i - lower_i) * u_i, clamped to [lower_i, upper_i] (only rounding
//                 can leave the interval), so t is non-decreasing.
template <class T>
JN_HD void stratified_sample_ray(int S, T near, T far, const T* u, T* t) {
  // First pass: the deterministic grid (also the perturbed result's scaffolding).
  for (int i = 0; i < S; ++i) {
    const T l = linspace01<T>(i, S);
    t[i] = near * (T(1) - l) + far * l;
  }
  if (u == nullptr) return;
  // In place, left to right: lower_i needs the grid z_{i-1}, which we keep in `prev`.
  T prev = t[0];
  for (int i = 0; i < S; ++i) {
    const T zi = t[i];
    const T lower = (i == 0) ? zi : T(0.5) * (prev + zi);
    const T upper = (i == S - 1) ? zi : T(0.5) * (zi + t[i + 1]);
    T v = lower + (upper - lower) * u[i];
    v = v < lower ? lower : v;
    v = v > upper ? upper : v;
    prev = zi;
    t[i] = v;
  }
}

// searchsorted(a[0..n), x, right=True): the number of entries <= x (a sorted ascending).
template <class T>
JN_HD int searchsorted_right(const T* a, int n, T x) {
  int lo = 0, hi = n;
  while (lo < hi) {
    const int mid = (lo + hi) >> 1;
    if (a[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// Restores the max-heap property below `root` in a[0..end).
template <class T>
JN_HD void heap_sift_down(T* a, int root, int end) {
  while (true) {
    int child = 2 * root + 1;
    if (child >= end) return;
    if (child + 1 < end && a[child] < a[child + 1]) ++child;
    if (!(a[root] < a[child])) return;
    const T tmp = a[root];
    a[root] = a[child];
    a[child] = tmp;
    root = child;
  }
}

// In-place ascending heapsort of a[0..n) (O(n log n), no extra memory: fits a GPU thread).
template <class T>
JN_HD void heapsort_inplace(T* a, int n) {
  for (int start = n / 2 - 1; start >= 0; --start) heap_sift_down(a, start, n);
  for (int end = n - 1; end > 0; --end) {
    const T tmp = a[0];
    a[0] = a[end];
    a[end] = tmp;
    heap_sift_down(a, 0, end);
  }
}

// Hierarchical (importance) sampling of one ray: nerf-pytorch's sample_pdf followed by
// render_rays' sort(cat(z, samples)).
//   z[0..S)          coarse sample depths, ascending (S >= 3);
//   w[0..S)          coarse compositing weights;
//   u[0..Nf)         uniforms in [0, 1), or nullptr for linspace(0, 1, Nf) (det=True);
//   out[0..S+Nf)     sorted union of z and the Nf new samples.
// bins = mids of z (S-1 values), pdf from w[1..S-2] + 1e-5 (S-2 values), cdf = [0,
// cumsum(pdf)] (S-1 values); sample = bins[below] + (u - cdf[below]) / denom *
// (bins[above] - bins[below]), idx = searchsorted(cdf, u, right), below = max(idx-1, 0),
// above = min(idx, S-2), denom = cdf[above] - cdf[below] (1 if < 1e-5).
// `out` doubles as scratch: the cdf lives in out[0..S-1) while the samples are drawn into
// out[S..S+Nf); they are then sorted and merged forward with z (a forward merge never
// overwrites an unread sample because the write index i + j <= S + j).
template <class T>
JN_HD void importance_sample_ray(int S, int Nf, const T* z, const T* w, const T* u, T* out) {
  const int nb = S - 1;  // bins and cdf entries
  T* cdf = out;
  T* samples = out + S;
  T total = T(0);
  for (int k = 0; k < S - 2; ++k) total += w[k + 1] + T(1e-5);
  cdf[0] = T(0);
  for (int k = 0; k < S - 2; ++k) cdf[k + 1] = cdf[k] + (w[k + 1] + T(1e-5)) / total;
  for (int s = 0; s < Nf; ++s) {
    const T us = u ? u[s] : linspace01<T>(s, Nf);
    const int idx = searchsorted_right(cdf, nb, us);
    const int below = idx - 1 > 0 ? idx - 1 : 0;
    const int above = idx < nb - 1 ? idx : nb - 1;
    const T c_below = cdf[below];
    T denom = cdf[above] - c_below;
    if (denom < T(1e-5)) denom = T(1);
    const T frac = (us - c_below) / denom;
    const T b_below = T(0.5) * (z[below] + z[below + 1]);
    const T b_above = T(0.5) * (z[above] + z[above + 1]);
    samples[s] = b_below + frac * (b_above - b_below);
  }
  heapsort_inplace(samples, Nf);
  // Forward merge of z[0..S) and samples (= out[S..S+Nf)) into out[0..S+Nf).
  int i = 0, j = 0;
  while (i < S || j < Nf) {
    const bool take_z = (j >= Nf) || (i < S && !(samples[j] < z[i]));
    out[i + j] = take_z ? z[i] : samples[j];
    if (take_z) ++i;
    else ++j;
  }
}

}  // namespace jnerf
