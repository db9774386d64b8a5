#pragma once
// Input encodings, batch API: frequency (positional) encoding, spherical harmonics (bands
// 0..3, 16 coefficients) and the multiresolution hash grid. CPU and CUDA run the same
// per-sample functions (kernels/encoding.cuh, which documents the exact conventions).
//
// Layout: every array is feature-major, as everywhere in jnerf (docs/ARCHITECTURE.md):
// inputs are 3 x n (x[c * n + s]), outputs d x n (out[f * n + s]).
//
// Gradient conventions:
//   * gradients w.r.t. inputs (d_x, d_dir, d_x01) are WRITTEN (overwritten);
//   * gradients w.r.t. parameters (the hash grid's d_params) are ACCUMULATED (+=), so a
//     caller can sum several batches / networks into one gradient buffer.
#include <cmath>
#include <cstdint>
#include <string>

#include "encoding.cuh"
#include "jnerf/core/error.hpp"

namespace jnerf {

// ---- frequency encoding ----------------------------------------------------------------
// out: (3 + 6 * frequencies) x n, see encoding.cuh for the feature order.
template <class T>
void frequency_encode_cpu(const T* x, int n, int frequencies, T scale, T* out);
// d_x (3 x n) = J^T d_out.
template <class T>
void frequency_encode_backward_cpu(const T* x, const T* d_out, int n, int frequencies, T scale, T* d_x);

// ---- spherical harmonics, 16 coefficients ---------------------------------------------
// dir: unit directions 3 x n (taken as they are, not normalised); out: 16 x n.
template <class T>
void sh4_encode_cpu(const T* dir, int n, T* out);
// d_dir (3 x n) = J^T d_out, J the gradient of the SH polynomials.
template <class T>
void sh4_encode_backward_cpu(const T* dir, const T* d_out, int n, T* d_dir);

// ---- multiresolution hash grid ---------------------------------------------------------
struct HashGridConfig {
  int levels = 16;              // L, 1 .. 32
  int features_per_level = 2;   // F: 1, 2, 4 or 8
  int log2_table_size = 19;     // T = 2^log2_table_size entries per level, 1 .. 30
  int base_resolution = 16;     // N_min >= 1
  int max_resolution = 2048;    // N_max, N_min .. 2^20

  // Throws InputError naming the offending field.
  void validate() const {
    auto bad = [](const char* field, int value, const char* want) {
      throw InputError(std::string("hash grid: ") + field + " = " + std::to_string(value) + " (want " + want + ")");
    };
    if (levels < 1 || levels > kHashGridMaxLevels) bad("levels", levels, "1 .. 32");
    if (features_per_level != 1 && features_per_level != 2 && features_per_level != 4 && features_per_level != 8)
      bad("features_per_level", features_per_level, "1, 2, 4 or 8");
    if (log2_table_size < 1 || log2_table_size > 30) bad("log2_table_size", log2_table_size, "1 .. 30");
    if (base_resolution < 1 || base_resolution > (1 << 20)) bad("base_resolution", base_resolution, "1 .. 2^20");
    if (max_resolution < base_resolution || max_resolution > (1 << 20))
      bad("max_resolution", max_resolution, "base_resolution .. 2^20");
  }
  // Growth factor b = exp((ln N_max - ln N_min) / (L - 1)); 1 when L = 1.
  double growth_factor() const {
    if (levels <= 1) return 1.0;
    return std::exp((std::log(double(max_resolution)) - std::log(double(base_resolution))) / (levels - 1));
  }
  // N_l = floor(N_min * b^l) (the paper's eq. 2-3), evaluated in double as
  // N_min * exp(l * ln b) with a 1e-9 relative allowance so that mathematically integral
  // values (e.g. N_{L-1} = N_max, or b = 2 exactly) are not rounded down.
  int level_resolution(int level) const {
    if (levels <= 1) return base_resolution;
    const double lnb = (std::log(double(max_resolution)) - std::log(double(base_resolution))) / (levels - 1);
    const double v = double(base_resolution) * std::exp(level * lnb);
    return static_cast<int>(std::floor(v * (1.0 + 1e-9)));
  }
  long long table_size() const { return 1LL << log2_table_size; }
  // (N_l + 1)^3 <= T: the level stores its vertices densely (no hashing, no collisions).
  bool level_is_dense(int level) const {
    const long long side = static_cast<long long>(level_resolution(level)) + 1;
    return side * side * side <= table_size();
  }
  // L * T * F: params[(l * T + entry) * F + f].
  long long params_size() const { return static_cast<long long>(levels) * table_size() * features_per_level; }
  // L * F: output feature (l, f) is row l * F + f.
  int output_dims() const { return levels * features_per_level; }
  // The per-sample description the kernels take (validates first).
  HashGridLevels levels_desc() const {
    validate();
    HashGridLevels g{};
    g.levels = levels;
    g.features = features_per_level;
    g.log2_table_size = log2_table_size;
    for (int l = 0; l < levels; ++l) {
      g.resolution[l] = static_cast<std::uint32_t>(level_resolution(l));
      g.dense[l] = level_is_dense(l) ? 1u : 0u;
    }
    return g;
  }
};

// params[i] ~ uniform [-range, range), deterministic in (seed, i) (splitmix64 of
// seed + (i + 1) * golden gamma), independent of the thread count.
template <class T>
void hash_grid_init(const HashGridConfig& config, T* params, std::uint64_t seed, T range = T(1e-4));

// x01: positions in [0,1]^3, 3 x n (clamped outside); out: (L * F) x n,
// out[(l * F + f) * n + s].
template <class T>
void hash_encode_cpu(const HashGridConfig& config, const T* params, const T* x01, int n, T* out);
// d_params += dL/dparams (params_size() values); d_x01 = dL/dx01 (3 x n, written, zero for
// coordinates clamped outside [0,1]) unless nullptr.
template <class T>
void hash_encode_backward_cpu(const HashGridConfig& config, const T* params, const T* x01, const T* d_out, int n,
                              T* d_params, T* d_x01);

#ifdef JNERF_HAVE_CUDA
// The same on the GPU, float only; pointers are device memory; asynchronous on `stream`
// (a cudaStream_t, nullptr = default stream). d_params accumulation uses atomicAdd (the
// summation order, hence the last bits, are not deterministic).
void frequency_encode_cuda(const float* x, int n, int frequencies, float scale, float* out, void* stream = nullptr);
void frequency_encode_backward_cuda(const float* x, const float* d_out, int n, int frequencies, float scale,
                                    float* d_x, void* stream = nullptr);
void sh4_encode_cuda(const float* dir, int n, float* out, void* stream = nullptr);
void sh4_encode_backward_cuda(const float* dir, const float* d_out, int n, float* d_dir, void* stream = nullptr);
void hash_encode_cuda(const HashGridConfig& config, const float* params, const float* x01, int n, float* out,
                      void* stream = nullptr);
void hash_encode_backward_cuda(const HashGridConfig& config, const float* params, const float* x01,
                               const float* d_out, int n, float* d_params, float* d_x01, void* stream = nullptr);
#endif

}  // namespace jnerf
