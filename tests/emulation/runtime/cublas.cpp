// The emulated cuBLAS (see include/cublas_v2.h).
#include "cublas_v2.h"

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "cuda_emulation/runtime_internal.hpp"

struct cublasContext {
  cudaStream_t stream = nullptr;
  cublasMath_t mode = CUBLAS_DEFAULT_MATH;
};

namespace {

cuda_emu::LiveHandles& handles() {
  static auto* h = new cuda_emu::LiveHandles;
  return *h;
}

bool live(cublasHandle_t handle) { return handle && handles().contains(handle); }

bool valid_op(cublasOperation_t op) { return op == CUBLAS_OP_N || op == CUBLAS_OP_T || op == CUBLAS_OP_C; }

// A GPU would fault on an access outside device memory (an illegal address, which ends
// the CUDA context); here it is reported and the program stops.
void require_device(const char* routine, const char* what, const float* p, long long last_index) {
  const std::size_t bytes = sizeof(float) * static_cast<std::size_t>(last_index + 1);
  if (!cuda_emu::device_range(p, bytes))
    cuda_emu::fatal(std::string(routine) + ": " + what + " (" + std::to_string(last_index + 1) +
                    " floats from its pointer) is not inside one device allocation");
}

}  // namespace

cublasStatus_t cublasCreate(cublasHandle_t* handle) {
  if (!handle) return CUBLAS_STATUS_INVALID_VALUE;
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    cudaGetLastError();
    return CUBLAS_STATUS_NOT_INITIALIZED;
  }
  auto* h = new cublasContext;
  handles().add(h);
  *handle = h;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy(cublasHandle_t handle) {
  if (!handle || !handles().remove(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
  delete handle;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream(cublasHandle_t handle, cudaStream_t stream) {
  if (!live(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!cuda_emu::valid_stream(stream)) return CUBLAS_STATUS_INVALID_VALUE;
  handle->stream = stream;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetStream(cublasHandle_t handle, cudaStream_t* stream) {
  if (!live(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!stream) return CUBLAS_STATUS_INVALID_VALUE;
  *stream = handle->stream;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
  if (!live(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
  const int base = mode & 0xf;
  if (base > CUBLAS_TF32_TENSOR_OP_MATH || (mode & ~0x1f) != 0) return CUBLAS_STATUS_INVALID_VALUE;
  handle->mode = mode;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetMathMode(cublasHandle_t handle, cublasMath_t* mode) {
  if (!live(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!mode) return CUBLAS_STATUS_INVALID_VALUE;
  *mode = handle->mode;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSgemm(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n,
                           int k, const float* alpha, const float* A, int lda, const float* B, int ldb,
                           const float* beta, float* C, int ldc) {
  if (!live(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
  const bool ta = transa != CUBLAS_OP_N, tb = transb != CUBLAS_OP_N;
  const int rows_a = ta ? k : m, rows_b = tb ? n : k;
  if (!valid_op(transa) || !valid_op(transb) || m < 0 || n < 0 || k < 0 || lda < std::max(1, rows_a) ||
      ldb < std::max(1, rows_b) || ldc < std::max(1, m))
    return CUBLAS_STATUS_INVALID_VALUE;
  if (!alpha || !beta) return CUBLAS_STATUS_INVALID_VALUE;
  const double a = *alpha, b = *beta;
  if (m == 0 || n == 0 || ((a == 0 || k == 0) && b == 1)) return CUBLAS_STATUS_SUCCESS;
  const bool reads_ab = a != 0 && k > 0;
  if (reads_ab) {
    const int cols_a = ta ? m : k, cols_b = tb ? k : n;
    require_device("cublasSgemm", "A", A, static_cast<long long>(cols_a - 1) * lda + rows_a - 1);
    require_device("cublasSgemm", "B", B, static_cast<long long>(cols_b - 1) * ldb + rows_b - 1);
  }
  require_device("cublasSgemm", "C", C, static_cast<long long>(n - 1) * ldc + m - 1);

  std::vector<double> acc(static_cast<std::size_t>(m)), bcol(static_cast<std::size_t>(k));
  for (int j = 0; j < n; ++j) {
    std::fill(acc.begin(), acc.end(), 0.0);
    if (reads_ab) {
      for (int l = 0; l < k; ++l)
        bcol[l] = tb ? B[j + static_cast<std::size_t>(l) * ldb] : B[l + static_cast<std::size_t>(j) * ldb];
      if (!ta) {
        for (int l = 0; l < k; ++l) {
          const float* col = A + static_cast<std::size_t>(l) * lda;
          const double bl = bcol[l];
          for (int i = 0; i < m; ++i) acc[i] += double(col[i]) * bl;
        }
      } else {
        for (int i = 0; i < m; ++i) {
          const float* col = A + static_cast<std::size_t>(i) * lda;
          double s = 0;
          for (int l = 0; l < k; ++l) s += double(col[l]) * bcol[l];
          acc[i] = s;
        }
      }
    }
    float* c = C + static_cast<std::size_t>(j) * ldc;
    for (int i = 0; i < m; ++i) c[i] = static_cast<float>(a * acc[i] + (b == 0 ? 0.0 : b * double(c[i])));
  }
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSgemv(cublasHandle_t handle, cublasOperation_t trans, int m, int n, const float* alpha,
                           const float* A, int lda, const float* x, int incx, const float* beta, float* y, int incy) {
  if (!live(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!valid_op(trans) || m < 0 || n < 0 || lda < std::max(1, m) || incx == 0 || incy == 0)
    return CUBLAS_STATUS_INVALID_VALUE;
  if (!alpha || !beta) return CUBLAS_STATUS_INVALID_VALUE;
  const double a = *alpha, b = *beta;
  if (m == 0 || n == 0 || (a == 0 && b == 1)) return CUBLAS_STATUS_SUCCESS;
  const bool t = trans != CUBLAS_OP_N;
  const int lenx = t ? m : n, leny = t ? n : m;
  // BLAS strides: a negative increment walks the vector from its far end.
  const long long x0 = incx > 0 ? 0 : static_cast<long long>(1 - lenx) * incx;
  const long long y0 = incy > 0 ? 0 : static_cast<long long>(1 - leny) * incy;
  const long long xspan = static_cast<long long>(lenx - 1) * (incx > 0 ? incx : -incx);
  const long long yspan = static_cast<long long>(leny - 1) * (incy > 0 ? incy : -incy);
  if (a != 0) {
    require_device("cublasSgemv", "A", A, static_cast<long long>(n - 1) * lda + m - 1);
    require_device("cublasSgemv", "x", x, xspan);
  }
  require_device("cublasSgemv", "y", y, yspan);
  for (int r = 0; r < leny; ++r) {
    double s = 0;
    if (a != 0)
      for (int c = 0; c < lenx; ++c) {
        const double av = t ? A[c + static_cast<std::size_t>(r) * lda] : A[r + static_cast<std::size_t>(c) * lda];
        s += av * double(x[x0 + static_cast<long long>(c) * incx]);
      }
    float& yr = y[y0 + static_cast<long long>(r) * incy];
    yr = static_cast<float>(a * s + (b == 0 ? 0.0 : b * double(yr)));
  }
  return CUBLAS_STATUS_SUCCESS;
}
