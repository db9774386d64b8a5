#pragma once
// Per-ray Jacobians of the rendered colour w.r.t. the fine network's RGB head weight (and
// optionally its bias), in closed form, and their backward (kernels/jacobian.cuh gives the
// formulas and layouts). CPU functions are templated on float/double; the CUDA launchers
// take device pointers and run on the default stream.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "jacobian.cuh"  // kernels/

namespace jnerf {

// Which scalar of the colour is differentiated.
//   mean:   the grey colour (C_r + C_g + C_b) / 3 (the reference);
//   random: one channel per ray, drawn at random each step;
//   blocks: the three channels' own blocks dC_k/dW[k, :] side by side (the Frobenius
//           inner product of the full 3 x 3V Jacobians); equal to `mean` times 3.
enum class JacobianChannels { Mean, Random, Blocks };

JacobianChannels parse_jacobian_channels(const std::string& name);  // InputError names the value
const char* to_string(JacobianChannels channels);

struct JacobianSpec {
  JacobianChannels channels = JacobianChannels::Mean;
  bool bias = false;  // include dC/db (3 more numbers per ray)
  int head_width = 0; // V

  int row_length() const { return head_width + (bias ? 1 : 0); }  // Dk
  int dims() const { return 3 * row_length(); }                    // D
};

// The R x 3 channel mix of a batch (random draws a channel per ray from `rng`).
template <class T>
std::vector<T> channel_coefficients(JacobianChannels channels, int R, std::mt19937_64& rng);

template <class T>
void jacobian_forward_cpu(long long R, int S, int V, int Dk, const T* coef, const T* w, const T* s, const T* h,
                          T* g);
// d_h written (unless nullptr), d_z accumulated, d_w written.
template <class T>
void jacobian_backward_cpu(long long R, int S, int V, int Dk, const T* coef, const T* G, const T* w, const T* s,
                           const T* h, T* d_h, T* d_z, T* d_w);
// out[c * R + r] = sum_i w_i |m[c * n + r * S + i]| for C classes.
template <class T>
void weighted_abs_sum_cpu(long long R, int S, int C, const T* w, const T* m, T* out);
// Per-ray propagation responses (kernels/jacobian.cuh): out[r] for one class (head: the
// exact 2D change given the head's logit change dz; raw: the 3D change between two raw
// colour evaluations), and out[c * R + r] for C directions (linear: the first-order 2D
// change from the channel-block Jacobians, dirs C x 3Dk; surface: the same with the
// sigmoid kept, surface_colour_change_ray, from the fine weights w, raw colours z and head
// input h; cosine: |cos| between each ray's Jacobian and each of C directions, both D
// numbers).
template <class T>
void head_colour_change_cpu(long long R, int S, const T* w, const T* z, const T* dz, T* out);
template <class T>
void raw_colour_change_cpu(long long R, int S, const T* w, const T* raw0, const T* raw, T* out);
template <class T>
void linear_colour_change_cpu(long long R, int C, int Dk, const T* J, const T* dirs, double step, T* out);
template <class T>
void surface_colour_change_cpu(long long R, int S, int C, int V, int Dk, const T* w, const T* z, const T* h,
                               const T* J, const T* dirs, double step, T* out);
template <class T>
void jacobian_cosine_cpu(long long R, int C, int D, const T* J, const T* dirs, T* out);

#ifdef JNERF_HAVE_CUDA
void jacobian_forward_cuda(long long R, int S, int V, int Dk, const float* coef, const float* w, const float* s,
                           const float* h, float* g);
void jacobian_backward_cuda(long long R, int S, int V, int Dk, const float* coef, const float* G, const float* w,
                            const float* s, const float* h, float* d_h, float* d_z, float* d_w);
void weighted_abs_sum_cuda(long long R, int S, int C, const float* w, const float* m, float* out);
void head_colour_change_cuda(long long R, int S, const float* w, const float* z, const float* dz, float* out);
void raw_colour_change_cuda(long long R, int S, const float* w, const float* raw0, const float* raw, float* out);
void linear_colour_change_cuda(long long R, int C, int Dk, const float* J, const float* dirs, double step, float* out);
void surface_colour_change_cuda(long long R, int S, int C, int V, int Dk, const float* w, const float* z,
                                const float* h, const float* J, const float* dirs, double step, float* out);
void jacobian_cosine_cuda(long long R, int C, int D, const float* J, const float* dirs, float* out);
#endif

}  // namespace jnerf
