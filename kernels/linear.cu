// CUDA linear layers: hand-written tiled SGEMM kernels with fused epilogues, and a cuBLAS
// reference path with the same semantics (used by the tests).
//
// One GEMM kernel template covers the three products of a layer, all in our row-major
// layouts (C is M x N row-major):
//   forward  Y  = act(W X + b)  M = out, N = n,  K = in   A = W (row-major)  B = X (row-major)
//   backward dX = W^T dZ        M = in,  N = n,  K = out  A = W (transposed) B = dZ
//            dW += dZ X^T       M = out, N = in, K = n    A = dZ             B = X (transposed)
// Tiling: a BM x BN block tile, BK-deep slices of A and B staged in shared memory (k-major,
// padded by 4 floats against bank conflicts, double-buffered through registers so one
// __syncthreads per slice), a TM x TN register micro-tile per thread read from shared
// memory with float4, float4 global loads when the leading dimension and pointer allow.
// Three shapes: 128x128x8 with 8x8 micro-tiles (256 threads) for big M, 64x64x16 with 4x4
// (256 threads) for mid-sized M or few tiles, 16x64x16 with 4x4 (64 threads) for M <= 16
// (the 256->1 and 128->3 heads). Every load and store is bounds-checked, so any sizes work.
//
// dW reduces over n, the big dimension (up to ~200k samples), while M x N is small (at
// most 256 x 319): the K range is split over gridDim.z so that the grid fills the GPU,
// and each split adds its partial tile into dW with float atomicAdd (no workspace, dW +=
// comes for free). db (row sums of dZ) is fused into the pass that forms dZ = dY .* act'(Y)
// and uses block reductions + one atomicAdd per block. Atomics make the last bits of dW and
// db depend on scheduling; the forward and dX are deterministic.
#include <cuda_runtime.h>
#include <cublas_v2.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "jnerf/model/linear.hpp"
#include "launch_check.cuh"

namespace jnerf {
namespace {

enum class Epilogue : int {
  BiasAct,     // C = act(acc + bias[row])
  Store,       // C = acc
  Accumulate,  // C += acc
  AtomicAdd,   // atomicAdd(C, acc): split-K partial tiles
};

struct GemmArgs {
  const float* A;
  const float* B;
  float* C;
  const float* bias;
  int lda, ldb, ldc;
  int M, N, K;
  int k_chunk;  // block z covers k in [z * k_chunk, min(K, (z + 1) * k_chunk))
  Activation act;
  Epilogue epi;
  bool vecA, vecB, vecC;  // float4 access allowed (leading dimension % 4 == 0, 16-byte base)
};

// One operand's BK x BR slice (k0.., r0..) staged through registers into shared memory
// S[BK][LDS] (k-major). In global memory element (r, k) is at src[r * ld + k] when
// KCONTIG (k contiguous: the slice is transposed on its way to shared memory), else at
// src[k * ld + r]. Out-of-range elements read as 0.
template <int BK, int BR, int NT, bool KCONTIG>
struct TileLoader {
  static_assert((BK * BR) % (4 * NT) == 0, "tile must split into float4 per thread");
  static constexpr int kVecs = BK * BR / (4 * NT);
  float4 reg[kVecs];

  __device__ __forceinline__ static void coords(int idx, int& rr, int& kk) {
    if (KCONTIG) {
      rr = idx / (BK / 4);
      kk = (idx % (BK / 4)) * 4;
    } else {
      kk = idx / (BR / 4);
      rr = (idx % (BR / 4)) * 4;
    }
  }

  __device__ __forceinline__ void load(const float* __restrict__ src, int ld, int r0, int k0, int R, int kend,
                                       bool vec, int tid) {
#pragma unroll
    for (int v = 0; v < kVecs; ++v) {
      int rr, kk;
      coords(tid + v * NT, rr, kk);
      const int r = r0 + rr, k = k0 + kk;
      float4 x = make_float4(0.f, 0.f, 0.f, 0.f);
      if (KCONTIG) {
        if (r < R) {
          const float* p = src + static_cast<size_t>(r) * ld + k;
          if (vec && k + 3 < kend) {
            x = __ldg(reinterpret_cast<const float4*>(p));
          } else {
            if (k < kend) x.x = __ldg(p);
            if (k + 1 < kend) x.y = __ldg(p + 1);
            if (k + 2 < kend) x.z = __ldg(p + 2);
            if (k + 3 < kend) x.w = __ldg(p + 3);
          }
        }
      } else {
        if (k < kend) {
          const float* p = src + static_cast<size_t>(k) * ld + r;
          if (vec && r + 3 < R) {
            x = __ldg(reinterpret_cast<const float4*>(p));
          } else {
            if (r < R) x.x = __ldg(p);
            if (r + 1 < R) x.y = __ldg(p + 1);
            if (r + 2 < R) x.z = __ldg(p + 2);
            if (r + 3 < R) x.w = __ldg(p + 3);
          }
        }
      }
      reg[v] = x;
    }
  }

