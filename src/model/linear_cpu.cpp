// CPU linear layers: Eigen GEMMs on row-major maps plus the per-element math of
// kernels/linear.cuh (shared with the CUDA kernels).
//
// Parallel scheme: ONE OpenMP region per call, the n samples split into one contiguous
// column range per thread. Each thread runs single-threaded Eigen GEMMs on its range
// (Eigen does not nest inside a parallel region) with the element-wise work fused in:
//   forward   per 512-column block: Y_b = b, Y_b += W X_b, Y_b = act(Y_b) while it is in cache;
//   backward  dZ_r = dY_r .* act'(Y_r) with its row sums, dX_r = W^T dZ_r, and a private
//             dW partial dZ_r X_r^T (thread 0 adds straight into dW/db, the others into
//             scratch partials added afterwards in thread order: deterministic for a given
//             thread count).
// Compared with letting Eigen parallelise each GEMM, this has a single barrier per call
// instead of one per GEMM block (Eigen's parallel GEMM synchronises every k-panel, which
// collapses when a core is shared with other processes) and needs no extra memory passes.
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 reports a false -Wmaybe-uninitialized inside Eigen 3.4's AVX-512 GEMM packing.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include "jnerf/model/linear.hpp"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include <Eigen/Core>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace jnerf {
namespace {

template <class T>
using MatR = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
// A column range of a row-major array with n columns: leading dimension n.
template <class T>
using CBlock = Eigen::Map<const MatR<T>, Eigen::Unaligned, Eigen::OuterStride<>>;
template <class T>
using MBlock = Eigen::Map<MatR<T>, Eigen::Unaligned, Eigen::OuterStride<>>;
template <class T>
using CMap = Eigen::Map<const MatR<T>>;
template <class T>
using MMap = Eigen::Map<MatR<T>>;

// Forward column block: the output block (out x 512) stays in L2 between the GEMM and
// the bias/activation passes.
constexpr int kForwardBlock = 512;
// Below this many multiply-adds a call runs on the calling thread only.
constexpr long long kParallelMinFlops = 1LL << 18;

int thread_count(long long macs, int n) {
#ifdef _OPENMP
  if (macs < kParallelMinFlops) return 1;
  return std::max(1, std::min(omp_get_max_threads(), n / 64));
#else
  (void)macs;
  (void)n;
  return 1;
#endif
}

int thread_id() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

// The team actually running (may be smaller than asked for, e.g. inside another region).
int team_size() {
#ifdef _OPENMP
  return omp_get_num_threads();
#else
  return 1;
#endif
}

// Thread t of `threads` owns columns [first, last) of n, cut at multiples of 16.
void column_range(int n, int threads, int t, int& first, int& last) {
  const long long step = ((static_cast<long long>(n) + threads - 1) / threads + 15) / 16 * 16;
  first = static_cast<int>(std::min<long long>(n, step * t));
  last = static_cast<int>(std::min<long long>(n, step * (t + 1)));
}

template <class T>
void forward_range(const T* W, const T* b, const T* X, T* Y, int in, int out, int n, Activation act, int c0,
                   int c1) {
  for (int s0 = c0; s0 < c1; s0 += kForwardBlock) {
    const int w = std::min(kForwardBlock, c1 - s0);
    for (int r = 0; r < out; ++r) {
      T* row = Y + static_cast<long long>(r) * n + s0;
      const T value = b[r];
#pragma omp simd
      for (int s = 0; s < w; ++s) row[s] = value;
    }
    MBlock<T> Yb(Y + s0, out, w, Eigen::OuterStride<>(n));
    if (in > 0) Yb.noalias() += CMap<T>(W, out, in) * CBlock<T>(X + s0, in, w, Eigen::OuterStride<>(n));
    if (act != Activation::None)
      for (int r = 0; r < out; ++r) {
        T* row = Y + static_cast<long long>(r) * n + s0;
#pragma omp simd
        for (int s = 0; s < w; ++s) row[s] = activation_forward(row[s], Activation::ReLU);
      }
  }
}

// dZ = dY .* act'(Y) on columns [c0, c1) into scratch (act != None) and, when db_acc, the
// row sums added to db_acc.
template <class T>
void dz_range(const T* Y, const T* dY, T* scratch, T* db_acc, int out, int n, Activation act, int c0, int c1) {
  for (int r = 0; r < out; ++r) {
    const long long base = static_cast<long long>(r) * n;
    T sum = 0;
    if (act != Activation::None) {
#pragma omp simd reduction(+ : sum)
      for (long long s = base + c0; s < base + c1; ++s) {
        const T z = activation_backward(Y[s], dY[s], Activation::ReLU);
        scratch[s] = z;
        sum += z;
      }
    } else if (db_acc) {
#pragma omp simd reduction(+ : sum)
      for (long long s = base + c0; s < base + c1; ++s) sum += dY[s];
    }
    if (db_acc) db_acc[r] += sum;
  }
}

}  // namespace

