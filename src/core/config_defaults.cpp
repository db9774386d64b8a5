// The one place where configuration keys, their types and their defaults are defined.
// Every key a config file or `--set` may name must appear here; its JSON type here is the
// type that is accepted (an integer default accepts only integers, a float default any
// number). Values follow DESIGN.md 1.1 (the paper's reference behaviour) unless noted.
// sampler.near / sampler.far < 0 mean "the dataset's range" (Replica 0.1..10 as in the
// paper, Blender 2..6, LLFF from its bounds, instant-ngp from its box).
#include "jnerf/core/config.hpp"

namespace jnerf {

Json default_config() {
  static const Json defaults = Json::parse(R"json(
{
  "run": {
    "device": "auto",
    "threads": 0,
    "seed": 0
  },
  "data": {
    "path": "",
    "format": "auto",
    "downscale": 1,
    "background": [1.0, 1.0, 1.0],
    "train_step": 5,
    "test_offset": 2,
    "holdout_every": 8,
    "test_split": "val",
    "frames": [],
    "max_frames": 0
  },
  "model": {
    "type": "semantic_nerf",
    "semantic_nerf": {
      "position_scale": 0.1,
      "position_frequencies": 10,
      "direction_frequencies": 4,
      "trunk_depth": 8,
      "trunk_width": 256,
      "skips": [4],
      "view_width": 128
    },
    "hash_grid": {
      "levels": 16,
      "features_per_level": 2,
      "log2_table_size": 19,
      "base_resolution": 16,
      "max_resolution": 2048,
      "density_width": 64,
      "density_depth": 1,
      "geo_features": 15,
      "colour_width": 64,
      "colour_depth": 2,
      "sh_degree": 4,
      "fused_mlp": true,
      "scene_box": []
    }
  },
  "sampler": {
    "near": -1.0,
    "far": -1.0,
    "coarse_samples": 64,
    "fine_samples": 128,
    "perturb": true,
    "density_noise_std": 1.0,
    "occupancy_grid": false,
    "occupancy_resolution": 64,
    "occupancy_threshold": 0.01
  },
  "train": {
    "iters": 200000,
    "rays_per_batch": 1024,
    "lr": 5e-4,
    "lr_decay_rate": 0.1,
    "lr_decay_steps": 250000,
    "grad_clip": 0.0,
    "log_every": 100,
    "val_every": 5000,
    "checkpoint_every": 10000
  },
  "shape": {
    "iters": 10000,
    "rays_per_batch": 64,
    "every": 1,
    "lr": -1.0,
    "weight_mi": 1e-2,
    "weight_norm": 1e-2,
    "similarity": "abs_cosine",
    "temperature": 1.0,
    "tau_init": 0.8,
    "tau_min": 0.5,
    "tau_max": 0.9,
    "tau_step": 0.001,
    "tau_adaptive": true,
    "positive_low_fraction": 0.05,
    "positive_high_fraction": 0.15,
    "jacobian_channels": "mean",
    "jacobian_bias": false,
    "prior": {
      "type": "geometric",
      "path": "",
      "labels": "instance",
      "colour_scale": 12.0,
      "lightness_scale": 12.0,
      "colour_window": 1,
      "position_scale": 5.0,
      "normal_scale": 0.8
    },
    "log_every": 50,
    "checkpoint_every": 1000
  },
  "propagate": {
    "labelled_frame": 0,
    "labels": "semantic",
    "annotation": "sparse",
    "clicks_per_class": 1,
    "region_fraction": 0.01,
    "clicks_file": "",
    "seed": 0,
    "mode": "perturb2d",
    "step": 0.1,
    "response_clip": 0.8,
    "absent_std": 0.05,
    "absent_mean": 0.01,
    "blur": true,
    "views": "test",
    "max_views": 0,
    "selection_rounds": 5,
    "selection_combinations": 20,
    "gradients_per_class": 5,
    "aggregator": true,
    "aggregator_steps": 1000,
    "aggregator_lr": 1e-3,
    "aggregator_batch": 4096,
    "baselines": ["unshaped", "semantic_nerf", "nearest_click"],
    "semantic_head_hidden": 128,
    "semantic_head_steps": 300,
    "semantic_head_lr": 0.01,
    "semantic_head_min_weight": 1e-4,
    "semantic_head_max_rays": 1024
  },
  "output": {
    "save_images": true,
    "checkpoint_keep": 3,
    "render_chunk": 4096
  }
}
)json");
  return defaults;
}

}  // namespace jnerf
