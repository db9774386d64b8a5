#include <cmath>

#include "jnerf/train/adam.hpp"

namespace jnerf {

float scheduled_lr(const AdamConfig& c, long long step) {
  return c.lr * std::pow(c.decay_rate, static_cast<float>(step) / c.decay_steps);
}

AdamStep make_adam_step(const AdamConfig& c, long long t, double grad_norm) {
  AdamStep s{};
  s.lr = scheduled_lr(c, t - 1);
  s.beta1 = c.beta1;
  s.beta2 = c.beta2;
  s.eps = c.eps;
  s.bias1 = static_cast<float>(1.0 - std::pow(double(c.beta1), double(t)));
  s.bias2 = static_cast<float>(1.0 - std::pow(double(c.beta2), double(t)));
  // torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when that is < 1.
  s.grad_scale = 1.f;
  if (c.grad_clip > 0.f) {
    const double scale = c.grad_clip / (grad_norm + 1e-6);
    if (scale < 1.0) s.grad_scale = static_cast<float>(scale);
  }
  return s;
}

template <class T>
double gradient_norm_cpu(const T* grad, std::size_t n) {
  double sum = 0.0;
#pragma omp parallel for reduction(+ : sum) schedule(static)
  for (long long i = 0; i < static_cast<long long>(n); ++i) sum += double(grad[i]) * double(grad[i]);
  return std::sqrt(sum);
}

template <class T>
void adam_step_cpu(const AdamStep& step, T* params, T* m, T* v, const T* grad, std::size_t n) {
#pragma omp parallel for schedule(static)
  for (long long i = 0; i < static_cast<long long>(n); ++i) adam_update(step, params[i], m[i], v[i], grad[i]);
}

template double gradient_norm_cpu(const float*, std::size_t);
template double gradient_norm_cpu(const double*, std::size_t);
template void adam_step_cpu(const AdamStep&, float*, float*, float*, const float*, std::size_t);
template void adam_step_cpu(const AdamStep&, double*, double*, double*, const double*, std::size_t);

}  // namespace jnerf