template <class T>
void linear_forward_cpu(const T* W, const T* b, const T* X, T* Y, int in, int out, int n, Activation act) {
  if (in < 0 || out < 0 || n < 0) throw std::invalid_argument("linear_forward_cpu: negative size");
  if (out == 0 || n == 0) return;
  const int threads = thread_count(static_cast<long long>(in + 1) * out * n, n);
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    int c0, c1;
    column_range(n, team_size(), thread_id(), c0, c1);
    if (c0 < c1) forward_range(W, b, X, Y, in, out, n, act, c0, c1);
  }
}

template <class T>
void linear_backward_cpu(const T* W, const T* X, const T* Y, const T* dY, T* dW, T* db, T* dX, int in,
                         int out, int n, Activation act, T* scratch, bool accumulate_dX) {
  if (in < 0 || out < 0 || n < 0) throw std::invalid_argument("linear_backward_cpu: negative size");
  if (act != Activation::None && scratch == nullptr && out > 0 && n > 0)
    throw std::invalid_argument("linear_backward_cpu: scratch (out x n) is required with an activation");
  if (out == 0 || n == 0) {
    if (dX && !accumulate_dX && in > 0 && n > 0) MMap<T>(dX, in, n).setZero();  // W^T dZ over an empty sum
    return;
  }
  const T* dZ = act == Activation::None ? dY : scratch;
  const int threads = thread_count(2LL * (in + 1) * out * n, n);
  // Private dW/db partials of threads 1.. (thread 0 accumulates into dW/db directly).
  const long long wsize = dW ? static_cast<long long>(out) * in : 0, bsize = db ? out : 0;
  std::vector<T> partial(static_cast<size_t>((threads - 1) * (wsize + bsize)), T(0));

#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    const int t = thread_id();
    int c0, c1;
    column_range(n, team_size(), t, c0, c1);  // team_size() <= threads
    T* pW = t == 0 ? dW : (dW ? partial.data() + (t - 1) * (wsize + bsize) : nullptr);
    T* pb = t == 0 ? db : (db ? partial.data() + (t - 1) * (wsize + bsize) + wsize : nullptr);
    if (c0 < c1) {
      const int w = c1 - c0;
      dz_range(Y, dY, scratch, pb, out, n, act, c0, c1);
      if (in > 0) {
        const CBlock<T> dZr(dZ + c0, out, w, Eigen::OuterStride<>(n));
        if (pW) {
          MMap<T> pWm(pW, out, in);
          pWm.noalias() += dZr * CBlock<T>(X + c0, in, w, Eigen::OuterStride<>(n)).transpose();
        }
        if (dX) {
          MBlock<T> dXr(dX + c0, in, w, Eigen::OuterStride<>(n));
          if (accumulate_dX)
            dXr.noalias() += CMap<T>(W, out, in).transpose() * dZr;
          else
            dXr.noalias() = CMap<T>(W, out, in).transpose() * dZr;
        }
      }
    }
  }
  for (int t = 1; t < threads; ++t) {
    const T* p = partial.data() + (t - 1) * (wsize + bsize);
    for (long long k = 0; k < wsize; ++k) dW[k] += p[k];
    for (long long k = 0; k < bsize; ++k) db[k] += p[wsize + k];
  }
}

template void linear_forward_cpu<float>(const float*, const float*, const float*, float*, int, int, int,
                                        Activation);
template void linear_forward_cpu<double>(const double*, const double*, const double*, double*, int, int, int,
                                         Activation);
template void linear_backward_cpu<float>(const float*, const float*, const float*, const float*, float*, float*,
                                         float*, int, int, int, Activation, float*, bool);
template void linear_backward_cpu<double>(const double*, const double*, const double*, const double*, double*,
                                          double*, double*, int, int, int, Activation, double*, bool);

}  // namespace jnerf
