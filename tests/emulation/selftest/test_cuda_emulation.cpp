// Tests of the CUDA emulation itself: that it reports what docs/CUDA_EMULATION.md says it
// reports (launch errors as CUDA does, faults as stops), and computes what CUDA computes.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include "selftest_kernels.hpp"

namespace {

using namespace emu_selftest;

struct Buffer {
  float* p = nullptr;
  std::size_t n;
  explicit Buffer(std::size_t count) : n(count) { EXPECT_EQ(cudaMalloc(&p, count * sizeof(float)), cudaSuccess); }
  ~Buffer() { cudaFree(p); }
  std::vector<float> host() const {
    std::vector<float> h(n);
    EXPECT_EQ(cudaMemcpy(h.data(), p, n * sizeof(float), cudaMemcpyDeviceToHost), cudaSuccess);
    return h;
  }
};

TEST(CudaEmulation, DeviceIsPresentAndConfigurable) {
  int count = 0, sms = 0, optin = 0;
  ASSERT_EQ(cudaGetDeviceCount(&count), cudaSuccess);
  EXPECT_EQ(count, 1);
  ASSERT_EQ(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0), cudaSuccess);
  ASSERT_EQ(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, 0), cudaSuccess);
  EXPECT_GT(sms, 0);
  EXPECT_GE(optin, 48 * 1024);
  EXPECT_EQ(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 1), cudaErrorInvalidDevice);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidDevice);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
}

TEST(CudaEmulation, LaunchConfigurationErrorsAreCudas) {
  Buffer out(1024);
  EXPECT_EQ(launch_fill(0, 32, out.p, 1, 1.f), cudaErrorInvalidConfiguration);  // zero blocks
  EXPECT_EQ(launch_fill(1, 0, out.p, 1, 1.f), cudaErrorInvalidConfiguration);
  EXPECT_EQ(launch_fill(1, 1025, out.p, 1, 1.f), cudaErrorInvalidConfiguration);
  EXPECT_EQ(launch_fill(1, 1024, out.p, 1024, 2.f), cudaSuccess);
  EXPECT_EQ(out.host()[1023], 2.f);
  EXPECT_EQ(launch_bounded(256, out.p), cudaErrorLaunchOutOfResources);  // __launch_bounds__(128)
  EXPECT_EQ(launch_bounded(128, out.p), cudaSuccess);
  // The error stays until read, and reading clears it.
  launch_fill_unchecked(0, 1, out.p, 1, 1.f);
  EXPECT_EQ(cudaPeekAtLastError(), cudaErrorInvalidConfiguration);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
}

TEST(CudaEmulation, DynamicSharedMemoryOverFortyEightKilobytesNeedsTheOptIn) {
  Buffer out(1);
  int optin = 0;
  ASSERT_EQ(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, 0), cudaSuccess);
  EXPECT_EQ(launch_dynamic_smem(48 * 1024, out.p), cudaSuccess);
  EXPECT_EQ(out.host()[0], float(48 * 1024 / 4 - 1));
  EXPECT_EQ(launch_dynamic_smem(64 * 1024, out.p), cudaErrorInvalidValue);
  EXPECT_EQ(set_dynamic_smem_limit(optin + 1), cudaErrorInvalidValue);
  cudaGetLastError();
  ASSERT_EQ(set_dynamic_smem_limit(optin), cudaSuccess);
  EXPECT_EQ(launch_dynamic_smem(64 * 1024, out.p), cudaSuccess);
  EXPECT_EQ(out.host()[0], float(64 * 1024 / 4 - 1));
}

TEST(CudaEmulation, BarriersAndShufflesReduceABlock) {
  const unsigned blocks = 3, threads = 256;
  std::vector<float> in(blocks * threads);
  for (std::size_t i = 0; i < in.size(); ++i) in[i] = float(i % 7);
  Buffer din(in.size()), dout(blocks);
  ASSERT_EQ(cudaMemcpy(din.p, in.data(), in.size() * sizeof(float), cudaMemcpyHostToDevice), cudaSuccess);
  ASSERT_EQ(launch_block_sum(blocks, threads, din.p, dout.p), cudaSuccess);
  const auto sums = dout.host();
  for (unsigned b = 0; b < blocks; ++b) {
    float want = 0;
    for (unsigned t = 0; t < threads; ++t) want += in[b * threads + t];
    EXPECT_EQ(sums[b], want) << "block " << b;
  }
}

