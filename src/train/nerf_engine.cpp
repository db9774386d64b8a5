#include "jnerf/train/nerf_engine.hpp"

#include <chrono>
#include <cmath>

#include "jnerf/core/backend.hpp"
#include "jnerf/core/error.hpp"
#include "jnerf/model/hash_grid_field.hpp"
#include "jnerf/render/occupancy_grid.hpp"

namespace jnerf {
namespace {

template <class B, class Field>
class Engine final : public NerfEngine {
 public:
  using T = typename B::Scalar;

  Engine(const SamplerSettings& sampler, const typename NerfPipeline<B, Field>::FieldFactory& make_field)
      : pipeline_(sampler, make_field) {
    m_.resize(pipeline_.num_params());
    v_.resize(pipeline_.num_params());
    B::zero(m_.data(), m_.size());
    B::zero(v_.data(), v_.size());
  }

  std::string backend() const override { return B::kName; }
  const ParamLayout& layout() const override { return pipeline_.layout(); }
  void init_params(std::uint64_t seed) override { pipeline_.init_params(seed); }
  std::vector<float> params() const override { return pipeline_.params_host(); }
  void set_params(const std::vector<float>& values) override { pipeline_.set_params(values); }
  std::vector<float> adam_m() const override { return host(m_); }
  std::vector<float> adam_v() const override { return host(v_); }
  void set_adam_state(const std::vector<float>& m, const std::vector<float>& v) override {
    if (m.size() != m_.size() || v.size() != v_.size()) throw InputError("optimiser state does not match the model");
    upload(m_, m);
    upload(v_, v);
  }

  std::vector<float> occupancy_state() const override { return grid_ ? grid_->density() : std::vector<float>{}; }
  void set_occupancy_state(const std::vector<float>& density) override {
    if (!grid_) throw InputError("the checkpoint holds an occupancy grid, but the config has none");
    if (density.size() != grid_->cells())
      throw InputError("the checkpoint's occupancy grid has " + std::to_string(density.size()) +
                       " cells, the config's " + std::to_string(grid_->cells()));
    grid_->set_density(density);
  }

  void enable_occupancy_grid(const std::array<double, 3>& lo, const std::array<double, 3>& hi, int resolution,
                             float threshold) {
    grid_ = std::make_unique<OccupancyGrid>(lo, hi, resolution, threshold);
  }

  StepResult train_step(const RayBatch& batch, const AdamConfig& adam, long long t, std::mt19937_64& rng) override {
    if (grid_ && t % kGridUpdateEvery == 0) update_grid(rng);
    const std::vector<T> o = convert(batch.origins), d = convert(batch.dirs), target = convert(batch.target);
    forward(batch.origins, batch.dirs, o, d, batch.size, true, rng);
    StepResult result;
    result.loss = pipeline_.backward_photometric(target.data());
    return finish_step(result, adam, t);
  }

  int head_width() const override { return pipeline_.fine_head_width(); }

  StepResult shape_step(const RayBatch& batch, const JacobianSpec& spec, ShapingBatch& shaping,
                        const AdamConfig& adam, long long t, std::mt19937_64& rng) override {
    if (shaping.affinity.size() != static_cast<std::size_t>(batch.size) * batch.size)
      throw std::invalid_argument("shape_step: the affinity matrix does not match the batch");
    if (grid_ && t % kGridUpdateEvery == 0) update_grid(rng);
    const std::vector<T> o = convert(batch.origins), d = convert(batch.dirs), target = convert(batch.target);
    forward(batch.origins, batch.dirs, o, d, batch.size, true, rng);
    pipeline_.compute_fine_jacobians(spec, channel_coefficients<T>(spec.channels, batch.size, rng));
    ContrastiveResult& c = shaping.result;
    c = ContrastiveResult{};
    c.anchors = batch.size;
    c.tau_before = shaping.tau;
    const auto loss_start = std::chrono::steady_clock::now();
    c.set_stats(B::contrastive_loss(pipeline_.fine_jacobians_on_backend(), batch.size, spec.dims(),
                                    shaping.affinity.data(), shaping.loss, shaping.tau,
                                    pipeline_.jacobian_grad_on_backend(), loss_scratch_));
    c.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - loss_start).count();
    shaping.tau = c.tau_after;
    StepResult result;
    result.loss = pipeline_.backward_with_backend_jacobian_grad(target.data());
    return finish_step(result, adam, t);
  }

