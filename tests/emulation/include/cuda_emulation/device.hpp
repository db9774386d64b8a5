#pragma once
// Device side of the host emulation of the CUDA execution model: what a kernel file
// (kernels/*.cu, rewritten by tests/emulation/transform_cu.py) sees once it is compiled as
// plain C++. See docs/CUDA_EMULATION.md for the model and its limits.
//
// Execution model. The blocks of a launch run one after another. Within a block, a kernel
// that can synchronise (its source reaches __syncthreads, a warp shuffle or a warp vote)
// runs every CUDA thread in its own execution context (a fiber of the launching thread, or an
// OS thread: JNERF_CUDA_EMU_SCHEDULER), and the synchronisation points are checked:
// a barrier reached at two different places, a thread that exits while others wait at a
// barrier, or a block where every live thread waits and none can proceed, stop the program
// with a report instead of hanging or silently passing. A kernel that cannot synchronise
// runs its threads one after another on one OS thread, which is one valid schedule of it.
// Static __shared__ arrays and the dynamic shared memory are fresh, exact-size, 0xFF-filled
// heap allocations per block, so AddressSanitizer sees overruns of them and reads of
// never-written shared memory give NaN.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

#include "cuda_runtime_api.h"

// Qualifiers. __global__ and __shared__ must have been rewritten by the transform; left in
// a file that was not (a header, say), they are compile errors rather than silently wrong.
#define __host__
#define __device__
#define __forceinline__ inline
#define __noinline__ __attribute__((noinline))
#define __align__(n) __attribute__((aligned(n)))
#define __constant__
#define __global__ _Pragma("GCC error \"__global__ outside a .cu file rewritten by transform_cu.py\"")
#define __shared__ _Pragma("GCC error \"__shared__ outside a .cu file rewritten by transform_cu.py\"")

// Kernel files are compiled as device code: __CUDA_ARCH__ (rewritten to this) is defined.
#define CUDA_EMU_ARCH 900

constexpr int warpSize = 32;

// Built-in variables: per OS thread, set by the launch (and at every fiber switch) for the
// CUDA thread it runs.
extern thread_local uint3 threadIdx;
extern thread_local uint3 blockIdx;
extern thread_local dim3 blockDim;
extern thread_local dim3 gridDim;

namespace cuda_emu {

namespace detail {

// Launch description handed to the runtime.
struct LaunchConfig {
  const void* kernel;
  const char* name;
  const char* file;
  int line;
  dim3 grid, block;
  std::size_t dynamic_smem;
  cudaStream_t stream;
};

// Runs the launch: probe (to learn the kernel's launch bound), checks, then every block.
// `invoke(ctx)` runs the kernel body for the CUDA thread the built-in variables name.
cudaError_t launch(const LaunchConfig& config, void (*invoke)(void*), void* ctx);

// The probe: the transform puts CUDA_EMU_KERNEL_ENTRY first in every kernel body.
bool probing();
void report_kernel(long long max_threads_per_block, bool synchronises);

void* block_shared(std::size_t bytes, std::size_t align, const void* site, const char* name);
void* dynamic_shared();

void syncthreads(const char* file, int line);
void syncwarp(unsigned mask, const char* file, int line);

// One warp-collective operation: every participating lane passes its value and operand;
// the result is computed once all the non-exited lanes of `mask` have arrived.
enum class WarpOp { Shfl, Up, Down, Xor, Ballot, Any, All, Sync };
std::uint64_t warp_collective(WarpOp op, unsigned mask, std::uint64_t value, int operand, int width,
                              const char* file, int line);

[[noreturn]] void device_fault(const char* what);

template <class T>
std::uint64_t to_bits(T v) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "shuffle of an unsupported type");
  std::uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  return bits;
}
template <class T>
T from_bits(std::uint64_t bits) {
  T v;
  std::memcpy(&v, &bits, sizeof(T));
  return v;
}

}  // namespace detail

// A static __shared__ declaration, per block: `site` is a function-local static, so every
// template instance of a kernel has its own arrays, as in CUDA.
template <class T>
T& block_shared(std::size_t align, const void* site, const char* name) {
  return *static_cast<T*>(detail::block_shared(sizeof(T), align < alignof(T) ? alignof(T) : align, site, name));
}

template <class T>
T* dynamic_shared() {
  return static_cast<T*>(detail::dynamic_shared());
}

// kernel<<<grid, block, smem, stream>>>(args) becomes Launcher(kernel, ...)(args): the
// arguments are converted to the kernel's parameter types once, at the launch, and every
// CUDA thread gets its own copy of them, as with CUDA's parameter passing.
template <class... P>
class Launcher {
 public:
  Launcher(void (*kernel)(P...), const char* name, const char* file, int line, dim3 grid, dim3 block,
           std::size_t dynamic_smem = 0, cudaStream_t stream = 0)
      : kernel_(kernel),
        config_{reinterpret_cast<const void*>(kernel), name, file, line, grid, block, dynamic_smem, stream} {}