  template <int LDS>
  __device__ __forceinline__ void store(float (*S)[LDS], int tid) const {
#pragma unroll
    for (int v = 0; v < kVecs; ++v) {
      int rr, kk;
      coords(tid + v * NT, rr, kk);
      if (KCONTIG) {
        S[kk + 0][rr] = reg[v].x;
        S[kk + 1][rr] = reg[v].y;
        S[kk + 2][rr] = reg[v].z;
        S[kk + 3][rr] = reg[v].w;
      } else {
        *reinterpret_cast<float4*>(&S[kk][rr]) = reg[v];
      }
    }
  }
};

// C (op)= Aop Bop with Aop[m][k] = TA ? A[k*lda + m] : A[m*lda + k] and
// Bop[k][j] = TB ? B[j*ldb + k] : B[k*ldb + j]. Grid: (ceil(N/BN), ceil(M/BM), K splits).
// A thread owns rows {i4 * BM/(TM/4) + ty*4 + 0..3} and columns {j4 * BN/(TN/4) + tx*4 + 0..3}
// of the block tile, so each warp's float4 reads of shared memory are contiguous.
template <int BM, int BN, int BK, int TM, int TN, bool TA, bool TB>
__global__ void __launch_bounds__((BM / TM) * (BN / TN)) gemm_kernel(const GemmArgs p) {
  constexpr int NT = (BM / TM) * (BN / TN);
  constexpr int TX = BN / TN;
  constexpr int RSTEP = BM / (TM / 4);
  constexpr int CSTEP = BN / (TN / 4);
  static_assert(TM % 4 == 0 && TN % 4 == 0, "micro-tiles are float4 multiples");
  __shared__ __align__(16) float As[2][BK][BM + 4];
  __shared__ __align__(16) float Bs[2][BK][BN + 4];

  const int tid = threadIdx.x;
  const int tx = tid % TX, ty = tid / TX;
  const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
  const int kbeg = blockIdx.z * p.k_chunk;
  const int kend = min(p.K, kbeg + p.k_chunk);

  TileLoader<BK, BM, NT, !TA> la;
  TileLoader<BK, BN, NT, TB> lb;
  float acc[TM][TN];
#pragma unroll
  for (int i = 0; i < TM; ++i)
#pragma unroll
    for (int j = 0; j < TN; ++j) acc[i][j] = 0.f;

  if (kbeg < kend) {
    la.load(p.A, p.lda, m0, kbeg, p.M, kend, p.vecA, tid);
    lb.load(p.B, p.ldb, n0, kbeg, p.N, kend, p.vecB, tid);
    la.store(As[0], tid);
    lb.store(Bs[0], tid);
    __syncthreads();
    int buf = 0;
    for (int k0 = kbeg; k0 < kend; k0 += BK) {
      const bool next = k0 + BK < kend;
      if (next) {  // the next slice's global loads overlap this slice's arithmetic
        la.load(p.A, p.lda, m0, k0 + BK, p.M, kend, p.vecA, tid);
        lb.load(p.B, p.ldb, n0, k0 + BK, p.N, kend, p.vecB, tid);
      }
#pragma unroll
      for (int kk = 0; kk < BK; ++kk) {
        float a[TM], b[TN];
#pragma unroll
        for (int i4 = 0; i4 < TM / 4; ++i4) {
          const float4 v = *reinterpret_cast<const float4*>(&As[buf][kk][i4 * RSTEP + ty * 4]);
          a[4 * i4 + 0] = v.x;
          a[4 * i4 + 1] = v.y;
          a[4 * i4 + 2] = v.z;
          a[4 * i4 + 3] = v.w;
        }
#pragma unroll
        for (int j4 = 0; j4 < TN / 4; ++j4) {
          const float4 v = *reinterpret_cast<const float4*>(&Bs[buf][kk][j4 * CSTEP + tx * 4]);
          b[4 * j4 + 0] = v.x;
          b[4 * j4 + 1] = v.y;
          b[4 * j4 + 2] = v.z;
          b[4 * j4 + 3] = v.w;
        }
#pragma unroll
        for (int i = 0; i < TM; ++i)
#pragma unroll
          for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
      }
      if (next) {  // the buffer written here was last read before the previous barrier
        la.store(As[buf ^ 1], tid);
        lb.store(Bs[buf ^ 1], tid);
      }
      __syncthreads();
      buf ^= 1;
    }
  }

  // Epilogue: bias + activation (forward), store / accumulate (dX), atomic add (split dW).
#pragma unroll
  for (int i = 0; i < TM; ++i) {
    const int row = m0 + (i / 4) * RSTEP + ty * 4 + (i % 4);
    if (row >= p.M) continue;
    const float bias = p.epi == Epilogue::BiasAct ? __ldg(p.bias + row) : 0.f;
    float* crow = p.C + static_cast<size_t>(row) * p.ldc;
#pragma unroll
    for (int j4 = 0; j4 < TN / 4; ++j4) {
      const int col = n0 + j4 * CSTEP + tx * 4;
      float v[4];
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        v[c] = acc[i][4 * j4 + c];
        if (p.epi == Epilogue::BiasAct) v[c] = activation_forward(v[c] + bias, p.act);
      }
      if (p.epi == Epilogue::AtomicAdd) {
#pragma unroll
        for (int c = 0; c < 4; ++c)
          if (col + c < p.N) atomicAdd(crow + col + c, v[c]);
      } else if (p.vecC && col + 3 < p.N) {
        float4* q = reinterpret_cast<float4*>(crow + col);
        if (p.epi == Epilogue::Accumulate) {
          const float4 o = *q;
          v[0] += o.x;
          v[1] += o.y;
          v[2] += o.z;
          v[3] += o.w;
        }
        *q = make_float4(v[0], v[1], v[2], v[3]);
      } else {
#pragma unroll
        for (int c = 0; c < 4; ++c)
          if (col + c < p.N) {
            if (p.epi == Epilogue::Accumulate)
              crow[col + c] += v[c];
            else
              crow[col + c] = v[c];
          }
      }
    }
  }
}

// ---- launch --------------------------------------------------------------------

int sm_count() {
  static std::atomic<int> cache[64];  // zero-initialised (static storage)
  int dev = 0;
  if (cudaGetDevice(&dev) != cudaSuccess || dev < 0) return 108;
  if (dev < 64) {
    const int cached = cache[dev].load(std::memory_order_relaxed);
    if (cached > 0) return cached;
  }
  int sms = 0;
  if (cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess || sms <= 0) sms = 108;
  if (dev < 64) cache[dev].store(sms, std::memory_order_relaxed);
  return sms;
}

bool aligned16(const void* ptr) { return (reinterpret_cast<std::uintptr_t>(ptr) & 15u) == 0; }

int ceil_div(long long a, long long b) { return static_cast<int>((a + b - 1) / b); }

template <int BM, int BN, int BK, int TM, int TN, bool TA, bool TB>
void launch_tiled(GemmArgs p, bool split_k, int sms, cudaStream_t stream) {
  constexpr int NT = (BM / TM) * (BN / TN);
  const int tiles_n = ceil_div(p.N, BN), tiles_m = ceil_div(p.M, BM);
  if (tiles_m > 65535) throw std::invalid_argument("linear (cuda): too many output rows");
  int splits = 1;
  if (split_k) {
    // Enough blocks for ~2 waves of 256-thread blocks, each split at least 256 deep.
    const long long tiles = static_cast<long long>(tiles_n) * tiles_m;
    const long long target = 2LL * sms * (256 / NT);
    const long long want = (target + tiles - 1) / tiles;
    const long long most = (p.K + 255) / 256;
    splits = static_cast<int>(std::max(1LL, std::min({want, most, 65535LL})));
  }
  int chunk = ceil_div(p.K, splits);
  chunk = ceil_div(chunk, BK) * BK;
  if (chunk <= 0) chunk = BK;
  splits = std::max(1, ceil_div(p.K, chunk));
  p.k_chunk = chunk;
  if (p.epi == Epilogue::AtomicAdd && splits == 1) p.epi = Epilogue::Accumulate;  // deterministic
  const dim3 grid(tiles_n, tiles_m, splits);
  gemm_kernel<BM, BN, BK, TM, TN, TA, TB><<<grid, NT, 0, stream>>>(p);
  check_launch("linear (cuda) gemm");
}

// Picks the tile shape for an M x N output.
template <bool TA, bool TB>
void launch_gemm(const GemmArgs& p, bool split_k, cudaStream_t stream) {
  if (p.M <= 0 || p.N <= 0) return;
  const int sms = sm_count();
  if (p.M <= 16) return launch_tiled<16, 64, 16, 4, 4, TA, TB>(p, split_k, sms, stream);
  const long long big_tiles = static_cast<long long>(ceil_div(p.M, 128)) * ceil_div(p.N, 128);
  if (p.M >= 128 && p.N >= 128 && (split_k || big_tiles >= sms))
    return launch_tiled<128, 128, 8, 8, 8, TA, TB>(p, split_k, sms, stream);
  return launch_tiled<64, 64, 16, 4, 4, TA, TB>(p, split_k, sms, stream);
}

// ---- element-wise parts ------------------------------------------------------------

constexpr int kEwThreads = 256;
constexpr int kEwPerBlock = kEwThreads * 16;  // samples of one row per block

// dZ = dY .* act'(Y) (written when dZ != nullptr) and db[row] += sum of the block's dZ.
// Grid: (ceil(n / kEwPerBlock), rows). dZ may equal dY (each element is read, then written,
// by the same thread).
__global__ void __launch_bounds__(kEwThreads)
    backward_dz_kernel(const float* Y, const float* dY, float* dZ, float* db, int n, Activation act) {
  const int row = blockIdx.y;
  const size_t base = static_cast<size_t>(row) * n;
  const int s0 = blockIdx.x * kEwPerBlock;
  const int s1 = min(n, s0 + kEwPerBlock);
  float sum = 0.f;
  for (int s = s0 + threadIdx.x; s < s1; s += kEwThreads) {
    const float dy = dY[base + s];
    const float z = act == Activation::None ? dy : activation_backward(Y[base + s], dy, act);
    if (dZ) dZ[base + s] = z;
    sum += z;
  }
  if (!db) return;
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) sum += __shfl_down_sync(0xffffffffu, sum, offset);
  __shared__ float warp_sums[kEwThreads / 32];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane == 0) warp_sums[warp] = sum;
  __syncthreads();
  if (warp == 0) {
    sum = lane < kEwThreads / 32 ? warp_sums[lane] : 0.f;
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) sum += __shfl_down_sync(0xffffffffu, sum, offset);
    if (lane == 0) atomicAdd(db + row, sum);
  }
}