  std::vector<double> pixel_jacobians(const Frame& frame, const std::vector<std::int64_t>& pixels,
                                      const JacobianSpec& spec, int chunk, std::uint64_t channel_seed) override {
    std::vector<float> po, pd;
    pixel_rays(frame, pixels, po, pd);
    const std::size_t n = pixels.size();
    std::mt19937_64 channel_rng(channel_seed);
    std::vector<double> out;
    out.reserve(n * spec.dims());
    for_each_chunk(po, pd, n, chunk, [&](std::size_t, int R) {
      const std::vector<T> g = pipeline_.fine_jacobians(spec, channel_coefficients<T>(spec.channels, R, channel_rng));
      out.insert(out.end(), g.begin(), g.end());
    });
    return out;
  }

  void visit_fine_samples(const Frame& frame, const std::vector<std::int64_t>& pixels, int chunk,
                          const FineSampleVisitor& visit) override {
    std::vector<float> origins, dirs;
    if (pixels.empty()) view_rays(frame, origins, dirs);
    else pixel_rays(frame, pixels, origins, dirs);
    const int V = head_width();
    for_each_chunk(origins, dirs, origins.size() / 3, chunk, [&](std::size_t start, int R) {
      const int S = pipeline_.fine_samples_per_ray();
      const std::size_t ns = static_cast<std::size_t>(R) * S;
      const std::vector<T> w = download_ptr(pipeline_.fine_weights(), ns);
      const std::vector<T> h = download_ptr(pipeline_.fine_head_input(), ns * V);
      visit(start, R, S, std::vector<float>(w.begin(), w.end()), std::vector<float>(h.begin(), h.end()));
    });
  }

