#pragma once
// The fast field `hash_grid` (instant-ngp's NeRF network), with the same interface as
// SemanticNerfNet<B> so the pipeline can take either:
//
//   x01   = (x - box_min) / (box_max - box_min)          scene box -> [0,1]^3 (the encoding
//                                                        clamps points outside the box)
//   enc   = hash_encode(x01)                             levels * features_per_level rows
//   dens  = density_net(enc)                             density_depth hidden layers of
//                                                        density_width (ReLU), then a linear
//                                                        layer to 1 + geo_features outputs
//   raw density = dens[0]                                the pipeline applies
//                                                        kDensityActivation (TruncExp)
//   colour_in = [dens[1 .. geo_features]; SH4(view dir)] geo_features + 16 rows
//   h     = colour_net(colour_in)                        colour_depth hidden layers of
//                                                        colour_width (ReLU)
//   raw rgb = rgb_linear(h)                              colour_width -> 3, no activation
//                                                        (the pipeline applies the sigmoid)
//
// head_input() is h (colour_width x n, the last hidden colour layer's output after its
// ReLU: the h of the Jacobian), rgb_linear the layer whose weight the Jacobian is taken of.
//
// Parameters (one flat array, ParamLayout, PyTorch-like names under `prefix`):
//   <prefix>encoding.table           [levels, 2^log2_table_size, features_per_level]
//                                    (params[(l * T + entry) * F + f], model/encoding.hpp)
//   <prefix>density_net.<i>.weight   i = 0 .. density_depth (the last is the output layer,
//   <prefix>density_net.<i>.bias             1 + geo_features outputs)
//   <prefix>colour_net.<i>.weight    i = 0 .. colour_depth - 1
//   <prefix>colour_net.<i>.bias
//   <prefix>rgb_linear.weight        [3, colour_width]
//   <prefix>rgb_linear.bias          [3]
// in this order. Linear weights are torch.nn.Linear-shaped (out x in, row-major).
//
// Written once over a backend B (core/backend.hpp). Activations are feature-major (d x n);
// forward() keeps them for backward().
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "activation.cuh"  // DensityActivation
#include "jnerf/core/config.hpp"
#include "jnerf/model/encoding.hpp"
#include "jnerf/model/linear.hpp"
#include "jnerf/model/param_layout.hpp"

namespace jnerf {

struct HashGridSpec {
  HashGridConfig grid;  // levels, features_per_level, log2_table_size, base/max resolution
  int density_width = 64;
  int density_depth = 1;  // hidden layers of the density MLP (>= 0)
  int geo_features = 15;  // density MLP outputs after the raw density (>= 0)
  int colour_width = 64;
  int colour_depth = 2;   // hidden layers of the colour MLP (>= 1: the last one is h)
  int sh_degree = 4;      // spherical-harmonics bands of the view direction; only 4 (16 rows)
  // On CUDA, run each MLP as one fully fused kernel (model/linear.hpp) where its shape
  // allows (widths 64 or 128; the colour MLP needs colour_depth >= 2). No effect on the CPU.
  bool fused_mlp = true;

  int encoding_dims() const { return grid.output_dims(); }
  int direction_dims() const { return kSh4Dims; }
  int density_outputs() const { return 1 + geo_features; }
  int colour_input_dims() const { return geo_features + direction_dims(); }
  // Throws InputError naming the config key ("model.hash_grid.<field>").
  void validate() const;
  // Reads config["model"]["hash_grid"]; InputError on invalid values, naming the key.
  static HashGridSpec from_config(const Json& config);
};

template <class B>
class HashGridField {
 public:
  using T = typename B::Scalar;

  // The pipeline applies this activation to raw_density() (instant-ngp's trunc_exp:
  // sigma = exp(raw), gradient with the exponent clamped at 15, kernels/activation.cuh).
  static constexpr DensityActivation kDensityActivation = DensityActivation::TruncExp;
  DensityActivation density_activation() const { return kDensityActivation; }

  // Registers this network's segments under `prefix` (e.g. "fine."). box_min / box_max:
  // the axis-aligned scene box mapped onto the hash grid's [0,1]^3 (InputError unless
  // finite with box_max > box_min on every axis).
  HashGridField(const HashGridSpec& spec, ParamLayout& layout, const std::string& prefix,
                const std::array<double, 3>& box_min, const std::array<double, 3>& box_max);