void launch_backward_dz(const float* Y, const float* dY, float* dZ, float* db, int out, int n, Activation act,
                        cudaStream_t stream) {
  if (out > 65535) throw std::invalid_argument("linear (cuda): more than 65535 output rows");
  const dim3 grid(ceil_div(n, kEwPerBlock), out);
  backward_dz_kernel<<<grid, kEwThreads, 0, stream>>>(Y, dY, dZ, db, n, act);
  check_launch("linear (cuda) dZ");
}

// Y = act(Y + b[row]) over an out x n array (the cuBLAS path's epilogue).
__global__ void bias_act_kernel(float* Y, const float* b, int n, Activation act) {
  const int row = blockIdx.y;
  const size_t base = static_cast<size_t>(row) * n;
  const int s1 = min(n, static_cast<int>(blockIdx.x + 1) * kEwPerBlock);
  for (int s = blockIdx.x * kEwPerBlock + threadIdx.x; s < s1; s += kEwThreads)
    Y[base + s] = activation_forward(Y[base + s] + b[row], act);
}

__global__ void fill_kernel(float* x, int count, float value) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < count) x[i] = value;
}

void check_sizes(int in, int out, int n, const char* what) {
  if (in < 0 || out < 0 || n < 0) throw std::invalid_argument(std::string(what) + ": negative size");
  // The per-row epilogues put one output row in each gridDim.y.
  if (out > 65535) throw std::invalid_argument(std::string(what) + ": more than 65535 outputs");
}

}  // namespace

// ---- hand-written path ---------------------------------------------------------------

void linear_forward_cuda(const float* W, const float* b, const float* X, float* Y, int in, int out, int n,
                         Activation act, void* stream) {
  check_sizes(in, out, n, "linear_forward_cuda");
  if (out == 0 || n == 0) return;
  GemmArgs p{};
  p.A = W;
  p.lda = in;
  p.B = X;
  p.ldb = n;
  p.C = Y;
  p.ldc = n;
  p.bias = b;
  p.M = out;
  p.N = n;
  p.K = in;
  p.act = act;
  p.epi = Epilogue::BiasAct;
  p.vecA = in % 4 == 0 && aligned16(W);
  p.vecB = n % 4 == 0 && aligned16(X);
  p.vecC = n % 4 == 0 && aligned16(Y);
  launch_gemm<false, false>(p, false, static_cast<cudaStream_t>(stream));
}