  std::vector<float> head_responses(const Frame& frame, const std::vector<double>& directions,
                                    const JacobianSpec& spec, double step, ResponseMode mode, int chunk) override {
    const int V = spec.head_width, Dk = spec.row_length(), D = spec.dims();
    if (V != head_width()) throw std::invalid_argument("head_responses: head width does not match the model");
    if (directions.size() % D != 0) throw std::invalid_argument("head_responses: directions are not rows of D");
    const int C = static_cast<int>(directions.size() / D);
    std::vector<float> origins, dirs;
    view_rays(frame, origins, dirs);
    const std::size_t n_view = origins.size() / 3;
    std::vector<float> out(static_cast<std::size_t>(C) * n_view, 0.f);
    const std::vector<T> head = pipeline_.fine_head_params();
    // The head perturbed along direction c, in the parameter layout (W 3 x V, then b).
    auto perturbed_head = [&](int c) {
      std::vector<T> p = head;
      for (int k = 0; k < 3; ++k) {
        for (int j = 0; j < V; ++j) p[k * V + j] += static_cast<T>(step * directions[c * D + k * Dk + j]);
        if (spec.bias) p[3 * V + k] += static_cast<T>(step * directions[c * D + k * Dk + V]);
      }
      return p;
    };
    // linear3d as one GEMM: m_c(i) = (step / 3) sum_k (dir_c[k, :] . h_i + dir_c[k, V]).
    std::vector<T> mix_w(static_cast<std::size_t>(C) * V, T(0)), mix_b(C, T(0));
    for (int c = 0; c < C; ++c)
      for (int k = 0; k < 3; ++k) {
        for (int j = 0; j < V; ++j) mix_w[c * V + j] += static_cast<T>(step / 3 * directions[c * D + k * Dk + j]);
        if (spec.bias) mix_b[c] += static_cast<T>(step / 3 * directions[c * D + k * Dk + V]);
      }
    typename B::Buffer mix_w_dev, mix_b_dev, mixed, sums, raw0, dz, dirs_dev, step_w_dev, step_b_dev;
    if (mode == ResponseMode::Linear3D) {
      mix_w_dev.resize(mix_w.size());
      mix_b_dev.resize(C);
      B::upload(mix_w_dev.data(), mix_w.data(), mix_w.size());
      B::upload(mix_b_dev.data(), mix_b.data(), C);
    } else if (mode == ResponseMode::Linear2D || mode == ResponseMode::FirstOrder2D || mode == ResponseMode::Cosine2D) {
      const std::vector<T> d(directions.begin(), directions.end());
      dirs_dev.resize(d.size());
      B::upload(dirs_dev.data(), d.data(), d.size());
    } else if (mode == ResponseMode::Perturb2D) {
      // The per-class logit change as a linear layer: step * dir_c (3 x V), step * bias part.
      std::vector<T> sw(static_cast<std::size_t>(C) * 3 * V), sb(static_cast<std::size_t>(C) * 3, T(0));
      for (int c = 0; c < C; ++c)
        for (int k = 0; k < 3; ++k) {
          for (int j = 0; j < V; ++j) sw[(c * 3 + k) * V + j] = static_cast<T>(step * directions[c * D + k * Dk + j]);
          if (spec.bias) sb[c * 3 + k] = static_cast<T>(step * directions[c * D + k * Dk + V]);
        }
      step_w_dev.resize(sw.size());
      step_b_dev.resize(sb.size());
      B::upload(step_w_dev.data(), sw.data(), sw.size());
      B::upload(step_b_dev.data(), sb.data(), sb.size());
    }
    // C x R responses of a chunk (on the backend) into `out` at the chunk's pixels.
    auto copy_out = [&](const typename B::Buffer& chunk_sums, int R, int classes, std::size_t start) {
      const std::vector<T> host = download(chunk_sums, static_cast<std::size_t>(classes) * R);
      for (int c = 0; c < classes; ++c)
        for (int r = 0; r < R; ++r) out[c * n_view + start + r] = static_cast<float>(host[c * R + r]);
    };
    const JacobianSpec blocks{JacobianChannels::Blocks, spec.bias, V};
    try {
      for_each_chunk(origins, dirs, n_view, chunk, [&](std::size_t start, int R) {
        const int S = pipeline_.fine_samples_per_ray();
        const std::size_t ns = static_cast<std::size_t>(R) * S;
        if (mode == ResponseMode::Linear3D) {
          mixed.resize(static_cast<std::size_t>(C) * ns);
          sums.resize(static_cast<std::size_t>(C) * R);
          B::linear_forward(mix_w_dev.data(), mix_b_dev.data(), pipeline_.fine_head_input(), mixed.data(), V, C,
                            static_cast<int>(ns), Activation::None);
          B::weighted_abs_sum(R, S, C, pipeline_.fine_weights(), mixed.data(), sums.data());
          copy_out(sums, R, C, start);
        } else if (mode == ResponseMode::Linear2D || mode == ResponseMode::FirstOrder2D) {
          // dC_k = step * dir_c[k, :] . J_r[k, :] to first order (J: the channel blocks), taken
          // with the sigmoid kept for linear2d (its heaviest samples moved exactly).
          pipeline_.compute_fine_jacobians(blocks, channel_coefficients<T>(blocks.channels, R, unused_rng_));
          sums.resize(static_cast<std::size_t>(C) * R);
          if (mode == ResponseMode::Linear2D)
            B::surface_colour_change(R, S, C, V, Dk, pipeline_.fine_weights(), pipeline_.fine_raw_rgb(),
                                     pipeline_.fine_head_input(), pipeline_.fine_jacobians_on_backend(), dirs_dev.data(),
                                     step, sums.data());
          else
            B::linear_colour_change(R, C, Dk, pipeline_.fine_jacobians_on_backend(), dirs_dev.data(), step,
                                    sums.data());
          copy_out(sums, R, C, start);
        } else if (mode == ResponseMode::Cosine2D) {
          // |cos(J_r, dir_c)| with the Jacobian in the directions' own layout (the shaped one).
          pipeline_.compute_fine_jacobians(spec, channel_coefficients<T>(spec.channels, R, unused_rng_));
          sums.resize(static_cast<std::size_t>(C) * R);
          B::jacobian_cosine(R, C, D, pipeline_.fine_jacobians_on_backend(), dirs_dev.data(), sums.data());
          copy_out(sums, R, C, start);
        } else if (mode == ResponseMode::Perturb3D) {
          raw0.resize(3 * ns);
          B::copy(raw0.data(), pipeline_.fine_raw_rgb(), 3 * ns);
          sums.resize(static_cast<std::size_t>(C) * R);
          for (int c = 0; c < C; ++c) {
            pipeline_.set_fine_head_params(perturbed_head(c));
            pipeline_.reevaluate_fine();
            B::raw_colour_change(R, S, pipeline_.fine_weights(), raw0.data(), pipeline_.fine_raw_rgb(),
                                 sums.data() + static_cast<std::size_t>(c) * R);
          }
          pipeline_.set_fine_head_params(head);
          copy_out(sums, R, C, start);
        } else if (mode == ResponseMode::Perturb2D) {
          // The head cannot move densities, samples or h: C' - C = sum_i w_i (s(z + dz) - s(z))
          // with dz = step * (dir_c[k, :] . h_i + dir_c[k, V]), one (3 x V) GEMM per class.
          dz.resize(3 * ns);
          sums.resize(static_cast<std::size_t>(C) * R);
          for (int c = 0; c < C; ++c) {
            B::linear_forward(step_w_dev.data() + static_cast<std::size_t>(c) * 3 * V,
                              step_b_dev.data() + static_cast<std::size_t>(c) * 3, pipeline_.fine_head_input(),
                              dz.data(), V, 3, static_cast<int>(ns), Activation::None);
            B::head_colour_change(R, S, pipeline_.fine_weights(), pipeline_.fine_raw_rgb(), dz.data(),
                                  sums.data() + static_cast<std::size_t>(c) * R);
          }
          copy_out(sums, R, C, start);
        } else {  // Render2D: re-render the chunk with each perturbed head
          const std::vector<T> rgb0 = pipeline_.rgb_fine();
          for (int c = 0; c < C; ++c) {
            pipeline_.set_fine_head_params(perturbed_head(c));
            forward_chunk(origins, dirs, n_view, start, R);
            const std::vector<T> rgb = pipeline_.rgb_fine();
            for (int r = 0; r < R; ++r) {
              double resp = 0;
              for (int k = 0; k < 3; ++k) resp += std::abs(double(rgb[k * R + r]) - double(rgb0[k * R + r]));
              out[c * n_view + start + r] = static_cast<float>(resp / 3);
            }
          }
          pipeline_.set_fine_head_params(head);
        }
      });
    } catch (...) {
      pipeline_.set_fine_head_params(head);  // never leave a perturbed model behind
      throw;
    }
    return out;
  }

