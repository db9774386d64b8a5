#include "jnerf/train/nerf_engine.hpp"

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

  RenderedView render(const Frame& frame, int chunk) override {
    std::vector<float> origins, dirs;
    view_rays(frame, origins, dirs);
    const int w = frame.intrinsics.width, h = frame.intrinsics.height;
    const std::size_t n = static_cast<std::size_t>(w) * h;
    RenderedView view{ImageF(w, h, 3), ImageF(w, h, 1)};
    std::mt19937_64 unused(0);
    std::vector<T> o, d;
    for (std::size_t start = 0; start < n; start += chunk) {
      const int R = static_cast<int>(std::min<std::size_t>(chunk, n - start));
      o.resize(3 * R);
      d.resize(3 * R);
      for (int k = 0; k < 3; ++k)
        for (int r = 0; r < R; ++r) {
          o[k * R + r] = static_cast<T>(origins[k * n + start + r]);
          d[k * R + r] = static_cast<T>(dirs[k * n + start + r]);
        }
      forward(origins, dirs, o, d, R, false, unused, start, n);
      const std::vector<T> rgb = pipeline_.rgb_fine(), depth = pipeline_.depth_fine();
      for (int r = 0; r < R; ++r) {
        for (int k = 0; k < 3; ++k) view.rgb.data[(start + r) * 3 + k] = static_cast<float>(rgb[k * R + r]);
        view.depth.data[start + r] = static_cast<float>(depth[r]);
      }
    }
    return view;
  }

 private:
  static constexpr int kGridUpdateEvery = 16;

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
  std::unique_ptr<OccupancyGrid> grid_;
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