void linear_backward_cuda(const float* W, const float* X, const float* Y, const float* dY, float* dW, float* db,
                          float* dX, int in, int out, int n, Activation act, float* scratch, bool accumulate_dX,
                          void* stream) {
  check_sizes(in, out, n, "linear_backward_cuda");
  const cudaStream_t s = static_cast<cudaStream_t>(stream);
  if (out == 0 || n == 0) {
    if (dX && !accumulate_dX && in > 0 && n > 0) {
      if (cudaMemsetAsync(dX, 0, sizeof(float) * static_cast<size_t>(in) * n, s) != cudaSuccess)
        throw std::runtime_error("linear_backward_cuda: cudaMemsetAsync failed");
    }
    return;
  }
  if (act != Activation::None && scratch == nullptr)
    throw std::invalid_argument("linear_backward_cuda: scratch (out x n) is required with an activation");
  const bool write_dz = act != Activation::None;
  if (write_dz || db) launch_backward_dz(Y, dY, write_dz ? scratch : nullptr, db, out, n, act, s);
  const float* dZ = write_dz ? scratch : dY;
  if (in == 0) return;
  if (dW) {  // dW (out x in) += dZ (out x n) X^T: K = n, split over blocks
    GemmArgs p{};
    p.A = dZ;
    p.lda = n;
    p.B = X;
    p.ldb = n;
    p.C = dW;
    p.ldc = in;
    p.M = out;
    p.N = in;
    p.K = n;
    p.act = Activation::None;
    p.epi = Epilogue::AtomicAdd;
    p.vecA = n % 4 == 0 && aligned16(dZ);
    p.vecB = n % 4 == 0 && aligned16(X);
    p.vecC = false;
    launch_gemm<false, true>(p, true, s);
  }
  if (dX) {  // dX (in x n) = W^T dZ: A = W read transposed
    GemmArgs p{};
    p.A = W;
    p.lda = in;
    p.B = dZ;
    p.ldb = n;
    p.C = dX;
    p.ldc = n;
    p.M = in;
    p.N = n;
    p.K = out;
    p.act = Activation::None;
    p.epi = accumulate_dX ? Epilogue::Accumulate : Epilogue::Store;
    p.vecA = in % 4 == 0 && aligned16(W);
    p.vecB = n % 4 == 0 && aligned16(dZ);
    p.vecC = n % 4 == 0 && aligned16(dX);
    launch_gemm<true, false>(p, false, s);
  }
}

// ---- cuBLAS reference path -----------------------------------------------------------
// cuBLAS is column-major: our row-major R x C array with leading dimension C is, to
// cuBLAS, its C x R transpose. So Y (out x n) = W X is, column-major, Y^T = X^T W^T with
// X^T = the X buffer (n x in, ld n) and W^T = the W buffer (in x out, ld in).

namespace {

void check_cublas(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error(std::string("linear (cublas) ") + what + ": status " + std::to_string(int(status)));
}

class CublasHandle {
 public:
  explicit CublasHandle(cudaStream_t stream) : stream_(stream) {
    check_cublas(cublasCreate(&handle_), "create");
    cublasSetStream(handle_, stream);
    cublasSetMathMode(handle_, CUBLAS_PEDANTIC_MATH);  // plain FP32, no TF32
  }
  ~CublasHandle() {
    cudaStreamSynchronize(stream_);
    cublasDestroy(handle_);
  }
  CublasHandle(const CublasHandle&) = delete;
  CublasHandle& operator=(const CublasHandle&) = delete;
  cublasHandle_t get() const { return handle_; }

 private:
  cublasHandle_t handle_ = nullptr;
  cudaStream_t stream_;
};

}  // namespace

void linear_forward_cublas(const float* W, const float* b, const float* X, float* Y, int in, int out, int n,
                           Activation act, void* stream) {
  check_sizes(in, out, n, "linear_forward_cublas");
  if (out == 0 || n == 0) return;
  const cudaStream_t s = static_cast<cudaStream_t>(stream);
  CublasHandle h(s);
  const float one = 1.f, zero = 0.f;
  // Y^T (n x out) = X^T (n x in) * W^T (in x out). With no inputs Y is act(b): cuBLAS
  // refuses a leading dimension of 0, so the product is a memset then.
  if (in == 0)
    check_cuda(cudaMemsetAsync(Y, 0, sizeof(float) * size_t(out) * n, s), "linear (cublas) zero product");
  else
    check_cublas(cublasSgemm(h.get(), CUBLAS_OP_N, CUBLAS_OP_N, n, out, in, &one, X, n, W, in, &zero, Y, n),
                 "sgemm forward");
  const dim3 grid(ceil_div(n, kEwPerBlock), out);
  bias_act_kernel<<<grid, kEwThreads, 0, s>>>(Y, b, n, act);
  check_launch("linear (cublas) bias");
}

