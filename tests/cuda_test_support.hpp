#pragma once
// Shared by the CUDA conformance tests: skip cleanly where no GPU is usable, and move
// host vectors to and from the device.
#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#ifdef JNERF_HAVE_CUDA
#include <cuda_runtime_api.h>

namespace jnerf::test {

// False (with the reason) when no CUDA device can be used, e.g. error 35 without a driver.
inline bool cuda_device_present(std::string* why) {
  int devices = 0;
  const cudaError_t err = cudaGetDeviceCount(&devices);
  if (err != cudaSuccess || devices == 0) {
    cudaGetLastError();  // clear the sticky error
    *why = std::string("no CUDA device: ") + cudaGetErrorString(err) + " (error " + std::to_string(int(err)) + ")";
    return false;
  }
  return true;
}

// Device copy of a host vector (or an output buffer of that size), freed on scope exit.
struct DeviceBuffer {
  float* ptr = nullptr;
  std::size_t size = 0;
  explicit DeviceBuffer(const std::vector<float>& host) : size(host.size()) {
    EXPECT_EQ(cudaMalloc(reinterpret_cast<void**>(&ptr), sizeof(float) * std::max<std::size_t>(size, 1)), cudaSuccess);
    if (size) EXPECT_EQ(cudaMemcpy(ptr, host.data(), sizeof(float) * size, cudaMemcpyHostToDevice), cudaSuccess);
  }
  ~DeviceBuffer() { cudaFree(ptr); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  // Waits for pending kernels, then copies back.
  std::vector<float> download() const {
    std::vector<float> host(size);
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    if (size) EXPECT_EQ(cudaMemcpy(host.data(), ptr, sizeof(float) * size, cudaMemcpyDeviceToHost), cudaSuccess);
    return host;
  }
};

}  // namespace jnerf::test

#define JN_REQUIRE_CUDA()                                                    \
  do {                                                                       \
    std::string why_no_cuda;                                                 \
    if (!::jnerf::test::cuda_device_present(&why_no_cuda)) GTEST_SKIP() << why_no_cuda; \
  } while (0)
#else
#define JN_REQUIRE_CUDA() GTEST_SKIP() << "built without the CUDA backend"
#endif
