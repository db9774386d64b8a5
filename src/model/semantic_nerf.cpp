#include "jnerf/model/semantic_nerf.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include "jnerf/core/backend.hpp"
#include "jnerf/core/error.hpp"

namespace jnerf {

bool SemanticNerfSpec::is_skip(int layer) const {
  return std::find(skips.begin(), skips.end(), layer) != skips.end();
}

SemanticNerfSpec SemanticNerfSpec::from_config(const Json& config) {
  const std::string k = "model.semantic_nerf.";
  SemanticNerfSpec s;
  s.position_scale = config_get<double>(config, k + "position_scale");
  s.position_frequencies = config_get<int>(config, k + "position_frequencies");
  s.direction_frequencies = config_get<int>(config, k + "direction_frequencies");
  s.trunk_depth = config_get<int>(config, k + "trunk_depth");
  s.trunk_width = config_get<int>(config, k + "trunk_width");
  s.skips = config_get<std::vector<int>>(config, k + "skips");
  s.view_width = config_get<int>(config, k + "view_width");
  auto positive = [&](int v, const std::string& key) {
    if (v < 1) throw InputError("config key '" + k + key + "' must be >= 1, got " + std::to_string(v));
  };
  positive(s.trunk_depth, "trunk_depth");
  positive(s.trunk_width, "trunk_width");
  positive(s.view_width, "view_width");
  if (s.position_frequencies < 0 || s.direction_frequencies < 0)
    throw InputError("config keys '" + k + "*_frequencies' must be >= 0");
  for (int skip : s.skips)
    if (skip < 0 || skip >= s.trunk_depth - 1)
      throw InputError("config key '" + k + "skips': layer " + std::to_string(skip) + " is not an inner trunk layer");
  return s;
}

template <class B>
SemanticNerfNet<B>::SemanticNerfNet(const SemanticNerfSpec& spec, ParamLayout& layout, const std::string& prefix)
    : spec_(spec) {
  const int P = spec.position_dims(), W = spec.trunk_width;
  for (int i = 0; i < spec.trunk_depth; ++i) {
    const int in = i == 0 ? P : (spec.is_skip(i - 1) ? W + P : W);
    trunk_.push_back(add_linear(layout, prefix + "pts_linears." + std::to_string(i), in, W));
  }
  feature_layer_ = add_linear(layout, prefix + "feature_linear", W, W);
  alpha_layer_ = add_linear(layout, prefix + "alpha_linear", W, 1);
  views_layer_ = add_linear(layout, prefix + "views_linears.0", W + spec.direction_dims(), spec.view_width);
  rgb_layer_ = add_linear(layout, prefix + "rgb_linear", spec.view_width, 3);
  trunk_out_.resize(spec.trunk_depth);
  skipcat_.resize(spec.trunk_depth);
}

template <class B>
void SemanticNerfNet<B>::init_params(std::vector<float>& host, std::uint64_t seed) const {
  std::mt19937_64 rng(seed);
  auto init = [&](const Layer& l) { init_linear(l, host, rng); };
  for (const Layer& l : trunk_) init(l);
  init(feature_layer_);
  init(alpha_layer_);
  init(views_layer_);
  init(rgb_layer_);
}

template <class B>
void SemanticNerfNet<B>::reserve(int n) {
  n_ = n;
  if (n <= capacity_) return;
  capacity_ = n;
  const std::size_t N = static_cast<std::size_t>(n);
  const int P = spec_.position_dims(), W = spec_.trunk_width, V = spec_.view_width;
  enc_.resize(P * N);
  for (int i = 0; i < spec_.trunk_depth; ++i) {
    if (spec_.is_skip(i))
      skipcat_[i].resize((P + W) * N);
    else
      trunk_out_[i].resize(W * N);
  }
  feat_cat_.resize((W + spec_.direction_dims()) * N);
  alpha_raw_.resize(N);
  view_h_.resize(V * N);
  rgb_raw_.resize(3 * N);
  const int widest = std::max({P + W, W + spec_.direction_dims(), W});
  grad_a_.resize(widest * N);
  grad_b_.resize(widest * N);
  grad_feat_cat_.resize((W + spec_.direction_dims()) * N);
  grad_view_h_.resize(V * N);
}

template <class B>
const typename B::Scalar* SemanticNerfNet<B>::trunk_input(int layer) const {
  if (layer == 0) return enc_.data();
  if (spec_.is_skip(layer - 1)) return skipcat_[layer - 1].data();
  return const_cast<SemanticNerfNet*>(this)->trunk_output(layer - 1);
}

template <class B>
typename B::Scalar* SemanticNerfNet<B>::trunk_output(int layer) {
  // A skip layer writes below the encoding copy in its concat buffer.
  if (spec_.is_skip(layer)) return skipcat_[layer].data() + static_cast<std::size_t>(spec_.position_dims()) * n_;
  return trunk_out_[layer].data();
}

template <class B>
void SemanticNerfNet<B>::forward_density(const T* params, const T* positions, int n) {
  reserve(n);
  const std::size_t N = static_cast<std::size_t>(n);
  const int P = spec_.position_dims(), W = spec_.trunk_width;
  B::frequency_encode(positions, n, spec_.position_frequencies, static_cast<T>(spec_.position_scale), enc_.data());
  for (int i = 0; i < spec_.trunk_depth; ++i) {
    const Layer& l = trunk_[i];
    B::linear_forward(params + l.weight, params + l.bias, trunk_input(i), trunk_output(i), l.in, l.out, n,
                      Activation::ReLU);
    if (spec_.is_skip(i)) B::copy(skipcat_[i].data(), enc_.data(), P * N);
  }
  const T* trunk = trunk_output(spec_.trunk_depth - 1);
  B::linear_forward(params + alpha_layer_.weight, params + alpha_layer_.bias, trunk, alpha_raw_.data(), W, 1, n,
                    Activation::None);
}

template <class B>
void SemanticNerfNet<B>::forward(const T* params, const T* positions, const T* view_dirs, int n) {
  forward_density(params, positions, n);
  const std::size_t N = static_cast<std::size_t>(n);
  const int W = spec_.trunk_width;
  const T* trunk = trunk_output(spec_.trunk_depth - 1);
  B::linear_forward(params + feature_layer_.weight, params + feature_layer_.bias, trunk, feat_cat_.data(), W, W, n,
                    Activation::None);
  B::frequency_encode(view_dirs, n, spec_.direction_frequencies, T(1), feat_cat_.data() + W * N);
  B::linear_forward(params + views_layer_.weight, params + views_layer_.bias, feat_cat_.data(), view_h_.data(),
                    views_layer_.in, views_layer_.out, n, Activation::ReLU);
  B::linear_forward(params + rgb_layer_.weight, params + rgb_layer_.bias, view_h_.data(), rgb_raw_.data(),
                    rgb_layer_.in, 3, n, Activation::None);
}

template <class B>
void SemanticNerfNet<B>::backward(const T* params, const T* d_raw_density, const T* d_raw_rgb,
                                  const T* d_head_input, T* d_params) {
  const int n = n_;
  const std::size_t N = static_cast<std::size_t>(n);
  const int P = spec_.position_dims(), W = spec_.trunk_width, V = spec_.view_width;
  auto grads = [&](const Layer& l) { return std::make_pair(d_params + l.weight, d_params + l.bias); };

  // rgb_linear (no activation); the shaping loss's dL/dh joins here.
  const bool extra = d_head_input != nullptr;
  if (extra) B::copy(grad_view_h_.data(), d_head_input, V * N);
  auto [dw, db] = grads(rgb_layer_);
  B::linear_backward(params + rgb_layer_.weight, view_h_.data(), rgb_raw_.data(), d_raw_rgb, dw, db,
                     grad_view_h_.data(), V, 3, n, Activation::None, nullptr, extra);
  // views_linears.0 (ReLU), in place on its output gradient.
  std::tie(dw, db) = grads(views_layer_);
  B::linear_backward(params + views_layer_.weight, feat_cat_.data(), view_h_.data(), grad_view_h_.data(), dw, db,
                     grad_feat_cat_.data(), views_layer_.in, V, n, Activation::ReLU, grad_view_h_.data(), false);
  // feature_linear and alpha_linear both read the trunk output: their input gradients add.
  const int last = spec_.trunk_depth - 1;
  T* trunk = trunk_output(last);
  T* g_cur = grad_a_.data();
  std::tie(dw, db) = grads(feature_layer_);
  B::linear_backward(params + feature_layer_.weight, trunk, feat_cat_.data(), grad_feat_cat_.data(), dw, db, g_cur,
                     W, W, n, Activation::None, nullptr, false);
  std::tie(dw, db) = grads(alpha_layer_);
  B::linear_backward(params + alpha_layer_.weight, trunk, alpha_raw_.data(), d_raw_density, dw, db, g_cur, W, 1, n,
                     Activation::None, nullptr, true);
  // The trunk, top to bottom; g_cur is dL/d(output of layer i), inside buffer `cur`.
  T* cur = grad_a_.data();
  T* next = grad_b_.data();
  for (int i = last; i >= 0; --i) {
    const Layer& l = trunk_[i];
    std::tie(dw, db) = grads(l);
    B::linear_backward(params + l.weight, trunk_input(i), trunk_output(i), g_cur, dw, db, i > 0 ? next : nullptr,
                       l.in, l.out, n, Activation::ReLU, g_cur, false);
    // Below a skip the input was [encoding; h]: h's gradient starts after the encoding rows.
    g_cur = (i > 0 && spec_.is_skip(i - 1)) ? next + static_cast<std::size_t>(P) * N : next;
    std::swap(cur, next);
  }
}

template class SemanticNerfNet<CpuBackend<float>>;
template class SemanticNerfNet<CpuBackend<double>>;
#ifdef JNERF_HAVE_CUDA
template class SemanticNerfNet<CudaBackend>;
#endif

}  // namespace jnerf
