#pragma once
// The coarse-to-fine NeRF pipeline of the paper for one ray batch: stratified samples ->
// coarse field -> compositing -> importance samples -> fine field -> compositing, and the
// photometric backward (MSE(coarse) + MSE(fine)) into one flat gradient array.
// Written once over a backend B (core/backend.hpp); rays, targets and results cross the
// API as host arrays, feature-major (3 x R).
#include <array>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "jnerf/model/param_layout.hpp"
#include "jnerf/model/semantic_nerf.hpp"
#include "jnerf/shape/jacobian.hpp"

namespace jnerf {

struct SamplerSettings {
  int coarse_samples = 64, fine_samples = 128;
  float near = 0.1f, far = 10.f;
  bool perturb = true;             // stratified jitter + random importance samples (training only)
  bool occupancy_grid = false;     // clip rays to occupied cells (hash_grid only)
  int occupancy_resolution = 64;
  float occupancy_threshold = 0.01f;
  float density_noise_std = 1.f;   // added to raw density before the ReLU (training only)
  bool use_background = false;     // composite over `background` (datasets with alpha)
  std::array<float, 3> background{1.f, 1.f, 1.f};

  static SamplerSettings from_config(const Json& config);  // "sampler" section (+ data.background)
};

struct PhotometricLoss {
  double loss = 0, mse_coarse = 0, mse_fine = 0;
  double psnr_fine() const;
};

// Field: SemanticNerfNet<B> (the paper's model) or HashGridField<B>; anything with their
// interface (forward/backward, raw_density, raw_rgb, head_input, density_activation).
template <class B, class Field = SemanticNerfNet<B>>
class NerfPipeline {
 public:
  using T = typename B::Scalar;
  // Builds one network registering its parameters under a prefix ("coarse." / "fine.").
  using FieldFactory = std::function<Field(ParamLayout&, const std::string&)>;

  NerfPipeline(const SamplerSettings& sampler, const FieldFactory& make_field);
  // Convenience for fields constructed from (spec, layout, prefix).
  template <class Spec, class = std::enable_if_t<
                            std::is_constructible_v<Field, const Spec&, ParamLayout&, const std::string&>>>
  NerfPipeline(const Spec& spec, const SamplerSettings& sampler)
      : NerfPipeline(sampler, [&spec](ParamLayout& layout, const std::string& prefix) {
          return Field(spec, layout, prefix);
        }) {}

  const ParamLayout& layout() const { return layout_; }
  std::size_t num_params() const { return layout_.total(); }
  // Fresh parameters (PyTorch default init), on the backend.
  void init_params(std::uint64_t seed);
  void set_params(const std::vector<float>& host);
  std::vector<float> params_host() const;
  T* params() { return params_.data(); }
  T* grads() { return grads_.data(); }

  // Renders R rays (origins, dirs: 3 x R host arrays, z-depth directions). `train` enables
  // the sampling jitter and density noise, drawn from `rng`; otherwise deterministic.
  // ray_near / ray_far (R host values each, optional) narrow each ray's sample range.
  void forward(const T* origins, const T* dirs, int R, bool train, std::mt19937_64& rng,
               const T* ray_near = nullptr, const T* ray_far = nullptr);
  // Whether forward() computes the coarse network's colour (default true). Inference that
  // reads only fine outputs turns it off: the coarse pass then runs the density part of
  // the field alone, and rgb_coarse() and the backward refuse until a forward with it on.
  void set_coarse_colour(bool on) { coarse_colour_ = on; }
  // Density (after the activation, no noise) of the fine field at n points (3 x n host).
  std::vector<T> fine_density(const T* points, int n, int chunk);
  // Results of the last forward, downloaded: 3 x R colours, R depths / opacities.
  std::vector<T> rgb_fine() const;
  std::vector<T> rgb_coarse() const;
  std::vector<T> depth_fine() const;

  // MSE(coarse) + MSE(fine) against `target` (3 x R) for the last forward; writes
  // dL/dparams into grads() (overwritten).
  PhotometricLoss backward_photometric(const T* target);

