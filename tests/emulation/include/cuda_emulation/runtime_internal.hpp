#pragma once
// What the emulated CUDA runtime shares with the emulated cuBLAS (not part of the CUDA API).
#include <cstddef>
#include <mutex>
#include <set>
#include <string>

#include "cuda_runtime_api.h"

namespace cuda_emu {

struct Settings {
  int devices = 1;
  int sms = 132;
  int smem_optin = 232448;
  bool always_threads = false;
  // The CUDA threads of a synchronising block run as fibers on the launching OS thread
  // (cooperative, switched at barriers and warp operations) rather than as OS threads.
  bool fibers = true;
};

const Settings& settings();

// The handles (streams, cuBLAS handles) created and not yet destroyed, for any host thread.
class LiveHandles {
 public:
  void add(const void* h) {
    std::lock_guard<std::mutex> lock(m_);
    live_.insert(h);
  }
  bool remove(const void* h) {  // false if `h` was not live
    std::lock_guard<std::mutex> lock(m_);
    return live_.erase(h) != 0;
  }
  bool contains(const void* h) const {
    std::lock_guard<std::mutex> lock(m_);
    return live_.count(h) != 0;
  }

 private:
  mutable std::mutex m_;
  std::set<const void*> live_;
};

// Records a failure as the calling host thread's last error; returns `err`.
cudaError_t record(cudaError_t err);

// Reports a fault that a GPU would turn into a failed or undefined launch, and aborts.
[[noreturn]] void fatal(const std::string& message);

// [ptr, ptr + bytes) lies inside one live cudaMalloc allocation.
bool device_range(const void* ptr, std::size_t bytes);
// ptr points into a live cudaMalloc allocation.
bool device_pointer(const void* ptr);
bool valid_stream(cudaStream_t stream);

}  // namespace cuda_emu
