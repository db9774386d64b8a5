#pragma once
// Element-wise stages of the NeRF pipeline (kernels/pointwise.cuh), CPU and CUDA.
#include "pointwise.cuh"

namespace jnerf {

// Points and unit view directions of R rays x S samples (feature-major 3 x n, n = R*S),
// and each ray's |d| (R values). origins, dirs: 3 x R feature-major; t: R*S ray-major.
template <class T>
void ray_sample_points_cpu(long long R, int S, const T* origins, const T* dirs, const T* t, T* points,
                           T* view_dirs, T* dir_norm);
// y = sigmoid(x) over n values.
template <class T>
void sigmoid_forward_cpu(long long n, const T* x, T* y);
// dx = dy * y (1 - y) over n values (y: the forward output). dx may alias dy.
template <class T>
void sigmoid_backward_cpu(long long n, const T* y, const T* dy, T* dx);
// y += alpha * x over n values.
template <class T>
void axpy_cpu(long long n, T alpha, const T* x, T* y);

#ifdef JNERF_HAVE_CUDA
void ray_sample_points_cuda(long long R, int S, const float* origins, const float* dirs, const float* t,
                            float* points, float* view_dirs, float* dir_norm, void* stream = nullptr);
void sigmoid_forward_cuda(long long n, const float* x, float* y, void* stream = nullptr);
void sigmoid_backward_cuda(long long n, const float* y, const float* dy, float* dx, void* stream = nullptr);
void axpy_cuda(long long n, float alpha, const float* x, float* y, void* stream = nullptr);
#endif

}  // namespace jnerf
