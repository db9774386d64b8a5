#pragma once
// Which compute backends exist in this build and on this machine.
#include <cstddef>
#include <string>
#include <vector>

namespace jnerf {

struct GpuInfo {
  int index = 0;
  std::string name;
  int major = 0, minor = 0;  // compute capability
  std::size_t memory_bytes = 0;
  int multiprocessors = 0;
};

struct CudaStatus {
  bool compiled = false;     // built with the CUDA backend
  int runtime_version = 0;   // e.g. 13000
  int driver_version = 0;    // 0 when no driver is installed
  std::string error;         // why no device is usable (empty when gpus is non-empty)
  std::vector<GpuInfo> gpus;
};

CudaStatus query_cuda();

// Resolves --device / run.device: "auto" -> "cuda" when a GPU is usable, else "cpu".
// "cuda" without a usable GPU is an InputError that says why.
std::string resolve_device(const std::string& requested);

}  // namespace jnerf
