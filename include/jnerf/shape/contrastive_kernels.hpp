#pragma once
// The shaping loss on a batch of Jacobians that a backend holds: the CPU version over host
// arrays, the CUDA launcher over device arrays. Both run kernels/contrastive.cuh in double;
// shape/contrastive_loss.hpp has the definition and the settings.
#include <cstddef>

#include "contrastive.cuh"  // kernels/

namespace jnerf {

// The CUDA loss keeps a row of 2 B doubles in shared memory: 64 KB at this batch.
constexpr int kCudaContrastiveMaxBatch = 4096;

// g: B x D Jacobians; affinity: B x B from the feature prior (double); grad: dloss/dg,
// B x D, written. tau is the threshold before the batch; the stats hold it after.
template <class T>
ContrastiveStats contrastive_loss_cpu(const T* g, int B, int D, const double* affinity, const ContrastiveParams& p,
                                      double tau, T* grad);

#ifdef JNERF_HAVE_CUDA
// Device doubles contrastive_loss_cuda needs as scratch for a batch of B.
std::size_t contrastive_workspace_doubles(int B);
// g and grad on the device, affinity on the host (uploaded); workspace: device scratch of
// contrastive_workspace_doubles(B). Waits for the result (the stats come back to the host).
ContrastiveStats contrastive_loss_cuda(const float* g, int B, int D, const double* affinity,
                                       const ContrastiveParams& p, double tau, float* grad, double* workspace);
#endif

}  // namespace jnerf
