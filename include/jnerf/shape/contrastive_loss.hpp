#pragma once
// The JacobiNeRF mutual-information shaping loss on a batch of per-ray Jacobians, exactly
// as the reference (DESIGN.md 1.1), with its closed-form gradient w.r.t. the Jacobians.
//
//   sim(a, b) = |g_a . g_b| / (|g_a| |g_b| + 1e-7)            (or the signed cosine)
//   P_a = { q : affinity(a, q) > tau } (a itself included), N_a = the rest of the batch
//   L_a = -log( S_P / (S_P + S_N) + 1e-7 ),  S_X = sum_{q in X} exp(sim(a, q) / T)
//   L_MI = mean of L_a over anchors with S_P > 0 and S_N > 0;  L_norm = mean (|g_r| - 1)^2
//   loss = weight_mi L_MI + weight_norm L_norm
// tau adapts after every anchor (before the next anchor's positives are taken): if |P_a| <
// int(low B) and tau > tau_min, tau -= step; else if |P_a| > int(high B) and tau < tau_max,
// tau += step. Everything is computed in double (kernels/contrastive.cuh, shared with the
// CUDA kernels; shape/contrastive_kernels.hpp runs it on a backend's arrays).
#include <string>
#include <vector>

#include "jnerf/core/config.hpp"
#include "jnerf/shape/contrastive_kernels.hpp"

namespace jnerf {

enum class JacobianSimilarity { AbsCosine, Cosine };

struct ContrastiveSettings {
  JacobianSimilarity similarity = JacobianSimilarity::AbsCosine;
  double temperature = 1.0;
  double weight_mi = 1e-2, weight_norm = 1e-2;
  bool tau_adaptive = true;
  double tau_init = 0.8, tau_min = 0.5, tau_max = 0.9, tau_step = 1e-3;
  double positive_low_fraction = 0.05, positive_high_fraction = 0.15;

  static ContrastiveSettings from_config(const Json& config);  // the "shape" section
  // Resolved for batches of B; `adapt` false freezes tau whatever tau_adaptive says.
  ContrastiveParams params(int B, bool adapt) const;
};

// shape.rays_per_batch, checked for the backend that runs the loss ("cpu" or "cuda"): at
// least 2 (the loss contrasts rays), and at most kCudaContrastiveMaxBatch on CUDA.
int shaping_rays_per_batch(const Json& config, const std::string& backend);

struct ContrastiveResult {
  double loss = 0;            // weight_mi L_MI + weight_norm L_norm
  double mi = 0, norm = 0;    // L_MI, L_norm
  int anchors = 0, counted = 0;
  double mean_positives = 0;  // mean |P_a|
  double mean_jacobian_norm = 0;
  double tau_before = 0, tau_after = 0;
  std::vector<double> grad;   // dloss/dg, B x D (empty when it stayed on the backend)
  double seconds = 0;         // wall time of the loss and its gradient

  void set_stats(const ContrastiveStats& stats);  // everything but anchors, tau_before, grad
};

// g: B x D row-major Jacobians; affinity: B x B from the feature prior. `tau` is the
// adaptive threshold's state, updated in place unless `adapt_tau` is false (priors that
// give exact labels, such as the oracle, do not use it).
ContrastiveResult contrastive_loss(const std::vector<double>& g, int B, int D, const std::vector<double>& affinity,
                                   const ContrastiveSettings& settings, double& tau, bool adapt_tau = true);

// sim(a, b) of two Jacobians under the chosen similarity.
double jacobian_similarity(const double* a, const double* b, int D, JacobianSimilarity similarity);

}  // namespace jnerf