void linear_backward_cublas(const float* W, const float* X, const float* Y, const float* dY, float* dW, float* db,
                            float* dX, int in, int out, int n, Activation act, float* scratch, bool accumulate_dX,
                            void* stream) {
  check_sizes(in, out, n, "linear_backward_cublas");
  const cudaStream_t s = static_cast<cudaStream_t>(stream);
  if (out == 0 || n == 0) {
    if (dX && !accumulate_dX && in > 0 && n > 0) cudaMemsetAsync(dX, 0, sizeof(float) * size_t(in) * n, s);
    return;
  }
  if (act != Activation::None && scratch == nullptr)
    throw std::invalid_argument("linear_backward_cublas: scratch (out x n) is required with an activation");
  const float* dZ = dY;
  if (act != Activation::None) {
    launch_backward_dz(Y, dY, scratch, nullptr, out, n, act, s);
    dZ = scratch;
  }
  CublasHandle h(s);
  const float one = 1.f, zero = 0.f;
  if (db) {  // db (out) += dZ (out x n) * ones: column-major dZ is n x out, so op T
    float* ones = nullptr;
    if (cudaMalloc(&ones, sizeof(float) * size_t(n)) != cudaSuccess)
      throw std::runtime_error("linear_backward_cublas: cudaMalloc failed");
    fill_kernel<<<ceil_div(n, 256), 256, 0, s>>>(ones, n, 1.f);
    const cublasStatus_t st = cublasSgemv(h.get(), CUBLAS_OP_T, n, out, &one, dZ, n, ones, 1, &one, db, 1);
    cudaStreamSynchronize(s);
    cudaFree(ones);
    check_cublas(st, "sgemv db");
  }
  if (in == 0) return;
  if (dW)  // dW^T (in x out) += X dZ^T: the X buffer is column-major n x in (op T), dZ's is n x out
    check_cublas(cublasSgemm(h.get(), CUBLAS_OP_T, CUBLAS_OP_N, in, out, n, &one, X, n, dZ, n, &one, dW, in),
                 "sgemm dW");
  if (dX) {  // dX^T (n x in) = dZ^T (n x out) * W (out x in); W buffer is W^T (in x out) column-major
    const float* beta = accumulate_dX ? &one : &zero;
    check_cublas(cublasSgemm(h.get(), CUBLAS_OP_N, CUBLAS_OP_T, n, in, out, &one, dZ, n, W, in, beta, dX, n),
                 "sgemm dX");
  }
}

// ---- fully fused MLP ----------------------------------------------------------------------
// Forward: one block of 256 threads per 128 samples. Shared memory: buffer A (max(in, width)
// x 128, the input tile, then every second hidden layer), buffer B (width x 128) and a weight
// slice Wt (kMlpKC x (width + 4), the layer's weights transposed, k-major). Each layer is
// a (rows x K) x (K x 128) product: thread (ty, tx) owns rows {j4*64 + ty*4 + 0..3} (width/16
// rows) and samples {h*64 + tx*4 + 0..3} (8 samples), reading shared memory with float4.
// Layers ping-pong between A and B; the output layer writes Y in global memory, and the
// hidden layers are also written to global memory when the caller asks for them (training).
//
// Backward: the same block shape and micro-tiles run the transposed products. Shared
// memory: two dZ buffers (width x 128 each, ping-pong) and the weight slice, now
// Wt[r][j] = W[r][j] for 32 rows r of W (the reduction index of W^T dZ), which is W's own
// row-major order, so the slice loads are contiguous in both memories. Each layer's dZ goes
// to global memory (the weight gradients are separate tiled GEMMs over all samples, as in
// tiny-cuda-nn, since they reduce over n).

