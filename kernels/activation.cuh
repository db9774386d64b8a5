#pragma once
// Density activations, per element (JN_HD: shared by the CPU backend and the CUDA kernels).
//
// The field's density head outputs a raw value; sigma = act(raw + noise), where `noise` is
// supplied by the caller (the reference NeRF adds N(0, 1) noise to the raw density while
// training, and 0 otherwise). Every activation takes the noise the same way, so
// d sigma / d raw = act'(raw + noise).
//
//   ReLU      sigma = max(x, 0)                    d/dx = 1 if x > 0 else 0
//   Softplus  sigma = log(1 + e^x) (stable form)   d/dx = 1 / (1 + e^-x)
//   TruncExp  sigma = e^x                          d/dx = e^min(x, 15)   (instant-ngp)
#include <math.h>

#include "jn_common.cuh"

namespace jnerf {

enum class DensityActivation : int { ReLU = 0, Softplus = 1, TruncExp = 2 };

// Float/double overloads of the C math functions that exist on host and device alike.
namespace volmath {
JN_HD float exp_(float x) { return ::expf(x); }
JN_HD double exp_(double x) { return ::exp(x); }
JN_HD float expm1_(float x) { return ::expm1f(x); }
JN_HD double expm1_(double x) { return ::expm1(x); }
JN_HD float log1p_(float x) { return ::log1pf(x); }
JN_HD double log1p_(double x) { return ::log1p(x); }
template <class T> JN_HD T min_(T a, T b) { return b < a ? b : a; }
template <class T> JN_HD T max_(T a, T b) { return a < b ? b : a; }
template <class T> JN_HD T abs_(T a) { return a < T(0) ? -a : a; }
}  // namespace volmath

// Numerically stable softplus: max(x, 0) + log1p(exp(-|x|)); never overflows.
template <class T>
JN_HD T softplus(T x) {
  return volmath::max_(x, T(0)) + volmath::log1p_(volmath::exp_(-volmath::abs_(x)));
}

// Its derivative, the logistic sigmoid, in the form that does not overflow.
template <class T>
JN_HD T softplus_grad(T x) {
  if (x >= T(0)) return T(1) / (T(1) + volmath::exp_(-x));
  const T e = volmath::exp_(x);
  return e / (T(1) + e);
}

// sigma = act(raw + noise).
template <class T>
JN_HD T density_activation(DensityActivation act, T raw, T noise) {
  const T x = raw + noise;
  switch (act) {
    case DensityActivation::Softplus: return softplus(x);
    case DensityActivation::TruncExp: return volmath::exp_(x);
    case DensityActivation::ReLU:
    default: return x > T(0) ? x : T(0);
  }
}

// d sigma / d raw at (raw + noise).
template <class T>
JN_HD T density_activation_grad(DensityActivation act, T raw, T noise) {
  const T x = raw + noise;
  switch (act) {
    case DensityActivation::Softplus: return softplus_grad(x);
    case DensityActivation::TruncExp: return volmath::exp_(volmath::min_(x, T(15)));
    case DensityActivation::ReLU:
    default: return x > T(0) ? T(1) : T(0);
  }
}

}  // namespace jnerf