  template <class... A>
  void operator()(A&&... args) const {
    static_assert(sizeof...(A) == sizeof...(P), "kernel launched with the wrong number of arguments");
    using Params = std::tuple<std::decay_t<P>...>;
    struct Ctx {
      void (*kernel)(P...);
      Params params;
    } ctx{kernel_, Params(std::forward<A>(args)...)};
    detail::launch(config_, [](void* c) {
      Ctx& x = *static_cast<Ctx*>(c);
      Params copy = x.params;
      std::apply(x.kernel, copy);
    }, &ctx);
  }

 private:
  void (*kernel_)(P...);
  detail::LaunchConfig config_;
};

}  // namespace cuda_emu

// First statement of every rewritten kernel: under the probe, report the launch bound
// (0: none) and whether the kernel can synchronise, and run nothing.
#define CUDA_EMU_KERNEL_ENTRY(max_threads, synchronises)                              \
  if (::cuda_emu::detail::probing()) {                                                \
    ::cuda_emu::detail::report_kernel(static_cast<long long>(max_threads), synchronises); \
    return;                                                                           \
  }

// ---- synchronisation ---------------------------------------------------------------------
#define __syncthreads() ::cuda_emu::detail::syncthreads(__FILE__, __LINE__)
#define __syncwarp(...) ::cuda_emu::detail::syncwarp(::cuda_emu::warp_mask(__VA_ARGS__), __FILE__, __LINE__)
#define __shfl_sync(...) ::cuda_emu::shfl(::cuda_emu::detail::WarpOp::Shfl, __FILE__, __LINE__, __VA_ARGS__)
#define __shfl_up_sync(...) ::cuda_emu::shfl(::cuda_emu::detail::WarpOp::Up, __FILE__, __LINE__, __VA_ARGS__)
#define __shfl_down_sync(...) ::cuda_emu::shfl(::cuda_emu::detail::WarpOp::Down, __FILE__, __LINE__, __VA_ARGS__)
#define __shfl_xor_sync(...) ::cuda_emu::shfl(::cuda_emu::detail::WarpOp::Xor, __FILE__, __LINE__, __VA_ARGS__)
#define __ballot_sync(mask, pred) \
  ::cuda_emu::vote(::cuda_emu::detail::WarpOp::Ballot, mask, pred, __FILE__, __LINE__)
#define __any_sync(mask, pred) \
  static_cast<int>(::cuda_emu::vote(::cuda_emu::detail::WarpOp::Any, mask, pred, __FILE__, __LINE__))
#define __all_sync(mask, pred) \
  static_cast<int>(::cuda_emu::vote(::cuda_emu::detail::WarpOp::All, mask, pred, __FILE__, __LINE__))

namespace cuda_emu {

inline unsigned warp_mask() { return 0xffffffffu; }
inline unsigned warp_mask(unsigned mask) { return mask; }

template <class T>
T shfl(detail::WarpOp op, const char* file, int line, unsigned mask, T var, int operand, int width = warpSize) {
  return detail::from_bits<T>(
      detail::warp_collective(op, mask, detail::to_bits(var), operand, width, file, line));
}

inline unsigned vote(detail::WarpOp op, unsigned mask, int pred, const char* file, int line) {
  return static_cast<unsigned>(detail::warp_collective(op, mask, pred != 0, 0, warpSize, file, line));
}

}  // namespace cuda_emu

inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_block() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

// ---- memory ------------------------------------------------------------------------------
template <class T>
inline T __ldg(const T* p) {
  return *p;
}

