#pragma once
// JN_HD marks per-element math shared by the CUDA kernels and the CPU backend: the same
// inline function runs in a CUDA thread and inside a CPU (OpenMP) loop, so the CPU tests
// cover the arithmetic of the GPU path.
#if defined(__CUDACC__)
#define JN_HD __host__ __device__ __forceinline__
#else
#define JN_HD inline
#endif

#include <cmath>

namespace jnerf {

// Overloads that pick the single-precision function for float on host and device
// (unqualified sqrt/exp on a float would promote to double on the host).
JN_HD float jn_sqrt(float x) { return sqrtf(x); }
JN_HD double jn_sqrt(double x) { return sqrt(x); }
JN_HD float jn_exp(float x) { return expf(x); }
JN_HD double jn_exp(double x) { return exp(x); }
JN_HD float jn_log(float x) { return logf(x); }
JN_HD double jn_log(double x) { return log(x); }

}  // namespace jnerf