namespace {

constexpr int kMlpSamples = 128;
constexpr int kMlpThreads = 256;
constexpr int kMlpKC = 32;

size_t mlp_smem_bytes(int in, int width) {
  return sizeof(float) * (static_cast<size_t>(kMlpSamples) * (std::max(in, width) + width) +
                          static_cast<size_t>(kMlpKC) * (width + 4));
}

// Two dZ buffers and the weight slice; at most mlp_smem_bytes(in, width) for every in.
size_t mlp_backward_smem_bytes(int width) {
  return sizeof(float) * (2 * static_cast<size_t>(kMlpSamples) * width + static_cast<size_t>(kMlpKC) * (width + 4));
}

// Offset of layer l's W in the flat parameter array (its b follows W).
__host__ __device__ __forceinline__ size_t mlp_layer_offset(int l, int in, int width) {
  return l == 0 ? 0
                : static_cast<size_t>(width) * (in + 1) + static_cast<size_t>(l - 1) * width * (width + 1);
}

// acc[i][j] += sum over kk < kn of Wt[kk][row_i] * src[kk][sample_j] for this thread's
// micro-tile (rows (i/4)*64 + ty*4 + i%4, samples (j/4)*64 + tx*4 + j%4). Wt has row stride
// WIDTH + 4, src (a shared activation buffer advanced to the slice's first row) 128.
template <int WIDTH>
__device__ __forceinline__ void mlp_slice_fma(const float* Wt, const float* src, int kn,
                                              float (&acc)[WIDTH / 16][8], int tx, int ty) {
  constexpr int RT = WIDTH / 16;
  constexpr int WLD = WIDTH + 4;
  for (int kk = 0; kk < kn; ++kk) {
    float a[RT], h[8];
#pragma unroll
    for (int j4 = 0; j4 < RT / 4; ++j4) {
      const float4 v = *reinterpret_cast<const float4*>(Wt + kk * WLD + j4 * 64 + ty * 4);
      a[4 * j4 + 0] = v.x;
      a[4 * j4 + 1] = v.y;
      a[4 * j4 + 2] = v.z;
      a[4 * j4 + 3] = v.w;
    }
    const float* hrow = src + kk * kMlpSamples;
#pragma unroll
    for (int h2 = 0; h2 < 2; ++h2) {
      const float4 v = *reinterpret_cast<const float4*>(hrow + h2 * 64 + tx * 4);
      h[4 * h2 + 0] = v.x;
      h[4 * h2 + 1] = v.y;
      h[4 * h2 + 2] = v.z;
      h[4 * h2 + 3] = v.w;
    }
#pragma unroll
    for (int i = 0; i < RT; ++i)
#pragma unroll
      for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(a[i], h[j], acc[i][j]);
  }
}

// Four consecutive samples of one feature-major row in global memory, of which `valid`
// (<= 0: none) are in range; missing ones read as 0. One float4 access when `vec` (the
// caller guarantees 16-byte alignment then) and all four are in range.
__device__ __forceinline__ void mlp_load4(const float* p, int valid, bool vec, float (&v)[4]) {
  if (vec && valid >= 4) {
    const float4 x = __ldg(reinterpret_cast<const float4*>(p));
    v[0] = x.x;
    v[1] = x.y;
    v[2] = x.z;
    v[3] = x.w;
  } else {
#pragma unroll
    for (int c = 0; c < 4; ++c) v[c] = c < valid ? __ldg(p + c) : 0.f;
  }
}

__device__ __forceinline__ void mlp_store4(float* p, const float (&v)[4], int valid, bool vec) {
  if (vec && valid >= 4) {
    *reinterpret_cast<float4*>(p) = make_float4(v[0], v[1], v[2], v[3]);
  } else {
#pragma unroll
    for (int c = 0; c < 4; ++c)
      if (c < valid) p[c] = v[c];
  }
}

template <int WIDTH>
__global__ void __launch_bounds__(kMlpThreads, 1)
    mlp_fused_forward_kernel(const float* __restrict__ params, const float* __restrict__ X, float* __restrict__ Y,
                             float* __restrict__ hidden, int in, int hidden_layers, int out, int n,
                             Activation output_act, bool vec_hidden) {
  constexpr int RT = WIDTH / 16;  // rows per thread
  constexpr int WLD = WIDTH + 4;  // Wt row stride
  extern __shared__ __align__(16) float smem[];
  float* bufA = smem;
  float* bufB = bufA + kMlpSamples * max(in, WIDTH);
  float* Wt = bufB + kMlpSamples * WIDTH;

  const int tid = threadIdx.x;
  const int tx = tid % 16, ty = tid / 16;
  const int s0 = blockIdx.x * kMlpSamples;
  const int ns = min(kMlpSamples, n - s0);

  // Input tile (zeros past the last sample).
  for (int idx = tid; idx < in * kMlpSamples; idx += kMlpThreads) {
    const int k = idx / kMlpSamples, s = idx % kMlpSamples;
    bufA[idx] = s < ns ? __ldg(X + static_cast<size_t>(k) * n + s0 + s) : 0.f;
  }

  const float* layer = params;
  const int layers = hidden_layers + 1;
  for (int l = 0; l < layers; ++l) {
    const bool last = l == layers - 1;
    const int K = l == 0 ? in : WIDTH;
    const int R = last ? out : WIDTH;
    const float* Wg = layer;
    const float* bg = layer + static_cast<size_t>(R) * K;
    layer = bg + R;
    const float* src = (l % 2 == 0) ? bufA : bufB;
    float* dst = (l % 2 == 0) ? bufB : bufA;

    float acc[RT][8];
#pragma unroll
    for (int i = 0; i < RT; ++i)
#pragma unroll
      for (int j = 0; j < 8; ++j) acc[i][j] = 0.f;

    for (int kc = 0; kc < K; kc += kMlpKC) {
      __syncthreads();  // the previous slice (or layer) is done with Wt and with dst
      for (int idx = tid; idx < WIDTH * kMlpKC; idx += kMlpThreads) {
        const int r = idx / kMlpKC, kk = idx % kMlpKC;
        Wt[kk * WLD + r] = (r < R && kc + kk < K) ? __ldg(Wg + static_cast<size_t>(r) * K + kc + kk) : 0.f;
      }
      __syncthreads();
      mlp_slice_fma<WIDTH>(Wt, src + kc * kMlpSamples, min(kMlpKC, K - kc), acc, tx, ty);
    }

    // Epilogue. Hidden layers: ReLU into dst (the next layer's first barrier orders these
    // writes before any read), and to `hidden` when asked. Output layer: output_act
    // straight to Y.
    float* hl = (!last && hidden) ? hidden + static_cast<size_t>(l) * WIDTH * n + s0 : nullptr;
#pragma unroll
    for (int i = 0; i < RT; ++i) {
      const int r = (i / 4) * 64 + ty * 4 + (i % 4);
      if (r >= R) continue;
      const float bias = __ldg(bg + r);
#pragma unroll
      for (int h2 = 0; h2 < 2; ++h2) {
        const int s = h2 * 64 + tx * 4;
        float v[4];
#pragma unroll
        for (int c = 0; c < 4; ++c)
          v[c] = activation_forward(acc[i][4 * h2 + c] + bias, last ? output_act : Activation::ReLU);
        if (!last) {
          *reinterpret_cast<float4*>(dst + r * kMlpSamples + s) = make_float4(v[0], v[1], v[2], v[3]);
          if (hl) mlp_store4(hl + static_cast<size_t>(r) * n + s, v, ns - s, vec_hidden);
        } else {
          float* yrow = Y + static_cast<size_t>(r) * n + s0;
#pragma unroll
          for (int c = 0; c < 4; ++c)
            if (s + c < ns) yrow[s + c] = v[c];
        }
      }
    }
  }
}

// The activation-gradient chain of one block of 128 samples (see mlp_fused_backward_cuda).
// `vec_*`: n % 4 == 0 and that pointer 16-byte aligned, so every 4-sample group of a row
// is float4-aligned (s0 is a multiple of 128, row and layer strides multiples of 4).
template <int WIDTH>
__global__ void __launch_bounds__(kMlpThreads, 1)
    mlp_fused_backward_kernel(const float* __restrict__ params, const float* __restrict__ hidden,
                              const float* __restrict__ Y, const float* __restrict__ dY, float* __restrict__ dZ,
                              float* __restrict__ dX, int in, int hidden_layers, int out, int n,
                              Activation output_act, bool vec_hidden, bool vec_dz, bool vec_dx) {
  constexpr int RT = WIDTH / 16;  // rows per thread
  constexpr int WLD = WIDTH + 4;  // Wt row stride
  extern __shared__ __align__(16) float smem[];
  float* cur = smem;                       // dZ of the layer being propagated (rows x 128)
  float* nxt = cur + kMlpSamples * WIDTH;  // dZ of the layer below
  float* Wt = nxt + kMlpSamples * WIDTH;   // kMlpKC rows of W (row stride WLD)

  const int tid = threadIdx.x;
  const int tx = tid % 16, ty = tid / 16;
  const int s0 = blockIdx.x * kMlpSamples;
  const int ns = min(kMlpSamples, n - s0);
  const size_t plane = static_cast<size_t>(WIDTH) * n;  // one layer's slot in hidden / dZ

  // Output layer: dZ = dY .* act'(Y) (rows < out; zeros past the last sample) into cur and
  // into its dZ slot. Rows out..WIDTH-1 of cur are never read (the next product stops at
  // row out).
  {
    float* dz_out = dZ + static_cast<size_t>(hidden_layers) * plane;
    for (int idx = tid; idx < out * kMlpSamples; idx += kMlpThreads) {
      const int r = idx / kMlpSamples, s = idx % kMlpSamples;
      float z = 0.f;
      if (s < ns) {
        const size_t g = static_cast<size_t>(r) * n + s0 + s;
        const float dy = __ldg(dY + g);
        z = output_act == Activation::None ? dy : activation_backward(__ldg(Y + g), dy, output_act);
        dz_out[g] = z;
      }
      cur[idx] = z;
    }
  }

  // Top down: dZ_{l-1} = (W_l^T dZ_l) .* (hidden_{l-1} > 0), W_l is R x WIDTH (l >= 1).
  for (int l = hidden_layers; l >= 1; --l) {
    const int R = l == hidden_layers ? out : WIDTH;  // rows of W_l: the reduction depth
    const float* Wg = params + mlp_layer_offset(l, in, WIDTH);

    float acc[RT][8];
#pragma unroll
    for (int i = 0; i < RT; ++i)
#pragma unroll
      for (int j = 0; j < 8; ++j) acc[i][j] = 0.f;

    for (int rc = 0; rc < R; rc += kMlpKC) {
      // The previous slice is done with Wt; cur is complete; (first slice) the previous
      // layer's product is done reading nxt, which this layer's epilogue overwrites.
      __syncthreads();
      for (int idx = tid; idx < kMlpKC * WIDTH; idx += kMlpThreads) {
        const int rr = idx / WIDTH, j = idx % WIDTH;
        Wt[rr * WLD + j] = rc + rr < R ? __ldg(Wg + static_cast<size_t>(rc + rr) * WIDTH + j) : 0.f;
      }
      __syncthreads();
      mlp_slice_fma<WIDTH>(Wt, cur + rc * kMlpSamples, min(kMlpKC, R - rc), acc, tx, ty);
    }

    // Epilogue: mask with ReLU'(hidden_{l-1}) (read from global memory; 0 past the last
    // sample, so the tail columns of nxt are zeros), into nxt and dZ slot l-1.
    const float* hl = hidden + static_cast<size_t>(l - 1) * plane + s0;
    float* dzl = dZ + static_cast<size_t>(l - 1) * plane + s0;
#pragma unroll
    for (int i = 0; i < RT; ++i) {
      const int r = (i / 4) * 64 + ty * 4 + (i % 4);
#pragma unroll
      for (int h2 = 0; h2 < 2; ++h2) {
        const int s = h2 * 64 + tx * 4;
        float h[4], v[4];
        mlp_load4(hl + static_cast<size_t>(r) * n + s, ns - s, vec_hidden, h);
#pragma unroll
        for (int c = 0; c < 4; ++c) v[c] = activation_backward(h[c], acc[i][4 * h2 + c], Activation::ReLU);
        *reinterpret_cast<float4*>(nxt + r * kMlpSamples + s) = make_float4(v[0], v[1], v[2], v[3]);
        mlp_store4(dzl + static_cast<size_t>(r) * n + s, v, ns - s, vec_dz);
      }
    }
    float* t = cur;
    cur = nxt;
    nxt = t;
  }

  // dX = W_0^T dZ_0 (cur now holds dZ_0), in chunks of WIDTH rows of dX (columns of W_0,
  // which is WIDTH x in). The branch and loops are uniform over the block.
  if (dX != nullptr) {
    for (int jc = 0; jc < in; jc += WIDTH) {
      const int jn = min(WIDTH, in - jc);
      float acc[RT][8];
#pragma unroll
      for (int i = 0; i < RT; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] = 0.f;
      for (int rc = 0; rc < WIDTH; rc += kMlpKC) {
        __syncthreads();  // Wt is free; (first slice of the first chunk) dZ_0 is complete
        for (int idx = tid; idx < kMlpKC * WIDTH; idx += kMlpThreads) {
          const int rr = idx / WIDTH, j = idx % WIDTH;
          Wt[rr * WLD + j] = j < jn ? __ldg(params + static_cast<size_t>(rc + rr) * in + jc + j) : 0.f;
        }
        __syncthreads();
        mlp_slice_fma<WIDTH>(Wt, cur + rc * kMlpSamples, kMlpKC, acc, tx, ty);
      }
#pragma unroll
      for (int i = 0; i < RT; ++i) {
        const int r = (i / 4) * 64 + ty * 4 + (i % 4);
        if (r >= jn) continue;
        float* xrow = dX + static_cast<size_t>(jc + r) * n + s0;
#pragma unroll
        for (int h2 = 0; h2 < 2; ++h2) {
          const int s = h2 * 64 + tx * 4;
          const float v[4] = {acc[i][4 * h2 + 0], acc[i][4 * h2 + 1], acc[i][4 * h2 + 2], acc[i][4 * h2 + 3]};
          mlp_store4(xrow + s, v, ns - s, vec_dx);
        }
      }
    }
  }
}

int max_optin_smem() {
  int dev = 0, bytes = 0;
  if (cudaGetDevice(&dev) != cudaSuccess) return 48 * 1024;
  if (cudaDeviceGetAttribute(&bytes, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev) != cudaSuccess || bytes <= 0)
    return 48 * 1024;
  return bytes;
}

// Lets `kernel` take up to the device's opt-in shared memory. Always the device maximum, not
// this call's size: calls with different sizes (the density and colour MLPs) from several
// host threads then cannot undo each other's setting between set and launch.
template <class Kernel>
void allow_optin_smem(Kernel kernel) {
  check_cuda(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, max_optin_smem()),
             "fused MLP (shared memory opt-in)");
}