  // ---- JacobiNeRF: the fine RGB head (shape/, propagate/) ----------------------------
  // Per-ray Jacobians of the last forward's fine colour w.r.t. the fine RGB head (R x
  // spec.dims() host values, layout in kernels/jacobian.cuh); coef: R x 3 channel mix.
  std::vector<T> fine_jacobians(const JacobianSpec& spec, const std::vector<T>& coef);
  // The same, left on the backend: fine_jacobians_on_backend() points at them.
  void compute_fine_jacobians(const JacobianSpec& spec, const std::vector<T>& coef);
  const T* fine_jacobians_on_backend() const { return jacobians_.data(); }
  // backward_photometric plus an extra loss on the Jacobians of the last fine_jacobians()
  // call: dL_dg (R x dims host) is its gradient. The closed-form backward through the
  // Jacobian (dL/dh, dL/dz, dL/dw) joins the photometric one in the same pass.
  PhotometricLoss backward_with_jacobian_grad(const T* target, const T* dL_dg);
  // The same with dL/dg written on the backend into jacobian_grad_on_backend() (R x dims).
  T* jacobian_grad_on_backend();
  PhotometricLoss backward_with_backend_jacobian_grad(const T* target);
  // The fine stage of the last forward, on the backend: weights (R x S ray-major), head
  // input (V x n), raw colour (3 x n, before the sigmoid).
  int fine_samples_per_ray() const { return fine_stage_.samples_per_ray; }
  const T* fine_weights() const { return fine_stage_.weights.data(); }
  const T* fine_head_input() const { return fine_.head_input(); }
  const T* fine_raw_rgb() const { return fine_.raw_rgb(); }
  int rays() const { return R_; }
  // Re-runs the fine field at the last forward's fine samples with the current parameters
  // (after a head perturbation); raw colours then come from fine_raw_rgb().
  void reevaluate_fine();
  // Offset of the fine RGB head's weight (3 x V, then its bias) in the parameter array.
  std::size_t fine_head_offset() const { return fine_.rgb_weight_offset(); }
  int fine_head_width() const { return fine_.head_width(); }
  // The fine RGB head's 3V weights then 3 biases (host copy), and writing them back.
  std::vector<T> fine_head_params() const;
  void set_fine_head_params(const std::vector<T>& values);

  Field& coarse() { return coarse_; }
  Field& fine() { return fine_; }
  const SamplerSettings& sampler() const { return sampler_; }

 private:
  struct Stage {  // one of coarse / fine: sample depths and everything derived per sample
    typename B::Buffer t, points, view_dirs, noise, sigma, rgb, weights, out_rgb, out_depth, out_acc;
    typename B::Buffer grad_out_rgb, grad_sigma, grad_rgb;
    int samples_per_ray = 0;
    bool has_noise = false;
  };
  // colour = false: density, weights, depth and opacity only (no colour, no backward).
  void run_stage(Stage& stage, Field& net, int R, bool train, bool colour, std::mt19937_64& rng);
  // shaping: also back-propagate dL/dg from jacobian_grad_ (fine stage only).
  double stage_backward(Stage& stage, Field& net, int R, const T* target, bool shaping);
  PhotometricLoss backward_stages(const T* target, bool shaping);
  std::vector<T> download(const typename B::Buffer& buffer, std::size_t n) const;

  SamplerSettings sampler_;
  ParamLayout layout_;
  Field coarse_, fine_;
  typename B::Buffer params_, grads_, origins_, dirs_, dir_norm_, uniforms_, background_, ray_near_, ray_far_;
  Stage coarse_stage_, fine_stage_;
  int R_ = 0;
  bool coarse_colour_ = true, last_coarse_colour_ = true;  // the setting; what the last forward did
  // Jacobian state of the last fine_jacobians() call and the backward's scratch.
  JacobianSpec jacobian_spec_;
  typename B::Buffer coef_, jacobians_, jacobian_grad_, d_head_, d_raw_extra_, d_weights_;
};

}  // namespace jnerf
