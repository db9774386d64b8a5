#pragma once
// A NeRF model with its optimiser on one backend, behind a backend-neutral interface:
// the trainer, the renderer and the CLI use this, never a backend type.
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "jnerf/core/config.hpp"
#include "jnerf/data/dataset.hpp"
#include "jnerf/data/ray_pool.hpp"
#include "jnerf/model/param_layout.hpp"
#include "jnerf/render/nerf_pipeline.hpp"
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

  // One photometric training step (1-based optimiser step `t`).
  virtual StepResult train_step(const RayBatch& batch, const AdamConfig& adam, long long t,
                                std::mt19937_64& rng) = 0;
  // Deterministic render of one view, `chunk` rays at a time.
  virtual RenderedView render(const Frame& frame, int chunk) = 0;
};

// device: "cpu" or "cuda" (already resolved). The model comes from config["model"].
std::unique_ptr<NerfEngine> make_nerf_engine(const Json& config, const Dataset& dataset, const std::string& device);

}  // namespace jnerf
