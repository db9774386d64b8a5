#include "jnerf/shape/contrastive_loss.hpp"

#include <cmath>
#include <stdexcept>

#include "jnerf/core/error.hpp"

namespace jnerf {
namespace {

double dot(const double* a, const double* b, int D) {
  double s = 0;
  for (int i = 0; i < D; ++i) s += a[i] * b[i];
  return s;
}

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

int shaping_rays_per_batch(const Json& config, const std::string& backend) {
  const int rays = config_get<int>(config, "shape.rays_per_batch");
  if (rays < 2) throw InputError("config key 'shape.rays_per_batch' must be >= 2 (the loss contrasts rays)");
  if (backend == "cuda" && rays > kCudaContrastiveMaxBatch)
    throw InputError("config key 'shape.rays_per_batch' must be <= " + std::to_string(kCudaContrastiveMaxBatch) +
                     " on CUDA (got " + std::to_string(rays) + ")");
  return rays;
}

ContrastiveParams ContrastiveSettings::params(int B, bool adapt) const {
  ContrastiveParams p;
  p.absolute = similarity == JacobianSimilarity::AbsCosine;
  p.temperature = temperature;
  p.weight_mi = weight_mi;
  p.weight_norm = weight_norm;
  p.adapt_tau = adapt && tau_adaptive;
  p.tau_min = tau_min;
  p.tau_max = tau_max;
  p.tau_step = tau_step;
  p.low = static_cast<int>(positive_low_fraction * B);
  p.high = static_cast<int>(positive_high_fraction * B);
  return p;
}

double jacobian_similarity(const double* a, const double* b, int D, JacobianSimilarity similarity) {
  const double d = dot(a, b, D);
  const double den = std::sqrt(dot(a, a, D)) * std::sqrt(dot(b, b, D)) + kContrastiveCosineEps;
  return contrastive_phi(d, similarity == JacobianSimilarity::AbsCosine) / den;
}

template <class T>
ContrastiveStats contrastive_loss_cpu(const T* g_in, int B, int D, const double* affinity, const ContrastiveParams& p,
                                      double tau, T* grad) {
  const std::size_t BB = static_cast<std::size_t>(B) * B;
  const std::vector<double> g(g_in, g_in + static_cast<std::size_t>(B) * D);
  std::vector<double> norm(B), gram(BB), d_sim(BB), on_other(B);
  std::vector<unsigned char> positive(BB);
  for (int a = 0; a < B; ++a)
    for (int q = a; q < B; ++q) gram[a * B + q] = gram[q * B + a] = dot(&g[a * D], &g[q * D], D);
  for (int a = 0; a < B; ++a) norm[a] = std::sqrt(gram[a * B + a]);

  ContrastiveStats out;
  int positives = 0;
  out.tau_after = contrastive_positive_sets(B, affinity, tau, p, positive.data(), &positives);
  out.mean_positives = static_cast<double>(positives) / B;
  double mi_sum = 0;
  for (int a = 0; a < B; ++a) {
    double la = 0;
    if (contrastive_anchor(a, B, gram.data(), norm.data(), positive.data(), p, &d_sim[a * B], &la)) {
      ++out.counted;
      mi_sum += la;
    }
  }
  out.mi = out.counted > 0 ? mi_sum / out.counted : 0.0;
  const double mi_scale = out.counted > 0 ? p.weight_mi / out.counted : 0.0;

  double norm_sum = 0, norm_mean = 0;
  for (int a = 0; a < B; ++a) {
    double on_self = contrastive_norm_coefficient(norm[a], B, p.weight_norm);
    for (int q = 0; q < B; ++q)
      on_self += contrastive_pair_coefficients(a, q, B, gram.data(), norm.data(), d_sim.data(), mi_scale, p.absolute,
                                               &on_other[q]);
    for (int i = 0; i < D; ++i)
      grad[static_cast<std::size_t>(a) * D + i] =
          static_cast<T>(contrastive_grad_element(a, i, B, D, g.data(), on_other.data(), on_self));
    norm_sum += (norm[a] - 1) * (norm[a] - 1);
    norm_mean += norm[a];
  }
  out.norm = norm_sum / B;
  out.mean_jacobian_norm = norm_mean / B;
  out.loss = p.weight_mi * out.mi + p.weight_norm * out.norm;
  return out;
}

template ContrastiveStats contrastive_loss_cpu<float>(const float*, int, int, const double*, const ContrastiveParams&,
                                                      double, float*);
template ContrastiveStats contrastive_loss_cpu<double>(const double*, int, int, const double*,
                                                       const ContrastiveParams&, double, double*);

ContrastiveResult contrastive_loss(const std::vector<double>& g, int B, int D, const std::vector<double>& affinity,
                                   const ContrastiveSettings& s, double& tau, bool adapt_tau) {
  if (g.size() != static_cast<std::size_t>(B) * D || affinity.size() != static_cast<std::size_t>(B) * B)
    throw std::invalid_argument("contrastive_loss: sizes do not match the batch");
  ContrastiveResult out;
  out.anchors = B;
  out.tau_before = tau;
  out.grad.assign(g.size(), 0.0);
  const ContrastiveStats stats = contrastive_loss_cpu(g.data(), B, D, affinity.data(), s.params(B, adapt_tau), tau,
                                                      out.grad.data());
  out.set_stats(stats);
  tau = stats.tau_after;
  return out;
}

void ContrastiveResult::set_stats(const ContrastiveStats& s) {
  loss = s.loss;
  mi = s.mi;
  norm = s.norm;
  counted = s.counted;
  mean_positives = s.mean_positives;
  mean_jacobian_norm = s.mean_jacobian_norm;
  tau_after = s.tau_after;
}

}  // namespace jnerf
