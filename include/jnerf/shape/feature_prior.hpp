#pragma once
// Feature priors: which pixels belong together, for the shaping loss's positives and the
// nearest-click baseline. A prior gives every pixel a descriptor and compares two
// descriptors with its kernel; the loss takes affinity > tau as "positive".
//   geometric (default, needs no weights): from the pretrained NeRF itself: colour (CIE
//     Lab of the image), 3D position of the expected depth and the surface normal, each
//     divided by its length scale; affinity = exp(-|a - b|^2 / 2). Multi-view consistent.
//   file: self-supervised descriptors (e.g. DINO) from .npy files, L2-normalised;
//     affinity = a . b (shape/descriptor_grid.hpp, docs/FEATURE_PRIORS.md).
//   oracle: ground-truth instance (or class) ids; affinity 1 for the same id, else 0. An
//     upper bound for ablations only: never a result of the method.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "jnerf/core/config.hpp"
#include "jnerf/data/dataset.hpp"
#include "jnerf/data/ray_pool.hpp"
#include "jnerf/shape/descriptor_grid.hpp"

namespace jnerf {

class NerfEngine;

enum class AffinityKernel { Dot, Gaussian, SameId };

double descriptor_affinity(AffinityKernel kernel, const float* a, const float* b, int dims);

// Per-pixel descriptors of one view: pixels x dims, pixel-major.
struct ViewDescriptors {
  int width = 0, height = 0, dims = 0;
  std::vector<float> values;
  const float* at(std::size_t pixel) const { return values.data() + pixel * dims; }
};

// Length scales of the geometric descriptor. The defaults give ~3.5 positives besides the
// anchor itself per 64-ray batch at tau 0.8 on the generated rooms, 94% of them in the
// anchor's own instance (measured with ground-truth depth).
struct GeometricPriorScales {
  double colour = 12.0;     // CIE a*, b* (chroma) per unit
  double position = 5.0;    // scene units per unit
  double normal = 0.8;      // |n_a - n_b| per unit
  double lightness = 12.0;  // CIE L* per unit. White light scales L* with the shading, so a
                            // scale above `colour` keeps an object's lit and shaded sides together.
  int colour_window = 1;    // Lab averaged over this k x k window (odd), over the pixels on the
                            // centre's surface (depth within kSameSurfaceDepth), so that a
                            // texture (planks, a checker rug) reads as its mean colour.
};
// Neighbours count as the centre's surface when their depths differ by at most this
// fraction of the centre's depth.
inline constexpr double kSameSurfaceDepth = 0.03;

// The geometric descriptor of a view from its image and the NeRF's depth (z-depth).
ViewDescriptors geometric_descriptors(const Frame& frame, const ImageF& depth, const GeometricPriorScales& scales);
// sRGB in [0, 1] to CIE Lab (D65).
void srgb_to_lab(const float rgb[3], double lab[3]);
// Every pixel's Lab, averaged over the window x window pixels around it whose depth is within
// kSameSurfaceDepth of its own (window 1: the pixel's own Lab). Pixel-major.
std::vector<Eigen::Vector3d> surface_mean_lab(const Frame& frame, const ImageF& depth, int window);

class FeaturePrior {
 public:
  virtual ~FeaturePrior() = default;
  virtual std::string name() const = 0;
  virtual bool is_oracle() const { return false; }
  // Whether tau is adapted (priors with exact ids do not need a threshold).
  virtual bool adaptive_threshold() const { return true; }
  virtual AffinityKernel kernel() const = 0;
  virtual int dims() const = 0;
  // Descriptor of pixel `pixel` (row-major) of training view `view` (index into the
  // training views the prior was built for).
  virtual void training_descriptor(int view, std::int64_t pixel, float* out) const = 0;
  // Every pixel's descriptor of any view of the dataset (for baselines and diagnostics).
  virtual ViewDescriptors view_descriptors(const Frame& frame, NerfEngine& engine, int chunk) const = 0;

  // B x B affinities of global training pixels (RayPool indices of `pool`).
  std::vector<double> affinity(const RayPool& pool, const std::vector<std::int64_t>& pixels) const;
  // A one-line description for logs and outputs.
  std::string describe() const;
};

// From config["shape"]["prior"]; the geometric prior renders the training views' depth with
// `engine` (already holding the pretrained NeRF). Without `training_views` only
// view_descriptors() may be used (nothing is precomputed). InputError on bad settings or
// files.
std::unique_ptr<FeaturePrior> make_feature_prior(const Json& config, const Dataset& dataset, NerfEngine& engine,
                                                 bool training_views = true);

}  // namespace jnerf
