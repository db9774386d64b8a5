#pragma once
// Stage "nerf": photometric training of the coarse and fine networks on ray batches drawn
// from every pixel of every training view, with progress output, periodic validation,
// checkpoints, resume and NaN detection.
#include <string>

#include "jnerf/core/config.hpp"
#include "jnerf/data/dataset.hpp"
#include "jnerf/train/nerf_engine.hpp"
#include "jnerf/train/run_dir.hpp"

namespace jnerf {

struct TrainSummary {
  long long first_step = 0, last_step = 0;
  double seconds = 0, loss = 0, train_psnr = 0;
  double val_psnr = -1;  // -1: no validation view
  std::string checkpoint;
};

// Raised when the loss or the gradients stop being finite; the message names the step and
// the last good checkpoint (which is kept). Maps to exit code 1.
class TrainingDiverged : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Trains from scratch, or continues from the run's newest "nerf" checkpoint when `resume`.
TrainSummary train_nerf(const Json& config, const Dataset& dataset, NerfEngine& engine, const RunDir& run,
                        bool resume);

// Writes the engine's training state (parameters, Adam moments, occupancy grid) as the
// checkpoint of `stage` at `step`, with `meta` (stage, step, the model description and
// the engine's layout are added), keeps the newest `keep`, and returns its path. Throws
// TrainingDiverged, naming `last_good`, when the parameters are not finite: a finite loss
// can still leave the update with overflowed weights, and those are never saved.
std::filesystem::path save_training_checkpoint(const RunDir& run, const std::string& stage, long long step,
                                               Json meta, const Json& config, const NerfEngine& engine, int keep,
                                               const std::string& last_good);

// Loads parameters (and, when `with_optimizer`, the Adam state) from a checkpoint into the
// engine; returns the checkpoint's step. InputError when the model does not match.
long long load_nerf_checkpoint(const std::filesystem::path& file, NerfEngine& engine, bool with_optimizer);

}  // namespace jnerf
