#pragma once
// The shaping loss's arithmetic (DESIGN.md 1.1, shape/contrastive_loss.hpp), in double,
// shared by the CPU implementation (src/shape/contrastive_loss.cpp) and the CUDA kernels
// (contrastive.cu). A batch is small (64 rays in the reference), so the layouts are plain
// row-major: gram, d_sim, positive B x B; g, grad B x D.
//
// The gradient is taken row by row: with M = mi_scale (d_sim + d_sim^T) (each pair enters
// as anchor and as other), dloss/dg_a = sum_q M_aq phi'(d_aq) / den_aq g_q
//   - (sum_q M_aq phi(d_aq) n_q / (n_a den_aq^2)) g_a + weight_norm 2 (n_a - 1) / (B n_a) g_a,
// d = g_a . g_q, n = |g|, den = n_a n_q + 1e-7, phi = |.| or the identity.
#include "jn_common.cuh"

namespace jnerf {

constexpr double kContrastiveCosineEps = 1e-7;  // the reference's denominators
constexpr double kContrastiveLogEps = 1e-7;

// ContrastiveSettings resolved for one batch size (no JSON, so kernels can take it).
struct ContrastiveParams {
  bool absolute = true;  // |cos| (the reference) or the signed cosine
  double temperature = 1.0;
  double weight_mi = 1e-2, weight_norm = 1e-2;
  bool adapt_tau = true;
  double tau_min = 0.5, tau_max = 0.9, tau_step = 1e-3;
  int low = 3, high = 9;  // int(0.05 B), int(0.15 B) for B = 64
};

// What one batch's loss reports (the gradient goes to its own buffer).
struct ContrastiveStats {
  double loss = 0;          // weight_mi L_MI + weight_norm L_norm
  double mi = 0, norm = 0;  // L_MI, L_norm
  int counted = 0;          // anchors with positives and negatives
  double mean_positives = 0, mean_jacobian_norm = 0;
  double tau_after = 0;
};

JN_HD double contrastive_phi(double d, bool absolute) { return absolute ? fabs(d) : d; }
JN_HD double contrastive_dphi(double d, bool absolute) {
  return absolute ? (d > 0 ? 1.0 : (d < 0 ? -1.0 : 0.0)) : 1.0;
}

// The positive sets of all anchors in order (positive: B x B of 0/1), tau adapting after
// each anchor. Sequential by nature: anchor a's set depends on the walk so far. Returns tau
// after the batch; *positives_total = sum over anchors of |P_a|.
template <class A>
JN_HD double contrastive_positive_sets(int B, const A* affinity, double tau, const ContrastiveParams& p,
                                       unsigned char* positive, int* positives_total) {
  int total = 0;
  for (int a = 0; a < B; ++a) {
    int count = 0;
    for (int q = 0; q < B; ++q) {
      const bool is_positive = double(affinity[a * B + q]) > tau;
      positive[a * B + q] = is_positive ? 1 : 0;
      count += is_positive ? 1 : 0;
    }
    total += count;
    if (p.adapt_tau) {
      if (count < p.low && tau > p.tau_min) tau -= p.tau_step;
      else if (count > p.high && tau < p.tau_max) tau += p.tau_step;
    }
  }
  *positives_total = total;
  return tau;
}

// Anchor a's InfoNCE term: writes d_sim_row[q] = dL_a / dsim(a, q) and *loss = L_a, or
// zeroes both and returns false when the anchor does not count (no positive or no
// negative mass).
JN_HD bool contrastive_anchor(int a, int B, const double* gram, const double* norm, const unsigned char* positive,
                              const ContrastiveParams& p, double* d_sim_row, double* loss) {
  double sp = 0, sn = 0;
  for (int q = 0; q < B; ++q) {
    const double sim = contrastive_phi(gram[a * B + q], p.absolute) / (norm[a] * norm[q] + kContrastiveCosineEps);
    const double e = exp(sim / p.temperature);
    d_sim_row[q] = e;
    if (positive[a * B + q]) sp += e;
    else sn += e;
  }
  if (!(sp > 0 && sn > 0)) {
    for (int q = 0; q < B; ++q) d_sim_row[q] = 0;
    *loss = 0;
    return false;
  }
  const double x = sp / (sp + sn);
  *loss = -log(x + kContrastiveLogEps);
  const double outer = -1.0 / (x + kContrastiveLogEps) / ((sp + sn) * (sp + sn));
  const double d_sp = outer * sn, d_sn = -outer * sp;  // dL_a/dS_P, dL_a/dS_N
  for (int q = 0; q < B; ++q) d_sim_row[q] *= (positive[a * B + q] ? d_sp : d_sn) / p.temperature;
  return true;
}

// The pair (a, q)'s share of row a of the gradient: *on_other multiplies g_q, the return
// value adds to g_a's coefficient.
JN_HD double contrastive_pair_coefficients(int a, int q, int B, const double* gram, const double* norm,
                                           const double* d_sim, double mi_scale, bool absolute, double* on_other) {
  const double m = mi_scale * (d_sim[a * B + q] + d_sim[q * B + a]);
  const double d = gram[a * B + q], den = norm[a] * norm[q] + kContrastiveCosineEps;
  *on_other = m * contrastive_dphi(d, absolute) / den;
  return norm[a] > 0 ? -m * contrastive_phi(d, absolute) * norm[q] / (norm[a] * den * den) : 0.0;
}

// d weight_norm mean_r (n_r - 1)^2 / d g_a = (this) g_a.
JN_HD double contrastive_norm_coefficient(double n, int B, double weight_norm) {
  return n > 0 ? weight_norm * 2.0 * (n - 1) / (B * n) : 0.0;
}

// Element i of row a of the gradient from the row's coefficients (on_other: B values).
template <class G>
JN_HD double contrastive_grad_element(int a, int i, int B, int D, const G* g, const double* on_other,
                                      double on_self) {
  double acc = on_self * double(g[static_cast<long long>(a) * D + i]);
  for (int q = 0; q < B; ++q) acc += on_other[q] * double(g[static_cast<long long>(q) * D + i]);
  return acc;
}

}  // namespace jnerf
