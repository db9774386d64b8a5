#pragma once
// JN_HD marks per-element math shared by the CUDA kernels and the CPU backend: the same
// inline function runs in a CUDA thread and inside a CPU (OpenMP) loop, so the CPU tests
// cover the arithmetic of the GPU path.
#if defined(__CUDACC__)
#define JN_HD __host__ __device__ __forceinline__
#else
#define JN_HD inline
#endif