  // Hash table uniform [-1e-4, 1e-4] (hash_grid_init, seeded by `seed`); linear layers
  // PyTorch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases; into the
  // host copy of the flat parameter array.
  void init_params(std::vector<float>& host_params, std::uint64_t seed) const;

  // positions, view_dirs: 3 x n (view_dirs unit length). Results stay valid until the next
  // forward: raw_density() (n), raw_rgb() (3 x n), head_input() (colour_width x n).
  void forward(const T* params, const T* positions, const T* view_dirs, int n);
  // Only the density part of forward (encoding and density MLP): raw_density() is valid
  // afterwards, the colour outputs are not, and backward() must not follow.
  void forward_density(const T* params, const T* positions, int n);
  const T* raw_density() const { return dens_out_.data(); }
  const T* raw_rgb() const { return rgb_raw_.data(); }
  const T* head_input() const { return colour_out(spec_.colour_depth - 1); }
  int samples() const { return n_; }

  // Accumulates dL/dparams (all MLP layers and the hash table) given dL/d raw density (n),
  // dL/d raw rgb (3 x n) and an optional extra dL/d head_input (colour_width x n,
  // nullable) from the shaping loss. Uses the activations of the last forward. Gradients
  // w.r.t. positions and directions are not computed.
  void backward(const T* params, const T* d_raw_density, const T* d_raw_rgb, const T* d_head_input,
                T* d_params);

  std::size_t rgb_weight_offset() const { return rgb_layer_.weight; }
  std::size_t table_offset() const { return table_offset_; }
  int head_width() const { return spec_.colour_width; }
  // Whether forward/backward run the density / colour MLP as one fused kernel.
  bool fused_density_mlp() const { return fused_density_; }
  bool fused_colour_mlp() const { return fused_colour_; }
  const HashGridSpec& spec() const { return spec_; }
  const std::array<double, 3>& box_min() const { return box_min_; }
  const std::array<double, 3>& box_max() const { return box_max_; }

 private:
  using Layer = LinearParams;
  void reserve(int n);
  // Hidden layer i's activations (width x n) inside the one buffer per MLP, laid out as
  // the fused kernels write them: layer i at i * width * n.
  T* dens_hidden(int i) { return dens_hidden_.data() + static_cast<std::size_t>(i) * spec_.density_width * n_; }
  T* colour_out(int i) { return colour_hidden_.data() + static_cast<std::size_t>(i) * spec_.colour_width * n_; }
  const T* colour_out(int i) const {
    return colour_hidden_.data() + static_cast<std::size_t>(i) * spec_.colour_width * n_;
  }
  // The backend's fused MLP kernels (only called when fused_density_ / fused_colour_).
  void fused_forward(const T* params, const T* X, T* Y, T* hidden, int in, int width, int hidden_layers, int out,
                     Activation output_act);
  void fused_backward(const T* params, const T* X, const T* hidden, const T* Y, const T* dY, T* d_params, T* dX,
                      int in, int width, int hidden_layers, int out, Activation output_act);

  HashGridSpec spec_;
  std::array<double, 3> box_min_{}, box_max_{};
  std::size_t table_offset_ = 0;
  std::vector<Layer> density_layers_;  // density_depth hidden layers + the output layer
  std::vector<Layer> colour_layers_;   // colour_depth hidden layers
  Layer rgb_layer_;
  int n_ = 0, capacity_ = 0;
  bool box_uploaded_ = false;
  bool fused_density_ = false, fused_colour_ = false;

  // The box map as a 3 -> 3 linear layer (diagonal W, then b), so both backends apply it
  // with their GEMM: x01 = W x + b.
  typename B::Buffer box_affine_;
  // Activations (feature-major). dens_out_ holds [raw density; geo features; SH]: the
  // density output layer writes its 1 + geo rows on top and the SH encoding goes below,
  // so the colour MLP reads rows 1.. as one contiguous input (no copy).
  typename B::Buffer x01_, enc_, dens_out_, rgb_raw_;
  typename B::Buffer dens_hidden_, colour_hidden_;  // density_depth / colour_depth layers
  // Backward scratch: dL/d dens_out_ (same layout), two ping-pong buffers per MLP width,
  // dL/d enc, and the fused backward's per-layer dZ.
  typename B::Buffer grad_dens_out_, grad_colour_a_, grad_colour_b_, grad_dens_a_, grad_dens_b_, grad_enc_, fused_dz_;
};

}  // namespace jnerf
