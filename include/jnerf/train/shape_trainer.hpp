#pragma once
// Stage "shape": JacobiNeRF shaping. Starts from the run's newest "nerf" checkpoint with a
// fresh optimiser and a reset step counter, and fine-tunes every parameter on
// MSE(coarse) + MSE(fine) + weight_mi L_MI + weight_norm L_norm (shape/contrastive_loss.hpp)
// over batches of `shape.rays_per_batch` rays drawn from all pixels of all training views.
// The adaptive tau is saved in the checkpoints, so a resumed run continues exactly.
#include <string>

#include "jnerf/core/config.hpp"
#include "jnerf/data/dataset.hpp"
#include "jnerf/train/nerf_engine.hpp"
#include "jnerf/train/nerf_trainer.hpp"
#include "jnerf/train/run_dir.hpp"

namespace jnerf {

struct ShapeSummary {
  long long first_step = 0, last_step = 0;
  double seconds = 0, loss = 0, mi = 0, norm = 0, tau = 0, counted_fraction = 0, train_psnr = 0;
  std::string prior, checkpoint, start_checkpoint;
};

ShapeSummary train_shape(const Json& config, const Dataset& dataset, NerfEngine& engine, const RunDir& run,
                         bool resume);

}  // namespace jnerf
