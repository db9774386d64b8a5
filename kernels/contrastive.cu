// CUDA launchers for the shaping loss (kernels/contrastive.cuh holds the math, shared with
// the CPU version). Three launches per batch, all in double:
//   1. the B x B Gram matrix of the Jacobians (one thread per pair);
//   2. one block: the sequential tau walk (thread 0), then the anchors' InfoNCE terms
//      (one thread per anchor) and the batch statistics;
//   3. one block per anchor row: the row's B pair coefficients in shared memory, then its
//      D gradient entries.
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "jnerf/shape/contrastive_kernels.hpp"
#include "launch_check.cuh"

namespace jnerf {
namespace {

constexpr int kThreads = 128;
constexpr int kAnchorThreads = 256;

// Statistics slots at the end of the workspace.
enum Stat { kLoss, kMi, kNorm, kCounted, kMeanPositives, kMeanNorm, kTauAfter, kMiScale, kStatCount };

// Workspace layout, in doubles.
struct Workspace {
  double *gram, *d_sim, *norm, *affinity, *anchor_loss, *counted, *stats;
  unsigned char* positive;

  Workspace(double* base, int B) {
    const std::size_t BB = static_cast<std::size_t>(B) * B;
    gram = base;
    d_sim = gram + BB;
    affinity = d_sim + BB;
    norm = affinity + BB;
    anchor_loss = norm + B;
    counted = anchor_loss + B;
    stats = counted + B;
    positive = reinterpret_cast<unsigned char*>(stats + kStatCount);
  }
  static std::size_t doubles(int B) {
    const std::size_t BB = static_cast<std::size_t>(B) * B;
    return 3 * BB + 3 * static_cast<std::size_t>(B) + kStatCount + (BB + sizeof(double) - 1) / sizeof(double);
  }
};

__global__ void gram_kernel(int B, int D, const float* __restrict__ g, double* __restrict__ gram) {
  const int t = blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= B * B) return;
  const int a = t / B, q = t % B;
  const float* ga = g + static_cast<long long>(a) * D;
  const float* gq = g + static_cast<long long>(q) * D;
  double s = 0;
  for (int i = 0; i < D; ++i) s += double(ga[i]) * double(gq[i]);
  gram[t] = s;
}

__global__ void anchors_kernel(int B, ContrastiveParams p, double tau, Workspace w) {
  for (int a = threadIdx.x; a < B; a += blockDim.x) w.norm[a] = sqrt(w.gram[a * B + a]);
  if (threadIdx.x == 0) {
    int positives = 0;
    w.stats[kTauAfter] = contrastive_positive_sets(B, w.affinity, tau, p, w.positive, &positives);
    w.stats[kMeanPositives] = double(positives) / B;
  }
  __syncthreads();
  for (int a = threadIdx.x; a < B; a += blockDim.x) {
    double la = 0;
    w.counted[a] = contrastive_anchor(a, B, w.gram, w.norm, w.positive, p, w.d_sim + a * B, &la) ? 1.0 : 0.0;
    w.anchor_loss[a] = la;
  }
  __syncthreads();
  if (threadIdx.x == 0) {  // in anchor order, as the CPU sums
    double mi_sum = 0, norm_sum = 0, norm_mean = 0;
    int counted = 0;
    for (int a = 0; a < B; ++a) {
      if (w.counted[a] != 0) {
        ++counted;
        mi_sum += w.anchor_loss[a];
      }
      norm_sum += (w.norm[a] - 1) * (w.norm[a] - 1);
      norm_mean += w.norm[a];
    }
    const double mi = counted > 0 ? mi_sum / counted : 0.0;
    w.stats[kCounted] = counted;
    w.stats[kMi] = mi;
    w.stats[kMiScale] = counted > 0 ? p.weight_mi / counted : 0.0;
    w.stats[kNorm] = norm_sum / B;
    w.stats[kMeanNorm] = norm_mean / B;
    w.stats[kLoss] = p.weight_mi * mi + p.weight_norm * (norm_sum / B);
  }
}

__global__ void grad_rows_kernel(int B, int D, const float* __restrict__ g, ContrastiveParams p, Workspace w,
                                 float* __restrict__ grad) {
  extern __shared__ double shared[];
  double* on_other = shared;      // B
  double* self_part = shared + B;  // B
  const int a = blockIdx.x;
  const double mi_scale = w.stats[kMiScale];
  for (int q = threadIdx.x; q < B; q += blockDim.x)
    self_part[q] = contrastive_pair_coefficients(a, q, B, w.gram, w.norm, w.d_sim, mi_scale, p.absolute, &on_other[q]);
  __syncthreads();
  double on_self = contrastive_norm_coefficient(w.norm[a], B, p.weight_norm);
  for (int q = 0; q < B; ++q) on_self += self_part[q];  // every thread, in the CPU's order
  for (int i = threadIdx.x; i < D; i += blockDim.x)
    grad[static_cast<long long>(a) * D + i] = static_cast<float>(contrastive_grad_element(a, i, B, D, g, on_other, on_self));
}

}  // namespace

std::size_t contrastive_workspace_doubles(int B) { return Workspace::doubles(B); }

ContrastiveStats contrastive_loss_cuda(const float* g, int B, int D, const double* affinity,
                                       const ContrastiveParams& p, double tau, float* grad, double* workspace) {
  if (B <= 0 || D <= 0) throw std::invalid_argument("contrastive_loss_cuda: empty batch");
  if (B > kCudaContrastiveMaxBatch)
    throw std::invalid_argument("contrastive_loss_cuda: batches of at most " +
                                std::to_string(kCudaContrastiveMaxBatch) + " rays");
  const Workspace w(workspace, B);
  // Over 3072 rays the row coefficients pass the 48 KB that a launch gets without opting in.
  const std::size_t row_smem = 2 * static_cast<std::size_t>(B) * sizeof(double);
  check_cuda(cudaFuncSetAttribute(grad_rows_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(row_smem)),
        "contrastive_loss_cuda (shared memory for the row kernel)");
  check_cuda(cudaMemcpy(w.affinity, affinity, sizeof(double) * B * B, cudaMemcpyHostToDevice), "contrastive_loss_cuda (affinity)");
  gram_kernel<<<(B * B + kThreads - 1) / kThreads, kThreads>>>(B, D, g, w.gram);
  anchors_kernel<<<1, kAnchorThreads>>>(B, p, tau, w);
  grad_rows_kernel<<<B, kThreads, row_smem>>>(B, D, g, p, w, grad);
  check_launch("contrastive_loss_cuda");
  double stats[kStatCount];
  check_cuda(cudaMemcpy(stats, w.stats, sizeof(stats), cudaMemcpyDeviceToHost), "contrastive_loss_cuda (stats)");
  ContrastiveStats out;
  out.loss = stats[kLoss];
  out.mi = stats[kMi];
  out.norm = stats[kNorm];
  out.counted = static_cast<int>(stats[kCounted]);
  out.mean_positives = stats[kMeanPositives];
  out.mean_jacobian_norm = stats[kMeanNorm];
  out.tau_after = stats[kTauAfter];
  return out;
}

}  // namespace jnerf
