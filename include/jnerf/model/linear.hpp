#pragma once
// Linear layers, the building block of the MLPs: Y = act(W X + b) and its backward.
//
// Layouts (docs/ARCHITECTURE.md): activations are feature-major, X is `in x n` (row i holds
// feature i of all n samples, contiguous), Y is `out x n`; W is `out x in` row-major
// (torch.nn.Linear.weight) and b has `out` entries. Every pointer must be non-null unless
// stated otherwise; sizes may be anything >= 0 (in >= 1 and out >= 1 for a meaningful layer).
//
// CPU: float and double; one OpenMP region per call splits the samples over threads, each
// running single-threaded Eigen GEMMs on its columns with the element-wise work fused in
// (deterministic for a given thread count). CUDA: hand-written tiled GEMM kernels (float,
// device pointers, asynchronous on `stream`), plus a cuBLAS path with the same semantics
// that the tests use as a reference.
#include "linear.cuh"  // enum class Activation + the per-element math (kernels/)

namespace jnerf {

// Y = act(W X + b).  X (in x n), Y (out x n) must not overlap.
template <class T>
void linear_forward_cpu(const T* W, const T* b, const T* X, T* Y, int in, int out, int n, Activation act);

// Backward of Y = act(W X + b), given Y (the forward OUTPUT, post-activation) and
// dY = dL/dY (out x n):
//   dZ  = dY .* act'(Y)                    (ReLU: Y > 0), written to `scratch` (out x n)
//   dW += dZ X^T                           (out x in)   skipped when dW == nullptr
//   db += row sums of dZ                   (out)        skipped when db == nullptr
//   dX  = W^T dZ  (or dX += W^T dZ when accumulate_dX)  skipped when dX == nullptr
// `scratch` may be the same pointer as dY (dY is then overwritten by dZ); it may be nullptr
// when act == Activation::None (dZ == dY, nothing is written). dW/db/dX must not overlap
// the inputs. dW and db are accumulated (+=): zero them before the first layer's backward.
template <class T>
void linear_backward_cpu(const T* W, const T* X, const T* Y, const T* dY, T* dW, T* db, T* dX, int in,
                         int out, int n, Activation act, T* scratch, bool accumulate_dX);

#ifdef JNERF_HAVE_CUDA
// Same semantics on the GPU (float, device pointers, asynchronous on `stream`, a
// cudaStream_t; nullptr = the legacy default stream), with the hand-written kernels.
// Reductions over n (dW, db) are split over thread blocks and combined with float
// atomicAdd, so their last bits may differ from run to run; everything else is
// deterministic.
void linear_forward_cuda(const float* W, const float* b, const float* X, float* Y, int in, int out, int n,
                         Activation act, void* stream = nullptr);
void linear_backward_cuda(const float* W, const float* X, const float* Y, const float* dY, float* dW, float* db,
                          float* dX, int in, int out, int n, Activation act, float* scratch, bool accumulate_dX,
                          void* stream = nullptr);

// Reference path through cuBLAS (SGEMM/SGEMV, FP32 math, no TF32), same semantics; used by
// the conformance tests to check the hand-written kernels. Creates a cuBLAS handle per
// call: not for hot loops.
void linear_forward_cublas(const float* W, const float* b, const float* X, float* Y, int in, int out, int n,
                           Activation act, void* stream = nullptr);
void linear_backward_cublas(const float* W, const float* X, const float* Y, const float* dY, float* dW, float* db,
                            float* dX, int in, int out, int n, Activation act, float* scratch,
                            bool accumulate_dX, void* stream = nullptr);

// Fully fused MLP forward: `hidden_layers` (>= 1) linear layers of width `width` (64 or
// 128) with ReLU, then an output layer of `out` (1..width) units with `output_act`; the
// same result as chaining linear_forward_cuda layer by layer. One thread block per 128
// samples keeps the block's activations in shared memory and stages each layer's weights
// through shared memory in 32-deep slices. `params` holds the layers back to back, each
// PyTorch-shaped: W_0 (width x in), b_0, W_1 (width x width), b_1, ..., W_last
// (out x width), b_last (mlp_param_count floats). X is in x n, Y is out x n
// (feature-major). Throws std::invalid_argument for unsupported shapes (see
// mlp_fused_supported).
// `hidden` (optional, nullptr = inference, nothing extra is written): when given, every
// hidden layer's post-ReLU activations are also written there, hidden_layers x width x n
// floats, layer l (0-based) at hidden + l * width * n, feature-major like Y. That is what
// mlp_fused_backward_cuda needs (ReLU masks and the inputs of the weight gradients).
void mlp_fused_forward_cuda(const float* params, const float* X, float* Y, int in, int width, int hidden_layers,
                            int out, int n, Activation output_act, void* stream = nullptr, float* hidden = nullptr);
// Whether the current device can run mlp_fused_forward_cuda (and mlp_fused_backward_cuda)
// for this shape: width 64 or 128, 1 <= out <= width, hidden_layers >= 1, and the forward
// block's shared memory, 4 * (128 * (max(in, width) + width) + 32 * (width + 4)) bytes,
// within the device limit. The backward block needs 4 * (2 * 128 * width + 32 * (width + 4))
// bytes (74,240 for width 64, 147,968 for width 128), never more than the forward, so the
// same check covers it.
bool mlp_fused_supported(int in, int width, int hidden_layers, int out);

// Backward of mlp_fused_forward_cuda, given its inputs X (in x n), its saved `hidden`
// activations (hidden_layers x width x n, as written by the forward) and output Y (out x n),
// and dY = dL/dY (out x n). Layer l = 0..hidden_layers has pre-activation gradient
//   dZ_last = dY .* output_act'(Y),   dZ_{l-1} = (W_l^T dZ_l) .* (hidden_{l-1} > 0),
// computed by one fused kernel (one block per 128 samples, the dZ chain in shared memory,
// W_l streamed through shared memory in 32-row slices) that also writes every dZ_l to
// `dZ_scratch` ((hidden_layers + 1) x width x n floats, layer l at dZ_scratch + l * width * n;
// the output layer's slot uses only its first `out` rows) and, when dX != nullptr,
// dX = W_0^T dZ_0 (in x n, overwritten; any in, streamed in chunks of `width` rows).
// Then, when d_params != nullptr, per layer the tiled GEMMs of linear_backward_cuda add
//   dW_l += dZ_l A_{l-1}^T,   db_l += row sums of dZ_l,   A_{-1} = X, A_l = hidden_l,
// into d_params (same layout as params): ACCUMULATED, zero it before the first backward.
// As in linear_backward_cuda, dW/db are reduced with float atomics (last bits may vary from
// run to run); dX and dZ_scratch are deterministic. X may be nullptr when d_params is;
// Y may be nullptr when output_act == Activation::None. Outputs must not overlap the inputs
// or each other. Throws std::invalid_argument for unsupported shapes (mlp_fused_supported)
// and missing buffers. Asynchronous on `stream`.
void mlp_fused_backward_cuda(const float* params, const float* X, const float* hidden, const float* Y,
                             const float* dY, float* d_params, float* dX, float* dZ_scratch, int in, int width,
                             int hidden_layers, int out, int n, Activation output_act, void* stream = nullptr);
#endif

// Number of floats in the flat parameter array of such an MLP (hidden_layers + 1 layers).
inline long long mlp_param_count(int in, int width, int hidden_layers, int out) {
  return static_cast<long long>(width) * (in + 1) +
         static_cast<long long>(hidden_layers - 1) * width * (width + 1) + static_cast<long long>(out) * (width + 1);
}

}  // namespace jnerf