// Atomics: the GCC builtins (lock-free, and understood by ThreadSanitizer). Floating-point
// additions are compare-and-swap loops on the value, as CUDA defines them: one rounding per
// addition, in whatever order the threads arrive.
namespace cuda_emu {
template <class T, class F>
T atomic_update(T* address, F f) {
  T old = __atomic_load_n(address, __ATOMIC_RELAXED);
  while (!__atomic_compare_exchange_n(address, &old, f(old), true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
  return old;
}
template <class T>
T atomic_float_add(T* address, T value) {
  T old, desired;
  __atomic_load(address, &old, __ATOMIC_RELAXED);
  do {
    desired = old + value;
  } while (!__atomic_compare_exchange(address, &old, &desired, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
  return old;
}
}  // namespace cuda_emu

inline float atomicAdd(float* address, float value) { return cuda_emu::atomic_float_add(address, value); }
inline double atomicAdd(double* address, double value) { return cuda_emu::atomic_float_add(address, value); }
inline int atomicAdd(int* address, int value) { return __atomic_fetch_add(address, value, __ATOMIC_RELAXED); }
inline unsigned atomicAdd(unsigned* address, unsigned value) {
  return __atomic_fetch_add(address, value, __ATOMIC_RELAXED);
}
inline unsigned long long atomicAdd(unsigned long long* address, unsigned long long value) {
  return __atomic_fetch_add(address, value, __ATOMIC_RELAXED);
}
inline int atomicSub(int* address, int value) { return __atomic_fetch_sub(address, value, __ATOMIC_RELAXED); }
inline unsigned atomicSub(unsigned* address, unsigned value) {
  return __atomic_fetch_sub(address, value, __ATOMIC_RELAXED);
}
inline int atomicExch(int* address, int value) { return __atomic_exchange_n(address, value, __ATOMIC_RELAXED); }
inline unsigned atomicExch(unsigned* address, unsigned value) {
  return __atomic_exchange_n(address, value, __ATOMIC_RELAXED);
}
inline float atomicExch(float* address, float value) {
  float old;
  __atomic_exchange(address, &value, &old, __ATOMIC_RELAXED);
  return old;
}
inline int atomicMax(int* address, int value) {
  return cuda_emu::atomic_update(address, [value](int v) { return value > v ? value : v; });
}
inline unsigned atomicMax(unsigned* address, unsigned value) {
  return cuda_emu::atomic_update(address, [value](unsigned v) { return value > v ? value : v; });
}
inline int atomicMin(int* address, int value) {
  return cuda_emu::atomic_update(address, [value](int v) { return value < v ? value : v; });
}
inline unsigned atomicMin(unsigned* address, unsigned value) {
  return cuda_emu::atomic_update(address, [value](unsigned v) { return value < v ? value : v; });
}
inline int atomicCAS(int* address, int compare, int value) {
  __atomic_compare_exchange_n(address, &compare, value, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  return compare;
}
inline unsigned atomicCAS(unsigned* address, unsigned compare, unsigned value) {
  __atomic_compare_exchange_n(address, &compare, value, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  return compare;
}
inline unsigned long long atomicCAS(unsigned long long* address, unsigned long long compare,
                                    unsigned long long value) {
  __atomic_compare_exchange_n(address, &compare, value, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  return compare;
}

// ---- arithmetic --------------------------------------------------------------------------
// The device's min / max overloads (CUDA's math_functions.hpp): integer ones of each width,
// mixed signed / unsigned ones that compare as unsigned, and fminf / fmin for floating point.
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
inline unsigned min(int a, unsigned b) { return min(static_cast<unsigned>(a), b); }
inline unsigned max(int a, unsigned b) { return max(static_cast<unsigned>(a), b); }
inline unsigned min(unsigned a, int b) { return min(a, static_cast<unsigned>(b)); }
inline unsigned max(unsigned a, int b) { return max(a, static_cast<unsigned>(b)); }
inline long min(long a, long b) { return a < b ? a : b; }
inline long max(long a, long b) { return a > b ? a : b; }
inline unsigned long min(unsigned long a, unsigned long b) { return a < b ? a : b; }
inline unsigned long max(unsigned long a, unsigned long b) { return a > b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline unsigned long long min(unsigned long long a, unsigned long long b) { return a < b ? a : b; }
inline unsigned long long max(unsigned long long a, unsigned long long b) { return a > b ? a : b; }
inline unsigned long long min(long long a, unsigned long long b) { return min(static_cast<unsigned long long>(a), b); }
inline unsigned long long max(long long a, unsigned long long b) { return max(static_cast<unsigned long long>(a), b); }
inline unsigned long long min(unsigned long long a, long long b) { return min(a, static_cast<unsigned long long>(b)); }
inline unsigned long long max(unsigned long long a, long long b) { return max(a, static_cast<unsigned long long>(b)); }
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }
inline double min(double a, double b) { return fmin(a, b); }
inline double max(double a, double b) { return fmax(a, b); }
inline double min(float a, double b) { return fmin(a, b); }
inline double max(float a, double b) { return fmax(a, b); }
inline double min(double a, float b) { return fmin(a, b); }
inline double max(double a, float b) { return fmax(a, b); }

// Intrinsics, computed with the correctly rounded host functions (a GPU's fast intrinsics
// are less accurate: see docs/CUDA_EMULATION.md).
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline double rsqrt(double x) { return 1.0 / sqrt(x); }
inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float __sinf(float x) { return sinf(x); }
inline float __cosf(float x) { return cosf(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __saturatef(float x) { return x < 0.f ? 0.f : (x > 1.f ? 1.f : (x != x ? 0.f : x)); }
inline int __float_as_int(float x) { return cuda_emu::detail::from_bits<int>(cuda_emu::detail::to_bits(x)); }
inline float __int_as_float(int x) { return cuda_emu::detail::from_bits<float>(cuda_emu::detail::to_bits(x)); }
inline unsigned __float_as_uint(float x) {
  return cuda_emu::detail::from_bits<unsigned>(cuda_emu::detail::to_bits(x));
}
inline float __uint_as_float(unsigned x) { return cuda_emu::detail::from_bits<float>(cuda_emu::detail::to_bits(x)); }
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz(static_cast<unsigned>(x)); }
inline int __ffs(int x) { return __builtin_ffs(x); }