  RenderedView render(const Frame& frame, int chunk) override {
    std::vector<float> origins, dirs;
    view_rays(frame, origins, dirs);
    const int w = frame.intrinsics.width, h = frame.intrinsics.height;
    const std::size_t n = static_cast<std::size_t>(w) * h;
    RenderedView view{ImageF(w, h, 3), ImageF(w, h, 1)};
    for_each_chunk(origins, dirs, n, chunk, [&](std::size_t start, int R) {
      const std::vector<T> rgb = pipeline_.rgb_fine(), depth = pipeline_.depth_fine();
      for (int r = 0; r < R; ++r) {
        for (int k = 0; k < 3; ++k) view.rgb.data[(start + r) * 3 + k] = static_cast<float>(rgb[k * R + r]);
        view.depth.data[start + r] = static_cast<float>(depth[r]);
      }
    });
    return view;
  }

 private:
  static constexpr int kGridUpdateEvery = 16;

  // Divergence check and the Adam update after a backward pass.
  StepResult finish_step(StepResult result, const AdamConfig& adam, long long t) {
    result.finite = std::isfinite(result.loss.loss);
    if (adam.grad_clip > 0.f || !result.finite) {
      result.grad_norm = B::gradient_norm(pipeline_.grads(), pipeline_.num_params());
      result.finite = result.finite && std::isfinite(result.grad_norm);
    }
    if (!result.finite) return result;  // leave parameters untouched
    B::adam_step(make_adam_step(adam, t, result.grad_norm), pipeline_.params(), m_.data(), v_.data(),
                 pipeline_.grads(), pipeline_.num_params());
    return result;
  }

