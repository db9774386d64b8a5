#include "jnerf/shape/contrastive_loss.hpp"

#include <cmath>

#include "jnerf/core/error.hpp"

namespace jnerf {
namespace {

constexpr double kCosineEps = 1e-7;  // the reference's denominators
constexpr double kLogEps = 1e-7;

double dot(const double* a, const double* b, int D) {
  double s = 0;
  for (int i = 0; i < D; ++i) s += a[i] * b[i];
  return s;
}

double sign(double x) { return x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0); }

}  // namespace

ContrastiveSettings ContrastiveSettings::from_config(const Json& config) {
  ContrastiveSettings s;
  const std::string sim = config_get<std::string>(config, "shape.similarity");
  if (sim == "abs_cosine") s.similarity = JacobianSimilarity::AbsCosine;
  else if (sim == "cosine") s.similarity = JacobianSimilarity::Cosine;
  else throw InputError("config key 'shape.similarity': unknown value '" + sim + "' (expected abs_cosine or cosine)");
  s.temperature = config_get<double>(config, "shape.temperature");
  s.weight_mi = config_get<double>(config, "shape.weight_mi");
  s.weight_norm = config_get<double>(config, "shape.weight_norm");
  s.tau_adaptive = config_get<bool>(config, "shape.tau_adaptive");
  s.tau_init = config_get<double>(config, "shape.tau_init");
  s.tau_min = config_get<double>(config, "shape.tau_min");
  s.tau_max = config_get<double>(config, "shape.tau_max");
  s.tau_step = config_get<double>(config, "shape.tau_step");
  s.positive_low_fraction = config_get<double>(config, "shape.positive_low_fraction");
  s.positive_high_fraction = config_get<double>(config, "shape.positive_high_fraction");
  if (!(s.temperature > 0)) throw InputError("config key 'shape.temperature' must be > 0");
  if (s.weight_mi < 0 || s.weight_norm < 0) throw InputError("config keys 'shape.weight_mi' / 'shape.weight_norm' must be >= 0");
  if (!(s.tau_min <= s.tau_init && s.tau_init <= s.tau_max))
    throw InputError("config keys 'shape.tau_min' <= 'shape.tau_init' <= 'shape.tau_max' must hold");
  if (s.tau_step < 0) throw InputError("config key 'shape.tau_step' must be >= 0");
  return s;
}

double jacobian_similarity(const double* a, const double* b, int D, JacobianSimilarity similarity) {
  const double d = dot(a, b, D);
  const double den = std::sqrt(dot(a, a, D)) * std::sqrt(dot(b, b, D)) + kCosineEps;
  return (similarity == JacobianSimilarity::AbsCosine ? std::abs(d) : d) / den;
}

ContrastiveResult contrastive_loss(const std::vector<double>& g, int B, int D, const std::vector<double>& affinity,
                                   const ContrastiveSettings& s, double& tau, bool adapt_tau) {
  if (g.size() != static_cast<std::size_t>(B) * D || affinity.size() != static_cast<std::size_t>(B) * B)
    throw std::invalid_argument("contrastive_loss: sizes do not match the batch");
  ContrastiveResult out;
  out.anchors = B;
  out.tau_before = tau;
  out.grad.assign(g.size(), 0.0);
  const bool absolute = s.similarity == JacobianSimilarity::AbsCosine;

  std::vector<double> norm(B), gram(static_cast<std::size_t>(B) * B);
  for (int a = 0; a < B; ++a)
    for (int q = a; q < B; ++q)
      gram[a * B + q] = gram[q * B + a] = dot(&g[a * D], &g[q * D], D);
  for (int a = 0; a < B; ++a) norm[a] = std::sqrt(gram[a * B + a]);

  // dloss/dsim for every (anchor, other) pair, then one pass through sim's gradient.
  std::vector<double> d_sim(static_cast<std::size_t>(B) * B, 0.0), e(B);
  std::vector<char> positive(B);
  const int low = static_cast<int>(s.positive_low_fraction * B), high = static_cast<int>(s.positive_high_fraction * B);
  double mi_sum = 0, positives_sum = 0;
  for (int a = 0; a < B; ++a) {
    int count = 0;
    for (int q = 0; q < B; ++q) count += (positive[q] = affinity[a * B + q] > tau);
    positives_sum += count;
    if (adapt_tau && s.tau_adaptive) {
      if (count < low && tau > s.tau_min) tau -= s.tau_step;
      else if (count > high && tau < s.tau_max) tau += s.tau_step;
    }
    double sp = 0, sn = 0;
    for (int q = 0; q < B; ++q) {
      const double d = gram[a * B + q];
      const double sim = (absolute ? std::abs(d) : d) / (norm[a] * norm[q] + kCosineEps);
      e[q] = std::exp(sim / s.temperature);
      (positive[q] ? sp : sn) += e[q];
    }
    if (!(sp > 0 && sn > 0)) continue;
    ++out.counted;
    const double x = sp / (sp + sn);
    mi_sum += -std::log(x + kLogEps);
    const double outer = -1.0 / (x + kLogEps) / ((sp + sn) * (sp + sn));
    const double d_sp = outer * sn, d_sn = -outer * sp;  // dL_a/dS_P, dL_a/dS_N
    for (int q = 0; q < B; ++q) d_sim[a * B + q] = (positive[q] ? d_sp : d_sn) * e[q] / s.temperature;
  }
  out.tau_after = tau;
  out.mean_positives = positives_sum / B;

  const double mi_scale = out.counted > 0 ? s.weight_mi / out.counted : 0.0;
  out.mi = out.counted > 0 ? mi_sum / out.counted : 0.0;
  // sim = phi(d) / (n_a n_q + eps): d/dg_a = phi'(d) g_q / den - phi(d) n_q g_a / (n_a den^2),
  // symmetrically for g_q; the pair (a, a) is covered by adding both halves.
  for (int a = 0; a < B; ++a)
    for (int q = 0; q < B; ++q) {
      const double ds = d_sim[a * B + q] * mi_scale;
      if (ds == 0) continue;
      const double d = gram[a * B + q];
      const double den = norm[a] * norm[q] + kCosineEps;
      const double phi = absolute ? std::abs(d) : d, dphi = absolute ? sign(d) : 1.0;
      const double c_other = ds * dphi / den;
      const double c_a = norm[a] > 0 ? -ds * phi * norm[q] / (norm[a] * den * den) : 0.0;
      const double c_q = norm[q] > 0 ? -ds * phi * norm[a] / (norm[q] * den * den) : 0.0;
      double* ga = &out.grad[a * D];
      double* gq = &out.grad[q * D];
      const double* va = &g[a * D];
      const double* vq = &g[q * D];
      for (int i = 0; i < D; ++i) {
        ga[i] += c_other * vq[i] + c_a * va[i];
        gq[i] += c_other * va[i] + c_q * vq[i];
      }
    }

  double norm_sum = 0, norm_mean = 0;
  for (int r = 0; r < B; ++r) {
    norm_sum += (norm[r] - 1) * (norm[r] - 1);
    norm_mean += norm[r];
    if (norm[r] > 0) {
      const double c = s.weight_norm * 2.0 * (norm[r] - 1) / (B * norm[r]);
      for (int i = 0; i < D; ++i) out.grad[r * D + i] += c * g[r * D + i];
    }
  }
  out.norm = norm_sum / B;
  out.mean_jacobian_norm = norm_mean / B;
  out.loss = s.weight_mi * out.mi + s.weight_norm * out.norm;
  return out;
}

}  // namespace jnerf