std::string mlp_shape(int in, int width, int hidden_layers, int out) {
  return "(in " + std::to_string(in) + ", width " + std::to_string(width) + ", hidden layers " +
         std::to_string(hidden_layers) + ", out " + std::to_string(out) + ")";
}

}  // namespace

bool mlp_fused_supported(int in, int width, int hidden_layers, int out) {
  if (width != 64 && width != 128) return false;
  if (in < 1 || hidden_layers < 1 || out < 1 || out > width) return false;
  // The backward's shared memory never exceeds the forward's, so this covers both.
  return mlp_smem_bytes(in, width) <= static_cast<size_t>(max_optin_smem());
}

void mlp_fused_forward_cuda(const float* params, const float* X, float* Y, int in, int width, int hidden_layers,
                            int out, int n, Activation output_act, void* stream, float* hidden) {
  if (n < 0) throw std::invalid_argument("mlp_fused_forward_cuda: negative batch size");
  if (!mlp_fused_supported(in, width, hidden_layers, out))
    throw std::invalid_argument("mlp_fused_forward_cuda: unsupported shape " +
                                mlp_shape(in, width, hidden_layers, out));
  if (n == 0) return;
  const size_t smem = mlp_smem_bytes(in, width);
  const unsigned blocks = static_cast<unsigned>(ceil_div(n, kMlpSamples));
  const cudaStream_t s = static_cast<cudaStream_t>(stream);
  const bool vec_hidden = n % 4 == 0 && aligned16(hidden);
  if (width == 64) {
    allow_optin_smem(mlp_fused_forward_kernel<64>);
    mlp_fused_forward_kernel<64><<<blocks, kMlpThreads, smem, s>>>(params, X, Y, hidden, in, hidden_layers, out, n,
                                                                   output_act, vec_hidden);
  } else {
    allow_optin_smem(mlp_fused_forward_kernel<128>);
    mlp_fused_forward_kernel<128><<<blocks, kMlpThreads, smem, s>>>(params, X, Y, hidden, in, hidden_layers, out,
                                                                    n, output_act, vec_hidden);
  }
  check_launch("mlp_fused_forward_cuda");
}

