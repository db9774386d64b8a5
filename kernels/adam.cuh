#pragma once
// Adam (PyTorch semantics, no weight decay) for one parameter: shared by CPU and CUDA.
#include "jn_common.cuh"

namespace jnerf {

struct AdamStep {
  float lr;            // learning rate for this step (schedule already applied)
  float beta1, beta2, eps;
  float bias1, bias2;  // 1 - beta1^t, 1 - beta2^t for the current step t >= 1
  float grad_scale;    // multiplies every gradient (global-norm clipping), 1 = none
};

template <class T>
JN_HD void adam_update(const AdamStep& s, T& param, T& m, T& v, T grad) {
  grad *= static_cast<T>(s.grad_scale);
  m = static_cast<T>(s.beta1) * m + static_cast<T>(1 - s.beta1) * grad;
  v = static_cast<T>(s.beta2) * v + static_cast<T>(1 - s.beta2) * grad * grad;
  const T m_hat = m / static_cast<T>(s.bias1);
  const T v_hat = v / static_cast<T>(s.bias2);
  param -= static_cast<T>(s.lr) * m_hat / (jn_sqrt(v_hat) + static_cast<T>(s.eps));
}

}  // namespace jnerf