  // Deterministic forward of rays [start, start + R) of a 3 x n ray set.
  void forward_chunk(const std::vector<float>& origins, const std::vector<float>& dirs, std::size_t n,
                     std::size_t start, int R) {
    std::vector<T> o(3 * R), d(3 * R);
    for (int k = 0; k < 3; ++k)
      for (int r = 0; r < R; ++r) {
        o[k * R + r] = static_cast<T>(origins[k * n + start + r]);
        d[k * R + r] = static_cast<T>(dirs[k * n + start + r]);
      }
    forward(origins, dirs, o, d, R, false, unused_rng_, start, n);
  }

  // Runs forward_chunk over all n rays, `chunk` at a time, then fn(start, R).
  template <class Fn>
  void for_each_chunk(const std::vector<float>& origins, const std::vector<float>& dirs, std::size_t n, int chunk,
                      Fn&& fn) {
    for (std::size_t start = 0; start < n; start += chunk) {
      const int R = static_cast<int>(std::min<std::size_t>(chunk, n - start));
      forward_chunk(origins, dirs, n, start, R);
      fn(start, R);
    }
  }

  // The rays of some pixels of a view (3 x pixels.size() each).
  static void pixel_rays(const Frame& frame, const std::vector<std::int64_t>& pixels, std::vector<float>& po,
                         std::vector<float>& pd) {
    std::vector<float> origins, dirs;
    view_rays(frame, origins, dirs);
    const std::size_t n_view = origins.size() / 3, n = pixels.size();
    for (std::int64_t p : pixels)
      if (p < 0 || static_cast<std::size_t>(p) >= n_view)
        throw InputError("pixel " + std::to_string(p) + " is outside view '" + frame.name + "'");
    po.resize(3 * n);
    pd.resize(3 * n);
    for (int k = 0; k < 3; ++k)
      for (std::size_t i = 0; i < n; ++i) {
        po[k * n + i] = origins[k * n_view + pixels[i]];
        pd[k * n + i] = dirs[k * n_view + pixels[i]];
      }
  }

  static std::vector<T> download_ptr(const T* src, std::size_t n) {
    std::vector<T> host(n);
    B::download(host.data(), src, n);
    return host;
  }
  static std::vector<T> download(const typename B::Buffer& b, std::size_t n) { return download_ptr(b.data(), n); }

  void update_grid(std::mt19937_64& rng) {
    const std::vector<float> points = grid_->sample_points(rng);
    const std::vector<T> p = convert(points);
    const std::vector<T> sigma = pipeline_.fine_density(p.data(), static_cast<int>(grid_->cells()), 65536);
    grid_->update(std::vector<float>(sigma.begin(), sigma.end()));
  }

  // Forward of R rays; with an occupancy grid each ray's range is clipped to occupied
  // cells. float_o / float_d hold the same rays as float arrays (3 x stride, rays from
  // `first`), as the grid marches in float.
  void forward(const std::vector<float>& float_o, const std::vector<float>& float_d, const std::vector<T>& o,
               const std::vector<T>& d, int R, bool train, std::mt19937_64& rng, std::size_t first = 0,
               std::size_t stride = 0) {
    pipeline_.set_coarse_colour(train);  // inference reads only the fine outputs
    if (!grid_) {
      pipeline_.forward(o.data(), d.data(), R, train, rng);
      return;
    }
    if (stride == 0) stride = static_cast<std::size_t>(R);
    std::vector<float> fo(3 * R), fd(3 * R), lo(R), hi(R);
    for (int c = 0; c < 3; ++c)
      for (int r = 0; r < R; ++r) {
        fo[c * R + r] = float_o[c * stride + first + r];
        fd[c * R + r] = float_d[c * stride + first + r];
      }
    const SamplerSettings& s = pipeline_.sampler();
    grid_->ray_bounds(fo.data(), fd.data(), R, s.near, s.far, lo.data(), hi.data());
    const std::vector<T> tlo = convert(lo), thi = convert(hi);
    pipeline_.forward(o.data(), d.data(), R, train, rng, tlo.data(), thi.data());
  }

  static std::vector<T> convert(const std::vector<float>& v) { return std::vector<T>(v.begin(), v.end()); }
  static std::vector<float> host(const typename B::Buffer& b) {
    std::vector<T> values(b.size());
    B::download(values.data(), b.data(), b.size());
    return std::vector<float>(values.begin(), values.end());
  }
  static void upload(typename B::Buffer& b, const std::vector<float>& v) {
    const std::vector<T> values = convert(v);
    B::upload(b.data(), values.data(), values.size());
  }