void mlp_fused_backward_cuda(const float* params, const float* X, const float* hidden, const float* Y,
                             const float* dY, float* d_params, float* dX, float* dZ_scratch, int in, int width,
                             int hidden_layers, int out, int n, Activation output_act, void* stream) {
  if (n < 0) throw std::invalid_argument("mlp_fused_backward_cuda: negative batch size");
  if (!mlp_fused_supported(in, width, hidden_layers, out))
    throw std::invalid_argument("mlp_fused_backward_cuda: unsupported shape " +
                                mlp_shape(in, width, hidden_layers, out));
  if (n == 0) return;
  if (!params || !hidden || !dY || !dZ_scratch)
    throw std::invalid_argument("mlp_fused_backward_cuda: params, hidden, dY and dZ_scratch are required");
  if (output_act != Activation::None && !Y)
    throw std::invalid_argument("mlp_fused_backward_cuda: Y is required with an output activation");
  if (d_params && !X) throw std::invalid_argument("mlp_fused_backward_cuda: X is required for the weight gradients");

  const size_t smem = mlp_backward_smem_bytes(width);
  const unsigned blocks = static_cast<unsigned>(ceil_div(n, kMlpSamples));
  const cudaStream_t s = static_cast<cudaStream_t>(stream);
  const bool vec_hidden = n % 4 == 0 && aligned16(hidden);
  const bool vec_dz = n % 4 == 0 && aligned16(dZ_scratch);
  const bool vec_dx = n % 4 == 0 && aligned16(dX);
  if (width == 64) {
    allow_optin_smem(mlp_fused_backward_kernel<64>);
    mlp_fused_backward_kernel<64><<<blocks, kMlpThreads, smem, s>>>(params, hidden, Y, dY, dZ_scratch, dX, in,
                                                                    hidden_layers, out, n, output_act, vec_hidden,
                                                                    vec_dz, vec_dx);
  } else {
    allow_optin_smem(mlp_fused_backward_kernel<128>);
    mlp_fused_backward_kernel<128><<<blocks, kMlpThreads, smem, s>>>(params, hidden, Y, dY, dZ_scratch, dX, in,
                                                                     hidden_layers, out, n, output_act, vec_hidden,
                                                                     vec_dz, vec_dx);
  }
  check_launch("mlp_fused_backward_cuda");
  if (!d_params) return;

  // Weight gradients over all n samples: dW_l += dZ_l A_{l-1}^T and db_l += row sums of
  // dZ_l, by linear_backward_cuda with no activation (dZ == its dY) and no dX (split-K
  // GEMM + block-reduced row sums, both accumulating).
  const size_t plane = static_cast<size_t>(width) * n;
  for (int l = 0; l <= hidden_layers; ++l) {
    const int K = l == 0 ? in : width;
    const int R = l == hidden_layers ? out : width;
    const size_t w_off = mlp_layer_offset(l, in, width);
    const size_t b_off = w_off + static_cast<size_t>(R) * K;
    const float* A = l == 0 ? X : hidden + static_cast<size_t>(l - 1) * plane;
    linear_backward_cuda(params + w_off, A, nullptr, dZ_scratch + static_cast<size_t>(l) * plane,
                         d_params + w_off, d_params + b_off, nullptr, K, R, n, Activation::None, nullptr, false,
                         stream);
  }
}

}  // namespace jnerf
