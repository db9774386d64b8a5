#pragma once
// The paper's field (Semantic-NeRF / nerf-pytorch layout), one network: positions scaled
// and frequency-encoded (63 dims), an 8 x 256 ReLU trunk that re-reads its input after
// layer 4, alpha_linear 256->1 (raw density), feature_linear 256->256, views_linears
// (256+27)->128 ReLU on [feature, view encoding], rgb_linear 128->3 (raw colour; the
// renderer applies the sigmoid). Coarse and fine are two instances.
//
// Written once over a backend B (core/backend.hpp). Activations are feature-major (d x n);
// forward() keeps them for backward().
#include <cstdint>
#include <string>
#include <vector>

#include "jnerf/core/config.hpp"
#include "jnerf/model/param_layout.hpp"
#include "activation.cuh"  // kernels/: DensityActivation

namespace jnerf {

struct SemanticNerfSpec {
  double position_scale = 0.1;
  int position_frequencies = 10;
  int direction_frequencies = 4;
  int trunk_depth = 8;
  int trunk_width = 256;
  std::vector<int> skips = {4};
  int view_width = 128;

  int position_dims() const { return 3 + 6 * position_frequencies; }
  int direction_dims() const { return 3 + 6 * direction_frequencies; }
  bool is_skip(int layer) const;
  // Reads config["model"]["semantic_nerf"]; InputError on invalid sizes.
  static SemanticNerfSpec from_config(const Json& config);
};

template <class B>
class SemanticNerfNet {
 public:
  using T = typename B::Scalar;

  // Registers this network's segments under `prefix` (e.g. "fine.").
  SemanticNerfNet(const SemanticNerfSpec& spec, ParamLayout& layout, const std::string& prefix);

  // PyTorch's default Linear init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and
  // biases, into the host copy of the flat parameter array.
  void init_params(std::vector<float>& host_params, std::uint64_t seed) const;

  // positions, view_dirs: 3 x n (view_dirs unit length). Results stay valid until the next
  // forward: raw_density() (n), raw_rgb() (3 x n), head_input() (view_width x n, the input
  // of rgb_linear after its ReLU: the h of the Jacobian).
  void forward(const T* params, const T* positions, const T* view_dirs, int n);
  // Only the density part of forward (encoding, trunk, alpha_linear): raw_density() is
  // valid afterwards, the colour outputs are not, and backward() must not follow.
  void forward_density(const T* params, const T* positions, int n);
  const T* raw_density() const { return alpha_raw_.data(); }
  const T* raw_rgb() const { return rgb_raw_.data(); }
  const T* head_input() const { return view_h_.data(); }
  int samples() const { return n_; }

  // Accumulates dL/dparams given dL/d raw density (n), dL/d raw rgb (3 x n) and an optional
  // extra dL/d head_input (view_width x n, nullable) from the shaping loss. Uses the
  // activations of the last forward.
  void backward(const T* params, const T* d_raw_density, const T* d_raw_rgb, const T* d_head_input,
                T* d_params);

  DensityActivation density_activation() const { return DensityActivation::ReLU; }  // + noise
  std::size_t rgb_weight_offset() const { return rgb_layer_.weight; }
  int head_width() const { return spec_.view_width; }
  const SemanticNerfSpec& spec() const { return spec_; }

 private:
  using Layer = LinearParams;
  const T* trunk_input(int layer) const;
  T* trunk_output(int layer);
  void reserve(int n);

  SemanticNerfSpec spec_;
  std::vector<Layer> trunk_;
  Layer feature_layer_, alpha_layer_, views_layer_, rgb_layer_;
  int n_ = 0, capacity_ = 0;

  // Activations (feature-major). skipcat_[i] holds [encoding; output of layer i] for skip
  // layers, so the next layer reads one contiguous input.
  typename B::Buffer enc_, feat_cat_, alpha_raw_, view_h_, rgb_raw_;
  std::vector<typename B::Buffer> trunk_out_, skipcat_;
  // Backward scratch.
  typename B::Buffer grad_a_, grad_b_, grad_feat_cat_, grad_view_h_;
};

}  // namespace jnerf