  NerfPipeline<B, Field> pipeline_;
  typename B::Buffer m_, v_;
  typename B::DoubleBuffer loss_scratch_;  // the shaping loss's backend scratch
  std::unique_ptr<OccupancyGrid> grid_;
  std::mt19937_64 unused_rng_{0};  // deterministic forwards draw nothing
};

bool has_alpha(const Dataset& dataset) {
  for (const Frame& f : dataset.frames)
    if (!f.alpha.empty()) return true;
  return false;
}

// The box a hash grid covers: model.hash_grid.scene_box (6 numbers: min then max), else
// the dataset's own box.
std::pair<std::array<double, 3>, std::array<double, 3>> scene_box(const Json& config, const Dataset& dataset) {
  const auto box = config_get<std::vector<double>>(config, "model.hash_grid.scene_box");
  if (box.size() == 6) return {{box[0], box[1], box[2]}, {box[3], box[4], box[5]}};
  if (!box.empty())
    throw InputError("config key 'model.hash_grid.scene_box' needs 6 numbers (min x y z, max x y z), got " +
                     std::to_string(box.size()));
  if (!dataset.has_scene_box)
    throw InputError("the hash_grid model needs a scene box: the dataset (" + dataset.format +
                     ") defines none; set model.hash_grid.scene_box");
  return {{dataset.scene_min.x(), dataset.scene_min.y(), dataset.scene_min.z()},
          {dataset.scene_max.x(), dataset.scene_max.y(), dataset.scene_max.z()}};
}

template <class B>
std::unique_ptr<NerfEngine> make_engine_on(const std::string& type, const Json& config, const Dataset& dataset,
                                           const SamplerSettings& sampler) {
  if (type == "semantic_nerf") {
    if (sampler.occupancy_grid)
      throw InputError("config key 'sampler.occupancy_grid' applies to the hash_grid model only");
    const SemanticNerfSpec spec = SemanticNerfSpec::from_config(config);
    return std::make_unique<Engine<B, SemanticNerfNet<B>>>(
        sampler, [spec](ParamLayout& layout, const std::string& prefix) { return SemanticNerfNet<B>(spec, layout, prefix); });
  }
  const HashGridSpec spec = HashGridSpec::from_config(config);
  const auto [lo, hi] = scene_box(config, dataset);
  auto engine = std::make_unique<Engine<B, HashGridField<B>>>(
      sampler, [spec, lo = lo, hi = hi](ParamLayout& layout, const std::string& prefix) {
        return HashGridField<B>(spec, layout, prefix, lo, hi);
      });
  if (sampler.occupancy_grid)
    engine->enable_occupancy_grid(lo, hi, sampler.occupancy_resolution, sampler.occupancy_threshold);
  return engine;
}

}  // namespace

std::unique_ptr<NerfEngine> make_nerf_engine(const Json& config, const Dataset& dataset, const std::string& device) {
  const std::string type = config_get<std::string>(config, "model.type");
  if (type != "semantic_nerf" && type != "hash_grid")
    throw InputError("config key 'model.type': unknown model '" + type + "' (expected semantic_nerf or hash_grid)");
  SamplerSettings sampler = SamplerSettings::from_config(config);
  sampler.use_background = has_alpha(dataset);  // RGBA sources were composited over data.background
  if (sampler.near < 0.f) sampler.near = dataset.near;
  if (sampler.far < 0.f) sampler.far = dataset.far;
  if (!(sampler.far > sampler.near && sampler.near >= 0.f))
    throw InputError("no valid ray range: set sampler.near and sampler.far (the dataset gives near " +
                     std::to_string(dataset.near) + ", far " + std::to_string(dataset.far) + ")");
  if (device == "cpu") return make_engine_on<CpuBackend<float>>(type, config, dataset, sampler);
#ifdef JNERF_HAVE_CUDA
  if (device == "cuda") return make_engine_on<CudaBackend>(type, config, dataset, sampler);
#endif
  throw InputError("device '" + device + "' is not available in this build");
}

}  // namespace jnerf