// The largest block, many barriers, a private array per thread kept across them.
TEST(CudaEmulation, ManyBarriersKeepEveryThreadsState) {
  const unsigned blocks = 2, threads = 1024;
  const int rounds = 40;
  Buffer out(blocks * threads);
  ASSERT_EQ(launch_rotate(blocks, threads, rounds, out.p), cudaSuccess);
  const auto got = out.host();
  for (unsigned b = 0; b < blocks; ++b) {
    std::vector<int> v(threads), next(threads);
    for (unsigned t = 0; t < threads; ++t) v[t] = int(t);
    for (int r = 0; r < rounds; ++r) {
      for (unsigned t = 0; t < threads; ++t) next[t] = v[(t + 1) % threads] + int(t * 8 + r % 8) * int(b + 1);
      v.swap(next);
    }
    for (unsigned t = 0; t < threads; ++t) ASSERT_EQ(got[b * threads + t], float(v[t])) << "block " << b << " thread " << t;
  }
}

TEST(CudaEmulation, ShufflesFollowCudasLaneRules) {
  Buffer out(97);
  ASSERT_EQ(launch_shuffles(out.p), cudaSuccess);
  const auto h = out.host();
  for (int lane = 0; lane < 32; ++lane) {
    EXPECT_EQ(h[lane], float(lane + 5 < 32 ? lane + 5 : lane)) << "down, lane " << lane;
    EXPECT_EQ(h[32 + lane], float(lane ^ 3)) << "xor width 8, lane " << lane;
    EXPECT_EQ(h[64 + lane], float((lane & ~15) + ((lane + 1) & 15))) << "shfl width 16, lane " << lane;
  }
  EXPECT_EQ(h[96], 1.f);
}

TEST(CudaEmulation, AtomicsAddEveryContribution) {
  Buffer f(1);
  double* d = nullptr;
  int* i = nullptr;
  ASSERT_EQ(cudaMalloc(&d, sizeof(double)), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&i, sizeof(int)), cudaSuccess);
  ASSERT_EQ(cudaMemset(f.p, 0, sizeof(float)), cudaSuccess);
  ASSERT_EQ(cudaMemset(d, 0, sizeof(double)), cudaSuccess);
  ASSERT_EQ(cudaMemset(i, 0, sizeof(int)), cudaSuccess);
  ASSERT_EQ(launch_atomics(4, 256, f.p, d, i), cudaSuccess);
  double hd = 0;
  int hi = 0;
  cudaMemcpy(&hd, d, sizeof hd, cudaMemcpyDeviceToHost);
  cudaMemcpy(&hi, i, sizeof hi, cudaMemcpyDeviceToHost);
  EXPECT_EQ(f.host()[0], 512.f);
  EXPECT_EQ(hd, 256.0);
  EXPECT_EQ(hi, 1024);
  cudaFree(d);
  cudaFree(i);
}

TEST(CudaEmulation, NeverWrittenMemoryReadsAsNaN) {
  Buffer out(64);
  EXPECT_TRUE(std::isnan(out.host()[5]));  // cudaMalloc's fill
  ASSERT_EQ(launch_read_unwritten_shared(out.p), cudaSuccess);
  EXPECT_TRUE(std::isnan(out.host()[7]));  // the block's shared memory fill
}

TEST(CudaEmulation, CopiesStayInsideTheirAllocation) {
  Buffer a(4);
  std::vector<float> h(8, 1.f);
  EXPECT_EQ(cudaMemcpy(a.p, h.data(), 5 * sizeof(float), cudaMemcpyHostToDevice), cudaErrorInvalidValue);
  EXPECT_EQ(cudaMemcpy(h.data(), a.p + 1, 4 * sizeof(float), cudaMemcpyDeviceToHost), cudaErrorInvalidValue);
  EXPECT_EQ(cudaMemcpy(a.p, h.data(), 4 * sizeof(float), cudaMemcpyHostToDevice), cudaSuccess);
  EXPECT_EQ(cudaMemset(h.data(), 0, 4), cudaErrorInvalidValue);  // not device memory
  EXPECT_EQ(cudaFree(h.data()), cudaErrorInvalidValue);
  cudaStream_t s = nullptr;
  ASSERT_EQ(cudaStreamCreate(&s), cudaSuccess);
  EXPECT_EQ(cudaMemsetAsync(a.p, 0, 4 * sizeof(float), s), cudaSuccess);
  ASSERT_EQ(cudaStreamDestroy(s), cudaSuccess);
  EXPECT_EQ(cudaStreamSynchronize(s), cudaErrorInvalidResourceHandle);
  cudaGetLastError();
}

