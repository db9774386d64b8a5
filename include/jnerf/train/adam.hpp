#pragma once
// Adam over one flat parameter array (all of a model's parameters), with the paper's
// exponential learning-rate decay and optional global-norm gradient clipping.
#include <cstddef>
#include <vector>

#include "adam.cuh"

namespace jnerf {

struct AdamConfig {
  float lr = 5e-4f;
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
  float decay_rate = 0.1f;      // lr * decay_rate^(step / decay_steps)
  float decay_steps = 250000.f;
  float grad_clip = 0.f;        // max global gradient norm; 0 = no clipping
};

// Learning rate at (0-based) step `step`.
float scheduled_lr(const AdamConfig& config, long long step);

// Fills the per-step constants for step t (1-based, as PyTorch counts) given the global
// gradient norm (only used when clipping).
AdamStep make_adam_step(const AdamConfig& config, long long t, double grad_norm);

template <class T>
double gradient_norm_cpu(const T* grad, std::size_t n);

// One optimiser step on the CPU; m and v are the moment arrays (same size).
template <class T>
void adam_step_cpu(const AdamStep& step, T* params, T* m, T* v, const T* grad, std::size_t n);

#ifdef JNERF_HAVE_CUDA
void adam_step_cuda(const AdamStep& step, float* params, float* m, float* v, const float* grad, std::size_t n,
                    void* stream = nullptr);
#endif

}  // namespace jnerf
