#pragma once
// A NeRF model with its optimiser on one backend, behind a backend-neutral interface:
// the trainer, the renderer and the CLI use this, never a backend type.
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "jnerf/core/config.hpp"
#include "jnerf/data/dataset.hpp"
#include "jnerf/data/ray_pool.hpp"
#include "jnerf/model/param_layout.hpp"
#include "jnerf/render/nerf_pipeline.hpp"
#include "jnerf/shape/contrastive_loss.hpp"
#include "jnerf/shape/jacobian.hpp"
#include "jnerf/train/adam.hpp"

namespace jnerf {

struct RenderedView {
  ImageF rgb;    // W x H x 3
  ImageF depth;  // W x H x 1, z-depth
};

struct StepResult {
  PhotometricLoss loss;
  double grad_norm = 0;  // computed when clipping is on or the loss is not finite
  bool finite = true;    // false: loss or gradients are NaN/Inf; parameters were not updated
};

// The shaping loss of one batch (shape/contrastive_loss.hpp): computed by shape_step on
// the engine's backend, where the Jacobians and their gradient stay.
struct ShapingBatch {
  std::vector<double> affinity;  // B x B, from the feature prior
  ContrastiveParams loss;        // resolved for B (ContrastiveSettings::params)
  double tau = 0;                // the adaptive threshold: before the step, after it on return
  ContrastiveResult result;      // filled by shape_step (grad left empty)
};

// Visits the fine stage of a deterministic render chunk by chunk: rays [first, first + R)
// of the visited set, S samples each, compositing weights (R*S, ray-major) and the RGB
// head's input (V x R*S, feature-major), as host floats.
using FineSampleVisitor = std::function<void(std::size_t first, int R, int S, const std::vector<float>& weights,
                                             const std::vector<float>& head_input)>;

// How a view responds to a perturbation of the fine RGB head W += step * direction
// (propagate/): the mean absolute colour change per pixel, exactly (perturb2d: the
// perturbed head on the unperturbed render's samples, which the head cannot move; render2d:
// the same by re-rendering the whole pipeline, slow, the check of perturb2d) or from the
// Jacobians (linear2d: through a one-sample sigmoid per ray; first_order2d: the plain
// first-order term t J g); or the density-weighted |mean raw-colour change|
// along the ray, re-evaluated (perturb3d) or from the head input (linear3d); or, not a
// colour change, |cos(J_r, direction)| of each pixel's Jacobian (cosine2d).
enum class ResponseMode { Perturb2D, Perturb3D, Linear2D, Linear3D, Render2D, Cosine2D, FirstOrder2D };

class NerfEngine {
 public:
  virtual ~NerfEngine() = default;
  virtual std::string backend() const = 0;
  virtual const ParamLayout& layout() const = 0;
  virtual void init_params(std::uint64_t seed) = 0;

  // Parameters and Adam moments as host float arrays (checkpoints).
  virtual std::vector<float> params() const = 0;
  virtual void set_params(const std::vector<float>& values) = 0;
  virtual std::vector<float> adam_m() const = 0;
  virtual std::vector<float> adam_v() const = 0;
  virtual void set_adam_state(const std::vector<float>& m, const std::vector<float>& v) = 0;
  // The occupancy grid's density averages (empty without a grid), for checkpoints.
  virtual std::vector<float> occupancy_state() const = 0;
  virtual void set_occupancy_state(const std::vector<float>& density) = 0;

  // One photometric training step (1-based optimiser step `t`).
  virtual StepResult train_step(const RayBatch& batch, const AdamConfig& adam, long long t,
                                std::mt19937_64& rng) = 0;
  // Deterministic render of one view, `chunk` rays at a time.
  virtual RenderedView render(const Frame& frame, int chunk) = 0;

  // ---- JacobiNeRF ------------------------------------------------------------------
  virtual int head_width() const = 0;  // V of the fine RGB head (3 x V)
  // One shaping step: photometric loss plus the shaping loss on the batch's Jacobians (its
  // gradient flows back in closed form, in the same pass). The channel mix is drawn from
  // `rng` for JacobianChannels::Random.
  virtual StepResult shape_step(const RayBatch& batch, const JacobianSpec& spec, ShapingBatch& shaping,
                                const AdamConfig& adam, long long t, std::mt19937_64& rng) = 0;
  // Jacobians (rows of spec.dims() doubles) of the given pixels (row-major indices) of a
  // view, rendered deterministically. Random channels use `channel_seed`.
  virtual std::vector<double> pixel_jacobians(const Frame& frame, const std::vector<std::int64_t>& pixels,
                                              const JacobianSpec& spec, int chunk, std::uint64_t channel_seed = 0) = 0;
  // The fine samples of the given pixels of a view (all pixels when `pixels` is empty).
  virtual void visit_fine_samples(const Frame& frame, const std::vector<std::int64_t>& pixels, int chunk,
                                  const FineSampleVisitor& visit) = 0;
  // Responses of every pixel of a view to W += step * directions[c] for each of the
  // directions (rows of spec.dims() doubles, the Jacobian layout): C x W*H, row-major.
  virtual std::vector<float> head_responses(const Frame& frame, const std::vector<double>& directions,
                                            const JacobianSpec& spec, double step, ResponseMode mode,
                                            int chunk) = 0;
};

// device: "cpu" or "cuda" (already resolved). The model comes from config["model"].
std::unique_ptr<NerfEngine> make_nerf_engine(const Json& config, const Dataset& dataset, const std::string& device);

}  // namespace jnerf