TEST(CudaEmulation, CublasIsColumnMajorWithCublasChecks) {
  cublasHandle_t h = nullptr;
  ASSERT_EQ(cublasCreate(&h), CUBLAS_STATUS_SUCCESS);
  // A: 2 x 3 (ld 4), B: 3 x 2 used transposed (B^T is 2 x 3, ld 2), C = A * B^T^T...
  const int m = 2, n = 2, k = 3, lda = 4, ldb = 2, ldc = 3;
  std::vector<float> A(lda * k), B(ldb * k), C(ldc * n, 7.f);
  for (int c = 0; c < k; ++c)
    for (int r = 0; r < m; ++r) A[r + c * lda] = float(1 + r + 10 * c);
  for (int c = 0; c < k; ++c)
    for (int r = 0; r < n; ++r) B[r + c * ldb] = float(1 + 2 * r - c);  // B stored n x k, op T -> k x n
  Buffer dA(A.size()), dB(B.size()), dC(C.size());
  cudaMemcpy(dA.p, A.data(), A.size() * 4, cudaMemcpyHostToDevice);
  cudaMemcpy(dB.p, B.data(), B.size() * 4, cudaMemcpyHostToDevice);
  cudaMemcpy(dC.p, C.data(), C.size() * 4, cudaMemcpyHostToDevice);
  const float alpha = 2.f, beta = 0.5f;
  ASSERT_EQ(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_T, m, n, k, &alpha, dA.p, lda, dB.p, ldb, &beta, dC.p, ldc),
            CUBLAS_STATUS_SUCCESS);
  const auto got = dC.host();
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) {
      double s = 0;
      for (int l = 0; l < k; ++l) s += A[i + l * lda] * B[j + l * ldb];
      EXPECT_EQ(got[i + j * ldc], float(alpha * s + beta * 7.0)) << i << "," << j;
    }
  EXPECT_EQ(got[2], 7.f);  // the row below m is untouched
  EXPECT_EQ(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_T, m, n, k, &alpha, dA.p, 1, dB.p, ldb, &beta, dC.p, ldc),
            CUBLAS_STATUS_INVALID_VALUE);  // lda < m
  EXPECT_EQ(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, 0, &alpha, dA.p, 0, dB.p, 1, &beta, dC.p, ldc),
            CUBLAS_STATUS_INVALID_VALUE);  // lda = 0 < max(1, m)
  EXPECT_EQ(cublasSgemv(h, CUBLAS_OP_T, m, k, &alpha, dA.p, lda, dB.p, 0, &beta, dC.p, 1),
            CUBLAS_STATUS_INVALID_VALUE);  // incx = 0
  ASSERT_EQ(cublasDestroy(h), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(cublasDestroy(h), CUBLAS_STATUS_NOT_INITIALIZED);
}

// ---- faults: the run must stop with a report -----------------------------------------------

class CudaEmulationDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(CudaEmulationDeathTest, DivergentBarriersStop) {
  EXPECT_DEATH(divergent_barrier(), "divergent barriers");
}

TEST_F(CudaEmulationDeathTest, ExitingWhileTheBlockWaitsStops) {
  // Whichever comes first, the exit or the others' arrival, the barrier is reported.
  EXPECT_DEATH(exit_before_barrier(), "thread \\(3,0,0\\).*exited|exited before reaching it");
}

#ifdef JNERF_EMU_ASAN_UBSAN
TEST_F(CudaEmulationDeathTest, DynamicSharedMemoryOverrunIsAnAsanReport) {
  EXPECT_DEATH(dynamic_smem_overrun(), "heap-buffer-overflow");
}

TEST_F(CudaEmulationDeathTest, StaticSharedMemoryOverrunIsAnAsanReport) {
  // UBSan's bounds check sees the array type first; ASan would catch it otherwise.
  EXPECT_DEATH(static_smem_overrun(), "out of bounds for type 'float \\[32\\]'|heap-buffer-overflow");
}

TEST_F(CudaEmulationDeathTest, DeviceBufferOverrunIsAnAsanReport) {
  EXPECT_DEATH(global_overrun(), "heap-buffer-overflow");
}

TEST_F(CudaEmulationDeathTest, MisalignedFloat4IsAUbsanReport) {
  EXPECT_DEATH(misaligned_float4(), "misaligned address");
}
#endif

}  // namespace
