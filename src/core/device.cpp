#include "jnerf/core/device.hpp"

#include "jnerf/core/error.hpp"

#ifdef JNERF_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

namespace jnerf {

CudaStatus query_cuda() {
  CudaStatus status;
#ifdef JNERF_HAVE_CUDA
  status.compiled = true;
  cudaRuntimeGetVersion(&status.runtime_version);
  cudaDriverGetVersion(&status.driver_version);
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    status.error = std::string("cudaGetDeviceCount failed: ") + cudaGetErrorString(err) + " (error " +
                   std::to_string(static_cast<int>(err)) + ")";
    cudaGetLastError();  // clear the sticky error state
    return status;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    status.gpus.push_back({i, prop.name, prop.major, prop.minor, prop.totalGlobalMem, prop.multiProcessorCount});
  }
  if (status.gpus.empty()) status.error = "no CUDA device found";
#else
  status.error = "this build has no CUDA backend (configure with nvcc available and -DJNERF_CUDA=ON)";
#endif
  return status;
}

std::string resolve_device(const std::string& requested) {
  if (requested == "cpu") return "cpu";
  if (requested != "auto" && requested != "cuda")
    throw InputError("unknown device '" + requested + "' (expected auto, cpu or cuda)");
  const CudaStatus cuda = query_cuda();
  if (!cuda.gpus.empty()) return "cuda";
  if (requested == "cuda") throw InputError("--device cuda: " + cuda.error);
  return "cpu";
}

}  // namespace jnerf
