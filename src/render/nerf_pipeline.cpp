#include "jnerf/render/nerf_pipeline.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

#include "jnerf/core/backend.hpp"
#include "jnerf/core/error.hpp"
#include "jnerf/model/hash_grid_field.hpp"

namespace jnerf {

SamplerSettings SamplerSettings::from_config(const Json& config) {
  SamplerSettings s;
  s.coarse_samples = config_get<int>(config, "sampler.coarse_samples");
  s.fine_samples = config_get<int>(config, "sampler.fine_samples");
  s.near = config_get<float>(config, "sampler.near");
  s.far = config_get<float>(config, "sampler.far");
  s.perturb = config_get<bool>(config, "sampler.perturb");
  s.density_noise_std = config_get<float>(config, "sampler.density_noise_std");
  s.occupancy_grid = config_get<bool>(config, "sampler.occupancy_grid");
  s.occupancy_resolution = config_get<int>(config, "sampler.occupancy_resolution");
  s.occupancy_threshold = config_get<float>(config, "sampler.occupancy_threshold");
  if (s.occupancy_resolution < 1 || s.occupancy_resolution > 512)
    throw InputError("config key 'sampler.occupancy_resolution' must be in 1..512");
  if (s.coarse_samples < 3) throw InputError("config key 'sampler.coarse_samples' must be >= 3");
  if (s.fine_samples < 0) throw InputError("config key 'sampler.fine_samples' must be >= 0");
  // Negative near/far stand for the dataset's range (resolved by the caller).
  if (s.near >= 0.f && s.far >= 0.f && !(s.far > s.near))
    throw InputError("config keys 'sampler.near' / 'sampler.far' must satisfy near < far");
  if (s.density_noise_std < 0.f) throw InputError("config key 'sampler.density_noise_std' must be >= 0");
  const auto bg = config_get<std::vector<float>>(config, "data.background");
  if (bg.size() == 3) std::copy(bg.begin(), bg.end(), s.background.begin());
  return s;
}

double PhotometricLoss::psnr_fine() const {
  return mse_fine > 0 ? -10.0 * std::log10(mse_fine) : std::numeric_limits<double>::infinity();
}

template <class B, class Field>
NerfPipeline<B, Field>::NerfPipeline(const SamplerSettings& sampler, const FieldFactory& make_field)
    : sampler_(sampler), coarse_(make_field(layout_, "coarse.")), fine_(make_field(layout_, "fine.")) {
  params_.resize(layout_.total());
  grads_.resize(layout_.total());
  coarse_stage_.samples_per_ray = sampler.coarse_samples;
  fine_stage_.samples_per_ray = sampler.coarse_samples + sampler.fine_samples;
  background_.resize(3);
  const T bg[3] = {T(sampler.background[0]), T(sampler.background[1]), T(sampler.background[2])};
  B::upload(background_.data(), bg, 3);
}

template <class B, class Field>
void NerfPipeline<B, Field>::init_params(std::uint64_t seed) {
  std::vector<float> host(layout_.total());
  coarse_.init_params(host, seed);
  fine_.init_params(host, seed + 1);
  set_params(host);
}

template <class B, class Field>
void NerfPipeline<B, Field>::set_params(const std::vector<float>& host) {
  if (host.size() != layout_.total())
    throw InputError("parameter count mismatch: model has " + std::to_string(layout_.total()) + ", got " +
                     std::to_string(host.size()));
  std::vector<T> converted(host.begin(), host.end());
  B::upload(params_.data(), converted.data(), converted.size());
}

template <class B, class Field>
std::vector<float> NerfPipeline<B, Field>::params_host() const {
  const std::vector<T> values = download(params_, layout_.total());
  return std::vector<float>(values.begin(), values.end());
}

template <class B, class Field>
std::vector<typename B::Scalar> NerfPipeline<B, Field>::download(const typename B::Buffer& buffer, std::size_t n) const {
  std::vector<T> host(n);
  B::download(host.data(), buffer.data(), n);
  return host;
}

template <class B, class Field>
void NerfPipeline<B, Field>::run_stage(Stage& st, Field& net, int R, bool train, bool colour,
                                       std::mt19937_64& rng) {
  const int S = st.samples_per_ray;
  const std::size_t n = static_cast<std::size_t>(R) * S;
  st.points.resize(3 * n);
  st.view_dirs.resize(3 * n);
  st.sigma.resize(n);
  st.rgb.resize(3 * n);
  st.weights.resize(n);
  st.out_rgb.resize(3 * R);
  st.out_depth.resize(R);
  st.out_acc.resize(R);
  B::ray_sample_points(R, S, origins_.data(), dirs_.data(), st.t.data(), st.points.data(), st.view_dirs.data(),
                       dir_norm_.data());
  if (colour) net.forward(params_.data(), st.points.data(), st.view_dirs.data(), static_cast<int>(n));
  else net.forward_density(params_.data(), st.points.data(), static_cast<int>(n));

  st.has_noise = train && sampler_.density_noise_std > 0.f;
  if (st.has_noise) {
    std::normal_distribution<double> normal(0.0, sampler_.density_noise_std);
    std::vector<T> noise(n);
    for (T& v : noise) v = static_cast<T>(normal(rng));
    st.noise.resize(n);
    B::upload(st.noise.data(), noise.data(), n);
  }
  B::density_forward(net.density_activation(), n, net.raw_density(), st.has_noise ? st.noise.data() : nullptr,
                     st.sigma.data());
  if (colour) B::sigmoid_forward(3 * n, net.raw_rgb(), st.rgb.data());
  B::composite_forward(R, S, st.sigma.data(), colour ? st.rgb.data() : nullptr, st.t.data(), dir_norm_.data(),
                       sampler_.use_background ? background_.data() : nullptr, colour ? st.out_rgb.data() : nullptr,
                       st.out_depth.data(), st.out_acc.data(), st.weights.data());
}

template <class B, class Field>
void NerfPipeline<B, Field>::forward(const T* origins, const T* dirs, int R, bool train, std::mt19937_64& rng,
                                     const T* ray_near, const T* ray_far) {
  R_ = R;
  origins_.resize(3 * R);
  dirs_.resize(3 * R);
  dir_norm_.resize(R);
  B::upload(origins_.data(), origins, 3 * R);
  B::upload(dirs_.data(), dirs, 3 * R);
  const bool jitter = train && sampler_.perturb;
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  auto draw_uniforms = [&](std::size_t count) {
    std::vector<T> u(count);
    for (T& v : u) v = static_cast<T>(uniform(rng));
    uniforms_.resize(count);
    B::upload(uniforms_.data(), u.data(), count);
  };

  const int Sc = sampler_.coarse_samples, Nf = sampler_.fine_samples;
  coarse_stage_.t.resize(static_cast<std::size_t>(R) * Sc);
  if (jitter) draw_uniforms(static_cast<std::size_t>(R) * Sc);
  const bool bounded = ray_near != nullptr && ray_far != nullptr;
  if (bounded) {
    ray_near_.resize(R);
    ray_far_.resize(R);
    B::upload(ray_near_.data(), ray_near, R);
    B::upload(ray_far_.data(), ray_far, R);
  }
  B::stratified_samples(R, Sc, T(sampler_.near), T(sampler_.far), bounded ? ray_near_.data() : nullptr,
                        bounded ? ray_far_.data() : nullptr, jitter ? uniforms_.data() : nullptr,
                        coarse_stage_.t.data());
  last_coarse_colour_ = coarse_colour_;
  run_stage(coarse_stage_, coarse_, R, train, coarse_colour_, rng);

  fine_stage_.t.resize(static_cast<std::size_t>(R) * (Sc + Nf));
  if (jitter) draw_uniforms(static_cast<std::size_t>(R) * Nf);
  B::importance_samples(R, Sc, Nf, coarse_stage_.t.data(), coarse_stage_.weights.data(),
                        jitter ? uniforms_.data() : nullptr, fine_stage_.t.data());
  run_stage(fine_stage_, fine_, R, train, true, rng);
}

template <class B, class Field>
std::vector<typename B::Scalar> NerfPipeline<B, Field>::fine_density(const T* points, int n, int chunk) {
  std::vector<T> out(n);
  typename B::Buffer p, sigma;
  std::vector<T> host_p;
  for (int start = 0; start < n; start += chunk) {
    const int m = std::min(chunk, n - start);
    host_p.resize(3 * m);
    for (int c = 0; c < 3; ++c)
      for (int i = 0; i < m; ++i) host_p[c * m + i] = points[static_cast<std::size_t>(c) * n + start + i];
    p.resize(3 * m);
    sigma.resize(m);
    B::upload(p.data(), host_p.data(), 3 * m);
    fine_.forward_density(params_.data(), p.data(), m);
    B::density_forward(fine_.density_activation(), m, fine_.raw_density(), nullptr, sigma.data());
    B::download(out.data() + start, sigma.data(), m);
  }
  return out;
}

template <class B, class Field>
std::vector<typename B::Scalar> NerfPipeline<B, Field>::rgb_fine() const {
  return download(fine_stage_.out_rgb, 3 * static_cast<std::size_t>(R_));
}
template <class B, class Field>
std::vector<typename B::Scalar> NerfPipeline<B, Field>::rgb_coarse() const {
  if (!last_coarse_colour_) throw std::logic_error("rgb_coarse: the last forward skipped the coarse colour");
  return download(coarse_stage_.out_rgb, 3 * static_cast<std::size_t>(R_));
}
template <class B, class Field>
std::vector<typename B::Scalar> NerfPipeline<B, Field>::depth_fine() const {
  return download(fine_stage_.out_depth, static_cast<std::size_t>(R_));
}

// MSE of one stage and its backward into grads_ (accumulated: the layers add into dW/db).
// With shaping (fine stage; dL/dg in jacobian_grad_), the Jacobian's closed-form backward adds dL/dw to the
// compositing backward, dL/dz to the raw colour gradient and dL/dh to the head input.
template <class B, class Field>
double NerfPipeline<B, Field>::stage_backward(Stage& st, Field& net, int R, const T* target, bool shaping) {
  const std::size_t m = 3 * static_cast<std::size_t>(R);
  const std::vector<T> rgb = download(st.out_rgb, m);
  std::vector<T> grad(m);
  double sum = 0;
  for (std::size_t i = 0; i < m; ++i) {
    const double d = double(rgb[i]) - double(target[i]);
    sum += d * d;
    grad[i] = static_cast<T>(2.0 * d / static_cast<double>(m));  // d mean((C - t)^2) / dC
  }
  st.grad_out_rgb.resize(m);
  B::upload(st.grad_out_rgb.data(), grad.data(), m);

  const int S = st.samples_per_ray;
  const std::size_t n = static_cast<std::size_t>(R) * S;
  if (shaping) {
    const int V = jacobian_spec_.head_width, Dk = jacobian_spec_.row_length();
    d_head_.resize(static_cast<std::size_t>(V) * n);
    d_raw_extra_.resize(3 * n);
    d_weights_.resize(n);
    B::zero(d_raw_extra_.data(), 3 * n);
    B::jacobian_backward(R, S, V, Dk, coef_.data(), jacobian_grad_.data(), st.weights.data(), st.rgb.data(),
                         net.head_input(), d_head_.data(), d_raw_extra_.data(), d_weights_.data());
  }
  st.grad_sigma.resize(n);
  st.grad_rgb.resize(3 * n);
  B::composite_backward(R, S, st.sigma.data(), st.rgb.data(), st.t.data(), dir_norm_.data(),
                        sampler_.use_background ? background_.data() : nullptr, st.out_rgb.data(),
                        st.weights.data(), st.grad_out_rgb.data(), shaping ? d_weights_.data() : nullptr,
                        st.grad_sigma.data(), st.grad_rgb.data());
  // In place: d raw rgb = d rgb * s (1 - s); d raw density = d sigma * relu'(raw + noise).
  B::sigmoid_backward(3 * n, st.rgb.data(), st.grad_rgb.data(), st.grad_rgb.data());
  if (shaping) B::axpy(static_cast<long long>(3 * n), T(1), d_raw_extra_.data(), st.grad_rgb.data());
  B::density_backward(net.density_activation(), n, net.raw_density(), st.has_noise ? st.noise.data() : nullptr,
                      st.grad_sigma.data(), st.grad_sigma.data());
  net.backward(params_.data(), st.grad_sigma.data(), st.grad_rgb.data(), shaping ? d_head_.data() : nullptr,
               grads_.data());
  return sum / static_cast<double>(m);
}

template <class B, class Field>
PhotometricLoss NerfPipeline<B, Field>::backward_photometric(const T* target) {
  return backward_stages(target, false);
}

template <class B, class Field>
PhotometricLoss NerfPipeline<B, Field>::backward_with_jacobian_grad(const T* target, const T* dL_dg) {
  B::upload(jacobian_grad_on_backend(), dL_dg, static_cast<std::size_t>(jacobian_spec_.dims()) * R_);
  return backward_stages(target, true);
}

template <class B, class Field>
PhotometricLoss NerfPipeline<B, Field>::backward_with_backend_jacobian_grad(const T* target) {
  return backward_stages(target, true);
}

template <class B, class Field>
typename B::Scalar* NerfPipeline<B, Field>::jacobian_grad_on_backend() {
  jacobian_grad_.resize(static_cast<std::size_t>(jacobian_spec_.dims()) * R_);
  return jacobian_grad_.data();
}

template <class B, class Field>
PhotometricLoss NerfPipeline<B, Field>::backward_stages(const T* target, bool shaping) {
  if (!last_coarse_colour_) throw std::logic_error("backward: the last forward skipped the coarse colour");
  B::zero(grads_.data(), layout_.total());
  PhotometricLoss loss;
  loss.mse_fine = stage_backward(fine_stage_, fine_, R_, target, shaping);
  loss.mse_coarse = stage_backward(coarse_stage_, coarse_, R_, target, false);
  loss.loss = loss.mse_coarse + loss.mse_fine;
  return loss;
}

template <class B, class Field>
std::vector<typename B::Scalar> NerfPipeline<B, Field>::fine_jacobians(const JacobianSpec& spec,
                                                                       const std::vector<T>& coef) {
  compute_fine_jacobians(spec, coef);
  return download(jacobians_, static_cast<std::size_t>(spec.dims()) * R_);
}

template <class B, class Field>
void NerfPipeline<B, Field>::compute_fine_jacobians(const JacobianSpec& spec, const std::vector<T>& coef) {
  if (spec.head_width != fine_.head_width())
    throw std::invalid_argument("fine_jacobians: head width does not match the model");
  if (coef.size() != 3 * static_cast<std::size_t>(R_))
    throw std::invalid_argument("fine_jacobians: need 3 channel coefficients per ray");
  jacobian_spec_ = spec;
  coef_.resize(coef.size());
  B::upload(coef_.data(), coef.data(), coef.size());
  jacobians_.resize(static_cast<std::size_t>(spec.dims()) * R_);
  B::jacobian_forward(R_, fine_stage_.samples_per_ray, spec.head_width, spec.row_length(), coef_.data(),
                      fine_stage_.weights.data(), fine_stage_.rgb.data(), fine_.head_input(), jacobians_.data());
}

template <class B, class Field>
std::vector<typename B::Scalar> NerfPipeline<B, Field>::fine_head_params() const {
  std::vector<T> host(3 * static_cast<std::size_t>(fine_.head_width()) + 3);
  B::download(host.data(), params_.data() + fine_.rgb_weight_offset(), host.size());
  return host;
}

template <class B, class Field>
void NerfPipeline<B, Field>::set_fine_head_params(const std::vector<T>& values) {
  if (values.size() != 3 * static_cast<std::size_t>(fine_.head_width()) + 3)
    throw std::invalid_argument("set_fine_head_params: need 3 V + 3 values");
  B::upload(params_.data() + fine_.rgb_weight_offset(), values.data(), values.size());
}

template <class B, class Field>
void NerfPipeline<B, Field>::reevaluate_fine() {
  const std::size_t n = static_cast<std::size_t>(R_) * fine_stage_.samples_per_ray;
  fine_.forward(params_.data(), fine_stage_.points.data(), fine_stage_.view_dirs.data(), static_cast<int>(n));
}

template class NerfPipeline<CpuBackend<float>>;
template class NerfPipeline<CpuBackend<double>>;
template class NerfPipeline<CpuBackend<float>, HashGridField<CpuBackend<float>>>;
template class NerfPipeline<CpuBackend<double>, HashGridField<CpuBackend<double>>>;
#ifdef JNERF_HAVE_CUDA
template class NerfPipeline<CudaBackend>;
template class NerfPipeline<CudaBackend, HashGridField<CudaBackend>>;
#endif

}  // namespace jnerf
