#include "jnerf/model/hash_grid_field.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <utility>

#include "jnerf/core/backend.hpp"
#include "jnerf/core/error.hpp"

namespace jnerf {

namespace {
const std::string kKey = "model.hash_grid.";

[[noreturn]] void bad_key(const std::string& field, long long value, const std::string& want) {
  throw InputError("config key '" + kKey + field + "' = " + std::to_string(value) + " is invalid (want " + want +
                   ")");
}
// An integer (or an integral number, as config merging accepts) at model.hash_grid.<field>.
int get_int(const Json& config, const std::string& field) {
  const Json& v = config_at(config, kKey + field);
  if (v.is_number()) {
    const double d = v.get<double>();
    if (std::floor(d) == d && std::abs(d) < 2147483647.0) return static_cast<int>(d);
  }
  throw InputError("config key '" + kKey + field + "' must be an integer, got " + v.dump());
}
}  // namespace

void HashGridSpec::validate() const {
  if (grid.levels < 1 || grid.levels > kHashGridMaxLevels) bad_key("levels", grid.levels, "1 .. 32");
  const int F = grid.features_per_level;
  if (F != 1 && F != 2 && F != 4 && F != 8) bad_key("features_per_level", F, "1, 2, 4 or 8");
  if (grid.log2_table_size < 1 || grid.log2_table_size > 30) bad_key("log2_table_size", grid.log2_table_size, "1 .. 30");
  if (grid.base_resolution < 1 || grid.base_resolution > (1 << 20))
    bad_key("base_resolution", grid.base_resolution, "1 .. 2^20");
  if (grid.max_resolution < grid.base_resolution || grid.max_resolution > (1 << 20))
    bad_key("max_resolution", grid.max_resolution, "base_resolution .. 2^20");
  if (density_width < 1) bad_key("density_width", density_width, ">= 1");
  if (density_depth < 0) bad_key("density_depth", density_depth, ">= 0");
  if (geo_features < 0) bad_key("geo_features", geo_features, ">= 0");
  if (colour_width < 1) bad_key("colour_width", colour_width, ">= 1");
  if (colour_depth < 1) bad_key("colour_depth", colour_depth, ">= 1");
  if (sh_degree != 4) bad_key("sh_degree", sh_degree, "4: 16 spherical-harmonics coefficients");
  grid.validate();  // the encoding's own checks (same ranges)
}

HashGridSpec HashGridSpec::from_config(const Json& config) {
  HashGridSpec s;
  s.grid.levels = get_int(config, "levels");
  s.grid.features_per_level = get_int(config, "features_per_level");
  s.grid.log2_table_size = get_int(config, "log2_table_size");
  s.grid.base_resolution = get_int(config, "base_resolution");
  s.grid.max_resolution = get_int(config, "max_resolution");
  s.density_width = get_int(config, "density_width");
  s.density_depth = get_int(config, "density_depth");
  s.geo_features = get_int(config, "geo_features");
  s.colour_width = get_int(config, "colour_width");
  s.colour_depth = get_int(config, "colour_depth");
  s.sh_degree = get_int(config, "sh_degree");
  s.fused_mlp = config_get<bool>(config, kKey + "fused_mlp");
  s.validate();
  return s;
}

template <class B>
HashGridField<B>::HashGridField(const HashGridSpec& spec, ParamLayout& layout, const std::string& prefix,
                                const std::array<double, 3>& box_min, const std::array<double, 3>& box_max)
    : spec_(spec), box_min_(box_min), box_max_(box_max) {
  spec_.validate();
  for (int c = 0; c < 3; ++c)
    if (!(std::isfinite(box_min[c]) && std::isfinite(box_max[c]) && box_max[c] > box_min[c]))
      throw InputError("hash_grid scene box: axis " + std::to_string(c) + " has min " + std::to_string(box_min[c]) +
                       ", max " + std::to_string(box_max[c]) + " (want finite values with max > min)");
  const HashGridConfig& g = spec_.grid;
  table_offset_ = layout.add(prefix + "encoding.table",
                             {g.levels, static_cast<int>(g.table_size()), g.features_per_level});
  int in = spec_.encoding_dims();
  for (int i = 0; i < spec_.density_depth; ++i) {
    density_layers_.push_back(add_linear(layout, prefix + "density_net." + std::to_string(i), in, spec_.density_width));
    in = spec_.density_width;
  }
  density_layers_.push_back(
      add_linear(layout, prefix + "density_net." + std::to_string(spec_.density_depth), in, spec_.density_outputs()));
  in = spec_.colour_input_dims();
  for (int i = 0; i < spec_.colour_depth; ++i) {
    colour_layers_.push_back(add_linear(layout, prefix + "colour_net." + std::to_string(i), in, spec_.colour_width));
    in = spec_.colour_width;
  }
  rgb_layer_ = add_linear(layout, prefix + "rgb_linear", spec_.colour_width, 3);
  if constexpr (B::kFusedMlp) {
    // The density MLP fuses whole; the colour MLP up to h (its last hidden layer is the
    // fused kernel's output layer, with ReLU), so rgb_linear and the shaping loss's dL/dh
    // stay outside.
    const int Dd = spec_.density_depth, Cd = spec_.colour_depth;
    fused_density_ = spec_.fused_mlp && Dd >= 1 &&
                     B::mlp_fused_supported(spec_.encoding_dims(), spec_.density_width, Dd, spec_.density_outputs());
    fused_colour_ = spec_.fused_mlp && Cd >= 2 &&
                    B::mlp_fused_supported(spec_.colour_input_dims(), spec_.colour_width, Cd - 1, spec_.colour_width);
  }
}

template <class B>
void HashGridField<B>::fused_forward(const T* params, const T* X, T* Y, T* hidden, int in, int width,
                                     int hidden_layers, int out, Activation output_act) {
  if constexpr (B::kFusedMlp) B::mlp_fused_forward(params, X, Y, hidden, in, width, hidden_layers, out, n_, output_act);
}

template <class B>
void HashGridField<B>::fused_backward(const T* params, const T* X, const T* hidden, const T* Y, const T* dY,
                                      T* d_params, T* dX, int in, int width, int hidden_layers, int out,
                                      Activation output_act) {
  if constexpr (B::kFusedMlp)
    B::mlp_fused_backward(params, X, hidden, Y, dY, d_params, dX, fused_dz_.data(), in, width, hidden_layers, out,
                          n_, output_act);
}

template <class B>
void HashGridField<B>::init_params(std::vector<float>& host, std::uint64_t seed) const {
  hash_grid_init<float>(spec_.grid, host.data() + table_offset_, seed, 1e-4f);
  std::mt19937_64 rng(seed);
  auto init = [&](const Layer& l) { init_linear(l, host, rng); };
  for (const Layer& l : density_layers_) init(l);
  for (const Layer& l : colour_layers_) init(l);
  init(rgb_layer_);
}

template <class B>
void HashGridField<B>::reserve(int n) {
  n_ = n;
  if (!box_uploaded_) {
    // x01 = W x + b, W = diag(1 / (max - min)), b = -min / (max - min).
    T affine[12] = {};
    for (int c = 0; c < 3; ++c) {
      const double scale = 1.0 / (box_max_[c] - box_min_[c]);
      affine[c * 3 + c] = static_cast<T>(scale);
      affine[9 + c] = static_cast<T>(-box_min_[c] * scale);
    }
    box_affine_.resize(12);
    B::upload(box_affine_.data(), affine, 12);
    box_uploaded_ = true;
  }
  if (n <= capacity_) return;
  capacity_ = n;
  const std::size_t N = static_cast<std::size_t>(n);
  const std::size_t E = spec_.encoding_dims(), D = spec_.density_width, C = spec_.colour_width;
  const std::size_t dens_rows = spec_.density_outputs() + spec_.direction_dims();
  x01_.resize(3 * N);
  enc_.resize(E * N);
  dens_hidden_.resize(spec_.density_depth * D * N);
  dens_out_.resize(dens_rows * N);
  colour_hidden_.resize(spec_.colour_depth * C * N);
  if (fused_density_ || fused_colour_)
    fused_dz_.resize(std::max((spec_.density_depth + 1) * D, spec_.colour_depth * C) * N);
  rgb_raw_.resize(3 * N);
  grad_dens_out_.resize(dens_rows * N);
  grad_colour_a_.resize(C * N);
  grad_colour_b_.resize(C * N);
  if (spec_.density_depth > 0) {
    grad_dens_a_.resize(D * N);
    grad_dens_b_.resize(D * N);
  }
  grad_enc_.resize(E * N);
}

template <class B>
void HashGridField<B>::forward_density(const T* params, const T* positions, int n) {
  reserve(n);
  B::linear_forward(box_affine_.data(), box_affine_.data() + 9, positions, x01_.data(), 3, 3, n, Activation::None);
  B::hash_encode(spec_.grid, params + table_offset_, x01_.data(), n, enc_.data());
  if (fused_density_) {
    fused_forward(params + density_layers_[0].weight, enc_.data(), dens_out_.data(), dens_hidden(0),
                  spec_.encoding_dims(), spec_.density_width, spec_.density_depth, spec_.density_outputs(),
                  Activation::None);
  } else {
    const T* in = enc_.data();
    for (int i = 0; i < spec_.density_depth; ++i) {
      const Layer& l = density_layers_[i];
      B::linear_forward(params + l.weight, params + l.bias, in, dens_hidden(i), l.in, l.out, n, Activation::ReLU);
      in = dens_hidden(i);
    }
    const Layer& head = density_layers_.back();
    B::linear_forward(params + head.weight, params + head.bias, in, dens_out_.data(), head.in, head.out, n,
                      Activation::None);
  }
}

template <class B>
void HashGridField<B>::forward(const T* params, const T* positions, const T* view_dirs, int n) {
  forward_density(params, positions, n);
  const std::size_t N = static_cast<std::size_t>(n);
  // The view encoding goes right below the geometry features: colour_in = rows 1.. .
  B::sh4_encode(view_dirs, n, dens_out_.data() + static_cast<std::size_t>(spec_.density_outputs()) * N);
  const T* in = dens_out_.data() + N;
  if (fused_colour_) {
    fused_forward(params + colour_layers_[0].weight, in, colour_out(spec_.colour_depth - 1), colour_out(0),
                  spec_.colour_input_dims(), spec_.colour_width, spec_.colour_depth - 1, spec_.colour_width,
                  Activation::ReLU);
    in = colour_out(spec_.colour_depth - 1);
  } else {
    for (int i = 0; i < spec_.colour_depth; ++i) {
      const Layer& l = colour_layers_[i];
      B::linear_forward(params + l.weight, params + l.bias, in, colour_out(i), l.in, l.out, n, Activation::ReLU);
      in = colour_out(i);
    }
  }
  B::linear_forward(params + rgb_layer_.weight, params + rgb_layer_.bias, in, rgb_raw_.data(), rgb_layer_.in, 3, n,
                    Activation::None);
}

template <class B>
void HashGridField<B>::backward(const T* params, const T* d_raw_density, const T* d_raw_rgb, const T* d_head_input,
                                T* d_params) {
  const int n = n_;
  const std::size_t N = static_cast<std::size_t>(n);
  const int C = spec_.colour_width;

  // rgb_linear (no activation); the shaping loss's dL/dh joins here.
  const bool extra = d_head_input != nullptr;
  T* cur = grad_colour_a_.data();
  T* next = grad_colour_b_.data();
  if (extra) B::copy(cur, d_head_input, static_cast<std::size_t>(C) * N);
  const int Cd = spec_.colour_depth;
  B::linear_backward(params + rgb_layer_.weight, colour_out(Cd - 1), rgb_raw_.data(), d_raw_rgb,
                     d_params + rgb_layer_.weight, d_params + rgb_layer_.bias, cur, C, 3, n, Activation::None,
                     nullptr, extra);

  // Colour MLP, top to bottom (ReLU, in place on the output gradient). The first layer's
  // input gradient lands in rows 1.. of grad_dens_out_ (geometry rows, then the SH rows,
  // which are not used); without geometry features it is not needed at all.
  T* d_colour_in = spec_.geo_features > 0 ? grad_dens_out_.data() + N : nullptr;
  if (fused_colour_) {
    fused_backward(params + colour_layers_[0].weight, dens_out_.data() + N, colour_out(0), colour_out(Cd - 1), cur,
                   d_params + colour_layers_[0].weight, d_colour_in, spec_.colour_input_dims(), C, Cd - 1, C,
                   Activation::ReLU);
  } else {
    for (int i = Cd - 1; i >= 0; --i) {
      const Layer& l = colour_layers_[i];
      const T* X = i > 0 ? colour_out(i - 1) : dens_out_.data() + N;
      T* dX = i > 0 ? next : d_colour_in;
      B::linear_backward(params + l.weight, X, colour_out(i), cur, d_params + l.weight, d_params + l.bias, dX, l.in,
                         l.out, n, Activation::ReLU, cur, false);
      std::swap(cur, next);
    }
  }

  // Density output layer: dY = [d raw density; d geo features].
  B::copy(grad_dens_out_.data(), d_raw_density, N);
  const int Dd = spec_.density_depth;
  if (fused_density_) {
    fused_backward(params + density_layers_[0].weight, enc_.data(), dens_hidden(0), dens_out_.data(),
                   grad_dens_out_.data(), d_params + density_layers_[0].weight, grad_enc_.data(), spec_.encoding_dims(),
                   spec_.density_width, Dd, spec_.density_outputs(), Activation::None);
  } else {
    const Layer& head = density_layers_.back();
    cur = grad_dens_a_.data();
    next = grad_dens_b_.data();
    B::linear_backward(params + head.weight, Dd > 0 ? dens_hidden(Dd - 1) : enc_.data(), dens_out_.data(),
                       grad_dens_out_.data(), d_params + head.weight, d_params + head.bias,
                       Dd > 0 ? cur : grad_enc_.data(), head.in, head.out, n, Activation::None, nullptr, false);
    for (int i = Dd - 1; i >= 0; --i) {
      const Layer& l = density_layers_[i];
      const T* X = i > 0 ? dens_hidden(i - 1) : enc_.data();
      T* dX = i > 0 ? next : grad_enc_.data();
      B::linear_backward(params + l.weight, X, dens_hidden(i), cur, d_params + l.weight, d_params + l.bias, dX, l.in,
                         l.out, n, Activation::ReLU, cur, false);
      std::swap(cur, next);
    }
  }

  // Into the hash table (accumulated); no position gradient.
  B::hash_encode_backward(spec_.grid, params + table_offset_, x01_.data(), grad_enc_.data(), n,
                          d_params + table_offset_, nullptr);
}

template class HashGridField<CpuBackend<float>>;
template class HashGridField<CpuBackend<double>>;
#ifdef JNERF_HAVE_CUDA
template class HashGridField<CudaBackend>;
#endif

}  // namespace jnerf
