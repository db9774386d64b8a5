#pragma once
// Per-element math of a linear layer, shared by the CPU backend (src/model/linear_cpu.cpp)
// and the CUDA kernels (kernels/linear.cu): the activation in the forward epilogue and its
// derivative in the backward's dZ = dY * act'(Y).
#include "jn_common.cuh"

namespace jnerf {

// Activation applied after a linear layer (y = act(W x + b)).
enum class Activation { None, ReLU };

// act(z). NaN stays NaN (as in torch.relu).
template <class T>
JN_HD T activation_forward(T z, Activation act) {
  return (act == Activation::ReLU && z < T(0)) ? T(0) : z;
}

// dL/dz from the layer output y = act(z) and dL/dy. Written in terms of the OUTPUT y, so
// the pre-activation never has to be kept: ReLU' = (y > 0), the gradient passes where the
// output is not <= 0 (a NaN output passes it too, as torch's threshold_backward does).
template <class T>
JN_HD T activation_backward(T y, T dy, Activation act) {
  return (act == Activation::ReLU && y <= T(0)) ? T(0) : dy;
}

}  // namespace jnerf
